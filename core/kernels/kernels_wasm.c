/* kernels_wasm.c: the wasm backend (see kernels.h for the bit-exactness rules). */
#include "kernels.h"

#if defined(__wasm_simd128__)
void plab_kernels_fill_wasm(plab_kernels *k)
{
    (void)k;
}
#else
void plab_kernels_fill_wasm(plab_kernels *k)
{
    (void)k;
}
#endif
