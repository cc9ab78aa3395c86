/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small helpers shared by every module: ownership (cleanup attributes, TAKE_*),
 * errno-style returns and logging for entry points. */

#include <errno.h>
#include <stdarg.h>
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define STRLEN(x) (sizeof(x) - 1)

/* Take ownership out of a cleanup variable: the variable is left empty. */
#define TAKE_PTR(p)                          \
        ({                                   \
                __typeof__(p) _p_ = (p);     \
                (p) = NULL;                  \
                _p_;                         \
        })
#define TAKE_FD(fd)                          \
        ({                                   \
                int _fd_ = (fd);             \
                (fd) = -EBADF;               \
                _fd_;                        \
        })

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}
static inline void closep(int *fd) {
        *fd = safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void close_pair(int (*p)[2]) {
        (*p)[0] = safe_close((*p)[0]);
        (*p)[1] = safe_close((*p)[1]);
}
#define _cleanup_close_pair_ _cleanup_(close_pair)

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}
#define _cleanup_closedir_ _cleanup_(closedirp)

/* A NULL-terminated array of strings. */
static inline void strv_free(char **l) {
        if (!l)
                return;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
}
static inline void strv_freep(char ***l) {
        strv_free(*l);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)

static inline size_t strv_length(char *const *l) {
        size_t n = 0;
        if (l)
                while (l[n])
                        n++;
        return n;
}

/* Append a copy of s to *l. Returns 0 or -ENOMEM. */
int strv_extend(char ***l, const char *s);

/* CLOCK_REALTIME and CLOCK_MONOTONIC in microseconds. */
uint64_t now_realtime_usec(void);
uint64_t now_monotonic_usec(void);

/* Whether the process behind a pidfd still runs (a pidfd is readable once its process
 * has exited). */
bool pidfd_alive(int pidfd);

/* The names in the directory dirfd (not . and ..), those that filter (may be NULL)
 * accepts, sorted. Returns 0 or -errno. */
int dir_list(int dirfd, bool (*filter)(const struct dirent *de), char ***ret);
/* Append s to *l, taking ownership of it (freed on failure). */
int strv_consume(char ***l, char *s);
/* True if l contains s. */
bool strv_contains(char *const *l, const char *s);

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}
static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return streq(a, b);
}
static inline const char *strempty(const char *s) {
        return s ? s : "";
}
/* Returns the rest of s after prefix, or NULL. */
static inline const char *startswith(const char *s, const char *prefix) {
        size_t l = strlen(prefix);
        return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}
/* Returns a pointer to the suffix within s, or NULL. */
static inline const char *endswith(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && streq(s + a - b, suffix) ? s + a - b : NULL;
}

/* Parse a plain decimal number: digits only (no sign, space or base prefix), no
 * overflow. Returns 0 or -EINVAL/-ERANGE. */
int parse_u64(const char *s, uint64_t *ret);

/* Parse a size in bytes: a plain decimal number, optionally followed by K, M, G or T
 * (either case) for that many KiB, MiB, GiB or TiB (powers of 1024). Nothing else, no
 * space, no overflow. Returns 0 or -EINVAL/-ERANGE. */
int parse_size(const char *s, uint64_t *ret);

/* asprintf() that returns NULL on failure. */
char *strf(const char *fmt, ...) _printf_(1, 2);

/* Read/write loops that retry on EINTR and short transfers. Return 0 or -errno;
 * read_full returns the number of bytes read (less than n only at EOF). */
ssize_t read_full(int fd, void *buf, size_t n);
int write_full(int fd, const void *buf, size_t n);

/* The pid of the process pidfd refers to, as this process's pid namespace sees it (its
 * fdinfo's Pid:), for pidfds made in another pid namespace. Returns it, or -ESRCH when
 * the process is gone, or -errno. */
pid_t pidfd_get_pid(int pidfd);

/* The start time of process pid (field 22 of /proc/<pid>/stat, in clock ticks since
 * boot): with the pid, it names a process across pid reuse. Returns 0, or -ESRCH when
 * there is no such process, or -errno. */
int process_start_time(pid_t pid, uint64_t *ret);

/* RLIMIT_NOFILE. The service raises its soft limit to the hard one: a burst of Runs
 * holds several fds each. Commands get the soft limit the service started with back
 * (programs that use select() rely on it); rlimit_nofile_restore() makes only a system
 * call, for a vfork()ed child. rlimit_nofile_current() is the soft limit now. */
int rlimit_nofile_raise(void);
void rlimit_nofile_restore(void);
uint64_t rlimit_nofile_current(void);

/* Read a whole (small) file relative to dirfd, refusing anything larger than max. */
int read_file_at(int dirfd, const char *path, size_t max, char **ret);

/* The end of the file fd: a regular file's last max bytes (read with pread(), whatever
 * fd's offset), from the first line that begins in them when the file holds more and has
 * one; of a character device (/dev/null, say), what one read of at most max bytes gives.
 * NUL-terminated, *ret_size without the NUL. Returns 0, -EBADFD for a pipe, socket or
 * directory (reading a pipe to its end would wait for its writer), or -errno. */
int read_file_tail(int fd, size_t max, char **ret, size_t *ret_size);

/* Length of the well-formed multi-byte UTF-8 sequence at s, of which at most n bytes are
 * there, or 0 (ASCII; a stray or truncated byte; overlong forms, surrogates and code
 * points above U+10FFFF, which D-Bus and JSON refuse). */
size_t utf8_sequence(const unsigned char *s, size_t n);

/* s[0..n) as valid UTF-8 for D-Bus or JSON: every byte that is not part of a
 * well-formed sequence, and every NUL, becomes U+FFFD. NULL when out of memory. */
char *utf8_make_valid(const char *s, size_t n);

/* Write a file atomically: a temporary in the same directory, fsync, rename. */
int write_file_atomic_at(int dirfd, const char *name, const char *contents, mode_t mode);

/* The same without the fsync, for what need not outlive a crash of the machine: readers
 * see the old file or the new one, never a part. */
int write_file_replace_at(int dirfd, const char *name, const char *contents, mode_t mode);

/* mkdir -p for a trusted host path (our own state and cache directories). */
int mkdir_p(const char *path, mode_t mode);

/* Logging for entry points (main, bus handlers): sd-daemon style "<N>" prefixes so
 * journald picks up the priority. Core code returns errors instead of logging. */
void log_full(int priority, const char *fmt, ...) _printf_(2, 3);
#define log_error(...) log_full(3, __VA_ARGS__)
#define log_warning(...) log_full(4, __VA_ARGS__)
#define log_notice(...) log_full(5, __VA_ARGS__)
#define log_info(...) log_full(6, __VA_ARGS__)
#define log_debug(...) log_full(7, __VA_ARGS__)
/* The same for a failure with error (a negative errno; a positive one is taken as its
 * negation): %m in fmt says what error is, whatever errno was, and errno is kept.
 * Returns -|error|, so that an entry point can end with
 * "return log_error_errno(r, "Failed to load '%s': %m", path);". */
int log_full_errno(int priority, int error, const char *fmt, ...) _printf_(3, 4);
#define log_error_errno(error, ...) log_full_errno(3, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(4, (error), __VA_ARGS__)
#define log_notice_errno(error, ...) log_full_errno(5, (error), __VA_ARGS__)
#define log_info_errno(error, ...) log_full_errno(6, (error), __VA_ARGS__)
#define log_debug_errno(error, ...) log_full_errno(7, (error), __VA_ARGS__)
/* Set the highest priority that is printed (default 6, info). */
void log_set_max_level(int level);
