/*
 * Exact log partition function and unnormalised log-probabilities of
 * general Boltzmann machines, by enumerating states in blocks whose
 * quadratic terms come from one sgemm each.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bm_internal.h"
#include "parallel.h"
#include "rbm_internal.h"

/* States per block: rows of one sgemm. */
#define STATE_BLOCK ((size_t)2048)

/* Rows of data per pass of ebm_bm_log_unnormalized. */
#define DATA_BLOCK ((size_t)256)

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

/* A running log-sum-exp: sum = sum of exp(term - max). */
struct log_sum {
    double max;
    double sum;
};

static void log_sum_add(struct log_sum *acc, double term)
{
    if (term > acc->max) {
        acc->sum = acc->sum * exp(acc->max - term) + 1.0;
        acc->max = term;
    } else {
        acc->sum += exp(term - acc->max);
    }
}

static double log_sum_value(const struct log_sum *acc)
{
    return acc->max + log(acc->sum);
}

/*
 * The joint coupling matrix J (N x N, N = D + K) with blocks V, W, W', U,
 * and the joint bias c = [a; b], so that E(s) = -c.s - 1/2 s'Js.
 */
static void joint_parameters(const ebm_bm *bm, float *joint, float *bias)
{
    size_t d = bm->n_visible, k = bm->n_hidden, n = d + k;

    memset(joint, 0, n * n * sizeof(float));
    memcpy(bias, bm->visible_bias, d * sizeof(float));
    memcpy(bias + d, bm->hidden_bias, k * sizeof(float));
    for (size_t i = 0; i < d; i++) {
        if (bm->visible_couplings != NULL)
            memcpy(joint + i * n, bm->visible_couplings + i * d,
                   d * sizeof(float));
        if (bm->weights != NULL)
            for (size_t j = 0; j < k; j++)
                joint[i * n + d + j] = joint[(d + j) * n + i] =
                    bm->weights[i * k + j];
    }
    if (bm->hidden_couplings != NULL)
        for (size_t i = 0; i < k; i++)
            memcpy(joint + (d + i) * n + d, bm->hidden_couplings + i * k,
                   k * sizeof(float));
}

/* Inputs and outputs of one block of enumerated states. */
struct enumeration {
    size_t units;
    const float *bias;     /* units */
    const float *states;   /* count x units */
    const float *products; /* count x units: states J */
    float inverse_temperature;
    double *terms;         /* count */
};

/* terms[r] = (c.s + 1/2 s.(sJ)) / T for the states of rows [begin, end). */
static void state_terms(void *context, size_t begin, size_t end)
{
    const struct enumeration *e = context;

    for (size_t r = begin; r < end; r++) {
        const float *s = e->states + r * e->units;
        const float *g = e->products + r * e->units;
        double linear = 0.0, quadratic = 0.0;

        for (size_t j = 0; j < e->units; j++) {
            linear += (double)e->bias[j] * s[j];
            quadratic += (double)g[j] * s[j];
        }
        e->terms[r] =
            (linear + 0.5 * quadratic) * (double)e->inverse_temperature;
    }
}

ebm_status ebm_bm_log_partition_exact(const ebm_bm *bm, float temperature,
                                      double *log_z)
{
    size_t n;
    uint64_t states;
    float *joint, *bias, *block, *products;
    double *terms;
    struct log_sum acc = {-INFINITY, 0.0};
    struct enumeration e;
    ebm_status status = ebm_check_pointer(bm, "bm");

    if (status == EBM_OK)
        status = ebm_check_pointer(log_z, "log_z");
    if (status == EBM_OK)
        status = ebm_check_positive(temperature, "temperature");
    if (status != EBM_OK)
        return status;
    n = bm->n_visible + bm->n_hidden;
    if (n > EBM_BM_EXACT_MAX_UNITS)
        return ebm_fail(EBM_ERR_LIMIT,
                        "the model has %zu units; exact enumeration covers "
                        "at most %d (2^%d states); use AIS",
                        n, EBM_BM_EXACT_MAX_UNITS, EBM_BM_EXACT_MAX_UNITS);
    states = (uint64_t)1 << n;
    joint = ebm_alloc_floats(n * n);
    bias = ebm_alloc_floats(n);
    block = ebm_alloc_floats(STATE_BLOCK * n);
    products = ebm_alloc_floats(STATE_BLOCK * n);
    terms = malloc(STATE_BLOCK * sizeof(*terms));
    if (joint == NULL || bias == NULL || block == NULL ||
        products == NULL || terms == NULL) {
        ebm_free_floats(joint);
        ebm_free_floats(bias);
        ebm_free_floats(block);
        ebm_free_floats(products);
        free(terms);
        return ebm_fail(EBM_ERR_NOMEM,
                        "cannot allocate the enumeration workspace");
    }
    joint_parameters(bm, joint, bias);
    e = (struct enumeration){.units = n,
                             .bias = bias,
                             .states = block,
                             .products = products,
                             .inverse_temperature = 1.0f / temperature,
                             .terms = terms};
    for (uint64_t first = 0; first < states; first += STATE_BLOCK) {
        size_t count = (size_t)(states - first < STATE_BLOCK
                                    ? states - first
                                    : STATE_BLOCK);

        write_states(block, first, count, n);
        ebm_gemm(false, false, count, n, n, 1.0f, block, n, joint, n, 0.0f,
                 products, n, NULL, NULL);
        ebm_parallel_for(count, 64, state_terms, &e);
        for (size_t r = 0; r < count; r++)
            log_sum_add(&acc, terms[r]);
    }
    ebm_free_floats(joint);
    ebm_free_floats(bias);
    ebm_free_floats(block);
    ebm_free_floats(products);
    free(terms);
    *log_z = log_sum_value(&acc);
    return EBM_OK;
}

