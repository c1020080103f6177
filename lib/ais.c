/*
 * Annealed importance sampling of log Z, forward from a base model without
 * hidden couplings and in reverse from data. See ebm_rbm_ais in ebm.h for
 * the intermediate models; this file follows that notation.
 *
 * Each step costs two products over all chains: z = b + vW, which gives
 * both the weight increment and the hidden sample, and the visible
 * pre-activation W h. The element-wise work runs per chain (row) on the
 * worker threads, and every per-chain sum is over the chain's own row in a
 * fixed order, so the result does not depend on the thread count.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ais_internal.h"
#include "kernel.h"
#include "parallel.h"
#include "rbm_internal.h"
#include "rng.h"
#include "vmath.h"

/* The default schedule of Salakhutdinov and Murray (ICML 2008): 500, 4,000
 * and 10,000 inverse temperatures evenly spaced over [0, 0.5), [0.5, 0.9)
 * and [0.9, 1]. */
#define DEFAULT_BETAS 14500
#define SEGMENT_1 500
#define SEGMENT_2 4000

ebm_status ebm_ais_config_init(ebm_ais_config *config)
{
    if (config == NULL)
        return ebm_fail(EBM_ERR_NULL, "config is NULL");
    *config = (ebm_ais_config){
        .chains = 100,
        .betas = DEFAULT_BETAS,
        .seed = 1,
    };
    return EBM_OK;
}

/* Fills beta[0 .. n) with the default schedule scaled to n values, or an
 * even spacing of [0, 1] when n is too small for three segments. */
void ebm_ais_default_schedule(double *beta, size_t n)
{
    size_t first = (size_t)llround((double)n * SEGMENT_1 / DEFAULT_BETAS);
    size_t second = (size_t)llround((double)n * SEGMENT_2 / DEFAULT_BETAS);
    size_t third = n - first - second;

    if (n < 100 || first == 0 || third < 2) {
        for (size_t j = 0; j < n; j++)
            beta[j] = (double)j / (double)(n - 1);
        return;
    }
    for (size_t j = 0; j < first; j++)
        beta[j] = 0.5 * (double)j / (double)first;
    for (size_t j = 0; j < second; j++)
        beta[first + j] = 0.5 + 0.4 * (double)j / (double)second;
    for (size_t j = 0; j < third; j++)
        beta[first + second + j] =
            0.9 + 0.1 * (double)j / (double)(third - 1);
}

/* ------------------------------------------------------------------------ */
/* Combining weights                                                        */
/* ------------------------------------------------------------------------ */

/* log mean exp(x) and the standard error of the mean of exp(x) relative to
 * it, both computed with weights scaled by exp(-max). */
static void log_mean_exp(const double *x, size_t n, double *log_mean,
                         double *relative_se)
{
    double max = -INFINITY, sum = 0.0, sum_sq = 0.0, mean, variance;

    for (size_t i = 0; i < n; i++)
        if (x[i] > max)
            max = x[i];
    for (size_t i = 0; i < n; i++) {
        double w = exp(x[i] - max);

        sum += w;
        sum_sq += w * w;
    }
    mean = sum / (double)n;
    /* Sample variance of the scaled weights, n - 1 in the denominator. */
    variance = n > 1 ? (sum_sq - (double)n * mean * mean) / (double)(n - 1)
                     : 0.0;
    if (variance < 0.0)
        variance = 0.0;
    *log_mean = max + log(mean);
    *relative_se = sqrt(variance / (double)n) / mean;
}

/* The estimate from log mean w and its relative standard error, with sign
 * +1 (forward: log Z = base + log mean w) or -1 (reverse: log Z = base -
 * log mean w). */
static void fill_result(double log_z_base, double log_mean,
                        double relative_se, int sign,
                        ebm_ais_result *result)
{
    double low = 1.0 - 3.0 * relative_se, high = 1.0 + 3.0 * relative_se;
    double log_low = low > 0.0 ? log(low) : -INFINITY;
    double log_high = log(high);

    result->log_z_base = log_z_base;
    result->std_error = relative_se;
    if (sign > 0) {
        result->log_z = log_z_base + log_mean;
        result->log_z_low = result->log_z + log_low;
        result->log_z_high = result->log_z + log_high;
    } else {
        result->log_z = log_z_base - log_mean;
        result->log_z_low = result->log_z - log_high;
        result->log_z_high = result->log_z - log_low;
    }
}

