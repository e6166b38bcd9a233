/* golden_print.c: prints "<scenario> <hash>" for every golden scenario on the scalar
 * backend, in the strict family or (argument `fma`) the fma family; scripts/update-golden.sh
 * stores the output as tests/golden/traces.txt and tests/golden/traces_fma.txt. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "golden.h"

int main(int argc, char **argv)
{
    plab_kernel_family f =
        argc > 1 && strcmp(argv[1], "fma") == 0 ? PLAB_FAMILY_FMA : PLAB_FAMILY_STRICT;
    printf("# golden trace hashes%s: scripts/update-golden.sh regenerates this file\n",
           f == PLAB_FAMILY_FMA ? " of the fma kernel family" : "");
    for (int i = 0; i < golden_count; i++) {
        uint64_t h;
        double loss;
        if (golden_run_family(&golden_scenarios[i], PLAB_KERNELS_SCALAR, f, &h, &loss) != PLAB_OK)
            return 1;
        printf("%s %016" PRIx64 "\n", golden_scenarios[i].name, h);
    }
    return 0;
}
