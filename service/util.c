/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "util.h"

#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

int strv_consume(char ***l, char *s) {
        size_t n;
        char **c;

        if (!s)
                return -ENOMEM;
        n = strv_length(*l);
        c = realloc(*l, sizeof(char *) * (n + 2));
        if (!c) {
                free(s);
                return -ENOMEM;
        }
        c[n] = s;
        c[n + 1] = NULL;
        *l = c;
        return 0;
}

int strv_extend(char ***l, const char *s) {
        return strv_consume(l, strdup(s));
}

bool strv_contains(char *const *l, const char *s) {
        if (l)
                for (; *l; l++)
                        if (streq(*l, s))
                                return true;
        return false;
}

int parse_u64(const char *s, uint64_t *ret) {
        uint64_t v = 0;

        if (!s || !*s)
                return -EINVAL;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                if (v > (UINT64_MAX - (uint64_t) (*s - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        *ret = v;
        return 0;
}

int parse_size(const char *s, uint64_t *ret) {
        static const char units[] = "KMGTkmgt";
        _cleanup_free_ char *digits = NULL;
        unsigned shift = 0;
        const char *u;
        uint64_t v;
        size_t n;
        int r;

        if (!s || !*s)
                return -EINVAL;
        n = strlen(s);
        u = strchr(units, s[n - 1]); /* s[n - 1] is not the NUL that strchr() would find */
        if (u) {
                shift = 10 * (unsigned) ((u - units) % 4 + 1);
                n--;
        }
        digits = strndup(s, n);
        if (!digits)
                return -ENOMEM;
        r = parse_u64(digits, &v);
        if (r < 0)
                return r;
        if (v > UINT64_MAX >> shift)
                return -ERANGE;
        *ret = v << shift;
        return 0;
}

char *strf(const char *fmt, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
}

ssize_t read_full(int fd, void *buf, size_t n) {
        size_t done = 0;

        while (done < n) {
                ssize_t k = read(fd, (char *) buf + done, n - done);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                done += (size_t) k;
        }
        return (ssize_t) done;
}

int write_full(int fd, const void *buf, size_t n) {
        size_t done = 0;

        while (done < n) {
                ssize_t k = write(fd, (const char *) buf + done, n - done);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                done += (size_t) k;
        }
        return 0;
}

int read_file_at(int dirfd, const char *path, size_t max, char **ret) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        ssize_t n;

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        buf = malloc(max + 1);
        if (!buf)
                return -ENOMEM;
        n = read_full(fd, buf, max + 1);
        if (n < 0)
                return (int) n;
        if ((size_t) n > max)
                return -EFBIG;
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        return 0;
}

int read_file_tail(int fd, size_t max, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        off_t start;
        size_t n = 0;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISDIR(st.st_mode))
                return -EBADFD;
        buf = malloc(max + 1);
        if (!buf)
                return -ENOMEM;
        if (!S_ISREG(st.st_mode)) {
                ssize_t k = read_full(fd, buf, max);
                if (k < 0)
                        return (int) k;
                buf[k] = 0;
                *ret = TAKE_PTR(buf);
                if (ret_size)
                        *ret_size = (size_t) k;
                return 0;
        }
        start = (uint64_t) st.st_size > max ? st.st_size - (off_t) max : 0;
        /* The file may grow meanwhile: what was there when we looked is enough. */
        while (n < max) {
                ssize_t k = pread(fd, buf + n, max - n, start + (off_t) n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        buf[n] = 0;
        if (start > 0) {
                /* Not a line cut in its middle (nor a character), unless it is all there is. */
                char *nl = memchr(buf, '\n', n);
                if (nl && nl + 1 < buf + n) {
                        n -= (size_t) (nl + 1 - buf);
                        memmove(buf, nl + 1, n + 1);
                }
        }
        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = n;
        return 0;
}

size_t utf8_sequence(const unsigned char *s, size_t n) {
        unsigned char lo = 0x80, hi = 0xbf;
        size_t len;

        if (n == 0)
                return 0;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                len = 2;
        else if (s[0] >= 0xe0 && s[0] <= 0xef) {
                len = 3;
                if (s[0] == 0xe0)
                        lo = 0xa0;
                else if (s[0] == 0xed)
                        hi = 0x9f;
        } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
                len = 4;
                if (s[0] == 0xf0)
                        lo = 0x90;
                else if (s[0] == 0xf4)
                        hi = 0x8f;
        } else
                return 0;

        if (n < len || s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < len; i++)
                if (s[i] < 0x80 || s[i] > 0xbf)
                        return 0;
        return len;
}

char *utf8_make_valid(const char *s, size_t n) {
        const unsigned char *u = (const unsigned char *) s;
        char *out, *p;

        /* At worst every byte becomes the three of U+FFFD. */
        if (n > (SIZE_MAX - 1) / 3)
                return NULL;
        out = p = malloc(n * 3 + 1);
        if (!out)
                return NULL;
        for (size_t i = 0; i < n;) {
                size_t len = u[i] >= 0x80 ? utf8_sequence(u + i, n - i) : 1;

                if (len == 0 || u[i] == 0) {
                        p = stpcpy(p, "\xef\xbf\xbd");
                        i++;
                } else {
                        memcpy(p, u + i, len);
                        p += len;
                        i += len;
                }
        }
        *p = 0;
        return out;
}

static int replace_file_at(int dirfd, const char *name, const char *contents, mode_t mode, bool sync) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        tmp = strf(".#%s.tmp", name);
        if (!tmp)
                return -ENOMEM;
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return -errno;
        r = write_full(fd, contents, strlen(contents));
        if (r >= 0 && sync && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = -errno;
        if (r < 0)
                (void) unlinkat(dirfd, tmp, 0);
        return r;
}

int write_file_atomic_at(int dirfd, const char *name, const char *contents, mode_t mode) {
        return replace_file_at(dirfd, name, contents, mode, true);
}

int write_file_replace_at(int dirfd, const char *name, const char *contents, mode_t mode) {
        return replace_file_at(dirfd, name, contents, mode, false);
}

int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0) {
                struct stat st;

                if (errno != EEXIST)
                        return -errno;
                if (stat(p, &st) < 0)
                        return -errno;
                if (!S_ISDIR(st.st_mode))
                        return -ENOTDIR;
        }
        return 0;
}

