/*
 * Bad input to every public function of ebm.h. Each rejected call must
 * return its specific status, set a new non-empty ebm_last_error()
 * message, and leave every object and output buffer it was given bitwise
 * as it was.
 *
 * CHECK_FAILS below does the bookkeeping. Before the call it sets a known
 * detail message (from a different failing call) and copies every watched
 * model and buffer. After it, it compares the status, checks that the
 * message changed, and compares the copies.
 *
 * Sizes of SIZE_MAX / 2 rows come with real pointers to a few rows, so a
 * function that touched memory before checking the size product would read
 * or write out of bounds (AddressSanitizer reports that in the sanitizer
 * build).
 */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebm.h"

#define HUGE_ROWS (SIZE_MAX / 2)

/* ------------------------------------------------------------------------ */
/* Watching objects across a failing call                                   */
/* ------------------------------------------------------------------------ */

#define MAX_WATCHED 8

typedef struct watched_model {
    const ebm_rbm *rbm;
    size_t count;
    float *copy; /* [W, a, b] before the call */
} watched_model;

typedef struct watched_buffer {
    const void *memory;
    size_t bytes;
    unsigned char *copy;
} watched_buffer;

static watched_model watched_models[MAX_WATCHED];
static size_t n_watched_models;
static watched_buffer watched_buffers[MAX_WATCHED];
static size_t n_watched_buffers;

/* Which call sets the known message before each checked call. The message
 * of ebm_set_threads(-7777) names -7777, which no checked call uses. The
 * ebm_set_threads cases themselves use ebm_rng_init(NULL, ...) instead. */
static bool prime_with_rng_init;
static char primed_message[512];

/* Case description that failure messages inside loops add, such as
 * "learning_rate = nan". It is empty outside the loops. */
static char case_context[128];

static void set_context(const char *name, double value)
{
    snprintf(case_context, sizeof case_context, " [%s = %g]", name, value);
}

static void watch_model(const ebm_rbm *rbm)
{
    ck_assert_uint_lt(n_watched_models, MAX_WATCHED);
    watched_models[n_watched_models++].rbm = rbm;
}

static void watch_buffer(const void *memory, size_t bytes)
{
    ck_assert_uint_lt(n_watched_buffers, MAX_WATCHED);
    watched_buffers[n_watched_buffers].memory = memory;
    watched_buffers[n_watched_buffers].bytes = bytes;
    n_watched_buffers++;
}

static void watch_clear(void)
{
    n_watched_models = 0;
    n_watched_buffers = 0;
    case_context[0] = '\0';
}

static float *copy_parameters(const ebm_rbm *rbm, size_t *count)
{
    size_t d = 0;
    size_t k = 0;
    ck_assert_int_eq(ebm_rbm_shape(rbm, &d, &k), EBM_OK);
    *count = d * k + d + k;
    float *copy = malloc(*count * sizeof(float));
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, ebm_rbm_weights(rbm), d * k * sizeof(float));
    memcpy(copy + d * k, ebm_rbm_visible_bias(rbm), d * sizeof(float));
    memcpy(copy + d * k + d, ebm_rbm_hidden_bias(rbm), k * sizeof(float));
    return copy;
}

static void guard_begin(void)
{
    ebm_status primer = prime_with_rng_init ? ebm_rng_init(NULL, 1)
                                            : ebm_set_threads(-7777);
    ck_assert_msg(primer != EBM_OK, "the call that sets the known message "
                  "succeeded");
    snprintf(primed_message, sizeof primed_message, "%s", ebm_last_error());
    for (size_t i = 0; i < n_watched_models; i++) {
        watched_models[i].copy =
            copy_parameters(watched_models[i].rbm, &watched_models[i].count);
    }
    for (size_t i = 0; i < n_watched_buffers; i++) {
        watched_buffers[i].copy = malloc(watched_buffers[i].bytes);
        ck_assert_ptr_nonnull(watched_buffers[i].copy);
        memcpy(watched_buffers[i].copy, watched_buffers[i].memory,
               watched_buffers[i].bytes);
    }
}

static void guard_end(ebm_status got, ebm_status expected, const char *call,
                      int line)
{
    ck_assert_msg(got == expected, "line %d%s: %s returned %s, expected %s",
                  line, case_context, call, ebm_status_name(got),
                  ebm_status_name(expected));
    const char *message = ebm_last_error();
    ck_assert_msg(message != NULL && message[0] != '\0',
                  "line %d%s: %s set no detail message", line, case_context,
                  call);
    ck_assert_msg(strcmp(message, primed_message) != 0,
                  "line %d%s: %s left the previous detail message \"%s\"",
                  line, case_context, call, message);
    for (size_t i = 0; i < n_watched_models; i++) {
        size_t count = 0;
        float *now = copy_parameters(watched_models[i].rbm, &count);
        ck_assert_msg(memcmp(now, watched_models[i].copy,
                             count * sizeof(float)) == 0,
                      "line %d%s: %s changed model %zu", line, case_context,
                      call, i);
        free(now);
        free(watched_models[i].copy);
    }
    for (size_t i = 0; i < n_watched_buffers; i++) {
        ck_assert_msg(memcmp(watched_buffers[i].memory,
                             watched_buffers[i].copy,
                             watched_buffers[i].bytes) == 0,
                      "line %d%s: %s wrote to buffer %zu", line, case_context,
                      call, i);
        free(watched_buffers[i].copy);
    }
}

