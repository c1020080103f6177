/*
 * ebm eval: the log partition function of a saved model, exact or by
 * annealed importance sampling (AIS), and its log-likelihood on IDX data.
 */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "ebm.h"
#include "options.h"
#include "progress.h"

enum {
    OPTION_MODEL,
    OPTION_DATA,
    OPTION_METHOD,
    OPTION_AIS_CHAINS,
    OPTION_AIS_BETAS,
    OPTION_AIS_BASE,
    OPTION_REVERSE,
    OPTION_ROWS,
    OPTION_BINARIZE,
    OPTION_SEED,
    OPTION_THREADS,
    OPTION_JSON,
    OPTION_COUNT
};

/* Values of --method and --ais-base, in the order of their names. */
enum { METHOD_AUTO, METHOD_EXACT, METHOD_AIS };
enum { BASE_UNIFORM, BASE_DATA };

static const char *const METHOD_NAMES[] = { "auto", "exact", "ais" };
static const char *const BASE_NAMES[] = { "uniform", "data" };

/* --method auto computes log Z exactly up to this size of the smaller
 * layer (2^25 states). Each further unit doubles the time.
 * NOTE: for 784 x 25 units this took 25 to 32 s on the 2-core machine of
 * docs/quality.md (58 s while the machine was busy), and AIS with the
 * default 100 chains and 14500 inverse temperatures about 6 s. */
#define AUTO_EXACT_MAX_UNITS 25

#define DEFAULT_AIS_CHAINS 100
#define DEFAULT_AIS_BETAS 14500

/* The command line of ebm eval, parsed and checked. */
typedef struct eval_settings {
    const char *model_path;
    const char *data_path;
    size_t method;   /* METHOD_* */
    size_t chains;
    size_t betas;
    size_t base;     /* BASE_* */
    bool reverse;
    size_t max_rows; /* --rows, or 0 for every row */
    size_t binarize; /* BINARIZE_* */
    bool binarize_given;
    uint64_t seed;
    bool threads_given;
    size_t threads;
    bool json;
} eval_settings;

/* Everything that ebm eval prints. */
typedef struct eval_report {
    size_t visible;
    size_t hidden;
    size_t rows;
    bool exact;             /* log Z was enumerated, not estimated */
    bool ais_used;          /* forward or reverse AIS ran */
    ebm_ais_result forward; /* exact: log_z with equal bounds */
    bool has_reverse;
    ebm_ais_result reverse;
    double mean_loglik;
    const char *loglik_kind; /* NULL (RBM: exact), "exact_marginal" or
                                "mean_field_bound" (general BM) */
    double pseudo_loglik;
    double recon_error;
    double whiten_log_det;  /* Gaussian-Bernoulli: log |det M| added */
    double log_z_seconds;
    double seconds;
} eval_report;

