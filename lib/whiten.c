/*
 * Preprocessing of real-valued data: standardisation, and PCA or ZCA
 * whitening from the eigendecomposition of the covariance by
 * LAPACKE_ssyevd. A transform is y = (x - mean) M, with M and its inverse
 * stored so that pictures can be mapped back to the data's space.
 */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parallel.h"
#include "rbm_internal.h"
#include "whiten_internal.h"

/* A column whose standard deviation is below this is constant: its scale
 * is 1, not a division by almost zero. */
#define MIN_STDDEV 1e-6

/* Rows per pass of apply and invert. */
#define WHITEN_CHUNK ((size_t)1024)

void ebm_whitening_destroy(ebm_whitening *w)
{
    if (w == NULL)
        return;
    ebm_free_floats(w->mean);
    ebm_free_floats(w->matrix);
    ebm_free_floats(w->inverse);
    free(w);
}

ebm_status ebm_whitening_alloc(ebm_whiten_mode mode, size_t cols,
                               ebm_whitening **out)
{
    ebm_whitening *w;

    if (cols > EBM_MAX_UNITS || cols * cols > EBM_MAX_ELEMENTS)
        return ebm_fail(EBM_ERR_LIMIT,
                        "%zu columns are too many to whiten (a %zu x %zu "
                        "matrix)",
                        cols, cols, cols);
    w = calloc(1, sizeof(*w));
    if (w == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "cannot allocate a whitening");
    w->mode = mode;
    w->cols = cols;
    w->mean = ebm_alloc_floats(cols);
    w->matrix = ebm_alloc_floats(cols * cols);
    w->inverse = ebm_alloc_floats(cols * cols);
    if (w->mean == NULL || w->matrix == NULL || w->inverse == NULL) {
        ebm_whitening_destroy(w);
        return ebm_fail(EBM_ERR_NOMEM,
                        "cannot allocate a %zu x %zu whitening", cols, cols);
    }
    memset(w->matrix, 0, cols * cols * sizeof(float));
    memset(w->inverse, 0, cols * cols * sizeof(float));
    *out = w;
    return EBM_OK;
}

/* Standardisation: M = diag(1 / sd), inverse diag(sd). */
static void fit_standard(ebm_whitening *w, const float *data, size_t rows)
{
    size_t d = w->cols;

    w->log_det = 0.0;
    for (size_t i = 0; i < d; i++) {
        double squares = 0.0, sd;

        for (size_t r = 0; r < rows; r++) {
            double diff = (double)data[r * d + i] - w->mean[i];

            squares += diff * diff;
        }
        sd = sqrt(squares / (double)rows);
        if (sd < MIN_STDDEV)
            sd = 1.0;
        w->matrix[i * d + i] = (float)(1.0 / sd);
        w->inverse[i * d + i] = (float)sd;
        w->log_det -= log(sd);
    }
}

/* PCA and ZCA from C = U diag(lambda) U' with s = (lambda + epsilon)^-1/2:
 * PCA M = U diag(s), ZCA M = U diag(s) U'. */
