/*
 * The kernels that ebm-bench measures: for each, the libebm call, the naive
 * reference and the list of sgemm calls whose bare time is the bound.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "parallel.h"

static float *random_binary(size_t count, uint64_t seed)
{
    float *x = malloc(count * sizeof(*x));

    if (x != NULL)
        for (size_t i = 0; i < count; i++)
            x[i] = ebm_rng_uniform(seed, 0, i) < 0.5f ? 1.0f : 0.0f;
    return x;
}

static int check(ebm_status status, const char *what)
{
    if (status == EBM_OK)
        return 0;
    fprintf(stderr, "ebm-bench: %s failed: %s: %s\n", what,
            ebm_status_name(status), ebm_last_error());
    return -1;
}

int bench_context_create(const struct bench_shape *shape,
                         struct bench_context *context)
{
    size_t b = shape->batch, d = shape->visible, k = shape->hidden;
    size_t scratch = (d + 1) * (k + 1);

    memset(context, 0, sizeof(*context));
    context->shape = *shape;
    if (2 * b * (d + 1) > scratch)
        scratch = 2 * b * (d + 1);
    if (2 * b * (k + 1) > scratch)
        scratch = 2 * b * (k + 1);
    context->visible = random_binary(b * d, 11);
    context->hidden = random_binary(b * k, 12);
    context->stacked_visible = random_binary(2 * b * (d + 1), 13);
    context->stacked_hidden = random_binary(2 * b * (k + 1), 14);
    context->out_hidden = random_binary(b * k, 18);
    context->out_hidden2 = random_binary(b * k, 19);
    context->out_visible = random_binary(b * d, 20);
    context->out_visible2 = random_binary(b * d, 21);
    context->gradient = random_binary((d + 1) * (k + 1), 22);
    context->per_row = malloc(b * sizeof(double));
    context->scratch_a = random_binary(scratch, 15);
    context->scratch_b = random_binary(scratch, 16);
    context->scratch_c = random_binary(scratch, 17);
    if (context->visible == NULL || context->hidden == NULL ||
        context->stacked_visible == NULL || context->stacked_hidden == NULL ||
        context->out_hidden == NULL || context->out_hidden2 == NULL ||
        context->out_visible == NULL || context->out_visible2 == NULL ||
        context->gradient == NULL || context->per_row == NULL ||
        context->scratch_a == NULL || context->scratch_b == NULL ||
        context->scratch_c == NULL) {
        fprintf(stderr, "ebm-bench: out of memory\n");
        return -1;
    }
    if (check(ebm_rbm_create(d, k, &context->rbm), "ebm_rbm_create") ||
        check(ebm_rbm_initialize(context->rbm, context->visible, b, 0.01f,
                                 1),
              "ebm_rbm_initialize"))
        return -1;
    ebm_rng_init(&context->rng, 7);
    context->naive = naive_model_create(context->rbm, b, 3);
    if (context->naive == NULL) {
        fprintf(stderr, "ebm-bench: out of memory\n");
        return -1;
    }
    return 0;
}

void bench_context_destroy(struct bench_context *context)
{
    ebm_rbm_trainer_destroy(context->trainer);
    ebm_rbm_destroy(context->rbm);
    naive_model_destroy(context->naive);
    ebm_bm_destroy(context->bm);
    free(context->bm_visible);
    free(context->bm_hidden);
    free(context->visible);
    free(context->hidden);
    free(context->stacked_visible);
    free(context->stacked_hidden);
    free(context->out_hidden);
    free(context->out_hidden2);
    free(context->out_visible);
    free(context->out_visible2);
    free(context->gradient);
    free(context->per_row);
    free(context->scratch_a);
    free(context->scratch_b);
    free(context->scratch_c);
    memset(context, 0, sizeof(*context));
}

double bench_gemm_flops(const struct bench_gemm *gemms, size_t count)
{
    double flops = 0.0;

    for (size_t i = 0; i < count; i++)
        flops += 2.0 * (double)gemms[i].m * (double)gemms[i].n *
                 (double)gemms[i].k;
    return flops;
}

/* Leading dimensions of op(A) (m x k) and op(B) (k x n), row-major. */
static size_t lda_of(const struct bench_gemm *g)
{
    return g->transpose_a ? g->m : g->k;
}