/* Runs `call`, which must fail with `expected` as described at the top. */
#define CHECK_FAILS(expected, call)                                          \
    do {                                                                     \
        guard_begin();                                                       \
        ebm_status check_fails_status_ = (call);                             \
        guard_end(check_fails_status_, (expected), #call, __LINE__);         \
    } while (0)

/* ------------------------------------------------------------------------ */
/* Shared inputs                                                            */
/* ------------------------------------------------------------------------ */

enum { D = 4, K = 3, ROWS = 3 };

/* A D x K model with distinct nonzero parameters, so that any write to it
 * shows. */
static ebm_rbm *make_model(size_t d, size_t k)
{
    ebm_rbm *rbm = NULL;
    ck_assert_int_eq(ebm_rbm_create(d, k, &rbm), EBM_OK);
    float *w = malloc(d * k * sizeof(float));
    float *a = malloc(d * sizeof(float));
    float *b = malloc(k * sizeof(float));
    ck_assert_ptr_nonnull(w);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    for (size_t p = 0; p < d * k; p++) {
        w[p] = 0.01f * (float)p - 0.05f;
    }
    for (size_t i = 0; i < d; i++) {
        a[i] = 0.1f * (float)i - 0.2f;
    }
    for (size_t j = 0; j < k; j++) {
        b[j] = 0.3f - 0.1f * (float)j;
    }
    ck_assert_int_eq(ebm_rbm_set_weights(rbm, w), EBM_OK);
    ck_assert_int_eq(ebm_rbm_set_visible_bias(rbm, a), EBM_OK);
    ck_assert_int_eq(ebm_rbm_set_hidden_bias(rbm, b), EBM_OK);
    free(w);
    free(a);
    free(b);
    return rbm;
}

/* ROWS x cols binary data with one value replaced at the last element. */
static void fill_rows(float *values, size_t cols, float last)
{
    for (size_t i = 0; i < ROWS * cols; i++) {
        values[i] = (float)(i % 2);
    }
    values[ROWS * cols - 1] = last;
}

/* Values that binary units reject, each with its status. */
static const struct bad_value {
    float value;
    ebm_status status;
} BAD_VALUES[] = {
    {NAN, EBM_ERR_NONFINITE},
    {INFINITY, EBM_ERR_NONFINITE},
    {-INFINITY, EBM_ERR_NONFINITE},
    {-0.1f, EBM_ERR_DOMAIN},
    {1.1f, EBM_ERR_DOMAIN},
};
#define N_BAD_VALUES (sizeof BAD_VALUES / sizeof BAD_VALUES[0])

/* Temperatures that must be rejected with EBM_ERR_ARGUMENT. */
static const float BAD_TEMPERATURES[] = {0.0f, -0.0f, -1.0f, NAN, INFINITY,
                                         -INFINITY};
#define N_BAD_TEMPERATURES                                                   \
    (sizeof BAD_TEMPERATURES / sizeof BAD_TEMPERATURES[0])

static ebm_train_config valid_config(void)
{
    ebm_train_config config;
    ck_assert_int_eq(ebm_train_config_init(&config), EBM_OK);
    config.batch_size = ROWS;
    return config;
}

/* A configuration with one field made invalid, and its status. */
typedef struct bad_config {
    const char *field;
    double value;
    ebm_train_config config;
    ebm_status status;
} bad_config;

static size_t make_bad_configs(bad_config *out)
{
    size_t n = 0;
    const float bad_rates[] = {0.0f, -0.1f, NAN, INFINITY};
    const float bad_momenta[] = {1.0f, 1.5f, -0.1f, NAN};
    const float bad_decays[] = {-0.1f, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_rates / sizeof bad_rates[0]; i++) {
        out[n] = (bad_config){"learning_rate", bad_rates[i], valid_config(),
                              EBM_ERR_ARGUMENT};
        out[n++].config.learning_rate = bad_rates[i];
    }
    for (size_t i = 0; i < sizeof bad_momenta / sizeof bad_momenta[0]; i++) {
        out[n] = (bad_config){"momentum", bad_momenta[i], valid_config(),
                              EBM_ERR_ARGUMENT};
        out[n++].config.momentum = bad_momenta[i];
    }
    for (size_t i = 0; i < sizeof bad_decays / sizeof bad_decays[0]; i++) {
        out[n] = (bad_config){"weight_decay", bad_decays[i], valid_config(),
                              EBM_ERR_ARGUMENT};
        out[n++].config.weight_decay = bad_decays[i];
    }
    out[n] = (bad_config){"gibbs_steps", 0, valid_config(), EBM_ERR_ARGUMENT};
    out[n++].config.gibbs_steps = 0;
    out[n] = (bad_config){"method", 7, valid_config(), EBM_ERR_ARGUMENT};
    out[n++].config.method = (ebm_method)7;
    out[n] = (bad_config){"method", -1, valid_config(), EBM_ERR_ARGUMENT};
    out[n++].config.method = (ebm_method)-1;
    out[n] = (bad_config){"batch_size", 0, valid_config(), EBM_ERR_SIZE};
    out[n++].config.batch_size = 0;
    return n;
}

#define MAX_BAD_CONFIGS 32

/* ------------------------------------------------------------------------ */
/* Status names, messages and the detail message                            */
/* ------------------------------------------------------------------------ */

static const char *const STATUS_NAMES[] = {
    "EBM_OK",           "EBM_STOPPED",       "EBM_ERR_NULL",
    "EBM_ERR_SIZE",     "EBM_ERR_OVERFLOW",  "EBM_ERR_ARGUMENT",
    "EBM_ERR_NONFINITE", "EBM_ERR_DOMAIN",   "EBM_ERR_MISMATCH",
    "EBM_ERR_DIVERGED", "EBM_ERR_NOMEM",     "EBM_ERR_IO",
    "EBM_ERR_FORMAT",   "EBM_ERR_TRUNCATED", "EBM_ERR_VERSION",
    "EBM_ERR_LIMIT",    "EBM_ERR_UNSUPPORTED", "EBM_ERR_LAPACK",
};
#define N_STATUSES (sizeof STATUS_NAMES / sizeof STATUS_NAMES[0])

START_TEST(status_names_and_messages)
{
    for (size_t s = 0; s < N_STATUSES; s++) {
        const char *name = ebm_status_name((ebm_status)s);
        ck_assert_ptr_nonnull(name);
        ck_assert_str_eq(name, STATUS_NAMES[s]);
        const char *message = ebm_status_message((ebm_status)s);
        ck_assert_ptr_nonnull(message);
        ck_assert_msg(strlen(message) > 0, "%s has an empty message", name);
        for (size_t t = 0; t < s; t++) {
            ck_assert_msg(strcmp(message,
                                 ebm_status_message((ebm_status)t)) != 0,
                          "%s and %s share the message \"%s\"", name,
                          STATUS_NAMES[t], message);
        }
    }
    const int unknown[] = {(int)N_STATUSES, -1, 1000};
    for (size_t u = 0; u < 3; u++) {
        ebm_status status = (ebm_status)unknown[u];
        ck_assert_str_eq(ebm_status_name(status), "EBM_ERR_UNKNOWN");
        const char *message = ebm_status_message(status);
        ck_assert_ptr_nonnull(message);
        ck_assert_msg(strlen(message) > 0, "status %d has an empty message",
                      unknown[u]);
    }
}
END_TEST

START_TEST(version_matches_macros)
{
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", EBM_VERSION_MAJOR,
             EBM_VERSION_MINOR, EBM_VERSION_PATCH);
    ck_assert_str_eq(ebm_version(), expected);
}
END_TEST

typedef struct thread_result {
    char initial[256];
    char after_failure[256];
    ebm_status status;
} thread_result;

static void *fail_in_thread(void *argument)
{
    thread_result *result = argument;
    snprintf(result->initial, sizeof result->initial, "%s", ebm_last_error());
    result->status = ebm_rbm_create(0, 3, NULL);
    snprintf(result->after_failure, sizeof result->after_failure, "%s",
             ebm_last_error());
    return NULL;
}

/* The detail message is per thread: a new thread starts with "", and its
 * failures do not change the main thread's message. */
