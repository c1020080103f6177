/* Conditionals, energies and monitoring measures of the RBM. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "parallel.h"
#include "rbm_internal.h"
#include "rng.h"
#include "vmath.h"

/* ------------------------------------------------------------------------ */
/* Fused layer: sgemm, then bias, sigmoid and sampling on each piece        */
/* ------------------------------------------------------------------------ */

/* The kernels below work on blocks of 16 elements, the width of an
 * AVX-512 register, and run a partial last block through a padded copy:
 * otherwise the compiler finishes each row with scalar iterations, which
 * for rows of a few hundred elements cost a quarter of the time. */
#define BLOCK 16

/* out = scale sigmoid((in + bias) * inverse_temperature) for one block. */
static inline void sigmoid_block(float *out, const float *in,
                                 const float *bias, float inverse_temperature,
                                 float scale)
{
    for (size_t l = 0; l < BLOCK; l++)
        out[l] = scale * ebm_vsigmoid((in[l] + bias[l]) * inverse_temperature);
}

/* row = scale sigmoid((row + bias) / T), dividing by T as a multiplication
 * by 1 / T, which is exact for T = 1 and for powers of two. */
EBM_KERNEL
static void sigmoid_row(float *row, const float *bias, size_t count,
                        float inverse_temperature, float scale)
{
    float in[BLOCK] = {0}, pad_bias[BLOCK] = {0}, out[BLOCK];
    size_t c = 0, tail;

    for (; c + BLOCK <= count; c += BLOCK)
        sigmoid_block(row + c, row + c, bias + c, inverse_temperature,
                      scale);
    tail = count - c;
    if (tail > 0) {
        memcpy(in, row + c, tail * sizeof(float));
        memcpy(pad_bias, bias + c, tail * sizeof(float));
        sigmoid_block(out, in, pad_bias, inverse_temperature, scale);
        memcpy(row + c, out, tail * sizeof(float));
    }
}

/* A plain function around the kernel: GCC exports the dispatcher of a
 * target_clones function whatever its visibility, so only static
 * functions are cloned. */
void ebm_sigmoid_row(float *row, const float *bias, size_t count,
                     float inverse_temperature, float scale)
{
    sigmoid_row(row, bias, count, inverse_temperature, scale);
}

/* One block of sigmoid_compare_row, into separate outputs. */
static inline void sigmoid_compare_block(float *prob, float *sample,
                                         const float *in, const float *bias,
                                         float inverse_temperature,
                                         float scale, const uint32_t *words)
{
    for (size_t l = 0; l < BLOCK; l++) {
        float p = ebm_vsigmoid((in[l] + bias[l]) * inverse_temperature);
        float u = ((float)(int32_t)(words[l] >> 9) + 0.5f) * 0x1p-23f;

        prob[l] = scale * p;
        sample[l] = u < p ? 1.0f : 0.0f;
    }
}

/* As ebm_sigmoid_row, and sample[c] = (u_c < p) with u_c made from words[c]
 * as ebm_rng_uniform defines it; p is compared before it is scaled. sample
 * may equal row, and then the samples are what remains. */
EBM_KERNEL
static void sigmoid_compare_row(float *row, const float *bias, size_t count,
                                float inverse_temperature, float scale,
                                const uint32_t *words, float *sample)
{
    float in[BLOCK] = {0}, pad_bias[BLOCK] = {0};
    float prob[BLOCK], drawn[BLOCK];
    uint32_t pad_words[BLOCK] = {0};
    size_t c = 0, tail;

    for (; c + BLOCK <= count; c += BLOCK) {
        sigmoid_compare_block(prob, drawn, row + c, bias + c,
                              inverse_temperature, scale, words + c);
        memcpy(row + c, prob, sizeof(prob));
        memcpy(sample + c, drawn, sizeof(drawn));
    }
    tail = count - c;
    if (tail > 0) {
        memcpy(in, row + c, tail * sizeof(float));
        memcpy(pad_bias, bias + c, tail * sizeof(float));
        memcpy(pad_words, words + c, tail * sizeof(uint32_t));
        sigmoid_compare_block(prob, drawn, in, pad_bias,
                              inverse_temperature, scale, pad_words);
        memcpy(row + c, prob, tail * sizeof(float));
        memcpy(sample + c, drawn, tail * sizeof(float));
    }
}

