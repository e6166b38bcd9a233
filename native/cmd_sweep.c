/*
 * cmd_sweep.c: sweeps. A sweep file is an experiment file whose list-valued keys are axes;
 * the plan is their grid (file order, the last axis fastest). Each cell is one run directory,
 * OUT/cells/<id>, where the id is a readable name of the cell's axis values plus a hash of its
 * resolved configuration: it does not depend on the order of lists or keys, so growing a list
 * (more seeds) keeps every finished cell, and changing a shared setting makes new cells rather
 * than mixing results.
 *
 *   plab plan   lists the cells;   plab cell   runs one (by index);
 *   plab sweep  runs them all on N processes (each a `plab cell` child), skipping finished ones;
 *   plab slurm  writes an sbatch job-array script whose tasks run `plab cell`.
 * sweep and slurm freeze the file into OUT/plans/sweep-<hash>.json, and the children read that
 * copy, so editing the file while a sweep runs cannot shift indices under it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

extern char **environ;

typedef struct cell {
    settings s;     /* scalar settings of this cell, in file order */
    char axes[512]; /* "method=swr seed=1" */
    char id[160];
    resolved res;
} cell;

typedef struct plan {
    cell *cells;
    int n;
    char *text; /* the file's bytes */
    size_t len;
} plan;

static void plan_free(plan *p)
{
    for (int i = 0; i < p->n; i++)
        settings_free(&p->cells[i].s);
    free(p->cells);
    free(p->text);
    memset(p, 0, sizeof *p);
}