START_TEST(last_error_per_thread)
{
    ck_assert_int_eq(ebm_rng_init(NULL, 1), EBM_ERR_NULL);
    char main_message[256];
    snprintf(main_message, sizeof main_message, "%s", ebm_last_error());
    ck_assert_msg(main_message[0] != '\0', "no detail message");

    thread_result result = {{0}, {0}, EBM_OK};
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, fail_in_thread, &result),
                     0);
    ck_assert_int_eq(pthread_join(thread, NULL), 0);
    ck_assert_str_eq(result.initial, "");
    ck_assert_int_eq(result.status, EBM_ERR_NULL);
    ck_assert_str_ne(result.after_failure, "");
    ck_assert_str_eq(ebm_last_error(), main_message);
}
END_TEST

/* Successful calls leave the detail message as it was. */
START_TEST(success_keeps_last_error)
{
    ck_assert_int_eq(ebm_rng_init(NULL, 1), EBM_ERR_NULL);
    char message[256];
    snprintf(message, sizeof message, "%s", ebm_last_error());
    ebm_rng rng;
    ck_assert_int_eq(ebm_rng_init(&rng, 1), EBM_OK);
    ck_assert_str_eq(ebm_last_error(), message);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Threads, random numbers, configuration, destroy                          */
/* ------------------------------------------------------------------------ */

START_TEST(set_threads_rejects_out_of_range)
{
    watch_clear();
    ck_assert_int_eq(ebm_set_threads(2), EBM_OK);
    prime_with_rng_init = true;
    CHECK_FAILS(EBM_ERR_ARGUMENT, ebm_set_threads(-1));
    CHECK_FAILS(EBM_ERR_ARGUMENT, ebm_set_threads(1025));
    CHECK_FAILS(EBM_ERR_ARGUMENT, ebm_set_threads(2000));
    CHECK_FAILS(EBM_ERR_ARGUMENT, ebm_set_threads(-2147483647 - 1));
    prime_with_rng_init = false;
    ck_assert_int_eq(ebm_get_threads(), 2);
    ck_assert_int_eq(ebm_set_threads(0), EBM_OK);
    ck_assert_int_ge(ebm_get_threads(), 1);
}
END_TEST

START_TEST(rng_and_config_reject_null)
{
    watch_clear();
    CHECK_FAILS(EBM_ERR_NULL, ebm_rng_init(NULL, 5));
    CHECK_FAILS(EBM_ERR_NULL, ebm_train_config_init(NULL));
}
END_TEST

START_TEST(destroy_null_is_noop)
{
    ebm_rbm_destroy(NULL);
    ebm_rbm_trainer_destroy(NULL);
    ebm_data_free(NULL);
    ebm_data empty = {0, 0, NULL};
    ebm_data_free(&empty);
    ck_assert_uint_eq(empty.rows, 0);
    ck_assert_ptr_null(empty.values);
}
END_TEST

START_TEST(getters_accept_null)
{
    ck_assert_ptr_null(ebm_rbm_weights(NULL));
    ck_assert_ptr_null(ebm_rbm_visible_bias(NULL));
    ck_assert_ptr_null(ebm_rbm_hidden_bias(NULL));
    watch_clear();
    size_t d = 111;
    size_t k = 222;
    watch_buffer(&d, sizeof d);
    watch_buffer(&k, sizeof k);
    CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_shape(NULL, &d, &k));
    watch_clear();

    ebm_rbm *rbm = make_model(D, K);
    ck_assert_int_eq(ebm_rbm_shape(rbm, NULL, NULL), EBM_OK);
    ck_assert_int_eq(ebm_rbm_shape(rbm, &d, NULL), EBM_OK);
    ck_assert_uint_eq(d, D);
    ck_assert_int_eq(ebm_rbm_shape(rbm, NULL, &k), EBM_OK);
    ck_assert_uint_eq(k, K);
    ebm_rbm_destroy(rbm);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Models                                                                   */
/* ------------------------------------------------------------------------ */

START_TEST(rbm_create_rejects)
{
    watch_clear();
    ebm_rbm *sentinel = (ebm_rbm *)&watched_models; /* any non-NULL value */
    ebm_rbm *out = sentinel;
    watch_buffer(&out, sizeof out);
    CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_create(D, K, NULL));
    CHECK_FAILS(EBM_ERR_SIZE, ebm_rbm_create(0, K, &out));
    CHECK_FAILS(EBM_ERR_LIMIT, ebm_rbm_create(EBM_MAX_UNITS + 1, 1, &out));
    CHECK_FAILS(EBM_ERR_LIMIT, ebm_rbm_create(1, EBM_MAX_UNITS + 1, &out));
    /* Each size within EBM_MAX_UNITS, the product 2^34 above
     * EBM_MAX_ELEMENTS. */
    CHECK_FAILS(EBM_ERR_LIMIT,
                ebm_rbm_create((size_t)1 << 17, (size_t)1 << 17, &out));
    CHECK_FAILS(EBM_ERR_LIMIT, ebm_rbm_create(SIZE_MAX, SIZE_MAX, &out));
    ck_assert_ptr_eq(out, sentinel);
}
END_TEST

START_TEST(rbm_clone_rejects)
{
    watch_clear();
    ebm_rbm *rbm = make_model(D, K);
    watch_model(rbm);
    ebm_rbm *out = NULL;
    CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_clone(NULL, &out));
    ck_assert_ptr_null(out);
    CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_clone(rbm, NULL));
    ebm_rbm_destroy(rbm);
}
END_TEST

START_TEST(rbm_initialize_rejects)
{
    watch_clear();
    ebm_rbm *rbm = make_model(D, K);
    watch_model(rbm);
    float data[ROWS * D];
    fill_rows(data, D, 1.0f);
    CHECK_FAILS(EBM_ERR_NULL,
                ebm_rbm_initialize(NULL, data, ROWS, 0.01f, 1));
    CHECK_FAILS(EBM_ERR_NULL,
                ebm_rbm_initialize(rbm, NULL, ROWS, 0.01f, 1));
    const float bad_stddevs[] = {-0.01f, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < 4; i++) {
        CHECK_FAILS(EBM_ERR_ARGUMENT,
                    ebm_rbm_initialize(rbm, data, ROWS, bad_stddevs[i], 1));
    }
    CHECK_FAILS(EBM_ERR_OVERFLOW,
                ebm_rbm_initialize(rbm, data, HUGE_ROWS, 0.01f, 1));
    for (size_t i = 0; i < N_BAD_VALUES; i++) {
        set_context("bad value", BAD_VALUES[i].value);
        fill_rows(data, D, BAD_VALUES[i].value);
        CHECK_FAILS(BAD_VALUES[i].status,
                    ebm_rbm_initialize(rbm, data, ROWS, 0.01f, 1));
    }
    ebm_rbm_destroy(rbm);
}
END_TEST

