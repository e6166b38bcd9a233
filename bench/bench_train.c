/*
 * bench_train.c: examples per second of plab training steps (forward, backward, SGD update)
 * for the networks the performance record tracks, on the scalar and on every SIMD backend.
 *
 *   bench_train [--seconds S] [--kernels name] [--family strict|fma|both|auto] [--repeat R]
 *               [--cpu-time] [--nets SPEC,...] [--unfused] [--dense] [--json]
 * --unfused times backward + optimizer step separately instead of the fused SGD path that
 * plab_run uses for plain SGD. --dense keeps the first layer off the sparse-input kernels
 * (plab_net_set_sparse_input; same bits), to show what they bring. --family picks the kernel family (default strict); `both`
 * times strict and fma alternately on each backend. --repeat measures every row R times
 * (interleaved), so that a noisy machine shows its spread. --cpu-time divides by the process's
 * CPU time instead of wall time: on a machine shared by many, time spent descheduled is then
 * not counted (caches and memory bandwidth are still shared).
 * SPEC is "784-100-100-100-10:30" (layer widths, then the batch size).
 * --mnist fills the batch of a 784-input net with the first MNIST training images (pixel / 255)
 * and labels instead of random values (about 19 % nonzero pixels either way; the zeros of
 * real images cluster), so the zero terms the kernels skip are those of real training.
 *
 * Each measurement repeats steps on one fixed random batch for about S seconds (default 1)
 * after a warm-up; one thread. Compare backends as ratios from one run: the machine is shared.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net.h"
#include "optim.h"
#include "plab.h"

static int use_cpu_time; /* --cpu-time: this process's CPU seconds, not wall seconds */
static int dense_input; /* --dense */
static plab_dataset mnist; /* --mnist: the training set (n = 0 when not asked for) */