static size_t ldb_of(const struct bench_gemm *g)
{
    return g->transpose_b ? g->k : g->n;
}

void bench_run_gemms_openblas(struct bench_context *context,
                              const struct bench_gemm *gemms, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const struct bench_gemm *g = &gemms[i];

        cblas_sgemm(CblasRowMajor,
                    g->transpose_a ? CblasTrans : CblasNoTrans,
                    g->transpose_b ? CblasTrans : CblasNoTrans, (int)g->m,
                    (int)g->n, (int)g->k, 1.0f, context->scratch_a,
                    (int)lda_of(g), context->scratch_b, (int)ldb_of(g),
                    g->beta, context->scratch_c, (int)g->n);
    }
}

void bench_run_gemms_pieces(struct bench_context *context,
                            const struct bench_gemm *gemms, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const struct bench_gemm *g = &gemms[i];

        ebm_gemm(g->transpose_a, g->transpose_b, g->m, g->n, g->k, 1.0f,
                 context->scratch_a, lda_of(g), context->scratch_b,
                 ldb_of(g), g->beta, context->scratch_c, g->n, NULL, NULL);
    }
}

/* ------------------------------------------------------------------------ */
/* The sgemm calls of each kernel                                           */
/* ------------------------------------------------------------------------ */

static struct bench_gemm gemm_up(const struct bench_shape *s)
{
    return (struct bench_gemm){false, false, s->batch, s->hidden,
                               s->visible, 0.0f};
}

static struct bench_gemm gemm_down(const struct bench_shape *s)
{
    return (struct bench_gemm){false, true, s->batch, s->visible, s->hidden,
                               0.0f};
}

static struct bench_gemm gemm_outer(const struct bench_shape *s, float beta)
{
    return (struct bench_gemm){true, false, s->visible, s->hidden, s->batch,
                               beta};
}

static size_t gemms_up(const struct bench_shape *s,
                       struct bench_gemm out[BENCH_MAX_GEMMS])
{
    out[0] = gemm_up(s);
    return 1;
}

static size_t gemms_down(const struct bench_shape *s,
                         struct bench_gemm out[BENCH_MAX_GEMMS])
{
    out[0] = gemm_down(s);
    return 1;
}

/* X'H+ and then V'H- added to it: the two products of the gradient. */
static size_t gemms_gradient(const struct bench_shape *s,
                             struct bench_gemm out[BENCH_MAX_GEMMS])
{
    out[0] = gemm_outer(s, 0.0f);
    out[1] = gemm_outer(s, 1.0f);
    return 2;
}

/* CD-k and PCD-k: up, then k times down and up, then the gradient. */
static size_t gemms_step(const struct bench_shape *s,
                         struct bench_gemm out[BENCH_MAX_GEMMS])
{
    size_t count = 0;

    out[count++] = gemm_up(s);
    for (unsigned step = 0;
         step < s->gibbs_steps && count + 4 <= BENCH_MAX_GEMMS; step++) {
        out[count++] = gemm_down(s);
        out[count++] = gemm_up(s);
    }
    out[count++] = gemm_outer(s, 0.0f);
    out[count++] = gemm_outer(s, 1.0f);
    return count;
}

/* ------------------------------------------------------------------------ */
/* The kernels                                                              */
/* ------------------------------------------------------------------------ */

static int prepare_nothing(struct bench_context *context)
{
    (void)context;
    return 0;
}

static int prepare_trainer(struct bench_context *context, ebm_method method)
{
    ebm_train_config config;

    ebm_rbm_trainer_destroy(context->trainer);
    context->trainer = NULL;
    ebm_train_config_init(&config);
    config.method = method;
    config.batch_size = context->shape.batch;
    config.gibbs_steps = context->shape.gibbs_steps;
    return check(ebm_rbm_trainer_create(context->rbm, &config,
                                        &context->trainer),
                 "ebm_rbm_trainer_create");
}

static int prepare_cd(struct bench_context *context)
{
    return prepare_trainer(context, EBM_CD);
}

static int prepare_pcd(struct bench_context *context)
{
    return prepare_trainer(context, EBM_PCD);
}

static void run_hidden(struct bench_context *c)
{
    ebm_rbm_hidden_given_visible(c->rbm, c->visible, c->shape.batch, 1.0f,
                                 c->out_hidden, c->out_hidden2, &c->rng);
}

