/* kernels_avx2.c: the avx2 backend (see kernels.h for the bit-exactness rules). */
#include "kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
void plab_kernels_fill_avx2(plab_kernels *k)
{
    (void)k;
}
#else
void plab_kernels_fill_avx2(plab_kernels *k)
{
    (void)k;
}
#endif
