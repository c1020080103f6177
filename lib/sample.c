/* Gibbs sampling from a model, with optional clamped visible units. */
#include <stdlib.h>
#include <string.h>

#include "rbm_internal.h"
#include "rng.h"

ebm_status ebm_rng_fill_bernoulli(ebm_rng *rng, float p, float *out,
                                  size_t count)
{
    ebm_status status = ebm_check_pointer(rng, "rng");

    if (status == EBM_OK)
        status = ebm_check_pointer(out, "out");
    if (status != EBM_OK)
        return status;
    if (!(p >= 0.0f && p <= 1.0f))
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "p is %g; expected a probability in [0, 1]",
                        (double)p);
    for (size_t done = 0; done < count; done += 1024) {
        float probability[1024];
        size_t take = ebm_min_size(1024, count - done);

        for (size_t i = 0; i < take; i++)
            probability[i] = p;
        ebm_rng_bernoulli(rng->seed, rng->stream, done, take, probability,
                          out + done);
    }
    rng->stream++;
    return EBM_OK;
}

static ebm_status check_gibbs_args(const ebm_rbm *rbm, const float *state,
                                   size_t chains, unsigned steps,
                                   float temperature, const ebm_rng *rng,
                                   const float *prob)
{
    size_t count;
    ebm_status status = ebm_check_pointer(rbm, "rbm");

    if (status == EBM_OK)
        status = ebm_check_pointer(rng, "rng");
    if (status == EBM_OK)
        status = ebm_check_batch(state, chains, rbm->n_visible, "state");
    if (status != EBM_OK)
        return status;
    if (steps == 0)
        return ebm_fail(EBM_ERR_ARGUMENT, "steps is 0; expected at least 1");
    status = ebm_check_positive(temperature, "temperature");
    if (status == EBM_OK)
        status = ebm_mul_size(chains, rbm->n_visible, &count, "state");
    if (status == EBM_OK && prob != NULL)
        status = ebm_check_disjoint(state, count * sizeof(float), "state",
                                    prob, count * sizeof(float), "prob");
    return status;
}

/* Restores the clamped units of every chain from `saved`. */
static void restore_clamped(float *state, const float *saved,
                            const unsigned char *clamp, size_t chains,
                            size_t d)
{
    for (size_t c = 0; c < chains; c++)
        for (size_t i = 0; i < d; i++)
            if (clamp[i])
                state[c * d + i] = saved[c * d + i];
}

ebm_status ebm_rbm_gibbs(const ebm_rbm *rbm, float *state, size_t chains,
                         unsigned steps, float temperature,
                         const unsigned char *clamp, ebm_rng *rng,
                         float *prob)
{
    size_t d, k;
    float *hidden, *hidden_prob, *visible_prob, *saved = NULL;
    ebm_status status = check_gibbs_args(rbm, state, chains, steps,
                                         temperature, rng, prob);

    if (status != EBM_OK)
        return status;
    d = rbm->n_visible;
    k = rbm->n_hidden;
    hidden = ebm_alloc_floats(chains * k);
    hidden_prob = ebm_alloc_floats(chains * k);
    visible_prob = ebm_alloc_floats(chains * d);
    if (clamp != NULL)
        saved = ebm_alloc_floats(chains * d);
    if (hidden == NULL || hidden_prob == NULL || visible_prob == NULL ||
        (clamp != NULL && saved == NULL)) {
        ebm_free_floats(hidden);
        ebm_free_floats(hidden_prob);
        ebm_free_floats(visible_prob);
        ebm_free_floats(saved);
        return ebm_fail(EBM_ERR_NOMEM,
                        "cannot allocate Gibbs buffers for %zu chains",
                        chains);
    }
    if (clamp != NULL)
        memcpy(saved, state, chains * d * sizeof(float));

    for (unsigned step = 0; step < steps; step++) {
        for (size_t begin = 0; begin < chains; begin += EBM_ROW_CHUNK) {
            size_t n = ebm_min_size(EBM_ROW_CHUNK, chains - begin);
            struct ebm_layer_args up = ebm_layer_packed(
                rbm, false, state + begin * d, n, hidden_prob + begin * k);
            struct ebm_layer_args down = ebm_layer_packed(
                rbm, true, hidden + begin * k, n, visible_prob + begin * d);

            up.temperature = down.temperature = temperature;
            up.sample = hidden + begin * k;
            up.seed = down.seed = rng->seed;
            up.stream = rng->stream;
            down.stream = rng->stream + 1;
            up.first_row = down.first_row = begin;
            down.sample = state + begin * d;
            ebm_rbm_layer(&up);
            ebm_rbm_layer(&down);
        }
        rng->stream += 2;
        if (clamp != NULL)
            restore_clamped(state, saved, clamp, chains, d);
    }

    if (prob != NULL) {
        memcpy(prob, visible_prob, chains * d * sizeof(float));
        if (clamp != NULL)
            restore_clamped(prob, saved, clamp, chains, d);
    }
    ebm_free_floats(hidden);
    ebm_free_floats(hidden_prob);
    ebm_free_floats(visible_prob);
    ebm_free_floats(saved);
    return EBM_OK;
}