/* Work of ebm_bm_log_unnormalized for one pass over a block of data rows. */
struct marginal {
    const double *base;      /* rows: (a.v + 1/2 v'Vv) / T */
    const double *self;      /* count: 1/2 h'Uh */
    const float *products;   /* count x rows: states (b + v W)' */
    size_t rows;
    size_t count;
    float inverse_temperature;
    struct log_sum *acc;     /* rows */
};

static void add_hidden_block(void *context, size_t begin, size_t end)
{
    const struct marginal *m = context;

    for (size_t row = begin; row < end; row++)
        for (size_t r = 0; r < m->count; r++)
            log_sum_add(&m->acc[row],
                        m->base[row] +
                            ((double)m->products[r * m->rows + row] +
                             m->self[r]) *
                                (double)m->inverse_temperature);
}

/* base[row] = (a.v + 1/2 v'Vv) / T, the part of -E / T without h. */
static void visible_terms(const ebm_bm *bm, const float *v, size_t rows,
                          float inverse_temperature, double *base)
{
    size_t d = bm->n_visible;

    for (size_t row = 0; row < rows; row++) {
        const float *x = v + row * d;
        double term = 0.0;

        for (size_t i = 0; i < d; i++) {
            double coupled = 0.0;

            if (x[i] == 0.0f)
                continue;
            if (bm->visible_couplings != NULL)
                for (size_t j = 0; j < d; j++)
                    coupled += (double)bm->visible_couplings[i * d + j] *
                               x[j];
            term += ((double)bm->visible_bias[i] + 0.5 * coupled) * x[i];
        }
        base[row] = term * inverse_temperature;
    }
}

