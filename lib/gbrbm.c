/*
 * Gaussian-Bernoulli RBMs: the model, its conditionals, free energy,
 * reconstruction error, exact and AIS partition functions, and the
 * singular values of W. The energy is written out in ebm.h.
 */
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ais_internal.h"
#include "gbrbm_internal.h"
#include "parallel.h"
#include "rng.h"
#include "vmath.h"

/* States per block of the exact enumeration. */
#define STATE_BLOCK ((size_t)2048)

/* log(2 pi) / 2. */
#define HALF_LOG_TWO_PI 0.918938533204672742

void ebm_gbrbm_refresh(ebm_gbrbm *model)
{
    for (size_t i = 0; i < model->n_visible; i++) {
        double log_sigma = model->log_sigma[i];

        model->sigma[i] = (float)exp(log_sigma);
        model->inv_var[i] = (float)exp(-2.0 * log_sigma);
    }
}

ebm_status ebm_gbrbm_create(size_t n_visible, size_t n_hidden,
                            ebm_gbrbm **out)
{
    ebm_gbrbm *model;
    size_t d = n_visible, k = n_hidden;
    ebm_status status = ebm_check_pointer(out, "out");

    if (status == EBM_OK)
        status = ebm_check_rbm_shape(d, k);
    if (status != EBM_OK)
        return status;
    model = calloc(1, sizeof(*model));
    if (model == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "cannot allocate the model");
    model->n_visible = d;
    model->n_hidden = k;
    model->params = ebm_alloc_floats(ebm_gbrbm_param_count(model));
    model->sigma = ebm_alloc_floats(d);
    model->inv_var = ebm_alloc_floats(d);
    if (model->params == NULL || model->sigma == NULL ||
        model->inv_var == NULL) {
        ebm_gbrbm_destroy(model);
        return ebm_fail(EBM_ERR_NOMEM,
                        "cannot allocate the parameters of a %zu x %zu "
                        "model",
                        d, k);
    }
    memset(model->params, 0, ebm_gbrbm_param_count(model) * sizeof(float));
    model->weights = model->params;
    model->visible_bias = model->weights + d * k;
    model->hidden_bias = model->visible_bias + d;
    model->log_sigma = model->hidden_bias + k;
    ebm_gbrbm_refresh(model);
    *out = model;
    return EBM_OK;
}

void ebm_gbrbm_destroy(ebm_gbrbm *model)
{
    if (model == NULL)
        return;
    ebm_free_floats(model->params);
    ebm_free_floats(model->sigma);
    ebm_free_floats(model->inv_var);
    free(model);
}

ebm_status ebm_gbrbm_clone(const ebm_gbrbm *model, ebm_gbrbm **out)
{
    ebm_gbrbm *copy;
    ebm_status status = ebm_check_pointer(model, "model");

    if (status == EBM_OK)
        status = ebm_check_pointer(out, "out");
    if (status == EBM_OK)
        status = ebm_gbrbm_create(model->n_visible, model->n_hidden, &copy);
    if (status != EBM_OK)
        return status;
    memcpy(copy->params, model->params,
           ebm_gbrbm_param_count(model) * sizeof(float));
    ebm_gbrbm_refresh(copy);
    *out = copy;
    return EBM_OK;
}

ebm_status ebm_gbrbm_shape(const ebm_gbrbm *model, size_t *n_visible,
                           size_t *n_hidden)
{
    ebm_status status = ebm_check_pointer(model, "model");

    if (status != EBM_OK)
        return status;
    if (n_visible != NULL)
        *n_visible = model->n_visible;
    if (n_hidden != NULL)
        *n_hidden = model->n_hidden;
    return EBM_OK;
}

const float *ebm_gbrbm_weights(const ebm_gbrbm *model)
{
    return model != NULL ? model->weights : NULL;
}

const float *ebm_gbrbm_visible_bias(const ebm_gbrbm *model)
{
    return model != NULL ? model->visible_bias : NULL;
}

const float *ebm_gbrbm_hidden_bias(const ebm_gbrbm *model)
{
    return model != NULL ? model->hidden_bias : NULL;
}

