/*
 * File input and output: IDX data sets, binarization, and model files
 * (.npz) written by libebm or by NumPy. Temporary files live in a fresh
 * mkdtemp directory per test, removed by the fixtures.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ebm.h"

#define PATH_SIZE 4096

/* MNIST subset shipped in data/mnist-10k. */
#define MNIST_ROWS 10000
#define MNIST_COLS 784
#define IDX3_HEADER_SIZE 16
#define IDX1_HEADER_SIZE 8

/* Model of the NumPy fixtures; see tests/data/make_npz_fixtures.py. */
#define FIXTURE_D 5
#define FIXTURE_K 3

static char case_dir[PATH_SIZE]; /* one per test case, see make_case_dir */
static char temp_dir[PATH_SIZE]; /* one per test, inside case_dir */

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

/* Writes "<dir>/<name>" into path, which has PATH_SIZE bytes. */
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
            if (strcmp(entry->d_name, ".") == 0 ||
                strcmp(entry->d_name, "..") == 0)
                continue;
            join_path(child, path, entry->d_name);
            remove_tree(child);
        }
        closedir(dir);
    }
    rmdir(path);
}

/* Each test case (TCase) gets a directory, made and removed by Check's
 * parent process. A test that fails ends its forked process with _exit,
 * skipping its own teardown, so the parent's teardown removes what it
 * left behind. */
static void make_case_dir(void)
{
    const char *base = getenv("TMPDIR");
    int length = snprintf(case_dir, sizeof(case_dir), "%s/ebm-test-io-XXXXXX",
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

/* Number of entries in temp_dir other than . and .. */
static size_t count_temp_files(void)
{
    DIR *dir = opendir(temp_dir);
    struct dirent *entry;
    size_t count = 0;

    ck_assert_ptr_nonnull(dir);
    while ((entry = readdir(dir)) != NULL)
        if (strcmp(entry->d_name, ".") != 0 &&
            strcmp(entry->d_name, "..") != 0)
            count++;
    closedir(dir);
    return count;
}

static void temp_path(char *path, const char *name)
{
    join_path(path, temp_dir, name);
}

static void env_path(char *path, const char *variable, const char *name)
{
    const char *dir = getenv(variable);

    ck_assert_msg(dir != NULL, "%s is not set; run the test with meson test",
                  variable);
    join_path(path, dir, name);
}

/* Replaces the file at path. It is removed first because ext4, with its
 * default auto_da_alloc option, writes back a file truncated and rewritten
 * in place when it is closed. That took 2 ms per write instead of 0.07 ms
 * in the tests that rewrite a file thousands of times. */
static void write_file(const char *path, const void *data, size_t size)
{
    FILE *file;

    ck_assert(unlink(path) == 0 || errno == ENOENT);
    file = fopen(path, "wb");

    ck_assert_ptr_nonnull(file);
    ck_assert_uint_eq(fwrite(data, 1, size, file), size);
    ck_assert_int_eq(fclose(file), 0);
}

static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *file = fopen(path, "rb");
    unsigned char *data;
    long length;

    ck_assert_ptr_nonnull(file);
    ck_assert_int_eq(fseek(file, 0, SEEK_END), 0);
    length = ftell(file);
    ck_assert_int_ge(length, 0);
    rewind(file);
    data = malloc((size_t)length + 1);
    ck_assert_ptr_nonnull(data);
    ck_assert_uint_eq(fread(data, 1, (size_t)length, file), (size_t)length);
    fclose(file);
    *size = (size_t)length;
    return data;
}

static void put_le16(unsigned char *p, uint32_t value)
{
    p[0] = (unsigned char)(value & 0xff);
    p[1] = (unsigned char)(value >> 8 & 0xff);
}

static void put_le32(unsigned char *p, uint32_t value)
{
    put_le16(p, value & 0xffff);
    put_le16(p + 2, value >> 16);
}

/* CRC-32 as gzip uses it: reflected, polynomial 0xedb88320. */
static uint32_t crc32_ieee(const unsigned char *data, size_t size)
{
    uint32_t crc = 0xffffffffu;

    for (size_t i = 0; i < size; i++) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; bit++)
            crc = crc >> 1 ^ (0xedb88320u & (0u - (crc & 1)));
    }
    return ~crc;
}

/*
 * Writes data (under 64 KiB) to path as a gzip file (RFC 1952) holding one
 * stored deflate block (RFC 1951, BTYPE 00). The test builds its gzip files
 * itself, so it needs no zlib of its own.
 */
#define GZIP_STORED_OVERHEAD 23
#define GZIP_BLOCK_HEADER 10 /* offset of the deflate block header byte */

static void write_gzip(const char *path, const unsigned char *data,
                       size_t size)
{
    static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0,
                                             0,    0,    0, 0, 3};
    unsigned char *file = malloc(size + GZIP_STORED_OVERHEAD);

    ck_assert_uint_lt(size, 65536);
    ck_assert_ptr_nonnull(file);
    memcpy(file, header, sizeof(header));
    file[GZIP_BLOCK_HEADER] = 0x01; /* BFINAL = 1, BTYPE = 00 (stored) */
    put_le16(file + 11, (uint32_t)size);
    put_le16(file + 13, ~(uint32_t)size & 0xffff);
    memcpy(file + 15, data, size);
    put_le32(file + 15 + size, crc32_ieee(data, size));
    put_le32(file + 19 + size, (uint32_t)size);
    write_file(path, file, size + GZIP_STORED_OVERHEAD);
    free(file);
}

/* The gzip file that write_gzip writes, in memory: *size receives
 * size + GZIP_STORED_OVERHEAD. */
static unsigned char *gzip_bytes(const char *path, const unsigned char *data,
                                 size_t size, size_t *gz_size)
{
    write_gzip(path, data, size);
    return read_file(path, gz_size);
}

/*
 * The CRC-32 (as crc32_ieee computes it) of the bytes whose CRC-32 is crc
 * followed by count zero bytes. Each zero byte applies the same linear
 * map over GF(2) to the CRC register, so count of them apply its count-th
 * power, computed by repeated squaring. A matrix is stored as the images
 * of the 32 unit vectors.
 */
static uint32_t gf2_apply(const uint32_t matrix[32], uint32_t vector)
{
    uint32_t sum = 0;

    for (int i = 0; vector != 0; i++, vector >>= 1)
        if (vector & 1)
            sum ^= matrix[i];
    return sum;
}

static void gf2_square(uint32_t matrix[32])
{
    uint32_t square[32];

    for (int i = 0; i < 32; i++)
        square[i] = gf2_apply(matrix, matrix[i]);
    memcpy(matrix, square, sizeof(square));
}

static uint32_t crc32_extend_zeros(uint32_t crc, uint64_t count)
{
    uint32_t power[32];
    uint32_t reg = ~crc;

    /* One zero bit: reg = reg >> 1, then xor the polynomial if the bit
     * shifted out was 1. Three squarings make it one zero byte. */
    power[0] = 0xedb88320u;
    for (int i = 1; i < 32; i++)
        power[i] = (uint32_t)1 << (i - 1);
    for (int i = 0; i < 3; i++)
        gf2_square(power);
    for (; count > 0; count >>= 1) {
        if (count & 1)
            reg = gf2_apply(power, reg);
        gf2_square(power);
    }
    return ~reg;
}

/*
 * A growing buffer of deflate output (RFC 1951). Bits are packed from the
 * least significant bit of each byte; Huffman codes are sent most
 * significant bit first, other fields least significant bit first.
 */
struct bit_writer {
    unsigned char *bytes;
    size_t size;
    size_t capacity;
    uint32_t pending; /* bits not yet stored, in the low `count` bits */
    unsigned count;
};

static void put_byte(struct bit_writer *out, unsigned char byte)
{
    if (out->size == out->capacity) {
        out->capacity = out->capacity == 0 ? 4096 : 2 * out->capacity;
        out->bytes = realloc(out->bytes, out->capacity);
        ck_assert_ptr_nonnull(out->bytes);
    }
    out->bytes[out->size++] = byte;
}

static void put_bits(struct bit_writer *out, uint32_t value, unsigned count)
{
    out->pending |= value << out->count;
    out->count += count;
    while (out->count >= 8) {
        put_byte(out, (unsigned char)(out->pending & 0xff));
        out->pending >>= 8;
        out->count -= 8;
    }
}

static void put_code(struct bit_writer *out, uint32_t code, unsigned length)
{
    for (unsigned i = length; i-- > 0;)
        put_bits(out, code >> i & 1, 1);
}

static void align_bits(struct bit_writer *out)
{
    if (out->count > 0)
        put_bits(out, 0, 8 - out->count);
}

/* A stored block (BTYPE 00) of size < 64 KiB bytes. */
static void deflate_stored(struct bit_writer *out, const unsigned char *data,
                           size_t size, bool final)
{
    ck_assert_uint_lt(size, 65536);
    put_bits(out, final, 1);
    put_bits(out, 0, 2);
    align_bits(out);
    put_bits(out, (uint32_t)size, 16);
    put_bits(out, ~(uint32_t)size & 0xffff, 16);
    for (size_t i = 0; i < size; i++)
        put_byte(out, data[i]);
}

/*
 * A dynamic Huffman block (BTYPE 10) of count >= 1 zero bytes at the best
 * ratio deflate allows: one literal 0, then copies of length 258 at
 * distance 1, 2 bits each, then literal zeros for the rest. The codes:
 * length symbol 285 is "0", literal 0 is "10", end of block "11", and the
 * only distance code (distance 1) is "0". The code lengths themselves
 * are sent with the code-length code 18 = "0", 1 = "10", 2 = "11".
 */