START_TEST(rbm_setters_reject)
{
    watch_clear();
    ebm_rbm *rbm = make_model(D, K);
    watch_model(rbm);
    float w[D * K];
    float a[D];
    float b[K];
    memset(w, 0, sizeof w);
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_set_weights(NULL, w));
    CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_set_weights(rbm, NULL));
    CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_set_visible_bias(NULL, a));
    CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_set_visible_bias(rbm, NULL));
    CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_set_hidden_bias(NULL, b));
    CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_set_hidden_bias(rbm, NULL));
    const float bad[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < 3; i++) {
        /* The bad value last, after valid ones that must not be kept. */
        w[D * K - 1] = bad[i];
        a[D - 1] = bad[i];
        b[K - 1] = bad[i];
        CHECK_FAILS(EBM_ERR_NONFINITE, ebm_rbm_set_weights(rbm, w));
        CHECK_FAILS(EBM_ERR_NONFINITE, ebm_rbm_set_visible_bias(rbm, a));
        CHECK_FAILS(EBM_ERR_NONFINITE, ebm_rbm_set_hidden_bias(rbm, b));
    }
    ebm_rbm_destroy(rbm);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Conditionals, energies, scores                                           */
/* ------------------------------------------------------------------------ */

typedef ebm_status (*conditional_function)(const ebm_rbm *, const float *,
                                           size_t, float, float *, float *,
                                           ebm_rng *);

/* The bad-input table of one conditional: input has in_cols columns and
 * the output out_cols. */
static void check_conditional(conditional_function conditional,
                              size_t in_cols, size_t out_cols)
{
    watch_clear();
    ebm_rbm *rbm = make_model(D, K);
    float input[ROWS * (D > K ? D : K)];
    float prob[ROWS * (D > K ? D : K)];
    float sample[ROWS * (D > K ? D : K)];
    fill_rows(input, in_cols, 1.0f);
    for (size_t i = 0; i < ROWS * out_cols; i++) {
        prob[i] = -7.0f;
        sample[i] = -7.0f;
    }
    ebm_rng rng;
    ck_assert_int_eq(ebm_rng_init(&rng, 42), EBM_OK);
    rng.stream = 9;
    watch_model(rbm);
    watch_buffer(prob, sizeof prob);
    watch_buffer(sample, sizeof sample);
    watch_buffer(&rng, sizeof rng);

    CHECK_FAILS(EBM_ERR_NULL,
                conditional(NULL, input, ROWS, 1.0f, prob, sample, &rng));
    CHECK_FAILS(EBM_ERR_NULL,
                conditional(rbm, NULL, ROWS, 1.0f, prob, sample, &rng));
    CHECK_FAILS(EBM_ERR_NULL,
                conditional(rbm, input, ROWS, 1.0f, NULL, sample, &rng));
    CHECK_FAILS(EBM_ERR_NULL,
                conditional(rbm, input, ROWS, 1.0f, prob, sample, NULL));
    CHECK_FAILS(EBM_ERR_SIZE,
                conditional(rbm, input, 0, 1.0f, prob, sample, &rng));
    CHECK_FAILS(EBM_ERR_OVERFLOW,
                conditional(rbm, input, HUGE_ROWS, 1.0f, prob, sample, &rng));
    for (size_t i = 0; i < N_BAD_TEMPERATURES; i++) {
        set_context("temperature", BAD_TEMPERATURES[i]);
        CHECK_FAILS(EBM_ERR_ARGUMENT,
                    conditional(rbm, input, ROWS, BAD_TEMPERATURES[i], prob,
                                sample, &rng));
    }
    for (size_t i = 0; i < N_BAD_VALUES; i++) {
        set_context("bad value", BAD_VALUES[i].value);
        fill_rows(input, in_cols, BAD_VALUES[i].value);
        CHECK_FAILS(BAD_VALUES[i].status,
                    conditional(rbm, input, ROWS, 1.0f, prob, sample, &rng));
        CHECK_FAILS(BAD_VALUES[i].status,
                    conditional(rbm, input, ROWS, 1.0f, prob, NULL, NULL));
    }
    ebm_rbm_destroy(rbm);
}

START_TEST(hidden_given_visible_rejects)
{
    check_conditional(ebm_rbm_hidden_given_visible, D, K);
}
END_TEST

START_TEST(visible_given_hidden_rejects)
{
    check_conditional(ebm_rbm_visible_given_hidden, K, D);
}
END_TEST

/* Overlapping input and output buffers get EBM_ERR_ARGUMENT and leave the
 * model and the buffers as they were. */
START_TEST(conditionals_reject_overlap)
{
    watch_clear();
    ebm_rbm *rbm = make_model(D, K);
    ebm_rng rng;
    /* Room for the input followed by an output of either size. */
    float buffer[ROWS * D + ROWS * D];
    float sample[ROWS * D] = {0};
    memset(buffer, 0, sizeof buffer);
    fill_rows(buffer, D, 1.0f);
    ck_assert_int_eq(ebm_rng_init(&rng, 3), EBM_OK);
    watch_model(rbm);
    watch_buffer(buffer, sizeof buffer);
    /* prob starting inside the input. */
    CHECK_FAILS(EBM_ERR_ARGUMENT,
                ebm_rbm_hidden_given_visible(rbm, buffer, ROWS, 1.0f,
                                             buffer + 1, NULL, NULL));
    /* sample overlapping the input. */
    CHECK_FAILS(EBM_ERR_ARGUMENT,
                ebm_rbm_hidden_given_visible(rbm, buffer, ROWS, 1.0f,
                                             buffer + ROWS * D, buffer + 2,
                                             &rng));
    /* sample equal to prob. */
    CHECK_FAILS(EBM_ERR_ARGUMENT,
                ebm_rbm_hidden_given_visible(rbm, buffer, ROWS, 1.0f,
                                             sample, sample, &rng));
    /* hidden input overlapping the visible output. */
    CHECK_FAILS(EBM_ERR_ARGUMENT,
                ebm_rbm_visible_given_hidden(rbm, buffer, ROWS, 1.0f,
                                             buffer + ROWS * K - 1, NULL,
                                             NULL));
    ck_assert_uint_eq(rng.stream, 0);
    ebm_rbm_destroy(rbm);
}
END_TEST

