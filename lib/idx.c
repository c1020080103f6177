/*
 * IDX reader, plain or gzip-compressed; see ebm_data_load_idx in ebm.h and
 * docs/file-formats.md. zlib's gzread passes a file that is not gzip
 * through unchanged, so one code path reads both.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core.h"

#define IDX_TYPE_UBYTE 0x08
#define GZ_BUFFER_SIZE (128u * 1024u)
#define READ_CHUNK ((size_t)64 * 1024)
#define INITIAL_CAPACITY ((size_t)64 * 1024) /* elements */

/* Names of the element types that the IDX format defines. */
static const char *idx_type_name(unsigned type)
{
    switch (type) {
    case 0x08:
        return "unsigned byte";
    case 0x09:
        return "signed byte";
    case 0x0b:
        return "short";
    case 0x0c:
        return "int";
    case 0x0d:
        return "float";
    case 0x0e:
        return "double";
    default:
        return "not an IDX type";
    }
}

/*
 * Reads up to size bytes into buffer and stores the count in *got. Fewer
 * than size means the end of the file. A gzip stream that stops early is
 * EBM_ERR_TRUNCATED, and a corrupt one (bad deflate data or trailer
 * CRC-32) is EBM_ERR_FORMAT.
 */
static ebm_status read_bytes(gzFile file, const char *path, void *buffer,
                             size_t size, size_t *got)
{
    unsigned char *bytes = buffer;

    *got = 0;
    while (*got < size) {
        unsigned request = (unsigned)ebm_min_size(size - *got, INT_MAX);
        int count = gzread(file, bytes + *got, request);
        int saved_errno = errno;
        int code = Z_OK;
        const char *message;

        if (count > 0) {
            *got += (size_t)count;
            continue;
        }
        message = gzerror(file, &code);
        if (code == Z_OK && count == 0)
            return EBM_OK;
        if (code == Z_BUF_ERROR)
            return ebm_fail(EBM_ERR_TRUNCATED,
                            "%s: the gzip stream ends early (%s)", path,
                            message);
        if (code == Z_ERRNO)
            return ebm_fail(EBM_ERR_IO, "%s: read failed: %s", path,
                            strerror(saved_errno));
        if (code == Z_MEM_ERROR)
            return ebm_fail(EBM_ERR_NOMEM, "%s: out of memory in zlib",
                            path);
        return ebm_fail(EBM_ERR_FORMAT, "%s: corrupt gzip stream: %s", path,
                        message);
    }
    return EBM_OK;
}

/* Reads the magic and dimensions, and stores the matrix shape. */
static ebm_status read_header(gzFile file, const char *path, size_t *rows,
                              size_t *cols, size_t *header_size)
{
    unsigned char magic[4];
    unsigned char sizes[255 * 4];
    size_t got = 0, ndim, count;
    ebm_status status = read_bytes(file, path, magic, sizeof(magic), &got);

    if (status != EBM_OK)
        return status;
    if (got < sizeof(magic))
        return ebm_fail(EBM_ERR_TRUNCATED,
                        "%s: file ends after %zu bytes, inside the 4-byte "
                        "IDX magic",
                        path, got);
    if (magic[0] != 0 || magic[1] != 0)
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: not an IDX file: magic %02x %02x %02x %02x "
                        "does not start with two zero bytes",
                        path, magic[0], magic[1], magic[2], magic[3]);
    if (magic[2] != IDX_TYPE_UBYTE)
        return ebm_fail(EBM_ERR_UNSUPPORTED,
                        "%s: IDX element type 0x%02x (%s) is not "
                        "supported; only 0x08 (unsigned byte) is",
                        path, magic[2], idx_type_name(magic[2]));
    ndim = magic[3];
    if (ndim == 0)
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: invalid IDX header: 0 dimensions", path);
    status = read_bytes(file, path, sizes, 4 * ndim, &got);
    if (status != EBM_OK)
        return status;
    if (got < 4 * ndim)
        return ebm_fail(EBM_ERR_TRUNCATED,
                        "%s: file ends inside the IDX header, which "
                        "declares %zu dimensions",
                        path, ndim);

    for (size_t i = 0; i < ndim; i++) {
        const unsigned char *p = sizes + 4 * i;

        if ((p[0] | p[1] | p[2] | p[3]) == 0)
            return ebm_fail(EBM_ERR_SIZE,
                            "%s: dimension %zu of the IDX header is 0", path,
                            i);
    }
    *cols = 1;
    for (size_t i = 0; i < ndim; i++) {
        const unsigned char *p = sizes + 4 * i;
        size_t dimension = (size_t)((uint32_t)p[0] << 24 |
                                    (uint32_t)p[1] << 16 |
                                    (uint32_t)p[2] << 8 | p[3]);

        if (i == 0)
            *rows = dimension;
        else if ((status = ebm_mul_size(*cols, dimension, cols,
                                        "IDX columns")) != EBM_OK)
            return ebm_fail(status, "%s: the product of the IDX dimensions "
                                    "overflows size_t", path);
    }
    if (*cols > EBM_MAX_UNITS)
        return ebm_fail(EBM_ERR_LIMIT,
                        "%s: %zu columns exceed the limit of %zu "
                        "(EBM_MAX_UNITS)",
                        path, *cols, EBM_MAX_UNITS);
    status = ebm_mul_size(*rows, *cols, &count, "IDX elements");
    if (status != EBM_OK)
        return ebm_fail(status, "%s: %zu rows x %zu columns overflow size_t",
                        path, *rows, *cols);
    if (count > EBM_MAX_ELEMENTS)
        return ebm_fail(EBM_ERR_LIMIT,
                        "%s: %zu x %zu = %zu elements exceed the limit of "
                        "%zu (EBM_MAX_ELEMENTS)",
                        path, *rows, *cols, count, EBM_MAX_ELEMENTS);
    *header_size = 4 + 4 * ndim;
    return EBM_OK;
}

