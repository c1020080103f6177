/*
 * PNG pictures of images and filters through libpng; see
 * ebm_png_write_grid in ebm.h.
 *
 * Layout: the grid is min(columns, count) images wide and
 * ceil(count / that) images high. Adjacent images share one border line,
 * so the picture is cols * (width + 1) + 1 pixels wide and
 * rows * (height + 1) + 1 high. Border lines and the empty cells after the
 * last image have gray level PNG_BORDER_GRAY. Pixels are written one
 * picture row at a time, so memory grows with the picture's width only.
 *
 * The picture goes to a new file "<dir>/.<name>.<pid>-<n>.tmp" in the
 * directory of path, created with mode 0666 less the umask, which is
 * flushed with fsync and renamed over path. On any failure the temporary
 * file is removed and path is left as it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

#define PNG_BORDER_GRAY 64
#define PNG_CONSTANT_GRAY 128
#define PNG_MAX_SIDE ((size_t)1 << 15)
#define PNG_MAX_PIXELS ((size_t)1 << 28)
#define TEMP_ATTEMPTS 100

/*
 * Memory layout of `count` images of height x width values. Pixel p
 * (row-major within the image) of image j is at
 * values[j * image_stride + p * pixel_stride]. The images of
 * ebm_png_write_grid are contiguous (image_stride = height * width,
 * pixel_stride = 1), and filter k of a D x K weight matrix has
 * image_stride 1 and pixel_stride K.
 */
typedef struct png_images {
    const float *values;
    size_t count;
    size_t height;
    size_t width;
    size_t image_stride;
    size_t pixel_stride;
    const char *name; /* argument name for error messages */
} png_images;

/* The grid of a picture, in images and in pixels. */
typedef struct png_grid {
    size_t grid_cols;
    size_t grid_rows;
    size_t picture_width;
    size_t picture_height;
} png_grid;

/* State shared with the libpng callbacks. */
typedef struct png_context {
    FILE *file;
    int write_errno;  /* errno of a failed write or flush, else 0 */
    char message[128]; /* libpng's error message */
} png_context;

static float image_pixel(const png_images *images, size_t image,
                         size_t pixel)
{
    return images->values[image * images->image_stride
                          + pixel * images->pixel_stride];
}

/* Checks the sizes, in the order of the errors listed in ebm.h, and
 * computes the grid. */
static ebm_status plan_grid(const char *path, const png_images *images,
                            size_t columns, png_grid *grid)
{
    size_t pixels = 0;
    size_t max_cols = 0;
    size_t max_rows = 0;

    if (images->count == 0 || images->height == 0 || images->width == 0
        || columns == 0)
        return ebm_fail(EBM_ERR_SIZE,
                        "%s: count %zu, height %zu, width %zu and columns "
                        "%zu must all be at least 1",
                        path, images->count, images->height, images->width,
                        columns);
    if (images->height > PNG_MAX_SIDE || images->width > PNG_MAX_SIDE)
        return ebm_fail(EBM_ERR_LIMIT,
                        "%s: images of %zu x %zu pixels exceed the limit "
                        "of %zu pixels on a side",
                        path, images->height, images->width, PNG_MAX_SIDE);
    if (ebm_mul_size(images->height, images->width, &pixels, "height x "
                     "width") != EBM_OK
        || ebm_mul_size(images->count, pixels, &pixels,
                        "count x height x width") != EBM_OK)
        return ebm_fail(EBM_ERR_OVERFLOW,
                        "%s: %zu images of %zu x %zu values overflow size_t",
                        path, images->count, images->height, images->width);
    grid->grid_cols = ebm_min_size(columns, images->count);
    grid->grid_rows = images->count / grid->grid_cols
                      + (images->count % grid->grid_cols != 0);
    max_cols = (PNG_MAX_PIXELS - 1) / (images->width + 1);
    max_rows = (PNG_MAX_PIXELS - 1) / (images->height + 1);
    if (grid->grid_cols <= max_cols && grid->grid_rows <= max_rows) {
        grid->picture_width = grid->grid_cols * (images->width + 1) + 1;
        grid->picture_height = grid->grid_rows * (images->height + 1) + 1;
        if ((uint64_t)grid->picture_width * grid->picture_height
            <= PNG_MAX_PIXELS)
            return EBM_OK;
    }
    return ebm_fail(EBM_ERR_LIMIT,
                    "%s: a grid of %zu x %zu images of %zu x %zu pixels "
                    "exceeds the limit of %zu pixels per picture",
                    path, grid->grid_rows, grid->grid_cols, images->height,
                    images->width, PNG_MAX_PIXELS);
}

