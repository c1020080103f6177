/*
 * Learning general Boltzmann machines: mean-field inference, the gradient
 * from sampled statistics (sgemm for W, ssyrk for V and U), the exact
 * gradient of small models, and the trainer (positive phase, CD-k or
 * PCD-k negative phase, momentum and weight decay).
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bm_internal.h"
#include "parallel.h"
#include "rbm_internal.h"
#include "rng.h"
#include "vmath.h"

/* ------------------------------------------------------------------------ */
/* Mean field                                                               */
/* ------------------------------------------------------------------------ */

/* mean-field iterations on rows x K, with input = b + v W precomputed. */
static void mean_field_rows(const ebm_bm *bm, const float *input,
                            size_t rows, unsigned iterations, float damping,
                            float inverse_temperature, float *mu,
                            float *field)
{
    size_t k = bm->n_hidden, count = rows * k;

    for (size_t i = 0; i < count; i++)
        mu[i] = ebm_vsigmoid(input[i] * inverse_temperature);
    if (bm->hidden_couplings == NULL)
        return;
    for (unsigned it = 0; it < iterations; it++) {
        memcpy(field, input, count * sizeof(float));
        ebm_gemm(false, false, rows, k, k, 1.0f, mu, k,
                 bm->hidden_couplings, k, 1.0f, field, k, NULL, NULL);
        for (size_t i = 0; i < count; i++)
            mu[i] = damping * mu[i] +
                    (1.0f - damping) *
                        ebm_vsigmoid(field[i] * inverse_temperature);
    }
}

/* input (rows x K) = b + v W, or b alone without W. */
static void hidden_input(const ebm_bm *bm, const float *visible,
                         size_t rows, float *input)
{
    size_t d = bm->n_visible, k = bm->n_hidden;

    for (size_t r = 0; r < rows; r++)
        memcpy(input + r * k, bm->hidden_bias, k * sizeof(float));
    if (bm->weights != NULL)
        ebm_gemm(false, false, rows, k, d, 1.0f, visible, d, bm->weights, k,
                 1.0f, input, k, NULL, NULL);
}

ebm_status ebm_bm_mean_field(const ebm_bm *bm, const float *visible,
                             size_t rows, unsigned iterations, float damping,
                             float temperature, float *hidden)
{
    float *input, *field;
    ebm_status status = ebm_check_pointer(bm, "bm");

    if (status == EBM_OK)
        status = ebm_check_pointer(hidden, "hidden");
    if (status == EBM_OK)
        status = ebm_check_batch(visible, rows, bm->n_visible, "visible");
    if (status == EBM_OK)
        status = ebm_check_positive(temperature, "temperature");
    if (status != EBM_OK)
        return status;
    if (bm->n_hidden == 0)
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "the model has no hidden units to infer");
    if (!(damping >= 0.0f && damping < 1.0f))
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "damping is %g; expected a value in [0, 1)",
                        (double)damping);
    input = ebm_alloc_floats(rows * bm->n_hidden);
    field = ebm_alloc_floats(rows * bm->n_hidden);
    if (input == NULL || field == NULL) {
        ebm_free_floats(input);
        ebm_free_floats(field);
        return ebm_fail(EBM_ERR_NOMEM,
                        "cannot allocate mean-field buffers for %zu rows",
                        rows);
    }
    hidden_input(bm, visible, rows, input);
    mean_field_rows(bm, input, rows, iterations, damping, 1.0f / temperature,
                    hidden, field);
    ebm_free_floats(input);
    ebm_free_floats(field);
    return EBM_OK;
}

/* ------------------------------------------------------------------------ */
/* Gradients                                                                */
/* ------------------------------------------------------------------------ */

