/*
 * Model files of general Boltzmann machines: ebm_bm_save and ebm_bm_load.
 * The archive is the RBM's (docs/file-formats.md) with optional arrays V,
 * U, V_mask and U_mask, and W optional too. So an RBM file loads as a BM
 * without lateral couplings.
 */
#include <stdlib.h>
#include <string.h>

#include "bm_internal.h"
#include "model_io.h"
#include "rbm_internal.h"

/* The arrays of a BM file, in the order they are written. */
enum {
    ENTRY_VISIBLE_BIAS,
    ENTRY_HIDDEN_BIAS,
    ENTRY_W,
    ENTRY_V,
    ENTRY_U,
    ENTRY_V_MASK,
    ENTRY_U_MASK,
    ENTRY_COUNT
};

static const char *const ENTRY_NAMES[ENTRY_COUNT] = {
    "visible_bias.npy", "hidden_bias.npy", "W.npy",     "V.npy",
    "U.npy",            "V_mask.npy",      "U_mask.npy"};

static const size_t ENTRY_NDIM[ENTRY_COUNT] = {1, 1, 2, 2, 2, 2, 2};

/* A mask as floats 0 and 1, for the file. */
static float *mask_to_floats(const unsigned char *mask, size_t n)
{
    float *out = ebm_alloc_floats(n * n);

    for (size_t i = 0; out != NULL && i < n * n; i++)
        out[i] = mask[i] ? 1.0f : 0.0f;
    return out;
}

ebm_status ebm_bm_save(const ebm_bm *bm, const char *path)
{
    struct ebm_model_array arrays[ENTRY_COUNT];
    float *masks[2] = {NULL, NULL};
    size_t d, k, count = 0;
    ebm_status status = ebm_check_pointer(bm, "bm");

    if (status == EBM_OK)
        status = ebm_check_pointer(path, "path");
    if (status != EBM_OK)
        return status;
    d = bm->n_visible;
    k = bm->n_hidden;
    status = ebm_model_check_finite(path, "visible_bias.npy",
                                    bm->visible_bias, d, 1, d);
    if (status == EBM_OK)
        status = ebm_model_check_finite(path, "hidden_bias.npy",
                                        bm->hidden_bias, k, 1, k);
    if (status == EBM_OK && bm->weights != NULL)
        status = ebm_model_check_finite(path, "W.npy", bm->weights, d * k, 2,
                                        k);
    if (status == EBM_OK && bm->visible_couplings != NULL)
        status = ebm_model_check_finite(path, "V.npy", bm->visible_couplings,
                                        d * d, 2, d);
    if (status == EBM_OK && bm->hidden_couplings != NULL)
        status = ebm_model_check_finite(path, "U.npy", bm->hidden_couplings,
                                        k * k, 2, k);
    if (status != EBM_OK)
        return status;

    arrays[count++] = (struct ebm_model_array){
        "visible_bias.npy", 'f', sizeof(float), 1, {d, 0}, bm->visible_bias};
    arrays[count++] = (struct ebm_model_array){
        "hidden_bias.npy", 'f', sizeof(float), 1, {k, 0}, bm->hidden_bias};
    if (bm->weights != NULL)
        arrays[count++] = (struct ebm_model_array){
            "W.npy", 'f', sizeof(float), 2, {d, k}, bm->weights};
    if (bm->visible_couplings != NULL)
        arrays[count++] = (struct ebm_model_array){
            "V.npy", 'f', sizeof(float), 2, {d, d}, bm->visible_couplings};
    if (bm->hidden_couplings != NULL)
        arrays[count++] = (struct ebm_model_array){
            "U.npy", 'f', sizeof(float), 2, {k, k}, bm->hidden_couplings};
    for (int layer = 0; layer < 2; layer++) {
        size_t n = layer == EBM_LAYER_VISIBLE ? d : k;

        if (bm->graph[layer].mask == NULL)
            continue;
        masks[layer] = mask_to_floats(bm->graph[layer].mask, n);
        if (masks[layer] == NULL) {
            status = ebm_fail(EBM_ERR_NOMEM,
                              "%s: cannot allocate a %zu x %zu mask", path,
                              n, n);
            break;
        }
        arrays[count++] = (struct ebm_model_array){
            layer == EBM_LAYER_VISIBLE ? "V_mask.npy" : "U_mask.npy",
            'f',
            sizeof(float),
            2,
            {n, n},
            masks[layer]};
    }
    if (status == EBM_OK)
        status = ebm_model_save(path, arrays, count);
    ebm_free_floats(masks[0]);
    ebm_free_floats(masks[1]);
    return status;
}

/* Reads the mask of parameter p (n x n floats, each 0 or 1) and sets it
 * on bm. */
