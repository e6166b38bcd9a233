/*
 * test_net.c: the network (ALGORITHMS §2.2, §3.1-3.3).
 *
 *   - the double reference (support/refnet.h) against central finite differences, every
 *     activation, with/without LayerNorm and skips, both losses, batch 1 and 30;
 *   - plab's float forward/backward (every backend) against that reference, and every backend
 *     bit-identical to scalar;
 *   - initialization statistics, draw order, tensor table and parameter counts;
 *   - argmax ties, bad arguments, backward hooks (order, and rows reset mid-backward);
 *   - plab_net_infer_features (the probe forward) against plab_net_infer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "plab.h"
#include "refnet.h"
#include "testutil.h"

#define MAXP 4096
#define MAXN 30
#define MAXT (4 * (PLAB_MAX_HIDDEN + 1))

static const plab_activation all_acts[] = {PLAB_ACT_RELU,    PLAB_ACT_LEAKY_RELU, PLAB_ACT_TANH,
                                           PLAB_ACT_SIGMOID, PLAB_ACT_IDENTITY,   PLAB_ACT_CRELU};
static const char *const act_names[] = {"relu",    "leaky_relu", "tanh",
                                        "sigmoid", "identity",   "crelu"};

static int has_kink(plab_activation a)
{
    return a == PLAB_ACT_RELU || a == PLAB_ACT_LEAKY_RELU || a == PLAB_ACT_CRELU;
}

/* Three hidden layers. Small: 7-(5,6,4)-3; big (exercises SIMD main loops and tails):
 * 37-(20,24,18)-5. CReLU needs even widths, skips need equal widths. */
static plab_net_desc make_desc(plab_activation act, int ln, int skip, plab_loss loss, int big)
{
    plab_net_desc d;
    plab_net_desc_default(&d);
    d.input_dim = big ? 37 : 7;
    d.output_dim = big ? 5 : 3;
    d.num_hidden = 3;
    static const int small_w[3] = {5, 6, 4}, small_even[3] = {6, 4, 8}, small_eq[3] = {6, 6, 6};
    static const int big_w[3] = {20, 24, 18}, big_eq[3] = {24, 24, 24};
    const int *w = big ? (skip ? big_eq : big_w)
                       : (skip                    ? small_eq
                          : act == PLAB_ACT_CRELU ? small_even
                                                  : small_w);
    for (int l = 0; l < 3; l++)
        d.widths[l] = w[l];
    d.activation = act;
    d.layer_norm = ln;
    d.skip = skip;
    d.loss = loss;
    d.max_batch = MAXN;
    return d;
}

/* A test case: parameters and data in double. */
typedef struct tcase {
    refnet r;
    int n;
    double p[MAXP];
    double x[MAXN * 64];
    int32_t labels[MAXN];
    double targets[MAXN * 8];
} tcase;

static void draw_params(const refnet *r, ref_rng *g, double *p)
{
    for (int j = 0; j < r->nl; j++) {
        const ref_layer *L = &r->L[j];
        double s = 1.0 / sqrt((double)L->in);
        for (int i = 0; i < L->units * L->in; i++)
            p[L->o_w + i] = s * ref_normal(g);
        for (int i = 0; i < L->units; i++)
            p[L->o_b + i] = 0.3 * ref_normal(g);
        if (L->ln)
            for (int i = 0; i < L->width; i++) {
                p[L->o_g + i] = 1.0 + 0.3 * ref_normal(g);
                p[L->o_beta + i] = 0.3 * ref_normal(g);
            }
    }
}

/* Draws parameters and data; for kinked activations redraws until no hidden pre-activation
 * is within 1e-3 of 0, so finite differences and float rounding never straddle a kink. */
static void draw_case(tcase *c, const plab_net_desc *d, int n, uint64_t seed)
{
    refnet_init(&c->r, d);
    assert_true(c->r.P <= MAXP);
    assert_true(n <= MAXN && d->input_dim <= 64 && d->output_dim <= 8);
    c->n = n;
    ref_rng g = {seed};
    for (int tries = 0; tries < 200; tries++) {
        draw_params(&c->r, &g, c->p);
        for (int i = 0; i < n * d->input_dim; i++)
            c->x[i] = ref_normal(&g);
        for (int i = 0; i < n; i++)
            c->labels[i] = (int32_t)(ref_u64(&g) % (uint64_t)d->output_dim);
        for (int i = 0; i < n * d->output_dim; i++)
            c->targets[i] = ref_normal(&g);
        ref_stats st;
        refnet_eval(&c->r, c->p, NULL, c->x, c->labels, c->targets, n, NULL, &st, NULL);
        if (has_kink(d->activation) && st.min_abs_z <= 1e-3)
            continue;
        /* a ReLU row with one live feature makes LN's output constant: its input gradient is
         * pure cancellation, which float cannot resolve (not a defect). With one example
         * that row is the whole gradient, so avoid the draw; in a batch it is diluted. */
        if (d->layer_norm && n == 1 && st.min_active < 2)
            continue;
        return;
    }
    fail_msg("could not draw a case away from kinks");
}

/* Tensor ranges of the reference in canonical order. */
static int ref_tensors(const refnet *r, size_t off[], size_t len[])
{
    int k = 0;
    for (int j = 0; j < r->nl; j++) {
        const ref_layer *L = &r->L[j];
        off[k] = L->o_w, len[k++] = (size_t)L->units * (size_t)L->in;
        off[k] = L->o_b, len[k++] = (size_t)L->units;
        if (L->ln) {
            off[k] = L->o_g, len[k++] = (size_t)L->width;
            off[k] = L->o_beta, len[k++] = (size_t)L->width;
        }
    }
    return k;
}

/* Largest per-tensor norm-wise relative error between two gradient arrays (ref_relerr). */
static double max_tensor_err(const refnet *r, const double *a, const double *b, double min_den)
{
    size_t off[MAXT], len[MAXT];
    int k = ref_tensors(r, off, len);
    double worst = 0;
    for (int t = 0; t < k; t++) {
        double e = ref_relerr(a + off[t], b + off[t], len[t], min_den);
        if (e > worst)
            worst = e;
    }
    return worst;
}