/* Fails unless gradient has bm's sizes and coupling blocks. */
static ebm_status check_same_shape(const ebm_bm *bm, const ebm_bm *other,
                                   const char *name)
{
    ebm_status status = ebm_check_pointer(other, name);

    if (status != EBM_OK)
        return status;
    if (other->n_visible != bm->n_visible ||
        other->n_hidden != bm->n_hidden ||
        other->couplings != bm->couplings)
        return ebm_fail(EBM_ERR_MISMATCH,
                        "%s is a %zu x %zu model with couplings %#x; "
                        "expected %zu x %zu with couplings %#x",
                        name, other->n_visible, other->n_hidden,
                        other->couplings, bm->n_visible, bm->n_hidden,
                        bm->couplings);
    return EBM_OK;
}

/* out[j] = scale * sum over rows of x[r][j], in double. */
static void column_means(const float *x, size_t rows, size_t cols,
                         double scale, double *out)
{
    for (size_t j = 0; j < cols; j++)
        out[j] = 0.0;
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < cols; j++)
            out[j] += x[r * cols + j];
    for (size_t j = 0; j < cols; j++)
        out[j] *= scale;
}

/* target (n x n) = X+'X+ / n+ - X-'X- / n-, symmetric, zero diagonal, zero
 * outside mask. ssyrk writes the upper triangle; it is mirrored. */
static void lateral_gradient(const float *pos, size_t n_pos,
                             const float *neg, size_t n_neg, size_t n,
                             const unsigned char *mask, float *target)
{
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)n, (int)n_pos,
                1.0f / (float)n_pos, pos, (int)n, 0.0f, target, (int)n);
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)n, (int)n_neg,
                -1.0f / (float)n_neg, neg, (int)n, 1.0f, target, (int)n);
    for (size_t i = 0; i < n; i++) {
        target[i * n + i] = 0.0f;
        for (size_t j = i + 1; j < n; j++) {
            if (mask != NULL && mask[i * n + j] == 0)
                target[i * n + j] = 0.0f;
            target[j * n + i] = target[i * n + j];
        }
    }
}

/* The gradient from statistics that the caller has checked. */
static void gradient_unchecked(const ebm_bm *bm, const float *pos_v,
                               const float *pos_h, size_t n_pos,
                               const float *neg_v, const float *neg_h,
                               size_t n_neg, ebm_bm *gradient,
                               double *scratch)
{
    size_t d = bm->n_visible, k = bm->n_hidden;
    double *mean_pos = scratch, *mean_neg = scratch + d + k;

    column_means(pos_v, n_pos, d, 1.0 / (double)n_pos, mean_pos);
    column_means(neg_v, n_neg, d, 1.0 / (double)n_neg, mean_neg);
    for (size_t i = 0; i < d; i++)
        gradient->visible_bias[i] = (float)(mean_pos[i] - mean_neg[i]);
    if (k > 0) {
        column_means(pos_h, n_pos, k, 1.0 / (double)n_pos, mean_pos);
        column_means(neg_h, n_neg, k, 1.0 / (double)n_neg, mean_neg);
        for (size_t j = 0; j < k; j++)
            gradient->hidden_bias[j] = (float)(mean_pos[j] - mean_neg[j]);
    }
    if (bm->weights != NULL) {
        ebm_gemm(true, false, d, k, n_pos, 1.0f / (float)n_pos, pos_v, d,
                 pos_h, k, 0.0f, gradient->weights, k, NULL, NULL);
        ebm_gemm(true, false, d, k, n_neg, -1.0f / (float)n_neg, neg_v, d,
                 neg_h, k, 1.0f, gradient->weights, k, NULL, NULL);
    }
    if (bm->visible_couplings != NULL)
        lateral_gradient(pos_v, n_pos, neg_v, n_neg, d, bm->graph[0].mask,
                         gradient->visible_couplings);
    if (bm->hidden_couplings != NULL)
        lateral_gradient(pos_h, n_pos, neg_h, n_neg, k, bm->graph[1].mask,
                         gradient->hidden_couplings);
}

