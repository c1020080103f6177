/* The trainer struct, shared by rbm_train.c (sampling and gradients) and
 * rbm_update.c (the SGD update). */
#ifndef EBM_RBM_TRAINER_H
#define EBM_RBM_TRAINER_H

#include "rbm_internal.h"

/*
 * The gradient of a batch of n rows with m negative-phase rows is one
 * sgemm over stacked matrices:
 *
 *   visible (n + m) x (D + 1): the batch rows, then the negative visible
 *            samples, each row followed by a 1;
 *   hidden   (n + m) x (K + 1): P(h | batch row) / n, then
 *            -P(h | negative row) / m, each row followed by 1/n or -1/m;
 *   gradient (D + 1) x (K + 1) = visible' hidden, which holds grad W in
 *            its first D rows and K columns, grad a in column K and
 *            grad b in row D.
 *
 * The velocities use the layout of the gradient.
 */
struct ebm_rbm_trainer {
    size_t n_visible, n_hidden;
    ebm_train_config config; /* chains resolved: 0 for CD */
    ebm_rng rng;
    bool chains_ready;

    float *visible;      /* (B + N) x (D + 1), see above */
    float *hidden;       /* (B + N) x (K + 1), see above */
    float *hidden_state; /* N x K hidden samples driving the chain */
    float *chains;       /* C x K persistent hidden samples (PCD) */
    float *chains_next;  /* C x K the chains after the pending update */
    float *gradient;     /* (D + 1) x (K + 1) */
    float *velocity;     /* (D + 1) x (K + 1) */
    float velocity_max;  /* an upper bound of |velocity| */

    /* One entry per chunk of rows of the update. */
    unsigned char *chunk_nonfinite;
    float *chunk_param_max;
    float *chunk_velocity_max;

    void *memory; /* the one allocation behind every buffer */
};

/* Rows of the gradient matrix per chunk of the parallel update. */
size_t ebm_update_rows_per_chunk(size_t n_hidden);

/*
 * Applies the update of trainer->gradient to rbm:
 *
 *   velocity = momentum velocity + learning_rate (gradient - decay W)
 *   parameters += velocity        (no decay on the biases)
 *
 * or fails with EBM_ERR_DIVERGED, changing nothing but the gradient buffer,
 * if a new parameter would not be finite.
 */
ebm_status ebm_trainer_apply_update(ebm_rbm_trainer *trainer, ebm_rbm *rbm);

#endif /* EBM_RBM_TRAINER_H */
