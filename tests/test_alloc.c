/*
 * Heap allocations inside the training loop: none. This program defines
 * malloc and its relatives itself, so that every allocation in the process
 * (libebm's, OpenBLAS's and libgomp's included) goes through a counter,
 * then forwards to glibc's implementation. Not built with sanitizers, which
 * replace malloc themselves.
 */
#include <check.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebm.h"

/* glibc's own entry points, which its malloc and friends call. */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *pointer);

static atomic_bool counting;
static atomic_size_t allocations;

static void count_allocation(void)
{
    if (atomic_load(&counting))
        atomic_fetch_add(&allocations, 1);
}

void *malloc(size_t size)
{
    count_allocation();
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size)
{
    count_allocation();
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size)
{
    count_allocation();
    return __libc_realloc(pointer, size);
}

void *aligned_alloc(size_t alignment, size_t size)
{
    count_allocation();
    return __libc_memalign(alignment, size);
}

void *memalign(size_t alignment, size_t size)
{
    count_allocation();
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size)
{
    void *pointer;

    count_allocation();
    pointer = __libc_memalign(alignment, size);
    if (pointer == NULL)
        return 12; /* ENOMEM */
    *out = pointer;
    return 0;
}

void free(void *pointer)
{
    __libc_free(pointer);
}

static void start_counting(void)
{
    atomic_store(&allocations, 0);
    atomic_store(&counting, true);
}

static size_t stop_counting(void)
{
    atomic_store(&counting, false);
    return atomic_load(&allocations);
}

enum { ROWS = 300, D = 784, K = 500, BATCH = 100 };

struct setup {
    float *data;
    ebm_rbm *rbm;
    ebm_rbm_trainer *trainer;
};

/* Random binary data, a model and a trainer, at the shapes where the work
 * is divided into pieces and threads. */
static struct setup make_setup(ebm_method method, int threads)
{
    struct setup s;
    ebm_train_config config;

    ck_assert_int_eq(ebm_set_threads(threads), EBM_OK);
    s.data = malloc(ROWS * D * sizeof(float));
    ck_assert_ptr_nonnull(s.data);
    for (size_t i = 0; i < (size_t)ROWS * D; i++)
        s.data[i] = ebm_rng_uniform(5, 0, i) < 0.3f ? 1.0f : 0.0f;
    ck_assert_int_eq(ebm_rbm_create(D, K, &s.rbm), EBM_OK);
    ck_assert_int_eq(ebm_rbm_initialize(s.rbm, s.data, ROWS, 0.01f, 1),
                     EBM_OK);
    ck_assert_int_eq(ebm_train_config_init(&config), EBM_OK);
    config.method = method;
    config.batch_size = BATCH;
    ck_assert_int_eq(ebm_rbm_trainer_create(s.rbm, &config, &s.trainer),
                     EBM_OK);
    return s;
}

static void free_setup(struct setup *s)
{
    ebm_rbm_trainer_destroy(s->trainer);
    ebm_rbm_destroy(s->rbm);
    free(s->data);
}

/* Updates after three warm-up updates (which let OpenMP and OpenBLAS set
 * up their threads and buffers) allocate nothing. */
static void check_steps(ebm_method method, int threads)
{
    struct setup s = make_setup(method, threads);
    size_t counted;

    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(
            ebm_rbm_trainer_step(s.trainer, s.rbm, s.data, BATCH), EBM_OK);
    start_counting();
    for (int i = 0; i < 20; i++)
        ebm_rbm_trainer_step(s.trainer, s.rbm, s.data + (i % 3) * BATCH * D,
                             BATCH);
    counted = stop_counting();
    printf("method %d, %d threads: %zu allocations in 20 updates\n",
           (int)method, threads, counted);
    ck_assert_uint_eq(counted, 0);
    free_setup(&s);
}

START_TEST(cd_steps_allocate_nothing)
{
    check_steps(EBM_CD, 1);
    check_steps(EBM_CD, 2);
}
END_TEST

START_TEST(pcd_steps_allocate_nothing)
{
    check_steps(EBM_PCD, 1);
    check_steps(EBM_PCD, 2);
}
END_TEST

START_TEST(gradient_allocates_nothing)
{
    struct setup s = make_setup(EBM_PCD, 2);
    float *grad_w = malloc(D * K * sizeof(float));
    float grad_a[D], grad_b[K];
    size_t counted;

    ck_assert_ptr_nonnull(grad_w);
    ck_assert_int_eq(ebm_rbm_trainer_gradient(s.trainer, s.rbm, s.data,
                                              BATCH, grad_w, grad_a, grad_b),
                     EBM_OK);
    start_counting();
    for (int i = 0; i < 10; i++)
        ebm_rbm_trainer_gradient(s.trainer, s.rbm, s.data, BATCH, grad_w,
                                 grad_a, grad_b);
    counted = stop_counting();
    ck_assert_uint_eq(counted, 0);
    free(grad_w);
    free_setup(&s);
}
END_TEST

/* fit allocates its array of row indices once per call, however many
 * epochs it runs. */
START_TEST(fit_allocations_do_not_grow)
{
    struct setup s = make_setup(EBM_CD, 2);
    size_t one_epoch, five_epochs;
    ebm_status first, second;

    ck_assert_int_eq(ebm_rbm_trainer_fit(s.trainer, s.rbm, s.data, ROWS, 1,
                                         NULL, NULL),
                     EBM_OK);
    /* Check's assertions allocate, so none runs while counting. */
    start_counting();
    first = ebm_rbm_trainer_fit(s.trainer, s.rbm, s.data, ROWS, 1, NULL,
                                NULL);
    one_epoch = stop_counting();
    start_counting();
    second = ebm_rbm_trainer_fit(s.trainer, s.rbm, s.data, ROWS, 5, NULL,
                                 NULL);
    five_epochs = stop_counting();
    ck_assert_int_eq(first, EBM_OK);
    ck_assert_int_eq(second, EBM_OK);
    printf("fit: %zu allocations for 1 epoch, %zu for 5\n", one_epoch,
           five_epochs);
    ck_assert_uint_eq(one_epoch, 1);
    ck_assert_uint_eq(five_epochs, 1);
    free_setup(&s);
}
END_TEST

/* The counter itself works: a model creation allocates. */
START_TEST(counter_sees_allocations)
{
    ebm_rbm *rbm = NULL;
    size_t counted;

    ebm_status status;

    start_counting();
    status = ebm_rbm_create(3, 2, &rbm);
    counted = stop_counting();
    ck_assert_int_eq(status, EBM_OK);
    ck_assert_uint_ge(counted, 2);
    ebm_rbm_destroy(rbm);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("alloc");
    TCase *tc = tcase_create("training loop");
    SRunner *runner;
    int failed;

    setvbuf(stdout, NULL, _IOLBF, 0);
    tcase_add_test(tc, counter_sees_allocations);
    tcase_add_test(tc, cd_steps_allocate_nothing);
    tcase_add_test(tc, pcd_steps_allocate_nothing);
    tcase_add_test(tc, gradient_allocates_nothing);
    tcase_add_test(tc, fit_allocations_do_not_grow);
    suite_add_tcase(suite, tc);
    runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
