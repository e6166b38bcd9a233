/*
 * plab_web.c: the WebAssembly bindings of the web page, a thin shell over the core's config and
 * run API (core/include/plab.h).
 *
 * Only numbers and pointers cross the boundary: strings are NUL-terminated UTF-8 in wasm memory,
 * rows are records of doubles in a buffer JavaScript reads after each call. The one JavaScript
 * module that calls these functions is web/engine.js; the exported names are listed in
 * wasm/exports.txt (checked in, like sql.js).
 *
 * Errors: every fallible call returns a plab_status (0 = ok) and keeps a one-line message on its
 * handle (plab_web_config_error, plab_web_run_error) that engine.js turns into a thrown Error.
 * Nothing here prints, exits or aborts.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plab.h"
#include "rows.h"

#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#define PLAB_WEB_API EMSCRIPTEN_KEEPALIVE
#else
#define PLAB_WEB_API
#endif

/* ---------------------------------------------------------------- version and schema */

PLAB_WEB_API const char *plab_web_version(void) { return PLAB_VERSION_STRING; }

/* 1 when this build's kernels use wasm SIMD128, 0 for the scalar build. */
PLAB_WEB_API int plab_web_simd(void) { return plab_kernels_available(PLAB_KERNELS_WASM); }

typedef struct text {
    char *buf;
    size_t len, cap;
    int failed;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (t->len + n + 1 > cap)
            cap *= 2;
        char *b = realloc(t->buf, cap);
        if (!b) {
            t->failed = 1;
            return;
        }
        t->buf = b;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = 0;
}

static void puts_(text *t, const char *s) { put(t, s, strlen(s)); }

/* A JSON string literal (the schema's texts are ASCII; control characters are escaped). */
static void put_json_str(text *t, const char *s)
{
    puts_(t, "\"");
    for (; s && *s; s++) {
        char e[8];
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            e[0] = '\\';
            e[1] = (char)ch;
            put(t, e, 2);
        } else if (ch < 0x20) {
            snprintf(e, sizeof e, "\\u%04x", ch);
            puts_(t, e);
        } else {
            put(t, (const char *)&ch, 1);
        }
    }
    puts_(t, "\"");
}

/* A JSON number, or null for a non-finite bound. %.17g round-trips every double. */
static void put_json_num(text *t, double v)
{
    char b[40];
    if (isfinite(v))
        snprintf(b, sizeof b, "%.17g", v);
    else
        snprintf(b, sizeof b, "null");
    puts_(t, b);
}

static const char *const key_types[] = {"int", "u64", "real", "bool", "enum", "int_list", "string"};

/* Builds the schema once; NULL if out of memory. */
static char *build_schema(void)
{
    text t = {0};
    plab_config c;
    plab_config_default(&c);
    puts_(&t, "{\"version\":");
    put_json_str(&t, PLAB_VERSION_STRING);
    puts_(&t, ",\"max_hidden\":");
    put_json_num(&t, PLAB_MAX_HIDDEN);
    puts_(&t, ",\"keys\":[");
    for (int i = 0; i < plab_config_num_keys(); i++) {
        const plab_key_info *k = plab_config_key(i);
        char def[PLAB_PATH_MAX + 8];
        if (plab_config_get(&c, k->key, def, sizeof def) != PLAB_OK)
            def[0] = 0;
        puts_(&t, i ? ",{\"key\":" : "{\"key\":");
        put_json_str(&t, k->key);
        puts_(&t, ",\"type\":");
        put_json_str(&t, (unsigned)k->type < sizeof key_types / sizeof key_types[0]
                             ? key_types[k->type]
                             : "unknown");
        puts_(&t, ",\"group\":");
        put_json_str(&t, k->group);
        puts_(&t, ",\"default\":");
        put_json_str(&t, def);
        if (k->type == PLAB_KEY_INT || k->type == PLAB_KEY_REAL || k->type == PLAB_KEY_INT_LIST) {
            puts_(&t, ",\"min\":");
            put_json_num(&t, k->min);
            puts_(&t, ",\"max\":");
            put_json_num(&t, k->max);
            puts_(&t, k->min_open ? ",\"min_open\":true" : ",\"min_open\":false");
            puts_(&t, k->max_open ? ",\"max_open\":true" : ",\"max_open\":false");
        }
        if (k->choices) {
            puts_(&t, ",\"choices\":[");
            for (int j = 0; k->choices[j]; j++) {
                if (j)
                    puts_(&t, ",");
                put_json_str(&t, k->choices[j]);
            }
            puts_(&t, "]");
        }
        puts_(&t, ",\"help\":");
        put_json_str(&t, k->help);
        puts_(&t, "}");
    }
    puts_(&t, "],\"problems\":[");
    for (int i = 0; i < plab_problem_count(); i++) {
        const char *ds = plab_problem_dataset(plab_problem_name(i));
        puts_(&t, i ? ",{\"name\":" : "{\"name\":");
        put_json_str(&t, plab_problem_name(i));
        puts_(&t, ",\"help\":");
        put_json_str(&t, plab_problem_help(i) ? plab_problem_help(i) : "");
        puts_(&t, ",\"dataset\":");
        if (ds)
            put_json_str(&t, ds);
        else
            puts_(&t, "null");
        puts_(&t, "}");
    }
    puts_(&t, "],\"rows\":{\"window\":");
    put_json_str(&t, plab_rows_window_names);
    puts_(&t, ",\"task\":");
    put_json_str(&t, plab_rows_task_names);
    puts_(&t, ",\"event\":");
    put_json_str(&t, plab_rows_event_names);
    puts_(&t, "}}");
    if (t.failed) {
        free(t.buf);
        return NULL;
    }
    return t.buf;
}

