/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "run-request.h"
#include "fdpass.h"
#include "util.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define PATH_ROOT "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define PATH_USER "/usr/local/bin:/usr/bin:/bin"

/* Put entry (KEY=value, owned) into *env, in place of the entry of the same KEY, whose
 * length is kl. */
static int env_replace(char ***env, size_t kl, char *entry) {
        if (!entry)
                return -ENOMEM;
        for (char **e = *env; e && *e; e++)
                if (strncmp(*e, entry, kl + 1) == 0) {
                        free(*e);
                        *e = entry;
                        return 0;
                }
        return strv_consume(env, entry);
}

/* Set or replace KEY=value in *env. */
static int env_set(char ***env, const char *key, const char *value) {
        return env_replace(env, strlen(key), strf("%s=%s", key, value));
}

/* Each KEY=VALUE of entries, in order, replacing what env has of KEY. */
static int env_apply(char ***env, char *const *entries) {
        for (char *const *e = entries; e && *e; e++) {
                const char *eq = strchr(*e, '=');
                int r;

                if (!eq || eq == *e)
                        return -EINVAL; /* the service lets none through */
                r = env_replace(env, (size_t) (eq - *e), strdup(*e));
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool env_has(char *const *env, const char *key) {
        size_t kl = strlen(key);

        for (char *const *e = env; e && *e; e++)
                if (strncmp(*e, key, kl) == 0 && (*e)[kl] == '=')
                        return true;
        return false;
}

int run_build_environment(char *const *base, char *const *setenv, const PasswdEntry *pw, char ***ret) {
        _cleanup_strv_free_ char **env = NULL;
        int r;

        if (base) {
                for (char *const *e = base; *e; e++)
                        if (strv_extend(&env, *e) < 0)
                                return -ENOMEM;
        } else {
                r = env_set(&env, "HOME", pw->home);
                if (r >= 0)
                        r = env_set(&env, "SHELL", pw->shell);
                if (r < 0)
                        return r;
        }
        r = env_set(&env, "USER", pw->name);
        if (r >= 0)
                r = env_set(&env, "LOGNAME", pw->name);
        if (r >= 0 && !env_has(env, "PATH"))
                r = env_set(&env, "PATH", pw->uid == 0 ? PATH_ROOT : PATH_USER);
        if (r >= 0)
                r = env_apply(&env, setenv);
        if (r < 0)
                return r;
        if (!env && strv_extend(&env, "") < 0) /* never NULL */
                return -ENOMEM;
        *ret = TAKE_PTR(env);
        return 0;
}

/* The request's fixed fields, in this order (the terminal: "-", or "ROWS COLUMNS"; the
 * copy: "-", or "in" or "out" and its path), then argc (0: the login shell) and argv,
 * the number of environment entries ("-": a clean environment) and the entries, and
 * the number of setenv entries and those. */
#define PARAMS_MAGIC "chrootd-run-4"
#define PARAMS_MAX (64u << 20)

static int buf_add(char **buf, size_t *size, size_t *used, const char *s) {
        size_t l = strlen(s) + 1;

        if (*used + l > *size) {
                size_t n = *size * 2 > *used + l + 4096 ? *size * 2 : *used + l + 4096;
                char *b = realloc(*buf, n);
                if (!b)
                        return -ENOMEM;
                *buf = b;
                *size = n;
        }
        memcpy(*buf + *used, s, l);
        *used += l;
        return 0;
}

int run_params_pack(const RunParams *p, int *ret_fd) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t size = 0, used = 0;
        char num[32];
        int r;

        r = buf_add(&buf, &size, &used, PARAMS_MAGIC);
        if (r >= 0)
                r = buf_add(&buf, &size, &used, p->user);
        if (r >= 0)
                r = buf_add(&buf, &size, &used, p->directory);
        if (r >= 0)
                r = buf_add(&buf, &size, &used, p->network_none ? "1" : "0");
        snprintf(num, sizeof(num), "%u %u", (unsigned) p->pty_rows, (unsigned) p->pty_columns);
        if (r >= 0)
                r = buf_add(&buf, &size, &used, p->pty ? num : "-");
        if (r >= 0)
                r = buf_add(&buf, &size, &used,
                            p->copy == RUN_COPY_IN ? "in" : p->copy == RUN_COPY_OUT ? "out" : "-");
        if (r >= 0 && p->copy != RUN_COPY_NONE)
                r = buf_add(&buf, &size, &used, p->copy_path);
        snprintf(num, sizeof(num), "%zu", strv_length(p->argv));
        if (r >= 0)
                r = buf_add(&buf, &size, &used, num);
        for (char **a = p->argv; r >= 0 && *a; a++)
                r = buf_add(&buf, &size, &used, *a);
        if (p->environment)
                snprintf(num, sizeof(num), "%zu", strv_length(p->environment));
        if (r >= 0)
                r = buf_add(&buf, &size, &used, p->environment ? num : "-");
        for (char **e = p->environment; r >= 0 && e && *e; e++)
                r = buf_add(&buf, &size, &used, *e);
        snprintf(num, sizeof(num), "%zu", strv_length(p->setenv));
        if (r >= 0)
                r = buf_add(&buf, &size, &used, num);
        for (char **e = p->setenv; r >= 0 && e && *e; e++)
                r = buf_add(&buf, &size, &used, *e);
        if (r < 0)
                return r;
        if (used > PARAMS_MAX)
                return -E2BIG;

        fd = memfd_create("chrootd-run", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = write_full(fd, buf, used);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* The next NUL-terminated field of buf[*pos..size), or NULL. */
static char *next_field(char *buf, size_t size, size_t *pos) {
        char *f = buf + *pos, *end;

        if (*pos >= size || !(end = memchr(f, 0, size - *pos)))
                return NULL;
        *pos += (size_t) (end - f) + 1;
        return f;
}

static int read_strv(char *buf, size_t size, size_t *pos, size_t n, char ***ret) {
        _cleanup_free_ char **l = NULL;

        if (n > size)
                return -EBADMSG;
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!(l[i] = next_field(buf, size, pos)))
                        return -EBADMSG;
        *ret = TAKE_PTR(l);
        return 0;
}

/* count (a field just read), then that many strings. */
static int read_counted_strv(char *buf, size_t size, size_t *pos, const char *count, char ***ret) {
        uint64_t n;

        if (!count || parse_u64(count, &n) < 0)
                return -EBADMSG;
        return read_strv(buf, size, pos, n, ret);
}

int run_params_unpack(char *buf, size_t size, RunParams *ret) {
        _cleanup_free_ char **argv = NULL, **env = NULL, **setenv = NULL;
        const char *magic, *user, *directory, *net, *terminal, *copy, *copy_path = NULL, *count;
        unsigned rows = 0, columns = 0;
        size_t pos = 0;
        int r, n = 0;

        magic = next_field(buf, size, &pos);
        user = next_field(buf, size, &pos);
        directory = next_field(buf, size, &pos);
        net = next_field(buf, size, &pos);
        terminal = next_field(buf, size, &pos);
        if (!terminal || !streq(magic, PARAMS_MAGIC) || (!streq(net, "0") && !streq(net, "1")))
                return -EBADMSG;
        if (!streq(terminal, "-") &&
            (sscanf(terminal, "%5u %5u%n", &rows, &columns, &n) != 2 || terminal[n] || rows > UINT16_MAX ||
             columns > UINT16_MAX))
                return -EBADMSG;
        copy = next_field(buf, size, &pos);
        if (!copy || (!streq(copy, "-") && !streq(copy, "in") && !streq(copy, "out")))
                return -EBADMSG;
        if (!streq(copy, "-") && !(copy_path = next_field(buf, size, &pos)))
                return -EBADMSG;
        count = next_field(buf, size, &pos);
        r = read_counted_strv(buf, size, &pos, count, &argv);
        if (r < 0)
                return r;
        count = next_field(buf, size, &pos);
        if (!count)
                return -EBADMSG;
        if (!streq(count, "-")) {
                r = read_counted_strv(buf, size, &pos, count, &env);
                if (r < 0)
                        return r;
        }
        count = next_field(buf, size, &pos);
        r = read_counted_strv(buf, size, &pos, count, &setenv);
        if (r < 0)
                return r;
        if (pos != size)
                return -EBADMSG;
        *ret = (RunParams) {
                .argv = TAKE_PTR(argv),
                .environment = TAKE_PTR(env),
                .setenv = TAKE_PTR(setenv),
                .user = user,
                .directory = directory,
                .network_none = streq(net, "1"),
                .stdio = { -EBADF, -EBADF, -EBADF },
                .pty = !streq(terminal, "-"),
                .pty_rows = (uint16_t) rows,
                .pty_columns = (uint16_t) columns,
                .copy = streq(copy, "in") ? RUN_COPY_IN : streq(copy, "out") ? RUN_COPY_OUT : RUN_COPY_NONE,
                .copy_path = copy_path,
        };
        return 0;
}

/* The whole of a request's memfd. */
static int read_params(int fd, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        ssize_t n;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size <= 0 || (uint64_t) st.st_size > PARAMS_MAX)
                return -EBADMSG;
        buf = malloc((size_t) st.st_size);
        if (!buf)
                return -ENOMEM;
        n = pread(fd, buf, (size_t) st.st_size, 0);
        if (n != st.st_size)
                return n < 0 ? -errno : -EBADMSG;
        *ret = TAKE_PTR(buf);
        *ret_size = (size_t) st.st_size;
        return 0;
}

/* What an init is sent: its report pipe, the command's stdin, stdout, stderr, the
 * request (run_params_pack) and, for a terminal, the socket for its master. */
enum { REQ_REPORT, REQ_STDIN, REQ_STDOUT, REQ_STDERR, REQ_PARAMS, REQ_FDS, REQ_TERMINAL = REQ_FDS };

int run_send_request(int ctl, int report_fd, const int stdio[3], int params_fd, int terminal_fd) {
        int fds[REQ_FDS + 1] = { report_fd, stdio[0], stdio[1], stdio[2], params_fd, terminal_fd };

        return fdpass_send(ctl, "r", 1, fds, terminal_fd >= 0 ? REQ_FDS + 1 : REQ_FDS);
}


int run_params_read(int fd, char **ret_buf, RunParams *ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        int r;

        r = read_params(fd, &buf, &size);
        if (r < 0)
                return r;
        r = run_params_unpack(buf, size, ret);
        if (r < 0)
                return r;
        *ret_buf = TAKE_PTR(buf);
        return 0;
}

void run_params_unpacked_done(RunParams *p) {
        p->argv = mfree(p->argv);
        p->environment = mfree(p->environment);
        p->setenv = mfree(p->setenv);
}

void run_request_fds_close_streams(RunRequestFds *f) {
        for (size_t i = 0; i < ELEMENTSOF(f->stdio); i++)
                f->stdio[i] = safe_close(f->stdio[i]);
}

void run_request_fds_close(RunRequestFds *f) {
        f->report_fd = safe_close(f->report_fd);
        run_request_fds_close_streams(f);
        f->params_fd = safe_close(f->params_fd);
        f->terminal_fd = safe_close(f->terminal_fd);
}

int run_send_signal(int ctl, int sig) {
        char msg[1 + sizeof(int32_t)] = { 'k' };
        int32_t v = sig;

        memcpy(msg + 1, &v, sizeof(v));
        return fdpass_send(ctl, msg, sizeof(msg), NULL, 0);
}

int run_receive_message(int ctl, RunRequestFds *ret, int *ret_signal) {
        char msg[1 + sizeof(int32_t)];
        int fds[REQ_FDS + 1];
        size_t n_fds;
        ssize_t n;
        int32_t sig;

        n = fdpass_recv(ctl, msg, sizeof(msg), fds, REQ_FDS + 1, &n_fds);
        if (n <= 0)
                return (int) n;
        if (msg[0] == 'r' && n == 1 && (n_fds == REQ_FDS || n_fds == REQ_FDS + 1)) {
                *ret = (RunRequestFds) {
                        .report_fd = fds[REQ_REPORT],
                        .stdio = { fds[REQ_STDIN], fds[REQ_STDOUT], fds[REQ_STDERR] },
                        .params_fd = fds[REQ_PARAMS],
                        .terminal_fd = n_fds > REQ_FDS ? fds[REQ_TERMINAL] : -EBADF,
                };
                return 1;
        }
        for (size_t i = 0; i < n_fds; i++)
                (void) close(fds[i]);
        if (msg[0] != 'k' || n != (ssize_t) sizeof(msg) || n_fds != 0)
                return -EBADMSG;
        memcpy(&sig, msg + 1, sizeof(sig));
        if (sig <= 0 || sig >= _NSIG)
                return -EBADMSG;
        *ret_signal = sig;
        return 2;
}

int run_receive_request(int ctl, RunRequestFds *ret) {
        int sig, r = run_receive_message(ctl, ret, &sig);

        return r == 2 ? -EBADMSG : r;
}
