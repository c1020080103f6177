/*
 * PNG pictures: ebm_png_write_grid and ebm_rbm_write_filters_png. The
 * written files are decoded with libpng and checked pixel by pixel:
 * picture size, grid layout, borders, the per-image contrast mapping and
 * the filters as reshaped columns of W. Every error must leave no file.
 */
#include <check.h>
#include <dirent.h>
#include <float.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ebm.h"

#define PATH_SIZE 4096

/* Gray levels that lib/png.c uses for the border lines and the empty grid
 * cells, and for an image whose values are all equal. */
#define BORDER_GRAY 64
#define CONSTANT_GRAY 128

static char case_dir[PATH_SIZE]; /* one per test case, made by the parent */
static char temp_dir[PATH_SIZE]; /* one per test, inside case_dir */

/* ------------------------------------------------------------------------ */
/* Files                                                                    */
/* ------------------------------------------------------------------------ */

static void join_path(char *path, const char *dir, const char *name)
{
    int length = snprintf(path, PATH_SIZE, "%s/%s", dir, name);

    ck_assert(length > 0 && length < PATH_SIZE);
}

/* Removes path, and everything in it if it is a directory. */
static void remove_tree(const char *path)
{
    struct stat info;
    struct dirent *entry;
    char child[PATH_SIZE];
    DIR *dir;

    if (lstat(path, &info) != 0)
        return;
    if (!S_ISDIR(info.st_mode)) {
        unlink(path);
        return;
    }
    dir = opendir(path);
    if (dir != NULL) {
        while ((entry = readdir(dir)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0
                || strcmp(entry->d_name, "..") == 0)
                continue;
            join_path(child, path, entry->d_name);
            remove_tree(child);
        }
        closedir(dir);
    }
    rmdir(path);
}

/* A test that fails ends its forked process before its teardown, so the
 * parent process removes the case directory with what it left behind. */
static void make_case_dir(void)
{
    const char *base = getenv("TMPDIR");
    int length = snprintf(case_dir, sizeof(case_dir), "%s/ebm-test-png-XXXXXX",
                          base != NULL && base[0] != '\0' ? base : "/tmp");

    ck_assert(length > 0 && length < PATH_SIZE);
    ck_assert_ptr_nonnull(mkdtemp(case_dir));
}

static void remove_case_dir(void)
{
    remove_tree(case_dir);
}

static void make_temp_dir(void)
{
    join_path(temp_dir, case_dir, "test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(temp_dir));
}

static void remove_temp_dir(void)
{
    remove_tree(temp_dir);
}

/* Number of entries in temp_dir, hidden ones included. */
static size_t count_temp_files(void)
{
    DIR *dir = opendir(temp_dir);
    struct dirent *entry;
    size_t count = 0;

    ck_assert_ptr_nonnull(dir);
    while ((entry = readdir(dir)) != NULL)
        if (strcmp(entry->d_name, ".") != 0
            && strcmp(entry->d_name, "..") != 0)
            count++;
    closedir(dir);
    return count;
}

/* ------------------------------------------------------------------------ */
/* Decoding                                                                 */
/* ------------------------------------------------------------------------ */

/* A decoded picture: width x height bytes, row-major. */
typedef struct picture {
    png_uint_32 width;
    png_uint_32 height;
    int bit_depth;
    int color_type;
    int interlace;
    unsigned char *pixels;
} picture;

static void on_read_error(png_structp png, png_const_charp message)
{
    fprintf(stderr, "libpng: %s\n", message);
    png_longjmp(png, 1);
}

/* Copies the rows that png_read_png decoded into out->pixels. */
static void copy_rows(png_structp png, png_infop info, picture *out)
{
    png_bytepp rows = png_get_rows(png, info);
    size_t width = out->width;

    out->pixels = malloc(width * out->height);
    ck_assert_ptr_nonnull(out->pixels);
    for (png_uint_32 y = 0; y < out->height; y++)
        memcpy(out->pixels + y * width, rows[y], width);
}

/* Decodes the PNG file at path with libpng, which also checks its CRCs
 * and zlib stream. The limits are raised because a grid of many small
 * images may be wider than libpng's default of 1,000,000 pixels. */
static picture read_picture(const char *path)
{
    picture result = { 0, 0, 0, 0, 0, NULL };
    FILE *file = fopen(path, "rb");
    png_structp png = NULL;
    png_infop info = NULL;
    unsigned char signature[8];

    ck_assert_msg(file != NULL, "cannot open %s", path);
    ck_assert_uint_eq(fread(signature, 1, 8, file), 8);
    ck_assert_int_eq(png_sig_cmp(signature, 0, 8), 0);
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, on_read_error,
                                 NULL);
    ck_assert_ptr_nonnull(png);
    info = png_create_info_struct(png);
    ck_assert_ptr_nonnull(info);
    if (setjmp(png_jmpbuf(png)))
        ck_abort_msg("libpng cannot decode %s", path);
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_init_io(png, file);
    png_set_sig_bytes(png, 8);
    png_read_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    result.width = png_get_image_width(png, info);
    result.height = png_get_image_height(png, info);
    result.bit_depth = png_get_bit_depth(png, info);
    result.color_type = png_get_color_type(png, info);
    result.interlace = png_get_interlace_type(png, info);
    ck_assert_int_eq(result.bit_depth, 8);
    ck_assert_int_eq(result.color_type, PNG_COLOR_TYPE_GRAY);
    copy_rows(png, info, &result);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(file);
    return result;
}

