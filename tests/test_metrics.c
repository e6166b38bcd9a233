/*
 * test_metrics.c: the probe metrics at task starts (core/metrics.c, ALGORITHMS §7.3).
 *
 *   - a hand-set ReLU net on hand-picked inputs: dead units per layer and overall (Σh = 0
 *     exactly), stable/effective/approximate rank and fs_ratio of the last hidden layer,
 *     effective rank per layer, mean |θ| overall and per layer, with the probe set split over
 *     several forward batches; the scratch size is respected (a guard after it stays intact);
 *   - frozen units of sigmoid and tanh nets under both upper-bound rules (spec hi − 0.01,
 *     code hi + 0.01), and dead units left NaN for saturating activations;
 *   - probing never changes training: runs with probe_every = 1 and 0 have the same trace hash
 *     and the same per-task accuracy, for several problems and methods; rows are probed exactly
 *     at the tasks probe_every selects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"
#include "metrics.h"
#include "net.h"
#include "plab.h"

static plab_net *make_net(int in, int h1, int h2, plab_activation act, int max_batch)
{
    plab_net_desc d;
    plab_net_desc_default(&d);
    d.input_dim = in;
    d.output_dim = 2;
    d.num_hidden = 2;
    d.widths[0] = h1;
    d.widths[1] = h2;
    d.activation = act;
    d.max_batch = max_batch;
    plab_net *net = NULL;
    assert_int_equal(plab_net_create(&d, PLAB_KERNELS_SCALAR, NULL, &net), PLAB_OK);
    memset(plab_net_params(net), 0, plab_net_num_params(net) * sizeof(float));
    return net;
}

/* Runs the probe with scratch followed by a guard that must stay untouched. */
static void probe(plab_net *net, const plab_config *c, const float *X, int n, plab_task_row *row)
{
    size_t bytes = plab_metrics_probe_bytes(c, net, n);
    assert_true(bytes > 0);
    unsigned char *s = aligned_alloc(64, (bytes + 64 + 63) / 64 * 64);
    memset(s + bytes, 0xab, 64);
    plab_metrics_probe(net, c, X, n, s, row);
    for (int i = 0; i < 64; i++)
        assert_int_equal(s[bytes + i], 0xab);
    free(s);
}

static void test_relu_by_hand(void **state)
{
    (void)state;
    plab_config c;
    plab_config_default(&c);
    /* 2 -> 3 -> 2 -> 2, max_batch 3 so the 4 probe inputs take two forward batches */
    plab_net *net = make_net(2, 3, 2, PLAB_ACT_RELU, 3);
    plab_layer *L = net->layer;
    const float W1[6] = {1, 1, -1, -1, 1, -1}; /* unit 1 dead on nonnegative inputs */
    const float W2[6] = {1, 0, 0, -1, 0, -1};  /* unit 1 dead: weights <= 0 on h1 >= 0 */
    memcpy(L[0].W, W1, sizeof W1);
    memcpy(L[1].W, W2, sizeof W2);
    L[1].b[1] = -0.5f;
    L[2].W[0] = 2.0f;
    L[2].b[1] = -3.0f;
    const float X[8] = {1, 0, 0, 1, 1, 1, 2, 1};
    plab_task_row row;
    probe(net, &c, X, 4, &row);
    /* h1 = [1 0 1; 1 0 0; 2 0 0; 3 0 1]; h2 = [1 0; 1 0; 2 0; 3 0] */
    assert_int_equal(row.probed, 1);
    assert_true(fabs(row.layer_dead_pct[0] - 100.0 / 3.0) < 1e-12);
    assert_true(row.layer_dead_pct[1] == 50.0);
    assert_true(row.dead_units_pct == 40.0);
    /* last hidden layer: rank 1, σ = (√15, 0) */
    assert_true(row.stable_rank == 1.0);
    assert_true(row.approx_rank == 1.0);
    assert_true(fabs(row.effective_rank - 1.0) < 1e-15);
    assert_true(fabs(row.fs_ratio - 1.0) < 1e-15);
    assert_true(row.layer_effective_rank[1] == row.effective_rank);
    /* layer 1: AᵀA has the block [15 4; 4 2]: λ = (17 ± √233)/2 */
    double s1 = sqrt((17.0 + sqrt(233.0)) / 2.0), s2 = sqrt((17.0 - sqrt(233.0)) / 2.0);
    double p1 = s1 / (s1 + s2), p2 = s2 / (s1 + s2);
    double er = exp(-(p1 * log(p1) + p2 * log(p2)));
    assert_true(fabs(row.layer_effective_rank[0] - er) < 1e-9);
    assert_true(isnan(row.layer_effective_rank[2]));
    /* |θ|: 6 + 0 (l1, 9 entries); 3 + 0.5 (l2, 8 entries); 2 + 3 (out, 6 entries) */
    size_t P = plab_net_num_params(net);
    assert_int_equal(P, 9 + 8 + 6);
    assert_true(fabs(row.param_abs - 14.5 / 23.0) < 1e-12);
    assert_true(fabs(row.layer_param_abs[0] - 6.0 / 9.0) < 1e-12);
    assert_true(fabs(row.layer_param_abs[1] - 3.5 / 8.0) < 1e-12);
    assert_true(fabs(row.layer_param_abs[2] - 5.0 / 6.0) < 1e-12);
    assert_true(isnan(row.ln_gain_abs));
    assert_true(isnan(row.frozen_units_pct));

    /* the same probe restricted to 3 inputs (one batch) and to 1 input */
    probe(net, &c, X, 3, &row);
    assert_true(row.dead_units_pct == 40.0);
    probe(net, &c, X + 2, 1, &row); /* x = (0, 1): h1 = (1, 0, 0), h2 = (1, 0) */
    assert_true(fabs(row.layer_dead_pct[0] - 200.0 / 3.0) < 1e-12);
    assert_true(row.stable_rank == 1.0);

    /* every unit dead: all-zero features give 0 ranks (§10 row 15) */
    memset(L[0].W, 0, sizeof W1);
    probe(net, &c, X, 4, &row);
    assert_true(row.dead_units_pct == 100.0);
    assert_true(row.stable_rank == 0.0 && row.effective_rank == 0.0);
    assert_true(row.approx_rank == 0.0 && row.fs_ratio == 0.0);
    plab_net_destroy(net);
}