START_TEST(energy_rejects)
{
    watch_clear();
    ebm_rbm *rbm = make_model(D, K);
    float visible[ROWS * D];
    float hidden[ROWS * K];
    double energy[ROWS] = {-7.0, -7.0, -7.0};
    fill_rows(visible, D, 1.0f);
    fill_rows(hidden, K, 1.0f);
    watch_model(rbm);
    watch_buffer(energy, sizeof energy);
    CHECK_FAILS(EBM_ERR_NULL,
                ebm_rbm_energy(NULL, visible, hidden, ROWS, energy));
    CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_energy(rbm, NULL, hidden, ROWS, energy));
    CHECK_FAILS(EBM_ERR_NULL,
                ebm_rbm_energy(rbm, visible, NULL, ROWS, energy));
    CHECK_FAILS(EBM_ERR_NULL,
                ebm_rbm_energy(rbm, visible, hidden, ROWS, NULL));
    CHECK_FAILS(EBM_ERR_SIZE, ebm_rbm_energy(rbm, visible, hidden, 0, energy));
    CHECK_FAILS(EBM_ERR_OVERFLOW,
                ebm_rbm_energy(rbm, visible, hidden, HUGE_ROWS, energy));
    for (size_t i = 0; i < N_BAD_VALUES; i++) {
        set_context("bad value", BAD_VALUES[i].value);
        fill_rows(visible, D, BAD_VALUES[i].value);
        CHECK_FAILS(BAD_VALUES[i].status,
                    ebm_rbm_energy(rbm, visible, hidden, ROWS, energy));
        fill_rows(visible, D, 1.0f);
        fill_rows(hidden, K, BAD_VALUES[i].value);
        CHECK_FAILS(BAD_VALUES[i].status,
                    ebm_rbm_energy(rbm, visible, hidden, ROWS, energy));
        fill_rows(hidden, K, 1.0f);
    }
    ebm_rbm_destroy(rbm);
}
END_TEST

START_TEST(free_energy_rejects)
{
    watch_clear();
    ebm_rbm *rbm = make_model(D, K);
    float visible[ROWS * D];
    double result[ROWS] = {-7.0, -7.0, -7.0};
    fill_rows(visible, D, 1.0f);
    watch_model(rbm);
    watch_buffer(result, sizeof result);
    CHECK_FAILS(EBM_ERR_NULL,
                ebm_rbm_free_energy(NULL, visible, ROWS, 1.0f, result));
    CHECK_FAILS(EBM_ERR_NULL,
                ebm_rbm_free_energy(rbm, NULL, ROWS, 1.0f, result));
    CHECK_FAILS(EBM_ERR_NULL,
                ebm_rbm_free_energy(rbm, visible, ROWS, 1.0f, NULL));
    CHECK_FAILS(EBM_ERR_SIZE,
                ebm_rbm_free_energy(rbm, visible, 0, 1.0f, result));
    CHECK_FAILS(EBM_ERR_OVERFLOW,
                ebm_rbm_free_energy(rbm, visible, HUGE_ROWS, 1.0f, result));
    for (size_t i = 0; i < N_BAD_TEMPERATURES; i++) {
        set_context("temperature", BAD_TEMPERATURES[i]);
        CHECK_FAILS(EBM_ERR_ARGUMENT,
                    ebm_rbm_free_energy(rbm, visible, ROWS,
                                        BAD_TEMPERATURES[i], result));
    }
    for (size_t i = 0; i < N_BAD_VALUES; i++) {
        set_context("bad value", BAD_VALUES[i].value);
        fill_rows(visible, D, BAD_VALUES[i].value);
        CHECK_FAILS(BAD_VALUES[i].status,
                    ebm_rbm_free_energy(rbm, visible, ROWS, 1.0f, result));
    }
    ebm_rbm_destroy(rbm);
}
END_TEST

START_TEST(reconstruction_error_rejects)
{
    watch_clear();
    ebm_rbm *rbm = make_model(D, K);
    float visible[ROWS * D];
    double error = -7.0;
    fill_rows(visible, D, 1.0f);
    watch_model(rbm);
    watch_buffer(&error, sizeof error);
    CHECK_FAILS(EBM_ERR_NULL,
                ebm_rbm_reconstruction_error(NULL, visible, ROWS, &error));
    CHECK_FAILS(EBM_ERR_NULL,
                ebm_rbm_reconstruction_error(rbm, NULL, ROWS, &error));
    CHECK_FAILS(EBM_ERR_NULL,
                ebm_rbm_reconstruction_error(rbm, visible, ROWS, NULL));
    CHECK_FAILS(EBM_ERR_SIZE,
                ebm_rbm_reconstruction_error(rbm, visible, 0, &error));
    CHECK_FAILS(EBM_ERR_OVERFLOW,
                ebm_rbm_reconstruction_error(rbm, visible, HUGE_ROWS,
                                             &error));
    for (size_t i = 0; i < N_BAD_VALUES; i++) {
        set_context("bad value", BAD_VALUES[i].value);
        fill_rows(visible, D, BAD_VALUES[i].value);
        CHECK_FAILS(BAD_VALUES[i].status,
                    ebm_rbm_reconstruction_error(rbm, visible, ROWS, &error));
    }
    ebm_rbm_destroy(rbm);
}
END_TEST

START_TEST(pseudo_loglik_rejects)
{
    watch_clear();
    ebm_rbm *rbm = make_model(D, K);
    float visible[ROWS * D];
    double per_row[ROWS] = {-7.0, -7.0, -7.0};
    double mean = -7.0;
    fill_rows(visible, D, 1.0f);
    watch_model(rbm);
    watch_buffer(per_row, sizeof per_row);
    watch_buffer(&mean, sizeof mean);
    CHECK_FAILS(EBM_ERR_NULL,
                ebm_rbm_pseudo_loglik(NULL, visible, ROWS, per_row, &mean));
    CHECK_FAILS(EBM_ERR_NULL,
                ebm_rbm_pseudo_loglik(rbm, NULL, ROWS, per_row, &mean));
    CHECK_FAILS(EBM_ERR_SIZE,
                ebm_rbm_pseudo_loglik(rbm, visible, 0, per_row, &mean));
    CHECK_FAILS(EBM_ERR_OVERFLOW,
                ebm_rbm_pseudo_loglik(rbm, visible, HUGE_ROWS, per_row,
                                      &mean));
    for (size_t i = 0; i < N_BAD_VALUES; i++) {
        set_context("bad value", BAD_VALUES[i].value);
        fill_rows(visible, D, BAD_VALUES[i].value);
        CHECK_FAILS(BAD_VALUES[i].status,
                    ebm_rbm_pseudo_loglik(rbm, visible, ROWS, per_row,
                                          &mean));
    }
    /* Valid for the conditionals, but not binary. */
    case_context[0] = '\0';
    fill_rows(visible, D, 0.5f);
    CHECK_FAILS(EBM_ERR_DOMAIN,
                ebm_rbm_pseudo_loglik(rbm, visible, ROWS, per_row, &mean));
    ebm_rbm_destroy(rbm);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Trainers                                                                 */
/* ------------------------------------------------------------------------ */

START_TEST(trainer_create_rejects)
{
    watch_clear();
    ebm_rbm *rbm = make_model(D, K);
    ebm_rbm_trainer *sentinel = (ebm_rbm_trainer *)&watched_buffers;
    ebm_rbm_trainer *out = sentinel;
    watch_model(rbm);
    watch_buffer(&out, sizeof out);
    ebm_train_config config = valid_config();
    CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_trainer_create(NULL, &config, &out));
    CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_trainer_create(rbm, NULL, &out));
    CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_trainer_create(rbm, &config, NULL));

    bad_config bad[MAX_BAD_CONFIGS];
    size_t n_bad = make_bad_configs(bad);
    for (size_t i = 0; i < n_bad; i++) {
        set_context(bad[i].field, bad[i].value);
        CHECK_FAILS(bad[i].status,
                    ebm_rbm_trainer_create(rbm, &bad[i].config, &out));
    }

    case_context[0] = '\0';
    /* A batch size or chain count of SIZE_MAX / 2 is itself beyond
     * EBM_MAX_ELEMENTS, which is checked before any product of sizes is
     * formed, so the status is EBM_ERR_LIMIT and not EBM_ERR_OVERFLOW. */
    config = valid_config();
    config.batch_size = HUGE_ROWS;
    CHECK_FAILS(EBM_ERR_LIMIT, ebm_rbm_trainer_create(rbm, &config, &out));
    config = valid_config();
    config.method = EBM_PCD;
    config.chains = HUGE_ROWS;
    CHECK_FAILS(EBM_ERR_LIMIT, ebm_rbm_trainer_create(rbm, &config, &out));
    ck_assert_ptr_eq(out, sentinel);
    ebm_rbm_destroy(rbm);
}
END_TEST

