/*
 * test_method_runs.c: the methods inside whole runs (plab_run on the `synthetic` problem):
 *
 *   - §9.2 bookkeeping: 784-100-100-100-10 with cbp (M = 500, ρ = 1e-4) re-initializes
 *     (884 + 200 + 110)/99,710 = 1.20 % per event and ≈ 22.8 % per 2000-step task;
 *   - enabling any method leaves the batches a seed produces unchanged (§5);
 *   - each method's 2,000-step trace hash is identical on every kernel backend, and with the
 *     fused SGD update on or off;
 *   - no method allocates during a step (counting allocator);
 *   - the registry's binding order and composition (SWR then S&P noise; reset first; L2 with
 *     every optimizer; `method = l2` needs l2 > 0; cbp-nature gets per-entry Adam steps).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "method.h"
#include "net.h"
#include "plab.h"
#include "testutil.h"

/* ------------------------------------------------------------------ configs */

/* The method settings exercised by the run-level tests: every method and its main options,
 * on a small net so that 2,000 steps per backend stay fast, tuned so every reinitialization
 * method has events within a few hundred steps. */
static const char *const method_cases[][10] = {
    {"method=none"},
    {"method=swr", "swr_period=128", "swr_factor=1e-2"},
    {"method=swr", "swr_criterion=proportional", "swr_utility=random", "swr_strategy=mean",
     "swr_period=100", "swr_factor=0.05", "swr_decay=0.5"},
    {"method=swr", "swr_criterion=proportional", "swr_utility=magnitude", "swr_period=64",
     "swr_factor=0.1", "reinit_gain=match_init", "activation=tanh", "lr=0.01"},
    {"method=cbp", "cbp_maturity=20", "cbp_rate=0.01"},
    {"method=cbp", "cbp_maturity=10", "cbp_rate=0.01", "cbp_utility=gradient", "layer_norm=true",
     "unit_utility_input=normalized", "lr=0.1"},
    {"method=cbp", "cbp_maturity=10", "cbp_rate=0.02", "unit_reset_timing=after_step",
     "optimizer=momentum", "lr=0.005"},
    {"method=cbp-nature", "cbp_maturity=20", "cbp_rate=0.01", "cbp_utility=adaptable_contribution",
     "optimizer=adamw", "lr=5e-4"},
    {"method=cbp-nature", "cbp_maturity=10", "cbp_rate=0.01", "cbp_utility=random",
     "cbp_accumulate=false", "optimizer=momentum", "lr=0.005", "init=kaiming_uniform"},
    {"method=redo", "redo_period=8", "redo_threshold=0.1"},
    {"method=redo", "redo_period=16", "redo_threshold=0.3", "redo_utility=contribution",
     "unit_reset_timing=after_step", "redo_reset_moments=true", "optimizer=adamw", "lr=5e-4"},
    {"method=l2", "l2=1e-4"},
    {"method=snp", "snp_noise_var=1e-6", "l2=1e-4"},
    {"method=swr", "swr_period=50", "swr_factor=1e-2", "snp_noise_var=1e-6", "l2=1e-4"},
    {"method=cbp", "cbp_maturity=20", "cbp_rate=0.01", "reset_each_task=true"},
    /* plain SGD after the step: the fused update is allowed except where gradients are read */
    {"method=cbp", "cbp_maturity=10", "cbp_rate=0.02", "unit_reset_timing=after_step",
     "cbp_utility=gradient"},
    {"method=redo", "redo_period=8", "redo_threshold=0.3", "redo_utility=gradient",
     "unit_reset_timing=after_step"},
    {"method=cbp-nature", "cbp_maturity=10", "cbp_rate=0.01", "cbp_utility=gradient"},
    {"method=redo", "redo_period=8", "redo_threshold=0.1", "unit_reset_timing=after_step"},
};
#define NCASES ((int)(sizeof method_cases / sizeof method_cases[0]))

static void small_config(plab_config *c, int k)
{
    char err[256];
    plab_config_default(c);
    c->gen_dim = 48;
    c->gen_pool = 600;
    c->num_hidden = 3;
    c->hidden[0] = c->hidden[1] = c->hidden[2] = 24;
    c->steps_per_task = 500;
    c->tasks = 4;
    c->probe_every = 0;
    c->seed = 7;
    for (int i = 0; i < 10 && method_cases[k][i]; i++) {
        char kv[96];
        snprintf(kv, sizeof kv, "%s", method_cases[k][i]);
        char *eq = strchr(kv, '=');
        *eq = 0;
        if (plab_config_set(c, kv, eq + 1, err, sizeof err) != PLAB_OK)
            fail_msg("case %d: %s", k, err);
    }
}

