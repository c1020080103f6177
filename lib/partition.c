/*
 * The exact log partition function by enumerating the smaller layer, and
 * the mean log-likelihood.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "parallel.h"
#include "rbm_internal.h"
#include "vmath.h"

/* States per block: rows of one sgemm. */
#define STATE_BLOCK ((size_t)2048)

/* What one block of enumerated states needs. */
struct enumeration {
    const ebm_rbm *rbm;
    bool hidden_side;     /* enumerating h (K <= D), else v */
    size_t units;         /* the enumerated layer's size */
    size_t other;         /* the summed-out layer's size */
    const float *own_bias;   /* bias of the enumerated layer */
    const float *other_bias; /* bias of the summed-out layer */
    float inverse_temperature;
    float *states;        /* STATE_BLOCK x units */
    float *pre;           /* STATE_BLOCK x other */
    double *terms;        /* STATE_BLOCK */
};

/* Writes the bits of states first .. first + count - 1 as rows of 0/1. */
static void write_states(float *states, uint64_t first, size_t count,
                         size_t units)
{
    for (size_t r = 0; r < count; r++) {
        uint64_t index = first + r;

        for (size_t j = 0; j < units; j++)
            states[r * units + j] = (float)((index >> j) & 1u);
    }
}

/* log of a float in [1, 2^64): exponent times ln 2 plus log1p of the
 * mantissa minus 1, which lies in [0, 1). */
static inline double log_of_product(float x)
{
    uint32_t bits = ebm_float_to_bits(x);
    int32_t exponent = (int32_t)(bits >> 23) - 127;
    float mantissa = ebm_bits_to_float((bits & 0x007fffffu) | 0x3f800000u);

    return (double)exponent * 0.693147180559945309 +
           (double)ebm_vlog1p_unit(mantissa - 1.0f);
}

/*
 * Sum over i of softplus(x_i), x_i = (pre[i] + bias[i]) * inverse, as
 * sum max(x_i, 0) + log prod (1 + exp(-|x_i|)). Each factor lies in (1, 2],
 * so 16 lanes multiply 32 factors each (a product below 2^32) before one
 * logarithm: one exp per element in place of an exp and a log1p, which
 * halves the cost of exact enumeration. The products round once per factor
 * (a relative error near 1e-7 per 32 factors), and the maximum parts add
 * up in float over 32 blocks, then in double.
 */
#define FACTORS_PER_LOG 32

/* One block of 16 elements x = (pre + bias) * inverse into the lanes. */
static inline void softplus_factors(const float *pre, const float *bias,
                                    float inverse, float product[16],
                                    float positive[16])
{
    float x[16], factor[16];

    for (size_t l = 0; l < 16; l++)
        x[l] = (pre[l] + bias[l]) * inverse;
    for (size_t l = 0; l < 16; l++)
        factor[l] = 1.0f + ebm_vexp(-fabsf(x[l]));
    for (size_t l = 0; l < 16; l++) {
        product[l] *= factor[l];
        /* max(x, 0), exactly, without a branch. */
        positive[l] += 0.5f * (x[l] + fabsf(x[l]));
    }
}

EBM_KERNEL
static double shifted_softplus_sum(const float *pre, const float *bias,
                                   size_t count, float inverse)
{
    double sum = 0.0;
    float product[16], positive[16] = {0};
    float pad_pre[16], pad_bias[16] = {0};
    size_t i = 0, in_product = 0;

    for (size_t l = 0; l < 16; l++)
        product[l] = 1.0f;
    /* Every FACTORS_PER_LOG blocks, the products and the float partial
     * sums of the maximum parts move into the double total. */
    for (; i + 16 <= count; i += 16) {
        softplus_factors(pre + i, bias + i, inverse, product, positive);
        if (++in_product == FACTORS_PER_LOG) {
            for (size_t l = 0; l < 16; l++) {
                sum += log_of_product(product[l]) + positive[l];
                product[l] = 1.0f;
                positive[l] = 0.0f;
            }
            in_product = 0;
        }
    }
    if (i < count) {
        /* A partial block, padded with -1e30: a factor of exactly 1 (exp
         * flushes to 0 below -104) and a maximum part of 0. */
        for (size_t l = 0; l < 16; l++)
            pad_pre[l] = i + l < count ? pre[i + l] : -1e30f;
        memcpy(pad_bias, bias + i, (count - i) * sizeof(float));
        softplus_factors(pad_pre, pad_bias, inverse, product, positive);
    }
    for (size_t l = 0; l < 16; l++)
        sum += log_of_product(product[l]) + positive[l];
    return sum;
}

/* terms[r] = own_bias.s / T + sum over the other layer of
 * softplus((other_bias + pre) / T), for the states of rows [begin, end). */
static void state_terms(void *context, size_t begin, size_t end)
{
    const struct enumeration *e = context;

    for (size_t r = begin; r < end; r++) {
        const float *state = e->states + r * e->units;
        double own = 0.0;

        for (size_t j = 0; j < e->units; j++)
            own += (double)state[j] * e->own_bias[j];
        e->terms[r] =
            own * e->inverse_temperature +
            shifted_softplus_sum(e->pre + r * e->other, e->other_bias,
                                 e->other, e->inverse_temperature);
    }
}

