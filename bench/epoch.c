/*
 * ebm-bench --epoch: one training epoch on real data, CD-1 and PCD-1 with
 * B = 100 and K = 500, against the GEMM bound of the same epoch (the five
 * sgemm calls of an update, timed alone, times the number of batches).
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#ifndef EBM_SOURCE_DIR
#define EBM_SOURCE_DIR "."
#endif

#define EPOCH_BATCH 100
#define EPOCH_HIDDEN 500
#define FASHION_MNIST \
    "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"

/* Updates timed to estimate the bound of one batch. */
#define BOUND_REPS 20

static int record_seconds(const ebm_rbm *rbm, const ebm_epoch_report *report,
                          void *user_data)
{
    (void)rbm;
    *(double *)user_data = report->seconds;
    return 0;
}

/* Seconds of one epoch's updates on a freshly initialised model. */
static double time_epoch(const ebm_data *data, ebm_method method,
                         int threads)
{
    ebm_rbm *rbm = NULL;
    ebm_train_config config;
    double seconds = -1.0;

    ebm_set_threads(threads);
    openblas_set_num_threads(1);
    ebm_train_config_init(&config);
    config.method = method;
    config.batch_size = EPOCH_BATCH;
    if (ebm_rbm_create(data->cols, EPOCH_HIDDEN, &rbm) != EBM_OK ||
        ebm_rbm_initialize(rbm, data->values, data->rows, 0.01f, 1) !=
            EBM_OK ||
        ebm_rbm_fit(rbm, &config, data->values, data->rows, 1,
                    record_seconds, &seconds) != EBM_OK) {
        fprintf(stderr, "ebm-bench: training failed: %s\n",
                ebm_last_error());
        seconds = -1.0;
    }
    ebm_rbm_destroy(rbm);
    return seconds;
}

/* Seconds of the sgemm calls of one epoch: BOUND_REPS updates timed and
 * scaled to the number of batches. The faster of OpenBLAS's own threads and
 * libebm's pieces. */
static double time_bound(struct bench_context *context, size_t batches,
                         int threads)
{
    struct bench_gemm gemms[BENCH_MAX_GEMMS];
    size_t count = 0;
    double start, whole, pieces;

    /* The five products of CD-1 (kernel "cd"). */
    for (size_t k = 0; k < bench_kernel_count; k++)
        if (strcmp(bench_kernels[k].name, "cd") == 0)
            count = bench_kernels[k].gemms(&context->shape, gemms);

    openblas_set_num_threads(threads);
    start = bench_seconds_now();
    for (int r = 0; r < BOUND_REPS; r++)
        bench_run_gemms_openblas(context, gemms, count);
    whole = (bench_seconds_now() - start) / BOUND_REPS;

    /* OpenBLAS's threads spin for a while after a threaded call; let them
     * sleep before libebm's threads run. */
    ebm_set_threads(threads);
    openblas_set_num_threads(1);
    if (threads > 1)
        nanosleep(&(struct timespec){0, 300 * 1000 * 1000}, NULL);
    start = bench_seconds_now();
    for (int r = 0; r < BOUND_REPS; r++)
        bench_run_gemms_pieces(context, gemms, count);
    pieces = (bench_seconds_now() - start) / BOUND_REPS;
    return (whole < pieces ? whole : pieces) * (double)batches;
}

static void print_epoch(const char *path, const ebm_data *data,
                        const char *method, int threads,
                        struct bench_summary epoch,
                        struct bench_summary bound, unsigned rounds,
                        bool json)
{
    double rows = (double)data->rows;

    if (json) {
        printf("{\"kernel\": \"epoch_%s\", \"data\": \"%s\", \"rows\": %zu, "
               "\"B\": %d, \"D\": %zu, \"K\": %d, \"threads\": %d, "
               "\"seconds_median\": %.6g, \"seconds_min\": %.6g, "
               "\"seconds_max\": %.6g, \"samples_per_sec\": %.6g, "
               "\"gemm_bound_seconds\": %.6g, "
               "\"gemm_bound_samples_per_sec\": %.6g, "
               "\"ratio_to_gemm_bound\": %.4g, \"rounds\": %u}\n",
               method, path, data->rows, EPOCH_BATCH, data->cols,
               EPOCH_HIDDEN, threads, epoch.median, epoch.min, epoch.max,
               rows / epoch.median, bound.median, rows / bound.median,
               bound.median / epoch.median, rounds);
    } else {
        printf("%-9s %6zu %3d %9.3f %9.3f %9.3f %10.0f %10.0f %6.3f  %s\n",
               method, data->rows, threads, epoch.median, epoch.min,
               epoch.max, rows / epoch.median, rows / bound.median,
               bound.median / epoch.median, path);
    }
    fflush(stdout);
}

static int run_file(const char *path, const struct bench_options *o)
{
    static const char *const names[2] = {"cd", "pcd"};
    static const ebm_method methods[2] = {EBM_CD, EBM_PCD};
    ebm_data data;
    struct bench_context context;
    struct bench_shape shape;
    unsigned rounds = o->rounds < 32 ? o->rounds : 32;
    size_t batches;

    if (ebm_data_load_idx(path, &data) != EBM_OK ||
        ebm_data_binarize(&data, EBM_BINARIZE_THRESHOLD, 0) != EBM_OK) {
        fprintf(stderr, "ebm-bench: cannot use '%s': %s\n", path,
                ebm_last_error());
        ebm_data_free(&data);
        return 1;
    }
    shape = (struct bench_shape){EPOCH_BATCH, data.cols, EPOCH_HIDDEN, 1};
    batches = (data.rows + EPOCH_BATCH - 1) / EPOCH_BATCH;
    if (bench_context_create(&shape, &context) != 0) {
        bench_context_destroy(&context);
        ebm_data_free(&data);
        return 1;
    }
    for (size_t t = 0; t < o->thread_count; t++) {
        for (int m = 0; m < 2; m++) {
            double epoch[32], bound[32];

            for (unsigned r = 0; r < rounds; r++) {
                epoch[r] = time_epoch(&data, methods[m], o->threads[t]);
                bound[r] = time_bound(&context, batches, o->threads[t]);
                if (epoch[r] < 0.0) {
                    bench_context_destroy(&context);
                    ebm_data_free(&data);
                    return 1;
                }
            }
            print_epoch(path, &data, names[m], o->threads[t],
                        bench_summarize(epoch, rounds),
                        bench_summarize(bound, rounds), rounds, o->json);
        }
    }
    bench_context_destroy(&context);
    ebm_data_free(&data);
    return 0;
}

int bench_run_epochs(const struct bench_options *options)
{
    struct bench_options o = *options;
    static const char bundled[] =
        EBM_SOURCE_DIR "/data/mnist-10k/images-idx3-ubyte.gz";

    if (o.data_count == 0) {
        o.data[o.data_count++] = bundled;
        if (access(FASHION_MNIST, R_OK) == 0 && !o.quick)
            o.data[o.data_count++] = FASHION_MNIST;
    }
    if (!o.rounds_given)
        o.rounds = o.quick ? 1 : 3;
    if (!o.json)
        printf("%-9s %6s %3s %9s %9s %9s %10s %10s %6s  %s\n", "method",
               "rows", "thr", "s median", "s min", "s max", "samples/s",
               "bound/s", "ratio", "data");
    for (size_t i = 0; i < o.data_count; i++)
        if (run_file(o.data[i], &o) != 0)
            return 1;
    return 0;
}
