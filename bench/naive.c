/*
 * Naive references for the benchmarks: the same computations as libebm's
 * kernels, written as plain loops with scalar libm calls and one Philox
 * draw per sample, the way a first implementation would look. They follow
 * the algorithm of docs/training.md but are not meant to match libebm's
 * bits; tests/ checks libebm against exact enumeration instead.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

struct naive_model {
    size_t d, k, chains;
    float *w, *a, *b;          /* D x K, D, K */
    float *vel_w, *vel_a, *vel_b;
    float *grad_w, *grad_a, *grad_b;
    /* Chain buffers, sized for max(rows, chains) <= capacity rows. */
    size_t capacity;
    float *h_pos, *h_sample, *v_neg, *h_neg, *persistent;
    uint64_t seed, stream;
};

static float *zeros(size_t count)
{
    return calloc(count, sizeof(float));
}

struct naive_model *naive_model_create(const ebm_rbm *rbm, size_t chains,
                                       uint64_t seed)
{
    struct naive_model *model = calloc(1, sizeof(*model));
    size_t d, k, n;

    if (model == NULL)
        return NULL;
    ebm_rbm_shape(rbm, &d, &k);
    n = chains > 1024 ? chains : 1024;
    model->d = d;
    model->k = k;
    model->chains = chains;
    model->capacity = n;
    model->w = zeros(d * k);
    model->a = zeros(d);
    model->b = zeros(k);
    model->vel_w = zeros(d * k);
    model->vel_a = zeros(d);
    model->vel_b = zeros(k);
    model->grad_w = zeros(d * k);
    model->grad_a = zeros(d);
    model->grad_b = zeros(k);
    model->h_pos = zeros(n * k);
    model->h_sample = zeros(n * k);
    model->v_neg = zeros(n * d);
    model->h_neg = zeros(n * k);
    model->persistent = zeros(chains * k + 1);
    model->seed = seed;
    if (model->w == NULL || model->a == NULL || model->b == NULL ||
        model->vel_w == NULL || model->vel_a == NULL ||
        model->vel_b == NULL || model->grad_w == NULL ||
        model->grad_a == NULL || model->grad_b == NULL ||
        model->h_pos == NULL || model->h_sample == NULL ||
        model->v_neg == NULL || model->h_neg == NULL ||
        model->persistent == NULL) {
        naive_model_destroy(model);
        return NULL;
    }
    memcpy(model->w, ebm_rbm_weights(rbm), d * k * sizeof(float));
    memcpy(model->a, ebm_rbm_visible_bias(rbm), d * sizeof(float));
    memcpy(model->b, ebm_rbm_hidden_bias(rbm), k * sizeof(float));
    return model;
}

void naive_model_destroy(struct naive_model *model)
{
    if (model == NULL)
        return;
    free(model->w);
    free(model->a);
    free(model->b);
    free(model->vel_w);
    free(model->vel_a);
    free(model->vel_b);
    free(model->grad_w);
    free(model->grad_a);
    free(model->grad_b);
    free(model->h_pos);
    free(model->h_sample);
    free(model->v_neg);
    free(model->h_neg);
    free(model->persistent);
    free(model);
}

static float naive_sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

static float naive_softplus(float x)
{
    return x > 0.0f ? x + log1pf(expf(-x)) : log1pf(expf(x));
}

/* prob = sigmoid(visible W + b); sample = (u < prob) if sample != NULL. */
void naive_hidden(struct naive_model *model, const float *visible,
                  size_t rows, float *prob, float *sample)
{
    size_t d = model->d, k = model->k;
    uint64_t stream = model->stream++;

    for (size_t r = 0; r < rows; r++) {
        float *z = prob + r * k;

        for (size_t j = 0; j < k; j++)
            z[j] = model->b[j];
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < k; j++)
                z[j] += visible[r * d + i] * model->w[i * k + j];
        for (size_t j = 0; j < k; j++) {
            z[j] = naive_sigmoid(z[j]);
            if (sample != NULL)
                sample[r * k + j] =
                    ebm_rng_uniform(model->seed, stream, r * k + j) < z[j];
        }
    }
}

