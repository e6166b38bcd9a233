/*
 * settings.c: settings from command-line flags (key=value) and from JSON experiment and sweep
 * files (cJSON). Every value becomes the text plab_config_set takes, and is validated against
 * the schema here, so a bad file is refused before anything runs, with the file, line and key.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

void settings_free(settings *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->v[i].key);
        for (int j = 0; j < s->v[i].n; j++)
            free(s->v[i].values[j]);
        free(s->v[i].values);
    }
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

static setting *push(settings *s, const char *key, int line)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->v = xrealloc(s->v, sizeof *s->v * (size_t)s->cap);
    }
    setting *e = &s->v[s->n++];
    memset(e, 0, sizeof *e);
    e->key = xstrdup(key);
    e->line = line;
    return e;
}

static void add_value(setting *e, const char *text)
{
    e->values = xrealloc(e->values, sizeof(char *) * (size_t)(e->n + 1));
    e->values[e->n++] = xstrdup(text);
}

void settings_add(settings *s, const char *key, const char *value, int line)
{
    add_value(push(s, key, line), value);
}

const setting *settings_get(const settings *s, const char *key)
{
    /* the last occurrence wins (flags may repeat a key) */
    for (int i = s->n - 1; i >= 0; i--)
        if (strcmp(s->v[i].key, key) == 0)
            return &s->v[i];
    return NULL;
}

void settings_where(const settings *s, const setting *e, char *buf, size_t n)
{
    if (s->origin[0] && e && e->line > 0)
        snprintf(buf, n, "%s line %d: ", s->origin, e->line);
    else if (s->origin[0])
        snprintf(buf, n, "%s: ", s->origin);
    else
        buf[0] = 0;
}

static int is_label_key(const char *key)
{
    return strcmp(key, "preset") == 0 || strcmp(key, "method") == 0;
}

/* Checks one text value of a key: schema keys through plab_config_set, preset by name. */
static int check_value(const char *key, int as_label, const char *text, char *err, size_t n)
{
    if (as_label && strcmp(key, "preset") == 0) {
        if (plab_preset_find(text))
            return 0;
        sbuf names = {0};
        for (int i = 0; i < plab_preset_count(); i++)
            sb_printf(&names, "%s%s", i ? ", " : "", plab_preset_at(i)->name);
        snprintf(err, n, "unknown preset '%s' (presets: %s)", text, names.p);
        sb_free(&names);
        return -1;
    }
    if (as_label && strcmp(key, "method") == 0)
        return text[0] ? 0 : (snprintf(err, n, "key 'method': empty name"), -1);
    plab_config scratch;
    plab_config_default(&scratch);
    return plab_config_set(&scratch, key, text, err, n) == PLAB_OK ? 0 : -1;
}

int settings_from_args(settings *s, int argc, char **argv, char *err, size_t n)
{
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i]) {
            snprintf(err, n, "expected key=value or a flag, got '%s' (see `plab help`)", argv[i]);
            return -1;
        }
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(eq - argv[i]), argv[i]);
        if (!is_label_key(key) && !plab_config_find(key)) {
            snprintf(err, n, "unknown key '%s' (see `plab keys`)", key);
            return -1;
        }
        if (check_value(key, 1, eq + 1, err, n) != 0)
            return -1;
        settings_add(s, key, eq + 1, 0);
    }
    return 0;
}

/* ---------------------------------------------------------------- JSON */