static void test_identity_features(void **state)
{
    (void)state;
    /* 4 -> 4 -> 4 with identity weights on one-hot inputs: features = I, every σ = 1 */
    plab_config c;
    plab_config_default(&c);
    plab_net *net = make_net(4, 4, 4, PLAB_ACT_RELU, 30);
    for (int l = 0; l < 2; l++)
        for (int i = 0; i < 4; i++)
            net->layer[l].W[i * 4 + i] = 1.0f;
    float X[16] = {0};
    for (int i = 0; i < 4; i++)
        X[i * 4 + i] = 1.0f;
    plab_task_row row;
    probe(net, &c, X, 4, &row);
    assert_true(row.dead_units_pct == 0.0);
    assert_true(row.stable_rank == 4.0); /* 0.99·4 needs all four */
    assert_true(row.approx_rank == 4.0);
    assert_true(fabs(row.effective_rank - 4.0) < 1e-12);
    assert_true(fabs(row.fs_ratio - 4.0) < 1e-12);
    plab_net_destroy(net);
}

static void frozen_case(plab_activation act, double lo)
{
    /* 1 -> 3 -> 3: unit 0 saturates high, unit 1 low, unit 2 in the middle */
    plab_config c;
    plab_config_default(&c);
    plab_net *net = make_net(1, 3, 3, act, 30);
    plab_layer *L = net->layer;
    L[0].W[0] = 100.0f;
    L[0].b[0] = 10.0f;
    L[0].W[1] = -100.0f;
    L[0].b[1] = -10.0f;
    L[0].W[2] = 0.5f;
    /* layer 2: unit 0 high, units 1 and 2 free (0 weights: h = act(0)) */
    L[1].b[0] = 20.0f;
    const float X[3] = {0.0f, 0.5f, 1.0f};
    plab_task_row row;
    probe(net, &c, X, 3, &row);
    /* sigmoid(0) = 0.5 and tanh(0) = 0 are not frozen: 3 of 6 units frozen (spec rule) */
    assert_true(fabs(row.frozen_units_pct - 50.0) < 1e-12);
    assert_true(isnan(row.dead_units_pct));
    c.frozen_upper_rule = 1; /* code: hi + 0.01 is never reached, only the low unit counts */
    probe(net, &c, X, 3, &row);
    assert_true(fabs(row.frozen_units_pct - 100.0 / 6.0) < 1e-12);
    (void)lo;
    plab_net_destroy(net);
}

