/*
 * ebm_rbm_initialize against its definition in ebm.h and docs/training.md:
 *
 *   a_i = log(p_i / (1 - p_i)), p_i the mean of column i of the data
 *         clipped to [0.001, 0.999] (a = 0 without data)
 *   b   = 0
 *   W   = Box-Muller on the uniforms of stream EBM_STREAM_INITIALIZE:
 *         with u1 = uniform 2m and u2 = uniform 2m + 1, element 2m is
 *         s sqrt(-2 ln u1) cos(2 pi u2) and element 2m + 1 the same with
 *         sin, for s = weight_stddev
 *
 * The weights are recomputed element by element and also checked as a
 * normal sample. Every model and data set comes from reference.c's
 * splitmix64 with a seed printed on stdout.
 */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebm.h"
#include "reference.h"

static const double PI = 3.14159265358979323846;

/*
 * Tolerance of a visible bias. A library that computes the mean and the
 * logit in double is within half a float ulp (4e-7 for |a| <= 6.91). One
 * that works in float loses more near the clip: 1 - p for p = 0.999 is then
 * known to about 6e-5 relative, and so is the logit. 1e-4 accepts both,
 * while every wrong formula tested here is off by 0.2 or more.
 */
#define BIAS_TOLERANCE 1e-4

/* log(999), the largest |a_i| that the clip allows. */
static const double CLIPPED_LOGIT = 6.906754778648554;

static void *checked_calloc(size_t count, size_t size)
{
    void *memory = calloc(count, size);
    ck_assert_ptr_nonnull(memory);
    return memory;
}

/* A D x K model whose parameters are uniform in [-2, 2), so that every
 * parameter that initialisation must overwrite starts far from its new
 * value. */
static ebm_rbm *make_random_model(size_t d, size_t k, uint64_t seed)
{
    printf("  starting model D=%zu K=%zu seed=%llu\n", d, k,
           (unsigned long long)seed);
    float *w = checked_calloc(d * k, sizeof(float));
    float *a = checked_calloc(d, sizeof(float));
    float *b = checked_calloc(k, sizeof(float));
    ref_rng rng;
    ref_rng_seed(&rng, seed);
    ref_random_model(&rng, d, k, 2.0f, w, a, b);
    ebm_rbm *rbm = NULL;
    ck_assert_int_eq(ebm_rbm_create(d, k, &rbm), EBM_OK);
    ck_assert_int_eq(ebm_rbm_set_weights(rbm, w), EBM_OK);
    ck_assert_int_eq(ebm_rbm_set_visible_bias(rbm, a), EBM_OK);
    ck_assert_int_eq(ebm_rbm_set_hidden_bias(rbm, b), EBM_OK);
    free(w);
    free(a);
    free(b);
    return rbm;
}

/* Parameters of a model packed as [W (D x K), a (D), b (K)]. */
typedef struct snapshot {
    size_t count;
    float *values;
} snapshot;

static snapshot take_snapshot(const ebm_rbm *rbm)
{
    size_t d = 0;
    size_t k = 0;
    ck_assert_int_eq(ebm_rbm_shape(rbm, &d, &k), EBM_OK);
    snapshot shot = {d * k + d + k, NULL};
    shot.values = checked_calloc(shot.count, sizeof(float));
    memcpy(shot.values, ebm_rbm_weights(rbm), d * k * sizeof(float));
    memcpy(shot.values + d * k, ebm_rbm_visible_bias(rbm), d * sizeof(float));
    memcpy(shot.values + d * k + d, ebm_rbm_hidden_bias(rbm),
           k * sizeof(float));
    return shot;
}

static bool snapshot_matches(const snapshot *shot, const ebm_rbm *rbm)
{
    snapshot now = take_snapshot(rbm);
    bool same =
        memcmp(now.values, shot->values, shot->count * sizeof(float)) == 0;
    free(now.values);
    return same;
}

