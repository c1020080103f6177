/* RBM creation, parameters and initialisation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rbm_internal.h"
#include "rng.h"

float *ebm_alloc_floats(size_t count)
{
    size_t bytes;

    /* An empty buffer (a model without hidden units) still gets a valid,
     * distinct pointer. */
    if (count == 0)
        count = 1;
    if (count > SIZE_MAX / sizeof(float) - 64)
        return NULL;
    bytes = (count * sizeof(float) + 63) / 64 * 64;
    return aligned_alloc(64, bytes);
}

void ebm_free_floats(float *p)
{
    free(p);
}

ebm_status ebm_check_rbm_shape(size_t n_visible, size_t n_hidden)
{
    if (n_visible == 0)
        return ebm_fail(EBM_ERR_SIZE,
                        "model shape %zu x %zu: the visible layer needs at "
                        "least one unit",
                        n_visible, n_hidden);
    if (n_visible > EBM_MAX_UNITS || n_hidden > EBM_MAX_UNITS)
        return ebm_fail(EBM_ERR_LIMIT,
                        "model shape %zu x %zu: a layer may have at most "
                        "%zu units",
                        n_visible, n_hidden, EBM_MAX_UNITS);
    if (n_visible * n_hidden > EBM_MAX_ELEMENTS)
        return ebm_fail(EBM_ERR_LIMIT,
                        "model shape %zu x %zu: W may have at most %zu "
                        "elements",
                        n_visible, n_hidden, EBM_MAX_ELEMENTS);
    return EBM_OK;
}

ebm_status ebm_rbm_create(size_t n_visible, size_t n_hidden, ebm_rbm **out)
{
    ebm_rbm *rbm;
    ebm_status status = ebm_check_pointer(out, "out");

    if (status != EBM_OK)
        return status;
    status = ebm_check_rbm_shape(n_visible, n_hidden);
    if (status != EBM_OK)
        return status;

    rbm = calloc(1, sizeof(*rbm));
    if (rbm == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "cannot allocate the model");
    rbm->n_visible = n_visible;
    rbm->n_hidden = n_hidden;
    rbm->params = ebm_alloc_floats(ebm_rbm_param_count(rbm));
    if (rbm->params == NULL) {
        free(rbm);
        return ebm_fail(EBM_ERR_NOMEM,
                        "cannot allocate %zu parameters for a %zu x %zu "
                        "model",
                        n_visible * n_hidden + n_visible + n_hidden,
                        n_visible, n_hidden);
    }
    memset(rbm->params, 0, ebm_rbm_param_count(rbm) * sizeof(float));
    rbm->weights = rbm->params;
    rbm->visible_bias = rbm->weights + n_visible * n_hidden;
    rbm->hidden_bias = rbm->visible_bias + n_visible;
    *out = rbm;
    return EBM_OK;
}

void ebm_rbm_destroy(ebm_rbm *rbm)
{
    if (rbm == NULL)
        return;
    ebm_free_floats(rbm->params);
    free(rbm);
}

ebm_status ebm_rbm_clone(const ebm_rbm *rbm, ebm_rbm **out)
{
    ebm_rbm *copy;
    ebm_status status = ebm_check_pointer(rbm, "rbm");

    if (status == EBM_OK)
        status = ebm_check_pointer(out, "out");
    if (status == EBM_OK)
        status = ebm_rbm_create(rbm->n_visible, rbm->n_hidden, &copy);
    if (status != EBM_OK)
        return status;
    memcpy(copy->params, rbm->params,
           ebm_rbm_param_count(rbm) * sizeof(float));
    copy->max_abs = rbm->max_abs;
    *out = copy;
    return EBM_OK;
}

ebm_status ebm_rbm_shape(const ebm_rbm *rbm, size_t *n_visible,
                         size_t *n_hidden)
{
    ebm_status status = ebm_check_pointer(rbm, "rbm");

    if (status != EBM_OK)
        return status;
    if (n_visible != NULL)
        *n_visible = rbm->n_visible;
    if (n_hidden != NULL)
        *n_hidden = rbm->n_hidden;
    return EBM_OK;
}

const float *ebm_rbm_weights(const ebm_rbm *rbm)
{
    return rbm != NULL ? rbm->weights : NULL;
}

const float *ebm_rbm_visible_bias(const ebm_rbm *rbm)
{
    return rbm != NULL ? rbm->visible_bias : NULL;
}

const float *ebm_rbm_hidden_bias(const ebm_rbm *rbm)
{
    return rbm != NULL ? rbm->hidden_bias : NULL;
}

void ebm_rbm_refresh_max_abs(ebm_rbm *rbm)
{
    size_t count = ebm_rbm_param_count(rbm);
    float max = 0.0f;

    for (size_t i = 0; i < count; i++) {
        float magnitude = fabsf(rbm->params[i]);

        max = magnitude > max ? magnitude : max;
    }
    rbm->max_abs = max;
}

