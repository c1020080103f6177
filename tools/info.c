/*
 * ebm info: sizes and parameter statistics of a saved model.
 */
#include <math.h>
#include <stdlib.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ebm.h"
#include "options.h"

enum { OPTION_MODEL, OPTION_JSON, OPTION_COUNT };

/* Statistics of one parameter array, computed in double. */
typedef struct array_stats {
    const char *name;
    double min;
    double max;
    double mean;
    double stddev; /* population standard deviation (divides by n) */
} array_stats;

/* Everything that ebm info prints. */
typedef struct model_summary {
    const char *path;
    size_t n_visible;
    size_t n_hidden;
    size_t parameters;
    const char *model_type; /* "rbm", or "bm" with lateral couplings */
    size_t n_arrays;
    array_stats arrays[5];  /* W, visible bias, hidden bias, then V, U */
    double weight_norm;     /* Frobenius norm of W */
} model_summary;

static void print_help(void)
{
    fputs("Usage: ebm info --model MODEL [--json]\n"
          "\n"
          "Prints the sizes of a model saved by 'ebm train' (or by\n"
          "numpy.savez with arrays W, visible_bias and hidden_bias) and,\n"
          "for W, the visible bias and the hidden bias, the minimum,\n"
          "maximum, mean and standard deviation of the values (population\n"
          "standard deviation, computed in double precision), plus the\n"
          "Frobenius norm of W. A BM with lateral couplings ('ebm train\n"
          "--model bm') also gets rows for V and U (each coupled pair once,\n"
          "only within a mask), and a Gaussian-Bernoulli RBM one for log\n"
          "sigma. '-' marks an empty array.\n"
          "\n"
          "Options:\n"
          "  --model MODEL  the .npz model file to read (required)\n"
          "  --json         print one JSON object instead of a table\n"
          "  --help         print this help and exit\n",
          stdout);
}

/* Two passes, so that the variance does not suffer from cancellation. */
static array_stats compute_stats(const char *name, const float *values,
                                 size_t count)
{
    array_stats stats = { name, NAN, NAN, NAN, NAN };
    double sum = 0.0;
    double squares = 0.0;

    if (count == 0) {
        return stats;
    }
    stats.min = stats.max = values[0];

    for (size_t i = 0; i < count; i++) {
        stats.min = fmin(stats.min, values[i]);
        stats.max = fmax(stats.max, values[i]);
        sum += values[i];
    }
    stats.mean = sum / (double)count;
    for (size_t i = 0; i < count; i++) {
        double deviation = values[i] - stats.mean;
        squares += deviation * deviation;
    }
    stats.stddev = sqrt(squares / (double)count);
    return stats;
}

static double frobenius_norm(const float *values, size_t count)
{
    double squares = 0.0;

    for (size_t i = 0; i < count; i++) {
        squares += (double)values[i] * values[i];
    }
    return sqrt(squares);
}

static model_summary summarize(const char *path, const ebm_rbm *rbm)
{
    model_summary summary = { .path = path };
    size_t d = 0;
    size_t k = 0;

    ebm_rbm_shape(rbm, &d, &k);
    summary.n_visible = d;
    summary.n_hidden = k;
    summary.parameters = d * k + d + k;
    summary.model_type = "rbm";
    summary.n_arrays = 3;
    summary.arrays[0] = compute_stats("W", ebm_rbm_weights(rbm), d * k);
    summary.arrays[1] = compute_stats("visible_bias",
                                      ebm_rbm_visible_bias(rbm), d);
    summary.arrays[2] = compute_stats("hidden_bias",
                                      ebm_rbm_hidden_bias(rbm), k);
    summary.weight_norm = frobenius_norm(ebm_rbm_weights(rbm), d * k);
    return summary;
}

/* Statistics of the couplings of a symmetric n x n matrix with zero
 * diagonal: each pair i < j once, and only the pairs of the mask, if any.
 * *pairs receives their number. */