static void deflate_zeros(struct bit_writer *out, uint64_t count, bool final)
{
    static const uint32_t code_length_lengths[18] = {
        0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2,
    };
    uint64_t copies = (count - 1) / 258;
    uint64_t literals = (count - 1) % 258;

    put_bits(out, final, 1);
    put_bits(out, 2, 2);
    put_bits(out, 286 - 257, 5); /* HLIT: 286 literal/length codes */
    put_bits(out, 0, 5);         /* HDIST: 1 distance code */
    put_bits(out, 18 - 4, 4);    /* HCLEN: 18 code-length code lengths */
    /* Code-length code lengths in the order 16, 17, 18, 0, 8, 7, 9, 6,
     * 10, 5, 11, 4, 12, 3, 13, 2, 14, 1: symbol 18 has length 1, symbols
     * 2 and 1 length 2, the others none. */
    for (int i = 0; i < 18; i++)
        put_bits(out, code_length_lengths[i], 3);
    put_code(out, 3, 2);          /* literal 0: length 2 */
    put_code(out, 0, 1);          /* literals 1-138: 138 zeros */
    put_bits(out, 138 - 11, 7);
    put_code(out, 0, 1);          /* literals 139-255: 117 zeros */
    put_bits(out, 117 - 11, 7);
    put_code(out, 3, 2);          /* end of block: length 2 */
    put_code(out, 0, 1);          /* lengths 257-284: 28 zeros */
    put_bits(out, 28 - 11, 7);
    put_code(out, 2, 2);          /* length 285: length 1 */
    put_code(out, 2, 2);          /* distance 1: length 1 */

    put_code(out, 2, 2);
    for (uint64_t i = 0; i < copies; i++)
        put_code(out, 0, 2);
    for (uint64_t i = 0; i < literals; i++)
        put_code(out, 2, 2);
    put_code(out, 3, 2);
}

/* The 3 bits of a block header with the reserved type 11, which inflate
 * rejects as "invalid block type". */
static void deflate_invalid_block(struct bit_writer *out)
{
    put_bits(out, 1, 1);
    put_bits(out, 3, 2);
}

/* Writes a version 1.0 .npy header for dtype descr and a shape of ndim
 * dimensions into header (at least 128 bytes) and returns its size. */
static size_t make_npy_header(unsigned char *header, const char *descr,
                              size_t ndim, size_t rows, size_t cols)
{
    char dict[96];
    int length;
    size_t total;

    if (ndim == 2)
        length = snprintf(dict, sizeof(dict),
                          "{'descr': '%s', 'fortran_order': False, "
                          "'shape': (%zu, %zu), }",
                          descr, rows, cols);
    else
        length = snprintf(dict, sizeof(dict),
                          "{'descr': '%s', 'fortran_order': False, "
                          "'shape': (%zu,), }",
                          descr, rows);
    ck_assert(length > 0 && (size_t)length < sizeof(dict));
    total = (10 + (size_t)length + 1 + 63) / 64 * 64;
    ck_assert_uint_le(total, 128);
    memcpy(header, "\x93NUMPY\x01\x00", 8);
    put_le16(header + 8, (uint32_t)(total - 10));
    memset(header + 10, ' ', total - 10);
    memcpy(header + 10, dict, (size_t)length);
    header[total - 1] = '\n';
    return total;
}

/* One entry of an archive built by write_zip. */
struct zip_entry_spec {
    const char *name;
    unsigned method;        /* 0 stored, 8 deflated */
    const unsigned char *data;
    size_t size;            /* bytes of data, compressed or not */
    uint32_t crc;           /* CRC-32 of the content */
    uint64_t content_size;  /* declared uncompressed size, below 4 GiB */
};

/* Writes a zip archive without zip64 records or data descriptors. */
static void write_zip(const char *path, const struct zip_entry_spec *entries,
                      size_t count)
{
    struct bit_writer out = {NULL, 0, 0, 0, 0};
    uint32_t offsets[8];
    size_t directory;

    ck_assert_uint_le(count, 8);
    for (size_t e = 0; e < count; e++) {
        const struct zip_entry_spec *entry = &entries[e];
        size_t name_size = strlen(entry->name);
        unsigned char header[30] = {0};

        ck_assert_uint_lt(entry->content_size, 0xffffffffu);
        offsets[e] = (uint32_t)out.size;
        put_le32(header, 0x04034b50u);
        put_le16(header + 4, 20);
        put_le16(header + 8, entry->method);
        put_le16(header + 12, 0x21);
        put_le32(header + 14, entry->crc);
        put_le32(header + 18, (uint32_t)entry->size);
        put_le32(header + 22, (uint32_t)entry->content_size);
        put_le16(header + 26, (uint32_t)name_size);
        for (size_t i = 0; i < 30; i++)
            put_byte(&out, header[i]);
        for (size_t i = 0; i < name_size; i++)
            put_byte(&out, (unsigned char)entry->name[i]);
        for (size_t i = 0; i < entry->size; i++)
            put_byte(&out, entry->data[i]);
    }
    directory = out.size;
    for (size_t e = 0; e < count; e++) {
        const struct zip_entry_spec *entry = &entries[e];
        size_t name_size = strlen(entry->name);
        unsigned char header[46] = {0};

        put_le32(header, 0x02014b50u);
        put_le16(header + 4, 20);
        put_le16(header + 6, 20);
        put_le16(header + 10, entry->method);
        put_le16(header + 14, 0x21);
        put_le32(header + 16, entry->crc);
        put_le32(header + 20, (uint32_t)entry->size);
        put_le32(header + 24, (uint32_t)entry->content_size);
        put_le16(header + 28, (uint32_t)name_size);
        put_le32(header + 42, offsets[e]);
        for (size_t i = 0; i < 46; i++)
            put_byte(&out, header[i]);
        for (size_t i = 0; i < name_size; i++)
            put_byte(&out, (unsigned char)entry->name[i]);
    }
    {
        unsigned char end[22] = {0};

        put_le32(end, 0x06054b50u);
        put_le16(end + 8, (uint32_t)count);
        put_le16(end + 10, (uint32_t)count);
        put_le32(end + 12, (uint32_t)(out.size - directory));
        put_le32(end + 16, (uint32_t)directory);
        for (size_t i = 0; i < 22; i++)
            put_byte(&out, end[i]);
    }
    write_file(path, out.bytes, out.size);
    free(out.bytes);
}

/* A stored .npy entry of `count` float32 zeros of shape (count,). */
struct stored_zeros {
    unsigned char *bytes;
    struct zip_entry_spec entry;
};

static struct stored_zeros make_stored_zeros(const char *name, size_t count)
{
    struct stored_zeros result;
    unsigned char header[128];
    size_t header_size = make_npy_header(header, "<f4", 1, count, 0);
    size_t size = header_size + count * sizeof(float);

    result.bytes = calloc(size, 1);
    ck_assert_ptr_nonnull(result.bytes);
    memcpy(result.bytes, header, header_size);
    result.entry = (struct zip_entry_spec){
        name, 0, result.bytes, size, crc32_ieee(result.bytes, size), size};
    return result;
}

/* How make_deflated_zeros_model ends W's deflate stream. */
enum zeros_ending {
    ZEROS_VALID,        /* a valid stream and CRC-32 */
    ZEROS_BAD_CRC,      /* a valid stream, the CRC-32 off by one bit */
    ZEROS_INVALID_TAIL, /* zeros_before_error bytes, then a bad block */
    ZEROS_SHORT,        /* 4 bytes fewer than declared */
    ZEROS_LONG,         /* 4 bytes more than declared */
    ZEROS_SPARE_INPUT   /* one compressed byte after the stream's end */
};

/*
 * Writes a model file whose W.npy (rows x cols float32 zeros) is deflated
 * with deflate_zeros and whose biases are stored zeros. For
 * ZEROS_INVALID_TAIL, zero bytes pad the compressed data after the bad
 * block so that the declared size stays within the 1032:1 ratio that the
 * reader accepts.
 */
static void make_deflated_zeros_model(const char *path, size_t rows,
                                      size_t cols, enum zeros_ending ending,
                                      uint64_t zeros_before_error)
{
    struct bit_writer deflated = {NULL, 0, 0, 0, 0};
    unsigned char header[128];
    size_t header_size = make_npy_header(header, "<f4", 2, rows, cols);
    uint64_t data_size = (uint64_t)rows * cols * sizeof(float);
    uint64_t content_size = header_size + data_size;
    uint64_t zeros = data_size;
    struct stored_zeros visible = make_stored_zeros("visible_bias.npy", rows);
    struct stored_zeros hidden = make_stored_zeros("hidden_bias.npy", cols);
    struct zip_entry_spec entries[3];
    uint32_t crc;

    if (ending == ZEROS_SHORT)
        zeros -= 4;
    else if (ending == ZEROS_LONG)
        zeros += 4;
    else if (ending == ZEROS_INVALID_TAIL)
        zeros = zeros_before_error;
    deflate_stored(&deflated, header, header_size, false);
    deflate_zeros(&deflated, zeros, ending != ZEROS_INVALID_TAIL);
    if (ending == ZEROS_INVALID_TAIL) {
        deflate_invalid_block(&deflated);
        align_bits(&deflated);
        while (deflated.size < content_size / 1024)
            put_byte(&deflated, 0);
    }
    align_bits(&deflated);
    if (ending == ZEROS_SPARE_INPUT)
        put_byte(&deflated, 0);
    crc = crc32_extend_zeros(crc32_ieee(header, header_size), data_size);
    if (ending == ZEROS_BAD_CRC)
        crc ^= 1;
    entries[0] = (struct zip_entry_spec){"W.npy", 8, deflated.bytes,
                                         deflated.size, crc, content_size};
    entries[1] = visible.entry;
    entries[2] = hidden.entry;
    write_zip(path, entries, 3);
    free(deflated.bytes);
    free(visible.bytes);
    free(hidden.bytes);
}

/* FNV-1a, 64 bits: a fingerprint of a whole data set. */
static uint64_t fnv1a64(const unsigned char *data, size_t size)
{
    uint64_t hash = 0xcbf29ce484222325u;

    for (size_t i = 0; i < size; i++) {
        hash ^= data[i];
        hash *= 0x100000001b3u;
    }
    return hash;
}

/* Recovers the bytes b of values loaded as b / 255, checking that every
 * value has that form. Check records every passing assertion (through a
 * pipe, in fork mode), so loops over millions of values count failures
 * and assert once. */
