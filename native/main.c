/*
 * main.c: the `plab` command line.
 *
 *   plab run [key=value ...]   train one run and print per-task progress
 *   plab keys                  list every configuration key with its type, default and help
 *   plab version
 * The environment variable PLAB_KERNELS=scalar|sse2|avx2|neon|wasm forces a kernel backend
 * (the key `kernels` does the same and wins).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plab.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_DIVERGED = 3 };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int usage(FILE *f)
{
    fprintf(f, "usage: plab run [key=value ...]\n"
               "       plab keys\n"
               "       plab version\n"
               "Settings are key=value pairs; `plab keys` lists them.\n");
    return f == stderr ? EXIT_USAGE : EXIT_OK;
}

static int cmd_keys(void)
{
    plab_config c;
    plab_config_default(&c);
    for (int i = 0; i < plab_config_num_keys(); i++) {
        const plab_key_info *k = plab_config_key(i);
        char def[PLAB_PATH_MAX + 8];
        plab_config_get(&c, k->key, def, sizeof def);
        printf("%-22s %-9s default %-16s %s", k->key, k->group, def[0] ? def : "\"\"", k->help);
        if (k->choices) {
            printf(" (");
            for (int j = 0; k->choices[j]; j++)
                printf("%s%s", j ? "|" : "", k->choices[j]);
            printf(")");
        }
        printf("\n");
    }
    return EXIT_OK;
}

typedef struct progress {
    double t0;
    const plab_run *run;
} progress;

static void on_task(void *ctx, const plab_task_row *row)
{
    progress *p = ctx;
    double el = now() - p->t0;
    double ex = (double)plab_run_steps_done(p->run) * plab_run_config(p->run)->batch_size;
    printf("task %4d  online accuracy %6.2f %%  loss %.4f", row->task, 100.0 * row->accuracy,
           row->loss);
    if (row->probed)
        printf("  dead %5.1f %%  |theta| %.4f", row->dead_units_pct, row->param_abs);
    if (row->reinit_events)
        printf("  reinit %.2f %%/task", row->reinit_pct);
    printf("  %.0f ex/s\n", ex / (el > 0 ? el : 1e-9));
    fflush(stdout);
}

static int cmd_run(int argc, char **argv)
{
    plab_config c;
    plab_config_default(&c);
    char err[512];
    const char *env = getenv("PLAB_KERNELS");
    if (env && *env && plab_config_set(&c, "kernels", env, err, sizeof err) != PLAB_OK) {
        fprintf(stderr, "plab: PLAB_KERNELS: %s\n", err);
        return EXIT_USAGE;
    }
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i]) {
            fprintf(stderr, "plab run: expected key=value, got '%s'\n", argv[i]);
            return EXIT_USAGE;
        }
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(eq - argv[i]), argv[i]);
        if (plab_config_set(&c, key, eq + 1, err, sizeof err) != PLAB_OK) {
            fprintf(stderr, "plab run: %s\n", err);
            return EXIT_USAGE;
        }
    }
    plab_run *r;
    plab_status st = plab_run_create(&c, NULL, NULL, &r, err, sizeof err);
    if (st != PLAB_OK) {
        fprintf(stderr, "plab run: %s\n", err);
        return st == PLAB_E_INVALID ? EXIT_USAGE : EXIT_FAIL;
    }
    progress p = {now(), r};
    plab_sink sink = {NULL, on_task, NULL, &p};
    plab_run_set_sink(r, &sink);
    char hidden[128];
    plab_config_get(&c, "hidden", hidden, sizeof hidden);
    printf("plab %s: problem %s, %d tasks x %d updates of batch %d, hidden %s, kernels %s\n",
           PLAB_VERSION_STRING, c.problem, c.tasks, plab_run_steps_per_task(r), c.batch_size,
           hidden, plab_kernels_name(plab_net_kernels(plab_run_net(r))));
    while (!plab_run_done(r)) {
        st = plab_run_step(r);
        if (st != PLAB_OK) {
            fprintf(stderr, "plab run: %s\n", plab_run_error(r));
            plab_run_destroy(r);
            return st == PLAB_E_DIVERGED ? EXIT_DIVERGED : EXIT_FAIL;
        }
    }
    printf("done: %lld updates in %.1f s, trace %016llx\n", (long long)plab_run_steps_done(r),
           now() - p.t0, (unsigned long long)plab_run_trace_hash(r));
    plab_run_destroy(r);
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr);
    if (strcmp(argv[1], "run") == 0)
        return cmd_run(argc - 2, argv + 2);
    if (strcmp(argv[1], "keys") == 0)
        return cmd_keys();
    if (strcmp(argv[1], "version") == 0) {
        printf("plab %s\n", PLAB_VERSION_STRING);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0)
        return usage(stdout);
    fprintf(stderr, "plab: unknown command '%s'\n", argv[1]);
    return usage(stderr);
}
