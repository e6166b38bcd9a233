/*
 * test_optim.c: SGD, SGD + momentum and AdamW with the decoupled shrink (ALGORITHMS §3.4).
 *
 * Three steps on a tiny net (4 -> 2, no hidden layer: P = 10) with gradients written directly
 * into plab_net_grads, checked against values computed here in double from the formulas, and
 * entry 0 against literal values worked out by hand (theta0 = 1, g = 0.5, -0.25, 1). Also the
 * denormal flush of the Adam moments, per-entry step counts after resets, the reset
 * functions, and bad descriptions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "plab.h"
#include "testutil.h"

#define P 10
#define STEPS 3

static const double theta0[P] = {1.0, -0.7, 0.25, 2.0, -1.5, 0.0, 0.6, -0.05, 3.0, 0.4};
/* gradients per step; entry 0 is the hand-worked one, entry 9 has a zero gradient throughout */
static const double grads[STEPS][P] = {
    {0.5, 0.1, -2.0, 0.003, 1.0, -0.4, 5.0, 0.02, -0.6, 0.0},
    {-0.25, 0.2, -1.0, -0.004, 1.0, 0.3, -5.0, 0.0, -0.6, 0.0},
    {1.0, -0.3, 0.5, 0.001, -2.0, 0.1, 4.0, -0.02, 0.9, 0.0},
};

static plab_net *tiny_net(plab_kernels_id k)
{
    plab_net_desc d;
    plab_net_desc_default(&d);
    d.input_dim = 4;
    d.output_dim = 2;
    d.num_hidden = 0;
    d.max_batch = 1;
    plab_net *net = NULL;
    assert_int_equal(plab_net_create(&d, k, NULL, &net), PLAB_OK);
    assert_int_equal(plab_net_num_params(net), P);
    float *p = plab_net_params(net);
    for (int i = 0; i < P; i++)
        p[i] = (float)theta0[i];
    return net;
}

static void set_grads(plab_net *net, int step)
{
    float *g = plab_net_grads(net);
    for (int i = 0; i < P; i++)
        g[i] = (float)grads[step][i];
}

static plab_optim_desc make_desc(plab_optimizer_kind kind, float lr, float shrink)
{
    plab_optim_desc d;
    plab_optim_desc_default(&d);
    d.kind = kind;
    d.lr = lr;
    d.shrink = shrink;
    return d;
}

/* The expected parameters after `steps` steps, in double; entries with reset[i] = 1 have their
 * state (and, with per_entry, their step count) zeroed before step `reset_before`. */
static void expected(const plab_optim_desc *d, int steps, const int *reset, int reset_before,
                     double out[P])
{
    /* the optimizer sees the float values of the hyperparameters */
    double lr = d->lr, lam = d->shrink, mu = d->momentum, b1 = d->beta1, b2 = d->beta2,
           eps = d->eps;
    for (int i = 0; i < P; i++) {
        double th = (float)theta0[i], m = 0, v = 0;
        int k = 0;
        for (int s = 0; s < steps; s++) {
            double g = (float)grads[s][i];
            if (reset && reset[i] && s + 1 == reset_before) {
                m = v = 0;
                if (d->per_entry_steps)
                    k = 0;
            }
            k++;
            switch (d->kind) {
            case PLAB_OPT_SGD:
                th = (1 - lam) * th - lr * g;
                break;
            case PLAB_OPT_MOMENTUM:
                m = mu * m + g; /* torch: b_1 = g_1 since b starts at 0 */
                th = (1 - lam) * th - lr * m;
                break;
            default: {
                int kk = d->per_entry_steps ? k : s + 1;
                th = (1 - lam) * th;
                m = b1 * m + (1 - b1) * g;
                v = b2 * v + (1 - b2) * g * g;
                th -= lr * (m / (1 - pow(b1, kk))) / (sqrt(v / (1 - pow(b2, kk))) + eps);
            }
            }
        }
        out[i] = th;
    }
}

