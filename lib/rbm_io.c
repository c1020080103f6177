/*
 * Model files: ebm_rbm_save and ebm_rbm_load, a NumPy .npz archive with
 * the arrays format_version, W, visible_bias and hidden_bias. See ebm.h
 * and docs/file-formats.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"
#include "npy.h"
#include "zip.h"

#define MODEL_FORMAT_VERSION 1
#define DETAIL_COPY_SIZE 512

/* "<path>: <entry>", naming an array in messages. */
static char *make_label(const char *path, const char *entry)
{
    size_t size = strlen(path) + strlen(entry) + 3;
    char *label = malloc(size);

    if (label != NULL)
        snprintf(label, size, "%s: %s", path, entry);
    return label;
}

/* Prefixes the current detail message with path, for errors reported by
 * functions that do not know the file name. */
static ebm_status fail_in_file(ebm_status status, const char *path)
{
    char detail[DETAIL_COPY_SIZE];

    snprintf(detail, sizeof(detail), "%s", ebm_last_error());
    return ebm_fail(status, "%s: %s", path, detail);
}

/* ------------------------------------------------------------------------ */
/* Saving                                                                   */
/* ------------------------------------------------------------------------ */

/* One array of the archive. */
struct model_array {
    const char *entry;
    char kind;
    size_t item_size;
    size_t ndim;
    size_t shape[EBM_NPY_MAX_DIMS];
    const void *data;
};

static ebm_status write_model(int fd, const char *path, const ebm_rbm *rbm)
{
    static const int32_t version = MODEL_FORMAT_VERSION;
    size_t n_visible = 0, n_hidden = 0;
    ebm_zip_writer *zip = NULL;
    struct model_array arrays[4];
    ebm_status status = ebm_rbm_shape(rbm, &n_visible, &n_hidden);

    if (status != EBM_OK)
        return status;
    arrays[0] = (struct model_array){"format_version.npy", 'i',
                                     sizeof(int32_t), 0, {0, 0}, &version};
    arrays[1] = (struct model_array){"W.npy", 'f', sizeof(float), 2,
                                     {n_visible, n_hidden},
                                     ebm_rbm_weights(rbm)};
    arrays[2] = (struct model_array){"visible_bias.npy", 'f', sizeof(float),
                                     1, {n_visible, 0},
                                     ebm_rbm_visible_bias(rbm)};
    arrays[3] = (struct model_array){"hidden_bias.npy", 'f', sizeof(float),
                                     1, {n_hidden, 0},
                                     ebm_rbm_hidden_bias(rbm)};
    status = ebm_zip_writer_create(fd, path, &zip);
    for (size_t i = 0; i < 4 && status == EBM_OK; i++) {
        unsigned char header[EBM_NPY_HEADER_CAPACITY];
        size_t header_size = 0, count = 1, data_size = 0;
        ebm_zip_part parts[2];

        for (size_t d = 0; d < arrays[i].ndim && status == EBM_OK; d++)
            status = ebm_mul_size(count, arrays[i].shape[d], &count,
                                  arrays[i].entry);
        if (status == EBM_OK)
            status = ebm_mul_size(count, arrays[i].item_size, &data_size,
                                  arrays[i].entry);
        if (status == EBM_OK)
            status = ebm_npy_format_header(arrays[i].kind,
                                           arrays[i].item_size,
                                           arrays[i].ndim, arrays[i].shape,
                                           header, sizeof(header),
                                           &header_size);
        if (status != EBM_OK)
            break;
        parts[0] = (ebm_zip_part){header, header_size};
        parts[1] = (ebm_zip_part){arrays[i].data, data_size};
        status = ebm_zip_writer_add(zip, arrays[i].entry, parts, 2);
    }
    if (status == EBM_OK)
        status = ebm_zip_writer_finish(zip);
    ebm_zip_writer_destroy(zip);
    return status;
}

/*
 * Builds the temporary file template "<dir>/.<name>.XXXXXX" in the
 * directory of path, and that directory's name for the final fsync.
 */
static ebm_status make_temp_names(const char *path, char **temp,
                                  char **directory)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    size_t prefix = (size_t)(base - path);
    size_t base_size = strlen(base);

    *temp = NULL;
    *directory = NULL;
    if (base_size == 0)
        return ebm_fail(EBM_ERR_IO, "%s: cannot save: the path names a "
                                    "directory, not a file",
                        path);
    *temp = malloc(prefix + base_size + sizeof(".") + sizeof(".XXXXXX"));
    *directory = malloc(prefix + sizeof("."));
    if (*temp == NULL || *directory == NULL) {
        free(*temp);
        free(*directory);
        *temp = NULL;
        *directory = NULL;
        return ebm_fail(EBM_ERR_NOMEM, "%s: cannot allocate file names",
                        path);
    }
    memcpy(*temp, path, prefix);
    sprintf(*temp + prefix, ".%s.XXXXXX", base);
    if (slash == NULL) {
        strcpy(*directory, ".");
    } else if (prefix == 1) {
        strcpy(*directory, "/");
    } else {
        memcpy(*directory, path, prefix - 1);
        (*directory)[prefix - 1] = '\0';
    }
    return EBM_OK;
}

