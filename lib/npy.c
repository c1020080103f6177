/* NumPy .npy header parser, float32 conversion and header writer; see
 * npy.h. */
#include "npy.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

#define MAGIC_SIZE 6
#define VERSION1_PREFIX_SIZE 10 /* magic, version, 2-byte header length */
#define VERSION2_PREFIX_SIZE 12 /* magic, version, 4-byte header length */
#define DATA_ALIGNMENT 64

static bool host_is_little_endian(void)
{
    const uint16_t probe = 1;
    unsigned char first;

    memcpy(&first, &probe, 1);
    return first == 1;
}

static uint32_t swap32(uint32_t x)
{
    return (x & 0xffu) << 24 | (x & 0xff00u) << 8 | (x >> 8 & 0xff00u) |
           x >> 24;
}

static uint64_t swap64(uint64_t x)
{
    return (uint64_t)swap32((uint32_t)x) << 32 | swap32((uint32_t)(x >> 32));
}

/* ------------------------------------------------------------------------ */
/* Header parser                                                            */
/* ------------------------------------------------------------------------ */

/*
 * A recursive-descent parser for exactly the dict literals NumPy writes:
 * three keys 'descr', 'fortran_order' and 'shape' in any order, string
 * values in single or double quotes without escapes, True or False, and a
 * tuple of decimal integers. Anything else is rejected.
 */
struct parser {
    const char *text;
    size_t size;
    size_t pos;
    const char *label;
    bool allow_long_suffix; /* Python 2 wrote 1.0 headers with "5L" */
    ebm_npy_expect expect;
};

static void skip_space(struct parser *p)
{
    while (p->pos < p->size &&
           (p->text[p->pos] == ' ' || p->text[p->pos] == '\t' ||
            p->text[p->pos] == '\n' || p->text[p->pos] == '\r'))
        p->pos++;
}

static bool accept(struct parser *p, char c)
{
    skip_space(p);
    if (p->pos < p->size && p->text[p->pos] == c) {
        p->pos++;
        return true;
    }
    return false;
}

static ebm_status fail_syntax(const struct parser *p, const char *expected)
{
    return ebm_fail(EBM_ERR_FORMAT,
                    "%s: invalid .npy header: expected %s at byte %zu of "
                    "the header",
                    p->label, expected, p->pos);
}

static ebm_status parse_string(struct parser *p, const char **start,
                               size_t *length)
{
    char quote;

    skip_space(p);
    if (p->pos >= p->size ||
        (p->text[p->pos] != '\'' && p->text[p->pos] != '"'))
        return fail_syntax(p, "a quoted string");
    quote = p->text[p->pos++];
    *start = p->text + p->pos;
    while (p->pos < p->size && p->text[p->pos] != quote) {
        unsigned char c = (unsigned char)p->text[p->pos];

        if (c == '\\' || c < 0x20 || c > 0x7e)
            return fail_syntax(p, "printable ASCII without escapes");
        p->pos++;
    }
    if (p->pos >= p->size)
        return fail_syntax(p, "a closing quote");
    *length = (size_t)(p->text + p->pos - *start);
    p->pos++;
    return EBM_OK;
}

static bool is_word(const char *start, size_t length, const char *word)
{
    return length == strlen(word) && memcmp(start, word, length) == 0;
}

static ebm_status parse_bool(struct parser *p, bool *value)
{
    size_t start;

    skip_space(p);
    start = p->pos;
    while (p->pos < p->size &&
           ((p->text[p->pos] >= 'a' && p->text[p->pos] <= 'z') ||
            (p->text[p->pos] >= 'A' && p->text[p->pos] <= 'Z')))
        p->pos++;
    if (is_word(p->text + start, p->pos - start, "True"))
        *value = true;
    else if (is_word(p->text + start, p->pos - start, "False"))
        *value = false;
    else {
        p->pos = start;
        return fail_syntax(p, "True or False");
    }
    return EBM_OK;
}

