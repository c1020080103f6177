/*
 * Model files of Gaussian-Bernoulli RBMs, with the whitening of their data:
 * ebm_gbrbm_save and ebm_gbrbm_load, in the .npz format of the binary RBM
 * with more arrays (docs/file-formats.md).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gbrbm_internal.h"
#include "model_io.h"
#include "parallel.h"
#include "whiten_internal.h"

enum {
    ENTRY_W,
    ENTRY_VISIBLE_BIAS,
    ENTRY_HIDDEN_BIAS,
    ENTRY_LOG_SIGMA,
    ENTRY_WHITEN_MODE,
    ENTRY_WHITEN_MEAN,
    ENTRY_WHITEN_MATRIX,
    ENTRY_WHITEN_INVERSE,
    ENTRY_WHITEN_LOG_DET,
    ENTRY_COUNT
};

static const char *const ENTRY_NAMES[ENTRY_COUNT] = {
    "W.npy",           "visible_bias.npy",  "hidden_bias.npy",
    "log_sigma.npy",   "whiten_mode.npy",   "whiten_mean.npy",
    "whiten_matrix.npy", "whiten_inverse.npy", "whiten_log_det.npy"};

static const size_t ENTRY_NDIM[ENTRY_COUNT] = {2, 1, 1, 1, 1, 1, 2, 2, 1};

ebm_status ebm_gbrbm_save(const ebm_gbrbm *model,
                          const ebm_whitening *whitening, const char *path)
{
    struct ebm_model_array arrays[ENTRY_COUNT];
    size_t d, k, count = 0;
    float mode = 0.0f, log_det = 0.0f;
    ebm_status status = ebm_check_pointer(model, "model");

    if (status == EBM_OK)
        status = ebm_check_pointer(path, "path");
    if (status != EBM_OK)
        return status;
    d = model->n_visible;
    k = model->n_hidden;
    if (whitening != NULL && whitening->cols != d)
        return ebm_fail(EBM_ERR_MISMATCH,
                        "the whitening has %zu columns; the model has %zu "
                        "visible units",
                        whitening->cols, d);
    status = ebm_model_check_finite(path, "W.npy", model->weights, d * k, 2,
                                    k);
    if (status == EBM_OK)
        status = ebm_model_check_finite(path, "visible_bias.npy",
                                        model->visible_bias, d, 1, d);
    if (status == EBM_OK)
        status = ebm_model_check_finite(path, "hidden_bias.npy",
                                        model->hidden_bias, k, 1, k);
    if (status != EBM_OK)
        return status;
    arrays[count++] = (struct ebm_model_array){
        "W.npy", 'f', sizeof(float), 2, {d, k}, model->weights};
    arrays[count++] = (struct ebm_model_array){
        "visible_bias.npy", 'f', sizeof(float), 1, {d, 0},
        model->visible_bias};
    arrays[count++] = (struct ebm_model_array){
        "hidden_bias.npy", 'f', sizeof(float), 1, {k, 0},
        model->hidden_bias};
    arrays[count++] = (struct ebm_model_array){
        "log_sigma.npy", 'f', sizeof(float), 1, {d, 0}, model->log_sigma};
    if (whitening != NULL) {
        mode = (float)whitening->mode;
        log_det = (float)whitening->log_det;
        arrays[count++] = (struct ebm_model_array){
            "whiten_mode.npy", 'f', sizeof(float), 1, {1, 0}, &mode};
        arrays[count++] = (struct ebm_model_array){
            "whiten_mean.npy", 'f', sizeof(float), 1, {d, 0},
            whitening->mean};
        arrays[count++] = (struct ebm_model_array){
            "whiten_matrix.npy", 'f', sizeof(float), 2, {d, d},
            whitening->matrix};
        arrays[count++] = (struct ebm_model_array){
            "whiten_inverse.npy", 'f', sizeof(float), 2, {d, d},
            whitening->inverse};
        arrays[count++] = (struct ebm_model_array){
            "whiten_log_det.npy", 'f', sizeof(float), 1, {1, 0}, &log_det};
    }
    return ebm_model_save(path, arrays, count);
}

static ebm_status shape_error(const char *path,
                              const struct ebm_model_parameter *p,
                              size_t expected)
{
    return ebm_fail(EBM_ERR_MISMATCH,
                    "%s: %s has shape (%zu%s%zu); expected %zu along its "
                    "first dimension to match the model",
                    path, p->entry, p->array.shape[0],
                    p->ndim == 2 ? ", " : "",
                    p->ndim == 2 ? p->array.shape[1] : (size_t)0, expected);
}

/* Fails unless whiten_matrix times whiten_inverse is the identity within
 * 1e-3 per element, so that pictures and densities use a true inverse. */