/*
 * Permission bits for the new file: those of the file it replaces, else
 * 0666 less the process umask. umask() cannot be read without setting it,
 * which would race with other threads, so the umask comes from
 * /proc/self/status (Linux 4.7 and later). Where neither is available the
 * file keeps mkstemp's 0600.
 */
static mode_t new_file_mode(const char *path)
{
    struct stat info;
    char line[256];
    mode_t mode = 0600;
    FILE *status;

    if (stat(path, &info) == 0 && S_ISREG(info.st_mode))
        return info.st_mode & 0777;
    status = fopen("/proc/self/status", "r");
    if (status == NULL)
        return mode;
    while (fgets(line, sizeof(line), status) != NULL) {
        if (strncmp(line, "Umask:", 6) == 0) {
            mode = 0666 & ~(mode_t)strtoul(line + 6, NULL, 8);
            break;
        }
    }
    fclose(status);
    return mode;
}

/* Makes the rename durable. Some file systems cannot fsync a directory
 * and report EINVAL, which is ignored because the rename has happened. */
static ebm_status sync_directory(const char *path, const char *directory)
{
    int fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ebm_status status = EBM_OK;

    if (fd < 0)
        return ebm_fail(EBM_ERR_IO,
                        "%s: saved, but cannot open directory %s to sync "
                        "it: %s",
                        path, directory, strerror(errno));
    if (fsync(fd) != 0 && errno != EINVAL)
        status = ebm_fail(EBM_ERR_IO,
                          "%s: saved, but fsync of directory %s failed: %s",
                          path, directory, strerror(errno));
    close(fd);
    return status;
}

ebm_status ebm_rbm_save(const ebm_rbm *rbm, const char *path)
{
    char *temp = NULL, *directory = NULL;
    mode_t mode;
    int fd;
    ebm_status status = ebm_check_pointer(rbm, "rbm");

    if (status == EBM_OK)
        status = ebm_check_pointer(path, "path");
    if (status == EBM_OK)
        status = make_temp_names(path, &temp, &directory);
    if (status != EBM_OK)
        return status;
    mode = new_file_mode(path);
    fd = mkstemp(temp);
    if (fd < 0) {
        status = ebm_fail(EBM_ERR_IO,
                          "%s: cannot create a temporary file in %s: %s",
                          path, directory, strerror(errno));
        free(temp);
        free(directory);
        return status;
    }
    status = write_model(fd, path, rbm);
    if (status == EBM_OK && fchmod(fd, mode) != 0)
        status = ebm_fail(EBM_ERR_IO, "%s: cannot set the mode of %s: %s",
                          path, temp, strerror(errno));
    if (status == EBM_OK && fsync(fd) != 0)
        status = ebm_fail(EBM_ERR_IO, "%s: fsync of %s failed: %s", path,
                          temp, strerror(errno));
    if (close(fd) != 0 && status == EBM_OK)
        status = ebm_fail(EBM_ERR_IO, "%s: closing %s failed: %s", path,
                          temp, strerror(errno));
    if (status == EBM_OK && rename(temp, path) != 0)
        status = ebm_fail(EBM_ERR_IO, "%s: cannot rename %s to it: %s",
                          path, temp, strerror(errno));
    if (status != EBM_OK)
        unlink(temp);
    else
        status = sync_directory(path, directory);
    free(temp);
    free(directory);
    return status;
}

/* ------------------------------------------------------------------------ */
/* Loading                                                                  */
/* ------------------------------------------------------------------------ */

/* Reads entry and parses its .npy header. On success the caller owns
 * *bytes. */
static ebm_status read_npy(ebm_zip_reader *zip, const char *label,
                           const char *entry, unsigned char **bytes,
                           ebm_npy_array *array)
{
    size_t size = 0;
    ebm_status status = ebm_zip_reader_read(zip, entry, bytes, &size);

    if (status != EBM_OK)
        return status;
    status = ebm_npy_parse(*bytes, size, label, array);
    if (status != EBM_OK) {
        free(*bytes);
        *bytes = NULL;
    }
    return status;
}

/* Checks format_version, which means 1 when absent. Any other value is
 * rejected before the arrays are read, because another version may lay
 * them out differently. */
static ebm_status check_format_version(ebm_zip_reader *zip, const char *path)
{
    static const char entry[] = "format_version.npy";
    unsigned char *bytes = NULL;
    ebm_npy_array array;
    int64_t version = 0;
    char *label;
    ebm_status status;

    if (!ebm_zip_reader_contains(zip, entry))
        return EBM_OK;
    label = make_label(path, entry);
    if (label == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "%s: cannot allocate a message",
                        path);
    status = read_npy(zip, label, entry, &bytes, &array);
    if (status == EBM_OK && (array.kind == EBM_NPY_FLOAT || array.ndim != 0))
        status = ebm_fail(EBM_ERR_FORMAT,
                          "%s: expected an integer scalar, found dtype '%s' "
                          "with %zu dimensions",
                          label, array.descr, array.ndim);
    if (status == EBM_OK)
        status = ebm_npy_read_integer(bytes, &array, label, &version);
    if (status == EBM_OK && version != MODEL_FORMAT_VERSION)
        status = ebm_fail(EBM_ERR_VERSION,
                          "%s: format_version is %lld; this libebm reads "
                          "version %d only",
                          path, (long long)version, MODEL_FORMAT_VERSION);
    free(bytes);
    free(label);
    return status;
}

