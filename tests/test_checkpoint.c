/*
 * test_checkpoint.c: a run saved at any step and restored into a fresh run continues bit for
 * bit (same trace, same rows), for every method, and damaged or foreign checkpoints are refused
 * with a reason.
 *
 * A method state is restored as bytes, so it must hold no pointers (method.h). Two guards make
 * a stale pointer fail here and not only in another process: the saved run's memory is
 * overwritten with garbage when it is freed and its blocks are re-allocated and filled with
 * garbage before the restored run exists (under ASan a stale read is a use-after-free), and two
 * live runs of one config must write the same checkpoint bytes (their blocks differ).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

/* A sink that hashes every row it sees, so two runs can be compared row by row. */
typedef struct rows {
    uint64_t h;
    int n;
    int events;
} rows;

static void mix(rows *r, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        r->h ^= b[i];
        r->h *= 0x100000001b3ull;
    }
    r->n++;
}
static void on_window(void *ctx, const plab_window_row *w) { mix(ctx, w, sizeof *w); }
static void on_task(void *ctx, const plab_task_row *t) { mix(ctx, t, sizeof *t); }
static void on_event(void *ctx, const plab_event_row *e)
{
    mix(ctx, e, sizeof *e);
    ((rows *)ctx)->events++;
}

/* An allocator that remembers its live blocks and fills each with garbage when it is freed. */
#define MAX_BLOCKS 64
typedef struct poison_alloc {
    plab_allocator a;
    void *ptr[MAX_BLOCKS];
    size_t size[MAX_BLOCKS];
    int n;
} poison_alloc;

static void *poison_alloc_fn(void *ctx, size_t size, size_t align)
{
    poison_alloc *p = ctx;
    if (p->n == MAX_BLOCKS)
        fail_msg("poison_alloc: more than %d blocks", MAX_BLOCKS);
    size_t rounded = (size + align - 1) / align * align; /* C11 aligned_alloc wants a multiple */
    void *m = aligned_alloc(align, rounded ? rounded : align);
    if (m) {
        p->ptr[p->n] = m;
        p->size[p->n++] = size;
    }
    return m;
}

static void poison_free_fn(void *ctx, void *ptr)
{
    poison_alloc *p = ctx;
    for (int i = 0; ptr && i < p->n; i++)
        if (p->ptr[i] == ptr) {
            memset(ptr, 0xA5, p->size[i]);
            p->ptr[i] = NULL;
        }
    free(ptr);
}

static void poison_alloc_init(poison_alloc *p)
{
    memset(p, 0, sizeof *p);
    p->a.alloc = poison_alloc_fn;
    p->a.free = poison_free_fn;
    p->a.ctx = p;
}

static void config(plab_config *c, const char *settings)
{
    char buf[512], err[256];
    plab_config_default(c);
    snprintf(buf, sizeof buf, "%s", settings);
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
        char *eq = strchr(tok, '=');
        assert_non_null(eq);
        *eq = 0;
        if (plab_config_set(c, tok, eq + 1, err, sizeof err) != PLAB_OK)
            fail_msg("%s", err);
    }
}

static plab_run *make_with(const plab_config *c, rows *sink_rows, const plab_allocator *a)
{
    plab_run *r;
    char err[256];
    if (plab_run_create(c, NULL, a, &r, err, sizeof err) != PLAB_OK)
        fail_msg("create: %s", err);
    plab_sink s = {on_window, on_task, on_event, sink_rows};
    plab_run_set_sink(r, &s);
    return r;
}

static plab_run *make(const plab_config *c, rows *sink_rows)
{
    return make_with(c, sink_rows, NULL);
}

static void finish(plab_run *r)
{
    while (!plab_run_done(r))
        assert_int_equal(plab_run_step(r), PLAB_OK);
}

/*
 * Interrupt after `cut` steps (restoring into a new run), compare with straight through.
 * The interrupted run's memory is garbage before the new run is created: poisoned on free,
 * then its blocks' sizes allocated again and filled, so the allocator likely hands the old
 * addresses out again. Returns the events of the straight run.
 */
