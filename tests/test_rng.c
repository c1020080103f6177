/* Philox4x32-10 and the uniform and Bernoulli streams built on it. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ebm.h"
#include "rng.h"

/* Known-answer vectors published with Random123 (D. E. Shaw Research),
 * file kat_vectors, for philox4x32 with 10 rounds. */
START_TEST(philox_known_answers)
{
    static const uint32_t counters[3][4] = {
        {0, 0, 0, 0},
        {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
        {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
    };
    static const uint32_t keys[3][2] = {
        {0, 0},
        {0xffffffffu, 0xffffffffu},
        {0xa4093822u, 0x299f31d0u},
    };
    static const uint32_t expected[3][4] = {
        {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u},
        {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu},
        {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u},
    };

    for (int t = 0; t < 3; t++) {
        uint32_t out[4];

        ebm_philox4x32_10(counters[t], keys[t], out);
        for (int w = 0; w < 4; w++)
            ck_assert_uint_eq(out[w], expected[t][w]);
    }
}
END_TEST

/* The uniform of (seed, stream, index), computed from the definition in
 * ebm.h with the scalar Philox function. */
static float uniform_by_definition(uint64_t seed, uint64_t stream,
                                   uint64_t index)
{
    uint64_t block = 16 * (index / 64) + index % 16;
    uint32_t counter[4] = {(uint32_t)block, (uint32_t)(block >> 32),
                           (uint32_t)stream, (uint32_t)(stream >> 32)};
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t out[4];

    ebm_philox4x32_10(counter, key, out);
    /* In double, where the formula is exact, then converted: a float
     * result that differed from it would show. */
    return (float)(((double)(out[(index % 64) / 16] >> 9) + 0.5) /
                   8388608.0);
}

START_TEST(uniform_matches_definition)
{
    const uint64_t seeds[] = {0, 1, 0x123456789abcdef0ull, UINT64_MAX};
    const uint64_t streams[] = {0, 7, (uint64_t)1 << 40};
    const uint64_t indices[] = {0, 1, 2, 3, 4, 63, 64, 65, 1000003,
                                ((uint64_t)1 << 34) + 5};

    for (size_t s = 0; s < 4; s++)
        for (size_t t = 0; t < 3; t++)
            for (size_t i = 0; i < 10; i++)
                ck_assert_float_eq(
                    ebm_rng_uniform(seeds[s], streams[t], indices[i]),
                    uniform_by_definition(seeds[s], streams[t], indices[i]));
}
END_TEST

/* Bulk fills at offsets and lengths that start and end inside a group of
 * 64 give the same values as single draws. */
START_TEST(bulk_fill_matches_single_draws)
{
    const uint64_t seed = 42, stream = 3;
    const uint64_t firsts[] = {0, 1, 3, 63, 64, 130, 1000};
    const size_t counts[] = {1, 2, 5, 64, 65, 200};
    float bulk[200], probs[200], samples[200];

    for (size_t f = 0; f < 7; f++) {
        for (size_t c = 0; c < 6; c++) {
            size_t n = counts[c];

            ebm_rng_fill_uniform(seed, stream, firsts[f], n, bulk);
            for (size_t i = 0; i < n; i++) {
                probs[i] = (float)(i % 11) / 10.0f;
                ck_assert_float_eq(
                    bulk[i], ebm_rng_uniform(seed, stream, firsts[f] + i));
            }
            ebm_rng_bernoulli(seed, stream, firsts[f], n, probs, samples);
            for (size_t i = 0; i < n; i++)
                ck_assert_float_eq(samples[i],
                                   bulk[i] < probs[i] ? 1.0f : 0.0f);
        }
    }
}
END_TEST

/* Every vector version of the bulk generator that this processor runs
 * computes the same words as the plain C version. */
START_TEST(vector_versions_match_plain)
{
    const uint64_t seeds[] = {0, 99, UINT64_MAX};
    const uint64_t groups[] = {0, 1, 12345, ((uint64_t)1 << 28) - 1,
                               (uint64_t)1 << 40};

    for (size_t s = 0; s < 3; s++)
        for (size_t g = 0; g < 5; g++)
            ck_assert_int_ge(
                ebm_rng_check_versions(seeds[s], 3 + s, groups[g]), 0);
    printf("vector_versions_match_plain: %d vector versions compared\n",
           ebm_rng_check_versions(1, 1, 1));
}
END_TEST

/* The largest and smallest words give the ends of the range, never 0 or
 * 1: u is ((word >> 9) + 0.5) 2^-23. */
START_TEST(uniform_extremes_inside_interval)
{
    const uint64_t n = (uint64_t)1 << 26;
    float lowest = 1.0f, highest = 0.0f;
    float *u = malloc(4096 * sizeof(*u));

    ck_assert_ptr_nonnull(u);
    /* 2^26 draws meet words >> 9 of 0 and of 2^23 - 1 with probability
     * 1 - (1 - 2^-23)^(2^26), above 0.9996 each. */
    for (uint64_t start = 0; start < n; start += 4096) {
        ebm_rng_fill_uniform(9, 0, start, 4096, u);
        for (size_t i = 0; i < 4096; i++) {
            lowest = u[i] < lowest ? u[i] : lowest;
            highest = u[i] > highest ? u[i] : highest;
        }
    }
    ck_assert_float_eq(lowest, 0x1p-24f);
    ck_assert_float_eq(highest, 1.0f - 0x1p-24f);
    free(u);
}
END_TEST

START_TEST(uniform_open_interval_and_moments)
{
    const size_t n = 1 << 20;
    float *u = malloc(n * sizeof(*u));
    double sum = 0.0, sum_sq = 0.0, mean, variance;

    ck_assert_ptr_nonnull(u);
    ebm_rng_fill_uniform(7, 0, 0, n, u);
    for (size_t i = 0; i < n; i++) {
        ck_assert(u[i] > 0.0f);
        ck_assert(u[i] < 1.0f);
        sum += u[i];
        sum_sq += (double)u[i] * u[i];
    }
    mean = sum / (double)n;
    variance = sum_sq / (double)n - mean * mean;
    /* Standard error of the mean: sqrt(1/12 / 2^20) = 2.8e-4; allow 5. */
    ck_assert_double_lt(fabs(mean - 0.5), 5 * 2.8e-4);
    /* Standard error of the variance: about sqrt(1/180 / 2^20) = 7.3e-5. */
    ck_assert_double_lt(fabs(variance - 1.0 / 12.0), 5 * 7.3e-5);
    free(u);
}
END_TEST

/* Chi-square over 64 equal bins of 2^20 draws: with 63 degrees of freedom
 * the statistic exceeds 110 with probability below 1e-4. */
START_TEST(uniform_bins_chi_square)
{
    const size_t n = 1 << 20, bins = 64;
    float *u = malloc(n * sizeof(*u));
    double counts[64] = {0}, expected = (double)n / (double)bins, chi = 0.0;

    ck_assert_ptr_nonnull(u);
    ebm_rng_fill_uniform(2024, 5, 0, n, u);
    for (size_t i = 0; i < n; i++)
        counts[(size_t)(u[i] * (float)bins)] += 1.0;
    for (size_t b = 0; b < bins; b++)
        chi += (counts[b] - expected) * (counts[b] - expected) / expected;
    printf("uniform_bins_chi_square: seed 2024, chi-square %.1f (63 dof)\n",
           chi);
    ck_assert_double_lt(chi, 110.0);
    free(u);
}
END_TEST

START_TEST(streams_and_seeds_differ)
{
    float a[64], b[64], c[64];
    int same_stream = 0, same_seed = 0;

    ebm_rng_fill_uniform(1, 0, 0, 64, a);
    ebm_rng_fill_uniform(1, 1, 0, 64, b);
    /* The high half of the seed must matter too. */
    ebm_rng_fill_uniform(1 | ((uint64_t)1 << 32), 0, 0, 64, c);
    for (int i = 0; i < 64; i++) {
        same_stream += a[i] == b[i];
        same_seed += a[i] == c[i];
    }
    ck_assert_int_lt(same_stream, 2);
    ck_assert_int_lt(same_seed, 2);
}
END_TEST

START_TEST(rng_init_resets_stream)
{
    ebm_rng rng = {99, 99};

    ck_assert_int_eq(ebm_rng_init(&rng, 5), EBM_OK);
    ck_assert_uint_eq(rng.seed, 5);
    ck_assert_uint_eq(rng.stream, 0);
    ck_assert_int_eq(ebm_rng_init(NULL, 5), EBM_ERR_NULL);
    ck_assert_str_ne(ebm_last_error(), "");
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("rng");
    TCase *tc = tcase_create("philox");
    SRunner *runner;
    int failed;

    tcase_add_test(tc, philox_known_answers);
    tcase_add_test(tc, uniform_matches_definition);
    tcase_add_test(tc, bulk_fill_matches_single_draws);
    tcase_add_test(tc, vector_versions_match_plain);
    tcase_add_test(tc, uniform_extremes_inside_interval);
    tcase_add_test(tc, uniform_open_interval_and_moments);
    tcase_add_test(tc, uniform_bins_chi_square);
    tcase_add_test(tc, streams_and_seeds_differ);
    tcase_add_test(tc, rng_init_resets_stream);
    suite_add_tcase(suite, tc);
    runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