ebm_status ebm_ais_combine(const double *log_weights, size_t n,
                           double log_z_base, ebm_ais_result *result)
{
    double log_mean, relative_se;
    ebm_status status = ebm_check_pointer(log_weights, "log_weights");

    if (status == EBM_OK)
        status = ebm_check_pointer(result, "result");
    if (status != EBM_OK)
        return status;
    if (n == 0)
        return ebm_fail(EBM_ERR_SIZE, "no log weights (n = 0)");
    if (!isfinite(log_z_base))
        return ebm_fail(EBM_ERR_NONFINITE, "log_z_base is %g", log_z_base);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(log_weights[i]))
            return ebm_fail(EBM_ERR_NONFINITE, "log_weights[%zu] is %g", i,
                            log_weights[i]);
    log_mean_exp(log_weights, n, &log_mean, &relative_se);
    fill_result(log_z_base, log_mean, relative_se, 1, result);
    return EBM_OK;
}

/* ------------------------------------------------------------------------ */
/* The annealing run                                                        */
/* ------------------------------------------------------------------------ */

struct ais_run {
    const ebm_rbm *rbm;
    size_t chains;
    uint64_t seed;
    uint64_t stream;     /* next stream */
    double *beta;        /* the schedule */
    size_t betas;
    float *base_bias;    /* a_A, D */
    float *bias_change;  /* a - a_A, D */
    float *step_bias;    /* a + (1 - beta) / beta a_A, D, per transition */
    float *zeros;        /* K zeros */
    float *visible;      /* C x D states */
    float *hidden;       /* C x K samples */
    float *pre;          /* C x K: z = b + vW of the current states */
    float *visible_pre;  /* C x D */
    double *log_weights; /* C */
};

/* (beta2 - beta1) (a - a_A).v, the visible part of a weight increment. */
EBM_KERNEL
static double visible_increment(const float *v, const float *bias_change,
                                size_t d, float beta1, float beta2)
{
    double lanes[16] = {0}, visible = 0.0;
    size_t i = 0;

    for (; i + 16 <= d; i += 16)
        for (size_t l = 0; l < 16; l++)
            lanes[l] += (double)bias_change[i + l] * v[i + l];
    for (size_t l = 0; l < 16; l++)
        visible += lanes[l];
    for (; i < d; i++)
        visible += (double)bias_change[i] * v[i];
    return ((double)beta2 - (double)beta1) * visible;
}

/* The hidden part of a weight increment, sum_k softplus(beta2 z_k) -
 * softplus(beta1 z_k), for one block of 16 units, added to lanes. */
static inline void increment_block(const float *z, float beta1, float beta2,
                                   double lanes[16])
{
    for (size_t l = 0; l < 16; l++)
        lanes[l] += (double)(ebm_vsoftplus(beta2 * z[l]) -
                             ebm_vsoftplus(beta1 * z[l]));
}

/* As increment_block, and the hidden samples at beta2 from the same z:
 * sigmoid and softplus of beta2 z share exp(-|beta2 z|). */
static inline void increment_sample_block(const float *z, float beta1,
                                          float beta2, const uint32_t *words,
                                          float *sample, double lanes[16])
{
    for (size_t l = 0; l < 16; l++) {
        float x2 = beta2 * z[l];
        float magnitude2 = x2 < 0.0f ? -x2 : x2;
        float e2 = ebm_vexp(-magnitude2);
        float softplus2 = (x2 > 0.0f ? x2 : 0.0f) + ebm_vlog1p_unit(e2);
        float p = x2 < 0.0f ? e2 / (1.0f + e2) : 1.0f / (1.0f + e2);
        float u = ((float)(int32_t)(words[l] >> 9) + 0.5f) * 0x1p-23f;

        lanes[l] += (double)(softplus2 - ebm_vsoftplus(beta1 * z[l]));
        sample[l] = u < p ? 1.0f : 0.0f;
    }
}

