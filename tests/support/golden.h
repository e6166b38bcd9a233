/*
 * golden.h: the golden-trace scenarios. The same scenarios run in the native cmocka test
 * (test_golden.c, once per backend and build) and in the WebAssembly test program under
 * Node (tests/wasm/wasm_tests.c); all must reproduce tests/golden/traces.txt bit for bit.
 * The fma kernel family has its own hashes, tests/golden/traces_fma.txt, checked natively.
 */
#ifndef PLAB_GOLDEN_H
#define PLAB_GOLDEN_H

#include <stdint.h>

#include "plab.h"

typedef struct golden_scenario {
    const char *name;
    const char *settings; /* space-separated key=value pairs applied to plab_config_default */
} golden_scenario;

extern const golden_scenario golden_scenarios[];
extern const int golden_count;

/* Runs a scenario on a backend in the strict family; writes the trace hash. PLAB_OK or the
 * failing status. */
plab_status golden_run(const golden_scenario *s, plab_kernels_id k, uint64_t *hash,
                       double *last_loss);
/* The same in kernel family f (STRICT or FMA). */
plab_status golden_run_family(const golden_scenario *s, plab_kernels_id k, plab_kernel_family f,
                              uint64_t *hash, double *last_loss);

/* Reads the expected strict hash of a scenario from <source_dir>/tests/golden/traces.txt.
 * Returns 0 if found. */
int golden_expected(const char *source_dir, const char *name, uint64_t *hash);
/* The same for family f: traces.txt (STRICT) or traces_fma.txt (FMA). */
int golden_expected_family(const char *source_dir, plab_kernel_family f, const char *name,
                           uint64_t *hash);

#endif
