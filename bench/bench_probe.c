/*
 * bench_probe.c: what the probe metrics at task starts (ALGORITHMS §7.3) cost against the
 * training they sit in (performance target 5: at most 3 % on the 100-unit net).
 *
 *   bench_probe [--preset NAME] [--method NAME] [--tasks T] [--repeat R] [--kernels name]
 *
 * Runs the preset (default pmnist-h100, method none) task by task with probes off, timing each
 * task's training; after each task it times, R times (default 5), the probe the next task
 * would start with, on the trained net, as the run does it (plab_run_probe: the probe set drawn
 * and run through the net a batch at a time, then the metrics), and then its parts one by one
 * (the whole probe set's sampling, the forward pass over it, the singular values of every
 * hidden layer's features and in them the Gram matrices). Prints per task the training time,
 * the probe's median and its share, then the totals. Wall time, one thread; run from the
 * repository root (the MNIST files under data/).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "linalg.h"
#include "metrics.h"
#include "run.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

enum { PART_PROBE, PART_SAMPLE, PART_FORWARD, PART_SV, PART_GRAM, PARTS };
static const char *part_name[PARTS] = {"probe", "  sampling", "  forward", "  singular values",
                                       "    Gram matrices"};

static void usage(void)
{
    fprintf(stderr, "usage: bench_probe [--preset NAME] [--method NAME] [--tasks T] "
                    "[--repeat R] [--kernels name]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *preset = "pmnist-h100", *method = "none", *kernels = NULL;
    int tasks = 5, repeat = 5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--preset") == 0 && i + 1 < argc)
            preset = argv[++i];
        else if (strcmp(argv[i], "--method") == 0 && i + 1 < argc)
            method = argv[++i];
        else if (strcmp(argv[i], "--kernels") == 0 && i + 1 < argc)
            kernels = argv[++i];
        else if (strcmp(argv[i], "--tasks") == 0 && i + 1 < argc && (tasks = atoi(argv[++i])) >= 1)
            ;
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc &&
                 (repeat = atoi(argv[++i])) >= 1 && repeat <= 99)
            ;
        else
            usage();
    }
    char err[512], kv[64];
    plab_config c;
    plab_config_default(&c);
    const plab_preset *p = plab_preset_find(preset);
    if (!p) {
        fprintf(stderr, "bench_probe: --preset: unknown preset '%s'\n", preset);
        return 2;
    }
    const plab_preset_method *pm = plab_preset_method_find(p, method, NULL);
    snprintf(kv, sizeof kv, "method=%s", method);
    if (plab_config_apply(&c, p->settings, err, sizeof err) != PLAB_OK ||
        plab_config_apply(&c, pm ? pm->settings : kv, err, sizeof err) != PLAB_OK) {
        fprintf(stderr, "bench_probe: %s\n", err);
        return 2;
    }
    snprintf(kv, sizeof kv, "tasks=%d", tasks);
    if (plab_config_apply(&c, kv, err, sizeof err) != PLAB_OK ||
        plab_config_apply(&c, "probe_every=0", err, sizeof err) != PLAB_OK) {
        fprintf(stderr, "bench_probe: %s\n", err);
        return 2;
    }
    if (kernels) {
        snprintf(kv, sizeof kv, "kernels=%s", kernels);
        if (plab_config_apply(&c, kv, err, sizeof err) != PLAB_OK) {
            fprintf(stderr, "bench_probe: --kernels: %s\n", err);
            return 2;
        }
    }
    plab_dataset data = {0};
    const char *which = plab_problem_dataset(c.problem);
    if (which && plab_dataset_load_named(NULL, ".", which, 1, NULL, &data, err, sizeof err) !=
                     PLAB_OK) {
        fprintf(stderr, "bench_probe: %s\n", err);
        return 2;
    }
    plab_run *r;
    if (plab_run_create(&c, which ? &data : NULL, NULL, &r, err, sizeof err) != PLAB_OK) {
        fprintf(stderr, "bench_probe: %s\n", err);
        return 2;
    }
    plab_net *net = r->net;
    const plab_problem_shape *sh = &r->shape;
    int n = sh->probe_size, D = sh->input_dim, L = net->desc.num_hidden, B = net->desc.max_batch;
    size_t sbytes = plab_metrics_probe_bytes(&c, net, n);
    int W = 0;
    for (int l = 0; l < L; l++)
        W = net->layer[l].width > W ? net->layer[l].width : W;
    int Hs[PLAB_MAX_HIDDEN];
    for (int l = 0; l < L; l++)
        Hs[l] = net->layer[l].width;
    float *X = malloc((size_t)n * D * sizeof *X), *F[PLAB_MAX_HIDDEN];
    double *sv[PLAB_MAX_HIDDEN];
    void *scratch = malloc(sbytes), *work = malloc(plab_sv_many_work_bytes(L, n, Hs));
    double *G = malloc((size_t)W * W * sizeof *G);
    int ok = X && scratch && work && G;
    for (int l = 0; l < L; l++) {
        ok &= (F[l] = malloc((size_t)n * Hs[l] * sizeof(float))) != NULL;
        ok &= (sv[l] = malloc((size_t)(n < Hs[l] ? n : Hs[l]) * sizeof(double))) != NULL;
    }
    if (!ok) {
        fprintf(stderr, "bench_probe: out of memory\n");
        return 1;
    }
    printf("%s, method %s, kernels %s, probe of %d examples, %d repeats per task\n", preset,
           method, plab_kernels_name(net->k.id), n, repeat);
    printf("%-6s %12s %12s %8s\n", "task", "train ms", "probe ms", "share");
    double train_sum = 0, probe_sum = 0, part_sum[PARTS] = {0};
    for (int t = 0; t < tasks; t++) {
        double t0 = now();
        if (plab_run_task(r) != PLAB_OK) {
            fprintf(stderr, "bench_probe: %s\n", plab_run_error(r));
            return 1;
        }
        double train = now() - t0, v[PARTS][100];
        for (int i = 0; i < repeat; i++) {
            plab_rng rng = r->rng_metrics;
            plab_task_row row;
            /* the probe as the run does it (its probe set drawn and taken a batch at a time);
             * this run has probes off, so it gets the probe size and scratch for the call */
            r->probe_n = n;
            r->probe_scratch = scratch;
            double a = now();
            plab_run_probe(r, &rng, &row);
            double e = now();
            r->probe_n = 0;
            r->probe_scratch = NULL;
            v[PART_PROBE][i] = e - a;
            /* the parts, one after the other: the whole probe set drawn into X, the forward
             * pass, the singular values and in them the Gram matrices */
            rng = r->rng_metrics;
            a = now();
            r->problem->probe(r->pstate, n, 0, n, &rng, X);
            double b = now();
            v[PART_SAMPLE][i] = b - a;
            a = now();
            for (int s = 0; s < n; s += B) {
                float *h[PLAB_MAX_HIDDEN];
                for (int l = 0; l < L; l++)
                    h[l] = F[l] + (size_t)s * net->layer[l].width;
                plab_net_infer_features(net, X + (size_t)s * D, n - s < B ? n - s : B, h);
            }
            b = now();
            const plab_sv_kernels kk = {net->k.gram_upper, net->k.sym_tridiag};
            plab_singular_values_many(L, (const float *const *)F, n, Hs, sv, work, &kk);
            double sv_end = now(), gram = 0;
            for (int l = 0; l < L; l++) { /* the Gram matrices alone */
                int H = Hs[l];
                if (H > n)
                    continue; /* plab_gram's AAᵀ form: not the case timed here */
                double g0 = now();
                memset(G, 0, (size_t)H * H * sizeof *G);
                net->k.gram_upper(F[l], n, H, G);
                for (int i2 = 0; i2 < H; i2++)
                    for (int j2 = 0; j2 < i2; j2++)
                        G[(size_t)i2 * H + j2] = G[(size_t)j2 * H + i2];
                gram += now() - g0;
            }
            v[PART_FORWARD][i] = b - a;
            v[PART_SV][i] = sv_end - b;
            v[PART_GRAM][i] = gram;
        }
        double m[PARTS];
        for (int q = 0; q < PARTS; q++)
            part_sum[q] += m[q] = median(v[q], repeat);
        double probe = m[PART_PROBE];
        train_sum += train;
        probe_sum += probe;
        printf("%-6d %12.2f %12.3f %7.2f%%\n", t, 1e3 * train, 1e3 * probe, 100 * probe / train);
        fflush(stdout);
    }
    printf("total  %12.2f %12.3f %7.2f%%   (probe time / training time)\n", 1e3 * train_sum,
           1e3 * probe_sum, 100 * probe_sum / train_sum);
    printf("parts, median ms per probe (%% of training):\n");
    for (int q = 0; q < PARTS; q++)
        printf("  %-16s %8.3f  %6.2f%%\n", part_name[q], 1e3 * part_sum[q] / tasks,
               100 * part_sum[q] / train_sum);
    for (int l = 0; l < L; l++) {
        free(F[l]);
        free(sv[l]);
    }
    free(X);
    free(scratch);
    free(work);
    free(G);
    plab_run_destroy(r);
    plab_dataset_free(&data);
    return 0;
}
