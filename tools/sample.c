/*
 * ebm sample: Gibbs samples of a saved model, written as a PNG grid.
 */
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ebm.h"
#include "options.h"
#include "picture.h"

enum {
    OPTION_MODEL,
    OPTION_COUNT_CHAINS,
    OPTION_STEPS,
    OPTION_OUT,
    OPTION_TEMPERATURE,
    OPTION_SEED,
    OPTION_INIT,
    OPTION_DATA,
    OPTION_BINARIZE,
    OPTION_CLAMP,
    OPTION_IMAGE,
    OPTION_COLUMNS,
    OPTION_PROBABILITIES,
    OPTION_COUNT
};

/* Values of --init, in the order of INIT_NAMES. */
enum { INIT_RANDOM, INIT_DATA };

static const char *const INIT_NAMES[] = { "random", "data" };

/* Sides of --clamp, in the order of CLAMP_SIDES. */
enum { CLAMP_NONE = -1, CLAMP_TOP, CLAMP_BOTTOM, CLAMP_LEFT, CLAMP_RIGHT };

static const char *const CLAMP_SIDES[] = { "top", "bottom", "left", "right" };

static const option_range POSITIVE = { 0.0, INFINITY, true, false };

/* The command line of ebm sample, parsed. The image shape and the clamp
 * size are checked once the model is loaded. */
typedef struct sample_settings {
    const char *model_path;
    const char *out_path;
    const char *data_path;  /* NULL unless --init data */
    size_t count;
    unsigned steps;
    float temperature;
    uint64_t seed;
    size_t init;            /* INIT_* */
    size_t binarize;        /* BINARIZE_* */
    int clamp_side;         /* CLAMP_* */
    size_t clamp_size;      /* pixel rows or columns kept */
    const char *clamp_text; /* the value of --clamp, for messages */
    const char *image_text; /* the value of --image, or NULL */
    size_t columns;         /* 0 for the default */
    bool probabilities;
} sample_settings;

static void print_help(void)
{
    fputs(
"Usage: ebm sample --model MODEL --count N --steps T --out FILE.png\n"
"                  [OPTIONS]\n"
"\n"
"Runs N independent Gibbs chains of a model saved by 'ebm train' for T\n"
"steps each (h given v, then v given h) and writes the final visible\n"
"states as a grid of 8-bit grayscale images in a PNG file. Each image is\n"
"scaled to its own range: its smallest value is black, its largest\n"
"white, and an image of equal values gray.\n"
"For a BM with lateral couplings a step is a sweep of every unit, and the\n"
"hidden units start at fair random bits. For a Gaussian-Bernoulli RBM the\n"
"chains start at a + sigma z (or at whitened --data rows, never\n"
"binarised), the images are the visible means a + W h of the last step\n"
"mapped back through the model's whitening, and --clamp and\n"
"--probabilities do not apply.\n"
"\n"
"Required:\n"
"  --model MODEL       .npz model file\n"
"  --count N           chains, which are the images of the grid, >= 1\n"
"  --steps T           Gibbs steps per chain, 1 to 4294967295\n"
"  --out FILE.png      PNG file to write; it is replaced atomically\n"
"\n"
"Sampling:\n"
"  --temperature T     temperature of the model, > 0 (default 1); above\n"
"                      1 the samples are noisier, below 1 they stay near\n"
"                      the modes\n"
"  --seed S            random seed, 0 to 2^64 - 1 (default 1)\n"
"  --init I            random: each chain starts at uniform noise, every\n"
"                      unit 1 with probability 0.5 (default without\n"
"                      --data); data: chain i starts at row i of --data\n"
"                      (default with --data)\n"
"  --data FILE         IDX file of the starting rows for --init data, of\n"
"                      which the first N are used\n"
"  --binarize MODE     how --data is made binary: threshold (default), 1\n"
"                      where the value is >= 0.5; stochastic, 1 with\n"
"                      probability equal to the value, drawn from --seed;\n"
"                      none, the values in [0, 1] as they are\n"
"  --clamp SIDE:R      keep the R pixel rows at the top or bottom of each\n"
"                      image, or the R pixel columns at its left or right,\n"
"                      at their starting values and sample the rest:\n"
"                      top:R, bottom:R, left:R or right:R. With --init\n"
"                      data this completes images from a part, such as\n"
"                      --clamp top:14 for the lower half of a 28 x 28 digit\n"
"\n"
"Picture:\n"
"  --image WxH         width and height of an image in pixels, with W x H\n"
"                      equal to the model's visible units (default: the\n"
"                      square root of the visible units when it is an\n"
"                      integer, such as 28x28 for 784)\n"
"  --columns C         images per row of the grid (default: ceil(sqrt(N)),\n"
"                      at most N)\n"
"  --probabilities     draw P(v = 1 | h) of the last step in place of the\n"
"                      binary samples, which is often a clearer picture;\n"
"                      clamped pixels keep their starting values\n"
"  --help              print this help and exit\n"
"\n"
"Exit status: 0 on success, 1 on a runtime failure, 2 on a command-line\n"
"error.\n",
        stdout);
}