/* Checks one phase's rows: visible always, hidden when K > 0. */
static ebm_status check_phase(const ebm_bm *bm, const float *visible,
                              const float *hidden, size_t rows,
                              const char *visible_name,
                              const char *hidden_name)
{
    ebm_status status =
        ebm_check_batch(visible, rows, bm->n_visible, visible_name);

    if (status == EBM_OK && bm->n_hidden > 0)
        status = ebm_check_batch(hidden, rows, bm->n_hidden, hidden_name);
    if (status == EBM_OK && rows > (size_t)INT32_MAX)
        status = ebm_fail(EBM_ERR_LIMIT,
                          "%s has %zu rows; at most %d per call",
                          visible_name, rows, INT32_MAX);
    return status;
}

ebm_status ebm_bm_gradient(const ebm_bm *bm, const float *positive_visible,
                           const float *positive_hidden, size_t n_positive,
                           const float *negative_visible,
                           const float *negative_hidden, size_t n_negative,
                           ebm_bm *gradient)
{
    double *scratch;
    ebm_status status = ebm_check_pointer(bm, "bm");

    if (status == EBM_OK)
        status = check_same_shape(bm, gradient, "gradient");
    if (status == EBM_OK)
        status = check_phase(bm, positive_visible, positive_hidden,
                             n_positive, "positive_visible",
                             "positive_hidden");
    if (status == EBM_OK)
        status = check_phase(bm, negative_visible, negative_hidden,
                             n_negative, "negative_visible",
                             "negative_hidden");
    if (status != EBM_OK)
        return status;
    scratch = malloc(2 * (bm->n_visible + bm->n_hidden) * sizeof(double));
    if (scratch == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "cannot allocate gradient sums");
    gradient_unchecked(bm, positive_visible, positive_hidden, n_positive,
                       negative_visible, negative_hidden, n_negative,
                       gradient, scratch);
    free(scratch);
    return EBM_OK;
}

/* Accumulates weight * s and weight * s s' into first (n) and second
 * (n x n). */
static void add_moments(const double *s, size_t n, double weight,
                        double *first, double *second)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == 0.0)
            continue;
        first[i] += weight;
        for (size_t j = 0; j < n; j++)
            second[i * n + j] += weight * s[j];
    }
}

/* -E(s) for the joint state s, from the double joint parameters. */
static double negative_energy(const double *joint, const double *bias,
                              const double *s, size_t n)
{
    double value = 0.0;

    for (size_t i = 0; i < n; i++) {
        double row = 0.0;

        if (s[i] == 0.0)
            continue;
        for (size_t j = 0; j < n; j++)
            row += joint[i * n + j] * s[j];
        value += (bias[i] + 0.5 * row) * s[i];
    }
    return value;
}

/*
 * Moments of the joint state under p(s) restricted to states whose first
 * `fixed` units equal s[0 .. fixed), normalised, added with weight `scale`
 * into first and second. The free units are enumerated.
 */
static void exact_moments(const double *joint, const double *bias, size_t n,
                          size_t fixed, double *s, double scale,
                          double *first, double *second, double *terms)
{
    size_t free_units = n - fixed;
    uint64_t states = (uint64_t)1 << free_units;
    double max = -INFINITY, sum = 0.0;

    for (uint64_t x = 0; x < states; x++) {
        for (size_t j = 0; j < free_units; j++)
            s[fixed + j] = (double)((x >> j) & 1u);
        terms[x] = negative_energy(joint, bias, s, n);
        if (terms[x] > max)
            max = terms[x];
    }
    for (uint64_t x = 0; x < states; x++)
        sum += exp(terms[x] - max);
    for (uint64_t x = 0; x < states; x++) {
        for (size_t j = 0; j < free_units; j++)
            s[fixed + j] = (double)((x >> j) & 1u);
        add_moments(s, n, scale * exp(terms[x] - max) / sum, first, second);
    }
}

