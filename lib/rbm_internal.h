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
    /* An upper bound of |parameter| over W, a and b, kept by every function
     * that writes parameters. Training uses it to prove that an update
     * cannot overflow before it writes anything. */
    float max_abs;
};

/* Checks the layer sizes of an RBM of either visible type: D >= 1, each
 * layer at most EBM_MAX_UNITS, D * K at most EBM_MAX_ELEMENTS. */
ebm_status ebm_check_rbm_shape(size_t n_visible, size_t n_hidden);

/* Recomputes rbm->max_abs from the parameters. */
void ebm_rbm_refresh_max_abs(ebm_rbm *rbm);

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
 *   p = sigmoid((input W + bias) / T)     (to_visible = false, W is D x K)
 *   p = sigmoid((input W' + bias) / T)    (to_visible = true)
 *
 * Row r of the input starts at input + r * input_stride, and likewise for
 * prob and sample, so that the trainer can work in wider stacked matrices.
 * If sample is not NULL, sample = (u < p) with u the uniform of (seed,
 * stream, (first_row + r) * n_out + c). Then prob = prob_scale * p; the
 * trainer stores the probabilities already divided by the batch size.
 * sample may equal prob only when prob_scale is 1, and then prob ends up
 * holding the samples.
 */
struct ebm_layer_args {
    const ebm_rbm *rbm;
    bool to_visible;
    const float *input;
    size_t input_stride;
    size_t rows;
    float temperature;
    float *prob;
    size_t prob_stride;
    float prob_scale;
    float *sample;
    size_t sample_stride;
    uint64_t seed;
    uint64_t stream;
    size_t first_row;
};

/* row[c] = scale sigmoid((row[c] + bias[c]) inverse_temperature) for
 * c < count. */
void ebm_sigmoid_row(float *row, const float *bias, size_t count,
                     float inverse_temperature, float scale);

/* As ebm_sigmoid_row, and sample[c] = (u < p) with u the uniform of (seed,
 * stream, first_index + c), compared before scaling. sample may equal row
 * only when scale is 1, and then row ends up holding the samples. */
void ebm_sigmoid_sample_row(float *row, const float *bias, size_t count,
                            float inverse_temperature, float scale,
                            uint64_t seed, uint64_t stream,
                            uint64_t first_index, float *sample);

/* Arguments for a layer whose matrices are packed (strides equal to the
 * widths), at temperature 1, without sampling. */
struct ebm_layer_args ebm_layer_packed(const ebm_rbm *rbm, bool to_visible,
                                       const float *input, size_t rows,
                                       float *prob);

void ebm_rbm_layer(const struct ebm_layer_args *args);

/* Checks rbm and a batch of `rows` rows of `cols` values in [0, 1]. */
ebm_status ebm_rbm_check_input(const ebm_rbm *rbm, const float *input,
                               size_t rows, size_t cols, const char *name);

#endif /* EBM_RBM_INTERNAL_H */
