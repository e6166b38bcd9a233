/*
 * mathf.c: exp, log, tanh and sigmoid from basic IEEE operations only.
 *
 * libm's results differ between platforms (glibc, musl, Emscripten). These versions use only
 * + - * / and bit manipulation in a fixed order, with -ffp-contract=off, so every target gives
 * the same bits (STYLE "Determinism"). Accuracy is a few ulp, ample for training.
 */
#include <string.h>

#include "plab.h"

static float f_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t f_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static double d_from_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static uint64_t d_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

float plab_expf(float x)
{
    if (x != x)
        return x;
    if (x > 88.72283f)
        return f_from_bits(0x7f800000u);
    if (x < -87.33654f)
        return 0.0f; /* flush: below the smallest normal */
    /* x = k ln2 + r, |r| <= ln2/2; k by round-to-nearest via the 1.5*2^23 trick. */
    const float magic = 12582912.0f;
    float kf = (x * 1.44269504f + magic) - magic;
    int k = (int)kf;
    float r = (x - kf * 0.693145752f) - kf * 1.42860677e-6f;
    /* Taylor to degree 7 in Horner form: |error| < 2e-9 relative on |r| <= 0.347. */
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    /* scale by 2^k in two halves so k = -126..128 never leaves the normal range mid-way */
    int k1 = k / 2, k2 = k - k1;
    float s1 = f_from_bits((uint32_t)(k1 + 127) << 23);
    float s2 = f_from_bits((uint32_t)(k2 + 127) << 23);
    return (p * s1) * s2;
}

float plab_logf(float x)
{
    if (x != x || x < 0.0f)
        return f_from_bits(0x7fc00000u);
    if (x == 0.0f)
        return f_from_bits(0xff800000u);
    if (x == f_from_bits(0x7f800000u))
        return x;
    uint32_t u = f_bits(x);
    int e = 0;
    if ((u >> 23) == 0) { /* subnormal: scale up by 2^23 */
        x *= 8388608.0f;
        u = f_bits(x);
        e = -23;
    }
    e += (int)(u >> 23) - 127;
    float m = f_from_bits((u & 0x007fffffu) | 0x3f800000u); /* [1, 2) */
    if (m > 1.41421356f) {
        m *= 0.5f;
        e += 1;
    }
    /* fdlibm's form (see plab_log): f exact, the series corrects it */
    float f = m - 1.0f;
    float s = f / (2.0f + f);
    float z = s * s;
    float R = 2.0f / 11.0f;
    R = R * z + 2.0f / 9.0f;
    R = R * z + 2.0f / 7.0f;
    R = R * z + 2.0f / 5.0f;
    R = R * z + 2.0f / 3.0f;
    R = R * z;
    float hfsq = 0.5f * f * f;
    float ef = (float)e;
    return ef * 0.693145752f - ((hfsq - (s * (hfsq + R) + ef * 1.42860677e-6f)) - f);
}

double plab_log(double x)
{
    if (x != x || x < 0.0)
        return d_from_bits(0x7ff8000000000000ull);
    if (x == 0.0)
        return d_from_bits(0xfff0000000000000ull);
    if (x == d_from_bits(0x7ff0000000000000ull))
        return x;
    uint64_t u = d_bits(x);
    int e = 0;
    if ((u >> 52) == 0) {
        x *= 4503599627370496.0; /* 2^52 */
        u = d_bits(x);
        e = -52;
    }
    e += (int)(u >> 52) - 1023;
    double m = d_from_bits((u & 0x000fffffffffffffull) | 0x3ff0000000000000ull);
    if (m > 1.4142135623730951) {
        m *= 0.5;
        e += 1;
    }
    /* fdlibm's form: log(m) = f - (hfsq - s (hfsq + R)), f = m - 1, s = f / (2 + f), so the
     * leading term f is exact and the series only corrects it (< 1 ulp overall). */
    double f = m - 1.0;
    double s = f / (2.0 + f);
    double z = s * s;
    double R = 2.0 / 21.0;
    R = R * z + 2.0 / 19.0;
    R = R * z + 2.0 / 17.0;
    R = R * z + 2.0 / 15.0;
    R = R * z + 2.0 / 13.0;
    R = R * z + 2.0 / 11.0;
    R = R * z + 2.0 / 9.0;
    R = R * z + 2.0 / 7.0;
    R = R * z + 2.0 / 5.0;
    R = R * z + 2.0 / 3.0;
    R = R * z;
    double hfsq = 0.5 * f * f;
    double ed = (double)e;
    return ed * 6.93147180369123816490e-01 -
           ((hfsq - (s * (hfsq + R) + ed * 1.90821492927058770002e-10)) - f);
}

/* exp in double from basic operations (the ziggurat wedge test). */
double plab_exp(double x)
{
    if (x != x)
        return x;
    if (x > 709.78)
        return d_from_bits(0x7ff0000000000000ull);
    if (x < -708.39)
        return 0.0; /* flush: below the smallest normal */
    /* x = k ln2 + r, |r| <= ln2/2 */
    const double magic = 6755399441055744.0; /* 1.5 * 2^52 */
    double kd = (x * 1.4426950408889634 + magic) - magic;
    int k = (int)kd;
    double rr = (x - kd * 6.93147180369123816490e-01) - kd * 1.90821492927058770002e-10;
    /* Taylor to degree 13 in Horner form: the truncation error is below 1e-17 relative */
    double p = 1.0 / 6227020800.0;
    p = p * rr + 1.0 / 479001600.0;
    p = p * rr + 1.0 / 39916800.0;
    p = p * rr + 1.0 / 3628800.0;
    p = p * rr + 1.0 / 362880.0;
    p = p * rr + 1.0 / 40320.0;
    p = p * rr + 1.0 / 5040.0;
    p = p * rr + 1.0 / 720.0;
    p = p * rr + 1.0 / 120.0;
    p = p * rr + 1.0 / 24.0;
    p = p * rr + 1.0 / 6.0;
    p = p * rr + 0.5;
    p = p * rr + 1.0;
    p = p * rr + 1.0;
    int k1 = k / 2, k2 = k - k1;
    double s1 = d_from_bits((uint64_t)(k1 + 1023) << 52);
    double s2 = d_from_bits((uint64_t)(k2 + 1023) << 52);
    return (p * s1) * s2;
}

float plab_tanhf(float x)
{
    float a = x < 0.0f ? -x : x;
    float r;
    if (!(a == a))
        return x;
    if (a > 9.0f) {
        r = 1.0f;
    } else if (a < 0.625f) {
        /* odd Taylor series to x^17: the truncation error is below 3.2e-8 for a < 0.625 */
        float z = a * a;
        float p = -6404582.0f / 10854718875.0f;
        p = p * z + 929569.0f / 638512875.0f;
        p = p * z - 21844.0f / 6081075.0f;
        p = p * z + 1382.0f / 155925.0f;
        p = p * z - 62.0f / 2835.0f;
        p = p * z + 17.0f / 315.0f;
        p = p * z - 2.0f / 15.0f;
        p = p * z + 1.0f / 3.0f;
        r = a - a * z * p;
    } else {
        float t = plab_expf(-2.0f * a);
        r = (1.0f - t) / (1.0f + t);
    }
    /* the sign of x, including -0 (tanh(-0) = -0) */
    return f_from_bits(f_bits(r) | (f_bits(x) & 0x80000000u));
}

float plab_sigmoidf(float x)
{
    return 1.0f / (1.0f + plab_expf(-x));
}