static unsigned char *values_to_bytes(const ebm_data *data)
{
    size_t count = data->rows * data->cols;
    size_t invalid = 0, first_invalid = 0;
    unsigned char *bytes = malloc(count);

    ck_assert_ptr_nonnull(bytes);
    for (size_t i = 0; i < count; i++) {
        float value = data->values[i];
        long byte = lrintf(value * 255.0f);

        if (byte < 0 || byte > 255 || value != (float)byte / 255.0f) {
            if (invalid++ == 0)
                first_invalid = i;
            byte = 0;
        }
        bytes[i] = (unsigned char)byte;
    }
    ck_assert_msg(invalid == 0,
                  "%zu values are not a byte / 255, the first at index %zu",
                  invalid, first_invalid);
    return bytes;
}

static double seconds_now(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

/*
 * Caps this process's address space at its current size plus `extra`
 * bytes, so that an allocation of the size a hostile header declares
 * fails and the call returns EBM_ERR_NOMEM instead of the expected status.
 * Returns the previous soft limit for restore_address_space.
 * AddressSanitizer reserves terabytes of address space up front, so under
 * it nothing is capped and only the status and the time are checked.
 */
static rlim_t limit_address_space(size_t extra)
{
    struct rlimit limit;

    ck_assert_int_eq(getrlimit(RLIMIT_AS, &limit), 0);
#if !defined(__SANITIZE_ADDRESS__)
    {
        rlim_t previous = limit.rlim_cur;
        unsigned long pages = 0;
        FILE *statm = fopen("/proc/self/statm", "r");

        if (statm != NULL) {
            if (fscanf(statm, "%lu", &pages) != 1)
                pages = 0;
            fclose(statm);
        }
        if (pages > 0) {
            rlim_t capped = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) +
                            (rlim_t)extra;

            if (limit.rlim_max == RLIM_INFINITY || capped < limit.rlim_max)
                limit.rlim_cur = capped;
            ck_assert_int_eq(setrlimit(RLIMIT_AS, &limit), 0);
        }
        return previous;
    }
#else
    (void)extra;
    return limit.rlim_cur;
#endif
}

static void restore_address_space(rlim_t previous)
{
    struct rlimit limit;

    ck_assert_int_eq(getrlimit(RLIMIT_AS, &limit), 0);
    limit.rlim_cur = previous;
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &limit), 0);
}

/* A small valid IDX file: 3 rows of 2 x 2 unsigned bytes (ndim 3). */
static const unsigned char small_idx[] = {
    0x00, 0x00, 0x08, 0x03,             /* magic: ubyte, 3 dimensions */
    0x00, 0x00, 0x00, 0x03,             /* 3 rows */
    0x00, 0x00, 0x00, 0x02,             /* 2 x 2 columns */
    0x00, 0x00, 0x00, 0x02,
    0, 51, 102, 153, 204, 255, 1, 2, 3, 4, 5, 254,
};

static void expect_load_idx_fails(const void *bytes, size_t size,
                                  ebm_status expected)
{
    char path[PATH_SIZE];
    ebm_data data = {7, 7, (float *)&data};

    temp_path(path, "bad.idx");
    write_file(path, bytes, size);
    ck_assert_int_eq(ebm_data_load_idx(path, &data), expected);
    ck_assert_uint_eq(data.rows, 0);
    ck_assert_uint_eq(data.cols, 0);
    ck_assert_ptr_null(data.values);
    ck_assert_str_ne(ebm_last_error(), "");
}

/* Expected parameters of the fixtures, computed as the script does. */
static float fixture_weight(size_t i, size_t k)
{
    return (float)((double)(i * 3 + k) * 0.1 - 0.7);
}

static float fixture_visible(size_t i)
{
    return (float)((double)i / 3.0 - 0.5);
}

static float fixture_hidden(size_t k)
{
    return (float)(-0.1 * (double)(k + 1));
}

/* Whether rbm has exactly the parameters of the NumPy fixtures. */
static bool is_fixture_model(const ebm_rbm *rbm)
{
    size_t d = 0, k = 0;
    const float *weights = ebm_rbm_weights(rbm);
    const float *visible = ebm_rbm_visible_bias(rbm);
    const float *hidden = ebm_rbm_hidden_bias(rbm);
    bool equal;

    if (ebm_rbm_shape(rbm, &d, &k) != EBM_OK || d != FIXTURE_D ||
        k != FIXTURE_K)
        return false;
    equal = true;
    for (size_t i = 0; i < FIXTURE_D; i++)
        for (size_t j = 0; j < FIXTURE_K; j++)
            equal = equal &&
                    weights[i * FIXTURE_K + j] == fixture_weight(i, j);
    for (size_t i = 0; i < FIXTURE_D; i++)
        equal = equal && visible[i] == fixture_visible(i);
    for (size_t j = 0; j < FIXTURE_K; j++)
        equal = equal && hidden[j] == fixture_hidden(j);
    return equal;
}

/* Loads tests/data/<name> and checks that it contains the fixture model. */
static void expect_fixture_model(const char *name)
{
    char path[PATH_SIZE];
    ebm_rbm *rbm = NULL;
    const float *weights;

    env_path(path, "EBM_TEST_DATA_DIR", name);
    ck_assert_msg(ebm_rbm_load(path, &rbm) == EBM_OK, "%s: %s", name,
                  ebm_last_error());
    weights = ebm_rbm_weights(rbm);
    ck_assert_msg(is_fixture_model(rbm),
                  "%s: wrong parameters, W[0, 0] = %.9g, W[4, 2] = %.9g",
                  name, (double)weights[0], (double)weights[14]);
    ebm_rbm_destroy(rbm);
}

static void expect_fixture_fails(const char *name, ebm_status expected,
                                 const char *detail_part)
{
    char path[PATH_SIZE];
    ebm_rbm *sentinel = (ebm_rbm *)(void *)&sentinel;
    ebm_rbm *rbm = sentinel;
    ebm_status status;

    env_path(path, "EBM_TEST_DATA_DIR", name);
    status = ebm_rbm_load(path, &rbm);
    ck_assert_msg(status == expected, "%s: got %s (%s), expected %s", name,
                  ebm_status_name(status), ebm_last_error(),
                  ebm_status_name(expected));
    ck_assert_ptr_eq(rbm, sentinel);
    ck_assert_msg(strstr(ebm_last_error(), detail_part) != NULL,
                  "message \"%s\" does not mention \"%s\"", ebm_last_error(),
                  detail_part);
}

/* A model with distinctive values: negative zero, a subnormal, FLT_MAX. */
static ebm_rbm *make_model(size_t d, size_t k, float shift)
{
    ebm_rbm *rbm = NULL;
    float *weights = malloc(d * k * sizeof(float));
    float *visible = malloc(d * sizeof(float));
    float *hidden = malloc(k * sizeof(float));

    ck_assert_ptr_nonnull(weights);
    ck_assert_ptr_nonnull(visible);
    ck_assert_ptr_nonnull(hidden);
    for (size_t i = 0; i < d * k; i++)
        weights[i] = shift + (float)i * 0.37f - 1.0f;
    weights[0] = -0.0f;
    if (d * k > 2) {
        weights[1] = 1e-40f;
        weights[2] = 3.4028235e38f;
    }
    for (size_t i = 0; i < d; i++)
        visible[i] = shift - (float)i / 7.0f;
    for (size_t j = 0; j < k; j++)
        hidden[j] = shift + (float)j * 1e-3f;
    ck_assert_int_eq(ebm_rbm_create(d, k, &rbm), EBM_OK);
    ck_assert_int_eq(ebm_rbm_set_weights(rbm, weights), EBM_OK);
    ck_assert_int_eq(ebm_rbm_set_visible_bias(rbm, visible), EBM_OK);
    ck_assert_int_eq(ebm_rbm_set_hidden_bias(rbm, hidden), EBM_OK);
    free(weights);
    free(visible);
    free(hidden);
    return rbm;
}

/* Whether two models have the same shape and bitwise-equal parameters. */
static bool models_equal(const ebm_rbm *a, const ebm_rbm *b)
{
    size_t da = 0, ka = 0, db = 0, kb = 0;

    ebm_rbm_shape(a, &da, &ka);
    ebm_rbm_shape(b, &db, &kb);
    return da == db && ka == kb &&
           memcmp(ebm_rbm_weights(a), ebm_rbm_weights(b),
                  da * ka * sizeof(float)) == 0 &&
           memcmp(ebm_rbm_visible_bias(a), ebm_rbm_visible_bias(b),
                  da * sizeof(float)) == 0 &&
           memcmp(ebm_rbm_hidden_bias(a), ebm_rbm_hidden_bias(b),
                  ka * sizeof(float)) == 0;
}

static uint16_t get16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/*
 * Marks the bytes of a libebm-written archive (stored entries, no extra
 * fields, no comment) that the reader may ignore. In each local header
 * these are the version needed, flags, time and date. Each central
 * directory header adds the version made by and the file attributes.
 * The reader checks all other bytes, including every byte of entry data.
 */
static void mark_ignored_fields(const unsigned char *file, size_t size,
                                bool *ignored)
{
    static const size_t local_fields[][2] = {{4, 8}, {10, 14}};
    static const size_t central_fields[][2] = {{4, 10}, {12, 16}, {36, 42}};
    size_t pos = 0, entries = 0, directory;

    while (pos + 30 <= size && get32(file + pos) == 0x04034b50u) {
        for (size_t f = 0; f < 2; f++)
            for (size_t i = local_fields[f][0]; i < local_fields[f][1]; i++)
                ignored[pos + i] = true;
        pos += 30 + get16(file + pos + 26) + get32(file + pos + 18);
        entries++;
    }
    ck_assert_uint_eq(entries, 4);
    ck_assert_uint_ge(size, 22);
    directory = get32(file + size - 22 + 16);
    ck_assert_uint_eq(directory, pos);
    for (size_t e = 0; e < entries; e++) {
        ck_assert_uint_eq(get32(file + pos), 0x02014b50u);
        for (size_t f = 0; f < 3; f++)
            for (size_t i = central_fields[f][0]; i < central_fields[f][1];
                 i++)
                ignored[pos + i] = true;
        pos += 46 + get16(file + pos + 28);
    }
    ck_assert_uint_eq(pos, size - 22);
}

