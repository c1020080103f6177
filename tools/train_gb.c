/*
 * ebm train --visible gaussian: whitening of the rows (fitted on the
 * training rows), a Gaussian-Bernoulli RBM trained with
 * ebm_gbrbm_trainer_fit, one progress line per epoch, and the model saved
 * with its whitening.
 */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "train_gb.h"

/* Singular values printed in the table (--json prints all of them). */
#define TABLE_SINGULAR_VALUES 5

static const char *const WHITEN_NAMES[] = { "none", "standard", "pca",
                                            "zca" };

typedef struct gb_run {
    const train_gb_request *request;
    ebm_whitening *whitening;
    float *train;        /* whitened training rows */
    float *valid;        /* whitened validation rows, or NULL */
    size_t monitor_train;
    size_t monitor_valid;
    double *free_energy; /* monitor_train + monitor_valid values */
    float *singular;     /* min(D, K) values */
    ebm_gbrbm *model;
    ebm_gbrbm_trainer *trainer;
    struct timespec start;
    struct timespec epoch_start;
    unsigned last_epoch;
} gb_run;

static FILE *message_stream(const train_gb_request *r)
{
    return r->json ? stderr : stdout;
}

static int library_failure(ebm_status status, const char *what)
{
    cli_print_library_error("train", status, "%s", what);
    return CLI_EXIT_FAILURE;
}

/* Fits the whitening on the training rows and applies it to both sets. */
static int whiten_rows(gb_run *run)
{
    const train_gb_request *r = run->request;
    size_t d = r->cols;
    ebm_status status = ebm_whitening_fit(r->train, r->n_train, d, r->whiten,
                                          r->whiten_epsilon,
                                          &run->whitening);

    if (status != EBM_OK) {
        return library_failure(status, "cannot fit the whitening");
    }
    run->train = malloc(r->n_train * d * sizeof(float));
    run->valid = r->n_valid > 0 ? malloc(r->n_valid * d * sizeof(float))
                                : NULL;
    if (run->train == NULL || (r->n_valid > 0 && run->valid == NULL)) {
        fprintf(stderr, "ebm train: out of memory for the whitened rows\n");
        return CLI_EXIT_FAILURE;
    }
    status = ebm_whitening_apply(run->whitening, r->train, r->n_train,
                                 run->train);
    if (status == EBM_OK && r->n_valid > 0) {
        status = ebm_whitening_apply(run->whitening, r->valid, r->n_valid,
                                     run->valid);
    }
    if (status != EBM_OK) {
        return library_failure(status, "cannot whiten the rows");
    }
    return CLI_EXIT_OK;
}

static int create_model(gb_run *run)
{
    const train_gb_request *r = run->request;
    ebm_status status = ebm_gbrbm_create(r->cols, r->hidden, &run->model);

    if (status == EBM_OK) {
        status = ebm_gbrbm_initialize(run->model, run->train, r->n_train,
                                      r->init_stddev, r->config.seed);
    }
    /* Whitened units have variance near 1 (exactly 1 with epsilon 0): sigma
     * starts at 1, the usual choice, rather than at the smaller standard
     * deviation of directions that epsilon damps. */
    if (status == EBM_OK && r->whiten != EBM_WHITEN_NONE) {
        float *ones = malloc(r->cols * sizeof(float));

        if (ones == NULL) {
            fprintf(stderr, "ebm train: out of memory\n");
            return CLI_EXIT_FAILURE;
        }
        for (size_t i = 0; i < r->cols; i++) {
            ones[i] = 1.0f;
        }
        status = ebm_gbrbm_set_sigma(run->model, ones);
        free(ones);
    }
    if (status != EBM_OK) {
        return library_failure(status, "cannot create the model");
    }
    status = ebm_gbrbm_trainer_create(run->model, &r->config, &r->options,
                                      &run->trainer);
    if (status != EBM_OK) {
        return library_failure(status, "cannot create the trainer");
    }
    return CLI_EXIT_OK;
}

