/* Philox4x32-10 uniforms in bulk, for the sampling kernels. */
#ifndef EBM_RNG_H
#define EBM_RNG_H

#include <stddef.h>
#include <stdint.h>

/* Writes the uniforms of (seed, stream, first + i) into out[i] for
 * i < count, exactly as ebm_rng_uniform defines them. */
void ebm_rng_fill_uniform(uint64_t seed, uint64_t stream, uint64_t first,
                          size_t count, float *out);

/* Writes the raw 32-bit words of (seed, stream, first + i) into out[i],
 * the words that the uniforms of ebm_rng_uniform are made from. */
void ebm_rng_fill_words(uint64_t seed, uint64_t stream, uint64_t first,
                        size_t count, uint32_t *out);

/* Sets sample[i] = (uniform(seed, stream, first + i) < prob[i]) ? 1 : 0
 * for i < count. sample may equal prob. */
void ebm_rng_bernoulli(uint64_t seed, uint64_t stream, uint64_t first,
                       size_t count, const float *prob, float *sample);

/* Fisher-Yates shuffle of order[0 .. rows) = 0 .. rows - 1 from one
 * stream: position i (from the top) swaps with word (rows - 1 - i) mod
 * (i + 1). */
void ebm_shuffle_rows(size_t *order, size_t rows, uint64_t seed,
                      uint64_t stream);

/* Compares each vector version of the bulk generator that this processor
 * runs with the plain C version on the 64 words of one group. Returns the
 * number of vector versions compared, or -1 if one differs. For tests. */
int ebm_rng_check_versions(uint64_t seed, uint64_t stream, uint64_t group);

#endif /* EBM_RNG_H */
