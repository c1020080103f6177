/*
 * Counts the elements of one cblas_sgemm product that change in their
 * last bits when OpenBLAS's own thread count goes from 1 to 2, for the
 * RBM's product shapes. This is why libebm divides products into pieces
 * itself and calls OpenBLAS single-threaded.
 *
 * Usage: openblas_bits
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebm.h"

/* Product of an m x k and a k x n matrix of uniforms in [-0.5, 0.5). */
static size_t count_differences(int m, int n, int k)
{
    float *a = malloc((size_t)m * k * sizeof(float));
    float *b = malloc((size_t)k * n * sizeof(float));
    float *c1 = malloc((size_t)m * n * sizeof(float));
    float *c2 = malloc((size_t)m * n * sizeof(float));
    size_t differ = 0;

    if (a == NULL || b == NULL || c1 == NULL || c2 == NULL) {
        fprintf(stderr, "openblas_bits: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < (size_t)m * k; i++)
        a[i] = ebm_rng_uniform(1, 0, i) - 0.5f;
    for (size_t i = 0; i < (size_t)k * n; i++)
        b[i] = ebm_rng_uniform(2, 0, i) - 0.5f;
    openblas_set_num_threads(1);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a,
                k, b, n, 0.0f, c1, n);
    openblas_set_num_threads(2);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a,
                k, b, n, 0.0f, c2, n);
    for (size_t i = 0; i < (size_t)m * n; i++)
        differ += memcmp(&c1[i], &c2[i], sizeof(float)) != 0;
    free(a);
    free(b);
    free(c1);
    free(c2);
    return differ;
}

int main(void)
{
    static const int shapes[][3] = {{100, 500, 784}, {784, 500, 100},
                                    {100, 784, 500}};

    printf("%s, core %s\n", OPENBLAS_VERSION, openblas_get_corename());
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];

        printf("sgemm %d x %d x %d (m x n x k): %zu of %d elements differ "
               "between 1 and 2 OpenBLAS threads\n",
               m, n, k, count_differences(m, n, k), m * n);
    }
    return 0;
}