static void print_help(void)
{
    fputs(
"Usage: ebm eval --model MODEL --data FILE [OPTIONS]\n"
"\n"
"Computes the log partition function log Z of a model saved by 'ebm\n"
"train', then the mean log-likelihood in nats per row of the rows of an\n"
"IDX file under the model, their exact pseudo-log-likelihood and their\n"
"mean-field reconstruction error.\n"
"\n"
"For a Gaussian-Bernoulli RBM (ebm train --visible gaussian) the rows\n"
"are not binarised unless --binarize is given, the model's whitening is\n"
"applied, log Z is exact up to 25 hidden units (else AIS), mean_loglik\n"
"is the log-density in the data's own units (whitening's log |det M|\n"
"added, mean_loglik_kind \"density\"), and recon_error is in whitened\n"
"units.\n"
"\n"
"For a BM with lateral couplings (ebm train --model bm), --method auto\n"
"enumerates the joint states up to 24 units, else runs AIS over the\n"
"joint states (no --reverse); mean_loglik is exact with at most 12\n"
"hidden units, else the mean-field lower bound (mean_loglik_kind says\n"
"which); pseudo_loglik is printed without hidden units only, and\n"
"recon_error not at all.\n"
"\n"
"Required:\n"
"  --model MODEL       .npz model file\n"
"  --data FILE         IDX file of unsigned bytes, one row per image, with\n"
"                      one value per visible unit of the model\n"
"\n"
"Partition function:\n"
"  --method M          auto (default): exact when the smaller layer has at\n"
"                      most 25 units, else ais;\n"
"                      exact: sum over the 2^min(visible, hidden) states of\n"
"                      the smaller layer, at most 2^32 (the time doubles\n"
"                      with each unit of the smaller layer);\n"
"                      ais: annealed importance sampling, an estimate\n"
"                      with bounds of 3 standard errors\n"
"  --ais-chains C      AIS runs, 1 to 16777216 (default 100)\n"
"  --ais-betas N       inverse temperatures of each run, 2 to 4294967295\n"
"                      (default 14500; the time grows linearly with C x N).\n"
"                      Fewer give a quicker estimate that tends to put\n"
"                      log Z too low (the log-likelihood too high), by\n"
"                      more than the printed bounds show\n"
"  --ais-base B        base model of AIS: data (default), independent\n"
"                      units with the column means of the data, or\n"
"                      uniform, every visible state equally likely\n"
"  --reverse           also run reverse AIS, from the data rows to the base\n"
"                      model, which tends to overestimate log Z where AIS\n"
"                      underestimates it; uses --ais-chains and --ais-betas\n"
"  --seed S            random seed of AIS and of --binarize stochastic,\n"
"                      0 to 2^64 - 1 (default 1)\n"
"  --threads T         threads, 1 to 1024, or 0 for every online processor\n"
"                      (default: OMP_NUM_THREADS if set, else every online\n"
"                      processor); the results do not depend on it\n"
"\n"
"Data:\n"
"  --rows N            use only the first N rows of the file (default: all)\n"
"  --binarize MODE     threshold: 1 where the value is >= 0.5 (default);\n"
"                      stochastic: 1 with probability equal to the value,\n"
"                      drawn from --seed; none: use the values as they are,\n"
"                      which must then be 0 or 1 (byte values 0 and 255)\n"
"\n"
"Output:\n"
"  --json              print one JSON object instead of a table\n"
"  --help              print this help and exit\n"
"\n",
        stdout);
    fputs(
"Printed values, with the same names in JSON (null in JSON, '-' in the\n"
"table, for a value that is not finite or does not apply):\n"
"  log_z, log_z_low, log_z_high  log Z and its bounds, equal for exact.\n"
"                      For AIS the bounds are the log of the mean\n"
"                      importance weight -+ 3 standard errors, so\n"
"                      log_z_low is null when that difference is <= 0\n"
"  log_z_std_error     for AIS, the standard error of log_z to first order\n"
"  mean_loglik         mean over the rows of log p(v) = -F(v) - log Z, in\n"
"                      nats; mean_loglik_low and _high follow from the\n"
"                      bounds of log Z\n"
"  pseudo_loglik       mean exact pseudo-log-likelihood per row, in nats\n"
"  recon_error         mean squared error of the mean-field\n"
"                      reconstruction, summed over the units of a row\n"
"  reverse_log_z       with --reverse, the reverse AIS estimate of log Z,\n"
"                      with reverse_log_z_low, reverse_log_z_high and the\n"
"                      reverse_mean_loglik that follows from it\n"
"  mean_loglik_kind    BMs: exact_marginal (hidden units summed out) or\n"
"                      mean_field_bound; Gaussian models: density, with\n"
"                      whiten_log_det, the log |det M| it includes\n"
"  log_z_seconds       wall time of computing log Z\n"
"  seconds             wall time of the whole run, loading included\n"
"\n"
"A progress percentage is shown on stderr during AIS when stderr is a\n"
"terminal.\n"
"\n"
"Exit status: 0 on success, 1 on a runtime failure (a file that cannot be\n"
"read, a model that does not match the data), 2 on a command-line error.\n",
        stdout);
}

static int parse_choices(const option_spec *specs, eval_settings *s)
{
    const option_spec *method = &specs[OPTION_METHOD];
    const option_spec *base = &specs[OPTION_AIS_BASE];
    const option_spec *binarize = &specs[OPTION_BINARIZE];

    if (method->given
        && options_parse_choice("eval", method->name, method->value,
                                METHOD_NAMES, 3, &s->method) != 0) {
        return CLI_EXIT_USAGE;
    }
    if (base->given
        && options_parse_choice("eval", base->name, base->value,
                                BASE_NAMES, 2, &s->base) != 0) {
        return CLI_EXIT_USAGE;
    }
    if (binarize->given
        && options_parse_choice("eval", binarize->name, binarize->value,
                                CLI_BINARIZE_NAMES, CLI_BINARIZE_COUNT,
                                &s->binarize) != 0) {
        return CLI_EXIT_USAGE;
    }
    s->binarize_given = binarize->given;
    return CLI_EXIT_OK;
}

static int parse_size_option(const option_spec *spec, size_t min,
                             size_t max, size_t *out)
{
    if (!spec->given) {
        return 0;
    }
    return options_parse_size("eval", spec->name, spec->value, min, max,
                              out);
}

