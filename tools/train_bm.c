/*
 * ebm train --model bm: a general Boltzmann machine with the couplings of
 * --lateral (and a lattice mask with --lattice), trained with
 * ebm_bm_trainer_fit, with one progress line per epoch.
 */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "train_bm.h"

/* Mean-field settings of the progress column mf_gap. */
#define MONITOR_MF_ITERATIONS 10
#define MONITOR_MF_DAMPING 0.5f

/* The .npz writer has no zip64, so every entry stays below 4 GiB. */
#define NPZ_MAX_ENTRY_BYTES ((double)UINT32_MAX - 65536.0)

typedef struct bm_run {
    const train_bm_request *request;
    ebm_bm *bm;
    ebm_bm_trainer *trainer;
    size_t monitor_train; /* rows of each set that are measured */
    size_t monitor_valid;
    double *scratch;      /* monitor_train + monitor_valid values */
    struct timespec start;
    struct timespec epoch_start;
    unsigned last_epoch;
} bm_run;

static FILE *message_stream(const train_bm_request *r)
{
    return r->json ? stderr : stdout;
}

/* Rejects a model whose file could not be written: an array above 4 GiB. */
static int check_file_size(const train_bm_request *r)
{
    double d = (double)r->cols, k = (double)r->hidden;
    double largest = d * k;

    if (r->couplings & EBM_BM_VISIBLE_VISIBLE)
        largest = fmax(largest, d * d);
    if (r->couplings & EBM_BM_HIDDEN_HIDDEN)
        largest = fmax(largest, k * k);
    if (4.0 * largest <= NPZ_MAX_ENTRY_BYTES)
        return CLI_EXIT_OK;
    fprintf(stderr, "ebm train: a model of %zu visible and %zu hidden units "
            "has a coupling matrix of %.0f values, above the 4 GiB that a "
            "model file entry can hold\n", r->cols, r->hidden, largest);
    return CLI_EXIT_USAGE;
}

/* The BM starts as an RBM initialised by ebm_rbm_initialize (Gaussian W,
 * visible biases from the data's means) with zero lateral couplings. */
