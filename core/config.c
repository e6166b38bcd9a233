/*
 * config.c: the one configuration schema (key, type, default, range, help).
 *
 * Everything that reads settings by name goes through this table: the CLI's key=value and
 * JSON files, the wasm bindings, the web page's settings table. Key names follow ALGORITHMS.md.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "problem.h"

static const char *const act_names[] = {"relu", "leaky_relu", "tanh", "sigmoid",
                                        "identity", "crelu", NULL};
static const char *const init_names[] = {"kaiming_normal", "kaiming_uniform", NULL};
static const char *const opt_names[] = {"sgd", "momentum", "adamw", NULL};
static const char *const method_names[] = {"none", "swr", "cbp",  "cbp-nature",
                                           "redo", "l2",  "snp", "reset", NULL};
static const char *const swr_utility_names[] = {"gradient", "magnitude", "random", NULL};
static const char *const swr_criterion_names[] = {"threshold", "proportional", NULL};
static const char *const swr_strategy_names[] = {"resample", "mean", NULL};
static const char *const unit_utility_names[] = {
    "contribution",           "activation",        "magnitude", "gradient",
    "adaptable_contribution", "zero_contribution", "random",    NULL};
static const char *const timing_names[] = {"before_step", "after_step", NULL};
static const char *const input_names[] = {"raw", "normalized", NULL};
static const char *const gen_names[] = {"redraw_all", "flip_one", NULL};
static const char *const gain_names[] = {"relu", "match_init", NULL};
static const char *const frozen_names[] = {"spec", "code", NULL};
static const char *const fused_names[] = {"off", "auto", NULL};
static const char *const kernel_names[] = {"auto", "scalar", "sse2",   "avx2",
                                           "neon", "wasm",   "avx512", NULL};
static const char *const family_names[] = {"strict", "fma", "auto", NULL};

typedef struct entry {
    plab_key_info info;
    size_t offset;
    size_t size; /* STRING: capacity */
} entry;

#define OFF(f) offsetof(plab_config, f)
#define INT(k, g, f, lo, hi, h) {{k, PLAB_KEY_INT, g, NULL, lo, hi, 0, 0, h}, OFF(f), 0}
/* REAL: lo_open/hi_open exclude the bounds, e.g. (0, 1e6] for lr or [0, 1) for momentum */
#define REAL(k, g, f, lo, hi, lo_open, hi_open, h)                                                 \
    {{k, PLAB_KEY_REAL, g, NULL, lo, hi, lo_open, hi_open, h}, OFF(f), 0}
#define BOOL(k, g, f, h) {{k, PLAB_KEY_BOOL, g, NULL, 0, 1, 0, 0, h}, OFF(f), 0}
#define ENUM(k, g, f, names, h) {{k, PLAB_KEY_ENUM, g, names, 0, 0, 0, 0, h}, OFF(f), 0}