static void check_params(const plab_net *net, const double want[P], const char *what)
{
    const float *p = plab_net_params_const(net);
    for (int i = 0; i < P; i++)
        if (fabs(p[i] - want[i]) > 1e-6 * (fabs(want[i]) > 1 ? fabs(want[i]) : 1))
            fail_msg("%s: entry %d is %.9g, expected %.9g", what, i, p[i], want[i]);
}

/* Runs `steps` steps; resets the given entries' state before step reset_before (1-based). */
static void run(plab_optim *o, plab_net *net, int steps, const int *reset, int reset_before)
{
    for (int s = 0; s < steps; s++) {
        if (reset && s + 1 == reset_before)
            for (int i = 0; i < P; i++)
                if (reset[i])
                    plab_optim_reset_range(o, (size_t)i, 1);
        set_grads(net, s);
        plab_optim_step(o, net);
    }
}

static void test_three_steps(void **state)
{
    (void)state;
    /* entry 0 by hand: see the header comment; lambda = 0.01 throughout */
    static const struct {
        plab_optimizer_kind kind;
        float lr;
        double hand[STEPS];
    } cases[] = {
        /* SGD a=0.1: 0.99-0.05; 0.94*0.99+0.025; 0.9556*0.99-0.1 */
        {PLAB_OPT_SGD, 0.1f, {0.94, 0.9556, 0.846044}},
        /* momentum 0.9: b = 0.5, 0.2, 1.18 */
        {PLAB_OPT_MOMENTUM, 0.1f, {0.94, 0.9106, 0.783494}},
        /* AdamW a=0.01: step 1 moves by a*g/(|g|+eps) */
        {PLAB_OPT_ADAMW, 0.01f, {0.9800000002, 0.9675366298687846, 0.9512801476670212}},
    };
    plab_kernels_id be[PLAB_KERNELS_COUNT];
    int nb = test_backends(be);
    for (int b = 0; b < nb; b++)
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            plab_net *net = tiny_net(be[b]);
            plab_optim_desc d = make_desc(cases[k].kind, cases[k].lr, 0.01f);
            plab_optim *o = NULL;
            assert_int_equal(plab_optim_create(&d, net, NULL, &o), PLAB_OK);
            assert_int_equal(plab_optim_get_desc(o)->kind, cases[k].kind);
            for (int s = 1; s <= STEPS; s++) {
                set_grads(net, s - 1);
                plab_optim_step(o, net);
                double want[P];
                expected(&d, s, NULL, 0, want);
                char what[64];
                snprintf(what, sizeof what, "%s kind %d step %d", plab_kernels_name(be[b]),
                         (int)cases[k].kind, s);
                check_params(net, want, what);
                float p0 = plab_net_params(net)[0];
                if (fabs(p0 - cases[k].hand[s - 1]) > 1e-6)
                    fail_msg("%s: entry 0 is %.9g, by hand %.9g", what, p0, cases[k].hand[s - 1]);
                /* the optimizer does not modify the gradients (decoupled shrink) */
                for (int i = 0; i < P; i++)
                    assert_true(plab_net_grads(net)[i] == (float)grads[s - 1][i]);
            }
            plab_optim_destroy(o);
            plab_net_destroy(net);
        }
}

/* Without shrink the parameters follow the plain update; with lr tiny, shrink dominates. */
static void test_shrink_alone(void **state)
{
    (void)state;
    plab_net *net = tiny_net(PLAB_KERNELS_SCALAR);
    plab_optim_desc d = make_desc(PLAB_OPT_SGD, 0.5f, 0.25f);
    plab_optim *o = NULL;
    assert_int_equal(plab_optim_create(&d, net, NULL, &o), PLAB_OK);
    memset(plab_net_grads(net), 0, P * sizeof(float));
    plab_optim_step(o, net);
    for (int i = 0; i < P; i++)
        assert_true(plab_net_params(net)[i] == (float)theta0[i] * 0.75f);
    plab_optim_destroy(o);
    plab_net_destroy(net);
}