static unsigned pixel_at(const picture *p, size_t x, size_t y)
{
    ck_assert_uint_lt(x, p->width);
    ck_assert_uint_lt(y, p->height);
    return p->pixels[y * p->width + x];
}

/* The gray level of value in an image whose values span [min, max]. */
static unsigned expected_gray(double value, double min, double max)
{
    if (max == min)
        return CONSTANT_GRAY;
    return (unsigned)floor((value - min) * 255.0 / (max - min) + 0.5);
}

static void min_max(const float *values, size_t count, size_t stride,
                    double *min, double *max)
{
    *min = values[0];
    *max = values[0];
    for (size_t i = 1; i < count; i++) {
        *min = fmin(*min, values[i * stride]);
        *max = fmax(*max, values[i * stride]);
    }
}

/*
 * Checks that picture p is a grid `columns` wide of `count` images of
 * height x width pixels, where pixel i of image j is
 * values[j * image_stride + i * pixel_stride]. The images must have
 * 1-pixel borders between and around them, and the empty cells must be
 * border-gray.
 */
static void check_grid(const picture *p, const float *values, size_t count,
                       size_t height, size_t width, size_t columns,
                       size_t image_stride, size_t pixel_stride)
{
    size_t grid_rows = (count + columns - 1) / columns;
    size_t pixels = height * width;

    ck_assert_uint_eq(p->width, columns * (width + 1) + 1);
    ck_assert_uint_eq(p->height, grid_rows * (height + 1) + 1);
    ck_assert_int_eq(p->interlace, PNG_INTERLACE_NONE);
    for (size_t y = 0; y < p->height; y++)
        for (size_t x = 0; x < p->width; x++)
            if (y % (height + 1) == 0 || x % (width + 1) == 0)
                ck_assert_msg(pixel_at(p, x, y) == BORDER_GRAY,
                              "border pixel (%zu, %zu) is %u", x, y,
                              pixel_at(p, x, y));
    for (size_t cell = 0; cell < grid_rows * columns; cell++) {
        size_t left = (cell % columns) * (width + 1) + 1;
        size_t top = (cell / columns) * (height + 1) + 1;
        const float *image = values + cell * image_stride;
        double min = 0.0;
        double max = 0.0;

        if (cell < count)
            min_max(image, pixels, pixel_stride, &min, &max);
        for (size_t i = 0; i < pixels; i++) {
            unsigned expected = BORDER_GRAY;
            unsigned actual = pixel_at(p, left + i % width, top + i / width);

            if (cell < count)
                expected = expected_gray(image[i * pixel_stride], min, max);
            ck_assert_msg(actual == expected,
                          "image %zu pixel %zu: gray %u, expected %u", cell,
                          i, actual, expected);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Grids                                                                    */
/* ------------------------------------------------------------------------ */

START_TEST(grid_layout_and_borders)
{
    enum { COUNT = 5, HEIGHT = 3, WIDTH = 4, COLUMNS = 2 };
    float images[COUNT * HEIGHT * WIDTH];
    char path[PATH_SIZE];
    picture p;

    /* Image j increases along its rows, with a different offset and
     * slope per image, so each pixel's place in the grid shows. */
    for (size_t j = 0; j < COUNT; j++)
        for (size_t i = 0; i < HEIGHT * WIDTH; i++)
            images[j * HEIGHT * WIDTH + i] = (float)(100.0 * j
                                                     + (j + 1.0) * i);
    join_path(path, temp_dir, "grid.png");
    ck_assert_int_eq(ebm_png_write_grid(path, images, COUNT, HEIGHT, WIDTH,
                                        COLUMNS),
                     EBM_OK);
    p = read_picture(path);
    ck_assert_uint_eq(p.width, 11);
    ck_assert_uint_eq(p.height, 13);
    check_grid(&p, images, COUNT, HEIGHT, WIDTH, COLUMNS, HEIGHT * WIDTH, 1);
    /* Pixel 0 is each image's minimum and pixel 11 its maximum. */
    ck_assert_uint_eq(pixel_at(&p, 6, 5), 0);
    ck_assert_uint_eq(pixel_at(&p, 9, 7), 255);
    /* The sixth cell, right of the last image, is empty. */
    ck_assert_uint_eq(pixel_at(&p, 7, 10), BORDER_GRAY);
    ck_assert_uint_eq(count_temp_files(), 1);
    free(p.pixels);
}
END_TEST

START_TEST(grid_single_column)
{
    float images[3 * 2 * 2] = {
        0, 1, 2, 3, 5, 5, 5, 5, -1, 1, -1, 1
    };
    char path[PATH_SIZE];
    picture p;

    join_path(path, temp_dir, "column.png");
    ck_assert_int_eq(ebm_png_write_grid(path, images, 3, 2, 2, 1), EBM_OK);
    p = read_picture(path);
    ck_assert_uint_eq(p.width, 4);
    ck_assert_uint_eq(p.height, 10);
    check_grid(&p, images, 3, 2, 2, 1, 4, 1);
    free(p.pixels);
}
END_TEST

START_TEST(grid_columns_above_count)
{
    float images[2 * 1 * 3] = { 0, 1, 2, 2, 1, 0 };
    char path[PATH_SIZE];
    picture p;

    /* A grid wider than the images is narrowed to one row of them. */
    join_path(path, temp_dir, "wide.png");
    ck_assert_int_eq(ebm_png_write_grid(path, images, 2, 1, 3, 1000),
                     EBM_OK);
    p = read_picture(path);
    ck_assert_uint_eq(p.width, 2 * 4 + 1);
    ck_assert_uint_eq(p.height, 3);
    check_grid(&p, images, 2, 1, 3, 2, 3, 1);
    free(p.pixels);
}
END_TEST

START_TEST(contrast_min_black_max_white)
{
    float image[2 * 3] = { 0.25f, -3.0f, 0.0f, 7.0f, 1.5f, 2.0f };
    char path[PATH_SIZE];
    picture p;

    join_path(path, temp_dir, "contrast.png");
    ck_assert_int_eq(ebm_png_write_grid(path, image, 1, 2, 3, 1), EBM_OK);
    p = read_picture(path);
    ck_assert_uint_eq(pixel_at(&p, 2, 1), 0);   /* -3 */
    ck_assert_uint_eq(pixel_at(&p, 1, 2), 255); /* 7 */
    /* 0 is 3/10 of the way from -3 to 7: 76.5 rounds to 77. */
    ck_assert_uint_eq(pixel_at(&p, 3, 1), 77);
    /* 2 is halfway: 127.5 rounds to 128. */
    ck_assert_uint_eq(pixel_at(&p, 3, 2), 128);
    check_grid(&p, image, 1, 2, 3, 1, 6, 1);
    free(p.pixels);
}
END_TEST

START_TEST(contrast_per_image)
{
    /* Probabilities in [0, 0.01] and weights in [-100, 100] both span
     * black to white in their own cells. */
    float images[2 * 2] = { 0.0f, 0.01f, -100.0f, 100.0f };
    char path[PATH_SIZE];
    picture p;

    join_path(path, temp_dir, "scales.png");
    ck_assert_int_eq(ebm_png_write_grid(path, images, 2, 1, 2, 2), EBM_OK);
    p = read_picture(path);
    ck_assert_uint_eq(pixel_at(&p, 1, 1), 0);
    ck_assert_uint_eq(pixel_at(&p, 2, 1), 255);
    ck_assert_uint_eq(pixel_at(&p, 4, 1), 0);
    ck_assert_uint_eq(pixel_at(&p, 5, 1), 255);
    free(p.pixels);
}
END_TEST

START_TEST(contrast_constant_image_gray)
{
    float images[3 * 4] = {
        0, 0, 0, 0, 1, 1, 1, 1, -2.5f, -2.5f, -2.5f, -2.5f
    };
    char path[PATH_SIZE];
    picture p;

    join_path(path, temp_dir, "constant.png");
    ck_assert_int_eq(ebm_png_write_grid(path, images, 3, 2, 2, 3), EBM_OK);
    p = read_picture(path);
    for (size_t cell = 0; cell < 3; cell++)
        for (size_t i = 0; i < 4; i++)
            ck_assert_uint_eq(pixel_at(&p, 1 + cell * 3 + i % 2, 1 + i / 2),
                              CONSTANT_GRAY);
    free(p.pixels);
}
END_TEST

START_TEST(contrast_extreme_floats)
{
    /* max - min overflows a float but not the double the mapping uses. */
    float image[4] = { -FLT_MAX, FLT_MAX, 0.0f, FLT_MIN };
    char path[PATH_SIZE];
    picture p;

    join_path(path, temp_dir, "extreme.png");
    ck_assert_int_eq(ebm_png_write_grid(path, image, 1, 1, 4, 1), EBM_OK);
    p = read_picture(path);
    ck_assert_uint_eq(pixel_at(&p, 1, 1), 0);
    ck_assert_uint_eq(pixel_at(&p, 2, 1), 255);
    ck_assert_uint_eq(pixel_at(&p, 3, 1), 128);
    ck_assert_uint_eq(pixel_at(&p, 4, 1), 128);
    free(p.pixels);
}
END_TEST

START_TEST(grid_wider_than_libpng_default)
{
    /* 500,001 images of 1 x 1 pixels in one row: 1,000,003 pixels wide,
     * above libpng's default limit of 1,000,000 per side. */
    const size_t count = 500001;
    float *images = malloc(count * sizeof(*images));
    char path[PATH_SIZE];
    picture p;

    ck_assert_ptr_nonnull(images);
    for (size_t i = 0; i < count; i++)
        images[i] = (float)i;
    join_path(path, temp_dir, "long.png");
    ck_assert_int_eq(ebm_png_write_grid(path, images, count, 1, 1, count),
                     EBM_OK);
    p = read_picture(path);
    ck_assert_uint_eq(p.width, 2 * count + 1);
    ck_assert_uint_eq(p.height, 3);
    for (size_t i = 0; i < count; i++)
        ck_assert_uint_eq(pixel_at(&p, 1 + 2 * i, 1), CONSTANT_GRAY);
    free(p.pixels);
    free(images);
}
END_TEST

START_TEST(grid_replaces_existing_file)
{
    float first[4] = { 0, 1, 2, 3 };
    float second[4] = { 3, 2, 1, 0 };
    char path[PATH_SIZE];
    struct stat info;
    picture p;

    join_path(path, temp_dir, "again.png");
    umask(022);
    ck_assert_int_eq(ebm_png_write_grid(path, first, 1, 2, 2, 1), EBM_OK);
    ck_assert_int_eq(ebm_png_write_grid(path, second, 1, 2, 2, 1), EBM_OK);
    p = read_picture(path);
    ck_assert_uint_eq(pixel_at(&p, 1, 1), 255);
    ck_assert_uint_eq(pixel_at(&p, 2, 2), 0);
    ck_assert_uint_eq(count_temp_files(), 1);
    ck_assert_int_eq(stat(path, &info), 0);
    ck_assert_uint_eq(info.st_mode & 0777, 0644);
    free(p.pixels);
}
END_TEST

START_TEST(grid_relative_path)
{
    float image[4] = { 0, 1, 2, 3 };
    char cwd[PATH_SIZE];
    picture p;

    ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
    ck_assert_int_eq(chdir(temp_dir), 0);
    ck_assert_int_eq(ebm_png_write_grid("here.png", image, 1, 2, 2, 1),
                     EBM_OK);
    p = read_picture("here.png");
    ck_assert_uint_eq(p.width, 4);
    ck_assert_uint_eq(count_temp_files(), 1);
    ck_assert_int_eq(chdir(cwd), 0);
    free(p.pixels);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Filters                                                                  */
/* ------------------------------------------------------------------------ */

enum { FILTER_HEIGHT = 2, FILTER_WIDTH = 3, FILTER_D = 6, FILTER_K = 4 };

/* A model whose weight W[i, k] is unique, with sign and slope per k. */
static ebm_rbm *make_filter_model(void)
{
    float weights[FILTER_D * FILTER_K];
    ebm_rbm *rbm = NULL;

    ck_assert_int_eq(ebm_rbm_create(FILTER_D, FILTER_K, &rbm), EBM_OK);
    for (size_t i = 0; i < FILTER_D; i++)
        for (size_t k = 0; k < FILTER_K; k++)
            weights[i * FILTER_K + k] = (float)((k % 2 ? -1.0 : 1.0)
                                                * (k + 1.0) * (double)(i * i)
                                                + 0.1 * k);
    ck_assert_int_eq(ebm_rbm_set_weights(rbm, weights), EBM_OK);
    return rbm;
}

START_TEST(filters_are_reshaped_columns)
{
    ebm_rbm *rbm = make_filter_model();
    const float *weights = ebm_rbm_weights(rbm);
    char path[PATH_SIZE];
    picture p;

    join_path(path, temp_dir, "filters.png");
    ck_assert_int_eq(ebm_rbm_write_filters_png(rbm, path, 3, FILTER_HEIGHT,
                                               FILTER_WIDTH, 2),
                     EBM_OK);
    p = read_picture(path);
    ck_assert_uint_eq(p.width, 2 * (FILTER_WIDTH + 1) + 1);
    ck_assert_uint_eq(p.height, 2 * (FILTER_HEIGHT + 1) + 1);
    /* Image k, pixel i is W[i * K + k]. */
    check_grid(&p, weights, 3, FILTER_HEIGHT, FILTER_WIDTH, 2, 1, FILTER_K);
    free(p.pixels);
    ebm_rbm_destroy(rbm);
}
END_TEST

START_TEST(filters_match_grid_of_columns)
{
    ebm_rbm *rbm = make_filter_model();
    const float *weights = ebm_rbm_weights(rbm);
    float columns[FILTER_K * FILTER_D];
    char filters_path[PATH_SIZE];
    char grid_path[PATH_SIZE];
    picture filters;
    picture grid;

    for (size_t k = 0; k < FILTER_K; k++)
        for (size_t i = 0; i < FILTER_D; i++)
            columns[k * FILTER_D + i] = weights[i * FILTER_K + k];
    join_path(filters_path, temp_dir, "filters.png");
    join_path(grid_path, temp_dir, "grid.png");
    ck_assert_int_eq(ebm_rbm_write_filters_png(rbm, filters_path, FILTER_K,
                                               FILTER_HEIGHT, FILTER_WIDTH,
                                               3),
                     EBM_OK);
    ck_assert_int_eq(ebm_png_write_grid(grid_path, columns, FILTER_K,
                                        FILTER_HEIGHT, FILTER_WIDTH, 3),
                     EBM_OK);
    filters = read_picture(filters_path);
    grid = read_picture(grid_path);
    ck_assert_uint_eq(filters.width, grid.width);
    ck_assert_uint_eq(filters.height, grid.height);
    ck_assert_int_eq(memcmp(filters.pixels, grid.pixels,
                            (size_t)grid.width * grid.height),
                     0);
    free(filters.pixels);
    free(grid.pixels);
    ebm_rbm_destroy(rbm);
}
END_TEST

START_TEST(filters_of_untrained_model_gray)
{
    ebm_rbm *rbm = NULL;
    char path[PATH_SIZE];
    picture p;

    ck_assert_int_eq(ebm_rbm_create(4, 2, &rbm), EBM_OK);
    join_path(path, temp_dir, "zero.png");
    ck_assert_int_eq(ebm_rbm_write_filters_png(rbm, path, 2, 2, 2, 2),
                     EBM_OK);
    p = read_picture(path);
    ck_assert_uint_eq(pixel_at(&p, 1, 1), CONSTANT_GRAY);
    ck_assert_uint_eq(pixel_at(&p, 5, 2), CONSTANT_GRAY);
    free(p.pixels);
    ebm_rbm_destroy(rbm);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

/* Asserts that a failing call returned `expected`, named `word` in its
 * message and left temp_dir empty. */
static void check_failure(ebm_status status, ebm_status expected,
                          const char *word)
{
    ck_assert_msg(status == expected, "status %s, expected %s",
                  ebm_status_name(status), ebm_status_name(expected));
    ck_assert_msg(strstr(ebm_last_error(), word) != NULL,
                  "message '%s' lacks '%s'", ebm_last_error(), word);
    ck_assert_uint_eq(count_temp_files(), 0);
}

START_TEST(grid_null_arguments)
{
    float image[4] = { 0, 1, 2, 3 };
    char path[PATH_SIZE];

    join_path(path, temp_dir, "null.png");
    check_failure(ebm_png_write_grid(NULL, image, 1, 2, 2, 1), EBM_ERR_NULL,
                  "path");
    check_failure(ebm_png_write_grid(path, NULL, 1, 2, 2, 1), EBM_ERR_NULL,
                  "images");
}
END_TEST

START_TEST(grid_zero_sizes)
{
    float image[4] = { 0, 1, 2, 3 };
    char path[PATH_SIZE];

    join_path(path, temp_dir, "zero.png");
    check_failure(ebm_png_write_grid(path, image, 0, 2, 2, 1), EBM_ERR_SIZE,
                  "count 0");
    check_failure(ebm_png_write_grid(path, image, 1, 0, 2, 1), EBM_ERR_SIZE,
                  "height 0");
    check_failure(ebm_png_write_grid(path, image, 1, 2, 0, 1), EBM_ERR_SIZE,
                  "width 0");
    check_failure(ebm_png_write_grid(path, image, 1, 2, 2, 0), EBM_ERR_SIZE,
                  "columns 0");
}
END_TEST

START_TEST(grid_overflowing_sizes)
{
    float image[4] = { 0, 1, 2, 3 };
    char path[PATH_SIZE];

    /* The sizes are checked before any value is read. */
    join_path(path, temp_dir, "overflow.png");
    check_failure(ebm_png_write_grid(path, image, SIZE_MAX, 2, 2, 1),
                  EBM_ERR_OVERFLOW, "overflow");
    check_failure(ebm_png_write_grid(path, image, SIZE_MAX / 1000, 1000,
                                     1000, 1000),
                  EBM_ERR_OVERFLOW, "overflow");
}
END_TEST

START_TEST(grid_limits)
{
    float image[4] = { 0, 1, 2, 3 };
    char path[PATH_SIZE];

    join_path(path, temp_dir, "limit.png");
    check_failure(ebm_png_write_grid(path, image, 1, 32769, 1, 1),
                  EBM_ERR_LIMIT, "32769");
    check_failure(ebm_png_write_grid(path, image, 1, 1, 32769, 1),
                  EBM_ERR_LIMIT, "32769");
    /* 2^20 images of 28 x 28 pixels are over 2^28 pixels in any grid. */
    check_failure(ebm_png_write_grid(path, image, (size_t)1 << 20, 28, 28,
                                     1024),
                  EBM_ERR_LIMIT, "268435456");
    /* 2^27 images of 1 x 1 pixel make a picture 2^28 + 1 pixels wide in
     * one row, and as high in one column. */
    check_failure(ebm_png_write_grid(path, image, (size_t)1 << 27, 1, 1,
                                     (size_t)1 << 27),
                  EBM_ERR_LIMIT, "268435456");
    check_failure(ebm_png_write_grid(path, image, (size_t)1 << 27, 1, 1, 1),
                  EBM_ERR_LIMIT, "268435456");
}
END_TEST

START_TEST(grid_side_at_limit)
{
    /* One image of 1 x 32768 pixels is within the limits. */
    const size_t width = 32768;
    float *image = calloc(width, sizeof(*image));
    char path[PATH_SIZE];
    picture p;

    ck_assert_ptr_nonnull(image);
    image[width - 1] = 1.0f;
    join_path(path, temp_dir, "side.png");
    ck_assert_int_eq(ebm_png_write_grid(path, image, 1, 1, width, 1), EBM_OK);
    p = read_picture(path);
    ck_assert_uint_eq(p.width, width + 2);
    ck_assert_uint_eq(pixel_at(&p, width, 1), 255);
    ck_assert_uint_eq(pixel_at(&p, 1, 1), 0);
    free(p.pixels);
    free(image);
}
END_TEST

START_TEST(grid_nonfinite_values)
{
    const float bad[3] = { NAN, INFINITY, -INFINITY };
    float images[2 * 2 * 3];
    char path[PATH_SIZE];

    join_path(path, temp_dir, "nan.png");
    for (size_t b = 0; b < 3; b++) {
        for (size_t i = 0; i < 12; i++)
            images[i] = (float)i;
        /* The last value of the second image, row 1, column 2. */
        images[11] = bad[b];
        check_failure(ebm_png_write_grid(path, images, 2, 2, 3, 2),
                      EBM_ERR_NONFINITE, "image 1, row 1, column 2");
    }
}
END_TEST

START_TEST(grid_missing_directory)
{
    float image[4] = { 0, 1, 2, 3 };
    char path[PATH_SIZE];

    join_path(path, temp_dir, "missing/grid.png");
    check_failure(ebm_png_write_grid(path, image, 1, 2, 2, 1), EBM_ERR_IO,
                  path);
}
END_TEST

START_TEST(grid_path_is_directory)
{
    float image[4] = { 0, 1, 2, 3 };
    char path[PATH_SIZE];
    struct stat info;

    join_path(path, temp_dir, "");
    check_failure(ebm_png_write_grid(path, image, 1, 2, 2, 1), EBM_ERR_IO,
                  "directory");
    check_failure(ebm_png_write_grid("", image, 1, 2, 2, 1), EBM_ERR_IO,
                  "directory");
    /* An existing directory stays, and the temporary file is removed. */
    join_path(path, temp_dir, "dir.png");
    ck_assert_int_eq(mkdir(path, 0755), 0);
    ck_assert_int_eq(ebm_png_write_grid(path, image, 1, 2, 2, 1),
                     EBM_ERR_IO);
    ck_assert_ptr_nonnull(strstr(ebm_last_error(), "rename"));
    ck_assert_uint_eq(count_temp_files(), 1);
    ck_assert_int_eq(stat(path, &info), 0);
    ck_assert(S_ISDIR(info.st_mode));
}
END_TEST

START_TEST(grid_unwritable_directory)
{
    float image[4] = { 0, 1, 2, 3 };
    char dir[PATH_SIZE];
    char path[PATH_SIZE];

    /* root may write anywhere, so the check applies to other users. */
    if (geteuid() == 0)
        return;
    join_path(dir, temp_dir, "locked");
    ck_assert_int_eq(mkdir(dir, 0555), 0);
    join_path(path, dir, "grid.png");
    ck_assert_int_eq(ebm_png_write_grid(path, image, 1, 2, 2, 1),
                     EBM_ERR_IO);
    ck_assert_ptr_nonnull(strstr(ebm_last_error(), "temporary"));
    ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

START_TEST(grid_failure_keeps_old_file)
{
    float first[4] = { 0, 1, 2, 3 };
    float bad[4] = { 0, 1, NAN, 3 };
    char path[PATH_SIZE];
    picture p;

    join_path(path, temp_dir, "keep.png");
    ck_assert_int_eq(ebm_png_write_grid(path, first, 1, 2, 2, 1), EBM_OK);
    ck_assert_int_eq(ebm_png_write_grid(path, bad, 1, 2, 2, 1),
                     EBM_ERR_NONFINITE);
    p = read_picture(path);
    ck_assert_uint_eq(pixel_at(&p, 1, 1), 0);
    ck_assert_uint_eq(pixel_at(&p, 2, 2), 255);
    ck_assert_uint_eq(count_temp_files(), 1);
    free(p.pixels);
}
END_TEST

START_TEST(grid_write_error)
{
    enum { SIDE = 64 };
    float image[SIDE * SIDE];
    struct rlimit old_limit;
    struct rlimit small_limit;
    char path[PATH_SIZE];
    uint32_t state = 12345;
    ebm_status status;

    /* Noise does not compress, so the file exceeds the 100-byte limit on
     * file sizes and the write fails with EFBIG. SIGXFSZ would end the
     * process, so it is ignored. */
    for (size_t i = 0; i < SIDE * SIDE; i++) {
        state = state * 1664525u + 1013904223u;
        image[i] = (float)(state >> 8);
    }
    join_path(path, temp_dir, "big.png");
    signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
    small_limit = old_limit;
    small_limit.rlim_cur = 100;
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &small_limit), 0);
    status = ebm_png_write_grid(path, image, 1, SIDE, SIDE, 1);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old_limit), 0);
    check_failure(status, EBM_ERR_IO, "File too large");
}
END_TEST

START_TEST(filters_errors)
{
    ebm_rbm *rbm = make_filter_model();
    char path[PATH_SIZE];

    join_path(path, temp_dir, "filters.png");
    check_failure(ebm_rbm_write_filters_png(NULL, path, 1, 2, 3, 1),
                  EBM_ERR_NULL, "rbm");
    check_failure(ebm_rbm_write_filters_png(rbm, NULL, 1, 2, 3, 1),
                  EBM_ERR_NULL, "path");
    check_failure(ebm_rbm_write_filters_png(rbm, path, 0, 2, 3, 1),
                  EBM_ERR_SIZE, "count is 0");
    check_failure(ebm_rbm_write_filters_png(rbm, path, FILTER_K + 1, 2, 3,
                                            1),
                  EBM_ERR_SIZE, "count is 5");
    check_failure(ebm_rbm_write_filters_png(rbm, path, 1, 3, 3, 1),
                  EBM_ERR_MISMATCH, "6 visible units");
    check_failure(ebm_rbm_write_filters_png(rbm, path, 1, 6, 6, 1),
                  EBM_ERR_MISMATCH, "36 values");
    check_failure(ebm_rbm_write_filters_png(rbm, path, 1, 0, 3, 1),
                  EBM_ERR_SIZE, "height 0");
    check_failure(ebm_rbm_write_filters_png(rbm, path, 1, 2, 3, 0),
                  EBM_ERR_SIZE, "columns 0");
    check_failure(ebm_rbm_write_filters_png(rbm, path, 1, 40000, 3, 1),
                  EBM_ERR_LIMIT, "40000");
    join_path(path, temp_dir, "missing/filters.png");
    check_failure(ebm_rbm_write_filters_png(rbm, path, 1, 2, 3, 1),
                  EBM_ERR_IO, path);
    ebm_rbm_destroy(rbm);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("png");
    TCase *grid = tcase_create("grid");
    TCase *filters = tcase_create("filters");
    TCase *errors = tcase_create("errors");
    TCase *cases[] = { grid, filters, errors };
    SRunner *runner;
    int failed;

    for (size_t i = 0; i < 3; i++) {
        tcase_add_unchecked_fixture(cases[i], make_case_dir,
                                    remove_case_dir);
        tcase_add_checked_fixture(cases[i], make_temp_dir, remove_temp_dir);
        suite_add_tcase(suite, cases[i]);
    }
    tcase_add_test(grid, grid_layout_and_borders);
    tcase_add_test(grid, grid_single_column);
    tcase_add_test(grid, grid_columns_above_count);
    tcase_add_test(grid, contrast_min_black_max_white);
    tcase_add_test(grid, contrast_per_image);
    tcase_add_test(grid, contrast_constant_image_gray);
    tcase_add_test(grid, contrast_extreme_floats);
    tcase_add_test(grid, grid_wider_than_libpng_default);
    tcase_add_test(grid, grid_replaces_existing_file);
    tcase_add_test(grid, grid_relative_path);
    tcase_add_test(grid, grid_side_at_limit);

    tcase_add_test(filters, filters_are_reshaped_columns);
    tcase_add_test(filters, filters_match_grid_of_columns);
    tcase_add_test(filters, filters_of_untrained_model_gray);

    tcase_add_test(errors, grid_null_arguments);
    tcase_add_test(errors, grid_zero_sizes);
    tcase_add_test(errors, grid_overflowing_sizes);
    tcase_add_test(errors, grid_limits);
    tcase_add_test(errors, grid_nonfinite_values);
    tcase_add_test(errors, grid_missing_directory);
    tcase_add_test(errors, grid_path_is_directory);
    tcase_add_test(errors, grid_unwritable_directory);
    tcase_add_test(errors, grid_failure_keeps_old_file);
    tcase_add_test(errors, grid_write_error);
    tcase_add_test(errors, filters_errors);

    runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
