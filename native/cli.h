/*
 * cli.h: what the files of the `plab` command share. The command is a thin shell over the
 * core's public API (plab.h): it resolves configurations (presets, JSON files, flags), runs
 * them into resumable run directories, expands sweeps, and summarizes and plots results.
 * The output contract (files, columns, JSON fields, exit codes) is docs/CLI.md.
 */
#ifndef PLAB_CLI_H
#define PLAB_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "plab.h"

/* Exit codes (docs/CLI.md). */
enum {
    EXIT_OK = 0,
    EXIT_FAIL = 1,       /* an I/O error or another failure */
    EXIT_USAGE = 2,      /* bad input: flags, configuration, files, missing dataset */
    EXIT_DIVERGED = 3,   /* training produced a non-finite loss */
    EXIT_INTERRUPTED = 4 /* SIGINT/SIGTERM: checkpointed, run again to resume */
};

/* ------------------------------------------------------------------ util.c */

/* A growable byte buffer (always NUL-terminated when p != NULL). */
typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

void sb_free(sbuf *b);
void sb_reset(sbuf *b);
void sb_put(sbuf *b, const void *p, size_t n);
void sb_puts(sbuf *b, const char *s);
void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A double in the contract's form: "%.17g", "nan"/"inf"/"-inf" for non-finite values. */
void sb_double(sbuf *b, double v);
/* A JSON value for a double: "%.17g", or null when not finite. */
void sb_json_double(sbuf *b, double v);
/* A JSON string literal with escapes. */
void sb_json_str(sbuf *b, const char *s);

void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

double now_sec(void);

/* Files. All return 0 on success, -1 with errno set (and a message in err when given). */
int path_exists(const char *path);
int is_dir(const char *path);
int mkdir_p(const char *path, char *err, size_t n);
/* Reads a whole file into a NUL-terminated buffer (*len without the NUL). */
int read_file(const char *path, char **out, size_t *len, char *err, size_t n);
/* The suffix of write_file_atomic's temporary files (a run directory holds at most one, and
 * only while plab is writing it or after a crash; the next start removes it). */
#define TEMP_SUFFIX ".tmp"
/* Writes a file atomically: temp file in the same directory, fsync, rename, fsync dir. */
int write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t n);
/* As write_file_atomic, pausing `pause` ms in all (a test hook, PLAB_TEST_CHECKPOINT_DELAY_MS):
 * half of it after writing half of the temporary file, half between its fsync and the rename. */
int write_file_atomic_paused(const char *path, const void *data, size_t len, int pause, char *err,
                             size_t n);
int fsync_dir(const char *dir);
/* The directory of the running executable ("" if unknown). */
void exe_dir(char *out, size_t n);
/* The absolute path of the running executable (argv0 as fallback). */
void exe_path(char *out, size_t n, const char *argv0);
/* dst = a "/" b */
void path_join(char *dst, size_t n, const char *a, const char *b);

/* ------------------------------------------------------------------ settings.c */

/*
 * A list of settings from one source (a JSON file or command-line flags), in source order.
 * A setting is a key and its value as text in the form plab_config_set takes; a list-valued
 * setting (a sweep axis) has several values.
 */
typedef struct setting {
    char *key;
    char **values; /* n values, text */
    int n;
    int is_axis; /* the JSON value was a list of values (sweeps) */
    int line;    /* line in the file (0: a flag) */
} setting;

typedef struct settings {
    setting *v;
    int n, cap;
    char origin[PLAB_PATH_MAX]; /* file name, or "" for flags */
} settings;

void settings_free(settings *s);
/* Adds (or, with replace, replaces) a scalar setting. */
void settings_add(settings *s, const char *key, const char *value, int line);
const setting *settings_get(const settings *s, const char *key);
/* "key 'lr' (exp.json line 4)" style location for messages. */
void settings_where(const settings *s, const setting *e, char *buf, size_t n);

/* Parses key=value arguments; validates keys against the schema (plus preset and method). */
int settings_from_args(settings *s, int argc, char **argv, char *err, size_t n);
/*
 * Reads a JSON experiment or sweep file: an object whose keys are schema keys, "preset" and
 * "method"; a nested "config" object (the form config.json has) is read as if its keys were
 * at the top; keys starting with "_" and the metadata keys of config.json are ignored.
 * Values are typed (numbers, strings, booleans, lists for int lists); a list of values makes
 * a sweep axis. Errors: malformed JSON (with line and column), duplicate keys, unknown keys,
 * wrong JSON types, values the schema refuses; each one line naming file, line and key.
 */
