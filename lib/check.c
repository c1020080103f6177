/* Argument checks used at the public boundary. */
#include <math.h>
#include <string.h>

#include "core.h"

ebm_status ebm_mul_size(size_t a, size_t b, size_t *product, const char *name)
{
    if (a != 0 && b > SIZE_MAX / a)
        return ebm_fail(EBM_ERR_OVERFLOW, "%s: %zu x %zu overflows size_t",
                        name, a, b);
    *product = a * b;
    return EBM_OK;
}

ebm_status ebm_check_pointer(const void *pointer, const char *name)
{
    if (pointer == NULL)
        return ebm_fail(EBM_ERR_NULL, "%s is NULL", name);
    return EBM_OK;
}

/* Index of the first NaN or infinite element, or count. Each block is
 * first tested with an integer OR over the exponent bits, which vectorises;
 * the position is searched only in a block that fails. */
static size_t find_nonfinite(const float *values, size_t count)
{
    const size_t block = 1024;

    for (size_t start = 0; start < count; start += block) {
        size_t end = ebm_min_size(start + block, count);
        uint32_t all_ones_exponent = 0;

        for (size_t i = start; i < end; i++) {
            uint32_t bits;

            memcpy(&bits, &values[i], sizeof(bits));
            all_ones_exponent |= (bits & 0x7f800000u) == 0x7f800000u;
        }
        if (all_ones_exponent) {
            for (size_t i = start; i < end; i++)
                if (!isfinite(values[i]))
                    return i;
        }
    }
    return count;
}

static size_t find_outside_unit(const float *values, size_t count)
{
    const size_t block = 1024;

    for (size_t start = 0; start < count; start += block) {
        size_t end = ebm_min_size(start + block, count);
        int outside = 0;

        for (size_t i = start; i < end; i++)
            outside |= (values[i] < 0.0f) | (values[i] > 1.0f);
        if (outside) {
            for (size_t i = start; i < end; i++)
                if (values[i] < 0.0f || values[i] > 1.0f)
                    return i;
        }
    }
    return count;
}

static size_t find_nonbinary(const float *values, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (values[i] != 0.0f && values[i] != 1.0f)
            return i;
    return count;
}

ebm_status ebm_check_finite(const float *values, size_t rows, size_t cols,
                            const char *name)
{
    size_t count = rows * cols;
    size_t bad = find_nonfinite(values, count);

    if (bad < count)
        return ebm_fail(EBM_ERR_NONFINITE,
                        "%s contains %g at row %zu, column %zu", name,
                        (double)values[bad], bad / cols, bad % cols);
    return EBM_OK;
}

ebm_status ebm_check_unit_interval(const float *values, size_t rows,
                                   size_t cols, const char *name)
{
    size_t count = rows * cols;
    size_t bad;
    ebm_status status = ebm_check_finite(values, rows, cols, name);

    if (status != EBM_OK)
        return status;
    bad = find_outside_unit(values, count);
    if (bad < count)
        return ebm_fail(EBM_ERR_DOMAIN,
                        "%s contains %g at row %zu, column %zu; binary units "
                        "take values in [0, 1]",
                        name, (double)values[bad], bad / cols, bad % cols);
    return EBM_OK;
}

ebm_status ebm_check_binary(const float *values, size_t rows, size_t cols,
                            const char *name)
{
    size_t count = rows * cols;
    size_t bad;
    ebm_status status = ebm_check_finite(values, rows, cols, name);

    if (status != EBM_OK)
        return status;
    bad = find_nonbinary(values, count);
    if (bad < count)
        return ebm_fail(EBM_ERR_DOMAIN,
                        "%s contains %g at row %zu, column %zu; expected "
                        "exactly 0 or 1 (binarize the data first)",
                        name, (double)values[bad], bad / cols, bad % cols);
    return EBM_OK;
}

ebm_status ebm_check_disjoint(const void *a, size_t a_bytes,
                              const char *a_name, const void *b,
                              size_t b_bytes, const char *b_name)
{
    uintptr_t a_begin = (uintptr_t)a, b_begin = (uintptr_t)b;

    if (a_begin < b_begin + b_bytes && b_begin < a_begin + a_bytes)
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "%s and %s overlap in memory; pass separate buffers",
                        a_name, b_name);
    return EBM_OK;
}

ebm_status ebm_check_positive(float value, const char *name)
{
    if (!(isfinite(value) && value > 0.0f))
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "%s is %g; expected a finite value > 0", name,
                        (double)value);
    return EBM_OK;
}

ebm_status ebm_check_batch(const float *values, size_t rows, size_t cols,
                           const char *name)
{
    size_t count;
    ebm_status status = ebm_check_pointer(values, name);

    if (status != EBM_OK)
        return status;
    if (rows == 0)
        return ebm_fail(EBM_ERR_SIZE, "%s has 0 rows", name);
    status = ebm_mul_size(rows, cols, &count, name);
    if (status != EBM_OK)
        return status;
    return ebm_check_unit_interval(values, rows, cols, name);
}

ebm_status ebm_check_train_config(const ebm_train_config *config)
{
    if (config->method != EBM_CD && config->method != EBM_PCD)
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "method is %d; expected EBM_CD or EBM_PCD",
                        (int)config->method);
    if (config->gibbs_steps == 0)
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "gibbs_steps is 0; expected at least 1");
    if (config->batch_size == 0)
        return ebm_fail(EBM_ERR_SIZE, "batch_size is 0");
    if (config->batch_size > EBM_MAX_UNITS ||
        config->chains > EBM_MAX_UNITS)
        return ebm_fail(EBM_ERR_LIMIT,
                        "batch_size %zu or chains %zu exceeds %zu rows",
                        config->batch_size, config->chains, EBM_MAX_UNITS);
    if (!(isfinite(config->learning_rate) && config->learning_rate > 0.0f))
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "learning_rate is %g; expected a finite value > 0",
                        (double)config->learning_rate);
    if (!(config->momentum >= 0.0f && config->momentum < 1.0f))
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "momentum is %g; expected a value in [0, 1)",
                        (double)config->momentum);
    if (!(isfinite(config->weight_decay) && config->weight_decay >= 0.0f))
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "weight_decay is %g; expected a finite value >= 0",
                        (double)config->weight_decay);
    return EBM_OK;
}
