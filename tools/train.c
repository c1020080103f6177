/*
 * ebm train: trains an RBM on an IDX file and saves it as .npz.
 */
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "ebm.h"
#include "monitor.h"
#include "options.h"
#include "train_bm.h"
#include "train_gb.h"
#include "train_limits.h"

enum {
    OPTION_DATA,
    OPTION_HIDDEN,
    OPTION_EPOCHS,
    OPTION_OUT,
    OPTION_BATCH,
    OPTION_LR,
    OPTION_MOMENTUM,
    OPTION_WEIGHT_DECAY,
    OPTION_CD,
    OPTION_PCD,
    OPTION_CHAINS,
    OPTION_SEED,
    OPTION_VALID_FRACTION,
    OPTION_THREADS,
    OPTION_JSON,
    OPTION_BINARIZE,
    OPTION_ROWS,
    OPTION_MONITOR_ROWS,
    OPTION_INIT_STDDEV,
    OPTION_AIS_EVERY,
    OPTION_AIS_CHAINS,
    OPTION_AIS_BETAS,
    OPTION_MODEL,
    OPTION_LATERAL,
    OPTION_LATTICE,
    OPTION_POSITIVE,
    OPTION_POSITIVE_STEPS,
    OPTION_SAMPLER,
    OPTION_VISIBLE,
    OPTION_LEARN_SIGMA,
    OPTION_SIGMA_LR_FACTOR,
    OPTION_WHITEN,
    OPTION_WHITEN_EPSILON,
    OPTION_SINGULAR_VALUES,
    OPTION_COUNT
};

/* Values of --visible and --whiten (as ebm_whiten_mode). */
enum { VISIBLE_BINARY, VISIBLE_GAUSSIAN };
static const char *const VISIBLE_NAMES[] = { "binary", "gaussian" };
static const char *const WHITEN_NAMES[] = { "none", "standard", "pca",
                                            "zca" };

/* Default of --whiten-epsilon: added to the covariance eigenvalues, in the
 * squared units of the data (pixels scaled to [0, 1]). */
#define DEFAULT_WHITEN_EPSILON 0.01f

/* Default --lr of --visible gaussian. */
#define DEFAULT_GAUSSIAN_LR 0.001f

/* Values of --model, --lateral, --positive and --sampler, in the order of
 * their names (--positive and --sampler as ebm_bm_positive and
 * ebm_bm_sampler). */
enum { MODEL_RBM, MODEL_BM };
static const char *const MODEL_NAMES[] = { "rbm", "bm" };
static const char *const LATERAL_NAMES[] = { "none", "visible", "hidden",
                                             "both" };
static const unsigned LATERAL_COUPLINGS[] = {
    0, EBM_BM_VISIBLE_VISIBLE, EBM_BM_HIDDEN_HIDDEN,
    EBM_BM_VISIBLE_VISIBLE | EBM_BM_HIDDEN_HIDDEN
};
static const char *const POSITIVE_NAMES[] = { "mean-field", "gibbs" };
static const char *const SAMPLER_NAMES[] = { "auto", "site", "blocked",
                                             "colored" };

/* Defaults of --ais-chains and --ais-betas, those of ebm_ais_config_init
 * and ebm eval. Fewer inverse temperatures can bias log Z by tens of
 * nats. For the 784 x 500 PCD model of scripts/demo.sh, ebm eval with
 * 1000 of them put log Z 27 nats below its estimate with 14500. */
#define DEFAULT_AIS_CHAINS 100
#define DEFAULT_AIS_BETAS 14500

/* Mixed into --seed to make the Philox key of the AIS runs, so that they
 * draw other numbers than the trainer, which is keyed by --seed itself.
 * The constant is 2^64 divided by the golden ratio. */
#define AIS_SEED_MIX UINT64_C(0x9e3779b97f4a7c15)

static const option_range POSITIVE = { 0.0, INFINITY, true, false };
static const option_range NON_NEGATIVE = { 0.0, INFINITY, false, false };
static const option_range FRACTION = { 0.0, 1.0, false, true };

/* The command line of ebm train, parsed and checked. */
typedef struct train_settings {
    const char *data_path;
    const char *out_path;
    size_t hidden;
    unsigned epochs;
    ebm_train_config config;
    double valid_fraction;
    bool threads_given;
    size_t threads;
    bool json;
    size_t binarize;  /* index into CLI_BINARIZE_NAMES */
    size_t max_rows;  /* --rows, or 0 for every row of the file */
    size_t monitor_rows;
    float init_stddev;
    size_t ais_every;  /* --ais-every, or 0 for no AIS */
    size_t ais_chains;
    size_t ais_betas;
    size_t model;        /* MODEL_* */
    size_t lateral;      /* index into LATERAL_NAMES */
    size_t lattice_rows; /* --lattice R x C, or 0 */
    size_t lattice_cols;
    ebm_bm_options bm_options;
    size_t visible;      /* VISIBLE_* */
    ebm_gbrbm_options gb_options;
    size_t whiten;       /* ebm_whiten_mode */
    float whiten_epsilon;
    bool singular_values;
} train_settings;

/* State of one training run, also the user data of the epoch callback. */
typedef struct training_run {
    const train_settings *settings;
    size_t cols;
    const float *train; /* the first n_train rows of the data */
    size_t n_train;
    const float *valid; /* the n_valid rows after them, or NULL */
    size_t n_valid;
    ebm_rbm *rbm;
    ebm_train_config config; /* with the batch size that the trainer uses */
    ebm_rbm_trainer *trainer;
    monitor monitor;
    struct timespec start; /* CLOCK_MONOTONIC before the epoch-0 line */
    unsigned last_epoch;   /* the last epoch printed */
} training_run;