/* Buffers of more than EBM_MAX_ELEMENTS elements without size_t overflow:
 * 2^31 rows of D = 4 columns. ebm_rbm_trainer_memory allocates nothing, so
 * it is called first. A library that let the size through there would
 * attempt a 100 GB allocation in ebm_rbm_trainer_create. */
START_TEST(trainer_size_limit)
{
    watch_clear();
    ebm_rbm *rbm = make_model(D, K);
    size_t bytes = 12345;
    watch_buffer(&bytes, sizeof bytes);
    ebm_train_config config = valid_config();
    config.batch_size = (size_t)1 << 31;
    CHECK_FAILS(EBM_ERR_LIMIT, ebm_rbm_trainer_memory(rbm, &config, &bytes));
    ebm_rbm_trainer *out = NULL;
    CHECK_FAILS(EBM_ERR_LIMIT, ebm_rbm_trainer_create(rbm, &config, &out));
    ck_assert_ptr_null(out);
    config = valid_config();
    config.method = EBM_PCD;
    config.chains = (size_t)1 << 31;
    CHECK_FAILS(EBM_ERR_LIMIT, ebm_rbm_trainer_memory(rbm, &config, &bytes));
    ebm_rbm_destroy(rbm);
}
END_TEST

START_TEST(trainer_memory_rejects)
{
    watch_clear();
    ebm_rbm *rbm = make_model(D, K);
    size_t bytes = 12345;
    watch_model(rbm);
    watch_buffer(&bytes, sizeof bytes);
    ebm_train_config config = valid_config();
    CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_trainer_memory(NULL, &config, &bytes));
    CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_trainer_memory(rbm, NULL, &bytes));
    CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_trainer_memory(rbm, &config, NULL));
    bad_config bad[MAX_BAD_CONFIGS];
    size_t n_bad = make_bad_configs(bad);
    for (size_t i = 0; i < n_bad; i++) {
        set_context(bad[i].field, bad[i].value);
        CHECK_FAILS(bad[i].status,
                    ebm_rbm_trainer_memory(rbm, &bad[i].config, &bytes));
    }
    case_context[0] = '\0';
    /* As in trainer_create_rejects: the size alone exceeds the limit. */
    config.batch_size = HUGE_ROWS;
    CHECK_FAILS(EBM_ERR_LIMIT, ebm_rbm_trainer_memory(rbm, &config, &bytes));
    ebm_rbm_destroy(rbm);
}
END_TEST

START_TEST(trainer_reset_rejects_null)
{
    watch_clear();
    CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_trainer_reset(NULL));
}
END_TEST

/* Asserts that `trainer` is still in its initial state: its next step on a
 * fresh model equals the first step of a new trainer with `config`. A
 * failed call that advanced the stream, set velocities or initialised the
 * PCD chains would make the two differ. */
static void assert_trainer_untouched(ebm_rbm_trainer *trainer,
                                     const ebm_train_config *config)
{
    float batch[ROWS * D];
    fill_rows(batch, D, 1.0f);
    ebm_rbm *used = make_model(D, K);
    ebm_rbm *fresh_model = make_model(D, K);
    ebm_rbm_trainer *fresh = NULL;
    ck_assert_int_eq(ebm_rbm_trainer_create(fresh_model, config, &fresh),
                     EBM_OK);
    ck_assert_int_eq(ebm_rbm_trainer_step(trainer, used, batch, ROWS),
                     EBM_OK);
    ck_assert_int_eq(ebm_rbm_trainer_step(fresh, fresh_model, batch, ROWS),
                     EBM_OK);
    size_t count = 0;
    float *x = copy_parameters(used, &count);
    float *y = copy_parameters(fresh_model, &count);
    ck_assert_msg(memcmp(x, y, count * sizeof(float)) == 0,
                  "after the failed calls the trainer's next step differs "
                  "from a fresh trainer's first step");
    free(x);
    free(y);
    ebm_rbm_trainer_destroy(fresh);
    ebm_rbm_destroy(used);
    ebm_rbm_destroy(fresh_model);
}

/* The shared bad-input table of ebm_rbm_trainer_gradient and _step. When
 * use_step is false the gradient is called with the watched output
 * buffers. */
static void check_trainer_update(bool use_step, ebm_method method)
{
    watch_clear();
    ebm_rbm *rbm = make_model(D, K);
    ebm_rbm *transposed = make_model(K, D);
    ebm_rbm *wider = make_model(D, K + 2);
    ebm_train_config config = valid_config();
    config.method = method;
    config.chains = 4;
    config.seed = 99;
    ebm_rbm_trainer *trainer = NULL;
    ck_assert_int_eq(ebm_rbm_trainer_create(rbm, &config, &trainer), EBM_OK);
    float batch[ROWS * D];
    fill_rows(batch, D, 1.0f);
    float gw[D * K];
    float ga[D];
    float gb[K];
    for (size_t p = 0; p < D * K; p++) {
        gw[p] = -7.0f;
    }
    for (size_t i = 0; i < D; i++) {
        ga[i] = -7.0f;
    }
    for (size_t j = 0; j < K; j++) {
        gb[j] = -7.0f;
    }
    watch_model(rbm);
    watch_model(transposed);
    watch_model(wider);
    watch_buffer(gw, sizeof gw);
    watch_buffer(ga, sizeof ga);
    watch_buffer(gb, sizeof gb);

#define UPDATE(trainer_, rbm_, batch_, rows_)                                 \
    (use_step ? ebm_rbm_trainer_step((trainer_), (rbm_), (batch_), (rows_))   \
              : ebm_rbm_trainer_gradient((trainer_), (rbm_), (batch_),       \
                                         (rows_), gw, ga, gb))

    CHECK_FAILS(EBM_ERR_NULL, UPDATE(NULL, rbm, batch, ROWS));
    CHECK_FAILS(EBM_ERR_NULL, UPDATE(trainer, NULL, batch, ROWS));
    CHECK_FAILS(EBM_ERR_NULL, UPDATE(trainer, rbm, NULL, ROWS));
    if (!use_step) {
        CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_trainer_gradient(
                                      trainer, rbm, batch, ROWS, NULL, ga,
                                      gb));
        CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_trainer_gradient(
                                      trainer, rbm, batch, ROWS, gw, NULL,
                                      gb));
        CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_trainer_gradient(
                                      trainer, rbm, batch, ROWS, gw, ga,
                                      NULL));
    }
    CHECK_FAILS(EBM_ERR_SIZE, UPDATE(trainer, rbm, batch, 0));
    /* More rows than the batch size: SIZE_MAX / 2 is caught here before
     * any product of sizes is formed. */
    CHECK_FAILS(EBM_ERR_SIZE, UPDATE(trainer, rbm, batch, ROWS + 1));
    CHECK_FAILS(EBM_ERR_SIZE, UPDATE(trainer, rbm, batch, HUGE_ROWS));
    CHECK_FAILS(EBM_ERR_MISMATCH, UPDATE(trainer, transposed, batch, ROWS));
    CHECK_FAILS(EBM_ERR_MISMATCH, UPDATE(trainer, wider, batch, ROWS));
    for (size_t i = 0; i < N_BAD_VALUES; i++) {
        set_context("bad value", BAD_VALUES[i].value);
        fill_rows(batch, D, BAD_VALUES[i].value);
        CHECK_FAILS(BAD_VALUES[i].status, UPDATE(trainer, rbm, batch, ROWS));
    }
