/* Shared declarations of the ebm-bench program. */
#ifndef EBM_BENCH_H
#define EBM_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ebm.h"

/* Sizes of one measurement: batch rows B, visible D, hidden K, Gibbs
 * steps k. */
struct bench_shape {
    size_t batch, visible, hidden;
    unsigned gibbs_steps;
};

/* One sgemm of a kernel, for the bound: row-major C = op(A) op(B) + beta C
 * with C m x n and inner size k, on scratch operands. */
struct bench_gemm {
    bool transpose_a, transpose_b;
    size_t m, n, k;
    float beta;
};

#define BENCH_MAX_GEMMS 256

/* Operands and objects that every kernel of one shape uses. */
struct bench_context {
    struct bench_shape shape;
    ebm_rbm *rbm;
    ebm_rbm_trainer *trainer;
    ebm_rng rng;
    float *visible;      /* B x D binary rows */
    float *hidden;       /* B x K binary rows */
    float *out_hidden;   /* B x K */
    float *out_hidden2;  /* B x K */
    float *out_visible;  /* B x D */
    float *out_visible2; /* B x D */
    float *stacked_visible; /* 2B x (D + 1) */
    float *stacked_hidden;  /* 2B x (K + 1) */
    float *gradient;        /* (D + 1) x (K + 1) */
    double *per_row;        /* B */
    /* Scratch for the bound: the largest operands of any kernel. */
    float *scratch_a, *scratch_b, *scratch_c;
    /* The naive references' own model and chains. */
    struct naive_model *naive;
    /* The bm_sweep kernel's dense BM (W, V, U) and its chains' states,
     * created by its prepare function. */
    ebm_bm *bm;
    float *bm_visible; /* B x D */
    float *bm_hidden;  /* B x K */
};

/* A kernel: the libebm call, the naive reference and the sgemm calls of
 * the same shapes. */
struct bench_kernel {
    const char *name;
    /* Prepare the context for this kernel (create the trainer). */
    int (*prepare)(struct bench_context *context);
    void (*run)(struct bench_context *context);
    /* The naive reference on the first `rows` rows. */
    void (*run_naive)(struct bench_context *context, size_t rows);
    /* Whether the naive reference's cost is proportional to its rows, so
     * that it may be timed on fewer rows and scaled. */
    bool naive_scales_with_rows;
    size_t (*gemms)(const struct bench_shape *shape,
                    struct bench_gemm out[BENCH_MAX_GEMMS]);
};

extern const struct bench_kernel bench_kernels[];
extern const size_t bench_kernel_count;

int bench_context_create(const struct bench_shape *shape,
                         struct bench_context *context);
void bench_context_destroy(struct bench_context *context);

/* Multiply-adds times two of the sgemm calls of a kernel. */
double bench_gemm_flops(const struct bench_gemm *gemms, size_t count);

/* The sgemm calls, whole with OpenBLAS's threads, or through libebm's
 * pieces. */
void bench_run_gemms_openblas(struct bench_context *context,
                              const struct bench_gemm *gemms, size_t count);
void bench_run_gemms_pieces(struct bench_context *context,
                            const struct bench_gemm *gemms, size_t count);

/* ------------------------------------------------------------------------ */
/* Naive references: plain loops, scalar libm, one Philox draw per sample. */

struct naive_model;

struct naive_model *naive_model_create(const ebm_rbm *rbm, size_t chains,
                                       uint64_t seed);
void naive_model_destroy(struct naive_model *model);

void naive_hidden(struct naive_model *model, const float *visible,
                  size_t rows, float *prob, float *sample);
void naive_visible(struct naive_model *model, const float *hidden,
                   size_t rows, float *prob, float *sample);
void naive_gradient(struct naive_model *model, const float *visible_pos,
                    const float *hidden_pos, const float *visible_neg,
                    const float *hidden_neg, size_t rows);
void naive_cd_step(struct naive_model *model, const float *batch,
                   size_t rows, unsigned gibbs_steps);
void naive_pcd_step(struct naive_model *model, const float *batch,
                    size_t rows, unsigned gibbs_steps);
void naive_free_energy(struct naive_model *model, const float *visible,
                       size_t rows, double *out);
void naive_pseudo_loglik(struct naive_model *model, const float *visible,
                         size_t rows, double *out);
void naive_ais(struct naive_model *model, size_t chains, size_t betas,
               double *log_weights);

/* Inverse temperatures of the ais kernel: one AIS run of this many steps
 * over B chains, so that a run's time divided by AIS_BENCH_BETAS - 1 is the
 * time of one temperature step. */
#define AIS_BENCH_BETAS 20

/* ------------------------------------------------------------------------ */
/* Timing */

double bench_seconds_now(void);

struct bench_summary {
    double median, min, max;
};

struct bench_summary bench_summarize(double *seconds, size_t count);

/* Whole-epoch benchmark (--epoch). */
struct bench_options;
int bench_run_epochs(const struct bench_options *options);

/* Command-line settings. */
struct bench_options {
    const char *kernels;  /* comma-separated names, or NULL for all */
    size_t batches[8], batch_count;
    size_t hiddens[8], hidden_count;
    size_t visible;
    int threads[8];
    size_t thread_count;
    unsigned gibbs_steps;
    unsigned rounds;
    bool rounds_given;
    unsigned naive_rounds;
    double naive_budget; /* seconds a naive run may take on all rows */
    size_t repeat; /* --repeat: call the kernels only, this many times */
    bool json;
    bool quick;
    bool epoch;
    const char *data[4]; /* IDX files for --epoch */
    size_t data_count;
};

#endif /* EBM_BENCH_H */
