/*
 * Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel random numbers:
 * as easy as 1, 2, 3", SC 2011): a counter-based generator, so any draw is
 * a pure function of (seed, stream, index) and threads need no shared
 * state.
 *
 * Indices come in groups of 64 that share 16 Philox blocks: index i is
 * word w = (i mod 64) / 16 of block 16 (i / 64) + (i mod 16). So 16
 * consecutive indices are one word of 16 consecutive blocks, which is one
 * vector register when the 16 blocks are computed side by side.
 */
#include "rng.h"

#include <stdatomic.h>
#include <string.h>

#include "core.h"
#include "kernel.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u /* key increments per round */
#define PHILOX_W1 0xBB67AE85u
#define PHILOX_ROUNDS 10

#define GROUP_BLOCKS 16
#define GROUP_WORDS (4 * GROUP_BLOCKS)

void ebm_philox4x32_10(const uint32_t counter[4], const uint32_t key[2],
                       uint32_t out[4])
{
    uint32_t c0 = counter[0], c1 = counter[1];
    uint32_t c2 = counter[2], c3 = counter[3];
    uint32_t k0 = key[0], k1 = key[1];

    for (int round = 0; round < PHILOX_ROUNDS; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;

        c0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        c1 = (uint32_t)p1;
        c2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c3 = (uint32_t)p0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/*
 * The 64 words of one group, in index order: words[16 w + l] is word w of
 * block 16 group + l. Three versions compute the same integers: plain C,
 * AVX2 (8 blocks per vector) and AVX-512 (16 blocks per vector). x86 has no
 * vector 32 x 32 -> 64-bit multiply of every lane, so the vector versions
 * multiply the even and the odd lanes separately (_mm*_mul_epu32) and blend
 * the halves.
 */
typedef void (*philox_group_fn)(uint64_t seed, uint64_t stream,
                                uint64_t group, uint32_t words[GROUP_WORDS]);

static void philox_group_plain(uint64_t seed, uint64_t stream,
                               uint64_t group, uint32_t words[GROUP_WORDS])
{
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};

    for (int lane = 0; lane < GROUP_BLOCKS; lane++) {
        uint64_t block = group * GROUP_BLOCKS + (uint64_t)lane;
        uint32_t counter[4] = {(uint32_t)block, (uint32_t)(block >> 32),
                               (uint32_t)stream, (uint32_t)(stream >> 32)};
        uint32_t out[4];

        ebm_philox4x32_10(counter, key, out);
        for (int w = 0; w < 4; w++)
            words[GROUP_BLOCKS * w + lane] = out[w];
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define EBM_HAVE_SIMD_PHILOX 1

/* Blocks 16 group + 8 half / 8 + lane, lane < 8, of one group. The 16
 * blocks of a group share the high word of their number. */
__attribute__((target("avx2"))) static void
philox_group_avx2(uint64_t seed, uint64_t stream, uint64_t group,
                  uint32_t words[GROUP_WORDS])
{
    const __m256i m0 = _mm256_set1_epi32((int)PHILOX_M0);
    const __m256i m1 = _mm256_set1_epi32((int)PHILOX_M1);
    uint64_t first = group * GROUP_BLOCKS;

    for (int half = 0; half < GROUP_BLOCKS; half += 8) {
        __m256i c0 = _mm256_add_epi32(
            _mm256_set1_epi32((int)(uint32_t)(first + (uint64_t)half)),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        __m256i c1 = _mm256_set1_epi32((int)(uint32_t)(first >> 32));
        __m256i c2 = _mm256_set1_epi32((int)(uint32_t)stream);
        __m256i c3 = _mm256_set1_epi32((int)(uint32_t)(stream >> 32));
        uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);

        for (int round = 0; round < PHILOX_ROUNDS; round++) {
            __m256i p0_even = _mm256_mul_epu32(c0, m0);
            __m256i p0_odd = _mm256_mul_epu32(_mm256_srli_epi64(c0, 32), m0);
            __m256i p1_even = _mm256_mul_epu32(c2, m1);
            __m256i p1_odd = _mm256_mul_epu32(_mm256_srli_epi64(c2, 32), m1);
            __m256i lo0 = _mm256_blend_epi32(
                p0_even, _mm256_slli_epi64(p0_odd, 32), 0xAA);
            __m256i hi0 = _mm256_blend_epi32(_mm256_srli_epi64(p0_even, 32),
                                             p0_odd, 0xAA);
            __m256i lo1 = _mm256_blend_epi32(
                p1_even, _mm256_slli_epi64(p1_odd, 32), 0xAA);
            __m256i hi1 = _mm256_blend_epi32(_mm256_srli_epi64(p1_even, 32),
                                             p1_odd, 0xAA);

            c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1),
                                  _mm256_set1_epi32((int)k0));
            c1 = lo1;
            c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3),
                                  _mm256_set1_epi32((int)k1));
            c3 = lo0;
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        _mm256_storeu_si256((void *)&words[0 * GROUP_BLOCKS + half], c0);
        _mm256_storeu_si256((void *)&words[1 * GROUP_BLOCKS + half], c1);
        _mm256_storeu_si256((void *)&words[2 * GROUP_BLOCKS + half], c2);
        _mm256_storeu_si256((void *)&words[3 * GROUP_BLOCKS + half], c3);
    }
}