/* ------------------------------------------------------------------------ */
/* IDX files                                                                */
/* ------------------------------------------------------------------------ */

/* Size, byte sum and FNV-1a hash of the data bytes of the bundled files,
 * and some of their bytes, computed with Python's gzip module. */
#define MNIST_IMAGES_SUM 262146600u
#define MNIST_IMAGES_FNV 0xbf7e97dcb21b83dbu
#define MNIST_LABELS_SUM 44368u
#define MNIST_LABELS_FNV 0xd0630701e91094bfu

START_TEST(idx_mnist_images)
{
    static const struct {
        size_t index;
        unsigned char byte;
    } known[] = {
        {0, 0},      {125, 36},        {126, 164},      {127, 219},
        {128, 31},   {129, 2},         {152, 31},       {784 + 403, 139},
        {784 + 404, 248}, {7839418, 99}, {7839999, 0},
    };
    char path[PATH_SIZE];
    ebm_data data = {0, 0, NULL};
    unsigned char *bytes;
    uint64_t sum = 0;

    env_path(path, "EBM_DATA_DIR", "mnist-10k/images-idx3-ubyte.gz");
    ck_assert_msg(ebm_data_load_idx(path, &data) == EBM_OK, "%s",
                  ebm_last_error());
    ck_assert_uint_eq(data.rows, MNIST_ROWS);
    ck_assert_uint_eq(data.cols, MNIST_COLS);
    ck_assert_ptr_nonnull(data.values);
    bytes = values_to_bytes(&data);
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        ck_assert_uint_eq(bytes[known[i].index], known[i].byte);
        ck_assert_float_eq(data.values[known[i].index],
                           (float)known[i].byte / 255.0f);
    }
    for (size_t i = 0; i < MNIST_ROWS * MNIST_COLS; i++)
        sum += bytes[i];
    ck_assert_uint_eq(sum, MNIST_IMAGES_SUM);
    ck_assert_uint_eq(fnv1a64(bytes, MNIST_ROWS * MNIST_COLS),
                      MNIST_IMAGES_FNV);
    free(bytes);
    ebm_data_free(&data);
}
END_TEST

START_TEST(idx_mnist_labels)
{
    static const unsigned char first_labels[] = {0, 5, 6, 5, 1, 1,
                                                 9, 0, 4, 0, 9, 6};
    char path[PATH_SIZE];
    ebm_data data = {0, 0, NULL};
    unsigned char *bytes;
    uint64_t sum = 0;

    env_path(path, "EBM_DATA_DIR", "mnist-10k/labels-idx1-ubyte.gz");
    ck_assert_msg(ebm_data_load_idx(path, &data) == EBM_OK, "%s",
                  ebm_last_error());
    ck_assert_uint_eq(data.rows, MNIST_ROWS);
    ck_assert_uint_eq(data.cols, 1);
    bytes = values_to_bytes(&data);
    for (size_t i = 0; i < sizeof(first_labels); i++)
        ck_assert_uint_eq(bytes[i], first_labels[i]);
    for (size_t i = 0; i < MNIST_ROWS; i++) {
        ck_assert_uint_le(bytes[i], 9);
        sum += bytes[i];
    }
    ck_assert_uint_eq(sum, MNIST_LABELS_SUM);
    ck_assert_uint_eq(fnv1a64(bytes, MNIST_ROWS), MNIST_LABELS_FNV);
    free(bytes);
    ebm_data_free(&data);
}
END_TEST

START_TEST(idx_plain_file_matches_gzip)
{
    static const unsigned char header[IDX3_HEADER_SIZE] = {
        0, 0, 8, 3, 0, 0, 0x27, 0x10, 0, 0, 0, 28, 0, 0, 0, 28,
    };
    char gz_path[PATH_SIZE], plain_path[PATH_SIZE];
    ebm_data from_gzip = {0, 0, NULL}, from_plain = {0, 0, NULL};
    unsigned char *bytes, *file;
    size_t count = MNIST_ROWS * MNIST_COLS;

    env_path(gz_path, "EBM_DATA_DIR", "mnist-10k/images-idx3-ubyte.gz");
    temp_path(plain_path, "images.idx");
    ck_assert_int_eq(ebm_data_load_idx(gz_path, &from_gzip), EBM_OK);
    /* The uncompressed file, rebuilt from the verified values. */
    bytes = values_to_bytes(&from_gzip);
    file = malloc(IDX3_HEADER_SIZE + count);
    ck_assert_ptr_nonnull(file);
    memcpy(file, header, IDX3_HEADER_SIZE);
    memcpy(file + IDX3_HEADER_SIZE, bytes, count);
    write_file(plain_path, file, IDX3_HEADER_SIZE + count);
    ck_assert_msg(ebm_data_load_idx(plain_path, &from_plain) == EBM_OK, "%s",
                  ebm_last_error());
    ck_assert_uint_eq(from_plain.rows, from_gzip.rows);
    ck_assert_uint_eq(from_plain.cols, from_gzip.cols);
    ck_assert_int_eq(memcmp(from_plain.values, from_gzip.values,
                            count * sizeof(float)),
                     0);
    free(file);
    free(bytes);
    ebm_data_free(&from_gzip);
    ebm_data_free(&from_plain);
}
END_TEST

START_TEST(idx_small_file_values)
{
    char path[PATH_SIZE];
    ebm_data data = {0, 0, NULL};

    temp_path(path, "small.idx");
    write_file(path, small_idx, sizeof(small_idx));
    ck_assert_int_eq(ebm_data_load_idx(path, &data), EBM_OK);
    ck_assert_uint_eq(data.rows, 3);
    ck_assert_uint_eq(data.cols, 4);
    for (size_t i = 0; i < 12; i++)
        ck_assert_float_eq(data.values[i],
                           (float)small_idx[IDX3_HEADER_SIZE + i] / 255.0f);
    ck_assert_float_eq(data.values[1], 0.2f);
    ck_assert_float_eq(data.values[5], 1.0f);
    ebm_data_free(&data);
}
END_TEST

START_TEST(idx_gzip_small_file)
{
    char path[PATH_SIZE];
    ebm_data data = {0, 0, NULL};

    temp_path(path, "small.idx.gz");
    write_gzip(path, small_idx, sizeof(small_idx));
    ck_assert_int_eq(ebm_data_load_idx(path, &data), EBM_OK);
    ck_assert_uint_eq(data.rows, 3);
    ck_assert_uint_eq(data.cols, 4);
    ck_assert_float_eq(data.values[11], 254.0f / 255.0f);
    ebm_data_free(&data);
}
END_TEST

START_TEST(idx_bad_magic)
{
    unsigned char bytes[sizeof(small_idx)];

    memcpy(bytes, small_idx, sizeof(bytes));
    bytes[0] = 0x01;
    expect_load_idx_fails(bytes, sizeof(bytes), EBM_ERR_FORMAT);
    memcpy(bytes, small_idx, sizeof(bytes));
    bytes[1] = 0x08;
    expect_load_idx_fails(bytes, sizeof(bytes), EBM_ERR_FORMAT);
    expect_load_idx_fails("P5\n28 28\n255\n", 13, EBM_ERR_FORMAT);
}
END_TEST

START_TEST(idx_float_type_unsupported)
{
    static const unsigned char bytes[] = {0, 0, 0x0d, 1, 0, 0, 0, 1,
                                          0x3f, 0x80, 0, 0};

    expect_load_idx_fails(bytes, sizeof(bytes), EBM_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(ebm_last_error(), "0x0d"));
}
END_TEST

START_TEST(idx_zero_dimensions)
{
    static const unsigned char bytes[] = {0, 0, 0x08, 0, 1, 2, 3};

    expect_load_idx_fails(bytes, sizeof(bytes), EBM_ERR_FORMAT);
}
END_TEST

START_TEST(idx_zero_size)
{
    static const unsigned char zero_rows[] = {0, 0, 8, 2, 0, 0, 0, 0,
                                              0, 0, 0, 3};
    static const unsigned char zero_cols[] = {0, 0, 8, 2, 0, 0, 0, 3,
                                              0, 0, 0, 0};

    expect_load_idx_fails(zero_rows, sizeof(zero_rows), EBM_ERR_SIZE);
    expect_load_idx_fails(zero_cols, sizeof(zero_cols), EBM_ERR_SIZE);
}
END_TEST

START_TEST(idx_truncated_every_offset)
{
    char path[PATH_SIZE];
    unsigned char *gz;
    size_t gz_size = 0;

    for (size_t size = 0; size < sizeof(small_idx); size++)
        expect_load_idx_fails(small_idx, size, EBM_ERR_TRUNCATED);
    /* The gzip form cut at every byte: the stream, its CRC-32 or its
     * length field is incomplete. */
    temp_path(path, "small.idx.gz");
    write_gzip(path, small_idx, sizeof(small_idx));
    gz = read_file(path, &gz_size);
    for (size_t size = 1; size < gz_size; size++) {
        ebm_data data = {1, 1, NULL};
        ebm_status status;

        write_file(path, gz, size);
        status = ebm_data_load_idx(path, &data);
        ck_assert_msg(status == EBM_ERR_TRUNCATED ||
                          status == EBM_ERR_FORMAT,
                      "gzip cut at %zu of %zu bytes: %s", size, gz_size,
                      ebm_status_name(status));
        ck_assert_ptr_null(data.values);
    }
    free(gz);
}
END_TEST

START_TEST(idx_trailing_byte)
{
    unsigned char bytes[sizeof(small_idx) + 1];
    char path[PATH_SIZE];
    ebm_data data = {0, 0, NULL};

    memcpy(bytes, small_idx, sizeof(small_idx));
    bytes[sizeof(small_idx)] = 0;
    expect_load_idx_fails(bytes, sizeof(bytes), EBM_ERR_FORMAT);
    temp_path(path, "trailing.idx.gz");
    write_gzip(path, bytes, sizeof(bytes));
    ck_assert_int_eq(ebm_data_load_idx(path, &data), EBM_ERR_FORMAT);
}
END_TEST

