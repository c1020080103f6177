/*
 * Model files: ebm_rbm_save and ebm_rbm_load, a NumPy .npz archive with
 * the arrays format_version, W, visible_bias and hidden_bias. See ebm.h
 * and docs/file-formats.md.
 *
 * ebm_rbm_load converts the arrays straight into the model's memory, so
 * that a load never keeps two copies of the parameters. That is why this
 * file, unlike the rest of the file layer, uses the struct and
 * ebm_rbm_refresh_max_abs from rbm_internal.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"
#include "model_io.h"
#include "npy.h"
#include "rbm_internal.h"
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

ebm_status ebm_model_fail_in_file(ebm_status status, const char *path)
{
    char detail[DETAIL_COPY_SIZE];

    snprintf(detail, sizeof(detail), "%s", ebm_last_error());
    return ebm_fail(status, "%s: %s", path, detail);
}

/* ------------------------------------------------------------------------ */
/* Saving                                                                   */
/* ------------------------------------------------------------------------ */

/* Writes format_version and then the arrays as one .npz archive. */
static ebm_status write_arrays(int fd, const char *path,
                               const struct ebm_model_array *given,
                               size_t count_given)
{
    static const int32_t version = MODEL_FORMAT_VERSION;
    ebm_zip_writer *zip = NULL;
    struct ebm_model_array arrays[EBM_MODEL_MAX_ARRAYS + 1];
    size_t n_arrays = count_given + 1;
    ebm_status status;

    if (count_given > EBM_MODEL_MAX_ARRAYS)
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "%s: %zu arrays; a model file holds at most %d",
                        path, count_given, EBM_MODEL_MAX_ARRAYS);
    arrays[0] = (struct ebm_model_array){"format_version.npy", 'i',
                                         sizeof(int32_t), 0, {0, 0},
                                         &version};
    memcpy(arrays + 1, given, count_given * sizeof(*given));
    status = ebm_zip_writer_create(fd, path, &zip);
    for (size_t i = 0; i < n_arrays && status == EBM_OK; i++) {
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

/* Fails with EBM_ERR_NONFINITE naming the first NaN or infinity among
 * the count values of entry, a matrix of cols columns when ndim is 2, so
 * that no file is written that ebm_rbm_load would reject. */
ebm_status ebm_model_check_finite(const char *path, const char *entry,
                                  const float *values, size_t count,
                                  size_t ndim, size_t cols)
{
    for (size_t i = 0; i < count; i++) {
        if (fabsf(values[i]) <= FLT_MAX)
            continue;
        if (ndim == 2)
            return ebm_fail(EBM_ERR_NONFINITE,
                            "%s: cannot save: %s element [%zu, %zu] is %g; "
                            "parameters must be finite",
                            path, entry, i / cols, i % cols,
                            (double)values[i]);
        return ebm_fail(EBM_ERR_NONFINITE,
                        "%s: cannot save: %s element [%zu] is %g; "
                        "parameters must be finite",
                        path, entry, i, (double)values[i]);
    }
    return EBM_OK;
}

static ebm_status check_parameters_finite(const ebm_rbm *rbm,
                                          const char *path)
{
    size_t n_visible = 0, n_hidden = 0;
    ebm_status status = ebm_rbm_shape(rbm, &n_visible, &n_hidden);

    if (status == EBM_OK)
        status = ebm_model_check_finite(path, "W.npy", ebm_rbm_weights(rbm),
                                    n_visible * n_hidden, 2, n_hidden);
    if (status == EBM_OK)
        status = ebm_model_check_finite(path, "visible_bias.npy",
                                    ebm_rbm_visible_bias(rbm), n_visible, 1,
                                    n_visible);
    if (status == EBM_OK)
        status = ebm_model_check_finite(path, "hidden_bias.npy",
                                    ebm_rbm_hidden_bias(rbm), n_hidden, 1,
                                    n_hidden);
    return status;
}

ebm_status ebm_rbm_save(const ebm_rbm *rbm, const char *path)
{
    struct ebm_model_array arrays[3];
    ebm_status status = ebm_check_pointer(rbm, "rbm");

    if (status == EBM_OK)
        status = ebm_check_pointer(path, "path");
    if (status == EBM_OK)
        status = check_parameters_finite(rbm, path);
    if (status != EBM_OK)
        return status;
    arrays[0] = (struct ebm_model_array){"W.npy", 'f', sizeof(float), 2,
                                         {rbm->n_visible, rbm->n_hidden},
                                         rbm->weights};
    arrays[1] = (struct ebm_model_array){"visible_bias.npy", 'f',
                                         sizeof(float), 1,
                                         {rbm->n_visible, 0},
                                         rbm->visible_bias};
    arrays[2] = (struct ebm_model_array){"hidden_bias.npy", 'f',
                                         sizeof(float), 1,
                                         {rbm->n_hidden, 0},
                                         rbm->hidden_bias};
    return ebm_model_save(path, arrays, 3);
}

ebm_status ebm_model_save(const char *path,
                          const struct ebm_model_array *arrays, size_t count)
{
    char *temp = NULL, *directory = NULL;
    mode_t mode;
    int fd;
    ebm_status status = make_temp_names(path, &temp, &directory);

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
    status = write_arrays(fd, path, arrays, count);
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

/* Bytes of .npy data converted per read: a multiple of every item size. */
#define CONVERT_CHUNK ((size_t)64 * 1024)
#define HEADER_INITIAL_CAPACITY ((size_t)4096)

/*
 * Reads the .npy header at the start of stream into a new buffer (*out,
 * which the caller frees) and stores its size in *data_offset. The buffer
 * grows with the bytes that arrive, so a header length field cannot force
 * a large allocation by itself.
 */
static ebm_status read_npy_header(ebm_zip_stream *stream, const char *label,
                                  unsigned char **out, size_t *data_offset)
{
    size_t size = ebm_zip_stream_size(stream);
    size_t capacity = HEADER_INITIAL_CAPACITY, have = 0, got = 0;
    unsigned char *header = malloc(capacity);
    ebm_status status;

    if (header == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "%s: cannot allocate %zu bytes",
                        label, capacity);
    status = ebm_zip_stream_read(stream, header,
                                 ebm_min_size(EBM_NPY_PREFIX_SIZE, size),
                                 &have);
    if (status == EBM_OK)
        status = ebm_npy_data_offset(header, have, size, label, data_offset);
    /* A data_offset below `have` leaves a header of at most one byte,
     * which ebm_npy_parse_header rejects before any data are used. */
    while (status == EBM_OK && have < *data_offset) {
        if (have == capacity) {
            size_t grown_capacity = ebm_min_size(2 * capacity, *data_offset);
            unsigned char *grown = realloc(header, grown_capacity);

            if (grown == NULL) {
                status = ebm_fail(EBM_ERR_NOMEM,
                                  "%s: cannot allocate %zu bytes for the "
                                  ".npy header",
                                  label, grown_capacity);
                break;
            }
            header = grown;
            capacity = grown_capacity;
        }
        status = ebm_zip_stream_read(stream, header + have,
                                     ebm_min_size(capacity, *data_offset) -
                                         have,
                                     &got);
        have += got;
    }
    if (status != EBM_OK) {
        free(header);
        return status;
    }
    *out = header;
    return EBM_OK;
}

/* Opens entry and parses its .npy header. On success the caller closes
 * *stream, which is positioned at the first data byte. */
static ebm_status open_npy(ebm_zip_reader *zip, const char *label,
                           const char *entry, ebm_npy_expect expect,
                           ebm_zip_stream **stream, ebm_npy_array *array)
{
    unsigned char *header = NULL;
    size_t data_offset = 0;
    ebm_status status = ebm_zip_stream_open(zip, entry, stream);

    if (status != EBM_OK)
        return status;
    status = read_npy_header(*stream, label, &header, &data_offset);
    if (status == EBM_OK)
        status = ebm_npy_parse_header(header, data_offset,
                                      ebm_zip_stream_size(*stream), expect,
                                      label, array);
    free(header);
    if (status != EBM_OK) {
        ebm_zip_stream_close(*stream);
        *stream = NULL;
    }
    return status;
}

/* Checks format_version, which means 1 when absent. Any other value is
 * rejected before the arrays are read, because another version may lay
 * them out differently. */
ebm_status ebm_model_check_version(ebm_zip_reader *zip, const char *path)
{
    static const char entry[] = "format_version.npy";
    unsigned char data[8];
    ebm_zip_stream *stream = NULL;
    ebm_npy_array array;
    int64_t version = 0;
    size_t got = 0;
    char *label;
    ebm_status status;

    if (!ebm_zip_reader_contains(zip, entry))
        return EBM_OK;
    label = make_label(path, entry);
    if (label == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "%s: cannot allocate a message",
                        path);
    status = open_npy(zip, label, entry, EBM_NPY_EXPECT_INTEGER, &stream,
                      &array);
    if (status == EBM_OK && array.ndim != 0)
        status = ebm_fail(EBM_ERR_FORMAT,
                          "%s: expected an integer scalar, found dtype '%s' "
                          "with %zu dimensions",
                          label, array.descr, array.ndim);
    if (status == EBM_OK)
        status = ebm_zip_stream_read(stream, data, array.item_size, &got);
    if (status == EBM_OK)
        status = ebm_zip_stream_finish(stream);
    if (status == EBM_OK)
        status = ebm_npy_read_integer(data, &array, label, &version);
    if (status == EBM_OK && version != MODEL_FORMAT_VERSION)
        status = ebm_fail(EBM_ERR_VERSION,
                          "%s: format_version is %lld; this libebm reads "
                          "version %d only",
                          path, (long long)version, MODEL_FORMAT_VERSION);
    ebm_zip_stream_close(stream);
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
    if (ebm_zip_reader_contains(zip, "log_sigma.npy"))
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: the file is a Gaussian-Bernoulli RBM "
                        "(log_sigma); load it with ebm_gbrbm_load",
                        path);
    /* Lateral couplings make a general BM, which an RBM cannot hold. */
    if (ebm_zip_reader_contains(zip, "V.npy") ||
        ebm_zip_reader_contains(zip, "U.npy"))
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: the file is a general Boltzmann machine with "
                        "lateral couplings V or U; load it with "
                        "ebm_bm_load",
                        path);
    return EBM_OK;
}

