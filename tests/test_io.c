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

static void write_file(const char *path, const void *data, size_t size)
{
    FILE *file = fopen(path, "wb");

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
    tcase_add_test(numpy, numpy_absurd_shape);
    suite_add_tcase(suite, numpy);

    runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
