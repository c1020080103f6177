/*
 * Training Gaussian-Bernoulli RBMs: CD-k and PCD-k with momentum and weight
 * decay, and optionally log sigma with its own learning-rate factor.
 *
 * With x = v / sigma^2 and h the hidden probabilities of each phase, the
 * log-likelihood gradient is positive minus negative phase of
 *
 *   W: x'h / n      a: mean of (v - a) / sigma^2      b: mean of h
 *   log sigma_i: mean of ((v_i - a_i)^2 - 2 v_i (W h)_i) / sigma_i^2
 *
 * (the last is -dE/d log sigma_i).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gbrbm_internal.h"
#include "parallel.h"
#include "rng.h"
#include "vmath.h"

struct ebm_gbrbm_trainer {
    size_t n_visible;
    size_t n_hidden;
    ebm_train_config config;
    ebm_gbrbm_options options;
    size_t chains;        /* negative-phase rows: batch (CD) or chains */
    float *pos_v;         /* batch x D */
    float *pos_x;         /* batch x D: v / sigma^2 */
    float *pos_h;         /* batch x K probabilities */
    float *neg_v;         /* max(batch, chains) x D */
    float *neg_x;
    float *neg_h;
    float *sample_h;      /* max(batch, chains) x K */
    float *wh;            /* max(batch, chains) x D: h W' for log sigma */
    float *gradient;      /* one per parameter, the model's layout */
    float *velocity;
    ebm_rng rng;
    bool chains_ready;
};

ebm_status ebm_gbrbm_options_init(ebm_gbrbm_options *options)
{
    ebm_status status = ebm_check_pointer(options, "options");

    if (status == EBM_OK)
        *options = (ebm_gbrbm_options){.learn_sigma = 0,
                                       .sigma_rate_factor = 0.1f};
    return status;
}

void ebm_gbrbm_trainer_destroy(ebm_gbrbm_trainer *t)
{
    if (t == NULL)
        return;
    ebm_free_floats(t->pos_v);
    ebm_free_floats(t->pos_x);
    ebm_free_floats(t->pos_h);
    ebm_free_floats(t->neg_v);
    ebm_free_floats(t->neg_x);
    ebm_free_floats(t->neg_h);
    ebm_free_floats(t->sample_h);
    ebm_free_floats(t->wh);
    ebm_free_floats(t->gradient);
    ebm_free_floats(t->velocity);
    free(t);
}

ebm_status ebm_gbrbm_trainer_create(const ebm_gbrbm *model,
                                    const ebm_train_config *config,
                                    const ebm_gbrbm_options *options,
                                    ebm_gbrbm_trainer **out)
{
    ebm_gbrbm_trainer *t;
    size_t d, k, b, rows, params;
    ebm_status status = ebm_check_pointer(model, "model");

    if (status == EBM_OK)
        status = ebm_check_pointer(config, "config");
    if (status == EBM_OK)
        status = ebm_check_pointer(options, "options");
    if (status == EBM_OK)
        status = ebm_check_pointer(out, "out");
    if (status != EBM_OK)
        return status;
    status = ebm_check_train_config(config);
    if (status != EBM_OK)
        return status;
    if (!(options->sigma_rate_factor >= 0.0f &&
          isfinite(options->sigma_rate_factor)))
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "sigma_rate_factor is %g; expected a finite value "
                        ">= 0",
                        (double)options->sigma_rate_factor);
    d = model->n_visible;
    k = model->n_hidden;
    b = config->batch_size;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "cannot allocate the trainer");
    t->n_visible = d;
    t->n_hidden = k;
    t->config = *config;
    t->options = *options;
    t->chains = config->method == EBM_PCD
                    ? (config->chains > 0 ? config->chains : b)
                    : b;
    rows = ebm_max_size(b, t->chains);
    params = ebm_gbrbm_param_count(model);
    status = ebm_mul_size(rows, ebm_max_size(d, k), &(size_t){0},
                          "rows x units");
    if (status != EBM_OK) {
        free(t);
        return status;
    }
    t->pos_v = ebm_alloc_floats(b * d);
    t->pos_x = ebm_alloc_floats(b * d);
    t->pos_h = ebm_alloc_floats(b * k);
    t->neg_v = ebm_alloc_floats(rows * d);
    t->neg_x = ebm_alloc_floats(rows * d);
    t->neg_h = ebm_alloc_floats(rows * k);
    t->sample_h = ebm_alloc_floats(rows * k);
    t->wh = ebm_alloc_floats(rows * d);
    t->gradient = ebm_alloc_floats(params);
    t->velocity = ebm_alloc_floats(params);
    if (t->pos_v == NULL || t->pos_x == NULL || t->pos_h == NULL ||
        t->neg_v == NULL || t->neg_x == NULL || t->neg_h == NULL ||
        t->sample_h == NULL || t->wh == NULL || t->gradient == NULL ||
        t->velocity == NULL) {
        ebm_gbrbm_trainer_destroy(t);
        return ebm_fail(EBM_ERR_NOMEM,
                        "cannot allocate the trainer's buffers");
    }
    memset(t->velocity, 0, params * sizeof(float));
    ebm_rng_init(&t->rng, config->seed);
    *out = t;
    return EBM_OK;
}