/* The hidden part of the increment over a whole row of k units, the last
 * block padded with z = 0 (whose difference is exactly 0), with hidden
 * samples at beta2 into sample if words is not NULL. */
EBM_KERNEL
static double hidden_row(const float *z, size_t k, float beta1, float beta2,
                         const uint32_t *words, float *sample)
{
    double lanes[16] = {0}, sum = 0.0;
    float pad_z[16] = {0}, pad_sample[16];
    uint32_t pad_words[16] = {0};
    size_t j = 0;

    if (words != NULL) {
        for (; j + 16 <= k; j += 16)
            increment_sample_block(z + j, beta1, beta2, words + j,
                                   sample + j, lanes);
    } else {
        for (; j + 16 <= k; j += 16)
            increment_block(z + j, beta1, beta2, lanes);
    }
    if (j < k) {
        memcpy(pad_z, z + j, (k - j) * sizeof(float));
        if (words != NULL) {
            memcpy(pad_words, words + j, (k - j) * sizeof(uint32_t));
            increment_sample_block(pad_z, beta1, beta2, pad_words,
                                   pad_sample, lanes);
            memcpy(sample + j, pad_sample, (k - j) * sizeof(float));
        } else {
            increment_block(pad_z, beta1, beta2, lanes);
        }
    }
    for (size_t l = 0; l < 16; l++)
        sum += lanes[l];
    return sum;
}

/* z = b + vW for every chain. */
static void add_hidden_bias(void *context, size_t row_begin, size_t row_end,
                            size_t col_begin, size_t col_end)
{
    const struct ais_run *run = context;
    size_t k = run->rbm->n_hidden;

    for (size_t r = row_begin; r < row_end; r++)
        for (size_t j = col_begin; j < col_end; j++)
            run->pre[r * k + j] += run->rbm->hidden_bias[j];
}

static void compute_pre(struct ais_run *run)
{
    const ebm_rbm *rbm = run->rbm;
    size_t d = rbm->n_visible, k = rbm->n_hidden;

    ebm_gemm(false, false, run->chains, k, d, 1.0f, run->visible, d,
             rbm->weights, k, 0.0f, run->pre, k, add_hidden_bias, run);
}

/* The per-chain work of one step: the weight increment from beta1 to
 * beta2 with the current z and, if sample is set, hidden samples at beta2
 * from the same z. */
struct row_job {
    struct ais_run *run;
    float beta1, beta2;
    bool sample;
    uint64_t stream;
};

/* Hidden units per pass of the row work; the words live on the stack. */
#define ROW_CHUNK 512

static void step_rows(void *context, size_t begin, size_t end)
{
    const struct row_job *job = context;
    struct ais_run *run = job->run;
    size_t d = run->rbm->n_visible, k = run->rbm->n_hidden;
    uint32_t words[ROW_CHUNK];

    for (size_t c = begin; c < end; c++) {
        const float *z = run->pre + c * k;
        float *h = run->hidden + c * k;
        double increment = visible_increment(
            run->visible + c * d, run->bias_change, d, job->beta1,
            job->beta2);

        for (size_t j = 0; j < k; j += ROW_CHUNK) {
            size_t width = ebm_min_size(ROW_CHUNK, k - j);

            if (job->sample)
                ebm_rng_fill_words(run->seed, job->stream, c * k + j, width,
                                   words);
            increment += hidden_row(z + j, width, job->beta1, job->beta2,
                                    job->sample ? words : NULL, h + j);
        }
        run->log_weights[c] += increment;
    }
}

/* The weight increment from beta1 to beta2 for every chain, with hidden
 * samples at beta2 if `sample`, taking a stream for them. */
static void weights_and_hidden(struct ais_run *run, double beta1,
                               double beta2, bool sample)
{
    struct row_job job = {.run = run,
                          .beta1 = (float)beta1,
                          .beta2 = (float)beta2,
                          .sample = sample};

    if (sample)
        job.stream = run->stream++;
    ebm_parallel_for(run->chains, 4, step_rows, &job);
}

