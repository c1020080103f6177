/* AIS helpers that ais.c defines and bm_ais.c shares. */
#ifndef EBM_AIS_INTERNAL_H
#define EBM_AIS_INTERNAL_H

#include "core.h"

/* Fills beta[0 .. n) with the default schedule of ebm_ais_config_init
 * scaled to n values (an even spacing of [0, 1] when n is small). */
void ebm_ais_default_schedule(double *beta, size_t n);

/* Checks chains, betas, the schedule and the base data (rows of
 * n_visible values in [0, 1]) of config. */
ebm_status ebm_ais_check_settings(const ebm_ais_config *config,
                                  size_t n_visible);

/* out[i] = the base model's visible bias: 0, or the logit of the base
 * data's column mean clipped to [0.001, 0.999]. */
void ebm_ais_base_bias(const ebm_ais_config *config, size_t d, float *out);

#endif /* EBM_AIS_INTERNAL_H */