START_TEST(idx_huge_header_rejected_quickly)
{
    /* 2^31 rows of 28 x 28 bytes, then 10 bytes of data. */
    static const unsigned char bytes[] = {
        0, 0, 8, 3, 0x80, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28,
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    };
    rlim_t previous = limit_address_space((size_t)1 << 30);
    double start = seconds_now();

    expect_load_idx_fails(bytes, sizeof(bytes), EBM_ERR_LIMIT);
    ck_assert_double_lt(seconds_now() - start, 2.0);
    restore_address_space(previous);
}
END_TEST

START_TEST(idx_large_header_short_data)
{
    /* 2^22 rows of 1024 bytes: 2^32 elements, exactly EBM_MAX_ELEMENTS,
     * that is 16 GiB of floats, but only 10 bytes of data. */
    static const unsigned char bytes[] = {
        0, 0, 8, 2, 0, 0x40, 0, 0, 0, 0, 4, 0,
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    };
    rlim_t previous = limit_address_space((size_t)1 << 30);
    double start = seconds_now();

    expect_load_idx_fails(bytes, sizeof(bytes), EBM_ERR_TRUNCATED);
    ck_assert_double_lt(seconds_now() - start, 2.0);
    restore_address_space(previous);
}
END_TEST

START_TEST(idx_dimension_overflow)
{
    /* Four dimensions of 2^32 - 1: the column product overflows. */
    unsigned char bytes[4 + 16];

    memset(bytes, 0xff, sizeof(bytes));
    bytes[0] = 0;
    bytes[1] = 0;
    bytes[2] = 8;
    bytes[3] = 4;
    expect_load_idx_fails(bytes, sizeof(bytes), EBM_ERR_OVERFLOW);
}
END_TEST

START_TEST(idx_column_limit)
{
    /* 2 rows of 2^24 + 1 columns. */
    static const unsigned char bytes[] = {0, 0, 8, 2, 0, 0, 0, 2,
                                          0x01, 0, 0, 1};

    expect_load_idx_fails(bytes, sizeof(bytes), EBM_ERR_LIMIT);
}
END_TEST

START_TEST(idx_corrupt_gzip)
{
    char path[PATH_SIZE];
    unsigned char *gz;
    size_t gz_size = 0;
    ebm_data data = {0, 0, NULL};

    temp_path(path, "small.idx.gz");
    write_gzip(path, small_idx, sizeof(small_idx));
    gz = read_file(path, &gz_size);
    /* The CRC-32 of the uncompressed data is the trailer's first field. */
    gz[gz_size - 8] ^= 0x55;
    write_file(path, gz, gz_size);
    ck_assert_int_eq(ebm_data_load_idx(path, &data), EBM_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(ebm_last_error(), "gzip"));
    ck_assert_ptr_null(data.values);
    /* Block type 3 is reserved in deflate: BTYPE is bits 1-2 of the block
     * header byte. */
    gz[gz_size - 8] ^= 0x55;
    gz[GZIP_BLOCK_HEADER] |= 0x06;
    write_file(path, gz, gz_size);
    ck_assert_int_eq(ebm_data_load_idx(path, &data), EBM_ERR_FORMAT);
    ck_assert_ptr_null(data.values);
    /* A stored block whose length and its complement disagree. */
    gz[GZIP_BLOCK_HEADER] = 0x01;
    gz[GZIP_BLOCK_HEADER + 3] ^= 0x01;
    write_file(path, gz, gz_size);
    ck_assert_int_eq(ebm_data_load_idx(path, &data), EBM_ERR_FORMAT);
    free(gz);
}
END_TEST

START_TEST(idx_gzip_messages_name_file)
{
    char path[PATH_SIZE];
    unsigned char *gz;
    size_t gz_size = 0;
    ebm_data data = {0, 0, NULL};

    temp_path(path, "named.idx.gz");
    gz = gzip_bytes(path, small_idx, sizeof(small_idx), &gz_size);
    /* A CRC-32 mismatch in the trailer, then a cut inside the stream. */
    gz[gz_size - 8] ^= 0x55;
    write_file(path, gz, gz_size);
    ck_assert_int_eq(ebm_data_load_idx(path, &data), EBM_ERR_FORMAT);
    ck_assert_msg(strstr(ebm_last_error(), path) != NULL,
                  "message \"%s\" does not name %s", ebm_last_error(), path);
    ck_assert_ptr_null(strstr(ebm_last_error(), "<fd:"));
    write_file(path, gz, gz_size / 2);
    ck_assert_int_eq(ebm_data_load_idx(path, &data), EBM_ERR_TRUNCATED);
    ck_assert_msg(strstr(ebm_last_error(), path) != NULL,
                  "message \"%s\" does not name %s", ebm_last_error(), path);
    ck_assert_ptr_null(strstr(ebm_last_error(), "<fd:"));
    free(gz);
}
END_TEST

START_TEST(idx_gzip_trailing_bytes)
{
    static const struct {
        const char *bytes;
        size_t size;
    } tails[] = {
        {"\0", 1}, {"\x1f", 1}, {"\0\0\0\0\0\0\0\0", 8}, {"garbage\n", 8},
        {"\x1f\x8c", 2},
    };
    char path[PATH_SIZE];
    unsigned char *gz, *file;
    size_t gz_size = 0;

    temp_path(path, "small.idx.gz");
    gz = gzip_bytes(path, small_idx, sizeof(small_idx), &gz_size);
    file = malloc(gz_size + 8);
    ck_assert_ptr_nonnull(file);
    memcpy(file, gz, gz_size);
    for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
        ebm_data data = {0, 0, NULL};
        ebm_status status;

        memcpy(file + gz_size, tails[t].bytes, tails[t].size);
        write_file(path, file, gz_size + tails[t].size);
        status = ebm_data_load_idx(path, &data);
        ck_assert_msg(status == EBM_ERR_FORMAT,
                      "%zu bytes after the trailer: got %s (%s)",
                      tails[t].size, ebm_status_name(status),
                      ebm_last_error());
        ck_assert_ptr_null(data.values);
        ck_assert_ptr_nonnull(strstr(ebm_last_error(), path));
    }
    free(file);
    free(gz);
}
END_TEST

START_TEST(idx_gzip_concatenated_members)
{
    char path[PATH_SIZE], part_path[PATH_SIZE];
    unsigned char *first, *second, *empty, *file;
    size_t first_size = 0, second_size = 0, empty_size = 0, size;
    ebm_data data = {0, 0, NULL};

    /* The IDX header in one member, an empty member, then the data: a
     * file that `cat a.gz b.gz` makes and gzip -d reads as one. */
    temp_path(part_path, "part.gz");
    first = gzip_bytes(part_path, small_idx, IDX3_HEADER_SIZE, &first_size);
    empty = gzip_bytes(part_path, small_idx, 0, &empty_size);
    second = gzip_bytes(part_path, small_idx + IDX3_HEADER_SIZE,
                        sizeof(small_idx) - IDX3_HEADER_SIZE, &second_size);
    size = first_size + empty_size + second_size;
    file = malloc(size + 1);
    ck_assert_ptr_nonnull(file);
    memcpy(file, first, first_size);
    memcpy(file + first_size, empty, empty_size);
    memcpy(file + first_size + empty_size, second, second_size);
    temp_path(path, "members.idx.gz");
    write_file(path, file, size);
    ck_assert_msg(ebm_data_load_idx(path, &data) == EBM_OK, "%s",
                  ebm_last_error());
    ck_assert_uint_eq(data.rows, 3);
    ck_assert_uint_eq(data.cols, 4);
    for (size_t i = 0; i < 12; i++)
        ck_assert_float_eq(data.values[i],
                           (float)small_idx[IDX3_HEADER_SIZE + i] / 255.0f);
    ebm_data_free(&data);
    /* A second member damaged in its trailer is still checked. */
    file[size - 8] ^= 0x01;
    write_file(path, file, size);
    ck_assert_int_eq(ebm_data_load_idx(path, &data), EBM_ERR_FORMAT);
    ck_assert_ptr_null(data.values);
    free(file);
    free(first);
    free(empty);
    free(second);
}
END_TEST

START_TEST(idx_missing_file)
{
    char path[PATH_SIZE];
    ebm_data data = {0, 0, NULL};

    temp_path(path, "does-not-exist.idx");
    ck_assert_int_eq(ebm_data_load_idx(path, &data), EBM_ERR_IO);
    ck_assert_ptr_nonnull(strstr(ebm_last_error(), "does-not-exist.idx"));
}
END_TEST

START_TEST(idx_directory)
{
    ebm_data data = {0, 0, NULL};

    ck_assert_int_eq(ebm_data_load_idx(temp_dir, &data), EBM_ERR_IO);
    ck_assert_ptr_null(data.values);
}
END_TEST

