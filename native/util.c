/*
 * util.c: buffers, number formatting, and crash-safe file operations for the CLI.
 *
 * Durability: a file that must never be seen half-written (config.json, summary.json, DONE,
 * the checkpoint) is written to a temporary name in the same directory, fsynced, renamed over
 * the target, and the directory is fsynced, so after a crash either the old or the new file
 * exists in full.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "plab: out of memory\n");
        exit(EXIT_FAIL);
    }
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "plab: out of memory\n");
        exit(EXIT_FAIL);
    }
    return q;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);
    memcpy(p, s, n);
    return p;
}

void sb_free(sbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

void sb_reset(sbuf *b)
{
    b->n = 0;
    if (b->p)
        b->p[0] = 0;
}

static void sb_reserve(sbuf *b, size_t extra)
{
    if (b->n + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + extra + 1)
        cap *= 2;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}

void sb_put(sbuf *b, const void *p, size_t n)
{
    sb_reserve(b, n);
    memcpy(b->p + b->n, p, n);
    b->n += n;
    b->p[b->n] = 0;
}

void sb_puts(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0)
        return;
    sb_reserve(b, (size_t)need);
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)need + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)need;
}

void sb_double(sbuf *b, double v)
{
    if (isnan(v))
        sb_puts(b, "nan");
    else if (isinf(v))
        sb_puts(b, v > 0 ? "inf" : "-inf");
    else
        sb_printf(b, "%.17g", v);
}

void sb_json_double(sbuf *b, double v)
{
    if (!isfinite(v))
        sb_puts(b, "null");
    else
        sb_printf(b, "%.17g", v);
}

void sb_json_str(sbuf *b, const char *s)
{
    sb_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            sb_puts(b, "\\\"");
            break;
        case '\\':
            sb_puts(b, "\\\\");
            break;
        case '\n':
            sb_puts(b, "\\n");
            break;
        case '\t':
            sb_puts(b, "\\t");
            break;
        case '\r':
            sb_puts(b, "\\r");
            break;
        default:
            if (*p < 0x20)
                sb_printf(b, "\\u%04x", *p);
            else
                sb_put(b, p, 1);
        }
    }
    sb_puts(b, "\"");
}

double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}


int path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

void path_join(char *dst, size_t n, const char *a, const char *b)
{
    size_t la = strlen(a);
    if (la == 0)
        snprintf(dst, n, "%s", b);
    else if (a[la - 1] == '/')
        snprintf(dst, n, "%s%s", a, b);
    else
        snprintf(dst, n, "%s/%s", a, b);
}

int mkdir_p(const char *path, char *err, size_t n)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        snprintf(err, n, "path too long: %s", path);
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
            snprintf(err, n, "cannot create directory %s: %s", buf, strerror(errno));
            return -1;
        }
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
        snprintf(err, n, "cannot create directory %s: %s", buf, strerror(errno));
        return -1;
    }
    if (!is_dir(buf)) {
        snprintf(err, n, "%s exists and is not a directory", buf);
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

int read_file(const char *path, char **out, size_t *len, char *err, size_t n)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, n, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    sbuf b = {0};
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        sb_put(&b, chunk, got);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        snprintf(err, n, "cannot read %s", path);
        sb_free(&b);
        return -1;
    }
    if (!b.p)
        sb_put(&b, "", 0);
    *out = b.p;
    if (len)
        *len = b.n;
    return 0;
}

int fsync_dir(const char *dir)
{
    int fd = open(dir[0] ? dir : ".", O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static void dir_of(const char *path, char *dir, size_t n)
{
    snprintf(dir, n, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, n, ".");
    else if (slash == dir)
        dir[1] = 0;
    else
        *slash = 0;
}

/* Sleeps ms milliseconds, resuming after signals (a test hook's pause). */
static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L}, left;
    while (ms > 0 && nanosleep(&ts, &left) != 0 && errno == EINTR)
        ts = left;
}