/* Parses one dimension of the shape, which must lie in 1..EBM_MAX_UNITS. */
static ebm_status parse_dimension(struct parser *p, size_t *dimension)
{
    uint64_t value = 0;
    size_t start;

    skip_space(p);
    start = p->pos;
    while (p->pos < p->size && p->text[p->pos] >= '0' &&
           p->text[p->pos] <= '9') {
        unsigned digit = (unsigned)(p->text[p->pos] - '0');

        value = value > (UINT64_MAX - digit) / 10 ? UINT64_MAX
                                                  : value * 10 + digit;
        p->pos++;
    }
    if (p->pos == start)
        return fail_syntax(p, "a dimension");
    if (p->pos - start > 1 && p->text[start] == '0')
        return fail_syntax(p, "a dimension without leading zeros");
    if (p->allow_long_suffix && p->pos < p->size && p->text[p->pos] == 'L')
        p->pos++;
    if (value > EBM_MAX_UNITS)
        return ebm_fail(EBM_ERR_LIMIT,
                        "%s: shape dimension %.*s exceeds the limit of %zu "
                        "(EBM_MAX_UNITS)",
                        p->label, (int)ebm_min_size(p->pos - start, 40),
                        p->text + start, EBM_MAX_UNITS);
    /* A zero dimension is valid: a model without hidden units has an empty
     * W and hidden bias. An empty visible layer is rejected when the model
     * is created. */
    *dimension = (size_t)value;
    return EBM_OK;
}

/* Parses a tuple: (), (n,), (n, m) or (n, m,). */
static ebm_status parse_shape(struct parser *p, ebm_npy_array *array)
{
    ebm_status status;

    if (!accept(p, '('))
        return fail_syntax(p, "a shape tuple");
    array->ndim = 0;
    if (accept(p, ')'))
        return EBM_OK;
    for (;;) {
        size_t dimension = 0;

        status = parse_dimension(p, &dimension);
        if (status != EBM_OK)
            return status;
        if (array->ndim == EBM_NPY_MAX_DIMS)
            return ebm_fail(EBM_ERR_FORMAT,
                            "%s: the shape has more than %d dimensions",
                            p->label, EBM_NPY_MAX_DIMS);
        array->shape[array->ndim++] = dimension;
        if (accept(p, ',')) {
            if (accept(p, ')'))
                return EBM_OK;
        } else if (accept(p, ')')) {
            /* "(5)" is the integer 5 in Python, not a tuple. */
            if (array->ndim == 1)
                return fail_syntax(p, "a comma after a single dimension");
            return EBM_OK;
        } else {
            return fail_syntax(p, "',' or ')'");
        }
    }
}

/* Reports a dtype that the caller does not accept; see ebm_npy_expect.
 * descr is the dtype string, or NULL for a structured dtype. */
static ebm_status fail_dtype(const struct parser *p, const char *descr,
                             size_t length)
{
    if (p->expect == EBM_NPY_EXPECT_INTEGER) {
        if (descr == NULL)
            return ebm_fail(EBM_ERR_FORMAT,
                            "%s: a structured dtype is not an integer "
                            "type; expected an integer scalar such as "
                            "'<i4'",
                            p->label);
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: dtype '%.*s' is not an integer type; expected "
                        "an integer scalar such as '<i4'",
                        p->label, (int)ebm_min_size(length, 40), descr);
    }
    if (descr == NULL)
        return ebm_fail(EBM_ERR_UNSUPPORTED,
                        "%s: structured dtypes are not supported; expected "
                        "float32 ('<f4' or '>f4') or float64 ('<f8' or "
                        "'>f8')",
                        p->label);
    return ebm_fail(EBM_ERR_UNSUPPORTED,
                    "%s: dtype '%.*s' is not supported; expected float32 "
                    "('<f4' or '>f4') or float64 ('<f8' or '>f8')",
                    p->label, (int)ebm_min_size(length, 40), descr);
}