static int max_level = 6;

void log_set_max_level(int level) {
        max_level = level;
}

/* One line on stderr, %m in fmt being error (a positive errno value); errno is kept. */
static void log_fullv(int priority, int error, const char *fmt, va_list ap) {
        int saved = errno;

        fprintf(stderr, "<%d>", priority);
        /* Set last: fprintf() above may change errno. */
        errno = error;
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        errno = saved;
}

void log_full(int priority, const char *fmt, ...) {
        va_list ap;

        if (priority > max_level)
                return;
        va_start(ap, fmt);
        log_fullv(priority, errno, fmt, ap);
        va_end(ap);
}

int log_full_errno(int priority, int error, const char *fmt, ...) {
        va_list ap;

        if (error > 0)
                error = -error;
        if (priority > max_level)
                return error;
        va_start(ap, fmt);
        log_fullv(priority, -error, fmt, ap);
        va_end(ap);
        return error;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int dir_list(int dirfd, bool (*filter)(const struct dirent *de), char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        int fd;

        fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return -errno;
        }
        rewinddir(d);
        for (;;) {
                struct dirent *de;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                return -errno;
                        break;
                }
                if (streq(de->d_name, ".") || streq(de->d_name, "..") || (filter && !filter(de)))
                        continue;
                if (strv_extend(&l, de->d_name) < 0)
                        return -ENOMEM;
        }
        if (l)
                qsort(l, strv_length(l), sizeof(char *), cmp_str);
        *ret = TAKE_PTR(l);
        return 0;
}

static uint64_t clock_usec(clockid_t clock) {
        struct timespec ts;

        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

uint64_t now_realtime_usec(void) {
        return clock_usec(CLOCK_REALTIME);
}

uint64_t now_monotonic_usec(void) {
        return clock_usec(CLOCK_MONOTONIC);
}

bool pidfd_alive(int pidfd) {
        struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

        return pidfd >= 0 && poll(&pfd, 1, 0) == 0;
}

pid_t pidfd_get_pid(int pidfd) {
        _cleanup_free_ char *path = strf("/proc/self/fdinfo/%d", pidfd), *text = NULL;
        const char *line;
        int64_t pid;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_file_at(AT_FDCWD, path, 16 * 1024, &text);
        if (r < 0)
                return r;
        line = strstr(text, "\nPid:");
        if (!line || sscanf(line + 5, "%" SCNd64, &pid) != 1)
                return -EBADMSG;
        /* -1: exited and reaped; 0: in no pid namespace of ours. */
        return pid > 0 ? (pid_t) pid : -ESRCH;
}

static struct rlimit nofile_saved;
static bool nofile_raised;

int rlimit_nofile_raise(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return -errno;
        nofile_saved = rl;
        if (rl.rlim_cur >= rl.rlim_max)
                return 0;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                return -errno;
        nofile_raised = true;
        return 0;
}

void rlimit_nofile_restore(void) {
        if (nofile_raised)
                (void) syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &nofile_saved, NULL);
}

uint64_t rlimit_nofile_current(void) {
        struct rlimit rl;

        return getrlimit(RLIMIT_NOFILE, &rl) < 0 ? 1024 : (uint64_t) rl.rlim_cur;
}

int process_start_time(pid_t pid, uint64_t *ret) {
        _cleanup_free_ char *path = strf("/proc/%d/stat", (int) pid), *text = NULL;
        const char *p;
        uint64_t t;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_file_at(AT_FDCWD, path, 4096, &text);
        if (r < 0)
                return r == -ENOENT ? -ESRCH : r;
        /* The name in parentheses may hold anything; what follows its last ')' is
         * fields 3 on, and the start time is the 20th of them. */
        p = strrchr(text, ')');
        if (!p)
                return -EBADMSG;
        p++;
        for (int field = 3; field < 22; field++) {
                p = strchr(p + 1, ' ');
                if (!p)
                        return -EBADMSG;
        }
        if (sscanf(p, " %" SCNu64, &t) != 1)
                return -EBADMSG;
        *ret = t;
        return 0;
}
