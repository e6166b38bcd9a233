/*
 * cmd_run.c: `plab run` (one experiment from a preset, a method, a JSON file and key=value
 * flags) and `plab resume DIR` (continue a run directory from its own config.json).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Parses run's flags into a flag layer (preset, method, seed, tasks, key=value) and options. */
static int parse_run_args(int argc, char **argv, settings *flags, const char **config_file,
                          run_opts *o, char *err, size_t n)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int r = run_opts_parse(o, argc, argv, &i, err, n);
        if (r < 0)
            return -1;
        if (r > 0)
            continue;
        static const struct {
            const char *flag, *key;
        } alias[] = {{"--preset", "preset"}, {"--method", "method"}, {"--seed", "seed"},
                     {"--tasks", "tasks"},   {"-p", "preset"},       {"-m", "method"}};
        int matched = 0;
        for (size_t k = 0; k < sizeof alias / sizeof alias[0]; k++) {
            if (strcmp(a, alias[k].flag) != 0)
                continue;
            if (i + 1 >= argc) {
                snprintf(err, n, "%s needs a value", a);
                return -1;
            }
            char pair[PLAB_PATH_MAX + 64];
            snprintf(pair, sizeof pair, "%s=%s", alias[k].key, argv[++i]);
            char *one[1] = {pair};
            if (settings_from_args(flags, 1, one, err, n) != 0)
                return -1;
            matched = 1;
            break;
        }
        if (matched)
            continue;
        if (strcmp(a, "--config") == 0 || strcmp(a, "-c") == 0) {
            if (i + 1 >= argc) {
                snprintf(err, n, "%s needs a file", a);
                return -1;
            }
            *config_file = argv[++i];
            continue;
        }
        if (a[0] == '-') {
            snprintf(err, n, "unknown option '%s' (see `plab help`)", a);
            return -1;
        }
        if (settings_from_args(flags, 1, &argv[i], err, n) != 0)
            return -1;
    }
    return 0;
}

int cmd_run(int argc, char **argv)
{
    settings flags = {0}, file = {0};
    const char *config_file = NULL;
    run_opts o;
    run_opts_default(&o);
    char err[1024];
    int rc = EXIT_USAGE;
    if (parse_run_args(argc, argv, &flags, &config_file, &o, err, sizeof err) != 0) {
        fprintf(stderr, "plab run: %s\n", err);
        goto out;
    }
    if (config_file && settings_from_json_file(&file, config_file, err, sizeof err) != 0) {
        fprintf(stderr, "plab run: %s\n", err);
        goto out;
    }
    resolved res;
    rc = resolve(&file, &flags, &res, err, sizeof err);
    if (rc != EXIT_OK) {
        fprintf(stderr, "plab run: %s\n", err);
        goto out;
    }
    char out[PLAB_PATH_MAX];
    if (!o.out) {
        snprintf(out, sizeof out, "runs/%s-%s-seed%llu-%06llx", res.preset, res.method,
                 (unsigned long long)res.cfg.seed,
                 (unsigned long long)(resolved_hash(&res) & 0xffffff));
        o.out = out;
    }
    rc = run_experiment(&res, &o);
out:
    settings_free(&flags);
    settings_free(&file);
    return rc;
}

int cmd_resume(int argc, char **argv)
{
    run_opts o;
    run_opts_default(&o);
    char err[1024];
    const char *dir = NULL;
    for (int i = 0; i < argc; i++) {
        int r = run_opts_parse(&o, argc, argv, &i, err, sizeof err);
        if (r < 0) {
            fprintf(stderr, "plab resume: %s\n", err);
            return EXIT_USAGE;
        }
        if (r > 0)
            continue;
        if (argv[i][0] == '-' || dir) {
            fprintf(stderr, "plab resume: unexpected argument '%s'\n", argv[i]);
            return EXIT_USAGE;
        }
        dir = argv[i];
    }
    if (!dir && o.out)
        dir = o.out;
    if (!dir) {
        fprintf(stderr, "usage: plab resume DIR [--quiet] [--json-progress]\n");
        return EXIT_USAGE;
    }
    char p[PLAB_PATH_MAX + 32];
    path_join(p, sizeof p, dir, "config.json");
    if (!path_exists(p)) {
        fprintf(stderr, "plab resume: %s has no config.json: not a plab run directory\n", dir);
        return EXIT_USAGE;
    }
    resolved res;
    if (resolve_from_config_json(p, &res, err, sizeof err) != EXIT_OK) {
        fprintf(stderr, "plab resume: %s\n", err);
        return EXIT_USAGE;
    }
    char msg[512];
    const char *env = getenv("PLAB_KERNELS");
    if (env && *env && plab_config_set(&res.cfg, "kernels", env, msg, sizeof msg) != PLAB_OK) {
        fprintf(stderr, "plab resume: PLAB_KERNELS: %s\n", msg);
        return EXIT_USAGE;
    }
    if (plab_config_check(&res.cfg, msg, sizeof msg) != PLAB_OK) {
        fprintf(stderr, "plab resume: %s: %s\n", p, msg);
        return EXIT_USAGE;
    }
    o.out = dir;
    return run_experiment(&res, &o);
}
