/*
 * RBM mathematics against exact enumeration (reference.c): conditionals,
 * sampling, energy, free energy, pseudo-log-likelihood, reconstruction
 * error, saturation under extreme weights, and the scalar sigmoid family.
 *
 * Every random model and data set comes from reference.c's splitmix64 with
 * a seed printed on stdout, so a failure can be rerun alone.
 */
#include <check.h>
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebm.h"
#include "reference.h"

/* ------------------------------------------------------------------------ */
/* Models shared by the tests                                               */
/* ------------------------------------------------------------------------ */

/* A library model together with the float parameters it was set from. */
typedef struct test_model {
    size_t n_visible;
    size_t n_hidden;
    float *weights;
    float *visible_bias;
    float *hidden_bias;
    ebm_rbm *rbm;
    ref_model ref;
} test_model;

/* Shapes, parameter scales and seeds of the random models. D + K stays
 * within REF_MAX_UNITS so that every reference is exact. */
static const struct model_spec {
    size_t n_visible;
    size_t n_hidden;
    float scale;
    uint64_t seed;
} MODEL_SPECS[] = {
    {3, 4, 1.0f, 1001},
    {5, 3, 2.0f, 1002},
    {6, 6, 1.5f, 1003},
    {4, 8, 3.0f, 1004},
    {8, 4, 0.5f, 1005},
};
#define N_MODELS (sizeof MODEL_SPECS / sizeof MODEL_SPECS[0])

static const float TEMPERATURES[] = {1.0f, 0.5f, 2.0f};
#define N_TEMPERATURES (sizeof TEMPERATURES / sizeof TEMPERATURES[0])

static void *checked_malloc(size_t bytes)
{
    void *memory = malloc(bytes);
    ck_assert_ptr_nonnull(memory);
    return memory;
}

/* Creates a library model with the given parameters (copied). */
static void test_model_init(test_model *model, size_t n_visible,
                            size_t n_hidden, const float *weights,
                            const float *visible_bias,
                            const float *hidden_bias)
{
    model->n_visible = n_visible;
    model->n_hidden = n_hidden;
    model->weights = checked_malloc(n_visible * n_hidden * sizeof(float));
    model->visible_bias = checked_malloc(n_visible * sizeof(float));
    model->hidden_bias = checked_malloc(n_hidden * sizeof(float));
    memcpy(model->weights, weights, n_visible * n_hidden * sizeof(float));
    memcpy(model->visible_bias, visible_bias, n_visible * sizeof(float));
    memcpy(model->hidden_bias, hidden_bias, n_hidden * sizeof(float));

    ck_assert_int_eq(ebm_rbm_create(n_visible, n_hidden, &model->rbm),
                     EBM_OK);
    ck_assert_int_eq(ebm_rbm_set_weights(model->rbm, model->weights), EBM_OK);
    ck_assert_int_eq(ebm_rbm_set_visible_bias(model->rbm, model->visible_bias),
                     EBM_OK);
    ck_assert_int_eq(ebm_rbm_set_hidden_bias(model->rbm, model->hidden_bias),
                     EBM_OK);

    model->ref.n_visible = n_visible;
    model->ref.n_hidden = n_hidden;
    model->ref.weights = model->weights;
    model->ref.visible_bias = model->visible_bias;
    model->ref.hidden_bias = model->hidden_bias;
}

/* Creates MODEL_SPECS[index] with parameters uniform in [-scale, scale). */
static void test_model_random(test_model *model, size_t index)
{
    const struct model_spec *spec = &MODEL_SPECS[index];
    size_t d = spec->n_visible;
    size_t k = spec->n_hidden;
    float *w = checked_malloc(d * k * sizeof(float));
    float *a = checked_malloc(d * sizeof(float));
    float *b = checked_malloc(k * sizeof(float));
    ref_rng rng;
    ref_rng_seed(&rng, spec->seed);
    ref_random_model(&rng, d, k, spec->scale, w, a, b);
    printf("  model D=%zu K=%zu scale=%g seed=%llu\n", d, k,
           (double)spec->scale, (unsigned long long)spec->seed);
    test_model_init(model, d, k, w, a, b);
    free(w);
    free(a);
    free(b);
}

static void test_model_free(test_model *model)
{
    ebm_rbm_destroy(model->rbm);
    free(model->weights);
    free(model->visible_bias);
    free(model->hidden_bias);
}

/* Every binary vector of `count` units, one per row (2^count rows). */
static float *all_binary_rows(size_t count)
{
    size_t rows = (size_t)1 << count;
    float *table = checked_malloc(rows * count * sizeof(float));
    for (size_t r = 0; r < rows; r++) {
        ref_unpack_bits(r, count, table + r * count);
    }
    return table;
}

/* ------------------------------------------------------------------------ */
/* Tolerances                                                               */
/* ------------------------------------------------------------------------ */

/*
 * Bound on the error of a probability sigmoid(x / T) computed by the
 * library. It forms x = bias + sum_j input_j w_j in float (sgemm, any
 * summation order), whose rounding error is at most about
 * (terms + 1) * FLT_EPSILON * (|bias| + sum_j |input_j w_j|). The sigmoid
 * has slope <= 1/4, and its own result carries a few ulp (4 * FLT_EPSILON
 * absolute covers them, since the result is <= 1).
 */
static double probability_tolerance(double bias, const float *input,
                                    const float *weights, size_t count,
                                    size_t stride, double temperature)
{
    double size = fabs(bias);
    for (size_t j = 0; j < count; j++) {
        size += fabs((double)input[j] * weights[j * stride]);
    }
    double activation_error = (double)(count + 2) * FLT_EPSILON * size;
    return 0.25 * activation_error / temperature + 4.0 * FLT_EPSILON;
}

/*
 * Bound on the error of a free energy or energy of one row. Each hidden
 * activation carries an error of at most (D + 2) * FLT_EPSILON times the
 * magnitude of its terms, softplus has slope <= 1 (the temperature cancels
 * in T * softplus(x / T)), and each softplus result carries a relative
 * rounding error of a few FLT_EPSILON. Adding K for the softplus values
 * near 0 and a factor 2 margin gives the bound below. The double sums of
 * the library and of the reference add nothing visible.
 */
static double free_energy_tolerance(const test_model *model)
{
    double units = (double)(model->n_visible + model->n_hidden + 2);
    return 2.0 * units * FLT_EPSILON *
           (ref_magnitude(&model->ref) + (double)model->n_hidden);
}

/* ------------------------------------------------------------------------ */
/* Conditionals                                                             */
/* ------------------------------------------------------------------------ */

/* Compares P(h | v) from the library with the enumeration for rows x D
 * inputs at temperature T. */
