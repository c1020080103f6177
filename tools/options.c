/*
 * Strict command-line option parsing for the ebm command.
 */
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

bool options_help_requested(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return true;
        }
    }
    return false;
}

/* Returns the spec whose name is the first name_length characters of arg,
 * or NULL. */
static option_spec *find_spec(const char *arg, size_t name_length,
                              option_spec *specs, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (strlen(specs[i].name) == name_length
            && strncmp(specs[i].name, arg, name_length) == 0) {
            return &specs[i];
        }
    }
    return NULL;
}

static int reject_argument(const char *command, const char *arg)
{
    if (arg[0] == '-') {
        fprintf(stderr,
                "ebm %s: unknown option '%s'; run 'ebm %s --help' for the "
                "list of options\n", command, arg, command);
    } else {
        fprintf(stderr,
                "ebm %s: unexpected argument '%s'; every value must follow "
                "its option, as in --data FILE\n", command, arg);
    }
    return CLI_EXIT_USAGE;
}

/*
 * Matches argv[*index] and, for "--name VALUE", the argument after it, and
 * advances *index past what it used.
 */
static int parse_one(const char *command, int argc, char **argv, int *index,
                     option_spec *specs, size_t count)
{
    const char *arg = argv[*index];
    const char *equals = strchr(arg, '=');
    size_t name_length = equals ? (size_t)(equals - arg) : strlen(arg);
    option_spec *spec = NULL;

    if (strncmp(arg, "--", 2) == 0) {
        spec = find_spec(arg, name_length, specs, count);
    }
    if (spec == NULL) {
        return reject_argument(command, arg);
    }
    if (spec->given) {
        fprintf(stderr, "ebm %s: option %s is given more than once\n",
                command, spec->name);
        return CLI_EXIT_USAGE;
    }
    spec->given = true;
    *index += 1;
    if (!spec->takes_value) {
        if (equals != NULL) {
            fprintf(stderr, "ebm %s: option %s takes no value\n", command,
                    spec->name);
            return CLI_EXIT_USAGE;
        }
        return 0;
    }
    if (equals != NULL) {
        spec->value = equals + 1;
        return 0;
    }
    if (*index >= argc || strncmp(argv[*index], "--", 2) == 0) {
        fprintf(stderr, "ebm %s: missing value for option %s\n", command,
                spec->name);
        return CLI_EXIT_USAGE;
    }
    spec->value = argv[*index];
    *index += 1;
    return 0;
}

