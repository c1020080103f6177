/*
 * Helpers shared by the subcommands of the ebm command: messages, JSON
 * output, and loading of models and data.
 */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const CLI_BINARIZE_NAMES[CLI_BINARIZE_COUNT] = {
    "threshold", "stochastic", "none"
};

void cli_print_library_error(const char *command, ebm_status status,
                             const char *format, ...)
{
    const char *detail = ebm_last_error();
    va_list args;

    if (detail == NULL || detail[0] == '\0') {
        detail = ebm_status_message(status);
    }
    fprintf(stderr, "ebm %s: ", command);
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    fprintf(stderr, ": %s: %s\n", ebm_status_name(status), detail);
}

void cli_write_json_number(FILE *out, double value)
{
    if (isfinite(value)) {
        fprintf(out, "%.10g", value);
    } else {
        fputs("null", out);
    }
}

/* Returns the length of the valid UTF-8 sequence that starts at s, or 0
 * (overlong forms, surrogates and code points above U+10FFFF are invalid).
 * s[0] is at least 0x80. */
static size_t utf8_sequence_length(const unsigned char *s)
{
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    size_t length = 0;

    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        length = 2;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        length = 3;
        low = s[0] == 0xE0 ? 0xA0 : 0x80;
        high = s[0] == 0xED ? 0x9F : 0xBF;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        length = 4;
        low = s[0] == 0xF0 ? 0x90 : 0x80;
        high = s[0] == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (s[1] < low || s[1] > high) {
        return 0;
    }
    for (size_t i = 2; i < length; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF) {
            return 0;
        }
    }
    return length;
}

void cli_write_json_string(FILE *out, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;

    fputc('"', out);
    while (*s != '\0') {
        size_t length = *s < 0x80 ? 1 : utf8_sequence_length(s);
        if (*s == '"' || *s == '\\') {
            fprintf(out, "\\%c", *s);
        } else if (*s < 0x20) {
            fprintf(out, "\\u%04x", *s);
        } else if (length == 0) {
            fputs("\\ufffd", out);
            length = 1;
        } else {
            fwrite(s, 1, length, out);
        }
        s += length;
    }
    fputc('"', out);
}

double cli_seconds_since(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec)
           + 1e-9 * (double)(now.tv_nsec - start->tv_nsec);
}

int cli_set_threads(const char *command, size_t threads)
{
    ebm_status status = ebm_set_threads((int)threads);

    if (status != EBM_OK) {
        cli_print_library_error(command, status, "cannot use --threads %zu",
                                threads);
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

int cli_load_model(const char *command, const char *path, ebm_rbm **out)
{
    ebm_status status = ebm_rbm_load(path, out);

    if (status != EBM_OK) {
        cli_print_library_error(command, status, "cannot read model '%s'",
                                path);
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

static int binarize_data(const char *command, const char *path,
                         size_t binarize, uint64_t seed, ebm_data *data)
{
    ebm_status status = EBM_OK;

    if (binarize == BINARIZE_NONE) {
        return CLI_EXIT_OK;
    }
    status = ebm_data_binarize(data, binarize == BINARIZE_STOCHASTIC
                                         ? EBM_BINARIZE_STOCHASTIC
                                         : EBM_BINARIZE_THRESHOLD,
                               seed);
    if (status != EBM_OK) {
        cli_print_library_error(command, status, "cannot binarize '%s'",
                                path);
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

int cli_load_data(const char *command, const char *path, size_t max_rows,
                  size_t binarize, uint64_t seed, ebm_data *data)
{
    ebm_status status = ebm_data_load_idx(path, data);

    if (status != EBM_OK) {
        cli_print_library_error(command, status, "cannot read '%s'", path);
        return CLI_EXIT_FAILURE;
    }
    if (max_rows > data->rows) {
        fprintf(stderr, "ebm %s: --rows %zu exceeds the %zu rows of '%s'\n",
                command, max_rows, data->rows, path);
        return CLI_EXIT_USAGE;
    }
    if (max_rows > 0) {
        /* ebm_data_free releases all the values whatever the row count. */
        data->rows = max_rows;
    }
    return binarize_data(command, path, binarize, seed, data);
}

int cli_check_data_width(const char *command, const char *model_path,
                         const ebm_rbm *rbm, const char *data_path,
                         const ebm_data *data)
{
    size_t visible = 0;

    ebm_rbm_shape(rbm, &visible, NULL);
    if (data->cols == visible) {
        return CLI_EXIT_OK;
    }
    fprintf(stderr, "ebm %s: model '%s' has %zu visible units, but the "
            "rows of '%s' have %zu values; use data of the shape the model "
            "was trained on\n", command, model_path, visible, data_path,
            data->cols);
    return CLI_EXIT_FAILURE;
}

int cli_check_output_path(const char *command, const char *what,
                          const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t length = slash == NULL ? 1 : (size_t)(slash - path);
    char *directory = malloc(length + 2);
    struct stat info;
    int result = CLI_EXIT_OK;

    if (directory == NULL) {
        fprintf(stderr, "ebm %s: out of memory\n", command);
        return CLI_EXIT_FAILURE;
    }
    if (slash == NULL) {
        strcpy(directory, ".");
    } else {
        /* "/model.npz" is in "/", "out/model.npz" in "out". */
        length = length == 0 ? 1 : length;
        memcpy(directory, path, length);
        directory[length] = '\0';
    }
    if (access(directory, W_OK | X_OK) != 0) {
        fprintf(stderr, "ebm %s: cannot write %s '%s': directory '%s': "
                "%s\n", command, what, path, directory, strerror(errno));
        result = CLI_EXIT_FAILURE;
    } else if (stat(path, &info) == 0 && S_ISDIR(info.st_mode)) {
        fprintf(stderr, "ebm %s: cannot write %s '%s': it is a "
                "directory\n", command, what, path);
        result = CLI_EXIT_FAILURE;
    }
    free(directory);
    return result;
}

int cli_model_kind(const char *command, const char *path,
                   ebm_model_kind *kind)
{
    ebm_status status = ebm_model_file_kind(path, kind);

    if (status != EBM_OK) {
        cli_print_library_error(command, status, "cannot read model '%s'",
                                path);
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

int cli_load_bm(const char *command, const char *path, ebm_bm **out)
{
    ebm_status status = ebm_bm_load(path, out);

    if (status != EBM_OK) {
        cli_print_library_error(command, status, "cannot read model '%s'",
                                path);
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

int cli_load_gbrbm(const char *command, const char *path, ebm_gbrbm **out,
                   ebm_whitening **whitening)
{
    ebm_status status = ebm_gbrbm_load(path, out, whitening);

    if (status != EBM_OK) {
        cli_print_library_error(command, status, "cannot read model '%s'",
                                path);
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}
