/*
 * Annealed importance sampling for general Boltzmann machines, and the
 * mean-field lower bound on log p(v).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ais_internal.h"
#include "bm_internal.h"
#include "parallel.h"
#include "rbm_internal.h"
#include "rng.h"
#include "vmath.h"

/* Smallest inverse temperature after the first that a transition accepts:
 * the sweep runs at T = 1 / beta, which must stay a finite float. */
#define MIN_BETA 1e-30

/*
 * out[c] = -E(v_c, h_c) for `chains` joint states, in double, with the
 * quadratic terms from sgemm: rows of X V, X W and H U dotted with X, H
 * and H. scratch has room for chains x max(D, K) floats.
 */
static void negative_energies(const ebm_bm *bm, const float *v,
                              const float *h, size_t chains, float *scratch,
                              double *out)
{
    size_t d = bm->n_visible, k = bm->n_hidden;

    for (size_t c = 0; c < chains; c++) {
        double linear = 0.0;

        for (size_t i = 0; i < d; i++)
            linear += (double)bm->visible_bias[i] * v[c * d + i];
        for (size_t j = 0; j < k; j++)
            linear += (double)bm->hidden_bias[j] * h[c * k + j];
        out[c] = linear;
    }
    if (bm->visible_couplings != NULL) {
        ebm_gemm(false, false, chains, d, d, 1.0f, v, d,
                 bm->visible_couplings, d, 0.0f, scratch, d, NULL, NULL);
        for (size_t c = 0; c < chains; c++) {
            double q = 0.0;

            for (size_t i = 0; i < d; i++)
                q += (double)scratch[c * d + i] * v[c * d + i];
            out[c] += 0.5 * q;
        }
    }
    if (bm->weights != NULL) {
        ebm_gemm(false, false, chains, k, d, 1.0f, v, d, bm->weights, k,
                 0.0f, scratch, k, NULL, NULL);
        for (size_t c = 0; c < chains; c++) {
            double q = 0.0;

            for (size_t j = 0; j < k; j++)
                q += (double)scratch[c * k + j] * h[c * k + j];
            out[c] += q;
        }
    }
    if (bm->hidden_couplings != NULL) {
        ebm_gemm(false, false, chains, k, k, 1.0f, h, k,
                 bm->hidden_couplings, k, 0.0f, scratch, k, NULL, NULL);
        for (size_t c = 0; c < chains; c++) {
            double q = 0.0;

            for (size_t j = 0; j < k; j++)
                q += (double)scratch[c * k + j] * h[c * k + j];
            out[c] += 0.5 * q;
        }
    }
}

ebm_status ebm_bm_ais(const ebm_bm *bm, const ebm_ais_config *config,
                      ebm_ais_result *result)
{
    size_t d, k, chains, n_betas;
    double *beta = NULL, *log_w = NULL, *energy = NULL, log_z_base = 0.0;
    float *base_bias = NULL, *v = NULL, *h = NULL, *scratch = NULL;
    ebm_bm *work = NULL;
    struct ebm_bm_gibbs_buffers gibbs = {0};
    ebm_rng rng;
    ebm_status status = ebm_check_pointer(bm, "bm");

    if (status == EBM_OK)
        status = ebm_check_pointer(config, "config");
    if (status == EBM_OK)
        status = ebm_check_pointer(result, "result");
    if (status == EBM_OK)
        status = ebm_ais_check_settings(config, bm->n_visible);
    if (status != EBM_OK)
        return status;
    d = bm->n_visible;
    k = bm->n_hidden;
    chains = config->chains;
    n_betas = config->betas;
    status = ebm_mul_size(chains, ebm_max_size(d, k) + 1, &(size_t){0},
                          "chains x units");
    if (status != EBM_OK)
        return status;
    beta = malloc(n_betas * sizeof(*beta));
    log_w = calloc(chains, sizeof(*log_w));
    energy = malloc(chains * sizeof(*energy));
    base_bias = ebm_alloc_floats(d);
    v = ebm_alloc_floats(chains * d);
    h = ebm_alloc_floats(chains * k);
    scratch = ebm_alloc_floats(chains * ebm_max_size(d, k));
    if (beta == NULL || log_w == NULL || energy == NULL ||
        base_bias == NULL || v == NULL || h == NULL || scratch == NULL) {
        status = ebm_fail(EBM_ERR_NOMEM,
                          "cannot allocate AIS buffers for %zu chains",
                          chains);
        goto done;
    }
    if (config->schedule != NULL)
        memcpy(beta, config->schedule, n_betas * sizeof(*beta));
    else
        ebm_ais_default_schedule(beta, n_betas);
    if (beta[1] < MIN_BETA) {
        status = ebm_fail(EBM_ERR_ARGUMENT,
                          "the second inverse temperature is %g; expected "
                          "at least %g",
                          beta[1], MIN_BETA);
        goto done;
    }
    status = ebm_bm_clone(bm, &work);
    if (status == EBM_OK)
        status = ebm_bm_gibbs_buffers_alloc(bm, chains, &gibbs);
    if (status != EBM_OK)
        goto done;

    /* Exact samples of the base model: independent units with visible
     * biases a_A and hidden biases 0. */
    ebm_ais_base_bias(config, d, base_bias);
    for (size_t i = 0; i < d; i++)
        log_z_base += ebm_softplus(base_bias[i]);
    log_z_base += (double)k * log(2.0);
    for (size_t c = 0; c < chains; c++)
        for (size_t i = 0; i < d; i++)
            v[c * d + i] = ebm_sigmoid(base_bias[i]);
    ebm_rng_bernoulli(config->seed, 0, 0, chains * d, v, v);
    for (size_t i = 0; i < chains * k; i++)
        h[i] = 0.5f;
    ebm_rng_bernoulli(config->seed, 1, 0, chains * k, h, h);
    ebm_rng_init(&rng, config->seed);
    rng.stream = 2;

    /*
     * -E_beta(s) = a_A.v + beta (-E(s) - a_A.v). The weight increment from
     * beta_(j-1) to beta_j is (beta_j - beta_(j-1)) (-E(s) - a_A.v). The
     * transition at beta_j is a sweep of the model with visible bias
     * a + (1 - beta) / beta a_A at temperature 1 / beta. Its fields divided
     * by T are exactly those of the intermediate model.
     */
    for (size_t j = 1; j < n_betas && status == EBM_OK; j++) {
        double step = beta[j] - beta[j - 1];

        negative_energies(bm, v, h, chains, scratch, energy);
        for (size_t c = 0; c < chains; c++) {
            double base = 0.0;

            for (size_t i = 0; i < d; i++)
                base += (double)base_bias[i] * v[c * d + i];
            log_w[c] += step * (energy[c] - base);
        }
        if (j + 1 == n_betas)
            break;
        {
            double ratio = (1.0 - beta[j]) / beta[j];

            for (size_t i = 0; i < d; i++)
                work->visible_bias[i] =
                    (float)((double)bm->visible_bias[i] +
                            ratio * (double)base_bias[i]);
        }
        ebm_bm_gibbs_run(work, v, k > 0 ? h : NULL, chains, 1,
                         (float)(1.0 / beta[j]), NULL, EBM_SAMPLER_AUTO, &rng,
                         &gibbs);
        if (config->progress != NULL &&
            config->progress((double)j / (double)(n_betas - 1),
                             config->progress_data) != 0)
            status = ebm_fail(EBM_STOPPED, "AIS stopped by the progress "
                                           "callback");
    }
    if (status == EBM_OK && config->log_weights != NULL)
        memcpy(config->log_weights, log_w, chains * sizeof(*log_w));
    if (status == EBM_OK)
        status = ebm_ais_combine(log_w, chains, log_z_base, result);
done:
    ebm_bm_destroy(work);
    ebm_bm_gibbs_buffers_free(&gibbs);
    free(beta);
    free(log_w);
    free(energy);
    ebm_free_floats(base_bias);
    ebm_free_floats(v);
    ebm_free_floats(h);
    ebm_free_floats(scratch);
    return status;
}