static const entry table[] = {
    /* problem */
    {{"problem", PLAB_KEY_STRING, "problem", NULL, 0, 0, 0, 0,
      "the non-stationary problem (see `plab problems`)"},
     OFF(problem), sizeof(((plab_config *)0)->problem)},
    INT("tasks", "problem", tasks, 1, 1e7, "number of tasks K"),
    INT("steps_per_task", "problem", steps_per_task, 0, 1e9,
        "updates per task (0: the problem's own, e.g. 2000 for Permuted MNIST)"),
    INT("batch_size", "problem", batch_size, 1, 65536, "mini-batch size m"),
    {{"seed", PLAB_KEY_U64, "problem", NULL, 0, 0, 0, 0, "run seed S (64-bit unsigned)"},
     OFF(seed), 0},
    {{"data_dir", PLAB_KEY_STRING, "problem", NULL, 0, 0, 0, 0,
      "directory or IDX file prefix of the dataset (empty: the default location)"},
     OFF(data_dir), PLAB_PATH_MAX},
    BOOL("label_permutation", "problem", label_permutation,
         "also permute the labels at each task (task-incremental variant)"),
    ENUM("scr_generator", "problem", scr_generator, gen_names,
         "slowly-changing regression: how flipping bits change each period"),
    INT("scr_period", "problem", scr_period, 1, 1e9, "slowly-changing regression period T"),
    INT("gen_classes", "problem", gen_classes, 0, 256,
        "generated tasks: number of classes (0: the problem's own)"),
    INT("gen_dim", "problem", gen_dim, 0, 1 << 20,
        "generated tasks: input dimension (0: the problem's own)"),
    INT("gen_pool", "problem", gen_pool, 0, 1 << 24,
        "generated tasks: examples in the pool (0: the problem's own)"),
    /* network */
    {{"hidden", PLAB_KEY_INT_LIST, "network", NULL, 1, 1 << 24, 0, 0,
      "hidden widths, comma-separated (e.g. 100,100,100; empty for none)"},
     OFF(hidden), 0},
    ENUM("activation", "network", activation, act_names, "hidden activation"),
    BOOL("layer_norm", "network", layer_norm, "post-activation LayerNorm on every hidden layer"),
    BOOL("skip", "network", skip, "post-activation skip connections (equal widths)"),
    ENUM("init", "network", init, init_names, "initialization scheme"),
    /* optimizer */
    ENUM("optimizer", "optimizer", optimizer, opt_names, "optimizer"),
    REAL("lr", "optimizer", lr, 0, 1e6, 1, 0, "step size alpha"),
    REAL("momentum", "optimizer", momentum, 0, 1, 0, 1, "SGD momentum mu, in [0, 1)"),
    REAL("beta1", "optimizer", beta1, 0, 1, 0, 1, "AdamW beta1, in [0, 1)"),
    REAL("beta2", "optimizer", beta2, 0, 1, 0, 1, "AdamW beta2, in [0, 1)"),
    REAL("eps", "optimizer", eps, 0, 1, 1, 0, "AdamW epsilon"),
    REAL("l2", "optimizer", l2, 0, 1, 0, 1,
          "per-step decoupled shrink lambda: theta <- (1 - lambda) theta, in [0, 1)"),
    /* methods */
    ENUM("method", "method", method, method_names, "plasticity method"),
    ENUM("swr_utility", "method", swr_utility, swr_utility_names, "SWR utility"),
    ENUM("swr_criterion", "method", swr_criterion, swr_criterion_names, "SWR selection"),
    ENUM("swr_strategy", "method", swr_strategy, swr_strategy_names, "SWR reinitialization"),
    INT("swr_period", "method", swr_period, 0, 1e9, "SWR period tau (0 disables)"),
    REAL("swr_factor", "method", swr_factor, 0, 1e9, 0, 0, "SWR factor rho (0 disables)"),
    REAL("swr_decay", "method", swr_decay, 0, 1, 0, 1, "SWR utility decay eta, in [0, 1)"),
    INT("cbp_maturity", "method", cbp_maturity, 0, 1e9, "CBP maturity threshold M"),
    REAL("cbp_rate", "method", cbp_rate, 0, 1, 0, 0, "CBP replacement rate rho (0 disables)"),
    ENUM("cbp_utility", "method", cbp_utility, unit_utility_names, "CBP unit utility"),
    REAL("cbp_decay", "method", cbp_decay, 0, 1, 0, 1, "cbp-nature running-average decay eta"),
    BOOL("cbp_accumulate", "method", cbp_accumulate, "cbp-nature: accumulate fractional counts"),
    BOOL("cbp_bias_correction", "method", cbp_bias_correction,
         "cbp-nature: fold a replaced unit's mean contribution into the next bias"),
    INT("redo_period", "method", redo_period, 1, 1e9, "ReDo period tau_R"),
    REAL("redo_threshold", "method", redo_threshold, 0, 1e9, 0, 0,
          "ReDo threshold rho_R (0 disables)"),
    ENUM("redo_utility", "method", redo_utility, unit_utility_names, "ReDo unit utility"),
    BOOL("redo_reset_moments", "method", redo_reset_moments,
         "ReDo: zero optimizer moments of reset units"),
    ENUM("unit_reset_timing", "method", unit_reset_timing, timing_names,
         "when CBP/ReDo reset units: inside the backward pass or after the update"),
    ENUM("unit_utility_input", "method", unit_utility_input, input_names,
         "unit utilities on raw features or LayerNorm outputs"),
    REAL("snp_noise_var", "method", snp_noise_var, 0, 1e6, 0, 0,
          "Shrink & Perturb noise variance sigma^2 (0 = no noise)"),
    BOOL("reset_each_task", "method", reset_each_task,
         "reinitialize the whole network and optimizer at each task boundary"),
    ENUM("reinit_gain", "method", reinit_gain, gain_names,
         "resample draws: ReLU gain (the paper's code) or the init's own gain"),
    /* metrics */
    INT("probe_every", "metrics", probe_every, 0, 1e9, "probe metrics every k tasks (0: never)"),
    INT("probe_size", "metrics", probe_size, 0, 1 << 20,
        "probe examples (0: the problem's default)"),
    ENUM("frozen_upper_rule", "metrics", frozen_upper_rule, frozen_names,
         "frozen-unit upper bound: hi - 0.01 (spec) or hi + 0.01 (the paper's code)"),
    /* engine */
    ENUM("kernels", "engine", kernels, kernel_names, "kernel backend"),
    ENUM("kernel_family", "engine", kernel_family, family_names,
         "strict: no FMA, the same bits everywhere (wasm too); fma: fused multiply-adds, the "
         "same bits on every native backend; auto: fma where it measured >= 1.3x faster (nowhere "
         "now), else strict"),
    ENUM("fused_update", "engine", fused_update, fused_names,
         "fuse plain SGD into the backward pass when no method needs gradients (same bits)"),
};

