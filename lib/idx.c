/*
 * IDX reader, plain or gzip-compressed; see ebm_data_load_idx in ebm.h and
 * docs/file-formats.md. A file that starts with the gzip magic is inflated
 * with zlib's inflate, member by member (RFC 1952), so that the reader sees
 * where each member ends and can reject anything after the last one.
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
#define INPUT_SIZE ((size_t)128 * 1024)
#define READ_CHUNK ((size_t)64 * 1024)
/* inflateInit2 window bits: the largest window, gzip wrapper only. */
#define GZIP_WINDOW_BITS (16 + MAX_WBITS)
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

/* The bytes of an IDX file: the file itself, or the concatenated content
 * of its gzip members. */
struct idx_source {
    int fd;
    const char *path;
    unsigned char *input; /* INPUT_SIZE bytes read from the file */
    uint64_t file_read;   /* bytes read from the file so far */
    bool at_eof;          /* read() has returned 0 */
    bool gzip;
    bool inflater_ready;  /* inflateInit2 succeeded */
    bool member_ended;    /* inflate has checked a member's trailer */
    z_stream inflater;    /* next_in and avail_in track input, plain too */
};

/* Reads more of the file after the avail_in unused input bytes, which
 * move to the start of the buffer, until `minimum` bytes are available or
 * the file ends. */
static ebm_status fill_input(struct idx_source *source, size_t minimum)
{
    z_stream *inflater = &source->inflater;

    if (inflater->avail_in > 0 && inflater->next_in != source->input)
        memmove(source->input, inflater->next_in, inflater->avail_in);
    inflater->next_in = source->input;
    while (inflater->avail_in < minimum && !source->at_eof) {
        ssize_t count = read(source->fd, source->input + inflater->avail_in,
                             INPUT_SIZE - inflater->avail_in);

        if (count < 0 && errno == EINTR)
            continue;
        if (count < 0)
            return ebm_fail(EBM_ERR_IO, "%s: read failed: %s", source->path,
                            strerror(errno));
        source->at_eof = count == 0;
        inflater->avail_in += (uInt)count;
        source->file_read += (uint64_t)count;
    }
    return EBM_OK;
}

/* Offset in the file of the next unused input byte. */
static uint64_t input_offset(const struct idx_source *source)
{
    return source->file_read - source->inflater.avail_in;
}

/* Starts reading fd, as gzip if its first two bytes are the gzip magic.
 * close_source must follow, whatever this returns. */
static ebm_status open_source(struct idx_source *source, int fd,
                              const char *path)
{
    const unsigned char *start;
    ebm_status status;
    int code;

    memset(source, 0, sizeof(*source));
    source->fd = fd;
    source->path = path;
    source->input = malloc(INPUT_SIZE);
    if (source->input == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "%s: cannot allocate a read buffer",
                        path);
    status = fill_input(source, 2);
    if (status != EBM_OK)
        return status;
    start = source->inflater.next_in;
    source->gzip = source->inflater.avail_in >= 2 && start[0] == 0x1f &&
                   start[1] == 0x8b;
    if (!source->gzip)
        return EBM_OK;
    code = inflateInit2(&source->inflater, GZIP_WINDOW_BITS);
    if (code != Z_OK)
        return ebm_fail(code == Z_MEM_ERROR ? EBM_ERR_NOMEM : EBM_ERR_FORMAT,
                        "%s: cannot start inflating the gzip stream: %s",
                        path, zError(code));
    source->inflater_ready = true;
    return EBM_OK;
}

static void close_source(struct idx_source *source)
{
    if (source->inflater_ready)
        inflateEnd(&source->inflater);
    free(source->input);
}

/* Copies up to size bytes of a plain file into buffer. */
static ebm_status read_plain(struct idx_source *source, unsigned char *buffer,
                             size_t size, size_t *got)
{
    z_stream *inflater = &source->inflater;

    while (*got < size) {
        size_t count;

        if (inflater->avail_in == 0) {
            ebm_status status = fill_input(source, 1);

            if (status != EBM_OK)
                return status;
            if (inflater->avail_in == 0)
                break;
        }
        count = ebm_min_size(size - *got, inflater->avail_in);
        memcpy(buffer + *got, inflater->next_in, count);
        inflater->next_in += count;
        inflater->avail_in -= (uInt)count;
        *got += count;
    }
    return EBM_OK;
}

/* After a member's trailer, the file must end or another member start.
 * Stores whether one starts in *started. */
