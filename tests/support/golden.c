/* golden.c: see golden.h. */
#include "golden.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* 2,000 updates of batch 30 on the seeded synthetic problem (20 tasks of 100 updates). */
#define BASE "problem=synthetic tasks=20 batch_size=30 seed=7 hidden=100,100,100 "
/* 20 tasks of 100 updates of batch 30 on 128-dimensional inputs, 3 x 32 units */
#define SMALL "problem=synthetic gen_dim=128 tasks=20 batch_size=30 seed=7 hidden=32,32,32 "

const golden_scenario golden_scenarios[] = {
    {"relu", BASE "lr=0.05"},
    {"relu_ln", BASE "layer_norm=true lr=0.1"},
    /* the other activations, optimizers and methods on a smaller net (fast at -O0) */
    {"tanh_momentum", SMALL "activation=tanh optimizer=momentum lr=0.005 l2=1e-4"},
    {"adamw_leaky", SMALL "activation=leaky_relu optimizer=adamw lr=5e-4 l2=1e-5"},
    {"crelu_skip", "problem=synthetic tasks=4 batch_size=7 seed=3 hidden=64,64 "
                   "activation=crelu skip=true lr=0.05"},
    {"snp_reset", SMALL "tasks=6 snp_noise_var=1e-7 l2=1e-4 method=snp reset_each_task=true"},
    {"swr", SMALL "method=swr swr_period=50 swr_factor=1e-3"},
    {"cbp", SMALL "method=cbp cbp_maturity=20 cbp_rate=1e-3 layer_norm=true lr=0.1"},
    {"redo_adamw", SMALL "method=redo redo_period=16 redo_threshold=0.1 optimizer=adamw "
                         "lr=1e-3 redo_reset_moments=true"},
    {"cbp_nature", SMALL "method=cbp-nature cbp_maturity=20 cbp_rate=1e-3 "
                         "cbp_utility=adaptable_contribution init=kaiming_uniform"},
};
const int golden_count = (int)(sizeof golden_scenarios / sizeof golden_scenarios[0]);

static plab_status apply(plab_config *c, const char *settings)
{
    char buf[512], err[256];
    snprintf(buf, sizeof buf, "%s", settings);
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
        char *eq = strchr(tok, '=');
        if (!eq)
            return PLAB_E_INVALID;
        *eq = 0;
        if (plab_config_set(c, tok, eq + 1, err, sizeof err) != PLAB_OK) {
            fprintf(stderr, "golden: %s\n", err);
            return PLAB_E_INVALID;
        }
    }
    return PLAB_OK;
}

static void on_window(void *ctx, const plab_window_row *w)
{
    *(double *)ctx = w->loss;
}

plab_status golden_run(const golden_scenario *s, plab_kernels_id k, uint64_t *hash,
                       double *last_loss)
{
    return golden_run_family(s, k, PLAB_FAMILY_STRICT, hash, last_loss);
}

plab_status golden_run_family(const golden_scenario *s, plab_kernels_id k, plab_kernel_family f,
                              uint64_t *hash, double *last_loss)
{
    plab_config c;
    plab_config_default(&c);
    plab_status st = apply(&c, s->settings);
    if (st != PLAB_OK)
        return st;
    c.kernels = (int)k;
    c.kernel_family = (int)f;
    plab_run *r;
    char err[256];
    st = plab_run_create(&c, NULL, NULL, &r, err, sizeof err);
    if (st != PLAB_OK) {
        fprintf(stderr, "golden %s: %s\n", s->name, err);
        return st;
    }
    double loss = 0.0;
    plab_sink sink = {on_window, NULL, NULL, &loss};
    plab_run_set_sink(r, &sink);
    while (!plab_run_done(r) && st == PLAB_OK)
        st = plab_run_step(r);
    *hash = plab_run_trace_hash(r);
    if (last_loss)
        *last_loss = loss;
    plab_run_destroy(r);
    return st;
}

int golden_expected(const char *source_dir, const char *name, uint64_t *hash)
{
    return golden_expected_family(source_dir, PLAB_FAMILY_STRICT, name, hash);
}

int golden_expected_family(const char *source_dir, plab_kernel_family fam, const char *name,
                           uint64_t *hash)
{
    char path[1024], line[256];
    snprintf(path, sizeof path, "%s/tests/golden/traces%s.txt", source_dir,
             fam == PLAB_FAMILY_FMA ? "_fma" : "");
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int found = -1;
    while (fgets(line, sizeof line, f)) {
        char n[64];
        uint64_t h;
        if (line[0] == '#')
            continue;
        if (sscanf(line, "%63s %" SCNx64, n, &h) == 2 && strcmp(n, name) == 0) {
            *hash = h;
            found = 0;
        }
    }
    fclose(f);
    return found;
}
