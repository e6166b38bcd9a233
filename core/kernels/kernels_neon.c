/* kernels_neon.c: the neon backend (see kernels.h for the bit-exactness rules). */
#include "kernels.h"

#if defined(__aarch64__)
void plab_kernels_fill_neon(plab_kernels *k)
{
    (void)k;
}
#else
void plab_kernels_fill_neon(plab_kernels *k)
{
    (void)k;
}
#endif
