/*
 * Checks of ebm train's sizes against the limits of libebm.
 */
#include "train_limits.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"

/*
 * The .npz writer of ebm_rbm_save stores no zip64 records, so it rejects
 * with EBM_ERR_LIMIT a model file of 2^32 - 1 bytes or more.
 */
#define NPZ_MAX_FILE_BYTES ((uint64_t)UINT32_MAX - 1)

/*
 * Upper bound on the bytes of a model file other than the floats of W,
 * visible_bias and hidden_bias: zip headers, the central directory, four
 * .npy headers and format_version. ebm_rbm_save of libebm 0.1.0 writes 950
 * such bytes for any shape, and the bound also covers .npy headers of 192
 * bytes, the capacity of its .npy header writer. NOTE: a model whose file
 * would end less than 330 bytes below the limit is rejected although it
 * could be saved.
 */
#define NPZ_OVERHEAD_BOUND ((uint64_t)1280)

size_t train_limits_max_savable_hidden(size_t visible)
{
    /* The file contains 4 * (visible * hidden + visible + hidden) bytes of
     * floats, so hidden may be at most the result below. */
    uint64_t room = NPZ_MAX_FILE_BYTES - NPZ_OVERHEAD_BOUND
                    - 4 * (uint64_t)visible;

    return (size_t)(room / (4 * ((uint64_t)visible + 1)));
}

/* Ends a --hidden error with the largest value that would work. */
static void print_hidden_maximum(size_t visible)
{
    size_t hidden = train_limits_max_savable_hidden(visible);

    fprintf(stderr, "; with %zu visible units the maximum is --hidden %zu "
            "(W of %zu x %zu = %" PRIu64 " weights)\n", visible, hidden,
            visible, hidden, (uint64_t)visible * hidden);
}

int train_limits_check_model(size_t visible, size_t hidden)
{
    uint64_t weights = (uint64_t)visible * hidden;

    if (weights > EBM_MAX_ELEMENTS) {
        fprintf(stderr, "ebm train: invalid value '%zu' for --hidden: %zu "
                "visible x %zu hidden units make %" PRIu64 " weights, "
                "above the library's limit of %zu (EBM_MAX_ELEMENTS)",
                hidden, visible, hidden, weights, EBM_MAX_ELEMENTS);
        print_hidden_maximum(visible);
        return CLI_EXIT_USAGE;
    }
    if (hidden > train_limits_max_savable_hidden(visible)) {
        fprintf(stderr, "ebm train: invalid value '%zu' for --hidden: the "
                "model could not be saved, because the .npz writer stores "
                "no zip64 records and so limits the file to under 4 GiB",
                hidden);
        print_hidden_maximum(visible);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* Prints why the trainer's buffers exceed the library's limits. */
static void print_trainer_too_large(const ebm_rbm *rbm,
                                    const ebm_train_config *config)
{
    size_t visible = 0;
    size_t hidden = 0;
    size_t batch = config->batch_size;

    ebm_rbm_shape(rbm, &visible, &hidden);
    if (config->method == EBM_PCD) {
        fprintf(stderr, "ebm train: a batch of %zu rows and %zu persistent "
                "chains need a trainer too large for %zu visible and %zu "
                "hidden units (%s); lower --chains or --batch\n", batch,
                config->chains > 0 ? config->chains : batch, visible,
                hidden, ebm_last_error());
    } else {
        fprintf(stderr, "ebm train: a batch of %zu rows needs a trainer too "
                "large for %zu visible and %zu hidden units (%s); lower "
                "--batch\n", batch, visible, hidden, ebm_last_error());
    }
}

int train_limits_check_trainer(const ebm_rbm *rbm,
                               const ebm_train_config *config,
                               size_t requested_batch)
{
    size_t bytes = 0;
    ebm_status status = EBM_OK;

    if (config->batch_size > EBM_MAX_UNITS) {
        fprintf(stderr, "ebm train: invalid value '%zu' for --batch: a "
                "batch may have at most %zu rows (EBM_MAX_UNITS)\n",
                requested_batch, EBM_MAX_UNITS);
        return CLI_EXIT_USAGE;
    }
    status = ebm_rbm_trainer_memory(rbm, config, &bytes);
    if (status == EBM_ERR_LIMIT || status == EBM_ERR_OVERFLOW) {
        print_trainer_too_large(rbm, config);
        return CLI_EXIT_USAGE;
    }
    /* ebm_rbm_trainer_create reports any other error. */
    return CLI_EXIT_OK;
}
