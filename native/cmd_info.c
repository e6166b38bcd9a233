/*
 * cmd_info.c: `plab presets`, `plab methods` and `plab keys`: what the schema and the preset
 * table hold, printed from the data itself (core/config.c, core/presets.c).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* A key's default as text; reals in their shortest exact form (1e-05, not
 * 1.0000000000000001e-05). */
static void default_text(const plab_config *c, const plab_key_info *k, char *buf, size_t n)
{
    plab_config_get(c, k->key, buf, n);
    if (k->type != PLAB_KEY_REAL)
        return;
    double v = strtod(buf, NULL);
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

int cmd_presets(int argc, char **argv)
{
    const char *only = argc > 0 ? argv[0] : NULL;
    if (only && strcmp(only, "--names") == 0) {
        for (int i = 0; i < plab_preset_count(); i++)
            printf("%s\n", plab_preset_at(i)->name);
        return EXIT_OK;
    }
    if (only && !plab_preset_find(only)) {
        fprintf(stderr, "plab presets: unknown preset '%s'\n", only);
        return EXIT_USAGE;
    }
    for (int i = 0; i < plab_preset_count(); i++) {
        const plab_preset *p = plab_preset_at(i);
        if (only && strcmp(only, p->name) != 0)
            continue;
        printf("%s\n  %s\n  settings: %s\n", p->name, p->help, p->settings);
        printf("  methods (--method NAME):\n");
        for (const plab_preset_method *m = p->methods; m && m->name; m++)
            printf("    %-36s %s  [%s]\n", m->name, m->settings, m->source);
        const plab_preset *base = plab_preset_find(p->methods_from);
        if (base) {
            printf("    other methods: the settings of %s (not tuned for this preset in the "
                   "paper):",
                   base->name);
            int col = 100;
            for (const plab_preset_method *m = base->methods; m && m->name; m++) {
                const plab_preset *from;
                plab_preset_method_find(p, m->name, &from);
                if (from == p)
                    continue;
                int len = (int)strlen(m->name);
                if (col + len > 92) {
                    printf("\n      %s", m->name);
                    col = 6 + len;
                } else {
                    printf(" %s", m->name);
                    col += 1 + len;
                }
            }
            printf("\n");
        }
        printf("\n");
    }
    if (!only)
        printf("Not available: the GELU and SiLU variants of pmnist-h100 (the core has no GELU or "
               "SiLU activation).\nA method a preset does not list runs with the schema defaults "
               "of its keys (see `plab methods`).\nSources: code = the papers' released "
               "final-run configurations, reported = thesis tables,\nchoice = this project picked "
               "one value of a published grid.\n");
    return EXIT_OK;
}

/* Which method keys each method reads (by the schema's key names). */
static int key_for(const char *method, const char *key)
{
    if (strcmp(key, "reinit_gain") == 0)
        return strcmp(method, "swr") == 0 || strcmp(method, "cbp") == 0 ||
               strcmp(method, "redo") == 0 || strcmp(method, "cbp-nature") == 0;
    if (strcmp(key, "reset_each_task") == 0)
        return 0; /* composes with every method: listed under "every method" */
    if (!strncmp(key, "swr_", 4))
        return strcmp(method, "swr") == 0;
    if (!strncmp(key, "redo_", 5))
        return strcmp(method, "redo") == 0;
    if (!strncmp(key, "snp_", 4))
        return strcmp(method, "snp") == 0;
    if (!strncmp(key, "unit_", 5))
        return strcmp(method, "cbp") == 0 || strcmp(method, "redo") == 0;
    if (!strcmp(key, "cbp_decay") || !strcmp(key, "cbp_accumulate") ||
        !strcmp(key, "cbp_bias_correction"))
        return strcmp(method, "cbp-nature") == 0;
    if (!strncmp(key, "cbp_", 4))
        return strcmp(method, "cbp") == 0 || strcmp(method, "cbp-nature") == 0;
    return 0;
}

static void print_key(const plab_config *c, const plab_key_info *k)
{
    char def[PLAB_PATH_MAX + 8];
    default_text(c, k, def, sizeof def);
    printf("    %-20s default %-14s %s", k->key, def[0] ? def : "\"\"", k->help);
    if (k->choices) {
        printf(" (");
        for (int j = 0; k->choices[j]; j++)
            printf("%s%s", j ? "|" : "", k->choices[j]);
        printf(")");
    }
    printf("\n");
}

int cmd_methods(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    static const char *const about[][2] = {
        {"none", "backprop alone"},
        {"swr", "selective weight reinitialization (ALGORITHMS §4.1)"},
        {"cbp", "continual backprop as in the SWR paper's code (§4.3)"},
        {"cbp-nature", "continual backprop as in Dohare et al., Nature 2024 (§4.4)"},
        {"redo", "ReDo, recycling dormant units (§4.6)"},
        {"l2", "L2 as a decoupled per-step shrink, key l2 (§4.7)"},
        {"snp", "Shrink & Perturb: the l2 shrink plus Gaussian noise (§4.8)"},
        {"reset", "reinitialize the whole network every task (§4.9)"},
    };
    plab_config c;
    plab_config_default(&c);
    const plab_key_info *mk = plab_config_find("method");
    for (int i = 0; mk->choices[i]; i++) {
        const char *m = mk->choices[i];
        const char *text = "";
        for (size_t a = 0; a < sizeof about / sizeof about[0]; a++)
            if (strcmp(about[a][0], m) == 0)
                text = about[a][1];
        printf("%s: %s\n", m, text);
        if (strcmp(m, "l2") == 0 || strcmp(m, "snp") == 0)
            print_key(&c, plab_config_find("l2"));
        for (int k = 0; k < plab_config_num_keys(); k++) {
            const plab_key_info *ki = plab_config_key(k);
            if (strcmp(ki->group, "method") == 0 && key_for(m, ki->key))
                print_key(&c, ki);
        }
    }
    printf("every method:\n");
    print_key(&c, plab_config_find("reset_each_task"));
    printf("\n`plab run --preset P --method M` applies preset P's tuned settings for M "
           "(`plab presets` lists them);\nany key=value flag overrides them.\n");
    return EXIT_OK;
}

int cmd_keys(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    plab_config c;
    plab_config_default(&c);
    for (int i = 0; i < plab_config_num_keys(); i++) {
        const plab_key_info *k = plab_config_key(i);
        char def[PLAB_PATH_MAX + 8];
        default_text(&c, k, def, sizeof def);
        printf("%-22s %-9s default %-16s %s", k->key, k->group, def[0] ? def : "\"\"", k->help);
        if (k->choices) {
            printf(" (");
            for (int j = 0; k->choices[j]; j++)
                printf("%s%s", j ? "|" : "", k->choices[j]);
            printf(")");
        }
        printf("\n");
    }
    return EXIT_OK;
}

/* `plab problems`: every registered problem, its description and the dataset it needs. */
int cmd_problems(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    for (int i = 0; i < plab_problem_count(); i++) {
        const char *name = plab_problem_name(i);
        const char *ds = plab_problem_dataset(name);
        printf("%-12s %s (%s)\n", name, plab_problem_help(i),
               ds ? (strcmp(ds, "mnist") == 0 ? "needs MNIST: scripts/fetch-data.sh --mnist-only"
                                              : "needs Fashion-MNIST: scripts/fetch-data.sh")
                  : "no dataset needed");
    }
    return EXIT_OK;
}