const float *ebm_gbrbm_log_sigma(const ebm_gbrbm *model)
{
    return model != NULL ? model->log_sigma : NULL;
}

static ebm_status set_array(ebm_gbrbm *model, float *target,
                            const float *source, size_t rows, size_t cols,
                            const char *name)
{
    ebm_status status = ebm_check_pointer(source, name);

    if (status == EBM_OK)
        status = ebm_check_finite(source, rows, cols, name);
    if (status != EBM_OK)
        return status;
    memcpy(target, source, rows * cols * sizeof(float));
    ebm_gbrbm_refresh(model);
    return EBM_OK;
}

ebm_status ebm_gbrbm_set_weights(ebm_gbrbm *model, const float *weights)
{
    if (model == NULL)
        return ebm_fail(EBM_ERR_NULL, "model is NULL");
    return set_array(model, model->weights, weights, model->n_visible,
                     model->n_hidden, "weights");
}

ebm_status ebm_gbrbm_set_visible_bias(ebm_gbrbm *model, const float *bias)
{
    if (model == NULL)
        return ebm_fail(EBM_ERR_NULL, "model is NULL");
    return set_array(model, model->visible_bias, bias, 1, model->n_visible,
                     "visible bias");
}

ebm_status ebm_gbrbm_set_hidden_bias(ebm_gbrbm *model, const float *bias)
{
    if (model == NULL)
        return ebm_fail(EBM_ERR_NULL, "model is NULL");
    if (model->n_hidden == 0)
        return ebm_check_pointer(bias, "hidden bias");
    return set_array(model, model->hidden_bias, bias, 1, model->n_hidden,
                     "hidden bias");
}

ebm_status ebm_gbrbm_check_log_sigma(const float *log_sigma, size_t count,
                                     const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (!(fabsf(log_sigma[i]) <= EBM_GBRBM_LOG_SIGMA_MAX))
            return ebm_fail(EBM_ERR_DOMAIN,
                            "%s[%zu]: log sigma is %g; expected a finite "
                            "value in [-%g, %g] (sigma finite and > 0)",
                            name, i, (double)log_sigma[i],
                            (double)EBM_GBRBM_LOG_SIGMA_MAX,
                            (double)EBM_GBRBM_LOG_SIGMA_MAX);
    return EBM_OK;
}

ebm_status ebm_gbrbm_set_sigma(ebm_gbrbm *model, const float *sigma)
{
    size_t d;
    float *log_sigma;
    ebm_status status;

    if (model == NULL)
        return ebm_fail(EBM_ERR_NULL, "model is NULL");
    status = ebm_check_pointer(sigma, "sigma");
    if (status != EBM_OK)
        return status;
    d = model->n_visible;
    log_sigma = ebm_alloc_floats(d);
    if (log_sigma == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "cannot allocate %zu values", d);
    for (size_t i = 0; i < d; i++)
        log_sigma[i] = sigma[i] > 0.0f ? logf(sigma[i]) : NAN;
    status = ebm_gbrbm_check_log_sigma(log_sigma, d, "sigma");
    if (status == EBM_OK) {
        memcpy(model->log_sigma, log_sigma, d * sizeof(float));
        ebm_gbrbm_refresh(model);
    }
    ebm_free_floats(log_sigma);
    return status;
}