/* Interprets a dtype string such as "<f4", "|u1" or ">i8", and rejects
 * it unless p->expect accepts it. */
static ebm_status parse_descr(struct parser *p, ebm_npy_array *array)
{
    const char *text = NULL;
    size_t length = 0;
    char order, kind, size;
    bool is_float, is_integer;
    ebm_status status;

    skip_space(p);
    if (p->pos < p->size && p->text[p->pos] == '[')
        return fail_dtype(p, NULL, 0);
    status = parse_string(p, &text, &length);
    if (status != EBM_OK)
        return status;
    order = length == 3 ? text[0] : '\0';
    kind = length == 3 ? text[1] : '\0';
    size = length == 3 ? text[2] : '\0';
    is_float = kind == 'f' && (size == '4' || size == '8');
    is_integer = (kind == 'i' || kind == 'u') && size != '\0' &&
                 strchr("1248", size) != NULL;
    if (order == '\0' || strchr("<>|=", order) == NULL ||
        !(p->expect == EBM_NPY_EXPECT_FLOAT ? is_float : is_integer))
        return fail_dtype(p, text, length);
    memcpy(array->descr, text, 3);
    array->descr[3] = '\0';
    array->kind = kind == 'f'   ? EBM_NPY_FLOAT
                  : kind == 'i' ? EBM_NPY_SIGNED
                                : EBM_NPY_UNSIGNED;
    array->item_size = (size_t)(size - '0');
    /* '|' (not applicable) and '=' (native) both mean the host's order. */
    array->swap_bytes = array->item_size > 1 &&
                        ((order == '<' && !host_is_little_endian()) ||
                         (order == '>' && host_is_little_endian()));
    return EBM_OK;
}

static ebm_status parse_dict(struct parser *p, ebm_npy_array *array)
{
    bool seen_descr = false, seen_order = false, seen_shape = false;
    ebm_status status;

    if (!accept(p, '{'))
        return fail_syntax(p, "'{'");
    while (!accept(p, '}')) {
        const char *key = NULL;
        size_t length = 0;
        bool *seen;

        status = parse_string(p, &key, &length);
        if (status != EBM_OK)
            return status;
        if (!accept(p, ':'))
            return fail_syntax(p, "':'");
        if (is_word(key, length, "descr")) {
            seen = &seen_descr;
            status = parse_descr(p, array);
        } else if (is_word(key, length, "fortran_order")) {
            seen = &seen_order;
            status = parse_bool(p, &array->fortran_order);
        } else if (is_word(key, length, "shape")) {
            seen = &seen_shape;
            status = parse_shape(p, array);
        } else {
            return ebm_fail(EBM_ERR_FORMAT,
                            "%s: invalid .npy header: unexpected key '%.*s'",
                            p->label, (int)ebm_min_size(length, 40), key);
        }
        if (status != EBM_OK)
            return status;
        if (*seen)
            return ebm_fail(EBM_ERR_FORMAT,
                            "%s: invalid .npy header: key '%.*s' appears "
                            "twice",
                            p->label, (int)length, key);
        *seen = true;
        if (!accept(p, ',')) {
            if (accept(p, '}'))
                break;
            return fail_syntax(p, "',' or '}'");
        }
    }
    if (!seen_descr || !seen_order || !seen_shape)
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: invalid .npy header: key '%s' is missing",
                        p->label,
                        !seen_descr ? "descr"
                        : !seen_order ? "fortran_order"
                                      : "shape");
    skip_space(p);
    if (p->pos != p->size)
        return fail_syntax(p, "only spaces after the header dict");
    return EBM_OK;
}

/* Reads the magic, version and header length from prefix, the first
 * min(EBM_NPY_PREFIX_SIZE, size) bytes of a file of size bytes, and
 * stores where the header text starts and how long it is. */
