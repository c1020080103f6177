/*
 * ebm-bench: times libebm's kernels against naive loops and against the
 * bare sgemm calls of the same shapes, and whole training epochs on real
 * data. See `ebm-bench --help` and docs/benchmarks.md.
 */
#include <cblas.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

/* Shortest time a round of one measurement should last, so that timer
 * resolution and call overhead do not dominate. */
#define ROUND_SECONDS 0.02

double bench_seconds_now(void)
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

struct bench_summary bench_summarize(double *seconds, size_t count)
{
    struct bench_summary summary;

    qsort(seconds, count, sizeof(*seconds), compare_doubles);
    summary.median = count % 2 == 1
                         ? seconds[count / 2]
                         : 0.5 * (seconds[count / 2 - 1] + seconds[count / 2]);
    summary.min = seconds[0];
    summary.max = seconds[count - 1];
    return summary;
}

static void print_help(void)
{
    fputs(
"Usage: ebm-bench [OPTIONS]\n"
"       ebm-bench --epoch [--data FILE]... [OPTIONS]\n"
"\n"
"Times libebm's kernels at several shapes: the libebm call, the same\n"
"computation as naive loops, and the bare sgemm calls of the same shapes\n"
"(the GEMM bound: the faster of whole cblas_sgemm calls with OpenBLAS's\n"
"own threads and the same calls divided into libebm's pieces). The\n"
"libebm call and the pieces alternate round by round; the whole calls run\n"
"in rounds of their own first, because OpenBLAS's threads keep spinning\n"
"after a call and would slow down whatever follows. Reports medians with\n"
"minimum and maximum.\n"
"\n"
"Kernels: hidden (P(h|v) with sampling), visible (P(v|h) with sampling),\n"
"gradient (the weight and bias gradient products), cd and pcd (a whole\n"
"CD-k or PCD-k update), free_energy, pll (exact pseudo-log-likelihood),\n"
"ais (one AIS run of 20 inverse temperatures over B chains: 19 steps),\n"
"bm_sweep (one sequential Gibbs sweep of B chains of a BM with W, V and U\n"
"of D + K units by the blocked scheme; its naive reference is the\n"
"one-unit-at-a-time sweep, ebm_bm_gibbs with EBM_SAMPLER_SITE).\n"
"\n"
"Options:\n"
"  --kernels LIST     comma-separated kernel names (default: all)\n"
"  --batch LIST       batch sizes B, rows (default 10,100,1000)\n"
"  --hidden LIST      hidden units K (default 500,2048)\n"
"  --visible D        visible units (default 784)\n"
"  --threads LIST     thread counts (default 1,2)\n"
"  --gibbs-steps K    k of the cd and pcd kernels (default 1)\n"
"  --rounds R         rounds per measurement (default 7; with --epoch 3)\n"
"  --naive-rounds R   runs of each naive reference (default 2)\n"
"  --naive-budget S   seconds a naive run may take; longer references\n"
"                     whose cost grows with the rows run on fewer rows and\n"
"                     are scaled (default 2)\n"
"  --quick            B = 100, K = 500, 3 rounds, 1 naive run of at most\n"
"                     0.2 s: a seconds-long smoke pass\n"
"  --json             one JSON object per line and measurement\n"
"  --repeat N         only call the libebm kernels N times each, without\n"
"                     timing, naive loops or bounds: for profilers such as\n"
"                     perf record\n"
"  --epoch            time whole training epochs instead (CD-1 and PCD-1,\n"
"                     B = 100, K = 500) on --data files\n"
"  --data FILE        IDX file for --epoch (default: the bundled digits,\n"
"                     and Fashion-MNIST when installed); repeatable\n"
"  --help             print this help\n"
"\n"
"ratio_to_gemm_bound is the GEMM bound's time divided by the kernel's\n"
"time: 1 means the kernel runs as fast as its matrix products alone.\n",
        stdout);
}

/* Parses "a,b,c" into up to 8 positive integers. */
static int parse_list(const char *text, size_t *values, size_t *count)
{
    char *end;

    *count = 0;
    while (*text != '\0' && *count < 8) {
        unsigned long long value = strtoull(text, &end, 10);

        if (end == text || value == 0 || (*end != ',' && *end != '\0'))
            return -1;
        values[(*count)++] = (size_t)value;
        text = *end == ',' ? end + 1 : end;
    }
    return *count > 0 && *text == '\0' ? 0 : -1;
}

static int parse_number(const char *text, double *value)
{
    char *end;

    errno = 0;
    *value = strtod(text, &end);
    return end != text && *end == '\0' && errno == 0 && *value > 0 ? 0 : -1;
}