ebm_status ebm_bm_mean_field_bound(const ebm_bm *bm, const float *visible,
                                   size_t rows, unsigned iterations,
                                   float damping, double *out)
{
    size_t d, k;
    float *mu = NULL, *input = NULL, *scratch = NULL;
    double *base = NULL;
    ebm_status status = ebm_check_pointer(bm, "bm");

    if (status == EBM_OK)
        status = ebm_check_pointer(out, "out");
    if (status == EBM_OK)
        status = ebm_check_batch(visible, rows, bm->n_visible, "visible");
    if (status == EBM_OK)
        status = ebm_check_binary(visible, rows, bm->n_visible, "visible");
    if (status != EBM_OK)
        return status;
    if (!(damping >= 0.0f && damping < 1.0f))
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "damping is %g; expected a value in [0, 1)",
                        (double)damping);
    d = bm->n_visible;
    k = bm->n_hidden;
    base = malloc(rows * sizeof(*base));
    if (base == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "cannot allocate %zu sums", rows);
    /* The part without hidden units is -E(v, 0). */
    if (k > 0) {
        scratch = ebm_alloc_floats(rows * k);
        if (scratch == NULL)
            status = ebm_fail(EBM_ERR_NOMEM,
                              "cannot allocate %zu hidden rows", rows);
        else
            memset(scratch, 0, rows * k * sizeof(float));
    }
    if (status == EBM_OK)
        status = ebm_bm_energy(bm, visible, scratch, rows, base);
    for (size_t r = 0; status == EBM_OK && r < rows; r++)
        out[r] = -base[r];
    if (status != EBM_OK || k == 0) {
        free(base);
        ebm_free_floats(scratch);
        return status;
    }
    mu = ebm_alloc_floats(rows * k);
    input = ebm_alloc_floats(rows * k);
    if (mu == NULL || input == NULL) {
        status = ebm_fail(EBM_ERR_NOMEM,
                          "cannot allocate mean-field buffers for %zu rows",
                          rows);
    } else {
        status = ebm_bm_mean_field(bm, visible, rows, iterations, damping,
                                   1.0f, mu);
    }
    if (status == EBM_OK) {
        /* input = b + v W; scratch = mu U. */
        for (size_t r = 0; r < rows; r++)
            memcpy(input + r * k, bm->hidden_bias, k * sizeof(float));
        if (bm->weights != NULL)
            ebm_gemm(false, false, rows, k, d, 1.0f, visible, d, bm->weights,
                     k, 1.0f, input, k, NULL, NULL);
        if (bm->hidden_couplings != NULL)
            ebm_gemm(false, false, rows, k, k, 1.0f, mu, k,
                     bm->hidden_couplings, k, 0.0f, scratch, k, NULL, NULL);
        for (size_t r = 0; r < rows; r++) {
            double sum = 0.0;

            for (size_t j = 0; j < k; j++) {
                double m = mu[r * k + j];
                double coupled =
                    bm->hidden_couplings != NULL ? scratch[r * k + j] : 0.0;
                double entropy = 0.0;

                if (m > 0.0)
                    entropy -= m * log(m);
                if (m < 1.0)
                    entropy -= (1.0 - m) * log1p(-m);
                sum += (input[r * k + j] + 0.5 * coupled) * m + entropy;
            }
            out[r] += sum;
        }
    }
    free(base);
    ebm_free_floats(mu);
    ebm_free_floats(input);
    ebm_free_floats(scratch);
    return status;
}