/* Pre-activations of the other layer for the block's states: s W' (h
 * enumerated, D outputs) or s W (v enumerated, K outputs). */
static void block_preactivations(const struct enumeration *e, size_t count)
{
    const ebm_rbm *rbm = e->rbm;
    size_t d = rbm->n_visible, k = rbm->n_hidden;

    if (e->hidden_side)
        ebm_gemm(false, true, count, d, k, 1.0f, e->states, k, rbm->weights,
                 k, 0.0f, e->pre, d, NULL, NULL);
    else
        ebm_gemm(false, false, count, k, d, 1.0f, e->states, d,
                 rbm->weights, k, 0.0f, e->pre, k, NULL, NULL);
}

/* A running log-sum-exp: sum = sum of exp(term - max). */
struct log_sum {
    double max;
    double sum;
};

static void log_sum_add(struct log_sum *acc, const double *terms,
                        size_t count)
{
    double block_max = -INFINITY, block_sum = 0.0;

    for (size_t r = 0; r < count; r++)
        if (terms[r] > block_max)
            block_max = terms[r];
    for (size_t r = 0; r < count; r++)
        block_sum += exp(terms[r] - block_max);
    if (block_max > acc->max) {
        acc->sum = acc->sum * exp(acc->max - block_max) + block_sum;
        acc->max = block_max;
    } else {
        acc->sum += block_sum * exp(block_max - acc->max);
    }
}

ebm_status ebm_rbm_log_partition_exact(const ebm_rbm *rbm,
                                       float temperature, double *log_z)
{
    struct enumeration e;
    struct log_sum acc = {-INFINITY, 0.0};
    uint64_t states;
    ebm_status status = ebm_check_pointer(rbm, "rbm");

    if (status == EBM_OK)
        status = ebm_check_pointer(log_z, "log_z");
    if (status == EBM_OK)
        status = ebm_check_positive(temperature, "temperature");
    if (status != EBM_OK)
        return status;

    e = (struct enumeration){.rbm = rbm};
    e.hidden_side = rbm->n_hidden <= rbm->n_visible;
    e.units = e.hidden_side ? rbm->n_hidden : rbm->n_visible;
    e.other = e.hidden_side ? rbm->n_visible : rbm->n_hidden;
    if (e.units > EBM_EXACT_MAX_UNITS)
        return ebm_fail(EBM_ERR_LIMIT,
                        "the smaller layer has %zu units; exact enumeration "
                        "covers at most %d (2^%d states); use AIS",
                        e.units, EBM_EXACT_MAX_UNITS, EBM_EXACT_MAX_UNITS);
    e.own_bias = e.hidden_side ? rbm->hidden_bias : rbm->visible_bias;
    e.other_bias = e.hidden_side ? rbm->visible_bias : rbm->hidden_bias;
    e.inverse_temperature = 1.0f / temperature;
    states = (uint64_t)1 << e.units;
    e.states = ebm_alloc_floats(STATE_BLOCK * ebm_max_size(e.units, 1));
    e.pre = ebm_alloc_floats(STATE_BLOCK * e.other);
    e.terms = malloc(STATE_BLOCK * sizeof(*e.terms));
    if (e.states == NULL || e.pre == NULL || e.terms == NULL) {
        ebm_free_floats(e.states);
        ebm_free_floats(e.pre);
        free(e.terms);
        return ebm_fail(EBM_ERR_NOMEM,
                        "cannot allocate the enumeration workspace");
    }

    for (uint64_t first = 0; first < states; first += STATE_BLOCK) {
        size_t count = (size_t)(states - first < STATE_BLOCK
                                    ? states - first
                                    : STATE_BLOCK);

        write_states(e.states, first, count, e.units);
        block_preactivations(&e, count);
        ebm_parallel_for(count, 64, state_terms, &e);
        log_sum_add(&acc, e.terms, count);
    }
    ebm_free_floats(e.states);
    ebm_free_floats(e.pre);
    free(e.terms);
    *log_z = acc.max + log(acc.sum);
    return EBM_OK;
}

ebm_status ebm_rbm_mean_loglik(const ebm_rbm *rbm, const float *visible,
                               size_t rows, double log_z, double *mean)
{
    double *free_energy, total = 0.0;
    ebm_status status = ebm_check_pointer(rbm, "rbm");

    if (status == EBM_OK)
        status = ebm_check_pointer(mean, "mean");
    if (status == EBM_OK && !isfinite(log_z))
        status = ebm_fail(EBM_ERR_ARGUMENT, "log_z is %g; expected a finite "
                                            "value",
                          log_z);
    if (status == EBM_OK)
        status = ebm_check_batch(visible, rows, rbm->n_visible, "visible");
    if (status == EBM_OK)
        status = ebm_check_binary(visible, rows, rbm->n_visible, "visible");
    if (status != EBM_OK)
        return status;
    free_energy = malloc(rows * sizeof(*free_energy));
    if (free_energy == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "cannot allocate %zu free energies",
                        rows);
    status = ebm_rbm_free_energy(rbm, visible, rows, 1.0f, free_energy);
    if (status == EBM_OK) {
        for (size_t r = 0; r < rows; r++)
            total -= free_energy[r];
        *mean = total / (double)rows - log_z;
    }
    free(free_energy);
    return status;
}