#define NKEYS ((int)(sizeof table / sizeof table[0]))

void plab_config_default(plab_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->problem, sizeof c->problem, "%s", "synthetic");
    c->tasks = 10;
    c->steps_per_task = 0;
    c->batch_size = 30;
    c->seed = 0;
    c->scr_period = 10000;
    c->num_hidden = 3;
    c->hidden[0] = c->hidden[1] = c->hidden[2] = 100;
    c->activation = PLAB_ACT_RELU;
    c->init = PLAB_INIT_KAIMING_NORMAL;
    c->optimizer = PLAB_OPT_SGD;
    c->lr = 0.05;
    c->momentum = 0.9;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->eps = 1e-8;
    c->method = PLAB_METHOD_NONE;
    c->swr_period = 2048;
    c->swr_factor = 1e-5;
    c->cbp_maturity = 500;
    c->cbp_rate = 1e-4;
    c->cbp_decay = 0.99;
    c->cbp_accumulate = 1;
    c->cbp_bias_correction = 1;
    c->redo_period = 16;
    c->redo_threshold = 1e-4;
    c->redo_utility = PLAB_UTIL_ACTIVATION;
    c->probe_every = 1;
    c->kernels = PLAB_KERNELS_AUTO;
    c->kernel_family = PLAB_FAMILY_AUTO;
    c->fused_update = 1;
}

int plab_config_num_keys(void) { return NKEYS; }

const plab_key_info *plab_config_key(int i)
{
    return (i >= 0 && i < NKEYS) ? &table[i].info : NULL;
}

static const entry *find(const char *key)
{
    for (int i = 0; key && i < NKEYS; i++)
        if (strcmp(table[i].info.key, key) == 0)
            return &table[i];
    return NULL;
}

const plab_key_info *plab_config_find(const char *key)
{
    const entry *e = find(key);
    return e ? &e->info : NULL;
}

/* "a, b, c" for an error message */
static void join_choices(const char *const *names, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; names[i] && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
}

static void range_text(const plab_key_info *k, char *buf, size_t size)
{
    snprintf(buf, size, "in %c%.10g, %.10g%c", k->min_open ? '(' : '[', k->min, k->max,
             k->max_open ? ')' : ']');
}