static void naive_run_hidden(struct bench_context *c, size_t rows)
{
    naive_hidden(c->naive, c->visible, rows, c->out_hidden, c->out_hidden2);
}

static void run_visible(struct bench_context *c)
{
    ebm_rbm_visible_given_hidden(c->rbm, c->hidden, c->shape.batch, 1.0f,
                                 c->out_visible, c->out_visible2, &c->rng);
}

static void naive_run_visible(struct bench_context *c, size_t rows)
{
    naive_visible(c->naive, c->hidden, rows, c->out_visible,
                  c->out_visible2);
}

/* libebm's gradient product: one sgemm over the stacked positive and
 * negative statistics, as the trainer computes it. */
static void run_gradient(struct bench_context *c)
{
    size_t b = c->shape.batch, d = c->shape.visible, k = c->shape.hidden;

    ebm_gemm(true, false, d + 1, k + 1, 2 * b, 1.0f, c->stacked_visible,
             d + 1, c->stacked_hidden, k + 1, 0.0f, c->gradient, k + 1, NULL,
             NULL);
}

static void naive_run_gradient(struct bench_context *c, size_t rows)
{
    naive_gradient(c->naive, c->visible, c->out_hidden, c->visible,
                   c->hidden, rows);
}

static void run_step(struct bench_context *c)
{
    ebm_rbm_trainer_step(c->trainer, c->rbm, c->visible, c->shape.batch);
}

static void naive_run_cd(struct bench_context *c, size_t rows)
{
    naive_cd_step(c->naive, c->visible, rows, c->shape.gibbs_steps);
}

static void naive_run_pcd(struct bench_context *c, size_t rows)
{
    naive_pcd_step(c->naive, c->visible, rows, c->shape.gibbs_steps);
}

static void run_free_energy(struct bench_context *c)
{
    ebm_rbm_free_energy(c->rbm, c->visible, c->shape.batch, 1.0f,
                        c->per_row);
}

static void naive_run_free_energy(struct bench_context *c, size_t rows)
{
    naive_free_energy(c->naive, c->visible, rows, c->per_row);
}

static void run_pll(struct bench_context *c)
{
    ebm_rbm_pseudo_loglik(c->rbm, c->visible, c->shape.batch, c->per_row,
                          NULL);
}

static void naive_run_pll(struct bench_context *c, size_t rows)
{
    naive_pseudo_loglik(c->naive, c->visible, rows, c->per_row);
}

/* One AIS run with a uniform base over B chains: per step after the first
 * the product z = b + vW, and per transition (all steps but the last) the
 * product W h. */
static size_t gemms_ais(const struct bench_shape *s,
                        struct bench_gemm out[BENCH_MAX_GEMMS])
{
    size_t count = 0;

    for (size_t j = 1; j < AIS_BENCH_BETAS; j++) {
        out[count++] = gemm_up(s);
        if (j < AIS_BENCH_BETAS - 1)
            out[count++] = gemm_down(s);
    }
    return count;
}

static void run_ais(struct bench_context *c)
{
    ebm_ais_config config;
    ebm_ais_result result;

    ebm_ais_config_init(&config);
    config.chains = c->shape.batch;
    config.betas = AIS_BENCH_BETAS;
    ebm_rbm_ais(c->rbm, &config, &result);
}

static void naive_run_ais(struct bench_context *c, size_t rows)
{
    naive_ais(c->naive, rows, AIS_BENCH_BETAS, c->per_row);
}

/* Units per block and chains per group of the BLOCKED Gibbs scheme
 * (lib/bm_gibbs.c), for the list of its products. */
#define BM_BLOCK 64

/* A dense BM of the shape's D and K with W, V and U, small random
 * couplings (|x| <= 0.05), and B chains of fair random bits. */