/* ------------------------------------------------------------------ reference vs FD */

static void test_reference_matches_finite_differences(void **state)
{
    (void)state;
    static tcase c;
    static double ga[MAXP], gf[MAXP];
    double worst = 0;
    int cases = 0;
    for (size_t ai = 0; ai < sizeof all_acts / sizeof all_acts[0]; ai++)
        for (int cfg = 0; cfg < 3; cfg++) /* plain, LN, skip */
            for (int loss = 0; loss < PLAB_LOSS_COUNT; loss++)
                for (int bi = 0; bi < 2; bi++) {
                    int n = bi ? 30 : 1;
                    plab_net_desc d =
                        make_desc(all_acts[ai], cfg == 1, cfg == 2, (plab_loss)loss, 0);
                    draw_case(&c, &d, n, 1000u + 97u * (uint64_t)cases);
                    refnet_eval(&c.r, c.p, NULL, c.x, c.labels, c.targets, n, ga, NULL, NULL);
                    double gnorm = 0;
                    for (size_t i = 0; i < c.r.P; i++) {
                        /* 5-point central difference, O(h^4); |dz| <= 2h|a| ~ 2e-4 stays inside
                         * the 1e-3 kink margin */
                        double keep = c.p[i], h = 2e-5 * (fabs(keep) > 1 ? fabs(keep) : 1);
                        double l[4];
                        static const double at[4] = {2, 1, -1, -2};
                        for (int s = 0; s < 4; s++) {
                            c.p[i] = keep + at[s] * h;
                            l[s] = refnet_eval(&c.r, c.p, NULL, c.x, c.labels, c.targets, n, NULL,
                                               NULL, NULL);
                        }
                        c.p[i] = keep;
                        gf[i] = (-l[0] + 8 * l[1] - 8 * l[2] + l[3]) / (12 * h);
                        gnorm += ga[i] * ga[i];
                    }
                    /* floor: differences resolve ~1e-10 absolute, so a tensor whose gradient
                     * is 1e-4 of the whole is judged against 1e-4 of the whole */
                    double e = max_tensor_err(&c.r, ga, gf, 1e-4 * sqrt(gnorm));
                    if (e >= 1e-6)
                        fail_msg("FD mismatch: act %s ln %d skip %d loss %d n %d: rel err %g",
                                 act_names[ai], cfg == 1, cfg == 2, loss, n, e);
                    if (e > worst)
                        worst = e;
                    cases++;
                }
    print_message("reference vs finite differences: %d cases, worst per-tensor rel err %.3g\n",
                  cases, worst);
}

/* ------------------------------------------------------------------ plab vs reference */

/* Loss and gradients of plab's float net, every backend, against the double reference on
 * the same (float-rounded) parameters and data; every backend bit-identical to scalar. */

/* Copies the case's parameters into the net (float) and rounds the case to the same values. */
static void load_case(plab_net *net, tcase *c, float *xf, float *tf)
{
    float *p = plab_net_params(net);
    assert_int_equal(plab_net_num_params(net), c->r.P);
    for (size_t i = 0; i < c->r.P; i++) {
        p[i] = (float)c->p[i];
        c->p[i] = p[i];
    }
    for (int i = 0; i < c->n * c->r.d.input_dim; i++) {
        xf[i] = (float)c->x[i];
        c->x[i] = xf[i];
    }
    for (int i = 0; i < c->n * c->r.d.output_dim; i++) {
        tf[i] = (float)c->targets[i];
        c->targets[i] = tf[i];
    }
}

static void test_plab_matches_reference(void **state)
{
    (void)state;
    static tcase c;
    static double gref[MAXP], gplab[MAXP];
    static float gscalar[MAXP], gf[MAXP];
    static float xf[MAXN * 64], tf[MAXN * 8];
    plab_kernels_id be[PLAB_KERNELS_COUNT];
    int nb = test_backends(be);
    assert_true(nb >= 1);
    double worst_g = 0, worst_l = 0;
    int cases = 0;
    for (size_t ai = 0; ai < sizeof all_acts / sizeof all_acts[0]; ai++)
        for (int cfg = 0; cfg < 3; cfg++)
            for (int loss = 0; loss < PLAB_LOSS_COUNT; loss++)
                for (int big = 0; big < 2; big++)
                    for (int bi = 0; bi < 2; bi++) {
                        int n = bi ? 30 : 1;
                        plab_net_desc d =
                            make_desc(all_acts[ai], cfg == 1, cfg == 2, (plab_loss)loss, big);
                        draw_case(&c, &d, n, 77000u + 31u * (uint64_t)cases);
                        cases++;
                        double lref = 0;
                        /* b = -1: the scalar run every backend must reproduce bit for bit */
                        float lscalar = 0;
                        for (int b = -1; b < nb; b++) {
                            plab_kernels_id id = b < 0 ? PLAB_KERNELS_SCALAR : be[b];
                            if (b >= 0 && id == PLAB_KERNELS_SCALAR)
                                continue;
                            plab_net *net = NULL;
                            assert_int_equal(plab_net_create(&d, id, NULL, &net), PLAB_OK);
                            load_case(net, &c, xf, tf); /* rounds the case to float too */
                            if (b < 0)
                                lref = refnet_eval(&c.r, c.p, NULL, c.x, c.labels, c.targets, n,
                                                   gref, NULL, NULL);
                            float lf = -1;
                            int correct = -1;
                            plab_status sf =
                                plab_net_forward(net, xf, c.labels, tf, n, &lf, &correct);
                            plab_status sb = plab_net_backward(net, NULL, NULL);
                            memcpy(gf, plab_net_grads(net), c.r.P * sizeof(float));
                            plab_net_destroy(net);
                            assert_int_equal(sf, PLAB_OK);
                            assert_int_equal(sb, PLAB_OK);
                            for (size_t i = 0; i < c.r.P; i++)
                                gplab[i] = gf[i];
                            double el = fabs(lf - lref) / (fabs(lref) > 1 ? fabs(lref) : 1);
                            double eg = max_tensor_err(&c.r, gref, gplab, 1e-9);
                            if (el > 1e-5 || eg > 1e-4)
                                fail_msg("plab (%s) vs reference: act %s ln %d skip %d loss %d "
                                         "big %d n %d: loss err %g, grad err %g",
                                         plab_kernels_name(id), act_names[ai], cfg == 1, cfg == 2,
                                         loss, big, n, el, eg);
                            worst_l = el > worst_l ? el : worst_l;
                            worst_g = eg > worst_g ? eg : worst_g;
                            if (b < 0) {
                                memcpy(gscalar, gf, c.r.P * sizeof(float));
                                lscalar = lf;
                            } else if (memcmp(gscalar, gf, c.r.P * sizeof(float)) != 0 ||
                                       memcmp(&lscalar, &lf, sizeof lf) != 0) {
                                fail_msg("backend %s differs from scalar (act %s ln %d skip %d "
                                         "loss %d big %d n %d)",
                                         plab_kernels_name(id), act_names[ai], cfg == 1, cfg == 2,
                                         loss, big, n);
                            }
                        }
                    }
    print_message("plab vs reference: %d cases x %d backends, worst loss rel err %.3g, worst "
                  "per-tensor grad rel err %.3g\n",
                  cases, nb, worst_l, worst_g);
}

