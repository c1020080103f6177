/*
 * Times one CD-1 update of libebm against the matrix products it contains.
 *
 * Three measurements alternate round by round, so that drift in the speed
 * of a shared machine affects them alike:
 *
 *   openblas  the five sgemm calls of a CD-1 update, each one whole
 *             cblas_sgemm with OpenBLAS's own threading (the fastest
 *             products one can ask OpenBLAS for, but their last bits
 *             change with the thread count);
 *   pieces    the same five products through ebm_gemm, divided into pieces
 *             that make the result independent of the thread count;
 *   step      a whole ebm_rbm_trainer_step (products, sigmoid, sampling,
 *             bias gradients, update).
 *
 * It prints the median, minimum and maximum of each, in milliseconds per
 * update and samples per second, and the ratios pieces / openblas (the cost
 * of thread-independent results) and step / openblas (how close training
 * runs to the speed of its products).
 *
 * Usage: bench_step [--batch B] [--visible D] [--hidden K] [--threads T]
 *                   [--rounds R] [--quick]
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ebm.h"
#include "parallel.h"

struct shape {
    size_t batch, visible, hidden;
};

struct buffers {
    float *x, *w, *pre_h, *h, *v, *grad;
};

static double seconds_now(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* The five products of CD-1: X W, H W', V W, X'H and V'H. */
static void products_openblas(const struct shape *s, struct buffers *m)
{
    int b = (int)s->batch, d = (int)s->visible, k = (int)s->hidden;

    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, k, d, 1.0f,
                m->x, d, m->w, k, 0.0f, m->pre_h, k);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, d, k, 1.0f,
                m->h, k, m->w, k, 0.0f, m->v, d);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, k, d, 1.0f,
                m->v, d, m->w, k, 0.0f, m->pre_h, k);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, k, b, 1.0f,
                m->x, d, m->h, k, 0.0f, m->grad, k);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, k, b, -1.0f,
                m->v, d, m->h, k, 1.0f, m->grad, k);
}

static void products_pieces(const struct shape *s, struct buffers *m)
{
    size_t b = s->batch, d = s->visible, k = s->hidden;

    ebm_gemm(false, false, b, k, d, 1.0f, m->x, d, m->w, k, 0.0f, m->pre_h,
             k, NULL, NULL);
    ebm_gemm(false, true, b, d, k, 1.0f, m->h, k, m->w, k, 0.0f, m->v, d,
             NULL, NULL);
    ebm_gemm(false, false, b, k, d, 1.0f, m->v, d, m->w, k, 0.0f, m->pre_h,
             k, NULL, NULL);
    ebm_gemm(true, false, d, k, b, 1.0f, m->x, d, m->h, k, 0.0f, m->grad, k,
             NULL, NULL);
    ebm_gemm(true, false, d, k, b, -1.0f, m->v, d, m->h, k, 1.0f, m->grad,
             k, NULL, NULL);
}

static float *random_binary(size_t n, unsigned seed)
{
    float *x = malloc(n * sizeof(*x));

    srand(seed);
    for (size_t i = 0; x != NULL && i < n; i++)
        x[i] = (float)(rand() % 2);
    return x;
}

static void print_row(const char *name, double *times, size_t rounds,
                      size_t batch)
{
    double median, min, max;

    qsort(times, rounds, sizeof(*times), compare_doubles);
    median = times[rounds / 2];
    min = times[0];
    max = times[rounds - 1];
    printf("%-9s %9.3f %9.3f %9.3f %12.0f\n", name, 1e3 * median, 1e3 * min,
           1e3 * max, (double)batch / median);
}

static size_t parse_size(const char *text, const char *option)
{
    char *end;
    unsigned long long value = strtoull(text, &end, 10);

    if (*text == '\0' || *end != '\0' || value == 0) {
        fprintf(stderr, "bench_step: %s needs a positive integer, not '%s'\n",
                option, text);
        exit(2);
    }
    return (size_t)value;
}