ebm_status ebm_gbrbm_initialize(ebm_gbrbm *model, const float *data,
                                size_t rows, float weight_stddev,
                                uint64_t seed)
{
    const double two_pi = 6.283185307179586;
    size_t d, k, count;
    float uniforms[256];
    ebm_status status = ebm_check_pointer(model, "model");

    if (status == EBM_OK)
        status = ebm_check_pointer(data, "data");
    if (status != EBM_OK)
        return status;
    if (rows == 0)
        return ebm_fail(EBM_ERR_SIZE, "data has 0 rows");
    if (!(weight_stddev >= 0.0f && weight_stddev <= 1e30f))
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "weight_stddev is %g; expected a value in [0, 1e30]",
                        (double)weight_stddev);
    d = model->n_visible;
    k = model->n_hidden;
    status = ebm_mul_size(rows, d, &count, "data");
    if (status == EBM_OK)
        status = ebm_check_finite(data, rows, d, "data");
    if (status != EBM_OK)
        return status;

    /* a = the column means; sigma = the column standard deviations, raised
     * to a tenth of their mean. A near-constant column (an image border)
     * would otherwise get a tiny sigma, and 1 / sigma^2 scales its
     * gradients and fields until training diverges. */
    {
        double sd_sum = 0.0, floor;

        for (size_t i = 0; i < d; i++) {
            double sum = 0.0, squares = 0.0, mean;

            for (size_t r = 0; r < rows; r++)
                sum += data[r * d + i];
            mean = sum / (double)rows;
            for (size_t r = 0; r < rows; r++)
                squares +=
                    (data[r * d + i] - mean) * (data[r * d + i] - mean);
            model->visible_bias[i] = (float)mean;
            model->sigma[i] = (float)sqrt(squares / (double)rows);
            sd_sum += model->sigma[i];
        }
        floor = 0.1 * sd_sum / (double)d;
        if (floor < 1e-6)
            floor = 1.0;
        for (size_t i = 0; i < d; i++)
            model->log_sigma[i] =
                (float)log(model->sigma[i] > floor ? model->sigma[i] : floor);
    }
    /* W ~ N(0, weight_stddev^2) by Box-Muller, as ebm_rbm_initialize. */
    count = d * k;
    for (size_t start = 0; start < count; start += 256) {
        size_t take = ebm_min_size(256, count - start);
        size_t pairs = (take + 1) / 2;

        ebm_rng_fill_uniform(seed, EBM_STREAM_INITIALIZE, start, 2 * pairs,
                             uniforms);
        for (size_t m = 0; m < pairs; m++) {
            double radius = sqrt(-2.0 * log(uniforms[2 * m]));
            double angle = two_pi * uniforms[2 * m + 1];
            size_t j = start + 2 * m;

            model->weights[j] = (float)(weight_stddev * radius * cos(angle));
            if (j + 1 < count)
                model->weights[j + 1] =
                    (float)(weight_stddev * radius * sin(angle));
        }
    }
    memset(model->hidden_bias, 0, k * sizeof(float));
    ebm_gbrbm_refresh(model);
    return EBM_OK;
}

/* ------------------------------------------------------------------------ */
/* Conditionals                                                             */
/* ------------------------------------------------------------------------ */

void ebm_gbrbm_hidden_input(const ebm_gbrbm *model, const float *visible,
                            size_t rows, float *scaled, float *out)
{
    size_t d = model->n_visible, k = model->n_hidden;

    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < d; i++)
            scaled[r * d + i] = visible[r * d + i] * model->inv_var[i];
    for (size_t r = 0; r < rows; r++)
        memcpy(out + r * k, model->hidden_bias, k * sizeof(float));
    ebm_gemm(false, false, rows, k, d, 1.0f, scaled, d, model->weights, k,
             1.0f, out, k, NULL, NULL);
}

void ebm_gbrbm_visible_mean(const ebm_gbrbm *model, const float *hidden,
                            size_t rows, float scale, float *out)
{
    size_t d = model->n_visible, k = model->n_hidden;

    for (size_t r = 0; r < rows; r++)
        memcpy(out + r * d, model->visible_bias, d * sizeof(float));
    ebm_gemm(false, true, rows, d, k, scale, hidden, k, model->weights, k,
             1.0f, out, d, NULL, NULL);
}

void ebm_rng_fill_normal(uint64_t seed, uint64_t stream, uint64_t first,
                         size_t count, float *out)
{
    const double two_pi = 6.283185307179586;
    float uniforms[256];

    for (size_t start = 0; start < count; start += 256) {
        size_t take = ebm_min_size(256, count - start);
        size_t pairs = (take + 1) / 2;

        ebm_rng_fill_uniform(seed, stream, first + start, 2 * pairs,
                             uniforms);
        for (size_t m = 0; m < pairs; m++) {
            double radius = sqrt(-2.0 * log(uniforms[2 * m]));
            double angle = two_pi * uniforms[2 * m + 1];
            size_t j = start + 2 * m;

            out[j] = (float)(radius * cos(angle));
            if (j + 1 < count)
                out[j + 1] = (float)(radius * sin(angle));
        }
    }
}