static ebm_status check_images_finite(const char *path,
                                      const png_images *images)
{
    size_t pixels = images->height * images->width;

    for (size_t j = 0; j < images->count; j++) {
        for (size_t p = 0; p < pixels; p++) {
            float value = image_pixel(images, j, p);

            if (isfinite(value))
                continue;
            return ebm_fail(EBM_ERR_NONFINITE,
                            "%s: %s: image %zu, row %zu, column %zu is %g; "
                            "values must be finite",
                            path, images->name, j, p / images->width,
                            p % images->width, (double)value);
        }
    }
    return EBM_OK;
}

/* ------------------------------------------------------------------------ */
/* Pixels                                                                   */
/* ------------------------------------------------------------------------ */

/* The affine map of one image's values to gray levels: level =
 * (value - offset) * scale, rounded. A scale of 0 makes the image
 * mid-gray. */
typedef struct gray_map {
    double offset;
    double scale;
} gray_map;

static gray_map fit_gray_map(const png_images *images, size_t image)
{
    size_t pixels = images->height * images->width;
    double min = image_pixel(images, image, 0);
    double max = min;
    gray_map map = { min, 0.0 };

    for (size_t p = 1; p < pixels; p++) {
        double value = image_pixel(images, image, p);

        min = value < min ? value : min;
        max = value > max ? value : max;
    }
    /* In double, max - min is finite for any two finite floats. */
    map.offset = min;
    if (max > min)
        map.scale = 255.0 / (max - min);
    return map;
}

static png_byte map_gray(gray_map map, float value)
{
    double level = 0.0;

    if (map.scale == 0.0)
        return PNG_CONSTANT_GRAY;
    level = floor(((double)value - map.offset) * map.scale + 0.5);
    return (png_byte)(level > 255.0 ? 255.0 : level);
}

/* Fills row `y` (0 at the top of the images) of the images of grid row
 * `grid_row` into `line`, border columns included. */
static void fill_image_row(png_byte *line, const png_images *images,
                           const png_grid *grid, const gray_map *maps,
                           size_t grid_row, size_t y)
{
    size_t first = grid_row * grid->grid_cols;

    memset(line, PNG_BORDER_GRAY, grid->picture_width);
    for (size_t c = 0; c < grid->grid_cols; c++) {
        size_t image = first + c;
        png_byte *out = line + 1 + c * (images->width + 1);

        if (image >= images->count)
            break;
        for (size_t x = 0; x < images->width; x++)
            out[x] = map_gray(maps[c],
                              image_pixel(images, image,
                                          y * images->width + x));
    }
}

/* ------------------------------------------------------------------------ */
/* libpng                                                                   */
/* ------------------------------------------------------------------------ */

/* Stores libpng's message and returns to the setjmp in encode_rows. */
static void on_png_error(png_structp png, png_const_charp message)
{
    png_context *context = png_get_error_ptr(png);

    snprintf(context->message, sizeof(context->message), "%s", message);
    png_longjmp(png, 1);
}

/* The library never prints, so warnings are dropped. */
static void on_png_warning(png_structp png, png_const_charp message)
{
    (void)png;
    (void)message;
}

static void write_png_data(png_structp png, png_bytep data, size_t length)
{
    png_context *context = png_get_io_ptr(png);

    if (fwrite(data, 1, length, context->file) != length) {
        context->write_errno = errno != 0 ? errno : EIO;
        png_error(png, "write failed");
    }
}

static void flush_png_data(png_structp png)
{
    png_context *context = png_get_io_ptr(png);

    if (fflush(context->file) != 0) {
        context->write_errno = errno != 0 ? errno : EIO;
        png_error(png, "flush failed");
    }
}

/*
 * Writes the header and every picture row. line (picture_width bytes) and
 * maps (grid_cols entries) are allocated by the caller, so that a longjmp
 * from libpng leaves nothing to free here but libpng's own structures.
 */
