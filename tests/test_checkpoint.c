/*
 * test_checkpoint.c: a run saved at any step and restored into a fresh run continues bit for
 * bit (same trace, same rows), and damaged or foreign checkpoints are refused with a reason.
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
static void on_event(void *ctx, const plab_event_row *e) { mix(ctx, e, sizeof *e); }

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

static plab_run *make(const plab_config *c, rows *sink_rows)
{
    plab_run *r;
    char err[256];
    if (plab_run_create(c, NULL, NULL, &r, err, sizeof err) != PLAB_OK)
        fail_msg("create: %s", err);
    plab_sink s = {on_window, on_task, on_event, sink_rows};
    plab_run_set_sink(r, &s);
    return r;
}

static void finish(plab_run *r)
{
    while (!plab_run_done(r))
        assert_int_equal(plab_run_step(r), PLAB_OK);
}

/* Interrupt after `cut` steps (restoring into a new run), compare with straight through. */
static void resume_matches(const char *settings, int cut)
{
    plab_config c;
    config(&c, settings);
    rows a = {0xcbf29ce484222325ull, 0}, b = {0xcbf29ce484222325ull, 0};
    plab_run *straight = make(&c, &a);
    finish(straight);

    plab_run *first = make(&c, &b);
    for (int i = 0; i < cut; i++)
        assert_int_equal(plab_run_step(first), PLAB_OK);
    size_t n = plab_run_checkpoint_bytes(first);
    void *buf = malloc(n);
    assert_int_equal(plab_run_checkpoint_save(first, buf, n), PLAB_OK);
    plab_run_destroy(first);
    plab_run *second = make(&c, &b);
    char err[256];
    if (plab_run_checkpoint_load(second, buf, n, err, sizeof err) != PLAB_OK)
        fail_msg("load: %s", err);
    finish(second);
    if (plab_run_trace_hash(second) != plab_run_trace_hash(straight))
        fail_msg("%s, cut at %d: resumed trace differs", settings, cut);
    assert_true(a.h == b.h);
    assert_int_equal(a.n, b.n);
    free(buf);
    plab_run_destroy(second);
    plab_run_destroy(straight);
}

#define SMALL "problem=synthetic gen_dim=64 gen_pool=300 hidden=32,32 tasks=4 seed=5 "

static void test_resume_everywhere(void **state)
{
    (void)state;
    static const char *const settings[] = {
        SMALL "lr=0.05",
        SMALL "optimizer=adamw lr=1e-3 layer_norm=true",
        SMALL "optimizer=momentum lr=0.01 method=snp snp_noise_var=1e-6 l2=1e-4",
        SMALL "method=reset",
    };
    /* cuts: at the start, mid-window, at a window end, at a task boundary, mid-task, near the end */
    static const int cuts[] = {0, 3, 10, 10 * 1 + 0, 17, 31, 25, 39};
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        for (size_t j = 0; j < sizeof cuts / sizeof cuts[0]; j++)
            resume_matches(settings[i], cuts[j]);
}

static void test_refuses_bad_checkpoints(void **state)
{
    (void)state;
    plab_config c, other;
    config(&c, SMALL "lr=0.05");
    config(&other, SMALL "lr=0.04");
    rows x = {0, 0};
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
    rows a = {0, 0}, b = {0, 0};
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
        cmocka_unit_test(test_refuses_bad_checkpoints),
        cmocka_unit_test(test_extend_tasks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
