/*
 * test_fused.c: the fused SGD path (the update done inside the backward pass) gives the same
 * bits as the unfused backward + optimizer step: same trace, same window, task and event rows
 * (the per-step gradient magnitude included), on every backend.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "net.h"
#include "testutil.h"

typedef struct rows {
    uint64_t h;
} rows;

static void mix(rows *r, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        r->h ^= b[i];
        r->h *= 0x100000001b3ull;
    }
}
static void on_window(void *ctx, const plab_window_row *w) { mix(ctx, w, sizeof *w); }
static void on_task(void *ctx, const plab_task_row *t) { mix(ctx, t, sizeof *t); }
static void on_event(void *ctx, const plab_event_row *e) { mix(ctx, e, sizeof *e); }

static long long sparse_fwd, sparse_upd; /* the last run's sparse kernel calls */

static uint64_t run_sp(const char *settings, const char *fused, plab_kernels_id k,
                       uint64_t *rows_hash, int64_t *fused_steps, int sparse)
{
    plab_config c;
    char buf[512], err[256];
    plab_config_default(&c);
    snprintf(buf, sizeof buf, "%s fused_update=%s", settings, fused);
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
        char *eq = strchr(tok, '=');
        assert_non_null(eq);
        *eq = 0;
        if (plab_config_set(&c, tok, eq + 1, err, sizeof err) != PLAB_OK)
            fail_msg("%s", err);
    }
    c.kernels = (int)k;
    plab_run *r;
    if (plab_run_create(&c, NULL, NULL, &r, err, sizeof err) != PLAB_OK)
        fail_msg("%s: %s", settings, err);
    rows h = {0xcbf29ce484222325ull};
    plab_sink s = {on_window, on_task, on_event, &h};
    plab_run_set_sink(r, &s);
    plab_net *net = (plab_net *)plab_run_net(r);
    plab_net_set_sparse_input(net, sparse);
    while (!plab_run_done(r))
        assert_int_equal(plab_run_step(r), PLAB_OK);
    uint64_t t = plab_run_trace_hash(r);
    *fused_steps = plab_run_fused_steps(r);
    sparse_fwd = net->sparse_fwd;
    sparse_upd = net->sparse_upd;
    plab_run_destroy(r);
    *rows_hash = h.h;
    return t;
}

static uint64_t run(const char *settings, const char *fused, plab_kernels_id k, uint64_t *rows_hash,
                    int64_t *fused_steps)
{
    return run_sp(settings, fused, k, rows_hash, fused_steps, 0);
}

#define SMALL "problem=synthetic gen_dim=64 gen_pool=240 tasks=3 seed=9 "

static void test_fused_equals_unfused(void **state)
{
    (void)state;
    static const char *const settings[] = {
        SMALL "hidden=32,32 batch_size=1",
        SMALL "hidden=31,17,9 batch_size=3 l2=1e-3",
        SMALL "hidden=32,32 batch_size=2 layer_norm=true lr=0.1",
        SMALL "hidden=16,16,16 batch_size=4 skip=true",
        SMALL "hidden=16,16 batch_size=1 activation=crelu",
        SMALL "hidden=16,16 batch_size=4 activation=tanh",
        SMALL "hidden=16,16 batch_size=1 method=snp snp_noise_var=1e-6 l2=1e-4",
        SMALL "hidden=16,16 batch_size=2 method=reset",
        /* ReDo before_step: fused between its firing steps (hook_idle), hooked on them */
        SMALL "hidden=16,16 batch_size=8 method=redo redo_period=4 redo_threshold=0.5 "
              "unit_reset_timing=before_step",
        "problem=scr tasks=3 scr_period=200 hidden=5 init=kaiming_uniform batch_size=1 lr=0.01",
    };
    plab_kernels_id ks[PLAB_KERNELS_COUNT];
    int nk = test_backends(ks);
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        for (int j = 0; j < nk; j++) {
            uint64_t ra, rb;
            int64_t fa, fb;
            uint64_t a = run(settings[i], "auto", ks[j], &ra, &fa);
            uint64_t b = run(settings[i], "off", ks[j], &rb, &fb);
            if (fa == 0 || fb != 0)
                fail_msg("%s: fused steps %lld with auto, %lld with off", settings[i],
                         (long long)fa, (long long)fb);
            if (a != b || ra != rb)
                fail_msg("%s on %s: fused and unfused runs differ", settings[i],
                         plab_kernels_name(ks[j]));
        }
}