static int encode_rows(png_structp png, png_infop info,
                       const png_images *images, const png_grid *grid,
                       png_byte *line, gray_map *maps)
{
    if (setjmp(png_jmpbuf(png)))
        return -1;
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_set_IHDR(png, info, (png_uint_32)grid->picture_width,
                 (png_uint_32)grid->picture_height, 8, PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    memset(line, PNG_BORDER_GRAY, grid->picture_width);
    png_write_row(png, line);
    for (size_t r = 0; r < grid->grid_rows; r++) {
        for (size_t c = 0; c < grid->grid_cols; c++) {
            size_t image = r * grid->grid_cols + c;

            if (image < images->count)
                maps[c] = fit_gray_map(images, image);
        }
        for (size_t y = 0; y < images->height; y++) {
            fill_image_row(line, images, grid, maps, r, y);
            png_write_row(png, line);
        }
        memset(line, PNG_BORDER_GRAY, grid->picture_width);
        png_write_row(png, line);
    }
    png_write_end(png, info);
    return 0;
}

static ebm_status report_png_failure(const char *path, const char *temp,
                                     const png_context *context)
{
    if (context->write_errno != 0)
        return ebm_fail(EBM_ERR_IO, "%s: cannot write %s: %s", path, temp,
                        strerror(context->write_errno));
    if (strstr(context->message, "memory") != NULL)
        return ebm_fail(EBM_ERR_NOMEM, "%s: libpng: %s", path,
                        context->message);
    return ebm_fail(EBM_ERR_IO, "%s: libpng failed: %s", path,
                    context->message);
}

/* Encodes the picture into file, which stays open. */
static ebm_status encode_png(FILE *file, const char *path, const char *temp,
                             const png_images *images, const png_grid *grid)
{
    png_context context = { file, 0, "" };
    png_structp png = NULL;
    png_infop info = NULL;
    png_byte *line = malloc(grid->picture_width);
    gray_map *maps = malloc(grid->grid_cols * sizeof(*maps));
    ebm_status status = EBM_OK;

    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &context,
                                  on_png_error, on_png_warning);
    if (png != NULL)
        info = png_create_info_struct(png);
    if (line == NULL || maps == NULL || png == NULL || info == NULL) {
        status = ebm_fail(EBM_ERR_NOMEM, "%s: cannot allocate the PNG "
                                         "encoder for a row of %zu pixels",
                          path, grid->picture_width);
    } else {
        png_set_write_fn(png, &context, write_png_data, flush_png_data);
        if (encode_rows(png, info, images, grid, line, maps) != 0)
            status = report_png_failure(path, temp, &context);
    }
    png_destroy_write_struct(&png, &info);
    free(maps);
    free(line);
    return status;
}

/* ------------------------------------------------------------------------ */
/* Files                                                                    */
/* ------------------------------------------------------------------------ */

/* Length of the directory part of path, the slash included. */
static size_t directory_length(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash == NULL ? 0 : (size_t)(slash - path) + 1;
}

/* Creates a new temporary file next to path, with a name not in use. */
static ebm_status create_temp_file(const char *path, char **temp, int *fd)
{
    static atomic_uint counter;
    size_t prefix = directory_length(path);
    const char *base = path + prefix;
    size_t size = strlen(path) + 48;
    char *name = malloc(size);

    if (name == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "%s: cannot allocate a file name",
                        path);
    for (int attempt = 0; attempt < TEMP_ATTEMPTS; attempt++) {
        unsigned number = atomic_fetch_add(&counter, 1u);

        snprintf(name, size, "%.*s.%s.%ld-%u.tmp", (int)prefix, path, base,
                 (long)getpid(), number);
        *fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (*fd >= 0) {
            *temp = name;
            return EBM_OK;
        }
        if (errno != EEXIST)
            break;
    }
    ebm_fail(EBM_ERR_IO, "%s: cannot create a temporary file %s: %s", path,
             name, strerror(errno));
    free(name);
    return EBM_ERR_IO;
}

/* Makes the rename durable. Some file systems cannot fsync a directory
 * and report EINVAL, which is ignored because the rename has happened. */
