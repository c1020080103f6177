/*
 * ebm filters: the weights of a saved model's hidden units as images.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ebm.h"
#include "options.h"
#include "picture.h"

enum {
    OPTION_MODEL,
    OPTION_OUT,
    OPTION_COUNT_FILTERS,
    OPTION_IMAGE,
    OPTION_COLUMNS,
    OPTION_COUNT
};

/* Filters drawn without --count, at most: a 10 x 10 grid stays readable
 * on a screen. */
#define DEFAULT_MAX_FILTERS 100

static void print_help(void)
{
    fputs(
"Usage: ebm filters --model MODEL --out FILE.png [OPTIONS]\n"
"\n"
"Draws the filters of a model saved by 'ebm train' (an RBM, a BM with\n"
"weights W, or a Gaussian-Bernoulli RBM, whose filters are mapped back\n"
"through its whitening) as a grid of 8-bit\n"
"grayscale images in a PNG file: the filter of hidden unit k is column k\n"
"of W, the weights from every visible unit to it, shown as an image. Each\n"
"filter is scaled to its own range: its most negative weight is black,\n"
"its most positive white, and a filter of equal weights gray.\n"
"\n"
"Required:\n"
"  --model MODEL       .npz model file\n"
"  --out FILE.png      PNG file to write; it is replaced atomically\n"
"\n"
"Options:\n"
"  --count N           draw the filters of the first N hidden units, 1 to\n"
"                      the number of hidden units (default: all of them,\n"
"                      but at most 100)\n"
"  --image WxH         width and height of a filter in pixels, with W x H\n"
"                      equal to the model's visible units (default: the\n"
"                      square root of the visible units when it is an\n"
"                      integer, such as 28x28 for 784)\n"
"  --columns C         filters per row of the grid (default:\n"
"                      ceil(sqrt(N)), at most N)\n"
"  --help              print this help and exit\n"
"\n"
"Exit status: 0 on success, 1 on a runtime failure, 2 on a command-line\n"
"error.\n",
        stdout);
}

/* The command line of ebm filters. count and columns are 0 when not
 * given. */
typedef struct filters_settings {
    const char *model_path;
    const char *out_path;
    const char *image_text;
    size_t count;
    size_t columns;
} filters_settings;

static int parse_settings(int argc, char **argv, filters_settings *s)
{
    option_spec specs[OPTION_COUNT] = {
        [OPTION_MODEL] = { "--model", true, false, NULL },
        [OPTION_OUT] = { "--out", true, false, NULL },
        [OPTION_COUNT_FILTERS] = { "--count", true, false, NULL },
        [OPTION_IMAGE] = { "--image", true, false, NULL },
        [OPTION_COLUMNS] = { "--columns", true, false, NULL },
    };
    const option_spec *count = &specs[OPTION_COUNT_FILTERS];
    const option_spec *columns = &specs[OPTION_COLUMNS];

    memset(s, 0, sizeof(*s));
    if (options_parse("filters", argc, argv, specs, OPTION_COUNT) != 0
        || options_require("filters", &specs[OPTION_MODEL]) != 0
        || options_require("filters", &specs[OPTION_OUT]) != 0) {
        return CLI_EXIT_USAGE;
    }
    if ((count->given
         && options_parse_size("filters", count->name, count->value, 1,
                               EBM_MAX_UNITS, &s->count) != 0)
        || (columns->given
            && options_parse_size("filters", columns->name, columns->value,
                                  1, EBM_MAX_UNITS, &s->columns) != 0)) {
        return CLI_EXIT_USAGE;
    }
    s->model_path = specs[OPTION_MODEL].value;
    s->out_path = specs[OPTION_OUT].value;
    s->image_text = specs[OPTION_IMAGE].value;
    return CLI_EXIT_OK;
}

/* Sets *count from --count, checked against the hidden units, or to the
 * default. */
