/*
 * kernels.c: backend registry and run-time selection.
 *
 * Each backend table starts as a copy of the scalar reference and overrides what it
 * implements, so a backend that lacks a kernel falls back to the same bits. An fma-family
 * table starts from the scalar table with the fmaf reference's products (kernels_scalar_fma.c).
 */
#include <string.h>

#include "kernels.h"

static const char *const names[PLAB_KERNELS_COUNT] = {"auto", "scalar", "sse2",  "avx2",
                                                      "neon", "wasm",   "avx512"};

const char *plab_kernels_name(plab_kernels_id id)
{
    return (unsigned)id < PLAB_KERNELS_COUNT ? names[id] : "unknown";
}

plab_status plab_kernels_parse(const char *name, plab_kernels_id *out)
{
    for (int i = 0; name && i < PLAB_KERNELS_COUNT; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (plab_kernels_id)i;
            return PLAB_OK;
        }
    return PLAB_E_INVALID;
}

static int compiled_in(plab_kernels_id id)
{
    switch (id) {
    case PLAB_KERNELS_AUTO:
    case PLAB_KERNELS_SCALAR:
        return 1;
#if defined(__x86_64__) || defined(_M_X64)
    case PLAB_KERNELS_SSE2:
        return 1;
    case PLAB_KERNELS_AVX2:
#if defined(__GNUC__)
        return __builtin_cpu_supports("avx2");
#else
        return 0;
#endif
    case PLAB_KERNELS_AVX512:
#if defined(__GNUC__)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
#else
        return 0;
#endif
#endif
#if defined(__aarch64__)
    case PLAB_KERNELS_NEON:
        return 1;
#endif
#if defined(__wasm_simd128__)
    case PLAB_KERNELS_WASM:
        return 1;
#endif
    default:
        return 0;
    }
}

int plab_kernels_available(plab_kernels_id id)
{
    return (unsigned)id < PLAB_KERNELS_COUNT && compiled_in(id);
}

plab_kernels_id plab_kernels_best(void)
{
    static const plab_kernels_id order[] = {PLAB_KERNELS_AVX512, PLAB_KERNELS_AVX2,
                                            PLAB_KERNELS_NEON,   PLAB_KERNELS_WASM,
                                            PLAB_KERNELS_SSE2};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (compiled_in(order[i]))
            return order[i];
    return PLAB_KERNELS_SCALAR;
}

static const char *const family_names[PLAB_FAMILY_COUNT] = {"strict", "fma", "auto"};

const char *plab_kernel_family_name(plab_kernel_family f)
{
    return (unsigned)f < PLAB_FAMILY_COUNT ? family_names[f] : "unknown";
}

/* The CPU executes FMA instructions (x86-64; AVX-512F machines all have it, but ask anyway). */
static int cpu_has_fma(void)
{
#if (defined(__x86_64__) || defined(_M_X64)) && defined(__GNUC__)
    return __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

/* A backend whose fma table is its own fused code (the others take the fmaf reference's). */
static int native_fma(plab_kernels_id id)
{
    return (id == PLAB_KERNELS_AVX2 || id == PLAB_KERNELS_AVX512) && cpu_has_fma();
}

int plab_kernel_family_available(plab_kernels_id id, plab_kernel_family f)
{
    if (!plab_kernels_available(id) || (unsigned)f >= PLAB_FAMILY_COUNT)
        return 0;
#if defined(__EMSCRIPTEN__)
    return f != PLAB_FAMILY_FMA; /* WebAssembly has no FMA: the page and its CLI command are strict */
#else
    return 1;
#endif
}

/* auto is fma only where the fma family measured >= 1.3x faster than strict on
 * 784-100-100-100-10 at batch 30 (docs/PERFORMANCE.md). No backend does any more: with the
 * sparse-input kernels (memory-bound, so FMA buys little there) AVX-512 fma is 1.12-1.24x
 * strict (median 1.17x), AVX2 less, so auto is strict everywhere, and the default bits are the
 * same natively and in WebAssembly. fma stays available on every native backend. */
plab_kernel_family plab_kernel_family_resolve(plab_kernels_id id, plab_kernel_family f)
{
    (void)id; /* auto never depends on a forced backend: forcing one keeps the bits */
    return f == PLAB_FAMILY_AUTO ? PLAB_FAMILY_STRICT : f;
}

plab_status plab_kernels_fill_family(plab_kernels_id id, plab_kernel_family f, plab_kernels *out)
{
    f = plab_kernel_family_resolve(id, f);
    if (f == PLAB_FAMILY_STRICT || !plab_kernel_family_available(id, f))
        return f == PLAB_FAMILY_STRICT ? plab_kernels_fill(id, out) : PLAB_E_UNSUPPORTED;
    if (id == PLAB_KERNELS_AUTO)
        id = plab_kernels_best();
    plab_status st = plab_kernels_fill(id, out);
    if (st != PLAB_OK)
        return st;
    if (id == PLAB_KERNELS_AVX2 && native_fma(id))
        plab_kernels_fill_avx2_fma(out);
    else if (id == PLAB_KERNELS_AVX512 && native_fma(id))
        plab_kernels_fill_avx512_fma(out);
    else /* the backend's own elementwise kernels, the reference's fused products */
        plab_kernels_fill_scalar_fma(out);
    return PLAB_OK;
}

plab_status plab_kernels_fill(plab_kernels_id id, plab_kernels *out)
{
    if (id == PLAB_KERNELS_AUTO)
        id = plab_kernels_best();
    if (!plab_kernels_available(id))
        return PLAB_E_UNSUPPORTED;
    *out = *plab_kernels_scalar();
    switch (id) {
    case PLAB_KERNELS_SSE2:
        plab_kernels_fill_sse2(out);
        break;
    case PLAB_KERNELS_AVX2:
        plab_kernels_fill_avx2(out);
        break;
    case PLAB_KERNELS_AVX512:
        plab_kernels_fill_avx512(out);
        break;
    case PLAB_KERNELS_NEON:
        plab_kernels_fill_neon(out);
        break;
    case PLAB_KERNELS_WASM:
        plab_kernels_fill_wasm(out);
        break;
    default:
        break;
    }
    out->id = id;
    return PLAB_OK;
}