/* Elements per pass of the sampling kernel; the words live on the stack. */
#define SAMPLE_CHUNK 512

void ebm_sigmoid_sample_row(float *row, const float *bias, size_t count,
                            float inverse_temperature, float scale,
                            uint64_t seed, uint64_t stream,
                            uint64_t first_index, float *sample)
{
    uint32_t words[SAMPLE_CHUNK];

    for (size_t c = 0; c < count; c += SAMPLE_CHUNK) {
        size_t width = ebm_min_size(SAMPLE_CHUNK, count - c);

        ebm_rng_fill_words(seed, stream, first_index + c, width, words);
        sigmoid_compare_row(row + c, bias + c, width, inverse_temperature,
                            scale, words, sample + c);
    }
}

static void layer_block(void *context, size_t row_begin, size_t row_end,
                        size_t col_begin, size_t col_end)
{
    const struct ebm_layer_args *args = context;
    const ebm_rbm *rbm = args->rbm;
    size_t n_out = args->to_visible ? rbm->n_visible : rbm->n_hidden;
    const float *bias =
        (args->to_visible ? rbm->visible_bias : rbm->hidden_bias) +
        col_begin;
    size_t width = col_end - col_begin;
    float inverse = 1.0f / args->temperature;

    for (size_t r = row_begin; r < row_end; r++) {
        float *prob = args->prob + r * args->prob_stride + col_begin;

        if (args->sample == NULL)
            ebm_sigmoid_row(prob, bias, width, inverse, args->prob_scale);
        else
            ebm_sigmoid_sample_row(
                prob, bias, width, inverse, args->prob_scale, args->seed,
                args->stream,
                (uint64_t)(args->first_row + r) * n_out + col_begin,
                args->sample + r * args->sample_stride + col_begin);
    }
}

void ebm_rbm_layer(const struct ebm_layer_args *args)
{
    const ebm_rbm *rbm = args->rbm;
    size_t d = rbm->n_visible, k = rbm->n_hidden;

    if (args->to_visible)
        ebm_gemm(false, true, args->rows, d, k, 1.0f, args->input,
                 args->input_stride, rbm->weights, k, 0.0f, args->prob,
                 args->prob_stride, layer_block, (void *)args);
    else
        ebm_gemm(false, false, args->rows, k, d, 1.0f, args->input,
                 args->input_stride, rbm->weights, k, 0.0f, args->prob,
                 args->prob_stride, layer_block, (void *)args);
}

struct ebm_layer_args ebm_layer_packed(const ebm_rbm *rbm, bool to_visible,
                                       const float *input, size_t rows,
                                       float *prob)
{
    size_t n_in = to_visible ? rbm->n_hidden : rbm->n_visible;
    size_t n_out = to_visible ? rbm->n_visible : rbm->n_hidden;

    return (struct ebm_layer_args){
        .rbm = rbm,
        .to_visible = to_visible,
        .input = input,
        .input_stride = n_in,
        .rows = rows,
        .temperature = 1.0f,
        .prob = prob,
        .prob_stride = n_out,
        .prob_scale = 1.0f,
        .sample_stride = n_out,
    };
}

/* ------------------------------------------------------------------------ */
/* Public conditionals                                                      */
/* ------------------------------------------------------------------------ */

/* The input, prob and sample (if any) must not share memory. */
static ebm_status check_buffers(const float *input, size_t input_count,
                                const float *prob, const float *sample,
                                size_t output_count)
{
    size_t in_bytes = input_count * sizeof(float);
    size_t out_bytes = output_count * sizeof(float);
    ebm_status status =
        ebm_check_disjoint(input, in_bytes, "input", prob, out_bytes, "prob");

    if (status == EBM_OK && sample != NULL)
        status = ebm_check_disjoint(input, in_bytes, "input", sample,
                                    out_bytes, "sample");
    if (status == EBM_OK && sample != NULL)
        status = ebm_check_disjoint(prob, out_bytes, "prob", sample,
                                    out_bytes, "sample");
    return status;
}