static int choose_count(const filters_settings *s, size_t hidden,
                        size_t *count)
{
    if (hidden == 0) {
        fprintf(stderr, "ebm filters: model '%s' has no hidden units, so it "
                "has no filters to draw\n", s->model_path);
        return CLI_EXIT_FAILURE;
    }
    if (s->count > hidden) {
        fprintf(stderr, "ebm filters: invalid value '%zu' for --count: "
                "model '%s' has %zu hidden units\n", s->count,
                s->model_path, hidden);
        return CLI_EXIT_USAGE;
    }
    *count = s->count > 0 ? s->count
             : hidden < DEFAULT_MAX_FILTERS ? hidden : DEFAULT_MAX_FILTERS;
    return CLI_EXIT_OK;
}

static int draw_filters(const filters_settings *s, const ebm_rbm *rbm)
{
    size_t visible = 0;
    size_t hidden = 0;
    size_t count = 0;
    size_t columns = 0;
    image_shape shape;
    ebm_status status = EBM_OK;
    int result = CLI_EXIT_OK;

    ebm_rbm_shape(rbm, &visible, &hidden);
    result = choose_count(s, hidden, &count);
    if (result == CLI_EXIT_OK) {
        result = picture_parse_shape("filters", s->image_text, visible,
                                     &shape);
    }
    if (result != CLI_EXIT_OK) {
        return result;
    }
    columns = s->columns > 0 ? s->columns : picture_default_columns(count);
    status = ebm_rbm_write_filters_png(rbm, s->out_path, count,
                                       shape.height, shape.width, columns);
    if (status != EBM_OK) {
        cli_print_library_error("filters", status, "cannot write '%s'",
                                s->out_path);
        return CLI_EXIT_FAILURE;
    }
    printf("wrote the filters of %zu of %zu hidden units to '%s': images "
           "of %zu x %zu pixels, %zu per row\n", count, hidden, s->out_path,
           shape.width, shape.height, columns < count ? columns : count);
    return CLI_EXIT_OK;
}

/* A Gaussian-Bernoulli model's filters: column k of W is what hidden unit
 * k adds to the mean of the (whitened) visible units, drawn in the data's
 * own units through the inverse of the model's whitening. */
static int draw_gb_filters(const filters_settings *s, const ebm_gbrbm *model,
                           const ebm_whitening *whitening)
{
    size_t visible = 0, hidden = 0, count = 0, columns;
    image_shape shape;
    float *images;
    const float *w = ebm_gbrbm_weights(model);
    ebm_status status = EBM_OK;
    int result;

    ebm_gbrbm_shape(model, &visible, &hidden);
    result = choose_count(s, hidden, &count);
    if (result == CLI_EXIT_OK) {
        result = picture_parse_shape("filters", s->image_text, visible,
                                     &shape);
    }
    if (result != CLI_EXIT_OK) {
        return result;
    }
    images = malloc(count * visible * sizeof(float));
    if (images == NULL) {
        fprintf(stderr, "ebm filters: out of memory\n");
        return CLI_EXIT_FAILURE;
    }
    for (size_t k = 0; k < count; k++) {
        for (size_t i = 0; i < visible; i++) {
            images[k * visible + i] = w[i * hidden + k];
        }
    }
    if (whitening != NULL) {
        status = ebm_whitening_map_directions(whitening, images, count,
                                              images);
    }
    columns = s->columns > 0 ? s->columns : picture_default_columns(count);
    if (status == EBM_OK) {
        status = ebm_png_write_grid(s->out_path, images, count, shape.height,
                                    shape.width, columns);
    }
    free(images);
    if (status != EBM_OK) {
        cli_print_library_error("filters", status, "cannot write '%s'",
                                s->out_path);
        return CLI_EXIT_FAILURE;
    }
    printf("wrote the filters of %zu of %zu hidden units to '%s': images "
           "of %zu x %zu pixels, %zu per row%s\n", count, hidden,
           s->out_path, shape.width, shape.height,
           columns < count ? columns : count,
           whitening != NULL ? ", mapped back through the whitening" : "");
    return CLI_EXIT_OK;
}

