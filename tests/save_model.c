/*
 * Saves a small model with known parameters to the path given as the only
 * argument, for tests/numpy_check.py to open with numpy.load:
 *
 *   W[i, k]         = (i * K + k) / 8 - 0.75
 *   visible_bias[i] = 0.1 * (i + 1), rounded to float
 *   hidden_bias[k]  = -1 / (k + 3), rounded to float
 *
 * with D = 4 and K = 3.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ebm.h"

#define D 4
#define K 3

int main(int argc, char **argv)
{
    float weights[D * K], visible[D], hidden[K];
    ebm_rbm *rbm = NULL;
    ebm_status status;

    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTPUT.npz\n", argv[0]);
        return 2;
    }
    for (int i = 0; i < D; i++)
        for (int k = 0; k < K; k++)
            weights[i * K + k] = (float)((double)(i * K + k) / 8.0 - 0.75);
    for (int i = 0; i < D; i++)
        visible[i] = (float)(0.1 * (double)(i + 1));
    for (int k = 0; k < K; k++)
        hidden[k] = (float)(-1.0 / (double)(k + 3));

    status = ebm_rbm_create(D, K, &rbm);
    if (status == EBM_OK)
        status = ebm_rbm_set_weights(rbm, weights);
    if (status == EBM_OK)
        status = ebm_rbm_set_visible_bias(rbm, visible);
    if (status == EBM_OK)
        status = ebm_rbm_set_hidden_bias(rbm, hidden);
    if (status == EBM_OK)
        status = ebm_rbm_save(rbm, argv[1]);
    ebm_rbm_destroy(rbm);
    if (status != EBM_OK) {
        fprintf(stderr, "save_model: %s: %s\n", ebm_status_name(status),
                ebm_last_error());
        return 1;
    }
    return 0;
}