static array_stats lateral_stats(const char *name, const float *values,
                                 const unsigned char *mask, size_t n,
                                 size_t *pairs)
{
    float *upper = malloc((n * (n - 1) / 2 + 1) * sizeof(float));
    size_t count = 0;
    array_stats stats = { name, NAN, NAN, NAN, NAN };

    if (upper == NULL) {
        *pairs = 0;
        return stats;
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            if (mask == NULL || mask[i * n + j]) {
                upper[count++] = values[i * n + j];
            }
        }
    }
    stats = compute_stats(name, upper, count);
    free(upper);
    *pairs = count;
    return stats;
}

static model_summary summarize_bm(const char *path, const ebm_bm *bm)
{
    model_summary summary = { .path = path, .model_type = "bm" };
    const float *w = ebm_bm_weights(bm);
    size_t d = 0;
    size_t k = 0;

    ebm_bm_shape(bm, &d, &k, NULL);
    summary.n_visible = d;
    summary.n_hidden = k;
    summary.parameters = d + k;
    summary.arrays[0] = compute_stats("W", w, w != NULL ? d * k : 0);
    summary.arrays[1] = compute_stats("visible_bias",
                                      ebm_bm_visible_bias(bm), d);
    summary.arrays[2] = compute_stats("hidden_bias",
                                      ebm_bm_hidden_bias(bm), k);
    summary.n_arrays = 3;
    summary.parameters += w != NULL ? d * k : 0;
    if (ebm_bm_visible_couplings(bm) != NULL) {
        size_t pairs = 0;

        summary.arrays[summary.n_arrays++] =
            lateral_stats("V", ebm_bm_visible_couplings(bm),
                          ebm_bm_mask(bm, 0), d, &pairs);
        summary.parameters += pairs;
    }
    if (ebm_bm_hidden_couplings(bm) != NULL) {
        size_t pairs = 0;

        summary.arrays[summary.n_arrays++] =
            lateral_stats("U", ebm_bm_hidden_couplings(bm),
                          ebm_bm_mask(bm, 1), k, &pairs);
        summary.parameters += pairs;
    }
    summary.weight_norm = frobenius_norm(w, w != NULL ? d * k : 0);
    return summary;
}

static model_summary summarize_gbrbm(const char *path,
                                     const ebm_gbrbm *model)
{
    model_summary summary = { .path = path, .model_type = "gbrbm" };
    size_t d = 0;
    size_t k = 0;

    ebm_gbrbm_shape(model, &d, &k);
    summary.n_visible = d;
    summary.n_hidden = k;
    summary.parameters = d * k + 2 * d + k;
    summary.n_arrays = 4;
    summary.arrays[0] = compute_stats("W", ebm_gbrbm_weights(model), d * k);
    summary.arrays[1] = compute_stats("visible_bias",
                                      ebm_gbrbm_visible_bias(model), d);
    summary.arrays[2] = compute_stats("hidden_bias",
                                      ebm_gbrbm_hidden_bias(model), k);
    summary.arrays[3] = compute_stats("log_sigma",
                                      ebm_gbrbm_log_sigma(model), d);
    summary.weight_norm = frobenius_norm(ebm_gbrbm_weights(model), d * k);
    return summary;
}

static void print_table(const model_summary *summary)
{
    printf("file              %s\n", summary->path);
    printf("visible units     %zu\n", summary->n_visible);
    printf("hidden units      %zu\n", summary->n_hidden);
    if (strcmp(summary->model_type, "bm") == 0) {
        printf("model             general BM\n");
        printf("parameters        %zu (W, biases, and each coupled pair of "
               "V and U once)\n", summary->parameters);
    } else if (strcmp(summary->model_type, "gbrbm") == 0) {
        printf("model             Gaussian-Bernoulli RBM\n");
        printf("parameters        %zu (D * K + 2 D + K, with log sigma)\n",
               summary->parameters);
    } else {
        printf("parameters        %zu (D * K + D + K)\n",
               summary->parameters);
    }
    printf("\n%-14s %13s %13s %13s %13s\n", "array", "min", "max", "mean",
           "stddev");
    for (size_t i = 0; i < summary->n_arrays; i++) {
        const array_stats *stats = &summary->arrays[i];

        if (isnan(stats->min)) {
            printf("%-14s %13s %13s %13s %13s\n", stats->name, "-", "-",
                   "-", "-");
            continue;
        }
        printf("%-14s %13.6g %13.6g %13.6g %13.6g\n", stats->name,
               stats->min, stats->max, stats->mean, stats->stddev);
    }
    printf("\nFrobenius norm of W: %.6g\n", summary->weight_norm);
}