static int prepare_bm(struct bench_context *c)
{
    size_t d = c->shape.visible, k = c->shape.hidden, b = c->shape.batch;
    size_t largest = d * d > d * k ? d * d : d * k;
    float *values;
    int failed;

    if (c->bm != NULL)
        return 0;
    largest = largest > k * k ? largest : k * k;
    values = malloc(largest * sizeof(*values));
    c->bm_visible = random_binary(b * d, 31);
    c->bm_hidden = random_binary(b * k, 32);
    if (values == NULL || c->bm_visible == NULL || c->bm_hidden == NULL) {
        free(values);
        fprintf(stderr, "ebm-bench: out of memory\n");
        return -1;
    }
    failed = check(ebm_bm_create(d, k,
                                 EBM_BM_VISIBLE_HIDDEN |
                                     EBM_BM_VISIBLE_VISIBLE |
                                     EBM_BM_HIDDEN_HIDDEN,
                                 &c->bm),
                   "ebm_bm_create");
    for (size_t i = 0; !failed && i < d * k; i++)
        values[i] = 0.1f * (ebm_rng_uniform(33, 0, i) - 0.5f);
    failed = failed || check(ebm_bm_set_weights(c->bm, values), "W");
    for (size_t layer = 0; layer < 2 && !failed; layer++) {
        size_t n = layer == 0 ? d : k;

        for (size_t i = 0; i < n; i++) {
            values[i * n + i] = 0.0f;
            for (size_t j = i + 1; j < n; j++)
                values[i * n + j] = values[j * n + i] =
                    0.1f * (ebm_rng_uniform(34 + layer, 0, i * n + j) -
                            0.5f);
        }
        failed = layer == 0
                     ? check(ebm_bm_set_visible_couplings(c->bm, values), "V")
                     : check(ebm_bm_set_hidden_couplings(c->bm, values), "U");
    }
    free(values);
    return failed ? -1 : 0;
}

/* One sweep of every unit of B chains by the blocked scheme. */
static void run_bm_sweep(struct bench_context *c)
{
    ebm_bm_gibbs(c->bm, c->bm_visible, c->bm_hidden, c->shape.batch, 1,
                 1.0f, NULL, EBM_SAMPLER_BLOCKED, &c->rng);
}

/* The reference: the one-unit-at-a-time sweep (SITE), on `rows` chains. */
static void naive_run_bm_sweep(struct bench_context *c, size_t rows)
{
    ebm_bm_gibbs(c->bm, c->bm_visible, c->bm_hidden, rows, 1, 1.0f, NULL,
                 EBM_SAMPLER_SITE, &c->rng);
}

/* The blocked scheme's products over all B chains: per block of 64
 * visible units X V[:, block] and H W[block, :]', per block of hidden
 * units X W[:, block] and H U[:, block]. libebm runs each in groups of 50
 * chains, which the bound does not split. */
static size_t gemms_bm_sweep(const struct bench_shape *s,
                             struct bench_gemm out[BENCH_MAX_GEMMS])
{
    size_t count = 0;

    for (size_t layer = 0; layer < 2; layer++) {
        size_t n = layer == 0 ? s->visible : s->hidden;

        for (size_t p = 0; p < n && count + 2 <= BENCH_MAX_GEMMS;
             p += BM_BLOCK) {
            size_t len = n - p < BM_BLOCK ? n - p : BM_BLOCK;

            out[count++] = (struct bench_gemm){false, false, s->batch, len,
                                               s->visible, 0.0f};
            out[count++] = (struct bench_gemm){false, layer == 0, s->batch,
                                               len, s->hidden, 1.0f};
        }
    }
    return count;
}

const struct bench_kernel bench_kernels[] = {
    {"hidden", prepare_nothing, run_hidden, naive_run_hidden, true,
     gemms_up},
    {"visible", prepare_nothing, run_visible, naive_run_visible, true,
     gemms_down},
    {"gradient", prepare_nothing, run_gradient, naive_run_gradient, false,
     gemms_gradient},
    {"cd", prepare_cd, run_step, naive_run_cd, false, gemms_step},
    {"pcd", prepare_pcd, run_step, naive_run_pcd, false, gemms_step},
    {"free_energy", prepare_nothing, run_free_energy, naive_run_free_energy,
     true, gemms_up},
    {"pll", prepare_nothing, run_pll, naive_run_pll, true, gemms_up},
    {"ais", prepare_nothing, run_ais, naive_run_ais, true, gemms_ais},
    {"bm_sweep", prepare_bm, run_bm_sweep, naive_run_bm_sweep, true,
     gemms_bm_sweep},
};

const size_t bench_kernel_count =
    sizeof(bench_kernels) / sizeof(bench_kernels[0]);