static void test_frozen(void **state)
{
    (void)state;
    frozen_case(PLAB_ACT_SIGMOID, 0.0);
    frozen_case(PLAB_ACT_TANH, -1.0);
}

/* ---------------------------------------------------------------- probing vs trajectory */

typedef struct rows {
    int n;
    plab_task_row row[16];
} rows;

static void on_task(void *ctx, const plab_task_row *r)
{
    rows *R = ctx;
    if (R->n < 16)
        R->row[R->n++] = *r;
}

static uint64_t run_hash(const char *const *kv, int probe_every, rows *R)
{
    plab_config c;
    plab_config_default(&c);
    char err[256];
    for (int i = 0; kv[i]; i += 2)
        if (plab_config_set(&c, kv[i], kv[i + 1], err, sizeof err) != PLAB_OK)
            fail_msg("%s", err);
    c.probe_every = probe_every;
    plab_run *r = NULL;
    if (plab_run_create(&c, NULL, NULL, &r, err, sizeof err) != PLAB_OK)
        fail_msg("create: %s", err);
    plab_sink s = {0};
    s.task = on_task;
    s.ctx = R;
    R->n = 0;
    plab_run_set_sink(r, &s);
    while (!plab_run_done(r))
        assert_int_equal(plab_run_step(r), PLAB_OK);
    uint64_t h = plab_run_trace_hash(r);
    plab_run_destroy(r);
    return h;
}

static void test_probe_keeps_trajectory(void **state)
{
    (void)state;
    static const char *const base_pc[] = {
        "problem",        "pclusters", "gen_dim",    "24",  "gen_pool", "90",
        "hidden",         "12,12,12",  "batch_size", "6",   "tasks",    "4",
        "steps_per_task", "30",        "lr",         "0.1", NULL};
    static const char *const base_scr[] = {
        "problem",    "scr", "scr_period", "200", "hidden", "5",    "init", "kaiming_uniform",
        "batch_size", "1",   "tasks",      "4",   "lr",     "0.01", NULL};
    static const char *const base_rl[] = {
        "problem",    "rlabels", "gen_dim", "16", "gen_pool",   "40",   "hidden", "8,8",
        "batch_size", "4",       "tasks",   "3",  "activation", "tanh", NULL};
    static const char *const *const bases[] = {base_pc, base_scr, base_rl};
    static const char *const methods[][6] = {
        {"method", "none", NULL},
        {"method", "swr", "swr_period", "7", "swr_factor", "0.5"},
        {"method", "cbp", "cbp_maturity", "3", "cbp_rate", "0.1"},
        {"method", "redo", "redo_period", "5", "redo_threshold", "0.5"},
        {"method", "reset", NULL},
    };
    for (size_t b = 0; b < 3; b++)
        for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
            const char *kv[64];
            int k = 0;
            for (int i = 0; bases[b][i]; i++)
                kv[k++] = bases[b][i];
            for (int i = 0; i < 6 && methods[m][i]; i++)
                kv[k++] = methods[m][i];
            kv[k] = NULL;
            rows with, without, every2;
            uint64_t h1 = run_hash(kv, 1, &with);
            uint64_t h0 = run_hash(kv, 0, &without);
            uint64_t h2 = run_hash(kv, 2, &every2);
            if (h1 != h0 || h2 != h0)
                fail_msg("problem %s method %s: probing changed the trajectory", bases[b][1],
                         methods[m][1]);
            assert_int_equal(with.n, without.n);
            for (int t = 0; t < with.n; t++) {
                assert_true(with.row[t].loss == without.row[t].loss);
                assert_int_equal(with.row[t].probed, 1);
                assert_false(isnan(with.row[t].param_abs));
                assert_false(isnan(with.row[t].effective_rank));
                assert_int_equal(without.row[t].probed, 0);
                assert_true(isnan(without.row[t].stable_rank));
                assert_int_equal(every2.row[t].probed, t % 2 == 0);
                if (t % 2 == 0)
                    assert_true(every2.row[t].stable_rank == with.row[t].stable_rank);
            }
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relu_by_hand),
        cmocka_unit_test(test_identity_features),
        cmocka_unit_test(test_frozen),
        cmocka_unit_test(test_probe_keeps_trajectory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
