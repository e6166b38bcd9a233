/* list_backends.c: prints the kernel backends this machine can run, one per line
 * (scripts/test.sh runs the test suite once per backend). */
#include <stdio.h>

#include "plab.h"

int main(void)
{
    for (int i = PLAB_KERNELS_SCALAR; i < PLAB_KERNELS_COUNT; i++)
        if (plab_kernels_available((plab_kernels_id)i))
            printf("%s\n", plab_kernels_name((plab_kernels_id)i));
    return 0;
}
