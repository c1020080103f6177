/*
 * Branch-free float exp, log1p, sigmoid and softplus that the compiler can
 * vectorise inside element-wise loops. Every operation is a plain IEEE add,
 * multiply, divide, compare or integer bit operation, so a value computes to
 * the same bits at any vector width (the build disables FMA contraction).
 *
 * Accuracy, checked against long double by tests/test_math.c on a sample of
 * every 211th float (every 61st for log1p): exp and log1p within 2 ulp,
 * sigmoid within 3 ulp and softplus within 4 ulp, for results of at least
 * FLT_MIN. Subnormal results are within one subnormal step (2^-149) plus
 * the relative error. No input other than NaN
 * raises the overflow, invalid or divide-by-zero flag (an ordered comparison
 * with NaN may raise invalid; the public wrappers in math.c return NaN
 * before comparing). NaN propagates.
 */
#ifndef EBM_VMATH_H
#define EBM_VMATH_H

#include <stdint.h>
#include <string.h>

static inline float ebm_bits_to_float(uint32_t bits)
{
    float x;

    memcpy(&x, &bits, sizeof(x));
    return x;
}

static inline uint32_t ebm_float_to_bits(float x)
{
    uint32_t bits;

    memcpy(&bits, &x, sizeof(bits));
    return bits;
}

/* Below this argument exp returns 0: exp(-104) = 6.8e-46 is less than half
 * the smallest subnormal float, so 0 is the correctly rounded result. */
#define EBM_EXP_MIN_ARG (-104.0f)
/* Above this argument exp returns exp(88) = 1.65e38 (no overflow). */
#define EBM_EXP_MAX_ARG 88.0f

/*
 * exp(x) by argument reduction x = n ln2 + r, |r| <= ln2 / 2, and a
 * polynomial of degree 6 for exp(r), fitted for least maximum relative
 * error on that interval by Lawson's iteratively reweighted least squares
 * (scripts/fit_exp.py). With the coefficients rounded to float its error is
 * 1.7e-8, a seventh of an ulp. ln2 is split in a high part with few
 * significant bits (so n * ln2_high is exact) and a low part. The result is
 * scaled by 2^n as 2^(n/2) * 2^(n - n/2), two normal floats, so that
 * results down to the smallest subnormal come out right.
 * Arguments below EBM_EXP_MIN_ARG, -inf included, give 0; above
 * EBM_EXP_MAX_ARG they are clamped there.
 */
static inline float ebm_vexp(float x)
{
    const float log2e = 1.44269504088896341f;
    const float ln2_high = 0.693145751953125f;
    const float ln2_low = 1.42860682030941723212e-6f;
    /* Adding 1.5 * 2^23 rounds a float of magnitude < 2^22 to an integer
     * and leaves that integer in the low mantissa bits. */
    const float round_shift = 12582912.0f;
    float clamped = x < EBM_EXP_MIN_ARG ? EBM_EXP_MIN_ARG : x;
    float shifted, n, r, p;
    int32_t n_int, n_half;

    clamped = clamped > EBM_EXP_MAX_ARG ? EBM_EXP_MAX_ARG : clamped;
    shifted = clamped * log2e + round_shift;
    n = shifted - round_shift;
    r = clamped - n * ln2_high;
    r = r - n * ln2_low;

    p = 0x1.6ab98p-10f;
    p = p * r + 0x1.126d0cp-7f;
    p = p * r + 0x1.55589ap-5f;
    p = p * r + 0x1.55540ap-3f;
    p = p * r + 0x1.fffffap-2f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;

    /* n in [-150, 127], read from the mantissa of `shifted` with integer
     * operations only; both halves lie in [-75, 64]. */
    n_int = (int32_t)(ebm_float_to_bits(shifted) -
                      ebm_float_to_bits(round_shift));
    n_half = n_int / 2;
    p = p * ebm_bits_to_float((uint32_t)(n_half + 127) << 23);
    p = p * ebm_bits_to_float((uint32_t)(n_int - n_half + 127) << 23);
    return x < EBM_EXP_MIN_ARG ? 0.0f : p;
}

/*
 * log(1 + e) for e in [0, 1] (the range softplus needs), as
 * 2 atanh(s), s = g / (2 + g), with g = e up to 0.5 and g = (e - 1) / 2
 * plus ln 2 above (e - 1 is exact there), so |s| <= 0.2. The odd series
 * s + s^3/3 + ... + s^9/9 then has a truncation error below
 * 0.2^11 / 11 = 2e-9.
 */
static inline float ebm_vlog1p_unit(float e)
{
    const float ln2 = 0.693147180559945309f;
    int high = e > 0.5f;
    float g = high ? (e - 1.0f) * 0.5f : e;
    float s = g / (2.0f + g);
    float s2 = s * s;
    float series;

    /* 2s + 2s (s^2/3 + s^4/5 + ...): the leading term is added last so
     * that the rounding of the small tail does not reach it. */
    series = 1.0f / 9.0f;
    series = series * s2 + 1.0f / 7.0f;
    series = series * s2 + 1.0f / 5.0f;
    series = series * s2 + 1.0f / 3.0f;
    series = (2.0f * s) * (series * s2) + 2.0f * s;
    return high ? series + ln2 : series;
}

/* softplus(x) = max(x, 0) + log(1 + exp(-|x|)). */
static inline float ebm_vsoftplus(float x)
{
    float magnitude = x < 0.0f ? -x : x;
    float positive_part = x > 0.0f ? x : 0.0f;

    /* For NaN, both selects give 0 but ebm_vexp(NaN) is NaN. */
    magnitude = x != x ? x : magnitude;
    return positive_part + ebm_vlog1p_unit(ebm_vexp(-magnitude));
}

/* sigmoid(x) from e = exp(-|x|), which never overflows:
 * 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0. */
static inline float ebm_vsigmoid(float x)
{
    float magnitude = x < 0.0f ? -x : x;
    float e, denominator;

    magnitude = x != x ? x : magnitude;
    e = ebm_vexp(-magnitude);
    denominator = 1.0f + e;
    return x < 0.0f ? e / denominator : 1.0f / denominator;
}

#endif /* EBM_VMATH_H */
