/* Thread setting, ebm_gemm and ebm_parallel_for. */
/* sched_getaffinity and CPU_COUNT. */
#define _GNU_SOURCE
#include "parallel.h"

#include <cblas.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "pool.h"

#define EBM_MAX_THREADS 1024

/* Products below this many multiply-adds run as one piece: dividing them
 * costs more than it saves. */
#define EBM_GEMM_SPLIT_MIN_WORK ((size_t)1 << 20)

/* Largest number of pieces of one product. */
#define EBM_GEMM_MAX_PIECES 64

static atomic_int ebm_threads_setting; /* 0 until set or first used */

/* Processors this process may run on (its CPU affinity mask), at least 1. */
static int available_processors(void)
{
    cpu_set_t set;
    int count = 0;

    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        count = CPU_COUNT(&set);
    if (count < 1) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);

        count = online >= 1 && online <= EBM_MAX_THREADS ? (int)online : 1;
    }
    return count < EBM_MAX_THREADS ? count : EBM_MAX_THREADS;
}

static int default_thread_count(void)
{
    const char *env = getenv("OMP_NUM_THREADS");
    long n = env != NULL ? strtol(env, NULL, 10) : 0;

    if (n >= 1 && n <= EBM_MAX_THREADS)
        return (int)n;
    return available_processors();
}

ebm_status ebm_set_threads(int n)
{
    if (n < 0 || n > EBM_MAX_THREADS)
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "thread count is %d; expected 0 (all processors) "
                        "to %d",
                        n, EBM_MAX_THREADS);
    if (n == 0)
        n = available_processors();
    atomic_store(&ebm_threads_setting, n >= 1 ? n : 1);
    return EBM_OK;
}

int ebm_get_threads(void)
{
    return ebm_thread_count();
}

int ebm_thread_count(void)
{
    int n = atomic_load(&ebm_threads_setting);

    if (n == 0) {
        /* Threads that race here store the same value. */
        n = default_thread_count();
        atomic_store(&ebm_threads_setting, n);
    }
    return n;
}

const char *ebm_blas_info(void)
{
    static char info[128];
    static atomic_flag written = ATOMIC_FLAG_INIT;
    static atomic_bool ready;
    /* OpenBLAS's cblas.h defines OPENBLAS_VERSION as " OpenBLAS 0.3.21 ". */
    const char *version = OPENBLAS_VERSION;
    size_t length;

    /* The first caller writes the string once; later callers wait for
     * it. */
    if (!atomic_flag_test_and_set(&written)) {
        while (*version == ' ')
            version++;
        length = strlen(version);
        while (length > 0 && version[length - 1] == ' ')
            length--;
        snprintf(info, sizeof(info), "%.*s %s", (int)length, version,
                 openblas_get_corename());
        atomic_store(&ready, true);
    }
    while (!atomic_load(&ready))
        ;
    return info;
}

/* OpenBLAS must not start threads of its own inside ours: its threaded
 * sgemm also changes the last bits of some products with the thread count
 * (OpenBLAS 0.3.21 at 100 x 500 x 784; bench/openblas_bits.c measures
 * it). Checked at every product, in case the application changed it. */
void ebm_configure_blas(void)
{
    if (openblas_get_num_threads() != 1)
        openblas_set_num_threads(1);
}

struct ebm_gemm_plan ebm_gemm_plan(size_t m, size_t n, size_t k)
{
    struct ebm_gemm_plan plan;
    size_t extent, pieces = 1;

    /* Splitting the columns makes every piece repack A (m x k); splitting
     * the rows repacks B (k x n). Split the side that repacks less. */
    plan.split_rows = m >= n;
    extent = plan.split_rows ? m : n;
    if ((double)m * (double)n * (double)k >= EBM_GEMM_SPLIT_MIN_WORK) {
        /* A power of two, so that the pieces divide evenly among 1, 2, 4
         * or 8 threads. */
        while (pieces < EBM_GEMM_MAX_PIECES &&
               2 * pieces * EBM_GEMM_MIN_PIECE <= extent)
            pieces *= 2;
    }
    /* Piece edges at multiples of 16 suit the sgemm kernels. */
    plan.width = (extent + pieces - 1) / pieces;
    plan.width = (plan.width + 15) / 16 * 16;
    plan.pieces = (extent + plan.width - 1) / plan.width;
    return plan;
}