/* Writes len bytes to fd, resuming after EINTR and short writes. */
static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int write_file_atomic_paused(const char *path, const void *data, size_t len, int pause, char *err,
                             size_t n)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s" TEMP_SUFFIX, path);
    dir_of(path, dir, sizeof dir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        snprintf(err, n, "cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    const char *p = data;
    size_t half = pause > 0 ? len / 2 : len;
    int bad = write_all(fd, p, half);
    if (!bad && pause > 0) {
        pause_ms(pause / 2); /* a torn temporary file */
        bad = write_all(fd, p + half, len - half);
    }
    if (bad) {
        snprintf(err, n, "cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        snprintf(err, n, "cannot sync %s: %s", tmp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (pause > 0)
        pause_ms(pause - pause / 2); /* a complete temporary file, not yet renamed */
    if (rename(tmp, path) != 0) {
        snprintf(err, n, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (fsync_dir(dir) != 0) {
        snprintf(err, n, "cannot sync directory %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t n)
{
    return write_file_atomic_paused(path, data, len, 0, err, n);
}

void exe_path(char *out, size_t n, const char *argv0)
{
    char buf[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (k > 0) {
        buf[k] = 0;
        snprintf(out, n, "%s", buf);
        return;
    }
    if (argv0 && realpath(argv0, buf))
        snprintf(out, n, "%s", buf);
    else
        snprintf(out, n, "%s", argv0 ? argv0 : "plab");
}

void exe_dir(char *out, size_t n)
{
    char p[PATH_MAX];
    exe_path(p, sizeof p, NULL);
    if (p[0] != '/') {
        out[0] = 0;
        return;
    }
    dir_of(p, out, n);
}

/* A size for --memory-limit: a number and an optional binary unit (K, M, G, T; "iB", "B"). */
int parse_size(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !isdigit((unsigned char)s[0]))
        return -1;
    double v = strtod(s, &end);
    double mul = 1;
    switch (toupper((unsigned char)*end)) {
    case 'K':
        mul = 1024.0;
        break;
    case 'M':
        mul = 1024.0 * 1024;
        break;
    case 'G':
        mul = 1024.0 * 1024 * 1024;
        break;
    case 'T':
        mul = 1024.0 * 1024 * 1024 * 1024;
        break;
    default:
        break;
    }
    if (mul > 1) {
        end++;
        if (*end == 'i' || *end == 'I')
            end++;
        if (*end == 'B' || *end == 'b')
            end++;
    } else if (*end == 'B' || *end == 'b') {
        end++;
    }
    v *= mul;
    if (*end || !isfinite(v) || v < 1 || v >= 18446744073709551616.0)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

/* Sizes for messages, in binary units with one decimal. */
void fmt_size(char *buf, size_t n, uint64_t b)
{
    if (b >= (1ull << 40))
        snprintf(buf, n, "%.1f TiB", (double)b / (double)(1ull << 40));
    else if (b >= (1ull << 30))
        snprintf(buf, n, "%.1f GiB", (double)b / (double)(1ull << 30));
    else if (b >= (1ull << 20))
        snprintf(buf, n, "%.1f MiB", (double)b / (double)(1ull << 20));
    else if (b >= (1ull << 10))
        snprintf(buf, n, "%.1f KiB", (double)b / 1024.0);
    else
        snprintf(buf, n, "%llu bytes", (unsigned long long)b);
}

/* Physical memory, lowered to a finite address-space or data rlimit when one is set. */
uint64_t default_mem_limit(char *what, size_t n)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    uint64_t lim = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
    snprintf(what, n, "the physical memory");
    static const struct {
        int res;
        const char *name;
    } rl[] = {{RLIMIT_AS, "the address-space limit (ulimit -v)"},
              {RLIMIT_DATA, "the data-size limit (ulimit -d)"}};
    for (size_t i = 0; i < sizeof rl / sizeof rl[0]; i++) {
        struct rlimit r;
        if (getrlimit(rl[i].res, &r) == 0 && r.rlim_cur != RLIM_INFINITY &&
            (lim == 0 || (uint64_t)r.rlim_cur < lim)) {
            lim = (uint64_t)r.rlim_cur;
            snprintf(what, n, "%s", rl[i].name);
        }
    }
    return lim;
}
