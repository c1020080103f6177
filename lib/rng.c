/*
 * Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel random numbers:
 * as easy as 1, 2, 3", SC 2011): a counter-based generator, so any draw is
 * a pure function of (seed, stream, index) and threads need no shared
 * state. The bulk functions generate 16 blocks at a time in plain arrays so
 * that the compiler vectorises the rounds.
 */
#include "rng.h"

#include <string.h>

#include "core.h"
#include "kernel.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u /* key increments per round */
#define PHILOX_W1 0xBB67AE85u
#define PHILOX_ROUNDS 10

/* Blocks generated together by the bulk functions: 64 words. */
#define BULK_BLOCKS 16
#define BULK_WORDS (4 * BULK_BLOCKS)

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
 * The 64 words of blocks first_block .. first_block + 15, in index order.
 * Three versions compute the same integers: plain C, AVX2 (8 blocks per
 * vector) and AVX-512 (16 blocks per vector). x86 has no vector 32 x 32 ->
 * 64-bit multiply of every lane, so the vector versions multiply the even
 * lanes and the odd lanes separately (_mm*_mul_epu32) and blend the halves.
 */

/* Counter words of 16 consecutive blocks, one array per word. */
struct philox_lanes {
    uint32_t c[4][BULK_BLOCKS];
};

static void lanes_init(struct philox_lanes *lanes, uint64_t stream,
                       uint64_t first_block)
{
    for (int lane = 0; lane < BULK_BLOCKS; lane++) {
        uint64_t block = first_block + (uint64_t)lane;

        lanes->c[0][lane] = (uint32_t)block;
        lanes->c[1][lane] = (uint32_t)(block >> 32);
        lanes->c[2][lane] = (uint32_t)stream;
        lanes->c[3][lane] = (uint32_t)(stream >> 32);
    }
}

static void lanes_store(const struct philox_lanes *lanes,
                        uint32_t words[BULK_WORDS])
{
    for (int lane = 0; lane < BULK_BLOCKS; lane++)
        for (int w = 0; w < 4; w++)
            words[4 * lane + w] = lanes->c[w][lane];
}