static void check_hidden_conditional(const test_model *model,
                                     const float *visible, size_t rows,
                                     float temperature)
{
    size_t d = model->n_visible;
    size_t k = model->n_hidden;
    float *prob = checked_malloc(rows * k * sizeof(float));
    ck_assert_int_eq(ebm_rbm_hidden_given_visible(model->rbm, visible, rows,
                                                  temperature, prob, NULL,
                                                  NULL),
                     EBM_OK);
    double expected[REF_MAX_UNITS];
    for (size_t r = 0; r < rows; r++) {
        const float *v = visible + r * d;
        ref_hidden_conditional(&model->ref, v, temperature, expected);
        for (size_t j = 0; j < k; j++) {
            double tolerance = probability_tolerance(
                model->hidden_bias[j], v, model->weights + j, d, k,
                temperature);
            double got = prob[r * k + j];
            ck_assert_msg(fabs(got - expected[j]) <= tolerance,
                          "P(h_%zu | row %zu) at T=%g: got %.9g, expected "
                          "%.9g (tolerance %.3g)",
                          j, r, (double)temperature, got, expected[j],
                          tolerance);
        }
    }
    free(prob);
}

/* Compares P(v | h) from the library with the enumeration. */
static void check_visible_conditional(const test_model *model,
                                      const float *hidden, size_t rows,
                                      float temperature)
{
    size_t d = model->n_visible;
    size_t k = model->n_hidden;
    float *prob = checked_malloc(rows * d * sizeof(float));
    ck_assert_int_eq(ebm_rbm_visible_given_hidden(model->rbm, hidden, rows,
                                                  temperature, prob, NULL,
                                                  NULL),
                     EBM_OK);
    double expected[REF_MAX_UNITS];
    for (size_t r = 0; r < rows; r++) {
        const float *h = hidden + r * k;
        ref_visible_conditional(&model->ref, h, temperature, expected);
        for (size_t i = 0; i < d; i++) {
            double tolerance = probability_tolerance(
                model->visible_bias[i], h, model->weights + i * k, k, 1,
                temperature);
            double got = prob[r * d + i];
            ck_assert_msg(fabs(got - expected[i]) <= tolerance,
                          "P(v_%zu | row %zu) at T=%g: got %.9g, expected "
                          "%.9g (tolerance %.3g)",
                          i, r, (double)temperature, got, expected[i],
                          tolerance);
        }
    }
    free(prob);
}

START_TEST(hidden_conditional_enumeration)
{
    for (size_t m = 0; m < N_MODELS; m++) {
        test_model model;
        test_model_random(&model, m);
        float *visible = all_binary_rows(model.n_visible);
        for (size_t t = 0; t < N_TEMPERATURES; t++) {
            check_hidden_conditional(&model, visible,
                                     (size_t)1 << model.n_visible,
                                     TEMPERATURES[t]);
        }
        free(visible);
        test_model_free(&model);
    }
}
END_TEST

START_TEST(visible_conditional_enumeration)
{
    for (size_t m = 0; m < N_MODELS; m++) {
        test_model model;
        test_model_random(&model, m);
        float *hidden = all_binary_rows(model.n_hidden);
        for (size_t t = 0; t < N_TEMPERATURES; t++) {
            check_visible_conditional(&model, hidden,
                                      (size_t)1 << model.n_hidden,
                                      TEMPERATURES[t]);
        }
        free(hidden);
        test_model_free(&model);
    }
}
END_TEST

/* The conditionals accept probabilities as input. P(h | v) is proportional
 * to exp(-E(v, h) / T) for real v too, so the enumeration still applies. */
START_TEST(conditional_fractional_input)
{
    const size_t rows = 20;
    const uint64_t data_seed = 2001;
    printf("  data seed=%llu\n", (unsigned long long)data_seed);
    for (size_t m = 0; m < N_MODELS; m++) {
        test_model model;
        test_model_random(&model, m);
        ref_rng rng;
        ref_rng_seed(&rng, data_seed + m);
        float *visible = checked_malloc(rows * model.n_visible * sizeof(float));
        float *hidden = checked_malloc(rows * model.n_hidden * sizeof(float));
        for (size_t i = 0; i < rows * model.n_visible; i++) {
            visible[i] = (float)ref_rng_uniform(&rng);
        }
        for (size_t j = 0; j < rows * model.n_hidden; j++) {
            hidden[j] = (float)ref_rng_uniform(&rng);
        }
        for (size_t t = 0; t < N_TEMPERATURES; t++) {
            check_hidden_conditional(&model, visible, rows, TEMPERATURES[t]);
            check_visible_conditional(&model, hidden, rows, TEMPERATURES[t]);
        }
        free(visible);
        free(hidden);
        test_model_free(&model);
    }
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Sampling                                                                 */
/* ------------------------------------------------------------------------ */

/* Checks sample[r, c] == (u < prob[r, c]) with u the library's uniform for
 * (seed, stream, r * cols + c), and that both sample values occur. */
static void check_samples(const float *prob, const float *sample, size_t rows,
                          size_t cols, uint64_t seed, uint64_t stream)
{
    size_t ones = 0;
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < cols; c++) {
            size_t index = r * cols + c;
            float u = ebm_rng_uniform(seed, stream, index);
            float expected = u < prob[index] ? 1.0f : 0.0f;
            ck_assert_msg(sample[index] == expected,
                          "sample[%zu, %zu] = %g with u = %.9g and p = %.9g "
                          "(seed %llu, stream %llu)",
                          r, c, (double)sample[index], (double)u,
                          (double)prob[index], (unsigned long long)seed,
                          (unsigned long long)stream);
            ones += sample[index] == 1.0f;
        }
    }
    ck_assert_msg(ones > 0 && ones < rows * cols,
                  "%zu of %zu samples are 1; expected a mix", ones,
                  rows * cols);
}

