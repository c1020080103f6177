/*
 * A tiny application built against the installed libebm through
 * pkg-config, the way a numerical program would link it: it trains a small
 * RBM for a few updates, saves it, loads it back and compares.
 */
#include <ebm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *call, ebm_status status)
{
    fprintf(stderr, "install_app: %s failed: %s: %s\n", call,
            ebm_status_name(status), ebm_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    enum { ROWS = 64, D = 12, K = 5 };
    float data[ROWS * D];
    ebm_rbm *rbm, *loaded;
    ebm_train_config config;
    ebm_status status;

    if (argc != 2) {
        fprintf(stderr, "usage: install_app MODEL.npz\n");
        return 2;
    }
    for (int i = 0; i < ROWS * D; i++)
        data[i] = (float)((i * 7 + i / D) % 3 == 0);

    status = ebm_rbm_create(D, K, &rbm);
    if (status != EBM_OK)
        return fail("ebm_rbm_create", status);
    status = ebm_rbm_initialize(rbm, data, ROWS, 0.01f, 3);
    if (status != EBM_OK)
        return fail("ebm_rbm_initialize", status);
    ebm_train_config_init(&config);
    config.batch_size = 16;
    status = ebm_rbm_fit(rbm, &config, data, ROWS, 3, NULL, NULL);
    if (status != EBM_OK)
        return fail("ebm_rbm_fit", status);
    status = ebm_rbm_save(rbm, argv[1]);
    if (status != EBM_OK)
        return fail("ebm_rbm_save", status);
    status = ebm_rbm_load(argv[1], &loaded);
    if (status != EBM_OK)
        return fail("ebm_rbm_load", status);
    if (memcmp(ebm_rbm_weights(rbm), ebm_rbm_weights(loaded),
               sizeof(float) * D * K) != 0) {
        fprintf(stderr, "install_app: loaded weights differ\n");
        return 1;
    }
    printf("install_app: libebm %s trained, saved and reloaded a %d x %d "
           "model\n",
           ebm_version(), D, K);
    ebm_rbm_destroy(loaded);
    ebm_rbm_destroy(rbm);
    return 0;
}