/* Calling backward twice for one forward must give the same gradients (or refuse). */
static void test_backward_twice(void **state)
{
    (void)state;
    static tcase c;
    static float xf[MAXN * 64], tf[MAXN * 8], g1[MAXP], g2[MAXP];
    plab_net_desc d = make_desc(PLAB_ACT_TANH, 0, 0, PLAB_LOSS_SOFTMAX_XENT, 0);
    draw_case(&c, &d, 10, 4242);
    plab_net *net = NULL;
    assert_int_equal(plab_net_create(&d, PLAB_KERNELS_SCALAR, NULL, &net), PLAB_OK);
    load_case(net, &c, xf, tf);
    assert_int_equal(plab_net_forward(net, xf, c.labels, tf, c.n, NULL, NULL), PLAB_OK);
    assert_int_equal(plab_net_backward(net, NULL, NULL), PLAB_OK);
    memcpy(g1, plab_net_grads(net), c.r.P * sizeof(float));
    plab_status st = plab_net_backward(net, NULL, NULL);
    memcpy(g2, plab_net_grads(net), c.r.P * sizeof(float));
    plab_net_destroy(net);
    if (st == PLAB_OK)
        assert_memory_equal(g1, g2, c.r.P * sizeof(float));
    else
        assert_int_equal(st, PLAB_E_STATE);
}

/* ------------------------------------------------------------------ initialization */

static plab_net *make_net(int in, int h, int out, int ln, plab_activation act,
                          plab_init_scheme init)
{
    plab_net_desc d;
    plab_net_desc_default(&d);
    d.input_dim = in;
    d.output_dim = out;
    d.num_hidden = 1;
    d.widths[0] = h;
    d.layer_norm = ln;
    d.activation = act;
    d.init = init;
    plab_net *net = NULL;
    assert_int_equal(plab_net_create(&d, PLAB_KERNELS_SCALAR, NULL, &net), PLAB_OK);
    return net;
}

static void moments(const float *w, size_t n, double *mean, double *var)
{
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++)
        s += w[i];
    *mean = s / (double)n;
    for (size_t i = 0; i < n; i++)
        s2 += (w[i] - *mean) * (w[i] - *mean);
    *var = s2 / (double)n;
}

/* Sample mean and variance of a N(0, sigma^2) tensor within 5 standard errors. */
static void check_normal(const float *w, size_t n, double sigma, const char *what)
{
    double m, v;
    moments(w, n, &m, &v);
    double se_mean = sigma / sqrt((double)n), se_var = sqrt(2.0 / (double)n);
    if (fabs(m) > 5 * se_mean || fabs(v / (sigma * sigma) - 1) > 5 * se_var)
        fail_msg("%s: mean %g var %g, expected N(0, %g)", what, m, v, sigma * sigma);
}

static void test_init_kaiming_normal(void **state)
{
    (void)state;
    static const struct {
        plab_activation act;
        double gain;
    } cases[] = {{PLAB_ACT_RELU, 1.4142135623730951},
                 {PLAB_ACT_TANH, 5.0 / 3.0},
                 {PLAB_ACT_SIGMOID, 1.0},
                 {PLAB_ACT_LEAKY_RELU, 1.4141428428542851}}; /* sqrt(2/(1+0.01^2)) */
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        plab_net *net = make_net(784, 100, 10, 0, cases[k].act, PLAB_INIT_KAIMING_NORMAL);
        const float *p = plab_net_params(net);
        for (size_t i = 0; i < plab_net_num_params(net); i++)
            assert_true(p[i] == 0.0f); /* created with zero parameters */
        plab_rng rng;
        plab_rng_seed(&rng, 11 + k, PLAB_STREAM_INIT, 0);
        plab_net_init_params(net, &rng);
        const plab_tensor *w1 = plab_net_tensor(net, 0), *wo = plab_net_tensor(net, 2);
        assert_string_equal(w1->name, "l1.weight");
        assert_string_equal(wo->name, "out.weight");
        check_normal(p + w1->offset, w1->size, cases[k].gain / sqrt(784.0), "W1");
        check_normal(p + wo->offset, wo->size, cases[k].gain / sqrt(100.0), "Wout");
        /* the declared distributions; re-initialization uses the ReLU gain (§10 row 5) */
        assert_int_equal(w1->init.kind, PLAB_DIST_NORMAL);
        assert_true(fabs(w1->init.scale - cases[k].gain / sqrt(784.0)) < 1e-7);
        assert_true(fabs(wo->init.scale - cases[k].gain / sqrt(100.0)) < 1e-7);
        assert_int_equal(w1->reinit.kind, PLAB_DIST_NORMAL);
        assert_true(fabs(w1->reinit.scale - sqrt(2.0 / 784.0)) < 1e-7);
        assert_true(fabs(wo->reinit.scale - sqrt(2.0 / 100.0)) < 1e-7);
        const plab_tensor *b1 = plab_net_tensor(net, 1), *bo = plab_net_tensor(net, 3);
        for (size_t i = 0; i < b1->size; i++)
            assert_true(p[b1->offset + i] == 0.0f);
        for (size_t i = 0; i < bo->size; i++)
            assert_true(p[bo->offset + i] == 0.0f);
        plab_net_destroy(net);
    }
}

