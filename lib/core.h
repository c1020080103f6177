/*
 * Internal helpers shared by every source file of the library: error
 * reporting and the argument checks used at the public boundary.
 *
 * Layering (see docs/design.md): ebm.h <- core (status, check, math, rng,
 * parallel) <- models (rbm*) <- files (idx, zip, npy, rbm_io). A lower layer
 * never includes a higher one.
 */
#ifndef EBM_CORE_H
#define EBM_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ebm.h"

#if defined(__GNUC__)
#define EBM_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define EBM_PRINTF(fmt, args)
#endif

/* Sets this thread's detail message (printf format) and returns status, so
 * that a check can end with `return ebm_fail(EBM_ERR_..., "...", ...)`. */
ebm_status ebm_fail(ebm_status status, const char *format, ...)
    EBM_PRINTF(2, 3);

/* Stores a * b in *product, or fails with EBM_ERR_OVERFLOW naming `name`. */
ebm_status ebm_mul_size(size_t a, size_t b, size_t *product,
                        const char *name);

/* Fails with EBM_ERR_NULL naming the argument if pointer is NULL. */
ebm_status ebm_check_pointer(const void *pointer, const char *name);

/* Fails with EBM_ERR_NONFINITE naming the first NaN or infinite element
 * (row and column for a matrix with `cols` columns). */
ebm_status ebm_check_finite(const float *values, size_t rows, size_t cols,
                            const char *name);

/* Fails with EBM_ERR_NONFINITE or EBM_ERR_DOMAIN for the first element that
 * is not finite or lies outside [0, 1]. */
ebm_status ebm_check_unit_interval(const float *values, size_t rows,
                                   size_t cols, const char *name);

/* Fails as above, and with EBM_ERR_DOMAIN for an element other than 0 or 1. */
ebm_status ebm_check_binary(const float *values, size_t rows, size_t cols,
                            const char *name);

/* Fails with EBM_ERR_ARGUMENT if the byte ranges [a, a + a_bytes) and
 * [b, b + b_bytes) overlap. */
ebm_status ebm_check_disjoint(const void *a, size_t a_bytes,
                              const char *a_name, const void *b,
                              size_t b_bytes, const char *b_name);

/* Fails with EBM_ERR_ARGUMENT unless value is finite and > 0. */
ebm_status ebm_check_positive(float value, const char *name);

/* Checks a model and a minibatch of `rows` rows of `cols` values each:
 * non-NULL pointers, rows > 0, rows * cols without overflow, and values in
 * [0, 1]. Used by every RBM function that takes visible or hidden input. */
ebm_status ebm_check_batch(const float *values, size_t rows, size_t cols,
                           const char *name);

/* Checks the fields of a training configuration that every trainer uses:
 * method, gibbs_steps, batch_size and chains (at most EBM_MAX_UNITS),
 * learning_rate, momentum and weight_decay. */
ebm_status ebm_check_train_config(const ebm_train_config *config);

/* Largest and smallest of two sizes. */
static inline size_t ebm_min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

static inline size_t ebm_max_size(size_t a, size_t b)
{
    return a > b ? a : b;
}

#endif /* EBM_CORE_H */
