/*
 * Sequential Gibbs sampling of general Boltzmann machines: the
 * one-unit-at-a-time reference, the blocked scheme whose fields come from
 * sgemm, and the colour-class scheme for sparse coupling graphs. All three
 * draw unit i of chain c with uniform c * (D + K) + i of the sweep's
 * stream, so they run the same Markov chain from the same random numbers.
 */
#include <stdlib.h>
#include <string.h>

#include "bm_internal.h"
#include "kernel.h"
#include "parallel.h"
#include "rbm_internal.h"
#include "rng.h"
#include "vmath.h"

/* Units per block of the BLOCKED scheme. */
#define GIBBS_BLOCK ((size_t)64)

/* Chains per task of the chain-parallel loops. */
#define CHAIN_GRAIN ((size_t)4)

/* Chains per task of the BLOCKED scheme, each task one sgemm per block. */
#define BLOCKED_GROUP ((size_t)50)

/* Largest number of colour classes per layer for which AUTO picks the
 * COLORED scheme. */
#define AUTO_MAX_COLORS 4

/*
 * The new value of a unit: 1 when u < sigmoid(field / T), decided as
 * logit(u) < field / T with logit(u) = log(u / (1 - u)) computed for all
 * uniforms of a sweep at once (see to_logits). Every scheme decides through
 * this one function, so equal fields give equal states.
 */
static inline float draw(float field, float inverse_temperature,
                         float logit_u)
{
    return logit_u < field * inverse_temperature ? 1.0f : 0.0f;
}

/* log(x) for a positive normal float: exponent times ln 2 plus log1p of
 * the mantissa minus 1, which lies in [0, 1). */
static inline float log_positive(float x)
{
    uint32_t bits = ebm_float_to_bits(x);
    float exponent = (float)((int32_t)(bits >> 23) - 127);
    float mantissa = ebm_bits_to_float((bits & 0x007fffffu) | 0x3f800000u);

    return exponent * 0.693147180559945309f +
           ebm_vlog1p_unit(mantissa - 1.0f);
}

/* u[i] = logit(u[i]) for i < count. The uniforms lie in [2^-24,
 * 1 - 2^-24] and 1 - u is exact, so both logarithms are of normal
 * floats. */
EBM_KERNEL
static void to_logits(float *u, size_t count)
{
    for (size_t i = 0; i < count; i++)
        u[i] = log_positive(u[i]) - log_positive(1.0f - u[i]);
}

void ebm_bm_fill_logits(uint64_t seed, uint64_t stream, uint64_t first,
                        size_t count, float *out)
{
    ebm_rng_fill_uniform(seed, stream, first, count, out);
    to_logits(out, count);
}

struct sweep {
    const ebm_bm *bm;
    float *visible;
    float *hidden;
    float inverse_temperature;
    const unsigned char *clamp;
    const float *logit; /* chains x (D + K): logits of the uniforms */
    /* SITE: the order of units. */
    const size_t *order;
    size_t order_length;
    /* BLOCKED and COLORED: the layer being updated, the first unit and
     * length of the block (BLOCKED), and the fields from the other layer or
     * from outside the block, `field_stride` floats per chain. */
    int layer;
    size_t block_begin;
    size_t block_length;
    const float *field;
    size_t field_stride;
    float *workspace; /* BLOCKED: chains x GIBBS_BLOCK fields */
};

/* Field of visible unit i of one chain, from scratch. */
static float visible_field(const ebm_bm *bm, size_t i, const float *v,
                           const float *h)
{
    size_t d = bm->n_visible, k = bm->n_hidden;
    float field = bm->visible_bias[i];

    if (bm->weights != NULL)
        for (size_t j = 0; j < k; j++)
            field += bm->weights[i * k + j] * h[j];
    if (bm->visible_couplings != NULL)
        for (size_t j = 0; j < d; j++)
            field += bm->visible_couplings[i * d + j] * v[j];
    return field;
}

