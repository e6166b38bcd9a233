/*
 * test_problems.c: the problems (ALGORITHMS §6) through their vtables, and the registry.
 *
 *   - permuted images (pmnist on a small in-memory dataset): each task applies one uniform
 *     pixel permutation x~_j = x_perm[j] to the original images, one pass visits every image
 *     once, a further pass reshuffles, labels follow their images; label permutation is one
 *     bijection per task; task k is a pure function of (seed, k);
 *   - the data stream does not depend on the learner: configs differing in every learner key
 *     give identical batches, and probes interleaved between batches change nothing;
 *   - probes: n distinct examples under the current permutation;
 *   - slowly-changing regression: the target network and the inputs replayed from the
 *     documented draw order and the §6.4 formula (and the formula on a hand-checked unit);
 *     redraw_all and flip_one; random bits per example; cold begin_task(k) = sequential;
 *   - pclusters and rlabels: batches replayed from the generative process of docs/TASKS.md;
 *   - shapes, defaults (gen_* = 0), validation messages, and runs of every problem.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plab.h"
#include "problem.h"

typedef struct prob {
    const plab_problem_vt *vt;
    plab_config c;
    plab_problem_shape sh;
    void *s;
} prob;

static void prob_open(prob *p, const plab_config *c, const plab_dataset *d)
{
    char err[256];
    p->c = *c;
    p->vt = plab_problem_find(c->problem);
    assert_non_null(p->vt);
    if (p->vt->check(c, d, err, sizeof err) != PLAB_OK)
        fail_msg("check: %s", err);
    p->vt->shape(c, d, &p->sh);
    size_t bytes = p->vt->state_bytes(c, d);
    assert_true(bytes > 0);
    p->s = aligned_alloc(64, (bytes + 63) / 64 * 64);
    memset(p->s, 0, bytes);
    assert_int_equal(p->vt->init(p->s, c, d), PLAB_OK);
}

static void prob_close(prob *p)
{
    free(p->s);
}

/* m batches of the current task into X (m*batch, D) and Y. */
static void batches(prob *p, int nb, float *X, int32_t *Y, float *T)
{
    int m = p->c.batch_size, D = p->sh.input_dim;
    for (int b = 0; b < nb; b++)
        p->vt->next_batch(p->s, X + (size_t)b * m * D, Y ? Y + (size_t)b * m : NULL,
                          T ? T + (size_t)b * m : NULL);
}

/* ---------------------------------------------------------------- permuted images */

static uint8_t on_value(plab_rng *r)
{
    return (uint8_t)(128u + plab_rng_below(r, 128u));
}