static ebm_status conditional(const ebm_rbm *rbm, bool to_visible,
                              const float *input, size_t rows,
                              float temperature, float *prob, float *sample,
                              ebm_rng *rng)
{
    struct ebm_layer_args args;
    size_t n_in, n_out, count;
    ebm_status status = ebm_check_pointer(rbm, "rbm");

    if (status != EBM_OK)
        return status;
    n_in = to_visible ? rbm->n_hidden : rbm->n_visible;
    n_out = to_visible ? rbm->n_visible : rbm->n_hidden;
    status = ebm_check_pointer(prob, "prob");
    if (status == EBM_OK && sample != NULL)
        status = ebm_check_pointer(rng, "rng (required when sampling)");
    if (status == EBM_OK)
        status = ebm_check_positive(temperature, "temperature");
    if (status == EBM_OK)
        status = ebm_mul_size(rows, n_out, &count, "output");
    if (status == EBM_OK)
        status = ebm_check_batch(input, rows, n_in,
                                 to_visible ? "hidden" : "visible");
    if (status == EBM_OK)
        status = check_buffers(input, rows * n_in, prob, sample, count);
    if (status != EBM_OK)
        return status;

    args = ebm_layer_packed(rbm, to_visible, input, rows, prob);
    args.temperature = temperature;
    args.seed = sample != NULL ? rng->seed : 0;
    args.stream = sample != NULL ? rng->stream : 0;
    for (size_t begin = 0; begin < rows; begin += EBM_ROW_CHUNK) {
        args.first_row = begin;
        args.rows = ebm_min_size(EBM_ROW_CHUNK, rows - begin);
        args.input = input + begin * n_in;
        args.prob = prob + begin * n_out;
        args.sample = sample != NULL ? sample + begin * n_out : NULL;
        ebm_rbm_layer(&args);
    }
    if (sample != NULL)
        rng->stream++;
    return EBM_OK;
}

ebm_status ebm_rbm_hidden_given_visible(const ebm_rbm *rbm,
                                        const float *visible, size_t rows,
                                        float temperature, float *prob,
                                        float *sample, ebm_rng *rng)
{
    return conditional(rbm, false, visible, rows, temperature, prob, sample,
                       rng);
}

ebm_status ebm_rbm_visible_given_hidden(const ebm_rbm *rbm,
                                        const float *hidden, size_t rows,
                                        float temperature, float *prob,
                                        float *sample, ebm_rng *rng)
{
    return conditional(rbm, true, hidden, rows, temperature, prob, sample,
                       rng);
}

/* ------------------------------------------------------------------------ */
/* Row-wise measures, computed in chunks of EBM_ROW_CHUNK rows              */
/* ------------------------------------------------------------------------ */

struct bias_job {
    float *pre;
    const float *bias;
    size_t cols;
};

static void add_bias_rows(void *context, size_t begin, size_t end)
{
    const struct bias_job *job = context;

    for (size_t r = begin; r < end; r++)
        for (size_t j = 0; j < job->cols; j++)
            job->pre[r * job->cols + j] += job->bias[j];
}

/* pre[r, k] = b_k + visible[r] . W[:, k] for the rows of one chunk. */
static void hidden_preactivation(const ebm_rbm *rbm, const float *visible,
                                 size_t rows, float *pre)
{
    size_t k = rbm->n_hidden;
    struct bias_job job = {pre, rbm->hidden_bias, k};

    ebm_gemm(false, false, rows, k, rbm->n_visible, 1.0f, visible,
             rbm->n_visible, rbm->weights, k, 0.0f, pre, k, NULL, NULL);
    ebm_parallel_for(rows, 16, add_bias_rows, &job);
}

/* x.y in double, as 16 partial sums so that the loop vectorises without
 * reordering any sum within a lane. */
EBM_KERNEL
static double dot_float(const float *x, const float *y, size_t n)
{
    double lanes[16] = {0};
    double sum = 0.0;
    size_t i = 0;

    for (; i + 16 <= n; i += 16)
        for (size_t l = 0; l < 16; l++)
            lanes[l] += (double)x[i + l] * (double)y[i + l];
    for (size_t l = 0; l < 16; l++)
        sum += lanes[l];
    for (; i < n; i++)
        sum += (double)x[i] * (double)y[i];
    return sum;
}

