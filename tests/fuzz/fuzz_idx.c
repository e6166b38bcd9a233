/*
 * fuzz_idx.c: the IDX dataset loader (core/idx.c), both entry points: from bytes
 * (plab_dataset_from_idx_bytes, the wasm page's path) and from files (plab_dataset_load_idx,
 * the CLI's path, through in-memory files).
 *
 * Input layout: byte 0 picks num_classes (byte % 12: 0 infers it, 1..11 as given), bytes 1..4
 * are the image file's length L (little-endian, clamped to what is left), then L bytes of the
 * image file and the rest is the label file. Inputs shorter than 5 bytes are skipped.
 * Properties: no crash, no allocation beyond what the input holds (the loader checks lengths
 * before allocating); both entry points agree on the status and, on success, on every byte.
 */
#include "fuzz.h"

#include <string.h>

#include "plab.h"

#define MAX_INPUT (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fuzz_file fimg, flab;
    if (size < 5 || size > MAX_INPUT)
        return -1;
    int num_classes = data[0] % 12;
    uint32_t want = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
                    (uint32_t)data[4] << 24;
    const uint8_t *img = data + 5;
    size_t rest = size - 5, ilen = want < rest ? want : rest;
    const uint8_t *lab = img + ilen;
    size_t llen = rest - ilen;

    char err[512], err2[512];
    plab_dataset a, b;
    plab_status sa = plab_dataset_from_idx_bytes(img, ilen, lab, llen, num_classes, NULL, &a, err,
                                                 sizeof err);
    FUZZ_CHECK(sa == PLAB_OK || err[0]);
    if (sa == PLAB_OK) {
        FUZZ_CHECK(a.n >= 1 && a.rows >= 1 && a.cols >= 1);
        FUZZ_CHECK((size_t)a.n * a.rows * a.cols + 16 == ilen && (size_t)a.n + 8 == llen);
        FUZZ_CHECK(a.num_classes >= (num_classes ? num_classes : 2) && a.num_classes <= 256);
        for (int i = 0; i < a.n; i++)
            FUZZ_CHECK(a.labels[i] < a.num_classes);
    }

    const char *pi = fuzz_file_set(&fimg, img, ilen);
    const char *pl = pi ? fuzz_file_set(&flab, lab, llen) : NULL;
    if (pl) {
        plab_status sb =
            plab_dataset_load_idx(pi, pl, num_classes, NULL, &b, err2, sizeof err2);
        FUZZ_CHECK(sb == sa);
        if (sb == PLAB_OK) {
            FUZZ_CHECK(b.n == a.n && b.rows == a.rows && b.cols == a.cols &&
                       b.num_classes == a.num_classes);
            FUZZ_CHECK(memcmp(a.images, b.images, (size_t)a.n * a.rows * a.cols) == 0);
            FUZZ_CHECK(memcmp(a.labels, b.labels, (size_t)a.n) == 0);
        }
        plab_dataset_free(&b);
    }
    plab_dataset_free(&a);
    return 0;
}