static void print_help(void)
{
    fputs(
"Usage: ebm train --data FILE --hidden N --epochs E --out MODEL [OPTIONS]\n"
"\n"
"Trains a binary restricted Boltzmann machine (or, with --model bm, a\n"
"Boltzmann machine with lateral couplings) on the rows of an IDX file\n"
"(such as the MNIST images, plain or gzip-compressed) and saves it as a\n"
"NumPy .npz file with arrays W, visible_bias and hidden_bias (and V, U for\n"
"a BM). Byte values are divided by 255. The last rows are held out as the\n"
"validation set, the same rows whatever the seed.\n"
"\n"
"Required:\n"
"  --data FILE         IDX file of unsigned bytes; each index of the first\n"
"                      dimension is one row (sample)\n"
"  --hidden N          hidden units, 1 to 16777216 (0 allowed for --model\n"
"                      bm --lateral visible); the .npz file must stay\n"
"                      under 4 GiB, so visible units times hidden units\n"
"                      must be below about 2^30 (1073741824)\n"
"  --epochs E          passes over the training rows, >= 1\n"
"  --out MODEL         .npz file to write; it is replaced atomically\n"
"\n"
"Training:\n"
"  --batch B           rows per update (default 100; lowered to the number\n"
"                      of training rows if larger)\n"
"  --lr L              learning rate, > 0 (default 0.05)\n"
"  --momentum M        momentum of the updates, in [0, 1) (default 0.5)\n"
"  --weight-decay W    L2 penalty coefficient on W, >= 0 (default 0.0001)\n"
"  --cd K              contrastive divergence, K Gibbs steps per update\n"
"                      (default: --cd 1)\n"
"  --pcd K             persistent contrastive divergence, K Gibbs steps per\n"
"                      update\n"
"  --chains C          persistent chains, 1 to 16777216, --pcd only\n"
"                      (default: the batch size)\n"
"  --init-stddev S     standard deviation of the initial weights, >= 0\n"
"                      (default 0.01)\n"
"  --seed S            random seed, 0 to 2^64 - 1, of the initial weights,\n"
"                      the row order, the Gibbs sampling and --binarize\n"
"                      stochastic (default 1)\n"
"  --threads T         threads, 1 to 1024, or 0 for every online processor\n"
"                      (default: OMP_NUM_THREADS if set, else every online\n"
"                      processor); the results do not depend on it\n"
"\n"
"Data:\n"
"  --rows N            use only the first N rows of the file (default: all)\n"
"  --binarize MODE     threshold: 1 where the value is >= 0.5 (default);\n"
"                      stochastic: 1 with probability equal to the value,\n"
"                      drawn from --seed; none: train on the values in\n"
"                      [0, 1] as they are\n"
"  --valid-fraction F  fraction of the rows held out for validation, in\n"
"                      [0, 1): the last ceil(F * rows) rows (default 0.1;\n"
"                      0 = no validation set)\n"
"  --monitor-rows N    rows of the training set, and of the validation set,\n"
"                      on which the progress columns are measured: the\n"
"                      first N of each (default 1000)\n"
"\n"
"Log-likelihood (off by default):\n"
"  --ais-every N       every N epochs and after the last, estimate log Z by\n"
"                      annealed importance sampling (AIS) and print the\n"
"                      mean log-likelihood of the validation monitor rows\n"
"                      (column ais_ll_valid); needs a validation set\n"
"  --ais-chains C      AIS runs, 1 to 16777216 (default 100)\n"
"  --ais-betas N       inverse temperatures of each run, 2 to 4294967295\n"
"                      (default 14500, as for 'ebm eval'; the time grows\n"
"                      linearly with C x N). Fewer make a quicker estimate\n"
"                      that tends to put log Z too low, and so the\n"
"                      log-likelihood too high. The runs draw from a key\n"
"                      derived from --seed and start from independent\n"
"                      units with the column means of the training rows\n"
"\n",
        stdout);
    fputs(
"Gaussian visible units (real-valued data):\n"
"  --visible V         binary (default) or gaussian: a Gaussian-Bernoulli\n"
"                      RBM on the values in [0, 1] (--binarize defaults to\n"
"                      none, --lr to 0.001)\n"
"  --learn-sigma       learn each visible unit's standard deviation (as\n"
"                      log sigma); default: fixed, at 1 with a whitening,\n"
"                      else at the column standard deviations raised to\n"
"                      at least a tenth of their mean\n"
"  --sigma-lr-factor F learning rate of log sigma over --lr (default 0.1)\n"
"  --whiten W          none (default), standard, pca or zca: a transform\n"
"                      fitted on the training rows, stored in the model and\n"
"                      applied by 'ebm eval' and 'ebm sample'\n"
"  --whiten-epsilon E  added to the covariance eigenvalues by pca and zca,\n"
"                      >= 0 (default 0.01)\n"
"  --singular-values   print the singular values of W after each epoch\n"
"                      (all in JSON, the largest 5 in the table)\n"
"  Progress columns: recon_error (squared error of the mean-field\n"
"  reconstruction, whitened units), fe_gap, mean_sigma, samples/s and\n"
"  seconds. fe_gap starts above 0 with a whitening, which is fitted on\n"
"  the training rows only.\n"
"\n"
"General Boltzmann machines:\n"
"  --model M           rbm (default) or bm\n"
"  --lateral L         couplings besides W of --model bm: none (default),\n"
"                      visible (V), hidden (U) or both\n"
"  --lattice RxC       restrict V to the 4-neighbour lattice of R x C sites\n"
"                      (R x C must be the row width, such as 28x28)\n"
"  --positive P        hidden units given the data: mean-field (default)\n"
"                      or gibbs (sweeps with the data clamped)\n"
"  --positive-steps N  mean-field iterations or Gibbs sweeps (default 10)\n"
"  --sampler S         sequential Gibbs scheme: auto (default), site,\n"
"                      blocked or colored; all sample the same chain\n"
"  A BM's progress columns are pll_train and pll_valid without hidden\n"
"  units, else mf_gap: the mean-field bound on log sum_h exp(-E(v, h)) of\n"
"  the training monitor rows minus that of the validation monitor rows\n"
"  (mean_field_gap in JSON), which grows when the model overfits.\n"
"  --cd K and --pcd K count sweeps of every unit.\n"
"\n"
"Output:\n"
"  --json              print each epoch as one JSON object per line on\n"
"                      stdout, and every other message on stderr\n"
"  --help              print this help and exit\n"
"\n",
        stdout);
    /* Two strings, each within the 4095 characters that C11 compilers
     * must support. */
    fputs(
"Progress columns, with the --json key where it differs:\n"
"  epoch        0 is the initial model\n"
"  recon_error  mean over the training monitor rows of the squared error\n"
"               of the mean-field reconstruction, summed over the units\n"
"  pll_train    mean pseudo-log-likelihood per row in nats of the\n"
"               training monitor rows (pseudo_loglik_train); higher is\n"
"               better\n"
"  pll_valid    the same on the validation monitor rows\n"
"               (pseudo_loglik_valid)\n"
"  fe_gap       mean free energy of the validation monitor rows minus that\n"
"               of the training monitor rows (free_energy_gap); it grows\n"
"               when the model overfits\n"
"  ais_ll_valid with --ais-every, mean log-likelihood per row in nats of\n"
"               the validation monitor rows from the AIS estimate of log Z\n"
"               (ais_loglik_valid, with ais_log_z, the estimate itself)\n"
"  samples/s    training rows per second of the epoch's updates\n"
"               (samples_per_sec)\n"
"  seconds      wall time since training started, monitoring included\n"
"With --binarize none the pseudo-log-likelihood is measured on\n"
"threshold-binarized copies of the monitor rows. '-' (null in JSON) marks\n"
"a value that does not apply.\n"
"\n"
"Exit status: 0 on success, 1 on a runtime failure, 2 on a command-line\n"
"error.\n",
        stdout);
}