static const char *case_name(int k)
{
    static char buf[512];
    buf[0] = 0;
    for (int i = 0; i < 10 && method_cases[k][i]; i++) {
        strcat(buf, method_cases[k][i]);
        strcat(buf, " ");
    }
    return buf;
}

static int is_reinit_case(int k)
{
    const plab_config *c;
    static plab_config tmp;
    small_config(&tmp, k);
    c = &tmp;
    return c->method == PLAB_METHOD_SWR || c->method == PLAB_METHOD_CBP ||
           c->method == PLAB_METHOD_CBP_NATURE || c->method == PLAB_METHOD_REDO;
}

static plab_run *open_run(const plab_config *c, const plab_allocator *a)
{
    plab_run *r = NULL;
    char err[256];
    plab_status st = plab_run_create(c, NULL, a, &r, err, sizeof err);
    if (st != PLAB_OK)
        fail_msg("plab_run_create: %s", err);
    return r;
}

/* ------------------------------------------------------------------ §9.2 bookkeeping */

typedef struct counts {
    int64_t events, units, weights, bad_event;
    double pct_sum;
    double task_pct[8];
    int64_t task_events[8];
    int tasks;
} counts;

static void on_event(void *ctx, const plab_event_row *e)
{
    counts *k = ctx;
    k->events++;
    k->units += e->units;
    k->weights += e->weights;
    k->pct_sum += e->pct;
    if (e->units != 3 || e->weights != 884 + 200 + 110)
        k->bad_event++;
}

static void on_task(void *ctx, const plab_task_row *t)
{
    counts *k = ctx;
    if (t->task < 8) {
        k->task_pct[t->task] = t->reinit_pct;
        k->task_events[t->task] = t->reinit_events;
    }
    k->tasks++;
}

static void test_cbp_bookkeeping_9_2(void **st)
{
    (void)st;
    plab_config c;
    plab_config_default(&c); /* synthetic, 784-100-100-100-10, SGD 0.05, batch 30 */
    c.method = PLAB_METHOD_CBP;
    c.cbp_maturity = 500;
    c.cbp_rate = 1e-4;
    c.steps_per_task = 2000;
    c.tasks = 4;
    c.probe_every = 0;
    c.seed = 1;
    plab_run *r = open_run(&c, NULL);
    assert_int_equal(plab_net_num_params(plab_run_net(r)), 99710);
    counts k;
    memset(&k, 0, sizeof k);
    plab_sink sink = {NULL, on_task, on_event, &k};
    plab_run_set_sink(r, &sink);
    while (!plab_run_done(r))
        assert_int_equal(plab_run_step(r), PLAB_OK);
    /* every event resets one unit per layer: 1194 weights, 1.1975 % of P */
    assert_int_equal(k.bad_event, 0);
    assert_true(k.events > 60);
    double per_event = k.pct_sum / (double)k.events;
    assert_true(fabs(per_event - 100.0 * 1194.0 / 99710.0) < 1e-9);
    assert_true(fabs(per_event - 1.20) < 0.005);
    /* steady state (tasks 1..3): T = 105 steps between events => 19.05 events, 22.8 % per task */
    double mean = (k.task_pct[1] + k.task_pct[2] + k.task_pct[3]) / 3.0;
    for (int t = 1; t <= 3; t++)
        assert_true(k.task_events[t] == 19 || k.task_events[t] == 20);
    assert_true(fabs(mean - 22.8) < 0.5);
    /* task 0: nothing until step 501, then the same rate */
    assert_true(k.task_events[0] >= 13 && k.task_events[0] <= 15);
    plab_run_destroy(r);
}

