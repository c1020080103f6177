/*
 * ebm train --model bm: training a general Boltzmann machine, called by
 * train.c after it has parsed the command line and split the data.
 */
#ifndef EBM_TRAIN_BM_H
#define EBM_TRAIN_BM_H

#include <stdbool.h>
#include <stddef.h>

#include "ebm.h"

/* Everything a BM training run needs from the command line and the data. */
typedef struct train_bm_request {
    const char *data_path;
    const char *out_path;
    size_t hidden;
    unsigned couplings;  /* EBM_BM_* bits */
    size_t lattice_rows; /* 0: no lattice mask */
    size_t lattice_cols;
    unsigned epochs;
    ebm_train_config config;
    ebm_bm_options options;
    float init_stddev;
    bool json;
    size_t monitor_rows;
    const char *binarize_name;
    const float *train;
    size_t n_train;
    const float *valid; /* NULL without a validation set */
    size_t n_valid;
    size_t cols;
} train_bm_request;

/* Creates, initialises, trains and saves the BM; prints progress and
 * errors. Returns a CLI_EXIT_* status. */
int train_bm_run(const train_bm_request *request);

#endif /* EBM_TRAIN_BM_H */