/* Reads one float array of ndim dimensions as native float32. */
static ebm_status read_parameter(ebm_zip_reader *zip, const char *path,
                                 const char *entry, size_t ndim,
                                 float **values, size_t *shape)
{
    unsigned char *bytes = NULL;
    ebm_npy_array array;
    char *label = make_label(path, entry);
    ebm_status status;

    if (label == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "%s: cannot allocate a message",
                        path);
    status = read_npy(zip, label, entry, &bytes, &array);
    if (status == EBM_OK && array.ndim != ndim) {
        status = ebm_fail(EBM_ERR_FORMAT,
                          "%s: the array has %zu dimensions; expected %zu",
                          label, array.ndim, ndim);
        free(bytes);
    }
    if (status == EBM_OK) {
        memcpy(shape, array.shape, ndim * sizeof(*shape));
        status = ebm_npy_take_float32(bytes, &array, label, values);
    }
    free(label);
    return status;
}

static ebm_status check_entries_present(const ebm_zip_reader *zip,
                                        const char *path)
{
    static const char *const required[] = {"W.npy", "visible_bias.npy",
                                           "hidden_bias.npy"};

    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        if (!ebm_zip_reader_contains(zip, required[i]))
            return ebm_fail(EBM_ERR_FORMAT,
                            "%s: the archive has no entry %s; a model file "
                            "needs W, visible_bias and hidden_bias",
                            path, required[i]);
    return EBM_OK;
}

/* The parameters of a model as read from the file. */
struct loaded_model {
    float *weights;
    float *visible_bias;
    float *hidden_bias;
    size_t weights_shape[2];
    size_t visible_shape[1];
    size_t hidden_shape[1];
};

static ebm_status read_model(const char *path, struct loaded_model *model)
{
    ebm_zip_reader *zip = NULL;
    ebm_status status = ebm_zip_reader_open(path, &zip);

    if (status == EBM_OK)
        status = check_format_version(zip, path);
    if (status == EBM_OK)
        status = check_entries_present(zip, path);
    if (status == EBM_OK)
        status = read_parameter(zip, path, "W.npy", 2, &model->weights,
                                model->weights_shape);
    if (status == EBM_OK)
        status = read_parameter(zip, path, "visible_bias.npy", 1,
                                &model->visible_bias, model->visible_shape);
    if (status == EBM_OK)
        status = read_parameter(zip, path, "hidden_bias.npy", 1,
                                &model->hidden_bias, model->hidden_shape);
    ebm_zip_reader_close(zip);
    if (status != EBM_OK)
        return status;
    if (model->visible_shape[0] != model->weights_shape[0])
        return ebm_fail(EBM_ERR_MISMATCH,
                        "%s: visible_bias has %zu elements but W has %zu "
                        "rows",
                        path, model->visible_shape[0],
                        model->weights_shape[0]);
    if (model->hidden_shape[0] != model->weights_shape[1])
        return ebm_fail(EBM_ERR_MISMATCH,
                        "%s: hidden_bias has %zu elements but W has %zu "
                        "columns",
                        path, model->hidden_shape[0],
                        model->weights_shape[1]);
    return EBM_OK;
}

ebm_status ebm_rbm_load(const char *path, ebm_rbm **out)
{
    struct loaded_model model;
    ebm_rbm *rbm = NULL;
    ebm_status status = ebm_check_pointer(path, "path");

    if (status == EBM_OK)
        status = ebm_check_pointer(out, "out");
    if (status != EBM_OK)
        return status;
    memset(&model, 0, sizeof(model));
    status = read_model(path, &model);
    if (status == EBM_OK) {
        status = ebm_rbm_create(model.weights_shape[0],
                                model.weights_shape[1], &rbm);
        if (status != EBM_OK)
            status = fail_in_file(status, path);
    }
    if (status == EBM_OK)
        status = ebm_rbm_set_weights(rbm, model.weights);
    if (status == EBM_OK)
        status = ebm_rbm_set_visible_bias(rbm, model.visible_bias);
    if (status == EBM_OK)
        status = ebm_rbm_set_hidden_bias(rbm, model.hidden_bias);
    if (status != EBM_OK && rbm != NULL)
        status = fail_in_file(status, path);
    free(model.weights);
    free(model.visible_bias);
    free(model.hidden_bias);
    if (status != EBM_OK) {
        ebm_rbm_destroy(rbm);
        return status;
    }
    *out = rbm;
    return EBM_OK;
}
