/*
 * cmd_plot.c: `plab plot DIR... --out fig.svg`: per-task curves of a tasks.csv column (online
 * accuracy by default), one line per setting (runs grouped over seeds as in summarize), the
 * mean with a ±1 standard-error band, like the paper's figures. The SVG is written by hand:
 * Okabe-Ito colours (colour-blind safe) and a dash pattern per line, so lines stay apart in
 * grey print too. Unfinished runs contribute the tasks they have.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const palette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                      "#E69F00", "#56B4E9", "#000000", "#F0E442"};
static const char *const dashes[] = {"", "7 3", "2 2", "9 3 2 3", "4 4", "1 3", "12 4", "6 2 2 2"};

typedef struct series {
    double *mean, *lo, *hi; /* per bin; NaN where no run reached it */
    int nbins;
} series;

/* Reads one column of tasks.csv into values[task] (NaN where missing). */
static int read_column(const char *dir, const char *column, double **out, int *ntasks, char *err,
                       size_t n)
{
    char p[PLAB_PATH_MAX + 32];
    path_join(p, sizeof p, dir, "tasks.csv");
    char *text;
    size_t len;
    *out = NULL;
    *ntasks = 0;
    if (read_file(p, &text, &len, err, n) != 0)
        return -1;
    char *line = text, *nl = strchr(line, '\n');
    if (!nl) {
        free(text);
        return 0;
    }
    *nl = 0;
    int col = -1, c = 0;
    for (char *tok = line, *end; tok; tok = end ? end + 1 : NULL, c++) {
        end = strchr(tok, ',');
        if (end)
            *end = 0;
        if (strcmp(tok, column) == 0)
            col = c;
    }
    if (col < 0) {
        snprintf(err, n, "%s has no column '%s'", p, column);
        free(text);
        return -1;
    }
    int cap = 0;
    double *v = NULL;
    for (line = nl + 1; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl)
            break; /* a partial last line */
        *nl = 0;
        int task = atoi(line);
        char *f = line;
        for (int k = 0; k < col && f; k++) {
            f = strchr(f, ',');
            if (f)
                f++;
        }
        double x = f ? strtod(f, NULL) : NAN;
        if (task < 0 || task > 100000000)
            continue;
        if (task >= cap) {
            int nc = cap ? cap : 64;
            while (nc <= task)
                nc *= 2;
            v = xrealloc(v, sizeof(double) * (size_t)nc);
            for (int k = cap; k < nc; k++)
                v[k] = NAN;
            cap = nc;
        }
        v[task] = x;
        if (task + 1 > *ntasks)
            *ntasks = task + 1;
    }
    free(text);
    *out = v;
    return 0;
}

static double nice_step(double range, int target)
{
    double raw = range / target;
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    double nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
    return nf * mag;
}

static void xml_text(sbuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '&')
            sb_puts(b, "&amp;");
        else if (*s == '<')
            sb_puts(b, "&lt;");
        else if (*s == '>')
            sb_puts(b, "&gt;");
        else if (*s == '"')
            sb_puts(b, "&quot;");
        else
            sb_put(b, s, 1);
    }
}

static void fmt_tick(char *buf, size_t n, double v, double step)
{
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (dec > 6)
        dec = 6;
    snprintf(buf, n, "%.*f", dec, fabs(v) < step * 1e-6 ? 0.0 : v);
}