/* A general BM's filters: the columns of W, as for an RBM. */
static int draw_bm_filters(const filters_settings *s, const ebm_bm *bm)
{
    size_t visible = 0, hidden = 0, count = 0, columns;
    image_shape shape;
    float *images;
    const float *w = ebm_bm_weights(bm);
    ebm_status status;
    int result;

    ebm_bm_shape(bm, &visible, &hidden, NULL);
    if (w == NULL && hidden > 0) {
        fprintf(stderr, "ebm filters: model '%s' has no weights W between "
                "its layers, so it has no filters to draw\n",
                s->model_path);
        return CLI_EXIT_FAILURE;
    }
    result = choose_count(s, hidden, &count);
    if (result == CLI_EXIT_OK) {
        result = picture_parse_shape("filters", s->image_text, visible,
                                     &shape);
    }
    if (result != CLI_EXIT_OK) {
        return result;
    }
    images = malloc(count * visible * sizeof(float));
    if (images == NULL) {
        fprintf(stderr, "ebm filters: out of memory\n");
        return CLI_EXIT_FAILURE;
    }
    for (size_t k = 0; k < count; k++) {
        for (size_t i = 0; i < visible; i++) {
            images[k * visible + i] = w[i * hidden + k];
        }
    }
    columns = s->columns > 0 ? s->columns : picture_default_columns(count);
    status = ebm_png_write_grid(s->out_path, images, count, shape.height,
                                shape.width, columns);
    free(images);
    if (status != EBM_OK) {
        cli_print_library_error("filters", status, "cannot write '%s'",
                                s->out_path);
        return CLI_EXIT_FAILURE;
    }
    printf("wrote the filters of %zu of %zu hidden units to '%s': images "
           "of %zu x %zu pixels, %zu per row\n", count, hidden,
           s->out_path, shape.width, shape.height,
           columns < count ? columns : count);
    return CLI_EXIT_OK;
}

int cli_filters(int argc, char **argv)
{
    filters_settings settings;
    ebm_rbm *rbm = NULL;
    int result = CLI_EXIT_OK;

    if (options_help_requested(argc, argv)) {
        print_help();
        return CLI_EXIT_OK;
    }
    result = parse_settings(argc, argv, &settings);
    if (result == CLI_EXIT_OK) {
        result = cli_check_output_path("filters", "picture",
                                       settings.out_path);
    }
    ebm_model_kind kind = EBM_MODEL_RBM;

    if (result == CLI_EXIT_OK) {
        result = cli_model_kind("filters", settings.model_path, &kind);
    }
    if (result == CLI_EXIT_OK && kind == EBM_MODEL_GBRBM) {
        ebm_whitening *whitening = NULL;
        ebm_gbrbm *gb = NULL;

        result = cli_load_gbrbm("filters", settings.model_path, &gb,
                                &whitening);
        if (result == CLI_EXIT_OK) {
            result = draw_gb_filters(&settings, gb, whitening);
        }
        ebm_gbrbm_destroy(gb);
        ebm_whitening_destroy(whitening);
        return result;
    }
    if (result == CLI_EXIT_OK && kind == EBM_MODEL_BM) {
        ebm_bm *bm = NULL;

        result = cli_load_bm("filters", settings.model_path, &bm);
        if (result == CLI_EXIT_OK) {
            result = draw_bm_filters(&settings, bm);
        }
        ebm_bm_destroy(bm);
        return result;
    }
    if (result == CLI_EXIT_OK) {
        result = cli_load_model("filters", settings.model_path, &rbm);
    }
    if (result == CLI_EXIT_OK) {
        result = draw_filters(&settings, rbm);
    }
    ebm_rbm_destroy(rbm);
    return result;
}
