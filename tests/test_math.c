/* The vectorised math of vmath.h and the divided products of ebm_gemm. */
#include <check.h>
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebm.h"
#include "parallel.h"
#include "vmath.h"

/* ulp of a float at magnitude |x| (the spacing above it). */
static double ulp_of(long double x)
{
    float f = (float)fabsl(x);

    return (double)(nextafterf(f, INFINITY) - f);
}

/* Floats in increasing order map to increasing integers. */
static int64_t float_order(float x)
{
    int32_t bits;

    memcpy(&bits, &x, sizeof(bits));
    return bits >= 0 ? (int64_t)bits : -(int64_t)(bits & 0x7fffffff);
}

static float order_float(int64_t order)
{
    int32_t bits = order >= 0 ? (int32_t)order
                              : (int32_t)((-order) | 0x80000000u);
    float x;

    memcpy(&x, &bits, sizeof(x));
    return x;
}

/* Largest error in ulp of f against reference over the floats in
 * [lo, hi], visiting every `stride`-th representation, skipping results
 * below FLT_MIN where ulp is not meaningful. */
static double max_ulp_error(float (*f)(float), long double (*ref)(float),
                            float lo, float hi, unsigned stride,
                            float *worst)
{
    double max = 0.0;

    for (int64_t o = float_order(lo); o <= float_order(hi); o += stride) {
        float x = order_float(o);
        long double expected = ref(x);

        if (fabsl(expected) >= 1.17549435e-38L) {
            double err = (double)(fabsl((long double)f(x) - expected) /
                                  ulp_of(expected));

            if (err > max) {
                max = err;
                *worst = x;
            }
        }
    }
    return max;
}

static float exp_fn(float x)
{
    return ebm_vexp(x);
}

static long double exp_ref(float x)
{
    return expl((long double)x);
}

static float log1p_fn(float x)
{
    return ebm_vlog1p_unit(x);
}

static long double log1p_ref(float x)
{
    return log1pl((long double)x);
}

static float sigmoid_fn(float x)
{
    return ebm_vsigmoid(x);
}

static long double sigmoid_ref(float x)
{
    return 1.0L / (1.0L + expl(-(long double)x));
}

static float softplus_fn(float x)
{
    return ebm_vsoftplus(x);
}

static long double softplus_ref(float x)
{
    long double lx = x;

    return lx > 0 ? lx + log1pl(expl(-lx)) : log1pl(expl(lx));
}

/* Bounds stated in vmath.h. The loops visit every 211th float (about ten
 * million values each); log1p on [0, 1] visits every 61st. */
START_TEST(exp_accuracy)
{
    float worst = 0.0f;
    double err =
        max_ulp_error(exp_fn, exp_ref, -87.0f, 0.0f, 211, &worst);

    printf("exp: max error %.2f ulp at %.9g\n", err, (double)worst);
    ck_assert_double_le(err, 2.0);
}
END_TEST

START_TEST(log1p_accuracy)
{
    float worst = 0.0f;
    double err = max_ulp_error(log1p_fn, log1p_ref, 0.0f, 1.0f, 61,
                               &worst);

    printf("log1p: max error %.2f ulp at %.9g\n", err, (double)worst);
    ck_assert_double_le(err, 2.0);
}
END_TEST

START_TEST(sigmoid_accuracy)
{
    float worst = 0.0f;
    double err =
        max_ulp_error(sigmoid_fn, sigmoid_ref, -87.0f, 100.0f, 211,
                      &worst);

    printf("sigmoid: max error %.2f ulp at %.9g\n", err, (double)worst);
    ck_assert_double_le(err, 3.0);
}
END_TEST

START_TEST(softplus_accuracy)
{
    float worst = 0.0f;
    double err =
        max_ulp_error(softplus_fn, softplus_ref, -87.0f, 100.0f, 211,
                      &worst);

    printf("softplus: max error %.2f ulp at %.9g\n", err, (double)worst);
    ck_assert_double_le(err, 4.0);
}
END_TEST

/* Results below FLT_MIN are subnormal: allow one subnormal step (2^-149)
 * on top of 2 ulp of FLT_MIN. Every 7th float of [-104, -87] is visited. */
static double max_subnormal_error(float (*f)(float),
                                  long double (*ref)(float), float *worst)
{
    const long double step = 1.40129846e-45L; /* 2^-149 */
    double max = 0.0;

    for (int64_t o = float_order(-104.0f); o <= float_order(-87.0f);
         o += 7) {
        float x = order_float(o);
        long double expected = ref(x);
        double err = (double)(fabsl((long double)f(x) - expected) / step);

        if (err > max) {
            max = err;
            *worst = x;
        }
    }
    return max;
}