/* Parses --clamp SIDE:R into the side and R, which is checked against the
 * image shape later. */
static int parse_clamp(const option_spec *spec, sample_settings *s)
{
    const char *colon = NULL;
    size_t length = 0;

    if (!spec->given) {
        return CLI_EXIT_OK;
    }
    s->clamp_text = spec->value;
    colon = strchr(spec->value, ':');
    length = colon == NULL ? 0 : (size_t)(colon - spec->value);
    for (size_t side = 0; side < 4 && colon != NULL; side++) {
        if (strlen(CLAMP_SIDES[side]) == length
            && strncmp(spec->value, CLAMP_SIDES[side], length) == 0) {
            s->clamp_side = (int)side;
            return options_parse_size("sample", spec->name, colon + 1, 1,
                                      PICTURE_MAX_SIDE, &s->clamp_size);
        }
    }
    fprintf(stderr, "ebm sample: invalid value '%s' for --clamp: expected "
            "top:R, bottom:R, left:R or right:R with R a number of pixel "
            "rows or columns, such as top:14\n", spec->value);
    return CLI_EXIT_USAGE;
}

/* Parses --init and --data, which go together. */
static int parse_init(const option_spec *specs, sample_settings *s)
{
    const option_spec *init = &specs[OPTION_INIT];
    const option_spec *data = &specs[OPTION_DATA];
    const option_spec *binarize = &specs[OPTION_BINARIZE];

    s->init = data->given ? INIT_DATA : INIT_RANDOM;
    if (init->given
        && options_parse_choice("sample", init->name, init->value,
                                INIT_NAMES, 2, &s->init) != 0) {
        return CLI_EXIT_USAGE;
    }
    if (s->init == INIT_DATA && !data->given) {
        fprintf(stderr, "ebm sample: --init data needs --data FILE, the "
                "rows that the chains start from\n");
        return CLI_EXIT_USAGE;
    }
    if (s->init == INIT_RANDOM && (data->given || binarize->given)) {
        fprintf(stderr, "ebm sample: %s applies only to --init data\n",
                data->given ? "--data" : "--binarize");
        return CLI_EXIT_USAGE;
    }
    s->data_path = data->value;
    if (binarize->given
        && options_parse_choice("sample", binarize->name, binarize->value,
                                CLI_BINARIZE_NAMES, CLI_BINARIZE_COUNT,
                                &s->binarize) != 0) {
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

static int parse_numbers(const option_spec *specs, sample_settings *s)
{
    const option_spec *seed = &specs[OPTION_SEED];
    const option_spec *temperature = &specs[OPTION_TEMPERATURE];
    const option_spec *columns = &specs[OPTION_COLUMNS];
    size_t steps = 0;

    if (options_parse_size("sample", "--count",
                           specs[OPTION_COUNT_CHAINS].value, 1,
                           EBM_MAX_UNITS, &s->count) != 0
        || options_parse_size("sample", "--steps", specs[OPTION_STEPS].value,
                              1, UINT_MAX, &steps) != 0) {
        return CLI_EXIT_USAGE;
    }
    s->steps = (unsigned)steps;
    if ((seed->given
         && options_parse_u64("sample", seed->name, seed->value,
                              &s->seed) != 0)
        || (temperature->given
            && options_parse_float("sample", temperature->name,
                                   temperature->value, POSITIVE,
                                   &s->temperature) != 0)
        || (columns->given
            && options_parse_size("sample", columns->name, columns->value,
                                  1, EBM_MAX_UNITS, &s->columns) != 0)) {
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

static int parse_settings(int argc, char **argv, sample_settings *s)
{
    option_spec specs[OPTION_COUNT] = {
        [OPTION_MODEL] = { "--model", true, false, NULL },
        [OPTION_COUNT_CHAINS] = { "--count", true, false, NULL },
        [OPTION_STEPS] = { "--steps", true, false, NULL },
        [OPTION_OUT] = { "--out", true, false, NULL },
        [OPTION_TEMPERATURE] = { "--temperature", true, false, NULL },
        [OPTION_SEED] = { "--seed", true, false, NULL },
        [OPTION_INIT] = { "--init", true, false, NULL },
        [OPTION_DATA] = { "--data", true, false, NULL },
        [OPTION_BINARIZE] = { "--binarize", true, false, NULL },
        [OPTION_CLAMP] = { "--clamp", true, false, NULL },
        [OPTION_IMAGE] = { "--image", true, false, NULL },
        [OPTION_COLUMNS] = { "--columns", true, false, NULL },
        [OPTION_PROBABILITIES] = { "--probabilities", false, false, NULL },
    };
    static const int required[] = {
        OPTION_MODEL, OPTION_COUNT_CHAINS, OPTION_STEPS, OPTION_OUT
    };

    memset(s, 0, sizeof(*s));
    s->temperature = 1.0f;
    s->seed = 1;
    s->binarize = BINARIZE_THRESHOLD;
    s->clamp_side = CLAMP_NONE;
    if (options_parse("sample", argc, argv, specs, OPTION_COUNT) != 0) {
        return CLI_EXIT_USAGE;
    }
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        if (options_require("sample", &specs[required[i]]) != 0) {
            return CLI_EXIT_USAGE;
        }
    }
    s->model_path = specs[OPTION_MODEL].value;
    s->out_path = specs[OPTION_OUT].value;
    s->image_text = specs[OPTION_IMAGE].value;
    s->probabilities = specs[OPTION_PROBABILITIES].given;
    if (parse_numbers(specs, s) != 0 || parse_init(specs, s) != 0
        || parse_clamp(&specs[OPTION_CLAMP], s) != 0) {
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------------ */
/* Sampling                                                                 */
/* ------------------------------------------------------------------------ */

/* Buffers of one sampling run, which free_run releases. */
typedef struct sample_run {
    const sample_settings *settings;
    ebm_rbm *rbm;
    ebm_bm *bm;           /* a general BM in place of rbm, or NULL */
    ebm_gbrbm *gb;        /* a Gaussian-Bernoulli RBM, or NULL */
    ebm_whitening *whitening; /* of gb, or NULL */
    size_t visible;
    size_t hidden;        /* of bm */
    float *hidden_state;  /* count x hidden, for bm */
    image_shape shape;
    float *state;         /* count x visible */
    float *prob;          /* count x visible, or NULL */
    unsigned char *clamp; /* visible flags, or NULL */
} sample_run;

static void free_run(sample_run *run)
{
    free(run->clamp);
    free(run->prob);
    free(run->state);
    free(run->hidden_state);
    ebm_rbm_destroy(run->rbm);
    ebm_bm_destroy(run->bm);
    ebm_gbrbm_destroy(run->gb);
    ebm_whitening_destroy(run->whitening);
}

/* Builds the clamp mask for the image shape: 1 for the pixels kept. */
static int make_clamp(sample_run *run)
{
    const sample_settings *s = run->settings;
    bool vertical = s->clamp_side == CLAMP_TOP
                    || s->clamp_side == CLAMP_BOTTOM;
    size_t extent = vertical ? run->shape.height : run->shape.width;

    if (s->clamp_side == CLAMP_NONE) {
        return CLI_EXIT_OK;
    }
    if (s->clamp_size >= extent) {
        fprintf(stderr, "ebm sample: invalid value '%s' for --clamp: an "
                "image has %zu pixel %s, so at most %zu can be clamped\n",
                s->clamp_text, extent, vertical ? "rows" : "columns",
                extent - 1);
        return CLI_EXIT_USAGE;
    }
    run->clamp = calloc(run->visible, 1);
    if (run->clamp == NULL) {
        fprintf(stderr, "ebm sample: out of memory\n");
        return CLI_EXIT_FAILURE;
    }
    for (size_t i = 0; i < run->visible; i++) {
        size_t y = i / run->shape.width;
        size_t x = i % run->shape.width;
        size_t position = vertical ? y : x;
        bool from_end = s->clamp_side == CLAMP_BOTTOM
                        || s->clamp_side == CLAMP_RIGHT;

        run->clamp[i] = from_end ? position >= extent - s->clamp_size
                                 : position < s->clamp_size;
    }
    return CLI_EXIT_OK;
}

static int allocate_buffers(sample_run *run)
{
    /* picture_check_count has bounded count x visible by 2^28. */
    size_t values = run->settings->count * run->visible;

    run->state = malloc(values * sizeof(*run->state));
    if (run->state != NULL && run->bm != NULL) {
        /* Bounded as the visible states: hidden <= 2^24, count <= 2^28. */
        run->hidden_state = malloc((run->settings->count * run->hidden + 1)
                                   * sizeof(*run->hidden_state));
        if (run->hidden_state == NULL) {
            fprintf(stderr, "ebm sample: out of memory for %zu chains of %zu "
                    "hidden units\n", run->settings->count, run->hidden);
            return CLI_EXIT_FAILURE;
        }
    }
    if (run->state != NULL
        && (run->settings->probabilities || run->gb != NULL)) {
        run->prob = malloc(values * sizeof(*run->prob));
    }
    if (run->state == NULL
        || ((run->settings->probabilities || run->gb != NULL)
            && run->prob == NULL)) {
        fprintf(stderr, "ebm sample: out of memory for %zu chains of %zu "
                "units\n", run->settings->count, run->visible);
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

/* Copies the first `count` rows of --data into the chains' states. */
static int load_start_rows(sample_run *run)
{
    const sample_settings *s = run->settings;
    ebm_data data = { 0, 0, NULL };
    /* A Gaussian model starts from the real values, never binarised. */
    int result = cli_load_data("sample", s->data_path, 0,
                               run->gb != NULL ? BINARIZE_NONE : s->binarize,
                               s->seed, &data);

    if (result == CLI_EXIT_OK && (run->bm != NULL || run->gb != NULL)
        && data.cols != run->visible) {
        fprintf(stderr, "ebm sample: model '%s' has %zu visible units, but "
                "the rows of '%s' have %zu values\n", s->model_path,
                run->visible, s->data_path, data.cols);
        result = CLI_EXIT_FAILURE;
    } else if (result == CLI_EXIT_OK && run->rbm != NULL) {
        result = cli_check_data_width("sample", s->model_path, run->rbm,
                                      s->data_path, &data);
    }
    if (result == CLI_EXIT_OK && data.rows < s->count) {
        fprintf(stderr, "ebm sample: --count %zu exceeds the %zu rows of "
                "'%s', which start the chains\n", s->count, data.rows,
                s->data_path);
        result = CLI_EXIT_USAGE;
    }
    if (result == CLI_EXIT_OK) {
        memcpy(run->state, data.values,
               s->count * run->visible * sizeof(*run->state));
    }
    if (result == CLI_EXIT_OK && run->whitening != NULL) {
        ebm_status status = ebm_whitening_apply(run->whitening, run->state,
                                                s->count, run->state);

        if (status != EBM_OK) {
            cli_print_library_error("sample", status,
                                    "cannot whiten the starting rows");
            result = CLI_EXIT_FAILURE;
        }
    }
    ebm_data_free(&data);
    return result;
}

static int run_chains(sample_run *run)
{
    const sample_settings *s = run->settings;
    size_t values = s->count * run->visible;
    ebm_rng rng;
    ebm_status status = ebm_rng_init(&rng, s->seed);

    if (status == EBM_OK && s->init == INIT_RANDOM) {
        status = ebm_rng_fill_bernoulli(&rng, 0.5f, run->state, values);
    }
    if (status == EBM_OK && run->gb != NULL) {
        const float *a = ebm_gbrbm_visible_bias(run->gb);
        const float *log_sigma = ebm_gbrbm_log_sigma(run->gb);

        /* Random starts: the Gaussian part alone, a + sigma z. */
        if (s->init == INIT_RANDOM) {
            for (size_t c = 0; c < s->count; c++) {
                for (size_t i = 0; i < run->visible; i++) {
                    float u1 = ebm_rng_uniform(rng.seed, rng.stream,
                                               2 * (c * run->visible + i));
                    float u2 = ebm_rng_uniform(rng.seed, rng.stream,
                                               2 * (c * run->visible + i)
                                                   + 1);
                    double z = sqrt(-2.0 * log(u1))
                               * cos(6.283185307179586 * u2);

                    run->state[c * run->visible + i] =
                        (float)(a[i] + exp(log_sigma[i]) * z);
                }
            }
            rng.stream++;
        }
        status = ebm_gbrbm_gibbs(run->gb, run->state, s->count, s->steps,
                                 s->temperature, &rng, run->prob);
        /* The picture is the mean a + W h of the last step, in the data's
         * units: clearer than the noisy samples. */
        if (status == EBM_OK && run->whitening != NULL) {
            status = ebm_whitening_invert(run->whitening, run->prob,
                                          s->count, run->prob);
        }
    } else if (status == EBM_OK && run->bm != NULL) {
        /* The hidden units start at fair random bits; a BM's Gibbs sweep
         * resamples every unit, so --steps counts sweeps. */
        if (run->hidden > 0) {
            status = ebm_rng_fill_bernoulli(&rng, 0.5f, run->hidden_state,
                                            s->count * run->hidden);
        }
        if (status == EBM_OK) {
            status = ebm_bm_gibbs(run->bm, run->state,
                                  run->hidden > 0 ? run->hidden_state : NULL,
                                  s->count, s->steps, s->temperature,
                                  run->clamp, EBM_SAMPLER_AUTO, &rng);
        }
    } else if (status == EBM_OK) {
        status = ebm_rbm_gibbs(run->rbm, run->state, s->count, s->steps,
                               s->temperature, run->clamp, &rng, run->prob);
    }
    if (status != EBM_OK) {
        cli_print_library_error("sample", status, "Gibbs sampling failed");
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

/* Writes the samples, or the probabilities with the clamped pixels set
 * back to their fixed values. */
static int write_picture(sample_run *run, size_t columns)
{
    const sample_settings *s = run->settings;
    float *picture = run->prob != NULL ? run->prob : run->state;
    ebm_status status = EBM_OK;

    if (run->prob != NULL && run->clamp != NULL) {
        for (size_t i = 0; i < s->count * run->visible; i++) {
            if (run->clamp[i % run->visible]) {
                picture[i] = run->state[i];
            }
        }
    }
    status = ebm_png_write_grid(s->out_path, picture, s->count,
                                run->shape.height, run->shape.width,
                                columns);
    if (status != EBM_OK) {
        cli_print_library_error("sample", status, "cannot write '%s'",
                                s->out_path);
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

static int prepare_run(sample_run *run)
{
    const sample_settings *s = run->settings;
    int result = cli_check_output_path("sample", "picture", s->out_path);

    ebm_model_kind kind = EBM_MODEL_RBM;

    if (result == CLI_EXIT_OK) {
        result = cli_model_kind("sample", s->model_path, &kind);
    }
    if (result == CLI_EXIT_OK && kind == EBM_MODEL_GBRBM
        && (s->clamp_side != CLAMP_NONE || s->probabilities)) {
        fprintf(stderr, "ebm sample: %s applies to binary models; '%s' has "
                "Gaussian visible units, whose pictures are always the "
                "visible means\n",
                s->probabilities ? "--probabilities" : "--clamp",
                s->model_path);
        result = CLI_EXIT_USAGE;
    }
    if (result == CLI_EXIT_OK && kind == EBM_MODEL_GBRBM) {
        result = cli_load_gbrbm("sample", s->model_path, &run->gb,
                                &run->whitening);
    }
    if (result == CLI_EXIT_OK && kind == EBM_MODEL_BM) {
        result = cli_load_bm("sample", s->model_path, &run->bm);
    }
    if (result == CLI_EXIT_OK && run->bm != NULL && s->probabilities) {
        fprintf(stderr, "ebm sample: --probabilities applies to RBMs; "
                "'%s' is a BM with lateral couplings, so it is sampled "
                "unit by unit\n", s->model_path);
        result = CLI_EXIT_USAGE;
    }
    if (result == CLI_EXIT_OK && run->bm == NULL && run->gb == NULL) {
        result = cli_load_model("sample", s->model_path, &run->rbm);
    }
    if (result != CLI_EXIT_OK) {
        return result;
    }
    if (run->gb != NULL) {
        ebm_gbrbm_shape(run->gb, &run->visible, NULL);
    } else if (run->bm != NULL) {
        ebm_bm_shape(run->bm, &run->visible, &run->hidden, NULL);
    } else {
        ebm_rbm_shape(run->rbm, &run->visible, NULL);
    }
    result = picture_parse_shape("sample", s->image_text, run->visible,
                                 &run->shape);
    if (result == CLI_EXIT_OK) {
        result = picture_check_count("sample", s->count, run->shape);
    }
    if (result == CLI_EXIT_OK) {
        result = make_clamp(run);
    }
    if (result == CLI_EXIT_OK) {
        result = allocate_buffers(run);
    }
    if (result == CLI_EXIT_OK && s->init == INIT_DATA) {
        result = load_start_rows(run);
    }
    return result;
}

int cli_sample(int argc, char **argv)
{
    sample_settings settings;
    sample_run run;
    size_t columns = 0;
    int result = CLI_EXIT_OK;

    if (options_help_requested(argc, argv)) {
        print_help();
        return CLI_EXIT_OK;
    }
    result = parse_settings(argc, argv, &settings);
    if (result != CLI_EXIT_OK) {
        return result;
    }
    memset(&run, 0, sizeof(run));
    run.settings = &settings;
    result = prepare_run(&run);
    if (result == CLI_EXIT_OK) {
        result = run_chains(&run);
    }
    columns = settings.columns > 0 ? settings.columns
                                   : picture_default_columns(settings.count);
    if (result == CLI_EXIT_OK) {
        result = write_picture(&run, columns);
    }
    if (result == CLI_EXIT_OK) {
        printf("wrote %zu %s after %u Gibbs steps to '%s': images of %zu x "
               "%zu pixels, %zu per row\n", settings.count,
               run.gb != NULL ? "visible means (a + W h, in the data's "
                                "units)"
               : settings.probabilities ? "probability images" : "samples",
               settings.steps, settings.out_path, run.shape.width,
               run.shape.height, columns < settings.count ? columns
                                                         : settings.count);
    }
    free_run(&run);
    return result;
}
