/*
 * Declarations shared by the source files of the ebm command.
 */
#ifndef EBM_CLI_H
#define EBM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "ebm.h"

/* Exit statuses of the ebm command. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAILURE = 1, /* a runtime failure: a file, the library */
    CLI_EXIT_USAGE = 2    /* a bad command line */
};

/* Subcommands. argv contains the arguments after the subcommand's name. Each
 * returns an exit status. */
int cli_train(int argc, char **argv);
int cli_info(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_sample(int argc, char **argv);
int cli_filters(int argc, char **argv);

/* Values of --binarize, in the order of CLI_BINARIZE_NAMES. */
enum { BINARIZE_THRESHOLD, BINARIZE_STOCHASTIC, BINARIZE_NONE };

#define CLI_BINARIZE_COUNT 3

/* "threshold", "stochastic" and "none". */
extern const char *const CLI_BINARIZE_NAMES[CLI_BINARIZE_COUNT];

/*
 * Prints "ebm COMMAND: WHAT: STATUS_NAME: DETAIL" on stderr, where WHAT is
 * formatted by printf from format and DETAIL is ebm_last_error(), or the
 * status's description when that is empty.
 */
void cli_print_library_error(const char *command, ebm_status status,
                             const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Writes a JSON number, or null when value is NaN or infinite (JSON has
 * no notation for them). */
void cli_write_json_number(FILE *out, double value);

/* Writes text as a JSON string. Bytes that are not valid UTF-8 become
 * U+FFFD, since a file name need not be UTF-8 but JSON text must be. */
void cli_write_json_string(FILE *out, const char *text);

/* Seconds of CLOCK_MONOTONIC since *start. */
double cli_seconds_since(const struct timespec *start);

/* Applies --threads T (0 = every processor) with ebm_set_threads. Prints
 * the error and returns CLI_EXIT_FAILURE if the library rejects it. */
int cli_set_threads(const char *command, size_t threads);

/*
 * Checks before a long computation that its output can be written at the
 * end: the directory of path must be writable, because the library writes
 * a temporary file there and renames it, and path must not be a
 * directory. `what` names the file in the message, such as "model".
 */
int cli_check_output_path(const char *command, const char *what,
                          const char *path);

/* Loads the model at path, printing the error on failure. */
int cli_load_model(const char *command, const char *path, ebm_rbm **out);

/* Stores which loader reads the model file at path (ebm_model_file_kind),
 * or prints the error and returns CLI_EXIT_FAILURE. */
int cli_model_kind(const char *command, const char *path,
                   ebm_model_kind *kind);

/* Load a general BM, or a Gaussian-Bernoulli RBM with its whitening (or
 * NULL), printing the loader's error on failure. */
int cli_load_bm(const char *command, const char *path, ebm_bm **out);
int cli_load_gbrbm(const char *command, const char *path, ebm_gbrbm **out,
                   ebm_whitening **whitening);

/*
 * Loads the IDX file at path, keeps its first max_rows rows (all when
 * max_rows is 0; more than the file has is a usage error) and binarizes
 * them with mode `binarize` (BINARIZE_*) and seed. Prints the error on
 * failure; *data must be freed with ebm_data_free in any case.
 */
int cli_load_data(const char *command, const char *path, size_t max_rows,
                  size_t binarize, uint64_t seed, ebm_data *data);

/* Rejects data whose rows do not have one value per visible unit of the
 * model, with CLI_EXIT_FAILURE. */
int cli_check_data_width(const char *command, const char *model_path,
                         const ebm_rbm *rbm, const char *data_path,
                         const ebm_data *data);

#endif /* EBM_CLI_H */