static ebm_status check_inverse(const ebm_whitening *w, const char *path)
{
    size_t d = w->cols;
    float *product = ebm_alloc_floats(d * d);
    float worst = 0.0f;

    if (product == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "%s: cannot check the whitening",
                        path);
    ebm_gemm(false, false, d, d, d, 1.0f, w->matrix, d, w->inverse, d, 0.0f,
             product, d, NULL, NULL);
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            float error = fabsf(product[i * d + j] - (i == j ? 1.0f : 0.0f));

            worst = error > worst ? error : worst;
        }
    ebm_free_floats(product);
    if (!(worst <= 1e-3f))
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: whiten_matrix times whiten_inverse differs "
                        "from the identity by %g; they must be inverses",
                        path, (double)worst);
    return EBM_OK;
}

static ebm_status read_gbrbm(ebm_zip_reader *zip, const char *path,
                             ebm_gbrbm **model_out,
                             ebm_whitening **whitening_out)
{
    struct ebm_model_parameter params[ENTRY_COUNT];
    bool present[ENTRY_COUNT];
    size_t d, k, whiten_entries = 0;
    ebm_gbrbm *model = NULL;
    ebm_whitening *whitening = NULL;
    float mode = 0.0f, log_det = 0.0f;
    ebm_status status = ebm_model_check_version(zip, path);

    for (size_t e = 0; e < ENTRY_COUNT; e++) {
        params[e] = (struct ebm_model_parameter){.entry = ENTRY_NAMES[e],
                                                 .ndim = ENTRY_NDIM[e]};
        present[e] = ebm_zip_reader_contains(zip, ENTRY_NAMES[e]);
        if (e >= ENTRY_WHITEN_MODE)
            whiten_entries += present[e];
    }
    for (size_t e = 0; e <= ENTRY_LOG_SIGMA && status == EBM_OK; e++)
        if (!present[e])
            status = ebm_fail(EBM_ERR_FORMAT,
                              "%s: the archive has no entry %s; a "
                              "Gaussian-Bernoulli model needs W, "
                              "visible_bias, hidden_bias and log_sigma",
                              path, ENTRY_NAMES[e]);
    if (status == EBM_OK && whiten_entries != 0 &&
        whiten_entries != ENTRY_COUNT - ENTRY_WHITEN_MODE)
        status = ebm_fail(EBM_ERR_FORMAT,
                          "%s: the archive has %zu of the 5 whiten_* "
                          "entries; a whitening needs all of them",
                          path, whiten_entries);
    for (size_t e = 0; e < ENTRY_COUNT && status == EBM_OK; e++)
        if (present[e])
            status = ebm_model_read_parameter(zip, path, &params[e], NULL);
    if (status != EBM_OK)
        return status;
    d = params[ENTRY_W].array.shape[0];
    k = params[ENTRY_W].array.shape[1];
    if (params[ENTRY_VISIBLE_BIAS].array.shape[0] != d)
        return shape_error(path, &params[ENTRY_VISIBLE_BIAS], d);
    if (params[ENTRY_HIDDEN_BIAS].array.shape[0] != k)
        return shape_error(path, &params[ENTRY_HIDDEN_BIAS], k);
    if (params[ENTRY_LOG_SIGMA].array.shape[0] != d)
        return shape_error(path, &params[ENTRY_LOG_SIGMA], d);
    if (whiten_entries != 0) {
        if (params[ENTRY_WHITEN_MODE].array.shape[0] != 1)
            return shape_error(path, &params[ENTRY_WHITEN_MODE], 1);
        if (params[ENTRY_WHITEN_LOG_DET].array.shape[0] != 1)
            return shape_error(path, &params[ENTRY_WHITEN_LOG_DET], 1);
        if (params[ENTRY_WHITEN_MEAN].array.shape[0] != d)
            return shape_error(path, &params[ENTRY_WHITEN_MEAN], d);
        for (size_t e = ENTRY_WHITEN_MATRIX; e <= ENTRY_WHITEN_INVERSE; e++)
            if (params[e].array.shape[0] != d ||
                params[e].array.shape[1] != d)
                return shape_error(path, &params[e], d);
    }

    status = ebm_gbrbm_create(d, k, &model);
    if (status != EBM_OK)
        return ebm_model_fail_in_file(status, path);
    status = ebm_model_read_parameter(zip, path, &params[ENTRY_W],
                                      model->weights);
    if (status == EBM_OK)
        status = ebm_model_read_parameter(
            zip, path, &params[ENTRY_VISIBLE_BIAS], model->visible_bias);
    if (status == EBM_OK && k > 0)
        status = ebm_model_read_parameter(
            zip, path, &params[ENTRY_HIDDEN_BIAS], model->hidden_bias);
    if (status == EBM_OK)
        status = ebm_model_read_parameter(zip, path, &params[ENTRY_LOG_SIGMA],
                                          model->log_sigma);
    if (status == EBM_OK &&
        ebm_gbrbm_check_log_sigma(model->log_sigma, d, "log_sigma") !=
            EBM_OK)
        status = ebm_model_fail_in_file(EBM_ERR_DOMAIN, path);
    if (status == EBM_OK && whiten_entries != 0) {
        status = ebm_model_read_parameter(
            zip, path, &params[ENTRY_WHITEN_MODE], &mode);
        if (status == EBM_OK &&
            !(mode == 1.0f || mode == 2.0f || mode == 3.0f || mode == 0.0f))
            status = ebm_fail(EBM_ERR_DOMAIN,
                              "%s: whiten_mode is %g; expected 0 to 3", path,
                              (double)mode);
        if (status == EBM_OK)
            status = ebm_whitening_alloc((ebm_whiten_mode)mode, d,
                                         &whitening);
        if (status == EBM_OK)
            status = ebm_model_read_parameter(
                zip, path, &params[ENTRY_WHITEN_MEAN], whitening->mean);
        if (status == EBM_OK)
            status = ebm_model_read_parameter(
                zip, path, &params[ENTRY_WHITEN_MATRIX], whitening->matrix);
        if (status == EBM_OK)
            status = ebm_model_read_parameter(
                zip, path, &params[ENTRY_WHITEN_INVERSE],
                whitening->inverse);
        if (status == EBM_OK)
            status = ebm_model_read_parameter(
                zip, path, &params[ENTRY_WHITEN_LOG_DET], &log_det);
        if (status == EBM_OK)
            whitening->log_det = log_det;
        if (status == EBM_OK)
            status = check_inverse(whitening, path);
    }
    if (status != EBM_OK) {
        ebm_gbrbm_destroy(model);
        ebm_whitening_destroy(whitening);
        return status;
    }
    ebm_gbrbm_refresh(model);
    *model_out = model;
    if (whitening_out != NULL)
        *whitening_out = whitening;
    else
        ebm_whitening_destroy(whitening);
    return EBM_OK;
}

ebm_status ebm_gbrbm_load(const char *path, ebm_gbrbm **model,
                          ebm_whitening **whitening)
{
    ebm_zip_reader *zip = NULL;
    ebm_gbrbm *loaded = NULL;
    ebm_whitening *loaded_whitening = NULL;
    ebm_status status = ebm_check_pointer(path, "path");

    if (status == EBM_OK)
        status = ebm_check_pointer(model, "model");
    if (status == EBM_OK)
        status = ebm_zip_reader_open(path, &zip);
    if (status == EBM_OK)
        status = read_gbrbm(zip, path, &loaded, &loaded_whitening);
    ebm_zip_reader_close(zip);
    if (status != EBM_OK)
        return status;
    *model = loaded;
    if (whitening != NULL)
        *whitening = loaded_whitening;
    else
        ebm_whitening_destroy(loaded_whitening);
    return EBM_OK;
}