ebm_status ebm_bm_log_unnormalized(const ebm_bm *bm, const float *visible,
                                   size_t rows, float temperature,
                                   double *out)
{
    size_t d, k;
    uint64_t states;
    float *hidden_bias = NULL, *block = NULL, *products = NULL;
    float *self_products = NULL;
    double *self = NULL, *base = NULL;
    struct log_sum *acc = NULL;
    ebm_status status = ebm_check_pointer(bm, "bm");

    if (status == EBM_OK)
        status = ebm_check_pointer(out, "out");
    if (status == EBM_OK)
        status = ebm_check_batch(visible, rows, bm->n_visible, "visible");
    if (status == EBM_OK)
        status = ebm_check_positive(temperature, "temperature");
    if (status != EBM_OK)
        return status;
    d = bm->n_visible;
    k = bm->n_hidden;
    if (k > EBM_BM_EXACT_MAX_UNITS)
        return ebm_fail(EBM_ERR_LIMIT,
                        "the model has %zu hidden units; summing them out "
                        "exactly covers at most %d",
                        k, EBM_BM_EXACT_MAX_UNITS);
    states = (uint64_t)1 << k;
    acc = malloc(DATA_BLOCK * sizeof(*acc));
    base = malloc(DATA_BLOCK * sizeof(*base));
    hidden_bias = ebm_alloc_floats(DATA_BLOCK * k);
    block = ebm_alloc_floats(STATE_BLOCK * k);
    products = ebm_alloc_floats(STATE_BLOCK * DATA_BLOCK);
    self_products = ebm_alloc_floats(STATE_BLOCK * k);
    self = malloc(STATE_BLOCK * sizeof(*self));
    if (acc == NULL || base == NULL || hidden_bias == NULL || block == NULL ||
        products == NULL || self_products == NULL || self == NULL) {
        status = ebm_fail(EBM_ERR_NOMEM,
                          "cannot allocate the enumeration workspace");
        goto done;
    }

    for (size_t first_row = 0; first_row < rows; first_row += DATA_BLOCK) {
        size_t n_rows = ebm_min_size(DATA_BLOCK, rows - first_row);
        const float *v = visible + first_row * d;
        float inverse = 1.0f / temperature;

        visible_terms(bm, v, n_rows, inverse, base);
        if (k == 0) {
            memcpy(out + first_row, base, n_rows * sizeof(*out));
            continue;
        }
        for (size_t row = 0; row < n_rows; row++)
            acc[row] = (struct log_sum){-INFINITY, 0.0};
        for (size_t row = 0; row < n_rows; row++)
            memcpy(hidden_bias + row * k, bm->hidden_bias,
                   k * sizeof(float));
        if (bm->weights != NULL)
            ebm_gemm(false, false, n_rows, k, d, 1.0f, v, d, bm->weights, k,
                     1.0f, hidden_bias, k, NULL, NULL);
        for (uint64_t first = 0; first < states; first += STATE_BLOCK) {
            size_t count = (size_t)(states - first < STATE_BLOCK
                                        ? states - first
                                        : STATE_BLOCK);
            struct marginal m = {.base = base,
                                 .self = self,
                                 .products = products,
                                 .rows = n_rows,
                                 .count = count,
                                 .inverse_temperature = inverse,
                                 .acc = acc};

            write_states(block, first, count, k);
            for (size_t r = 0; r < count; r++)
                self[r] = 0.0;
            if (bm->hidden_couplings != NULL) {
                ebm_gemm(false, false, count, k, k, 1.0f, block, k,
                         bm->hidden_couplings, k, 0.0f, self_products, k,
                         NULL, NULL);
                for (size_t r = 0; r < count; r++) {
                    double q = 0.0;

                    for (size_t j = 0; j < k; j++)
                        q += (double)self_products[r * k + j] *
                             block[r * k + j];
                    self[r] = 0.5 * q;
                }
            }
            ebm_gemm(false, true, count, n_rows, k, 1.0f, block, k,
                     hidden_bias, k, 0.0f, products, n_rows, NULL, NULL);
            ebm_parallel_for(n_rows, 8, add_hidden_block, &m);
        }
        for (size_t row = 0; row < n_rows; row++)
            out[first_row + row] = log_sum_value(&acc[row]);
    }
done:
    free(acc);
    free(base);
    ebm_free_floats(hidden_bias);
    ebm_free_floats(block);
    ebm_free_floats(products);
    ebm_free_floats(self_products);
    free(self);
    return status;
}

ebm_status ebm_bm_pseudo_loglik(const ebm_bm *bm, const float *visible,
                                size_t rows, double *per_row, double *mean)
{
    size_t d;
    float *field;
    double total = 0.0;
    ebm_status status = ebm_check_pointer(bm, "bm");

    if (status == EBM_OK)
        status = ebm_check_pointer(mean, "mean");
    if (status == EBM_OK)
        status = ebm_check_batch(visible, rows, bm->n_visible, "visible");
    if (status == EBM_OK)
        status = ebm_check_binary(visible, rows, bm->n_visible, "visible");
    if (status != EBM_OK)
        return status;
    if (bm->n_hidden > 0)
        return ebm_fail(EBM_ERR_UNSUPPORTED,
                        "the pseudo-log-likelihood of a BM with %zu hidden "
                        "units needs sums over the hidden states; only "
                        "fully visible BMs have it here",
                        bm->n_hidden);
    d = bm->n_visible;
    field = ebm_alloc_floats(ebm_min_size(rows, DATA_BLOCK) * d);
    if (field == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "cannot allocate %zu fields",
                        ebm_min_size(rows, DATA_BLOCK) * d);
    for (size_t first = 0; first < rows; first += DATA_BLOCK) {
        size_t n = ebm_min_size(DATA_BLOCK, rows - first);
        const float *v = visible + first * d;

        for (size_t r = 0; r < n; r++)
            memcpy(field + r * d, bm->visible_bias, d * sizeof(float));
        if (bm->visible_couplings != NULL)
            ebm_gemm(false, false, n, d, d, 1.0f, v, d,
                     bm->visible_couplings, d, 1.0f, field, d, NULL, NULL);
        for (size_t r = 0; r < n; r++) {
            double sum = 0.0;

            /* log p(v_i | v_-i) = v_i f_i - softplus(f_i). */
            for (size_t i = 0; i < d; i++) {
                float f = field[r * d + i];

                sum += (double)v[r * d + i] * f - ebm_softplus(f);
            }
            if (per_row != NULL)
                per_row[first + r] = sum;
            total += sum;
        }
    }
    ebm_free_floats(field);
    *mean = total / (double)rows;
    return EBM_OK;
}