ebm_status ebm_bm_exact_gradient(const ebm_bm *bm, const float *visible,
                                 size_t rows, ebm_bm *gradient)
{
    size_t d, k, n;
    double *joint, *bias, *s, *first, *second, *terms;
    ebm_status status = ebm_check_pointer(bm, "bm");

    if (status == EBM_OK)
        status = check_same_shape(bm, gradient, "gradient");
    if (status == EBM_OK)
        status = ebm_check_batch(visible, rows, bm->n_visible, "visible");
    if (status == EBM_OK)
        status = ebm_check_binary(visible, rows, bm->n_visible, "visible");
    if (status != EBM_OK)
        return status;
    d = bm->n_visible;
    k = bm->n_hidden;
    n = d + k;
    if (n > EBM_BM_EXACT_GRADIENT_MAX_UNITS)
        return ebm_fail(EBM_ERR_LIMIT,
                        "the model has %zu units; the exact gradient "
                        "enumerates at most %d",
                        n, EBM_BM_EXACT_GRADIENT_MAX_UNITS);
    joint = calloc(n * n, sizeof(double));
    bias = calloc(n, sizeof(double));
    s = calloc(n, sizeof(double));
    first = calloc(2 * n, sizeof(double));
    second = calloc(2 * n * n, sizeof(double));
    terms = malloc(((size_t)1 << n) * sizeof(double));
    if (joint == NULL || bias == NULL || s == NULL || first == NULL ||
        second == NULL || terms == NULL) {
        status = ebm_fail(EBM_ERR_NOMEM,
                          "cannot allocate the enumeration workspace");
        goto done;
    }
    for (size_t i = 0; i < d; i++) {
        bias[i] = bm->visible_bias[i];
        for (size_t j = 0; j < d && bm->visible_couplings != NULL; j++)
            joint[i * n + j] = bm->visible_couplings[i * d + j];
        for (size_t j = 0; j < k && bm->weights != NULL; j++)
            joint[i * n + d + j] = joint[(d + j) * n + i] =
                bm->weights[i * k + j];
    }
    for (size_t i = 0; i < k; i++) {
        bias[d + i] = bm->hidden_bias[i];
        for (size_t j = 0; j < k && bm->hidden_couplings != NULL; j++)
            joint[(d + i) * n + d + j] = bm->hidden_couplings[i * k + j];
    }

    /* Positive phase: each row with its hidden units summed out. */
    for (size_t r = 0; r < rows; r++) {
        for (size_t i = 0; i < d; i++)
            s[i] = visible[r * d + i];
        exact_moments(joint, bias, n, d, s, 1.0 / (double)rows, first,
                      second, terms);
    }
    /* Negative phase: every joint state. */
    exact_moments(joint, bias, n, 0, s, 1.0, first + n, second + n * n,
                  terms);

    for (size_t i = 0; i < d; i++)
        gradient->visible_bias[i] = (float)(first[i] - first[n + i]);
    for (size_t j = 0; j < k; j++)
        gradient->hidden_bias[j] = (float)(first[d + j] - first[n + d + j]);
#define MOMENT(i, j) (second[(i) * n + (j)] - second[n * n + (i) * n + (j)])
    for (size_t i = 0; i < d && bm->weights != NULL; i++)
        for (size_t j = 0; j < k; j++)
            gradient->weights[i * k + j] = (float)MOMENT(i, d + j);
    for (size_t i = 0; i < d && bm->visible_couplings != NULL; i++)
        for (size_t j = 0; j < d; j++) {
            bool coupled = i != j && (bm->graph[0].mask == NULL ||
                                      bm->graph[0].mask[i * d + j]);
            gradient->visible_couplings[i * d + j] =
                coupled ? (float)MOMENT(i, j) : 0.0f;
        }
    for (size_t i = 0; i < k && bm->hidden_couplings != NULL; i++)
        for (size_t j = 0; j < k; j++) {
            bool coupled = i != j && (bm->graph[1].mask == NULL ||
                                      bm->graph[1].mask[i * k + j]);
            gradient->hidden_couplings[i * k + j] =
                coupled ? (float)MOMENT(d + i, d + j) : 0.0f;
        }
#undef MOMENT
done:
    free(joint);
    free(bias);
    free(s);
    free(first);
    free(second);
    free(terms);
    return status;
}

