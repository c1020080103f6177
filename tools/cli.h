/*
 * Declarations shared by the source files of the ebm command.
 */
#ifndef EBM_CLI_H
#define EBM_CLI_H

#include <stdio.h>

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

#endif /* EBM_CLI_H */
