/*
 * Progress measures that ebm train prints after each epoch.
 */
#ifndef EBM_MONITOR_H
#define EBM_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ebm.h"

/* The rows that the measures use: the first monitor rows of the training
 * and of the validation set. */
typedef struct monitor {
    size_t cols;
    const float *train;        /* n_train rows as trained on */
    size_t n_train;
    const float *valid;        /* n_valid rows, or NULL */
    size_t n_valid;            /* 0 without a validation set */
    const float *train_binary; /* the same rows with values 0 or 1, for */
    const float *valid_binary; /* ebm_rbm_pseudo_loglik */
    float *binary_copies;      /* storage of those when made here */
    double *free_energy;       /* workspace of max(n_train, n_valid) */
} monitor;

/* One line of the progress table. NaN marks a value that does not apply. */
typedef struct epoch_metrics {
    unsigned epoch;
    double recon_error;
    double pll_train;
    double pll_valid;
    double free_energy_gap; /* mean F(validation) - mean F(training) */
    double ais_log_z;        /* AIS estimate of log Z, or NaN */
    double ais_loglik_valid; /* mean log-likelihood of the validation
                                monitor rows from ais_log_z, or NaN */
    double samples_per_sec;
    double seconds;
} epoch_metrics;

/*
 * Sets up *m over the first monitor_rows rows of train and valid (fewer
 * if the sets are smaller). If binary is false, threshold-binarised copies
 * are made for the pseudo-log-likelihood. n_train must be >= 1; valid may
 * be NULL with n_valid = 0. Prints the error and returns false on failure.
 * Call monitor_free afterwards whether or not it succeeded.
 */
bool monitor_init(monitor *m, const float *train, size_t n_train,
                  const float *valid, size_t n_valid, size_t cols,
                  size_t monitor_rows, bool binary);

void monitor_free(monitor *m);

/* Fills every field of metrics except epoch, samples_per_sec and seconds,
 * with NaN for the AIS fields. Prints the error and returns false if a
 * library call fails. */
bool monitor_measure(monitor *m, const ebm_rbm *rbm,
                     epoch_metrics *metrics);

/*
 * Estimates log Z by AIS with config (whose progress fields it sets) and
 * fills ais_log_z and ais_loglik_valid, the mean log-likelihood of the
 * binary validation monitor rows. Needs a validation set. Prints the
 * error and returns false if a library call fails.
 */
bool monitor_measure_ais(monitor *m, const ebm_rbm *rbm,
                         ebm_ais_config config, epoch_metrics *metrics);

/* Writes the column names of the table, for the table mode only. `ais`
 * adds the ais_ll_valid column. */
void monitor_print_header(FILE *out, bool ais);

/* Writes metrics as one table row or one JSON object, one line, and
 * flushes out so that the line reaches a terminal or pipe at once. `ais`
 * adds the AIS column, or the JSON keys ais_log_z and ais_loglik_valid. */
void monitor_print_metrics(FILE *out, const epoch_metrics *metrics,
                           bool json, bool ais);

#endif /* EBM_MONITOR_H */