/* Visible samples at beta from the hidden samples: sigmoid(beta (W h + a)
 * + (1 - beta) a_A), computed as sigmoid((W h + step_bias) beta). */
struct visible_job {
    struct ais_run *run;
    float beta;
    uint64_t stream;
};

static void visible_block(void *context, size_t row_begin, size_t row_end,
                          size_t col_begin, size_t col_end)
{
    const struct visible_job *job = context;
    const struct ais_run *run = job->run;
    size_t d = run->rbm->n_visible;

    for (size_t r = row_begin; r < row_end; r++)
        ebm_sigmoid_sample_row(run->visible_pre + r * d + col_begin,
                               run->step_bias + col_begin,
                               col_end - col_begin, job->beta, 1.0f,
                               run->seed, job->stream, r * d + col_begin,
                               run->visible + r * d + col_begin);
}

/* The visible half of a Gibbs transition at beta (> 0): v from the hidden
 * samples in run->hidden. With weights_and_hidden's hidden samples at the
 * same beta, a transition that leaves p_beta invariant. */
static void visible_half(struct ais_run *run, double beta)
{
    const ebm_rbm *rbm = run->rbm;
    size_t d = rbm->n_visible, k = rbm->n_hidden;
    struct visible_job visible = {run, (float)beta, run->stream++};
    float base_share = (float)((1.0 - beta) / beta);

    for (size_t i = 0; i < d; i++)
        run->step_bias[i] =
            rbm->visible_bias[i] + base_share * run->base_bias[i];
    ebm_gemm(false, true, run->chains, d, k, 1.0f, run->hidden, k,
             rbm->weights, k, 0.0f, run->visible_pre, d, visible_block,
             &visible);
}

/* Calls the progress callback about a hundred times over a run; returns
 * nonzero if it asks to stop. */
static int report_progress(const ebm_ais_config *config, size_t done,
                           size_t total)
{
    size_t every = total / 100 > 0 ? total / 100 : 1;

    if (config->progress == NULL || (done % every != 0 && done != total))
        return 0;
    return config->progress((double)done / (double)total,
                            config->progress_data);
}

/* Forward AIS: from exact base samples, beta from 0 to 1. */
static ebm_status run_forward(struct ais_run *run,
                              const ebm_ais_config *config)
{
    size_t d = run->rbm->n_visible, n = run->betas;
    float *probability = run->visible_pre; /* sigmoid(a_A), one row */

    for (size_t i = 0; i < d; i++)
        probability[i] = ebm_sigmoid(run->base_bias[i]);
    for (size_t c = 0; c < run->chains; c++)
        ebm_rng_bernoulli(run->seed, run->stream, c * d, d, probability,
                          run->visible + c * d);
    run->stream++;

    for (size_t j = 1; j < n; j++) {
        bool last = j == n - 1;

        compute_pre(run);
        /* The increment from beta_j-1 to beta_j, then the transition at
         * beta_j, whose hidden half uses the same z. */
        weights_and_hidden(run, run->beta[j - 1], run->beta[j], !last);
        if (!last)
            visible_half(run, run->beta[j]);
        if (report_progress(config, j, n - 1) != 0)
            return ebm_fail(EBM_STOPPED, "AIS stopped by the progress "
                                         "callback");
    }
    return EBM_OK;
}

/* Reverse AIS: from the given states, beta from 1 to 0; the weights
 * estimate Z_A' / Z. */
static ebm_status run_reverse(struct ais_run *run,
                              const ebm_ais_config *config)
{
    size_t n = run->betas;

    /* The transition at beta = 1 from the data, then for each j from
     * n - 1 down to 1 the increment from beta_j to beta_j-1 and the
     * transition at beta_j-1 (none at beta_0 = 0), both from the z of the
     * states the previous transition left. */
    compute_pre(run);
    weights_and_hidden(run, 1.0, 1.0, true);
    visible_half(run, run->beta[n - 1]);
    for (size_t j = n - 1; j >= 1; j--) {
        bool last = j == 1;

        compute_pre(run);
        weights_and_hidden(run, run->beta[j], run->beta[j - 1], !last);
        if (!last)
            visible_half(run, run->beta[j - 1]);
        if (report_progress(config, n - j, n - 1) != 0)
            return ebm_fail(EBM_STOPPED, "AIS stopped by the progress "
                                         "callback");
    }
    return EBM_OK;
}