__attribute__((target("avx512f"))) static void
philox_group_avx512(uint64_t seed, uint64_t stream, uint64_t group,
                    uint32_t words[GROUP_WORDS])
{
    const __m512i m0 = _mm512_set1_epi32((int)PHILOX_M0);
    const __m512i m1 = _mm512_set1_epi32((int)PHILOX_M1);
    const __mmask16 odd = 0xAAAA, even = 0x5555;
    uint64_t first = group * GROUP_BLOCKS;
    __m512i c0 = _mm512_add_epi32(
        _mm512_set1_epi32((int)(uint32_t)first),
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
                          15));
    __m512i c1 = _mm512_set1_epi32((int)(uint32_t)(first >> 32));
    __m512i c2 = _mm512_set1_epi32((int)(uint32_t)stream);
    __m512i c3 = _mm512_set1_epi32((int)(uint32_t)(stream >> 32));
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);

    for (int round = 0; round < PHILOX_ROUNDS; round++) {
        /* The products of the even lanes, and of the odd lanes moved down
         * to the even positions, as 64-bit lanes. */
        __m512i p0_even = _mm512_mul_epu32(c0, m0);
        __m512i p0_odd = _mm512_mul_epu32(_mm512_srli_epi64(c0, 32), m0);
        __m512i p1_even = _mm512_mul_epu32(c2, m1);
        __m512i p1_odd = _mm512_mul_epu32(_mm512_srli_epi64(c2, 32), m1);
        /* Low halves: the even products' low dwords stay, the odd ones'
         * move up one dword (shuffle 0xA0: dword 0 to 1, 2 to 3). High
         * halves: the odd products' high dwords stay, the even ones' move
         * down (shuffle 0xF5: dword 1 to 0, 3 to 2). */
        __m512i lo0 = _mm512_mask_shuffle_epi32(p0_even, odd, p0_odd,
                                                (_MM_PERM_ENUM)0xA0);
        __m512i hi0 = _mm512_mask_shuffle_epi32(p0_odd, even, p0_even,
                                                (_MM_PERM_ENUM)0xF5);
        __m512i lo1 = _mm512_mask_shuffle_epi32(p1_even, odd, p1_odd,
                                                (_MM_PERM_ENUM)0xA0);
        __m512i hi1 = _mm512_mask_shuffle_epi32(p1_odd, even, p1_even,
                                                (_MM_PERM_ENUM)0xF5);

        /* 0x96: three-way exclusive or. */
        c0 = _mm512_ternarylogic_epi32(hi1, c1, _mm512_set1_epi32((int)k0),
                                       0x96);
        c1 = lo1;
        c2 = _mm512_ternarylogic_epi32(hi0, c3, _mm512_set1_epi32((int)k1),
                                       0x96);
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    _mm512_storeu_si512(&words[0 * GROUP_BLOCKS], c0);
    _mm512_storeu_si512(&words[1 * GROUP_BLOCKS], c1);
    _mm512_storeu_si512(&words[2 * GROUP_BLOCKS], c2);
    _mm512_storeu_si512(&words[3 * GROUP_BLOCKS], c3);
}
#endif

/* The fastest version this processor runs. Every version computes the same
 * integers, so the choice never changes a result. */
static philox_group_fn select_philox_group(void)
{
#ifdef EBM_HAVE_SIMD_PHILOX
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return philox_group_avx512;
    if (__builtin_cpu_supports("avx2"))
        return philox_group_avx2;
#endif
    return philox_group_plain;
}

static void philox_group(uint64_t seed, uint64_t stream, uint64_t group,
                         uint32_t words[GROUP_WORDS])
{
    static _Atomic(philox_group_fn) chosen;
    philox_group_fn version =
        atomic_load_explicit(&chosen, memory_order_relaxed);

    /* Threads that race here store the same pointer. */
    if (version == NULL) {
        version = select_philox_group();
        atomic_store_explicit(&chosen, version, memory_order_relaxed);
    }
    version(seed, stream, group, words);
}

