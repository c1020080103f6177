/*
 * A progress display for long library calls, such as "\rAIS 42%" on
 * stderr. It is shown only when stderr is a terminal, so that logs and
 * pipes receive no carriage returns.
 */
#ifndef EBM_PROGRESS_H
#define EBM_PROGRESS_H

#include <stdbool.h>
#include <time.h>

typedef struct progress_meter {
    const char *label;      /* printed before the percentage */
    bool enabled;           /* stderr is a terminal */
    bool line_written;      /* the line contains a percentage to erase */
    struct timespec last;   /* CLOCK_MONOTONIC of the last refresh */
} progress_meter;

/* Prepares *meter for one computation labelled `label`. */
void progress_init(progress_meter *meter, const char *label);

/* An ebm_progress_callback: user_data is the progress_meter. Refreshes the
 * line at most 4 times per second, and always returns 0 (continue). */
int progress_update(double fraction, void *user_data);

/* Erases the line, if anything was shown. */
void progress_clear(progress_meter *meter);

#endif /* EBM_PROGRESS_H */