void ebm_gbrbm_sample_visible(const ebm_gbrbm *model, float *values,
                              size_t rows, float temperature, uint64_t seed,
                              uint64_t stream)
{
    size_t d = model->n_visible;
    float root_t = sqrtf(temperature);
    float noise[256];

    for (size_t start = 0; start < rows * d; start += 256) {
        size_t take = ebm_min_size(256, rows * d - start);

        /* The noise of element e is normal number e of the stream. */
        ebm_rng_fill_normal(seed, stream, start, take, noise);
        for (size_t e = 0; e < take; e++) {
            size_t i = (start + e) % d;

            values[start + e] += root_t * model->sigma[i] * noise[e];
        }
    }
}

static ebm_status check_rows(const ebm_gbrbm *model, const float *values,
                             size_t rows, size_t cols, const char *name)
{
    ebm_status status = ebm_check_pointer(model, "model");

    if (status == EBM_OK)
        status = ebm_check_pointer(values, name);
    if (status != EBM_OK)
        return status;
    if (rows == 0)
        return ebm_fail(EBM_ERR_SIZE, "%s has 0 rows", name);
    status = ebm_mul_size(rows, ebm_max_size(cols, 1), &(size_t){0}, name);
    if (status == EBM_OK)
        status = ebm_check_finite(values, rows, cols, name);
    return status;
}

ebm_status ebm_gbrbm_hidden_given_visible(const ebm_gbrbm *model,
                                          const float *visible, size_t rows,
                                          float temperature, float *prob)
{
    size_t d, k;
    float *scaled;
    ebm_status status = check_rows(model, visible, rows,
                                   model != NULL ? model->n_visible : 0,
                                   "visible");

    if (status == EBM_OK)
        status = ebm_check_pointer(prob, "prob");
    if (status == EBM_OK)
        status = ebm_check_positive(temperature, "temperature");
    if (status != EBM_OK)
        return status;
    d = model->n_visible;
    k = model->n_hidden;
    scaled = ebm_alloc_floats(ebm_min_size(rows, EBM_ROW_CHUNK) * d);
    if (scaled == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "cannot allocate a workspace");
    for (size_t first = 0; first < rows; first += EBM_ROW_CHUNK) {
        size_t n = ebm_min_size(EBM_ROW_CHUNK, rows - first);
        float *out = prob + first * k;

        ebm_gbrbm_hidden_input(model, visible + first * d, n, scaled, out);
        for (size_t e = 0; e < n * k; e++)
            out[e] = ebm_vsigmoid(out[e] / temperature);
    }
    ebm_free_floats(scaled);
    return EBM_OK;
}

ebm_status ebm_gbrbm_visible_given_hidden(const ebm_gbrbm *model,
                                          const float *hidden, size_t rows,
                                          float temperature, ebm_rng *rng,
                                          float *mean, float *sample)
{
    size_t d;
    ebm_status status = ebm_check_pointer(model, "model");

    if (status == EBM_OK)
        status = ebm_check_pointer(mean, "mean");
    if (status == EBM_OK && sample != NULL)
        status = ebm_check_pointer(rng, "rng");
    if (status == EBM_OK && model->n_hidden > 0)
        status = ebm_check_batch(hidden, rows, model->n_hidden, "hidden");
    if (status == EBM_OK && model->n_hidden == 0 && rows == 0)
        status = ebm_fail(EBM_ERR_SIZE, "rows is 0");
    if (status == EBM_OK)
        status = ebm_check_positive(temperature, "temperature");
    if (status != EBM_OK)
        return status;
    d = model->n_visible;
    ebm_gbrbm_visible_mean(model, hidden, rows, 1.0f, mean);
    if (sample != NULL) {
        memcpy(sample, mean, rows * d * sizeof(float));
        ebm_gbrbm_sample_visible(model, sample, rows, temperature, rng->seed,
                                 rng->stream++);
    }
    return EBM_OK;
}