/* Line and column (1-based) of a position in text. */
static void line_col(const char *text, const char *pos, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (const char *p = text; p < pos && *p; p++) {
        if (*p == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

/* The line of the nth (0-based) occurrence of "key" used as an object key. */
static int key_line(const char *text, const char *key, int nth)
{
    size_t kl = strlen(key);
    const char *p = text;
    while ((p = strchr(p, '"')) != NULL) {
        if (strncmp(p + 1, key, kl) == 0 && p[1 + kl] == '"') {
            const char *q = p + 2 + kl;
            while (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')
                q++;
            if (*q == ':' && nth-- == 0) {
                int line, col;
                line_col(text, p, &line, &col);
                return line;
            }
        }
        /* skip the whole string literal */
        for (p++; *p && *p != '"'; p++)
            if (*p == '\\' && p[1])
                p++;
        if (*p)
            p++;
    }
    return 0;
}

static const char *json_kind(const cJSON *v)
{
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsArray(v))
        return "a list";
    if (cJSON_IsObject(v))
        return "an object";
    return "an unknown value";
}

/* The shortest "%.Ng" text that reads back as the same double (0.05, not 0.050000000000000003),
 * so sweep cell names stay readable; the value is exact either way. */
static void sb_shortest(sbuf *b, double v)
{
    char buf[64];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    sb_puts(b, buf);
}

/* One scalar JSON value of key as config text. */
static int scalar_text(const char *key, const plab_key_info *k, const cJSON *v, sbuf *out,
                       char *err, size_t n)
{
    sb_reset(out);
    plab_key_type type = k ? k->type : PLAB_KEY_STRING;
    switch (type) {
    case PLAB_KEY_INT:
    case PLAB_KEY_REAL:
        if (!cJSON_IsNumber(v))
            goto wrong;
        sb_shortest(out, v->valuedouble);
        return 0;
    case PLAB_KEY_U64:
        if (cJSON_IsString(v)) {
            sb_puts(out, v->valuestring);
            return 0;
        }
        if (!cJSON_IsNumber(v))
            goto wrong;
        if (v->valuedouble < 0 || v->valuedouble != floor(v->valuedouble) ||
            v->valuedouble > 9007199254740992.0) {
            snprintf(err, n,
                     "key '%s': expected an integer in [0, 2^53] (write larger seeds as "
                     "strings), got %.17g",
                     key, v->valuedouble);
            return -1;
        }
        sb_printf(out, "%.0f", v->valuedouble);
        return 0;
    case PLAB_KEY_BOOL:
        if (!cJSON_IsBool(v))
            goto wrong;
        sb_puts(out, cJSON_IsTrue(v) ? "true" : "false");
        return 0;
    case PLAB_KEY_ENUM:
    case PLAB_KEY_STRING:
        if (!cJSON_IsString(v))
            goto wrong;
        sb_puts(out, v->valuestring);
        return 0;
    case PLAB_KEY_INT_LIST:
        if (cJSON_IsString(v)) {
            sb_puts(out, v->valuestring);
            return 0;
        }
        if (!cJSON_IsArray(v))
            goto wrong;
        {
            int i = 0;
            const cJSON *x;
            sb_puts(out, ""); /* [] is no hidden layer: "", not a missing value */
            cJSON_ArrayForEach(x, v)
            {
                if (!cJSON_IsNumber(x)) {
                    snprintf(err, n, "key '%s': expected a list of integers, got %s in it", key,
                             json_kind(x));
                    return -1;
                }
                sb_puts(out, i++ ? "," : "");
                sb_shortest(out, x->valuedouble);
            }
        }
        return 0;
    }
wrong:;
    static const char *const want[] = {"an integer", "an unsigned integer (or a string)",
                                       "a number",   "true or false",
                                       "a string",   "a list of integers (or a string \"100,100\")",
                                       "a string"};
    snprintf(err, n, "key '%s': expected %s, got %s", key, want[type], json_kind(v));
    return -1;
}

/* Is v a list of values of key (a sweep axis) rather than one value? */
static int is_axis(const plab_key_info *k, const cJSON *v)
{
    if (!cJSON_IsArray(v))
        return 0;
    if (k && k->type == PLAB_KEY_INT_LIST) {
        const cJSON *x = v->child;
        return x && (cJSON_IsArray(x) || cJSON_IsString(x));
    }
    return 1;
}

typedef struct walk {
    settings *s;
    const char *text;
    const char *path;
    struct {
        char key[64];
        int count;
    } seen[256];
    int nseen;
} walk;

static int occurrence(walk *w, const char *key)
{
    for (int i = 0; i < w->nseen; i++)
        if (strcmp(w->seen[i].key, key) == 0)
            return w->seen[i].count++;
    if (w->nseen < 256) {
        snprintf(w->seen[w->nseen].key, sizeof w->seen[0].key, "%s", key);
        w->seen[w->nseen++].count = 1;
    }
    return 0;
}

static int walk_object(walk *w, const cJSON *obj, int nested, char *err, size_t n)
{
    static const char *const meta[] = {"plab_version", "kernels_used", "method_source", NULL};
    char msg[512];
    for (const cJSON *c = obj->child; c; c = c->next) {
        const char *key = c->string ? c->string : "";
        int line = key_line(w->text, key, occurrence(w, key));
        for (const cJSON *d = obj->child; d != c; d = d->next)
            if (d->string && strcmp(d->string, key) == 0) {
                snprintf(err, n, "%s line %d: duplicate key '%s'", w->path, line, key);
                return -1;
            }
        if (key[0] == '_')
            continue;
        int is_meta = 0;
        for (int i = 0; meta[i]; i++)
            is_meta |= strcmp(meta[i], key) == 0;
        if (is_meta)
            continue;
        if (!nested && strcmp(key, "config") == 0 && cJSON_IsObject(c)) {
            if (walk_object(w, c, 1, err, n) != 0)
                return -1;
            continue;
        }
        /* inside "config" (config.json), `method` is the schema key, not the method label */
        const char *skey = nested && strcmp(key, "method") == 0 ? "config.method" : key;
        const plab_key_info *k = plab_config_find(key);
        if (!k && (nested || !is_label_key(key))) {
            snprintf(err, n, "%s line %d: unknown key '%s' (see `plab keys`)", w->path, line, key);
            return -1;
        }
        /* within one file a key may appear at the top and in "config" with the same value */
        setting *e = push(w->s, skey, line);
        sbuf text = {0};
        int rc = 0;
        if (is_axis(k, c)) {
            e->is_axis = 1;
            const cJSON *x;
            cJSON_ArrayForEach(x, c)
            {
                if ((rc = scalar_text(key, k, x, &text, msg, sizeof msg)) != 0)
                    break;
                if ((rc = check_value(key, !nested, text.p, msg, sizeof msg)) != 0)
                    break;
                add_value(e, text.p);
            }
            if (rc == 0 && e->n == 0) {
                snprintf(msg, sizeof msg, "key '%s': an empty list", key);
                rc = -1;
            }
        } else {
            rc = scalar_text(key, k, c, &text, msg, sizeof msg);
            if (rc == 0)
                rc = check_value(key, !nested, text.p, msg, sizeof msg);
            if (rc == 0)
                add_value(e, text.p);
        }
        sb_free(&text);
        if (rc != 0) {
            snprintf(err, n, "%s line %d: %s", w->path, line, msg);
            return -1;
        }
    }
    return 0;
}

int settings_from_json_file(settings *s, const char *path, char *err, size_t n)
{
    char *text;
    size_t len;
    if (read_file(path, &text, &len, err, n) != 0)
        return -1;
    snprintf(s->origin, sizeof s->origin, "%s", path);
    const char *end = NULL;
    /* len + 1: the parser checks the NUL after the value (read_file adds one) */
    cJSON *root = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);
    if (!root) {
        int line, col;
        const char *at = end ? end : cJSON_GetErrorPtr();
        if (!at)
            at = text + len;
        line_col(text, at, &line, &col);
        if (len == 0 || strspn(text, " \t\r\n") == len)
            snprintf(err, n, "%s: malformed JSON: the file is empty", path);
        else {
            /* up to 20 bytes of the line, bytes that are not printable ASCII as \xNN (a
             * binary file must not write raw bytes to the terminal) */
            char near[96];
            size_t k = 0;
            for (const char *q = at; q < text + len && *q != '\r' && *q != '\n' &&
                                     q - at < 20 && k + 5 < sizeof near;
                 q++) {
                unsigned char ch = (unsigned char)*q;
                if (ch >= 0x20 && ch < 0x7f)
                    near[k++] = (char)ch;
                else
                    k += (size_t)snprintf(near + k, sizeof near - k, "\\x%02x", ch);
            }
            near[k] = 0;
            snprintf(err, n, "%s line %d column %d: malformed JSON near '%s'", path, line, col,
                     near);
        }
        free(text);
        return -1;
    }
    int rc = 0;
    if (!cJSON_IsObject(root)) {
        snprintf(err, n, "%s: expected a JSON object {\"key\": value, ...} at the top, got %s",
                 path, json_kind(root));
        rc = -1;
    } else {
        walk w;
        memset(&w, 0, sizeof w);
        w.s = s;
        w.text = text;
        w.path = path;
        rc = walk_object(&w, root, 0, err, n);
    }
    cJSON_Delete(root);
    free(text);
    return rc;
}
