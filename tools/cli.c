/*
 * Output helpers shared by the subcommands of the ebm command.
 */
#include "cli.h"

#include <math.h>
#include <stdarg.h>

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