static void print_settings(const gb_run *run)
{
    const train_gb_request *r = run->request;
    const ebm_train_config *c = &r->config;
    double log_det = 0.0;

    ebm_whitening_info(run->whitening, NULL, NULL, &log_det);
    fprintf(message_stream(r), "settings: model=gbrbm data='%s' "
            "train_rows=%zu valid_rows=%zu visible=%zu hidden=%zu "
            "whiten=%s whiten_epsilon=%g whiten_log_det=%.4f "
            "learn_sigma=%s sigma_lr_factor=%g method=%s-%u batch=%zu "
            "lr=%g momentum=%g weight_decay=%g init_stddev=%g epochs=%u "
            "seed=%" PRIu64 " threads=%d libebm=%s blas='%s' out='%s'\n",
            r->data_path, r->n_train, r->n_valid, r->cols, r->hidden,
            WHITEN_NAMES[r->whiten], (double)r->whiten_epsilon, log_det,
            r->options.learn_sigma ? "yes" : "no",
            (double)r->options.sigma_rate_factor,
            c->method == EBM_PCD ? "PCD" : "CD", c->gibbs_steps,
            c->batch_size, (double)c->learning_rate, (double)c->momentum,
            (double)c->weight_decay, (double)r->init_stddev, r->epochs,
            c->seed, ebm_get_threads(), ebm_version(), ebm_blas_info(),
            r->out_path);
    fflush(message_stream(r));
}

static double mean_of(const double *values, size_t n)
{
    double sum = 0.0;

    for (size_t i = 0; i < n; i++) {
        sum += values[i];
    }
    return n > 0 ? sum / (double)n : NAN;
}

/* Measures the model and prints one progress line. */
static bool print_progress(gb_run *run, unsigned epoch,
                           double samples_per_sec)
{
    const train_gb_request *r = run->request;
    size_t d = r->cols, k = r->hidden, n_sv = d < k ? d : k;
    double recon = NAN, gap = NAN, sigma = 0.0;
    ebm_status status;

    status = ebm_gbrbm_reconstruction_error(run->model, run->train,
                                            run->monitor_train, &recon);
    if (status == EBM_OK) {
        status = ebm_gbrbm_free_energy(run->model, run->train,
                                       run->monitor_train,
                                       run->free_energy);
    }
    if (status == EBM_OK && run->monitor_valid > 0) {
        status = ebm_gbrbm_free_energy(run->model, run->valid,
                                       run->monitor_valid,
                                       run->free_energy
                                           + run->monitor_train);
        gap = mean_of(run->free_energy + run->monitor_train,
                      run->monitor_valid)
              - mean_of(run->free_energy, run->monitor_train);
    }
    if (status == EBM_OK && r->singular_values && n_sv > 0) {
        status = ebm_gbrbm_singular_values(run->model, run->singular);
    }
    if (status != EBM_OK) {
        library_failure(status, "cannot measure the model");
        return false;
    }
    for (size_t i = 0; i < d; i++) {
        sigma += exp(ebm_gbrbm_log_sigma(run->model)[i]);
    }
    sigma /= (double)d;
    if (r->json) {
        printf("{\"epoch\": %u, \"recon_error\": ", epoch);
        cli_write_json_number(stdout, recon);
        fputs(", \"free_energy_gap\": ", stdout);
        cli_write_json_number(stdout, gap);
        fputs(", \"mean_sigma\": ", stdout);
        cli_write_json_number(stdout, sigma);
        if (r->singular_values) {
            fputs(", \"singular_values\": [", stdout);
            for (size_t i = 0; i < n_sv; i++) {
                if (i > 0) {
                    fputs(", ", stdout);
                }
                cli_write_json_number(stdout, run->singular[i]);
            }
            fputs("]", stdout);
        }
        fputs(", \"samples_per_sec\": ", stdout);
        cli_write_json_number(stdout, samples_per_sec);
        fputs(", \"seconds\": ", stdout);
        cli_write_json_number(stdout, cli_seconds_since(&run->start));
        fputs("}\n", stdout);
    } else {
        printf("%5u %12.4f", epoch, recon);
        isfinite(gap) ? printf(" %10.4f", gap) : printf(" %10s", "-");
        printf(" %10.4f", sigma);
        isfinite(samples_per_sec) ? printf(" %10.0f", samples_per_sec)
                                  : printf(" %10s", "-");
        printf(" %9.1f", cli_seconds_since(&run->start));
        for (size_t i = 0; r->singular_values && i < n_sv
                           && i < TABLE_SINGULAR_VALUES; i++) {
            printf(" %8.3f", run->singular[i]);
        }
        putchar('\n');
    }
    fflush(stdout);
    run->last_epoch = epoch;
    return true;
}

