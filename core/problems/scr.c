/*
 * scr.c: slowly-changing regression, the "bit-flipping" problem of Dohare et al., Nature 2024
 * (lop-code lop/slowly_changing_regression), as ALGORITHMS §6.4 pins it.
 *
 * Input: 20 bits; bits 0-14 are the flipping bits, constant for a period of T updates
 * (scr_period); bits 15-19 are redrawn for every example. Target: a fixed network of 100
 * linear-threshold units drawn once per run, y = w2·f(x) + b2 with
 *   S_i = (20 - Σ_j W1[i,j] + b1[i]) / 2   (lop-code's formula, §10 row 11)
 *   τ_i = β·(20 + 1) - S_i, β = 0.7;   f_i(x) = 1 if (W1 x + b1)_i > τ_i else 0.
 * One task = one period (steps_per_task = T). Loss: squared error, 1 output.
 *
 * Draws (data stream, §5). Every binary draw is the top bit of one plab_rng_u32 output; a ±1
 * value is +1 when that bit is 1.
 *   target network: sub-stream (seed, DATA, 0): W1 row-major (100×20), b1 (100), w2 (100), b2.
 *   task k:         sub-stream (seed, DATA, k + 1): first the period's flipping-bit draw
 *     redraw_all: 15 bits (bit 0 first), for every period;
 *     flip_one:   period 0 draws 15 bits as above; period k >= 1 draws one index
 *                 plab_rng_below(15) and flips that bit of period k-1's bits;
 *   then, per example in order, 5 bits (bit 15 first).
 * Task k's data is a pure function of (seed, k): flip_one replays the flips of periods 1..k
 * from their own sub-streams when begin_task is not called in order.
 *
 * Probe set [choice]: the period's inputs with the 5 random bits enumerated: example i takes
 * the pattern i mod 32 (bit 15 = the pattern's lowest bit), so the default 32 examples are
 * exactly the period's input distribution; no metrics-stream draw.
 */
#include <stdio.h>
#include <string.h>

#include "../problem.h"

#define SCR_IN 20
#define SCR_FLIP 15
#define SCR_LTU 100
#define SCR_BETA 0.7

typedef struct scr_state {
    int8_t W1[SCR_LTU][SCR_IN];
    int8_t b1[SCR_LTU], w2[SCR_LTU], b2;
    double tau[SCR_LTU];
    uint8_t bits[SCR_FLIP]; /* the current period's flipping bits */
    int generator;          /* 0 redraw_all, 1 flip_one */
    int m;
    uint64_t seed;
    int task;     /* current task, -1 before the first */
    plab_rng rng; /* the current task's sub-stream, after its flipping-bit draw */
} scr_state;

static int bit(plab_rng *r)
{
    return (int)(plab_rng_u32(r) >> 31);
}

static plab_status check(const plab_config *c, const plab_dataset *d, char *err, size_t n)
{
    (void)d;
    if (c->steps_per_task != 0 && c->steps_per_task != c->scr_period) {
        snprintf(err, n,
                 "key 'steps_per_task': scr's tasks are its periods; set scr_period (%d) "
                 "instead or leave steps_per_task at 0, got %d",
                 c->scr_period, c->steps_per_task);
        return PLAB_E_INVALID;
    }
    return PLAB_OK;
}

static void shape(const plab_config *c, const plab_dataset *d, plab_problem_shape *out)
{
    (void)d;
    out->input_dim = SCR_IN;
    out->output_dim = 1;
    out->loss = PLAB_LOSS_MSE;
    out->steps_per_task = c->scr_period;
    out->probe_size = 32;
    out->needs_dataset = 0;
}

static size_t state_bytes(const plab_config *c, const plab_dataset *d)
{
    (void)c;
    (void)d;
    return sizeof(scr_state);
}