static void set_defaults(struct bench_options *o)
{
    memset(o, 0, sizeof(*o));
    o->batches[0] = 10;
    o->batches[1] = 100;
    o->batches[2] = 1000;
    o->batch_count = 3;
    o->hiddens[0] = 500;
    o->hiddens[1] = 2048;
    o->hidden_count = 2;
    o->visible = 784;
    o->threads[0] = 1;
    o->threads[1] = 2;
    o->thread_count = 2;
    o->gibbs_steps = 1;
    o->rounds = 7;
    o->naive_rounds = 2;
    o->naive_budget = 2.0;
}

static int usage_error(const char *option, const char *value)
{
    fprintf(stderr,
            "ebm-bench: invalid value '%s' for %s; see ebm-bench --help\n",
            value, option);
    return 2;
}

/* Applies one option that takes a value; returns 0, or 2 on a bad value. */
static int apply_option(struct bench_options *o, const char *name,
                        const char *value)
{
    size_t values[8], count;
    double number;

    if (strcmp(name, "--kernels") == 0) {
        o->kernels = value;
    } else if (strcmp(name, "--batch") == 0) {
        if (parse_list(value, o->batches, &o->batch_count) != 0)
            return usage_error(name, value);
    } else if (strcmp(name, "--hidden") == 0) {
        if (parse_list(value, o->hiddens, &o->hidden_count) != 0)
            return usage_error(name, value);
    } else if (strcmp(name, "--visible") == 0 ||
               strcmp(name, "--gibbs-steps") == 0 ||
               strcmp(name, "--repeat") == 0 ||
               strcmp(name, "--rounds") == 0 ||
               strcmp(name, "--naive-rounds") == 0) {
        if (parse_list(value, values, &count) != 0 || count != 1)
            return usage_error(name, value);
        if (strcmp(name, "--visible") == 0)
            o->visible = values[0];
        else if (strcmp(name, "--gibbs-steps") == 0)
            o->gibbs_steps = (unsigned)values[0];
        else if (strcmp(name, "--repeat") == 0)
            o->repeat = values[0];
        else if (strcmp(name, "--rounds") == 0) {
            o->rounds = (unsigned)values[0];
            o->rounds_given = true;
        }
        else
            o->naive_rounds = (unsigned)values[0];
    } else if (strcmp(name, "--threads") == 0) {
        if (parse_list(value, values, &count) != 0)
            return usage_error(name, value);
        for (size_t i = 0; i < count; i++)
            o->threads[i] = (int)values[i];
        o->thread_count = count;
    } else if (strcmp(name, "--naive-budget") == 0) {
        if (parse_number(value, &number) != 0)
            return usage_error(name, value);
        o->naive_budget = number;
    } else if (strcmp(name, "--data") == 0) {
        if (o->data_count == 4)
            return usage_error(name, value);
        o->data[o->data_count++] = value;
    } else {
        fprintf(stderr, "ebm-bench: unknown option '%s'; see --help\n",
                name);
        return 2;
    }
    return 0;
}

static int parse_options(int argc, char **argv, struct bench_options *o)
{
    set_defaults(o);
    for (int i = 1; i < argc; i++) {
        int status;

        if (strcmp(argv[i], "--help") == 0) {
            print_help();
            exit(0);
        } else if (strcmp(argv[i], "--json") == 0) {
            o->json = true;
        } else if (strcmp(argv[i], "--quick") == 0) {
            o->quick = true;
        } else if (strcmp(argv[i], "--epoch") == 0) {
            o->epoch = true;
        } else if (i + 1 >= argc) {
            fprintf(stderr, "ebm-bench: %s needs a value\n", argv[i]);
            return 2;
        } else if ((status = apply_option(o, argv[i], argv[i + 1])) != 0) {
            return status;
        } else {
            i++;
        }
    }
    if (o->quick) {
        o->batches[0] = 100;
        o->batch_count = 1;
        o->hiddens[0] = 500;
        o->hidden_count = 1;
        o->rounds = 3;
        o->naive_rounds = 1;
        o->naive_budget = 0.2;
    }
    return 0;
}

/* True if name is in the comma-separated list (or the list is NULL). */
static bool selected(const char *list, const char *name)
{
    size_t length = strlen(name);

    if (list == NULL)
        return true;
    for (const char *p = list; *p != '\0';) {
        const char *comma = strchr(p, ',');
        size_t item = comma != NULL ? (size_t)(comma - p) : strlen(p);

        if (item == length && strncmp(p, name, length) == 0)
            return true;
        p += item + (comma != NULL);
    }
    return false;
}

/* ------------------------------------------------------------------------ */
/* One measurement                                                          */
/* ------------------------------------------------------------------------ */

struct naive_timing {
    double seconds; /* median, scaled to all rows */
    size_t rows;    /* rows it was timed on */
};

static double time_naive(const struct bench_kernel *kernel,
                         struct bench_context *context, size_t rows)
{
    double start = bench_seconds_now();