/* prob = sigmoid(hidden W' + a); sample = (u < prob) if sample != NULL. */
void naive_visible(struct naive_model *model, const float *hidden,
                   size_t rows, float *prob, float *sample)
{
    size_t d = model->d, k = model->k;
    uint64_t stream = model->stream++;

    for (size_t r = 0; r < rows; r++) {
        for (size_t i = 0; i < d; i++) {
            float z = model->a[i];

            for (size_t j = 0; j < k; j++)
                z += hidden[r * k + j] * model->w[i * k + j];
            prob[r * d + i] = naive_sigmoid(z);
            if (sample != NULL)
                sample[r * d + i] =
                    ebm_rng_uniform(model->seed, stream, r * d + i) <
                    prob[r * d + i];
        }
    }
}

/* grad_w = (X'H+ - V'H-) / rows, and the bias gradients. */
void naive_gradient(struct naive_model *model, const float *visible_pos,
                    const float *hidden_pos, const float *visible_neg,
                    const float *hidden_neg, size_t rows)
{
    size_t d = model->d, k = model->k;
    float scale = 1.0f / (float)rows;

    memset(model->grad_w, 0, d * k * sizeof(float));
    memset(model->grad_a, 0, d * sizeof(float));
    memset(model->grad_b, 0, k * sizeof(float));
    for (size_t r = 0; r < rows; r++) {
        for (size_t i = 0; i < d; i++) {
            float xp = visible_pos[r * d + i], xn = visible_neg[r * d + i];

            for (size_t j = 0; j < k; j++)
                model->grad_w[i * k + j] +=
                    scale * (xp * hidden_pos[r * k + j] -
                             xn * hidden_neg[r * k + j]);
            model->grad_a[i] += scale * (xp - xn);
        }
        for (size_t j = 0; j < k; j++)
            model->grad_b[j] +=
                scale * (hidden_pos[r * k + j] - hidden_neg[r * k + j]);
    }
}

/* SGD with momentum 0.5, learning rate 0.05 and weight decay 0.0001, as
 * libebm's default configuration. */
static void naive_update(struct naive_model *model)
{
    const float momentum = 0.5f, rate = 0.05f, decay = 0.0001f;
    size_t d = model->d, k = model->k;

    for (size_t e = 0; e < d * k; e++) {
        model->vel_w[e] = momentum * model->vel_w[e] +
                          rate * (model->grad_w[e] - decay * model->w[e]);
        model->w[e] += model->vel_w[e];
    }
    for (size_t i = 0; i < d; i++) {
        model->vel_a[i] = momentum * model->vel_a[i] + rate * model->grad_a[i];
        model->a[i] += model->vel_a[i];
    }
    for (size_t j = 0; j < k; j++) {
        model->vel_b[j] = momentum * model->vel_b[j] + rate * model->grad_b[j];
        model->b[j] += model->vel_b[j];
    }
}

/* k Gibbs steps from the hidden samples in model->h_sample over m rows,
 * leaving the visible samples in v_neg and the hidden probabilities in
 * h_neg; for persistent chains the last hidden samples too. */
static void naive_chain(struct naive_model *model, size_t m,
                        unsigned gibbs_steps, bool persistent)
{
    for (unsigned step = 1; step <= gibbs_steps; step++) {
        bool last = step == gibbs_steps;

        naive_visible(model, model->h_sample, m, model->v_neg,
                      model->v_neg);
        naive_hidden(model, model->v_neg, m, model->h_neg,
                     last && !persistent ? NULL : model->h_sample);
    }
}

void naive_cd_step(struct naive_model *model, const float *batch,
                   size_t rows, unsigned gibbs_steps)
{
    naive_hidden(model, batch, rows, model->h_pos, model->h_sample);
    naive_chain(model, rows, gibbs_steps, false);
    naive_gradient(model, batch, model->h_pos, model->v_neg, model->h_neg,
                   rows);
    naive_update(model);
}

/* PCD with as many chains as rows (the benchmark's configuration), so that
 * the gradient's two terms have the same number of rows. */
void naive_pcd_step(struct naive_model *model, const float *batch,
                    size_t rows, unsigned gibbs_steps)
{
    size_t k = model->k;

    naive_hidden(model, batch, rows, model->h_pos, NULL);
    memcpy(model->h_sample, model->persistent, rows * k * sizeof(float));
    naive_chain(model, rows, gibbs_steps, true);
    memcpy(model->persistent, model->h_sample, rows * k * sizeof(float));
    naive_gradient(model, batch, model->h_pos, model->v_neg, model->h_neg,
                   rows);
    naive_update(model);
}

