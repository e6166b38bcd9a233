/*
 * cmd_summarize.c: `plab summarize DIR...`: one row per setting over its seeds, mean ± standard
 * error (sample standard deviation with ddof 1, divided by sqrt(n); ALGORITHMS §7.1) of each
 * finished run's summary.json fields, as a text table, JSON (--json) or CSV (--csv).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

typedef struct metric {
    const char *field;
    const char *title;
    double scale;
    int precision;
    int loss_kind; /* 1: shown for regression problems instead of the accuracies */
} metric;

static const metric metrics[] = {
    {"online_accuracy", "online acc (%)", 100, 2, 0},
    {"online_accuracy_last10", "last 10% (%)", 100, 2, 0},
    {"online_loss", "online loss", 1, 4, 1},
    {"online_loss_last10", "last 10% loss", 1, 4, 1},
    {"dead_units_pct_last10", "dead units (%)", 1, 2, -1},
    {"stable_rank_last10", "stable rank", 1, 1, -1},
    {"param_abs_last10", "|theta|", 1, 4, -1},
    {"reinit_pct_per_task", "reinit/task (%)", 1, 3, -1},
};
#define NMETRICS ((int)(sizeof metrics / sizeof metrics[0]))

typedef struct mstat {
    double mean, se;
    int n;
} mstat;

static mstat stat_of(const double *x, int n)
{
    mstat s = {NAN, NAN, 0};
    double sum = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i])) {
            sum += x[i];
            s.n++;
        }
    if (s.n == 0)
        return s;
    s.mean = sum / s.n;
    if (s.n > 1) {
        double ss = 0;
        for (int i = 0; i < n; i++)
            if (isfinite(x[i]))
                ss += (x[i] - s.mean) * (x[i] - s.mean);
        s.se = sqrt(ss / (s.n - 1)) / sqrt((double)s.n);
    }
    return s;
}

typedef struct row {
    const run_group *g;
    const char *preset, *method;
    int runs, diverged, incomplete;
    mstat st[NMETRICS];
    uint64_t *seeds;
    int nseeds;
} row;

static void cell_text(char *buf, size_t n, mstat s, const metric *m)
{
    if (s.n == 0)
        snprintf(buf, n, "-");
    else if (isfinite(s.se))
        snprintf(buf, n, "%.*f ± %.*f", m->precision, s.mean * m->scale, m->precision,
                 s.se * m->scale);
    else
        snprintf(buf, n, "%.*f", m->precision, s.mean * m->scale);
}

/* Pads to a display width (the ± sign is one column, two bytes). */
static void pad(sbuf *b, const char *s, int width, int right)
{
    int len = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        len += (*p & 0xc0) != 0x80;
    if (right)
        for (int i = len; i < width; i++)
            sb_puts(b, " ");
    sb_puts(b, s);
    if (!right)
        for (int i = len; i < width; i++)
            sb_puts(b, " ");
}