/* The target network's output for input bits x (20 values in {0, 1}). */
static float target(const scr_state *s, const uint8_t *x)
{
    int y = s->b2;
    for (int i = 0; i < SCR_LTU; i++) {
        int z = s->b1[i];
        for (int j = 0; j < SCR_IN; j++)
            z += s->W1[i][j] * x[j];
        if ((double)z > s->tau[i])
            y += s->w2[i];
    }
    return (float)y;
}

static plab_status init(void *state, const plab_config *c, const plab_dataset *d)
{
    (void)d;
    scr_state *s = state;
    plab_rng r;
    plab_rng_seed(&r, c->seed, PLAB_STREAM_DATA, 0);
    for (int i = 0; i < SCR_LTU; i++)
        for (int j = 0; j < SCR_IN; j++)
            s->W1[i][j] = (int8_t)(2 * bit(&r) - 1);
    for (int i = 0; i < SCR_LTU; i++)
        s->b1[i] = (int8_t)(2 * bit(&r) - 1);
    for (int i = 0; i < SCR_LTU; i++)
        s->w2[i] = (int8_t)(2 * bit(&r) - 1);
    s->b2 = (int8_t)(2 * bit(&r) - 1);
    for (int i = 0; i < SCR_LTU; i++) {
        int sum = 0;
        for (int j = 0; j < SCR_IN; j++)
            sum += s->W1[i][j];
        double S = (double)(SCR_IN - sum + s->b1[i]) / 2.0;
        s->tau[i] = SCR_BETA * (SCR_IN + 1) - S;
    }
    s->generator = c->scr_generator;
    s->m = c->batch_size;
    s->seed = c->seed;
    s->task = -1;
    return PLAB_OK;
}

/* Seeds task k's sub-stream into r and applies its flipping-bit draw to bits. */
static void period_draw(const scr_state *s, int k, uint8_t *bits, plab_rng *r)
{
    plab_rng_seed(r, s->seed, PLAB_STREAM_DATA, (uint64_t)k + 1u);
    if (s->generator == 0 || k == 0) {
        for (int j = 0; j < SCR_FLIP; j++)
            bits[j] = (uint8_t)bit(r);
    } else {
        uint32_t j = plab_rng_below(r, SCR_FLIP);
        bits[j] ^= 1u;
    }
}

static void begin_task(void *state, int k)
{
    scr_state *s = state;
    if (s->generator == 1 && k > 0 && s->task != k - 1) {
        /* flip_one out of order: replay periods 0..k-1 (each from its own sub-stream) */
        plab_rng tmp;
        for (int j = 0; j < k; j++)
            period_draw(s, j, s->bits, &tmp);
    }
    period_draw(s, k, s->bits, &s->rng);
    s->task = k;
}

static void next_batch(void *state, float *X, int32_t *labels, float *targets)
{
    scr_state *s = state;
    (void)labels;
    uint8_t x[SCR_IN];
    memcpy(x, s->bits, SCR_FLIP);
    for (int r = 0; r < s->m; r++) {
        for (int j = SCR_FLIP; j < SCR_IN; j++)
            x[j] = (uint8_t)bit(&s->rng);
        for (int j = 0; j < SCR_IN; j++)
            X[(size_t)r * SCR_IN + j] = (float)x[j];
        targets[r] = target(s, x);
    }
}

static void probe(void *state, int n, int first, int count, plab_rng *rng, float *X)
{
    const scr_state *s = state;
    (void)rng;
    for (int i = first; i < first + count && i < n; i++) {
        float *x = X + (size_t)(i - first) * SCR_IN;
        for (int j = 0; j < SCR_FLIP; j++)
            x[j] = (float)s->bits[j];
        for (int j = SCR_FLIP; j < SCR_IN; j++)
            x[j] = (float)(((i % 32) >> (j - SCR_FLIP)) & 1);
    }
}

const plab_problem_vt plab_problem_scr = {
    "scr",
    "Slowly-changing regression (bit-flipping): 15 slow + 5 random bits, a fixed LTU target "
    "network; one task per period",
    check,
    shape,
    state_bytes,
    init,
    begin_task,
    next_batch,
    probe,
};