static ebm_status load_mask(ebm_zip_reader *zip, const char *path,
                            struct ebm_model_parameter *p, ebm_bm *bm,
                            int layer, size_t n)
{
    float *values = ebm_alloc_floats(n * n);
    unsigned char *mask = malloc(ebm_max_size(n * n, 1));
    ebm_status status = EBM_OK;

    if (values == NULL || mask == NULL)
        status = ebm_fail(EBM_ERR_NOMEM,
                          "%s: cannot allocate a %zu x %zu mask", path, n,
                          n);
    if (status == EBM_OK)
        status = ebm_model_read_parameter(zip, path, p, values);
    for (size_t i = 0; status == EBM_OK && i < n * n; i++) {
        if (values[i] != 0.0f && values[i] != 1.0f)
            status = ebm_fail(EBM_ERR_DOMAIN,
                              "%s: %s element [%zu, %zu] is %g; a mask "
                              "holds 0 and 1 only",
                              path, p->entry, i / n, i % n,
                              (double)values[i]);
        else
            mask[i] = values[i] != 0.0f;
    }
    if (status == EBM_OK) {
        status = ebm_bm_set_mask(bm, layer, mask);
        if (status != EBM_OK)
            status = ebm_model_fail_in_file(status, path);
    }
    ebm_free_floats(values);
    free(mask);
    return status;
}

/* Checks that parameter p has the shape rows x cols (cols unused for one
 * dimension). */
static ebm_status check_shape(const struct ebm_model_parameter *p,
                              const char *path, size_t rows, size_t cols)
{
    if (p->array.shape[0] == rows &&
        (p->ndim == 1 || p->array.shape[1] == cols))
        return EBM_OK;
    if (p->ndim == 1)
        return ebm_fail(EBM_ERR_MISMATCH,
                        "%s: %s has %zu elements; expected %zu", path,
                        p->entry, p->array.shape[0], rows);
    return ebm_fail(EBM_ERR_MISMATCH,
                    "%s: %s has shape (%zu, %zu); expected (%zu, %zu)",
                    path, p->entry, p->array.shape[0], p->array.shape[1],
                    rows, cols);
}