static void test_adamw_resets_and_step_counts(void **state)
{
    (void)state;
    static const int reset[P] = {1, 0, 0, 0, 0, 1, 0, 0, 1, 0};
    /* entry 0 after the reset before step 3: per-entry count restarts at 1; global stays 3 */
    static const double hand_pe = 0.9478612636700968, hand_global = 0.9514731276867021;
    plab_kernels_id be[PLAB_KERNELS_COUNT];
    int nb = test_backends(be);
    for (int b = 0; b < nb; b++)
        for (int pe = 0; pe < 2; pe++) {
            plab_net *net = tiny_net(be[b]);
            plab_optim_desc d = make_desc(PLAB_OPT_ADAMW, 0.01f, 0.01f);
            d.per_entry_steps = pe;
            plab_optim *o = NULL;
            assert_int_equal(plab_optim_create(&d, net, NULL, &o), PLAB_OK);
            run(o, net, STEPS, reset, 3);
            double want[P];
            expected(&d, STEPS, reset, 3, want);
            check_params(net, want, pe ? "per-entry steps" : "global step");
            assert_true(fabs(plab_net_params(net)[0] - (pe ? hand_pe : hand_global)) < 1e-6);
            plab_optim_destroy(o);
            plab_net_destroy(net);
        }
}

/* Without resets, per-entry step counts give the global-step bits. */
static void test_adamw_per_entry_equals_global(void **state)
{
    (void)state;
    plab_kernels_id be[PLAB_KERNELS_COUNT];
    int nb = test_backends(be);
    for (int b = 0; b < nb; b++) {
        float out[2][P];
        for (int pe = 0; pe < 2; pe++) {
            plab_net *net = tiny_net(be[b]);
            plab_optim_desc d = make_desc(PLAB_OPT_ADAMW, 0.01f, 0.01f);
            d.per_entry_steps = pe;
            plab_optim *o = NULL;
            assert_int_equal(plab_optim_create(&d, net, NULL, &o), PLAB_OK);
            run(o, net, STEPS, NULL, 0);
            memcpy(out[pe], plab_net_params(net), sizeof out[pe]);
            plab_optim_destroy(o);
            plab_net_destroy(net);
        }
        assert_memory_equal(out[0], out[1], sizeof out[0]);
    }
}

/* plab_optim_reset zeroes all state and the step count: the next step is a first step. */
static void test_full_reset(void **state)
{
    (void)state;
    for (int kind = PLAB_OPT_MOMENTUM; kind <= PLAB_OPT_ADAMW; kind++)
        for (int pe = 0; pe < 2; pe++) {
            plab_optim_desc d = make_desc((plab_optimizer_kind)kind, 0.01f, 0.01f);
            d.per_entry_steps = pe;
            plab_net *net = tiny_net(PLAB_KERNELS_SCALAR), *fresh = tiny_net(PLAB_KERNELS_SCALAR);
            plab_optim *o = NULL, *of = NULL;
            assert_int_equal(plab_optim_create(&d, net, NULL, &o), PLAB_OK);
            assert_int_equal(plab_optim_create(&d, fresh, NULL, &of), PLAB_OK);
            run(o, net, 2, NULL, 0);
            plab_optim_reset(o);
            memcpy(plab_net_params(fresh), plab_net_params(net), P * sizeof(float));
            set_grads(net, 2);
            set_grads(fresh, 2);
            plab_optim_step(o, net);
            plab_optim_step(of, fresh);
            assert_memory_equal(plab_net_params(net), plab_net_params(fresh), P * sizeof(float));
            plab_optim_destroy(o);
            plab_optim_destroy(of);
            plab_net_destroy(net);
            plab_net_destroy(fresh);
        }
}

static int is_pos_zero(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u == 0;
}