/* ------------------------------------------------------------------------ */
/* Free energy, reconstruction error, likelihood                            */
/* ------------------------------------------------------------------------ */

ebm_status ebm_gbrbm_free_energy(const ebm_gbrbm *model,
                                 const float *visible, size_t rows,
                                 double *free_energy)
{
    size_t d, k;
    float *scaled, *input;
    ebm_status status = check_rows(model, visible, rows,
                                   model != NULL ? model->n_visible : 0,
                                   "visible");

    if (status == EBM_OK)
        status = ebm_check_pointer(free_energy, "free_energy");
    if (status != EBM_OK)
        return status;
    d = model->n_visible;
    k = model->n_hidden;
    scaled = ebm_alloc_floats(ebm_min_size(rows, EBM_ROW_CHUNK) * d);
    input = ebm_alloc_floats(ebm_min_size(rows, EBM_ROW_CHUNK) * k);
    if (scaled == NULL || input == NULL) {
        ebm_free_floats(scaled);
        ebm_free_floats(input);
        return ebm_fail(EBM_ERR_NOMEM, "cannot allocate a workspace");
    }
    for (size_t first = 0; first < rows; first += EBM_ROW_CHUNK) {
        size_t n = ebm_min_size(EBM_ROW_CHUNK, rows - first);
        const float *v = visible + first * d;

        ebm_gbrbm_hidden_input(model, v, n, scaled, input);
        for (size_t r = 0; r < n; r++) {
            double quadratic = 0.0, softplus = 0.0;

            for (size_t i = 0; i < d; i++) {
                double diff = (double)v[r * d + i] - model->visible_bias[i];

                quadratic += 0.5 * diff * diff * model->inv_var[i];
            }
            for (size_t j = 0; j < k; j++)
                softplus += ebm_vsoftplus(input[r * k + j]);
            free_energy[first + r] = quadratic - softplus;
        }
    }
    ebm_free_floats(scaled);
    ebm_free_floats(input);
    return EBM_OK;
}

ebm_status ebm_gbrbm_reconstruction_error(const ebm_gbrbm *model,
                                          const float *visible, size_t rows,
                                          double *error)
{
    size_t d, k;
    float *scaled, *prob, *mean;
    double total = 0.0;
    ebm_status status = check_rows(model, visible, rows,
                                   model != NULL ? model->n_visible : 0,
                                   "visible");

    if (status == EBM_OK)
        status = ebm_check_pointer(error, "error");
    if (status != EBM_OK)
        return status;
    d = model->n_visible;
    k = model->n_hidden;
    scaled = ebm_alloc_floats(ebm_min_size(rows, EBM_ROW_CHUNK) * d);
    prob = ebm_alloc_floats(ebm_min_size(rows, EBM_ROW_CHUNK) * k);
    mean = ebm_alloc_floats(ebm_min_size(rows, EBM_ROW_CHUNK) * d);
    if (scaled == NULL || prob == NULL || mean == NULL) {
        ebm_free_floats(scaled);
        ebm_free_floats(prob);
        ebm_free_floats(mean);
        return ebm_fail(EBM_ERR_NOMEM, "cannot allocate a workspace");
    }
    for (size_t first = 0; first < rows; first += EBM_ROW_CHUNK) {
        size_t n = ebm_min_size(EBM_ROW_CHUNK, rows - first);
        const float *v = visible + first * d;

        ebm_gbrbm_hidden_input(model, v, n, scaled, prob);
        for (size_t e = 0; e < n * k; e++)
            prob[e] = ebm_vsigmoid(prob[e]);
        ebm_gbrbm_visible_mean(model, prob, n, 1.0f, mean);
        for (size_t e = 0; e < n * d; e++) {
            double diff = (double)v[e] - mean[e];

            total += diff * diff;
        }
    }
    ebm_free_floats(scaled);
    ebm_free_floats(prob);
    ebm_free_floats(mean);
    *error = total / (double)rows;
    return EBM_OK;
}