static void test_init_kaiming_uniform(void **state)
{
    (void)state;
    plab_net *net = make_net(784, 100, 10, 0, PLAB_ACT_RELU, PLAB_INIT_KAIMING_UNIFORM);
    plab_rng rng;
    plab_rng_seed(&rng, 5, PLAB_STREAM_INIT, 0);
    plab_net_init_params(net, &rng);
    const float *p = plab_net_params(net);
    struct {
        int t;
        double bound;
        double min_max; /* the largest |w| must come this close to the bound */
    } cases[] = {{0, sqrt(2.0) * sqrt(3.0 / 784.0), 0.999}, {2, sqrt(3.0 / 100.0), 0.95}};
    for (int k = 0; k < 2; k++) {
        const plab_tensor *t = plab_net_tensor(net, cases[k].t);
        assert_int_equal(t->init.kind, PLAB_DIST_UNIFORM);
        assert_true(fabs(t->init.scale - cases[k].bound) < 1e-7);
        assert_int_equal(t->reinit.kind, PLAB_DIST_UNIFORM);
        assert_true(t->reinit.scale == t->init.scale);
        double mx = 0;
        for (size_t i = 0; i < t->size; i++) {
            double a = fabs(p[t->offset + i]);
            if (a > cases[k].bound * (1 + 1e-6))
                fail_msg("%s: |w| = %g exceeds bound %g", t->name, a, cases[k].bound);
            mx = a > mx ? a : mx;
        }
        assert_true(mx > cases[k].min_max * cases[k].bound);
        double m, v, b2 = cases[k].bound * cases[k].bound;
        moments(p + t->offset, t->size, &m, &v);
        /* U(-b, b): mean 0 (sd b/sqrt(3n)), variance b^2/3 (sd of w^2 is b^2 * 2/sqrt(45)) */
        assert_true(fabs(m) < 5 * cases[k].bound / sqrt(3.0 * (double)t->size));
        assert_true(fabs(v - b2 / 3) < 5 * b2 * (2 / sqrt(45.0)) / sqrt((double)t->size));
    }
    plab_net_destroy(net);
}

static void test_init_ln_and_draw_order(void **state)
{
    (void)state;
    plab_net_desc d = make_desc(PLAB_ACT_RELU, 1, 0, PLAB_LOSS_SOFTMAX_XENT, 0);
    plab_net *net = NULL;
    assert_int_equal(plab_net_create(&d, PLAB_KERNELS_SCALAR, NULL, &net), PLAB_OK);
    float *p = plab_net_params(net);
    for (size_t i = 0; i < plab_net_num_params(net); i++)
        p[i] = 123.0f; /* init must overwrite everything, constants included */
    plab_rng a, b;
    plab_rng_seed(&a, 99, PLAB_STREAM_INIT, 0);
    plab_rng_seed(&b, 99, PLAB_STREAM_INIT, 0);
    plab_net_init_params(net, &a);
    /* canonical order, row-major, constants consume no draws (§3.2) */
    for (int t = 0; t < plab_net_num_tensors(net); t++) {
        const plab_tensor *T = plab_net_tensor(net, t);
        for (size_t i = 0; i < T->size; i++) {
            float want;
            switch (T->kind) {
            case PLAB_TENSOR_BIAS:
            case PLAB_TENSOR_LN_BIAS:
                want = 0.0f;
                assert_int_equal(T->init.kind, PLAB_DIST_CONST);
                break;
            case PLAB_TENSOR_LN_GAIN:
                want = 1.0f;
                assert_int_equal(T->init.kind, PLAB_DIST_CONST);
                break;
            default:
                want = plab_rng_dist(&b, &T->init);
            }
            float got = p[T->offset + i];
            if (memcmp(&got, &want, sizeof got) != 0)
                fail_msg("%s[%zu] = %.9g, expected %.9g", T->name, i, got, want);
        }
    }
    assert_memory_equal(&a, &b, sizeof a);
    /* a second call continues the stream (reset_each_task) */
    float w0 = p[0];
    plab_net_init_params(net, &a);
    assert_true(p[0] != w0);
    plab_net_destroy(net);
}

/* ------------------------------------------------------------------ tensor table, counts */

static plab_net *make_mnist(int H, int ln)
{
    plab_net_desc d;
    plab_net_desc_default(&d);
    for (int l = 0; l < 3; l++)
        d.widths[l] = H;
    d.layer_norm = ln;
    plab_net *net = NULL;
    assert_int_equal(plab_net_create(&d, PLAB_KERNELS_SCALAR, NULL, &net), PLAB_OK);
    return net;
}