/* Field of hidden unit j of one chain, from scratch. */
static float hidden_field(const ebm_bm *bm, size_t j, const float *v,
                          const float *h)
{
    size_t d = bm->n_visible, k = bm->n_hidden;
    float field = bm->hidden_bias[j];

    if (bm->weights != NULL)
        for (size_t i = 0; i < d; i++)
            field += bm->weights[i * k + j] * v[i];
    if (bm->hidden_couplings != NULL)
        for (size_t i = 0; i < k; i++)
            field += bm->hidden_couplings[j * k + i] * h[i];
    return field;
}

static void site_chains(void *context, size_t begin, size_t end)
{
    const struct sweep *s = context;
    const ebm_bm *bm = s->bm;
    size_t d = bm->n_visible, k = bm->n_hidden, n = d + k;

    for (size_t c = begin; c < end; c++) {
        float *v = s->visible + c * d;
        float *h = k > 0 ? s->hidden + c * k : NULL;
        const float *u = s->logit + c * n;

        for (size_t t = 0; t < s->order_length; t++) {
            size_t unit = s->order[t];

            if (unit < d) {
                if (s->clamp != NULL && s->clamp[unit])
                    continue;
                v[unit] = draw(visible_field(bm, unit, v, h),
                               s->inverse_temperature, u[unit]);
            } else {
                h[unit - d] = draw(hidden_field(bm, unit - d, v, h),
                                   s->inverse_temperature, u[unit]);
            }
        }
    }
}

void ebm_bm_sweep_site(const ebm_bm *bm, const size_t *order,
                       size_t order_length, float *visible, float *hidden,
                       size_t chains, float inverse_temperature,
                       const unsigned char *clamp, const float *logit)
{
    struct sweep s = {.bm = bm,
                      .visible = visible,
                      .hidden = hidden,
                      .inverse_temperature = inverse_temperature,
                      .clamp = clamp,
                      .logit = logit,
                      .order = order,
                      .order_length = order_length};

    ebm_parallel_for(chains, CHAIN_GRAIN, site_chains, &s);
}

/*
 * The field that the units of one layer receive from the other layer, for
 * every chain: H W' for the visible layer, X W for the hidden one, into
 * out (chains x layer size). Zero when the model has no W.
 */
static void cross_fields(const ebm_bm *bm, int layer, const float *visible,
                         const float *hidden, size_t chains, float *out)
{
    size_t d = bm->n_visible, k = bm->n_hidden;
    size_t n = layer == EBM_LAYER_VISIBLE ? d : k;

    if (bm->weights == NULL) {
        memset(out, 0, chains * n * sizeof(float));
        return;
    }
    if (layer == EBM_LAYER_VISIBLE)
        ebm_gemm(false, true, chains, d, k, 1.0f, hidden, k, bm->weights, k,
                 0.0f, out, d, NULL, NULL);
    else
        ebm_gemm(false, false, chains, k, d, 1.0f, visible, d, bm->weights,
                 k, 0.0f, out, k, NULL, NULL);
}

/*
 * BLOCKED: for units [p, p + L) of a layer, the fields from the values at
 * the block's start, for `rows` chains (one sgemm per coupling block):
 *
 *   visible: X V[:, p:p+L] + H W[p:p+L, :]'
 *   hidden:  X W[:, p:p+L] + H U[:, p:p+L]
 *
 * into out (rows x L). The diagonal of V and U is zero, so a unit's own
 * value does not enter its field.
 */
