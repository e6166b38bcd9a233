/*
 * bench_train.c: examples per second of plab training steps (forward, backward, SGD update)
 * for the networks the performance record tracks, on the scalar and on every SIMD backend.
 *
 *   bench_train [--seconds S] [--kernels name] [--json]
 *
 * Each measurement repeats steps on one fixed random batch for about S seconds (default 1)
 * after a warm-up; one thread. Compare backends as ratios from one run: the machine is shared.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plab.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct shape {
    const char *name;
    int in, out, hidden[3], batch;
} shape;

static const shape shapes[] = {
    {"784-100-100-100-10 b1", 784, 10, {100, 100, 100}, 1},
    {"784-100-100-100-10 b30", 784, 10, {100, 100, 100}, 30},
    {"784-10-10-10-10 b30", 784, 10, {10, 10, 10}, 30},
    {"784-1000-1000-1000-10 b30", 784, 10, {1000, 1000, 1000}, 30},
};

/* Examples per second of training steps of one shape on one backend. */
static double measure(const shape *s, plab_kernels_id k, double seconds)
{
    plab_net_desc d;
    plab_net_desc_default(&d);
    d.input_dim = s->in;
    d.output_dim = s->out;
    d.num_hidden = 3;
    for (int i = 0; i < 3; i++)
        d.widths[i] = s->hidden[i];
    d.max_batch = s->batch;
    plab_net *net;
    plab_optim *opt;
    plab_optim_desc od;
    plab_optim_desc_default(&od);
    if (plab_net_create(&d, k, NULL, &net) != PLAB_OK)
        return -1;
    if (plab_optim_create(&od, net, NULL, &opt) != PLAB_OK) {
        plab_net_destroy(net);
        return -1;
    }
    plab_rng r;
    plab_rng_seed(&r, 1, PLAB_STREAM_INIT, 0);
    plab_net_init_params(net, &r);
    float *x = malloc(sizeof(float) * (size_t)s->batch * s->in);
    int32_t *y = malloc(sizeof(int32_t) * (size_t)s->batch);
    for (int i = 0; i < s->batch * s->in; i++)
        x[i] = plab_rng_uniform(&r) < 0.2f ? plab_rng_uniform(&r) : 0.0f;
    for (int i = 0; i < s->batch; i++)
        y[i] = (int32_t)plab_rng_below(&r, (uint32_t)s->out);
    float loss;
    int correct;
    long steps = 0;
    double t0 = now(), t1 = t0;
    /* warm-up, then time whole blocks of steps */
    for (int i = 0; i < 3; i++) {
        plab_net_forward(net, x, y, NULL, s->batch, &loss, &correct);
        plab_net_backward(net, NULL, NULL);
        plab_optim_step(opt, net);
    }
    t0 = now();
    do {
        for (int i = 0; i < 10; i++) {
            plab_net_forward(net, x, y, NULL, s->batch, &loss, &correct);
            plab_net_backward(net, NULL, NULL);
            plab_optim_step(opt, net);
        }
        steps += 10;
        t1 = now();
    } while (t1 - t0 < seconds);
    free(x);
    free(y);
    plab_optim_destroy(opt);
    plab_net_destroy(net);
    return (double)steps * s->batch / (t1 - t0);
}

int main(int argc, char **argv)
{
    double seconds = 1.0;
    int json = 0;
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
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else {
            fprintf(stderr, "usage: bench_train [--seconds S] [--kernels name] [--json]\n");
            return 2;
        }
    }
    plab_kernels_id ks[PLAB_KERNELS_COUNT];
    int nk = 0;
    for (int i = PLAB_KERNELS_SCALAR; i < PLAB_KERNELS_COUNT; i++)
        if (plab_kernels_available((plab_kernels_id)i) &&
            (only == PLAB_KERNELS_AUTO || only == (plab_kernels_id)i))
            ks[nk++] = (plab_kernels_id)i;
    if (json)
        printf("[\n");
    else {
        printf("%-28s", "examples/s (one thread)");
        for (int j = 0; j < nk; j++)
            printf("%12s", plab_kernels_name(ks[j]));
        printf("\n");
    }
    size_t ns = sizeof shapes / sizeof shapes[0];
    for (size_t i = 0; i < ns; i++) {
        if (!json)
            printf("%-28s", shapes[i].name);
        for (int j = 0; j < nk; j++) {
            double v = measure(&shapes[i], ks[j], seconds);
            if (json)
                printf("  {\"net\": \"%s\", \"kernels\": \"%s\", \"examples_per_s\": %.1f}%s\n",
                       shapes[i].name, plab_kernels_name(ks[j]), v,
                       (i + 1 == ns && j + 1 == nk) ? "" : ",");
            else
                printf("%12.0f", v);
            fflush(stdout);
        }
        if (!json)
            printf("\n");
    }
    if (json)
        printf("]\n");
    return 0;
}