/* ------------------------------------------------------------------ data stream */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* A hash of every batch a run sees over `steps` steps (the forward's inputs and labels). */
static uint64_t stream_hash(const plab_config *c, int steps)
{
    plab_run *r = open_run(c, NULL);
    uint64_t h = 0xcbf29ce484222325ull;
    for (int s = 0; s < steps; s++) {
        assert_int_equal(plab_run_step(r), PLAB_OK);
        const plab_net *net = plab_run_net(r);
        h = fnv(h, net->x, (size_t)net->n * (size_t)net->desc.input_dim * sizeof(float));
        h = fnv(h, net->labels, (size_t)net->n * sizeof(int32_t));
    }
    plab_run_destroy(r);
    return h;
}

static void test_data_stream_unchanged(void **st)
{
    (void)st;
    plab_config c;
    small_config(&c, 0);
    c.steps_per_task = 100;
    c.probe_every = 1;
    uint64_t ref = stream_hash(&c, 350);
    for (int k = 1; k < NCASES; k++) {
        small_config(&c, k);
        c.steps_per_task = 100;
        c.probe_every = 1;
        uint64_t h = stream_hash(&c, 350);
        if (h != ref)
            fail_msg("the data stream changed with %s", case_name(k));
    }
}

/* ------------------------------------------------------------------ determinism */

static void count_event(void *ctx, const plab_event_row *e)
{
    (void)e;
    ++*(int64_t *)ctx;
}

static void test_trace_hash_across_backends(void **st)
{
    (void)st;
    plab_kernels_id be[PLAB_KERNELS_COUNT];
    int nb = test_backends(be);
    assert_true(nb >= 1);
    uint64_t seen[NCASES];
    for (int k = 0; k < NCASES; k++) {
        uint64_t first = 0;
        for (int b = 0; b < nb; b++) {
            plab_config c;
            small_config(&c, k);
            c.kernels = be[b];
            plab_run *r = open_run(&c, NULL);
            int64_t events = 0;
            plab_sink sink = {NULL, NULL, count_event, &events};
            plab_run_set_sink(r, &sink);
            while (!plab_run_done(r))
                assert_int_equal(plab_run_step(r), PLAB_OK);
            assert_int_equal(plab_run_steps_done(r), 2000);
            uint64_t h = plab_run_trace_hash(r);
            if (b == 0)
                first = h;
            else if (h != first)
                fail_msg("%s: backend %s hash %016llx != %s hash %016llx", case_name(k),
                         plab_kernels_name(be[b]), (unsigned long long)h, plab_kernels_name(be[0]),
                         (unsigned long long)first);
            if (is_reinit_case(k) && events == 0)
                fail_msg("%s: no reinitialization event in 2000 steps", case_name(k));
            plab_run_destroy(r);
        }
        seen[k] = first;
        /* a method that changes nothing would leave the hash of the plain run */
        if (k > 0 && first == seen[0])
            fail_msg("%s: same trace as method none", case_name(k));
    }
}

/* The fused SGD update (weight gradients not written) gives the same trace as the unfused one
 * for every method: a method that reads gradients on a step says so (needs_gradients). */
static void test_fused_update_same_trace(void **st)
{
    (void)st;
    for (int k = 0; k < NCASES; k++) {
        uint64_t h[2];
        for (int fused = 0; fused < 2; fused++) {
            plab_config c;
            small_config(&c, k);
            c.tasks = 2;
            c.fused_update = fused;
            plab_run *r = open_run(&c, NULL);
            while (!plab_run_done(r))
                assert_int_equal(plab_run_step(r), PLAB_OK);
            h[fused] = plab_run_trace_hash(r);
            plab_run_destroy(r);
        }
        if (h[0] != h[1])
            fail_msg("%s: fused and unfused updates give different traces", case_name(k));
    }
}

/* ------------------------------------------------------------------ allocation */

static void test_no_allocation_in_steps(void **st)
{
    (void)st;
    for (int k = 0; k < NCASES; k++) {
        plab_config c;
        small_config(&c, k);
        c.steps_per_task = 150; /* 4 tasks: boundaries (reset_each_task), events */
        c.probe_every = 2;
        count_alloc ca;
        count_alloc_init(&ca);
        plab_run *r = open_run(&c, &ca.a);
        size_t allocs = ca.allocs, frees = ca.frees;
        int64_t events = 0;
        plab_sink sink = {NULL, NULL, count_event, &events};
        plab_run_set_sink(r, &sink);
        while (!plab_run_done(r))
            assert_int_equal(plab_run_step(r), PLAB_OK);
        if (ca.allocs != allocs || ca.frees != frees)
            fail_msg("%s allocated during steps", case_name(k));
        if (is_reinit_case(k) && events == 0)
            fail_msg("%s: no event, so the check proves little", case_name(k));
        plab_run_destroy(r);
        assert_int_equal(ca.allocs, ca.frees);
    }
}

/* ------------------------------------------------------------------ registry, composition */

static int names(const plab_config *c, const char *out[PLAB_MAX_METHODS])
{
    const plab_method_vt *vt[PLAB_MAX_METHODS];
    int n = plab_methods_for_config(c, vt, PLAB_MAX_METHODS);
    for (int i = 0; i < n; i++)
        out[i] = vt[i]->name;
    return n;
}

static void test_registry_order(void **st)
{
    (void)st;
    plab_config c;
    const char *nm[PLAB_MAX_METHODS];
    plab_config_default(&c);
    assert_int_equal(names(&c, nm), 0);
    static const char *const single[] = {"none", "swr", "cbp", "cbp-nature", "redo", "l2"};
    for (int m = 1; m <= PLAB_METHOD_L2; m++) {
        c.method = m;
        assert_int_equal(names(&c, nm), 1);
        assert_string_equal(nm[0], single[m]);
    }
    /* reset first, the method, then the noise */
    c.method = PLAB_METHOD_SWR;
    c.snp_noise_var = 1e-7;
    c.reset_each_task = 1;
    assert_int_equal(names(&c, nm), 3);
    assert_string_equal(nm[0], "reset");
    assert_string_equal(nm[1], "swr");
    assert_string_equal(nm[2], "snp");
    c.method = PLAB_METHOD_CBP;
    c.reset_each_task = 0;
    assert_int_equal(names(&c, nm), 2);
    assert_string_equal(nm[0], "cbp");
    assert_string_equal(nm[1], "snp");
    /* unit methods after the step carry no backward hook (so plain SGD may be fused) */
    for (int m = PLAB_METHOD_CBP; m <= PLAB_METHOD_REDO; m++) {
        for (int timing = 0; timing < 2; timing++) {
            const plab_method_vt *vt[PLAB_MAX_METHODS];
            c.method = m;
            c.snp_noise_var = 0;
            c.unit_reset_timing = timing;
            assert_int_equal(plab_methods_for_config(&c, vt, PLAB_MAX_METHODS), 1);
            int hook = vt[0]->backward_hook != NULL;
            assert_int_equal(hook, m != PLAB_METHOD_CBP_NATURE && timing == 0);
            assert_non_null(vt[0]->needs_gradients);
        }
    }
}

/* SWR runs before the S&P noise: with every entry set to its mean by SWR, the noise is then
 * added on top of the means (bit-exact against the noise stream). */
static void test_swr_then_noise(void **st)
{
    (void)st;
    plab_config c;
    small_config(&c, 0);
    c.method = PLAB_METHOD_SWR;
    c.swr_period = 1;
    c.swr_factor = 1e9;
    c.swr_strategy = 1;
    c.snp_noise_var = 1e-4;
    plab_run *r = open_run(&c, NULL);
    assert_int_equal(plab_run_step(r), PLAB_OK);
    plab_rng noise;
    plab_rng_seed(&noise, c.seed, PLAB_STREAM_NOISE, 0);
    const plab_net *net = plab_run_net(r);
    const float *p = plab_net_params_const(net);
    for (int t = 0; t < plab_net_num_tensors(net); t++) {
        const plab_tensor *T = plab_net_tensor(net, t);
        for (size_t j = 0; j < T->size; j++) {
            float e = (float)((double)T->reinit.mean + sqrt(1e-4) * plab_rng_normal(&noise));
            assert_true(p[T->offset + j] == e);
        }
    }
    plab_run_destroy(r);
}

/* L2 composes with every optimizer; method = l2 without a shrink is refused. */
static void test_l2_validation(void **st)
{
    (void)st;
    for (int o = 0; o < PLAB_OPT_COUNT; o++) {
        plab_config c;
        small_config(&c, 0);
        c.method = PLAB_METHOD_L2;
        c.optimizer = o;
        c.l2 = 1e-4;
        c.tasks = 1;
        c.steps_per_task = 5;
        uint64_t h[2];
        for (int with = 0; with < 2; with++) {
            /* the shrink acts: the trajectory differs from the same run without it */
            c.method = with ? PLAB_METHOD_L2 : PLAB_METHOD_NONE;
            c.l2 = with ? 1e-4 : 0.0;
            plab_run *r = open_run(&c, NULL);
            while (!plab_run_done(r))
                assert_int_equal(plab_run_step(r), PLAB_OK);
            h[with] = plab_run_trace_hash(r);
            plab_run_destroy(r);
        }
        assert_true(h[0] != h[1]);
        c.method = PLAB_METHOD_L2;
        c.l2 = 0.0;
        plab_run *bad = NULL;
        char err[256];
        assert_int_equal(plab_run_create(&c, NULL, NULL, &bad, err, sizeof err), PLAB_E_INVALID);
        assert_null(bad);
    }
    /* cbp-nature makes the optimizer keep per-entry Adam step counts */
    plab_config c;
    small_config(&c, 7);
    plab_run *r = open_run(&c, NULL);
    assert_int_equal(plab_optim_get_desc(plab_run_optim(r))->per_entry_steps, 1);
    plab_run_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_order),
        cmocka_unit_test(test_swr_then_noise),
        cmocka_unit_test(test_l2_validation),
        cmocka_unit_test(test_data_stream_unchanged),
        cmocka_unit_test(test_fused_update_same_trace),
        cmocka_unit_test(test_no_allocation_in_steps),
        cmocka_unit_test(test_trace_hash_across_backends),
        cmocka_unit_test(test_cbp_bookkeeping_9_2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
