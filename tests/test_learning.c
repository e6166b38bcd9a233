/*
 * test_learning.c: the network learns. On a small seeded classification problem (one task of
 * the synthetic problem: 300 sparse prototype images, 10 classes), every optimizer, with and
 * without LayerNorm, and the other activations fit the training stream to > 95 % online
 * accuracy in the last windows; an untrained (lr tiny) run stays near chance, so the test can fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

typedef struct last {
    double acc;
} last;

static void on_window(void *ctx, const plab_window_row *w) { ((last *)ctx)->acc = w->accuracy; }

/* Mean accuracy of the last window of a one-task run with the given settings. */
static double final_accuracy(const char *settings)
{
    plab_config c;
    char buf[512], err[256];
    plab_config_default(&c);
    snprintf(buf, sizeof buf,
             "problem=synthetic gen_dim=100 gen_pool=300 tasks=1 steps_per_task=1500 "
             "batch_size=20 hidden=64,64 seed=4 probe_every=0 %s",
             settings);
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
        char *eq = strchr(tok, '=');
        assert_non_null(eq);
        *eq = 0;
        if (plab_config_set(&c, tok, eq + 1, err, sizeof err) != PLAB_OK)
            fail_msg("%s", err);
    }
    plab_run *r;
    if (plab_run_create(&c, NULL, NULL, &r, err, sizeof err) != PLAB_OK)
        fail_msg("%s", err);
    last l = {0};
    plab_sink s = {on_window, NULL, NULL, &l};
    plab_run_set_sink(r, &s);
    while (!plab_run_done(r))
        assert_int_equal(plab_run_step(r), PLAB_OK);
    plab_run_destroy(r);
    return l.acc;
}

static void test_fits(void **state)
{
    (void)state;
    static const char *const settings[] = {
        "optimizer=sgd lr=0.05",
        "optimizer=sgd lr=0.1 layer_norm=true",
        "optimizer=momentum lr=0.01",
        "optimizer=momentum lr=0.01 layer_norm=true",
        "optimizer=adamw lr=1e-3",
        "optimizer=adamw lr=1e-3 layer_norm=true l2=1e-5",
        "optimizer=sgd lr=0.05 activation=tanh",
        "optimizer=sgd lr=0.05 activation=leaky_relu",
        "optimizer=sgd lr=0.5 activation=sigmoid",
        "optimizer=sgd lr=0.05 activation=crelu",
        "optimizer=sgd lr=0.05 skip=true",
    };
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        double acc = final_accuracy(settings[i]);
        print_message("%-50s final window accuracy %.3f\n", settings[i], acc);
        if (!(acc > 0.95))
            fail_msg("%s: final accuracy %.3f <= 0.95", settings[i], acc);
    }
}

/* The same problem with a step size too small to learn stays near chance (10 classes). */
static void test_untrained_near_chance(void **state)
{
    (void)state;
    double acc = final_accuracy("optimizer=sgd lr=1e-7");
    print_message("lr 1e-7: final window accuracy %.3f\n", acc);
    assert_true(acc < 0.4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fits),
        cmocka_unit_test(test_untrained_near_chance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