START_TEST(samples_match_uniforms)
{
    const size_t rows = 40;
    const uint64_t rng_seed = 3001;
    const uint64_t first_stream = 17;
    printf("  rng seed=%llu stream=%llu\n", (unsigned long long)rng_seed,
           (unsigned long long)first_stream);
    test_model model;
    test_model_random(&model, 2);
    size_t d = model.n_visible;
    size_t k = model.n_hidden;
    ref_rng data_rng;
    ref_rng_seed(&data_rng, rng_seed);
    float *visible = checked_malloc(rows * d * sizeof(float));
    ref_random_binary(&data_rng, visible, rows * d, 0.5);
    float *hprob = checked_malloc(rows * k * sizeof(float));
    float *hsample = checked_malloc(rows * k * sizeof(float));
    float *vprob = checked_malloc(rows * d * sizeof(float));
    float *vsample = checked_malloc(rows * d * sizeof(float));

    ebm_rng rng;
    ck_assert_int_eq(ebm_rng_init(&rng, rng_seed), EBM_OK);
    ck_assert_uint_eq(rng.stream, 0);
    rng.stream = first_stream;

    ck_assert_int_eq(ebm_rbm_hidden_given_visible(model.rbm, visible, rows,
                                                  1.0f, hprob, hsample, &rng),
                     EBM_OK);
    ck_assert_uint_eq(rng.seed, rng_seed);
    ck_assert_uint_eq(rng.stream, first_stream + 1);
    check_samples(hprob, hsample, rows, k, rng_seed, first_stream);

    ck_assert_int_eq(ebm_rbm_visible_given_hidden(model.rbm, hsample, rows,
                                                  2.0f, vprob, vsample, &rng),
                     EBM_OK);
    ck_assert_uint_eq(rng.stream, first_stream + 2);
    check_samples(vprob, vsample, rows, d, rng_seed, first_stream + 1);

    free(visible);
    free(hprob);
    free(hsample);
    free(vprob);
    free(vsample);
    test_model_free(&model);
}
END_TEST

