/*
 * arena.h: plan-then-allocate. A planner adds up 64-byte-aligned pieces with overflow checks;
 * one aligned block is then carved into them in the same order.
 */
#ifndef PLAB_ARENA_H
#define PLAB_ARENA_H

#include <stddef.h>

#include "plab.h"

typedef struct plab_plan {
    size_t bytes;
    int overflow;
} plab_plan;

/* Reserves count elements of elem bytes; returns the byte offset of the piece. */
size_t plab_plan_add(plab_plan *p, size_t count, size_t elem);

void *plab_alloc(const plab_allocator *a, size_t size);
void plab_free(const plab_allocator *a, void *ptr);

#define PLAB_ALIGN 64

#endif