/*
 * The whole configuration schema as JSON: every key (type, group, default as canonical text,
 * range, choices, help), the registered problems (name, help, dataset or null) and the field
 * names of the three row kinds. Built on first call and kept; NULL only if out of memory.
 */
PLAB_WEB_API const char *plab_web_schema_json(void)
{
    static char *schema;
    if (!schema)
        schema = build_schema();
    return schema;
}

/* ---------------------------------------------------------------- configs */

typedef struct plab_web_config {
    plab_config c;
    char value[PLAB_PATH_MAX + 8]; /* the last plab_web_config_get */
    char err[512];
} plab_web_config;

/* A config filled with the defaults; NULL if out of memory. Release with _destroy. */
PLAB_WEB_API plab_web_config *plab_web_config_create(void)
{
    plab_web_config *w = calloc(1, sizeof *w);
    if (w)
        plab_config_default(&w->c);
    return w;
}

PLAB_WEB_API void plab_web_config_destroy(plab_web_config *w) { free(w); }

/* The message of the config's last failed call ("" if none). */
PLAB_WEB_API const char *plab_web_config_error(const plab_web_config *w)
{
    return w ? w->err : "no config";
}

/* Sets a key from its text form (plab_config_set). Returns a plab_status. */
PLAB_WEB_API int plab_web_config_set(plab_web_config *w, const char *key, const char *value)
{
    if (!w)
        return PLAB_E_INVALID;
    w->err[0] = 0;
    return plab_config_set(&w->c, key, value, w->err, sizeof w->err);
}

/* A key's canonical text, valid until the next call on w; NULL for an unknown key. */
PLAB_WEB_API const char *plab_web_config_get(plab_web_config *w, const char *key)
{
    if (!w || plab_config_get(&w->c, key, w->value, sizeof w->value) != PLAB_OK)
        return NULL;
    return w->value;
}

/* Cross-field validation (plab_config_check). Returns a plab_status. */
PLAB_WEB_API int plab_web_config_check(plab_web_config *w)
{
    if (!w)
        return PLAB_E_INVALID;
    w->err[0] = 0;
    return plab_config_check(&w->c, w->err, sizeof w->err);
}

/* ---------------------------------------------------------------- runs */

typedef struct rows {
    double *data; /* (count, width) */
    int count, cap, width;
} rows;

typedef struct plab_web_run {
    plab_run *run;
    rows rows[PLAB_ROWS_KINDS];
    int overflow; /* a row could not be stored */
    char hash[24];
    char err[512];
} plab_web_run;

/* A slot for one more record, or NULL when out of memory. */
static double *slot(plab_web_run *w, int kind)
{
    rows *r = &w->rows[kind];
    if (r->count == r->cap) {
        int cap = r->cap ? 2 * r->cap : 256;
        double *d = realloc(r->data, sizeof(double) * (size_t)cap * (size_t)r->width);
        if (!d) {
            w->overflow = 1;
            return NULL;
        }
        r->data = d;
        r->cap = cap;
    }
    return r->data + (size_t)r->count++ * (size_t)r->width;
}

static void on_window(void *ctx, const plab_window_row *row)
{
    double *d = slot(ctx, PLAB_ROWS_WINDOW);
    if (d)
        plab_rows_put_window(row, d);
}

static void on_task(void *ctx, const plab_task_row *row)
{
    double *d = slot(ctx, PLAB_ROWS_TASK);
    if (d)
        plab_rows_put_task(row, d);
}

static void on_event(void *ctx, const plab_event_row *row)
{
    double *d = slot(ctx, PLAB_ROWS_EVENT);
    if (d)
        plab_rows_put_event(row, d);
}

/*
 * Creates a run from a config (which the caller keeps and may destroy afterwards). On failure
 * returns NULL and leaves the core's one-line message in plab_web_config_error(w).
 * Problems that need a dataset are refused (the page loads none).
 */
PLAB_WEB_API plab_web_run *plab_web_run_create(plab_web_config *w)
{
    if (!w)
        return NULL;
    w->err[0] = 0;
    plab_web_run *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(w->err, sizeof w->err, "out of memory");
        return NULL;
    }
    r->rows[PLAB_ROWS_WINDOW].width = PLAB_ROWS_WINDOW_WIDTH;
    r->rows[PLAB_ROWS_TASK].width = PLAB_ROWS_TASK_WIDTH;
    r->rows[PLAB_ROWS_EVENT].width = PLAB_ROWS_EVENT_WIDTH;
    if (plab_run_create(&w->c, NULL, NULL, &r->run, w->err, sizeof w->err) != PLAB_OK) {
        free(r);
        return NULL;
    }
    plab_sink sink = {on_window, on_task, on_event, r};
    plab_run_set_sink(r->run, &sink);
    return r;
}