static int parse_size_option(const option_spec *spec, size_t min,
                             size_t max, size_t *out)
{
    if (!spec->given) {
        return 0;
    }
    return options_parse_size("train", spec->name, spec->value, min, max,
                              out);
}

static int parse_float_option(const option_spec *spec, option_range range,
                              float *out)
{
    if (!spec->given) {
        return 0;
    }
    return options_parse_float("train", spec->name, spec->value, range,
                               out);
}

static int parse_required(const option_spec *specs, train_settings *s)
{
    static const int required[] = {
        OPTION_DATA, OPTION_HIDDEN, OPTION_EPOCHS, OPTION_OUT
    };
    size_t epochs = 0;

    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        if (options_require("train", &specs[required[i]]) != 0) {
            return CLI_EXIT_USAGE;
        }
    }
    s->data_path = specs[OPTION_DATA].value;
    s->out_path = specs[OPTION_OUT].value;
    /* Only a BM may lack hidden units (the fully visible BM). */
    bool bm = specs[OPTION_MODEL].given
              && strcmp(specs[OPTION_MODEL].value, "bm") == 0;

    if (parse_size_option(&specs[OPTION_HIDDEN], bm ? 0 : 1, EBM_MAX_UNITS,
                          &s->hidden) != 0
        || parse_size_option(&specs[OPTION_EPOCHS], 1, UINT_MAX,
                             &epochs) != 0) {
        return CLI_EXIT_USAGE;
    }
    s->epochs = (unsigned)epochs;
    return 0;
}

/* Parses --cd, --pcd and --chains into the method, k and chains. */
static int parse_method(const option_spec *specs, ebm_train_config *config)
{
    const option_spec *cd = &specs[OPTION_CD];
    const option_spec *pcd = &specs[OPTION_PCD];
    const option_spec *chains = &specs[OPTION_CHAINS];
    size_t steps = config->gibbs_steps;

    if (cd->given && pcd->given) {
        fprintf(stderr, "ebm train: --cd and --pcd cannot be used "
                "together; choose one method\n");
        return CLI_EXIT_USAGE;
    }
    if (chains->given && !pcd->given) {
        fprintf(stderr, "ebm train: --chains applies only to --pcd; CD "
                "starts its chains at each batch\n");
        return CLI_EXIT_USAGE;
    }
    config->method = pcd->given ? EBM_PCD : EBM_CD;
    if (parse_size_option(pcd->given ? pcd : cd, 1, UINT_MAX, &steps) != 0
        || parse_size_option(chains, 1, EBM_MAX_UNITS,
                             &config->chains) != 0) {
        return CLI_EXIT_USAGE;
    }
    config->gibbs_steps = (unsigned)steps;
    return 0;
}

static int parse_optimizer(const option_spec *specs,
                           ebm_train_config *config)
{
    if (parse_size_option(&specs[OPTION_BATCH], 1, SIZE_MAX,
                          &config->batch_size) != 0
        || parse_float_option(&specs[OPTION_LR], POSITIVE,
                              &config->learning_rate) != 0
        || parse_float_option(&specs[OPTION_MOMENTUM], FRACTION,
                              &config->momentum) != 0
        || parse_float_option(&specs[OPTION_WEIGHT_DECAY], NON_NEGATIVE,
                              &config->weight_decay) != 0) {
        return CLI_EXIT_USAGE;
    }
    return 0;
}