static void test_tensor_table(void **state)
{
    (void)state;
    for (int ln = 0; ln < 2; ln++) {
        plab_net *net = make_mnist(100, ln);
        static const char *const plain[] = {"l1.weight", "l1.bias", "l2.weight",  "l2.bias",
                                            "l3.weight", "l3.bias", "out.weight", "out.bias"};
        static const char *const withln[] = {"l1.weight",  "l1.bias", "l1.ln_gain", "l1.ln_bias",
                                             "l2.weight",  "l2.bias", "l2.ln_gain", "l2.ln_bias",
                                             "l3.weight",  "l3.bias", "l3.ln_gain", "l3.ln_bias",
                                             "out.weight", "out.bias"};
        const char *const *names = ln ? withln : plain;
        int count = ln ? 14 : 8;
        assert_int_equal(plab_net_num_tensors(net), count);
        size_t off = 0;
        for (int t = 0; t < count; t++) {
            const plab_tensor *T = plab_net_tensor(net, t);
            assert_non_null(T);
            assert_string_equal(T->name, names[t]);
            assert_int_equal(T->offset, off);
            assert_int_equal(T->size, (size_t)T->rows * (size_t)T->cols);
            int layer = T->name[0] == 'o' ? 3 : T->name[1] - '1';
            assert_int_equal(T->layer, layer);
            if (T->kind == PLAB_TENSOR_WEIGHT) {
                assert_true(strstr(T->name, ".weight") != NULL);
                assert_int_equal(T->rows, layer == 3 ? 10 : 100);
                assert_int_equal(T->cols, layer == 0 ? 784 : 100);
            } else {
                assert_int_equal(T->rows, 1);
                assert_int_equal(T->cols, layer == 3 ? 10 : 100);
                static const char *const suffix[] = {"", ".bias", ".ln_gain", ".ln_bias"};
                assert_true(strstr(T->name, suffix[T->kind]) != NULL);
            }
            off += T->size;
        }
        assert_int_equal(off, plab_net_num_params(net));
        assert_null(plab_net_tensor(net, -1));
        assert_null(plab_net_tensor(net, count));
        plab_net_destroy(net);
    }
}

static void test_param_counts(void **state)
{
    (void)state;
    static const struct {
        int H, ln;
        size_t P;
    } cases[] = {
        {100, 0, 99710}, {100, 1, 100310}, {10, 0, 8180}, {10, 1, 8240}, {1000, 0, 2797010}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        plab_net *net = make_mnist(cases[k].H, cases[k].ln);
        assert_int_equal(plab_net_num_params(net), cases[k].P);
        plab_net_destroy(net);
    }
}

/* ------------------------------------------------------------------ accuracy */

static void test_accuracy_ties_lowest_index(void **state)
{
    (void)state;
    plab_net_desc d;
    plab_net_desc_default(&d);
    d.input_dim = 4;
    d.output_dim = 4;
    d.num_hidden = 0;
    d.max_batch = 8;
    plab_net *net = NULL;
    assert_int_equal(plab_net_create(&d, PLAB_KERNELS_SCALAR, NULL, &net), PLAB_OK);
    float *p = plab_net_params(net); /* W = I, b = 0: the logits are the inputs */
    for (int i = 0; i < 4; i++)
        p[i * 4 + i] = 1.0f;
    static const float x[7][4] = {{3, 3, 1, 0}, {0, 5, 5, 5},     {0, 5, 5, 5}, {2, 2, 2, 2},
                                  {2, 2, 2, 2}, {-1, -3, -1, -2}, {0, 1, 2, 3}};
    static const int32_t y[7] = {0, 1, 2, 0, 3, 2, 3};
    /* correct: row 0 (tie 0/1 -> 0), row 1 (tie 1..3 -> 1), row 3 (all tied -> 0), row 6 */
    int correct = -1;
    float loss;
    assert_int_equal(plab_net_forward(net, &x[0][0], y, NULL, 7, &loss, &correct), PLAB_OK);
    assert_int_equal(correct, 4);
    /* the loss of the same logits in double */
    double want = 0;
    for (int r = 0; r < 7; r++) {
        double mx = -INFINITY, se = 0;
        for (int c = 0; c < 4; c++)
            mx = x[r][c] > mx ? x[r][c] : mx;
        for (int c = 0; c < 4; c++)
            se += exp(x[r][c] - mx);
        want += mx + log(se) - x[r][y[r]];
    }
    want /= 7;
    assert_true(fabs(loss - want) < 1e-6 * want);
    plab_net_destroy(net);
}

/* ------------------------------------------------------------------ bad arguments */

/* Applies bad case k to a valid description; returns the text the message must contain. */
static const char *bad_desc(int k, plab_net_desc *d)
{
    plab_net_desc_default(d);
    switch (k) {
    case 0:
        d->input_dim = 0;
        return "input_dim";
    case 1:
        d->input_dim = -5;
        return "input_dim";
    case 2:
        d->output_dim = 0;
        return "output_dim";
    case 3:
        d->output_dim = 1;
        return "output_dim"; /* cross-entropy needs 2 classes */
    case 4:
        d->num_hidden = -1;
        return "hidden";
    case 5:
        d->num_hidden = PLAB_MAX_HIDDEN + 1;
        return "hidden";
    case 6:
        d->widths[1] = -3;
        return "width";
    case 7:
        d->widths[2] = 0;
        return "width";
    case 8:
        d->activation = PLAB_ACT_COUNT;
        return "activation";
    case 9:
        d->activation = (plab_activation)-1;
        return "activation";
    case 10:
        d->init = PLAB_INIT_SCHEME_COUNT;
        return "init";
    case 11:
        d->loss = PLAB_LOSS_COUNT;
        return "loss";
    case 12:
        d->max_batch = 0;
        return "batch";
    case 13:
        d->max_batch = -1;
        return "batch";
    case 14:
        d->activation = PLAB_ACT_CRELU;
        d->widths[1] = 7;
        return "crelu";
    case 15:
        d->skip = 1;
        d->widths[1] = 50;
        return "skip";
    case 16:
        d->layer_norm = 2;
        return "layer_norm";
    case 17:
        d->skip = -1;
        return "skip";
    default:
        return NULL;
    }
}