/* The first layer's sparse-input kernels (and the transposed copy of its weights kept between
 * steps) give the bits of the dense kernels, through every method that reads or writes the
 * weights between steps, checkpoints and probes included, on every backend. The synthetic
 * images are about 4/5 zeros. */
static void test_sparse_equals_dense(void **state)
{
    (void)state;
#define SP "problem=synthetic gen_pool=240 tasks=3 seed=4 hidden=96,30 "
    static const char *const settings[] = {
        SP "batch_size=30",
        SP "batch_size=1 method=none",
        SP "batch_size=64 l2=1e-3",
        SP "batch_size=65",
        SP "batch_size=30 layer_norm=true",
        SP "batch_size=8 activation=crelu",
        SP "batch_size=30 method=cbp cbp_maturity=20 cbp_rate=0.01",
        SP "batch_size=4 method=cbp-nature cbp_utility=adaptable_contribution cbp_maturity=20 cbp_rate=0.01",
        SP "batch_size=30 method=redo redo_period=8 redo_threshold=0.3",
        SP "batch_size=30 method=cbp cbp_maturity=20 cbp_rate=0.01 unit_reset_timing=before_step",
        SP "batch_size=30 method=redo redo_period=8 redo_threshold=0.3 unit_reset_timing=before_step",
        SP "batch_size=30 method=swr swr_period=50 swr_factor=0.01",
        SP "batch_size=30 method=swr swr_utility=gradient swr_period=50 swr_factor=0.01",
        SP "batch_size=16 method=snp snp_noise_var=1e-6 l2=1e-4",
        SP "batch_size=30 method=reset",
        SP "batch_size=30 optimizer=adamw lr=0.001",
    };
    plab_kernels_id ks[PLAB_KERNELS_COUNT];
    int nk = test_backends(ks);
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        for (int j = -1; j < nk; j++) {
            plab_kernels_id k = j < 0 ? PLAB_KERNELS_SCALAR : ks[j];
            uint64_t ra, rb;
            int64_t fa, fb;
            uint64_t b = run_sp(settings[i], "auto", k, &rb, &fb, 0);
            if (sparse_fwd != 0)
                fail_msg("%s: the sparse kernels ran while switched off", settings[i]);
            uint64_t a = run_sp(settings[i], "auto", k, &ra, &fa, 1);
            /* AdamW and batches over PLAB_SPARSE_MAX_BATCH have no sparse update; the scalar
             * backend takes the sparse kernels at batch 1 only (net.c) */
            if (k == PLAB_KERNELS_SCALAR && !strstr(settings[i], "batch_size=1 ")) {
                if (sparse_fwd != 0)
                    fail_msg("%s: the scalar backend took the sparse kernels", settings[i]);
                continue;
            }
            int upd = !strstr(settings[i], "adamw") && !strstr(settings[i], "size=65");
            if (sparse_fwd == 0 || (upd && sparse_upd == 0) || (!upd && sparse_upd))
                fail_msg("%s on %s: the sparse kernels did not run (%lld forwards, %lld "
                         "updates)", settings[i], plab_kernels_name(k), sparse_fwd, sparse_upd);
            if (a != b || ra != rb || fa != fb)
                fail_msg("%s on %s: sparse and dense first layers differ (%lld sparse forwards, "
                         "%lld sparse updates)", settings[i], plab_kernels_name(k), sparse_fwd,
                         sparse_upd);
        }
#undef SP
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fused_equals_unfused),
        cmocka_unit_test(test_sparse_equals_dense),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
