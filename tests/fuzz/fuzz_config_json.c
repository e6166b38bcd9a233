/*
 * fuzz_config_json.c: the JSON experiment/sweep file reader and config.json (native/settings.c
 * settings_from_json_file over cJSON, native/resolve.c resolve and resolve_from_config_json).
 * An input is one file's bytes, read through an in-memory file by the real file path.
 * Properties: no crash; a file that resolves to a config gives a config.json
 * (resolve.c config_json) that reads back as the same experiment (what `plab resume` does).
 */
#include "fuzz.h"

#include <string.h>

#include "cli.h"

#define MAX_INPUT 65536 /* bytes: an experiment file is a few hundred */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fuzz_file in, out;
    if (size > MAX_INPUT)
        return -1;
    const char *path = fuzz_file_set(&in, data, size);
    if (!path)
        return 0;
    char err[1024];

    /* as `plab run exp.json` reads it */
    settings file = {0};
    if (settings_from_json_file(&file, path, err, sizeof err) == 0) {
        resolved r;
        if (resolve(&file, NULL, &r, err, sizeof err) == EXIT_OK) {
            sbuf b = {0};
            config_json(&b, &r, "scalar");
            const char *again = fuzz_file_set(&out, b.p, b.n);
            resolved back;
            char what[1024];
            if (again) {
                FUZZ_CHECK(resolve_from_config_json(again, &back, err, sizeof err) == EXIT_OK);
                FUZZ_CHECK(resolved_diff(&r, &back, what, sizeof what) == 0);
                FUZZ_CHECK(resolved_hash(&r) == resolved_hash(&back));
            }
            sb_free(&b);
        }
    }
    settings_free(&file);

    /* as `plab resume` reads a run directory's config.json */
    resolved rr;
    resolve_from_config_json(path, &rr, err, sizeof err);
    return 0;
}