ebm_status ebm_gbrbm_mean_loglik(const ebm_gbrbm *model,
                                 const float *visible, size_t rows,
                                 double log_z, double *mean)
{
    double *free_energy, total = 0.0;
    ebm_status status = ebm_check_pointer(mean, "mean");

    if (status == EBM_OK && !isfinite(log_z))
        status = ebm_fail(EBM_ERR_ARGUMENT,
                          "log_z is %g; expected a finite value", log_z);
    if (status != EBM_OK)
        return status;
    free_energy = malloc(ebm_max_size(rows, 1) * sizeof(*free_energy));
    if (free_energy == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "cannot allocate %zu values", rows);
    status = ebm_gbrbm_free_energy(model, visible, rows, free_energy);
    if (status == EBM_OK) {
        for (size_t r = 0; r < rows; r++)
            total -= free_energy[r];
        *mean = total / (double)rows - log_z;
    }
    free(free_energy);
    return status;
}

/* ------------------------------------------------------------------------ */
/* Partition function                                                       */
/* ------------------------------------------------------------------------ */

/* sum_i (log(2 pi T) / 2 + log sigma_i): the Gaussian integrals' part. */
static double gaussian_log_z(const ebm_gbrbm *model, double temperature)
{
    double sum = 0.0;

    for (size_t i = 0; i < model->n_visible; i++)
        sum += HALF_LOG_TWO_PI + 0.5 * log(temperature) +
               (double)model->log_sigma[i];
    return sum;
}

ebm_status ebm_gbrbm_log_partition_exact(const ebm_gbrbm *model,
                                         float temperature, double *log_z)
{
    size_t d, k;
    uint64_t states;
    float *block, *products;
    double max = -INFINITY, sum = 0.0;
    ebm_status status = ebm_check_pointer(model, "model");

    if (status == EBM_OK)
        status = ebm_check_pointer(log_z, "log_z");
    if (status == EBM_OK)
        status = ebm_check_positive(temperature, "temperature");
    if (status != EBM_OK)
        return status;
    d = model->n_visible;
    k = model->n_hidden;
    if (k > EBM_EXACT_MAX_UNITS)
        return ebm_fail(EBM_ERR_LIMIT,
                        "the model has %zu hidden units; exact enumeration "
                        "covers at most %d; use AIS",
                        k, EBM_EXACT_MAX_UNITS);
    states = (uint64_t)1 << k;
    block = ebm_alloc_floats(STATE_BLOCK * ebm_max_size(k, 1));
    products = ebm_alloc_floats(STATE_BLOCK * d);
    if (block == NULL || products == NULL) {
        ebm_free_floats(block);
        ebm_free_floats(products);
        return ebm_fail(EBM_ERR_NOMEM,
                        "cannot allocate the enumeration workspace");
    }
    for (uint64_t first = 0; first < states; first += STATE_BLOCK) {
        size_t count = (size_t)(states - first < STATE_BLOCK
                                    ? states - first
                                    : STATE_BLOCK);

        for (size_t r = 0; r < count; r++)
            for (size_t j = 0; j < k; j++)
                block[r * k + j] = (float)(((first + r) >> j) & 1u);
        /* products = h W', the c of the closed form. */
        ebm_gemm(false, true, count, d, k, 1.0f, block, k, model->weights, k,
                 0.0f, products, d, NULL, NULL);
        for (size_t r = 0; r < count; r++) {
            double term = 0.0;

            for (size_t j = 0; j < k; j++)
                term += (double)model->hidden_bias[j] * block[r * k + j];
            for (size_t i = 0; i < d; i++) {
                double c = products[r * d + i];

                term += (2.0 * model->visible_bias[i] + c) * c * 0.5 *
                        (double)model->inv_var[i];
            }
            term /= (double)temperature;
            if (term > max) {
                sum = sum * exp(max - term) + 1.0;
                max = term;
            } else {
                sum += exp(term - max);
            }
        }
    }
    ebm_free_floats(block);
    ebm_free_floats(products);
    *log_z = gaussian_log_z(model, temperature) + max + log(sum);
    return EBM_OK;
}

