/*
 * test_alloc.c: plan, then allocate (STYLE "Memory").
 *
 * With the counting allocator: creating a net takes 2 allocations (the handle and one planned
 * block), an optimizer at most 2; a training step (forward, backward with a hook, optimizer
 * step) allocates nothing; destroying frees everything. An allocator that fails on the k-th
 * call gets PLAB_E_NOMEM with nothing leaked. plab_run_memory_needed bounds what
 * plab_run_create allocates (every method, optimizer, activation, LN and skips, probes on),
 * within 64 KiB.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plab.h"
#include "testutil.h"

#define N 30

static plab_net_desc net_desc(int variant)
{
    plab_net_desc d;
    plab_net_desc_default(&d); /* 3 hidden layers, 10 outputs, batch 30 */
    d.input_dim = 20;
    for (int l = 0; l < 3; l++)
        d.widths[l] = 32;
    if (variant == 1)
        d.layer_norm = 1;
    if (variant == 2)
        d.skip = 1;
    if (variant == 3) {
        d.activation = PLAB_ACT_CRELU;
        d.loss = PLAB_LOSS_MSE;
    }
    return d;
}

static void noop_hook(void *ctx, plab_net *net, int layer, int phase)
{
    (void)net;
    (void)layer;
    (void)phase;
    ++*(int *)ctx;
}

static void test_steps_allocate_nothing(void **state)
{
    (void)state;
    static float x[N * 20], t[N * 10];
    int32_t y[N];
    plab_rng data;
    plab_rng_seed(&data, 1, PLAB_STREAM_DATA, 0);
    for (int i = 0; i < N * 20; i++)
        x[i] = plab_rng_uniform(&data);
    for (int i = 0; i < N * 10; i++)
        t[i] = plab_rng_uniform(&data);
    for (int i = 0; i < N; i++)
        y[i] = (int32_t)plab_rng_below(&data, 10);
    plab_kernels_id be[PLAB_KERNELS_COUNT];
    int nb = test_backends(be);
    for (int b = 0; b < nb; b++)
        for (int variant = 0; variant < 4; variant++)
            for (int kind = 0; kind < PLAB_OPT_COUNT; kind++)
                for (int pe = 0; pe < (kind == PLAB_OPT_ADAMW ? 2 : 1); pe++) {
                    count_alloc ca;
                    count_alloc_init(&ca);
                    plab_net_desc d = net_desc(variant);
                    plab_net *net = NULL;
                    assert_int_equal(plab_net_create(&d, be[b], &ca.a, &net), PLAB_OK);
                    assert_int_equal(ca.allocs, 2);
                    assert_int_equal(ca.frees, 0);
                    /* the parameter block is 64-byte aligned */
                    assert_int_equal((uintptr_t)plab_net_params(net) % 64, 0);
                    assert_int_equal((uintptr_t)plab_net_grads(net) % 64, 0);
                    plab_optim_desc od;
                    plab_optim_desc_default(&od);
                    od.kind = (plab_optimizer_kind)kind;
                    od.lr = 0.001f;
                    od.shrink = 1e-4f;
                    od.per_entry_steps = pe;
                    plab_optim *o = NULL;
                    assert_int_equal(plab_optim_create(&od, net, &ca.a, &o), PLAB_OK);
                    size_t after_create = ca.allocs;
                    assert_true(after_create >= 3 && after_create <= 4);
                    plab_rng init;
                    plab_rng_seed(&init, 2, PLAB_STREAM_INIT, 0);
                    plab_net_init_params(net, &init);
                    int hook_calls = 0;
                    for (int step = 0; step < 100; step++) {
                        int n = 1 + step % N; /* every batch size up to max_batch */
                        float loss;
                        int correct;
                        assert_int_equal(plab_net_forward(net, x, y, t, n, &loss, &correct),
                                         PLAB_OK);
                        assert_int_equal(plab_net_backward(net, noop_hook, &hook_calls), PLAB_OK);
                        plab_optim_step(o, net);
                        if (step == 50) {
                            plab_optim_reset_range(o, 10, 100);
                            plab_optim_reset_strided(o, 0, 10, 7);
                        }
                    }
                    plab_optim_reset(o);
                    (void)plab_net_param_hash(net);
                    assert_int_equal(hook_calls, 100 * 2 * 3);
                    if (ca.allocs != after_create || ca.frees != 0)
                        fail_msg("%s variant %d optimizer %d: %zu allocations and %zu frees "
                                 "during training",
                                 plab_kernels_name(be[b]), variant, kind, ca.allocs - after_create,
                                 ca.frees);
                    plab_optim_destroy(o);
                    plab_net_destroy(net);
                    assert_int_equal(ca.allocs, ca.frees);
                }
}