/* Runs ebm_rbm_initialize, prints its seed and asserts that it succeeded. */
static void initialize_ok(ebm_rbm *rbm, const float *data, size_t rows,
                          float stddev, uint64_t seed)
{
    printf("  initialisation seed=%llu, stddev %.9g, %zu rows\n",
           (unsigned long long)seed, (double)stddev, rows);
    ebm_status status = ebm_rbm_initialize(rbm, data, rows, stddev, seed);
    ck_assert_msg(status == EBM_OK, "initialize: %s (%s)",
                  ebm_status_name(status), ebm_last_error());
}

/* ------------------------------------------------------------------------ */
/* Visible and hidden biases                                                */
/* ------------------------------------------------------------------------ */

/* The documented visible bias of column `column` of rows x d data: the
 * mean in double, clipped to [0.001, 0.999], then the logit. */
static double expected_visible_bias(const float *data, size_t rows, size_t d,
                                    size_t column)
{
    double sum = 0.0;
    for (size_t r = 0; r < rows; r++) {
        sum += data[r * d + column];
    }
    double p = sum / (double)rows;
    p = fmin(fmax(p, 0.001), 0.999);
    return log(p / (1.0 - p));
}

/* Checks every visible bias of rbm against expected_visible_bias. */
static void check_visible_biases(const ebm_rbm *rbm, const float *data,
                                 size_t rows, size_t d)
{
    const float *a = ebm_rbm_visible_bias(rbm);
    for (size_t i = 0; i < d; i++) {
        double want = expected_visible_bias(data, rows, d, i);
        ck_assert_msg(isfinite(a[i]), "a[%zu] = %g is not finite", i,
                      (double)a[i]);
        ck_assert_msg(fabs(a[i] - want) <= BIAS_TOLERANCE,
                      "a[%zu] = %.9g, expected %.9g (tolerance %g)", i,
                      (double)a[i], want, BIAS_TOLERANCE);
    }
}

/* Columns with means strictly inside the clip range, from binary and from
 * fractional values. */
START_TEST(init_visible_bias_from_means)
{
    enum { D = 6, K = 3, ROWS = 400 };
    const uint64_t data_seed = 9101;
    printf("  data seed=%llu\n", (unsigned long long)data_seed);
    float *data = checked_calloc(ROWS * D, sizeof(float));
    ref_rng rng;
    ref_rng_seed(&rng, data_seed);
    for (size_t r = 0; r < ROWS; r++) {
        float *row = data + r * D;
        row[0] = (float)(r % 2);                            /* 0.5 */
        row[1] = 0.25f;                                     /* 0.25 */
        row[2] = ref_rng_uniform(&rng) < 0.7 ? 1.0f : 0.0f; /* ~0.7 */
        row[3] = (float)ref_rng_uniform(&rng);              /* ~0.5 */
        row[4] = 0.5f * (float)(ref_rng_next(&rng) % 3);    /* ~0.5 */
        row[5] = r % 8 == 0 ? 1.0f : 0.0f;                  /* 0.125 */
    }
    ebm_rbm *rbm = make_random_model(D, K, 9102);
    initialize_ok(rbm, data, ROWS, 0.01f, 9103);
    check_visible_biases(rbm, data, ROWS, D);

    /* Two columns checked against hand values: logit(0.5) = 0 and
     * logit(0.25) = log(1/3). */
    const float *a = ebm_rbm_visible_bias(rbm);
    ck_assert_msg(fabs(a[0]) <= BIAS_TOLERANCE, "a[0] = %.9g for mean 0.5",
                  (double)a[0]);
    ck_assert_msg(fabs(a[1] - log(1.0 / 3.0)) <= BIAS_TOLERANCE,
                  "a[1] = %.9g for mean 0.25, expected %.9g", (double)a[1],
                  log(1.0 / 3.0));
    ebm_rbm_destroy(rbm);
    free(data);
}
END_TEST