/* ------------------------------------------------------------------------ */
/* Trainer                                                                  */
/* ------------------------------------------------------------------------ */

struct ebm_bm_trainer {
    size_t n_visible;
    size_t n_hidden;
    unsigned couplings;
    ebm_train_config config;
    ebm_bm_options options;
    size_t chains;          /* rows of the negative phase for PCD */
    float *pos_v;           /* batch_size x D */
    float *pos_h;           /* batch_size x K */
    float *input;           /* batch_size x K: b + v W for mean field */
    float *field;           /* batch_size x K */
    float *neg_v;           /* max(batch_size, chains) x D */
    float *neg_h;           /* max(batch_size, chains) x K */
    unsigned char *clamp;   /* D ones: the positive phase's clamp */
    double *scratch;        /* 2 (D + K) */
    ebm_bm *gradient;
    ebm_bm *velocity;
    struct ebm_bm_gibbs_buffers gibbs; /* for max(batch_size, chains) */
    ebm_rng rng;
    bool chains_ready;
};

ebm_status ebm_bm_options_init(ebm_bm_options *options)
{
    ebm_status status = ebm_check_pointer(options, "options");

    if (status != EBM_OK)
        return status;
    *options = (ebm_bm_options){.positive = EBM_POSITIVE_MEAN_FIELD,
                                .positive_steps = 10,
                                .damping = 0.5f,
                                .sampler = EBM_SAMPLER_AUTO};
    return EBM_OK;
}

static ebm_status check_config(const ebm_train_config *config,
                               const ebm_bm_options *options)
{
    ebm_status status = ebm_check_train_config(config);

    if (status != EBM_OK)
        return status;
    if (options->positive != EBM_POSITIVE_MEAN_FIELD &&
        options->positive != EBM_POSITIVE_GIBBS)
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "positive is %d; expected EBM_POSITIVE_MEAN_FIELD "
                        "or EBM_POSITIVE_GIBBS",
                        (int)options->positive);
    if (options->positive_steps == 0)
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "positive_steps is 0; expected at least 1");
    if (!(options->damping >= 0.0f && options->damping < 1.0f))
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "damping is %g; expected a value in [0, 1)",
                        (double)options->damping);
    if (options->sampler < EBM_SAMPLER_AUTO ||
        options->sampler > EBM_SAMPLER_COLORED)
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "sampler is %d; expected an ebm_bm_sampler value",
                        (int)options->sampler);
    return EBM_OK;
}

void ebm_bm_trainer_destroy(ebm_bm_trainer *trainer)
{
    if (trainer == NULL)
        return;
    ebm_free_floats(trainer->pos_v);
    ebm_free_floats(trainer->pos_h);
    ebm_free_floats(trainer->input);
    ebm_free_floats(trainer->field);
    ebm_free_floats(trainer->neg_v);
    ebm_free_floats(trainer->neg_h);
    free(trainer->clamp);
    free(trainer->scratch);
    ebm_bm_destroy(trainer->gradient);
    ebm_bm_destroy(trainer->velocity);
    ebm_bm_gibbs_buffers_free(&trainer->gibbs);
    free(trainer);
}