#undef UPDATE

    watch_clear();
    assert_trainer_untouched(trainer, &config);
    ebm_rbm_trainer_destroy(trainer);
    ebm_rbm_destroy(rbm);
    ebm_rbm_destroy(transposed);
    ebm_rbm_destroy(wider);
}

START_TEST(trainer_gradient_rejects)
{
    check_trainer_update(false, EBM_CD);
    check_trainer_update(false, EBM_PCD);
}
END_TEST

START_TEST(trainer_step_rejects)
{
    check_trainer_update(true, EBM_CD);
    check_trainer_update(true, EBM_PCD);
}
END_TEST

static int count_epochs(const ebm_rbm *rbm, const ebm_epoch_report *report,
                        void *user_data)
{
    (void)rbm;
    (void)report;
    (*(unsigned *)user_data)++;
    return 0;
}

START_TEST(trainer_fit_rejects)
{
    watch_clear();
    ebm_rbm *rbm = make_model(D, K);
    ebm_rbm *transposed = make_model(K, D);
    ebm_train_config config = valid_config();
    config.seed = 98;
    ebm_rbm_trainer *trainer = NULL;
    ck_assert_int_eq(ebm_rbm_trainer_create(rbm, &config, &trainer), EBM_OK);
    /* Enough rows for several batches, so that a bad value in the last
     * row comes after updates that would change the model. */
    enum { FIT_ROWS = 4 * ROWS };
    float data[FIT_ROWS * D];
    for (size_t i = 0; i < FIT_ROWS * D; i++) {
        data[i] = (float)(i % 3 == 0);
    }
    unsigned epochs_seen = 0;
    watch_model(rbm);
    watch_model(transposed);
    watch_buffer(&epochs_seen, sizeof epochs_seen);

    CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_trainer_fit(NULL, rbm, data, FIT_ROWS,
                                                  1, count_epochs,
                                                  &epochs_seen));
    CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_trainer_fit(trainer, NULL, data,
                                                  FIT_ROWS, 1, count_epochs,
                                                  &epochs_seen));
    CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_trainer_fit(trainer, rbm, NULL,
                                                  FIT_ROWS, 1, count_epochs,
                                                  &epochs_seen));
    CHECK_FAILS(EBM_ERR_SIZE, ebm_rbm_trainer_fit(trainer, rbm, data, 0, 1,
                                                  count_epochs,
                                                  &epochs_seen));
    CHECK_FAILS(EBM_ERR_SIZE, ebm_rbm_trainer_fit(trainer, rbm, data,
                                                  FIT_ROWS, 0, count_epochs,
                                                  &epochs_seen));
    CHECK_FAILS(EBM_ERR_OVERFLOW,
                ebm_rbm_trainer_fit(trainer, rbm, data, HUGE_ROWS, 1,
                                    count_epochs, &epochs_seen));
    CHECK_FAILS(EBM_ERR_MISMATCH,
                ebm_rbm_trainer_fit(trainer, transposed, data, FIT_ROWS, 1,
                                    count_epochs, &epochs_seen));
    for (size_t i = 0; i < N_BAD_VALUES; i++) {
        set_context("bad value", BAD_VALUES[i].value);
        float saved = data[FIT_ROWS * D - 1];
        data[FIT_ROWS * D - 1] = BAD_VALUES[i].value;
        CHECK_FAILS(BAD_VALUES[i].status,
                    ebm_rbm_trainer_fit(trainer, rbm, data, FIT_ROWS, 1,
                                        count_epochs, &epochs_seen));
        data[FIT_ROWS * D - 1] = saved;
    }
    watch_clear();
    assert_trainer_untouched(trainer, &config);
    ebm_rbm_trainer_destroy(trainer);
    ebm_rbm_destroy(rbm);
    ebm_rbm_destroy(transposed);
}
END_TEST

START_TEST(rbm_fit_rejects)
{
    watch_clear();
    ebm_rbm *rbm = make_model(D, K);
    ebm_train_config config = valid_config();
    float data[ROWS * D];
    fill_rows(data, D, 1.0f);
    unsigned epochs_seen = 0;
    watch_model(rbm);
    watch_buffer(&epochs_seen, sizeof epochs_seen);

    CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_fit(NULL, &config, data, ROWS, 1,
                                          count_epochs, &epochs_seen));
    CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_fit(rbm, NULL, data, ROWS, 1,
                                          count_epochs, &epochs_seen));
    CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_fit(rbm, &config, NULL, ROWS, 1,
                                          count_epochs, &epochs_seen));
    CHECK_FAILS(EBM_ERR_SIZE, ebm_rbm_fit(rbm, &config, data, 0, 1,
                                          count_epochs, &epochs_seen));
    CHECK_FAILS(EBM_ERR_SIZE, ebm_rbm_fit(rbm, &config, data, ROWS, 0,
                                          count_epochs, &epochs_seen));
    CHECK_FAILS(EBM_ERR_OVERFLOW, ebm_rbm_fit(rbm, &config, data, HUGE_ROWS,
                                              1, count_epochs,
                                              &epochs_seen));
    bad_config bad[MAX_BAD_CONFIGS];
    size_t n_bad = make_bad_configs(bad);
    for (size_t i = 0; i < n_bad; i++) {
        set_context(bad[i].field, bad[i].value);
        CHECK_FAILS(bad[i].status, ebm_rbm_fit(rbm, &bad[i].config, data,
                                               ROWS, 1, count_epochs,
                                               &epochs_seen));
    }
    for (size_t i = 0; i < N_BAD_VALUES; i++) {
        set_context("bad value", BAD_VALUES[i].value);
        fill_rows(data, D, BAD_VALUES[i].value);
        CHECK_FAILS(BAD_VALUES[i].status,
                    ebm_rbm_fit(rbm, &config, data, ROWS, 1, count_epochs,
                                &epochs_seen));
    }
    ebm_rbm_destroy(rbm);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Data sets and model files                                                */
