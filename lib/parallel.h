/*
 * Threads and matrix products. Every product goes through ebm_gemm, which
 * splits the output into pieces whose shapes depend on the matrix sizes
 * only, computes each piece with a single-threaded OpenBLAS call, and runs
 * the pieces on libebm's threads. A piece computes to the same bits
 * whichever thread runs it, so results do not depend on the thread count.
 */
#ifndef EBM_PARALLEL_H
#define EBM_PARALLEL_H

#include <stdbool.h>
#include <stddef.h>

/* Number of threads libebm calls use (ebm_set_threads). */
int ebm_thread_count(void);

/* Work applied to one output block [row_begin, row_end) x
 * [col_begin, col_end) of a product, right after the piece that computed it,
 * while the block is in cache. */
typedef void (*ebm_block_fn)(void *context, size_t row_begin, size_t row_end,
                             size_t col_begin, size_t col_end);

/* Row-major C = alpha op(A) op(B) + beta C with C m x n and inner size k,
 * then epilogue (if not NULL) on every piece of C. With beta = 0, C is not
 * read. */
void ebm_gemm(bool transpose_a, bool transpose_b, size_t m, size_t n,
              size_t k, float alpha, const float *a, size_t lda,
              const float *b, size_t ldb, float beta, float *c, size_t ldc,
              ebm_block_fn epilogue, void *context);

/* As ebm_gemm without an epilogue, as one single-threaded sgemm on the
 * calling thread, for callers that already divide the work among threads
 * in pieces fixed independently of the thread count. */
void ebm_gemm_serial(bool transpose_a, bool transpose_b, size_t m, size_t n,
                     size_t k, float alpha, const float *a, size_t lda,
                     const float *b, size_t ldb, float beta, float *c,
                     size_t ldc);

/* Keeps OpenBLAS single-threaded (see parallel.c); call before using CBLAS
 * directly. */
void ebm_configure_blas(void);

/* Work on items [begin, end) of a range. */
typedef void (*ebm_range_fn)(void *context, size_t begin, size_t end);

/* Calls body on consecutive chunks of `grain` items covering [0, count),
 * in parallel. The chunks depend on count and grain only. */
void ebm_parallel_for(size_t count, size_t grain, ebm_range_fn body,
                      void *context);

/* Minimum width of a piece of a product (see ebm_gemm_plan). */
#define EBM_GEMM_MIN_PIECE 224

/* How ebm_gemm divides an m x n x k product: `pieces` slices of `width`
 * rows (split_rows) or columns, the last one possibly narrower. */
struct ebm_gemm_plan {
    bool split_rows;
    size_t pieces;
    size_t width;
};

struct ebm_gemm_plan ebm_gemm_plan(size_t m, size_t n, size_t k);

#endif /* EBM_PARALLEL_H */