ebm_status ebm_gbrbm_ais(const ebm_gbrbm *model,
                         const ebm_ais_config *config,
                         ebm_ais_result *result)
{
    size_t d, k, chains, n_betas;
    double *beta = NULL, *log_w = NULL, log_z_base;
    float *v = NULL, *h = NULL, *scaled = NULL, *input = NULL;
    ebm_status status = ebm_check_pointer(model, "model");
    ebm_ais_config settings;

    if (status == EBM_OK)
        status = ebm_check_pointer(config, "config");
    if (status == EBM_OK)
        status = ebm_check_pointer(result, "result");
    if (status != EBM_OK)
        return status;
    settings = *config;
    settings.base_data = NULL;
    status = ebm_ais_check_settings(&settings, model->n_visible);
    if (status != EBM_OK)
        return status;
    d = model->n_visible;
    k = model->n_hidden;
    chains = config->chains;
    n_betas = config->betas;
    status = ebm_mul_size(chains, ebm_max_size(d, k), &(size_t){0},
                          "chains x units");
    if (status != EBM_OK)
        return status;
    beta = malloc(n_betas * sizeof(*beta));
    log_w = calloc(chains, sizeof(*log_w));
    v = ebm_alloc_floats(chains * d);
    h = ebm_alloc_floats(chains * k);
    scaled = ebm_alloc_floats(chains * d);
    input = ebm_alloc_floats(chains * k);
    if (beta == NULL || log_w == NULL || v == NULL || h == NULL ||
        scaled == NULL || input == NULL) {
        status = ebm_fail(EBM_ERR_NOMEM,
                          "cannot allocate AIS buffers for %zu chains",
                          chains);
        goto done;
    }
    if (config->schedule != NULL)
        memcpy(beta, config->schedule, n_betas * sizeof(*beta));
    else
        ebm_ais_default_schedule(beta, n_betas);

    /* Exact samples of the base model: v ~ Normal(a, sigma^2); the hidden
     * units are independent fair bits and are resampled before use. */
    log_z_base = gaussian_log_z(model, 1.0) + (double)k * log(2.0);
    for (size_t c = 0; c < chains; c++)
        memcpy(v + c * d, model->visible_bias, d * sizeof(float));
    ebm_gbrbm_sample_visible(model, v, chains, 1.0f, config->seed, 0);

    /*
     * log p*_beta(v) = -sum_i (v_i - a_i)^2 / (2 sigma_i^2)
     *                  + sum_j softplus(beta (b_j + x.W[:, j])),
     * so the Gaussian part cancels in each weight increment. The
     * transition at beta: h ~ sigmoid(beta z), v ~ Normal(a + beta W h,
     * sigma^2).
     */
    for (size_t j = 1; j < n_betas && status == EBM_OK; j++) {
        float b1 = (float)beta[j - 1], b2 = (float)beta[j];

        ebm_gbrbm_hidden_input(model, v, chains, scaled, input);
        for (size_t c = 0; c < chains; c++) {
            double increment = 0.0;

            for (size_t u = 0; u < k; u++) {
                float z = input[c * k + u];

                increment += (double)ebm_vsoftplus(b2 * z) -
                             (double)ebm_vsoftplus(b1 * z);
            }
            log_w[c] += increment;
        }
        if (j + 1 == n_betas)
            break;
        for (size_t e = 0; e < chains * k; e++)
            input[e] = ebm_vsigmoid(b2 * input[e]);
        ebm_rng_bernoulli(config->seed, 2 * j - 1, 0, chains * k, input, h);
        ebm_gbrbm_visible_mean(model, h, chains, b2, v);
        ebm_gbrbm_sample_visible(model, v, chains, 1.0f, config->seed,
                                 2 * j);
        if (config->progress != NULL &&
            config->progress((double)j / (double)(n_betas - 1),
                             config->progress_data) != 0)
            status = ebm_fail(EBM_STOPPED,
                              "AIS stopped by the progress callback");
    }
    if (status == EBM_OK && config->log_weights != NULL)
        memcpy(config->log_weights, log_w, chains * sizeof(*log_w));
    if (status == EBM_OK)
        status = ebm_ais_combine(log_w, chains, log_z_base, result);
done:
    free(beta);
    free(log_w);
    ebm_free_floats(v);
    ebm_free_floats(h);
    ebm_free_floats(scaled);
    ebm_free_floats(input);
    return status;
}