START_TEST(subnormal_results)
{
    float worst = 0.0f;
    double exp_err = max_subnormal_error(exp_fn, exp_ref, &worst);
    double sigmoid_err = max_subnormal_error(sigmoid_fn, sigmoid_ref, &worst);
    double softplus_err =
        max_subnormal_error(softplus_fn, softplus_ref, &worst);

    printf("subnormal range: max error %.2f, %.2f, %.2f steps of 2^-149 "
           "(exp, sigmoid, softplus)\n",
           exp_err, sigmoid_err, softplus_err);
    /* 2 ulp of FLT_MIN is 2^-148, two steps; plus one step of rounding. */
    ck_assert_double_le(exp_err, 3.0);
    ck_assert_double_le(sigmoid_err, 3.0);
    ck_assert_double_le(softplus_err, 3.0);
}
END_TEST

/* Below exp(-104), less than half the smallest subnormal, results are 0;
 * large arguments saturate exactly. */
START_TEST(saturated_results)
{
    ck_assert_float_eq(ebm_vexp(-104.5f), 0.0f);
    ck_assert_float_eq(ebm_vexp(-INFINITY), 0.0f);
    ck_assert_float_gt(ebm_vexp(-103.0f), 0.0f);
    ck_assert_float_eq(ebm_vsigmoid(-1000.0f), 0.0f);
    ck_assert_float_eq(ebm_vsoftplus(-1000.0f), 0.0f);
    ck_assert_float_eq(ebm_vsigmoid(1000.0f), 1.0f);
    ck_assert_float_eq(ebm_vsoftplus(1000.0f), 1000.0f);
}
END_TEST

START_TEST(extremes_raise_no_flags)
{
    const float inputs[] = {0.0f,     -0.0f,     1e-30f,   -1e-30f,
                            88.0f,    -88.0f,    89.0f,    -89.0f,
                            1e30f,    -1e30f,    FLT_MAX,  -FLT_MAX,
                            INFINITY, -INFINITY, 1e-45f,   -1e-45f};
    volatile float sink;

    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        feclearexcept(FE_ALL_EXCEPT);
        sink = ebm_sigmoid(inputs[i]);
        sink = ebm_softplus(inputs[i]);
        sink = ebm_log_sigmoid(inputs[i]);
        (void)sink;
        ck_assert_msg(!fetestexcept(FE_OVERFLOW | FE_INVALID | FE_DIVBYZERO),
                      "flag raised at x = %g", (double)inputs[i]);
    }
}
END_TEST

/* C = alpha op(A) op(B) + beta C in double, row-major. */
static void naive_gemm(bool ta, bool tb, size_t m, size_t n, size_t k,
                       float alpha, const float *a, size_t lda,
                       const float *b, size_t ldb, float beta, float *c,
                       size_t ldc)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double sum = 0.0;

            for (size_t p = 0; p < k; p++) {
                double av = ta ? a[p * lda + i] : a[i * lda + p];
                double bv = tb ? b[j * ldb + p] : b[p * ldb + j];

                sum += av * bv;
            }
            c[i * ldc + j] = (float)(alpha * sum +
                                     (beta != 0.0f ? beta * c[i * ldc + j]
                                                   : 0.0));
        }
}

static void fill_random(float *x, size_t n, unsigned seed)
{
    srand(seed);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)rand() / (float)RAND_MAX - 0.5f;
}

struct block_count {
    size_t *visits; /* per output element */
    size_t ldc;
};

static void count_block(void *context, size_t r0, size_t r1, size_t c0,
                        size_t c1)
{
    struct block_count *count = context;

    for (size_t r = r0; r < r1; r++)
        for (size_t c = c0; c < c1; c++)
            count->visits[r * count->ldc + c]++;
}

/* Every combination of transposes, split and unsplit shapes: the product
 * matches double-precision loops to float accuracy (relative 1e-5 of the
 * sum of |terms|, which is at most k / 4 here), and the epilogue visits
 * every output element exactly once. */
START_TEST(gemm_matches_naive_loops)
{
    const size_t shapes[][3] = {{3, 5, 7}, {100, 500, 784}, {784, 500, 100},
                                {1000, 64, 33}, {17, 1100, 300}};

    for (size_t s = 0; s < 5; s++) {
        size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];

        for (int t = 0; t < 4; t++) {
            bool ta = t & 1, tb = t & 2;
            float *a = malloc(m * k * sizeof(float));
            float *b = malloc(k * n * sizeof(float));
            float *c = malloc(m * n * sizeof(float));
            float *ref = malloc(m * n * sizeof(float));
            size_t *visits = calloc(m * n, sizeof(size_t));
            struct block_count count = {visits, n};

            fill_random(a, m * k, 1 + (unsigned)s);
            fill_random(b, k * n, 2 + (unsigned)s);
            fill_random(c, m * n, 3 + (unsigned)s);
            memcpy(ref, c, m * n * sizeof(float));
            ebm_gemm(ta, tb, m, n, k, 0.5f, a, ta ? m : k, b, tb ? k : n,
                     1.0f, c, n, count_block, &count);
            naive_gemm(ta, tb, m, n, k, 0.5f, a, ta ? m : k, b, tb ? k : n,
                       1.0f, ref, n);
            for (size_t i = 0; i < m * n; i++) {
                ck_assert_float_eq_tol(c[i], ref[i], 1e-5f * (float)k);
                ck_assert_uint_eq(visits[i], 1);
            }
            free(a);
            free(b);
            free(c);
            free(ref);
            free(visits);
        }
    }
}
END_TEST

