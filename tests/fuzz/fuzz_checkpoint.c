/*
 * fuzz_checkpoint.c: the run checkpoint loader (core/checkpoint.c plab_run_checkpoint_load).
 *
 * Each input is loaded twice into a freshly created run of one small fixed config
 * (fuzz_checkpoint_config): once as it is (a damaged or foreign file: the checksum must catch
 * it) and once with its last 8 bytes replaced by the right FNV-1a checksum, so the fuzzer also
 * reaches everything after the checksum (a file the checksum cannot catch). A load that
 * succeeds is followed by a few steps of the run, which must not crash and must stay bounded.
 * Properties: no crash, no read outside the input, bounded work (the loader refuses counters
 * that would make it replay an unbounded number of batches), r unchanged on error.
 * The config has no plasticity method: a method's state is restored as bytes the checksum
 * vouches for (method.h), so a forged method state is out of this target's reach.
 */
#include "fuzz.h"

#include <string.h>

#include "plab.h"

#define MAX_INPUT 65536

/* A run small enough that creating one costs microseconds; AdamW so the optimizer state
 * (m, v) is in the checkpoint. Shared with seed_checkpoints.c, which writes the seeds. */
static void fuzz_checkpoint_config(plab_config *c)
{
    static const char settings[] =
        "problem=synthetic tasks=3 steps_per_task=12 batch_size=2 hidden=4,4 gen_dim=8 "
        "gen_classes=2 gen_pool=16 probe_size=4 probe_every=1 optimizer=adamw lr=0.01 "
        "kernels=scalar seed=7";
    plab_config_default(c);
    if (plab_config_apply(c, settings, NULL, 0) != PLAB_OK)
        abort();
}

static plab_run *fresh_run(void)
{
    plab_config c;
    char err[512];
    plab_run *r = NULL;
    fuzz_checkpoint_config(&c);
    if (plab_run_create(&c, NULL, NULL, &r, err, sizeof err) != PLAB_OK) {
        fprintf(stderr, "fuzz_checkpoint: %s\n", err);
        abort();
    }
    return r;
}

/* Loads buf into *r; on success runs a few steps and replaces *r by a fresh run. */
static void load(plab_run **r, const uint8_t *buf, size_t size)
{
    char err[512];
    err[0] = 0;
    uint64_t before = plab_run_trace_hash(*r);
    plab_status st = plab_run_checkpoint_load(*r, buf, size, err, sizeof err);
    if (st != PLAB_OK) {
        FUZZ_CHECK(err[0] != 0);
        FUZZ_CHECK(plab_run_steps_done(*r) == 0 && plab_run_trace_hash(*r) == before);
        return;
    }
    for (int i = 0; i < 3 && !plab_run_done(*r); i++)
        if (plab_run_step(*r) != PLAB_OK)
            break;
    plab_run_destroy(*r);
    *r = fresh_run();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static plab_run *run;
    if (size > MAX_INPUT)
        return -1;
    if (!run)
        run = fresh_run();
    load(&run, data, size);
    if (size >= 8) {
        uint8_t *fixed = malloc(size);
        memcpy(fixed, data, size);
        uint64_t sum = plab_fnv1a(PLAB_FNV_INIT, fixed, size - 8);
        memcpy(fixed + size - 8, &sum, 8);
        load(&run, fixed, size);
        free(fixed);
    }
    return 0;
}