static ebm_status parse_prefix(const unsigned char *prefix,
                               size_t prefix_size, size_t size,
                               const char *label, size_t *header_start,
                               size_t *header_size)
{
    unsigned major, minor;

    if (prefix_size < MAGIC_SIZE + 2) {
        if (memcmp(prefix, npy_magic,
                   ebm_min_size(prefix_size, MAGIC_SIZE)) == 0)
            return ebm_fail(EBM_ERR_TRUNCATED,
                            "%s: .npy data end after %zu bytes, inside the "
                            "magic",
                            label, size);
        return ebm_fail(EBM_ERR_FORMAT, "%s: not a .npy array (bad magic)",
                        label);
    }
    if (memcmp(prefix, npy_magic, MAGIC_SIZE) != 0)
        return ebm_fail(EBM_ERR_FORMAT, "%s: not a .npy array (bad magic)",
                        label);
    major = prefix[MAGIC_SIZE];
    minor = prefix[MAGIC_SIZE + 1];
    if (minor != 0 || major < 1 || major > 3)
        return ebm_fail(EBM_ERR_VERSION,
                        "%s: .npy format version %u.%u is not supported; "
                        "expected 1.0, 2.0 or 3.0",
                        label, major, minor);
    *header_start = major == 1 ? VERSION1_PREFIX_SIZE : VERSION2_PREFIX_SIZE;
    if (prefix_size < *header_start)
        return ebm_fail(EBM_ERR_TRUNCATED,
                        "%s: .npy data end after %zu bytes, inside the "
                        "header length",
                        label, size);
    if (major == 1)
        *header_size = (size_t)prefix[8] | (size_t)prefix[9] << 8;
    else
        *header_size = (size_t)prefix[8] | (size_t)prefix[9] << 8 |
                       (size_t)prefix[10] << 16 | (size_t)prefix[11] << 24;
    if (*header_size > size - *header_start)
        return ebm_fail(EBM_ERR_TRUNCATED,
                        "%s: the .npy header declares %zu bytes but only "
                        "%zu follow",
                        label, *header_size, size - *header_start);
    return EBM_OK;
}

ebm_status ebm_npy_data_offset(const unsigned char *prefix,
                               size_t prefix_size, size_t size,
                               const char *label, size_t *data_offset)
{
    size_t header_start = 0, header_size = 0;
    ebm_status status = parse_prefix(prefix, prefix_size, size, label,
                                     &header_start, &header_size);

    if (status == EBM_OK)
        *data_offset = header_start + header_size;
    return status;
}

ebm_status ebm_npy_parse_header(const unsigned char *header,
                                size_t data_offset, size_t size,
                                ebm_npy_expect expect, const char *label,
                                ebm_npy_array *out)
{
    ebm_npy_array array;
    struct parser parser;
    size_t header_start, data_size, available;
    ebm_status status;

    /* ebm_npy_data_offset has checked the magic and the version. */
    header_start = header[MAGIC_SIZE] == 1 ? VERSION1_PREFIX_SIZE
                                           : VERSION2_PREFIX_SIZE;
    if (data_offset == header_start || header[data_offset - 1] != '\n')
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: invalid .npy header: it does not end with a "
                        "newline",
                        label);
    memset(&array, 0, sizeof(array));
    parser.text = (const char *)header + header_start;
    parser.size = data_offset - header_start;
    parser.pos = 0;
    parser.label = label;
    parser.allow_long_suffix = header_start == VERSION1_PREFIX_SIZE;
    parser.expect = expect;
    status = parse_dict(&parser, &array);
    if (status != EBM_OK)
        return status;

    array.count = 1;
    for (size_t i = 0; i < array.ndim && status == EBM_OK; i++)
        status = ebm_mul_size(array.count, array.shape[i], &array.count,
                              label);
    if (status != EBM_OK)
        return status;
    if (array.count > EBM_MAX_ELEMENTS)
        return ebm_fail(EBM_ERR_LIMIT,
                        "%s: %zu elements exceed the limit of %zu "
                        "(EBM_MAX_ELEMENTS)",
                        label, array.count, EBM_MAX_ELEMENTS);
    status = ebm_mul_size(array.count, array.item_size, &data_size, label);
    if (status != EBM_OK)
        return status;
    array.data_offset = data_offset;
    available = size - data_offset;
    if (available < data_size)
        return ebm_fail(EBM_ERR_TRUNCATED,
                        "%s: the shape needs %zu data bytes but only %zu "
                        "follow the header",
                        label, data_size, available);
    if (available > data_size)
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: %zu bytes follow the %zu data bytes of the "
                        "array",
                        label, available - data_size, data_size);
    *out = array;
    return EBM_OK;
}

