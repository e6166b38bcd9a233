/*
 * results.c: finding run directories and grouping them into settings over seeds, for
 * `plab summarize` and `plab plot`. A group is every run whose resolved configuration is the
 * same except for `seed` (and `data_dir` and the engine keys such as `kernels`, which do not
 * change results). Its label
 * is "preset / method", followed by the keys that tell it apart from other groups of the same
 * preset and method.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int ignored_key(const plab_key_info *k)
{
    return strcmp(k->key, "seed") == 0 || strcmp(k->key, "data_dir") == 0 ||
           strcmp(k->group, "engine") == 0;
}

static void add_run(run_set *s, const char *dir)
{
    char p[PLAB_PATH_MAX + 32], err[512];
    run_info ri;
    memset(&ri, 0, sizeof ri);
    snprintf(ri.dir, sizeof ri.dir, "%s", dir);
    path_join(p, sizeof p, dir, "config.json");
    if (resolve_from_config_json(p, &ri.res, err, sizeof err) != EXIT_OK) {
        fprintf(stderr, "plab: skipping %s: %s\n", dir, err);
        return;
    }
    path_join(p, sizeof p, dir, "DONE");
    ri.done = path_exists(p);
    path_join(p, sizeof p, dir, "DIVERGED");
    ri.diverged = path_exists(p);
    if (ri.done) {
        path_join(p, sizeof p, dir, "summary.json");
        if (read_file(p, &ri.summary, NULL, err, sizeof err) != 0)
            ri.summary = NULL;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->runs = xrealloc(s->runs, sizeof(run_info) * (size_t)s->cap);
    }
    s->runs[s->n++] = ri;
}

static void scan(run_set *s, const char *dir, int depth)
{
    char p[PLAB_PATH_MAX + 32];
    path_join(p, sizeof p, dir, "config.json");
    if (path_exists(p)) {
        add_run(s, dir);
        return;
    }
    if (depth == 0)
        return;
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        if (nm[0] != '.') {
            char sub[PLAB_PATH_MAX];
            path_join(sub, sizeof sub, dir, nm);
            if (is_dir(sub))
                scan(s, sub, depth - 1);
        }
        free(names[i]);
    }
    if (n >= 0)
        free(names);
}

static void group_key(const resolved *r, sbuf *b)
{
    sb_printf(b, "%s\n%s\n", r->preset, r->method);
    for (int i = 0; i < plab_config_num_keys(); i++) {
        const plab_key_info *k = plab_config_key(i);
        if (ignored_key(k))
            continue;
        char v[PLAB_PATH_MAX + 8];
        plab_config_get(&r->cfg, k->key, v, sizeof v);
        sb_printf(b, "%s=%s\n", k->key, v);
    }
}

static const run_set *g_sort_set;

static int cmp_seed(const void *a, const void *b)
{
    const run_info *x = &g_sort_set->runs[*(const int *)a];
    const run_info *y = &g_sort_set->runs[*(const int *)b];
    if (x->res.cfg.seed != y->res.cfg.seed)
        return x->res.cfg.seed < y->res.cfg.seed ? -1 : 1;
    return strcmp(x->dir, y->dir);
}

static int cmp_label(const void *a, const void *b)
{
    return strcmp(((const run_group *)a)->label, ((const run_group *)b)->label);
}

int run_set_load(run_set *s, int npaths, char **paths, char *err, size_t n)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < npaths; i++) {
        if (!is_dir(paths[i])) {
            snprintf(err, n, "%s is not a directory", paths[i]);
            return EXIT_USAGE;
        }
        scan(s, paths[i], 4);
    }
    if (s->n == 0) {
        snprintf(err, n, "no run directories (with config.json) under the given paths");
        return EXIT_USAGE;
    }
    /* group by the configuration without the seed */
    char **keys = xmalloc(sizeof(char *) * (size_t)s->n);
    int *group_of = xmalloc(sizeof(int) * (size_t)s->n);
    s->groups = xmalloc(sizeof(run_group) * (size_t)s->n);
    for (int i = 0; i < s->n; i++) {
        sbuf b = {0};
        group_key(&s->runs[i].res, &b);
        keys[i] = b.p;
        group_of[i] = -1;
        for (int g = 0; g < s->ngroups; g++) {
            int first = s->groups[g].runs[0];
            if (strcmp(keys[first], keys[i]) == 0) {
                group_of[i] = g;
                break;
            }
        }
        if (group_of[i] < 0) {
            run_group *g = &s->groups[s->ngroups];
            memset(g, 0, sizeof *g);
            g->runs = xmalloc(sizeof(int) * (size_t)s->n);
            group_of[i] = s->ngroups++;
        }
        run_group *g = &s->groups[group_of[i]];
        g->runs[g->n++] = i;
    }
    /* labels: preset / method, plus the keys that differ within the same preset and method */
    for (int g = 0; g < s->ngroups; g++) {
        const resolved *r = &s->runs[s->groups[g].runs[0]].res;
        sbuf lab = {0};
        sb_printf(&lab, "%s / %s", r->preset, r->method);
        for (int i = 0; i < plab_config_num_keys(); i++) {
            const plab_key_info *k = plab_config_key(i);
            if (ignored_key(k))
                continue;
            char v[PLAB_PATH_MAX + 8], w[PLAB_PATH_MAX + 8];
            plab_config_get(&r->cfg, k->key, v, sizeof v);
            int differs = 0;
            for (int h = 0; h < s->ngroups && !differs; h++) {
                const resolved *q = &s->runs[s->groups[h].runs[0]].res;
                if (h == g || strcmp(q->preset, r->preset) || strcmp(q->method, r->method))
                    continue;
                plab_config_get(&q->cfg, k->key, w, sizeof w);
                differs = strcmp(v, w) != 0;
            }
            if (differs)
                sb_printf(&lab, " %s=%s", k->key, v);
        }
        snprintf(s->groups[g].label, sizeof s->groups[g].label, "%s", lab.p);
        sb_free(&lab);
        g_sort_set = s;
        qsort(s->groups[g].runs, (size_t)s->groups[g].n, sizeof(int), cmp_seed);
    }
    qsort(s->groups, (size_t)s->ngroups, sizeof(run_group), cmp_label);
    for (int i = 0; i < s->n; i++)
        free(keys[i]);
    free(keys);
    free(group_of);
    return EXIT_OK;
}

void run_set_free(run_set *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->runs[i].summary);
    for (int g = 0; g < s->ngroups; g++)
        free(s->groups[g].runs);
    free(s->runs);
    free(s->groups);
    memset(s, 0, sizeof *s);
}