static void block_fields(const ebm_bm *bm, int layer, size_t p, size_t len,
                         const float *visible, const float *hidden,
                         size_t rows, float *out)
{
    size_t d = bm->n_visible, k = bm->n_hidden;
    float beta = 0.0f;

    if (layer == EBM_LAYER_VISIBLE) {
        if (bm->visible_couplings != NULL) {
            ebm_gemm_serial(false, false, rows, len, d, 1.0f, visible, d,
                            bm->visible_couplings + p, d, beta, out, len);
            beta = 1.0f;
        }
        if (bm->weights != NULL) {
            ebm_gemm_serial(false, true, rows, len, k, 1.0f, hidden, k,
                            bm->weights + p * k, k, beta, out, len);
            beta = 1.0f;
        }
    } else {
        if (bm->weights != NULL) {
            ebm_gemm_serial(false, false, rows, len, d, 1.0f, visible, d,
                            bm->weights + p, k, beta, out, len);
            beta = 1.0f;
        }
        if (bm->hidden_couplings != NULL) {
            ebm_gemm_serial(false, false, rows, len, k, 1.0f, hidden, k,
                            bm->hidden_couplings + p, k, beta, out, len);
            beta = 1.0f;
        }
    }
    if (beta == 0.0f)
        memset(out, 0, rows * len * sizeof(float));
}

/*
 * BLOCKED: the units of one block of one chain, in order. local[t] starts
 * as the bias plus the sgemm field of unit p + t. When a unit changes, its
 * within-block couplings times the change are added to the fields of the
 * units after it, so each field uses the current values of all others.
 */
static void block_chain(const struct sweep *s, const float *field,
                        size_t p, size_t len, float *state, const float *u)
{
    const ebm_bm *bm = s->bm;
    bool visible_layer = s->layer == EBM_LAYER_VISIBLE;
    size_t n = visible_layer ? bm->n_visible : bm->n_hidden;
    const float *bias = visible_layer ? bm->visible_bias : bm->hidden_bias;
    const float *lateral = ebm_bm_lateral(bm, s->layer);
    float local[GIBBS_BLOCK];

    for (size_t t = 0; t < len; t++)
        local[t] = bias[p + t] + field[t];
    for (size_t t = 0; t < len; t++) {
        size_t i = p + t;
        float old = state[i], value;

        if (visible_layer && s->clamp != NULL && s->clamp[i])
            continue;
        value = draw(local[t], s->inverse_temperature, u[i]);
        if (value == old)
            continue;
        state[i] = value;
        if (lateral != NULL) {
            const float *row = lateral + i * n + p;
            float change = value - old;

            for (size_t r = t + 1; r < len; r++)
                local[r] += row[r] * change;
        }
    }
}

/* BLOCKED: a whole sweep of chains [begin, end), which form one group of
 * fixed size, so that the sgemm shapes do not depend on the thread count. */
static void blocked_group(void *context, size_t begin, size_t end)
{
    const struct sweep *s0 = context;
    struct sweep s = *s0;
    const ebm_bm *bm = s.bm;
    size_t d = bm->n_visible, k = bm->n_hidden, n_all = d + k;
    size_t rows = end - begin;

    for (int layer = 0; layer < 2; layer++) {
        size_t n = layer == EBM_LAYER_VISIBLE ? d : k;
        size_t offset = layer == EBM_LAYER_VISIBLE ? 0 : d;

        s.layer = layer;
        for (size_t p = 0; p < n; p += GIBBS_BLOCK) {
            size_t len = ebm_min_size(GIBBS_BLOCK, n - p);
            /* Each group owns rows [begin, end) of GIBBS_BLOCK floats,
             * whatever block the other groups are at. */
            float *field = s0->workspace + begin * GIBBS_BLOCK;

            block_fields(bm, layer, p, len, s.visible + begin * d,
                         k > 0 ? s.hidden + begin * k : NULL, rows, field);
            for (size_t c = begin; c < end; c++) {
                float *state = layer == EBM_LAYER_VISIBLE
                                   ? s.visible + c * d
                                   : s.hidden + c * k;

                block_chain(&s, field + (c - begin) * len, p, len, state,
                            s.logit + c * n_all + offset);
            }
        }
    }
}

static void sweep_blocked(struct sweep *s, size_t chains, float *field)
{
    s->workspace = field;
    ebm_parallel_for(chains, BLOCKED_GROUP, blocked_group, s);
}

/* COLORED: the units of one layer, colour class by colour class, for
 * chains [begin, end); the field from the other layer is s->field, the
 * lateral part a sum over the mask's neighbours (or the whole row of an
 * unmasked V or U, whose classes are single units). */