/* Parses a whole string as a finite double. */
static int parse_real(const char *s, double *out)
{
    char *end;
    while (isspace((unsigned char)*s))
        s++;
    if (!*s)
        return 0;
    errno = 0;
    double v = strtod(s, &end);
    while (isspace((unsigned char)*end))
        end++;
    if (*end || errno == ERANGE || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

static int parse_int(const char *s, long long *out)
{
    char *end;
    while (isspace((unsigned char)*s))
        s++;
    if (!*s)
        return 0;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end != s && (*end == '.' || *end == 'e' || *end == 'E')) {
        /* accept 1e3 or 2048.0 when the value is an exact integer */
        double d;
        if (!parse_real(s, &d) || d != floor(d) || fabs(d) > 9.0e15)
            return 0;
        *out = (long long)d;
        return 1;
    }
    while (isspace((unsigned char)*end))
        end++;
    if (*end || errno == ERANGE)
        return 0;
    *out = v;
    return 1;
}

static int in_range(const plab_key_info *k, double v)
{
    int lo = k->min_open ? v > k->min : v >= k->min;
    int hi = k->max_open ? v < k->max : v <= k->max;
    return lo && hi;
}

plab_status plab_config_set(plab_config *c, const char *key, const char *value, char *err,
                            size_t err_size)
{
#define FAIL(...)                                                                                  \
    do {                                                                                           \
        if (err && err_size)                                                                       \
            snprintf(err, err_size, __VA_ARGS__);                                                  \
        return PLAB_E_INVALID;                                                                     \
    } while (0)
    const entry *e = find(key);
    if (!e)
        FAIL("unknown key '%s' (see `plab keys` for the list)", key ? key : "(null)");
    if (!value)
        FAIL("key '%s': missing value", key);
    const plab_key_info *k = &e->info;
    char *field = (char *)c + e->offset;
    char allowed[512];
    switch (k->type) {
    case PLAB_KEY_INT: {
        long long v;
        range_text(k, allowed, sizeof allowed);
        if (!parse_int(value, &v))
            FAIL("key '%s': expected an integer %s, got '%s'", key, allowed, value);
        if (!in_range(k, (double)v))
            FAIL("key '%s': must be an integer %s, got %s", key, allowed, value);
        *(int *)field = (int)v;
        break;
    }
    case PLAB_KEY_U64: {
        const char *s = value;
        char *end;
        while (isspace((unsigned char)*s))
            s++;
        errno = 0;
        if (!isdigit((unsigned char)*s))
            FAIL("key '%s': expected an unsigned 64-bit integer, got '%s'", key, value);
        unsigned long long v = strtoull(s, &end, 10);
        while (isspace((unsigned char)*end))
            end++;
        if (*end || errno == ERANGE)
            FAIL("key '%s': expected an unsigned 64-bit integer, got '%s'", key, value);
        *(uint64_t *)field = (uint64_t)v;
        break;
    }
    case PLAB_KEY_REAL: {
        double v;
        range_text(k, allowed, sizeof allowed);
        if (!parse_real(value, &v))
            FAIL("key '%s': expected a finite number %s, got '%s'", key, allowed, value);
        if (!in_range(k, v))
            FAIL("key '%s': must be a number %s, got %s", key, allowed, value);
        *(double *)field = v;
        break;
    }
    case PLAB_KEY_BOOL: {
        static const char *const t[] = {"1", "true", "yes", "on", NULL};
        static const char *const f[] = {"0", "false", "no", "off", NULL};
        for (int i = 0; t[i]; i++)
            if (strcmp(value, t[i]) == 0) {
                *(int *)field = 1;
                return PLAB_OK;
            }
        for (int i = 0; f[i]; i++)
            if (strcmp(value, f[i]) == 0) {
                *(int *)field = 0;
                return PLAB_OK;
            }
        FAIL("key '%s': expected true or false, got '%s'", key, value);
    }
    case PLAB_KEY_ENUM: {
        for (int i = 0; k->choices[i]; i++)
            if (strcmp(value, k->choices[i]) == 0) {
                *(int *)field = i;
                return PLAB_OK;
            }
        join_choices(k->choices, allowed, sizeof allowed);
        FAIL("key '%s': must be one of %s; got '%s'", key, allowed, value);
    }
    case PLAB_KEY_INT_LIST: {
        /* hidden widths: "100,100,100" (or "" / "none" for no hidden layer) */
        int vals[PLAB_MAX_HIDDEN], n = 0;
        const char *s = value;
        while (isspace((unsigned char)*s))
            s++;
        if (*s && strcmp(s, "none") != 0) {
            for (;;) {
                char *end;
                errno = 0;
                long v = strtol(s, &end, 10);
                if (end == s || errno == ERANGE)
                    FAIL("key '%s': expected comma-separated integers, got '%s'", key, value);
                if (v < (long)k->min || v > (long)k->max)
                    FAIL("key '%s': each width must be in [%.10g, %.10g], got %ld", key, k->min,
                         k->max, v);
                if (n == PLAB_MAX_HIDDEN)
                    FAIL("key '%s': at most %d hidden layers, got more in '%s'", key,
                         PLAB_MAX_HIDDEN, value);
                vals[n++] = (int)v;
                s = end;
                while (isspace((unsigned char)*s))
                    s++;
                if (!*s)
                    break;
                if (*s != ',')
                    FAIL("key '%s': expected comma-separated integers, got '%s'", key, value);
                s++;
            }
        }
        c->num_hidden = n;
        for (int i = 0; i < PLAB_MAX_HIDDEN; i++)
            c->hidden[i] = i < n ? vals[i] : 0;
        break;
    }
    case PLAB_KEY_STRING: {
        size_t len = strlen(value);
        if (len >= e->size)
            FAIL("key '%s': value longer than %zu characters", key, e->size - 1);
        if (strcmp(key, "problem") == 0 && !plab_problem_find(value)) {
            plab_problem_list(allowed, sizeof allowed);
            FAIL("key 'problem': must be one of %s; got '%s'", allowed, value);
        }
        memcpy(field, value, len + 1);
        break;
    }
    }
    return PLAB_OK;
#undef FAIL
}

plab_status plab_config_get(const plab_config *c, const char *key, char *buf, size_t size)
{
    const entry *e = find(key);
    if (!e || !buf || size == 0)
        return PLAB_E_INVALID;
    const char *field = (const char *)c + e->offset;
    int n = 0;
    switch (e->info.type) {
    case PLAB_KEY_INT:
        n = snprintf(buf, size, "%d", *(const int *)field);
        break;
    case PLAB_KEY_U64:
        n = snprintf(buf, size, "%" PRIu64, *(const uint64_t *)field);
        break;
    case PLAB_KEY_REAL:
        n = snprintf(buf, size, "%.17g", *(const double *)field);
        break;
    case PLAB_KEY_BOOL:
        n = snprintf(buf, size, "%s", *(const int *)field ? "true" : "false");
        break;
    case PLAB_KEY_ENUM: {
        int v = *(const int *)field, cnt = 0;
        while (e->info.choices[cnt])
            cnt++;
        n = snprintf(buf, size, "%s", (v >= 0 && v < cnt) ? e->info.choices[v] : "?");
        break;
    }
    case PLAB_KEY_INT_LIST: {
        size_t used = 0;
        buf[0] = 0;
        for (int i = 0; i < c->num_hidden && used < size; i++)
            used += (size_t)snprintf(buf + used, size - used, "%s%d", i ? "," : "", c->hidden[i]);
        n = (int)used;
        break;
    }
    case PLAB_KEY_STRING:
        n = snprintf(buf, size, "%s", field);
        break;
    }
    return (n < 0 || (size_t)n >= size) ? PLAB_E_INVALID : PLAB_OK;
}

plab_status plab_config_check(const plab_config *c, char *err, size_t err_size)
{
#define FAIL(...)                                                                                  \
    do {                                                                                           \
        if (err && err_size)                                                                       \
            snprintf(err, err_size, __VA_ARGS__);                                                  \
        return PLAB_E_INVALID;                                                                     \
    } while (0)
    /* every field must be one set_ could produce: re-validate each through its text form */
    for (int i = 0; i < NKEYS; i++) {
        char buf[PLAB_PATH_MAX + 8];
        plab_config tmp = *c;
        if (plab_config_get(c, table[i].info.key, buf, sizeof buf) != PLAB_OK)
            FAIL("key '%s': value cannot be represented", table[i].info.key);
        if (plab_config_set(&tmp, table[i].info.key, buf, err, err_size) != PLAB_OK)
            return PLAB_E_INVALID;
    }
    if (c->num_hidden < 0 || c->num_hidden > PLAB_MAX_HIDDEN)
        FAIL("key 'hidden': between 0 and %d layers", PLAB_MAX_HIDDEN);
    if (c->activation == PLAB_ACT_CRELU)
        for (int i = 0; i < c->num_hidden; i++)
            if (c->hidden[i] % 2)
                FAIL("key 'hidden': crelu needs even widths, layer %d has %d", i + 1,
                     c->hidden[i]);
    if (c->skip) {
        if (c->layer_norm)
            FAIL("keys 'skip' and 'layer_norm': skip connections with LayerNorm are not "
                 "supported; set one of them to false");
        for (int i = 1; i < c->num_hidden; i++)
            if (c->hidden[i] != c->hidden[0])
                FAIL("key 'hidden': skip connections need equal widths, got %d and %d",
                     c->hidden[0], c->hidden[i]);
    }
    if (c->method == PLAB_METHOD_L2 && !(c->l2 > 0))
        FAIL("key 'l2': method l2 needs a per-step shrink > 0 (e.g. 1e-4)");
    if (c->method == PLAB_METHOD_SNP && !(c->snp_noise_var > 0))
        FAIL("key 'snp_noise_var': method snp needs a noise variance > 0");
    if ((c->method == PLAB_METHOD_CBP || c->method == PLAB_METHOD_CBP_NATURE ||
         c->method == PLAB_METHOD_REDO) &&
        c->num_hidden == 0)
        FAIL("key 'method': %s resets hidden units and the network has none",
             method_names[c->method]);
    if (c->method == PLAB_METHOD_CBP &&
        (c->cbp_utility == PLAB_UTIL_ADAPTABLE_CONTRIBUTION ||
         c->cbp_utility == PLAB_UTIL_ZERO_CONTRIBUTION || c->cbp_utility == PLAB_UTIL_RANDOM))
        FAIL("key 'cbp_utility': method cbp allows contribution, activation, magnitude, "
             "gradient; '%s' needs method cbp-nature",
             unit_utility_names[c->cbp_utility]);
    if (c->method == PLAB_METHOD_REDO &&
        (c->redo_utility == PLAB_UTIL_ADAPTABLE_CONTRIBUTION ||
         c->redo_utility == PLAB_UTIL_ZERO_CONTRIBUTION || c->redo_utility == PLAB_UTIL_RANDOM))
        FAIL("key 'redo_utility': must be one of contribution, activation, magnitude, "
             "gradient; got '%s'",
             unit_utility_names[c->redo_utility]);
    if (c->unit_utility_input == 1 && !c->layer_norm &&
        (c->method == PLAB_METHOD_CBP || c->method == PLAB_METHOD_REDO ||
         c->method == PLAB_METHOD_CBP_NATURE))
        FAIL("key 'unit_utility_input': normalized needs layer_norm = true");
    if (!plab_kernels_available((plab_kernels_id)c->kernels))
        FAIL("key 'kernels': backend '%s' is not available on this machine",
             kernel_names[c->kernels]);
    if (!plab_kernel_family_available((plab_kernels_id)c->kernels,
                                      (plab_kernel_family)c->kernel_family))
        FAIL("key 'kernel_family': 'fma' is not available in WebAssembly (it has no fused "
             "multiply-add); allowed: strict, auto");
    return plab_problem_check(c, err, err_size);
#undef FAIL
}

void plab_config_net_desc(const plab_config *c, int input_dim, int output_dim, plab_loss loss,
                          plab_net_desc *d)
{
    plab_net_desc_default(d);
    d->input_dim = input_dim;
    d->output_dim = output_dim;
    d->num_hidden = c->num_hidden;
    for (int i = 0; i < PLAB_MAX_HIDDEN; i++)
        d->widths[i] = i < c->num_hidden ? c->hidden[i] : 0;
    d->activation = (plab_activation)c->activation;
    d->layer_norm = c->layer_norm;
    d->skip = c->skip;
    d->init = (plab_init_scheme)c->init;
    d->loss = loss;
    d->max_batch = c->batch_size;
    d->kernel_family = c->kernel_family;
}

void plab_config_optim_desc(const plab_config *c, plab_optim_desc *d)
{
    plab_optim_desc_default(d);
    d->kind = (plab_optimizer_kind)c->optimizer;
    d->lr = (float)c->lr;
    d->shrink = (float)c->l2;
    d->momentum = (float)c->momentum;
    d->beta1 = (float)c->beta1;
    d->beta2 = (float)c->beta2;
    d->eps = (float)c->eps;
    d->per_entry_steps = c->method == PLAB_METHOD_CBP_NATURE;
}