/* Rejects an empty value, such as --out "" from an unset shell variable. */
static int reject_empty_value(const char *command, const option_spec *spec)
{
    if (spec->value != NULL && spec->value[0] == '\0') {
        fprintf(stderr, "ebm %s: empty value for option %s\n", command,
                spec->name);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

int options_parse(const char *command, int argc, char **argv,
                  option_spec *specs, size_t count)
{
    int index = 0;

    while (index < argc) {
        int status = parse_one(command, argc, argv, &index, specs, count);
        if (status != 0) {
            return status;
        }
    }
    for (size_t i = 0; i < count; i++) {
        if (reject_empty_value(command, &specs[i]) != 0) {
            return CLI_EXIT_USAGE;
        }
    }
    return 0;
}

int options_require(const char *command, const option_spec *spec)
{
    if (spec->given) {
        return 0;
    }
    fprintf(stderr,
            "ebm %s: missing required option %s; run 'ebm %s --help' for "
            "usage\n", command, spec->name, command);
    return CLI_EXIT_USAGE;
}

static int reject_integer(const char *command, const char *name,
                          const char *text, uintmax_t min, uintmax_t max)
{
    fprintf(stderr,
            "ebm %s: invalid value '%s' for %s: expected an integer from "
            "%ju to %ju\n", command, text, name, min, max);
    return CLI_EXIT_USAGE;
}

/* Parses a string of decimal digits into *out. Returns false on any other
 * character, an empty string or an overflow of uintmax_t. */
static bool parse_digits(const char *text, uintmax_t *out)
{
    char *end = NULL;

    if (!isdigit((unsigned char)text[0])) {
        return false;
    }
    errno = 0;
    *out = strtoumax(text, &end, 10);
    return errno == 0 && *end == '\0';
}

int options_parse_size(const char *command, const char *name,
                       const char *text, size_t min, size_t max,
                       size_t *out)
{
    uintmax_t value = 0;

    if (!parse_digits(text, &value) || value < min || value > max) {
        return reject_integer(command, name, text, min, max);
    }
    *out = (size_t)value;
    return 0;
}

int options_parse_u64(const char *command, const char *name,
                      const char *text, uint64_t *out)
{
    uintmax_t value = 0;

    if (!parse_digits(text, &value) || value > UINT64_MAX) {
        return reject_integer(command, name, text, 0, UINT64_MAX);
    }
    *out = (uint64_t)value;
    return 0;
}

static bool in_range(double value, option_range range)
{
    bool above_min = range.min_open ? value > range.min : value >= range.min;
    bool below_max = range.max_open ? value < range.max : value <= range.max;

    return above_min && below_max;
}

/* Writes the interval as "a decimal number in [0, 1)" or "a decimal number
 * > 0". */
static void print_range(FILE *out, option_range range)
{
    if (isinf(range.max)) {
        fprintf(out, "a decimal number %s %g", range.min_open ? ">" : ">=",
                range.min);
        return;
    }
    if (isinf(range.min)) {
        fprintf(out, "a decimal number %s %g", range.max_open ? "<" : "<=",
                range.max);
        return;
    }
    fprintf(out, "a decimal number in %c%g, %g%c",
            range.min_open ? '(' : '[', range.min, range.max,
            range.max_open ? ')' : ']');
}

static int reject_number(const char *command, const char *name,
                         const char *text, option_range range)
{
    fprintf(stderr, "ebm %s: invalid value '%s' for %s: expected ", command,
            text, name);
    print_range(stderr, range);
    fputc('\n', stderr);
    return CLI_EXIT_USAGE;
}

/* Returns a pointer past the decimal digits at the start of text. */
static const char *skip_digits(const char *text)
{
    while (isdigit((unsigned char)*text)) {
        text++;
    }
    return text;
}

/*
 * Returns whether text is a decimal number and nothing else: an optional
 * sign, digits with at most one decimal point and at least one digit, and
 * an optional exponent of 'e' or 'E', an optional sign and digits. This
 * rejects what strtod also accepts: leading spaces, hexadecimal numbers
 * such as 0x10, and the words inf, infinity and nan.
 */
static bool is_decimal_number(const char *text)
{
    const char *start = NULL;
    const char *end = NULL;
    size_t digits = 0;

    if (*text == '+' || *text == '-') {
        text++;
    }
    start = text;
    end = skip_digits(text);
    digits = (size_t)(end - start);
    if (*end == '.') {
        start = end + 1;
        end = skip_digits(start);
        digits += (size_t)(end - start);
    }
    if (digits == 0) {
        return false;
    }
    if (*end == 'e' || *end == 'E') {
        end++;
        if (*end == '+' || *end == '-') {
            end++;
        }
        start = end;
        end = skip_digits(start);
        if (end == start) {
            return false;
        }
    }
    return *end == '\0';
}

/* Parses a finite decimal number, as is_decimal_number defines it. */
static bool parse_finite(const char *text, double *out)
{
    char *end = NULL;

    if (!is_decimal_number(text)) {
        return false;
    }
    errno = 0;
    *out = strtod(text, &end);
    if (*end != '\0' || !isfinite(*out)) {
        return false;
    }
    /* ERANGE with a finite result is an underflow, which is harmless. */
    return errno == 0 || fabs(*out) <= DBL_MIN;
}

int options_parse_double(const char *command, const char *name,
                         const char *text, option_range range,
                         double *out)
{
    double value = 0.0;

    if (!parse_finite(text, &value) || !in_range(value, range)) {
        return reject_number(command, name, text, range);
    }
    *out = value;
    return 0;
}

int options_parse_float(const char *command, const char *name,
                        const char *text, option_range range, float *out)
{
    double value = 0.0;
    float rounded = 0.0f;

    if (options_parse_double(command, name, text, range, &value) != 0) {
        return CLI_EXIT_USAGE;
    }
    if (fabs(value) > FLT_MAX) {
        fprintf(stderr,
                "ebm %s: invalid value '%s' for %s: the magnitude must be "
                "at most %g, the largest 32-bit float\n", command, text,
                name, (double)FLT_MAX);
        return CLI_EXIT_USAGE;
    }
    rounded = (float)value;
    if (!in_range(rounded, range)) {
        fprintf(stderr,
                "ebm %s: invalid value '%s' for %s: it rounds to %.9g as a "
                "32-bit float; expected ", command,
                text, name, (double)rounded);
        print_range(stderr, range);
        fputc('\n', stderr);
        return CLI_EXIT_USAGE;
    }
    *out = rounded;
    return 0;
}

int options_parse_choice(const char *command, const char *name,
                         const char *text, const char *const *choices,
                         size_t count, size_t *index)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(text, choices[i]) == 0) {
            *index = i;
            return 0;
        }
    }
    fprintf(stderr, "ebm %s: invalid value '%s' for %s: expected ", command,
            text, name);
    for (size_t i = 0; i < count; i++) {
        fprintf(stderr, "%s%s", i == 0 ? "" : i + 1 == count ? " or " : ", ",
                choices[i]);
    }
    fputc('\n', stderr);
    return CLI_EXIT_USAGE;
}