START_TEST(idx_null_arguments)
{
    ebm_data data = {5, 5, NULL};

    ck_assert_int_eq(ebm_data_load_idx(NULL, &data), EBM_ERR_NULL);
    ck_assert_uint_eq(data.rows, 0);
    ck_assert_uint_eq(data.cols, 0);
    ck_assert_int_eq(ebm_data_load_idx("x.idx", NULL), EBM_ERR_NULL);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Data helpers                                                             */
/* ------------------------------------------------------------------------ */

START_TEST(data_free_resets)
{
    ebm_data data = {2, 3, malloc(6 * sizeof(float))};

    ck_assert_ptr_nonnull(data.values);
    ebm_data_free(&data);
    ck_assert_uint_eq(data.rows, 0);
    ck_assert_uint_eq(data.cols, 0);
    ck_assert_ptr_null(data.values);
    ebm_data_free(&data);
    ebm_data_free(NULL);
}
END_TEST

START_TEST(binarize_threshold)
{
    float values[] = {0.0f, 0.49999997f, 0.5f, 0.51f, 1.0f, 0.25f};
    static const float expected[] = {0, 0, 1, 1, 1, 0};
    ebm_data data = {2, 3, values};

    ck_assert_int_eq(ebm_data_binarize(&data, EBM_BINARIZE_THRESHOLD, 0),
                     EBM_OK);
    for (size_t i = 0; i < 6; i++)
        ck_assert_float_eq(values[i], expected[i]);
}
END_TEST

START_TEST(binarize_stochastic_reproducible)
{
    enum { ROWS = 200, COLS = 500 };
    static float first[ROWS * COLS], second[ROWS * COLS], third[ROWS * COLS];
    ebm_data a = {ROWS, COLS, first}, b = {ROWS, COLS, second};
    ebm_data c = {ROWS, COLS, third};
    size_t non_binary = 0;
    double sum = 0.0;

    for (size_t i = 0; i < ROWS * COLS; i++)
        first[i] = second[i] = third[i] = 0.3f;
    ck_assert_int_eq(ebm_data_binarize(&a, EBM_BINARIZE_STOCHASTIC, 42),
                     EBM_OK);
    ck_assert_int_eq(ebm_data_binarize(&b, EBM_BINARIZE_STOCHASTIC, 42),
                     EBM_OK);
    ck_assert_int_eq(ebm_data_binarize(&c, EBM_BINARIZE_STOCHASTIC, 43),
                     EBM_OK);
    ck_assert_int_eq(memcmp(first, second, sizeof(first)), 0);
    ck_assert_int_ne(memcmp(first, third, sizeof(first)), 0);
    for (size_t i = 0; i < ROWS * COLS; i++) {
        non_binary += first[i] != 0.0f && first[i] != 1.0f;
        sum += first[i];
    }
    ck_assert_uint_eq(non_binary, 0);
    /* 100000 Bernoulli(0.3) draws: the standard error is 0.00145. */
    ck_assert_double_lt(fabs(sum / (ROWS * COLS) - 0.3), 0.01);
}
END_TEST

START_TEST(binarize_stochastic_definition)
{
    enum { ROWS = 7, COLS = 9 };
    float values[ROWS * COLS];
    ebm_data data = {ROWS, COLS, values};

    for (size_t i = 0; i < ROWS * COLS; i++)
        values[i] = (float)i / (ROWS * COLS - 1);
    ck_assert_int_eq(ebm_data_binarize(&data, EBM_BINARIZE_STOCHASTIC, 1234),
                     EBM_OK);
    for (size_t r = 0; r < ROWS; r++) {
        for (size_t c = 0; c < COLS; c++) {
            float p = (float)(r * COLS + c) / (ROWS * COLS - 1);
            float u =
                ebm_rng_uniform(1234, EBM_STREAM_BINARIZE, r * COLS + c);

            ck_assert_float_eq(values[r * COLS + c], u < p ? 1.0f : 0.0f);
        }
    }
}
END_TEST

START_TEST(binarize_rejects_bad_input)
{
    float values[] = {0.1f, 0.9f, 0.5f, 1.5f};
    float copy[4];
    ebm_data data = {2, 2, values};
    ebm_data no_values = {2, 2, NULL};

    memcpy(copy, values, sizeof(copy));
    ck_assert_int_eq(ebm_data_binarize(&data, EBM_BINARIZE_THRESHOLD, 0),
                     EBM_ERR_DOMAIN);
    ck_assert_int_eq(memcmp(values, copy, sizeof(copy)), 0);
    values[3] = NAN;
    memcpy(copy, values, sizeof(copy));
    ck_assert_int_eq(ebm_data_binarize(&data, EBM_BINARIZE_STOCHASTIC, 1),
                     EBM_ERR_NONFINITE);
    ck_assert_int_eq(memcmp(values, copy, sizeof(copy)), 0);
    values[3] = 0.5f;
    ck_assert_int_eq(ebm_data_binarize(&data, (ebm_binarize_mode)2, 0),
                     EBM_ERR_ARGUMENT);
    ck_assert_float_eq(values[0], 0.1f);
    ck_assert_int_eq(ebm_data_binarize(NULL, EBM_BINARIZE_THRESHOLD, 0),
                     EBM_ERR_NULL);
    ck_assert_int_eq(ebm_data_binarize(&no_values, EBM_BINARIZE_THRESHOLD,
                                       0),
                     EBM_ERR_NULL);
}
END_TEST

START_TEST(binarize_empty_data)
{
    ebm_data data = {0, 10, NULL};

    ck_assert_int_eq(ebm_data_binarize(&data, EBM_BINARIZE_STOCHASTIC, 3),
                     EBM_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Model files written by libebm                                            */
/* ------------------------------------------------------------------------ */

START_TEST(model_save_load_roundtrip)
{
    static const size_t shapes[][2] = {{5, 3}, {1, 1}, {784, 500}, {1, 17}};
    char path[PATH_SIZE];

    temp_path(path, "model.npz");
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        ebm_rbm *saved = make_model(shapes[s][0], shapes[s][1], 0.25f);
        ebm_rbm *loaded = NULL;

        ck_assert_msg(ebm_rbm_save(saved, path) == EBM_OK, "%s",
                      ebm_last_error());
        ck_assert_msg(ebm_rbm_load(path, &loaded) == EBM_OK, "%s",
                      ebm_last_error());
        ck_assert_msg(models_equal(saved, loaded), "%zu x %zu differs",
                      shapes[s][0], shapes[s][1]);
        ebm_rbm_destroy(saved);
        ebm_rbm_destroy(loaded);
    }
}
END_TEST

START_TEST(model_save_is_reproducible)
{
    char first_path[PATH_SIZE], second_path[PATH_SIZE];
    ebm_rbm *rbm = make_model(6, 4, 0.5f);
    unsigned char *first, *second;
    size_t first_size = 0, second_size = 0;

    temp_path(first_path, "a.npz");
    temp_path(second_path, "b.npz");
    ck_assert_int_eq(ebm_rbm_save(rbm, first_path), EBM_OK);
    ck_assert_int_eq(ebm_rbm_save(rbm, second_path), EBM_OK);
    first = read_file(first_path, &first_size);
    second = read_file(second_path, &second_size);
    ck_assert_uint_eq(first_size, second_size);
    ck_assert_int_eq(memcmp(first, second, first_size), 0);
    free(first);
    free(second);
    ebm_rbm_destroy(rbm);
}
END_TEST

START_TEST(model_save_replaces_file)
{
    char path[PATH_SIZE];
    ebm_rbm *old_model = make_model(4, 2, 1.0f);
    ebm_rbm *new_model = make_model(3, 5, -2.0f);
    ebm_rbm *loaded = NULL;
    struct stat info;
    mode_t mask = umask(022);

    umask(mask);
    temp_path(path, "model.npz");
    ck_assert_int_eq(ebm_rbm_save(old_model, path), EBM_OK);
    ck_assert_int_eq(stat(path, &info), 0);
    ck_assert_uint_eq(info.st_mode & 0777, 0666 & ~mask);
    ck_assert_int_eq(chmod(path, 0640), 0);
    ck_assert_int_eq(ebm_rbm_save(new_model, path), EBM_OK);
    ck_assert_int_eq(ebm_rbm_load(path, &loaded), EBM_OK);
    ck_assert(models_equal(new_model, loaded));
    /* The replacement keeps the mode, and no temporary file remains. */
    ck_assert_int_eq(stat(path, &info), 0);
    ck_assert_uint_eq(info.st_mode & 0777, 0640);
    ck_assert_uint_eq(count_temp_files(), 1);
    ebm_rbm_destroy(old_model);
    ebm_rbm_destroy(new_model);
    ebm_rbm_destroy(loaded);
}
END_TEST

START_TEST(model_save_errors)
{
    char path[PATH_SIZE];
    ebm_rbm *rbm = make_model(2, 2, 0.0f);

    temp_path(path, "model.npz");
    ck_assert_int_eq(ebm_rbm_save(NULL, path), EBM_ERR_NULL);
    ck_assert_int_eq(ebm_rbm_save(rbm, NULL), EBM_ERR_NULL);
    temp_path(path, "missing-dir/model.npz");
    ck_assert_int_eq(ebm_rbm_save(rbm, path), EBM_ERR_IO);
    ck_assert_ptr_nonnull(strstr(ebm_last_error(), "missing-dir"));
    temp_path(path, "");
    ck_assert_int_eq(ebm_rbm_save(rbm, path), EBM_ERR_IO);
    /* A directory in the way of the rename. */
    temp_path(path, "occupied");
    ck_assert_int_eq(mkdir(path, 0700), 0);
    ck_assert_int_eq(ebm_rbm_save(rbm, path), EBM_ERR_IO);
    ck_assert_int_eq(rmdir(path), 0);
    ck_assert_uint_eq(count_temp_files(), 0);
    ebm_rbm_destroy(rbm);
}
END_TEST

START_TEST(model_save_rejects_nonfinite)
{
    static const struct {
        int array; /* 0 W, 1 visible bias, 2 hidden bias */
        size_t index;
        float value;
        const char *detail;
    } cases[] = {
        {0, 7, NAN, "W.npy element [2, 1] is nan"},
        {1, 1, INFINITY, "visible_bias.npy element [1] is inf"},
        {2, 2, -INFINITY, "hidden_bias.npy element [2] is -inf"},
    };
    char path[PATH_SIZE], new_path[PATH_SIZE];
    ebm_rbm *saved = make_model(4, 3, 0.5f);
    unsigned char *before, *after;
    size_t before_size = 0, after_size = 0;

    temp_path(path, "model.npz");
    temp_path(new_path, "new.npz");
    ck_assert_int_eq(ebm_rbm_save(saved, path), EBM_OK);
    before = read_file(path, &before_size);
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        ebm_rbm *rbm = make_model(4, 3, 0.5f);
        const float *arrays[3] = {ebm_rbm_weights(rbm),
                                  ebm_rbm_visible_bias(rbm),
                                  ebm_rbm_hidden_bias(rbm)};
        /* The setters reject non-finite values, so the test writes one
         * through the getter's pointer; the model's memory is not const. */
        float *target = (float *)(uintptr_t)arrays[cases[c].array];

        target[cases[c].index] = cases[c].value;
        ck_assert_int_eq(ebm_rbm_save(rbm, path), EBM_ERR_NONFINITE);
        ck_assert_msg(strstr(ebm_last_error(), cases[c].detail) != NULL,
                      "message \"%s\" does not mention \"%s\"",
                      ebm_last_error(), cases[c].detail);
        ck_assert_ptr_nonnull(strstr(ebm_last_error(), path));
        ck_assert_int_eq(ebm_rbm_save(rbm, new_path), EBM_ERR_NONFINITE);
        ck_assert_int_eq(access(new_path, F_OK), -1);
        ebm_rbm_destroy(rbm);
    }
    /* The existing file is untouched and no temporary file remains. */
    after = read_file(path, &after_size);
    ck_assert_uint_eq(after_size, before_size);
    ck_assert_int_eq(memcmp(before, after, before_size), 0);
    ck_assert_uint_eq(count_temp_files(), 1);
    free(before);
    free(after);
    ebm_rbm_destroy(saved);
}
END_TEST

START_TEST(model_crc32_helper_matches)
{
    unsigned char bytes[1100];

    /* crc32_extend_zeros, which the deflate tests rely on, against the
     * bitwise CRC-32 of the same bytes. */
    memset(bytes, 0, sizeof(bytes));
    memcpy(bytes, "libebm", 6);
    for (size_t zeros = 0; zeros <= 1094; zeros += 547)
        ck_assert_uint_eq(crc32_extend_zeros(crc32_ieee(bytes, 6), zeros),
                          crc32_ieee(bytes, 6 + zeros));
}
END_TEST

START_TEST(model_deflated_small_checks)
{
    static const struct {
        enum zeros_ending ending;
        const char *detail;
    } cases[] = {
        {ZEROS_BAD_CRC, "CRC-32"},
        {ZEROS_SHORT, "not the declared"},
        {ZEROS_LONG, "more than its declared"},
        {ZEROS_SPARE_INPUT, "compressed bytes"},
        {ZEROS_INVALID_TAIL, "invalid block type"},
    };
    char path[PATH_SIZE];
    ebm_rbm *rbm = NULL;

    temp_path(path, "deflated.npz");
    make_deflated_zeros_model(path, 6, 5, ZEROS_VALID, 0);
    ck_assert_msg(ebm_rbm_load(path, &rbm) == EBM_OK, "%s",
                  ebm_last_error());
    ck_assert_float_eq(ebm_rbm_weights(rbm)[29], 0.0f);
    ebm_rbm_destroy(rbm);
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        ebm_status status;

        rbm = NULL;
        make_deflated_zeros_model(path, 6, 5, cases[c].ending, 40);
        status = ebm_rbm_load(path, &rbm);
        ck_assert_msg(status == EBM_ERR_FORMAT, "case %zu: %s (%s)", c,
                      ebm_status_name(status), ebm_last_error());
        ck_assert_ptr_null(rbm);
        ck_assert_msg(strstr(ebm_last_error(), cases[c].detail) != NULL,
                      "message \"%s\" does not mention \"%s\"",
                      ebm_last_error(), cases[c].detail);
        ck_assert_ptr_nonnull(strstr(ebm_last_error(), "W.npy"));
    }
}
END_TEST