static int parse_data_options(const option_spec *specs, train_settings *s)
{
    const option_spec *fraction = &specs[OPTION_VALID_FRACTION];
    const option_spec *binarize = &specs[OPTION_BINARIZE];
    const option_spec *seed = &specs[OPTION_SEED];

    if (fraction->given
        && options_parse_double("train", fraction->name, fraction->value,
                                FRACTION, &s->valid_fraction) != 0) {
        return CLI_EXIT_USAGE;
    }
    if (binarize->given
        && options_parse_choice("train", binarize->name, binarize->value,
                                CLI_BINARIZE_NAMES, CLI_BINARIZE_COUNT,
                                &s->binarize) != 0) {
        return CLI_EXIT_USAGE;
    }
    if (seed->given
        && options_parse_u64("train", seed->name, seed->value,
                             &s->config.seed) != 0) {
        return CLI_EXIT_USAGE;
    }
    if (parse_size_option(&specs[OPTION_ROWS], 1, SIZE_MAX,
                          &s->max_rows) != 0
        || parse_size_option(&specs[OPTION_MONITOR_ROWS], 1, SIZE_MAX,
                             &s->monitor_rows) != 0
        || parse_size_option(&specs[OPTION_THREADS], 0, 1024,
                             &s->threads) != 0
        || parse_float_option(&specs[OPTION_INIT_STDDEV], NON_NEGATIVE,
                              &s->init_stddev) != 0) {
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* Parses --ais-every, --ais-chains and --ais-betas. Runs after
 * --valid-fraction is parsed, because the log-likelihood is measured on
 * the validation rows. */
static int parse_ais_options(const option_spec *specs, train_settings *s)
{
    const option_spec *every = &specs[OPTION_AIS_EVERY];
    const option_spec *chains = &specs[OPTION_AIS_CHAINS];
    const option_spec *betas = &specs[OPTION_AIS_BETAS];

    if (!every->given && (chains->given || betas->given)) {
        fprintf(stderr, "ebm train: %s applies only with --ais-every N\n",
                chains->given ? chains->name : betas->name);
        return CLI_EXIT_USAGE;
    }
    if (every->given && s->valid_fraction == 0.0) {
        fprintf(stderr, "ebm train: --ais-every measures the log-likelihood "
                "of the validation rows, so it needs --valid-fraction above "
                "0\n");
        return CLI_EXIT_USAGE;
    }
    if (parse_size_option(every, 1, UINT_MAX, &s->ais_every) != 0
        || parse_size_option(chains, 1, EBM_MAX_UNITS, &s->ais_chains) != 0
        || parse_size_option(betas, 2, UINT32_MAX, &s->ais_betas) != 0) {
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* Parses --lattice RxC: two positive integers joined by 'x'. */
static int parse_lattice(const option_spec *spec, train_settings *s)
{
    const char *x = strchr(spec->value, 'x');
    char rows[32];
    size_t length = x != NULL ? (size_t)(x - spec->value) : 0;

    if (x == NULL || length == 0 || length >= sizeof rows
        || strchr(x + 1, 'x') != NULL) {
        fprintf(stderr, "ebm train: --lattice '%s': expected ROWSxCOLS, "
                "such as 28x28\n", spec->value);
        return CLI_EXIT_USAGE;
    }
    memcpy(rows, spec->value, length);
    rows[length] = '\0';
    if (options_parse_size("train", spec->name, rows, 1, EBM_MAX_UNITS,
                           &s->lattice_rows) != 0
        || options_parse_size("train", spec->name, x + 1, 1, EBM_MAX_UNITS,
                              &s->lattice_cols) != 0) {
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* Parses the options of --model bm and rejects them for --model rbm, and
 * the RBM-only options for --model bm. */
static int parse_model_options(const option_spec *specs, train_settings *s)
{
    static const int bm_only[] = { OPTION_LATERAL, OPTION_LATTICE,
                                   OPTION_POSITIVE, OPTION_POSITIVE_STEPS,
                                   OPTION_SAMPLER };
    const option_spec *model = &specs[OPTION_MODEL];
    size_t choice = 0, steps = 0;

    ebm_bm_options_init(&s->bm_options);
    if (model->given
        && options_parse_choice("train", model->name, model->value,
                                MODEL_NAMES, 2, &s->model) != 0) {
        return CLI_EXIT_USAGE;
    }
    if (s->model == MODEL_RBM) {
        for (size_t i = 0; i < sizeof bm_only / sizeof bm_only[0]; i++) {
            if (specs[bm_only[i]].given) {
                fprintf(stderr, "ebm train: %s applies only to --model "
                        "bm\n", specs[bm_only[i]].name);
                return CLI_EXIT_USAGE;
            }
        }
        return 0;
    }
    if (specs[OPTION_AIS_EVERY].given) {
        fprintf(stderr, "ebm train: --ais-every applies only to --model "
                "rbm; measure a BM with 'ebm eval'\n");
        return CLI_EXIT_USAGE;
    }
    if (s->binarize == BINARIZE_NONE) {
        fprintf(stderr, "ebm train: --model bm trains on binary rows; use "
                "--binarize threshold or stochastic\n");
        return CLI_EXIT_USAGE;
    }
    if ((specs[OPTION_LATERAL].given
         && options_parse_choice("train", "--lateral",
                                 specs[OPTION_LATERAL].value, LATERAL_NAMES,
                                 4, &s->lateral) != 0)
        || (specs[OPTION_POSITIVE].given
            && options_parse_choice("train", "--positive",
                                    specs[OPTION_POSITIVE].value,
                                    POSITIVE_NAMES, 2, &choice) != 0)) {
        return CLI_EXIT_USAGE;
    }
    s->bm_options.positive = (ebm_bm_positive)choice;
    choice = 0;
    if ((specs[OPTION_SAMPLER].given
         && options_parse_choice("train", "--sampler",
                                 specs[OPTION_SAMPLER].value, SAMPLER_NAMES,
                                 4, &choice) != 0)
        || parse_size_option(&specs[OPTION_POSITIVE_STEPS], 1, UINT_MAX,
                             &steps) != 0) {
        return CLI_EXIT_USAGE;
    }
    s->bm_options.sampler = (ebm_bm_sampler)choice;
    if (steps > 0) {
        s->bm_options.positive_steps = (unsigned)steps;
    }
    if (s->hidden == 0 && !(LATERAL_COUPLINGS[s->lateral]
                            & EBM_BM_VISIBLE_VISIBLE)) {
        fprintf(stderr, "ebm train: a BM without hidden units needs "
                "--lateral visible\n");
        return CLI_EXIT_USAGE;
    }
    if (s->hidden == 0 && (specs[OPTION_POSITIVE].given
                           || specs[OPTION_POSITIVE_STEPS].given)) {
        fprintf(stderr, "ebm train: --positive and --positive-steps set how "
                "hidden units are filled in, but --hidden is 0\n");
        return CLI_EXIT_USAGE;
    }
    if (s->hidden == 0 && (LATERAL_COUPLINGS[s->lateral]
                           & EBM_BM_HIDDEN_HIDDEN)) {
        fprintf(stderr, "ebm train: --lateral %s couples hidden units, but "
                "--hidden is 0\n", LATERAL_NAMES[s->lateral]);
        return CLI_EXIT_USAGE;
    }
    if (specs[OPTION_LATTICE].given) {
        if (!(LATERAL_COUPLINGS[s->lateral] & EBM_BM_VISIBLE_VISIBLE)) {
            fprintf(stderr, "ebm train: --lattice masks the visible "
                    "couplings, so it needs --lateral visible or both\n");
            return CLI_EXIT_USAGE;
        }
        return parse_lattice(&specs[OPTION_LATTICE], s);
    }
    return 0;
}

/* Parses --visible and the options of Gaussian visible units, and rejects
 * them with binary units. */
static int parse_visible_options(const option_spec *specs,
                                 train_settings *s)
{
    static const int gaussian_only[] = { OPTION_LEARN_SIGMA,
                                         OPTION_SIGMA_LR_FACTOR,
                                         OPTION_WHITEN,
                                         OPTION_WHITEN_EPSILON,
                                         OPTION_SINGULAR_VALUES };
    const option_spec *visible = &specs[OPTION_VISIBLE];

    ebm_gbrbm_options_init(&s->gb_options);
    s->whiten_epsilon = DEFAULT_WHITEN_EPSILON;
    if (visible->given
        && options_parse_choice("train", visible->name, visible->value,
                                VISIBLE_NAMES, 2, &s->visible) != 0) {
        return CLI_EXIT_USAGE;
    }
    if (s->visible == VISIBLE_BINARY) {
        for (size_t i = 0; i < sizeof gaussian_only / sizeof gaussian_only[0];
             i++) {
            if (specs[gaussian_only[i]].given) {
                fprintf(stderr, "ebm train: %s applies only to --visible "
                        "gaussian\n", specs[gaussian_only[i]].name);
                return CLI_EXIT_USAGE;
            }
        }
        return 0;
    }
    if (s->model == MODEL_BM) {
        fprintf(stderr, "ebm train: --visible gaussian is an RBM; it cannot "
                "be combined with --model bm\n");
        return CLI_EXIT_USAGE;
    }
    if (specs[OPTION_AIS_EVERY].given) {
        fprintf(stderr, "ebm train: --ais-every applies to binary units; "
                "measure a Gaussian model with 'ebm eval'\n");
        return CLI_EXIT_USAGE;
    }
    if (!specs[OPTION_BINARIZE].given) {
        s->binarize = BINARIZE_NONE;
    }
    /* The binary default of 0.05 diverges with Gaussian units, whose
     * updates scale with 1 / sigma^2. */
    if (!specs[OPTION_LR].given) {
        s->config.learning_rate = DEFAULT_GAUSSIAN_LR;
    }
    s->gb_options.learn_sigma = specs[OPTION_LEARN_SIGMA].given;
    s->singular_values = specs[OPTION_SINGULAR_VALUES].given;
    if ((specs[OPTION_WHITEN].given
         && options_parse_choice("train", "--whiten",
                                 specs[OPTION_WHITEN].value, WHITEN_NAMES, 4,
                                 &s->whiten) != 0)
        || parse_float_option(&specs[OPTION_WHITEN_EPSILON], NON_NEGATIVE,
                              &s->whiten_epsilon) != 0
        || parse_float_option(&specs[OPTION_SIGMA_LR_FACTOR], NON_NEGATIVE,
                              &s->gb_options.sigma_rate_factor) != 0) {
        return CLI_EXIT_USAGE;
    }
    if (specs[OPTION_SIGMA_LR_FACTOR].given && !s->gb_options.learn_sigma) {
        fprintf(stderr, "ebm train: --sigma-lr-factor applies only with "
                "--learn-sigma\n");
        return CLI_EXIT_USAGE;
    }
    return 0;
}

static int parse_settings(int argc, char **argv, train_settings *s)
{
    option_spec specs[OPTION_COUNT] = {
        [OPTION_DATA] = { "--data", true, false, NULL },
        [OPTION_HIDDEN] = { "--hidden", true, false, NULL },
        [OPTION_EPOCHS] = { "--epochs", true, false, NULL },
        [OPTION_OUT] = { "--out", true, false, NULL },
        [OPTION_BATCH] = { "--batch", true, false, NULL },
        [OPTION_LR] = { "--lr", true, false, NULL },
        [OPTION_MOMENTUM] = { "--momentum", true, false, NULL },
        [OPTION_WEIGHT_DECAY] = { "--weight-decay", true, false, NULL },
        [OPTION_CD] = { "--cd", true, false, NULL },
        [OPTION_PCD] = { "--pcd", true, false, NULL },
        [OPTION_CHAINS] = { "--chains", true, false, NULL },
        [OPTION_SEED] = { "--seed", true, false, NULL },
        [OPTION_VALID_FRACTION] = { "--valid-fraction", true, false, NULL },
        [OPTION_THREADS] = { "--threads", true, false, NULL },
        [OPTION_JSON] = { "--json", false, false, NULL },
        [OPTION_BINARIZE] = { "--binarize", true, false, NULL },
        [OPTION_ROWS] = { "--rows", true, false, NULL },
        [OPTION_MONITOR_ROWS] = { "--monitor-rows", true, false, NULL },
        [OPTION_INIT_STDDEV] = { "--init-stddev", true, false, NULL },
        [OPTION_AIS_EVERY] = { "--ais-every", true, false, NULL },
        [OPTION_AIS_CHAINS] = { "--ais-chains", true, false, NULL },
        [OPTION_AIS_BETAS] = { "--ais-betas", true, false, NULL },
        [OPTION_MODEL] = { "--model", true, false, NULL },
        [OPTION_LATERAL] = { "--lateral", true, false, NULL },
        [OPTION_LATTICE] = { "--lattice", true, false, NULL },
        [OPTION_POSITIVE] = { "--positive", true, false, NULL },
        [OPTION_POSITIVE_STEPS] = { "--positive-steps", true, false, NULL },
        [OPTION_SAMPLER] = { "--sampler", true, false, NULL },
        [OPTION_VISIBLE] = { "--visible", true, false, NULL },
        [OPTION_LEARN_SIGMA] = { "--learn-sigma", false, false, NULL },
        [OPTION_SIGMA_LR_FACTOR] = { "--sigma-lr-factor", true, false,
                                     NULL },
        [OPTION_WHITEN] = { "--whiten", true, false, NULL },
        [OPTION_WHITEN_EPSILON] = { "--whiten-epsilon", true, false, NULL },
        [OPTION_SINGULAR_VALUES] = { "--singular-values", false, false,
                                     NULL },
    };

    memset(s, 0, sizeof *s);
    ebm_train_config_init(&s->config);
    s->valid_fraction = 0.1;
    s->binarize = BINARIZE_THRESHOLD;
    s->monitor_rows = 1000;
    s->init_stddev = 0.01f;
    s->ais_chains = DEFAULT_AIS_CHAINS;
    s->ais_betas = DEFAULT_AIS_BETAS;
    if (options_parse("train", argc, argv, specs, OPTION_COUNT) != 0
        || parse_required(specs, s) != 0
        || parse_method(specs, &s->config) != 0
        || parse_optimizer(specs, &s->config) != 0
        || parse_data_options(specs, s) != 0
        || parse_ais_options(specs, s) != 0
        || parse_model_options(specs, s) != 0
        || parse_visible_options(specs, s) != 0) {
        return CLI_EXIT_USAGE;
    }
    s->json = specs[OPTION_JSON].given;
    s->threads_given = specs[OPTION_THREADS].given;
    return 0;
}

/* Rejects data of one column, such as the MNIST labels, which would train
 * a model of one visible unit. */
static int check_columns(const char *path, const ebm_data *data)
{
    if (data->cols >= 2) {
        return CLI_EXIT_OK;
    }
    fprintf(stderr, "ebm train: '%s' has one value per row (%zu rows x 1 "
            "column); a model needs rows of several values, such as "
            "images\n", path, data->rows);
    return CLI_EXIT_FAILURE;
}

/* Loads the file, keeps the first --rows rows and binarizes them. */
static int load_data(const train_settings *s, ebm_data *data)
{
    int result = cli_load_data("train", s->data_path, s->max_rows,
                               s->binarize, s->config.seed, data);

    if (result != CLI_EXIT_OK) {
        return result;
    }
    return check_columns(s->data_path, data);
}

/*
 * Returns ceil(fraction * rows). A product within a relative 1e-12 of an
 * integer counts as that integer, so that the decimal fraction the user
 * typed decides: 0.7 * 100 is 70.00000000000001 in double, but means 70.
 */
static size_t count_validation_rows(double fraction, size_t rows)
{
    double product = fraction * (double)rows;
    double nearest = round(product);

    if (fabs(product - nearest) <= 1e-12 * product) {
        return (size_t)nearest;
    }
    return (size_t)ceil(product);
}

/* Splits the rows into training rows and the last rows for validation. */
static int split_rows(training_run *run, const ebm_data *data)
{
    const train_settings *s = run->settings;
    size_t n_valid = count_validation_rows(s->valid_fraction, data->rows);

    if (n_valid >= data->rows) {
        fprintf(stderr, "ebm train: --valid-fraction %g leaves no training "
                "rows out of %zu; lower it or use more rows\n",
                s->valid_fraction, data->rows);
        return CLI_EXIT_USAGE;
    }
    run->cols = data->cols;
    run->n_train = data->rows - n_valid;
    run->train = data->values;
    run->n_valid = n_valid;
    run->valid = n_valid > 0 ? data->values + run->n_train * data->cols
                             : NULL;
    return CLI_EXIT_OK;
}

static int create_model(training_run *run)
{
    const train_settings *s = run->settings;
    ebm_status status = ebm_rbm_create(run->cols, s->hidden, &run->rbm);

    if (status != EBM_OK) {
        cli_print_library_error("train", status, "cannot create a model "
                                "with %zu visible and %zu hidden units",
                                run->cols, s->hidden);
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

static int initialize_model(training_run *run)
{
    const train_settings *s = run->settings;
    ebm_status status = ebm_rbm_initialize(run->rbm, run->train,
                                           run->n_train, s->init_stddev,
                                           s->config.seed);

    if (status != EBM_OK) {
        cli_print_library_error("train", status,
                                "cannot initialize the model");
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

/* Creates the trainer before training starts, so that settings it
 * rejects, such as too many chains, fail before the first progress line.
 * A batch larger than the training set becomes one batch of all rows. */
static int create_trainer(training_run *run)
{
    size_t requested_batch = run->settings->config.batch_size;
    ebm_status status = EBM_OK;

    run->config = run->settings->config;
    if (run->config.batch_size > run->n_train) {
        run->config.batch_size = run->n_train;
    }
    if (train_limits_check_trainer(run->rbm, &run->config, requested_batch)
        != CLI_EXIT_OK) {
        return CLI_EXIT_USAGE;
    }
    status = ebm_rbm_trainer_create(run->rbm, &run->config, &run->trainer);
    if (status != EBM_OK) {
        cli_print_library_error("train", status,
                                "cannot create the trainer");
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

/* Returns the file for messages other than the progress lines. */
static FILE *message_stream(const train_settings *s)
{
    return s->json ? stderr : stdout;
}

/* Prints the settings of the run on one line, with the batch size and
 * chains that the trainer uses. The libebm version and the BLAS build and
 * kernel are printed because results are bitwise reproducible only with
 * the same ones. */
static void print_settings(const training_run *run)
{
    const train_settings *s = run->settings;
    const ebm_train_config *c = &run->config;
    FILE *out = message_stream(s);
    size_t batch = c->batch_size;

    fprintf(out, "settings: data='%s' rows=%zu train_rows=%zu "
            "valid_rows=%zu visible=%zu hidden=%zu binarize=%s "
            "method=%s-%u", s->data_path, run->n_train + run->n_valid,
            run->n_train, run->n_valid, run->cols, s->hidden,
            CLI_BINARIZE_NAMES[s->binarize],
            c->method == EBM_PCD ? "PCD" : "CD", c->gibbs_steps);
    if (c->method == EBM_PCD) {
        fprintf(out, " chains=%zu", c->chains > 0 ? c->chains : batch);
    }
    fprintf(out, " batch=%zu lr=%g momentum=%g weight_decay=%g "
            "init_stddev=%g epochs=%u monitor_rows=%zu seed=%" PRIu64
            " threads=%d libebm=%s blas='%s' out='%s'", batch,
            (double)c->learning_rate, (double)c->momentum,
            (double)c->weight_decay, (double)s->init_stddev, s->epochs,
            run->monitor.n_train, c->seed, ebm_get_threads(),
            ebm_version(), ebm_blas_info(), s->out_path);
    if (s->ais_every > 0) {
        fprintf(out, " ais_every=%zu ais_chains=%zu ais_betas=%zu",
                s->ais_every, s->ais_chains, s->ais_betas);
    }
    fputc('\n', out);
    fflush(out);
}

/* Measures the model and prints one progress line. Returns false after
 * printing the error if a measure fails. */
/* Returns whether --ais-every requests an AIS estimate after epoch. */
static bool wants_ais(const train_settings *s, unsigned epoch)
{
    if (s->ais_every == 0 || epoch == 0) {
        return false;
    }
    return epoch % s->ais_every == 0 || epoch == s->epochs;
}

static bool measure_ais(training_run *run, const ebm_rbm *rbm,
                        epoch_metrics *metrics)
{
    const train_settings *s = run->settings;
    ebm_ais_config config;

    ebm_ais_config_init(&config);
    config.chains = s->ais_chains;
    config.betas = s->ais_betas;
    config.seed = s->config.seed ^ AIS_SEED_MIX;
    config.base_data = run->train;
    config.base_rows = run->n_train;
    return monitor_measure_ais(&run->monitor, rbm, config, metrics);
}

static bool print_progress(training_run *run, const ebm_rbm *rbm,
                           unsigned epoch, double samples_per_sec)
{
    const train_settings *s = run->settings;
    epoch_metrics metrics;

    if (!monitor_measure(&run->monitor, rbm, &metrics)) {
        return false;
    }
    if (wants_ais(s, epoch) && !measure_ais(run, rbm, &metrics)) {
        return false;
    }
    metrics.epoch = epoch;
    metrics.samples_per_sec = samples_per_sec;
    metrics.seconds = cli_seconds_since(&run->start);
    monitor_print_metrics(stdout, &metrics, s->json, s->ais_every > 0);
    run->last_epoch = epoch;
    return true;
}

static int on_epoch(const ebm_rbm *rbm, const ebm_epoch_report *report,
                    void *user_data)
{
    double samples_per_sec = NAN;

    if (report->seconds > 0.0) {
        samples_per_sec = (double)report->rows / report->seconds;
    }
    return print_progress(user_data, rbm, report->epoch, samples_per_sec)
               ? 0
               : 1;
}

static int report_fit_failure(const training_run *run, ebm_status status)
{
    if (status == EBM_STOPPED) {
        /* on_epoch has printed why it stopped training. */
        return CLI_EXIT_FAILURE;
    }
    if (status == EBM_ERR_DIVERGED) {
        cli_print_library_error("train", status,
                                "training diverged in epoch %u, so the "
                                "model was not saved (try a --lr below %g)",
                                run->last_epoch + 1,
                                (double)run->config.learning_rate);
        return CLI_EXIT_FAILURE;
    }
    cli_print_library_error("train", status, "training failed, so the "
                            "model was not saved");
    return CLI_EXIT_FAILURE;
}

static int fit_and_save(training_run *run)
{
    const train_settings *s = run->settings;
    FILE *out = message_stream(s);
    ebm_status status = EBM_OK;

    clock_gettime(CLOCK_MONOTONIC, &run->start);
    if (!s->json) {
        monitor_print_header(stdout, s->ais_every > 0);
    }
    if (!print_progress(run, run->rbm, 0, NAN)) {
        return CLI_EXIT_FAILURE;
    }
    status = ebm_rbm_trainer_fit(run->trainer, run->rbm, run->train,
                                 run->n_train, s->epochs, on_epoch, run);
    if (status != EBM_OK) {
        return report_fit_failure(run, status);
    }
    status = ebm_rbm_save(run->rbm, s->out_path);
    if (status != EBM_OK) {
        cli_print_library_error("train", status, "cannot write model '%s'",
                                s->out_path);
        return CLI_EXIT_FAILURE;
    }
    fprintf(out, "saved model to '%s'\n", s->out_path);
    if (!s->json) {
        printf("load it in Python with numpy.load('%s'): arrays W (%zu x "
               "%zu), visible_bias, hidden_bias\n", s->out_path, run->cols,
               s->hidden);
    }
    return CLI_EXIT_OK;
}

/* Runs the steps before training, stopping at the first that fails. The
 * size checks come before any large allocation, and the trainer is
 * created before the weights are drawn, which takes time for a large
 * model. */
static int prepare_run(training_run *run, const ebm_data *data)
{
    const train_settings *s = run->settings;
    int result = split_rows(run, data);

    if (result == CLI_EXIT_OK) {
        result = train_limits_check_model(run->cols, s->hidden);
    }
    if (result == CLI_EXIT_OK) {
        result = create_model(run);
    }
    if (result == CLI_EXIT_OK) {
        result = create_trainer(run);
    }
    if (result == CLI_EXIT_OK) {
        result = initialize_model(run);
    }
    if (result == CLI_EXIT_OK
        && !monitor_init(&run->monitor, run->train, run->n_train,
                         run->valid, run->n_valid, run->cols,
                         s->monitor_rows, s->binarize != BINARIZE_NONE)) {
        result = CLI_EXIT_FAILURE;
    }
    return result;
}

/* --model bm: hands the split rows to train_bm.c. */
static int train_bm_on_data(const train_settings *s, const ebm_data *data)
{
    training_run run = { .settings = s };
    train_bm_request request;
    int result = split_rows(&run, data);

    if (result != CLI_EXIT_OK) {
        return result;
    }
    if (s->lattice_rows > 0
        && (s->lattice_cols > run.cols / s->lattice_rows
            || s->lattice_rows * s->lattice_cols != run.cols)) {
        fprintf(stderr, "ebm train: --lattice %zux%zu has %zu x %zu sites, "
                "but the rows of '%s' have %zu values\n", s->lattice_rows,
                s->lattice_cols, s->lattice_rows, s->lattice_cols,
                s->data_path, run.cols);
        return CLI_EXIT_USAGE;
    }
    request = (train_bm_request){
        .data_path = s->data_path,
        .out_path = s->out_path,
        .hidden = s->hidden,
        .couplings = LATERAL_COUPLINGS[s->lateral]
                     | (s->hidden > 0 ? EBM_BM_VISIBLE_HIDDEN : 0),
        .lattice_rows = s->lattice_rows,
        .lattice_cols = s->lattice_cols,
        .epochs = s->epochs,
        .config = s->config,
        .options = s->bm_options,
        .init_stddev = s->init_stddev,
        .json = s->json,
        .monitor_rows = s->monitor_rows,
        .binarize_name = CLI_BINARIZE_NAMES[s->binarize],
        .train = run.train,
        .n_train = run.n_train,
        .valid = run.valid,
        .n_valid = run.n_valid,
        .cols = run.cols,
    };
    if (request.config.batch_size > run.n_train) {
        request.config.batch_size = run.n_train;
    }
    return train_bm_run(&request);
}

/* --visible gaussian: hands the split rows to train_gb.c. */
static int train_gb_on_data(const train_settings *s, const ebm_data *data)
{
    training_run run = { .settings = s };
    train_gb_request request;
    int result = split_rows(&run, data);

    if (result != CLI_EXIT_OK) {
        return result;
    }
    request = (train_gb_request){
        .data_path = s->data_path,
        .out_path = s->out_path,
        .hidden = s->hidden,
        .epochs = s->epochs,
        .config = s->config,
        .options = s->gb_options,
        .whiten = (ebm_whiten_mode)s->whiten,
        .whiten_epsilon = s->whiten_epsilon,
        .singular_values = s->singular_values,
        .init_stddev = s->init_stddev,
        .json = s->json,
        .monitor_rows = s->monitor_rows,
        .train = run.train,
        .n_train = run.n_train,
        .valid = run.valid,
        .n_valid = run.n_valid,
        .cols = run.cols,
    };
    if (request.config.batch_size > run.n_train) {
        request.config.batch_size = run.n_train;
    }
    return train_gb_run(&request);
}

static int train_on_data(const train_settings *s, const ebm_data *data)
{
    training_run run = { .settings = s };
    int result;

    if (s->model == MODEL_BM) {
        return train_bm_on_data(s, data);
    }
    if (s->visible == VISIBLE_GAUSSIAN) {
        return train_gb_on_data(s, data);
    }
    result = prepare_run(&run, data);

    if (result == CLI_EXIT_OK) {
        print_settings(&run);
        result = fit_and_save(&run);
    }
    monitor_free(&run.monitor);
    ebm_rbm_trainer_destroy(run.trainer);
    ebm_rbm_destroy(run.rbm);
    return result;
}

static int apply_threads(const train_settings *s)
{
    if (!s->threads_given) {
        return CLI_EXIT_OK;
    }
    return cli_set_threads("train", s->threads);
}

int cli_train(int argc, char **argv)
{
    train_settings settings;
    ebm_data data = { 0, 0, NULL };
    int result = CLI_EXIT_OK;

    if (options_help_requested(argc, argv)) {
        print_help();
        return CLI_EXIT_OK;
    }
    result = parse_settings(argc, argv, &settings);
    if (result == CLI_EXIT_OK) {
        result = cli_check_output_path("train", "model",
                                       settings.out_path);
    }
    if (result == CLI_EXIT_OK) {
        result = apply_threads(&settings);
    }
    if (result == CLI_EXIT_OK) {
        result = load_data(&settings, &data);
    }
    if (result == CLI_EXIT_OK) {
        result = train_on_data(&settings, &data);
    }
    ebm_data_free(&data);
    return result;
}