static ebm_status fit_rotation(ebm_whitening *w, const float *data,
                               size_t rows, float epsilon)
{
    size_t d = w->cols;
    float *centered, *cov, *lambda, *scaled;
    lapack_int info;
    ebm_status status = EBM_OK;

    if (d > INT32_MAX || rows > INT32_MAX)
        return ebm_fail(EBM_ERR_LIMIT, "too many rows or columns for BLAS");
    centered = ebm_alloc_floats(ebm_min_size(rows, WHITEN_CHUNK) * d);
    cov = ebm_alloc_floats(d * d);
    lambda = ebm_alloc_floats(d);
    scaled = ebm_alloc_floats(d * d);
    if (centered == NULL || cov == NULL || lambda == NULL ||
        scaled == NULL) {
        status = ebm_fail(EBM_ERR_NOMEM,
                          "cannot allocate a %zu x %zu covariance", d, d);
        goto done;
    }
    /* cov = (X - mean)'(X - mean) / rows, upper triangle, by ssyrk. */
    ebm_configure_blas();
    memset(cov, 0, d * d * sizeof(float));
    for (size_t first = 0; first < rows; first += WHITEN_CHUNK) {
        size_t n = ebm_min_size(WHITEN_CHUNK, rows - first);

        for (size_t r = 0; r < n; r++)
            for (size_t i = 0; i < d; i++)
                centered[r * d + i] = data[(first + r) * d + i] - w->mean[i];
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)n,
                    1.0f / (float)rows, centered, (int)d, 1.0f, cov, (int)d);
    }
    info = LAPACKE_ssyevd(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)d, cov,
                          (lapack_int)d, lambda);
    if (info != 0) {
        status = ebm_fail(EBM_ERR_LAPACK,
                          "LAPACKE_ssyevd on the %zu x %zu covariance "
                          "returned info %d",
                          d, d, (int)info);
        goto done;
    }
    /* cov is now U: column j is the eigenvector of lambda[j]. */
    w->log_det = 0.0;
    for (size_t j = 0; j < d; j++) {
        double value = (double)(lambda[j] > 0.0f ? lambda[j] : 0.0f) +
                       epsilon;

        if (!(value > 0.0)) {
            status = ebm_fail(EBM_ERR_DOMAIN,
                              "covariance eigenvalue %zu is %g; a positive "
                              "epsilon is needed to whiten it",
                              j, (double)lambda[j]);
            goto done;
        }
        lambda[j] = (float)(1.0 / sqrt(value));
        w->log_det += log((double)lambda[j]);
    }
    /* scaled = U diag(s); the inverse of U diag(s) is diag(1/s) U'. */
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++)
            scaled[i * d + j] = cov[i * d + j] * lambda[j];
    if (w->mode == EBM_WHITEN_PCA) {
        memcpy(w->matrix, scaled, d * d * sizeof(float));
        for (size_t j = 0; j < d; j++)
            for (size_t i = 0; i < d; i++)
                w->inverse[j * d + i] = cov[i * d + j] / lambda[j];
    } else {
        /* ZCA: M = U diag(s) U', inverse U diag(1/s) U'. */
        ebm_gemm(false, true, d, d, d, 1.0f, scaled, d, cov, d, 0.0f,
                 w->matrix, d, NULL, NULL);
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < d; j++)
                scaled[i * d + j] = cov[i * d + j] / lambda[j];
        ebm_gemm(false, true, d, d, d, 1.0f, scaled, d, cov, d, 0.0f,
                 w->inverse, d, NULL, NULL);
    }
done:
    ebm_free_floats(centered);
    ebm_free_floats(cov);
    ebm_free_floats(lambda);
    ebm_free_floats(scaled);
    return status;
}

ebm_status ebm_whitening_fit(const float *data, size_t rows, size_t cols,
                             ebm_whiten_mode mode, float epsilon,
                             ebm_whitening **out)
{
    ebm_whitening *w = NULL;
    ebm_status status = ebm_check_pointer(out, "out");

    if (status == EBM_OK)
        status = ebm_check_pointer(data, "data");
    if (status != EBM_OK)
        return status;
    if (rows == 0 || cols == 0)
        return ebm_fail(EBM_ERR_SIZE, "data is %zu x %zu; expected at least "
                                      "one row and one column",
                        rows, cols);
    if (mode < EBM_WHITEN_NONE || mode > EBM_WHITEN_ZCA)
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "mode is %d; expected an ebm_whiten_mode value",
                        (int)mode);
    if (!(epsilon >= 0.0f && isfinite(epsilon)))
        return ebm_fail(EBM_ERR_ARGUMENT,
                        "epsilon is %g; expected a finite value >= 0",
                        (double)epsilon);
    status = ebm_mul_size(rows, cols, &(size_t){0}, "data");
    if (status == EBM_OK)
        status = ebm_check_finite(data, rows, cols, "data");
    if (status == EBM_OK)
        status = ebm_whitening_alloc(mode, cols, &w);
    if (status != EBM_OK)
        return status;
    for (size_t i = 0; i < cols; i++) {
        double sum = 0.0;

        for (size_t r = 0; r < rows; r++)
            sum += data[r * cols + i];
        w->mean[i] = mode == EBM_WHITEN_NONE ? 0.0f
                                             : (float)(sum / (double)rows);
    }
    if (mode == EBM_WHITEN_NONE) {
        for (size_t i = 0; i < cols; i++)
            w->matrix[i * cols + i] = w->inverse[i * cols + i] = 1.0f;
        w->log_det = 0.0;
    } else if (mode == EBM_WHITEN_STANDARD) {
        fit_standard(w, data, rows);
    } else {
        status = fit_rotation(w, data, rows, epsilon);
    }
    if (status != EBM_OK) {
        ebm_whitening_destroy(w);
        return status;
    }
    *out = w;
    return EBM_OK;
}