/* 4096 x 16384 float32 zeros: 256 MiB declared by a 260 KB file. */
#define ZEROS_ROWS 4096
#define ZEROS_COLS 16384
#define ZEROS_BYTES ((size_t)ZEROS_ROWS * ZEROS_COLS * sizeof(float))

START_TEST(model_deflated_loads_in_one_copy)
{
    char path[PATH_SIZE];
    ebm_rbm *rbm = NULL;
    size_t d = 0, k = 0, nonzero = 0;
    const float *weights;
    rlim_t previous;
    ebm_status status;

    temp_path(path, "zeros.npz");
    make_deflated_zeros_model(path, ZEROS_ROWS, ZEROS_COLS, ZEROS_VALID, 0);
    /* One copy of W fits in 1.5 copies; an inflate buffer plus the model
     * would need two. */
    previous = limit_address_space(ZEROS_BYTES + ZEROS_BYTES / 2);
    status = ebm_rbm_load(path, &rbm);
    restore_address_space(previous);
    ck_assert_msg(status == EBM_OK, "%s: %s", ebm_status_name(status),
                  ebm_last_error());
    ck_assert_int_eq(ebm_rbm_shape(rbm, &d, &k), EBM_OK);
    ck_assert_uint_eq(d, ZEROS_ROWS);
    ck_assert_uint_eq(k, ZEROS_COLS);
    weights = ebm_rbm_weights(rbm);
    for (size_t i = 0; i < d * k; i += 4099)
        nonzero += weights[i] != 0.0f;
    ck_assert_uint_eq(nonzero, 0);
    ebm_rbm_destroy(rbm);
}
END_TEST

START_TEST(model_corrupt_deflate_fails_small)
{
    /* W declares 2 GiB (16384 x 32768 floats) and inflates 384 MiB of
     * zeros before an invalid block, or declares 256 MiB with the wrong
     * CRC-32. Both must fail before the model is allocated, within an
     * address space of 128 MiB more than the test uses. */
    static const struct {
        size_t rows;
        size_t cols;
        enum zeros_ending ending;
        const char *detail;
    } cases[] = {
        {16384, 32768, ZEROS_INVALID_TAIL, "invalid block type"},
        {ZEROS_ROWS, ZEROS_COLS, ZEROS_BAD_CRC, "CRC-32"},
    };
    char path[PATH_SIZE];

    temp_path(path, "corrupt.npz");
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        ebm_rbm *rbm = NULL;
        rlim_t previous;
        ebm_status status;

        make_deflated_zeros_model(path, cases[c].rows, cases[c].cols,
                                  cases[c].ending,
                                  ZEROS_BYTES + ZEROS_BYTES / 2);
        previous = limit_address_space((size_t)128 << 20);
        status = ebm_rbm_load(path, &rbm);
        restore_address_space(previous);
        ck_assert_msg(status == EBM_ERR_FORMAT, "case %zu: %s (%s)", c,
                      ebm_status_name(status), ebm_last_error());
        ck_assert_ptr_null(rbm);
        ck_assert_msg(strstr(ebm_last_error(), cases[c].detail) != NULL,
                      "message \"%s\" does not mention \"%s\"",
                      ebm_last_error(), cases[c].detail);
    }
}
END_TEST

START_TEST(model_truncated_every_offset)
{
    char path[PATH_SIZE], cut_path[PATH_SIZE];
    ebm_rbm *rbm = make_model(5, 3, 0.125f);
    unsigned char *file;
    size_t size = 0;

    temp_path(path, "model.npz");
    temp_path(cut_path, "cut.npz");
    ck_assert_int_eq(ebm_rbm_save(rbm, path), EBM_OK);
    file = read_file(path, &size);
    for (size_t length = 0; length < size; length++) {
        ebm_rbm *loaded = NULL;
        ebm_status status;

        write_file(cut_path, file, length);
        status = ebm_rbm_load(cut_path, &loaded);
        ck_assert_msg(status != EBM_OK, "loaded a file cut at %zu of %zu",
                      length, size);
        ck_assert_msg(status == EBM_ERR_TRUNCATED ||
                          status == EBM_ERR_FORMAT,
                      "cut at %zu: %s (%s)", length, ebm_status_name(status),
                      ebm_last_error());
        ck_assert_ptr_null(loaded);
    }
    free(file);
    ebm_rbm_destroy(rbm);
}
END_TEST

START_TEST(model_corrupt_every_byte)
{
    static const unsigned char flips[] = {0x01, 0x80, 0xff};
    char path[PATH_SIZE], bad_path[PATH_SIZE];
    ebm_rbm *rbm = make_model(5, 3, -0.75f);
    unsigned char *file;
    bool *ignored;
    size_t size = 0, accepted = 0;

    temp_path(path, "model.npz");
    temp_path(bad_path, "bad.npz");
    ck_assert_int_eq(ebm_rbm_save(rbm, path), EBM_OK);
    file = read_file(path, &size);
    ignored = calloc(size, sizeof(*ignored));
    ck_assert_ptr_nonnull(ignored);
    mark_ignored_fields(file, size, ignored);
    for (size_t offset = 0; offset < size; offset++) {
        for (size_t f = 0; f < sizeof(flips); f++) {
            ebm_rbm *loaded = NULL;
            ebm_status status;

            file[offset] ^= flips[f];
            write_file(bad_path, file, size);
            file[offset] ^= flips[f];
            status = ebm_rbm_load(bad_path, &loaded);
            if (status != EBM_OK) {
                ck_assert_ptr_null(loaded);
                continue;
            }
            /* Only bytes that do not matter (timestamps, attributes,
             * version fields, flags) may change without an error. */
            ck_assert_msg(ignored[offset],
                          "corrupt byte %zu (xor %02x) was accepted",
                          offset, flips[f]);
            ck_assert_msg(models_equal(rbm, loaded),
                          "byte %zu (xor %02x) changed the parameters",
                          offset, flips[f]);
            ebm_rbm_destroy(loaded);
            accepted++;
        }
    }
    ck_assert_uint_gt(accepted, 0);
    free(ignored);
    free(file);
    ebm_rbm_destroy(rbm);
}
END_TEST

START_TEST(model_load_missing_file)
{
    char path[PATH_SIZE];
    ebm_rbm *rbm = NULL;

    temp_path(path, "nothing.npz");
    ck_assert_int_eq(ebm_rbm_load(path, &rbm), EBM_ERR_IO);
    ck_assert_ptr_nonnull(strstr(ebm_last_error(), "nothing.npz"));
    ck_assert_ptr_null(rbm);
}
END_TEST

START_TEST(model_load_directory)
{
    ebm_rbm *rbm = NULL;

    ck_assert_int_eq(ebm_rbm_load(temp_dir, &rbm), EBM_ERR_IO);
    ck_assert_ptr_null(rbm);
}
END_TEST