static void test_desc_check_rejects(void **state)
{
    (void)state;
    plab_net_desc d;
    char msg[200];
    plab_net_desc_default(&d);
    assert_int_equal(plab_net_desc_check(&d, msg, sizeof msg), PLAB_OK);
    assert_true(plab_net_bytes(&d) > 0);
    const char *needle;
    for (int k = 0; (needle = bad_desc(k, &d)) != NULL; k++) {
        msg[0] = '\0';
        assert_int_equal(plab_net_desc_check(&d, msg, sizeof msg), PLAB_E_INVALID);
        if (!strstr(msg, needle))
            fail_msg("case %d: message \"%s\" does not name \"%s\"", k, msg, needle);
        assert_int_equal(plab_net_desc_check(&d, NULL, 0), PLAB_E_INVALID);
        char small[8] = "xxxxxxx"; /* truncated, still terminated */
        assert_int_equal(plab_net_desc_check(&d, small, sizeof small), PLAB_E_INVALID);
        assert_true(memchr(small, '\0', sizeof small) != NULL);
        plab_net *net = (plab_net *)&d; /* must be overwritten with NULL */
        assert_int_equal(plab_net_create(&d, PLAB_KERNELS_SCALAR, NULL, &net), PLAB_E_INVALID);
        assert_null(net);
        assert_int_equal(plab_net_bytes(&d), 0);
    }
}

static void test_forward_backward_bad_args(void **state)
{
    (void)state;
    plab_net_desc d = make_desc(PLAB_ACT_RELU, 0, 0, PLAB_LOSS_SOFTMAX_XENT, 0);
    d.max_batch = 4;
    plab_net *net = NULL;
    assert_int_equal(plab_net_create(&d, PLAB_KERNELS_SCALAR, NULL, &net), PLAB_OK);
    plab_rng rng;
    plab_rng_seed(&rng, 1, PLAB_STREAM_INIT, 0);
    plab_net_init_params(net, &rng);
    float x[5 * 7] = {0};
    int32_t y[5] = {0, 1, 2, 0, 1};
    int hook_calls = 0;
    /* backward before any forward */
    assert_int_equal(plab_net_backward(net, NULL, NULL), PLAB_E_STATE);
    float loss = 7;
    assert_int_equal(plab_net_forward(net, x, y, NULL, 5, &loss, NULL), PLAB_E_INVALID);
    assert_int_equal(plab_net_forward(net, x, y, NULL, 0, &loss, NULL), PLAB_E_INVALID);
    assert_int_equal(plab_net_forward(net, x, y, NULL, -1, &loss, NULL), PLAB_E_INVALID);
    assert_int_equal(plab_net_forward(net, NULL, y, NULL, 2, &loss, NULL), PLAB_E_INVALID);
    assert_int_equal(plab_net_forward(net, x, NULL, NULL, 2, &loss, NULL), PLAB_E_INVALID);
    int32_t bad_lo[2] = {0, -1}, bad_hi[2] = {3, 0};
    assert_int_equal(plab_net_forward(net, x, bad_lo, NULL, 2, &loss, NULL), PLAB_E_INVALID);
    assert_int_equal(plab_net_forward(net, x, bad_hi, NULL, 2, &loss, NULL), PLAB_E_INVALID);
    assert_true(loss == 7); /* outputs untouched on failure */
    assert_int_equal(plab_net_backward(net, NULL, &hook_calls), PLAB_E_STATE);
    /* the valid call works: the rejections above are not blanket */
    assert_int_equal(plab_net_forward(net, x, y, NULL, 4, &loss, NULL), PLAB_OK);
    assert_int_equal(plab_net_backward(net, NULL, NULL), PLAB_OK);
    plab_net_destroy(net);

    d.loss = PLAB_LOSS_MSE;
    assert_int_equal(plab_net_create(&d, PLAB_KERNELS_SCALAR, NULL, &net), PLAB_OK);
    float t[4 * 3] = {0};
    assert_int_equal(plab_net_forward(net, x, y, NULL, 2, &loss, NULL), PLAB_E_INVALID);
    assert_int_equal(plab_net_forward(net, x, NULL, t, 2, &loss, NULL), PLAB_OK);
    plab_net_destroy(net);
    plab_net_destroy(NULL); /* no-op */
}

static void test_unsupported_backend(void **state)
{
    (void)state;
    plab_net_desc d;
    plab_net_desc_default(&d);
    int tried = 0;
    for (int id = PLAB_KERNELS_SCALAR; id < PLAB_KERNELS_COUNT; id++) {
        plab_net *net = (plab_net *)&d;
        plab_status st = plab_net_create(&d, (plab_kernels_id)id, NULL, &net);
        if (plab_kernels_available((plab_kernels_id)id)) {
            assert_int_equal(st, PLAB_OK);
            assert_int_equal(plab_net_kernels(net), id);
            plab_net_destroy(net);
        } else {
            assert_int_equal(st, PLAB_E_UNSUPPORTED);
            assert_null(net);
            tried++;
        }
    }
    if (!tried)
        print_message("every backend is available here; nothing unsupported to try\n");
}

/* plab_net_infer_features (the probe metrics' forward) writes each hidden layer's features,
 * bit for bit those plab_net_infer leaves in the net, into the caller's buffers, and leaves the
 * net's own buffers in place: every activation, with LN and skips, and a 784-input net on
 * mostly-zero rows (the sparse first-layer kernels), on every backend. */