int settings_from_json_file(settings *s, const char *path, char *err, size_t n);

/* ------------------------------------------------------------------ resolve.c */

/* A fully resolved experiment: its config and the labels that name it. */
typedef struct resolved {
    plab_config cfg;
    char preset[64];        /* preset name */
    char method[64];        /* method label (a method table entry, e.g. "swr-magnitude-...") */
    char method_source[64]; /* whose table gave the method's settings: a preset name, or
                               "schema" (schema defaults), or "" for none */
    char note[320];         /* a warning for the user (empty if none) */
} resolved;

/*
 * Builds the config in the documented precedence: defaults < preset < method settings
 * < file < flags. The preset and method names come from the highest layer that names them
 * (flags, then file); the default preset is "synthetic", the default method "none".
 * PLAB_KERNELS (environment) applies above the method layer and below the file.
 * Returns EXIT_OK or EXIT_USAGE with a one-line message.
 */
int resolve(const settings *file, const settings *flags, resolved *out, char *err, size_t n);
/* Builds a resolved experiment from a run directory's config.json. */
int resolve_from_config_json(const char *path, resolved *out, char *err, size_t n);
/* Writes config.json's text (the contract in docs/CLI.md). kernels_used may be NULL. */
void config_json(sbuf *b, const resolved *r, const char *kernels_used);
/* A 64-bit hash of the config's canonical text and labels, without the engine keys. */
uint64_t resolved_hash(const resolved *r);
/* 0 if equal (ignoring the engine keys); else 1 and a description of the first difference. */
int resolved_diff(const resolved *a, const resolved *b, char *what, size_t n);

/* ------------------------------------------------------------------ run.c */

typedef struct run_opts {
    const char *out;   /* run directory */
    double ckpt_secs;  /* checkpoint when this much wall time passed (0: never by time) */
    int ckpt_tasks;    /* checkpoint every this many tasks (0: never by count) */
    int quiet;         /* print nothing on stdout */
    int json_progress; /* one JSON object per line on stdout */
    int progress;      /* -1 auto (a terminal), 0 off, 1 on */
    int dry_run;       /* print config.json and stop */
    uint64_t mem_limit; /* refuse runs needing more bytes (0: the machine's physical memory) */
    int no_mem_limit;   /* --memory-limit none */
    const char *argv0;
} run_opts;

/* Parses a size such as "8G", "512MiB", "1.5GB", "1000000" (binary multiples); 0 on success. */
int parse_size(const char *s, uint64_t *out);
/* "1.5 TiB", "74.5 GiB", "512.0 MiB", "12.0 KiB", "100 bytes". */
void fmt_size(char *buf, size_t n, uint64_t bytes);
/* The memory a run may use by default: physical memory, or a smaller address-space or data
 * rlimit; what it is in `what` ("the physical memory", ...). 0 if unknown. */
uint64_t default_mem_limit(char *what, size_t n);

void run_opts_default(run_opts *o);
/* Runs (or resumes) an experiment into o->out. Returns an exit code. */
int run_experiment(const resolved *r, const run_opts *o);
/* Parses the shared run flags at argv[*i] (advancing *i); 1 if consumed, 0 if not,
 * -1 on error (message in err). */
int run_opts_parse(run_opts *o, int argc, char **argv, int *i, char *err, size_t n);

/* ------------------------------------------------------------------ commands */

int cmd_run(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_cell(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_slurm(int argc, char **argv);
int cmd_summarize(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_presets(int argc, char **argv);
int cmd_methods(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_problems(int argc, char **argv);

/* ------------------------------------------------------------------ results.c */

/* One run directory as summarize and plot see it. */
typedef struct run_info {
    char dir[PLAB_PATH_MAX];
    resolved res;
    int done;      /* DONE marker present */
    int diverged;  /* DIVERGED marker present */
    char *summary; /* summary.json text (NULL when absent) */
} run_info;

/* A setting over seeds: runs whose configs differ only by `seed` (and data_dir, engine keys). */
typedef struct run_group {
    char label[256];
    int *runs; /* indices into the run list, sorted by seed */
    int n;
} run_group;

typedef struct run_set {
    run_info *runs;
    int n, cap;
    run_group *groups;
    int ngroups;
} run_set;

/* Finds run directories (with config.json) under each path, up to a few levels deep, and
 * groups them. Directories are visited in sorted order, so the result is deterministic. */
int run_set_load(run_set *s, int npaths, char **paths, char *err, size_t n);
void run_set_free(run_set *s);

#endif
