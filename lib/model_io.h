/*
 * The model-file helpers that rbm_io.c defines and bm_io.c shares: saving
 * arrays as an .npz archive atomically, and reading float arrays from one
 * with complete validation. docs/file-formats.md describes the format.
 */
#ifndef EBM_MODEL_IO_H
#define EBM_MODEL_IO_H

#include "core.h"
#include "npy.h"
#include "zip.h"

/* Maximum number of arrays in one model file, format_version not
 * counted. */
#define EBM_MODEL_MAX_ARRAYS 12

/* One array to write: a .npy entry of `kind` ('f' float, 'i' integer). */
struct ebm_model_array {
    const char *entry;
    char kind;
    size_t item_size;
    size_t ndim;
    size_t shape[EBM_NPY_MAX_DIMS];
    const void *data;
};

/* Writes format_version and then `count` arrays (at most
 * EBM_MODEL_MAX_ARRAYS) to a temporary file next to path, syncs it and
 * renames it over path, so that path is either the old or the new file. */
ebm_status ebm_model_save(const char *path,
                          const struct ebm_model_array *arrays, size_t count);

/* Fails with EBM_ERR_NONFINITE naming the first NaN or infinity among the
 * `count` values of entry (a matrix of cols columns when ndim is 2). */
ebm_status ebm_model_check_finite(const char *path, const char *entry,
                                  const float *values, size_t count,
                                  size_t ndim, size_t cols);

/* One float array of a model file, read in two passes. */
struct ebm_model_parameter {
    const char *entry; /* e.g. "W.npy" */
    size_t ndim;       /* expected number of dimensions */
    ebm_npy_array array;
};

/*
 * With values NULL, parses the header into p->array and checks every value
 * of a deflated entry. With values, reads the entry again, requires the
 * same header, and converts its data into values (p->array.count floats).
 */
ebm_status ebm_model_read_parameter(ebm_zip_reader *zip, const char *path,
                                    struct ebm_model_parameter *p,
                                    float *values);

/* Checks format_version, which means 1 when absent. */
ebm_status ebm_model_check_version(ebm_zip_reader *zip, const char *path);

/* Prefixes the current detail message with path. */
ebm_status ebm_model_fail_in_file(ebm_status status, const char *path);

#endif /* EBM_MODEL_IO_H */