    kernel->run_naive(context, rows);
    return bench_seconds_now() - start;
}

/* Times the naive reference (single-threaded loops, so once per shape). */
static struct naive_timing measure_naive(const struct bench_kernel *kernel,
                                         struct bench_context *context,
                                         const struct bench_options *o)
{
    size_t batch = context->shape.batch, rows = batch;
    double seconds[16];
    unsigned runs = o->naive_rounds < 16 ? o->naive_rounds : 16;
    struct naive_timing timing;

    if (kernel->naive_scales_with_rows) {
        size_t probe = batch < 4 ? batch : 4;
        double per_row = time_naive(kernel, context, probe) / (double)probe;

        if (per_row * (double)batch > o->naive_budget) {
            rows = (size_t)(o->naive_budget / per_row);
            rows = rows < probe ? probe : rows;
        }
    }
    for (unsigned r = 0; r < runs; r++) {
        seconds[r] = time_naive(kernel, context, rows);
        /* One run is enough for references that take the whole budget. */
        if (seconds[r] > o->naive_budget) {
            runs = r + 1;
            break;
        }
    }
    timing.seconds = bench_summarize(seconds, runs).median *
                     (double)batch / (double)rows;
    timing.rows = rows;
    return timing;
}

struct measurement {
    struct bench_summary ebm, openblas, pieces;
    unsigned rounds, reps;
};

/* Times `reps` calls of what, returning seconds per call. */
static double time_block(const struct bench_kernel *kernel,
                         struct bench_context *context,
                         const struct bench_gemm *gemms, size_t gemm_count,
                         int what, unsigned reps)
{
    double start = bench_seconds_now();

    for (unsigned r = 0; r < reps; r++) {
        if (what == 0)
            kernel->run(context);
        else if (what == 1)
            bench_run_gemms_openblas(context, gemms, gemm_count);
        else
            bench_run_gemms_pieces(context, gemms, gemm_count);
    }
    return (bench_seconds_now() - start) / (double)reps;
}

/* Lets OpenBLAS's own threads, which spin for a while after a threaded
 * call, go to sleep, so that they do not compete with libebm's threads. */
static void let_openblas_threads_sleep(void)
{
    struct timespec pause = {0, 300 * 1000 * 1000};

    nanosleep(&pause, NULL);
}

/* The OpenBLAS-threaded bound first, then the kernel and the pieces bound
 * alternating round by round, at `threads` threads. */
static struct measurement measure(const struct bench_kernel *kernel,
                                  struct bench_context *context, int threads,
                                  const struct bench_options *o)
{
    struct bench_gemm gemms[BENCH_MAX_GEMMS];
    size_t gemm_count = kernel->gemms(&context->shape, gemms);
    double times[3][64];
    double warm;
    struct measurement m;

    ebm_set_threads(threads);
    openblas_set_num_threads(1);
    kernel->run(context);
    warm = time_block(kernel, context, gemms, gemm_count, 0, 1);
    m.reps = warm >= ROUND_SECONDS ? 1 : (unsigned)(ROUND_SECONDS / warm) + 1;
    m.rounds = o->rounds < 64 ? o->rounds : 64;
    /* OpenBLAS's threads spin after each threaded call and would slow
     * down whatever runs next on the same cores, so the whole-call bound
     * is not interleaved with the rest. */
    openblas_set_num_threads(threads);
    for (unsigned round = 0; round < m.rounds; round++)
        times[1][round] =
            time_block(kernel, context, gemms, gemm_count, 1, m.reps);
    openblas_set_num_threads(1);
    if (threads > 1)
        let_openblas_threads_sleep();
    for (unsigned round = 0; round < m.rounds; round++) {
        times[2][round] =
            time_block(kernel, context, gemms, gemm_count, 2, m.reps);
        times[0][round] =
            time_block(kernel, context, gemms, gemm_count, 0, m.reps);
    }
    m.ebm = bench_summarize(times[0], m.rounds);
    m.openblas = bench_summarize(times[1], m.rounds);
    m.pieces = bench_summarize(times[2], m.rounds);
    return m;
}

