/*
 * kernels_avx2_fma.c: the AVX2 backend of the fma kernel family (kernels.h).
 *
 * The same source as the strict backend, compiled again with -mfma (CMakeLists.txt) and
 * PLAB_FMA_FAMILY, which turns each multiply-add of the products (MADD*, MADDF) into one
 * fused operation and leaves every other operation, and the order of all of them, as it is.
 * Keeping one source means the two families cannot drift apart.
 */
#define PLAB_FMA_FAMILY 1

#if defined(__x86_64__) || defined(_M_X64)
#include "kernels_avx2.c"
#else
#include "kernels.h"

/* Not x86-64: kernels.c never selects this backend. */
void plab_kernels_fill_avx2_fma(plab_kernels *k)
{
    (void)k;
}
#endif