/*
 * Reads the data of an opened float array in chunks of CONVERT_CHUNK
 * bytes, converting them into values (or only checking them when values
 * is NULL), then checks the end of the entry and its CRC-32. A damaged
 * entry reports its CRC-32 mismatch in preference to a value that the
 * damage made invalid.
 */
static ebm_status convert_data(ebm_zip_stream *stream,
                               const ebm_npy_array *array, const char *label,
                               float *values)
{
    size_t per_chunk = CONVERT_CHUNK / array->item_size;
    unsigned char *chunk = malloc(CONVERT_CHUNK);
    ebm_status conversion = EBM_OK, status = EBM_OK;

    if (chunk == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "%s: cannot allocate %zu bytes",
                        label, CONVERT_CHUNK);
    for (size_t first = 0; first < array->count && status == EBM_OK;
         first += per_chunk) {
        size_t count = ebm_min_size(per_chunk, array->count - first);
        size_t got = 0;

        /* ebm_npy_parse_header has checked that the entry's declared
         * size is exactly that of its elements, so got is never short. */
        status = ebm_zip_stream_read(stream, chunk, count * array->item_size,
                                     &got);
        if (status == EBM_OK && conversion == EBM_OK)
            conversion = ebm_npy_convert_float32(array, chunk, first, count,
                                                 label, values);
    }
    free(chunk);
    if (status == EBM_OK)
        status = ebm_zip_stream_finish(stream);
    return status != EBM_OK ? status : conversion;
}