/* h = P(h = 1 | v) for rows of v, and x = v / sigma^2. */
static void hidden_probabilities(const ebm_gbrbm *model, const float *v,
                                 size_t rows, float *x, float *h)
{
    size_t count = rows * model->n_hidden;

    ebm_gbrbm_hidden_input(model, v, rows, x, h);
    for (size_t e = 0; e < count; e++)
        h[e] = ebm_vsigmoid(h[e]);
}

/* k Gibbs steps from v (rows x D): h ~ P(h | v), v ~ Normal(a + W h,
 * sigma^2); then x and h probabilities of the final v. */
static void run_chain(ebm_gbrbm_trainer *t, const ebm_gbrbm *model,
                      size_t rows)
{
    size_t k = t->n_hidden;

    for (unsigned step = 0; step < t->config.gibbs_steps; step++) {
        hidden_probabilities(model, t->neg_v, rows, t->neg_x, t->neg_h);
        ebm_rng_bernoulli(t->rng.seed, t->rng.stream++, 0, rows * k,
                          t->neg_h, t->sample_h);
        ebm_gbrbm_visible_mean(model, t->sample_h, rows, 1.0f, t->neg_v);
        ebm_gbrbm_sample_visible(model, t->neg_v, rows, 1.0f, t->rng.seed,
                                 t->rng.stream++);
    }
    hidden_probabilities(model, t->neg_v, rows, t->neg_x, t->neg_h);
}

/* Adds sign / n times the statistics of one phase to the gradient. */
static void add_phase(ebm_gbrbm_trainer *t, const ebm_gbrbm *model,
                      const float *v, const float *x, const float *h,
                      size_t rows, float sign)
{
    size_t d = t->n_visible, k = t->n_hidden;
    float scale = sign / (float)rows;
    float *g_w = t->gradient;
    float *g_a = g_w + d * k, *g_b = g_a + d, *g_log_sigma = g_b + k;

    ebm_gemm(true, false, d, k, rows, scale, x, d, h, k, 1.0f, g_w, k, NULL,
             NULL);
    for (size_t i = 0; i < d; i++) {
        double sum = 0.0;

        for (size_t r = 0; r < rows; r++)
            sum += (double)x[r * d + i];
        /* (v - a) / sigma^2 = x - a / sigma^2. */
        g_a[i] += scale * (float)(sum - (double)rows *
                                            model->visible_bias[i] *
                                            model->inv_var[i]);
    }
    for (size_t j = 0; j < k; j++) {
        double sum = 0.0;

        for (size_t r = 0; r < rows; r++)
            sum += h[r * k + j];
        g_b[j] += scale * (float)sum;
    }
    if (!t->options.learn_sigma)
        return;
    ebm_gemm(false, true, rows, d, k, 1.0f, h, k, model->weights, k, 0.0f,
             t->wh, d, NULL, NULL);
    for (size_t i = 0; i < d; i++) {
        double sum = 0.0;

        for (size_t r = 0; r < rows; r++) {
            double diff = (double)v[r * d + i] - model->visible_bias[i];

            sum += diff * diff - 2.0 * v[r * d + i] * t->wh[r * d + i];
        }
        g_log_sigma[i] += scale * (float)(sum * model->inv_var[i]);
    }
}

/* velocity' = momentum velocity + rate (gradient - decay W) and the
 * parameters += velocity', unless a parameter would stop being finite or a
 * log sigma would leave its range; then nothing changes. */
static ebm_status apply_update(ebm_gbrbm_trainer *t, ebm_gbrbm *model)
{
    size_t d = t->n_visible, k = t->n_hidden;
    size_t weights = d * k, count = ebm_gbrbm_param_count(model);
    size_t sigma_begin = weights + d + k;
    float *p = model->params, *g = t->gradient, *v = t->velocity;
    float momentum = t->config.momentum;

    for (size_t i = 0; i < count; i++) {
        float rate = t->config.learning_rate;
        float step = g[i];

        if (i < weights)
            step -= t->config.weight_decay * p[i];
        if (i >= sigma_begin)
            rate *= t->options.learn_sigma ? t->options.sigma_rate_factor
                                           : 0.0f;
        g[i] = momentum * v[i] + rate * step;
        if (!isfinite(p[i] + g[i]))
            return ebm_fail(EBM_ERR_DIVERGED,
                            "parameter %zu would become %g; lower the "
                            "learning rate",
                            i, (double)(p[i] + g[i]));
        if (i >= sigma_begin &&
            !(fabsf(p[i] + g[i]) <= EBM_GBRBM_LOG_SIGMA_MAX))
            return ebm_fail(EBM_ERR_DIVERGED,
                            "log sigma %zu would become %g, outside "
                            "[-%g, %g]; lower the learning rate or its "
                            "sigma factor",
                            i - sigma_begin, (double)(p[i] + g[i]),
                            (double)EBM_GBRBM_LOG_SIGMA_MAX,
                            (double)EBM_GBRBM_LOG_SIGMA_MAX);
    }
    for (size_t i = 0; i < count; i++) {
        v[i] = g[i];
        p[i] += g[i];
    }
    ebm_gbrbm_refresh(model);
    return EBM_OK;
}

