/*
 * presets.c: the paper's experiments as data (ALGORITHMS §8).
 *
 * A preset is a base system (§8.1, §8.5) written as schema settings, plus the method settings
 * tuned for it (§8.2), the SWR design ablation (§8.3) and the unit-utility ablation (§8.4).
 * Everything is text in the schema's keys ("key=value" pairs), so the CLI, the wasm bindings
 * and the page apply a preset the same way, and `plab presets` prints exactly what runs.
 *
 * Sources: "code" = swr-code / lop-code final-run configurations, "reported" = the thesis
 * tables, "choice" = this project picked one value of a published grid (Nature presets, whose
 * sources give sweeps, not a single setting).
 *
 * Not here: the GELU and SiLU activation variants of pmnist-h100 (§8.1): the core has no GELU
 * or SiLU activation. Nature's probe set for Permuted MNIST is "the first 2,000 examples of
 * the task order" (§6.3); the pmnist problem draws 2,000 uniform distinct images instead
 * (probe_size=2000), the §6.2 rule.
 */
#include <stdio.h>
#include <string.h>

#include "plab.h"

/* Shared by every Permuted MNIST preset (§8.1 footnote): SWR without decay, unit methods reset
 * inside the backward pass on raw features, probes at every task. */
#define PMNIST                                                                                     \
    "problem=pmnist tasks=1000 batch_size=30 steps_per_task=0 init=kaiming_normal "                \
    "unit_reset_timing=before_step unit_utility_input=raw swr_decay=0 probe_every=1 "              \
    "probe_size=0 "
#define H100 "hidden=100,100,100 "
#define H10 "hidden=10,10,10 "
#define PLAIN "activation=relu layer_norm=false skip=false optimizer=sgd "

/* Method settings (§8.2 conventions: SWR gradient/threshold/resample, CBP contribution, ReDo
 * activation; S&P uses the L2 column's shrink). */
#define NONE                                                                                       \
    {                                                                                              \
        "none", "method=none", "code", "backprop alone (the base system)"                          \
    }
#define RESET                                                                                      \
    {                                                                                              \
        "reset", "method=reset", "choice", "reinitialize the whole network every task"             \
    }
#define L2(lam)                                                                                    \
    {                                                                                              \
        "l2", "method=l2 l2=" lam, "code", "decoupled shrink"                                      \
    }
#define SNP(lam, var)                                                                              \
    {                                                                                              \
        "snp", "method=snp l2=" lam " snp_noise_var=" var, "code", "Shrink & Perturb"              \
    }
#define CBP(M, rho)                                                                                \
    {                                                                                              \
        "cbp", "method=cbp cbp_utility=contribution cbp_maturity=" M " cbp_rate=" rho, "code",     \
            "continual backprop (swr-code), contribution utility"                                  \
    }
#define REDO(tau, rho)                                                                             \
    {                                                                                              \
        "redo", "method=redo redo_utility=activation redo_period=" tau " redo_threshold=" rho,     \
            "code", "ReDo, activation utility"                                                     \
    }
#define SWR_(name, util, crit, strat, tau, rho, src)                                               \
    {                                                                                              \
        name,                                                                                      \
            "method=swr swr_utility=" util " swr_criterion=" crit " swr_strategy=" strat           \
            " swr_period=" tau " swr_factor=" rho,                                                 \
            src, "SWR " util "/" crit "/" strat                                                    \
    }
#define SWR(tau, rho) SWR_("swr", "gradient", "threshold", "resample", tau, rho, "code")
#define VARIANT(crit, strat, tau, rho)                                                             \
    SWR_("swr-gradient-" crit "-" strat, "gradient", crit, strat, tau, rho, "code")
#define END                                                                                        \
    {                                                                                              \
        NULL, NULL, NULL, NULL                                                                     \
    }

/* The reported rows of §8.2 carry the "reported" tag. */
#define RL2(lam)                                                                                   \
    {                                                                                              \
        "l2", "method=l2 l2=" lam, "reported", "decoupled shrink"                                  \
    }
#define RSNP(lam, var)                                                                             \
    {                                                                                              \
        "snp", "method=snp l2=" lam " snp_noise_var=" var, "reported", "Shrink & Perturb"          \
    }