PLAB_WEB_API void plab_web_run_destroy(plab_web_run *r)
{
    if (!r)
        return;
    plab_run_destroy(r->run);
    for (int k = 0; k < PLAB_ROWS_KINDS; k++)
        free(r->rows[k].data);
    free(r);
}

static int finish(plab_web_run *r, plab_status st)
{
    if (st != PLAB_OK) {
        snprintf(r->err, sizeof r->err, "%s", plab_run_error(r->run));
        if (!r->err[0])
            snprintf(r->err, sizeof r->err, "%s", plab_status_str(st));
        return st;
    }
    if (r->overflow) {
        snprintf(r->err, sizeof r->err, "out of memory while storing the run's rows");
        return PLAB_E_NOMEM;
    }
    return PLAB_OK;
}

/* Runs up to max_updates updates (fewer at the end of the run; none once done). */
PLAB_WEB_API int plab_web_run_step(plab_web_run *r, int max_updates)
{
    if (!r)
        return PLAB_E_INVALID;
    r->err[0] = 0;
    plab_status st = PLAB_OK;
    for (int i = 0; i < max_updates && st == PLAB_OK && !plab_run_done(r->run); i++)
        st = plab_run_step(r->run);
    return finish(r, st);
}

/* Runs to the end of the current task (a no-op once done). */
PLAB_WEB_API int plab_web_run_task(plab_web_run *r)
{
    if (!r)
        return PLAB_E_INVALID;
    r->err[0] = 0;
    return finish(r, plab_run_task(r->run));
}

PLAB_WEB_API const char *plab_web_run_error(const plab_web_run *r)
{
    return r ? r->err : "no run";
}

PLAB_WEB_API int plab_web_run_done(const plab_web_run *r) { return r ? plab_run_done(r->run) : 1; }
PLAB_WEB_API double plab_web_run_steps_done(const plab_web_run *r)
{
    return r ? (double)plab_run_steps_done(r->run) : 0;
}
PLAB_WEB_API double plab_web_run_total_steps(const plab_web_run *r)
{
    return r ? (double)plab_run_total_steps(r->run) : 0;
}
PLAB_WEB_API int plab_web_run_current_task(const plab_web_run *r)
{
    return r ? plab_run_current_task(r->run) : 0;
}
PLAB_WEB_API int plab_web_run_steps_per_task(const plab_web_run *r)
{
    return r ? plab_run_steps_per_task(r->run) : 0;
}
PLAB_WEB_API double plab_web_run_num_params(plab_web_run *r)
{
    return r ? (double)plab_net_num_params(plab_run_net(r->run)) : 0;
}
/* The kernel backend the run uses ("wasm" or "scalar"). */
PLAB_WEB_API const char *plab_web_run_kernels(plab_web_run *r)
{
    return r ? plab_kernels_name(plab_net_kernels(plab_run_net(r->run))) : "";
}
/* The run's trace hash as 16 hex digits (plab_run_trace_hash; what the CLI prints). */
PLAB_WEB_API const char *plab_web_run_trace_hash(plab_web_run *r)
{
    if (!r)
        return "";
    snprintf(r->hash, sizeof r->hash, "%016" PRIx64, plab_run_trace_hash(r->run));
    return r->hash;
}

/* ---------------------------------------------------------------- rows */

/* Doubles per record of a row kind (0 window, 1 task, 2 event); 0 for another kind. */
PLAB_WEB_API int plab_web_rows_width(int kind)
{
    return kind == PLAB_ROWS_WINDOW ? PLAB_ROWS_WINDOW_WIDTH
           : kind == PLAB_ROWS_TASK ? PLAB_ROWS_TASK_WIDTH
           : kind == PLAB_ROWS_EVENT ? PLAB_ROWS_EVENT_WIDTH
                                     : 0;
}

/* Records of a kind collected since the last plab_web_rows_clear. */
PLAB_WEB_API int plab_web_rows_count(const plab_web_run *r, int kind)
{
    return r && kind >= 0 && kind < PLAB_ROWS_KINDS ? r->rows[kind].count : 0;
}

/* The records (count * width doubles), valid until the next step or clear. */
PLAB_WEB_API const double *plab_web_rows_data(const plab_web_run *r, int kind)
{
    return r && kind >= 0 && kind < PLAB_ROWS_KINDS ? r->rows[kind].data : NULL;
}

/* Forgets the collected records (keeps the buffers). */
PLAB_WEB_API void plab_web_rows_clear(plab_web_run *r)
{
    for (int k = 0; r && k < PLAB_ROWS_KINDS; k++)
        r->rows[k].count = 0;
}