/* Copies rows x cols finite values from source into target. */
static ebm_status set_array(ebm_rbm *rbm, float *(*target)(ebm_rbm *),
                            const float *source, size_t rows, size_t cols,
                            const char *name)
{
    ebm_status status = ebm_check_pointer(rbm, "rbm");

    if (status == EBM_OK)
        status = ebm_check_pointer(source, name);
    if (status == EBM_OK)
        status = ebm_check_finite(source, rows, cols, name);
    if (status != EBM_OK)
        return status;
    memcpy(target(rbm), source, rows * cols * sizeof(float));
    ebm_rbm_refresh_max_abs(rbm);
    return EBM_OK;
}

static float *weights_of(ebm_rbm *rbm)
{
    return rbm->weights;
}

static float *visible_bias_of(ebm_rbm *rbm)
{
    return rbm->visible_bias;
}

static float *hidden_bias_of(ebm_rbm *rbm)
{
    return rbm->hidden_bias;
}

ebm_status ebm_rbm_set_weights(ebm_rbm *rbm, const float *weights)
{
    if (rbm == NULL)
        return ebm_fail(EBM_ERR_NULL, "rbm is NULL");
    return set_array(rbm, weights_of, weights, rbm->n_visible,
                     rbm->n_hidden, "weights");
}

ebm_status ebm_rbm_set_visible_bias(ebm_rbm *rbm, const float *bias)
{
    if (rbm == NULL)
        return ebm_fail(EBM_ERR_NULL, "rbm is NULL");
    return set_array(rbm, visible_bias_of, bias, 1, rbm->n_visible,
                     "visible bias");
}

ebm_status ebm_rbm_set_hidden_bias(ebm_rbm *rbm, const float *bias)
{
    if (rbm == NULL)
        return ebm_fail(EBM_ERR_NULL, "rbm is NULL");
    return set_array(rbm, hidden_bias_of, bias, 1, rbm->n_hidden,
                     "hidden bias");
}

ebm_status ebm_rbm_check_input(const ebm_rbm *rbm, const float *input,
                               size_t rows, size_t cols, const char *name)
{
    ebm_status status = ebm_check_pointer(rbm, "rbm");

    if (status != EBM_OK)
        return status;
    return ebm_check_batch(input, rows, cols, name);
}

#define EBM_MAX_INIT_STDDEV 1e30

/* Mean activation of each column, clipped so that the logit stays within
 * +-log(999). */
#define EBM_INIT_MIN_MEAN 0.001

static void set_visible_bias_from_data(ebm_rbm *rbm, const float *data,
                                       size_t rows)
{
    size_t d = rbm->n_visible;

    for (size_t i = 0; i < d; i++) {
        double sum = 0.0, p;

        for (size_t r = 0; r < rows; r++)
            sum += data[r * d + i];
        p = rows > 0 ? sum / (double)rows : 0.5;
        if (p < EBM_INIT_MIN_MEAN)
            p = EBM_INIT_MIN_MEAN;
        if (p > 1.0 - EBM_INIT_MIN_MEAN)
            p = 1.0 - EBM_INIT_MIN_MEAN;
        rbm->visible_bias[i] = (float)log(p / (1.0 - p));
    }
}

/* W[j] ~ N(0, stddev^2) by Box-Muller on uniforms 2m and 2m + 1 of stream
 * EBM_STREAM_INITIALIZE of seed, which give elements 2m and 2m + 1. */
static void set_gaussian_weights(ebm_rbm *rbm, float stddev, uint64_t seed)
{
    const double two_pi = 6.283185307179586;
    size_t count = rbm->n_visible * rbm->n_hidden;
    float uniforms[256];

    for (size_t start = 0; start < count; start += 256) {
        size_t take = ebm_min_size(256, count - start);
        size_t pairs = (take + 1) / 2;

        ebm_rng_fill_uniform(seed, EBM_STREAM_INITIALIZE, start, 2 * pairs,
                             uniforms);
        for (size_t m = 0; m < pairs; m++) {
            double radius = sqrt(-2.0 * log(uniforms[2 * m]));
            double angle = two_pi * uniforms[2 * m + 1];
            size_t j = start + 2 * m;

            rbm->weights[j] = (float)(stddev * radius * cos(angle));
            if (j + 1 < count)
                rbm->weights[j + 1] = (float)(stddev * radius * sin(angle));
        }
    }
}

ebm_status ebm_rbm_initialize(ebm_rbm *rbm, const float *data, size_t rows,
                              float weight_stddev, uint64_t seed)
{
    ebm_status status = ebm_check_pointer(rbm, "rbm");

    if (status != EBM_OK)
        return status;
    /* The largest Box-Muller radius is sqrt(-2 ln 2^-25) = 5.9, so this
     * bound keeps every weight far from overflow. */
    if (!(weight_stddev >= 0.0f && weight_stddev <= EBM_MAX_INIT_STDDEV))
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "weight_stddev is %g; expected a value in [0, %g]",
                        (double)weight_stddev, EBM_MAX_INIT_STDDEV);
    if (rows > 0) {
        status = ebm_check_batch(data, rows, rbm->n_visible, "data");
        if (status != EBM_OK)
            return status;
    }

    set_gaussian_weights(rbm, weight_stddev, seed);
    set_visible_bias_from_data(rbm, data, rows);
    memset(rbm->hidden_bias, 0, rbm->n_hidden * sizeof(float));
    ebm_rbm_refresh_max_abs(rbm);
    return EBM_OK;
}