/* ------------------------------------------------------------------------ */

START_TEST(data_load_rejects)
{
    watch_clear();
    ebm_data out = {7, 7, (float *)&watched_models};
    CHECK_FAILS(EBM_ERR_NULL, ebm_data_load_idx(NULL, &out));
    /* Documented exception: on failure *out is reset. */
    ck_assert_uint_eq(out.rows, 0);
    ck_assert_uint_eq(out.cols, 0);
    ck_assert_ptr_null(out.values);
    out = (ebm_data){7, 7, (float *)&watched_models};
    CHECK_FAILS(EBM_ERR_NULL,
                ebm_data_load_idx("/nonexistent-ebm-test/images", NULL));
    CHECK_FAILS(EBM_ERR_IO,
                ebm_data_load_idx("/nonexistent-ebm-test/images", &out));
    ck_assert_uint_eq(out.rows, 0);
    ck_assert_uint_eq(out.cols, 0);
    ck_assert_ptr_null(out.values);
}
END_TEST

START_TEST(data_binarize_rejects)
{
    watch_clear();
    float values[ROWS * D];
    fill_rows(values, D, 0.75f);
    ebm_data data = {ROWS, D, values};
    watch_buffer(values, sizeof values);
    watch_buffer(&data, sizeof data);
    CHECK_FAILS(EBM_ERR_NULL,
                ebm_data_binarize(NULL, EBM_BINARIZE_THRESHOLD, 1));
    ebm_data no_values = {ROWS, D, NULL};
    CHECK_FAILS(EBM_ERR_NULL,
                ebm_data_binarize(&no_values, EBM_BINARIZE_THRESHOLD, 1));
    CHECK_FAILS(EBM_ERR_ARGUMENT,
                ebm_data_binarize(&data, (ebm_binarize_mode)2, 1));
    CHECK_FAILS(EBM_ERR_ARGUMENT,
                ebm_data_binarize(&data, (ebm_binarize_mode)-1, 1));
    /* NOTE: ebm.h does not list EBM_ERR_OVERFLOW for ebm_data_binarize;
     * this expects the status that every other function gives. */
    ebm_data huge = {HUGE_ROWS, D, values};
    CHECK_FAILS(EBM_ERR_OVERFLOW,
                ebm_data_binarize(&huge, EBM_BINARIZE_THRESHOLD, 1));
    for (size_t i = 0; i < N_BAD_VALUES; i++) {
        set_context("bad value", BAD_VALUES[i].value);
        values[ROWS * D - 1] = BAD_VALUES[i].value;
        watch_clear();
        watch_buffer(values, sizeof values);
        CHECK_FAILS(BAD_VALUES[i].status,
                    ebm_data_binarize(&data, EBM_BINARIZE_THRESHOLD, 1));
        CHECK_FAILS(BAD_VALUES[i].status,
                    ebm_data_binarize(&data, EBM_BINARIZE_STOCHASTIC, 1));
    }
}
END_TEST

START_TEST(model_files_reject)
{
    watch_clear();
    ebm_rbm *rbm = make_model(D, K);
    watch_model(rbm);
    CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_save(NULL, "/nonexistent-ebm-test/m"));
    CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_save(rbm, NULL));
    CHECK_FAILS(EBM_ERR_IO,
                ebm_rbm_save(rbm, "/nonexistent-ebm-test/model.npz"));
    ebm_rbm *sentinel = (ebm_rbm *)&watched_models;
    ebm_rbm *out = sentinel;
    watch_buffer(&out, sizeof out);
    CHECK_FAILS(EBM_ERR_NULL, ebm_rbm_load(NULL, &out));
    CHECK_FAILS(EBM_ERR_NULL,
                ebm_rbm_load("/nonexistent-ebm-test/model.npz", NULL));
    CHECK_FAILS(EBM_ERR_IO,
                ebm_rbm_load("/nonexistent-ebm-test/model.npz", &out));
    ck_assert_ptr_eq(out, sentinel);
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
    Suite *suite = suite_create("errors");
    add_case(suite, "status_names_and_messages", status_names_and_messages);
    add_case(suite, "version_matches_macros", version_matches_macros);
    add_case(suite, "last_error_per_thread", last_error_per_thread);
    add_case(suite, "success_keeps_last_error", success_keeps_last_error);
    add_case(suite, "set_threads_rejects_out_of_range",
             set_threads_rejects_out_of_range);
    add_case(suite, "rng_and_config_reject_null", rng_and_config_reject_null);
    add_case(suite, "destroy_null_is_noop", destroy_null_is_noop);
    add_case(suite, "getters_accept_null", getters_accept_null);
    add_case(suite, "rbm_create_rejects", rbm_create_rejects);
    add_case(suite, "rbm_clone_rejects", rbm_clone_rejects);
    add_case(suite, "rbm_initialize_rejects", rbm_initialize_rejects);
    add_case(suite, "rbm_setters_reject", rbm_setters_reject);
    add_case(suite, "hidden_given_visible_rejects",
             hidden_given_visible_rejects);
    add_case(suite, "visible_given_hidden_rejects",
             visible_given_hidden_rejects);
    add_case(suite, "conditionals_reject_overlap",
             conditionals_reject_overlap);
    add_case(suite, "energy_rejects", energy_rejects);
    add_case(suite, "free_energy_rejects", free_energy_rejects);
    add_case(suite, "reconstruction_error_rejects",
             reconstruction_error_rejects);
    add_case(suite, "pseudo_loglik_rejects", pseudo_loglik_rejects);
    add_case(suite, "trainer_create_rejects", trainer_create_rejects);
    add_case(suite, "trainer_size_limit", trainer_size_limit);
    add_case(suite, "trainer_memory_rejects", trainer_memory_rejects);
    add_case(suite, "trainer_reset_rejects_null", trainer_reset_rejects_null);
    add_case(suite, "trainer_gradient_rejects", trainer_gradient_rejects);
    add_case(suite, "trainer_step_rejects", trainer_step_rejects);
    add_case(suite, "trainer_fit_rejects", trainer_fit_rejects);
    add_case(suite, "rbm_fit_rejects", rbm_fit_rejects);
    add_case(suite, "data_load_rejects", data_load_rejects);
    add_case(suite, "data_binarize_rejects", data_binarize_rejects);
    add_case(suite, "model_files_reject", model_files_reject);

    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_VERBOSE);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
