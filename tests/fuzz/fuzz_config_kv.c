/*
 * fuzz_config_kv.c: the key=value parsers. An input is lines; each line is one command-line
 * argument. Three parsers read them:
 *   - the CLI's flags (native/settings.c settings_from_args), then the layered resolution
 *     (native/resolve.c resolve) that `plab run key=value ...` does;
 *   - the core's settings text (core/presets.c plab_config_apply, "k=v k=v", lines joined
 *     by spaces), as presets and the wasm bindings use it;
 *   - the core's single-key parser (core/config.c plab_config_set) on every line.
 * Properties: no crash; an accepted config passes plab_config_check (resolve) and every key
 * round-trips through plab_config_get / plab_config_set unchanged.
 */
#include "fuzz.h"

#include <string.h>

#include "cli.h"

#define MAX_INPUT 16384 /* bytes: a command line, not a file */
#define MAX_ARGS 64

/* Every key's text form reads back as the same text (what config.json and resume rely on). */
static void check_round_trip(const plab_config *c)
{
    for (int i = 0; i < plab_config_num_keys(); i++) {
        const char *key = plab_config_key(i)->key;
        char a[PLAB_PATH_MAX + 8], b[PLAB_PATH_MAX + 8], err[512];
        FUZZ_CHECK(plab_config_get(c, key, a, sizeof a) == PLAB_OK);
        plab_config d = *c;
        FUZZ_CHECK(plab_config_set(&d, key, a, err, sizeof err) == PLAB_OK);
        FUZZ_CHECK(plab_config_get(&d, key, b, sizeof b) == PLAB_OK);
        FUZZ_CHECK(strcmp(a, b) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return -1;
    char *text = malloc(size + 1), *spaced = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    char *argv[MAX_ARGS];
    int argc = 0;
    for (char *p = text; argc < MAX_ARGS;) {
        argv[argc++] = p;
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = 0;
        p = nl + 1;
    }
    char err[1024];

    /* the CLI: flags, then defaults < preset < method < flags */
    settings flags = {0};
    if (settings_from_args(&flags, argc, argv, err, sizeof err) == 0) {
        resolved r;
        if (resolve(NULL, &flags, &r, err, sizeof err) == EXIT_OK) {
            FUZZ_CHECK(plab_config_check(&r.cfg, err, sizeof err) == PLAB_OK);
            check_round_trip(&r.cfg);
        }
    }
    settings_free(&flags);

    /* the core's settings text (NULs end it early, as they would in C) */
    memcpy(spaced, data, size);
    spaced[size] = 0;
    for (size_t i = 0; i < size; i++)
        if (spaced[i] == '\n')
            spaced[i] = ' ';
    plab_config c;
    plab_config_default(&c);
    if (plab_config_apply(&c, spaced, err, sizeof err) == PLAB_OK)
        check_round_trip(&c);

    /* one key at a time */
    plab_config_default(&c);
    for (int i = 0; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq)
            continue;
        *eq = 0;
        plab_config_set(&c, argv[i], eq + 1, err, sizeof err);
        *eq = '=';
    }
    check_round_trip(&c);

    free(text);
    free(spaced);
    return 0;
}
