/*
 * native_rows.c: the native side of the page's cross-target tests. Runs one config with the
 * native library and prints every row the run's sink produced as JSON, in the record layout of
 * the wasm bindings (wasm/rows.h), so a test can compare the two byte for byte.
 *   native_rows key=value ...   ->  {"trace":"<hex>","window":[[...]],"task":[[...]],"event":[[...]]}
 * Numbers are printed with %.17g (exact for doubles); NaN and infinities as null.
 * A run that fails (diverges) still prints the rows produced before, with "error":"<message>".
 * Exit status: 0 ok, 2 bad config (message on stderr), 3 the run failed, 1 another failure.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plab.h"
#include "rows.h"

typedef struct out {
    FILE *f[PLAB_ROWS_KINDS]; /* one temporary stream per row kind */
    int n[PLAB_ROWS_KINDS];
} out;

static void record(out *o, int kind, const double *v, int width)
{
    FILE *f = o->f[kind];
    fputs(o->n[kind]++ ? ",[" : "[", f);
    for (int i = 0; i < width; i++) {
        if (i)
            fputc(',', f);
        if (isfinite(v[i]))
            fprintf(f, "%.17g", v[i]);
        else
            fputs("null", f);
    }
    fputc(']', f);
}

static void on_window(void *ctx, const plab_window_row *r)
{
    double v[PLAB_ROWS_WINDOW_WIDTH];
    plab_rows_put_window(r, v);
    record(ctx, PLAB_ROWS_WINDOW, v, PLAB_ROWS_WINDOW_WIDTH);
}

static void on_task(void *ctx, const plab_task_row *r)
{
    double v[PLAB_ROWS_TASK_WIDTH];
    plab_rows_put_task(r, v);
    record(ctx, PLAB_ROWS_TASK, v, PLAB_ROWS_TASK_WIDTH);
}

static void on_event(void *ctx, const plab_event_row *r)
{
    double v[PLAB_ROWS_EVENT_WIDTH];
    plab_rows_put_event(r, v);
    record(ctx, PLAB_ROWS_EVENT, v, PLAB_ROWS_EVENT_WIDTH);
}

static void copy(FILE *from, FILE *to)
{
    char buf[1 << 14];
    size_t n;
    rewind(from);
    while ((n = fread(buf, 1, sizeof buf, from)) > 0)
        fwrite(buf, 1, n, to);
}

int main(int argc, char **argv)
{
    plab_config c;
    plab_config_default(&c);
    char err[512];
    /* The page runs the strict family (web/state.js, runSettings), the one WebAssembly has;
     * natively `auto` may mean fma. Compare like with like unless a test asks otherwise. */
    if (plab_config_set(&c, "kernel_family", "strict", err, sizeof err) != PLAB_OK) {
        fprintf(stderr, "native_rows: %s\n", err);
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq) {
            fprintf(stderr, "native_rows: expected key=value, got '%s'\n", argv[i]);
            return 2;
        }
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(eq - argv[i]), argv[i]);
        if (plab_config_set(&c, key, eq + 1, err, sizeof err) != PLAB_OK) {
            fprintf(stderr, "native_rows: %s\n", err);
            return 2;
        }
    }
    plab_run *r;
    if (plab_run_create(&c, NULL, NULL, &r, err, sizeof err) != PLAB_OK) {
        fprintf(stderr, "native_rows: %s\n", err);
        return 2;
    }
    out o = {{NULL}, {0}};
    for (int k = 0; k < PLAB_ROWS_KINDS; k++)
        if (!(o.f[k] = tmpfile())) {
            fprintf(stderr, "native_rows: cannot create a temporary file\n");
            return 1;
        }
    plab_sink sink = {on_window, on_task, on_event, &o};
    plab_run_set_sink(r, &sink);
    plab_status st = PLAB_OK;
    while (st == PLAB_OK && !plab_run_done(r))
        st = plab_run_step(r);
    static const char *const names[] = {"window", "task", "event"};
    printf("{\"trace\":\"%016" PRIx64 "\",\"kernels\":\"%s\"", plab_run_trace_hash(r),
           plab_kernels_name(plab_net_kernels(plab_run_net(r))));
    if (st != PLAB_OK) /* the core's messages hold no quote or backslash */
        printf(",\"error\":\"%s\"", plab_run_error(r));
    for (int k = 0; k < PLAB_ROWS_KINDS; k++) {
        printf(",\"%s\":[", names[k]);
        fflush(stdout);
        copy(o.f[k], stdout);
        fputs("]", stdout);
        fclose(o.f[k]);
    }
    puts("}");
    plab_run_destroy(r);
    return st == PLAB_OK ? 0 : 3;
}