/* ------------------------------------------------------------------------ */
/* Setting up                                                               */
/* ------------------------------------------------------------------------ */

static ebm_status check_config(const ebm_rbm *rbm,
                               const ebm_ais_config *config,
                               const ebm_ais_result *result)
{
    ebm_status status = ebm_check_pointer(rbm, "rbm");

    if (status == EBM_OK)
        status = ebm_check_pointer(config, "config");
    if (status == EBM_OK)
        status = ebm_check_pointer(result, "result");
    if (status != EBM_OK)
        return status;
    return ebm_ais_check_settings(config, rbm->n_visible);
}

ebm_status ebm_ais_check_settings(const ebm_ais_config *config,
                                  size_t n_visible)
{
    ebm_status status = EBM_OK;

    if (config->chains == 0)
        return ebm_fail(EBM_ERR_ARGUMENT, "chains is 0; expected at least 1");
    if (config->betas < 2)
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "betas is %zu; expected at least 2", config->betas);
    if (config->base_data != NULL) {
        if (config->base_rows == 0)
            return ebm_fail(EBM_ERR_SIZE, "base_data has 0 rows");
        status = ebm_check_batch(config->base_data, config->base_rows,
                                 n_visible, "base_data");
    }
    if (status == EBM_OK && config->schedule != NULL) {
        const double *beta = config->schedule;

        for (size_t j = 0; j < config->betas; j++)
            if (!isfinite(beta[j]) || (j > 0 && !(beta[j] > beta[j - 1])))
                return ebm_fail(EBM_ERR_ARGUMENT,
                                "schedule[%zu] is %g; expected finite, "
                                "increasing inverse temperatures",
                                j, beta[j]);
        if (beta[0] != 0.0 || beta[config->betas - 1] != 1.0)
            return ebm_fail(EBM_ERR_ARGUMENT,
                            "schedule runs from %g to %g; expected 0 to 1",
                            beta[0], beta[config->betas - 1]);
    }
    return status;
}

static void free_run(struct ais_run *run)
{
    free(run->beta);
    ebm_free_floats(run->base_bias);
    ebm_free_floats(run->bias_change);
    ebm_free_floats(run->step_bias);
    ebm_free_floats(run->zeros);
    ebm_free_floats(run->visible);
    ebm_free_floats(run->hidden);
    ebm_free_floats(run->pre);
    ebm_free_floats(run->visible_pre);
    free(run->log_weights);
}

/* a_A from the column means of the base data (clipped as in
 * ebm_rbm_initialize), or 0. */
static void set_base_bias(struct ais_run *run, const ebm_ais_config *config)
{
    ebm_ais_base_bias(config, run->rbm->n_visible, run->base_bias);
}

void ebm_ais_base_bias(const ebm_ais_config *config, size_t d, float *out)
{
    for (size_t i = 0; i < d; i++)
        out[i] = 0.0f;
    if (config->base_data == NULL)
        return;
    for (size_t i = 0; i < d; i++) {
        double sum = 0.0, p;

        for (size_t r = 0; r < config->base_rows; r++)
            sum += config->base_data[r * d + i];
        p = sum / (double)config->base_rows;
        p = p < 0.001 ? 0.001 : (p > 0.999 ? 0.999 : p);
        out[i] = (float)log(p / (1.0 - p));
    }
}

static ebm_status start_run(const ebm_rbm *rbm, const ebm_ais_config *config,
                            struct ais_run *run)
{
    size_t d = rbm->n_visible, k = rbm->n_hidden, c = config->chains;
    size_t cd, ck;
    ebm_status status = ebm_mul_size(c, d, &cd, "chains x visible");