/* An allocator that fails its k-th call (1-based; 0: never). */
typedef struct fail_alloc {
    plab_allocator a;
    int fail_at, calls;
    size_t allocs, frees;
} fail_alloc;

static void *fa_alloc(void *ctx, size_t size, size_t align)
{
    fail_alloc *f = ctx;
    if (++f->calls == f->fail_at)
        return NULL;
    f->allocs++;
    return aligned_alloc(align, (size + align - 1) / align * align);
}

static void fa_free(void *ctx, void *p)
{
    fail_alloc *f = ctx;
    if (p)
        f->frees++;
    free(p);
}

static void test_allocation_failure(void **state)
{
    (void)state;
    plab_net_desc d = net_desc(1);
    for (int k = 1; k <= 2; k++) {
        fail_alloc fa = {{fa_alloc, fa_free, NULL}, k, 0, 0, 0};
        fa.a.ctx = &fa;
        plab_net *net = (plab_net *)&fa;
        assert_int_equal(plab_net_create(&d, PLAB_KERNELS_SCALAR, &fa.a, &net), PLAB_E_NOMEM);
        assert_null(net);
        assert_int_equal(fa.allocs, fa.frees);
    }
    for (int kind = PLAB_OPT_SGD; kind < PLAB_OPT_COUNT; kind++)
        for (int k = 1; k <= 2; k++) {
            plab_net *net = NULL;
            assert_int_equal(plab_net_create(&d, PLAB_KERNELS_SCALAR, NULL, &net), PLAB_OK);
            fail_alloc fa = {{fa_alloc, fa_free, NULL}, k, 0, 0, 0};
            fa.a.ctx = &fa;
            plab_optim_desc od;
            plab_optim_desc_default(&od);
            od.kind = (plab_optimizer_kind)kind;
            plab_optim *o = (plab_optim *)&fa;
            plab_status st = plab_optim_create(&od, net, &fa.a, &o);
            if (kind == PLAB_OPT_SGD && k == 2) { /* SGD has no state block: one allocation */
                assert_int_equal(st, PLAB_OK);
                plab_optim_destroy(o);
            } else {
                assert_int_equal(st, PLAB_E_NOMEM);
                assert_null(o);
            }
            assert_int_equal(fa.allocs, fa.frees);
            plab_net_destroy(net);
        }
}

static void test_memory_needed_bounds_the_run(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "method=none",
        "method=swr swr_period=50 swr_factor=1e-3",
        "method=cbp cbp_maturity=20 cbp_rate=1e-3 layer_norm=true",
        "method=redo redo_period=16 redo_threshold=0.1 optimizer=adamw lr=1e-3",
        "method=cbp-nature cbp_maturity=20 cbp_rate=1e-3 optimizer=momentum",
        "method=l2 l2=1e-4 activation=crelu hidden=64,32",
        "method=snp snp_noise_var=1e-7 l2=1e-4 skip=true hidden=48,48,48",
        "reset_each_task=true activation=tanh probe_size=70",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        plab_config c;
        plab_config_default(&c);
        char err[256];
        assert_int_equal(plab_config_apply(&c, "problem=synthetic tasks=2 hidden=64,64 probe_every=1",
                                           err, sizeof err),
                         PLAB_OK);
        if (plab_config_apply(&c, cases[i], err, sizeof err) != PLAB_OK)
            fail_msg("case '%s': %s", cases[i], err);
        uint64_t need = 0;
        assert_int_equal(plab_run_memory_needed(&c, NULL, &need, err, sizeof err), PLAB_OK);
        count_alloc b;
        count_alloc_init(&b);
        plab_run *r = NULL;
        if (plab_run_create(&c, NULL, &b.a, &r, err, sizeof err) != PLAB_OK)
            fail_msg("case '%s': %s", cases[i], err);
        if (b.peak > need || need - b.peak > 65536)
            fail_msg("case '%s': plab_run_memory_needed %llu bytes, the run allocated %zu",
                     cases[i], (unsigned long long)need, b.peak);
        plab_run_destroy(r);
        assert_int_equal(b.live, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steps_allocate_nothing),
        cmocka_unit_test(test_allocation_failure),
        cmocka_unit_test(test_memory_needed_bounds_the_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