static ebm_status read_bm(ebm_zip_reader *zip, const char *path,
                          ebm_bm **out)
{
    struct ebm_model_parameter params[ENTRY_COUNT];
    bool present[ENTRY_COUNT];
    size_t d, k;
    unsigned couplings = 0;
    ebm_bm *bm = NULL;
    ebm_status status = ebm_model_check_version(zip, path);

    for (size_t e = 0; e < ENTRY_COUNT; e++) {
        params[e] = (struct ebm_model_parameter){.entry = ENTRY_NAMES[e],
                                                 .ndim = ENTRY_NDIM[e]};
        present[e] = ebm_zip_reader_contains(zip, ENTRY_NAMES[e]);
    }
    if (status == EBM_OK && ebm_zip_reader_contains(zip, "log_sigma.npy"))
        status = ebm_fail(EBM_ERR_FORMAT,
                          "%s: the file is a Gaussian-Bernoulli RBM "
                          "(log_sigma); load it with ebm_gbrbm_load",
                          path);
    for (size_t e = 0; e < 2 && status == EBM_OK; e++)
        if (!present[e])
            status = ebm_fail(EBM_ERR_FORMAT,
                              "%s: the archive has no entry %s; a model "
                              "file needs visible_bias and hidden_bias",
                              path, ENTRY_NAMES[e]);
    /* First pass: headers, and every value of deflated entries. */
    for (size_t e = 0; e < ENTRY_COUNT && status == EBM_OK; e++)
        if (present[e])
            status = ebm_model_read_parameter(zip, path, &params[e], NULL);
    if (status != EBM_OK)
        return status;
    d = params[ENTRY_VISIBLE_BIAS].array.shape[0];
    k = params[ENTRY_HIDDEN_BIAS].array.shape[0];
    if (present[ENTRY_W]) {
        status = check_shape(&params[ENTRY_W], path, d, k);
        couplings |= EBM_BM_VISIBLE_HIDDEN;
    }
    if (status == EBM_OK && present[ENTRY_V]) {
        status = check_shape(&params[ENTRY_V], path, d, d);
        couplings |= EBM_BM_VISIBLE_VISIBLE;
    }
    if (status == EBM_OK && present[ENTRY_U]) {
        status = check_shape(&params[ENTRY_U], path, k, k);
        couplings |= EBM_BM_HIDDEN_HIDDEN;
    }
    if (status == EBM_OK && present[ENTRY_V_MASK])
        status = present[ENTRY_V]
                     ? check_shape(&params[ENTRY_V_MASK], path, d, d)
                     : ebm_fail(EBM_ERR_FORMAT,
                                "%s: V_mask without V", path);
    if (status == EBM_OK && present[ENTRY_U_MASK])
        status = present[ENTRY_U]
                     ? check_shape(&params[ENTRY_U_MASK], path, k, k)
                     : ebm_fail(EBM_ERR_FORMAT,
                                "%s: U_mask without U", path);
    if (status == EBM_OK && k == 0 && (couplings & EBM_BM_VISIBLE_HIDDEN))
        couplings &= ~EBM_BM_VISIBLE_HIDDEN; /* an empty W couples nothing */
    if (status != EBM_OK)
        return status;

    /* Second pass: the model, then each array straight into it. */
    status = ebm_bm_create(d, k, couplings, &bm);
    if (status != EBM_OK)
        return ebm_model_fail_in_file(status, path);
    if (present[ENTRY_V_MASK])
        status = load_mask(zip, path, &params[ENTRY_V_MASK], bm,
                           EBM_LAYER_VISIBLE, d);
    if (status == EBM_OK && present[ENTRY_U_MASK])
        status = load_mask(zip, path, &params[ENTRY_U_MASK], bm,
                           EBM_LAYER_HIDDEN, k);
    if (status == EBM_OK)
        status = ebm_model_read_parameter(
            zip, path, &params[ENTRY_VISIBLE_BIAS], bm->visible_bias);
    if (status == EBM_OK && k > 0)
        status = ebm_model_read_parameter(
            zip, path, &params[ENTRY_HIDDEN_BIAS], bm->hidden_bias);
    if (status == EBM_OK && bm->weights != NULL)
        status = ebm_model_read_parameter(zip, path, &params[ENTRY_W],
                                          bm->weights);
    if (status == EBM_OK && bm->visible_couplings != NULL) {
        status = ebm_model_read_parameter(zip, path, &params[ENTRY_V],
                                          bm->visible_couplings);
        if (status == EBM_OK &&
            ebm_bm_check_lateral(bm->visible_couplings, d,
                                 bm->graph[0].mask, "V") != EBM_OK)
            status = ebm_model_fail_in_file(EBM_ERR_DOMAIN, path);
    }
    if (status == EBM_OK && bm->hidden_couplings != NULL) {
        status = ebm_model_read_parameter(zip, path, &params[ENTRY_U],
                                          bm->hidden_couplings);
        if (status == EBM_OK &&
            ebm_bm_check_lateral(bm->hidden_couplings, k,
                                 bm->graph[1].mask, "U") != EBM_OK)
            status = ebm_model_fail_in_file(EBM_ERR_DOMAIN, path);
    }
    if (status != EBM_OK) {
        ebm_bm_destroy(bm);
        return status;
    }
    *out = bm;
    return EBM_OK;
}

ebm_status ebm_bm_load(const char *path, ebm_bm **out)
{
    ebm_zip_reader *zip = NULL;
    ebm_bm *bm = NULL;
    ebm_status status = ebm_check_pointer(path, "path");

    if (status == EBM_OK)
        status = ebm_check_pointer(out, "out");
    if (status == EBM_OK)
        status = ebm_zip_reader_open(path, &zip);
    if (status == EBM_OK)
        status = read_bm(zip, path, &bm);
    ebm_zip_reader_close(zip);
    if (status != EBM_OK)
        return status;
    *out = bm;
    return EBM_OK;
}

ebm_status ebm_model_file_kind(const char *path, ebm_model_kind *kind)
{
    static const char *const bm_entries[] = {"V.npy", "U.npy", "V_mask.npy",
                                             "U_mask.npy"};
    ebm_zip_reader *zip = NULL;
    bool lateral = false;
    ebm_status status = ebm_check_pointer(path, "path");

    if (status == EBM_OK)
        status = ebm_check_pointer(kind, "kind");
    if (status == EBM_OK)
        status = ebm_zip_reader_open(path, &zip);
    if (status != EBM_OK)
        return status;
    for (size_t i = 0; i < 4; i++)
        lateral = lateral || ebm_zip_reader_contains(zip, bm_entries[i]);
    if (ebm_zip_reader_contains(zip, "log_sigma.npy")) {
        if (lateral)
            status = ebm_fail(EBM_ERR_FORMAT,
                              "%s: the file has both log_sigma (Gaussian "
                              "visible units) and lateral couplings; no "
                              "model of libebm has both",
                              path);
        *kind = EBM_MODEL_GBRBM;
    } else {
        *kind = lateral ? EBM_MODEL_BM : EBM_MODEL_RBM;
    }
    ebm_zip_reader_close(zip);
    return status;
}