/* ------------------------------------------------------------------------ */
/* Singular values                                                          */
/* ------------------------------------------------------------------------ */

ebm_status ebm_gbrbm_singular_values(const ebm_gbrbm *model, float *values)
{
    ebm_status status = ebm_check_pointer(model, "model");

    if (status == EBM_OK)
        status = ebm_check_pointer(values, "values");
    if (status != EBM_OK)
        return status;
    return ebm_singular_values(model->weights, model->n_visible,
                               model->n_hidden, values);
}

ebm_status ebm_singular_values(const float *matrix, size_t rows,
                               size_t cols, float *values)
{
    float *copy;
    lapack_int info;

    if (rows == 0 || cols == 0)
        return EBM_OK;
    if (rows > INT32_MAX || cols > INT32_MAX)
        return ebm_fail(EBM_ERR_LIMIT,
                        "a %zu x %zu matrix is too large for LAPACKE",
                        rows, cols);
    copy = ebm_alloc_floats(rows * cols);
    if (copy == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "cannot copy a %zu x %zu matrix",
                        rows, cols);
    memcpy(copy, matrix, rows * cols * sizeof(float));
    info = LAPACKE_sgesdd(LAPACK_ROW_MAJOR, 'N', (lapack_int)rows,
                          (lapack_int)cols, copy, (lapack_int)cols, values,
                          NULL, (lapack_int)rows, NULL, (lapack_int)cols);
    ebm_free_floats(copy);
    if (info != 0)
        return ebm_fail(EBM_ERR_LAPACK,
                        "LAPACKE_sgesdd on a %zu x %zu matrix returned info "
                        "%d",
                        rows, cols, (int)info);
    return EBM_OK;
}

ebm_status ebm_gbrbm_gibbs(const ebm_gbrbm *model, float *state,
                           size_t chains, unsigned steps, float temperature,
                           ebm_rng *rng, float *mean)
{
    size_t d, k;
    float *scaled = NULL, *prob = NULL, *hidden = NULL, *means = NULL;
    ebm_status status = check_rows(model, state, chains,
                                   model != NULL ? model->n_visible : 0,
                                   "state");

    if (status == EBM_OK)
        status = ebm_check_pointer(rng, "rng");
    if (status == EBM_OK)
        status = ebm_check_positive(temperature, "temperature");
    if (status == EBM_OK && steps == 0)
        status = ebm_fail(EBM_ERR_ARGUMENT, "steps is 0; expected >= 1");
    if (status != EBM_OK)
        return status;
    d = model->n_visible;
    k = model->n_hidden;
    scaled = ebm_alloc_floats(chains * d);
    prob = ebm_alloc_floats(chains * k);
    hidden = ebm_alloc_floats(chains * k);
    means = ebm_alloc_floats(chains * d);
    if (scaled == NULL || prob == NULL || hidden == NULL || means == NULL) {
        status = ebm_fail(EBM_ERR_NOMEM,
                          "cannot allocate Gibbs buffers for %zu chains",
                          chains);
    } else {
        for (unsigned step = 0; step < steps; step++) {
            ebm_gbrbm_hidden_input(model, state, chains, scaled, prob);
            for (size_t e = 0; e < chains * k; e++)
                prob[e] = ebm_vsigmoid(prob[e] / temperature);
            ebm_rng_bernoulli(rng->seed, rng->stream++, 0, chains * k, prob,
                              hidden);
            ebm_gbrbm_visible_mean(model, hidden, chains, 1.0f, means);
            memcpy(state, means, chains * d * sizeof(float));
            ebm_gbrbm_sample_visible(model, state, chains, temperature,
                                     rng->seed, rng->stream++);
        }
        if (mean != NULL)
            memcpy(mean, means, chains * d * sizeof(float));
    }
    ebm_free_floats(scaled);
    ebm_free_floats(prob);
    ebm_free_floats(hidden);
    ebm_free_floats(means);
    return status;
}