/* ------------------------------------------------------------------------ */
/* Data conversion                                                          */
/* ------------------------------------------------------------------------ */

static float load_float32(const unsigned char *p, bool swap)
{
    uint32_t bits;
    float value;

    memcpy(&bits, p, sizeof(bits));
    if (swap)
        bits = swap32(bits);
    memcpy(&value, &bits, sizeof(value));
    return value;
}

static double load_float64(const unsigned char *p, bool swap)
{
    uint64_t bits;
    double value;

    memcpy(&bits, p, sizeof(bits));
    if (swap)
        bits = swap64(bits);
    memcpy(&value, &bits, sizeof(value));
    return value;
}

/* Reports element j (in storage order) as not representable. */
static ebm_status fail_element(const ebm_npy_array *array, const char *label,
                               size_t j, double value)
{
    const char *problem = isfinite(value) ? ", which overflows float32"
                                          : "; parameters must be finite";
    size_t rows = array->ndim == 2 ? array->shape[0] : 1;
    size_t cols = array->ndim == 2 ? array->shape[1] : 1;

    if (array->ndim < 2)
        return ebm_fail(EBM_ERR_NONFINITE, "%s: element [%zu] is %g%s",
                        label, j, value, problem);
    if (array->fortran_order)
        return ebm_fail(EBM_ERR_NONFINITE,
                        "%s: element [%zu, %zu] is %g%s", label, j % rows,
                        j / rows, value, problem);
    return ebm_fail(EBM_ERR_NONFINITE, "%s: element [%zu, %zu] is %g%s",
                    label, j / cols, j % cols, value, problem);
}

/* Whether all count native float32 values at data are finite. The loop
 * has no early exit, so that the compiler can vectorise it. */
static bool native_float32_finite(const unsigned char *data, size_t count)
{
    unsigned invalid = 0;

    for (size_t i = 0; i < count; i++) {
        float value;

        memcpy(&value, data + i * sizeof(float), sizeof(value));
        invalid |= !(fabsf(value) <= FLT_MAX);
    }
    return invalid == 0;
}

ebm_status ebm_npy_convert_float32(const ebm_npy_array *array,
                                   const unsigned char *data, size_t first,
                                   size_t count, const char *label,
                                   float *values)
{
    size_t rows = array->ndim == 2 ? array->shape[0] : 1;
    size_t cols = array->ndim == 2 ? array->shape[1] : array->count;
    bool transpose = array->fortran_order && array->ndim == 2 && rows > 1 &&
                     cols > 1;

    /* Native float32 in C order, the usual case, is checked and copied
     * in bulk. An invalid element is then located by the loop below. */
    if (array->item_size == sizeof(float) && !array->swap_bytes &&
        !transpose && native_float32_finite(data, count)) {
        if (values != NULL)
            memcpy(values + first, data, count * sizeof(float));
        return EBM_OK;
    }
    for (size_t i = 0; i < count; i++) {
        size_t j = first + i;
        double wide;
        float value;

        if (array->item_size == sizeof(float)) {
            value = load_float32(data + i * sizeof(float), array->swap_bytes);
            wide = value;
        } else {
            wide = load_float64(data + i * sizeof(double), array->swap_bytes);
            value = fabs(wide) <= FLT_MAX ? (float)wide : 0.0f;
        }
        if (!(fabs(wide) <= FLT_MAX))
            return fail_element(array, label, j, wide);
        if (values != NULL)
            values[transpose ? (j % rows) * cols + j / rows : j] = value;
    }
    return EBM_OK;
}

