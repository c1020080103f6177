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

/* Capacity that ebm_npy_format_header needs for any shape. */
#define EBM_NPY_HEADER_CAPACITY 192

typedef enum ebm_npy_kind {
    EBM_NPY_FLOAT,   /* 'f': float32 or float64 */
    EBM_NPY_SIGNED,  /* 'i': int8 to int64 */
    EBM_NPY_UNSIGNED /* 'u': uint8 to uint64 */
} ebm_npy_kind;

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
 * Parses the .npy file in bytes[0, size) into *out and checks that exactly
 * count * item_size bytes of data follow the header. Every dimension must
 * lie in 1..EBM_MAX_UNITS and the element count must not exceed
 * EBM_MAX_ELEMENTS. label names the array in messages, e.g.
 * "model.npz: W.npy".
 *
 * Errors: EBM_ERR_FORMAT (bad magic, malformed header, a zero dimension,
 * more than EBM_NPY_MAX_DIMS dimensions, or bytes after the data).
 * EBM_ERR_VERSION (a format version other than 1.0, 2.0 and 3.0).
 * EBM_ERR_UNSUPPORTED (a dtype other than float32, float64 and the integer
 * types). EBM_ERR_LIMIT. EBM_ERR_TRUNCATED (fewer data bytes than the
 * shape needs).
 */
ebm_status ebm_npy_parse(const unsigned char *bytes, size_t size,
                         const char *label, ebm_npy_array *out);

/*
 * Converts the float32 or float64 data of a parsed array to native float32
 * in C order and takes ownership of buffer, the malloc'd .npy bytes that
 * array was parsed from. On success *values contains array->count floats,
 * to be released with free(). It is usually buffer itself, converted in
 * place. On failure buffer has been freed.
 *
 * Errors: EBM_ERR_UNSUPPORTED (an integer dtype), EBM_ERR_NONFINITE (NaN,
 * an infinity, or a float64 value whose magnitude exceeds FLT_MAX),
 * EBM_ERR_NOMEM.
 */
ebm_status ebm_npy_take_float32(unsigned char *buffer,
                                const ebm_npy_array *array,
                                const char *label, float **values);

/*
 * Reads the single element of a parsed integer array of one element.
 * A uint64 value above INT64_MAX is stored as INT64_MAX.
 * Errors: EBM_ERR_FORMAT (a float dtype, or more than one element).
 */
ebm_status ebm_npy_read_integer(const unsigned char *bytes,
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