static void fisher_yates(uint32_t *a, int n, plab_rng *r)
{
    for (int i = n - 1; i > 0; i--) {
        uint32_t j = plab_rng_below(r, (uint32_t)i + 1u), t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

enum { FN = 12, FR = 3, FC = 4, FD = FR * FC };
static uint8_t fimg[FN * FD], flab[FN];

/* Pixel j of image i is i*FD + j (all 144 values distinct), so a pixel names its source. */
static plab_dataset fake_dataset(void)
{
    for (int i = 0; i < FN; i++) {
        for (int j = 0; j < FD; j++)
            fimg[i * FD + j] = (uint8_t)(i * FD + j);
        flab[i] = (uint8_t)((i * 7) % 10);
    }
    plab_dataset d;
    memset(&d, 0, sizeof d);
    d.n = FN;
    d.rows = FR;
    d.cols = FC;
    d.num_classes = 10;
    d.images = fimg;
    d.labels = flab;
    return d;
}

static void pmnist_config(plab_config *c)
{
    plab_config_default(c);
    snprintf(c->problem, sizeof c->problem, "pmnist");
    c->batch_size = 3;
    c->seed = 17;
}

/* Decodes a pass of FN examples: checks one shared permutation and labels; returns the
 * permutation in perm and marks the images seen. */
static void decode_pass(const float *X, const int32_t *Y, int n, const int32_t *label_map,
                        uint32_t *perm, int *seen)
{
    for (int r = 0; r < n; r++) {
        int img = -1;
        for (int j = 0; j < FD; j++) {
            float v = X[r * FD + j] * 255.0f;
            int b = (int)(v + 0.5f);
            assert_true(fabsf(v - (float)b) < 1e-3f); /* x = byte / 255 */
            int i = b / FD, src = b % FD;
            if (img < 0)
                img = i;
            assert_int_equal(i, img); /* one image per row */
            if (r == 0)
                perm[j] = (uint32_t)src;
            assert_int_equal(perm[j], src); /* one permutation per task */
        }
        seen[img]++;
        assert_int_equal(Y[r], label_map ? label_map[flab[img]] : flab[img]);
    }
    int hit[FD] = {0};
    for (int j = 0; j < FD; j++)
        hit[perm[j]]++;
    for (int j = 0; j < FD; j++)
        assert_int_equal(hit[j], 1); /* a permutation of the pixel positions */
}

static void test_permuted_tasks(void **state)
{
    (void)state;
    plab_dataset d = fake_dataset();
    plab_config c;
    pmnist_config(&c);
    prob p;
    prob_open(&p, &c, &d);
    assert_int_equal(p.sh.input_dim, FD);
    assert_int_equal(p.sh.output_dim, 10);
    assert_int_equal(p.sh.steps_per_task, FN / 3);
    assert_int_equal(p.sh.probe_size, FN);
    assert_int_equal(p.sh.needs_dataset, 1);
    float X[2 * FN * FD];
    int32_t Y[2 * FN];
    uint32_t perm[3][FD];
    for (int k = 0; k < 3; k++) {
        p.vt->begin_task(p.s, k);
        batches(&p, 8, X, Y, NULL); /* two passes */
        int seen[FN] = {0}, seen2[FN] = {0};
        decode_pass(X, Y, FN, NULL, perm[k], seen);
        uint32_t perm2[FD];
        decode_pass(X + FN * FD, Y + FN, FN, NULL, perm2, seen2);
        assert_memory_equal(perm2, perm[k], sizeof perm2);
        for (int i = 0; i < FN; i++)
            assert_true(seen[i] == 1 && seen2[i] == 1);
        assert_memory_not_equal(X, X + FN * FD, FN * FD * sizeof(float)); /* reshuffled */
        /* the draw order of §5: sub-stream (seed, DATA, k + 1), permutation, then shuffle */
        plab_rng r;
        plab_rng_seed(&r, c.seed, PLAB_STREAM_DATA, (uint64_t)k + 1);
        uint32_t want[FD], order[FN];
        for (int j = 0; j < FD; j++)
            want[j] = (uint32_t)j;
        fisher_yates(want, FD, &r);
        assert_memory_equal(want, perm[k], sizeof want);
        for (int i = 0; i < FN; i++)
            order[i] = (uint32_t)i;
        fisher_yates(order, FN, &r);
        for (int i = 0; i < FN; i++)
            assert_int_equal((int)(X[i * FD] * 255.0f + 0.5f) / FD, (int)order[i]);
    }
    assert_memory_not_equal(perm[0], perm[1], sizeof perm[0]);
    assert_memory_not_equal(perm[1], perm[2], sizeof perm[0]);

    /* pure function of (seed, k): a fresh state starting at task 2 sees the same batches */
    float X2[FN * FD];
    int32_t Y2[FN];
    prob q;
    prob_open(&q, &c, &d);
    q.vt->begin_task(q.s, 2);
    batches(&q, 4, X2, Y2, NULL);
    p.vt->begin_task(p.s, 2);
    batches(&p, 4, X, Y, NULL);
    assert_memory_equal(X, X2, sizeof X2);
    assert_memory_equal(Y, Y2, sizeof Y2);
    /* another seed, other batches */
    c.seed = 18;
    prob o;
    prob_open(&o, &c, &d);
    o.vt->begin_task(o.s, 2);
    batches(&o, 4, X2, Y2, NULL);
    assert_memory_not_equal(X, X2, sizeof X2);
    prob_close(&o);
    prob_close(&q);
    prob_close(&p);
}

static void test_label_permutation(void **state)
{
    (void)state;
    plab_dataset d = fake_dataset();
    plab_config c;
    pmnist_config(&c);
    c.label_permutation = 1;
    prob p;
    prob_open(&p, &c, &d);
    float X[FN * FD];
    int32_t Y[FN];
    int maps_differ = 0;
    int32_t prev[10];
    for (int k = 0; k < 3; k++) {
        p.vt->begin_task(p.s, k);
        batches(&p, 4, X, Y, NULL);
        /* recover the map from the decoded images: one bijection per task */
        int32_t map[10];
        for (int i = 0; i < 10; i++)
            map[i] = -1;
        for (int r = 0; r < FN; r++) {
            int img = (int)(X[r * FD] * 255.0f + 0.5f) / FD;
            int from = flab[img];
            if (map[from] < 0)
                map[from] = Y[r];
            assert_int_equal(map[from], Y[r]);
        }
        int hit[10] = {0};
        for (int i = 0; i < 10; i++)
            if (map[i] >= 0)
                hit[map[i]]++;
        for (int i = 0; i < 10; i++)
            assert_true(hit[i] <= 1);
        if (k > 0 && memcmp(map, prev, sizeof map) != 0)
            maps_differ = 1;
        memcpy(prev, map, sizeof map);
    }
    assert_true(maps_differ);
    /* the input stream is the one without label permutation (labels are drawn after it) */
    plab_config c0 = c;
    c0.label_permutation = 0;
    prob q;
    prob_open(&q, &c0, &d);
    float X0[FN * FD];
    int32_t Y0[FN];
    q.vt->begin_task(q.s, 2);
    batches(&q, 4, X0, Y0, NULL);
    assert_memory_equal(X, X0, sizeof X0);
    prob_close(&q);
    prob_close(&p);
}

/* The problem ignores learner keys and probes do not consume the data stream. */
static void test_stream_independent_of_learner(void **state)
{
    (void)state;
    plab_dataset d = fake_dataset();
    plab_config a, b;
    pmnist_config(&a);
    b = a;
    b.method = PLAB_METHOD_RESET;
    b.reset_each_task = 1;
    b.lr = 0.7;
    b.optimizer = PLAB_OPT_ADAMW;
    b.num_hidden = 1;
    b.hidden[0] = 5;
    b.activation = PLAB_ACT_TANH;
    b.snp_noise_var = 1e-3;
    b.probe_every = 3;
    b.probe_size = 7;
    b.swr_period = 3;
    b.kernels = PLAB_KERNELS_SCALAR;
    prob p, q;
    prob_open(&p, &a, &d);
    prob_open(&q, &b, &d);
    plab_rng mrng;
    plab_rng_seed(&mrng, 5, PLAB_STREAM_METRICS, 0);
    float X1[3 * FD], X2[3 * FD], PX[FN * FD];
    int32_t Y1[3], Y2[3];
    for (int k = 0; k < 3; k++) {
        p.vt->begin_task(p.s, k);
        q.vt->begin_task(q.s, k);
        q.vt->probe(q.s, 7, 0, 7, &mrng, PX); /* the run probes at task starts */
        for (int step = 0; step < 6; step++) {
            p.vt->next_batch(p.s, X1, Y1, NULL);
            q.vt->next_batch(q.s, X2, Y2, NULL);
            assert_memory_equal(X1, X2, sizeof X1);
            assert_memory_equal(Y1, Y2, sizeof Y1);
            if (step % 2)
                q.vt->probe(q.s, FN, 0, FN, &mrng, PX); /* even mid-task */
        }
    }
    prob_close(&p);
    prob_close(&q);
}

static void test_probe_sets(void **state)
{
    (void)state;
    plab_dataset d = fake_dataset();
    plab_config c;
    pmnist_config(&c);
    prob p;
    prob_open(&p, &c, &d);
    p.vt->begin_task(p.s, 1);
    float X[FN * FD], PX[FN * FD];
    int32_t Y[FN];
    uint32_t perm[FD], pperm[FD];
    int seen[FN] = {0};
    batches(&p, 4, X, Y, NULL);
    decode_pass(X, Y, FN, NULL, perm, seen);
    plab_rng r1, r2;
    plab_rng_seed(&r1, 1, PLAB_STREAM_METRICS, 0);
    plab_rng_seed(&r2, 1, PLAB_STREAM_METRICS, 0);
    for (int n = 1; n <= FN; n += 4) {
        p.vt->probe(p.s, n, 0, n, &r1, PX);
        int cnt[FN] = {0};
        for (int r = 0; r < n; r++) {
            int img = -1;
            for (int j = 0; j < FD; j++) {
                int b = (int)(PX[r * FD + j] * 255.0f + 0.5f);
                if (img < 0)
                    img = b / FD;
                pperm[j] = (uint32_t)(b % FD);
            }
            cnt[img]++;
            assert_memory_equal(pperm, perm, sizeof perm); /* the current permutation */
        }
        for (int i = 0; i < FN; i++)
            assert_true(cnt[i] <= 1); /* distinct */
    }
    /* the probe's choice comes from the metrics stream only */
    float PY[5 * FD], PZ[5 * FD];
    plab_rng_seed(&r1, 9, PLAB_STREAM_METRICS, 0);
    p.vt->probe(p.s, 5, 0, 5, &r1, PY);
    p.vt->next_batch(p.s, X, Y, NULL); /* data-stream use in between changes nothing */
    plab_rng_seed(&r2, 9, PLAB_STREAM_METRICS, 0);
    p.vt->probe(p.s, 5, 0, 5, &r2, PZ);
    assert_memory_equal(PY, PZ, sizeof PY);
    /* a batch at a time (as the probe metrics take it): the same rows */
    plab_rng_seed(&r2, 9, PLAB_STREAM_METRICS, 0);
    memset(PZ, 0, sizeof PZ);
    p.vt->probe(p.s, 5, 0, 2, &r2, PZ);
    p.vt->probe(p.s, 5, 2, 2, &r2, PZ + 2 * FD);
    p.vt->probe(p.s, 5, 4, 1, &r2, PZ + 4 * FD);
    assert_memory_equal(PY, PZ, sizeof PY);
    prob_close(&p);
}

/* ---------------------------------------------------------------- slowly-changing regression */

static int top_bit(plab_rng *r)
{
    return (int)(plab_rng_u32(r) >> 31);
}

/* The target network of §6.4, replayed from the documented draw order. */
typedef struct ltu_net {
    int W1[100][20], b1[100], w2[100], b2;
} ltu_net;

static void replay_target(uint64_t seed, ltu_net *t)
{
    plab_rng r;
    plab_rng_seed(&r, seed, PLAB_STREAM_DATA, 0);
    for (int i = 0; i < 100; i++)
        for (int j = 0; j < 20; j++)
            t->W1[i][j] = 2 * top_bit(&r) - 1;
    for (int i = 0; i < 100; i++)
        t->b1[i] = 2 * top_bit(&r) - 1;
    for (int i = 0; i < 100; i++)
        t->w2[i] = 2 * top_bit(&r) - 1;
    t->b2 = 2 * top_bit(&r) - 1;
}

/* §6.4: S_i = (20 − Σ_j W1[i,j] + b1[i])/2, τ_i = 0.7·21 − S_i, f_i = [(W1x + b1)_i > τ_i]. */
static int ltu(const int *w, int b, const int *x)
{
    int sum = 0, z = b;
    for (int j = 0; j < 20; j++) {
        sum += w[j];
        z += w[j] * x[j];
    }
    double S = (20.0 - sum + b) / 2.0, tau = 0.7 * 21.0 - S;
    return (double)z > tau;
}

static double spec_target(const ltu_net *t, const int *x)
{
    int y = t->b2;
    for (int i = 0; i < 100; i++)
        y += t->w2[i] * ltu(t->W1[i], t->b1[i], x);
    return y;
}

static void test_ltu_by_hand(void **state)
{
    (void)state;
    int w[20], x[20];
    /* all weights +1, bias +1: S = (20 − 20 + 1)/2 = 0.5, τ = 14.2 */
    for (int j = 0; j < 20; j++)
        w[j] = 1;
    for (int j = 0; j < 20; j++)
        x[j] = j < 14; /* z = 14 + 1 = 15 > 14.2 */
    assert_int_equal(ltu(w, 1, x), 1);
    x[13] = 0; /* z = 14 <= 14.2 */
    assert_int_equal(ltu(w, 1, x), 0);
    /* ten −1 weights, bias −1: Σw = 0, S = (20 − 0 − 1)/2 = 9.5, τ = 5.2 */
    for (int j = 0; j < 20; j++)
        w[j] = j < 10 ? 1 : -1;
    for (int j = 0; j < 20; j++)
        x[j] = j < 7; /* z = 7 − 1 = 6 > 5.2 */
    assert_int_equal(ltu(w, -1, x), 1);
    x[6] = 0; /* z = 5 */
    assert_int_equal(ltu(w, -1, x), 0);
}

static void scr_config(plab_config *c, int generator)
{
    plab_config_default(c);
    snprintf(c->problem, sizeof c->problem, "scr");
    c->batch_size = 1;
    c->scr_period = 50;
    c->scr_generator = generator;
    c->seed = 1234;
    c->num_hidden = 1;
    c->hidden[0] = 5;
}

static void test_scr_replay(void **state)
{
    (void)state;
    for (int gen = 0; gen < 2; gen++) {
        plab_config c;
        scr_config(&c, gen);
        c.batch_size = 2; /* two examples per update: each with its own random bits */
        prob p;
        prob_open(&p, &c, NULL);
        assert_int_equal(p.sh.input_dim, 20);
        assert_int_equal(p.sh.output_dim, 1);
        assert_int_equal(p.sh.loss, PLAB_LOSS_MSE);
        assert_int_equal(p.sh.steps_per_task, 50);
        assert_int_equal(p.sh.needs_dataset, 0);
        ltu_net t;
        replay_target(c.seed, &t);
        int bits[20] = {0}, prev[15] = {0};
        double tmin = 1e9, tmax = -1e9;
        for (int k = 0; k < 6; k++) {
            plab_rng r;
            plab_rng_seed(&r, c.seed, PLAB_STREAM_DATA, (uint64_t)k + 1);
            if (gen == 0 || k == 0) {
                for (int j = 0; j < 15; j++)
                    bits[j] = top_bit(&r);
            } else {
                int j = (int)plab_rng_below(&r, 15);
                bits[j] ^= 1;
                int diff = 0;
                for (int i = 0; i < 15; i++)
                    diff += bits[i] != prev[i];
                assert_int_equal(diff, 1);
            }
            memcpy(prev, bits, sizeof prev);
            p.vt->begin_task(p.s, k);
            for (int step = 0; step < 10; step++) {
                float X[2 * 20], T[2];
                p.vt->next_batch(p.s, X, NULL, T);
                for (int e = 0; e < 2; e++) {
                    for (int j = 15; j < 20; j++)
                        bits[j] = top_bit(&r);
                    for (int j = 0; j < 20; j++)
                        assert_true(X[e * 20 + j] == (float)bits[j]);
                    double y = spec_target(&t, bits);
                    assert_true(T[e] == (float)y);
                    tmin = y < tmin ? y : tmin;
                    tmax = y > tmax ? y : tmax;
                }
            }
            /* the probe enumerates the 32 patterns of bits 15-19 under this period's bits */
            float PX[32 * 20];
            plab_rng mr;
            plab_rng_seed(&mr, 0, PLAB_STREAM_METRICS, 0);
            p.vt->probe(p.s, 32, 0, 32, &mr, PX);
            for (int i = 0; i < 32; i++)
                for (int j = 0; j < 20; j++)
                    assert_true(PX[i * 20 + j] == (float)(j < 15 ? bits[j] : (i >> (j - 15)) & 1));
            float PB[7 * 20]; /* a batch at a time: rows 21..27 of the same set */
            p.vt->probe(p.s, 32, 21, 7, &mr, PB);
            assert_memory_equal(PB, PX + 21 * 20, sizeof PB);
        }
        assert_true(tmax > tmin); /* the target is not constant */
        prob_close(&p);
    }
}

static void test_scr_cold_start(void **state)
{
    (void)state;
    for (int gen = 0; gen < 2; gen++) {
        plab_config c;
        scr_config(&c, gen);
        prob p, q;
        prob_open(&p, &c, NULL);
        prob_open(&q, &c, NULL);
        for (int k = 0; k < 7; k++) { /* sequential, consuming some of each period */
            p.vt->begin_task(p.s, k);
            float X[3 * 20], T[3];
            batches(&p, 3, X, NULL, T);
        }
        q.vt->begin_task(q.s, 7); /* cold */
        p.vt->begin_task(p.s, 7);
        for (int i = 0; i < 20; i++) {
            float X1[20], X2[20], T1[1], T2[1];
            p.vt->next_batch(p.s, X1, NULL, T1);
            q.vt->next_batch(q.s, X2, NULL, T2);
            assert_memory_equal(X1, X2, sizeof X1);
            assert_true(T1[0] == T2[0]);
        }
        prob_close(&p);
        prob_close(&q);
    }
}

static void test_scr_check(void **state)
{
    (void)state;
    plab_config c;
    scr_config(&c, 0);
    char err[256];
    c.steps_per_task = 50;
    assert_int_equal(plab_problem_check(&c, err, sizeof err), PLAB_OK);
    c.steps_per_task = 10;
    assert_int_equal(plab_problem_check(&c, err, sizeof err), PLAB_E_INVALID);
    assert_non_null(strstr(err, "key 'steps_per_task'"));
    assert_non_null(strstr(err, "scr_period"));
}

/* ---------------------------------------------------------------- generated tasks */

/* Replays docs/TASKS.md for pclusters (rl = 0) or rlabels (rl = 1) and compares one task's
 * batches (two passes) with the problem's. */
static void replay_generated(int rl, int C, int D, int n, int m, uint64_t seed, int task)
{
    plab_config c;
    plab_config_default(&c);
    snprintf(c.problem, sizeof c.problem, "%s", rl ? "rlabels" : "pclusters");
    c.gen_classes = C;
    c.gen_dim = D;
    c.gen_pool = n;
    c.batch_size = m;
    c.seed = seed;
    prob p;
    prob_open(&p, &c, NULL);
    assert_int_equal(p.sh.input_dim, D);
    assert_int_equal(p.sh.output_dim, C);
    assert_int_equal(p.sh.steps_per_task, (rl ? 40 : 4) * n / m);

    uint8_t *pool = calloc((size_t)n * D, 1), *proto = calloc((size_t)4 * C * D, 1);
    int *lab = calloc((size_t)n, sizeof(int));
    plab_rng r;
    plab_rng_seed(&r, seed, PLAB_STREAM_DATA, 0);
    if (!rl) {
        int K = 4 * C;
        for (int i = 0; i < K * D; i++)
            proto[i] = plab_rng_uniform(&r) < 0.2f ? on_value(&r) : 0;
        for (int e = 0; e < n; e++) {
            uint32_t k = plab_rng_below(&r, (uint32_t)K);
            lab[e] = (int)(k % (uint32_t)C);
            for (int j = 0; j < D; j++) {
                uint8_t v = proto[k * D + j];
                if (plab_rng_uniform(&r) < 0.1f)
                    v = v ? 0 : on_value(&r);
                pool[e * D + j] = v;
            }
        }
    } else {
        for (int i = 0; i < n * D; i++)
            pool[i] = plab_rng_uniform(&r) < 0.2f ? on_value(&r) : 0;
    }
    uint32_t *perm = calloc((size_t)D, 4), *order = calloc((size_t)n, 4);
    plab_rng_seed(&r, seed, PLAB_STREAM_DATA, (uint64_t)task + 1);
    for (int j = 0; j < D; j++)
        perm[j] = (uint32_t)j;
    if (!rl)
        fisher_yates(perm, D, &r);
    if (rl)
        for (int e = 0; e < n; e++)
            lab[e] = (int)plab_rng_below(&r, (uint32_t)C);
    for (int e = 0; e < n; e++)
        order[e] = (uint32_t)e;
    fisher_yates(order, n, &r);

    p.vt->begin_task(p.s, task);
    float *X = malloc(sizeof(float) * (size_t)m * D);
    int32_t *Y = malloc(sizeof(int32_t) * (size_t)m);
    int pos = 0, seen_classes[256] = {0};
    for (int step = 0; step < 2 * n / m; step++) {
        p.vt->next_batch(p.s, X, Y, NULL);
        for (int i = 0; i < m; i++) {
            if (pos == n) {
                fisher_yates(order, n, &r);
                pos = 0;
            }
            uint32_t e = order[pos++];
            for (int j = 0; j < D; j++)
                if (X[i * D + j] != (float)pool[e * D + perm[j]] / 255.0f)
                    fail_msg("%s task %d step %d row %d pixel %d", c.problem, task, step, i, j);
            assert_int_equal(Y[i], lab[e]);
            seen_classes[Y[i]] = 1;
        }
    }
    int classes = 0;
    for (int k = 0; k < C; k++)
        classes += seen_classes[k];
    assert_true(classes > C / 2);
    free(X);
    free(Y);
    free(perm);
    free(order);
    free(pool);
    free(proto);
    free(lab);
    prob_close(&p);
}

static void test_generated_replay(void **state)
{
    (void)state;
    replay_generated(0, 10, 40, 200, 8, 3, 0);
    replay_generated(0, 3, 17, 30, 5, 4, 5);
    replay_generated(1, 10, 32, 50, 10, 3, 0);
    replay_generated(1, 4, 9, 20, 4, 5, 3);
}

static void test_generated_defaults_and_tasks(void **state)
{
    (void)state;
    plab_config c;
    plab_config_default(&c);
    plab_problem_shape sh;
    /* 0 selects the problem's own sizes */
    c.gen_dim = c.gen_pool = c.gen_classes = 0;
    c.batch_size = 16;
    snprintf(c.problem, sizeof c.problem, "pclusters");
    plab_problem_find("pclusters")->shape(&c, NULL, &sh);
    assert_int_equal(sh.input_dim, 128);
    assert_int_equal(sh.output_dim, 10);
    assert_int_equal(sh.steps_per_task, 4 * 2000 / 16);
    snprintf(c.problem, sizeof c.problem, "rlabels");
    plab_problem_find("rlabels")->shape(&c, NULL, &sh);
    assert_int_equal(sh.input_dim, 128);
    assert_int_equal(sh.steps_per_task, 40 * 200 / 16);
    assert_int_equal(sh.probe_size, 200);
    snprintf(c.problem, sizeof c.problem, "synthetic");
    plab_problem_find("synthetic")->shape(&c, NULL, &sh);
    assert_int_equal(sh.input_dim, 784);
    assert_int_equal(sh.steps_per_task, 3000 / 16);

    /* rlabels: the inputs stay (no permutation), the labels change per task */
    plab_config_default(&c);
    snprintf(c.problem, sizeof c.problem, "rlabels");
    c.gen_dim = 16;
    c.gen_pool = 40;
    c.batch_size = 40;
    prob p;
    prob_open(&p, &c, NULL);
    float X0[40 * 16], X1[40 * 16];
    int32_t Y0[40], Y1[40];
    plab_rng mr;
    plab_rng_seed(&mr, 1, PLAB_STREAM_METRICS, 0);
    p.vt->begin_task(p.s, 0);
    p.vt->probe(p.s, 40, 0, 40, &mr, X0);
    p.vt->next_batch(p.s, X0, Y0, NULL);
    p.vt->begin_task(p.s, 1);
    p.vt->next_batch(p.s, X1, Y1, NULL);
    /* the same 40 images in both tasks (sort-free check: each row of X1 occurs in X0) */
    int same_label = 0;
    for (int i = 0; i < 40; i++) {
        int found = -1;
        for (int k = 0; k < 40 && found < 0; k++)
            if (memcmp(X1 + i * 16, X0 + k * 16, 16 * sizeof(float)) == 0)
                found = k;
        assert_true(found >= 0);
        same_label += Y1[i] == Y0[found];
    }
    assert_true(same_label < 20); /* fresh labels: ~4 of 40 agree by chance */
    prob_close(&p);
}

/* ---------------------------------------------------------------- registry and runs */

static void test_registry_and_checks(void **state)
{
    (void)state;
    static const char *const names[] = {"synthetic", "pmnist",    "pfmnist",
                                        "scr",       "pclusters", "rlabels"};
    char list[256];
    plab_problem_list(list, sizeof list);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const plab_problem_vt *vt = plab_problem_find(names[i]);
        assert_non_null(vt);
        assert_string_equal(vt->name, names[i]);
        assert_non_null(strstr(list, names[i]));
        assert_non_null(vt->help);
    }
    assert_null(plab_problem_find("mnist"));
    assert_null(plab_problem_find(NULL));
    plab_config c;
    plab_config_default(&c);
    char err[256];
    snprintf(c.problem, sizeof c.problem, "nope");
    assert_int_equal(plab_problem_check(&c, err, sizeof err), PLAB_E_INVALID);
    assert_non_null(strstr(err, "pclusters"));
    /* batch larger than a generated pool */
    snprintf(c.problem, sizeof c.problem, "rlabels");
    c.gen_pool = 20;
    c.batch_size = 30;
    assert_int_equal(plab_problem_check(&c, err, sizeof err), PLAB_E_INVALID);
    assert_non_null(strstr(err, "key 'batch_size'"));
    /* a dataset problem without its dataset */
    plab_config_default(&c);
    snprintf(c.problem, sizeof c.problem, "pmnist");
    plab_run *r = NULL;
    assert_int_equal(plab_run_create(&c, NULL, NULL, &r, err, sizeof err), PLAB_E_INVALID);
    assert_null(r);
    assert_non_null(strstr(err, "needs its dataset"));
}

static int tasks_seen;
static void count_task(void *ctx, const plab_task_row *row)
{
    (void)ctx;
    assert_int_equal(row->task, tasks_seen);
    tasks_seen++;
    assert_true(isfinite(row->loss));
}

static void run_problem(plab_config *c, const plab_dataset *d, int tasks)
{
    char err[256];
    c->tasks = tasks;
    plab_run *r = NULL;
    if (plab_run_create(c, d, NULL, &r, err, sizeof err) != PLAB_OK)
        fail_msg("%s: %s", c->problem, err);
    plab_sink s = {0};
    s.task = count_task;
    plab_run_set_sink(r, &s);
    tasks_seen = 0;
    while (!plab_run_done(r))
        assert_int_equal(plab_run_step(r), PLAB_OK);
    assert_int_equal(tasks_seen, tasks);
    plab_run_destroy(r);
}

static void test_runs(void **state)
{
    (void)state;
    plab_dataset d = fake_dataset();
    plab_config c;
    pmnist_config(&c);
    c.num_hidden = 2;
    c.hidden[0] = c.hidden[1] = 8;
    run_problem(&c, &d, 3);
    snprintf(c.problem, sizeof c.problem, "pfmnist");
    run_problem(&c, &d, 2);
    scr_config(&c, 1);
    c.init = PLAB_INIT_KAIMING_UNIFORM;
    c.lr = 0.01;
    run_problem(&c, NULL, 3);
    plab_config_default(&c);
    snprintf(c.problem, sizeof c.problem, "pclusters");
    c.gen_dim = 32;
    c.gen_pool = 100;
    c.batch_size = 10;
    c.num_hidden = 3;
    c.hidden[0] = c.hidden[1] = c.hidden[2] = 16;
    run_problem(&c, NULL, 2);
    snprintf(c.problem, sizeof c.problem, "rlabels");
    run_problem(&c, NULL, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_permuted_tasks),
        cmocka_unit_test(test_label_permutation),
        cmocka_unit_test(test_stream_independent_of_learner),
        cmocka_unit_test(test_probe_sets),
        cmocka_unit_test(test_ltu_by_hand),
        cmocka_unit_test(test_scr_replay),
        cmocka_unit_test(test_scr_cold_start),
        cmocka_unit_test(test_scr_check),
        cmocka_unit_test(test_generated_replay),
        cmocka_unit_test(test_generated_defaults_and_tasks),
        cmocka_unit_test(test_registry_and_checks),
        cmocka_unit_test(test_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