/* Adam moments that fall below 1e-30 in magnitude are stored as exactly +0. */
static void test_adamw_denormal_flush(void **state)
{
    (void)state;
    plab_kernels_id be[PLAB_KERNELS_COUNT];
    int nb = test_backends(be);
    for (int b = 0; b < nb; b++)
        for (int pe = 0; pe < 2; pe++) {
            plab_net *net = tiny_net(be[b]);
            plab_optim_desc d = make_desc(PLAB_OPT_ADAMW, 0.01f, 0.0f);
            d.per_entry_steps = pe;
            plab_optim *o = NULL;
            assert_int_equal(plab_optim_create(&d, net, NULL, &o), PLAB_OK);
            float *m = plab_optim_m(o), *v = plab_optim_v(o), *g = plab_net_grads(net);
            assert_non_null(m);
            assert_non_null(v);
            memset(g, 0, P * sizeof(float));
            m[0] = 1e-30f;     /* -> 0.9e-30: flushed */
            v[0] = 1e-30f;     /* -> 0.999e-30: flushed */
            m[1] = -1.05e-30f; /* -> -0.945e-30: flushed to +0 */
            m[2] = 2e-30f;     /* -> 1.8e-30: kept */
            v[2] = 2e-30f;     /* -> 1.998e-30: kept */
            g[3] = 5e-30f;     /* m = 5e-31, v underflows: both flushed */
            g[4] = 1e-3f;      /* ordinary */
            plab_optim_step(o, net);
            assert_true(is_pos_zero(m[0]) && is_pos_zero(v[0]));
            assert_true(is_pos_zero(m[1]));
            assert_true(m[2] == 0.9f * 2e-30f && v[2] == 0.999f * 2e-30f);
            assert_true(is_pos_zero(m[3]) && is_pos_zero(v[3]));
            assert_true(m[4] == (1.0f - 0.9f) * 1e-3f && v[4] > 0.0f);
            /* no entry holds a denormal */
            for (int i = 0; i < P; i++) {
                assert_true(m[i] == 0.0f || fabsf(m[i]) >= 1e-30f);
                assert_true(v[i] == 0.0f || v[i] >= 1e-30f);
            }
            /* flushed entries only shrink (here lambda = 0: unchanged) */
            assert_true(plab_net_params(net)[0] == (float)theta0[0]);
            plab_optim_destroy(o);
            plab_net_destroy(net);
        }
}

static void test_reset_range_strided(void **state)
{
    (void)state;
    for (int kind = 0; kind < PLAB_OPT_COUNT; kind++) {
        plab_net *net = tiny_net(PLAB_KERNELS_SCALAR);
        plab_optim_desc d = make_desc((plab_optimizer_kind)kind, 0.01f, 0.0f);
        plab_optim *o = NULL;
        assert_int_equal(plab_optim_create(&d, net, NULL, &o), PLAB_OK);
        float *m = plab_optim_m(o), *v = plab_optim_v(o);
        if (kind == PLAB_OPT_SGD) {
            assert_null(m);
            assert_null(v);
            plab_optim_reset_range(o, 0, P); /* nothing to do, must not crash */
            plab_optim_reset_strided(o, 0, P, 2);
            plab_optim_reset(o);
        } else {
            assert_non_null(m);
            if (kind == PLAB_OPT_ADAMW)
                assert_non_null(v);
            else
                assert_null(v);
            static const struct {
                size_t off, count, stride;
                int zero[P];
            } cases[] = {
                {2, 3, 1, {0, 0, 1, 1, 1, 0, 0, 0, 0, 0}},
                {1, 3, 4, {0, 1, 0, 0, 0, 1, 0, 0, 0, 1}},
                {8, 10, 1, {0, 0, 0, 0, 0, 0, 0, 0, 1, 1}}, /* clipped at the end */
                {0, 100, 7, {1, 0, 0, 0, 0, 0, 0, 1, 0, 0}},
                {4, 0, 1, {0}},
                {P, 5, 1, {0}}, /* starts past the end */
            };
            for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
                for (int i = 0; i < P; i++) {
                    m[i] = (float)(i + 1);
                    if (v)
                        v[i] = (float)(100 + i);
                }
                if (cases[c].stride == 1)
                    plab_optim_reset_range(o, cases[c].off, cases[c].count);
                else
                    plab_optim_reset_strided(o, cases[c].off, cases[c].count, cases[c].stride);
                for (int i = 0; i < P; i++) {
                    float wm = cases[c].zero[i] ? 0.0f : (float)(i + 1);
                    if (m[i] != wm)
                        fail_msg("kind %d case %zu: m[%d] = %g, expected %g", kind, c, i, m[i], wm);
                    if (v && v[i] != (cases[c].zero[i] ? 0.0f : (float)(100 + i)))
                        fail_msg("kind %d case %zu: v[%d] = %g", kind, c, i, v[i]);
                }
            }
            plab_optim_reset(o);
            for (int i = 0; i < P; i++)
                assert_true(m[i] == 0.0f && (!v || v[i] == 0.0f));
        }
        plab_optim_destroy(o);
        plab_net_destroy(net);
    }
    plab_optim_destroy(NULL); /* no-op */
}

