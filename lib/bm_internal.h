/* The general Boltzmann machine struct, shared by bm.c, bm_gibbs.c and
 * bm_exact.c. */
#ifndef EBM_BM_INTERNAL_H
#define EBM_BM_INTERNAL_H

#include "core.h"

/* The two layers, as indices of the per-layer arrays below. */
enum { EBM_LAYER_VISIBLE = 0, EBM_LAYER_HIDDEN = 1 };

/*
 * The coupling graph of one layer with itself, used by the COLORED sampler.
 * It has a greedy colouring (unit i takes the smallest colour that no
 * coupled unit of lower index has) and the units listed colour by colour.
 * When the layer has a mask, it also lists the neighbours of each unit.
 */
struct ebm_bm_graph {
    size_t n_colors;
    size_t *class_start; /* n_colors + 1 offsets into order */
    size_t *order;       /* the units, colour class by colour class */
    unsigned char *mask; /* n x n, or NULL: every pair coupled (or none) */
    size_t *adj_start;   /* n + 1 offsets into adj, NULL without a mask */
    size_t *adj;         /* neighbours of unit i at adj_start[i] .. */
};

struct ebm_bm {
    size_t n_visible; /* D */
    size_t n_hidden;  /* K */
    unsigned couplings;
    /* One allocation: a (D), b (K), then W, V, U for those present. */
    float *params;
    float *visible_bias;
    float *hidden_bias;
    float *weights;           /* D x K or NULL */
    float *visible_couplings; /* D x D or NULL */
    float *hidden_couplings;  /* K x K or NULL */
    struct ebm_bm_graph graph[2];
};

/* Number of floats in params. */
size_t ebm_bm_param_count(const ebm_bm *bm);

/* The lateral couplings of a layer (V or U), NULL if absent. */
static inline const float *ebm_bm_lateral(const ebm_bm *bm, int layer)
{
    return layer == EBM_LAYER_VISIBLE ? bm->visible_couplings
                                      : bm->hidden_couplings;
}

/* Fails with EBM_ERR_DOMAIN unless couplings (n x n) is symmetric, zero on
 * the diagonal and zero wherever mask (if not NULL) is zero. */
ebm_status ebm_bm_check_lateral(const float *couplings, size_t n,
                                const unsigned char *mask, const char *name);

/* out[i] = logit(u) = log(u / (1 - u)) of the uniform u of (seed, stream,
 * first + i), for i < count: what the samplers compare fields with. */
void ebm_bm_fill_logits(uint64_t seed, uint64_t stream, uint64_t first,
                        size_t count, float *out);

/*
 * One sweep of the one-unit-at-a-time sampler over the units of `order`
 * (indices into the joint state: visible i is i, hidden j is D + j), for
 * chains [0, chains): unit i of chain c becomes 1 when logit[c * (D + K) +
 * i] < field / T, else 0, unless it is a clamped visible unit. The
 * reference for every other scheme, and the SITE sampler with the natural
 * order. For tests through ebm_internal.
 */
void ebm_bm_sweep_site(const ebm_bm *bm, const size_t *order,
                       size_t order_length, float *visible, float *hidden,
                       size_t chains, float inverse_temperature,
                       const unsigned char *clamp, const float *logit);

/* Workspace of a Gibbs run: the logits of one sweep's uniforms (chains x
 * (D + K)), the fields of a block or layer, and the site order. */
struct ebm_bm_gibbs_buffers {
    float *logit;
    float *field;
    size_t *order;
};

/* Allocates the workspace for up to `chains` chains of bm's shape. */
ebm_status ebm_bm_gibbs_buffers_alloc(const ebm_bm *bm, size_t chains,
                                      struct ebm_bm_gibbs_buffers *buffers);
void ebm_bm_gibbs_buffers_free(struct ebm_bm_gibbs_buffers *buffers);

/* ebm_bm_gibbs on checked arguments with a workspace allocated once, so
 * that trainers and AIS run without allocating in their loops. */
void ebm_bm_gibbs_run(const ebm_bm *bm, float *visible, float *hidden,
                      size_t chains, unsigned sweeps, float temperature,
                      const unsigned char *clamp, ebm_bm_sampler sampler,
                      ebm_rng *rng, const struct ebm_bm_gibbs_buffers *buffers);

#endif /* EBM_BM_INTERNAL_H */
