/*
 * rows.h: the flat record layout of the rows a run emits, shared by the wasm bindings
 * (plab_web.c) and the native comparison helper of the page tests (tests/web/native_rows.c),
 * so both write the same fields in the same order.
 *
 * Every row becomes a record of doubles (int64 counters are exact below 2^53; metrics that were
 * not measured stay NaN). The field names, comma-separated, are what JavaScript reads to map a
 * record to an object, so adding a field here needs no change on the JS side.
 */
#ifndef PLAB_WEB_ROWS_H
#define PLAB_WEB_ROWS_H

#include "plab.h"

enum { PLAB_ROWS_WINDOW = 0, PLAB_ROWS_TASK = 1, PLAB_ROWS_EVENT = 2, PLAB_ROWS_KINDS = 3 };

/* X(name, expression of the row r) */
#define PLAB_WINDOW_FIELDS(X)                                                                      \
    X(step, r->step)                                                                               \
    X(task, r->task)                                                                               \
    X(count, r->count)                                                                             \
    X(accuracy, r->accuracy)                                                                       \
    X(loss, r->loss)                                                                               \
    X(grad_abs, r->grad_abs)

#define PLAB_TASK_FIELDS(X)                                                                        \
    X(task, r->task)                                                                               \
    X(first_step, r->first_step)                                                                   \
    X(steps, r->steps)                                                                             \
    X(accuracy, r->accuracy)                                                                       \
    X(loss, r->loss)                                                                               \
    X(grad_abs, r->grad_abs)                                                                       \
    X(probed, r->probed)                                                                           \
    X(dead_units_pct, r->dead_units_pct)                                                           \
    X(frozen_units_pct, r->frozen_units_pct)                                                       \
    X(stable_rank, r->stable_rank)                                                                 \
    X(effective_rank, r->effective_rank)                                                           \
    X(approx_rank, r->approx_rank)                                                                 \
    X(fs_ratio, r->fs_ratio)                                                                       \
    X(param_abs, r->param_abs)                                                                     \
    X(ln_gain_abs, r->ln_gain_abs)                                                                 \
    X(reinit_weights, r->reinit_weights)                                                           \
    X(reinit_units, r->reinit_units)                                                               \
    X(reinit_entries, r->reinit_entries)                                                           \
    X(reinit_events, r->reinit_events)                                                             \
    X(reinit_pct, r->reinit_pct)                                                                   \
    X(loss_jump, r->loss_jump)                                                                     \
    X(loss_jump_abs, r->loss_jump_abs)                                                             \
    X(jump_count, r->jump_count)

#define PLAB_EVENT_FIELDS(X)                                                                       \
    X(step, r->step)                                                                               \
    X(task, r->task)                                                                               \
    X(weights, r->weights)                                                                         \
    X(units, r->units)                                                                             \
    X(entries, r->entries)                                                                         \
    X(pct, r->pct)                                                                                 \
    X(overlap_pct, r->overlap_pct)                                                                 \
    X(loss_before, r->loss_before)                                                                 \
    X(loss_after, r->loss_after)

#define PLAB_ROWS_NAME_(name, expr) #name ","
#define PLAB_ROWS_COUNT_(name, expr) +1
#define PLAB_ROWS_PUT_(name, expr) out[i++] = (double)(expr);

/* Field names, comma-separated, with a trailing comma. */
static const char plab_rows_window_names[] = PLAB_WINDOW_FIELDS(PLAB_ROWS_NAME_);
static const char plab_rows_task_names[] = PLAB_TASK_FIELDS(PLAB_ROWS_NAME_);
static const char plab_rows_event_names[] = PLAB_EVENT_FIELDS(PLAB_ROWS_NAME_);

enum {
    PLAB_ROWS_WINDOW_WIDTH = 0 PLAB_WINDOW_FIELDS(PLAB_ROWS_COUNT_),
    PLAB_ROWS_TASK_WIDTH = 0 PLAB_TASK_FIELDS(PLAB_ROWS_COUNT_),
    PLAB_ROWS_EVENT_WIDTH = 0 PLAB_EVENT_FIELDS(PLAB_ROWS_COUNT_)
};

/* Writes one record of PLAB_ROWS_*_WIDTH doubles. */
static inline void plab_rows_put_window(const plab_window_row *r, double *out)
{
    int i = 0;
    PLAB_WINDOW_FIELDS(PLAB_ROWS_PUT_)
    (void)i;
}

static inline void plab_rows_put_task(const plab_task_row *r, double *out)
{
    int i = 0;
    PLAB_TASK_FIELDS(PLAB_ROWS_PUT_)
    (void)i;
}

static inline void plab_rows_put_event(const plab_event_row *r, double *out)
{
    int i = 0;
    PLAB_EVENT_FIELDS(PLAB_ROWS_PUT_)
    (void)i;
}

#endif
