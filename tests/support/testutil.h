/* testutil.h: helpers shared by the cmocka tests (a counting allocator, backend lists). */
#ifndef PLAB_TESTUTIL_H
#define PLAB_TESTUTIL_H

#include <stddef.h>

#include "plab.h"

/* An allocator that counts calls, live bytes and their peak (bytes as asked for; a 64-byte
 * header keeps each size); pass &counter->a wherever one is taken. Alignments up to 64. */
typedef struct count_alloc {
    plab_allocator a;
    size_t allocs, frees;
    size_t live, peak;
} count_alloc;
void count_alloc_init(count_alloc *c);

/* The backends this machine can run (scalar first); returns how many. If the environment
 * variable PLAB_KERNELS names one backend, only it is listed (CI runs once per backend). */
int test_backends(plab_kernels_id out[PLAB_KERNELS_COUNT]);

#endif