/* Common checks of the row-wise measures. */
static ebm_status check_rows(const ebm_rbm *rbm, const float *visible,
                             size_t rows, const void *output,
                             const char *output_name)
{
    ebm_status status = ebm_check_pointer(rbm, "rbm");

    if (status == EBM_OK && output_name != NULL)
        status = ebm_check_pointer(output, output_name);
    if (status == EBM_OK)
        status = ebm_check_batch(visible, rows, rbm->n_visible, "visible");
    return status;
}

ebm_status ebm_rbm_energy(const ebm_rbm *rbm, const float *visible,
                          const float *hidden, size_t rows, double *energy)
{
    size_t d, k;
    float *pre;
    ebm_status status = check_rows(rbm, visible, rows, energy, "energy");

    if (status == EBM_OK)
        status = ebm_check_batch(hidden, rows, rbm->n_hidden, "hidden");
    if (status != EBM_OK)
        return status;
    d = rbm->n_visible;
    k = rbm->n_hidden;
    pre = ebm_alloc_floats(ebm_min_size(rows, EBM_ROW_CHUNK) * k);
    if (pre == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "cannot allocate energy workspace");

    for (size_t begin = 0; begin < rows; begin += EBM_ROW_CHUNK) {
        size_t n = ebm_min_size(EBM_ROW_CHUNK, rows - begin);

        /* pre = vW + b, so that -E = a.v + h.(vW + b). */
        hidden_preactivation(rbm, visible + begin * d, n, pre);
        for (size_t r = 0; r < n; r++) {
            const float *v = visible + (begin + r) * d;
            const float *h = hidden + (begin + r) * k;

            energy[begin + r] = -dot_float(rbm->visible_bias, v, d) -
                                dot_float(pre + r * k, h, k);
        }
    }
    ebm_free_floats(pre);
    return EBM_OK;
}

/* Sum of softplus(pre[j] / T) over j: 16 partial sums in double, so that
 * the loop vectorises without reordering any sum. */
EBM_KERNEL
static double softplus_sum(const float *pre, size_t count, float temperature)
{
    double lanes[BLOCK] = {0};
    float tail[BLOCK];
    double sum = 0.0;
    float inverse = 1.0f / temperature;
    size_t j = 0;

    for (; j + BLOCK <= count; j += BLOCK)
        for (size_t l = 0; l < BLOCK; l++)
            lanes[l] += ebm_vsoftplus(pre[j + l] * inverse);
    /* The partial last block, padded with -inf, whose softplus is 0. */
    if (j < count) {
        for (size_t l = 0; l < BLOCK; l++)
            tail[l] = j + l < count ? pre[j + l] : -INFINITY;
        for (size_t l = 0; l < BLOCK; l++)
            lanes[l] += ebm_vsoftplus(tail[l] * inverse);
    }
    for (size_t l = 0; l < BLOCK; l++)
        sum += lanes[l];
    return sum;
}

struct free_energy_job {
    const ebm_rbm *rbm;
    const float *visible; /* first row of the chunk */
    const float *pre;     /* b + vW for the rows of the chunk */
    float temperature;
    double *out;
};

static void free_energy_rows(void *context, size_t begin, size_t end)
{
    const struct free_energy_job *job = context;
    size_t d = job->rbm->n_visible, k = job->rbm->n_hidden;

    for (size_t r = begin; r < end; r++)
        job->out[r] =
            -dot_float(job->rbm->visible_bias, job->visible + r * d, d) -
            (double)job->temperature *
                softplus_sum(job->pre + r * k, k, job->temperature);
}

ebm_status ebm_rbm_free_energy(const ebm_rbm *rbm, const float *visible,
                               size_t rows, float temperature,
                               double *free_energy)
{
    size_t d, k;
    float *pre;
    ebm_status status =
        check_rows(rbm, visible, rows, free_energy, "free_energy");

    if (status == EBM_OK)
        status = ebm_check_positive(temperature, "temperature");
    if (status != EBM_OK)
        return status;
    d = rbm->n_visible;
    k = rbm->n_hidden;
    pre = ebm_alloc_floats(ebm_min_size(rows, EBM_ROW_CHUNK) * k);
    if (pre == NULL)
        return ebm_fail(EBM_ERR_NOMEM,
                        "cannot allocate free-energy workspace");

    for (size_t begin = 0; begin < rows; begin += EBM_ROW_CHUNK) {
        size_t n = ebm_min_size(EBM_ROW_CHUNK, rows - begin);
        struct free_energy_job job = {rbm, visible + begin * d, pre,
                                      temperature, free_energy + begin};

        hidden_preactivation(rbm, job.visible, n, pre);
        ebm_parallel_for(n, 8, free_energy_rows, &job);
    }
    ebm_free_floats(pre);
    return EBM_OK;
}