static void test_infer_features(void **state)
{
    (void)state;
    plab_kernels_id be[PLAB_KERNELS_COUNT];
    int nb = test_backends(be);
    enum { N = 30, WMAX = 200, DMAX = 784 };
    static float x[N * DMAX * 3 / 2], want[3][N * WMAX], got[3][N * WMAX], out[N * 8];
    plab_rng rng;
    plab_rng_seed(&rng, 5, PLAB_STREAM_DATA, 0);
    for (int b = 0; b < nb; b++)
        for (size_t ai = 0; ai < sizeof all_acts / sizeof all_acts[0]; ai++)
            for (int cfg = 0; cfg < 4; cfg++) { /* plain, LN, skip, 784-input sparse rows */
                plab_net_desc d = make_desc(all_acts[ai], cfg == 1, cfg == 2,
                                            PLAB_LOSS_SOFTMAX_XENT, 1);
                if (cfg == 3) {
                    d.input_dim = 784;
                    d.widths[0] = d.widths[1] = d.widths[2] = 100;
                }
                plab_net *net = NULL;
                assert_int_equal(plab_net_create(&d, be[b], NULL, &net), PLAB_OK);
                plab_rng init;
                plab_rng_seed(&init, 9 + ai, PLAB_STREAM_INIT, (uint64_t)cfg);
                plab_net_init_params(net, &init);
                for (int i = 0; i < N * d.input_dim * 3 / 2; i++) {
                    double u = plab_rng_uniform(&rng);
                    x[i] = cfg == 3 && u < 0.8 ? 0.0f : (float)(2.0 * plab_rng_uniform(&rng) - 1.0);
                }
                for (int n = 1; n <= N; n += N - 1) {
                    assert_int_equal(plab_net_infer(net, x, n), PLAB_OK);
                    for (int l = 0; l < 3; l++)
                        memcpy(want[l], plab_net_features(net, l),
                               sizeof(float) * (size_t)n * net->layer[l].width);
                    memcpy(out, plab_net_output(net), sizeof(float) * (size_t)n * d.output_dim);
                    /* other rows first, so that the net's buffers hold other values */
                    assert_int_equal(plab_net_infer(net, x + (size_t)N * d.input_dim / 2, n),
                                     PLAB_OK);
                    memset(got, 0xA5, sizeof got);
                    float *h[3] = {got[0], got[1], got[2]};
                    assert_int_equal(plab_net_infer_features(net, x, n, h), PLAB_OK);
                    for (int l = 0; l < 3; l++)
                        if (memcmp(got[l], want[l],
                                   sizeof(float) * (size_t)n * net->layer[l].width) != 0)
                            fail_msg("%s act %s cfg %d n %d: layer %d's features differ",
                                     plab_kernels_name(be[b]), act_names[ai], cfg, n, l);
                    /* the net's buffers are its own again: the same pass gives the same */
                    for (int l = 0; l < 3; l++)
                        assert_ptr_not_equal(plab_net_features(net, l), got[l]);
                    assert_int_equal(plab_net_infer(net, x, n), PLAB_OK);
                    assert_memory_equal(plab_net_output(net), out,
                                        sizeof(float) * (size_t)n * d.output_dim);
                    assert_memory_equal(plab_net_features(net, 2), want[2],
                                        sizeof(float) * (size_t)n * net->layer[2].width);
                }
                float *h[3] = {got[0], got[1], got[2]};
                assert_int_equal(plab_net_infer_features(net, x, 0, h), PLAB_E_INVALID);
                assert_int_equal(plab_net_infer_features(net, x, N + 1, h), PLAB_E_INVALID);
                assert_int_equal(plab_net_infer_features(net, NULL, 1, h), PLAB_E_INVALID);
                assert_int_equal(plab_net_infer_features(net, x, 1, NULL), PLAB_E_INVALID);
                plab_net_destroy(net);
            }
}

/* ------------------------------------------------------------------ hooks */

typedef struct hook_log {
    plab_net *net;
    int n, wrong_net;
    int layer[64], phase[64];
} hook_log;

static void log_hook(void *ctx, plab_net *net, int layer, int phase)
{
    hook_log *h = ctx;
    if (net != h->net)
        h->wrong_net++;
    if (h->n < 64) {
        h->layer[h->n] = layer;
        h->phase[h->n] = phase;
    }
    h->n++;
}

static void test_hook_order(void **state)
{
    (void)state;
    for (int ln = 0; ln < 2; ln++) {
        plab_net_desc d = make_desc(PLAB_ACT_RELU, ln, 0, PLAB_LOSS_SOFTMAX_XENT, 0);
        plab_net *net = NULL;
        assert_int_equal(plab_net_create(&d, PLAB_KERNELS_SCALAR, NULL, &net), PLAB_OK);
        plab_rng rng;
        plab_rng_seed(&rng, 3, PLAB_STREAM_INIT, 0);
        plab_net_init_params(net, &rng);
        float x[2 * 7] = {1, 2, 3, 4, 5, 6, 7, -1, -2, -3, -4, -5, -6, -7};
        int32_t y[2] = {0, 2};
        assert_int_equal(plab_net_forward(net, x, y, NULL, 2, NULL, NULL), PLAB_OK);
        hook_log h = {net, 0, 0, {0}, {0}};
        assert_int_equal(plab_net_backward(net, log_hook, &h), PLAB_OK);
        assert_int_equal(h.n, 6);
        assert_int_equal(h.wrong_net, 0);
        for (int i = 0; i < 6; i++) {
            assert_int_equal(h.layer[i], 2 - i / 2);
            assert_int_equal(h.phase[i], i % 2 ? PLAB_HOOK_FEATURES : PLAB_HOOK_BEFORE_LN);
        }
        plab_net_destroy(net);
    }
    /* no hidden layer: no hook */
    plab_net_desc d;
    plab_net_desc_default(&d);
    d.num_hidden = 0;
    d.input_dim = 3;
    plab_net *net = NULL;
    assert_int_equal(plab_net_create(&d, PLAB_KERNELS_SCALAR, NULL, &net), PLAB_OK);
    float x[3] = {1, 2, 3};
    int32_t y[1] = {4};
    assert_int_equal(plab_net_forward(net, x, y, NULL, 1, NULL, NULL), PLAB_OK);
    hook_log h = {net, 0, 0, {0}, {0}};
    assert_int_equal(plab_net_backward(net, log_hook, &h), PLAB_OK);
    assert_int_equal(h.n, 0);
    plab_net_destroy(net);
}

typedef struct reset_ctx {
    int layer, phase, row; /* which hook call; which row/unit */
    plab_tensor_kind kind; /* WEIGHT: zero row `row` of W_layer; LN_GAIN: gamma_layer[row] = 1 */
    int fired;
} reset_ctx;

static const plab_tensor *find_tensor(const plab_net *net, int layer, plab_tensor_kind kind)
{
    for (int t = 0; t < plab_net_num_tensors(net); t++) {
        const plab_tensor *T = plab_net_tensor(net, t);
        if (T->layer == layer && T->kind == kind)
            return T;
    }
    return NULL;
}