START_TEST(gemm_beta_zero_ignores_output)
{
    float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, 0, 1, 1, 1};
    float c[4] = {NAN, NAN, NAN, NAN};

    /* (2 x 3)(3 x 2) */
    ebm_gemm(false, false, 2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c, 2, NULL,
             NULL);
    ck_assert_float_eq(c[0], 4.0f);
    ck_assert_float_eq(c[1], 5.0f);
    ck_assert_float_eq(c[2], 10.0f);
    ck_assert_float_eq(c[3], 11.0f);
}
END_TEST

START_TEST(gemm_plan_pieces)
{
    struct ebm_gemm_plan small = ebm_gemm_plan(10, 10, 10);
    struct ebm_gemm_plan rbm = ebm_gemm_plan(100, 500, 784);
    struct ebm_gemm_plan tall = ebm_gemm_plan(4096, 500, 784);

    ck_assert_uint_eq(small.pieces, 1);
    /* 100 x 500: the 500 columns are split, each piece width a multiple of
     * 16 and the pieces covering the columns exactly. */
    ck_assert(!rbm.split_rows);
    ck_assert_uint_ge(rbm.pieces, 2);
    ck_assert_uint_eq(rbm.width % 16, 0);
    ck_assert_uint_ge(rbm.pieces * rbm.width, 500);
    ck_assert_uint_lt((rbm.pieces - 1) * rbm.width, 500);
    ck_assert(tall.split_rows);
    ck_assert_uint_le(tall.pieces, 64);
}
END_TEST

/* The point of the pieces: 1 and 2 threads give the same bits. */
START_TEST(gemm_same_bits_any_thread_count)
{
    const size_t m = 100, n = 500, k = 784;
    float *a = malloc(m * k * sizeof(float));
    float *b = malloc(k * n * sizeof(float));
    float *c1 = malloc(m * n * sizeof(float));
    float *c2 = malloc(m * n * sizeof(float));

    fill_random(a, m * k, 11);
    fill_random(b, k * n, 12);
    ck_assert_int_eq(ebm_set_threads(1), EBM_OK);
    ebm_gemm(false, false, m, n, k, 1.0f, a, k, b, n, 0.0f, c1, n, NULL,
             NULL);
    ck_assert_int_eq(ebm_set_threads(2), EBM_OK);
    ebm_gemm(false, false, m, n, k, 1.0f, a, k, b, n, 0.0f, c2, n, NULL,
             NULL);
    ck_assert_int_eq(memcmp(c1, c2, m * n * sizeof(float)), 0);
    free(a);
    free(b);
    free(c1);
    free(c2);
}
END_TEST

static void mark_range(void *context, size_t begin, size_t end)
{
    unsigned char *seen = context;

    for (size_t i = begin; i < end; i++)
        seen[i]++;
}

START_TEST(parallel_for_covers_range_once)
{
    unsigned char seen[1001] = {0};

    ck_assert_int_eq(ebm_set_threads(2), EBM_OK);
    ebm_parallel_for(1001, 10, mark_range, seen);
    for (size_t i = 0; i < 1001; i++)
        ck_assert_uint_eq(seen[i], 1);
}
END_TEST

START_TEST(blas_info_names_backend)
{
    const char *info = ebm_blas_info();

    printf("blas: %s\n", info);
    ck_assert_ptr_nonnull(strstr(info, "OpenBLAS"));
    /* Version and core name follow. */
    ck_assert_uint_gt(strlen(info), strlen("OpenBLAS 0.0 x"));
    ck_assert_ptr_eq(ebm_blas_info(), info);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("math");
    TCase *functions = tcase_create("functions");
    TCase *products = tcase_create("products");
    SRunner *runner;
    int failed;

    tcase_add_test(functions, exp_accuracy);
    tcase_add_test(functions, log1p_accuracy);
    tcase_add_test(functions, sigmoid_accuracy);
    tcase_add_test(functions, softplus_accuracy);
    tcase_add_test(functions, subnormal_results);
    tcase_add_test(functions, saturated_results);
    tcase_add_test(functions, extremes_raise_no_flags);
    tcase_add_test(products, gemm_matches_naive_loops);
    tcase_add_test(products, gemm_beta_zero_ignores_output);
    tcase_add_test(products, gemm_plan_pieces);
    tcase_add_test(products, gemm_same_bits_any_thread_count);
    tcase_add_test(products, parallel_for_covers_range_once);
    tcase_add_test(products, blas_info_names_backend);
    suite_add_tcase(suite, functions);
    suite_add_tcase(suite, products);
    runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