/* Per-row sums of squared differences, each in double and in order. */
struct squared_error_job {
    const float *visible;
    const float *recon;
    size_t cols;
    double *out;
};

static void squared_error_rows(void *context, size_t begin, size_t end)
{
    const struct squared_error_job *job = context;

    for (size_t r = begin; r < end; r++) {
        double sum = 0.0;

        for (size_t i = 0; i < job->cols; i++) {
            double diff = (double)job->visible[r * job->cols + i] -
                          job->recon[r * job->cols + i];

            sum += diff * diff;
        }
        job->out[r] = sum;
    }
}

ebm_status ebm_rbm_reconstruction_error(const ebm_rbm *rbm,
                                        const float *visible, size_t rows,
                                        double *mean_error)
{
    size_t d, k, chunk;
    float *hidden, *recon;
    double *errors, total = 0.0;
    ebm_status status =
        check_rows(rbm, visible, rows, mean_error, "mean_error");

    if (status != EBM_OK)
        return status;
    d = rbm->n_visible;
    k = rbm->n_hidden;
    chunk = ebm_min_size(rows, EBM_ROW_CHUNK);
    hidden = ebm_alloc_floats(chunk * k);
    recon = ebm_alloc_floats(chunk * d);
    errors = malloc(chunk * sizeof(*errors));
    if (hidden == NULL || recon == NULL || errors == NULL) {
        ebm_free_floats(hidden);
        ebm_free_floats(recon);
        free(errors);
        return ebm_fail(EBM_ERR_NOMEM,
                        "cannot allocate reconstruction workspace");
    }

    for (size_t begin = 0; begin < rows; begin += EBM_ROW_CHUNK) {
        size_t n = ebm_min_size(EBM_ROW_CHUNK, rows - begin);
        struct ebm_layer_args up =
            ebm_layer_packed(rbm, false, visible + begin * d, n, hidden);
        struct ebm_layer_args down =
            ebm_layer_packed(rbm, true, hidden, n, recon);

        struct squared_error_job job = {visible + begin * d, recon, d,
                                        errors};

        ebm_rbm_layer(&up);
        ebm_rbm_layer(&down);
        ebm_parallel_for(n, 16, squared_error_rows, &job);
        for (size_t r = 0; r < n; r++)
            total += errors[r];
    }
    ebm_free_floats(hidden);
    ebm_free_floats(recon);
    free(errors);
    *mean_error = total / (double)rows;
    return EBM_OK;
}

/* ------------------------------------------------------------------------ */
/* Exact pseudo-log-likelihood                                              */
/* ------------------------------------------------------------------------ */

/* softplus(pre[j]) for every j of a row. */
EBM_KERNEL
static void softplus_row(const float *pre, size_t count, float *out)
{
    float in[BLOCK] = {0}, tail[BLOCK];
    size_t j = 0;

    for (; j + BLOCK <= count; j += BLOCK)
        for (size_t l = 0; l < BLOCK; l++)
            out[j + l] = ebm_vsoftplus(pre[j + l]);
    if (j < count) {
        memcpy(in, pre + j, (count - j) * sizeof(float));
        for (size_t l = 0; l < BLOCK; l++)
            tail[l] = ebm_vsoftplus(in[l]);
        memcpy(out + j, tail, (count - j) * sizeof(float));
    }
}

/*
 * sum_j (softplus(pre[j] + sign w[j]) - base[j]) with base[j] =
 * softplus(pre[j]). Each difference is at most |w[j]| (softplus is
 * 1-Lipschitz), so summing differences, not the two large sums, keeps the
 * float partial sums small and accurate. 16 lanes, so that the loop
 * vectorises without reordering any sum within a lane.
 */