static void test_desc_check(void **state)
{
    (void)state;
    const float nan = NAN, inf = INFINITY;
    static const char *const key_of[] = {"optimizer", "lr",    "l2", "momentum",
                                         "beta1",     "beta2", "eps"};
    const struct {
        int field; /* index into key_of */
        float value;
    } bad[] = {
        {0, 0},     {1, 0.0f}, {1, -1.0f}, {1, nan},    {1, inf},  {2, -0.1f}, {2, 1.0f}, {2, 1.5f},
        {2, nan},   {3, 1.0f}, {3, -0.5f}, {3, nan},    {4, 1.0f}, {4, -0.1f}, {4, nan},  {5, 1.0f},
        {5, -0.1f}, {5, nan},  {6, 0.0f},  {6, -1e-8f}, {6, nan},  {6, inf},
    };
    plab_optim_desc d;
    char msg[200];
    plab_optim_desc_default(&d);
    assert_int_equal(plab_optim_desc_check(&d, msg, sizeof msg), PLAB_OK);
    assert_int_equal(d.kind, PLAB_OPT_SGD);
    assert_true(d.lr == 0.05f && d.shrink == 0.0f && d.momentum == 0.9f && d.beta1 == 0.9f &&
                d.beta2 == 0.999f && d.eps == 1e-8f && d.per_entry_steps == 0);
    /* boundaries that are allowed */
    d.shrink = 0.0f;
    d.momentum = 0.0f;
    d.beta1 = 0.0f;
    d.beta2 = 0.0f;
    assert_int_equal(plab_optim_desc_check(&d, msg, sizeof msg), PLAB_OK);
    plab_net *net = tiny_net(PLAB_KERNELS_SCALAR);
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        plab_optim_desc_default(&d);
        switch (bad[k].field) {
        case 0:
            d.kind = PLAB_OPT_COUNT;
            break;
        case 1:
            d.lr = bad[k].value;
            break;
        case 2:
            d.shrink = bad[k].value;
            break;
        case 3:
            d.momentum = bad[k].value;
            break;
        case 4:
            d.beta1 = bad[k].value;
            break;
        case 5:
            d.beta2 = bad[k].value;
            break;
        default:
            d.eps = bad[k].value;
            break;
        }
        msg[0] = '\0';
        assert_int_equal(plab_optim_desc_check(&d, msg, sizeof msg), PLAB_E_INVALID);
        if (!strstr(msg, key_of[bad[k].field]))
            fail_msg("case %zu: message \"%s\" does not name \"%s\"", k, msg, key_of[bad[k].field]);
        assert_int_equal(plab_optim_desc_check(&d, NULL, 0), PLAB_E_INVALID);
        plab_optim *o = (plab_optim *)&d;
        assert_int_equal(plab_optim_create(&d, net, NULL, &o), PLAB_E_INVALID);
        assert_null(o);
    }
    plab_net_destroy(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_steps),
        cmocka_unit_test(test_shrink_alone),
        cmocka_unit_test(test_adamw_resets_and_step_counts),
        cmocka_unit_test(test_adamw_per_entry_equals_global),
        cmocka_unit_test(test_full_reset),
        cmocka_unit_test(test_adamw_denormal_flush),
        cmocka_unit_test(test_reset_range_strided),
        cmocka_unit_test(test_desc_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