static void philox_bulk_plain(uint64_t seed, struct philox_lanes *lanes)
{
    for (int lane = 0; lane < BULK_BLOCKS; lane++) {
        uint32_t counter[4] = {lanes->c[0][lane], lanes->c[1][lane],
                               lanes->c[2][lane], lanes->c[3][lane]};
        uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
        uint32_t out[4];

        ebm_philox4x32_10(counter, key, out);
        for (int w = 0; w < 4; w++)
            lanes->c[w][lane] = out[w];
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define EBM_HAVE_SIMD_PHILOX 1

__attribute__((target("avx2"))) static void
philox_bulk_avx2(uint64_t seed, struct philox_lanes *lanes)
{
    const __m256i m0 = _mm256_set1_epi32((int)PHILOX_M0);
    const __m256i m1 = _mm256_set1_epi32((int)PHILOX_M1);

    for (int half = 0; half < BULK_BLOCKS; half += 8) {
        __m256i c0 = _mm256_loadu_si256((const void *)&lanes->c[0][half]);
        __m256i c1 = _mm256_loadu_si256((const void *)&lanes->c[1][half]);
        __m256i c2 = _mm256_loadu_si256((const void *)&lanes->c[2][half]);
        __m256i c3 = _mm256_loadu_si256((const void *)&lanes->c[3][half]);
        uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);

        for (int round = 0; round < PHILOX_ROUNDS; round++) {
            /* 64-bit products of the even and of the odd lanes. */
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
        _mm256_storeu_si256((void *)&lanes->c[0][half], c0);
        _mm256_storeu_si256((void *)&lanes->c[1][half], c1);
        _mm256_storeu_si256((void *)&lanes->c[2][half], c2);
        _mm256_storeu_si256((void *)&lanes->c[3][half], c3);
    }
}

__attribute__((target("avx512f"))) static void
philox_bulk_avx512(uint64_t seed, struct philox_lanes *lanes)
{
    const __m512i m0 = _mm512_set1_epi32((int)PHILOX_M0);
    const __m512i m1 = _mm512_set1_epi32((int)PHILOX_M1);
    const __mmask16 odd = 0xAAAA;
    __m512i c0 = _mm512_loadu_si512(lanes->c[0]);
    __m512i c1 = _mm512_loadu_si512(lanes->c[1]);
    __m512i c2 = _mm512_loadu_si512(lanes->c[2]);
    __m512i c3 = _mm512_loadu_si512(lanes->c[3]);
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);

    for (int round = 0; round < PHILOX_ROUNDS; round++) {
        __m512i p0_even = _mm512_mul_epu32(c0, m0);
        __m512i p0_odd = _mm512_mul_epu32(_mm512_srli_epi64(c0, 32), m0);
        __m512i p1_even = _mm512_mul_epu32(c2, m1);
        __m512i p1_odd = _mm512_mul_epu32(_mm512_srli_epi64(c2, 32), m1);
        __m512i lo0 = _mm512_mask_blend_epi32(
            odd, p0_even, _mm512_slli_epi64(p0_odd, 32));
        __m512i hi0 = _mm512_mask_blend_epi32(
            odd, _mm512_srli_epi64(p0_even, 32), p0_odd);
        __m512i lo1 = _mm512_mask_blend_epi32(
            odd, p1_even, _mm512_slli_epi64(p1_odd, 32));
        __m512i hi1 = _mm512_mask_blend_epi32(
            odd, _mm512_srli_epi64(p1_even, 32), p1_odd);

        c0 = _mm512_xor_si512(_mm512_xor_si512(hi1, c1),
                              _mm512_set1_epi32((int)k0));
        c1 = lo1;
        c2 = _mm512_xor_si512(_mm512_xor_si512(hi0, c3),
                              _mm512_set1_epi32((int)k1));
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    _mm512_storeu_si512(lanes->c[0], c0);
    _mm512_storeu_si512(lanes->c[1], c1);
    _mm512_storeu_si512(lanes->c[2], c2);
    _mm512_storeu_si512(lanes->c[3], c3);
}
#endif

typedef void (*philox_bulk_fn)(uint64_t seed, struct philox_lanes *lanes);

/* The fastest version this processor runs, chosen on first use. Every
 * version computes the same integers, so the choice never changes a
 * result. */
static philox_bulk_fn select_philox_bulk(void)
{
#ifdef EBM_HAVE_SIMD_PHILOX
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return philox_bulk_avx512;
    if (__builtin_cpu_supports("avx2"))
        return philox_bulk_avx2;
#endif
    return philox_bulk_plain;
}

static void philox_bulk(uint64_t seed, uint64_t stream, uint64_t first_block,
                        uint32_t words[BULK_WORDS])
{
    static philox_bulk_fn bulk;
    struct philox_lanes lanes;

    /* Racing threads store the same pointer. */
    if (bulk == NULL)
        bulk = select_philox_bulk();
    lanes_init(&lanes, stream, first_block);
    bulk(seed, &lanes);
    lanes_store(&lanes, words);
}

int ebm_rng_check_versions(uint64_t seed, uint64_t stream,
                           uint64_t first_block)
{
    struct philox_lanes plain, other;
    int checked = 0;

    lanes_init(&plain, stream, first_block);
    philox_bulk_plain(seed, &plain);
#ifdef EBM_HAVE_SIMD_PHILOX
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) {
        lanes_init(&other, stream, first_block);
        philox_bulk_avx2(seed, &other);
        if (memcmp(&plain, &other, sizeof(plain)) != 0)
            return -1;
        checked++;
    }
    if (__builtin_cpu_supports("avx512f")) {
        lanes_init(&other, stream, first_block);
        philox_bulk_avx512(seed, &other);
        if (memcmp(&plain, &other, sizeof(plain)) != 0)
            return -1;
        checked++;
    }
#endif
    (void)other;
    return checked;
}

void ebm_rng_fill_words(uint64_t seed, uint64_t stream, uint64_t first,
                        size_t count, uint32_t *out)
{
    uint32_t words[BULK_WORDS];
    size_t done = 0;

    while (done < count) {
        uint64_t index = first + done;
        uint64_t group_start = index - index % BULK_WORDS;
        size_t offset = (size_t)(index - group_start);
        size_t take = ebm_min_size(BULK_WORDS - offset, count - done);

        philox_bulk(seed, stream, group_start / 4, words);
        memcpy(out + done, words + offset, take * sizeof(*out));
        done += take;
    }
}

/* Length of the next chunk from index: up to the end of its group of
 * BULK_WORDS words, so that each chunk costs one philox_bulk call. */
static size_t chunk_length(uint64_t index, size_t remaining)
{
    return ebm_min_size(BULK_WORDS - (size_t)(index % BULK_WORDS), remaining);
}

static inline float word_to_uniform(uint32_t word)
{
    /* The top 24 bits fit a float exactly, and so does adding 0.5. */
    return ((float)(int32_t)(word >> 8) + 0.5f) * 0x1p-24f;
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
    uint32_t words[BULK_WORDS];
    size_t take;

    for (size_t done = 0; done < count; done += take) {
        take = chunk_length(first + done, count - done);
        ebm_rng_fill_words(seed, stream, first + done, take, words);
        words_to_uniform(words, take, out + done);
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
    uint32_t words[BULK_WORDS];
    size_t take;

    for (size_t done = 0; done < count; done += take) {
        take = chunk_length(first + done, count - done);
        ebm_rng_fill_words(seed, stream, first + done, take, words);
        compare_uniform(words, take, prob + done, sample + done);
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
    uint32_t word;

    ebm_rng_fill_words(seed, stream, index, 1, &word);
    return word_to_uniform(word);
}