static void print_measurement(const struct bench_kernel *kernel,
                              const struct bench_context *context,
                              int threads, const struct measurement *m,
                              const struct naive_timing *naive,
                              const struct bench_options *o)
{
    const struct bench_shape *s = &context->shape;
    struct bench_gemm gemms[BENCH_MAX_GEMMS];
    double flops = bench_gemm_flops(gemms, kernel->gemms(s, gemms));
    double bound = m->openblas.median < m->pieces.median ? m->openblas.median
                                                         : m->pieces.median;

    if (o->json) {
        printf("{\"kernel\": \"%s\", \"B\": %zu, \"D\": %zu, \"K\": %zu, "
               "\"gibbs_steps\": %u, \"threads\": %d, "
               "\"seconds_median\": %.6g, \"seconds_min\": %.6g, "
               "\"seconds_max\": %.6g, \"gflops\": %.4g, "
               "\"naive_seconds\": %.6g, \"naive_rows\": %zu, "
               "\"speedup_vs_naive\": %.4g, "
               "\"gemm_openblas_seconds\": %.6g, "
               "\"gemm_pieces_seconds\": %.6g, "
               "\"gemm_bound_seconds\": %.6g, "
               "\"ratio_to_gemm_bound\": %.4g, \"rounds\": %u, "
               "\"reps\": %u}\n",
               kernel->name, s->batch, s->visible, s->hidden, s->gibbs_steps,
               threads, m->ebm.median, m->ebm.min, m->ebm.max,
               flops / m->ebm.median * 1e-9, naive->seconds, naive->rows,
               naive->seconds / m->ebm.median, m->openblas.median,
               m->pieces.median, bound, bound / m->ebm.median, m->rounds,
               m->reps);
    } else {
        printf("%-11s %5zu %5zu %3d %9.3f %9.3f %9.3f %7.1f %10.2f %8.1f "
               "%9.3f %9.3f %6.3f\n",
               kernel->name, s->batch, s->hidden, threads,
               1e3 * m->ebm.median, 1e3 * m->ebm.min, 1e3 * m->ebm.max,
               flops / m->ebm.median * 1e-9, 1e3 * naive->seconds,
               naive->seconds / m->ebm.median, 1e3 * m->openblas.median,
               1e3 * m->pieces.median, bound / m->ebm.median);
    }
    fflush(stdout);
}

/* Calls the libebm kernel --repeat times at each thread count. */
static void repeat_kernel(const struct bench_kernel *kernel,
                          struct bench_context *context,
                          const struct bench_options *o)
{
    for (size_t t = 0; t < o->thread_count; t++) {
        ebm_set_threads(o->threads[t]);
        for (size_t r = 0; r < o->repeat; r++)
            kernel->run(context);
    }
}

static void print_header(const struct bench_options *o)
{
    if (o->json)
        return;
    printf("libebm %s, %d processors, D = %zu, medians of %u rounds "
           "(ms per call)\n",
           ebm_version(), ebm_get_threads(), o->visible, o->rounds);
    printf("%-11s %5s %5s %3s %9s %9s %9s %7s %10s %8s %9s %9s %6s\n",
           "kernel", "B", "K", "thr", "median", "min", "max", "GFLOP/s",
           "naive", "x naive", "openblas", "pieces", "ratio");
}

static int run_kernels(const struct bench_options *o)
{
    print_header(o);
    for (size_t bi = 0; bi < o->batch_count; bi++) {
        for (size_t hi = 0; hi < o->hidden_count; hi++) {
            struct bench_shape shape = {o->batches[bi], o->visible,
                                        o->hiddens[hi], o->gibbs_steps};
            struct bench_context context;

            if (bench_context_create(&shape, &context) != 0) {
                bench_context_destroy(&context);
                return 1;
            }
            for (size_t k = 0; k < bench_kernel_count; k++) {
                const struct bench_kernel *kernel = &bench_kernels[k];
                struct naive_timing naive;

                if (!selected(o->kernels, kernel->name))
                    continue;
                if (kernel->prepare(&context) != 0) {
                    bench_context_destroy(&context);
                    return 1;
                }
                if (o->repeat > 0) {
                    repeat_kernel(kernel, &context, o);
                    continue;
                }
                naive = measure_naive(kernel, &context, o);
                for (size_t t = 0; t < o->thread_count; t++) {
                    struct measurement m =
                        measure(kernel, &context, o->threads[t], o);

                    print_measurement(kernel, &context, o->threads[t], &m,
                                      &naive, o);
                }
            }
            bench_context_destroy(&context);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct bench_options options;
    int status = parse_options(argc, argv, &options);

    if (status != 0)
        return status;
    if (options.kernels != NULL) {
        for (const char *p = options.kernels; *p != '\0';) {
            const char *comma = strchr(p, ',');
            size_t length = comma != NULL ? (size_t)(comma - p) : strlen(p);
            bool known = false;

            for (size_t k = 0; k < bench_kernel_count; k++)
                known |= strlen(bench_kernels[k].name) == length &&
                         strncmp(bench_kernels[k].name, p, length) == 0;
            if (!known) {
                fprintf(stderr, "ebm-bench: unknown kernel '%.*s'\n",
                        (int)length, p);
                return 2;
            }
            p += length + (comma != NULL);
        }
    }
    return options.epoch ? bench_run_epochs(&options)
                         : run_kernels(&options);
}
