/*
 * Strict command-line option parsing for the ebm command.
 *
 * Options are long options only, "--name VALUE" or "--name=VALUE". Every
 * function here prints its own one-line message on stderr, prefixed with
 * "ebm COMMAND: ", and returns CLI_EXIT_USAGE on a bad command line or 0 on
 * success, so a caller can stop at the first nonzero result.
 */
#ifndef EBM_OPTIONS_H
#define EBM_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One option of a subcommand. name and takes_value are set by the caller;
 * options_parse sets given and value. */
typedef struct option_spec {
    const char *name;  /* with the leading "--", e.g. "--hidden" */
    bool takes_value;  /* false for a flag such as "--json" */
    bool given;        /* the option appeared on the command line */
    const char *value; /* its value, or NULL for an absent option or flag */
} option_spec;

/* Closed or open interval of accepted values. An infinite bound means no
 * bound on that side. */
typedef struct option_range {
    double min;
    double max;
    bool min_open; /* the interval excludes min */
    bool max_open; /* the interval excludes max */
} option_range;

/* Returns whether any argument is "--help" or "-h". */
bool options_help_requested(int argc, char **argv);

/*
 * Matches argv[0 .. argc) against specs[0 .. count). Rejects unknown
 * options, positional arguments, a missing or empty value, a value given
 * to a flag, and any option given twice. A separate value must not start
 * with "--", so "--out --json" is an error, but "--out=--json" is
 * accepted.
 */
int options_parse(const char *command, int argc, char **argv,
                  option_spec *specs, size_t count);

/* Rejects a required option that is absent. */
int options_require(const char *command, const option_spec *spec);

/* Parses a decimal integer in [min, max]: digits only, with no sign,
 * spaces or trailing characters. */
int options_parse_size(const char *command, const char *name,
                       const char *text, size_t min, size_t max,
                       size_t *out);

/* Parses a decimal integer in [0, 2^64 - 1]. */
int options_parse_u64(const char *command, const char *name,
                      const char *text, uint64_t *out);

/* Parses a finite decimal number within range: an optional sign, digits
 * with an optional decimal point, and an optional exponent such as e-3.
 * Hexadecimal numbers, inf, nan and spaces are rejected. */
int options_parse_double(const char *command, const char *name,
                         const char *text, option_range range,
                         double *out);

/* As options_parse_double, but checks the range after rounding to float,
 * so that 0.9999999999 is rejected for a range that excludes 1, and a
 * number too large for a float is rejected. */
int options_parse_float(const char *command, const char *name,
                        const char *text, option_range range, float *out);

/* Stores in *index the position of text in choices[0 .. count). */
int options_parse_choice(const char *command, const char *name,
                         const char *text, const char *const *choices,
                         size_t count, size_t *index);

#endif /* EBM_OPTIONS_H */