ebm_status ebm_npy_read_integer(const unsigned char *data,
                                const ebm_npy_array *array,
                                const char *label, int64_t *value)
{
    bool little = host_is_little_endian() != array->swap_bytes;
    size_t size = array->item_size;
    uint64_t bits = 0;

    if (array->kind == EBM_NPY_FLOAT || array->count != 1)
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: expected one integer, found %zu elements of "
                        "dtype '%s'",
                        label, array->count, array->descr);
    for (size_t i = 0; i < size; i++) {
        unsigned char byte = data[little ? size - 1 - i : i];

        bits = bits << 8 | byte;
    }
    if (array->kind == EBM_NPY_SIGNED && size < 8 &&
        (bits >> (8 * size - 1) & 1))
        bits |= UINT64_MAX << (8 * size);
    if (array->kind == EBM_NPY_SIGNED && bits > (uint64_t)INT64_MAX)
        *value = -(int64_t)(~bits) - 1;
    else
        *value = bits > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)bits;
    return EBM_OK;
}

/* ------------------------------------------------------------------------ */
/* Header writer                                                            */
/* ------------------------------------------------------------------------ */

ebm_status ebm_npy_format_header(char kind, size_t item_size, size_t ndim,
                                 const size_t *shape, unsigned char *buffer,
                                 size_t capacity, size_t *length)
{
    char shape_text[64];
    char order = item_size == 1          ? '|'
                 : host_is_little_endian() ? '<'
                                           : '>';
    int dict_size;
    size_t total;

    if (ndim > EBM_NPY_MAX_DIMS || !strchr("fiu", kind) || kind == '\0' ||
        !(item_size == 1 || item_size == 2 || item_size == 4 ||
          item_size == 8) ||
        capacity < EBM_NPY_HEADER_CAPACITY)
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "invalid .npy header request (kind '%c', item size "
                        "%zu, %zu dimensions, capacity %zu)",
                        kind, item_size, ndim, capacity);
    if (ndim == 0)
        snprintf(shape_text, sizeof(shape_text), "()");
    else if (ndim == 1)
        snprintf(shape_text, sizeof(shape_text), "(%zu,)", shape[0]);
    else
        snprintf(shape_text, sizeof(shape_text), "(%zu, %zu)", shape[0],
                 shape[1]);
    dict_size = snprintf((char *)buffer + VERSION1_PREFIX_SIZE,
                         capacity - VERSION1_PREFIX_SIZE,
                         "{'descr': '%c%c%zu', 'fortran_order': False, "
                         "'shape': %s, }",
                         order, kind, item_size, shape_text);
    /* Spaces pad the header to a multiple of 64 bytes, '\n' last. */
    total = VERSION1_PREFIX_SIZE + (size_t)dict_size + 1;
    total = (total + DATA_ALIGNMENT - 1) / DATA_ALIGNMENT * DATA_ALIGNMENT;
    if (dict_size < 0 || total > capacity)
        return ebm_fail(EBM_ERR_ARGUMENT,
                        ".npy header of %zu bytes exceeds capacity %zu", total,
                        capacity);
    memcpy(buffer, npy_magic, MAGIC_SIZE);
    buffer[MAGIC_SIZE] = 1;
    buffer[MAGIC_SIZE + 1] = 0;
    buffer[8] = (unsigned char)((total - VERSION1_PREFIX_SIZE) & 0xff);
    buffer[9] = (unsigned char)((total - VERSION1_PREFIX_SIZE) >> 8);
    memset(buffer + VERSION1_PREFIX_SIZE + dict_size, ' ',
           total - 1 - VERSION1_PREFIX_SIZE - (size_t)dict_size);
    buffer[total - 1] = '\n';
    *length = total;
    return EBM_OK;
}