/* Whether two parsed headers describe the same array. */
static bool same_array(const ebm_npy_array *a, const ebm_npy_array *b)
{
    return strcmp(a->descr, b->descr) == 0 && a->ndim == b->ndim &&
           a->fortran_order == b->fortran_order && a->count == b->count &&
           a->shape[0] == b->shape[0] && a->shape[1] == b->shape[1] &&
           a->data_offset == b->data_offset;
}


/*
 * Reads parameter p in one of two passes. With values NULL it parses the
 * header into p->array and, if the entry is deflated, inflates it and
 * checks every value, the size and the CRC-32 without storing anything.
 * With values it reads the entry again, requires the header found before,
 * and converts the data into values (p->array.count floats), checking them
 * as in the first pass.
 */
ebm_status ebm_model_read_parameter(ebm_zip_reader *zip, const char *path,
                                   struct ebm_model_parameter *p,
                                   float *values)
{
    ebm_zip_stream *stream = NULL;
    ebm_npy_array array;
    char *label = make_label(path, p->entry);
    ebm_status status;

    if (label == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "%s: cannot allocate a message",
                        path);
    status = open_npy(zip, label, p->entry, EBM_NPY_EXPECT_FLOAT, &stream,
                      &array);
    if (status == EBM_OK && array.ndim != p->ndim)
        status = ebm_fail(EBM_ERR_FORMAT,
                          "%s: the array has %zu dimensions; expected %zu",
                          label, array.ndim, p->ndim);
    if (status == EBM_OK && values == NULL) {
        p->array = array;
        if (ebm_zip_stream_is_deflated(stream))
            status = convert_data(stream, &array, label, NULL);
    } else if (status == EBM_OK) {
        if (!same_array(&array, &p->array))
            status = ebm_fail(EBM_ERR_FORMAT,
                              "%s: the .npy header changed while the file "
                              "was read",
                              label);
        else
            status = convert_data(stream, &array, label, values);
    }
    ebm_zip_stream_close(stream);
    free(label);
    return status;
}