static void sanitize(sbuf *b, const char *s)
{
    for (; *s; s++) {
        char c = *s;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '+' || c == '-';
        sb_put(b, ok ? &c : (c == ',' ? "x" : "-"), 1);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Builds the plan of a sweep file; every cell is resolved (so a bad cell stops everything
 * before anything runs). */
static int plan_build(const char *path, plan *p, char *err, size_t n)
{
    memset(p, 0, sizeof *p);
    settings file = {0};
    if (read_file(path, &p->text, &p->len, err, n) != 0)
        return EXIT_USAGE;
    if (settings_from_json_file(&file, path, err, n) != 0) {
        settings_free(&file);
        plan_free(p);
        return EXIT_USAGE;
    }
    long total = 1;
    for (int i = 0; i < file.n; i++)
        if (file.v[i].is_axis) {
            total *= file.v[i].n;
            if (total > 1000000) {
                snprintf(err, n, "%s: the grid has more than 1,000,000 cells", path);
                settings_free(&file);
                plan_free(p);
                return EXIT_USAGE;
            }
        }
    p->cells = xmalloc(sizeof(cell) * (size_t)total);
    memset(p->cells, 0, sizeof(cell) * (size_t)total);
    int rc = EXIT_OK;
    for (long c = 0; c < total && rc == EXIT_OK; c++) {
        cell *ce = &p->cells[p->n++];
        snprintf(ce->s.origin, sizeof ce->s.origin, "%s", file.origin);
        /* mixed radix, the last axis fastest */
        long rest = c;
        int pick[256] = {0};
        for (int i = file.n - 1; i >= 0; i--)
            if (file.v[i].is_axis && i < 256) {
                pick[i] = (int)(rest % file.v[i].n);
                rest /= file.v[i].n;
            }
        char *axis_pairs[256];
        int na = 0;
        for (int i = 0; i < file.n; i++) {
            const setting *e = &file.v[i];
            const char *v = e->values[e->is_axis && i < 256 ? pick[i] : 0];
            settings_add(&ce->s, e->key, v, e->line);
            if (e->is_axis && na < 256) {
                sbuf pair = {0};
                sb_printf(&pair, "%s=%s", e->key, v);
                axis_pairs[na++] = pair.p;
            }
        }
        /* the readable part of the id: axis values sorted by key */
        sbuf axes = {0}, id = {0};
        for (int i = 0; i < na; i++)
            sb_printf(&axes, "%s%s", i ? " " : "", axis_pairs[i]);
        snprintf(ce->axes, sizeof ce->axes, "%s", axes.p ? axes.p : "");
        qsort(axis_pairs, (size_t)na, sizeof axis_pairs[0], cmp_str);
        for (int i = 0; i < na; i++) {
            char *eq = strchr(axis_pairs[i], '=');
            *eq = 0;
            if (id.n < 96) {
                sb_printf(&id, "%s", i ? "_" : "");
                sanitize(&id, axis_pairs[i]);
                sb_puts(&id, "-");
                sanitize(&id, eq + 1);
            }
            free(axis_pairs[i]);
        }
        sb_free(&axes);
        rc = resolve(&ce->s, NULL, &ce->res, err, n);
        if (rc != EXIT_OK) {
            sbuf m = {0};
            if (ce->axes[0])
                sb_printf(&m, "%s: cell %ld (%s): %s", path, c, ce->axes, err);
            else
                sb_printf(&m, "%s: %s", path, err);
            snprintf(err, n, "%s", m.p);
            sb_free(&m);
        }
        snprintf(ce->id, sizeof ce->id, "%.*s%s%012llx", 96, id.p ? id.p : "", id.n ? "-" : "",
                 (unsigned long long)(resolved_hash(&ce->res) & 0xffffffffffffull));
        sb_free(&id);
    }
    for (int i = 0; rc == EXIT_OK && i < p->n; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(p->cells[i].id, p->cells[j].id) == 0) {
                sbuf m = {0};
                sb_printf(&m,
                          "%s: cells %d (%s) and %d (%s) are the same experiment; remove the "
                          "repeated value",
                          path, j, p->cells[j].axes, i, p->cells[i].axes);
                snprintf(err, n, "%s", m.p);
                sb_free(&m);
                rc = EXIT_USAGE;
                break;
            }
    settings_free(&file);
    if (rc != EXIT_OK)
        plan_free(p);
    return rc;
}

/* ---------------------------------------------------------------- shared flags */

typedef struct sweep_opts {
    const char *config;
    const char *out;
    int jobs, parallel, index, json, has_index;
    const char *sbatch[32];
    int nsbatch;
    run_opts ro;
} sweep_opts;

static int parse_sweep_args(const char *cmd, int argc, char **argv, sweep_opts *s)
{
    char err[512];
    memset(s, 0, sizeof *s);
    run_opts_default(&s->ro);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int r = run_opts_parse(&s->ro, argc, argv, &i, err, sizeof err);
        if (r < 0) {
            fprintf(stderr, "plab %s: %s\n", cmd, err);
            return -1;
        }
        if (r > 0)
            continue;
        int needs = strcmp(a, "--config") == 0 || strcmp(a, "-c") == 0 ||
                    strcmp(a, "--jobs") == 0 || strcmp(a, "-j") == 0 ||
                    strcmp(a, "--parallel") == 0 || strcmp(a, "--index") == 0 ||
                    strcmp(a, "--sbatch") == 0;
        if (needs && !v) {
            fprintf(stderr, "plab %s: %s needs a value\n", cmd, a);
            return -1;
        }
        char *end;
        if (strcmp(a, "--config") == 0 || strcmp(a, "-c") == 0) {
            s->config = argv[++i];
        } else if (strcmp(a, "--jobs") == 0 || strcmp(a, "-j") == 0) {
            s->jobs = (int)strtol(argv[++i], &end, 10);
            if (*end || s->jobs < 1 || s->jobs > 4096) {
                fprintf(stderr, "plab %s: --jobs: expected a count >= 1, got '%s'\n", cmd, v);
                return -1;
            }
        } else if (strcmp(a, "--parallel") == 0) {
            s->parallel = (int)strtol(argv[++i], &end, 10);
            if (*end || s->parallel < 1) {
                fprintf(stderr, "plab %s: --parallel: expected a count >= 1, got '%s'\n", cmd, v);
                return -1;
            }
        } else if (strcmp(a, "--index") == 0) {
            long x = strtol(argv[++i], &end, 10);
            if (*end || x < 0 || x > 100000000) {
                fprintf(stderr, "plab %s: --index: expected an index >= 0, got '%s'\n", cmd, v);
                return -1;
            }
            s->index = (int)x;
            s->has_index = 1;
        } else if (strcmp(a, "--sbatch") == 0) {
            if (s->nsbatch < 32)
                s->sbatch[s->nsbatch++] = argv[++i];
            else
                i++;
        } else if (strcmp(a, "--json") == 0) {
            s->json = 1;
        } else {
            fprintf(stderr, "plab %s: unexpected argument '%s' (see `plab help`)\n", cmd, a);
            return -1;
        }
    }
    if (!s->config) {
        fprintf(stderr, "plab %s: --config FILE is required\n", cmd);
        return -1;
    }
    s->out = s->ro.out;
    return 0;
}

/* The default output directory: sweeps/<file name without .json>. */
static void default_out(const sweep_opts *s, char *buf, size_t n)
{
    if (s->out) {
        snprintf(buf, n, "%s", s->out);
        return;
    }
    const char *base = strrchr(s->config, '/');
    base = base ? base + 1 : s->config;
    size_t len = strlen(base);
    if (len > 5 && strcmp(base + len - 5, ".json") == 0)
        len -= 5;
    snprintf(buf, n, "sweeps/%.*s", (int)len, base);
}

/* Freezes the plan's file into OUT/plans/sweep-<hash>.json; writes the path into buf. */
static int freeze(const plan *p, const char *out, char *buf, size_t n, char *err, size_t en)
{
    char dir[PLAB_PATH_MAX + 16];
    path_join(dir, sizeof dir, out, "plans");
    if (mkdir_p(dir, err, en) != 0)
        return -1;
    char name[64];
    snprintf(name, sizeof name, "sweep-%012llx.json",
             (unsigned long long)(plab_fnv1a(PLAB_FNV_INIT, p->text, p->len) & 0xffffffffffffull));
    path_join(buf, n, dir, name);
    if (path_exists(buf))
        return 0;
    return write_file_atomic(buf, p->text, p->len, err, en);
}

static void cell_dir(const char *out, const cell *c, char *buf, size_t n)
{
    snprintf(buf, n, "%s/cells/%s", out, c->id);
}

/* ---------------------------------------------------------------- plan */

int cmd_plan(int argc, char **argv)
{
    sweep_opts s;
    if (parse_sweep_args("plan", argc, argv, &s) != 0)
        return EXIT_USAGE;
    plan p;
    char err[1024];
    int rc = plan_build(s.config, &p, err, sizeof err);
    if (rc != EXIT_OK) {
        fprintf(stderr, "plab plan: %s\n", err);
        return rc;
    }
    char out[PLAB_PATH_MAX];
    default_out(&s, out, sizeof out);
    sbuf b = {0};
    if (s.json)
        sb_puts(&b, "[");
    for (int i = 0; i < p.n; i++) {
        const cell *c = &p.cells[i];
        char dir[PLAB_PATH_MAX + 200], mk[PLAB_PATH_MAX + 220];
        cell_dir(out, c, dir, sizeof dir);
        snprintf(mk, sizeof mk, "%s/DONE", dir);
        const char *state = path_exists(mk) ? "done" : "";
        snprintf(mk, sizeof mk, "%s/DIVERGED", dir);
        if (path_exists(mk))
            state = "diverged";
        if (s.json) {
            sb_printf(&b, "%s\n  {\"index\": %d, \"id\": ", i ? "," : "", i);
            sb_json_str(&b, c->id);
            sb_puts(&b, ", \"preset\": ");
            sb_json_str(&b, c->res.preset);
            sb_puts(&b, ", \"method\": ");
            sb_json_str(&b, c->res.method);
            sb_puts(&b, ", \"settings\": ");
            sb_json_str(&b, c->axes);
            sb_puts(&b, ", \"dir\": ");
            sb_json_str(&b, dir);
            sb_puts(&b, ", \"state\": ");
            sb_json_str(&b, state[0] ? state : "pending");
            sb_puts(&b, "}");
        } else {
            sb_printf(&b, "%4d  %-40s  %s / %s  %s%s%s\n", i, c->id, c->res.preset, c->res.method,
                      c->axes, state[0] ? "  " : "", state);
        }
    }
    if (s.json)
        sb_puts(&b, "\n]\n");
    fputs(b.p ? b.p : "", stdout);
    sb_free(&b);
    plan_free(&p);
    return EXIT_OK;
}

/* ---------------------------------------------------------------- cell */

int cmd_cell(int argc, char **argv)
{
    sweep_opts s;
    if (parse_sweep_args("cell", argc, argv, &s) != 0)
        return EXIT_USAGE;
    if (!s.has_index) {
        fprintf(stderr, "plab cell: --index I is required\n");
        return EXIT_USAGE;
    }
    plan p;
    char err[1024];
    int rc = plan_build(s.config, &p, err, sizeof err);
    if (rc != EXIT_OK) {
        fprintf(stderr, "plab cell: %s\n", err);
        return rc;
    }
    if (s.index >= p.n) {
        fprintf(stderr, "plab cell: --index %d: the plan has %d cells (0..%d)\n", s.index, p.n,
                p.n - 1);
        plan_free(&p);
        return EXIT_USAGE;
    }
    char out[PLAB_PATH_MAX], dir[PLAB_PATH_MAX + 200];
    default_out(&s, out, sizeof out);
    cell_dir(out, &p.cells[s.index], dir, sizeof dir);
    s.ro.out = dir;
    rc = run_experiment(&p.cells[s.index].res, &s.ro);
    plan_free(&p);
    return rc;
}

/* ---------------------------------------------------------------- sweep */

static volatile sig_atomic_t g_sweep_signal = 0;
static void on_sweep_signal(int sig)
{
    g_sweep_signal = sig;
}

typedef struct child {
    pid_t pid;
    int index;
    double t0;
} child;

static pid_t spawn_cell(const char *exe, const char *frozen, const char *out, int index,
                        const char *log, const run_opts *ro)
{
    char idx[32], secs[64], tasks[32];
    snprintf(idx, sizeof idx, "%d", index);
    snprintf(secs, sizeof secs, "%.17g", ro->ckpt_secs);
    snprintf(tasks, sizeof tasks, "%d", ro->ckpt_tasks);
    char *args[] = {(char *)exe,
                    "cell",
                    "--config",
                    (char *)frozen,
                    "--index",
                    idx,
                    "--out",
                    (char *)out,
                    "--checkpoint-secs",
                    secs,
                    "--checkpoint-tasks",
                    tasks,
                    "--no-progress",
                    NULL,
                    NULL,
                    NULL};
    char mem[32];
    if (ro->no_mem_limit || ro->mem_limit) {
        snprintf(mem, sizeof mem, "%llu", (unsigned long long)ro->mem_limit);
        args[13] = "--memory-limit";
        args[14] = ro->no_mem_limit ? "none" : mem;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log, O_WRONLY | O_CREAT | O_APPEND, 0666);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawnattr_init(&at);
    /* its own process group: a terminal's Ctrl-C reaches the sweep, which forwards it once */
    posix_spawnattr_setpgroup(&at, 0);
    sigset_t def;
    sigemptyset(&def);
    sigaddset(&def, SIGINT);
    sigaddset(&def, SIGTERM);
    posix_spawnattr_setsigdefault(&at, &def);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int e = posix_spawn(&pid, exe, &fa, &at, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (e != 0) {
        errno = e;
        return -1;
    }
    return pid;
}

int cmd_sweep(int argc, char **argv)
{
    sweep_opts s;
    if (parse_sweep_args("sweep", argc, argv, &s) != 0)
        return EXIT_USAGE;
    if (s.jobs == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        s.jobs = n > 0 ? (int)n : 1;
    }
    plan p;
    char err[1024];
    int rc = plan_build(s.config, &p, err, sizeof err);
    if (rc != EXIT_OK) {
        fprintf(stderr, "plab sweep: %s\n", err);
        return rc;
    }
    char out[PLAB_PATH_MAX], frozen[PLAB_PATH_MAX + 64], logs[PLAB_PATH_MAX + 16],
        cells[PLAB_PATH_MAX + 16], exe[PLAB_PATH_MAX];
    default_out(&s, out, sizeof out);
    path_join(logs, sizeof logs, out, "logs");
    path_join(cells, sizeof cells, out, "cells");
    if (mkdir_p(logs, err, sizeof err) != 0 || mkdir_p(cells, err, sizeof err) != 0 ||
        freeze(&p, out, frozen, sizeof frozen, err, sizeof err) != 0) {
        fprintf(stderr, "plab sweep: %s\n", err);
        plan_free(&p);
        return EXIT_FAIL;
    }
    exe_path(exe, sizeof exe, NULL);

    int *todo = xmalloc(sizeof(int) * (size_t)p.n);
    int ntodo = 0, skipped = 0, ok = 0, diverged = 0, failed = 0, interrupted = 0;
    for (int i = 0; i < p.n; i++) {
        char d[PLAB_PATH_MAX + 200], m[PLAB_PATH_MAX + 220];
        cell_dir(out, &p.cells[i], d, sizeof d);
        snprintf(m, sizeof m, "%s/DONE", d);
        int done = path_exists(m);
        snprintf(m, sizeof m, "%s/DIVERGED", d);
        int div = path_exists(m);
        if (done || div) {
            skipped++;
            diverged += div;
        } else {
            todo[ntodo++] = i;
        }
    }
    int quiet = s.ro.quiet;
    if (!quiet)
        printf("plab sweep: %d cells (%d finished earlier, %d to run) on %d processes -> %s\n", p.n,
               skipped, ntodo, s.jobs, out);
    fflush(stdout);

    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sweep_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    g_sweep_signal = 0;

    child *run = xmalloc(sizeof(child) * (size_t)s.jobs);
    int nrun = 0, next = 0, finished = 0, forwarded = 0;
    double t0 = now_sec();
    while (next < ntodo || nrun > 0) {
        while (!g_sweep_signal && nrun < s.jobs && next < ntodo) {
            int i = todo[next++];
            char log[PLAB_PATH_MAX + 200];
            snprintf(log, sizeof log, "%s/%s.log", logs, p.cells[i].id);
            pid_t pid = spawn_cell(exe, frozen, out, i, log, &s.ro);
            if (pid < 0) {
                fprintf(stderr, "plab sweep: cannot start %s: %s\n", exe, strerror(errno));
                failed++;
                continue;
            }
            run[nrun++] = (child){pid, i, now_sec()};
        }
        if (g_sweep_signal && !forwarded) {
            for (int k = 0; k < nrun; k++)
                kill(run[k].pid, (int)g_sweep_signal);
            forwarded = 1;
            interrupted = 1;
        }
        if (nrun == 0)
            break;
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "plab sweep: waitpid: %s\n", strerror(errno));
            break;
        }
        int k = 0;
        while (k < nrun && run[k].pid != pid)
            k++;
        if (k == nrun)
            continue;
        child c = run[k];
        run[k] = run[--nrun];
        finished++;
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        const char *what;
        if (code == EXIT_OK) {
            ok++;
            what = "done";
        } else if (code == EXIT_DIVERGED) {
            diverged++;
            what = "diverged";
        } else if (code == EXIT_INTERRUPTED) {
            interrupted = 1;
            what = "interrupted (checkpointed)";
        } else {
            failed++;
            what = "FAILED";
        }
        if (!quiet) {
            printf("[%d/%d] %s: %s in %.1f s", finished, ntodo, p.cells[c.index].id, what,
                   now_sec() - c.t0);
            if (code != EXIT_OK)
                printf(" (exit %d; log %s/%s.log)", code, logs, p.cells[c.index].id);
            printf("\n");
            fflush(stdout);
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (!quiet)
        printf("plab sweep: %d cells: %d ran to the end, %d finished earlier, %d diverged, %d "
               "failed%s (%.1f s)\n",
               p.n, ok, skipped, diverged, failed, interrupted ? ", interrupted" : "",
               now_sec() - t0);
    free(run);
    free(todo);
    plan_free(&p);
    if (failed)
        return EXIT_FAIL;
    if (interrupted)
        return EXIT_INTERRUPTED;
    if (diverged)
        return EXIT_DIVERGED;
    return EXIT_OK;
}

/* ---------------------------------------------------------------- slurm */

static void sh_quote(sbuf *b, const char *s)
{
    sb_puts(b, "'");
    for (; *s; s++) {
        if (*s == '\'')
            sb_puts(b, "'\\''");
        else
            sb_put(b, s, 1);
    }
    sb_puts(b, "'");
}

int cmd_slurm(int argc, char **argv)
{
    sweep_opts s;
    if (parse_sweep_args("slurm", argc, argv, &s) != 0)
        return EXIT_USAGE;
    plan p;
    char err[1024];
    int rc = plan_build(s.config, &p, err, sizeof err);
    if (rc != EXIT_OK) {
        fprintf(stderr, "plab slurm: %s\n", err);
        return rc;
    }
    char out[PLAB_PATH_MAX], aout[PLAB_PATH_MAX], frozen[PLAB_PATH_MAX + 64],
        afrozen[PLAB_PATH_MAX], logs[PLAB_PATH_MAX + 16], exe[PLAB_PATH_MAX], cwd[PLAB_PATH_MAX];
    default_out(&s, out, sizeof out);
    path_join(logs, sizeof logs, out, "logs");
    if (mkdir_p(logs, err, sizeof err) != 0 ||
        freeze(&p, out, frozen, sizeof frozen, err, sizeof err) != 0) {
        fprintf(stderr, "plab slurm: %s\n", err);
        plan_free(&p);
        return EXIT_FAIL;
    }
    if (!realpath(out, aout) || !realpath(frozen, afrozen) || !getcwd(cwd, sizeof cwd)) {
        fprintf(stderr, "plab slurm: cannot resolve %s: %s\n", out, strerror(errno));
        plan_free(&p);
        return EXIT_FAIL;
    }
    exe_path(exe, sizeof exe, NULL);
    int par = s.parallel ? s.parallel : p.n;
    if (par > p.n)
        par = p.n;
    const char *base = strrchr(s.config, '/');
    base = base ? base + 1 : s.config;
    sbuf b = {0};
    sb_puts(&b, "#!/bin/bash\n");
    sb_printf(&b, "#SBATCH --job-name=plab-");
    {
        size_t len = strcspn(base, ".");
        sbuf nm = {0};
        sb_put(&nm, base, len);
        sanitize(&b, nm.p ? nm.p : "sweep");
        sb_free(&nm);
    }
    sb_printf(&b, "\n#SBATCH --array=0-%d%%%d\n", p.n - 1, par);
    sb_printf(&b, "#SBATCH --output=%s/logs/slurm-%%A_%%a.log\n", aout);
    sb_puts(&b, "#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=1\n");
    sb_printf(&b, "#SBATCH --chdir=%s\n", cwd);
    for (int i = 0; i < s.nsbatch; i++)
        sb_printf(&b, "#SBATCH %s\n", s.sbatch[i]);
    sb_printf(&b,
              "#\n# plab %s: %d cells of %s (frozen as %s); `plab plan --config %s` lists "
              "them.\n# Each task runs one cell into %s/cells/<id>; a finished cell exits at "
              "once,\n# an interrupted one (SIGTERM, preemption) checkpoints and resumes when "
              "resubmitted.\n",
              PLAB_VERSION_STRING, p.n, s.config, afrozen, afrozen, aout);
    sb_puts(&b, "exec ");
    sh_quote(&b, exe);
    sb_puts(&b, " cell --config ");
    sh_quote(&b, afrozen);
    sb_puts(&b, " --index \"$SLURM_ARRAY_TASK_ID\" --out ");
    sh_quote(&b, aout);
    sb_printf(&b, " --checkpoint-secs %.17g", s.ro.ckpt_secs);
    if (s.ro.ckpt_tasks)
        sb_printf(&b, " --checkpoint-tasks %d", s.ro.ckpt_tasks);
    if (s.ro.no_mem_limit)
        sb_puts(&b, " --memory-limit none");
    else if (s.ro.mem_limit)
        sb_printf(&b, " --memory-limit %llu", (unsigned long long)s.ro.mem_limit);
    sb_puts(&b, "\n");
    fputs(b.p, stdout);
    sb_free(&b);
    plan_free(&p);
    return EXIT_OK;
}
