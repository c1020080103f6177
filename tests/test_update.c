/*
 * The two paths of the SGD update in lib/rbm_update.c: the in-place pass
 * taken when bounds prove that nothing can overflow, and the checked
 * two-pass path. They must give the same bits, and the bounds they keep
 * must be the true maxima.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rbm_trainer.h"

enum { D = 37, K = 700 };

struct pair {
    ebm_rbm *rbm[2];
    ebm_rbm_trainer *trainer[2];
};

/* Two identical models and trainers with random gradients and velocities
 * in [-1, 1]. */
static struct pair make_pair(uint64_t seed)
{
    struct pair p;
    ebm_train_config config;
    size_t grid = (D + 1) * (K + 1);

    ck_assert_int_eq(ebm_train_config_init(&config), EBM_OK);
    config.learning_rate = 0.1f;
    config.momentum = 0.9f;
    config.weight_decay = 0.01f;
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(ebm_rbm_create(D, K, &p.rbm[i]), EBM_OK);
        ck_assert_int_eq(ebm_rbm_initialize(p.rbm[i], NULL, 0, 0.5f, seed),
                         EBM_OK);
        ck_assert_int_eq(
            ebm_rbm_trainer_create(p.rbm[i], &config, &p.trainer[i]),
            EBM_OK);
        for (size_t e = 0; e < grid; e++) {
            p.trainer[i]->gradient[e] =
                2.0f * ebm_rng_uniform(seed, 1, e) - 1.0f;
            p.trainer[i]->velocity[e] =
                2.0f * ebm_rng_uniform(seed, 2, e) - 1.0f;
        }
        p.trainer[i]->velocity_max = 1.0f;
    }
    return p;
}

static void free_pair(struct pair *p)
{
    for (int i = 0; i < 2; i++) {
        ebm_rbm_trainer_destroy(p->trainer[i]);
        ebm_rbm_destroy(p->rbm[i]);
    }
}

static float true_max(const float *values, size_t count)
{
    float max = 0.0f;

    for (size_t i = 0; i < count; i++)
        max = fabsf(values[i]) > max ? fabsf(values[i]) : max;
    return max;
}

START_TEST(paths_give_same_bits)
{
    struct pair p = make_pair(41);
    size_t params = D * K + D + K;

    /* A bound too large to prove safety sends the second copy down the
     * checked path; it is only an upper bound, so this is allowed. */
    p.rbm[1]->max_abs = 1e35f;
    ck_assert_int_eq(ebm_trainer_apply_update(p.trainer[0], p.rbm[0]),
                     EBM_OK);
    ck_assert_int_eq(ebm_trainer_apply_update(p.trainer[1], p.rbm[1]),
                     EBM_OK);
    ck_assert_int_eq(memcmp(p.rbm[0]->params, p.rbm[1]->params,
                            params * sizeof(float)),
                     0);
    /* The checked path leaves the new velocities in the buffer it swapped
     * in; compare the velocity elements that exist. */
    for (size_t i = 0; i <= D; i++)
        for (size_t j = 0; j < (i < D ? K + 1 : K); j++)
            ck_assert_float_eq(p.trainer[0]->velocity[i * (K + 1) + j],
                               p.trainer[1]->velocity[i * (K + 1) + j]);
    free_pair(&p);
}
END_TEST

START_TEST(bounds_are_true_maxima)
{
    struct pair p = make_pair(42);
    size_t params = D * K + D + K;
    float velocity_max = 0.0f;

    p.rbm[1]->max_abs = 1e35f;
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(ebm_trainer_apply_update(p.trainer[i], p.rbm[i]),
                         EBM_OK);
        ck_assert_float_eq(p.rbm[i]->max_abs,
                           true_max(p.rbm[i]->params, params));
    }
    for (size_t i = 0; i <= D; i++)
        for (size_t j = 0; j < (i < D ? K + 1 : K); j++) {
            float v = fabsf(p.trainer[0]->velocity[i * (K + 1) + j]);

            velocity_max = v > velocity_max ? v : velocity_max;
        }
    ck_assert_float_eq(p.trainer[0]->velocity_max, velocity_max);
    ck_assert_float_eq(p.trainer[1]->velocity_max, velocity_max);
    free_pair(&p);
}
END_TEST

/* A parameter near FLT_MAX makes the checked path report divergence and
 * leave everything as it was. */
START_TEST(checked_path_rejects_overflow)
{
    struct pair p = make_pair(43);
    size_t params = D * K + D + K;
    float *before = malloc(params * sizeof(float));
    float weights[D * K];

    ck_assert_ptr_nonnull(before);
    memcpy(weights, ebm_rbm_weights(p.rbm[0]), sizeof(weights));
    weights[5] = 3.4e38f;
    ck_assert_int_eq(ebm_rbm_set_weights(p.rbm[0], weights), EBM_OK);
    p.trainer[0]->gradient[5] = -1.0f;
    p.trainer[0]->velocity[5] = 1e38f;
    memcpy(before, p.rbm[0]->params, params * sizeof(float));
    ck_assert_int_eq(ebm_trainer_apply_update(p.trainer[0], p.rbm[0]),
                     EBM_ERR_DIVERGED);
    ck_assert_int_eq(
        memcmp(before, p.rbm[0]->params, params * sizeof(float)), 0);
    ck_assert_float_eq(p.trainer[0]->velocity[5], 1e38f);
    free(before);
    free_pair(&p);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("update");
    TCase *tc = tcase_create("paths");
    SRunner *runner;
    int failed;

    tcase_add_test(tc, paths_give_same_bits);
    tcase_add_test(tc, bounds_are_true_maxima);
    tcase_add_test(tc, checked_path_rejects_overflow);
    suite_add_tcase(suite, tc);
    runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
