/*
 * resolve.c: one experiment's configuration from its layers, in this precedence:
 *   schema defaults < preset < the preset's settings for the method < PLAB_KERNELS
 *   < the JSON file < key=value flags,
 * and config.json, the resolved configuration a run directory keeps (docs/CLI.md).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int is_schema_method(const char *name)
{
    const plab_key_info *k = plab_config_find("method");
    for (int i = 0; k && k->choices && k->choices[i]; i++)
        if (strcmp(k->choices[i], name) == 0)
            return 1;
    return 0;
}

static const char *label_of(const settings *file, const settings *flags, const char *key,
                            const char *fallback)
{
    const setting *e = flags ? settings_get(flags, key) : NULL;
    if (!e && file)
        e = settings_get(file, key);
    return e ? e->values[0] : fallback;
}

/* Applies a layer's schema keys (not the labels). A list (sweep axis) is refused unless the
 * layer above sets the key anyway. */
static int apply_layer(const settings *s, const settings *above, plab_config *c, char *err,
                       size_t n)
{
    for (int i = 0; s && i < s->n; i++) {
        const setting *e = &s->v[i];
        char where[PLAB_PATH_MAX + 32], msg[512];
        settings_where(s, e, where, sizeof where);
        if (e->is_axis && above && settings_get(above, e->key))
            continue;
        if (e->is_axis) {
            snprintf(err, n, "%skey '%s' is a list (a sweep axis); run it with `plab sweep`", where,
                     e->key);
            return -1;
        }
        if (strcmp(e->key, "preset") == 0 || strcmp(e->key, "method") == 0)
            continue;
        const char *key = strcmp(e->key, "config.method") == 0 ? "method" : e->key;
        if (plab_config_set(c, key, e->values[0], msg, sizeof msg) != PLAB_OK) {
            snprintf(err, n, "%s%s", where, msg);
            return -1;
        }
    }
    return 0;
}

static void method_list(const plab_preset *p, sbuf *b)
{
    const plab_preset *base = plab_preset_find(p->methods_from);
    for (int pass = 0; pass < 2; pass++) {
        const plab_preset *q = pass ? base : p;
        for (const plab_preset_method *m = q ? q->methods : NULL; m && m->name; m++) {
            const plab_preset *from;
            if (pass && plab_preset_method_find(p, m->name, &from) && from == p)
                continue;
            sb_printf(b, "%s%s", b->n ? ", " : "", m->name);
        }
    }
    const plab_key_info *k = plab_config_find("method");
    for (int i = 0; k->choices[i]; i++)
        if (!plab_preset_method_find(p, k->choices[i], NULL))
            sb_printf(b, "%s%s (schema defaults)", b->n ? ", " : "", k->choices[i]);
}

int resolve(const settings *file, const settings *flags, resolved *out, char *err, size_t n)
{
    memset(out, 0, sizeof *out);
    const char *pname = label_of(file, flags, "preset", "synthetic");
    const char *mname = label_of(file, flags, "method", "none");
    const plab_preset *p = plab_preset_find(pname);
    if (!p) {
        snprintf(err, n, "unknown preset '%s' (see `plab presets`)", pname);
        return EXIT_USAGE;
    }
    snprintf(out->preset, sizeof out->preset, "%s", pname);
    snprintf(out->method, sizeof out->method, "%s", mname);
    plab_config *c = &out->cfg;
    plab_config_default(c);
    char msg[512];
    if (plab_config_apply(c, p->settings, msg, sizeof msg) != PLAB_OK) {
        snprintf(err, n, "preset '%s': %s", pname, msg);
        return EXIT_FAIL; /* a defect in presets.c */
    }
    const plab_preset *from = NULL;
    const plab_preset_method *pm = plab_preset_method_find(p, mname, &from);
    if (pm) {
        if (plab_config_apply(c, pm->settings, msg, sizeof msg) != PLAB_OK) {
            snprintf(err, n, "preset '%s', method '%s': %s", pname, mname, msg);
            return EXIT_FAIL;
        }
        snprintf(out->method_source, sizeof out->method_source, "%s", from->name);
        if (from != p && strcmp(mname, "none") != 0 && strcmp(mname, "reset") != 0)
            snprintf(out->note, sizeof out->note,
                     "preset %s has no tuned settings for method %s in the paper; using those "
                     "of %s",
                     pname, mname, from->name);
    } else if (is_schema_method(mname)) {
        plab_config_set(c, "method", mname, msg, sizeof msg);
        snprintf(out->method_source, sizeof out->method_source, "schema");
        snprintf(out->note, sizeof out->note,
                 "preset %s has no tuned settings for method %s; using the schema defaults "
                 "(see `plab methods`)",
                 pname, mname);
    } else {
        sbuf names = {0};
        method_list(p, &names);
        snprintf(err, n, "unknown method '%s' for preset %s (methods: %s)", mname, pname,
                 names.p ? names.p : "");
        sb_free(&names);
        return EXIT_USAGE;
    }
    const char *env = getenv("PLAB_KERNELS");
    if (env && *env && plab_config_set(c, "kernels", env, msg, sizeof msg) != PLAB_OK) {
        snprintf(err, n, "PLAB_KERNELS: %s", msg);
        return EXIT_USAGE;
    }
    if (apply_layer(file, flags, c, err, n) != 0 || apply_layer(flags, NULL, c, err, n) != 0)
        return EXIT_USAGE;
    if (plab_config_check(c, msg, sizeof msg) != PLAB_OK) {
        snprintf(err, n, "%s", msg);
        return EXIT_USAGE;
    }
    /* config.json records the family this machine resolved `auto` to: it changes the bits */
    c->kernel_family =
        plab_kernel_family_resolve((plab_kernels_id)c->kernels, (plab_kernel_family)c->kernel_family);
    return EXIT_OK;
}