/* F(v) = -a.v - sum_j softplus(b_j + v.W[:, j]). */
void naive_free_energy(struct naive_model *model, const float *visible,
                       size_t rows, double *out)
{
    size_t d = model->d, k = model->k;
    float *z = model->h_neg;

    for (size_t r = 0; r < rows; r++) {
        double energy = 0.0;

        for (size_t j = 0; j < k; j++)
            z[j] = model->b[j];
        for (size_t i = 0; i < d; i++) {
            energy -= model->a[i] * visible[r * d + i];
            for (size_t j = 0; j < k; j++)
                z[j] += visible[r * d + i] * model->w[i * k + j];
        }
        for (size_t j = 0; j < k; j++)
            energy -= naive_softplus(z[j]);
        out[r] = energy;
    }
}

/* Sum over units i of log sigmoid(F(v with i flipped) - F(v)). */
void naive_pseudo_loglik(struct naive_model *model, const float *visible,
                         size_t rows, double *out)
{
    size_t d = model->d, k = model->k;
    float *z = model->h_neg;

    for (size_t r = 0; r < rows; r++) {
        double total = 0.0, base = 0.0;

        for (size_t j = 0; j < k; j++)
            z[j] = model->b[j];
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < k; j++)
                z[j] += visible[r * d + i] * model->w[i * k + j];
        for (size_t j = 0; j < k; j++)
            base += naive_softplus(z[j]);
        for (size_t i = 0; i < d; i++) {
            float sign = 1.0f - 2.0f * visible[r * d + i];
            double flipped = 0.0, delta;

            for (size_t j = 0; j < k; j++)
                flipped += naive_softplus(z[j] + sign * model->w[i * k + j]);
            delta = -sign * model->a[i] - (flipped - base);
            total -= naive_softplus((float)-delta);
        }
        out[r] = total;
    }
}

/* AIS with `betas` evenly spaced inverse temperatures from a uniform base
 * (a_A = 0) over `chains` chains, as plain loops: the weights are
 * accumulated into log_weights. */
void naive_ais(struct naive_model *model, size_t chains, size_t betas,
               double *log_weights)
{
    size_t d = model->d, k = model->k;
    float *v = model->v_neg, *h = model->h_sample, *z = model->h_neg;
    uint64_t stream = model->stream++;

    for (size_t e = 0; e < chains * d; e++)
        v[e] = ebm_rng_uniform(model->seed, stream, e) < 0.5f;
    for (size_t c = 0; c < chains; c++)
        log_weights[c] = 0.0;
    for (size_t j = 1; j < betas; j++) {
        float beta0 = (float)(j - 1) / (float)(betas - 1);
        float beta = (float)j / (float)(betas - 1);
        uint64_t hidden_stream = model->stream++;
        uint64_t visible_stream = model->stream++;

        for (size_t c = 0; c < chains; c++) {
            double increment = 0.0;

            for (size_t q = 0; q < k; q++) {
                z[q] = model->b[q];
                for (size_t i = 0; i < d; i++)
                    z[q] += v[c * d + i] * model->w[i * k + q];
            }
            for (size_t i = 0; i < d; i++)
                increment += (beta - beta0) * model->a[i] * v[c * d + i];
            for (size_t q = 0; q < k; q++) {
                increment += naive_softplus(beta * z[q]) -
                             naive_softplus(beta0 * z[q]);
                h[c * k + q] = ebm_rng_uniform(model->seed, hidden_stream,
                                               c * k + q) <
                               naive_sigmoid(beta * z[q]);
            }
            log_weights[c] += increment;
            if (j == betas - 1)
                continue;
            for (size_t i = 0; i < d; i++) {
                float x = model->a[i];

                for (size_t q = 0; q < k; q++)
                    x += h[c * k + q] * model->w[i * k + q];
                v[c * d + i] = ebm_rng_uniform(model->seed, visible_stream,
                                               c * d + i) <
                               naive_sigmoid(beta * x);
            }
        }
    }
}