static int resume_matches(const char *settings, int cut)
{
    plab_config c;
    config(&c, settings);
    rows a = {0xcbf29ce484222325ull, 0, 0}, b = {0xcbf29ce484222325ull, 0, 0};
    plab_run *straight = make(&c, &a);
    finish(straight);

    poison_alloc pa;
    poison_alloc_init(&pa);
    plab_run *first = make_with(&c, &b, &pa.a);
    for (int i = 0; i < cut; i++)
        assert_int_equal(plab_run_step(first), PLAB_OK);
    size_t n = plab_run_checkpoint_bytes(first);
    void *buf = malloc(n);
    assert_int_equal(plab_run_checkpoint_save(first, buf, n), PLAB_OK);
    plab_run_destroy(first);
    void *junk[MAX_BLOCKS];
    for (int i = 0; i < pa.n; i++) {
        assert_null(pa.ptr[i]); /* destroy freed every block */
        junk[i] = malloc(pa.size[i] ? pa.size[i] : 1);
        assert_non_null(junk[i]);
        memset(junk[i], 0x5A, pa.size[i]);
    }
    plab_run *second = make(&c, &b);
    char err[256];
    if (plab_run_checkpoint_load(second, buf, n, err, sizeof err) != PLAB_OK)
        fail_msg("load: %s", err);
    finish(second);
    if (plab_run_trace_hash(second) != plab_run_trace_hash(straight))
        fail_msg("%s, cut at %d: resumed trace differs", settings, cut);
    assert_true(a.h == b.h);
    assert_int_equal(a.n, b.n);
    for (int i = 0; i < pa.n; i++)
        free(junk[i]);
    free(buf);
    plab_run_destroy(second);
    plab_run_destroy(straight);
    return a.events;
}

#define SMALL "problem=synthetic gen_dim=64 gen_pool=300 hidden=32,32 tasks=4 seed=5 "

/* Every method, with periods short enough that reinitialization events fall between the cuts
 * (SWR every 7 steps, ReDo every 5, CBP units mature after 3). `events`: the run must have some,
 * so the methods' arrays are in use when a cut lands. */
static const struct {
    const char *settings;
    int events;
} resume_cases[] = {
    {SMALL "lr=0.05", 0},
    {SMALL "optimizer=adamw lr=1e-3 layer_norm=true", 0},
    {SMALL "optimizer=momentum lr=0.01 method=snp snp_noise_var=1e-6 l2=1e-4", 0},
    {SMALL "method=reset", 0},
    /* gradient utility, threshold criterion (the defaults) */
    {SMALL "lr=0.05 method=swr swr_period=7 swr_factor=0.5", 1},
    /* the running utility (decay > 0) and the proportional criterion */
    {SMALL "lr=0.05 method=swr swr_criterion=proportional swr_period=7 swr_factor=0.05 "
           "swr_decay=0.5",
     1},
    {SMALL "lr=0.05 method=swr swr_criterion=proportional swr_utility=magnitude swr_period=7 "
           "swr_factor=0.1 reset_each_task=true",
     1},
    {SMALL "lr=0.05 method=cbp cbp_maturity=3 cbp_rate=0.05", 1},
    {SMALL "optimizer=momentum lr=0.01 method=cbp cbp_maturity=3 cbp_rate=0.05 "
           "unit_reset_timing=after_step",
     1},
    {SMALL "optimizer=adamw lr=1e-3 method=cbp-nature cbp_maturity=3 cbp_rate=0.05", 1},
    {SMALL "optimizer=momentum lr=0.01 method=redo redo_period=5 redo_threshold=0.5 "
           "redo_reset_moments=true",
     1},
    {SMALL "optimizer=adamw lr=1e-3 method=redo redo_period=5 redo_threshold=0.5 "
           "unit_reset_timing=after_step redo_reset_moments=true reset_each_task=true",
     1},
};
#define NRESUME (sizeof resume_cases / sizeof resume_cases[0])

static void test_resume_everywhere(void **state)
{
    (void)state;
    /* cuts: at the start, mid-window, at a window end, at a task boundary, mid-task, near the end */
    static const int cuts[] = {0, 3, 10, 10 * 1 + 0, 17, 31, 25, 39};
    for (size_t i = 0; i < NRESUME; i++)
        for (size_t j = 0; j < sizeof cuts / sizeof cuts[0]; j++) {
            int events = resume_matches(resume_cases[i].settings, cuts[j]);
            if (resume_cases[i].events && events == 0)
                fail_msg("%s: no reinitialization event", resume_cases[i].settings);
        }
}

/* Saves r's checkpoint into a new buffer; *n gets its size. */
static unsigned char *save(const plab_run *r, size_t *n)
{
    *n = plab_run_checkpoint_bytes(r);
    unsigned char *buf = malloc(*n);
    assert_non_null(buf);
    assert_int_equal(plab_run_checkpoint_save(r, buf, *n), PLAB_OK);
    return buf;
}

static void same_bytes(const plab_run *x, const plab_run *y, const char *settings, int step)
{
    size_t nx, ny;
    unsigned char *bx = save(x, &nx), *by = save(y, &ny);
    assert_int_equal(nx, ny);
    for (size_t i = 0; i < nx; i++)
        if (bx[i] != by[i])
            fail_msg("%s, step %d: two runs' checkpoints differ at byte %zu of %zu", settings, step,
                     i, nx);
    free(bx);
    free(by);
}