static void apply_reset(plab_net *net, const reset_ctx *c)
{
    const plab_tensor *T = find_tensor(net, c->layer, c->kind);
    float *p = plab_net_params(net) + T->offset;
    if (c->kind == PLAB_TENSOR_WEIGHT)
        memset(p + (size_t)c->row * T->cols, 0, (size_t)T->cols * sizeof(float));
    else
        p[c->row] = 1.0f;
}

static void reset_hook(void *ctx, plab_net *net, int layer, int phase)
{
    reset_ctx *c = ctx;
    if (layer == c->layer && phase == c->phase) {
        apply_reset(net, c);
        c->fired++;
    }
}

/* A hook that resets parameters mid-backward: the layers below see the post-reset values
 * (ALGORITHMS §2.2), the layer itself and the layers above keep the old unit's gradients. */
static void test_hook_reset_mid_backward(void **state)
{
    (void)state;
    static tcase c;
    static float xf[MAXN * 64], tf[MAXN * 8], g0[MAXP], g1[MAXP], g2[MAXP];
    static double pb[MAXP], gref[MAXP], gplab[MAXP];
    static const struct {
        plab_activation act;
        int ln;
        reset_ctx r;
    } cases[] = {
        {PLAB_ACT_TANH, 0, {1, PLAB_HOOK_FEATURES, 2, PLAB_TENSOR_WEIGHT, 0}},
        {PLAB_ACT_RELU, 1, {1, PLAB_HOOK_FEATURES, 3, PLAB_TENSOR_WEIGHT, 0}},
        {PLAB_ACT_RELU, 1, {2, PLAB_HOOK_FEATURES, 0, PLAB_TENSOR_WEIGHT, 0}},
        {PLAB_ACT_TANH, 1, {1, PLAB_HOOK_BEFORE_LN, 4, PLAB_TENSOR_LN_GAIN, 0}},
    };
    plab_kernels_id be[PLAB_KERNELS_COUNT];
    int nb = test_backends(be);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        for (int b = 0; b < nb; b++) {
            plab_net_desc d = make_desc(cases[k].act, cases[k].ln, 0, PLAB_LOSS_SOFTMAX_XENT, 0);
            draw_case(&c, &d, 12, 555 + k);
            plab_net *net = NULL;
            assert_int_equal(plab_net_create(&d, be[b], NULL, &net), PLAB_OK);
            size_t P = c.r.P;
            float *p = plab_net_params(net);
            /* 0: no hook */
            load_case(net, &c, xf, tf);
            assert_int_equal(plab_net_forward(net, xf, c.labels, tf, c.n, NULL, NULL), PLAB_OK);
            assert_int_equal(plab_net_backward(net, NULL, NULL), PLAB_OK);
            memcpy(g0, plab_net_grads(net), P * sizeof(float));
            /* 1: the hook resets mid-backward */
            reset_ctx rc = cases[k].r;
            assert_int_equal(plab_net_forward(net, xf, c.labels, tf, c.n, NULL, NULL), PLAB_OK);
            assert_int_equal(plab_net_backward(net, reset_hook, &rc), PLAB_OK);
            assert_int_equal(rc.fired, 1);
            memcpy(g1, plab_net_grads(net), P * sizeof(float));
            /* 2: the same reset applied between forward and backward */
            for (size_t i = 0; i < P; i++)
                p[i] = (float)c.p[i];
            assert_int_equal(plab_net_forward(net, xf, c.labels, tf, c.n, NULL, NULL), PLAB_OK);
            apply_reset(net, &rc);
            assert_int_equal(plab_net_backward(net, NULL, NULL), PLAB_OK);
            memcpy(g2, plab_net_grads(net), P * sizeof(float));
            for (size_t i = 0; i < P; i++)
                pb[i] = p[i]; /* the parameters after the reset */
            assert_memory_equal(g1, g2, P * sizeof(float));
            /* which gradients the reset may change */
            for (int t = 0; t < plab_net_num_tensors(net); t++) {
                const plab_tensor *T = plab_net_tensor(net, t);
                int same = memcmp(g0 + T->offset, g1 + T->offset, T->size * sizeof(float)) == 0;
                int ln_t = T->kind == PLAB_TENSOR_LN_GAIN || T->kind == PLAB_TENSOR_LN_BIAS;
                /* a W row reset changes what flows below layer l; a gain reset before the LN
                 * backward also changes layer l's own W and b gradients */
                int expect_same = rc.kind == PLAB_TENSOR_WEIGHT
                                      ? T->layer >= rc.layer
                                      : T->layer > rc.layer || (T->layer == rc.layer && ln_t);
                if (expect_same && !same)
                    fail_msg("case %zu: gradient of %s changed", k, T->name);
                if (!expect_same && same)
                    fail_msg("case %zu: gradient of %s did not change", k, T->name);
            }
            /* against the reference that propagates through the reset parameters */
            refnet_eval(&c.r, c.p, pb, c.x, c.labels, c.targets, c.n, gref, NULL, NULL);
            for (size_t i = 0; i < P; i++)
                gplab[i] = g1[i];
            double e = max_tensor_err(&c.r, gref, gplab, 1e-9);
            if (e > 1e-4)
                fail_msg("case %zu (%s): grad err vs reference %g", k, plab_kernels_name(be[b]), e);
            plab_net_destroy(net);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_matches_finite_differences),
        cmocka_unit_test(test_plab_matches_reference),
        cmocka_unit_test(test_backward_twice),
        cmocka_unit_test(test_init_kaiming_normal),
        cmocka_unit_test(test_init_kaiming_uniform),
        cmocka_unit_test(test_init_ln_and_draw_order),
        cmocka_unit_test(test_tensor_table),
        cmocka_unit_test(test_param_counts),
        cmocka_unit_test(test_accuracy_ties_lowest_index),
        cmocka_unit_test(test_desc_check_rejects),
        cmocka_unit_test(test_forward_backward_bad_args),
        cmocka_unit_test(test_unsupported_backend),
        cmocka_unit_test(test_infer_features),
        cmocka_unit_test(test_hook_order),
        cmocka_unit_test(test_hook_reset_mid_backward),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