START_TEST(model_load_not_zip)
{
    char path[PATH_SIZE];
    ebm_rbm *rbm = NULL;

    temp_path(path, "text.npz");
    write_file(path, "this is not a zip archive\n", 26);
    ck_assert_int_eq(ebm_rbm_load(path, &rbm), EBM_ERR_FORMAT);
    temp_path(path, "empty.npz");
    write_file(path, "", 0);
    ck_assert_int_eq(ebm_rbm_load(path, &rbm), EBM_ERR_TRUNCATED);
    ck_assert_ptr_null(rbm);
}
END_TEST

START_TEST(model_load_null_arguments)
{
    ebm_rbm *rbm = NULL;

    ck_assert_int_eq(ebm_rbm_load(NULL, &rbm), EBM_ERR_NULL);
    ck_assert_int_eq(ebm_rbm_load("model.npz", NULL), EBM_ERR_NULL);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Model files written by NumPy                                             */
/* ------------------------------------------------------------------------ */

START_TEST(numpy_savez_float32)
{
    expect_fixture_model("model_savez.npz");
}
END_TEST

START_TEST(numpy_savez_compressed)
{
    expect_fixture_model("model_savez_compressed.npz");
}
END_TEST

START_TEST(numpy_float64_arrays)
{
    expect_fixture_model("model_float64.npz");
}
END_TEST

START_TEST(numpy_fortran_order)
{
    expect_fixture_model("model_fortran.npz");
}
END_TEST

START_TEST(numpy_big_endian)
{
    expect_fixture_model("model_big_endian.npz");
}
END_TEST

START_TEST(numpy_without_version)
{
    expect_fixture_model("model_no_version.npz");
}
END_TEST

START_TEST(numpy_extra_arrays_ignored)
{
    expect_fixture_model("model_extra_arrays.npz");
}
END_TEST

START_TEST(numpy_npy_versions_2_and_3)
{
    expect_fixture_model("model_npy_versions.npz");
}
END_TEST

START_TEST(numpy_zip64_records)
{
    expect_fixture_model("model_zip64.npz");
}
END_TEST

START_TEST(numpy_fixtures_damaged)
{
    static const char *const names[] = {"model_savez_compressed.npz",
                                        "model_zip64.npz",
                                        "model_fortran.npz"};
    char path[PATH_SIZE], bad_path[PATH_SIZE];

    temp_path(bad_path, "damaged.npz");
    for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
        unsigned char *file;
        size_t size = 0;

        env_path(path, "EBM_TEST_DATA_DIR", names[n]);
        file = read_file(path, &size);
        for (size_t length = 0; length < size; length++) {
            ebm_rbm *loaded = NULL;
            ebm_status status;

            write_file(bad_path, file, length);
            status = ebm_rbm_load(bad_path, &loaded);
            ck_assert_msg(status == EBM_ERR_TRUNCATED ||
                              status == EBM_ERR_FORMAT,
                          "%s cut at %zu: %s", names[n], length,
                          ebm_status_name(status));
        }
        for (size_t offset = 0; offset < size; offset++) {
            ebm_rbm *loaded = NULL;

            file[offset] ^= 0xff;
            write_file(bad_path, file, size);
            file[offset] ^= 0xff;
            if (ebm_rbm_load(bad_path, &loaded) != EBM_OK)
                continue;
            ck_assert_msg(is_fixture_model(loaded),
                          "%s: byte %zu changed the parameters", names[n],
                          offset);
            ebm_rbm_destroy(loaded);
        }
        free(file);
    }
}
END_TEST

START_TEST(numpy_wrong_format_version)
{
    expect_fixture_fails("model_version2.npz", EBM_ERR_VERSION,
                         "format_version is 2");
}
END_TEST

START_TEST(numpy_missing_hidden_bias)
{
    expect_fixture_fails("model_missing_hidden.npz", EBM_ERR_FORMAT,
                         "hidden_bias.npy");
}
END_TEST

START_TEST(numpy_shape_mismatch)
{
    expect_fixture_fails("model_shape_mismatch.npz", EBM_ERR_MISMATCH,
                         "visible_bias has 4 elements");
}
END_TEST

START_TEST(numpy_nan_weight)
{
    expect_fixture_fails("model_nan.npz", EBM_ERR_NONFINITE, "[2, 1]");
}
END_TEST

START_TEST(numpy_float64_overflow)
{
    expect_fixture_fails("model_float64_overflow.npz", EBM_ERR_NONFINITE,
                         "[4, 2]");
}
END_TEST

START_TEST(numpy_integer_weights)
{
    expect_fixture_fails("model_int_weights.npz", EBM_ERR_UNSUPPORTED,
                         "W.npy");
}
END_TEST

START_TEST(numpy_bool_format_version)
{
    expect_fixture_fails("model_bool_version.npz", EBM_ERR_FORMAT,
                         "format_version.npy: dtype '|b1' is not an integer "
                         "type");
}
END_TEST

START_TEST(numpy_float16_weights)
{
    expect_fixture_fails("model_float16_weights.npz", EBM_ERR_UNSUPPORTED,
                         "W.npy: dtype '<f2' is not supported; expected "
                         "float32");
    ck_assert_ptr_null(strstr(ebm_last_error(), "integer"));
}
END_TEST

START_TEST(numpy_absurd_shape)
{
    rlim_t previous = limit_address_space((size_t)1 << 30);
    double start = seconds_now();

    expect_fixture_fails("model_absurd_shape.npz", EBM_ERR_LIMIT,
                         "1099511627776");
    ck_assert_double_lt(seconds_now() - start, 2.0);
    restore_address_space(previous);
}
END_TEST

static TCase *temp_case(const char *name)
{
    TCase *tc = tcase_create(name);

    tcase_add_unchecked_fixture(tc, make_case_dir, remove_case_dir);
    tcase_add_checked_fixture(tc, make_temp_dir, remove_temp_dir);
    return tc;
}

int main(void)
{
    Suite *suite = suite_create("io");
    TCase *idx = temp_case("idx");
    TCase *data = temp_case("data");
    TCase *model = temp_case("model");
    TCase *numpy = temp_case("numpy");
    SRunner *runner;
    int failed;

    tcase_add_test(idx, idx_mnist_images);
    tcase_add_test(idx, idx_mnist_labels);
    tcase_add_test(idx, idx_plain_file_matches_gzip);
    tcase_add_test(idx, idx_small_file_values);
    tcase_add_test(idx, idx_gzip_small_file);
    tcase_add_test(idx, idx_bad_magic);
    tcase_add_test(idx, idx_float_type_unsupported);
    tcase_add_test(idx, idx_zero_dimensions);
    tcase_add_test(idx, idx_zero_size);
    tcase_add_test(idx, idx_truncated_every_offset);
    tcase_add_test(idx, idx_trailing_byte);
    tcase_add_test(idx, idx_huge_header_rejected_quickly);
    tcase_add_test(idx, idx_large_header_short_data);
    tcase_add_test(idx, idx_dimension_overflow);
    tcase_add_test(idx, idx_column_limit);
    tcase_add_test(idx, idx_corrupt_gzip);
    tcase_add_test(idx, idx_gzip_messages_name_file);
    tcase_add_test(idx, idx_gzip_trailing_bytes);
    tcase_add_test(idx, idx_gzip_concatenated_members);
    tcase_add_test(idx, idx_missing_file);
    tcase_add_test(idx, idx_directory);
    tcase_add_test(idx, idx_null_arguments);
    suite_add_tcase(suite, idx);

    tcase_add_test(data, data_free_resets);
    tcase_add_test(data, binarize_threshold);
    tcase_add_test(data, binarize_stochastic_reproducible);
    tcase_add_test(data, binarize_stochastic_definition);
    tcase_add_test(data, binarize_rejects_bad_input);
    tcase_add_test(data, binarize_empty_data);
    suite_add_tcase(suite, data);

    tcase_add_test(model, model_save_load_roundtrip);
    tcase_add_test(model, model_save_is_reproducible);
    tcase_add_test(model, model_save_replaces_file);
    tcase_add_test(model, model_save_errors);
    tcase_add_test(model, model_save_rejects_nonfinite);
    tcase_add_test(model, model_crc32_helper_matches);
    tcase_add_test(model, model_deflated_small_checks);
    tcase_add_test(model, model_deflated_loads_in_one_copy);
    tcase_add_test(model, model_corrupt_deflate_fails_small);
    tcase_add_test(model, model_truncated_every_offset);
    tcase_add_test(model, model_corrupt_every_byte);
    tcase_add_test(model, model_load_missing_file);
    tcase_add_test(model, model_load_directory);
    tcase_add_test(model, model_load_not_zip);
    tcase_add_test(model, model_load_null_arguments);
    suite_add_tcase(suite, model);

    tcase_add_test(numpy, numpy_savez_float32);
    tcase_add_test(numpy, numpy_savez_compressed);
    tcase_add_test(numpy, numpy_float64_arrays);
    tcase_add_test(numpy, numpy_fortran_order);
    tcase_add_test(numpy, numpy_big_endian);
    tcase_add_test(numpy, numpy_without_version);
    tcase_add_test(numpy, numpy_extra_arrays_ignored);
    tcase_add_test(numpy, numpy_npy_versions_2_and_3);
    tcase_add_test(numpy, numpy_zip64_records);
    tcase_add_test(numpy, numpy_fixtures_damaged);
    tcase_add_test(numpy, numpy_wrong_format_version);
    tcase_add_test(numpy, numpy_missing_hidden_bias);
    tcase_add_test(numpy, numpy_shape_mismatch);
    tcase_add_test(numpy, numpy_nan_weight);
    tcase_add_test(numpy, numpy_float64_overflow);
    tcase_add_test(numpy, numpy_integer_weights);
    tcase_add_test(numpy, numpy_bool_format_version);
    tcase_add_test(numpy, numpy_float16_weights);
    tcase_add_test(numpy, numpy_absurd_shape);
    suite_add_tcase(suite, numpy);

    runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