/* Two live runs of one config (so in different blocks) write byte-identical checkpoints at
 * step 0, after the same steps, and at the end: a checkpoint holds no address. */
static void test_checkpoint_bytes_have_no_addresses(void **state)
{
    (void)state;
    for (size_t i = 0; i < NRESUME; i++) {
        const char *settings = resume_cases[i].settings;
        plab_config c;
        config(&c, settings);
        rows a = {0, 0, 0}, b = {0, 0, 0};
        plab_run *x = make(&c, &a), *y = make(&c, &b);
        same_bytes(x, y, settings, 0);
        for (int k = 0; k < 13; k++) {
            assert_int_equal(plab_run_step(x), PLAB_OK);
            assert_int_equal(plab_run_step(y), PLAB_OK);
        }
        same_bytes(x, y, settings, 13);
        finish(x);
        finish(y);
        same_bytes(x, y, settings, (int)plab_run_steps_done(x));
        plab_run_destroy(x);
        plab_run_destroy(y);
    }
}

static void test_refuses_bad_checkpoints(void **state)
{
    (void)state;
    plab_config c, other;
    config(&c, SMALL "lr=0.05");
    config(&other, SMALL "lr=0.04");
    rows x = {0, 0, 0};
    plab_run *r = make(&c, &x);
    for (int i = 0; i < 12; i++)
        assert_int_equal(plab_run_step(r), PLAB_OK);
    size_t n = plab_run_checkpoint_bytes(r);
    unsigned char *buf = malloc(n);
    assert_int_equal(plab_run_checkpoint_save(r, buf, n), PLAB_OK);
    assert_int_equal(plab_run_checkpoint_save(r, buf, n - 1), PLAB_E_INVALID);
    char err[256];

    plab_run *fresh = make(&c, &x);
    /* flipped byte in the middle */
    buf[n / 2] ^= 0x40;
    assert_int_equal(plab_run_checkpoint_load(fresh, buf, n, err, sizeof err), PLAB_E_FORMAT);
    assert_non_null(strstr(err, "checksum"));
    buf[n / 2] ^= 0x40;
    /* truncated */
    assert_int_equal(plab_run_checkpoint_load(fresh, buf, n - 100, err, sizeof err),
                     PLAB_E_FORMAT);
    assert_non_null(strstr(err, "truncated"));
    /* junk */
    unsigned char junk[64] = "not a checkpoint at all";
    assert_int_equal(plab_run_checkpoint_load(fresh, junk, sizeof junk, err, sizeof err),
                     PLAB_E_FORMAT);
    assert_non_null(strstr(err, "magic"));
    /* another config */
    plab_run *foreign = make(&other, &x);
    assert_int_equal(plab_run_checkpoint_load(foreign, buf, n, err, sizeof err), PLAB_E_INVALID);
    assert_non_null(strstr(err, "configuration"));
    /* a refused load leaves the run usable and unchanged */
    assert_int_equal(plab_run_steps_done(fresh), 0);
    assert_int_equal(plab_run_checkpoint_load(fresh, buf, n, err, sizeof err), PLAB_OK);
    assert_int_equal(plab_run_steps_done(fresh), 12);
    /* a run that started refuses a load */
    assert_int_equal(plab_run_checkpoint_load(r, buf, n, err, sizeof err), PLAB_E_STATE);
    free(buf);
    plab_run_destroy(r);
    plab_run_destroy(fresh);
    plab_run_destroy(foreign);
}

/* More tasks than the checkpointed run had: the run continues (extending a finished run). */
static void test_extend_tasks(void **state)
{
    (void)state;
    plab_config c4, c6;
    config(&c4, SMALL "lr=0.05");
    config(&c6, SMALL "lr=0.05 tasks=6");
    rows a = {0, 0, 0}, b = {0, 0, 0};
    plab_run *r4 = make(&c4, &a);
    finish(r4);
    size_t n = plab_run_checkpoint_bytes(r4);
    void *buf = malloc(n);
    assert_int_equal(plab_run_checkpoint_save(r4, buf, n), PLAB_OK);
    plab_run *r6 = make(&c6, &b), *straight = make(&c6, &a);
    char err[256];
    assert_int_equal(plab_run_checkpoint_load(r6, buf, n, err, sizeof err), PLAB_OK);
    finish(r6);
    finish(straight);
    assert_true(plab_run_trace_hash(r6) == plab_run_trace_hash(straight));
    free(buf);
    plab_run_destroy(r4);
    plab_run_destroy(r6);
    plab_run_destroy(straight);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_everywhere),
        cmocka_unit_test(test_checkpoint_bytes_have_no_addresses),
        cmocka_unit_test(test_refuses_bad_checkpoints),
        cmocka_unit_test(test_extend_tasks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