static void write_json_stats(FILE *out, const array_stats *stats)
{
    fprintf(out, "\"%s\": {\"min\": ", stats->name);
    cli_write_json_number(out, stats->min);
    fputs(", \"max\": ", out);
    cli_write_json_number(out, stats->max);
    fputs(", \"mean\": ", out);
    cli_write_json_number(out, stats->mean);
    fputs(", \"stddev\": ", out);
    cli_write_json_number(out, stats->stddev);
    fputs("}, ", out);
}

static void print_json(const model_summary *summary)
{
    fputs("{\"file\": ", stdout);
    cli_write_json_string(stdout, summary->path);
    printf(", \"visible_units\": %zu, \"hidden_units\": %zu, "
           "\"parameters\": %zu, \"model_type\": \"%s\", ",
           summary->n_visible, summary->n_hidden, summary->parameters,
           summary->model_type);
    for (size_t i = 0; i < summary->n_arrays; i++) {
        write_json_stats(stdout, &summary->arrays[i]);
    }
    fputs("\"W_frobenius_norm\": ", stdout);
    cli_write_json_number(stdout, summary->weight_norm);
    fputs("}\n", stdout);
}

int cli_info(int argc, char **argv)
{
    option_spec specs[OPTION_COUNT] = {
        [OPTION_MODEL] = { .name = "--model", .takes_value = true },
        [OPTION_JSON] = { .name = "--json" },
    };
    const char *path = NULL;
    ebm_rbm *rbm = NULL;
    ebm_bm *bm = NULL;
    ebm_model_kind kind = EBM_MODEL_RBM;
    ebm_status status = EBM_OK;
    model_summary summary;

    if (options_help_requested(argc, argv)) {
        print_help();
        return CLI_EXIT_OK;
    }
    if (options_parse("info", argc, argv, specs, OPTION_COUNT) != 0
        || options_require("info", &specs[OPTION_MODEL]) != 0) {
        return CLI_EXIT_USAGE;
    }
    path = specs[OPTION_MODEL].value;
    if (cli_model_kind("info", path, &kind) != CLI_EXIT_OK) {
        return CLI_EXIT_FAILURE;
    }
    if (kind == EBM_MODEL_BM || kind == EBM_MODEL_GBRBM) {
        ebm_gbrbm *gb = NULL;
        ebm_whitening *whitening = NULL;

        if (kind == EBM_MODEL_BM
                ? cli_load_bm("info", path, &bm) != CLI_EXIT_OK
                : cli_load_gbrbm("info", path, &gb, &whitening)
                      != CLI_EXIT_OK) {
            return CLI_EXIT_FAILURE;
        }
        summary = kind == EBM_MODEL_BM ? summarize_bm(path, bm)
                                       : summarize_gbrbm(path, gb);
        if (specs[OPTION_JSON].given) {
            print_json(&summary);
        } else {
            print_table(&summary);
        }
        ebm_bm_destroy(bm);
        ebm_gbrbm_destroy(gb);
        ebm_whitening_destroy(whitening);
        return CLI_EXIT_OK;
    }
    status = ebm_rbm_load(path, &rbm);
    if (status != EBM_OK) {
        cli_print_library_error("info", status, "cannot read model '%s'",
                                path);
        return CLI_EXIT_FAILURE;
    }
    summary = summarize(path, rbm);
    if (specs[OPTION_JSON].given) {
        print_json(&summary);
    } else {
        print_table(&summary);
    }
    ebm_rbm_destroy(rbm);
    return CLI_EXIT_OK;
}
