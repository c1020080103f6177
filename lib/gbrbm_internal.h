/* The Gaussian-Bernoulli RBM struct and the kernels that gbrbm.c,
 * gbrbm_train.c and gbrbm_io.c share. */
#ifndef EBM_GBRBM_INTERNAL_H
#define EBM_GBRBM_INTERNAL_H

#include "core.h"
#include "rbm_internal.h"

struct ebm_gbrbm {
    size_t n_visible; /* D */
    size_t n_hidden;  /* K */
    /* One allocation: W (D x K), a (D), b (K), log sigma (D). */
    float *params;
    float *weights;
    float *visible_bias;
    float *hidden_bias;
    float *log_sigma;
    /* Derived from log sigma by ebm_gbrbm_refresh: sigma and 1 / sigma^2. */
    float *sigma;
    float *inv_var;
};

static inline size_t ebm_gbrbm_param_count(const ebm_gbrbm *model)
{
    return model->n_visible * model->n_hidden + 2 * model->n_visible +
           model->n_hidden;
}

/* Recomputes sigma and inv_var from log_sigma. */
void ebm_gbrbm_refresh(ebm_gbrbm *model);

/* Fails with EBM_ERR_DOMAIN unless every log sigma is finite and within
 * +-EBM_GBRBM_LOG_SIGMA_MAX. */
ebm_status ebm_gbrbm_check_log_sigma(const float *log_sigma, size_t count,
                                     const char *name);

/* out (rows x K) = b + x W with x = v / sigma^2, which scaled (rows x D)
 * receives. */
void ebm_gbrbm_hidden_input(const ebm_gbrbm *model, const float *visible,
                            size_t rows, float *scaled, float *out);

/* out (rows x D) = a + scale h W'. */
void ebm_gbrbm_visible_mean(const ebm_gbrbm *model, const float *hidden,
                            size_t rows, float scale, float *out);

/* values += sqrt(T) sigma z for rows x D values, z standard normal: value
 * e takes normal number e of (seed, stream). */
void ebm_gbrbm_sample_visible(const ebm_gbrbm *model, float *values,
                              size_t rows, float temperature, uint64_t seed,
                              uint64_t stream);

/* out[e] = normal number first + e of (seed, stream), first even: numbers
 * 2m and 2m + 1 come from uniforms 2m and 2m + 1 by Box-Muller. */
void ebm_rng_fill_normal(uint64_t seed, uint64_t stream, uint64_t first,
                         size_t count, float *out);

/* values (min(rows, cols)) = the singular values of a row-major matrix, by
 * LAPACKE_sgesdd; EBM_ERR_LAPACK with info in the message on failure. */
ebm_status ebm_singular_values(const float *matrix, size_t rows,
                               size_t cols, float *values);

#endif /* EBM_GBRBM_INTERNAL_H */
