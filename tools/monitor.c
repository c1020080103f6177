/*
 * Progress measures that ebm train prints after each epoch.
 */
#include "monitor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "progress.h"

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* Copies rows x cols values to dest and sets them to 0 or 1 with the
 * threshold 0.5. */
static bool binarize_copy(float *dest, const float *source, size_t rows,
                          size_t cols)
{
    ebm_data data = { rows, cols, dest };
    ebm_status status = EBM_OK;

    memcpy(dest, source, rows * cols * sizeof *dest);
    status = ebm_data_binarize(&data, EBM_BINARIZE_THRESHOLD, 0);
    if (status != EBM_OK) {
        cli_print_library_error("train", status,
                                "cannot binarize the monitor rows");
        return false;
    }
    return true;
}

static bool make_binary_copies(monitor *m)
{
    /* At most the rows of the data set, so the product cannot overflow. */
    size_t train_values = m->n_train * m->cols;
    size_t valid_values = m->n_valid * m->cols;
    float *copies = malloc((train_values + valid_values) * sizeof *copies);

    if (copies == NULL) {
        fprintf(stderr, "ebm train: out of memory for the monitor rows\n");
        return false;
    }
    m->binary_copies = copies;
    m->train_binary = copies;
    if (!binarize_copy(copies, m->train, m->n_train, m->cols)) {
        return false;
    }
    if (m->n_valid > 0) {
        m->valid_binary = copies + train_values;
        return binarize_copy(copies + train_values, m->valid, m->n_valid,
                             m->cols);
    }
    return true;
}

bool monitor_init(monitor *m, const float *train, size_t n_train,
                  const float *valid, size_t n_valid, size_t cols,
                  size_t monitor_rows, bool binary)
{
    size_t workspace = 0;

    memset(m, 0, sizeof *m);
    m->cols = cols;
    m->train = train;
    m->n_train = min_size(monitor_rows, n_train);
    m->valid = n_valid > 0 ? valid : NULL;
    m->n_valid = min_size(monitor_rows, n_valid);
    m->train_binary = m->train;
    m->valid_binary = m->valid;
    workspace = m->n_train > m->n_valid ? m->n_train : m->n_valid;
    m->free_energy = malloc(workspace * sizeof *m->free_energy);
    if (m->free_energy == NULL) {
        fprintf(stderr, "ebm train: out of memory for the monitor rows\n");
        return false;
    }
    return binary || make_binary_copies(m);
}

void monitor_free(monitor *m)
{
    free(m->binary_copies);
    free(m->free_energy);
    memset(m, 0, sizeof *m);
}

static bool check(ebm_status status, const char *quantity)
{
    if (status != EBM_OK) {
        cli_print_library_error("train", status, "cannot compute %s",
                                quantity);
        return false;
    }
    return true;
}

/* Stores in *mean the mean free energy at T = 1 of the rows. */
static bool mean_free_energy(monitor *m, const ebm_rbm *rbm,
                             const float *rows, size_t count, double *mean)
{
    double sum = 0.0;
    ebm_status status = ebm_rbm_free_energy(rbm, rows, count, 1.0f,
                                            m->free_energy);

    if (!check(status, "the free energy of the monitor rows")) {
        return false;
    }
    for (size_t i = 0; i < count; i++) {
        sum += m->free_energy[i];
    }
    *mean = sum / (double)count;
    return true;
}

static bool measure_validation(monitor *m, const ebm_rbm *rbm,
                               epoch_metrics *metrics)
{
    double train_energy = 0.0;
    double valid_energy = 0.0;
    ebm_status status = ebm_rbm_pseudo_loglik(rbm, m->valid_binary,
                                              m->n_valid, NULL,
                                              &metrics->pll_valid);

    if (!check(status, "the pseudo-log-likelihood of the validation rows")
        || !mean_free_energy(m, rbm, m->train, m->n_train, &train_energy)
        || !mean_free_energy(m, rbm, m->valid, m->n_valid, &valid_energy)) {
        return false;
    }
    metrics->free_energy_gap = valid_energy - train_energy;
    return true;
}

