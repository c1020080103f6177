/*
 * ebm train --visible gaussian: training a Gaussian-Bernoulli RBM on
 * real-valued rows, called by train.c after it has parsed the command line
 * and split the data.
 */
#ifndef EBM_TRAIN_GB_H
#define EBM_TRAIN_GB_H

#include <stdbool.h>
#include <stddef.h>

#include "ebm.h"

/* Everything a Gaussian-Bernoulli training run needs. */
typedef struct train_gb_request {
    const char *data_path;
    const char *out_path;
    size_t hidden;
    unsigned epochs;
    ebm_train_config config;
    ebm_gbrbm_options options;
    ebm_whiten_mode whiten;
    float whiten_epsilon;
    bool singular_values; /* report the singular values of W per epoch */
    float init_stddev;
    bool json;
    size_t monitor_rows;
    const float *train;
    size_t n_train;
    const float *valid; /* NULL without a validation set */
    size_t n_valid;
    size_t cols;
} train_gb_request;

/* Whitens, creates, trains and saves the model; prints progress and
 * errors. Returns a CLI_EXIT_* status. */
int train_gb_run(const train_gb_request *request);

#endif /* EBM_TRAIN_GB_H */