int resolve_from_config_json(const char *path, resolved *out, char *err, size_t n)
{
    settings s = {0};
    memset(out, 0, sizeof *out);
    if (settings_from_json_file(&s, path, err, n) != 0) {
        settings_free(&s);
        return EXIT_USAGE;
    }
    plab_config_default(&out->cfg);
    out->cfg.kernel_family = PLAB_FAMILY_STRICT; /* a config.json without the key predates fma */
    int rc = apply_layer(&s, NULL, &out->cfg, err, n) == 0 ? EXIT_OK : EXIT_USAGE;
    snprintf(out->preset, sizeof out->preset, "%s", label_of(&s, NULL, "preset", "synthetic"));
    snprintf(out->method, sizeof out->method, "%s", label_of(&s, NULL, "method", "none"));
    settings_free(&s);
    return rc;
}

void config_json(sbuf *b, const resolved *r, const char *kernels_used)
{
    char v[PLAB_PATH_MAX + 8];
    sb_puts(b, "{\n  \"plab_version\": ");
    sb_json_str(b, PLAB_VERSION_STRING);
    sb_puts(b, ",\n  \"preset\": ");
    sb_json_str(b, r->preset);
    sb_puts(b, ",\n  \"method\": ");
    sb_json_str(b, r->method);
    sb_puts(b, ",\n  \"method_source\": ");
    sb_json_str(b, r->method_source);
    plab_config_get(&r->cfg, "seed", v, sizeof v);
    if (r->cfg.seed <= (1ull << 53))
        sb_printf(b, ",\n  \"seed\": %s", v);
    else {
        sb_puts(b, ",\n  \"seed\": ");
        sb_json_str(b, v);
    }
    if (kernels_used) {
        sb_puts(b, ",\n  \"kernels_used\": ");
        sb_json_str(b, kernels_used);
    }
    sb_puts(b, ",\n  \"config\": {");
    for (int i = 0; i < plab_config_num_keys(); i++) {
        const plab_key_info *k = plab_config_key(i);
        plab_config_get(&r->cfg, k->key, v, sizeof v);
        sb_printf(b, "%s\n    ", i ? "," : "");
        sb_json_str(b, k->key);
        sb_puts(b, ": ");
        switch (k->type) {
        case PLAB_KEY_INT:
        case PLAB_KEY_REAL:
            sb_puts(b, v);
            break;
        case PLAB_KEY_U64:
            if (strtoull(v, NULL, 10) <= (1ull << 53))
                sb_puts(b, v);
            else
                sb_json_str(b, v);
            break;
        case PLAB_KEY_BOOL:
            sb_puts(b, v);
            break;
        case PLAB_KEY_INT_LIST:
            sb_puts(b, "[");
            for (char *p = v; *p; p++)
                sb_printf(b, "%s", *p == ',' ? ", " : (char[]){*p, 0});
            sb_puts(b, "]");
            break;
        default:
            sb_json_str(b, v);
        }
    }
    sb_puts(b, "\n  }\n}\n");
}

/* Engine keys (kernels, ...) choose how a run computes, not what: they give the same bits, so
 * they are left out of identity (resuming, cell ids). */
uint64_t resolved_hash(const resolved *r)
{
    uint64_t h = PLAB_FNV_INIT;
    h = plab_fnv1a(h, r->preset, strlen(r->preset) + 1);
    h = plab_fnv1a(h, r->method, strlen(r->method) + 1);
    for (int i = 0; i < plab_config_num_keys(); i++) {
        const plab_key_info *k = plab_config_key(i);
        if (strcmp(k->group, "engine") == 0)
            continue;
        char v[PLAB_PATH_MAX + 8];
        plab_config_get(&r->cfg, k->key, v, sizeof v);
        h = plab_fnv1a(h, k->key, strlen(k->key) + 1);
        h = plab_fnv1a(h, v, strlen(v) + 1);
    }
    return h;
}

int resolved_diff(const resolved *a, const resolved *b, char *what, size_t n)
{
    if (strcmp(a->preset, b->preset) != 0) {
        snprintf(what, n, "preset: %s there, %s here", a->preset, b->preset);
        return 1;
    }
    if (strcmp(a->method, b->method) != 0) {
        snprintf(what, n, "method: %s there, %s here", a->method, b->method);
        return 1;
    }
    for (int i = 0; i < plab_config_num_keys(); i++) {
        const plab_key_info *k = plab_config_key(i);
        if (strcmp(k->group, "engine") == 0)
            continue;
        char va[PLAB_PATH_MAX + 8], vb[PLAB_PATH_MAX + 8];
        plab_config_get(&a->cfg, k->key, va, sizeof va);
        plab_config_get(&b->cfg, k->key, vb, sizeof vb);
        if (strcmp(va, vb) != 0) {
            snprintf(what, n, "%s: %s there, %s here", k->key, va[0] ? va : "\"\"",
                     vb[0] ? vb : "\"\"");
            return 1;
        }
    }
    return 0;
}