static double now(void)
{
    struct timespec ts;
    clock_gettime(use_cpu_time ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct shape {
    char name[64];
    int widths[PLAB_MAX_HIDDEN + 2], depth; /* depth = number of widths */
    int batch;
} shape;

static const char *default_nets = "784-100-100-100-10:1,784-100-100-100-10:30,"
                                  "784-10-10-10-10:30,784-1000-1000-1000-10:30";

/* Parses "784-100-10:30" into s; returns 0 on a malformed spec. */
static int parse_shape(const char *spec, shape *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", spec);
    const char *p = spec;
    while (*p && *p != ':') {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > (1 << 20) || s->depth == PLAB_MAX_HIDDEN + 2)
            return 0;
        s->widths[s->depth++] = (int)v;
        p = end;
        if (*p == '-')
            p++;
    }
    if (*p != ':' || s->depth < 2)
        return 0;
    s->batch = atoi(p + 1);
    return s->batch >= 1 && s->batch <= 65536;
}

/* One training step as plab_run takes it for plain SGD without methods: the update fused into
 * the backward pass (fused = 1), or backward then optimizer step (fused = 0). */
static void step(plab_net *net, plab_optim *opt, const float *x, const int32_t *labels,
                 const float *targets, int batch, int fused, double *tabs)
{
    float loss;
    int correct;
    plab_net_forward(net, x, labels, targets, batch, &loss, &correct);
    if (fused) {
        const plab_optim_desc *d = plab_optim_get_desc(opt);
        plab_net_backward_sgd(net, d->lr, 1.0f - d->shrink, tabs);
        plab_optim_tick(opt);
    } else {
        plab_net_backward(net, NULL, NULL);
        plab_optim_step(opt, net);
        plab_net_grad_abs(net, tabs);
    }
}

/* Examples per second of training steps of one shape on one backend. */
static double measure(const shape *s, plab_kernels_id k, plab_kernel_family fam, double seconds,
                      int fused)
{
    plab_net_desc d;
    plab_net_desc_default(&d);
    d.kernel_family = fam;
    d.input_dim = s->widths[0];
    d.output_dim = s->widths[s->depth - 1];
    d.num_hidden = s->depth - 2;
    for (int i = 0; i < d.num_hidden; i++)
        d.widths[i] = s->widths[i + 1];
    if (d.output_dim == 1)
        d.loss = PLAB_LOSS_MSE;
    d.max_batch = s->batch;
    plab_net *net;
    plab_optim *opt;
    plab_optim_desc od;
    plab_optim_desc_default(&od);
    if (plab_net_create(&d, k, NULL, &net) != PLAB_OK)
        return -1;
    plab_net_set_sparse_input(net, !dense_input);
    if (plab_optim_create(&od, net, NULL, &opt) != PLAB_OK) {
        plab_net_destroy(net);
        return -1;
    }
    plab_rng r;
    plab_rng_seed(&r, 1, PLAB_STREAM_INIT, 0);
    plab_net_init_params(net, &r);
    int in = d.input_dim, out = d.output_dim;
    /* 64-byte aligned like plab_run's batch (arena.h): the kernels' wide loads then never
     * split a cache line, as in training */
    float *x = aligned_alloc(64, (sizeof(float) * (size_t)s->batch * in + 63) / 64 * 64);
    int32_t *y = malloc(sizeof(int32_t) * (size_t)s->batch);
    float *t = malloc(sizeof(float) * (size_t)s->batch * out);
    for (int i = 0; i < s->batch * in; i++)
        x[i] = plab_rng_uniform(&r) < 0.2f ? plab_rng_uniform(&r) : 0.0f;
    for (int i = 0; i < s->batch; i++)
        y[i] = out > 1 ? (int32_t)plab_rng_below(&r, (uint32_t)out) : 0;
    if (mnist.n >= s->batch && in == mnist.rows * mnist.cols && out == 10)
        for (int i = 0; i < s->batch * in; i++) {
            x[i] = (float)mnist.images[i] / 255.0f;
            y[i / in] = mnist.labels[i / in];
        }
    for (int i = 0; i < s->batch * out; i++)
        t[i] = plab_rng_uniform(&r);
    const int32_t *labels = out > 1 ? y : NULL;
    const float *targets = out > 1 ? NULL : t;
    long steps = 0;
    double t0 = now(), t1 = t0, tabs[4 * (PLAB_MAX_HIDDEN + 1)];
    /* warm-up, then time whole blocks of steps */
    for (int i = 0; i < 3; i++)
        step(net, opt, x, labels, targets, s->batch, fused, tabs);
    t0 = now();
    do {
        for (int i = 0; i < 10; i++)
            step(net, opt, x, labels, targets, s->batch, fused, tabs);
        steps += 10;
        t1 = now();
    } while (t1 - t0 < seconds);
    free(x);
    free(y);
    free(t);
    plab_optim_destroy(opt);
    plab_net_destroy(net);
    return (double)steps * s->batch / (t1 - t0);
}

int main(int argc, char **argv)
{
    double seconds = 1.0;
    int json = 0, fused = 1, repeat = 1;
    int fam_lo = PLAB_FAMILY_STRICT, fam_hi = PLAB_FAMILY_STRICT;
    const char *nets = default_nets;
    plab_kernels_id only = PLAB_KERNELS_AUTO;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = atof(argv[++i]);
            if (!(seconds > 0)) {
                fprintf(stderr, "bench_train: --seconds must be > 0\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--kernels") == 0 && i + 1 < argc) {
            if (plab_kernels_parse(argv[++i], &only) != PLAB_OK || !plab_kernels_available(only)) {
                fprintf(stderr, "bench_train: --kernels: unknown or unavailable backend '%s'\n",
                        argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--family") == 0 && i + 1 < argc) {
            const char *f = argv[++i];
            if (strcmp(f, "strict") && strcmp(f, "fma") && strcmp(f, "both") && strcmp(f, "auto")) {
                fprintf(stderr, "bench_train: --family must be strict, fma, both or auto\n");
                return 2;
            }
            fam_lo = strcmp(f, "fma") == 0 ? PLAB_FAMILY_FMA : PLAB_FAMILY_STRICT;
            fam_hi = strcmp(f, "strict") == 0 ? PLAB_FAMILY_STRICT : PLAB_FAMILY_FMA;
            if (strcmp(f, "auto") == 0) /* what plab run takes by default on this machine */
                fam_lo = fam_hi = plab_kernel_family_resolve(PLAB_KERNELS_AUTO, PLAB_FAMILY_AUTO);
        } else if (strcmp(argv[i], "--cpu-time") == 0) {
            use_cpu_time = 1;
        } else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            repeat = atoi(argv[++i]);
            if (repeat < 1) {
                fprintf(stderr, "bench_train: --repeat must be >= 1\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--nets") == 0 && i + 1 < argc) {
            nets = argv[++i];
        } else if (strcmp(argv[i], "--unfused") == 0) {
            fused = 0;
        } else if (strcmp(argv[i], "--dense") == 0) {
            dense_input = 1;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--mnist") == 0) {
            char err[512];
            if (plab_dataset_load_named(NULL, ".", "mnist", 1, NULL, &mnist, err, sizeof err) !=
                PLAB_OK) {
                fprintf(stderr, "bench_train: --mnist: %s\n", err);
                return 2;
            }
        } else {
            fprintf(stderr, "usage: bench_train [--seconds S] [--kernels name] [--family "
                            "strict|fma|both|auto] [--repeat R] [--cpu-time] [--nets SPEC,...] [--unfused] "
                            "[--dense] [--json] [--mnist]\n");
            return 2;
        }
    }
    /* columns: every (backend, family) this machine runs */
    plab_kernels_id ks[2 * PLAB_KERNELS_COUNT];
    plab_kernel_family fs[2 * PLAB_KERNELS_COUNT];
    int nk = 0;
    for (int i = PLAB_KERNELS_SCALAR; i < PLAB_KERNELS_COUNT; i++)
        for (int f = fam_lo; f <= fam_hi; f++)
            if (plab_kernel_family_available((plab_kernels_id)i, (plab_kernel_family)f) &&
                (only == PLAB_KERNELS_AUTO || only == (plab_kernels_id)i)) {
                ks[nk] = (plab_kernels_id)i;
                fs[nk++] = (plab_kernel_family)f;
            }
    shape shapes[32];
    size_t ns = 0;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", nets);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (ns == 32 || !parse_shape(tok, &shapes[ns])) {
            fprintf(stderr, "bench_train: --nets: bad spec '%s' (expected e.g. 784-100-10:30)\n",
                    tok);
            return 2;
        }
        ns++;
    }
    if (!json) {
        printf("%-28s", "examples/s (one thread)");
        for (int j = 0; j < nk; j++) {
            char col[32];
            snprintf(col, sizeof col, "%s%s", plab_kernels_name(ks[j]),
                     fs[j] == PLAB_FAMILY_FMA ? "-fma" : "");
            printf("%12s", col);
        }
        printf("\n");
    }
    for (size_t i = 0; i < ns * (size_t)repeat; i++) {
        for (int j = 0; j < nk; j++) {
            double v = measure(&shapes[i / repeat], ks[j], fs[j], seconds, fused);
            if (json) {
                char net[64];
                snprintf(net, sizeof net, "%.63s", shapes[i / repeat].name);
                *strchr(net, ':') = 0;
                printf("{\"peer\": \"plab-%s%s%s%s\", \"net\": \"%s\", \"batch\": %d, "
                       "\"examples_per_s\": %.1f}\n",
                       plab_kernels_name(ks[j]), fs[j] == PLAB_FAMILY_FMA ? "-fma" : "",
                       fused ? "" : "-unfused", dense_input ? "-dense" : "", net, shapes[i / repeat].batch, v);
            } else {
                if (j == 0)
                    printf("%-28s", shapes[i / repeat].name);
                printf("%12.0f", v);
            }
            fflush(stdout);
        }
        if (!json)
            printf("\n");
    }
    plab_dataset_free(&mnist);
    return 0;
}
