/* Data set helpers: ebm_data_free and ebm_data_binarize. */
#include <stdlib.h>

#include "core.h"
#include "rng.h"

void ebm_data_free(ebm_data *data)
{
    if (data == NULL)
        return;
    free(data->values);
    data->rows = 0;
    data->cols = 0;
    data->values = NULL;
}

ebm_status ebm_data_binarize(ebm_data *data, ebm_binarize_mode mode,
                             uint64_t seed)
{
    size_t count = 0;
    float *values;
    ebm_status status = ebm_check_pointer(data, "data");

    if (status != EBM_OK)
        return status;
    if (mode != EBM_BINARIZE_THRESHOLD && mode != EBM_BINARIZE_STOCHASTIC)
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "mode is %d; expected EBM_BINARIZE_THRESHOLD (0) or "
                        "EBM_BINARIZE_STOCHASTIC (1)",
                        (int)mode);
    status = ebm_mul_size(data->rows, data->cols, &count, "data");
    if (status != EBM_OK || count == 0)
        return status;
    if (data->values == NULL)
        return ebm_fail(EBM_ERR_NULL, "data->values is NULL for a %zu x %zu "
                                      "matrix",
                        data->rows, data->cols);
    /* Every value is checked before the first one changes, so the data
     * are left as they were on error. */
    status = ebm_check_unit_interval(data->values, data->rows, data->cols,
                                     "data");
    if (status != EBM_OK)
        return status;

    values = data->values;
    if (mode == EBM_BINARIZE_THRESHOLD) {
        for (size_t i = 0; i < count; i++)
            values[i] = values[i] >= 0.5f ? 1.0f : 0.0f;
    } else {
        /* Element (r, c) draws uniform r * cols + c, its row-major
         * index, of stream EBM_STREAM_BINARIZE. */
        ebm_rng_bernoulli(seed, EBM_STREAM_BINARIZE, 0, count, values,
                          values);
    }
    return EBM_OK;
}
