/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "options.h"
#include "names.h"

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/stat.h>

int check_name(const char *name, const char *what, Error *e) {
        if (!name_is_valid(name))
                return error_set(e, ERROR_INVALID_NAME, EINVAL,
                                 "Invalid %s name '%.200s': names start with a letter or digit, continue with "
                                 "letters, digits, '-', '.' or '_', and have at most %d characters",
                                 what, strempty(name), NAME_MAX_LEN);
        return 0;
}

uint64_t *limits_field(Limits *l, const char *key) {
        return streq(key, "memory-max")   ? &l->memory_max
               : streq(key, "tasks-max")  ? &l->tasks_max
               : streq(key, "cpu-weight") ? &l->cpu_weight
                                          : NULL;
}

int check_limit(const char *key, uint64_t v, Error *e) {
        bool weight = streq(key, "cpu-weight");

        if (v == 0 || (weight && v > 10000))
                return error_set(e, ERROR_INVALID_ARGUMENT, EINVAL, "Option '%s' out of range: %" PRIu64 "%s", key, v,
                                 weight ? " (1..10000)" : " (at least 1)");
        return 0;
}

int check_union_type(const char *v, Error *e) {
        if (!streq_ptr(v, "overlay") && !streq_ptr(v, "none"))
                return error_set(e, ERROR_INVALID_ARGUMENT, EINVAL,
                                 "Option 'union-type' must be the string \"overlay\" or \"none\"");
        return 0;
}

int check_begin_network(bool boot, const char *network, bool *ret_host_network, Error *e) {
        if (!network) {
                *ret_host_network = false;
                return 0;
        }
        if (!streq(network, "host") && !streq(network, "none"))
                return error_set(e, ERROR_INVALID_ARGUMENT, EINVAL,
                                 "Option 'network' must be the string \"host\" or \"none\", not '%.300s'", network);
        /* An ordinary session's network is each command's (Run's network); only a booted
         * system has one of its own. */
        if (!boot)
                return error_set(e, ERROR_INVALID_ARGUMENT, EINVAL, "Option 'network' needs 'boot'");
        *ret_host_network = streq(network, "host");
        return 0;
}

int check_accounts(char *const *accounts, Error *e) {
        for (char *const *a = accounts; a && *a; a++)
                if (!**a || strlen(*a) > ACCOUNT_NAME_MAX || strpbrk(*a, ":\n/"))
                        return error_set(e, ERROR_INVALID_ARGUMENT, EINVAL,
                                         "Option 'add-accounts': '%.300s' is not an account name", *a);
        return 0;
}

static int check_strings(char *const *l, size_t max_count, size_t *bytes, const char *what, Error *e) {
        size_t n = 0;

        for (char *const *i = l; i && *i; i++, n++) {
                *bytes += strlen(*i) + 1;
                if (n >= max_count)
                        return error_set(e, ERROR_INVALID_ARGUMENT, E2BIG, "Too many %s (at most %zu)", what,
                                         max_count);
        }
        if (*bytes > RUN_STRINGS_BYTES_MAX)
                return error_set(e, ERROR_INVALID_ARGUMENT, E2BIG, "argv, environment and setenv exceed %d bytes",
                                 RUN_STRINGS_BYTES_MAX);
        return 0;
}

/* Entries of an environment or setenv list: KEY=VALUE with a non-empty KEY (which
 * so holds no '='), at most RUN_ENV_MAX of them. */
static int check_env(char *const *l, const char *option, size_t *bytes, Error *e) {
        int r;

        r = check_strings(l, RUN_ENV_MAX, bytes, streq(option, "setenv") ? "setenv entries" : "environment variables",
                          e);
        if (r < 0)
                return r;
        for (char *const *i = l; i && *i; i++) {
                const char *eq = strchr(*i, '=');
                if (!eq || eq == *i)
                        return error_set(e, ERROR_INVALID_ARGUMENT, EINVAL,
                                         "Entry '%.300s' of option '%s' is not KEY=VALUE", *i, option);
        }
        return 0;
}

