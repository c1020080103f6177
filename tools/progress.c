/*
 * A progress display for long library calls on a terminal's stderr.
 */
#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Refreshes per second: enough to look alive, few enough to cost nothing
 * and not to flicker. */
#define PROGRESS_REFRESH_HZ 4.0

void progress_init(progress_meter *meter, const char *label)
{
    memset(meter, 0, sizeof(*meter));
    meter->label = label;
    meter->enabled = isatty(STDERR_FILENO) == 1;
}

int progress_update(double fraction, void *user_data)
{
    progress_meter *meter = user_data;

    if (!meter->enabled) {
        return 0;
    }
    if (meter->line_written
        && cli_seconds_since(&meter->last) < 1.0 / PROGRESS_REFRESH_HZ) {
        return 0;
    }
    clock_gettime(CLOCK_MONOTONIC, &meter->last);
    /* Truncated, so that 100% means done. */
    fprintf(stderr, "\r%s %3d%%", meter->label, (int)(100.0 * fraction));
    fflush(stderr);
    meter->line_written = true;
    return 0;
}

void progress_clear(progress_meter *meter)
{
    if (!meter->line_written) {
        return;
    }
    /* Overwrites the label, the space and "100%". */
    fprintf(stderr, "\r%*s\r", (int)strlen(meter->label) + 5, "");
    fflush(stderr);
    meter->line_written = false;
}
