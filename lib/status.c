/* Status names and messages, and the per-thread error detail. */
#include <stdarg.h>
#include <stdio.h>

#include "core.h"

#define EBM_DETAIL_SIZE 512

static _Thread_local char ebm_detail[EBM_DETAIL_SIZE];

struct ebm_status_entry {
    const char *name;
    const char *message;
};

/* Indexed by the status value. */
static const struct ebm_status_entry ebm_status_table[] = {
    {"EBM_OK", "success"},
    {"EBM_STOPPED", "training stopped by the epoch callback"},
    {"EBM_ERR_NULL", "a required pointer argument is NULL"},
    {"EBM_ERR_SIZE", "a size is zero or inconsistent"},
    {"EBM_ERR_OVERFLOW", "a product of sizes overflows size_t"},
    {"EBM_ERR_ARGUMENT", "an argument is outside its valid range"},
    {"EBM_ERR_NONFINITE", "a value is NaN or infinite"},
    {"EBM_ERR_DOMAIN", "data outside the domain of the units"},
    {"EBM_ERR_MISMATCH", "dimensions do not match"},
    {"EBM_ERR_DIVERGED", "the update would make a parameter non-finite"},
    {"EBM_ERR_NOMEM", "out of memory"},
    {"EBM_ERR_IO", "input/output error"},
    {"EBM_ERR_FORMAT", "invalid or corrupted file"},
    {"EBM_ERR_TRUNCATED", "file is truncated"},
    {"EBM_ERR_VERSION", "unsupported file format version"},
    {"EBM_ERR_LIMIT", "dimension exceeds the library's limits"},
    {"EBM_ERR_UNSUPPORTED", "not supported by this version"},
    {"EBM_ERR_LAPACK", "a LAPACK routine failed"},
};

#define EBM_STATUS_COUNT \
    (sizeof(ebm_status_table) / sizeof(ebm_status_table[0]))

const char *ebm_version(void)
{
    return "0.1.0";
}

const char *ebm_status_name(ebm_status status)
{
    if ((unsigned)status >= EBM_STATUS_COUNT)
        return "EBM_ERR_UNKNOWN";
    return ebm_status_table[status].name;
}

const char *ebm_status_message(ebm_status status)
{
    if ((unsigned)status >= EBM_STATUS_COUNT)
        return "unknown status";
    return ebm_status_table[status].message;
}

const char *ebm_last_error(void)
{
    return ebm_detail;
}

ebm_status ebm_fail(ebm_status status, const char *format, ...)
{
    va_list args;

    va_start(args, format);
    vsnprintf(ebm_detail, sizeof(ebm_detail), format, args);
    va_end(args);
    return status;
}
