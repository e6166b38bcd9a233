/* testutil.c: see testutil.h. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define CA_HEADER 64 /* keeps the size; a multiple of every alignment asked for */

static void *ca_alloc(void *ctx, size_t size, size_t align)
{
    count_alloc *c = ctx;
    if (align > CA_HEADER)
        return NULL;
    char *p = aligned_alloc(CA_HEADER, (size + CA_HEADER + CA_HEADER - 1) / CA_HEADER * CA_HEADER);
    if (!p)
        return NULL;
    c->allocs++;
    memcpy(p, &size, sizeof size);
    c->live += size;
    c->peak = c->live > c->peak ? c->live : c->peak;
    return p + CA_HEADER;
}

static void ca_free(void *ctx, void *ptr)
{
    count_alloc *c = ctx;
    if (!ptr)
        return;
    char *p = (char *)ptr - CA_HEADER;
    size_t size;
    memcpy(&size, p, sizeof size);
    c->frees++;
    c->live -= size;
    free(p);
}

void count_alloc_init(count_alloc *c)
{
    memset(c, 0, sizeof *c);
    c->a.alloc = ca_alloc;
    c->a.free = ca_free;
    c->a.ctx = c;
}

int test_backends(plab_kernels_id out[PLAB_KERNELS_COUNT])
{
    int n = 0;
    const char *env = getenv("PLAB_KERNELS");
    plab_kernels_id forced;
    if (env && *env && plab_kernels_parse(env, &forced) == PLAB_OK && forced != PLAB_KERNELS_AUTO) {
        if (plab_kernels_available(forced))
            out[n++] = forced;
        return n;
    }
    for (int i = PLAB_KERNELS_SCALAR; i < PLAB_KERNELS_COUNT; i++)
        if (plab_kernels_available((plab_kernels_id)i))
            out[n++] = (plab_kernels_id)i;
    return n;
}
