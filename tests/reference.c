/*
 * Enumeration references for tiny RBMs; see reference.h. Nothing here calls
 * the library, so a library bug cannot cancel out in a comparison.
 */
#include "reference.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

void ref_rng_seed(ref_rng *rng, uint64_t seed)
{
    rng->state = seed;
}

uint64_t ref_rng_next(ref_rng *rng)
{
    uint64_t z = (rng->state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

double ref_rng_uniform(ref_rng *rng)
{
    return (double)(ref_rng_next(rng) >> 11) * 0x1.0p-53;
}

float ref_rng_range(ref_rng *rng, float low, float high)
{
    return (float)(low + (high - low) * ref_rng_uniform(rng));
}

void ref_random_model(ref_rng *rng, size_t n_visible, size_t n_hidden,
                      float scale, float *weights, float *visible_bias,
                      float *hidden_bias)
{
    for (size_t i = 0; i < n_visible * n_hidden; i++) {
        weights[i] = ref_rng_range(rng, -scale, scale);
    }
    for (size_t i = 0; i < n_visible; i++) {
        visible_bias[i] = ref_rng_range(rng, -scale, scale);
    }
    for (size_t k = 0; k < n_hidden; k++) {
        hidden_bias[k] = ref_rng_range(rng, -scale, scale);
    }
}

void ref_random_binary(ref_rng *rng, float *values, size_t count,
                       double p_one)
{
    for (size_t i = 0; i < count; i++) {
        values[i] = ref_rng_uniform(rng) < p_one ? 1.0f : 0.0f;
    }
}

void ref_unpack_bits(uint64_t bits, size_t count, float *state)
{
    for (size_t i = 0; i < count; i++) {
        state[i] = (float)((bits >> i) & 1u);
    }
}

double ref_magnitude(const ref_model *model)
{
    size_t d = model->n_visible;
    size_t k = model->n_hidden;
    double sum = 0.0;
    for (size_t i = 0; i < d * k; i++) {
        sum += fabs((double)model->weights[i]);
    }
    for (size_t i = 0; i < d; i++) {
        sum += fabs((double)model->visible_bias[i]);
    }
    for (size_t j = 0; j < k; j++) {
        sum += fabs((double)model->hidden_bias[j]);
    }
    return sum;
}

/* Aborts the test program: a reference asked for too many states is a bug
 * in the test, not in the library. */
static void require_small(const ref_model *model)
{
    if (model->n_visible + model->n_hidden > REF_MAX_UNITS) {
        fprintf(stderr, "reference: D + K = %zu exceeds %d\n",
                model->n_visible + model->n_hidden, REF_MAX_UNITS);
        abort();
    }
}

/* log(exp(acc) + exp(x)) without overflow; acc = -inf means an empty sum. */
static double log_add(double acc, double x)
{
    if (acc == -INFINITY) {
        return x;
    }
    if (x == -INFINITY) {
        return acc;
    }
    double high = acc > x ? acc : x;
    double low = acc > x ? x : acc;
    return high + log1p(exp(low - high));
}

double ref_energy(const ref_model *model, const float *visible,
                  const float *hidden)
{
    size_t d = model->n_visible;
    size_t k = model->n_hidden;
    double energy = 0.0;
    for (size_t i = 0; i < d; i++) {
        energy -= (double)model->visible_bias[i] * visible[i];
    }
    for (size_t j = 0; j < k; j++) {
        energy -= (double)model->hidden_bias[j] * hidden[j];
    }
    for (size_t i = 0; i < d; i++) {
        for (size_t j = 0; j < k; j++) {
            energy -= (double)visible[i] * model->weights[i * k + j] *
                      hidden[j];
        }
    }
    return energy;
}

/* log sum over all binary h of exp(-E(v, h) / T). */
static double log_sum_over_hidden(const ref_model *model, const float *visible,
                                  double temperature)
{
    float hidden[REF_MAX_UNITS];
    double total = -INFINITY;
    for (uint64_t bits = 0; bits < ((uint64_t)1 << model->n_hidden); bits++) {
        ref_unpack_bits(bits, model->n_hidden, hidden);
        total = log_add(total,
                        -ref_energy(model, visible, hidden) / temperature);
    }
    return total;
}

double ref_free_energy(const ref_model *model, const float *visible,
                       double temperature)
{
    require_small(model);
    return -temperature * log_sum_over_hidden(model, visible, temperature);
}

double ref_log_partition(const ref_model *model, double temperature)
{
    require_small(model);
    float visible[REF_MAX_UNITS];
    double total = -INFINITY;
    for (uint64_t bits = 0; bits < ((uint64_t)1 << model->n_visible); bits++) {
        ref_unpack_bits(bits, model->n_visible, visible);
        total = log_add(total,
                        log_sum_over_hidden(model, visible, temperature));
    }
    return total;
}

double ref_log_marginal(const ref_model *model, const float *visible,
                        double temperature)
{
    require_small(model);
    return log_sum_over_hidden(model, visible, temperature) -
           ref_log_partition(model, temperature);
}

void ref_hidden_conditional(const ref_model *model, const float *visible,
                            double temperature, double *prob)
{
    require_small(model);
    size_t k = model->n_hidden;
    float hidden[REF_MAX_UNITS];
    double on[REF_MAX_UNITS];
    double total = -INFINITY;
    for (size_t j = 0; j < k; j++) {
        on[j] = -INFINITY;
    }
    for (uint64_t bits = 0; bits < ((uint64_t)1 << k); bits++) {
        ref_unpack_bits(bits, k, hidden);
        double log_weight = -ref_energy(model, visible, hidden) / temperature;
        total = log_add(total, log_weight);
        for (size_t j = 0; j < k; j++) {
            if (hidden[j] == 1.0f) {
                on[j] = log_add(on[j], log_weight);
            }
        }
    }
    for (size_t j = 0; j < k; j++) {
        prob[j] = exp(on[j] - total);
    }
}

void ref_visible_conditional(const ref_model *model, const float *hidden,
                             double temperature, double *prob)
{
    require_small(model);
    size_t d = model->n_visible;
    float visible[REF_MAX_UNITS];
    double on[REF_MAX_UNITS];
    double total = -INFINITY;
    for (size_t i = 0; i < d; i++) {
        on[i] = -INFINITY;
    }
    for (uint64_t bits = 0; bits < ((uint64_t)1 << d); bits++) {
        ref_unpack_bits(bits, d, visible);
        double log_weight = -ref_energy(model, visible, hidden) / temperature;
        total = log_add(total, log_weight);
        for (size_t i = 0; i < d; i++) {
            if (visible[i] == 1.0f) {
                on[i] = log_add(on[i], log_weight);
            }
        }
    }
    for (size_t i = 0; i < d; i++) {
        prob[i] = exp(on[i] - total);
    }
}

double ref_pseudo_loglik(const ref_model *model, const float *visible)
{
    require_small(model);
    size_t d = model->n_visible;
    float flipped[REF_MAX_UNITS];
    for (size_t i = 0; i < d; i++) {
        flipped[i] = visible[i];
    }
    /* P(v_i | v_-i) = p(v) / (p(v) + p(v^(i))); log Z cancels. */
    double log_p = log_sum_over_hidden(model, visible, 1.0);
    double pll = 0.0;
    for (size_t i = 0; i < d; i++) {
        flipped[i] = 1.0f - visible[i];
        double log_p_flipped = log_sum_over_hidden(model, flipped, 1.0);
        flipped[i] = visible[i];
        pll += log_p - log_add(log_p, log_p_flipped);
    }
    return pll;
}

void ref_loglik_gradient(const ref_model *model, const float *x, size_t rows,
                         double *grad_w, double *grad_a, double *grad_b)
{
    require_small(model);
    size_t d = model->n_visible;
    size_t k = model->n_hidden;
    for (size_t i = 0; i < d * k; i++) {
        grad_w[i] = 0.0;
    }
    for (size_t i = 0; i < d; i++) {
        grad_a[i] = 0.0;
    }
    for (size_t j = 0; j < k; j++) {
        grad_b[j] = 0.0;
    }

    /* Data term: E[h | x_r] from the enumeration of h. */
    double hidden_prob[REF_MAX_UNITS];
    for (size_t r = 0; r < rows; r++) {
        const float *row = x + r * d;
        ref_hidden_conditional(model, row, 1.0, hidden_prob);
        for (size_t i = 0; i < d; i++) {
            grad_a[i] += row[i] / (double)rows;
            for (size_t j = 0; j < k; j++) {
                grad_w[i * k + j] += row[i] * hidden_prob[j] / (double)rows;
            }
        }
        for (size_t j = 0; j < k; j++) {
            grad_b[j] += hidden_prob[j] / (double)rows;
        }
    }

    /* Model term: every joint state weighted by p(v, h). */
    double log_z = ref_log_partition(model, 1.0);
    float visible[REF_MAX_UNITS];
    float hidden[REF_MAX_UNITS];
    for (uint64_t vbits = 0; vbits < ((uint64_t)1 << d); vbits++) {
        ref_unpack_bits(vbits, d, visible);
        for (uint64_t hbits = 0; hbits < ((uint64_t)1 << k); hbits++) {
            ref_unpack_bits(hbits, k, hidden);
            double p = exp(-ref_energy(model, visible, hidden) - log_z);
            for (size_t i = 0; i < d; i++) {
                grad_a[i] -= p * visible[i];
                for (size_t j = 0; j < k; j++) {
                    grad_w[i * k + j] -= p * visible[i] * hidden[j];
                }
            }
            for (size_t j = 0; j < k; j++) {
                grad_b[j] -= p * hidden[j];
            }
        }
    }
}

double ref_softplus(double x)
{
    if (x > 0.0) {
        return x + log1p(exp(-x));
    }
    return log1p(exp(x));
}

void ref_log_marginal_table(const ref_model *model, double temperature,
                            double *log_p)
{
    require_small(model);
    size_t d = model->n_visible;
    size_t states = (size_t)1 << d;
    float visible[REF_MAX_UNITS];
    double total = -INFINITY;
    for (size_t bits = 0; bits < states; bits++) {
        ref_unpack_bits(bits, d, visible);
        log_p[bits] = log_sum_over_hidden(model, visible, temperature);
        total = log_add(total, log_p[bits]);
    }
    for (size_t bits = 0; bits < states; bits++) {
        log_p[bits] -= total;
    }
}

size_t ref_sample_index(ref_rng *rng, const double *prob, size_t count)
{
    double u = ref_rng_uniform(rng);
    double cumulative = 0.0;
    for (size_t i = 0; i < count; i++) {
        cumulative += prob[i];
        if (u < cumulative) {
            return i;
        }
    }
    /* The cumulative sum fell short of u by rounding: take the last state
     * with nonzero probability. */
    size_t last = count - 1;
    while (last > 0 && prob[last] == 0.0) {
        last--;
    }
    return last;
}

/* P(unit = value | input) for a binary unit with activation x / T. */
static double bernoulli_probability(double activation, double temperature,
                                    float value)
{
    double p_one = 1.0 / (1.0 + exp(-activation / temperature));
    return value == 1.0f ? p_one : 1.0 - p_one;
}

void ref_gibbs_distribution(const ref_model *model, double temperature,
                            const unsigned char *clamp, const double *start,
                            unsigned steps, double *out)
{
    size_t d = model->n_visible;
    size_t k = model->n_hidden;
    if (d > 12 || k > REF_MAX_UNITS) {
        fprintf(stderr, "reference: Gibbs distribution of D = %zu, K = %zu "
                        "is too large\n", d, k);
        abort();
    }
    size_t states = (size_t)1 << d;
    double *transition = malloc(states * states * sizeof(double));
    double *current = malloc(states * sizeof(double));
    double *next = malloc(states * sizeof(double));
    if (transition == NULL || current == NULL || next == NULL) {
        fprintf(stderr, "reference: out of memory\n");
        abort();
    }

    /* transition[from * states + to] = sum_h P(h | from) P(to | h), with
     * clamped units of `to` forced to their values in `from`. */
    float from_state[REF_MAX_UNITS];
    float to_state[REF_MAX_UNITS];
    float hidden[REF_MAX_UNITS];
    for (size_t from = 0; from < states; from++) {
        ref_unpack_bits(from, d, from_state);
        for (size_t to = 0; to < states; to++) {
            transition[from * states + to] = 0.0;
        }
        for (uint64_t hbits = 0; hbits < ((uint64_t)1 << k); hbits++) {
            ref_unpack_bits(hbits, k, hidden);
            double p_hidden = 1.0;
            for (size_t j = 0; j < k; j++) {
                double x = model->hidden_bias[j];
                for (size_t i = 0; i < d; i++) {
                    x += (double)from_state[i] * model->weights[i * k + j];
                }
                p_hidden *= bernoulli_probability(x, temperature, hidden[j]);
            }
            for (size_t to = 0; to < states; to++) {
                ref_unpack_bits(to, d, to_state);
                double p_visible = 1.0;
                for (size_t i = 0; i < d; i++) {
                    if (clamp != NULL && clamp[i] != 0) {
                        p_visible *= to_state[i] == from_state[i] ? 1.0 : 0.0;
                        continue;
                    }
                    double x = model->visible_bias[i];
                    for (size_t j = 0; j < k; j++) {
                        x += (double)model->weights[i * k + j] * hidden[j];
                    }
                    p_visible *=
                        bernoulli_probability(x, temperature, to_state[i]);
                }
                transition[from * states + to] += p_hidden * p_visible;
            }
        }
    }

    for (size_t s = 0; s < states; s++) {
        current[s] = start[s];
    }
    for (unsigned step = 0; step < steps; step++) {
        for (size_t to = 0; to < states; to++) {
            next[to] = 0.0;
        }
        for (size_t from = 0; from < states; from++) {
            if (current[from] == 0.0) {
                continue;
            }
            for (size_t to = 0; to < states; to++) {
                next[to] += current[from] * transition[from * states + to];
            }
        }
        for (size_t s = 0; s < states; s++) {
            current[s] = next[s];
        }
    }
    for (size_t s = 0; s < states; s++) {
        out[s] = current[s];
    }
    free(transition);
    free(current);
    free(next);
}
