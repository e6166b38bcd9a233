/* golden_print.c: prints "<scenario> <hash>" for every golden scenario on the scalar
 * backend; scripts/update-golden.sh stores the output as tests/golden/traces.txt. */
#include <inttypes.h>
#include <stdio.h>

#include "golden.h"

int main(void)
{
    printf("# golden trace hashes: scripts/update-golden.sh regenerates this file\n");
    for (int i = 0; i < golden_count; i++) {
        uint64_t h;
        double loss;
        if (golden_run(&golden_scenarios[i], PLAB_KERNELS_SCALAR, &h, &loss) != PLAB_OK)
            return 1;
        printf("%s %016" PRIx64 "\n", golden_scenarios[i].name, h);
    }
    return 0;
}