START_TEST(consecutive_samples_differ)
{
    const size_t rows = 32;
    const uint64_t rng_seed = 3002;
    printf("  rng seed=%llu\n", (unsigned long long)rng_seed);
    test_model model;
    test_model_random(&model, 4);
    size_t d = model.n_visible;
    size_t k = model.n_hidden;
    float *visible = checked_malloc(rows * d * sizeof(float));
    for (size_t i = 0; i < rows * d; i++) {
        visible[i] = 0.5f;
    }
    float *prob = checked_malloc(rows * k * sizeof(float));
    float *first = checked_malloc(rows * k * sizeof(float));
    float *second = checked_malloc(rows * k * sizeof(float));
    ebm_rng rng;
    ck_assert_int_eq(ebm_rng_init(&rng, rng_seed), EBM_OK);

    ck_assert_int_eq(ebm_rbm_hidden_given_visible(model.rbm, visible, rows,
                                                  1.0f, prob, first, &rng),
                     EBM_OK);
    check_samples(prob, first, rows, k, rng_seed, 0);
    ck_assert_int_eq(ebm_rbm_hidden_given_visible(model.rbm, visible, rows,
                                                  1.0f, prob, second, &rng),
                     EBM_OK);
    check_samples(prob, second, rows, k, rng_seed, 1);
    ck_assert_uint_eq(rng.stream, 2);
    ck_assert_msg(memcmp(first, second, rows * k * sizeof(float)) != 0,
                  "two sampling calls in a row gave the same %zu samples",
                  rows * k);

    free(visible);
    free(prob);
    free(first);
    free(second);
    test_model_free(&model);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Energy and free energy                                                   */
/* ------------------------------------------------------------------------ */

START_TEST(free_energy_enumeration)
{
    const size_t fractional_rows = 16;
    const uint64_t data_seed = 4001;
    printf("  data seed=%llu\n", (unsigned long long)data_seed);
    for (size_t m = 0; m < N_MODELS; m++) {
        test_model model;
        test_model_random(&model, m);
        size_t d = model.n_visible;
        size_t binary_rows = (size_t)1 << d;
        size_t rows = binary_rows + fractional_rows;
        float *visible = checked_malloc(rows * d * sizeof(float));
        float *binary = all_binary_rows(d);
        memcpy(visible, binary, binary_rows * d * sizeof(float));
        free(binary);
        ref_rng rng;
        ref_rng_seed(&rng, data_seed + m);
        for (size_t i = binary_rows * d; i < rows * d; i++) {
            visible[i] = (float)ref_rng_uniform(&rng);
        }
        double *free_energy = checked_malloc(rows * sizeof(double));
        double tolerance = free_energy_tolerance(&model);

        for (size_t t = 0; t < N_TEMPERATURES; t++) {
            float temperature = TEMPERATURES[t];
            ck_assert_int_eq(ebm_rbm_free_energy(model.rbm, visible, rows,
                                                 temperature, free_energy),
                             EBM_OK);
            for (size_t r = 0; r < rows; r++) {
                double expected =
                    ref_free_energy(&model.ref, visible + r * d, temperature);
                ck_assert_msg(fabs(free_energy[r] - expected) <= tolerance,
                              "F_T(row %zu) at T=%g: got %.12g, expected "
                              "%.12g (tolerance %.3g)",
                              r, (double)temperature, free_energy[r],
                              expected, tolerance);
            }
        }
        free(visible);
        free(free_energy);
        test_model_free(&model);
    }
}
END_TEST

/* sum_v exp(-F(v)) over all binary v must equal the partition function Z
 * that the reference sums over every joint state. */
START_TEST(free_energy_normalises_to_partition)
{
    for (size_t m = 0; m < N_MODELS; m++) {
        test_model model;
        test_model_random(&model, m);
        size_t d = model.n_visible;
        size_t rows = (size_t)1 << d;
        float *visible = all_binary_rows(d);
        double *free_energy = checked_malloc(rows * sizeof(double));
        ck_assert_int_eq(ebm_rbm_free_energy(model.rbm, visible, rows, 1.0f,
                                             free_energy),
                         EBM_OK);
        double high = -INFINITY;
        for (size_t r = 0; r < rows; r++) {
            high = fmax(high, -free_energy[r]);
        }
        double sum = 0.0;
        for (size_t r = 0; r < rows; r++) {
            sum += exp(-free_energy[r] - high);
        }
        double log_z = high + log(sum);
        double expected = ref_log_partition(&model.ref, 1.0);
        /* log Z is a weighted mean of the -F(v) errors plus the sum's own
         * rounding, so the per-row bound applies. */
        double tolerance = free_energy_tolerance(&model);
        ck_assert_msg(fabs(log_z - expected) <= tolerance,
                      "log sum_v exp(-F(v)) = %.12g, log Z = %.12g "
                      "(tolerance %.3g)",
                      log_z, expected, tolerance);
        free(visible);
        free(free_energy);
        test_model_free(&model);
    }
}
END_TEST

START_TEST(energy_matches_formula)
{
    const size_t rows = 64;
    const uint64_t data_seed = 4002;
    printf("  data seed=%llu\n", (unsigned long long)data_seed);
    for (size_t m = 0; m < N_MODELS; m++) {
        test_model model;
        test_model_random(&model, m);
        size_t d = model.n_visible;
        size_t k = model.n_hidden;
        ref_rng rng;
        ref_rng_seed(&rng, data_seed + m);
        float *visible = checked_malloc(rows * d * sizeof(float));
        float *hidden = checked_malloc(rows * k * sizeof(float));
        /* Binary rows first, probabilities in the second half. */
        ref_random_binary(&rng, visible, rows / 2 * d, 0.5);
        ref_random_binary(&rng, hidden, rows / 2 * k, 0.5);
        for (size_t i = rows / 2 * d; i < rows * d; i++) {
            visible[i] = (float)ref_rng_uniform(&rng);
        }
        for (size_t j = rows / 2 * k; j < rows * k; j++) {
            hidden[j] = (float)ref_rng_uniform(&rng);
        }
        double *energy = checked_malloc(rows * sizeof(double));
        ck_assert_int_eq(ebm_rbm_energy(model.rbm, visible, hidden, rows,
                                        energy),
                         EBM_OK);
        double tolerance = free_energy_tolerance(&model);
        for (size_t r = 0; r < rows; r++) {
            double expected =
                ref_energy(&model.ref, visible + r * d, hidden + r * k);
            ck_assert_msg(fabs(energy[r] - expected) <= tolerance,
                          "E(row %zu): got %.12g, expected %.12g "
                          "(tolerance %.3g)",
                          r, energy[r], expected, tolerance);
        }
        free(visible);
        free(hidden);
        free(energy);
        test_model_free(&model);
    }
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Pseudo-log-likelihood                                                    */
/* ------------------------------------------------------------------------ */

START_TEST(pseudo_loglik_enumeration)
{
    for (size_t m = 0; m < N_MODELS; m++) {
        test_model model;
        test_model_random(&model, m);
        size_t d = model.n_visible;
        size_t rows = (size_t)1 << d;
        float *visible = all_binary_rows(d);
        double *per_row = checked_malloc(rows * sizeof(double));
        double *per_row_only = checked_malloc(rows * sizeof(double));
        double mean = NAN;
        double mean_only = NAN;
        ck_assert_int_eq(ebm_rbm_pseudo_loglik(model.rbm, visible, rows,
                                               per_row, &mean),
                         EBM_OK);

        /* Each term log sigmoid(F(v^(i)) - F(v)) has slope <= 1 in both
         * free energies, so D terms carry at most 2 D free-energy errors. */
        double tolerance = 2.0 * (double)d * free_energy_tolerance(&model);
        double expected_mean = 0.0;
        for (size_t r = 0; r < rows; r++) {
            double expected = ref_pseudo_loglik(&model.ref, visible + r * d);
            expected_mean += expected / (double)rows;
            ck_assert_msg(fabs(per_row[r] - expected) <= tolerance,
                          "PLL(row %zu): got %.12g, expected %.12g "
                          "(tolerance %.3g)",
                          r, per_row[r], expected, tolerance);
        }
        ck_assert_msg(fabs(mean - expected_mean) <= tolerance,
                      "mean PLL: got %.12g, expected %.12g", mean,
                      expected_mean);

        /* Either output may be NULL. */
        ck_assert_int_eq(ebm_rbm_pseudo_loglik(model.rbm, visible, rows,
                                               per_row_only, NULL),
                         EBM_OK);
        ck_assert_mem_eq(per_row_only, per_row, rows * sizeof(double));
        ck_assert_int_eq(ebm_rbm_pseudo_loglik(model.rbm, visible, rows, NULL,
                                               &mean_only),
                         EBM_OK);
        ck_assert_msg(mean_only == mean,
                      "mean PLL without per_row: %.17g, with per_row %.17g",
                      mean_only, mean);

        free(visible);
        free(per_row);
        free(per_row_only);
        test_model_free(&model);
    }
}
END_TEST

START_TEST(pseudo_loglik_rejects_nonbinary)
{
    test_model model;
    test_model_random(&model, 0);
    size_t d = model.n_visible;
    const size_t rows = 3;
    float *visible = checked_malloc(rows * d * sizeof(float));
    for (size_t i = 0; i < rows * d; i++) {
        visible[i] = (float)(i % 2);
    }
    /* One value strictly inside (0, 1): valid for the conditionals but not
     * for the pseudo-log-likelihood. */
    visible[1 * d + 1] = 0.5f;
    double per_row[3] = {123.0, 123.0, 123.0};
    double mean = 456.0;
    ck_assert_int_eq(ebm_rbm_pseudo_loglik(model.rbm, visible, rows, per_row,
                                           &mean),
                     EBM_ERR_DOMAIN);
    ck_assert_str_ne(ebm_last_error(), "");
    ck_assert_msg(per_row[0] == 123.0 && per_row[1] == 123.0 &&
                      per_row[2] == 123.0,
                  "per_row was written by a failing call");
    ck_assert_msg(mean == 456.0, "mean was written by a failing call");
    free(visible);
    test_model_free(&model);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Reconstruction error                                                     */
/* ------------------------------------------------------------------------ */

static double sigmoid_double(double x)
{
    return x >= 0.0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}

/* Runs ebm_rbm_reconstruction_error on a model given by its parameters. */
static double library_reconstruction_error(size_t d, size_t k,
                                           const float *w, const float *a,
                                           const float *b,
                                           const float *visible, size_t rows)
{
    test_model model;
    test_model_init(&model, d, k, w, a, b);
    double error = NAN;
    ck_assert_int_eq(ebm_rbm_reconstruction_error(model.rbm, visible, rows,
                                                  &error),
                     EBM_OK);
    test_model_free(&model);
    return error;
}

START_TEST(reconstruction_error_by_hand)
{
    /* Values worked out on paper; float(log 3) is within 3e-8 of log 3. */
    const double log3 = log(3.0);
    const float zero[2] = {0.0f, 0.0f};

    /* All parameters 0: h = 1/2, v~ = 1/2, so each of the 2 units adds 1/4
     * whatever v is. */
    const float rows_a[4] = {1.0f, 0.0f, 0.0f, 0.0f};
    double got = library_reconstruction_error(2, 1, zero, zero, zero, rows_a,
                                              2);
    ck_assert_msg(fabs(got - 0.5) <= 1e-6, "all-zero model: got %.9g, "
                  "expected 0.5", got);

    /* W = 0, a = (log 3, 0): v~ = (3/4, 1/2). Row (1, 0) gives
     * 1/16 + 1/4 = 0.3125 and row (0, 1) gives 9/16 + 1/4 = 0.8125. */
    const float a_b[2] = {(float)log3, 0.0f};
    const float rows_b[4] = {1.0f, 0.0f, 0.0f, 1.0f};
    got = library_reconstruction_error(2, 1, zero, a_b, zero, rows_b, 2);
    ck_assert_msg(fabs(got - 0.5625) <= 1e-6, "bias-only model: got %.9g, "
                  "expected 0.5625", got);

    /* D = K = 1, W = log 3, biases 0. For v = 1: h = 3/4 and
     * v~ = 1 / (1 + 3^(-3/4)). For v = 0: h = 1/2, v~ = 1 / (1 + 3^(-1/2)). */
    const float w_c[1] = {(float)log3};
    const float rows_c[2] = {1.0f, 0.0f};
    double recon_one = 1.0 / (1.0 + pow(3.0, -0.75));
    double recon_zero = 1.0 / (1.0 + pow(3.0, -0.5));
    double expected = ((1.0 - recon_one) * (1.0 - recon_one) +
                       recon_zero * recon_zero) / 2.0;
    got = library_reconstruction_error(1, 1, w_c, zero, zero, rows_c, 2);
    ck_assert_msg(fabs(got - expected) <= 1e-6, "one-weight model: got "
                  "%.9g, expected %.9g", got, expected);
}
END_TEST

START_TEST(reconstruction_error_random_model)
{
    const size_t rows = 25;
    const uint64_t data_seed = 5001;
    printf("  data seed=%llu\n", (unsigned long long)data_seed);
    for (size_t m = 0; m < N_MODELS; m++) {
        test_model model;
        test_model_random(&model, m);
        size_t d = model.n_visible;
        size_t k = model.n_hidden;
        ref_rng rng;
        ref_rng_seed(&rng, data_seed + m);
        float *visible = checked_malloc(rows * d * sizeof(float));
        for (size_t i = 0; i < rows * d; i++) {
            visible[i] = (float)ref_rng_uniform(&rng);
        }
        /* The same two mean-field half steps, in double. */
        double expected = 0.0;
        for (size_t r = 0; r < rows; r++) {
            const float *v = visible + r * d;
            double h[REF_MAX_UNITS];
            for (size_t j = 0; j < k; j++) {
                double x = model.hidden_bias[j];
                for (size_t i = 0; i < d; i++) {
                    x += (double)v[i] * model.weights[i * k + j];
                }
                h[j] = sigmoid_double(x);
            }
            for (size_t i = 0; i < d; i++) {
                double x = model.visible_bias[i];
                for (size_t j = 0; j < k; j++) {
                    x += h[j] * model.weights[i * k + j];
                }
                double diff = v[i] - sigmoid_double(x);
                expected += diff * diff / (double)rows;
            }
        }
        double got = NAN;
        ck_assert_int_eq(ebm_rbm_reconstruction_error(model.rbm, visible, rows,
                                                      &got),
                         EBM_OK);
        /* Float probabilities: each v~ is off by at most about 1e-6 (see
         * probability_tolerance), and the squared difference by twice
         * that, for each of the D units. */
        double tolerance = 1e-5 * (double)d;
        ck_assert_msg(fabs(got - expected) <= tolerance,
                      "reconstruction error: got %.9g, expected %.9g", got,
                      expected);
        free(visible);
        test_model_free(&model);
    }
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Extreme weights                                                          */
/* ------------------------------------------------------------------------ */

/* Builds a D = 4, K = 3 model whose weights are +-size and whose biases
 * are small halves, so that every activation of a binary input is exact in
 * float and the library's float sums carry no rounding at all. */
static void extreme_model(test_model *model, float size)
{
    enum { D = 4, K = 3 };
    float w[D * K];
    const float a[D] = {0.5f, -1.5f, 2.0f, 0.0f};
    const float b[K] = {-0.5f, 1.0f, 3.5f};
    for (size_t i = 0; i < D; i++) {
        for (size_t j = 0; j < K; j++) {
            w[i * K + j] = ((i * 7 + j * 3) % 5 < 2) ? size : -size;
        }
    }
    test_model_init(model, D, K, w, a, b);
}

/* Distance in units in the last place between two floats, counted across
 * zero, with +0 and -0 equal. */
static int64_t ulp_distance(float x, float y)
{
    int32_t xi;
    int32_t yi;
    memcpy(&xi, &x, sizeof xi);
    memcpy(&yi, &y, sizeof yi);
    int64_t xo = xi >= 0 ? xi : -(int64_t)(xi & 0x7fffffff);
    int64_t yo = yi >= 0 ? yi : -(int64_t)(yi & 0x7fffffff);
    return xo > yo ? xo - yo : yo - xo;
}

/* Compares the library's P(h | v) for every binary v with sigmoid of the
 * exact activation: at most 4 ulp apart, and exactly 0 or 1 where
 * |activation| >= 1000, far past the point where float saturates. */
static void check_saturated_hidden(const test_model *model, float temperature)
{
    size_t d = model->n_visible;
    size_t k = model->n_hidden;
    size_t rows = (size_t)1 << d;
    float *visible = all_binary_rows(d);
    float *prob = checked_malloc(rows * k * sizeof(float));
    ck_assert_int_eq(ebm_rbm_hidden_given_visible(model->rbm, visible, rows,
                                                  temperature, prob, NULL,
                                                  NULL),
                     EBM_OK);
    for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < k; j++) {
            double x = model->hidden_bias[j];
            for (size_t i = 0; i < d; i++) {
                x += (double)visible[r * d + i] * model->weights[i * k + j];
            }
            float expected = (float)sigmoid_double(x / temperature);
            float got = prob[r * k + j];
            ck_assert_msg(isfinite(got), "P(h_%zu | row %zu) is %g", j, r,
                          (double)got);
            ck_assert_msg(ulp_distance(got, expected) <= 4,
                          "P(h_%zu | row %zu) at activation %g, T=%g: got "
                          "%.9g, expected %.9g",
                          j, r, x, (double)temperature, (double)got,
                          (double)expected);
            if (fabs(x) >= 1000.0) {
                ck_assert_msg(got == (x > 0 ? 1.0f : 0.0f),
                              "P(h_%zu | row %zu) at activation %g is %.9g, "
                              "not saturated",
                              j, r, x, (double)got);
            }
        }
    }
    free(visible);
    free(prob);
}

static void check_saturated_visible(const test_model *model, float temperature)
{
    size_t d = model->n_visible;
    size_t k = model->n_hidden;
    size_t rows = (size_t)1 << k;
    float *hidden = all_binary_rows(k);
    float *prob = checked_malloc(rows * d * sizeof(float));
    ck_assert_int_eq(ebm_rbm_visible_given_hidden(model->rbm, hidden, rows,
                                                  temperature, prob, NULL,
                                                  NULL),
                     EBM_OK);
    for (size_t r = 0; r < rows; r++) {
        for (size_t i = 0; i < d; i++) {
            double x = model->visible_bias[i];
            for (size_t j = 0; j < k; j++) {
                x += (double)hidden[r * k + j] * model->weights[i * k + j];
            }
            float expected = (float)sigmoid_double(x / temperature);
            float got = prob[r * d + i];
            ck_assert_msg(ulp_distance(got, expected) <= 4,
                          "P(v_%zu | row %zu) at activation %g, T=%g: got "
                          "%.9g, expected %.9g",
                          i, r, x, (double)temperature, (double)got,
                          (double)expected);
            if (fabs(x) >= 1000.0) {
                ck_assert_msg(got == (x > 0 ? 1.0f : 0.0f),
                              "P(v_%zu | row %zu) at activation %g is %.9g, "
                              "not saturated",
                              i, r, x, (double)got);
            }
        }
    }
    free(hidden);
    free(prob);
}

/* Free energy, energy, PLL and reconstruction error of every binary v
 * (paired with every binary h for the energy): finite and matching the
 * reference. */
static void check_saturated_scores(const test_model *model)
{
    size_t d = model->n_visible;
    size_t k = model->n_hidden;
    size_t rows = (size_t)1 << d;
    float *visible = all_binary_rows(d);
    double *values = checked_malloc(rows * sizeof(double));
    double tolerance = free_energy_tolerance(model);

    for (size_t t = 0; t < N_TEMPERATURES; t++) {
        ck_assert_int_eq(ebm_rbm_free_energy(model->rbm, visible, rows,
                                             TEMPERATURES[t], values),
                         EBM_OK);
        for (size_t r = 0; r < rows; r++) {
            double expected =
                ref_free_energy(&model->ref, visible + r * d, TEMPERATURES[t]);
            ck_assert_msg(isfinite(values[r]), "F(row %zu) is %g", r,
                          values[r]);
            ck_assert_msg(fabs(values[r] - expected) <= tolerance,
                          "F(row %zu) at T=%g: got %.12g, expected %.12g", r,
                          (double)TEMPERATURES[t], values[r], expected);
        }
    }

    ck_assert_int_eq(ebm_rbm_pseudo_loglik(model->rbm, visible, rows, values,
                                           NULL),
                     EBM_OK);
    for (size_t r = 0; r < rows; r++) {
        double expected = ref_pseudo_loglik(&model->ref, visible + r * d);
        ck_assert_msg(isfinite(values[r]), "PLL(row %zu) is %g", r,
                      values[r]);
        ck_assert_msg(fabs(values[r] - expected) <= 2.0 * d * tolerance,
                      "PLL(row %zu): got %.12g, expected %.12g", r, values[r],
                      expected);
    }

    double error = NAN;
    ck_assert_int_eq(ebm_rbm_reconstruction_error(model->rbm, visible, rows,
                                                  &error),
                     EBM_OK);
    ck_assert_msg(isfinite(error) && error >= 0.0 && error <= (double)d,
                  "reconstruction error %g is not within [0, D]", error);

    /* Energy of each v paired with the hidden vector of the same index. */
    size_t pairs = (size_t)1 << k < rows ? (size_t)1 << k : rows;
    float *hidden = all_binary_rows(k);
    ck_assert_int_eq(ebm_rbm_energy(model->rbm, visible, hidden, pairs,
                                    values),
                     EBM_OK);
    for (size_t r = 0; r < pairs; r++) {
        double expected =
            ref_energy(&model->ref, visible + r * d, hidden + r * k);
        ck_assert_msg(values[r] == expected,
                      "E(row %zu) = %.12g, expected exactly %.12g (every "
                      "term is exact in float)",
                      r, values[r], expected);
    }
    free(hidden);
    free(visible);
    free(values);
}

static const float EXTREME_SIZES[] = {50.0f, 1e4f};
#define N_EXTREME_SIZES (sizeof EXTREME_SIZES / sizeof EXTREME_SIZES[0])

START_TEST(extreme_weights_conditionals)
{
    for (size_t s = 0; s < N_EXTREME_SIZES; s++) {
        printf("  weights +-%g\n", (double)EXTREME_SIZES[s]);
        test_model model;
        extreme_model(&model, EXTREME_SIZES[s]);
        for (size_t t = 0; t < N_TEMPERATURES; t++) {
            check_saturated_hidden(&model, TEMPERATURES[t]);
            check_saturated_visible(&model, TEMPERATURES[t]);
        }
        test_model_free(&model);
    }
}
END_TEST

START_TEST(extreme_weights_scores)
{
    for (size_t s = 0; s < N_EXTREME_SIZES; s++) {
        printf("  weights +-%g\n", (double)EXTREME_SIZES[s]);
        test_model model;
        extreme_model(&model, EXTREME_SIZES[s]);
        check_saturated_scores(&model);
        test_model_free(&model);
    }
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Scalar functions                                                         */
/* ------------------------------------------------------------------------ */

static long double sigmoid_long(long double x)
{
    if (x >= 0.0L) {
        return 1.0L / (1.0L + expl(-x));
    }
    long double e = expl(x);
    return e / (1.0L + e);
}

static long double softplus_long(long double x)
{
    if (x > 0.0L) {
        return x + log1pl(expl(-x));
    }
    return log1pl(expl(x));
}

static long double log_sigmoid_long(long double x)
{
    return -softplus_long(-x);
}

typedef float (*scalar_function)(float);
typedef long double (*scalar_reference)(long double);

static const float SPECIAL_INPUTS[] = {
    0.0f,   -0.0f,   1e-30f, -1e-30f, 10.0f,    -10.0f,    88.0f,
    -88.0f, 89.0f,   -89.0f, 100.0f,  -100.0f,  1e30f,     -1e30f,
    INFINITY, -INFINITY,
};
#define N_SPECIAL (sizeof SPECIAL_INPUTS / sizeof SPECIAL_INPUTS[0])

/* Largest ulp distance accepted: the header promises "a few units in the
 * last place", and 4 is what this suite takes that to mean. */
#define MAX_ULP 4

/* Results of magnitude below 2^-125 (twice FLT_MIN) form the underflow
 * region, checked apart from the rest so that a failure there does not
 * hide one elsewhere. */
#define UNDERFLOW_LIMIT 0x1p-125L

/*
 * Checks that one scalar function raises no overflow, invalid or
 * divide-by-zero flag at the special inputs and NaN, and that NaN in gives
 * NaN out. The flags are cleared just before the calls.
 */
static void check_special_flags(const char *name, scalar_function function)
{
    float got[N_SPECIAL];
    feclearexcept(FE_ALL_EXCEPT);
    for (size_t i = 0; i < N_SPECIAL; i++) {
        got[i] = function(SPECIAL_INPUTS[i]);
    }
    float nan_result = function(NAN);
    int flags = fetestexcept(FE_OVERFLOW | FE_INVALID | FE_DIVBYZERO);

    ck_assert_msg((flags & FE_OVERFLOW) == 0, "%s raised FE_OVERFLOW", name);
    ck_assert_msg((flags & FE_INVALID) == 0, "%s raised FE_INVALID", name);
    ck_assert_msg((flags & FE_DIVBYZERO) == 0, "%s raised FE_DIVBYZERO",
                  name);
    ck_assert_msg(isnan(nan_result), "%s(NaN) = %g, expected NaN", name,
                  (double)nan_result);
    for (size_t i = 0; i < N_SPECIAL; i++) {
        ck_assert_msg(!isnan(got[i]), "%s(%g) is NaN", name,
                      (double)SPECIAL_INPUTS[i]);
    }
}

/*
 * Checks one scalar function at the special inputs against the long
 * double formula rounded to float, within MAX_ULP. Every input is checked
 * and the failing ones are listed together. The references are computed
 * in long double, whose expl may itself overflow for +-1e30; that is why
 * the flags are checked separately.
 */
static void check_special_values(const char *name, scalar_function function,
                                 scalar_reference reference)
{
    char failures[1024] = "";
    size_t n_failures = 0;
    for (size_t i = 0; i < N_SPECIAL; i++) {
        float expected = (float)reference(SPECIAL_INPUTS[i]);
        float got = function(SPECIAL_INPUTS[i]);
        if (ulp_distance(got, expected) > MAX_ULP) {
            size_t used = strlen(failures);
            snprintf(failures + used, sizeof failures - used,
                     " %s(%g) = %.9g, expected %.9g;", name,
                     (double)SPECIAL_INPUTS[i], (double)got,
                     (double)expected);
            n_failures++;
        }
    }
    ck_assert_msg(n_failures == 0, "%zu of %zu inputs off by more than %d "
                  "ulp:%s", n_failures, N_SPECIAL, MAX_ULP, failures);
}

/*
 * Checks one scalar function over a dense grid of [-120, 120] (step 1/1024)
 * and over random finite bit patterns, within MAX_ULP and with no
 * overflow, invalid or divide-by-zero flag. Only the inputs whose exact
 * result is inside the underflow region (underflow true) or outside it
 * (underflow false) are compared.
 */
static void check_sweep(const char *name, scalar_function function,
                        scalar_reference reference, bool underflow)
{
    const uint64_t pattern_seed = 6001;
    const size_t grid = 2 * 120 * 1024 + 1;
    const size_t patterns = 100000;
    size_t count = grid + patterns;
    float *inputs = checked_malloc(count * sizeof(float));
    float *expected = checked_malloc(count * sizeof(float));
    float *got = checked_malloc(count * sizeof(float));
    bool *selected = checked_malloc(count * sizeof(bool));
    ref_rng rng;
    ref_rng_seed(&rng, pattern_seed);
    for (size_t i = 0; i < grid; i++) {
        inputs[i] = -120.0f + (float)i / 1024.0f;
    }
    for (size_t i = grid; i < count; i++) {
        uint32_t bits;
        float x;
        do {
            bits = (uint32_t)ref_rng_next(&rng);
            memcpy(&x, &bits, sizeof x);
        } while (!isfinite(x));
        inputs[i] = x;
    }
    size_t n_selected = 0;
    for (size_t i = 0; i < count; i++) {
        long double exact = reference(inputs[i]);
        expected[i] = (float)exact;
        bool tiny = exact != 0.0L && fabsl(exact) < UNDERFLOW_LIMIT;
        selected[i] = tiny == underflow;
        n_selected += selected[i];
    }

    feclearexcept(FE_ALL_EXCEPT);
    for (size_t i = 0; i < count; i++) {
        got[i] = function(inputs[i]);
    }
    int flags = fetestexcept(FE_OVERFLOW | FE_INVALID | FE_DIVBYZERO);
    ck_assert_msg(flags == 0, "%s raised flags %#x over the sweep (pattern "
                  "seed %llu)", name, (unsigned)flags,
                  (unsigned long long)pattern_seed);

    int64_t worst = 0;
    size_t worst_index = 0;
    size_t n_failures = 0;
    for (size_t i = 0; i < count; i++) {
        if (!selected[i]) {
            continue;
        }
        int64_t distance = ulp_distance(got[i], expected[i]);
        n_failures += distance > MAX_ULP;
        if (distance > worst) {
            worst = distance;
            worst_index = i;
        }
    }
    printf("  %s%s: %zu inputs, largest error %lld ulp at x = %.9g\n", name,
           underflow ? " (underflow region)" : "", n_selected,
           (long long)worst, (double)inputs[worst_index]);
    ck_assert_msg(n_selected > 1000, "only %zu inputs selected", n_selected);
    ck_assert_msg(worst <= MAX_ULP,
                  "%zu of %zu inputs off by more than %d ulp; worst: "
                  "%s(%.9g) = %.9g, expected %.9g (%lld ulp; pattern seed "
                  "%llu)",
                  n_failures, n_selected, MAX_ULP, name,
                  (double)inputs[worst_index], (double)got[worst_index],
                  (double)expected[worst_index], (long long)worst,
                  (unsigned long long)pattern_seed);
    free(inputs);
    free(expected);
    free(got);
    free(selected);
}

START_TEST(sigmoid_special_flags)
{
    check_special_flags("ebm_sigmoid", ebm_sigmoid);
}
END_TEST

START_TEST(log_sigmoid_special_flags)
{
    check_special_flags("ebm_log_sigmoid", ebm_log_sigmoid);
}
END_TEST

START_TEST(softplus_special_flags)
{
    check_special_flags("ebm_softplus", ebm_softplus);
}
END_TEST

START_TEST(sigmoid_special_values)
{
    ck_assert_msg(ebm_sigmoid(-INFINITY) == 0.0f, "sigmoid(-inf) != 0");
    ck_assert_msg(ebm_sigmoid(INFINITY) == 1.0f, "sigmoid(inf) != 1");
    ck_assert_msg(ebm_sigmoid(0.0f) == 0.5f, "sigmoid(0) != 0.5");
    check_special_values("ebm_sigmoid", ebm_sigmoid, sigmoid_long);
}
END_TEST

START_TEST(log_sigmoid_special_values)
{
    ck_assert_msg(ebm_log_sigmoid(-INFINITY) == -INFINITY,
                  "log_sigmoid(-inf) != -inf");
    ck_assert_msg(ebm_log_sigmoid(INFINITY) == 0.0f,
                  "log_sigmoid(inf) != 0");
    ck_assert_msg(ebm_log_sigmoid(-1e30f) == -1e30f,
                  "log_sigmoid(-1e30) != -1e30");
    check_special_values("ebm_log_sigmoid", ebm_log_sigmoid,
                         log_sigmoid_long);
}
END_TEST

START_TEST(softplus_special_values)
{
    ck_assert_msg(ebm_softplus(-INFINITY) == 0.0f, "softplus(-inf) != 0");
    ck_assert_msg(ebm_softplus(INFINITY) == INFINITY,
                  "softplus(inf) != inf");
    ck_assert_msg(ebm_softplus(1e30f) == 1e30f, "softplus(1e30) != 1e30");
    check_special_values("ebm_softplus", ebm_softplus, softplus_long);
}
END_TEST

START_TEST(sigmoid_sweep)
{
    check_sweep("ebm_sigmoid", ebm_sigmoid, sigmoid_long, false);
}
END_TEST

START_TEST(log_sigmoid_sweep)
{
    check_sweep("ebm_log_sigmoid", ebm_log_sigmoid, log_sigmoid_long, false);
}
END_TEST

START_TEST(softplus_sweep)
{
    check_sweep("ebm_softplus", ebm_softplus, softplus_long, false);
}
END_TEST

START_TEST(sigmoid_underflow_sweep)
{
    check_sweep("ebm_sigmoid", ebm_sigmoid, sigmoid_long, true);
}
END_TEST

START_TEST(log_sigmoid_underflow_sweep)
{
    check_sweep("ebm_log_sigmoid", ebm_log_sigmoid, log_sigmoid_long, true);
}
END_TEST

START_TEST(softplus_underflow_sweep)
{
    check_sweep("ebm_softplus", ebm_softplus, softplus_long, true);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Sampling beyond the first chunk of rows                                  */
/* ------------------------------------------------------------------------ */

/*
 * The conditionals process rows in chunks of 1,024 (EBM_ROW_CHUNK in
 * lib/rbm_internal.h). 2,600 rows make two whole chunks and a partial one.
 * Every sample must still use the uniform of its own row, index
 * r * cols + c of the whole output, and every probability must be that of
 * its own row.
 */
START_TEST(sampling_beyond_first_chunk)
{
    const size_t rows = 2600;
    const uint64_t rng_seed = 3003;
    const uint64_t first_stream = 5;
    printf("  rng seed=%llu stream=%llu, data seed=%llu, %zu rows\n",
           (unsigned long long)rng_seed, (unsigned long long)first_stream,
           (unsigned long long)rng_seed, rows);
    test_model model;
    test_model_random(&model, 0);
    size_t d = model.n_visible;
    size_t k = model.n_hidden;
    float *visible = checked_malloc(rows * d * sizeof(float));
    ref_rng data_rng;
    ref_rng_seed(&data_rng, rng_seed);
    for (size_t i = 0; i < rows * d; i++) {
        visible[i] = (float)ref_rng_uniform(&data_rng);
    }
    float *hprob = checked_malloc(rows * k * sizeof(float));
    float *hsample = checked_malloc(rows * k * sizeof(float));
    float *vprob = checked_malloc(rows * d * sizeof(float));
    float *vsample = checked_malloc(rows * d * sizeof(float));
    ebm_rng rng;
    ck_assert_int_eq(ebm_rng_init(&rng, rng_seed), EBM_OK);
    rng.stream = first_stream;

    ck_assert_int_eq(ebm_rbm_hidden_given_visible(model.rbm, visible, rows,
                                                  1.0f, hprob, hsample, &rng),
                     EBM_OK);
    ck_assert_uint_eq(rng.stream, first_stream + 1);
    check_samples(hprob, hsample, rows, k, rng_seed, first_stream);
    check_hidden_conditional(&model, visible, rows, 1.0f);

    ck_assert_int_eq(ebm_rbm_visible_given_hidden(model.rbm, hsample, rows,
                                                  2.0f, vprob, vsample, &rng),
                     EBM_OK);
    ck_assert_uint_eq(rng.stream, first_stream + 2);
    check_samples(vprob, vsample, rows, d, rng_seed, first_stream + 1);
    check_visible_conditional(&model, hsample, rows, 2.0f);

    free(visible);
    free(hprob);
    free(hsample);
    free(vprob);
    free(vsample);
    test_model_free(&model);
}
END_TEST

/* ------------------------------------------------------------------------ */

static void add_case(Suite *suite, const char *name, const TTest *test)
{
    TCase *tcase = tcase_create(name);
    tcase_add_test(tcase, test);
    suite_add_tcase(suite, tcase);
}

int main(void)
{
    /* Line-buffered, so that the seeds a failing test printed reach the
     * log: Check ends a failed test's forked process without flushing. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    Suite *suite = suite_create("rbm");
    add_case(suite, "hidden_conditional_enumeration",
             hidden_conditional_enumeration);
    add_case(suite, "visible_conditional_enumeration",
             visible_conditional_enumeration);
    add_case(suite, "conditional_fractional_input",
             conditional_fractional_input);
    add_case(suite, "samples_match_uniforms", samples_match_uniforms);
    add_case(suite, "consecutive_samples_differ", consecutive_samples_differ);
    add_case(suite, "free_energy_enumeration", free_energy_enumeration);
    add_case(suite, "free_energy_normalises_to_partition",
             free_energy_normalises_to_partition);
    add_case(suite, "energy_matches_formula", energy_matches_formula);
    add_case(suite, "pseudo_loglik_enumeration", pseudo_loglik_enumeration);
    add_case(suite, "pseudo_loglik_rejects_nonbinary",
             pseudo_loglik_rejects_nonbinary);
    add_case(suite, "reconstruction_error_by_hand",
             reconstruction_error_by_hand);
    add_case(suite, "reconstruction_error_random_model",
             reconstruction_error_random_model);
    add_case(suite, "extreme_weights_conditionals",
             extreme_weights_conditionals);
    add_case(suite, "extreme_weights_scores", extreme_weights_scores);
    add_case(suite, "sigmoid_special_flags", sigmoid_special_flags);
    add_case(suite, "log_sigmoid_special_flags", log_sigmoid_special_flags);
    add_case(suite, "softplus_special_flags", softplus_special_flags);
    add_case(suite, "sigmoid_special_values", sigmoid_special_values);
    add_case(suite, "log_sigmoid_special_values", log_sigmoid_special_values);
    add_case(suite, "softplus_special_values", softplus_special_values);
    add_case(suite, "sigmoid_sweep", sigmoid_sweep);
    add_case(suite, "log_sigmoid_sweep", log_sigmoid_sweep);
    add_case(suite, "softplus_sweep", softplus_sweep);
    add_case(suite, "sigmoid_underflow_sweep", sigmoid_underflow_sweep);
    add_case(suite, "log_sigmoid_underflow_sweep",
             log_sigmoid_underflow_sweep);
    add_case(suite, "softplus_underflow_sweep", softplus_underflow_sweep);
    add_case(suite, "sampling_beyond_first_chunk",
             sampling_beyond_first_chunk);

    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_VERBOSE);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