static const plab_preset_method h100_methods[] = {
    NONE,
    L2("1e-4"),
    SNP("1e-4", "1e-7"),
    CBP("500", "1e-4"),
    REDO("16", "1e-4"),
    SWR("2048", "1e-5"),
    RESET,
    /* §8.3 SWR design ablation */
    VARIANT("threshold", "mean", "2048", "1e-3"),
    VARIANT("proportional", "resample", "4096", "0.4"),
    VARIANT("proportional", "mean", "512", "0.2"),
    SWR_("swr-magnitude-threshold-resample", "magnitude", "threshold", "resample", "2048", "1e-4",
         "code"),
    SWR_("swr-magnitude-threshold-mean", "magnitude", "threshold", "mean", "1024", "0.1", "code"),
    SWR_("swr-magnitude-proportional-resample", "magnitude", "proportional", "resample", "8192",
         "0.8", "code"),
    SWR_("swr-magnitude-proportional-mean", "magnitude", "proportional", "mean", "8192", "0.8",
         "code"),
    SWR_("swr-gradient-proportional-dose", "gradient", "proportional", "resample", "100", "0.012",
         "reported"),
    SWR_("swr-random-proportional-dose", "random", "proportional", "resample", "100", "0.012",
         "reported"),
    /* §8.4 unit-utility ablation */
    {"cbp-activation", "method=cbp cbp_utility=activation cbp_maturity=10 cbp_rate=1e-4", "code",
     "CBP, activation utility"},
    {"cbp-gradient", "method=cbp cbp_utility=gradient cbp_maturity=5 cbp_rate=1e-4", "code",
     "CBP, gradient utility"},
    {"cbp-magnitude", "method=cbp cbp_utility=magnitude cbp_maturity=500 cbp_rate=1e-2", "code",
     "CBP, magnitude utility"},
    {"redo-contribution",
     "method=redo redo_utility=contribution redo_period=16 redo_threshold=1e-4", "code",
     "ReDo, contribution utility"},
    {"redo-gradient", "method=redo redo_utility=gradient redo_period=32 redo_threshold=1e-5",
     "code", "ReDo, gradient utility"},
    {"redo-magnitude", "method=redo redo_utility=magnitude redo_period=32 redo_threshold=1e-3",
     "code", "ReDo, magnitude utility"},
    END,
};

static const plab_preset_method h100_ln_methods[] = {
    NONE,
    L2("1e-5"),
    SNP("1e-5", "1e-7"),
    CBP("1", "1e-2"),
    REDO("8", "0.1"),
    SWR("2048", "1e-5"),
    RESET,
    VARIANT("threshold", "mean", "4096", "1e-3"),
    VARIANT("proportional", "resample", "2048", "0.1"),
    VARIANT("proportional", "mean", "512", "0.05"),
    {"cbp-normalized",
     "method=cbp cbp_utility=contribution cbp_maturity=1 cbp_rate=1e-5 "
     "unit_utility_input=normalized",
     "reported", "CBP with utilities on the LayerNorm outputs"},
    END,
};

static const plab_preset_method h10_methods[] = {
    NONE,
    L2("1e-4"),
    SNP("1e-4", "1e-9"),
    CBP("5", "1e-3"),
    REDO("8", "0.01"),
    SWR("2048", "1e-6"),
    RESET,
    VARIANT("threshold", "mean", "2048", "1e-3"),
    VARIANT("proportional", "resample", "4096", "0.4"),
    VARIANT("proportional", "mean", "512", "0.1"),
    END,
};

static const plab_preset_method h10_ln_methods[] = {
    NONE,
    L2("1e-4"),
    SNP("1e-4", "1e-10"),
    CBP("1", "1e-5"),
    REDO("8192", "1.0"),
    SWR("2048", "1e-5"),
    RESET,
    VARIANT("threshold", "mean", "8192", "1e-3"),
    VARIANT("proportional", "resample", "2048", "0.2"),
    VARIANT("proportional", "mean", "512", "0.1"),
    END,
};

static const plab_preset_method momentum_methods[] = {
    NONE,
    L2("1e-4"),
    SNP("1e-4", "1e-7"),
    CBP("1", "1e-3"),
    REDO("8", "1e-3"),
    SWR("2048", "1e-6"),
    RESET,
    END,
};

static const plab_preset_method adamw_methods[] = {
    NONE,
    L2("1e-5"),
    SNP("1e-5", "1e-9"),
    CBP("1", "1e-3"),
    REDO("16", "1e-5"),
    SWR("2048", "1e-6"),
    RESET,
    END,
};

static const plab_preset_method h1000_methods[] = {
    NONE,
    RL2("1e-5"),
    RSNP("1e-5", "1e-8"),
    {"cbp", "method=cbp cbp_utility=contribution cbp_maturity=50000 cbp_rate=1e-4", "reported",
     "continual backprop (swr-code), contribution utility"},
    {"redo", "method=redo redo_utility=activation redo_period=8192 redo_threshold=1e-3", "reported",
     "ReDo, activation utility"},
    SWR_("swr", "gradient", "threshold", "resample", "16384", "1e-8", "reported"),
    RESET,
    END,
};