static int create_model(bm_run *run)
{
    const train_bm_request *r = run->request;
    ebm_rbm *rbm = NULL;
    ebm_status status = ebm_bm_create(r->cols, r->hidden, r->couplings,
                                      &run->bm);

    if (status == EBM_OK && r->lattice_rows > 0)
        status = ebm_bm_set_lattice(run->bm, r->lattice_rows,
                                    r->lattice_cols);
    if (status == EBM_OK)
        status = ebm_rbm_create(r->cols, r->hidden, &rbm);
    if (status == EBM_OK)
        status = ebm_rbm_initialize(rbm, r->train, r->n_train,
                                    r->init_stddev, r->config.seed);
    if (status == EBM_OK)
        status = ebm_bm_set_visible_bias(run->bm, ebm_rbm_visible_bias(rbm));
    if (status == EBM_OK && (r->couplings & EBM_BM_VISIBLE_HIDDEN))
        status = ebm_bm_set_weights(run->bm, ebm_rbm_weights(rbm));
    ebm_rbm_destroy(rbm);
    if (status != EBM_OK) {
        cli_print_library_error("train", status, "cannot create a BM with "
                                "%zu visible and %zu hidden units",
                                r->cols, r->hidden);
        return CLI_EXIT_FAILURE;
    }
    status = ebm_bm_trainer_create(run->bm, &r->config, &r->options,
                                   &run->trainer);
    if (status != EBM_OK) {
        cli_print_library_error("train", status,
                                "cannot create the trainer");
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

static const char *const POSITIVE_NAMES[] = { "mean-field", "gibbs" };
static const char *const SAMPLER_NAMES[] = { "auto", "site", "blocked",
                                             "colored" };

static void print_settings(const bm_run *run)
{
    const train_bm_request *r = run->request;
    const ebm_train_config *c = &r->config;
    FILE *out = message_stream(r);
    unsigned couplings = r->couplings;

    fprintf(out, "settings: model=bm data='%s' train_rows=%zu "
            "valid_rows=%zu visible=%zu hidden=%zu couplings=%s%s%s",
            r->data_path, r->n_train, r->n_valid, r->cols, r->hidden,
            (couplings & EBM_BM_VISIBLE_HIDDEN) ? "W" : "",
            (couplings & EBM_BM_VISIBLE_VISIBLE) ? "V" : "",
            (couplings & EBM_BM_HIDDEN_HIDDEN) ? "U" : "");
    if (r->lattice_rows > 0)
        fprintf(out, " lattice=%zux%zu", r->lattice_rows, r->lattice_cols);
    fprintf(out, " binarize=%s method=%s-%u", r->binarize_name,
            c->method == EBM_PCD ? "PCD" : "CD", c->gibbs_steps);
    if (c->method == EBM_PCD)
        fprintf(out, " chains=%zu",
                c->chains > 0 ? c->chains : c->batch_size);
    fprintf(out, " positive=%s positive_steps=%u sampler=%s batch=%zu "
            "lr=%g momentum=%g weight_decay=%g init_stddev=%g epochs=%u "
            "seed=%" PRIu64 " threads=%d libebm=%s blas='%s' out='%s'\n",
            POSITIVE_NAMES[r->options.positive], r->options.positive_steps,
            SAMPLER_NAMES[r->options.sampler], c->batch_size,
            (double)c->learning_rate, (double)c->momentum,
            (double)c->weight_decay, (double)r->init_stddev, r->epochs,
            c->seed, ebm_get_threads(), ebm_version(), ebm_blas_info(),
            r->out_path);
    fflush(out);
}

/* Mean over rows of the pseudo-log-likelihood (K = 0) or of the
 * mean-field bound on log sum_h exp(-E) (K > 0). */
static bool measure(const bm_run *run, const float *rows, size_t n,
                    double *mean)
{
    const train_bm_request *r = run->request;
    ebm_status status;

    if (n == 0) {
        *mean = NAN;
        return true;
    }
    if (r->hidden == 0) {
        status = ebm_bm_pseudo_loglik(run->bm, rows, n, NULL, mean);
    } else {
        double total = 0.0;

        status = ebm_bm_mean_field_bound(run->bm, rows, n,
                                         MONITOR_MF_ITERATIONS,
                                         MONITOR_MF_DAMPING, run->scratch);
        for (size_t i = 0; status == EBM_OK && i < n; i++)
            total += run->scratch[i];
        *mean = total / (double)n;
    }
    if (status != EBM_OK) {
        cli_print_library_error("train", status, "cannot measure the model");
        return false;
    }
    return true;
}

static bool print_progress(bm_run *run, unsigned epoch,
                           double samples_per_sec)
{
    const train_bm_request *r = run->request;
    double train = NAN, valid = NAN, gap = NAN;
    double seconds;

    if (!measure(run, r->train, run->monitor_train, &train)
        || !measure(run, r->valid, run->monitor_valid, &valid)) {
        return false;
    }
    if (r->hidden > 0) {
        /* The bounds share log Z, so only their difference means
         * something; it grows when the model overfits. */
        gap = train - valid;
        train = valid = NAN;
    }
    seconds = cli_seconds_since(&run->start);
    if (r->json) {
        printf("{\"epoch\": %u, \"pseudo_loglik_train\": ", epoch);
        cli_write_json_number(stdout, train);
        fputs(", \"pseudo_loglik_valid\": ", stdout);
        cli_write_json_number(stdout, valid);
        fputs(", \"mean_field_gap\": ", stdout);
        cli_write_json_number(stdout, gap);
        fputs(", \"samples_per_sec\": ", stdout);
        cli_write_json_number(stdout, samples_per_sec);
        fputs(", \"seconds\": ", stdout);
        cli_write_json_number(stdout, seconds);
        fputs("}\n", stdout);
    } else {
        printf("%5u", epoch);
        if (r->hidden == 0) {
            printf(" %11.4f", train);
            isfinite(valid) ? printf(" %11.4f", valid) : printf(" %11s", "-");
        } else {
            isfinite(gap) ? printf(" %11.4f", gap) : printf(" %11s", "-");
        }
        isfinite(samples_per_sec) ? printf(" %10.0f", samples_per_sec)
                                  : printf(" %10s", "-");
        printf(" %9.1f\n", seconds);
    }
    fflush(stdout);
    run->last_epoch = epoch;
    return true;
}

static int on_epoch(const ebm_bm *bm, unsigned epoch, void *user_data)
{
    bm_run *run = user_data;
    double seconds = cli_seconds_since(&run->epoch_start);
    double rate = seconds > 0.0 ? (double)run->request->n_train / seconds
                                : NAN;

    (void)bm;
    if (!print_progress(run, epoch, rate)) {
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &run->epoch_start);
    return 0;
}

static int fit_and_save(bm_run *run)
{
    const train_bm_request *r = run->request;
    ebm_status status;

    clock_gettime(CLOCK_MONOTONIC, &run->start);
    if (!r->json) {
        if (r->hidden == 0) {
            printf("epoch   pll_train   pll_valid  samples/s   seconds\n");
        } else {
            printf("epoch      mf_gap  samples/s   seconds\n");
        }
    }
    if (!print_progress(run, 0, NAN)) {
        return CLI_EXIT_FAILURE;
    }
    clock_gettime(CLOCK_MONOTONIC, &run->epoch_start);
    status = ebm_bm_trainer_fit(run->trainer, run->bm, r->train, r->n_train,
                                r->epochs, on_epoch, run);
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
    status = ebm_bm_save(run->bm, r->out_path);
    if (status != EBM_OK) {
        cli_print_library_error("train", status, "cannot write model '%s'",
                                r->out_path);
        return CLI_EXIT_FAILURE;
    }
    fprintf(message_stream(r), "saved model to '%s'\n", r->out_path);
    return CLI_EXIT_OK;
}

int train_bm_run(const train_bm_request *request)
{
    bm_run run = { .request = request };
    int result = check_file_size(request);

    run.monitor_train = request->n_train < request->monitor_rows
                            ? request->n_train : request->monitor_rows;
    run.monitor_valid = request->n_valid < request->monitor_rows
                            ? request->n_valid : request->monitor_rows;
    if (result == CLI_EXIT_OK) {
        run.scratch = malloc((run.monitor_train + run.monitor_valid + 1)
                             * sizeof(double));
        if (run.scratch == NULL) {
            fprintf(stderr, "ebm train: out of memory\n");
            result = CLI_EXIT_FAILURE;
        }
    }
    if (result == CLI_EXIT_OK) {
        result = create_model(&run);
    }
    if (result == CLI_EXIT_OK) {
        print_settings(&run);
        result = fit_and_save(&run);
    }
    ebm_bm_trainer_destroy(run.trainer);
    ebm_bm_destroy(run.bm);
    free(run.scratch);
    return result;
}