static int parse_numbers(const option_spec *specs, eval_settings *s)
{
    const option_spec *seed = &specs[OPTION_SEED];

    if (parse_size_option(&specs[OPTION_AIS_CHAINS], 1, EBM_MAX_UNITS,
                          &s->chains) != 0
        || parse_size_option(&specs[OPTION_AIS_BETAS], 2, UINT32_MAX,
                             &s->betas) != 0
        || parse_size_option(&specs[OPTION_ROWS], 1, SIZE_MAX,
                             &s->max_rows) != 0
        || parse_size_option(&specs[OPTION_THREADS], 0, 1024,
                             &s->threads) != 0) {
        return CLI_EXIT_USAGE;
    }
    if (seed->given
        && options_parse_u64("eval", seed->name, seed->value,
                             &s->seed) != 0) {
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* Rejects AIS settings that nothing would use. */
static int check_ais_options(const option_spec *specs,
                             const eval_settings *s)
{
    static const int ais_options[] = {
        OPTION_AIS_CHAINS, OPTION_AIS_BETAS, OPTION_AIS_BASE
    };

    if (s->method != METHOD_EXACT || s->reverse) {
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < 3; i++) {
        if (specs[ais_options[i]].given) {
            fprintf(stderr, "ebm eval: %s applies only to AIS; use it with "
                    "--method ais or auto, or with --reverse\n",
                    specs[ais_options[i]].name);
            return CLI_EXIT_USAGE;
        }
    }
    return CLI_EXIT_OK;
}

static int parse_settings(int argc, char **argv, eval_settings *s)
{
    option_spec specs[OPTION_COUNT] = {
        [OPTION_MODEL] = { "--model", true, false, NULL },
        [OPTION_DATA] = { "--data", true, false, NULL },
        [OPTION_METHOD] = { "--method", true, false, NULL },
        [OPTION_AIS_CHAINS] = { "--ais-chains", true, false, NULL },
        [OPTION_AIS_BETAS] = { "--ais-betas", true, false, NULL },
        [OPTION_AIS_BASE] = { "--ais-base", true, false, NULL },
        [OPTION_REVERSE] = { "--reverse", false, false, NULL },
        [OPTION_ROWS] = { "--rows", true, false, NULL },
        [OPTION_BINARIZE] = { "--binarize", true, false, NULL },
        [OPTION_SEED] = { "--seed", true, false, NULL },
        [OPTION_THREADS] = { "--threads", true, false, NULL },
        [OPTION_JSON] = { "--json", false, false, NULL },
    };

    memset(s, 0, sizeof(*s));
    s->method = METHOD_AUTO;
    s->chains = DEFAULT_AIS_CHAINS;
    s->betas = DEFAULT_AIS_BETAS;
    s->base = BASE_DATA;
    s->binarize = BINARIZE_THRESHOLD;
    s->seed = 1;
    if (options_parse("eval", argc, argv, specs, OPTION_COUNT) != 0
        || options_require("eval", &specs[OPTION_MODEL]) != 0
        || options_require("eval", &specs[OPTION_DATA]) != 0
        || parse_choices(specs, s) != 0 || parse_numbers(specs, s) != 0) {
        return CLI_EXIT_USAGE;
    }
    s->model_path = specs[OPTION_MODEL].value;
    s->data_path = specs[OPTION_DATA].value;
    s->reverse = specs[OPTION_REVERSE].given;
    s->json = specs[OPTION_JSON].given;
    s->threads_given = specs[OPTION_THREADS].given;
    return check_ais_options(specs, s);
}

/* ------------------------------------------------------------------------ */
/* Computations                                                             */
/* ------------------------------------------------------------------------ */

static size_t smaller_layer(const eval_report *report)
{
    return report->visible < report->hidden ? report->visible
                                            : report->hidden;
}

/* Decides between exact and AIS, and rejects --method exact for a model
 * whose smaller layer is too large to enumerate. */
static int choose_method(const eval_settings *s, eval_report *report)
{
    size_t units = smaller_layer(report);

    if (s->method == METHOD_AUTO) {
        report->exact = units <= AUTO_EXACT_MAX_UNITS;
        return CLI_EXIT_OK;
    }
    report->exact = s->method == METHOD_EXACT;
    if (report->exact && units > EBM_EXACT_MAX_UNITS) {
        fprintf(stderr, "ebm eval: --method exact would enumerate 2^%zu "
                "states of the smaller layer of model '%s' (%zu visible, "
                "%zu hidden units), above the limit of 2^%d; use --method "
                "ais\n", units, s->model_path, report->visible,
                report->hidden, EBM_EXACT_MAX_UNITS);
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

static void init_ais_config(const eval_settings *s, const ebm_data *data,
                            progress_meter *meter, ebm_ais_config *config)
{
    ebm_ais_config_init(config);
    config->chains = s->chains;
    config->betas = s->betas;
    config->seed = s->seed;
    if (s->base == BASE_DATA) {
        config->base_data = data->values;
        config->base_rows = data->rows;
    }
    config->progress = progress_update;
    config->progress_data = meter;
}

static int compute_exact(const ebm_rbm *rbm, eval_report *report)
{
    double log_z = 0.0;
    ebm_status status = ebm_rbm_log_partition_exact(rbm, 1.0f, &log_z);

    if (status != EBM_OK) {
        cli_print_library_error("eval", status,
                                "cannot compute log Z exactly");
        return CLI_EXIT_FAILURE;
    }
    report->forward.log_z = log_z;
    report->forward.log_z_low = log_z;
    report->forward.log_z_high = log_z;
    report->forward.std_error = 0.0;
    report->forward.log_z_base = NAN;
    return CLI_EXIT_OK;
}

static int compute_ais(const eval_settings *s, const ebm_rbm *rbm,
                       const ebm_data *data, eval_report *report)
{
    ebm_ais_config config;
    progress_meter meter;
    ebm_status status = EBM_OK;

    progress_init(&meter, "AIS");
    init_ais_config(s, data, &meter, &config);
    status = ebm_rbm_ais(rbm, &config, &report->forward);
    progress_clear(&meter);
    if (status != EBM_OK) {
        cli_print_library_error("eval", status, "AIS failed");
        return CLI_EXIT_FAILURE;
    }
    report->ais_used = true;
    return CLI_EXIT_OK;
}

static int compute_reverse(const eval_settings *s, const ebm_rbm *rbm,
                           const ebm_data *data, eval_report *report)
{
    ebm_ais_config config;
    progress_meter meter;
    ebm_status status = EBM_OK;

    progress_init(&meter, "reverse AIS");
    init_ais_config(s, data, &meter, &config);
    status = ebm_rbm_ais_reverse(rbm, &config, data->values, data->rows,
                                 &report->reverse);
    progress_clear(&meter);
    if (status != EBM_OK) {
        cli_print_library_error("eval", status, "reverse AIS failed");
        return CLI_EXIT_FAILURE;
    }
    report->ais_used = true;
    report->has_reverse = true;
    return CLI_EXIT_OK;
}

/* Reports a failed measure of the data, with a hint for rows that are not
 * binary. */
static int report_measure_failure(const eval_settings *s,
                                  ebm_status status, const char *quantity)
{
    cli_print_library_error("eval", status, "cannot compute the %s of '%s'%s",
                            quantity, s->data_path,
                            status == EBM_ERR_DOMAIN
                                ? " (it needs values 0 and 1; use "
                                  "--binarize threshold or stochastic)"
                                : "");
    return CLI_EXIT_FAILURE;
}

static int measure_data(const eval_settings *s, const ebm_rbm *rbm,
                        const ebm_data *data, eval_report *report)
{
    ebm_status status = ebm_rbm_mean_loglik(rbm, data->values, data->rows,
                                            report->forward.log_z,
                                            &report->mean_loglik);

    if (status != EBM_OK) {
        return report_measure_failure(s, status, "log-likelihood");
    }
    status = ebm_rbm_pseudo_loglik(rbm, data->values, data->rows, NULL,
                                   &report->pseudo_loglik);
    if (status != EBM_OK) {
        return report_measure_failure(s, status, "pseudo-log-likelihood");
    }
    status = ebm_rbm_reconstruction_error(rbm, data->values, data->rows,
                                          &report->recon_error);
    if (status != EBM_OK) {
        return report_measure_failure(s, status, "reconstruction error");
    }
    return CLI_EXIT_OK;
}

static int evaluate(const eval_settings *s, const ebm_rbm *rbm,
                    const ebm_data *data, eval_report *report)
{
    struct timespec start;
    int result = choose_method(s, report);

    clock_gettime(CLOCK_MONOTONIC, &start);
    if (result == CLI_EXIT_OK) {
        result = report->exact ? compute_exact(rbm, report)
                               : compute_ais(s, rbm, data, report);
    }
    report->log_z_seconds = cli_seconds_since(&start);
    if (result == CLI_EXIT_OK && s->reverse) {
        result = compute_reverse(s, rbm, data, report);
    }
    if (result == CLI_EXIT_OK) {
        result = measure_data(s, rbm, data, report);
    }
    return result;
}


/* ------------------------------------------------------------------------ */
/* General Boltzmann machines                                               */
/* ------------------------------------------------------------------------ */

/* --method auto enumerates a BM's joint states up to this many units. */
#define AUTO_BM_EXACT_MAX_UNITS 24

/* The hidden units of a BM are summed out exactly up to this many, for a
 * log-likelihood in place of the mean-field bound. */
#define BM_EXACT_HIDDEN_MAX_UNITS 12

/* Mean-field settings of the bound on log p(v). */
#define BM_MF_ITERATIONS 50
#define BM_MF_DAMPING 0.5f

static int compute_bm_log_z(const eval_settings *s, const ebm_bm *bm,
                            const ebm_data *data, eval_report *report)
{
    size_t units = report->visible + report->hidden;
    ebm_status status;

    if (s->method == METHOD_EXACT && units > EBM_BM_EXACT_MAX_UNITS) {
        fprintf(stderr, "ebm eval: --method exact would enumerate 2^%zu "
                "joint states of model '%s', above the limit of 2^%d; use "
                "--method ais\n", units, s->model_path,
                EBM_BM_EXACT_MAX_UNITS);
        return CLI_EXIT_FAILURE;
    }
    report->exact = s->method == METHOD_EXACT
                    || (s->method == METHOD_AUTO
                        && units <= AUTO_BM_EXACT_MAX_UNITS);
    if (report->exact) {
        double log_z = 0.0;

        status = ebm_bm_log_partition_exact(bm, 1.0f, &log_z);
        report->forward = (ebm_ais_result){ log_z, log_z, log_z, 0.0, NAN };
    } else {
        ebm_ais_config config;
        progress_meter meter;

        progress_init(&meter, "AIS");
        init_ais_config(s, data, &meter, &config);
        status = ebm_bm_ais(bm, &config, &report->forward);
        progress_clear(&meter);
        report->ais_used = true;
    }
    if (status != EBM_OK) {
        cli_print_library_error("eval", status, "cannot compute log Z");
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

/* The mean log-likelihood (exact sum over few hidden units, else the
 * mean-field bound) and, without hidden units, the pseudo-log-likelihood. */
static int measure_bm_data(const eval_settings *s, const ebm_bm *bm,
                           const ebm_data *data, eval_report *report)
{
    double *per_row = malloc(data->rows * sizeof(double));
    double total = 0.0;
    ebm_status status;

    if (per_row == NULL) {
        fprintf(stderr, "ebm eval: out of memory\n");
        return CLI_EXIT_FAILURE;
    }
    if (report->hidden <= BM_EXACT_HIDDEN_MAX_UNITS) {
        report->loglik_kind = "exact_marginal";
        status = ebm_bm_log_unnormalized(bm, data->values, data->rows, 1.0f,
                                         per_row);
    } else {
        report->loglik_kind = "mean_field_bound";
        status = ebm_bm_mean_field_bound(bm, data->values, data->rows,
                                         BM_MF_ITERATIONS, BM_MF_DAMPING,
                                         per_row);
    }
    for (size_t r = 0; status == EBM_OK && r < data->rows; r++) {
        total += per_row[r];
    }
    free(per_row);
    if (status != EBM_OK) {
        return report_measure_failure(s, status, "log-likelihood");
    }
    report->mean_loglik = total / (double)data->rows
                          - report->forward.log_z;
    report->pseudo_loglik = NAN;
    report->recon_error = NAN;
    if (report->hidden == 0) {
        status = ebm_bm_pseudo_loglik(bm, data->values, data->rows, NULL,
                                      &report->pseudo_loglik);
        if (status != EBM_OK) {
            return report_measure_failure(s, status,
                                          "pseudo-log-likelihood");
        }
    }
    return CLI_EXIT_OK;
}

static int evaluate_bm(const eval_settings *s, const ebm_bm *bm,
                       const ebm_data *data, eval_report *report)
{
    struct timespec start;
    int result;

    if (s->reverse) {
        fprintf(stderr, "ebm eval: --reverse is not available for a BM "
                "with lateral couplings ('%s')\n", s->model_path);
        return CLI_EXIT_USAGE;
    }
    if (data->cols != report->visible) {
        fprintf(stderr, "ebm eval: model '%s' has %zu visible units, but "
                "the rows of '%s' have %zu values; use data of the shape "
                "the model was trained on\n", s->model_path,
                report->visible, s->data_path, data->cols);
        return CLI_EXIT_FAILURE;
    }
    clock_gettime(CLOCK_MONOTONIC, &start);
    result = compute_bm_log_z(s, bm, data, report);
    report->log_z_seconds = cli_seconds_since(&start);
    if (result == CLI_EXIT_OK) {
        result = measure_bm_data(s, bm, data, report);
    }
    return result;
}

/* ------------------------------------------------------------------------ */
/* Gaussian-Bernoulli RBMs                                                  */
/* ------------------------------------------------------------------------ */

/* Whitens the rows in place with the model's whitening, if any, and adds
 * log |det M| to *log_det. */
static int whiten_data(const ebm_whitening *whitening, ebm_data *data,
                       double *log_det)
{
    ebm_status status;

    *log_det = 0.0;
    if (whitening == NULL) {
        return CLI_EXIT_OK;
    }
    status = ebm_whitening_apply(whitening, data->values, data->rows,
                                 data->values);
    if (status == EBM_OK) {
        status = ebm_whitening_info(whitening, NULL, NULL, log_det);
    }
    if (status != EBM_OK) {
        cli_print_library_error("eval", status, "cannot whiten the data");
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

static int evaluate_gbrbm(const eval_settings *s, const ebm_gbrbm *model,
                          const ebm_whitening *whitening, ebm_data *data,
                          eval_report *report)
{
    struct timespec start;
    double log_det = 0.0;
    ebm_status status;
    int result;

    if (s->reverse) {
        fprintf(stderr, "ebm eval: --reverse is not available for a "
                "Gaussian-Bernoulli RBM ('%s')\n", s->model_path);
        return CLI_EXIT_USAGE;
    }
    if (data->cols != report->visible) {
        fprintf(stderr, "ebm eval: model '%s' has %zu visible units, but "
                "the rows of '%s' have %zu values\n", s->model_path,
                report->visible, s->data_path, data->cols);
        return CLI_EXIT_FAILURE;
    }
    result = whiten_data(whitening, data, &log_det);
    if (result != CLI_EXIT_OK) {
        return result;
    }
    clock_gettime(CLOCK_MONOTONIC, &start);
    report->exact = s->method == METHOD_EXACT
                    || (s->method == METHOD_AUTO
                        && report->hidden <= AUTO_EXACT_MAX_UNITS);
    if (report->exact) {
        double log_z = 0.0;

        status = ebm_gbrbm_log_partition_exact(model, 1.0f, &log_z);
        report->forward = (ebm_ais_result){ log_z, log_z, log_z, 0.0, NAN };
    } else {
        ebm_ais_config config;
        progress_meter meter;

        progress_init(&meter, "AIS");
        init_ais_config(s, data, &meter, &config);
        config.base_data = NULL;
        status = ebm_gbrbm_ais(model, &config, &report->forward);
        progress_clear(&meter);
        report->ais_used = true;
    }
    report->log_z_seconds = cli_seconds_since(&start);
    if (status != EBM_OK) {
        cli_print_library_error("eval", status, "cannot compute log Z");
        return CLI_EXIT_FAILURE;
    }
    /* log p(x) = log p(y) + log |det M| for whitened rows y. */
    status = ebm_gbrbm_mean_loglik(model, data->values, data->rows,
                                   report->forward.log_z,
                                   &report->mean_loglik);
    if (status == EBM_OK) {
        report->mean_loglik += log_det;
        status = ebm_gbrbm_reconstruction_error(model, data->values,
                                                data->rows,
                                                &report->recon_error);
    }
    if (status != EBM_OK) {
        return report_measure_failure(s, status, "log-likelihood");
    }
    report->pseudo_loglik = NAN;
    report->loglik_kind = "density";
    report->whiten_log_det = log_det;
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------------ */
/* Output                                                                   */
/* ------------------------------------------------------------------------ */

/* One printed value: the name of the table row and of the JSON key. */
typedef struct named_value {
    const char *name;
    double value;
} named_value;

/* Fills values with the numbers to print, in order, and returns how many. */
static size_t collect_values(const eval_report *r, named_value *values)
{
    const ebm_ais_result *f = &r->forward;
    size_t n = 0;

    values[n++] = (named_value){ "log_z", f->log_z };
    values[n++] = (named_value){ "log_z_low", f->log_z_low };
    values[n++] = (named_value){ "log_z_high", f->log_z_high };
    if (!r->exact) {
        values[n++] = (named_value){ "log_z_std_error", f->std_error };
    }
    values[n++] = (named_value){ "mean_loglik", r->mean_loglik };
    /* A larger log Z lowers the log-likelihood by as much. */
    values[n++] = (named_value){ "mean_loglik_low",
                                 r->mean_loglik - (f->log_z_high - f->log_z) };
    values[n++] = (named_value){ "mean_loglik_high",
                                 r->mean_loglik + (f->log_z - f->log_z_low) };
    values[n++] = (named_value){ "pseudo_loglik", r->pseudo_loglik };
    values[n++] = (named_value){ "recon_error", r->recon_error };
    if (r->has_reverse) {
        const ebm_ais_result *b = &r->reverse;

        values[n++] = (named_value){ "reverse_log_z", b->log_z };
        values[n++] = (named_value){ "reverse_log_z_low", b->log_z_low };
        values[n++] = (named_value){ "reverse_log_z_high", b->log_z_high };
        values[n++] = (named_value){ "reverse_mean_loglik",
                                     r->mean_loglik - (b->log_z - f->log_z) };
    }
    values[n++] = (named_value){ "log_z_seconds", r->log_z_seconds };
    values[n++] = (named_value){ "seconds", r->seconds };
    return n;
}

static void print_json(const eval_settings *s, const eval_report *r)
{
    named_value values[24];
    size_t count = collect_values(r, values);

    fputs("{\"model\": ", stdout);
    cli_write_json_string(stdout, s->model_path);
    fputs(", \"data\": ", stdout);
    cli_write_json_string(stdout, s->data_path);
    printf(", \"rows\": %zu, \"visible_units\": %zu, \"hidden_units\": %zu, "
           "\"binarize\": \"%s\", \"method\": \"%s\"", r->rows, r->visible,
           r->hidden, CLI_BINARIZE_NAMES[s->binarize],
           r->exact ? "exact" : "ais");
    if (r->loglik_kind != NULL && strcmp(r->loglik_kind, "density") == 0) {
        printf(", \"model_type\": \"gbrbm\", \"mean_loglik_kind\": "
               "\"density\", \"whiten_log_det\": ");
        cli_write_json_number(stdout, r->whiten_log_det);
    } else if (r->loglik_kind != NULL) {
        printf(", \"model_type\": \"bm\", \"mean_loglik_kind\": \"%s\"",
               r->loglik_kind);
    }
    if (r->ais_used) {
        bool gaussian = r->loglik_kind != NULL
                        && strcmp(r->loglik_kind, "density") == 0;

        printf(", \"ais_chains\": %zu, \"ais_betas\": %zu, \"ais_base\": "
               "\"%s\", \"seed\": %" PRIu64, s->chains, s->betas,
               gaussian ? "gaussian_part" : BASE_NAMES[s->base], s->seed);
    }
    for (size_t i = 0; i < count; i++) {
        printf(", \"%s\": ", values[i].name);
        cli_write_json_number(stdout, values[i].value);
    }
    fputs("}\n", stdout);
}

static void print_method(const eval_settings *s, const eval_report *r)
{
    size_t units = smaller_layer(r);

    bool gaussian = r->loglik_kind != NULL
                    && strcmp(r->loglik_kind, "density") == 0;

    if (gaussian && r->exact) {
        printf("%-20s exact, 2^%zu hidden states, visible units integrated "
               "in closed form\n", "method", r->hidden);
    } else if (r->loglik_kind != NULL && r->exact) {
        printf("%-20s exact, all 2^%zu joint states\n", "method",
               r->visible + r->hidden);
    } else if (r->exact) {
        printf("%-20s exact, 2^%zu states of the %s layer\n", "method",
               units, units == r->hidden ? "hidden" : "visible");
    } else {
        printf("%-20s ais, %zu chains x %zu inverse temperatures\n",
               "method", s->chains, s->betas);
    }
    if (r->ais_used) {
        printf("%-20s %s, seed %" PRIu64 "\n", "ais_base",
               gaussian ? "the model's Gaussian part (W = 0, b = 0)"
               : s->base == BASE_DATA ? "data (column means of the rows)"
                                      : "uniform",
               s->seed);
    }
}

static void print_table(const eval_settings *s, const eval_report *r)
{
    named_value values[24];
    size_t count = collect_values(r, values);

    printf("%-20s %s (%zu visible, %zu hidden units)\n", "model",
           s->model_path, r->visible, r->hidden);
    printf("%-20s %s (%zu rows, binarize %s)\n", "data", s->data_path,
           r->rows, CLI_BINARIZE_NAMES[s->binarize]);
    print_method(s, r);
    if (r->loglik_kind != NULL) {
        printf("%-20s %s\n", "mean_loglik_kind", r->loglik_kind);
    }
    for (size_t i = 0; i < count; i++) {
        if (isfinite(values[i].value)) {
            printf("%-20s %.6f\n", values[i].name, values[i].value);
        } else {
            printf("%-20s -\n", values[i].name);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Command                                                                  */
/* ------------------------------------------------------------------------ */

static int run_eval(const eval_settings *s, ebm_rbm **rbm, ebm_data *data)
{
    eval_report report;
    struct timespec start;
    int result = CLI_EXIT_OK;

    memset(&report, 0, sizeof(report));
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (s->threads_given) {
        result = cli_set_threads("eval", s->threads);
    }
    ebm_model_kind kind = EBM_MODEL_RBM;

    if (result == CLI_EXIT_OK) {
        result = cli_model_kind("eval", s->model_path, &kind);
    }
    if (result == CLI_EXIT_OK && kind == EBM_MODEL_GBRBM) {
        ebm_whitening *whitening = NULL;
        ebm_gbrbm *gb = NULL;

        result = cli_load_gbrbm("eval", s->model_path, &gb, &whitening);
        if (result == CLI_EXIT_OK) {
            /* Real-valued rows: no binarisation unless asked for. */
            size_t binarize = s->binarize_given ? s->binarize
                                                : BINARIZE_NONE;

            result = cli_load_data("eval", s->data_path, s->max_rows,
                                   binarize, s->seed, data);
            ebm_gbrbm_shape(gb, &report.visible, &report.hidden);
            report.rows = data->rows;
            if (result == CLI_EXIT_OK) {
                result = evaluate_gbrbm(s, gb, whitening, data, &report);
            }
            ebm_gbrbm_destroy(gb);
            ebm_whitening_destroy(whitening);
            report.seconds = cli_seconds_since(&start);
            {
                eval_settings used = *s;

                used.binarize = binarize;
                if (result == CLI_EXIT_OK && s->json) {
                    print_json(&used, &report);
                } else if (result == CLI_EXIT_OK) {
                    print_table(&used, &report);
                }
            }
        }
        return result;
    }
    if (result == CLI_EXIT_OK && kind == EBM_MODEL_BM) {
        ebm_bm *bm = NULL;

        result = cli_load_bm("eval", s->model_path, &bm);
        if (result == CLI_EXIT_OK) {
            result = cli_load_data("eval", s->data_path, s->max_rows,
                                   s->binarize, s->seed, data);
            ebm_bm_shape(bm, &report.visible, &report.hidden, NULL);
            report.rows = data->rows;
            if (result == CLI_EXIT_OK) {
                result = evaluate_bm(s, bm, data, &report);
            }
            ebm_bm_destroy(bm);
            report.seconds = cli_seconds_since(&start);
            if (result == CLI_EXIT_OK && s->json) {
                print_json(s, &report);
            } else if (result == CLI_EXIT_OK) {
                print_table(s, &report);
            }
        }
        return result;
    }
    if (result == CLI_EXIT_OK) {
        result = cli_load_model("eval", s->model_path, rbm);
    }
    if (result == CLI_EXIT_OK) {
        result = cli_load_data("eval", s->data_path, s->max_rows,
                               s->binarize, s->seed, data);
    }
    if (result == CLI_EXIT_OK) {
        result = cli_check_data_width("eval", s->model_path, *rbm,
                                      s->data_path, data);
    }
    if (result != CLI_EXIT_OK) {
        return result;
    }
    ebm_rbm_shape(*rbm, &report.visible, &report.hidden);
    report.rows = data->rows;
    result = evaluate(s, *rbm, data, &report);
    report.seconds = cli_seconds_since(&start);
    if (result == CLI_EXIT_OK && s->json) {
        print_json(s, &report);
    } else if (result == CLI_EXIT_OK) {
        print_table(s, &report);
    }
    return result;
}

int cli_eval(int argc, char **argv)
{
    eval_settings settings;
    ebm_rbm *rbm = NULL;
    ebm_data data = { 0, 0, NULL };
    int result = CLI_EXIT_OK;

    if (options_help_requested(argc, argv)) {
        print_help();
        return CLI_EXIT_OK;
    }
    result = parse_settings(argc, argv, &settings);
    if (result == CLI_EXIT_OK) {
        result = run_eval(&settings, &rbm, &data);
    }
    ebm_data_free(&data);
    ebm_rbm_destroy(rbm);
    return result;
}
