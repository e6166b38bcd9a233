/*
 * seed_checkpoints.c: writes the checkpoint target's seed corpus, real checkpoints of
 * fuzz_checkpoint_config saved at several points of a run (start, inside a window, at a window
 * end, at a task boundary, inside a later task):
 *   seed_checkpoints tests/fuzz/corpus/fuzz_checkpoint
 */
#include "fuzz_checkpoint.c"

int main(int argc, char **argv)
{
    static const int at[] = {0, 3, 10, 12, 17, 30};
    if (argc != 2) {
        fprintf(stderr, "usage: seed_checkpoints DIR\n");
        return 2;
    }
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        plab_run *r = fresh_run();
        for (int s = 0; s < at[i]; s++)
            if (plab_run_step(r) != PLAB_OK)
                return 1;
        size_t n = plab_run_checkpoint_bytes(r);
        void *buf = malloc(n);
        if (plab_run_checkpoint_save(r, buf, n) != PLAB_OK)
            return 1;
        char path[4096];
        snprintf(path, sizeof path, "%s/step%02d.ckpt", argv[1], at[i]);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(buf, 1, n, f) != n || fclose(f) != 0)
            return 1;
        printf("%s: %zu bytes\n", path, n);
        free(buf);
        plab_run_destroy(r);
    }
    return 0;
}
