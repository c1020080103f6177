/* The RBM struct and the kernels shared by rbm.c, rbm_infer.c and
 * rbm_train.c. */
#ifndef EBM_RBM_INTERNAL_H
#define EBM_RBM_INTERNAL_H

#include <stdbool.h>

#include "core.h"

struct ebm_rbm {
    size_t n_visible; /* D */
    size_t n_hidden;  /* K */
    /* One allocation: W (D x K), then a (D), then b (K). */
    float *params;
    float *weights;
    float *visible_bias;
    float *hidden_bias;
};

/* Number of floats in W, a and b together. */
static inline size_t ebm_rbm_param_count(const ebm_rbm *rbm)
{
    return rbm->n_visible * rbm->n_hidden + rbm->n_visible + rbm->n_hidden;
}

/* Rows that the row-wise public functions process per internal pass, which
 * bounds their workspace and keeps every sgemm size within int. */
#define EBM_ROW_CHUNK ((size_t)1024)

/* Allocates `count` floats aligned to 64 bytes, or NULL. */
float *ebm_alloc_floats(size_t count);
void ebm_free_floats(float *p);

/*
 * One layer of conditionals for `rows` input rows, fused into the sgemm:
 *
 *   prob = sigmoid((input W + bias) / T)     (to_visible = false, W is D x K)
 *   prob = sigmoid((input W' + bias) / T)    (to_visible = true)
 *
 * and, if sample is not NULL, sample = (u < prob) with u the uniform of
 * (seed, stream, (first_row + r) * n_out + c). sample may equal prob, in
 * which case prob is overwritten by the samples.
 */
struct ebm_layer_args {
    const ebm_rbm *rbm;
    bool to_visible;
    const float *input;
    size_t rows;
    float temperature;
    float *prob;
    float *sample;
    uint64_t seed;
    uint64_t stream;
    size_t first_row;
};

void ebm_rbm_layer(const struct ebm_layer_args *args);

/* Checks rbm and a batch of `rows` rows of `cols` values in [0, 1]. */
ebm_status ebm_rbm_check_input(const ebm_rbm *rbm, const float *input,
                               size_t rows, size_t cols, const char *name);

#endif /* EBM_RBM_INTERNAL_H */
