/*
 * Reference computations for tiny binary-binary RBMs, written independently
 * of the library: plain double-precision loops over every joint state
 * (v, h). They are exact up to double rounding and cost O(2^(D + K) D K),
 * so they accept models with D + K <= REF_MAX_UNITS only.
 *
 * Notation follows include/ebm.h: E(v, h) = -a.v - b.h - v'Wh with W
 * row-major D x K, and p(v, h) proportional to exp(-E(v, h) / T).
 *
 * Also here: a splitmix64 generator for random test models and data, so
 * that test inputs never depend on the library's own random stream.
 */
#ifndef EBM_TESTS_REFERENCE_H
#define EBM_TESTS_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

/* Largest D + K that the enumeration functions accept. */
#define REF_MAX_UNITS 16

/* Model parameters for the reference functions: views of float arrays
 * that the caller owns and also copies into the library's model. */
typedef struct ref_model {
    size_t n_visible;
    size_t n_hidden;
    const float *weights;      /* D x K, row-major */
    const float *visible_bias; /* D */
    const float *hidden_bias;  /* K */
} ref_model;

/* splitmix64 state (Steele, Lea and Flood, "Fast splittable pseudorandom
 * number generators", OOPSLA 2014). */
typedef struct ref_rng {
    uint64_t state;
} ref_rng;

void ref_rng_seed(ref_rng *rng, uint64_t seed);
uint64_t ref_rng_next(ref_rng *rng);
/* Uniform double in [0, 1) with 53 random bits. */
double ref_rng_uniform(ref_rng *rng);
/* Uniform float in [low, high). */
float ref_rng_range(ref_rng *rng, float low, float high);

/* Fills w (D x K), a (D) and b (K) with values uniform in [-scale, scale). */
void ref_random_model(ref_rng *rng, size_t n_visible, size_t n_hidden,
                      float scale, float *weights, float *visible_bias,
                      float *hidden_bias);

/* Fills values[0 .. count - 1] with 1 (probability p_one) or 0. */
void ref_random_binary(ref_rng *rng, float *values, size_t count,
                       double p_one);

/* Sets state[i] to bit i of `bits`, as 0.0f or 1.0f, for i < count. Row r
 * of a table of all binary vectors is ref_unpack_bits(r, ...). */
void ref_unpack_bits(uint64_t bits, size_t count, float *state);

/* Sum of the absolute values of every parameter: a scale for the rounding
 * error of float sums over the model. */
double ref_magnitude(const ref_model *model);

/* E(v, h) for any real v and h, summed in double. */
double ref_energy(const ref_model *model, const float *visible,
                  const float *hidden);

/* -T log sum over all binary h of exp(-E(v, h) / T), by enumeration of h.
 * v may be any real vector. */
double ref_free_energy(const ref_model *model, const float *visible,
                       double temperature);

/* log Z(T) = log sum over all binary (v, h) of exp(-E(v, h) / T). */
double ref_log_partition(const ref_model *model, double temperature);

/* log p(v) at temperature T for binary v: log sum_h exp(-E / T) - log Z. */
double ref_log_marginal(const ref_model *model, const float *visible,
                        double temperature);

/* prob[k] = P(h_k = 1 | v) and prob[i] = P(v_i = 1 | h), each as a ratio
 * of sums of exp(-E / T) over every state of the other layer's units. */
void ref_hidden_conditional(const ref_model *model, const float *visible,
                            double temperature, double *prob);
void ref_visible_conditional(const ref_model *model, const float *hidden,
                             double temperature, double *prob);

/* sum_i log P(v_i | v_-i) at T = 1 for binary v, with each conditional
 * taken from the exact marginals p(v) and p(v with unit i flipped). */
double ref_pseudo_loglik(const ref_model *model, const float *visible);

/*
 * Exact gradient of the mean log-likelihood of the rows of x (rows x D,
 * binary) at T = 1, data term minus model expectation:
 *
 *   grad_w[i, k] = mean_r E[v_i h_k | v = x_r] - E_model[v_i h_k]
 *   grad_a[i]    = mean_r x_r,i                - E_model[v_i]
 *   grad_b[k]    = mean_r E[h_k | v = x_r]     - E_model[h_k]
 */
void ref_loglik_gradient(const ref_model *model, const float *x, size_t rows,
                         double *grad_w, double *grad_a, double *grad_b);

/* ------------------------------------------------------------------------ */
/* Marginals, exact sampling and Gibbs chains (test_likelihood.c)           */
/* ------------------------------------------------------------------------ */

/* softplus(x) = log(1 + exp(x)) in double, without overflow. */
double ref_softplus(double x);

/* log p(v) at temperature T for every binary v: log_p[bits] is the value
 * for v = ref_unpack_bits(bits, D), 2^D values. One enumeration of every
 * joint state, so cheaper than 2^D calls of ref_log_marginal. */
void ref_log_marginal_table(const ref_model *model, double temperature,
                            double *log_p);

/* An index drawn from prob[0 .. count - 1] (non-negative, summing to 1) by
 * inverting the cumulative sum at one uniform of rng. */
size_t ref_sample_index(ref_rng *rng, const double *prob, size_t count);

/*
 * Distribution of the visible state after `steps` Gibbs steps (h given v,
 * then v given h) at temperature T, started from the distribution start
 * over all 2^D binary v (indexed as in ref_log_marginal_table). Units with
 * clamp[i] != 0 keep their starting value; clamp may be NULL. The
 * conditionals are the factorised sigmoids of the model, in double. The
 * visible-to-visible transition matrix is built once, so the cost is
 * O(4^D (2^K (D + K) + steps)); D <= 12.
 */
void ref_gibbs_distribution(const ref_model *model, double temperature,
                            const unsigned char *clamp, const double *start,
                            unsigned steps, double *out);

#endif /* EBM_TESTS_REFERENCE_H */