ebm_status ebm_bm_trainer_create(const ebm_bm *bm,
                                 const ebm_train_config *config,
                                 const ebm_bm_options *options,
                                 ebm_bm_trainer **out)
{
    ebm_bm_trainer *t;
    size_t d, k, b, rows, check;
    ebm_status status = ebm_check_pointer(bm, "bm");

    if (status == EBM_OK)
        status = ebm_check_pointer(config, "config");
    if (status == EBM_OK)
        status = ebm_check_pointer(options, "options");
    if (status == EBM_OK)
        status = ebm_check_pointer(out, "out");
    if (status == EBM_OK)
        status = check_config(config, options);
    if (status != EBM_OK)
        return status;
    d = bm->n_visible;
    k = bm->n_hidden;
    b = config->batch_size;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "cannot allocate the trainer");
    t->n_visible = d;
    t->n_hidden = k;
    t->couplings = bm->couplings;
    t->config = *config;
    t->options = *options;
    t->chains = config->method == EBM_PCD
                    ? (config->chains > 0 ? config->chains : b)
                    : 0;
    rows = ebm_max_size(b, t->chains);
    status = ebm_mul_size(rows, d + k, &check, "chains x units");
    if (status != EBM_OK) {
        free(t);
        return status;
    }
    t->pos_v = ebm_alloc_floats(b * d);
    t->pos_h = ebm_alloc_floats(b * k);
    t->input = ebm_alloc_floats(b * k);
    t->field = ebm_alloc_floats(b * k);
    t->neg_v = ebm_alloc_floats(rows * d);
    t->neg_h = ebm_alloc_floats(rows * k);
    t->clamp = malloc(d);
    t->scratch = malloc(2 * (d + k) * sizeof(double));
    if (t->pos_v == NULL || t->pos_h == NULL ||
        t->input == NULL || t->field == NULL || t->neg_v == NULL ||
        t->neg_h == NULL || t->clamp == NULL || t->scratch == NULL) {
        ebm_bm_trainer_destroy(t);
        return ebm_fail(EBM_ERR_NOMEM,
                        "cannot allocate the trainer's buffers for batch "
                        "%zu and %zu chains",
                        b, t->chains);
    }
    memset(t->clamp, 1, d);
    status = ebm_bm_clone(bm, &t->gradient);
    if (status == EBM_OK)
        status = ebm_bm_clone(bm, &t->velocity);
    if (status == EBM_OK)
        status = ebm_bm_gibbs_buffers_alloc(bm, rows, &t->gibbs);
    if (status != EBM_OK) {
        ebm_bm_trainer_destroy(t);
        return status;
    }
    memset(t->velocity->params, 0,
           ebm_bm_param_count(bm) * sizeof(float));
    ebm_rng_init(&t->rng, config->seed);
    *out = t;
    return EBM_OK;
}

/* velocity' = momentum velocity + rate (gradient - decay parameter), with
 * decay on W, V and U only; then parameter += velocity', unless some
 * parameter would stop being finite. */
static ebm_status apply_update(ebm_bm_trainer *t, ebm_bm *bm)
{
    size_t count = ebm_bm_param_count(bm);
    size_t biases = bm->n_visible + bm->n_hidden;
    float *p = bm->params, *g = t->gradient->params;
    float *v = t->velocity->params;
    float rate = t->config.learning_rate, momentum = t->config.momentum;
    float decay = t->config.weight_decay;

    for (size_t i = 0; i < count; i++) {
        float step = g[i] - (i >= biases ? decay * p[i] : 0.0f);

        g[i] = momentum * v[i] + rate * step;
        if (!isfinite(p[i] + g[i]))
            return ebm_fail(EBM_ERR_DIVERGED,
                            "parameter %zu would become %g; lower the "
                            "learning rate",
                            i, (double)(p[i] + g[i]));
    }
    for (size_t i = 0; i < count; i++) {
        v[i] = g[i];
        p[i] += g[i];
    }
    return EBM_OK;
}