EBM_KERNEL
static double flip_change(const float *pre, const float *base,
                          const float *w, float sign, size_t count)
{
    float lanes[BLOCK] = {0};
    float pad_pre[BLOCK] = {0}, pad_base[BLOCK], pad_w[BLOCK] = {0};
    double sum = 0.0;
    size_t j = 0;

    for (; j + BLOCK <= count; j += BLOCK)
        for (size_t l = 0; l < BLOCK; l++)
            lanes[l] +=
                ebm_vsoftplus(pre[j + l] + sign * w[j + l]) - base[j + l];
    /* The partial last block, padded with pre = w = 0 and base =
     * softplus(0), whose differences are exactly 0. */
    if (j < count) {
        size_t tail = count - j;

        memcpy(pad_pre, pre + j, tail * sizeof(float));
        memcpy(pad_w, w + j, tail * sizeof(float));
        for (size_t l = 0; l < BLOCK; l++)
            pad_base[l] = l < tail ? base[j + l] : ebm_vsoftplus(0.0f);
        for (size_t l = 0; l < BLOCK; l++)
            lanes[l] += ebm_vsoftplus(pad_pre[l] + sign * pad_w[l]) -
                        pad_base[l];
    }
    for (size_t l = 0; l < BLOCK; l++)
        sum += lanes[l];
    return sum;
}

struct pll_job {
    const ebm_rbm *rbm;
    const float *visible; /* first row of the chunk */
    const float *pre;     /* b + vW for the rows of the chunk */
    float *base;          /* softplus(pre), same shape */
    double *out;          /* one value per row of the chunk */
};

/*
 * Flipping unit i (s = 1 - 2 v_i) changes the free energy by
 * F(v^(i)) - F(v) = -s a_i - sum_k (softplus(pre_k + s W_ik) -
 * softplus(pre_k)), and log P(v_i | v_-i) is log sigmoid of that change.
 */
static void pll_rows(void *context, size_t begin, size_t end)
{
    const struct pll_job *job = context;
    const ebm_rbm *rbm = job->rbm;
    size_t d = rbm->n_visible, k = rbm->n_hidden;

    for (size_t r = begin; r < end; r++) {
        const float *v = job->visible + r * d;
        const float *pre = job->pre + r * k;
        float *base = job->base + r * k;
        double total = 0.0;

        softplus_row(pre, k, base);
        for (size_t i = 0; i < d; i++) {
            float sign = 1.0f - 2.0f * v[i];
            double change =
                flip_change(pre, base, rbm->weights + i * k, sign, k);
            double delta = -(double)sign * rbm->visible_bias[i] - change;

            /* log sigmoid(delta) = -softplus(-delta), in double. */
            total -= delta < 0.0 ? -delta + log1p(exp(delta))
                                 : log1p(exp(-delta));
        }
        job->out[r] = total;
    }
}

ebm_status ebm_rbm_pseudo_loglik(const ebm_rbm *rbm, const float *visible,
                                 size_t rows, double *per_row, double *mean)
{
    size_t d, k, chunk;
    float *pre;
    double *values, total = 0.0;
    ebm_status status = check_rows(rbm, visible, rows, NULL, NULL);

    if (status == EBM_OK)
        status = ebm_check_binary(visible, rows, rbm->n_visible, "visible");
    if (status != EBM_OK)
        return status;
    d = rbm->n_visible;
    k = rbm->n_hidden;
    chunk = ebm_min_size(rows, EBM_ROW_CHUNK);
    pre = ebm_alloc_floats(2 * chunk * k);
    values = malloc(chunk * sizeof(*values));
    if (pre == NULL || values == NULL) {
        ebm_free_floats(pre);
        free(values);
        return ebm_fail(EBM_ERR_NOMEM,
                        "cannot allocate pseudo-likelihood workspace");
    }

    for (size_t begin = 0; begin < rows; begin += EBM_ROW_CHUNK) {
        size_t n = ebm_min_size(EBM_ROW_CHUNK, rows - begin);
        struct pll_job job = {rbm, visible + begin * d, pre, pre + chunk * k,
                              values};

        hidden_preactivation(rbm, job.visible, n, pre);
        ebm_parallel_for(n, 4, pll_rows, &job);
        for (size_t r = 0; r < n; r++) {
            total += values[r];
            if (per_row != NULL)
                per_row[begin + r] = values[r];
        }
    }
    ebm_free_floats(pre);
    free(values);
    if (mean != NULL)
        *mean = total / (double)rows;
    return EBM_OK;
}
