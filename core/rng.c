/*
 * rng.c: PCG32 streams derived from (seed, stream, sub) and the distributions built on them.
 *
 * Every draw uses integer arithmetic or basic IEEE operations only, so a seed gives the same
 * numbers natively and in WebAssembly (ALGORITHMS §5).
 */
#include "plab.h"
#include "ziggurat_tables.h"

/* SplitMix64 finalizer (Steele, Lea, Flood 2014): a bijective 64-bit mixer. */
static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void plab_rng_seed(plab_rng *r, uint64_t seed, uint64_t stream, uint64_t sub)
{
    uint64_t a = mix64(seed ^ mix64(stream * 0xD1B54A32D192ED03ull ^ mix64(sub)));
    uint64_t b = mix64(a ^ 0xA0761D6478BD642Full);
    r->state = 0;
    r->inc = (b << 1) | 1u;
    (void)plab_rng_u32(r);
    r->state += a;
    (void)plab_rng_u32(r);
}

/* PCG-XSH-RR 64/32 (O'Neill 2014). */
uint32_t plab_rng_u32(plab_rng *r)
{
    uint64_t old = r->state;
    r->state = old * 6364136223846793005ull + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
    uint32_t rot = (uint32_t)(old >> 59);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31u));
}

/* Lemire's nearly-divisionless unbiased bounded integer (2019). */
uint32_t plab_rng_below(plab_rng *r, uint32_t bound)
{
    uint64_t m = (uint64_t)plab_rng_u32(r) * bound;
    uint32_t low = (uint32_t)m;
    if (low < bound) {
        uint32_t threshold = (uint32_t)(-bound) % bound;
        while (low < threshold) {
            m = (uint64_t)plab_rng_u32(r) * bound;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

float plab_rng_uniform(plab_rng *r)
{
    return (float)(plab_rng_u32(r) >> 8) * (1.0f / 16777216.0f);
}

double plab_rng_uniform_d(plab_rng *r)
{
    uint64_t hi = plab_rng_u32(r) >> 5; /* 27 bits */
    uint64_t lo = plab_rng_u32(r) >> 6; /* 26 bits */
    return (double)((hi << 26) | lo) * (1.0 / 9007199254740992.0);
}

/* Ziggurat normal variate (Marsaglia and Tsang 2000), 128 layers, double-precision tables and
 * a 53-bit uniform. Two u32 draws on the fast path (98.8 % of draws); the tail and the wedges
 * use plab_log and plab_exp, so every platform gives the same numbers. */
double plab_rng_normal(plab_rng *r)
{
    for (;;) {
        uint32_t a = plab_rng_u32(r), b = plab_rng_u32(r);
        int i = (int)(a & 127u);
        double sign = (a & 128u) ? -1.0 : 1.0;
        double u = (double)(((uint64_t)(a >> 8) << 29) | (b >> 3)) * (1.0 / 9007199254740992.0);
        double x = u * zig_x[i];
        if (x < zig_x[i + 1])
            return sign * x;
        if (i == 0) {
            /* the tail beyond r (Marsaglia 1964) */
            double t, e;
            do {
                t = -plab_log(1.0 - plab_rng_uniform_d(r)) / zig_x[1];
                e = -plab_log(1.0 - plab_rng_uniform_d(r));
            } while (e + e < t * t);
            return sign * (zig_x[1] + t);
        }
        /* a wedge: accept under the density */
        double y = zig_f[i] + plab_rng_uniform_d(r) * (zig_f[i + 1] - zig_f[i]);
        if (y < plab_exp(-0.5 * x * x))
            return sign * x;
    }
}

float plab_rng_dist(plab_rng *r, const plab_dist *d)
{
    switch (d->kind) {
    case PLAB_DIST_NORMAL:
        return (float)((double)d->mean + (double)d->scale * plab_rng_normal(r));
    case PLAB_DIST_UNIFORM: {
        double u = 2.0 * plab_rng_uniform_d(r) - 1.0;
        return (float)((double)d->mean + (double)d->scale * u);
    }
    case PLAB_DIST_CONST:
    default:
        return d->mean;
    }
}