int ebm_rng_check_versions(uint64_t seed, uint64_t stream, uint64_t group)
{
    uint32_t plain[GROUP_WORDS], other[GROUP_WORDS];
    int checked = 0;

    philox_group_plain(seed, stream, group, plain);
#ifdef EBM_HAVE_SIMD_PHILOX
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) {
        philox_group_avx2(seed, stream, group, other);
        if (memcmp(plain, other, sizeof(plain)) != 0)
            return -1;
        checked++;
    }
    if (__builtin_cpu_supports("avx512f")) {
        philox_group_avx512(seed, stream, group, other);
        if (memcmp(plain, other, sizeof(plain)) != 0)
            return -1;
        checked++;
    }
#endif
    (void)other;
    return checked;
}

/* ------------------------------------------------------------------------ */
/* Bulk draws                                                               */
/* ------------------------------------------------------------------------ */

/* Length of the next chunk from index: up to the end of its group, so that
 * each chunk costs one group of Philox blocks. */
static size_t chunk_length(uint64_t index, size_t remaining)
{
    return ebm_min_size(GROUP_WORDS - (size_t)(index % GROUP_WORDS),
                        remaining);
}

void ebm_rng_fill_words(uint64_t seed, uint64_t stream, uint64_t first,
                        size_t count, uint32_t *out)
{
    uint32_t words[GROUP_WORDS];
    size_t take;

    for (size_t done = 0; done < count; done += take) {
        uint64_t index = first + done;

        take = chunk_length(index, count - done);
        philox_group(seed, stream, index / GROUP_WORDS, words);
        memcpy(out + done, words + index % GROUP_WORDS,
               take * sizeof(*out));
    }
}

static inline float word_to_uniform(uint32_t word)
{
    /* The top 23 bits plus 0.5 need 24 significant bits, which a float
     * holds exactly, so u lies in [2^-24, 1 - 2^-24]. (24 bits plus 0.5
     * would need 25 and round up to 1 at the top.) */
    return ((float)(int32_t)(word >> 9) + 0.5f) * 0x1p-23f;
}

EBM_KERNEL
static void words_to_uniform(const uint32_t *words, size_t count, float *out)
{
    for (size_t i = 0; i < count; i++)
        out[i] = word_to_uniform(words[i]);
}

void ebm_rng_fill_uniform(uint64_t seed, uint64_t stream, uint64_t first,
                          size_t count, float *out)
{
    uint32_t words[GROUP_WORDS];
    size_t take;

    for (size_t done = 0; done < count; done += take) {
        uint64_t index = first + done;

        take = chunk_length(index, count - done);
        philox_group(seed, stream, index / GROUP_WORDS, words);
        words_to_uniform(words + index % GROUP_WORDS, take, out + done);
    }
}

EBM_KERNEL
static void compare_uniform(const uint32_t *words, size_t count,
                            const float *prob, float *sample)
{
    for (size_t i = 0; i < count; i++)
        sample[i] = word_to_uniform(words[i]) < prob[i] ? 1.0f : 0.0f;
}

void ebm_rng_bernoulli(uint64_t seed, uint64_t stream, uint64_t first,
                       size_t count, const float *prob, float *sample)
{
    uint32_t words[GROUP_WORDS];
    size_t take;

    for (size_t done = 0; done < count; done += take) {
        uint64_t index = first + done;

        take = chunk_length(index, count - done);
        philox_group(seed, stream, index / GROUP_WORDS, words);
        compare_uniform(words + index % GROUP_WORDS, take, prob + done,
                        sample + done);
    }
}

ebm_status ebm_rng_init(ebm_rng *rng, uint64_t seed)
{
    if (rng == NULL)
        return ebm_fail(EBM_ERR_NULL, "rng is NULL");
    rng->seed = seed;
    rng->stream = 0;
    return EBM_OK;
}

float ebm_rng_uniform(uint64_t seed, uint64_t stream, uint64_t index)
{
    uint64_t block = index / GROUP_WORDS * GROUP_BLOCKS + index % GROUP_BLOCKS;
    uint32_t counter[4] = {(uint32_t)block, (uint32_t)(block >> 32),
                           (uint32_t)stream, (uint32_t)(stream >> 32)};
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t out[4];

    ebm_philox4x32_10(counter, key, out);
    return word_to_uniform(out[index % GROUP_WORDS / GROUP_BLOCKS]);
}