int cmd_plot(int argc, char **argv)
{
    const char *out = NULL, *column = "online_accuracy", *title = NULL;
    int bin = 1, npaths = 0;
    double ymin = NAN, ymax = NAN;
    char **paths = xmalloc(sizeof(char *) * (size_t)(argc + 1));
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if ((strcmp(a, "--out") == 0 || strcmp(a, "-o") == 0) && has)
            out = argv[++i];
        else if (strcmp(a, "--metric") == 0 && has)
            column = argv[++i];
        else if (strcmp(a, "--title") == 0 && has)
            title = argv[++i];
        else if (strcmp(a, "--bin") == 0 && has)
            bin = atoi(argv[++i]);
        else if (strcmp(a, "--ymin") == 0 && has)
            ymin = atof(argv[++i]);
        else if (strcmp(a, "--ymax") == 0 && has)
            ymax = atof(argv[++i]);
        else if (a[0] == '-') {
            fprintf(stderr, "plab plot: unknown option or missing value '%s'\n", a);
            free(paths);
            return EXIT_USAGE;
        } else
            paths[npaths++] = argv[i];
    }
    if (!out || npaths == 0 || bin < 1) {
        fprintf(stderr, "usage: plab plot DIR... --out fig.svg [--metric COLUMN] [--bin TASKS] "
                        "[--title T] [--ymin Y] [--ymax Y]\n");
        free(paths);
        return EXIT_USAGE;
    }
    run_set s;
    char err[1024];
    int rc = run_set_load(&s, npaths, paths, err, sizeof err);
    free(paths);
    if (rc != EXIT_OK) {
        fprintf(stderr, "plab plot: %s\n", err);
        return rc;
    }
    int pct = strcmp(column, "online_accuracy") == 0;
    double scale = pct ? 100.0 : 1.0;
    series *ser = xmalloc(sizeof(series) * (size_t)s.ngroups);
    int maxbins = 0;
    double lo = INFINITY, hi = -INFINITY;
    for (int g = 0; g < s.ngroups; g++) {
        const run_group *gr = &s.groups[g];
        double **runs = xmalloc(sizeof(double *) * (size_t)gr->n);
        int *nb = xmalloc(sizeof(int) * (size_t)gr->n), most = 0;
        for (int k = 0; k < gr->n; k++) {
            double *v;
            int nt;
            if (read_column(s.runs[gr->runs[k]].dir, column, &v, &nt, err, sizeof err) != 0) {
                fprintf(stderr, "plab plot: %s\n", err);
                for (int j = 0; j < k; j++)
                    free(runs[j]);
                free(runs);
                free(nb);
                free(ser);
                run_set_free(&s);
                return EXIT_USAGE;
            }
            /* bin means per run (a bin needs all its tasks) */
            nb[k] = nt / bin;
            runs[k] = xmalloc(sizeof(double) * (size_t)(nb[k] + 1));
            for (int b = 0; b < nb[k]; b++) {
                double sum = 0;
                for (int t = b * bin; t < (b + 1) * bin; t++)
                    sum += v[t];
                runs[k][b] = sum / bin * scale;
            }
            most = nb[k] > most ? nb[k] : most;
            free(v);
        }
        series *S = &ser[g];
        S->nbins = most;
        S->mean = xmalloc(sizeof(double) * (size_t)(most + 1));
        S->lo = xmalloc(sizeof(double) * (size_t)(most + 1));
        S->hi = xmalloc(sizeof(double) * (size_t)(most + 1));
        for (int b = 0; b < most; b++) {
            double sum = 0, ss = 0;
            int cnt = 0;
            for (int k = 0; k < gr->n; k++)
                if (b < nb[k] && isfinite(runs[k][b])) {
                    sum += runs[k][b];
                    cnt++;
                }
            double m = cnt ? sum / cnt : NAN;
            for (int k = 0; k < gr->n; k++)
                if (b < nb[k] && isfinite(runs[k][b]))
                    ss += (runs[k][b] - m) * (runs[k][b] - m);
            double se = cnt > 1 ? sqrt(ss / (cnt - 1)) / sqrt((double)cnt) : 0;
            S->mean[b] = m;
            S->lo[b] = m - se;
            S->hi[b] = m + se;
            if (isfinite(m)) {
                lo = fmin(lo, S->lo[b]);
                hi = fmax(hi, S->hi[b]);
            }
        }
        maxbins = most > maxbins ? most : maxbins;
        for (int k = 0; k < gr->n; k++)
            free(runs[k]);
        free(runs);
        free(nb);
    }
    if (maxbins == 0 || !isfinite(lo)) {
        fprintf(stderr, "plab plot: no finished tasks with a value of '%s' yet\n", column);
        for (int g = 0; g < s.ngroups; g++) {
            free(ser[g].mean);
            free(ser[g].lo);
            free(ser[g].hi);
        }
        free(ser);
        run_set_free(&s);
        return EXIT_USAGE;
    }
    if (isfinite(ymin))
        lo = ymin;
    if (isfinite(ymax))
        hi = ymax;
    if (hi - lo < 1e-12) {
        hi += 0.5;
        lo -= 0.5;
    } else if (!isfinite(ymin) || !isfinite(ymax)) {
        double padv = 0.04 * (hi - lo);
        if (!isfinite(ymin))
            lo -= padv;
        if (!isfinite(ymax))
            hi += padv;
    }

    /* layout */
    int legend_chars = 10;
    for (int g = 0; g < s.ngroups; g++) {
        int l = (int)strlen(s.groups[g].label);
        legend_chars = l > legend_chars ? l : legend_chars;
    }
    const double W = 640, H = 400, ml = 70, mr = 20, mt = 48, mb = 56;
    /* legend width: line sample + label + " (n=..)"; at least the width of the band note */
    double LW = 56 + 6.6 * (legend_chars + 7);
    if (LW < 230)
        LW = 230;
    double pw = W - ml - mr, ph = H - mt - mb;
    double x0 = 1, x1 = maxbins > 1 ? maxbins : 2; /* bin index 1..maxbins */