static void colored_chains(void *context, size_t begin, size_t end)
{
    const struct sweep *s = context;
    const ebm_bm *bm = s->bm;
    const struct ebm_bm_graph *graph = &bm->graph[s->layer];
    size_t d = bm->n_visible, k = bm->n_hidden, n_all = d + k;
    bool visible_layer = s->layer == EBM_LAYER_VISIBLE;
    size_t n = visible_layer ? d : k, offset = visible_layer ? 0 : d;
    const float *bias = visible_layer ? bm->visible_bias : bm->hidden_bias;
    const float *lateral = ebm_bm_lateral(bm, s->layer);

    for (size_t c = begin; c < end; c++) {
        float *state = visible_layer ? s->visible + c * d
                                     : s->hidden + c * k;
        const float *u = s->logit + c * n_all + offset;
        const float *field = s->field + c * s->field_stride;

        for (size_t t = 0; t < n; t++) {
            size_t i = graph->order[t];
            float f = bias[i] + field[i];

            if (visible_layer && s->clamp != NULL && s->clamp[i])
                continue;
            if (lateral != NULL && graph->adj != NULL) {
                for (size_t e = graph->adj_start[i];
                     e < graph->adj_start[i + 1]; e++)
                    f += lateral[i * n + graph->adj[e]] *
                         state[graph->adj[e]];
            } else if (lateral != NULL) {
                for (size_t j = 0; j < n; j++)
                    f += lateral[i * n + j] * state[j];
            }
            state[i] = draw(f, s->inverse_temperature, u[i]);
        }
    }
}

static void sweep_colored(struct sweep *s, size_t chains, float *field)
{
    const ebm_bm *bm = s->bm;

    for (int layer = 0; layer < 2; layer++) {
        size_t n = layer == EBM_LAYER_VISIBLE ? bm->n_visible
                                              : bm->n_hidden;

        if (n == 0)
            continue;
        cross_fields(bm, layer, s->visible, s->hidden, chains, field);
        s->layer = layer;
        s->field = field;
        s->field_stride = n;
        ebm_parallel_for(chains, CHAIN_GRAIN, colored_chains, s);
    }
}

struct uniform_fill {
    uint64_t seed;
    uint64_t stream;
    float *out;
};

static void fill_uniforms(void *context, size_t begin, size_t end)
{
    const struct uniform_fill *f = context;

    ebm_bm_fill_logits(f->seed, f->stream, begin, end - begin,
                       f->out + begin);
}

static ebm_status check_gibbs_args(const ebm_bm *bm, const float *visible,
                                   const float *hidden, size_t chains,
                                   unsigned sweeps, float temperature,
                                   ebm_bm_sampler sampler, const ebm_rng *rng)
{
    size_t count;
    ebm_status status = ebm_check_pointer(bm, "bm");

    if (status == EBM_OK)
        status = ebm_check_pointer(rng, "rng");
    if (status == EBM_OK)
        status = ebm_check_batch(visible, chains, bm->n_visible, "visible");
    if (status == EBM_OK)
        status = ebm_check_binary(visible, chains, bm->n_visible, "visible");
    if (status == EBM_OK && bm->n_hidden > 0) {
        status = ebm_check_batch(hidden, chains, bm->n_hidden, "hidden");
        if (status == EBM_OK)
            status =
                ebm_check_binary(hidden, chains, bm->n_hidden, "hidden");
    }
    if (status != EBM_OK)
        return status;
    if (sweeps == 0)
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "sweeps is 0; expected at least 1");
    if (sampler < EBM_SAMPLER_AUTO || sampler > EBM_SAMPLER_COLORED)
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "sampler is %d; expected an ebm_bm_sampler value",
                        (int)sampler);
    status = ebm_check_positive(temperature, "temperature");
    if (status == EBM_OK)
        status = ebm_mul_size(chains, bm->n_visible + bm->n_hidden, &count,
                              "chains x units");
    if (status == EBM_OK && bm->n_hidden > 0)
        status = ebm_check_disjoint(
            visible, chains * bm->n_visible * sizeof(float), "visible",
            hidden, chains * bm->n_hidden * sizeof(float), "hidden");
    return status;
}