/* Makes one update from the `rows` checked rows in trainer->pos_v. */
static ebm_status step_unchecked(ebm_bm_trainer *t, ebm_bm *bm, size_t rows)
{
    size_t d = t->n_visible, k = t->n_hidden, n_neg;

    if (k > 0 && t->options.positive == EBM_POSITIVE_MEAN_FIELD) {
        hidden_input(bm, t->pos_v, rows, t->input);
        mean_field_rows(bm, t->input, rows, t->options.positive_steps,
                        t->options.damping, 1.0f, t->pos_h, t->field);
    } else if (k > 0) {
        memset(t->pos_h, 0, rows * k * sizeof(float));
        ebm_bm_gibbs_run(bm, t->pos_v, t->pos_h, rows,
                         t->options.positive_steps, 1.0f, t->clamp,
                         t->options.sampler, &t->rng, &t->gibbs);
    }

    if (t->config.method == EBM_CD) {
        n_neg = rows;
        memcpy(t->neg_v, t->pos_v, rows * d * sizeof(float));
        if (k > 0 && t->options.positive == EBM_POSITIVE_MEAN_FIELD)
            ebm_rng_bernoulli(t->rng.seed, t->rng.stream++, 0, rows * k,
                              t->pos_h, t->neg_h);
        else if (k > 0)
            memcpy(t->neg_h, t->pos_h, rows * k * sizeof(float));
    } else {
        n_neg = t->chains;
        if (!t->chains_ready) {
            ebm_rng_fill_bernoulli(&t->rng, 0.5f, t->neg_v, n_neg * d);
            if (k > 0)
                ebm_rng_fill_bernoulli(&t->rng, 0.5f, t->neg_h, n_neg * k);
            t->chains_ready = true;
        }
    }
    ebm_bm_gibbs_run(bm, t->neg_v, k > 0 ? t->neg_h : NULL, n_neg,
                     t->config.gibbs_steps, 1.0f, NULL, t->options.sampler,
                     &t->rng, &t->gibbs);
    gradient_unchecked(bm, t->pos_v, t->pos_h, rows, t->neg_v, t->neg_h,
                       n_neg, t->gradient, t->scratch);
    return apply_update(t, bm);
}

static ebm_status check_step(const ebm_bm_trainer *t, const ebm_bm *bm,
                             const float *batch, size_t rows)
{
    ebm_status status = ebm_check_pointer(t, "trainer");

    if (status == EBM_OK)
        status = ebm_check_pointer(bm, "bm");
    if (status != EBM_OK)
        return status;
    if (bm->n_visible != t->n_visible || bm->n_hidden != t->n_hidden ||
        bm->couplings != t->couplings)
        return ebm_fail(EBM_ERR_MISMATCH,
                        "the model is %zu x %zu with couplings %#x; the "
                        "trainer was made for %zu x %zu with %#x",
                        bm->n_visible, bm->n_hidden, bm->couplings,
                        t->n_visible, t->n_hidden, t->couplings);
    status = ebm_check_batch(batch, rows, bm->n_visible, "batch");
    if (status == EBM_OK)
        status = ebm_check_binary(batch, rows, bm->n_visible, "batch");
    return status;
}

ebm_status ebm_bm_trainer_step(ebm_bm_trainer *trainer, ebm_bm *bm,
                               const float *batch, size_t rows)
{
    ebm_status status = check_step(trainer, bm, batch, rows);

    if (status != EBM_OK)
        return status;
    if (rows > trainer->config.batch_size)
        return ebm_fail(EBM_ERR_SIZE,
                        "the batch has %zu rows; the trainer takes at most "
                        "%zu",
                        rows, trainer->config.batch_size);
    memcpy(trainer->pos_v, batch, rows * bm->n_visible * sizeof(float));
    return step_unchecked(trainer, bm, rows);
}

ebm_status ebm_bm_trainer_fit(ebm_bm_trainer *trainer, ebm_bm *bm,
                              const float *data, size_t rows,
                              unsigned epochs, ebm_bm_epoch_callback callback,
                              void *user_data)
{
    size_t *order, d, batch;
    ebm_status status = check_step(trainer, bm, data, rows);

    if (status != EBM_OK)
        return status;
    if (epochs == 0)
        return ebm_fail(EBM_ERR_ARGUMENT, "epochs is 0; expected >= 1");
    order = malloc(rows * sizeof(*order));
    if (order == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "cannot allocate the row order of "
                                       "%zu rows",
                        rows);
    d = bm->n_visible;
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
            status = step_unchecked(trainer, bm, n);
        }
        if (status == EBM_OK && callback != NULL &&
            callback(bm, epoch, user_data) != 0)
            status = EBM_STOPPED;
    }
    free(order);
    return status;
}