static ebm_status sync_directory(const char *path)
{
    size_t length = directory_length(path);
    char *directory = malloc(length + 2);
    ebm_status status = EBM_OK;
    int fd = -1;

    if (directory == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "%s: written, but cannot allocate "
                                       "the directory name to sync it",
                        path);
    if (length == 0)
        strcpy(directory, ".");
    else
        snprintf(directory, length + 1, "%s", path);
    fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        status = ebm_fail(EBM_ERR_IO, "%s: written, but cannot open "
                                      "directory %s to sync it: %s",
                          path, directory, strerror(errno));
    else if (fsync(fd) != 0 && errno != EINVAL)
        status = ebm_fail(EBM_ERR_IO, "%s: written, but fsync of directory "
                                      "%s failed: %s",
                          path, directory, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(directory);
    return status;
}

/* Encodes into the open temporary file and closes it. */
static ebm_status write_temp_file(int fd, const char *path, const char *temp,
                                  const png_images *images,
                                  const png_grid *grid)
{
    FILE *file = fdopen(fd, "wb");
    ebm_status status = EBM_OK;

    if (file == NULL) {
        status = ebm_fail(EBM_ERR_IO, "%s: cannot open a stream on %s: %s",
                          path, temp, strerror(errno));
        close(fd);
        return status;
    }
    status = encode_png(file, path, temp, images, grid);
    if (status == EBM_OK && fflush(file) != 0)
        status = ebm_fail(EBM_ERR_IO, "%s: cannot write %s: %s", path, temp,
                          strerror(errno));
    if (status == EBM_OK && fsync(fileno(file)) != 0)
        status = ebm_fail(EBM_ERR_IO, "%s: fsync of %s failed: %s", path,
                          temp, strerror(errno));
    if (fclose(file) != 0 && status == EBM_OK)
        status = ebm_fail(EBM_ERR_IO, "%s: closing %s failed: %s", path,
                          temp, strerror(errno));
    return status;
}

static ebm_status write_picture(const char *path, const png_images *images,
                                size_t columns)
{
    png_grid grid;
    char *temp = NULL;
    int fd = -1;
    ebm_status status = plan_grid(path, images, columns, &grid);

    if (status == EBM_OK)
        status = check_images_finite(path, images);
    if (status == EBM_OK && path[directory_length(path)] == '\0')
        status = ebm_fail(EBM_ERR_IO, "%s: cannot write: the path names a "
                                      "directory, not a file",
                          path);
    if (status == EBM_OK)
        status = create_temp_file(path, &temp, &fd);
    if (status != EBM_OK)
        return status;
    status = write_temp_file(fd, path, temp, images, &grid);
    if (status == EBM_OK && rename(temp, path) != 0)
        status = ebm_fail(EBM_ERR_IO, "%s: cannot rename %s to it: %s",
                          path, temp, strerror(errno));
    if (status != EBM_OK)
        unlink(temp);
    else
        status = sync_directory(path);
    free(temp);
    return status;
}

ebm_status ebm_png_write_grid(const char *path, const float *images,
                              size_t count, size_t height, size_t width,
                              size_t columns)
{
    png_images source = {
        images, count, height, width, 0, 1, "images"
    };
    ebm_status status = ebm_check_pointer(path, "path");

    if (status == EBM_OK)
        status = ebm_check_pointer(images, "images");
    if (status != EBM_OK)
        return status;
    /* Only read after plan_grid has checked that the product fits. */
    source.image_stride = height * width;
    return write_picture(path, &source, columns);
}

ebm_status ebm_rbm_write_filters_png(const ebm_rbm *rbm, const char *path,
                                     size_t count, size_t height,
                                     size_t width, size_t columns)
{
    size_t n_visible = 0;
    size_t n_hidden = 0;
    png_images source = { NULL, count, height, width, 1, 0, "W" };
    ebm_status status = ebm_check_pointer(rbm, "rbm");

    if (status == EBM_OK)
        status = ebm_check_pointer(path, "path");
    if (status != EBM_OK)
        return status;
    ebm_rbm_shape(rbm, &n_visible, &n_hidden);
    if (count == 0 || count > n_hidden)
        return ebm_fail(EBM_ERR_SIZE,
                        "%s: count is %zu; expected 1 to %zu, the model's "
                        "hidden units",
                        path, count, n_hidden);
    if (height != 0 && width != 0 && height <= PNG_MAX_SIDE
        && width <= PNG_MAX_SIDE && height * width != n_visible)
        return ebm_fail(EBM_ERR_MISMATCH,
                        "%s: filters of %zu x %zu pixels have %zu values, "
                        "but the model has %zu visible units",
                        path, height, width, height * width, n_visible);
    source.values = ebm_rbm_weights(rbm);
    source.pixel_stride = n_hidden;
    return write_picture(path, &source, columns);
}