/*
 * Reads the model in two passes, so that a damaged file fails before the
 * model's memory is allocated whenever that memory is not bounded by the
 * file size. The first pass checks the headers and the shapes, and checks
 * each deflated entry completely. The second creates the model and
 * converts each array straight into its parameters, in chunks, so that no
 * second copy of the parameters ever exists.
 */
static ebm_status read_model(ebm_zip_reader *zip, const char *path,
                             ebm_rbm **out)
{
    struct ebm_model_parameter params[3] = {
        {.entry = "W.npy", .ndim = 2},
        {.entry = "visible_bias.npy", .ndim = 1},
        {.entry = "hidden_bias.npy", .ndim = 1},
    };
    size_t n_visible, n_hidden;
    ebm_rbm *rbm = NULL;
    ebm_status status = ebm_model_check_version(zip, path);

    if (status == EBM_OK)
        status = check_entries_present(zip, path);
    for (size_t i = 0; i < 3 && status == EBM_OK; i++)
        status = ebm_model_read_parameter(zip, path, &params[i], NULL);
    if (status != EBM_OK)
        return status;
    n_visible = params[0].array.shape[0];
    n_hidden = params[0].array.shape[1];
    if (params[1].array.shape[0] != n_visible)
        return ebm_fail(EBM_ERR_MISMATCH,
                        "%s: visible_bias has %zu elements but W has %zu "
                        "rows",
                        path, params[1].array.shape[0], n_visible);
    if (params[2].array.shape[0] != n_hidden)
        return ebm_fail(EBM_ERR_MISMATCH,
                        "%s: hidden_bias has %zu elements but W has %zu "
                        "columns",
                        path, params[2].array.shape[0], n_hidden);

    status = ebm_rbm_create(n_visible, n_hidden, &rbm);
    if (status != EBM_OK)
        return ebm_model_fail_in_file(status, path);
    status = ebm_model_read_parameter(zip, path, &params[0], rbm->weights);
    if (status == EBM_OK)
        status = ebm_model_read_parameter(zip, path, &params[1], rbm->visible_bias);
    if (status == EBM_OK)
        status = ebm_model_read_parameter(zip, path, &params[2], rbm->hidden_bias);
    if (status != EBM_OK) {
        ebm_rbm_destroy(rbm);
        return status;
    }
    ebm_rbm_refresh_max_abs(rbm);
    *out = rbm;
    return EBM_OK;
}

ebm_status ebm_rbm_load(const char *path, ebm_rbm **out)
{
    ebm_zip_reader *zip = NULL;
    ebm_rbm *rbm = NULL;
    ebm_status status = ebm_check_pointer(path, "path");

    if (status == EBM_OK)
        status = ebm_check_pointer(out, "out");
    if (status == EBM_OK)
        status = ebm_zip_reader_open(path, &zip);
    if (status == EBM_OK)
        status = read_model(zip, path, &rbm);
    ebm_zip_reader_close(zip);
    if (status != EBM_OK)
        return status;
    *out = rbm;
    return EBM_OK;
}