static int on_epoch(const ebm_gbrbm *model, unsigned epoch, void *user_data)
{
    gb_run *run = user_data;
    double seconds = cli_seconds_since(&run->epoch_start);
    double rate = seconds > 0.0 ? (double)run->request->n_train / seconds
                                : NAN;

    (void)model;
    if (!print_progress(run, epoch, rate)) {
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &run->epoch_start);
    return 0;
}

static int fit_and_save(gb_run *run)
{
    const train_gb_request *r = run->request;
    ebm_status status;

    clock_gettime(CLOCK_MONOTONIC, &run->start);
    if (!r->json) {
        printf("epoch  recon_error     fe_gap mean_sigma  samples/s   "
               "seconds%s\n", r->singular_values
                              ? "  singular values of W (largest 5)" : "");
    }
    if (!print_progress(run, 0, NAN)) {
        return CLI_EXIT_FAILURE;
    }
    clock_gettime(CLOCK_MONOTONIC, &run->epoch_start);
    status = ebm_gbrbm_trainer_fit(run->trainer, run->model, run->train,
                                   r->n_train, r->epochs, on_epoch, run);
    if (status == EBM_STOPPED) {
        return CLI_EXIT_FAILURE;
    }
    if (status != EBM_OK) {
        cli_print_library_error("train", status,
                                "training failed in epoch %u, so the model "
                                "was not saved%s", run->last_epoch + 1,
                                status == EBM_ERR_DIVERGED
                                    ? " (try a lower --lr)" : "");
        return CLI_EXIT_FAILURE;
    }
    status = ebm_gbrbm_save(run->model,
                            r->whiten == EBM_WHITEN_NONE ? NULL
                                                         : run->whitening,
                            r->out_path);
    if (status != EBM_OK) {
        cli_print_library_error("train", status, "cannot write model '%s'",
                                r->out_path);
        return CLI_EXIT_FAILURE;
    }
    fprintf(message_stream(r), "saved model to '%s'\n", r->out_path);
    return CLI_EXIT_OK;
}

int train_gb_run(const train_gb_request *request)
{
    gb_run run = { .request = request };
    size_t n_sv = request->cols < request->hidden ? request->cols
                                                  : request->hidden;
    int result;

    run.monitor_train = request->n_train < request->monitor_rows
                            ? request->n_train : request->monitor_rows;
    run.monitor_valid = request->n_valid < request->monitor_rows
                            ? request->n_valid : request->monitor_rows;
    run.free_energy = malloc((run.monitor_train + run.monitor_valid + 1)
                             * sizeof(double));
    run.singular = malloc((n_sv + 1) * sizeof(float));
    if (run.free_energy == NULL || run.singular == NULL) {
        fprintf(stderr, "ebm train: out of memory\n");
        result = CLI_EXIT_FAILURE;
    } else {
        result = whiten_rows(&run);
    }
    if (result == CLI_EXIT_OK) {
        result = create_model(&run);
    }
    if (result == CLI_EXIT_OK) {
        print_settings(&run);
        result = fit_and_save(&run);
    }
    ebm_gbrbm_trainer_destroy(run.trainer);
    ebm_gbrbm_destroy(run.model);
    ebm_whitening_destroy(run.whitening);
    free(run.train);
    free(run.valid);
    free(run.free_energy);
    free(run.singular);
    return result;
}
