/*
 * Checks of ebm train's sizes against the limits of libebm, made before
 * training, so that sizes the library would reject at model creation,
 * trainer creation or save are reported before any work is done. Each
 * check prints its own one-line message on stderr and returns
 * CLI_EXIT_USAGE, or CLI_EXIT_OK when the sizes are within the limits.
 */
#ifndef EBM_TRAIN_LIMITS_H
#define EBM_TRAIN_LIMITS_H

#include <stddef.h>

#include "ebm.h"

/* Returns the largest number of hidden units of a model with `visible`
 * visible units that ebm_rbm_save can write, at least 1 for any visible
 * count up to EBM_MAX_UNITS. */
size_t train_limits_max_savable_hidden(size_t visible);

/* Rejects a --hidden value that makes W larger than EBM_MAX_ELEMENTS or
 * the model file too large for ebm_rbm_save. */
int train_limits_check_model(size_t visible, size_t hidden);

/*
 * Rejects a trainer that exceeds the library's limits, which
 * ebm_rbm_trainer_memory checks without allocating it. config contains the
 * batch size that the trainer uses, and requested_batch the value that
 * --batch requested, which the message quotes.
 */
int train_limits_check_trainer(const ebm_rbm *rbm,
                               const ebm_train_config *config,
                               size_t requested_batch);

#endif /* EBM_TRAIN_LIMITS_H */