int cmd_summarize(int argc, char **argv)
{
    int json = 0, csv = 0, npaths = 0;
    char **paths = xmalloc(sizeof(char *) * (size_t)(argc + 1));
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--csv") == 0)
            csv = 1;
        else if (argv[i][0] == '-') {
            fprintf(stderr, "plab summarize: unknown option '%s'\n", argv[i]);
            free(paths);
            return EXIT_USAGE;
        } else
            paths[npaths++] = argv[i];
    }
    if (npaths == 0) {
        fprintf(stderr, "usage: plab summarize DIR... [--json | --csv]\n");
        free(paths);
        return EXIT_USAGE;
    }
    run_set s;
    char err[1024];
    int rc = run_set_load(&s, npaths, paths, err, sizeof err);
    free(paths);
    if (rc != EXIT_OK) {
        fprintf(stderr, "plab summarize: %s\n", err);
        return rc;
    }
    row *rows = xmalloc(sizeof(row) * (size_t)s.ngroups);
    double *vals = xmalloc(sizeof(double) * (size_t)(s.n + 1));
    int any_acc = 0, incomplete_total = 0;
    for (int g = 0; g < s.ngroups; g++) {
        row *r = &rows[g];
        memset(r, 0, sizeof *r);
        const run_group *gr = &s.groups[g];
        r->g = gr;
        r->preset = s.runs[gr->runs[0]].res.preset;
        r->method = s.runs[gr->runs[0]].res.method;
        r->seeds = xmalloc(sizeof(uint64_t) * (size_t)gr->n);
        cJSON **docs = xmalloc(sizeof(cJSON *) * (size_t)gr->n);
        for (int k = 0; k < gr->n; k++) {
            const run_info *ri = &s.runs[gr->runs[k]];
            docs[k] = ri->summary ? cJSON_Parse(ri->summary) : NULL;
            if (docs[k]) {
                r->runs++;
                r->seeds[r->nseeds++] = ri->res.cfg.seed;
            } else if (ri->diverged) {
                r->diverged++;
            } else {
                r->incomplete++;
            }
        }
        incomplete_total += r->incomplete;
        for (int m = 0; m < NMETRICS; m++) {
            int nv = 0;
            for (int k = 0; k < gr->n; k++) {
                if (!docs[k])
                    continue;
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(docs[k], metrics[m].field);
                vals[nv++] = cJSON_IsNumber(v) ? v->valuedouble : NAN;
            }
            r->st[m] = stat_of(vals, nv);
        }
        any_acc |= r->st[0].n > 0;
        for (int k = 0; k < gr->n; k++)
            cJSON_Delete(docs[k]);
        free(docs);
    }
    sbuf b = {0};
    if (json) {
        sb_puts(&b, "[");
        for (int g = 0; g < s.ngroups; g++) {
            const row *r = &rows[g];
            sb_printf(&b, "%s\n  {\"label\": ", g ? "," : "");
            sb_json_str(&b, r->g->label);
            sb_puts(&b, ", \"preset\": ");
            sb_json_str(&b, r->preset);
            sb_puts(&b, ", \"method\": ");
            sb_json_str(&b, r->method);
            sb_printf(&b, ", \"runs\": %d, \"diverged\": %d, \"incomplete\": %d, \"seeds\": [",
                      r->runs, r->diverged, r->incomplete);
            for (int k = 0; k < r->nseeds; k++)
                sb_printf(&b, "%s%llu", k ? ", " : "", (unsigned long long)r->seeds[k]);
            sb_puts(&b, "]");
            for (int m = 0; m < NMETRICS; m++) {
                sb_printf(&b, ",\n   \"%s\": {\"mean\": ", metrics[m].field);
                sb_json_double(&b, r->st[m].mean);
                sb_puts(&b, ", \"se\": ");
                sb_json_double(&b, r->st[m].se);
                sb_printf(&b, ", \"n\": %d}", r->st[m].n);
            }
            sb_puts(&b, "}");
        }
        sb_puts(&b, "\n]\n");
    } else if (csv) {
        sb_puts(&b, "label,preset,method,runs,diverged,incomplete");
        for (int m = 0; m < NMETRICS; m++)
            sb_printf(&b, ",%s_mean,%s_se", metrics[m].field, metrics[m].field);
        sb_puts(&b, "\n");
        for (int g = 0; g < s.ngroups; g++) {
            const row *r = &rows[g];
            sb_printf(&b, "\"%s\",%s,%s,%d,%d,%d", r->g->label, r->preset, r->method, r->runs,
                      r->diverged, r->incomplete);
            for (int m = 0; m < NMETRICS; m++) {
                sb_puts(&b, ",");
                sb_double(&b, r->st[m].mean);
                sb_puts(&b, ",");
                sb_double(&b, r->st[m].se);
            }
            sb_puts(&b, "\n");
        }
    } else {
        int wl = 7;
        for (int g = 0; g < s.ngroups; g++) {
            int l = (int)strlen(rows[g].g->label);
            wl = l > wl ? l : wl;
        }
        int show[NMETRICS];
        for (int m = 0; m < NMETRICS; m++)
            show[m] = metrics[m].loss_kind < 0 || (metrics[m].loss_kind == 1) == !any_acc;
        pad(&b, "setting", wl, 0);
        sb_puts(&b, "  runs");
        for (int m = 0; m < NMETRICS; m++)
            if (show[m]) {
                sb_puts(&b, "  ");
                pad(&b, metrics[m].title, 17, 1);
            }
        sb_puts(&b, "\n");
        for (int g = 0; g < s.ngroups; g++) {
            const row *r = &rows[g];
            pad(&b, r->g->label, wl, 0);
            sb_printf(&b, "  %4d", r->runs);
            for (int m = 0; m < NMETRICS; m++)
                if (show[m]) {
                    char cell[64];
                    cell_text(cell, sizeof cell, r->st[m], &metrics[m]);
                    sb_puts(&b, "  ");
                    pad(&b, cell, 17, 1);
                }
            if (r->diverged)
                sb_printf(&b, "  (%d diverged)", r->diverged);
            if (r->incomplete)
                sb_printf(&b, "  (%d incomplete)", r->incomplete);
            sb_puts(&b, "\n");
        }
        sb_puts(&b, "mean ± standard error over seeds (sample std, ddof 1, / sqrt(runs)); "
                    "'last 10%' and the probe metrics are means over the last 10% of tasks\n");
    }
    fputs(b.p, stdout);
    sb_free(&b);
    if (incomplete_total && !json && !csv)
        fprintf(stderr, "plab summarize: %d run(s) not finished are left out\n", incomplete_total);
    for (int g = 0; g < s.ngroups; g++)
        free(rows[g].seeds);
    free(rows);
    free(vals);
    run_set_free(&s);
    return EXIT_OK;
}
