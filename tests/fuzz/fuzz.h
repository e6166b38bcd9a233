/*
 * fuzz.h: what the libFuzzer targets in tests/fuzz/ share. Each target is one file with
 * LLVMFuzzerTestOneInput; built with clang -fsanitize=fuzzer it is a fuzzer (scripts/fuzz.sh),
 * linked with replay_main.c it replays the checked-in corpus and crashes under ctest.
 *
 * A target checks properties of the parser, not only that it survives: FUZZ_CHECK aborts (a
 * crash the fuzzer saves) with the failed condition when a property does not hold.
 */
#ifndef PLAB_FUZZ_H
#define PLAB_FUZZ_H

#define _GNU_SOURCE /* memfd_create */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed\n", __FILE__, __LINE__, #cond);       \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * An in-memory file (memfd) a file-reading parser can open by name: the real code path, no
 * file left behind. fuzz_file_set replaces its contents and returns its path
 * ("/proc/self/fd/N"), or NULL if the kernel refused (the target then skips the file path).
 */
typedef struct fuzz_file {
    int fd;
    char path[32];
} fuzz_file;

static inline const char *fuzz_file_set(fuzz_file *f, const void *data, size_t size)
{
    if (f->fd <= 0) {
        f->fd = memfd_create("plab-fuzz", MFD_CLOEXEC);
        if (f->fd < 0)
            return NULL;
        snprintf(f->path, sizeof f->path, "/proc/self/fd/%d", f->fd);
    }
    if (ftruncate(f->fd, 0) != 0)
        return NULL;
    for (size_t done = 0; done < size;) {
        ssize_t n = pwrite(f->fd, (const char *)data + done, size - done, (off_t)done);
        if (n <= 0)
            return NULL;
        done += (size_t)n;
    }
    return f->path;
}

#endif
