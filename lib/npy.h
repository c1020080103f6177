/*
 * NumPy .npy arrays: header parsing (format versions 1.0, 2.0 and 3.0),
 * conversion of the data to native float32, and header writing (1.0).
 *
 * A .npy file is the magic "\x93NUMPY", a major and a minor version byte,
 * the header length (2 bytes little-endian in 1.0, 4 bytes in 2.0 and
 * 3.0), then the header: a Python dict literal such as
 * {'descr': '<f4', 'fortran_order': False, 'shape': (5, 3), } padded with
 * spaces and ending in a newline. The data follow the header. See the
 * numpy.lib.format documentation.
 */
#ifndef EBM_NPY_H
#define EBM_NPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"

/* Maximum number of dimensions of an array that this module reads. */
#define EBM_NPY_MAX_DIMS 2

/* Bytes of a .npy file that ebm_npy_data_offset reads: the magic, the
 * version and the longest header length field. */
#define EBM_NPY_PREFIX_SIZE 12

/* Capacity that ebm_npy_format_header needs for any shape. */
#define EBM_NPY_HEADER_CAPACITY 192

typedef enum ebm_npy_kind {
    EBM_NPY_FLOAT,   /* 'f': float32 or float64 */
    EBM_NPY_SIGNED,  /* 'i': int8 to int64 */
    EBM_NPY_UNSIGNED /* 'u': uint8 to uint64 */
} ebm_npy_kind;

/* The dtypes that a caller of ebm_npy_parse_header accepts. */
typedef enum ebm_npy_expect {
    /* float32 or float64. Any other dtype is a valid array that this
     * library does not read, so it fails with EBM_ERR_UNSUPPORTED. */
    EBM_NPY_EXPECT_FLOAT,
    /* A signed or unsigned integer type of 1, 2, 4 or 8 bytes. Any other
     * dtype breaks the file format, so it fails with EBM_ERR_FORMAT. */
    EBM_NPY_EXPECT_INTEGER
} ebm_npy_expect;

/* Description of an array, from its header. */
typedef struct ebm_npy_array {
    char descr[8];        /* the dtype string, e.g. "<f4" */
    ebm_npy_kind kind;
    size_t item_size;     /* bytes per element: 1, 2, 4 or 8 */
    bool swap_bytes;      /* stored in the byte order opposite the host's */
    bool fortran_order;   /* stored column-major */
    size_t ndim;          /* 0 for a scalar */
    size_t shape[EBM_NPY_MAX_DIMS];
    size_t count;         /* product of the shape, 1 for a scalar */
    size_t data_offset;   /* where the data start in the .npy bytes */
} ebm_npy_array;

/*
 * Reads the magic, format version and header length from prefix, the
 * first min(EBM_NPY_PREFIX_SIZE, size) bytes of a .npy file of size
 * bytes, and stores in *data_offset where the data start, which is also
 * the number of bytes that ebm_npy_parse_header needs. label names the
 * array in messages, e.g. "model.npz: W.npy".
 * Errors: EBM_ERR_FORMAT (bad magic). EBM_ERR_VERSION (a format version
 * other than 1.0, 2.0 and 3.0). EBM_ERR_TRUNCATED (the file ends inside
 * the prefix or inside the header it declares).
 */
ebm_status ebm_npy_data_offset(const unsigned char *prefix,
                               size_t prefix_size, size_t size,
                               const char *label, size_t *data_offset);

/*
 * Parses header, the first data_offset bytes of a .npy file of size bytes
 * (data_offset from ebm_npy_data_offset), into *out, and checks that
 * exactly count * item_size bytes of data follow the header. Every
 * dimension must lie in 1..EBM_MAX_UNITS and the element count must not
 * exceed EBM_MAX_ELEMENTS.
 *
 * Errors: EBM_ERR_FORMAT (malformed header, a zero dimension, more than
 * EBM_NPY_MAX_DIMS dimensions, or bytes after the data).
 * EBM_ERR_UNSUPPORTED or EBM_ERR_FORMAT (a dtype that expect excludes, as
 * described at ebm_npy_expect). EBM_ERR_LIMIT. EBM_ERR_TRUNCATED (fewer
 * data bytes than the shape needs).
 */
ebm_status ebm_npy_parse_header(const unsigned char *header,
                                size_t data_offset, size_t size,
                                ebm_npy_expect expect, const char *label,
                                ebm_npy_array *out);

/*
 * Converts count elements of a parsed float32 or float64 array, those
 * from index first on in storage order, from data (count * item_size
 * bytes) to native float32. Each is stored at its C-order index in
 * values, which has room for array->count floats, or only checked when
 * values is NULL. A call may cover any run of elements, so an array can
 * be converted in chunks as it is read.
 * Errors: EBM_ERR_NONFINITE (NaN, an infinity, or a float64 value whose
 * magnitude exceeds FLT_MAX), naming the element by its indices.
 */
ebm_status ebm_npy_convert_float32(const ebm_npy_array *array,
                                   const unsigned char *data, size_t first,
                                   size_t count, const char *label,
                                   float *values);

/*
 * Reads the single element of a parsed integer array from data, its
 * item_size bytes. A uint64 value above INT64_MAX is stored as INT64_MAX.
 * Errors: EBM_ERR_FORMAT (a float dtype, or more than one element).
 */
ebm_status ebm_npy_read_integer(const unsigned char *data,
                                const ebm_npy_array *array,
                                const char *label, int64_t *value);

/*
 * Writes a version 1.0 header for a C-order array of native byte order,
 * kind 'f', 'i' or 'u' and item_size bytes per element, into buffer
 * (capacity at least EBM_NPY_HEADER_CAPACITY). It is padded with spaces
 * and a final newline so that the data start at a multiple of 64 bytes,
 * as NumPy writes it. *length receives the header's size.
 * Errors: EBM_ERR_ARGUMENT (ndim > EBM_NPY_MAX_DIMS, an unknown kind or
 * item size, or a capacity that is too small).
 */
ebm_status ebm_npy_format_header(char kind, size_t item_size, size_t ndim,
                                 const size_t *shape, unsigned char *buffer,
                                 size_t capacity, size_t *length);

#endif /* EBM_NPY_H */