static const plab_preset_method tanh_methods[] = {
    NONE,
    RL2("1e-5"),
    RSNP("1e-5", "1e-10"),
    SWR_("swr", "gradient", "threshold", "resample", "1024", "1e-6", "reported"),
    RESET,
    END,
};

static const plab_preset_method leaky_methods[] = {
    NONE,
    RL2("1e-4"),
    SWR_("swr", "gradient", "threshold", "resample", "2048", "1e-3", "reported"),
    RESET,
    END,
};

static const plab_preset_method base_only_methods[] = {NONE, RESET, END};

/* Nature presets (§8.5): the sources give grids; the middle of each grid is this project's
 * choice, and every other grid value is one key=value away. */
static const plab_preset_method pmnist_nature_methods[] = {
    NONE,
    {"cbp-nature",
     "method=cbp-nature cbp_utility=adaptable_contribution cbp_rate=1e-4 cbp_decay=0.99 "
     "cbp_maturity=100 cbp_accumulate=true",
     "choice", "continual backprop (Nature), rho from {1e-4, 1e-5, 1e-6}"},
    {"l2", "method=l2 l2=3e-7", "choice", "decoupled shrink, lambda from {3e-6, 3e-7, 3e-8}"},
    {"snp", "method=snp l2=3e-7 snp_noise_var=1e-10", "choice",
     "Shrink & Perturb, noise variance from {1e-8, 1e-10, 1e-12}"},
    RESET,
    END,
};

static const plab_preset_method scr_nature_methods[] = {
    NONE,
    {"cbp-nature",
     "method=cbp-nature cbp_utility=adaptable_contribution cbp_rate=1e-4 cbp_decay=0.99 "
     "cbp_maturity=10 cbp_accumulate=false",
     "choice", "continual backprop (Nature), rho from {1e-6, ..., 1e-2}, M = 10 (§10 row 9)"},
    {"l2", "method=l2 l2=1e-5", "choice", "decoupled shrink 0.01 * lambda_c, lambda_c = 1e-3"},
    {"snp", "method=snp l2=1e-4 snp_noise_var=1e-4", "choice",
     "Shrink & Perturb, lambda_c = 1e-2, noise std 1e-2"},
    RESET,
    END,
};

static const plab_preset presets[] = {
    {"synthetic",
     "the schema defaults: permuted synthetic prototypes (no download), 784-100-100-100-10, "
     "10 tasks",
     "problem=synthetic", "pmnist-h100", base_only_methods},
    {"pmnist-h100", "Online Permuted MNIST, 784-100x3-10 ReLU, SGD 0.05 (§8.1)",
     PMNIST H100 PLAIN "lr=0.05", NULL, h100_methods},
    {"pmnist-h100-ln", "pmnist-h100 with post-activation LayerNorm, SGD 0.1",
     PMNIST H100 "activation=relu layer_norm=true skip=false optimizer=sgd lr=0.1", NULL,
     h100_ln_methods},
    {"pmnist-h10", "Online Permuted MNIST, 784-10x3-10 ReLU, SGD 0.05", PMNIST H10 PLAIN "lr=0.05",
     NULL, h10_methods},
    {"pmnist-h10-ln", "pmnist-h10 with post-activation LayerNorm, SGD 0.1",
     PMNIST H10 "activation=relu layer_norm=true skip=false optimizer=sgd lr=0.1", NULL,
     h10_ln_methods},
    {"pmnist-h1000", "Online Permuted MNIST, 784-1000x3-10 ReLU, SGD 0.05 (methods reported)",
     PMNIST "hidden=1000,1000,1000 " PLAIN "lr=0.05", NULL, h1000_methods},
    {"pmnist-h100-momentum", "pmnist-h100 with SGD + momentum 0.9, step 0.005",
     PMNIST H100 "activation=relu layer_norm=false skip=false optimizer=momentum momentum=0.9 "
                 "lr=0.005",
     NULL, momentum_methods},
    {"pmnist-h100-adamw", "pmnist-h100 with AdamW (0.9, 0.999), eps 1e-8, step 5e-4",
     PMNIST H100 "activation=relu layer_norm=false skip=false optimizer=adamw beta1=0.9 "
                 "beta2=0.999 eps=1e-8 lr=5e-4",
     NULL, adamw_methods},
    {"pmnist-h100-crelu", "pmnist-h100 with CReLU (50 linear units per layer), SGD 0.05",
     PMNIST H100 "activation=crelu layer_norm=false skip=false optimizer=sgd lr=0.05",
     "pmnist-h100", base_only_methods},
    {"pmnist-h100-skip", "pmnist-h100 with post-activation skip connections, SGD 0.1",
     PMNIST H100 "activation=relu layer_norm=false skip=true optimizer=sgd lr=0.1", "pmnist-h100",
     base_only_methods},
    {"pmnist-h100-tanh", "pmnist-h100 with tanh, SGD 0.01",
     PMNIST H100 "activation=tanh layer_norm=false skip=false optimizer=sgd lr=0.01", "pmnist-h100",
     tanh_methods},
    {"pmnist-h100-sigmoid", "pmnist-h100 with sigmoid, SGD 0.05",
     PMNIST H100 "activation=sigmoid layer_norm=false skip=false optimizer=sgd lr=0.05",
     "pmnist-h100", base_only_methods},
    {"pmnist-h100-leaky", "pmnist-h100 with leaky ReLU (slope 0.01), SGD 0.05",
     PMNIST H100 "activation=leaky_relu layer_norm=false skip=false optimizer=sgd lr=0.05",
     "pmnist-h100", leaky_methods},
    {"pmnist-nature",
     "Nature Permuted MNIST: batch 1, 800 tasks, 784-2000x3-10 ReLU, Kaiming uniform, SGD 0.003",
     "problem=pmnist tasks=800 batch_size=1 steps_per_task=0 hidden=2000,2000,2000 "
     "activation=relu layer_norm=false skip=false init=kaiming_uniform optimizer=sgd lr=0.003 "
     "unit_reset_timing=after_step unit_utility_input=raw probe_every=1 probe_size=2000",
     NULL, pmnist_nature_methods},
    {"scr-nature",
     "Nature slowly-changing regression (redraw_all), 10^6 steps, 20-5-1 ReLU, SGD 0.01",
     "problem=scr scr_generator=redraw_all scr_period=10000 tasks=100 batch_size=1 "
     "steps_per_task=0 hidden=5 activation=relu layer_norm=false skip=false "
     "init=kaiming_uniform optimizer=sgd lr=0.01 unit_reset_timing=after_step "
     "unit_utility_input=raw probe_every=1 probe_size=0",
     NULL, scr_nature_methods},
    {"scr-nature-flip1", "scr-nature with the flip_one generator (Nature caption), 3x10^6 steps",
     "problem=scr scr_generator=flip_one scr_period=10000 tasks=300 batch_size=1 "
     "steps_per_task=0 hidden=5 activation=relu layer_norm=false skip=false "
     "init=kaiming_uniform optimizer=sgd lr=0.01 unit_reset_timing=after_step "
     "unit_utility_input=raw probe_every=1 probe_size=0",
     "scr-nature", base_only_methods},
};