#define SX(x) (ml + ((x)-x0) / (x1 - x0) * pw)
#define SY(y) (mt + (1 - ((y)-lo) / (hi - lo)) * ph)
    sbuf b = {0};
    sb_printf(&b,
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
              "viewBox=\"0 0 %.0f %.0f\" font-family=\"Helvetica, Arial, sans-serif\" "
              "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
              W + LW, H, W + LW, H);
    /* title */
    sbuf t = {0};
    if (title) {
        sb_puts(&t, title);
    } else {
        sb_printf(&t, "%s per task", pct ? "Online accuracy" : column);
        const char *preset = s.runs[s.groups[0].runs[0]].res.preset;
        int same = 1;
        for (int i = 0; i < s.n; i++)
            same &= strcmp(s.runs[i].res.preset, preset) == 0;
        if (same)
            sb_printf(&t, ", %s", preset);
    }
    sb_printf(&b, "<text x=\"%.1f\" y=\"28\" text-anchor=\"middle\" font-size=\"15\">",
              ml + pw / 2);
    xml_text(&b, t.p);
    sb_puts(&b, "</text>\n");
    sb_free(&t);
    /* grid and ticks */
    double ys = nice_step(hi - lo, 6);
    sb_puts(&b, "<g stroke=\"#e6e6e6\" stroke-width=\"1\">\n");
    for (double y = ceil(lo / ys) * ys; y <= hi + 1e-9 * ys; y += ys)
        sb_printf(&b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", ml, SY(y),
                  ml + pw, SY(y));
    sb_puts(&b, "</g>\n");
    sb_puts(&b, "<g fill=\"#333\">\n");
    for (double y = ceil(lo / ys) * ys; y <= hi + 1e-9 * ys; y += ys) {
        char tk[32];
        fmt_tick(tk, sizeof tk, y, ys);
        sb_printf(&b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">%s</text>\n", ml - 8,
                  SY(y) + 4, tk);
        sb_printf(&b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#333\"/>\n",
                  ml - 4, SY(y), ml, SY(y));
    }
    /* x ticks in tasks */
    double tmax = (double)maxbins * bin;
    double xs = nice_step(tmax > 1 ? tmax : 2, 8);
    if (xs < bin)
        xs = bin;
    for (double tv = xs; tv <= tmax + 1e-9; tv += xs) {
        double xb = tv / bin; /* bin index whose last task is tv */
        if (xb < x0)
            continue;
        char tk[32];
        fmt_tick(tk, sizeof tk, tv, xs);
        sb_printf(&b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">%s</text>\n", SX(xb),
                  mt + ph + 18, tk);
        sb_printf(&b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#333\"/>\n",
                  SX(xb), mt + ph, SX(xb), mt + ph + 4);
    }
    sb_puts(&b, "</g>\n");
    sb_printf(&b,
              "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" "
              "stroke=\"#333\"/>\n",
              ml, mt, pw, ph);
    sb_printf(&b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">Task%s</text>\n", ml + pw / 2,
              H - 14, bin > 1 ? " (bins of tasks)" : "");
    sb_printf(&b, "<text transform=\"translate(18 %.2f) rotate(-90)\" text-anchor=\"middle\">",
              mt + ph / 2);
    xml_text(&b, pct ? "Online accuracy (%)" : column);
    sb_puts(&b, "</text>\n");
    /* curves: bands first, then lines on top */
    sb_printf(&b,
              "<defs><clipPath id=\"plot\"><rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
              "height=\"%.2f\"/></clipPath></defs>\n<g clip-path=\"url(#plot)\">\n",
              ml, mt, pw, ph);
    for (int pass = 0; pass < 2; pass++)
        for (int g = 0; g < s.ngroups; g++) {
            const series *S = &ser[g];
            const char *colour = palette[g % 8];
            const char *dash = dashes[(g / 1) % 8];
            if (pass == 0) {
                /* the band: upper edge left to right, lower edge back */
                sb_printf(&b, "<path fill=\"%s\" fill-opacity=\"0.18\" stroke=\"none\" d=\"",
                          colour);
                int started = 0;
                for (int k = 0; k < S->nbins; k++)
                    if (isfinite(S->hi[k])) {
                        sb_printf(&b, "%s%.2f,%.2f", started ? " L" : "M", SX(k + 1.0),
                                  SY(S->hi[k]));
                        started = 1;
                    }
                for (int k = S->nbins - 1; k >= 0; k--)
                    if (isfinite(S->lo[k]))
                        sb_printf(&b, " L%.2f,%.2f", SX(k + 1.0), SY(S->lo[k]));
                sb_puts(&b, started ? " Z\"/>\n" : "\"/>\n");
            } else {
                sb_printf(&b,
                          "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\" "
                          "stroke-linejoin=\"round\"%s%s%s points=\"",
                          colour, dash[0] ? " stroke-dasharray=\"" : "", dash, dash[0] ? "\"" : "");
                for (int k = 0; k < S->nbins; k++)
                    if (isfinite(S->mean[k]))
                        sb_printf(&b, "%.2f,%.2f ", SX(k + 1.0), SY(S->mean[k]));
                sb_puts(&b, "\"/>\n");
            }
        }
    sb_puts(&b, "</g>\n");
    /* legend */
    double lx = W + 4, ly = mt + 6;
    sb_printf(&b,
              "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"white\" "
              "stroke=\"#bbb\"/>\n",
              lx - 4, ly - 4, LW - 12, 20.0 * s.ngroups + 22);
    for (int g = 0; g < s.ngroups; g++) {
        double y = ly + 12 + 20.0 * g;
        const char *dash = dashes[g % 8];
        sb_printf(&b,
                  "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" "
                  "stroke-width=\"2\"%s%s%s/>\n",
                  lx + 4, y, lx + 36, y, palette[g % 8], dash[0] ? " stroke-dasharray=\"" : "",
                  dash, dash[0] ? "\"" : "");
        sb_printf(&b, "<text x=\"%.2f\" y=\"%.2f\">", lx + 42, y + 4);
        xml_text(&b, s.groups[g].label);
        sb_printf(&b, " (n=%d)</text>\n", s.groups[g].n);
    }
    sb_printf(&b,
              "<text x=\"%.2f\" y=\"%.2f\" fill=\"#555\" font-size=\"10\">bands: ±1 standard "
              "error over seeds</text>\n",
              lx + 4, ly + 20.0 * s.ngroups + 12);
    sb_puts(&b, "</svg>\n");
#undef SX
#undef SY
    int wrc = write_file_atomic(out, b.p, b.n, err, sizeof err);
    if (wrc != 0)
        fprintf(stderr, "plab plot: %s\n", err);
    else
        printf("wrote %s (%d lines, %d tasks)\n", out, s.ngroups, maxbins * bin);
    sb_free(&b);
    for (int g = 0; g < s.ngroups; g++) {
        free(ser[g].mean);
        free(ser[g].lo);
        free(ser[g].hi);
    }
    free(ser);
    run_set_free(&s);
    return wrc == 0 ? EXIT_OK : EXIT_FAIL;
}