/*
 * Columns at and beyond the clip. Of 2000 rows, a column with 0, 1 or 2
 * ones has mean 0, 0.0005 or exactly 0.001, all of which give
 * -log(999); 3 ones give 0.0015, which is not clipped. The columns with as
 * many zeros give the mirror images. Without the clip, an all-zero or
 * all-one column would give an infinite bias.
 */
START_TEST(init_visible_bias_clipped)
{
    enum { D = 8, K = 2, ROWS = 2000 };
    const size_t ones[D] = {0, 1, 2, 3, ROWS, ROWS - 1, ROWS - 2, ROWS - 3};
    const double expected[D] = {
        -CLIPPED_LOGIT, -CLIPPED_LOGIT, -CLIPPED_LOGIT, log(0.0015 / 0.9985),
        CLIPPED_LOGIT,  CLIPPED_LOGIT,  CLIPPED_LOGIT,  log(0.9985 / 0.0015),
    };
    float *data = checked_calloc(ROWS * D, sizeof(float));
    for (size_t i = 0; i < D; i++) {
        /* Spread the ones over the rows: row r of column i is 1 when
         * (r * 7 + i) mod ROWS < ones[i]. */
        for (size_t r = 0; r < ROWS; r++) {
            data[r * D + i] = (r * 7 + i) % ROWS < ones[i] ? 1.0f : 0.0f;
        }
    }
    ebm_rbm *rbm = make_random_model(D, K, 9201);
    initialize_ok(rbm, data, ROWS, 0.01f, 9202);
    check_visible_biases(rbm, data, ROWS, D);

    const float *a = ebm_rbm_visible_bias(rbm);
    for (size_t i = 0; i < D; i++) {
        ck_assert_msg(fabs(a[i] - expected[i]) <= BIAS_TOLERANCE,
                      "a[%zu] = %.9g for %zu ones in %d rows, expected %.9g", i,
                      (double)a[i], ones[i], ROWS, expected[i]);
        ck_assert_msg(fabs(a[i]) <= CLIPPED_LOGIT + BIAS_TOLERANCE,
                      "|a[%zu]| = %.9g exceeds log(999)", i, (double)a[i]);
    }
    ebm_rbm_destroy(rbm);
    free(data);
}
END_TEST

START_TEST(init_hidden_bias_zeroed)
{
    enum { D = 5, K = 7, ROWS = 10 };
    float data[ROWS * D];
    for (size_t p = 0; p < ROWS * D; p++) {
        data[p] = (float)(p % 3 == 0);
    }
    ebm_rbm *rbm = make_random_model(D, K, 9301);
    const float *b = ebm_rbm_hidden_bias(rbm);
    size_t nonzero = 0;
    for (size_t j = 0; j < K; j++) {
        nonzero += b[j] != 0.0f;
    }
    ck_assert_msg(nonzero == K,
                  "only %zu of %d starting hidden biases are nonzero", nonzero,
                  K);

    initialize_ok(rbm, data, ROWS, 0.01f, 9302);
    b = ebm_rbm_hidden_bias(rbm);
    for (size_t j = 0; j < K; j++) {
        ck_assert_msg(b[j] == 0.0f, "b[%zu] = %.9g after initialisation", j,
                      (double)b[j]);
    }
    ebm_rbm_destroy(rbm);
}
END_TEST

/* rows = 0 with data NULL: every visible bias is exactly 0, the logit of
 * the mean 0.5 that the header implies. */
