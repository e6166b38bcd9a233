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

static uint64_t run(const char *settings, const char *fused, plab_kernels_id k, uint64_t *rows_hash,
                    int64_t *fused_steps)
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
    while (!plab_run_done(r))
        assert_int_equal(plab_run_step(r), PLAB_OK);
    uint64_t t = plab_run_trace_hash(r);
    *fused_steps = plab_run_fused_steps(r);
    plab_run_destroy(r);
    *rows_hash = h.h;
    return t;
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fused_equals_unfused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