static ebm_status start_next_member(struct idx_source *source, bool *started)
{
    const unsigned char *next;
    ebm_status status = fill_input(source, 2);

    *started = false;
    if (status != EBM_OK)
        return status;
    if (source->inflater.avail_in == 0)
        return EBM_OK;
    next = source->inflater.next_in;
    if (source->inflater.avail_in < 2 || next[0] != 0x1f || next[1] != 0x8b)
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: unexpected bytes at offset %llu, after the end "
                        "of a gzip member; expected another gzip member or "
                        "the end of the file",
                        source->path,
                        (unsigned long long)input_offset(source));
    if (inflateReset(&source->inflater) != Z_OK)
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: cannot restart inflate at offset %llu",
                        source->path,
                        (unsigned long long)input_offset(source));
    source->member_ended = false;
    *started = true;
    return EBM_OK;
}

/* Reports an inflate failure other than the end of the input. */
static ebm_status fail_inflate(const struct idx_source *source, int code)
{
    const char *message = source->inflater.msg != NULL
                              ? source->inflater.msg
                              : zError(code);

    if (code == Z_MEM_ERROR)
        return ebm_fail(EBM_ERR_NOMEM, "%s: out of memory in zlib",
                        source->path);
    return ebm_fail(EBM_ERR_FORMAT,
                    "%s: corrupt gzip stream near offset %llu: %s",
                    source->path, (unsigned long long)input_offset(source),
                    message);
}

/* Inflates up to size bytes into buffer, across member boundaries. */
static ebm_status read_gzip(struct idx_source *source, unsigned char *buffer,
                            size_t size, size_t *got)
{
    z_stream *inflater = &source->inflater;

    while (*got < size) {
        uInt space = (uInt)ebm_min_size(size - *got, UINT_MAX);
        ebm_status status;
        int code;

        if (source->member_ended) {
            bool started = false;

            status = start_next_member(source, &started);
            if (status != EBM_OK || !started)
                return status;
        }
        if (inflater->avail_in == 0) {
            status = fill_input(source, 1);
            if (status != EBM_OK)
                return status;
        }
        inflater->next_out = buffer + *got;
        inflater->avail_out = space;
        code = inflate(inflater, Z_NO_FLUSH);
        *got += space - inflater->avail_out;
        if (code == Z_STREAM_END) {
            source->member_ended = true;
        } else if (code == Z_BUF_ERROR && inflater->avail_in == 0 &&
                   source->at_eof) {
            return ebm_fail(EBM_ERR_TRUNCATED,
                            "%s: the file ends inside a gzip member, after "
                            "%llu bytes",
                            source->path,
                            (unsigned long long)source->file_read);
        } else if (code != Z_OK && code != Z_BUF_ERROR) {
            return fail_inflate(source, code);
        }
    }
    return EBM_OK;
}

/*
 * Reads up to size bytes into buffer and stores the count in *got. Fewer
 * than size means the end of the data. A gzip member that stops early is
 * EBM_ERR_TRUNCATED. A corrupt one (bad deflate data, or a CRC-32 or
 * length in its trailer that does not match), or bytes after the last
 * member that do not start another, are EBM_ERR_FORMAT.
 */
static ebm_status read_bytes(struct idx_source *source, void *buffer,
                             size_t size, size_t *got)
{
    *got = 0;
    if (source->gzip)
        return read_gzip(source, buffer, size, got);
    return read_plain(source, buffer, size, got);
}

/* Reads the magic and dimensions, and stores the matrix shape. */
static ebm_status read_header(struct idx_source *source, const char *path,
                              size_t *rows, size_t *cols,
                              size_t *header_size)
{
    unsigned char magic[4];
    unsigned char sizes[255 * 4];
    size_t got = 0, ndim, count;
    ebm_status status = read_bytes(source, magic, sizeof(magic), &got);

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
    status = read_bytes(source, sizes, 4 * ndim, &got);
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
static ebm_status read_values(struct idx_source *source, const char *path,
                              size_t count, size_t header_size, float **out)
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

        status = read_bytes(source, chunk, want, &got);
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
    /* One more read must find the end of the data. For gzip it also
     * checks the last member's CRC-32 and length, and that nothing but
     * further members follows it. */
    status = read_bytes(source, chunk, 1, &got);
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
    struct idx_source source;
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
    status = open_source(&source, fd, path);
    if (status == EBM_OK)
        status = read_header(&source, path, &rows, &cols, &header_size);
    if (status == EBM_OK)
        status = read_values(&source, path, rows * cols, header_size,
                             &values);
    close_source(&source);
    close(fd);
    if (status != EBM_OK)
        return status;
    out->rows = rows;
    out->cols = cols;
    out->values = values;
    return EBM_OK;
}