/* out = (in - shift) matrix for rows of in, in chunks; shift may be NULL,
 * and then out = in matrix + add (add may be NULL). out may equal in. */
static ebm_status transform(const ebm_whitening *w, const float *in,
                            size_t rows, const float *shift,
                            const float *matrix, const float *add,
                            float *out)
{
    size_t d = w->cols;
    float *buffer = ebm_alloc_floats(ebm_min_size(rows, WHITEN_CHUNK) * d);

    if (buffer == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "cannot allocate a workspace");
    for (size_t first = 0; first < rows; first += WHITEN_CHUNK) {
        size_t n = ebm_min_size(WHITEN_CHUNK, rows - first);
        const float *x = in + first * d;
        float *y = out + first * d;

        for (size_t r = 0; r < n; r++)
            for (size_t i = 0; i < d; i++)
                buffer[r * d + i] =
                    x[r * d + i] - (shift != NULL ? shift[i] : 0.0f);
        for (size_t r = 0; r < n; r++)
            for (size_t i = 0; i < d; i++)
                y[r * d + i] = add != NULL ? add[i] : 0.0f;
        ebm_gemm(false, false, n, d, d, 1.0f, buffer, d, matrix, d, 1.0f, y,
                 d, NULL, NULL);
    }
    ebm_free_floats(buffer);
    return EBM_OK;
}

static ebm_status check_transform(const ebm_whitening *w, const float *in,
                                  size_t rows, const float *out)
{
    ebm_status status = ebm_check_pointer(w, "whitening");

    if (status == EBM_OK)
        status = ebm_check_pointer(in, "in");
    if (status == EBM_OK)
        status = ebm_check_pointer(out, "out");
    if (status != EBM_OK)
        return status;
    if (rows == 0)
        return ebm_fail(EBM_ERR_SIZE, "rows is 0");
    status = ebm_mul_size(rows, w->cols, &(size_t){0}, "in");
    if (status == EBM_OK)
        status = ebm_check_finite(in, rows, w->cols, "in");
    return status;
}

ebm_status ebm_whitening_apply(const ebm_whitening *w, const float *in,
                               size_t rows, float *out)
{
    ebm_status status = check_transform(w, in, rows, out);

    if (status != EBM_OK)
        return status;
    return transform(w, in, rows, w->mean, w->matrix, NULL, out);
}

ebm_status ebm_whitening_invert(const ebm_whitening *w, const float *in,
                                size_t rows, float *out)
{
    ebm_status status = check_transform(w, in, rows, out);

    if (status != EBM_OK)
        return status;
    return transform(w, in, rows, NULL, w->inverse, w->mean, out);
}

ebm_status ebm_whitening_map_directions(const ebm_whitening *w,
                                        const float *in, size_t rows,
                                        float *out)
{
    ebm_status status = check_transform(w, in, rows, out);

    if (status != EBM_OK)
        return status;
    return transform(w, in, rows, NULL, w->inverse, NULL, out);
}

ebm_status ebm_whitening_info(const ebm_whitening *w, ebm_whiten_mode *mode,
                              size_t *cols, double *log_det)
{
    ebm_status status = ebm_check_pointer(w, "whitening");

    if (status != EBM_OK)
        return status;
    if (mode != NULL)
        *mode = w->mode;
    if (cols != NULL)
        *cols = w->cols;
    if (log_det != NULL)
        *log_det = w->log_det;
    return EBM_OK;
}