START_TEST(init_without_data_zero_bias)
{
    enum { D = 9, K = 4 };
    ebm_rbm *rbm = make_random_model(D, K, 9401);
    initialize_ok(rbm, NULL, 0, 0.01f, 9402);
    const float *a = ebm_rbm_visible_bias(rbm);
    const float *b = ebm_rbm_hidden_bias(rbm);
    for (size_t i = 0; i < D; i++) {
        ck_assert_msg(a[i] == 0.0f, "a[%zu] = %.9g without data", i,
                      (double)a[i]);
    }
    for (size_t j = 0; j < K; j++) {
        ck_assert_msg(b[j] == 0.0f, "b[%zu] = %.9g without data", j,
                      (double)b[j]);
    }
    ebm_rbm_destroy(rbm);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Weights                                                                  */
/* ------------------------------------------------------------------------ */

/* The documented weight of element j of W: Box-Muller on uniforms 2m and
 * 2m + 1 of stream EBM_STREAM_INITIALIZE, m = j / 2, cos for even j and
 * sin for odd j. Stores the Box-Muller radius s sqrt(-2 ln u1) in
 * *scale. */
static double expected_weight(uint64_t seed, size_t j, double stddev,
                              double *scale)
{
    uint64_t m = j / 2;
    double u1 = ebm_rng_uniform(seed, EBM_STREAM_INITIALIZE, 2 * m);
    double u2 = ebm_rng_uniform(seed, EBM_STREAM_INITIALIZE, 2 * m + 1);
    double radius = stddev * sqrt(-2.0 * log(u1));
    double angle = 2.0 * PI * u2;
    *scale = radius;
    return j % 2 == 0 ? radius * cos(angle) : radius * sin(angle);
}

/*
 * Every weight against expected_weight, for an odd element count (the last
 * element uses only the cos), counts beyond 256 and 4096, and several
 * standard deviations. Tolerance: 8 FLT_EPSILON times the radius. A library
 * working in double rounds once, to half an ulp. One working in float adds a
 * few ulp from sqrt, log and cos, and the rounding of the angle 2 pi u2
 * (below 8, so off by at most 2.4e-7 = 2 FLT_EPSILON radians), which moves
 * the result by that much times the radius.
 */
START_TEST(init_weights_box_muller)
{
    const struct {
        size_t d;
        size_t k;
        float stddev;
        uint64_t seed;
    } cases[] = {
        {7, 5, 0.01f, 9501},
        {37, 23, 1.0f, 9502},
        {64, 64, 2.5f, 9503},
        {1, 1, 0.5f, 9504},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t d = cases[c].d;
        size_t k = cases[c].k;
        double stddev = cases[c].stddev;
        uint64_t seed = cases[c].seed;
        ebm_rbm *rbm = make_random_model(d, k, seed + 1000);
        initialize_ok(rbm, NULL, 0, cases[c].stddev, seed);
        const float *w = ebm_rbm_weights(rbm);
        for (size_t j = 0; j < d * k; j++) {
            double radius = 0.0;
            double want = expected_weight(seed, j, stddev, &radius);
            double tolerance = 8.0 * FLT_EPSILON * radius;
            ck_assert_msg(fabs(w[j] - want) <= tolerance,
                          "W[%zu, %zu] (element %zu) = %.9g, expected %.9g "
                          "(tolerance %.3g, seed %llu)",
                          j / k, j % k, j, (double)w[j], want, tolerance,
                          (unsigned long long)seed);
        }
        ebm_rbm_destroy(rbm);
    }
}
END_TEST

/*
 * A 500 x 400 W (n = 200,000 weights) as a sample of N(0, s^2), s = 0.01.
 * Each bound is 5 standard errors of its statistic for a true normal
 * sample. The standard errors are s / sqrt(n) for the mean, s / sqrt(2n)
 * for the standard deviation, and sqrt(0.6827 * 0.3173 / n) for the
 * fraction within one s of 0 (0.6827). The two elements of a Box-Muller
 * pair are independent, so their correlation has standard error
 * 1 / sqrt(n / 2). A normal sample exceeds 5 standard errors with
 * probability below 6e-7 per statistic, so the fixed seed below is not a
 * lucky pick.
 */
START_TEST(init_weights_normal_statistics)
{
    enum { D = 500, K = 400 };
    const double n = (double)D * K;
    const float stddev = 0.01f;
    const uint64_t seed = 9601;
    ebm_rbm *rbm = NULL;
    ck_assert_int_eq(ebm_rbm_create(D, K, &rbm), EBM_OK);
    initialize_ok(rbm, NULL, 0, stddev, seed);
    const float *w = ebm_rbm_weights(rbm);

    double sum = 0.0;
    double sum_squares = 0.0;
    double within = 0.0;
    double pair_products = 0.0;
    for (size_t j = 0; j < (size_t)D * K; j++) {
        sum += w[j];
        sum_squares += (double)w[j] * w[j];
        within += fabs(w[j]) <= stddev;
        if (j % 2 == 0) {
            pair_products += (double)w[j] * w[j + 1];
        }
    }
    double mean = sum / n;
    double sd = sqrt(sum_squares / n - mean * mean);
    double fraction = within / n;
    double correlation = (pair_products / (n / 2) - mean * mean) / (sd * sd);
    printf("  mean %.3g, standard deviation %.6g, fraction within 1 s "
           "%.5f, pair correlation %.4f\n",
           mean, sd, fraction, correlation);

    double mean_bound = 5.0 * stddev / sqrt(n);
    ck_assert_msg(fabs(mean) <= mean_bound, "mean weight %.3g exceeds %.3g",
                  mean, mean_bound);
    double sd_bound = 5.0 * stddev / sqrt(2.0 * n);
    ck_assert_msg(fabs(sd - stddev) <= sd_bound,
                  "standard deviation %.6g, expected %g +- %.3g", sd,
                  (double)stddev, sd_bound);
    const double normal_within = 0.6826894921370859;
    double fraction_bound =
        5.0 * sqrt(normal_within * (1.0 - normal_within) / n);
    ck_assert_msg(fabs(fraction - normal_within) <= fraction_bound,
                  "%.5f of the weights lie within one standard deviation, "
                  "expected %.5f +- %.4f",
                  fraction, normal_within, fraction_bound);
    double correlation_bound = 5.0 / sqrt(n / 2.0);
    ck_assert_msg(fabs(correlation) <= correlation_bound,
                  "elements 2m and 2m + 1 have correlation %.4f, expected "
                  "0 +- %.4f",
                  correlation, correlation_bound);
    ebm_rbm_destroy(rbm);
}
END_TEST

/* The weights depend on the seed and on nothing else: the same seed gives
 * the same W whatever the data and the starting parameters, and the next
 * seed gives another W. */
START_TEST(init_seed_changes_weights)
{
    enum { D = 12, K = 9, ROWS = 20 };
    const uint64_t seed = 9701;
    const uint64_t data_seed = 9705;
    printf("  data seed=%llu\n", (unsigned long long)data_seed);
    float data[ROWS * D];
    ref_rng rng;
    ref_rng_seed(&rng, data_seed);
    ref_random_binary(&rng, data, ROWS * D, 0.3);

    ebm_rbm *first = make_random_model(D, K, 9703);
    ebm_rbm *again = make_random_model(D, K, 9704);
    ebm_rbm *other = make_random_model(D, K, 9703);
    initialize_ok(first, data, ROWS, 0.1f, seed);
    initialize_ok(again, NULL, 0, 0.1f, seed);
    initialize_ok(other, data, ROWS, 0.1f, seed + 1);

    ck_assert_msg(memcmp(ebm_rbm_weights(first), ebm_rbm_weights(again),
                         D * K * sizeof(float)) == 0,
                  "seed %llu gives different weights with and without data",
                  (unsigned long long)seed);
    const float *w_first = ebm_rbm_weights(first);
    const float *w_other = ebm_rbm_weights(other);
    size_t equal = 0;
    for (size_t j = 0; j < D * K; j++) {
        equal += w_first[j] == w_other[j];
    }
    ck_assert_msg(equal == 0, "seeds %llu and %llu give %zu equal weights",
                  (unsigned long long)seed, (unsigned long long)seed + 1,
                  equal);
    ebm_rbm_destroy(first);
    ebm_rbm_destroy(again);
    ebm_rbm_destroy(other);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* weight_stddev                                                            */
/* ------------------------------------------------------------------------ */

/* Standard deviations that ebm.h rejects: negative, NaN, and above 1e30
 * (the smallest float above 1e30, 2e30 and infinity). Each call must
 * return EBM_ERR_ARGUMENT and leave every parameter bitwise as it was. */
START_TEST(init_rejects_invalid_stddev)
{
    enum { D = 4, K = 3, ROWS = 6 };
    float data[ROWS * D];
    for (size_t p = 0; p < ROWS * D; p++) {
        data[p] = (float)(p % 2);
    }
    const float invalid[] = {
        -0.01f, -1e-30f,  -INFINITY, NAN, nextafterf(1e30f, INFINITY),
        2e30f,  INFINITY,
    };
    const uint64_t seed = 9802;
    printf("  initialisation seed=%llu\n", (unsigned long long)seed);
    ebm_rbm *rbm = make_random_model(D, K, 9801);
    snapshot before = take_snapshot(rbm);
    for (size_t c = 0; c < sizeof invalid / sizeof invalid[0]; c++) {
        ebm_status status =
            ebm_rbm_initialize(rbm, data, ROWS, invalid[c], seed);
        ck_assert_msg(status == EBM_ERR_ARGUMENT,
                      "weight_stddev %g: %s, expected EBM_ERR_ARGUMENT",
                      (double)invalid[c], ebm_status_name(status));
        ck_assert_msg(strlen(ebm_last_error()) > 0,
                      "weight_stddev %g: no error detail", (double)invalid[c]);
        ck_assert_msg(snapshot_matches(&before, rbm),
                      "weight_stddev %g changed the model", (double)invalid[c]);
    }
    free(before.values);
    ebm_rbm_destroy(rbm);
}
END_TEST

/* The edges of the valid range: 0 gives W = 0 exactly, and the largest
 * float not above 1e30 is accepted with finite weights. */
START_TEST(init_accepts_boundary_stddev)
{
    enum { D = 6, K = 5 };
    ebm_rbm *rbm = make_random_model(D, K, 9901);
    initialize_ok(rbm, NULL, 0, 0.0f, 9902);
    const float *w = ebm_rbm_weights(rbm);
    for (size_t j = 0; j < D * K; j++) {
        ck_assert_msg(w[j] == 0.0f, "W element %zu = %g with stddev 0", j,
                      (double)w[j]);
    }

    float largest = nextafterf(1e30f, 0.0f);
    ck_assert_msg((double)largest <= 1e30, "%.9g is above 1e30",
                  (double)largest);
    initialize_ok(rbm, NULL, 0, largest, 9903);
    w = ebm_rbm_weights(rbm);
    size_t nonzero = 0;
    for (size_t j = 0; j < D * K; j++) {
        ck_assert_msg(isfinite(w[j]), "W element %zu = %g with stddev %g", j,
                      (double)w[j], (double)largest);
        nonzero += w[j] != 0.0f;
    }
    ck_assert_msg(nonzero == D * K, "%zu of %d weights are 0 with stddev %g",
                  D * K - nonzero, D * K, (double)largest);
    ebm_rbm_destroy(rbm);
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
    Suite *suite = suite_create("init");
    add_case(suite, "init_visible_bias_from_means",
             init_visible_bias_from_means);
    add_case(suite, "init_visible_bias_clipped", init_visible_bias_clipped);
    add_case(suite, "init_hidden_bias_zeroed", init_hidden_bias_zeroed);
    add_case(suite, "init_without_data_zero_bias", init_without_data_zero_bias);
    add_case(suite, "init_weights_box_muller", init_weights_box_muller);
    add_case(suite, "init_weights_normal_statistics",
             init_weights_normal_statistics);
    add_case(suite, "init_seed_changes_weights", init_seed_changes_weights);
    add_case(suite, "init_rejects_invalid_stddev", init_rejects_invalid_stddev);
    add_case(suite, "init_accepts_boundary_stddev",
             init_accepts_boundary_stddev);

    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_VERBOSE);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