#define NPRESETS ((int)(sizeof presets / sizeof presets[0]))

int plab_preset_count(void)
{
    return NPRESETS;
}

const plab_preset *plab_preset_at(int i)
{
    return (i >= 0 && i < NPRESETS) ? &presets[i] : NULL;
}

const plab_preset *plab_preset_find(const char *name)
{
    for (int i = 0; name && i < NPRESETS; i++)
        if (strcmp(presets[i].name, name) == 0)
            return &presets[i];
    return NULL;
}

static const plab_preset_method *in_table(const plab_preset_method *t, const char *method)
{
    for (; t && t->name; t++)
        if (strcmp(t->name, method) == 0)
            return t;
    return NULL;
}

const plab_preset_method *plab_preset_method_find(const plab_preset *p, const char *method,
                                                  const plab_preset **from)
{
    if (from)
        *from = NULL;
    if (!p || !method)
        return NULL;
    const plab_preset_method *m = in_table(p->methods, method);
    if (m) {
        if (from)
            *from = p;
        return m;
    }
    const plab_preset *base = plab_preset_find(p->methods_from);
    m = base ? in_table(base->methods, method) : NULL;
    if (m && from)
        *from = base;
    return m;
}

plab_status plab_config_apply(plab_config *c, const char *settings, char *err, size_t err_size)
{
    if (!settings)
        return PLAB_OK;
    const char *s = settings;
    while (*s) {
        while (*s == ' ')
            s++;
        if (!*s)
            break;
        size_t len = strcspn(s, " ");
        char pair[PLAB_PATH_MAX + 64];
        if (len >= sizeof pair) {
            if (err && err_size)
                snprintf(err, err_size, "setting too long: '%.40s...'", s);
            return PLAB_E_INVALID;
        }
        memcpy(pair, s, len);
        pair[len] = 0;
        s += len;
        char *eq = strchr(pair, '=');
        if (!eq || eq == pair) {
            if (err && err_size)
                snprintf(err, err_size, "expected key=value, got '%s'", pair);
            return PLAB_E_INVALID;
        }
        *eq = 0;
        plab_status st = plab_config_set(c, pair, eq + 1, err, err_size);
        if (st != PLAB_OK)
            return st;
    }
    return PLAB_OK;
}
