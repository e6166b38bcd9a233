/* arena.c: the planner, the default 64-byte-aligned allocator and the FNV-1a hash. */
#include <stdlib.h>

#include "arena.h"

size_t plab_plan_add(plab_plan *p, size_t count, size_t elem)
{
    size_t off = p->bytes;
    if (elem != 0 && count > (SIZE_MAX - PLAB_ALIGN) / elem) {
        p->overflow = 1;
        return 0;
    }
    size_t bytes = (count * elem + PLAB_ALIGN - 1) / PLAB_ALIGN * PLAB_ALIGN;
    if (bytes > SIZE_MAX - p->bytes) {
        p->overflow = 1;
        return 0;
    }
    p->bytes += bytes;
    return off;
}

void *plab_alloc(const plab_allocator *a, size_t size)
{
    if (size == 0)
        size = PLAB_ALIGN;
    if (a && a->alloc)
        return a->alloc(a->ctx, size, PLAB_ALIGN);
    size = (size + PLAB_ALIGN - 1) / PLAB_ALIGN * PLAB_ALIGN;
    return aligned_alloc(PLAB_ALIGN, size);
}

void plab_free(const plab_allocator *a, void *ptr)
{
    if (!ptr)
        return;
    if (a && a->free)
        a->free(a->ctx, ptr);
    else
        free(ptr);
}

uint64_t plab_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}
