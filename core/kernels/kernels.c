/*
 * kernels.c: backend registry and run-time selection.
 *
 * Each backend table starts as a copy of the scalar reference and overrides what it
 * implements, so a backend that lacks a kernel falls back to the same bits.
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
