/* The whitening struct, shared by whiten.c and gbrbm_io.c. */
#ifndef EBM_WHITEN_INTERNAL_H
#define EBM_WHITEN_INTERNAL_H

#include "core.h"

struct ebm_whitening {
    ebm_whiten_mode mode;
    size_t cols;     /* D */
    float *mean;     /* D */
    float *matrix;   /* D x D: y = (x - mean) matrix */
    float *inverse;  /* D x D: x = mean + y inverse */
    double log_det;  /* log |det matrix| */
};

/* Allocates a whitening of cols columns with zero matrices. */
ebm_status ebm_whitening_alloc(ebm_whiten_mode mode, size_t cols,
                               ebm_whitening **out);

#endif /* EBM_WHITEN_INTERNAL_H */