/* Makes room for `needed` floats, doubling the capacity up to `limit`. */
static ebm_status reserve_values(const char *path, float **values,
                                 size_t *capacity, size_t needed, size_t limit)
{
    size_t new_capacity = *capacity;
    float *grown;

    if (needed <= *capacity)
        return EBM_OK;
    while (new_capacity < needed)
        new_capacity = new_capacity > limit / 2 ? limit : new_capacity * 2;
    grown = realloc(*values, new_capacity * sizeof(float));
    if (grown == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "%s: cannot allocate %zu floats",
                        path, new_capacity);
    *values = grown;
    *capacity = new_capacity;
    return EBM_OK;
}

/*
 * Reads count bytes of data and converts them to floats in [0, 1]. The
 * array grows with the bytes actually read, so a header that declares far
 * more data than the file contains cannot force a large allocation.
 */
static ebm_status read_values(gzFile file, const char *path, size_t count,
                              size_t header_size, float **out)
{
    float scale[256];
    size_t capacity = ebm_min_size(count, INITIAL_CAPACITY);
    size_t loaded = 0, got = 0;
    unsigned char *chunk = malloc(READ_CHUNK);
    float *values = malloc(capacity * sizeof(float));
    ebm_status status = EBM_OK;

    if (chunk == NULL || values == NULL) {
        status = ebm_fail(EBM_ERR_NOMEM, "%s: cannot allocate read buffers",
                          path);
        goto done;
    }
    for (unsigned b = 0; b < 256; b++)
        scale[b] = (float)b / 255.0f;
    while (loaded < count) {
        size_t want = ebm_min_size(READ_CHUNK, count - loaded);

        status = read_bytes(file, path, chunk, want, &got);
        if (status != EBM_OK)
            goto done;
        if (got == 0) {
            status = ebm_fail(EBM_ERR_TRUNCATED,
                              "%s: file ends after %zu of the %zu data "
                              "bytes that its IDX header declares",
                              path, loaded, count);
            goto done;
        }
        status = reserve_values(path, &values, &capacity, loaded + got,
                                count);
        if (status != EBM_OK)
            goto done;
        for (size_t i = 0; i < got; i++)
            values[loaded + i] = scale[chunk[i]];
        loaded += got;
    }
    /* One more read must find the end of the file. For gzip it also
     * checks the stream's CRC-32 and length. */
    status = read_bytes(file, path, chunk, 1, &got);
    if (status == EBM_OK && got != 0)
        status = ebm_fail(EBM_ERR_FORMAT,
                          "%s: bytes follow the %zu data bytes at offset %zu "
                          "that the IDX header declares",
                          path, count, header_size);
done:
    free(chunk);
    if (status != EBM_OK) {
        free(values);
        return status;
    }
    *out = values;
    return EBM_OK;
}

ebm_status ebm_data_load_idx(const char *path, ebm_data *out)
{
    struct stat info;
    gzFile file;
    size_t rows = 0, cols = 0, header_size = 0;
    float *values = NULL;
    ebm_status status;
    int fd;

    if (out == NULL)
        return ebm_fail(EBM_ERR_NULL, "out is NULL");
    out->rows = 0;
    out->cols = 0;
    out->values = NULL;
    if (path == NULL)
        return ebm_fail(EBM_ERR_NULL, "path is NULL");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ebm_fail(EBM_ERR_IO, "%s: cannot open: %s", path,
                        strerror(errno));
    if (fstat(fd, &info) != 0) {
        status = ebm_fail(EBM_ERR_IO, "%s: cannot stat: %s", path,
                          strerror(errno));
        close(fd);
        return status;
    }
    if (S_ISDIR(info.st_mode)) {
        close(fd);
        return ebm_fail(EBM_ERR_IO, "%s: cannot read: is a directory", path);
    }
    file = gzdopen(fd, "rb");
    if (file == NULL) {
        close(fd);
        return ebm_fail(EBM_ERR_NOMEM, "%s: cannot allocate a zlib reader",
                        path);
    }
    gzbuffer(file, GZ_BUFFER_SIZE);
    status = read_header(file, path, &rows, &cols, &header_size);
    if (status == EBM_OK)
        status = read_values(file, path, rows * cols, header_size, &values);
    gzclose(file);
    if (status != EBM_OK)
        return status;
    out->rows = rows;
    out->cols = cols;
    out->values = values;
    return EBM_OK;
}
