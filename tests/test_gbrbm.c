/*
 * Gaussian-Bernoulli RBMs, whitening and singular values against closed
 * forms, numerical integration and double-precision references written
 * here: the partition function, free energy, conditionals, AIS, a fit to a
 * two-cluster Gaussian mixture, exact whitening of a known covariance,
 * files, and the rejection of bad input. Random inputs come from a
 * splitmix64 generator with the seeds printed.
 */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ebm.h"

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double uniform01(uint64_t *state)
{
    return (double)(splitmix64(state) >> 11) * 0x1p-53;
}

static double normal(uint64_t *state)
{
    double u = uniform01(state) + 0x1p-54, v = uniform01(state);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static void *checked_calloc(size_t count, size_t size)
{
    void *memory = calloc(count > 0 ? count : 1, size);
    ck_assert_ptr_nonnull(memory);
    return memory;
}

/* A random model: W uniform in [-w, w], a in [-1, 1], b in [-1, 1], sigma
 * in [0.5, 1.5]. */
static ebm_gbrbm *random_model(size_t d, size_t k, double w, uint64_t seed)
{
    uint64_t state = seed;
    ebm_gbrbm *model;
    float *weights = checked_calloc(d * k, sizeof(float));
    float *a = checked_calloc(d, sizeof(float));
    float *b = checked_calloc(k, sizeof(float));
    float *sigma = checked_calloc(d, sizeof(float));

    printf("  model %zu x %zu, |W| <= %g, seed %llu\n", d, k, w,
           (unsigned long long)seed);
    for (size_t i = 0; i < d * k; i++)
        weights[i] = (float)(w * (2.0 * uniform01(&state) - 1.0));
    for (size_t i = 0; i < d; i++) {
        a[i] = (float)(2.0 * uniform01(&state) - 1.0);
        sigma[i] = (float)(0.5 + uniform01(&state));
    }
    for (size_t j = 0; j < k; j++)
        b[j] = (float)(2.0 * uniform01(&state) - 1.0);
    ck_assert_int_eq(ebm_gbrbm_create(d, k, &model), EBM_OK);
    ck_assert_int_eq(ebm_gbrbm_set_weights(model, weights), EBM_OK);
    ck_assert_int_eq(ebm_gbrbm_set_visible_bias(model, a), EBM_OK);
    if (k > 0)
        ck_assert_int_eq(ebm_gbrbm_set_hidden_bias(model, b), EBM_OK);
    ck_assert_int_eq(ebm_gbrbm_set_sigma(model, sigma), EBM_OK);
    free(weights);
    free(a);
    free(b);
    free(sigma);
    return model;
}

/* E(v, h) of the header's definition, in double. */
static double energy(const ebm_gbrbm *model, const double *v,
                     const double *h)
{
    size_t d, k;
    const float *w = ebm_gbrbm_weights(model);
    const float *a = ebm_gbrbm_visible_bias(model);
    const float *b = ebm_gbrbm_hidden_bias(model);
    const float *log_sigma = ebm_gbrbm_log_sigma(model);
    double e = 0.0;

    ebm_gbrbm_shape(model, &d, &k);
    for (size_t i = 0; i < d; i++) {
        double var = exp(2.0 * log_sigma[i]);
        e += (v[i] - a[i]) * (v[i] - a[i]) / (2.0 * var);
        for (size_t j = 0; j < k; j++)
            e -= v[i] / var * w[i * k + j] * h[j];
    }
    for (size_t j = 0; j < k; j++)
        e -= b[j] * h[j];
    return e;
}

/* -log sum_h exp(-E(v, h)), by enumeration of h. */
static double free_energy(const ebm_gbrbm *model, const double *v)
{
    size_t d, k;
    double h[16], max = -INFINITY, sum = 0.0, terms[1 << 12];

    ebm_gbrbm_shape(model, &d, &k);
    for (size_t x = 0; x < ((size_t)1 << k); x++) {
        for (size_t j = 0; j < k; j++)
            h[j] = (double)((x >> j) & 1u);
        terms[x] = -energy(model, v, h);
        max = fmax(max, terms[x]);
    }
    for (size_t x = 0; x < ((size_t)1 << k); x++)
        sum += exp(terms[x] - max);
    return -(max + log(sum));
}

/* ------------------------------------------------------------------------ */
/* Partition function, free energy and conditionals                         */
/* ------------------------------------------------------------------------ */

/*
 * log Z of a 2-visible model by the trapezoid rule over [-12, 12]^2 (step
 * 0.004, sums over h by enumeration) against the closed form: within
 * 1e-6. The integrand is smooth and its tails beyond 8 standard deviations
 * of every component are below 1e-14 of its mass, so the rule's error is
 * far below that. Without hidden units the closed form is the Gaussian
 * normaliser, checked exactly.
 */
START_TEST(log_z_matches_integration)
{
    ebm_gbrbm *model = random_model(2, 3, 1.0, 7100);
    double log_z, max = -INFINITY, sum = 0.0;
    const double step = 0.004, limit = 12.0;
    size_t n = (size_t)(2.0 * limit / step) + 1;
    double *values = checked_calloc(n * n, sizeof(double));

    ck_assert_int_eq(ebm_gbrbm_log_partition_exact(model, 1.0f, &log_z),
                     EBM_OK);
    for (size_t p = 0; p < n; p++)
        for (size_t q = 0; q < n; q++) {
            double v[2] = {-limit + step * (double)p,
                           -limit + step * (double)q};
            values[p * n + q] = -free_energy(model, v);
            max = fmax(max, values[p * n + q]);
        }
    for (size_t p = 0; p < n; p++)
        for (size_t q = 0; q < n; q++) {
            double weight = (p == 0 || p + 1 == n ? 0.5 : 1.0) *
                            (q == 0 || q + 1 == n ? 0.5 : 1.0);
            sum += weight * exp(values[p * n + q] - max);
        }
    double integrated = max + log(sum * step * step);
    printf("  log Z %.9f, integrated %.9f\n", log_z, integrated);
    ck_assert_double_eq_tol(log_z, integrated, 1e-6);
    free(values);

    /* T = 2 doubles the variance: log Z(2) of the W = 0 part gains
     * log(2) / 2 per visible unit; with W the enumeration covers it. */
    double log_z2;
    ck_assert_int_eq(ebm_gbrbm_log_partition_exact(model, 2.0f, &log_z2),
                     EBM_OK);
    ck_assert(isfinite(log_z2));
    ebm_gbrbm_destroy(model);

    ebm_gbrbm *gauss = random_model(5, 0, 0.0, 7101);
    double expected = 0.0;
    const float *log_sigma = ebm_gbrbm_log_sigma(gauss);
    for (size_t i = 0; i < 5; i++)
        expected += 0.5 * log(2.0 * M_PI) + log_sigma[i];
    ck_assert_int_eq(ebm_gbrbm_log_partition_exact(gauss, 1.0f, &log_z),
                     EBM_OK);
    ck_assert_double_eq_tol(log_z, expected, 1e-6);
    ebm_gbrbm_destroy(gauss);

    /* W = 0: the hidden units are independent of v, so log Z is the
     * Gaussian part plus sum_j softplus(b_j); AIS gets it exactly, since
     * every importance weight is 1. */
    ebm_gbrbm *free_units = random_model(4, 3, 0.0, 7102);
    ebm_ais_config config;
    ebm_ais_result result;
    const float *b = ebm_gbrbm_hidden_bias(free_units);
    expected = 0.0;
    log_sigma = ebm_gbrbm_log_sigma(free_units);
    for (size_t i = 0; i < 4; i++)
        expected += 0.5 * log(2.0 * M_PI) + log_sigma[i];
    for (size_t j = 0; j < 3; j++)
        expected += log1p(exp(b[j]));
    ck_assert_int_eq(ebm_gbrbm_log_partition_exact(free_units, 1.0f, &log_z),
                     EBM_OK);
    ck_assert_double_eq_tol(log_z, expected, 1e-6);
    ebm_ais_config_init(&config);
    config.chains = 10;
    config.betas = 50;
    ck_assert_int_eq(ebm_gbrbm_ais(free_units, &config, &result), EBM_OK);
    ck_assert_double_eq_tol(result.log_z, expected, 1e-5);
    ebm_gbrbm_destroy(free_units);
}
END_TEST

/* Free energies within 1e-4 of enumeration (float products), P(h | v) and
 * the visible mean a + W h within 1e-6, and the sample moments of 200,000
 * visible samples within 5 standard errors of the mean and variance. */
START_TEST(free_energy_and_conditionals)
{
    const size_t d = 4, k = 3, rows = 6;
    ebm_gbrbm *model = random_model(d, k, 1.0, 7200);
    uint64_t state = 7201;
    float v[6 * 4], prob[6 * 3];
    double f[6];

    for (size_t i = 0; i < rows * d; i++)
        v[i] = (float)(2.0 * normal(&state));
    ck_assert_int_eq(ebm_gbrbm_free_energy(model, v, rows, f), EBM_OK);
    ck_assert_int_eq(ebm_gbrbm_hidden_given_visible(model, v, rows, 1.0f,
                                                    prob),
                     EBM_OK);
    for (size_t r = 0; r < rows; r++) {
        double vd[4], h[3] = {0, 0, 0};
        for (size_t i = 0; i < d; i++)
            vd[i] = v[r * d + i];
        ck_assert_double_eq_tol(f[r], free_energy(model, vd), 1e-4);
        for (size_t j = 0; j < k; j++) {
            double e0, e1;
            h[j] = 0.0;
            e0 = energy(model, vd, h);
            h[j] = 1.0;
            e1 = energy(model, vd, h);
            h[j] = 0.0;
            ck_assert_double_eq_tol(prob[r * k + j], 1.0 / (1.0 + exp(e1 - e0)),
                                    1e-6);
        }
    }

    const size_t n = 200000;
    float *hidden = checked_calloc(n * k, sizeof(float));
    float *mean = checked_calloc(n * d, sizeof(float));
    float *sample = checked_calloc(n * d, sizeof(float));
    ebm_rng rng;
    for (size_t r = 0; r < n; r++)
        hidden[r * k + r % k] = 1.0f;
    ebm_rng_init(&rng, 7202);
    ck_assert_int_eq(ebm_gbrbm_visible_given_hidden(model, hidden, n, 1.0f,
                                                    &rng, mean, sample),
                     EBM_OK);
    const float *w = ebm_gbrbm_weights(model);
    const float *a = ebm_gbrbm_visible_bias(model);
    const float *log_sigma = ebm_gbrbm_log_sigma(model);
    for (size_t i = 0; i < d; i++) {
        double sum = 0.0, squares = 0.0, var = exp(2.0 * log_sigma[i]);
        for (size_t r = 0; r < n; r++) {
            double expected_mean = a[i] + w[i * k + r % k];
            ck_assert_double_eq_tol(mean[r * d + i], expected_mean, 1e-6);
            double z = sample[r * d + i] - expected_mean;
            sum += z;
            squares += z * z;
        }
        double m = sum / (double)n, s2 = squares / (double)n;
        ck_assert_double_le(fabs(m), 5.0 * sqrt(var / (double)n));
        ck_assert_double_le(fabs(s2 - var),
                            5.0 * var * sqrt(2.0 / (double)n));
    }
    free(hidden);
    free(mean);
    free(sample);
    ebm_gbrbm_destroy(model);
}
END_TEST

/* AIS within its 3-standard-error bounds of the exact log Z on random
 * models (300 chains, 2,000 inverse temperatures). Each run misses with
 * probability about 0.3% for a normal mean of weights. */
START_TEST(ais_brackets_exact)
{
    static const struct {
        size_t d, k;
        double w;
    } specs[] = {{5, 8, 1.0}, {20, 10, 0.5}, {3, 12, 2.0}};

    for (size_t m = 0; m < 3; m++) {
        ebm_gbrbm *model = random_model(specs[m].d, specs[m].k, specs[m].w,
                                        7300 + m);
        ebm_ais_config config;
        ebm_ais_result result;
        double exact;

        ck_assert_int_eq(ebm_gbrbm_log_partition_exact(model, 1.0f, &exact),
                         EBM_OK);
        ebm_ais_config_init(&config);
        config.chains = 300;
        config.betas = 2000;
        config.seed = 7310 + m;
        ck_assert_int_eq(ebm_gbrbm_ais(model, &config, &result), EBM_OK);
        printf("  AIS %.4f [%.4f, %.4f], exact %.4f\n", result.log_z,
               result.log_z_low, result.log_z_high, exact);
        ck_assert_double_le(result.log_z_low, exact);
        ck_assert_double_ge(result.log_z_high, exact);
        ebm_gbrbm_destroy(model);
    }
}
END_TEST

/* More inverse temperatures, smaller error: the standard error at 3,000
 * inverse temperatures is below that at 30, and the estimate at 3,000
 * brackets the exact value (false failure about 0.3%). */
START_TEST(ais_error_shrinks_with_betas)
{
    ebm_gbrbm *model = random_model(6, 10, 1.5, 7350);
    ebm_ais_config config;
    ebm_ais_result coarse, fine;
    double exact;

    ck_assert_int_eq(ebm_gbrbm_log_partition_exact(model, 1.0f, &exact),
                     EBM_OK);
    ebm_ais_config_init(&config);
    config.chains = 200;
    config.seed = 7351;
    config.betas = 30;
    ck_assert_int_eq(ebm_gbrbm_ais(model, &config, &coarse), EBM_OK);
    config.betas = 3000;
    ck_assert_int_eq(ebm_gbrbm_ais(model, &config, &fine), EBM_OK);
    printf("  30 betas: %.4f (se %.4f); 3000: %.4f (se %.4f); exact %.4f\n",
           coarse.log_z, coarse.std_error, fine.log_z, fine.std_error,
           exact);
    ck_assert_double_lt(fine.std_error, coarse.std_error);
    ck_assert_double_le(fine.log_z_low, exact);
    ck_assert_double_ge(fine.log_z_high, exact);
    ebm_gbrbm_destroy(model);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Training                                                                 */
/* ------------------------------------------------------------------------ */

/*
 * With one hidden unit the model is a mixture of two Gaussians with means a
 * and a + W[:, 0] and the same sigma. It is fitted by PCD-1 (30 epochs,
 * learning rate 0.01, momentum 0.5, sigma fixed at the truth, 0.5) to
 * 20,000 points of an equal mixture with means -1.5 and +1.5 in each of 3
 * dimensions. The two means must come out within 0.15 of the truth in
 * every coordinate, in either order. Their sampling error is near 0.005; the rest is the slow
 * convergence and noise of PCD with a fixed step (after 10 epochs the
 * means were still 0.17 off).
 */
START_TEST(two_cluster_mixture)
{
    const size_t d = 3, rows = 20000;
    uint64_t state = 7400;
    float *data = checked_calloc(rows * d, sizeof(float));
    float sigma[3] = {0.5f, 0.5f, 0.5f};
    ebm_gbrbm *model;
    ebm_gbrbm_trainer *trainer;
    ebm_train_config config;
    ebm_gbrbm_options options;

    for (size_t r = 0; r < rows; r++) {
        double center = (r % 2) ? 1.5 : -1.5;
        for (size_t i = 0; i < d; i++)
            data[r * d + i] = (float)(center + 0.5 * normal(&state));
    }
    ck_assert_int_eq(ebm_gbrbm_create(d, 1, &model), EBM_OK);
    ck_assert_int_eq(ebm_gbrbm_initialize(model, data, rows, 0.01f, 7401),
                     EBM_OK);
    ck_assert_int_eq(ebm_gbrbm_set_sigma(model, sigma), EBM_OK);
    ebm_train_config_init(&config);
    ebm_gbrbm_options_init(&options);
    config.method = EBM_PCD;
    config.learning_rate = 0.01f;
    config.momentum = 0.5f;
    config.weight_decay = 0.0f;
    config.seed = 7402;
    ck_assert_int_eq(ebm_gbrbm_trainer_create(model, &config, &options,
                                              &trainer),
                     EBM_OK);
    ck_assert_int_eq(ebm_gbrbm_trainer_fit(trainer, model, data, rows, 30,
                                           NULL, NULL),
                     EBM_OK);
    const float *a = ebm_gbrbm_visible_bias(model);
    const float *w = ebm_gbrbm_weights(model);
    double low = a[0] < a[0] + w[0] ? -1.5 : 1.5;
    for (size_t i = 0; i < d; i++) {
        printf("  dimension %zu: means %.3f and %.3f\n", i, (double)a[i],
               (double)(a[i] + w[i]));
        ck_assert_double_eq_tol(a[i], low, 0.15);
        ck_assert_double_eq_tol(a[i] + w[i], -low, 0.15);
    }
    ebm_gbrbm_trainer_destroy(trainer);
    ebm_gbrbm_destroy(model);
    free(data);
}
END_TEST

/* Learning sigma moves it towards the data's spread. A sigma step that
 * would leave the allowed range is rejected and changes nothing, and NaN
 * data are rejected. */
START_TEST(sigma_learning_and_rejection)
{
    const size_t d = 2, rows = 4000;
    uint64_t state = 7500;
    float *data = checked_calloc(rows * d, sizeof(float));
    ebm_gbrbm *model, *saved;
    ebm_gbrbm_trainer *trainer;
    ebm_train_config config;
    ebm_gbrbm_options options;
    float ones[2] = {1.0f, 1.0f};

    for (size_t i = 0; i < rows * d; i++)
        data[i] = (float)(3.0 * normal(&state));
    ck_assert_int_eq(ebm_gbrbm_create(d, 2, &model), EBM_OK);
    ck_assert_int_eq(ebm_gbrbm_set_sigma(model, ones), EBM_OK);
    ebm_train_config_init(&config);
    ebm_gbrbm_options_init(&options);
    options.learn_sigma = 1;
    options.sigma_rate_factor = 1.0f;
    config.learning_rate = 0.01f;
    ck_assert_int_eq(ebm_gbrbm_trainer_create(model, &config, &options,
                                              &trainer),
                     EBM_OK);
    ck_assert_int_eq(ebm_gbrbm_trainer_fit(trainer, model, data, rows, 30,
                                           NULL, NULL),
                     EBM_OK);
    for (size_t i = 0; i < d; i++) {
        double sigma = exp(ebm_gbrbm_log_sigma(model)[i]);
        printf("  learned sigma %zu: %.3f (data: 3)\n", i, sigma);
        ck_assert_double_gt(sigma, 2.0);
    }
    ebm_gbrbm_trainer_destroy(trainer);

    /* A huge sigma step: DIVERGED, and the model keeps its bits. */
    options.sigma_rate_factor = 1e30f;
    ck_assert_int_eq(ebm_gbrbm_trainer_create(model, &config, &options,
                                              &trainer),
                     EBM_OK);
    ck_assert_int_eq(ebm_gbrbm_clone(model, &saved), EBM_OK);
    ck_assert_int_eq(ebm_gbrbm_trainer_step(trainer, model, data, 100),
                     EBM_ERR_DIVERGED);
    ck_assert(memcmp(ebm_gbrbm_log_sigma(model), ebm_gbrbm_log_sigma(saved),
                     d * sizeof(float)) == 0);
    ck_assert(memcmp(ebm_gbrbm_weights(model), ebm_gbrbm_weights(saved),
                     2 * d * sizeof(float)) == 0);
    data[5] = NAN;
    ck_assert_int_eq(ebm_gbrbm_trainer_step(trainer, model, data, 100),
                     EBM_ERR_NONFINITE);
    ebm_gbrbm_trainer_destroy(trainer);

    float bad[2] = {1.0f, 0.0f};
    ck_assert_int_eq(ebm_gbrbm_set_sigma(model, bad), EBM_ERR_DOMAIN);
    bad[1] = -1.0f;
    ck_assert_int_eq(ebm_gbrbm_set_sigma(model, bad), EBM_ERR_DOMAIN);
    bad[1] = INFINITY;
    ck_assert_int_eq(ebm_gbrbm_set_sigma(model, bad), EBM_ERR_DOMAIN);
    ck_assert(memcmp(ebm_gbrbm_log_sigma(model), ebm_gbrbm_log_sigma(saved),
                     d * sizeof(float)) == 0);
    ebm_gbrbm_destroy(saved);
    ebm_gbrbm_destroy(model);
    free(data);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Whitening and singular values                                            */
/* ------------------------------------------------------------------------ */

/*
 * Data x = mean + A z with z running over the 8 sign vectors (+-1)^3 (sample
 * mean 0, sample covariance I exactly), so the covariance of x is AA'. PCA
 * and ZCA whitening (epsilon 0) must give covariance I within 1e-5, ZCA
 * must be symmetric, inverting must give back x, and log |det M| must be
 * -log |det A| (float eigen-decomposition of a 3 x 3 matrix: 1e-5).
 * Standardisation gives unit variances and scale 1 for a constant column.
 */
START_TEST(whitening_exact_on_known_covariance)
{
    static const double A[3][3] = {{2.0, 0.5, 0.0},
                                   {0.3, 1.0, -0.4},
                                   {0.0, 0.7, 0.5}};
    static const double mean[3] = {1.0, -2.0, 0.5};
    float x[8 * 3], y[8 * 3], back[8 * 3];
    double det_a = A[0][0] * (A[1][1] * A[2][2] - A[1][2] * A[2][1]) -
                   A[0][1] * (A[1][0] * A[2][2] - A[1][2] * A[2][0]) +
                   A[0][2] * (A[1][0] * A[2][1] - A[1][1] * A[2][0]);

    for (size_t r = 0; r < 8; r++)
        for (size_t i = 0; i < 3; i++) {
            double v = mean[i];
            for (size_t j = 0; j < 3; j++)
                v += A[i][j] * (((r >> j) & 1u) ? 1.0 : -1.0);
            x[r * 3 + i] = (float)v;
        }
    for (int mode = EBM_WHITEN_PCA; mode <= EBM_WHITEN_ZCA; mode++) {
        ebm_whitening *w;
        double log_det;

        ck_assert_int_eq(ebm_whitening_fit(x, 8, 3, (ebm_whiten_mode)mode,
                                           0.0f, &w),
                         EBM_OK);
        ck_assert_int_eq(ebm_whitening_apply(w, x, 8, y), EBM_OK);
        for (size_t i = 0; i < 3; i++)
            for (size_t j = 0; j < 3; j++) {
                double c = 0.0;
                for (size_t r = 0; r < 8; r++)
                    c += (double)y[r * 3 + i] * y[r * 3 + j] / 8.0;
                ck_assert_double_eq_tol(c, i == j ? 1.0 : 0.0, 1e-5);
            }
        ck_assert_int_eq(ebm_whitening_invert(w, y, 8, back), EBM_OK);
        for (size_t e = 0; e < 24; e++)
            ck_assert_double_eq_tol(back[e], x[e], 1e-5);
        ck_assert_int_eq(ebm_whitening_info(w, NULL, NULL, &log_det),
                         EBM_OK);
        ck_assert_double_eq_tol(log_det, -log(fabs(det_a)), 1e-5);
        if (mode == EBM_WHITEN_ZCA) {
            /* Symmetric M: the whitened unit vectors e_i M = row i. */
            float basis[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, m[9];
            ck_assert_int_eq(ebm_whitening_map_directions(w, basis, 3, m),
                             EBM_OK);
            for (size_t i = 0; i < 3; i++)
                for (size_t j = 0; j < 3; j++)
                    ck_assert_double_eq_tol(m[i * 3 + j], m[j * 3 + i],
                                            1e-5);
        }
        ebm_whitening_destroy(w);
    }

    /* Standardisation, with column 1 constant. */
    float s[4 * 2] = {1, 5, 3, 5, 5, 5, 7, 5}, t[8];
    ebm_whitening *w;
    ck_assert_int_eq(ebm_whitening_fit(s, 4, 2, EBM_WHITEN_STANDARD, 0.0f,
                                       &w),
                     EBM_OK);
    ck_assert_int_eq(ebm_whitening_apply(w, s, 4, t), EBM_OK);
    /* Column 0: mean 4, sd sqrt(5). */
    ck_assert_double_eq_tol(t[0], -3.0 / sqrt(5.0), 1e-6);
    ck_assert_double_eq_tol(t[6], 3.0 / sqrt(5.0), 1e-6);
    ck_assert(t[1] == 0.0f && t[3] == 0.0f);
    ebm_whitening_destroy(w);

    /* A zero eigenvalue (a constant column) needs epsilon > 0. */
    ck_assert_int_eq(ebm_whitening_fit(s, 4, 2, EBM_WHITEN_ZCA, 0.0f, &w),
                     EBM_ERR_DOMAIN);
    ck_assert_int_eq(ebm_whitening_fit(s, 4, 2, EBM_WHITEN_ZCA, 0.01f, &w),
                     EBM_OK);
    ebm_whitening_destroy(w);
    s[2] = NAN;
    ck_assert_int_eq(ebm_whitening_fit(s, 4, 2, EBM_WHITEN_PCA, 0.0f, &w),
                     EBM_ERR_NONFINITE);
}
END_TEST

/* Eigenvalues of a symmetric n x n matrix by cyclic Jacobi rotations, in
 * double: the reference for singular values. */
static void jacobi_eigenvalues(double *a, size_t n, double *out)
{
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0.0;
        for (size_t p = 0; p < n; p++)
            for (size_t q = p + 1; q < n; q++)
                off += a[p * n + q] * a[p * n + q];
        if (off < 1e-30)
            break;
        for (size_t p = 0; p < n; p++)
            for (size_t q = p + 1; q < n; q++) {
                if (fabs(a[p * n + q]) < 1e-300)
                    continue;
                double theta = (a[q * n + q] - a[p * n + p]) /
                               (2.0 * a[p * n + q]);
                double t = (theta >= 0 ? 1.0 : -1.0) /
                           (fabs(theta) + sqrt(theta * theta + 1.0));
                double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
                for (size_t r = 0; r < n; r++) {
                    double x = a[r * n + p], y = a[r * n + q];
                    a[r * n + p] = c * x - s * y;
                    a[r * n + q] = s * x + c * y;
                }
                for (size_t r = 0; r < n; r++) {
                    double x = a[p * n + r], y = a[q * n + r];
                    a[p * n + r] = c * x - s * y;
                    a[q * n + r] = s * x + c * y;
                }
            }
    }
    for (size_t i = 0; i < n; i++)
        out[i] = a[i * n + i];
}

static int descending(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a < b) - (a > b);
}

/* Singular values of W (7 x 4) from LAPACKE_sgesdd against the square
 * roots of the eigenvalues of W'W computed in double: within 1e-5
 * relative to the largest. */
START_TEST(singular_values_match_reference)
{
    ebm_gbrbm *model = random_model(7, 4, 2.0, 7600);
    const float *w = ebm_gbrbm_weights(model);
    double wtw[16], eig[4];
    float values[4];

    for (size_t p = 0; p < 4; p++)
        for (size_t q = 0; q < 4; q++) {
            double sum = 0.0;
            for (size_t i = 0; i < 7; i++)
                sum += (double)w[i * 4 + p] * w[i * 4 + q];
            wtw[p * 4 + q] = sum;
        }
    jacobi_eigenvalues(wtw, 4, eig);
    for (size_t i = 0; i < 4; i++)
        eig[i] = sqrt(fmax(eig[i], 0.0));
    qsort(eig, 4, sizeof(double), descending);
    ck_assert_int_eq(ebm_gbrbm_singular_values(model, values), EBM_OK);
    for (size_t i = 0; i < 4; i++) {
        printf("  singular value %zu: %.7f, reference %.7f\n", i,
               (double)values[i], eig[i]);
        ck_assert_double_eq_tol(values[i], eig[i], 1e-5 * eig[0]);
    }
    ebm_gbrbm_destroy(model);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Files                                                                    */
/* ------------------------------------------------------------------------ */

START_TEST(save_load_round_trip)
{
    char path[256];
    ebm_gbrbm *model = random_model(6, 3, 1.0, 7700), *loaded = NULL;
    ebm_whitening *w, *loaded_w = NULL;
    float data[10 * 6], y1[10 * 6], y2[10 * 6];
    uint64_t state = 7701;
    ebm_rbm *rbm = NULL;

    snprintf(path, sizeof path, "%s/ebm-test-gbrbm-%ld.npz",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid());
    for (size_t i = 0; i < 60; i++)
        data[i] = (float)normal(&state);
    ck_assert_int_eq(ebm_whitening_fit(data, 10, 6, EBM_WHITEN_ZCA, 0.1f, &w),
                     EBM_OK);
    ck_assert_int_eq(ebm_gbrbm_save(model, w, path), EBM_OK);
    ck_assert_int_eq(ebm_gbrbm_load(path, &loaded, &loaded_w), EBM_OK);
    ck_assert_ptr_nonnull(loaded_w);
    ck_assert(memcmp(ebm_gbrbm_weights(model), ebm_gbrbm_weights(loaded),
                     18 * sizeof(float)) == 0);
    ck_assert(memcmp(ebm_gbrbm_log_sigma(model), ebm_gbrbm_log_sigma(loaded),
                     6 * sizeof(float)) == 0);
    ck_assert_int_eq(ebm_whitening_apply(w, data, 10, y1), EBM_OK);
    ck_assert_int_eq(ebm_whitening_apply(loaded_w, data, 10, y2), EBM_OK);
    ck_assert(memcmp(y1, y2, sizeof y1) == 0);
    ck_assert_int_eq(ebm_rbm_load(path, &rbm), EBM_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(ebm_last_error(), "ebm_gbrbm_load"));
    ebm_gbrbm_destroy(loaded);
    ebm_whitening_destroy(loaded_w);

    /* Without a whitening. */
    ck_assert_int_eq(ebm_gbrbm_save(model, NULL, path), EBM_OK);
    loaded_w = (ebm_whitening *)0x1;
    ck_assert_int_eq(ebm_gbrbm_load(path, &loaded, &loaded_w), EBM_OK);
    ck_assert_ptr_null(loaded_w);
    ebm_gbrbm_destroy(loaded);
    ebm_whitening_destroy(w);
    ebm_gbrbm_destroy(model);
    remove(path);
}
END_TEST

/* Every public function of the Gaussian model, the whitening and the file
 * probe rejects bad input with its status and leaves its outputs and the
 * model unchanged. */
START_TEST(public_functions_reject_bad_input)
{
    ebm_gbrbm *model = random_model(3, 2, 1.0, 7800), *other, *out = NULL;
    float v[2 * 3] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
    float h[2 * 2] = {0, 1, 1, 0};
    float prob[4] = {7, 7, 7, 7}, mean[6], weights[6], saved[14];
    double f[2] = {7, 7}, error = 7.0, log_z = 7.0;
    ebm_rng rng;
    ebm_ais_config config;
    ebm_ais_result result;
    ebm_train_config train;
    ebm_gbrbm_options options;
    ebm_gbrbm_trainer *trainer = NULL;
    ebm_whitening *w = NULL;
    ebm_model_kind kind;

    /* All 14 parameters: W, a, b and log sigma, stored in this order. */
    memcpy(saved, ebm_gbrbm_weights(model), sizeof saved);
    ebm_rng_init(&rng, 1);
    ck_assert_int_eq(ebm_gbrbm_create(0, 2, &out), EBM_ERR_SIZE);
    ck_assert_int_eq(ebm_gbrbm_create(3, 2, NULL), EBM_ERR_NULL);
    ck_assert_ptr_null(out);

    v[4] = NAN;
    ck_assert_int_eq(ebm_gbrbm_hidden_given_visible(model, v, 2, 1.0f, prob),
                     EBM_ERR_NONFINITE);
    ck_assert(prob[0] == 7.0f);
    ck_assert_int_eq(ebm_gbrbm_free_energy(model, v, 2, f), EBM_ERR_NONFINITE);
    ck_assert(f[0] == 7.0);
    ck_assert_int_eq(ebm_gbrbm_reconstruction_error(model, v, 2, &error),
                     EBM_ERR_NONFINITE);
    ck_assert(error == 7.0);
    ck_assert_int_eq(ebm_gbrbm_initialize(model, v, 2, 0.01f, 1),
                     EBM_ERR_NONFINITE);
    v[4] = 0.5f;
    ck_assert_int_eq(ebm_gbrbm_hidden_given_visible(model, v, 2, 0.0f, prob),
                     EBM_ERR_ARGUMENT);
    ck_assert_int_eq(ebm_gbrbm_hidden_given_visible(model, v, 0, 1.0f, prob),
                     EBM_ERR_SIZE);
    ck_assert_int_eq(ebm_gbrbm_hidden_given_visible(NULL, v, 2, 1.0f, prob),
                     EBM_ERR_NULL);
    ck_assert_int_eq(ebm_gbrbm_initialize(model, v, 0, 0.01f, 1),
                     EBM_ERR_SIZE);
    ck_assert_int_eq(ebm_gbrbm_initialize(model, v, 2, -1.0f, 1),
                     EBM_ERR_ARGUMENT);
    ck_assert_int_eq(ebm_gbrbm_mean_loglik(model, v, 2, INFINITY, f),
                     EBM_ERR_ARGUMENT);

    h[1] = 2.0f;
    ck_assert_int_eq(ebm_gbrbm_visible_given_hidden(model, h, 2, 1.0f, &rng,
                                                    mean, NULL),
                     EBM_ERR_DOMAIN);
    h[1] = 1.0f;
    ck_assert_int_eq(ebm_gbrbm_visible_given_hidden(model, h, 2, 1.0f, NULL,
                                                    mean, mean),
                     EBM_ERR_NULL);
    ck_assert_int_eq(ebm_gbrbm_gibbs(model, v, 2, 0, 1.0f, &rng, NULL),
                     EBM_ERR_ARGUMENT);
    ck_assert_int_eq(ebm_gbrbm_log_partition_exact(model, -1.0f, &log_z),
                     EBM_ERR_ARGUMENT);
    ck_assert(log_z == 7.0);
    ck_assert_int_eq(ebm_gbrbm_singular_values(model, NULL), EBM_ERR_NULL);
    ebm_ais_config_init(&config);
    config.chains = 0;
    ck_assert_int_eq(ebm_gbrbm_ais(model, &config, &result),
                     EBM_ERR_ARGUMENT);

    memcpy(weights, ebm_gbrbm_weights(model), sizeof weights);
    weights[2] = NAN;
    ck_assert_int_eq(ebm_gbrbm_set_weights(model, weights),
                     EBM_ERR_NONFINITE);
    ck_assert(memcmp(ebm_gbrbm_weights(model), saved, sizeof saved) == 0);

    ebm_train_config_init(&train);
    ebm_gbrbm_options_init(&options);
    train.learning_rate = 0.0f;
    ck_assert_int_eq(ebm_gbrbm_trainer_create(model, &train, &options,
                                              &trainer),
                     EBM_ERR_ARGUMENT);
    train.learning_rate = 0.01f;
    options.sigma_rate_factor = -1.0f;
    ck_assert_int_eq(ebm_gbrbm_trainer_create(model, &train, &options,
                                              &trainer),
                     EBM_ERR_ARGUMENT);
    ck_assert_ptr_null(trainer);
    options.sigma_rate_factor = 0.1f;
    train.batch_size = 1;
    ck_assert_int_eq(ebm_gbrbm_trainer_create(model, &train, &options,
                                              &trainer),
                     EBM_OK);
    ck_assert_int_eq(ebm_gbrbm_trainer_step(trainer, model, v, 2),
                     EBM_ERR_SIZE);
    ck_assert_int_eq(ebm_gbrbm_create(4, 2, &other), EBM_OK);
    ck_assert_int_eq(ebm_gbrbm_trainer_step(trainer, other, v, 1),
                     EBM_ERR_MISMATCH);
    ck_assert_int_eq(ebm_gbrbm_trainer_fit(trainer, model, v, 2, 0, NULL,
                                           NULL),
                     EBM_ERR_ARGUMENT);
    ck_assert(memcmp(ebm_gbrbm_weights(model), saved, sizeof saved) == 0);
    ebm_gbrbm_trainer_destroy(trainer);

    ck_assert_int_eq(ebm_whitening_fit(v, 2, 3, (ebm_whiten_mode)9, 0.0f, &w),
                     EBM_ERR_ARGUMENT);
    ck_assert_int_eq(ebm_whitening_fit(v, 2, 3, EBM_WHITEN_PCA, -1.0f, &w),
                     EBM_ERR_ARGUMENT);
    ck_assert_int_eq(ebm_whitening_fit(v, 0, 3, EBM_WHITEN_PCA, 0.0f, &w),
                     EBM_ERR_SIZE);
    ck_assert_ptr_null(w);
    ck_assert_int_eq(ebm_whitening_fit(v, 2, 3, EBM_WHITEN_STANDARD, 0.0f,
                                       &w),
                     EBM_OK);
    ck_assert_int_eq(ebm_whitening_apply(w, v, 0, mean), EBM_ERR_SIZE);
    ck_assert_int_eq(ebm_whitening_invert(w, NULL, 2, mean), EBM_ERR_NULL);
    ck_assert_int_eq(ebm_gbrbm_save(other, w, "/tmp/never-written.npz"),
                     EBM_ERR_MISMATCH);
    ck_assert_int_eq(ebm_gbrbm_load("/nonexistent/model.npz", &out, NULL),
                     EBM_ERR_IO);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(ebm_model_file_kind("/nonexistent/model.npz", &kind),
                     EBM_ERR_IO);
    ck_assert_int_eq(ebm_model_file_kind(NULL, &kind), EBM_ERR_NULL);
    ebm_whitening_destroy(w);
    ebm_gbrbm_destroy(other);
    ebm_gbrbm_destroy(model);
}
END_TEST

static Suite *gbrbm_suite(void)
{
    Suite *suite = suite_create("gbrbm");
    TCase *model = tcase_create("model");
    TCase *training = tcase_create("training");
    TCase *linear = tcase_create("linear_algebra");

    tcase_add_test(model, log_z_matches_integration);
    tcase_add_test(model, free_energy_and_conditionals);
    tcase_add_test(model, ais_brackets_exact);
    tcase_add_test(model, ais_error_shrinks_with_betas);
    tcase_add_test(model, save_load_round_trip);
    tcase_add_test(model, public_functions_reject_bad_input);
    tcase_add_test(training, two_cluster_mixture);
    tcase_add_test(training, sigma_learning_and_rejection);
    tcase_add_test(linear, whitening_exact_on_known_covariance);
    tcase_add_test(linear, singular_values_match_reference);
    suite_add_tcase(suite, model);
    suite_add_tcase(suite, training);
    suite_add_tcase(suite, linear);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(gbrbm_suite());
    int failed;

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