static ebm_status step_unchecked(ebm_gbrbm_trainer *t, ebm_gbrbm *model,
                                 size_t rows)
{
    size_t d = t->n_visible, n_neg;

    hidden_probabilities(model, t->pos_v, rows, t->pos_x, t->pos_h);
    if (t->config.method == EBM_CD) {
        n_neg = rows;
        memcpy(t->neg_v, t->pos_v, rows * d * sizeof(float));
    } else {
        n_neg = t->chains;
        if (!t->chains_ready) {
            /* Chains start at samples of the Gaussian part alone. */
            for (size_t c = 0; c < n_neg; c++)
                memcpy(t->neg_v + c * d, model->visible_bias,
                       d * sizeof(float));
            ebm_gbrbm_sample_visible(model, t->neg_v, n_neg, 1.0f,
                                     t->rng.seed, t->rng.stream++);
            t->chains_ready = true;
        }
    }
    run_chain(t, model, n_neg);
    memset(t->gradient, 0, ebm_gbrbm_param_count(model) * sizeof(float));
    add_phase(t, model, t->pos_v, t->pos_x, t->pos_h, rows, 1.0f);
    add_phase(t, model, t->neg_v, t->neg_x, t->neg_h, n_neg, -1.0f);
    return apply_update(t, model);
}

static ebm_status check_step(const ebm_gbrbm_trainer *t,
                             const ebm_gbrbm *model, const float *batch,
                             size_t rows)
{
    ebm_status status = ebm_check_pointer(t, "trainer");

    if (status == EBM_OK)
        status = ebm_check_pointer(model, "model");
    if (status == EBM_OK)
        status = ebm_check_pointer(batch, "batch");
    if (status != EBM_OK)
        return status;
    if (model->n_visible != t->n_visible || model->n_hidden != t->n_hidden)
        return ebm_fail(EBM_ERR_MISMATCH,
                        "the model is %zu x %zu; the trainer was made for "
                        "%zu x %zu",
                        model->n_visible, model->n_hidden, t->n_visible,
                        t->n_hidden);
    if (rows == 0)
        return ebm_fail(EBM_ERR_SIZE, "the batch has 0 rows");
    status = ebm_mul_size(rows, model->n_visible, &(size_t){0}, "batch");
    if (status == EBM_OK)
        status = ebm_check_finite(batch, rows, model->n_visible, "batch");
    return status;
}

ebm_status ebm_gbrbm_trainer_step(ebm_gbrbm_trainer *trainer,
                                  ebm_gbrbm *model, const float *batch,
                                  size_t rows)
{
    ebm_status status = check_step(trainer, model, batch, rows);

    if (status != EBM_OK)
        return status;
    if (rows > trainer->config.batch_size)
        return ebm_fail(EBM_ERR_SIZE,
                        "the batch has %zu rows; the trainer takes at most "
                        "%zu",
                        rows, trainer->config.batch_size);
    memcpy(trainer->pos_v, batch, rows * model->n_visible * sizeof(float));
    return step_unchecked(trainer, model, rows);
}

ebm_status ebm_gbrbm_trainer_fit(ebm_gbrbm_trainer *trainer,
                                 ebm_gbrbm *model, const float *data,
                                 size_t rows, unsigned epochs,
                                 ebm_gbrbm_epoch_callback callback,
                                 void *user_data)
{
    size_t *order, d, batch;
    ebm_status status = check_step(trainer, model, data, rows);

    if (status != EBM_OK)
        return status;
    if (epochs == 0)
        return ebm_fail(EBM_ERR_ARGUMENT, "epochs is 0; expected >= 1");
    order = malloc(rows * sizeof(*order));
    if (order == NULL)
        return ebm_fail(EBM_ERR_NOMEM,
                        "cannot allocate the row order of %zu rows", rows);
    d = model->n_visible;
    batch = trainer->config.batch_size;
    for (unsigned epoch = 1; epoch <= epochs && status == EBM_OK; epoch++) {
        ebm_shuffle_rows(order, rows, trainer->rng.seed,
                         trainer->rng.stream++);
        for (size_t first = 0; first < rows && status == EBM_OK;
             first += batch) {
            size_t n = ebm_min_size(batch, rows - first);

            for (size_t r = 0; r < n; r++)
                memcpy(trainer->pos_v + r * d, data + order[first + r] * d,
                       d * sizeof(float));
            status = step_unchecked(trainer, model, n);
        }
        if (status == EBM_OK && callback != NULL &&
            callback(model, epoch, user_data) != 0)
            status = EBM_STOPPED;
    }
    free(order);
    return status;
}