int main(int argc, char **argv)
{
    struct shape s = {100, 784, 500};
    size_t threads = 2, rounds = 30, reps = 20;
    struct buffers m;
    ebm_rbm *rbm;
    ebm_rbm_trainer *trainer;
    ebm_train_config config;
    double *times[3];

    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : "";

        if (strcmp(argv[i], "--quick") == 0) {
            rounds = 3;
            reps = 2;
            continue;
        }
        if (strcmp(argv[i], "--batch") == 0)
            s.batch = parse_size(value, argv[i]);
        else if (strcmp(argv[i], "--visible") == 0)
            s.visible = parse_size(value, argv[i]);
        else if (strcmp(argv[i], "--hidden") == 0)
            s.hidden = parse_size(value, argv[i]);
        else if (strcmp(argv[i], "--threads") == 0)
            threads = parse_size(value, argv[i]);
        else if (strcmp(argv[i], "--rounds") == 0)
            rounds = parse_size(value, argv[i]);
        else {
            fprintf(stderr, "bench_step: unknown option '%s'\n", argv[i]);
            return 2;
        }
        i++;
    }

    m.x = random_binary(s.batch * s.visible, 1);
    m.v = random_binary(s.batch * s.visible, 2);
    m.h = random_binary(s.batch * s.hidden, 3);
    m.pre_h = random_binary(s.batch * s.hidden, 4);
    m.w = random_binary(s.visible * s.hidden, 5);
    m.grad = random_binary(s.visible * s.hidden, 6);
    for (int i = 0; i < 3; i++)
        times[i] = malloc(rounds * sizeof(double));
    if (ebm_set_threads((int)threads) != EBM_OK ||
        ebm_rbm_create(s.visible, s.hidden, &rbm) != EBM_OK ||
        ebm_rbm_initialize(rbm, m.x, s.batch, 0.01f, 1) != EBM_OK ||
        ebm_train_config_init(&config) != EBM_OK) {
        fprintf(stderr, "bench_step: %s\n", ebm_last_error());
        return 1;
    }
    config.batch_size = s.batch;
    if (ebm_rbm_trainer_create(rbm, &config, &trainer) != EBM_OK) {
        fprintf(stderr, "bench_step: %s\n", ebm_last_error());
        return 1;
    }

    printf("CD-1 update, batch %zu, %zu visible, %zu hidden, %zu threads, "
           "%zu rounds of %zu updates\n",
           s.batch, s.visible, s.hidden, threads, rounds, reps);
    for (size_t round = 0; round <= rounds; round++) {
        double start;

        /* OpenBLAS's own threads for the whole-matrix calls only; the
         * library's products need it single-threaded. */
        openblas_set_num_threads((int)threads);
        start = seconds_now();
        for (size_t r = 0; r < reps; r++)
            products_openblas(&s, &m);
        if (round > 0)
            times[0][round - 1] = (seconds_now() - start) / (double)reps;

        openblas_set_num_threads(1);
        start = seconds_now();
        for (size_t r = 0; r < reps; r++)
            products_pieces(&s, &m);
        if (round > 0)
            times[1][round - 1] = (seconds_now() - start) / (double)reps;

        start = seconds_now();
        for (size_t r = 0; r < reps; r++)
            ebm_rbm_trainer_step(trainer, rbm, m.x, s.batch);
        if (round > 0)
            times[2][round - 1] = (seconds_now() - start) / (double)reps;
    }

    printf("%-9s %9s %9s %9s %12s\n", "what", "ms median", "ms min",
           "ms max", "samples/s");
    print_row("openblas", times[0], rounds, s.batch);
    print_row("pieces", times[1], rounds, s.batch);
    print_row("step", times[2], rounds, s.batch);
    /* The arrays are sorted now; ratios of medians. */
    printf("pieces / openblas = %.3f   step / openblas = %.3f   "
           "(time ratios of the medians)\n",
           times[1][rounds / 2] / times[0][rounds / 2],
           times[2][rounds / 2] / times[0][rounds / 2]);

    ebm_rbm_trainer_destroy(trainer);
    ebm_rbm_destroy(rbm);
    for (int i = 0; i < 3; i++)
        free(times[i]);
    free(m.x);
    free(m.v);
    free(m.h);
    free(m.pre_h);
    free(m.w);
    free(m.grad);
    return 0;
}