    if (status == EBM_OK)
        status = ebm_mul_size(c, k, &ck, "chains x hidden");
    if (status != EBM_OK)
        return status;
    *run = (struct ais_run){.rbm = rbm, .chains = c, .seed = config->seed,
                            .betas = config->betas};
    run->beta = malloc(config->betas * sizeof(*run->beta));
    run->base_bias = ebm_alloc_floats(d);
    run->bias_change = ebm_alloc_floats(d);
    run->step_bias = ebm_alloc_floats(d);
    run->zeros = ebm_alloc_floats(k);
    run->visible = ebm_alloc_floats(cd);
    run->hidden = ebm_alloc_floats(ck);
    run->pre = ebm_alloc_floats(ck);
    run->visible_pre = ebm_alloc_floats(cd);
    run->log_weights = calloc(c, sizeof(*run->log_weights));
    if (run->beta == NULL || run->base_bias == NULL ||
        run->bias_change == NULL || run->step_bias == NULL ||
        run->zeros == NULL || run->visible == NULL || run->hidden == NULL ||
        run->pre == NULL || run->visible_pre == NULL ||
        run->log_weights == NULL) {
        free_run(run);
        return ebm_fail(EBM_ERR_NOMEM,
                        "cannot allocate AIS buffers for %zu chains", c);
    }
    if (config->schedule != NULL)
        memcpy(run->beta, config->schedule,
               config->betas * sizeof(*run->beta));
    else
        ebm_ais_default_schedule(run->beta, config->betas);
    memset(run->zeros, 0, ebm_max_size(k, 1) * sizeof(float));
    set_base_bias(run, config);
    for (size_t i = 0; i < d; i++)
        run->bias_change[i] = rbm->visible_bias[i] - run->base_bias[i];
    return EBM_OK;
}

/* log Z of the model at beta = 0: sum_i softplus(a_A,i) + K log 2. */
static double base_log_z(const struct ais_run *run)
{
    double sum = (double)run->rbm->n_hidden * log(2.0);

    for (size_t i = 0; i < run->rbm->n_visible; i++) {
        double a = run->base_bias[i];

        sum += a > 0.0 ? a + log1p(exp(-a)) : log1p(exp(a));
    }
    return sum;
}

/* The estimate, the caller's copy of the weights, and the cleanup. */
static ebm_status finish_run(struct ais_run *run,
                             const ebm_ais_config *config, int sign,
                             ebm_ais_result *result)
{
    double log_mean, relative_se;

    log_mean_exp(run->log_weights, run->chains, &log_mean, &relative_se);
    fill_result(base_log_z(run), log_mean, relative_se, sign, result);
    if (config->log_weights != NULL)
        memcpy(config->log_weights, run->log_weights,
               run->chains * sizeof(double));
    free_run(run);
    return EBM_OK;
}

ebm_status ebm_rbm_ais(const ebm_rbm *rbm, const ebm_ais_config *config,
                       ebm_ais_result *result)
{
    struct ais_run run;
    ebm_status status = check_config(rbm, config, result);

    if (status == EBM_OK)
        status = start_run(rbm, config, &run);
    if (status != EBM_OK)
        return status;
    status = run_forward(&run, config);
    if (status != EBM_OK) {
        free_run(&run);
        return status;
    }
    return finish_run(&run, config, 1, result);
}

ebm_status ebm_rbm_ais_reverse(const ebm_rbm *rbm,
                               const ebm_ais_config *config,
                               const float *data, size_t rows,
                               ebm_ais_result *result)
{
    struct ais_run run;
    ebm_status status = check_config(rbm, config, result);
    size_t d;

    if (status == EBM_OK)
        status = ebm_check_batch(data, rows, rbm->n_visible, "data");
    if (status == EBM_OK)
        status = ebm_check_binary(data, rows, rbm->n_visible, "data");
    if (status == EBM_OK)
        status = start_run(rbm, config, &run);
    if (status != EBM_OK)
        return status;
    d = rbm->n_visible;
    for (size_t c = 0; c < run.chains; c++)
        memcpy(run.visible + c * d, data + (c % rows) * d,
               d * sizeof(float));
    status = run_reverse(&run, config);
    if (status != EBM_OK) {
        free_run(&run);
        return status;
    }
    return finish_run(&run, config, -1, result);
}