bool monitor_measure(monitor *m, const ebm_rbm *rbm,
                     epoch_metrics *metrics)
{
    ebm_status status = EBM_OK;

    metrics->pll_valid = NAN;
    metrics->free_energy_gap = NAN;
    metrics->ais_log_z = NAN;
    metrics->ais_loglik_valid = NAN;
    status = ebm_rbm_reconstruction_error(rbm, m->train, m->n_train,
                                          &metrics->recon_error);
    if (!check(status, "the reconstruction error")) {
        return false;
    }
    status = ebm_rbm_pseudo_loglik(rbm, m->train_binary, m->n_train, NULL,
                                   &metrics->pll_train);
    if (!check(status, "the pseudo-log-likelihood of the training rows")) {
        return false;
    }
    return m->n_valid == 0 || measure_validation(m, rbm, metrics);
}

bool monitor_measure_ais(monitor *m, const ebm_rbm *rbm,
                         ebm_ais_config config, epoch_metrics *metrics)
{
    progress_meter meter;
    ebm_ais_result result;
    ebm_status status = EBM_OK;

    progress_init(&meter, "AIS");
    config.progress = progress_update;
    config.progress_data = &meter;
    status = ebm_rbm_ais(rbm, &config, &result);
    progress_clear(&meter);
    if (!check(status, "the AIS estimate of log Z")) {
        return false;
    }
    metrics->ais_log_z = result.log_z;
    status = ebm_rbm_mean_loglik(rbm, m->valid_binary, m->n_valid,
                                 result.log_z, &metrics->ais_loglik_valid);
    return check(status, "the log-likelihood of the validation rows");
}

void monitor_print_header(FILE *out, bool ais)
{
    fprintf(out, "%5s %12s %12s %12s %10s", "epoch", "recon_error",
            "pll_train", "pll_valid", "fe_gap");
    if (ais) {
        fprintf(out, " %12s", "ais_ll_valid");
    }
    fprintf(out, " %10s %9s\n", "samples/s", "seconds");
    fflush(out);
}

/* Writes value in a column of the given width, or "-" if it is NaN. */
static void print_cell(FILE *out, int width, int precision, double value)
{
    if (isfinite(value)) {
        fprintf(out, " %*.*f", width, precision, value);
    } else {
        fprintf(out, " %*s", width, "-");
    }
}

static void print_json_field(FILE *out, const char *key, double value)
{
    fprintf(out, ", \"%s\": ", key);
    cli_write_json_number(out, value);
}

static void print_json_metrics(FILE *out, const epoch_metrics *metrics,
                               bool ais)
{
    fprintf(out, "{\"epoch\": %u", metrics->epoch);
    print_json_field(out, "recon_error", metrics->recon_error);
    print_json_field(out, "pseudo_loglik_train", metrics->pll_train);
    print_json_field(out, "pseudo_loglik_valid", metrics->pll_valid);
    print_json_field(out, "free_energy_gap", metrics->free_energy_gap);
    if (ais) {
        print_json_field(out, "ais_log_z", metrics->ais_log_z);
        print_json_field(out, "ais_loglik_valid",
                         metrics->ais_loglik_valid);
    }
    print_json_field(out, "samples_per_sec", metrics->samples_per_sec);
    print_json_field(out, "seconds", metrics->seconds);
    fputs("}\n", out);
}

void monitor_print_metrics(FILE *out, const epoch_metrics *metrics,
                           bool json, bool ais)
{
    if (json) {
        print_json_metrics(out, metrics, ais);
    } else {
        fprintf(out, "%5u", metrics->epoch);
        print_cell(out, 12, 4, metrics->recon_error);
        print_cell(out, 12, 4, metrics->pll_train);
        print_cell(out, 12, 4, metrics->pll_valid);
        print_cell(out, 10, 4, metrics->free_energy_gap);
        if (ais) {
            print_cell(out, 12, 4, metrics->ais_loglik_valid);
        }
        print_cell(out, 10, 0, metrics->samples_per_sec);
        print_cell(out, 9, 2, metrics->seconds);
        fputc('\n', out);
    }
    fflush(out);
}