int check_run(char *const *argv, char *const *environment, char *const *setenv, const char *user,
              const char *directory, const char *network, bool *ret_network_none, Error *e) {
        size_t bytes = 0;
        int r;

        if (argv && argv[0] && !argv[0][0])
                return error_set(e, ERROR_INVALID_ARGUMENT, EINVAL, "argv[0] is an empty string");
        r = check_strings(argv, RUN_ARGV_MAX, &bytes, "arguments", e);
        if (r < 0)
                return r;
        r = check_env(environment, "environment", &bytes, e);
        if (r < 0)
                return r;
        r = check_env(setenv, "setenv", &bytes, e);
        if (r < 0)
                return r;
        if (!user || !*user || strlen(user) > RUN_USER_MAX || strpbrk(user, ":\n/"))
                return error_set(e, ERROR_INVALID_ARGUMENT, EINVAL, "Invalid user name '%.300s'", strempty(user));
        if (!directory || directory[0] != '/' || strlen(directory) > RUN_DIRECTORY_MAX)
                return error_set(e, ERROR_INVALID_ARGUMENT, EINVAL, "Directory '%.300s' is not an absolute path",
                                 strempty(directory));
        if (!streq_ptr(network, "host") && !streq_ptr(network, "none"))
                return error_set(e, ERROR_INVALID_ARGUMENT, EINVAL, "Network '%.300s' is neither \"host\" nor \"none\"",
                                 strempty(network));
        *ret_network_none = streq(network, "none");
        return 0;
}

/* A directory (or an O_PATH fd) would let the command leave the tree with fchdir() or
 * openat(), and an anonymous inode (a pidfd, an epoll or event fd) is the client's own
 * machinery: neither is a stream. */
int check_stream_fd(int fd, const char *key, Error *e) {
        struct stat st;
        int flags;

        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fstat(fd, &st) < 0)
                return error_set(e, ERROR_INVALID_ARGUMENT, EBADF, "Option '%s': bad file descriptor", key);
        if ((flags & O_PATH) ||
            !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISCHR(st.st_mode)))
                return error_set(e, ERROR_INVALID_ARGUMENT, EINVAL,
                                 "Option '%s': a %s cannot be a command's standard stream (only a file, pipe, "
                                 "socket or character device)",
                                 key,
                                 flags & O_PATH          ? "path-only descriptor"
                                 : S_ISDIR(st.st_mode) ? "directory"
                                 : S_ISBLK(st.st_mode) ? "block device"
                                                       : "descriptor that is not a file");
        return 0;
}

int check_signal(int sig, Error *e) {
        if (sig <= 0 || sig >= _NSIG || sig == SIGSTOP)
                return error_set(e, ERROR_INVALID_ARGUMENT, EINVAL, "Cannot send signal %d%s", sig,
                                 sig == SIGSTOP ? " (SIGSTOP cannot be passed on; use SIGTSTP)" : "");
        return 0;
}

int check_terminal(bool pty, const int stdio[3], bool size_given, Error *e) {
        static const char *const names[3] = { "stdin", "stdout", "stderr" };

        if (!pty && size_given)
                return error_set(e, ERROR_INVALID_ARGUMENT, EINVAL, "Options 'pty-rows' and 'pty-columns' need 'pty'");
        for (int i = 0; pty && i < 3; i++)
                if (stdio[i] >= 0)
                        return error_set(e, ERROR_INVALID_ARGUMENT, EINVAL,
                                         "Option '%s' does not go with 'pty': the terminal is the command's %s",
                                         names[i], names[i]);
        return 0;
}

int check_copy(const char *path, int fd, Error *e) {
        int r;

        if (!path || path[0] != '/')
                return error_set(e, ERROR_INVALID_ARGUMENT, EINVAL, "The path '%.300s' is not absolute", strempty(path));
        if (strlen(path) > RUN_DIRECTORY_MAX)
                return error_set(e, ERROR_INVALID_ARGUMENT, ENAMETOOLONG, "The path is too long");
        r = check_stream_fd(fd, "tar", e);
        if (r < 0)
                return r;
        return 0;
}

int check_option_once(char ***seen, const char *key, Error *e) {
        if (strv_contains(*seen, key))
                return error_set(e, ERROR_INVALID_ARGUMENT, EINVAL, "Option '%.300s' is given twice", key);
        if (strv_extend(seen, key) < 0)
                return error_set(e, ERROR_FAILED, ENOMEM, "Out of memory");
        return 0;
}