ebm_status ebm_bm_gibbs_buffers_alloc(const ebm_bm *bm, size_t chains,
                                      struct ebm_bm_gibbs_buffers *buffers)
{
    size_t d = bm->n_visible, k = bm->n_hidden, n = d + k;

    buffers->logit = ebm_alloc_floats(chains * n);
    buffers->field = ebm_alloc_floats(
        chains * ebm_max_size(ebm_max_size(d, k), GIBBS_BLOCK));
    buffers->order = malloc(n * sizeof(*buffers->order));
    if (buffers->logit == NULL || buffers->field == NULL ||
        buffers->order == NULL) {
        ebm_bm_gibbs_buffers_free(buffers);
        return ebm_fail(EBM_ERR_NOMEM,
                        "cannot allocate Gibbs buffers for %zu chains of "
                        "%zu units",
                        chains, n);
    }
    for (size_t i = 0; i < n; i++)
        buffers->order[i] = i;
    return EBM_OK;
}

void ebm_bm_gibbs_buffers_free(struct ebm_bm_gibbs_buffers *buffers)
{
    ebm_free_floats(buffers->logit);
    ebm_free_floats(buffers->field);
    free(buffers->order);
    *buffers = (struct ebm_bm_gibbs_buffers){0};
}

void ebm_bm_gibbs_run(const ebm_bm *bm, float *visible, float *hidden,
                      size_t chains, unsigned sweeps, float temperature,
                      const unsigned char *clamp, ebm_bm_sampler sampler,
                      ebm_rng *rng, const struct ebm_bm_gibbs_buffers *buffers)
{
    size_t n = bm->n_visible + bm->n_hidden;
    struct sweep s;
    struct uniform_fill fill;

    if (sampler == EBM_SAMPLER_AUTO)
        sampler = bm->graph[0].n_colors <= AUTO_MAX_COLORS &&
                          bm->graph[1].n_colors <= AUTO_MAX_COLORS
                      ? EBM_SAMPLER_COLORED
                      : EBM_SAMPLER_BLOCKED;
    s = (struct sweep){.bm = bm,
                       .visible = visible,
                       .hidden = hidden,
                       .inverse_temperature = 1.0f / temperature,
                       .clamp = clamp,
                       .logit = buffers->logit,
                       .order = buffers->order,
                       .order_length = n};
    fill = (struct uniform_fill){.seed = rng->seed, .out = buffers->logit};
    for (unsigned sweep = 0; sweep < sweeps; sweep++) {
        fill.stream = rng->stream + sweep;
        ebm_parallel_for(chains * n, 16384, fill_uniforms, &fill);
        if (sampler == EBM_SAMPLER_SITE)
            ebm_parallel_for(chains, CHAIN_GRAIN, site_chains, &s);
        else if (sampler == EBM_SAMPLER_BLOCKED)
            sweep_blocked(&s, chains, buffers->field);
        else
            sweep_colored(&s, chains, buffers->field);
    }
    rng->stream += sweeps;
}

ebm_status ebm_bm_gibbs(const ebm_bm *bm, float *visible, float *hidden,
                        size_t chains, unsigned sweeps, float temperature,
                        const unsigned char *clamp, ebm_bm_sampler sampler,
                        ebm_rng *rng)
{
    struct ebm_bm_gibbs_buffers buffers;
    ebm_status status = check_gibbs_args(bm, visible, hidden, chains,
                                         sweeps, temperature, sampler, rng);

    if (status == EBM_OK)
        status = ebm_bm_gibbs_buffers_alloc(bm, chains, &buffers);
    if (status != EBM_OK)
        return status;
    ebm_bm_gibbs_run(bm, visible, hidden, chains, sweeps, temperature, clamp,
                     sampler, rng, &buffers);
    ebm_bm_gibbs_buffers_free(&buffers);
    return EBM_OK;
}