struct gemm_job {
    bool transpose_a, transpose_b;
    size_t m, n, k;
    float alpha, beta;
    const float *a, *b;
    float *c;
    size_t lda, ldb, ldc;
    ebm_block_fn epilogue;
    void *context;
    struct ebm_gemm_plan plan;
};

static void run_piece(const struct gemm_job *job, size_t piece);

static void run_piece_task(void *context, size_t piece)
{
    run_piece(context, piece);
}

static void run_piece(const struct gemm_job *job, size_t piece)
{
    size_t begin = piece * job->plan.width;
    size_t end = ebm_min_size(begin + job->plan.width,
                              job->plan.split_rows ? job->m : job->n);
    size_t row_begin = 0, row_end = job->m, col_begin = 0, col_end = job->n;
    const float *a = job->a, *b = job->b;

    if (job->plan.split_rows) {
        row_begin = begin;
        row_end = end;
        /* Rows of op(A): rows of A, or columns of A when transposed. */
        a += job->transpose_a ? begin : begin * job->lda;
    } else {
        col_begin = begin;
        col_end = end;
        b += job->transpose_b ? begin * job->ldb : begin;
    }

    if (job->k > 0) {
        cblas_sgemm(CblasRowMajor,
                    job->transpose_a ? CblasTrans : CblasNoTrans,
                    job->transpose_b ? CblasTrans : CblasNoTrans,
                    (int)(row_end - row_begin), (int)(col_end - col_begin),
                    (int)job->k, job->alpha, a, (int)job->lda, b,
                    (int)job->ldb, job->beta,
                    job->c + row_begin * job->ldc + col_begin,
                    (int)job->ldc);
    } else {
        /* An empty inner dimension (a model without hidden units): the
         * product is 0, and BLAS would reject the leading dimension 0. */
        for (size_t r = row_begin; r < row_end; r++)
            for (size_t col = col_begin; col < col_end; col++) {
                float *out = job->c + r * job->ldc + col;

                *out = job->beta == 0.0f ? 0.0f : job->beta * *out;
            }
    }
    if (job->epilogue != NULL)
        job->epilogue(job->context, row_begin, row_end, col_begin, col_end);
}

void ebm_gemm(bool transpose_a, bool transpose_b, size_t m, size_t n,
              size_t k, float alpha, const float *a, size_t lda,
              const float *b, size_t ldb, float beta, float *c, size_t ldc,
              ebm_block_fn epilogue, void *context)
{
    struct gemm_job job = {
        .transpose_a = transpose_a,
        .transpose_b = transpose_b,
        .m = m, .n = n, .k = k,
        .alpha = alpha, .beta = beta,
        .a = a, .b = b, .c = c,
        .lda = lda, .ldb = ldb, .ldc = ldc,
        .epilogue = epilogue,
        .context = context,
        .plan = ebm_gemm_plan(m, n, k),
    };
    int threads = ebm_thread_count();
    size_t pieces = job.plan.pieces;

    if (m == 0 || n == 0)
        return;
    ebm_configure_blas();
    ebm_pool_run(threads, (size_t)pieces, run_piece_task, &job);
}

struct range_job {
    size_t count, grain;
    ebm_range_fn body;
    void *context;
};

static void run_range_task(void *context, size_t chunk)
{
    const struct range_job *job = context;
    size_t begin = chunk * job->grain;

    job->body(job->context, begin, ebm_min_size(begin + job->grain,
                                                job->count));
}

void ebm_parallel_for(size_t count, size_t grain, ebm_range_fn body,
                      void *context)
{
    struct range_job job = {count, grain, body, context};

    ebm_pool_run(ebm_thread_count(), (count + grain - 1) / grain,
                 run_range_task, &job);
}

void ebm_gemm_serial(bool transpose_a, bool transpose_b, size_t m, size_t n,
                     size_t k, float alpha, const float *a, size_t lda,
                     const float *b, size_t ldb, float beta, float *c,
                     size_t ldc)
{
    ebm_configure_blas();
    if (m == 0 || n == 0)
        return;
    if (k == 0) {
        for (size_t r = 0; r < m; r++)
            for (size_t col = 0; col < n; col++)
                c[r * ldc + col] =
                    beta == 0.0f ? 0.0f : beta * c[r * ldc + col];
        return;
    }
    cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans,
                transpose_b ? CblasTrans : CblasNoTrans, (int)m, (int)n,
                (int)k, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}
