/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "session-dbus.h"
#include "cgroup.h"
#include "errors.h"
#include "names.h"
#include "util.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <signal.h>

/* Limits on what one Run may ask for. */
#define RUN_ARGV_MAX 4096
#define RUN_ENV_MAX 4096
#define RUN_STRINGS_BYTES_MAX (1024 * 1024)
#define RUN_USER_MAX 256
#define RUN_DIRECTORY_MAX 4096
#define SESSION_RUNS_MAX 256

int session_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                        sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_free_ char *id = NULL;
        Session *s;

        if (sd_bus_path_decode(path, "/org/chrootd1/session", &id) <= 0)
                return 0;
        s = manager_get_session(m, id);
        if (!s)
                return 0;
        *found = s;
        return 1;
}

int session_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_strv_free_ char **l = NULL;

        for (Session *s = m->sessions; s; s = s->next)
                if (strv_extend(&l, s->object_path) < 0)
                        return -ENOMEM;
        *nodes = TAKE_PTR(l);
        return 1;
}

static void reply_error(sd_bus_message *m, const Outcome *o) {
        int r = sd_bus_reply_method_errorf(m, o->error_name, "%s", strempty(o->error_message));
        if (r < 0)
                log_warning("Failed to send an error reply: %s", strerror(-r));
}

void session_reply_begin(Session *s, const Outcome *o) {
        int r;

        if (!s->begin_message)
                return;
        if (o->error_name) {
                reply_error(s->begin_message, o);
                return;
        }
        r = sd_bus_reply_method_return(s->begin_message, "so", s->rec.id, s->object_path);
        if (r < 0)
                log_warning("Failed to reply to BeginSession: %s", strerror(-r));
}

void session_reply_run(Run *run, const Outcome *o) {
        int r;

        if (o->error_name) {
                reply_error(run->message, o);
                return;
        }
        r = sd_bus_reply_method_return(run->message, "si",
                                       o->timed_out ? "timeout" : o->killed ? "killed" : "exited", o->value);
        if (r < 0)
                log_warning("Failed to reply to Run: %s", strerror(-r));
}

/* An empty reply, or the outcome's error. */
static void reply_empty(sd_bus_message *m, const Outcome *o, const char *method) {
        int r;

        if (o->error_name) {
                reply_error(m, o);
                return;
        }
        r = sd_bus_reply_method_return(m, NULL);
        if (r < 0)
                log_warning("Failed to reply to %s: %s", method, strerror(-r));
}

void session_reply_end(Session *s, sd_bus_message *m, const Outcome *o) {
        reply_empty(m, o, "End");
}

void session_emit_state_changed(Session *s) {
        (void) sd_bus_emit_properties_changed(s->manager->bus, s->object_path, "org.chrootd1.Session", "State", NULL);
}

void session_emit_new(Session *s) {
        (void) sd_bus_emit_signal(s->manager->bus, "/org/chrootd1", "org.chrootd1.Manager", "SessionNew", "sso",
                                  s->rec.id, s->rec.chroot, s->object_path);
}

void session_emit_removed(Session *s) {
        (void) sd_bus_emit_signal(s->manager->bus, "/org/chrootd1", "org.chrootd1.Manager", "SessionRemoved", "so",
                                  s->rec.id, s->object_path);
}

void session_reply_set_limits(sd_bus_message *m, const Outcome *o) {
        reply_empty(m, o, "SetLimits");
}

/* An a{sv} may name a key twice; which one would win is nobody's guess, so that is
 * refused. Returns 0, or a negative errno with error set. */
static int option_once(char ***seen, const char *key, sd_bus_error *error) {
        if (strv_contains(*seen, key))
                return sd_bus_error_setf(error, CHROOTD_ERROR_INVALID_ARGUMENT, "Option '%s' is given twice", key);
        return strv_extend(seen, key) < 0 ? -ENOMEM : 0;
}

int bus_read_limits(sd_bus_message *m, Limits *ret, BeginFlags *ret_flags, sd_bus_error *error) {
        _cleanup_strv_free_ char **seen = NULL;
        _cleanup_(begin_flags_done) BeginFlags flags = {};
        Limits l = {};
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key;
                uint64_t *dest, v;

                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                r = option_once(&seen, key, error);
                if (r < 0)
                        return r;
                if (ret_flags && (streq(key, "add-login") || streq(key, "write-back") || streq(key, "host-tree"))) {
                        int b;

                        r = sd_bus_message_read(m, "v", "b", &b);
                        if (r < 0)
                                return sd_bus_error_setf(error, CHROOTD_ERROR_INVALID_ARGUMENT,
                                                         "Option '%s' must be a boolean (b)", key);
                        if (streq(key, "add-login"))
                                flags.add_login = b;
                        else if (streq(key, "write-back"))
                                flags.write_back = b;
                        else
                                flags.host_tree = b;
                        r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (ret_flags && streq(key, "add-accounts")) {
                        r = sd_bus_message_enter_container(m, 'v', "as");
                        if (r >= 0)
                                r = sd_bus_message_read_strv(m, &flags.add_accounts);
                        if (r < 0)
                                return sd_bus_error_setf(error, CHROOTD_ERROR_INVALID_ARGUMENT,
                                                         "Option 'add-accounts' must be a list of account names (as)");
                        for (char **a = flags.add_accounts; *a; a++)
                                if (!**a || strlen(*a) > 256 || strpbrk(*a, ":\n/"))
                                        return sd_bus_error_setf(error, CHROOTD_ERROR_INVALID_ARGUMENT,
                                                                 "Option 'add-accounts': '%s' is not an account name", *a);
                        r = sd_bus_message_exit_container(m);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (ret_flags && streq(key, "union-type")) {
                        const char *u;

                        r = sd_bus_message_read(m, "v", "s", &u);
                        if (r < 0 || (!streq(u, "overlay") && !streq(u, "none")))
                                return sd_bus_error_setf(error, CHROOTD_ERROR_INVALID_ARGUMENT,
                                                         "Option 'union-type' must be the string \"overlay\" or \"none\"");
                        flags.union_type = u; /* lives as long as the message */
                        r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return r;
                        continue;
                }
                dest = streq(key, "memory-max") ? &l.memory_max
                       : streq(key, "tasks-max") ? &l.tasks_max
                       : streq(key, "cpu-weight") ? &l.cpu_weight
                                                  : NULL;
                if (!dest)
                        return sd_bus_error_setf(error, CHROOTD_ERROR_INVALID_ARGUMENT, "Unknown option '%s'", key);
                r = sd_bus_message_read(m, "v", "t", &v);
                if (r < 0)
                        return sd_bus_error_setf(error, CHROOTD_ERROR_INVALID_ARGUMENT,
                                                 "Option '%s' must be a number (t)", key);
                if (v == 0 || (dest == &l.cpu_weight && v > 10000))
                        return sd_bus_error_setf(error, CHROOTD_ERROR_INVALID_ARGUMENT,
                                                 "Option '%s' out of range: %" PRIu64 "%s", key, v,
                                                 dest == &l.cpu_weight ? " (1..10000)" : " (at least 1)");
                *dest = v;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = l;
        if (ret_flags) {
                *ret_flags = flags;
                flags = (BeginFlags) {};
        }
        return 0;
}

static int method_set_limits(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        Limits l;
        int r;

        r = bus_read_limits(m, &l, NULL, error);
        if (r < 0)
                return r;
        if (!limits_any(&l))
                return sd_bus_error_set(error, CHROOTD_ERROR_INVALID_ARGUMENT, "No limit given");
        r = session_set_limits(s, &l, m);
        if (r == -EBUSY)
                return sd_bus_error_setf(error, CHROOTD_ERROR_NOT_READY, "Session '%s' is %s, not ready", s->rec.id,
                                         session_state_to_string(s->rec.state));
        if (r == -EALREADY)
                return sd_bus_error_setf(error, CHROOTD_ERROR_NOT_READY,
                                         "Session '%s' is already changing its limits", s->rec.id);
        if (r < 0)
                return r;
        return 1; /* replied once systemd applied them */
}

int bus_session_end(Session *s, sd_bus_message *m, sd_bus_error *error) {
        int r = session_end(s, m);
        if (r < 0)
                return sd_bus_error_setf(error, CHROOTD_ERROR_FAILED, "Cannot end session '%s': %s", s->rec.id,
                                         strerror(-r));
        return 1; /* replied once the session is gone */
}

static int method_kill(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        int32_t sig;
        int r;

        r = sd_bus_message_read(m, "i", &sig);
        if (r < 0)
                return r;
        /* SIGSTOP cannot be passed on by the command's init (it cannot catch it). */
        if (sig <= 0 || sig >= _NSIG || sig == SIGSTOP)
                return sd_bus_error_setf(error, CHROOTD_ERROR_INVALID_ARGUMENT, "Cannot send signal %d%s", (int) sig,
                                         sig == SIGSTOP ? " (SIGSTOP cannot be passed on; use SIGTSTP)" : "");
        r = session_kill(s, sig);
        if (r == -EBUSY)
                return sd_bus_error_setf(error, CHROOTD_ERROR_NOT_READY, "Session '%s' is %s, not ready", s->rec.id,
                                         session_state_to_string(s->rec.state));
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, NULL);
}

static int method_end(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return bus_session_end(userdata, m, error);
}

typedef struct RunRequest {
        char **argv;
        char **environment;
        char **setenv;
        const char *user;
        const char *directory;
        const char *network;
        uint64_t timeout_usec;
        int stdio[3];
        int null_fd;
} RunRequest;

static void run_request_done(RunRequest *q) {
        strv_free(q->argv);
        strv_free(q->environment);
        strv_free(q->setenv);
        safe_close(q->null_fd);
}

static int check_strings(char **l, size_t max_count, size_t *bytes, const char *what, sd_bus_error *error) {
        size_t n = 0;

        for (char **i = l; i && *i; i++, n++) {
                *bytes += strlen(*i) + 1;
                if (n >= max_count)
                        return sd_bus_error_setf(error, CHROOTD_ERROR_INVALID_ARGUMENT, "Too many %s (at most %zu)",
                                                 what, max_count);
        }
        if (*bytes > RUN_STRINGS_BYTES_MAX)
                return sd_bus_error_setf(error, CHROOTD_ERROR_INVALID_ARGUMENT,
                                         "argv, environment and setenv exceed %d bytes", RUN_STRINGS_BYTES_MAX);
        return 0;
}

/* The value of an "as" option. An empty list is kept as one (an empty environment),
 * unlike no list (a clean one). */
static int read_strv_option(sd_bus_message *m, const char *key, char ***dest, sd_bus_error *error) {
        int r;

        r = sd_bus_message_enter_container(m, 'v', "as");
        if (r < 0)
                return sd_bus_error_setf(error, CHROOTD_ERROR_INVALID_ARGUMENT,
                                         "Option '%s' must be a string array (as)", key);
        r = sd_bus_message_read_strv(m, dest);
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        if (!*dest && !(*dest = calloc(1, sizeof(char *))))
                return -ENOMEM;
        return 0;
}

/* A command's standard stream is a file, pipe, socket or character device (a tty,
 * /dev/null). Anything else handed in is a client's mistake at best: a directory (or an
 * O_PATH fd) would let the command leave the tree with fchdir() or openat(), and an
 * anonymous inode (a pidfd, an epoll or event fd) is the client's own machinery. */
static int check_stream_fd(int fd, const char *key, sd_bus_error *error) {
        struct stat st;
        int flags;

        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fstat(fd, &st) < 0)
                return sd_bus_error_setf(error, CHROOTD_ERROR_INVALID_ARGUMENT, "Option '%s': bad file descriptor", key);
        if ((flags & O_PATH) || !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISCHR(st.st_mode)))
                return sd_bus_error_setf(error, CHROOTD_ERROR_INVALID_ARGUMENT,
                                         "Option '%s': a %s cannot be a command's standard stream (only a file, pipe, "
                                         "socket or character device)", key,
                                         flags & O_PATH ? "path-only descriptor"
                                         : S_ISDIR(st.st_mode) ? "directory"
                                         : S_ISBLK(st.st_mode) ? "block device"
                                                                : "descriptor that is not a file");
        return 0;
}

static int read_run_options(sd_bus_message *m, RunRequest *q, sd_bus_error *error) {
        static const char *const fd_names[3] = { "stdin", "stdout", "stderr" };
        _cleanup_strv_free_ char **seen = NULL;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key;
                bool done = false;

                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                r = option_once(&seen, key, error);
                if (r < 0)
                        return r;
                for (int i = 0; i < 3; i++)
                        if (streq(key, fd_names[i])) {
                                r = sd_bus_message_read(m, "v", "h", &q->stdio[i]);
                                if (r < 0)
                                        return sd_bus_error_setf(error, CHROOTD_ERROR_INVALID_ARGUMENT,
                                                                 "Option '%s' must be a file descriptor (h)", key);
                                r = check_stream_fd(q->stdio[i], key, error);
                                if (r < 0)
                                        return r;
                                done = true;
                        }
                if (done)
                        ;
                else if (streq(key, "user") || streq(key, "directory") || streq(key, "network")) {
                        const char **dest = streq(key, "user") ? &q->user : streq(key, "directory") ? &q->directory
                                                                                                     : &q->network;
                        r = sd_bus_message_read(m, "v", "s", dest);
                        if (r < 0)
                                return sd_bus_error_setf(error, CHROOTD_ERROR_INVALID_ARGUMENT,
                                                         "Option '%s' must be a string (s)", key);
                } else if (streq(key, "timeout")) {
                        r = sd_bus_message_read(m, "v", "t", &q->timeout_usec);
                        if (r < 0)
                                return sd_bus_error_setf(error, CHROOTD_ERROR_INVALID_ARGUMENT,
                                                         "Option 'timeout' must be microseconds (t)");
                } else if (streq(key, "environment") || streq(key, "setenv")) {
                        r = read_strv_option(m, key, streq(key, "setenv") ? &q->setenv : &q->environment, error);
                        if (r < 0)
                                return r;
                } else
                        return sd_bus_error_setf(error, CHROOTD_ERROR_INVALID_ARGUMENT, "Unknown option '%s'", key);

                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* Entries of an environment or setenv list: KEY=VALUE with a non-empty KEY (which
 * so holds no '='), at most RUN_ENV_MAX of them. */
static int check_env(char **l, const char *option, size_t *bytes, sd_bus_error *error) {
        int r;

        r = check_strings(l, RUN_ENV_MAX, bytes, streq(option, "setenv") ? "setenv entries" : "environment variables",
                          error);
        if (r < 0)
                return r;
        for (char **e = l; e && *e; e++) {
                const char *eq = strchr(*e, '=');
                if (!eq || eq == *e)
                        return sd_bus_error_setf(error, CHROOTD_ERROR_INVALID_ARGUMENT,
                                                 "Entry '%s' of option '%s' is not KEY=VALUE", *e, option);
        }
        return 0;
}

static int validate_run_request(RunRequest *q, sd_bus_error *error) {
        size_t bytes = 0;
        int r;

        /* An empty argv is the user's login shell, which the command's init finds. */
        if (q->argv[0] && !q->argv[0][0])
                return sd_bus_error_set(error, CHROOTD_ERROR_INVALID_ARGUMENT, "argv[0] is an empty string");
        r = check_strings(q->argv, RUN_ARGV_MAX, &bytes, "arguments", error);
        if (r < 0)
                return r;
        r = check_env(q->environment, "environment", &bytes, error);
        if (r < 0)
                return r;
        r = check_env(q->setenv, "setenv", &bytes, error);
        if (r < 0)
                return r;
        if (!q->user || !*q->user || strlen(q->user) > RUN_USER_MAX || strpbrk(q->user, ":\n/"))
                return sd_bus_error_setf(error, CHROOTD_ERROR_INVALID_ARGUMENT, "Invalid user name '%s'",
                                         strempty(q->user));
        if (q->directory[0] != '/' || strlen(q->directory) > RUN_DIRECTORY_MAX)
                return sd_bus_error_setf(error, CHROOTD_ERROR_INVALID_ARGUMENT,
                                         "Directory '%s' is not an absolute path", q->directory);
        if (!streq(q->network, "host") && !streq(q->network, "none"))
                return sd_bus_error_setf(error, CHROOTD_ERROR_INVALID_ARGUMENT,
                                         "Network '%s' is neither \"host\" nor \"none\"", q->network);
        return 0;
}

static int method_run(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(run_request_done) RunRequest q = {
                .user = "root", .directory = "/", .network = "host",
                .stdio = { -EBADF, -EBADF, -EBADF }, .null_fd = -EBADF,
        };
        _cleanup_free_ char *error_message = NULL;
        const char *error_name = NULL;
        Session *s = userdata;
        int r;

        r = sd_bus_message_read_strv(m, &q.argv);
        if (r < 0)
                return r;
        if (!q.argv && !(q.argv = calloc(1, sizeof(char *)))) /* empty: never NULL */
                return -ENOMEM;
        r = read_run_options(m, &q, error);
        if (r < 0)
                return r;
        r = validate_run_request(&q, error);
        if (r < 0)
                return r;
        if (s->n_runs >= SESSION_RUNS_MAX)
                return sd_bus_error_setf(error, CHROOTD_ERROR_LIMIT_EXCEEDED,
                                         "Session '%s' already runs %d commands", s->rec.id, SESSION_RUNS_MAX);
        if (manager_n_runs(s->manager) >= manager_runs_max(s->manager))
                return sd_bus_error_setf(error, CHROOTD_ERROR_LIMIT_EXCEEDED,
                                         "The service already runs %u commands, all its limit on open files "
                                         "(RLIMIT_NOFILE %" PRIu64 ") leaves room for",
                                         manager_n_runs(s->manager), rlimit_nofile_current());

        for (int i = 0; i < 3; i++)
                if (q.stdio[i] < 0) {
                        if (q.null_fd < 0) {
                                q.null_fd = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
                                if (q.null_fd < 0)
                                        return -errno;
                        }
                        q.stdio[i] = q.null_fd;
                }

        RunParams p = {
                .argv = q.argv,
                .environment = q.environment,
                .setenv = q.setenv,
                .user = q.user,
                .directory = q.directory,
                .network_none = streq(q.network, "none"),
                .timeout_usec = q.timeout_usec,
                .stdio = { q.stdio[0], q.stdio[1], q.stdio[2] },
        };
        r = session_run(s, &p, m, &error_name, &error_message);
        if (r < 0)
                return sd_bus_error_setf(error, error_name ? error_name : CHROOTD_ERROR_FAILED, "%s",
                                         error_message ? error_message : strerror(-r));
        return 1; /* replied when the command ends */
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        return sd_bus_message_append(reply, "s", session_state_to_string(s->rec.state));
}

static int property_get_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        const char *v = streq(property, "Id")              ? s->rec.id
                        : streq(property, "Chroot")        ? s->rec.chroot
                        : streq(property, "UnionType")     ? (session_is_overlay(s) ? "overlay" : "none")
                                                           : NULL;
        _cleanup_free_ char *root = NULL, *why = NULL;

        if (v)
                return sd_bus_message_append(reply, "s", v);
        /* RootDirectory */
        root = session_root_directory(s, &why);
        if (!root && why)
                log_warning("Session '%s' has no tree on the host: %s", s->rec.id, why);
        return sd_bus_message_append(reply, "s", strempty(root));
}

/* The share of the tarball read so far: the unpack child reads through a file
 * description shared with progress_fd. Directory chroots report 0 until ready. */
static int property_get_progress(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        double p = 0;

        if (s->rec.state == SESSION_READY)
                p = 1;
        else if (s->rec.state == SESSION_PREPARING && s->progress_fd >= 0 && s->progress_size > 0) {
                off_t o = lseek(s->progress_fd, 0, SEEK_CUR);
                if (o > 0)
                        p = (double) o / (double) s->progress_size;
                if (p > 1)
                        p = 1;
        }
        return sd_bus_message_append(reply, "d", p);
}

static int property_get_commands(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(asust)");
        for (Run *run = s->runs; r >= 0 && run; run = run->next) {
                r = sd_bus_message_open_container(reply, 'r', "asust");
                if (r >= 0)
                        r = sd_bus_message_append_strv(reply, run->argv);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "ust", (uint32_t) run->pid, strempty(run->unit),
                                                  run->started_usec);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

/* What the session's slice uses, from its cgroup; UINT64_MAX where it says nothing. */
static int property_get_usage(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        CgroupUsage u = { UINT64_MAX, UINT64_MAX, UINT64_MAX };
        uint64_t v;

        if (s->manager->slices_cgroup) {
                _cleanup_free_ char *dir = strf("%s%s", s->manager->slices_cgroup, s->slice);
                if (!dir)
                        return -ENOMEM;
                cgroup_read_usage(dir, &u);
        }
        if (streq(property, "TasksCurrent"))
                v = u.tasks;
        else if (streq(property, "MemoryCurrent"))
                v = u.memory;
        else
                v = u.cpu_usec == UINT64_MAX ? UINT64_MAX : u.cpu_usec * 1000;
        return sd_bus_message_append(reply, "t", v);
}

static int property_get_write_back(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        return sd_bus_message_append(reply, "b", s->rec.write_back);
}

const sd_bus_vtable session_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Chroot", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RootDirectory", "s", property_get_string, 0, 0),
        SD_BUS_PROPERTY("CreationTimestamp", "t", NULL, offsetof(Session, rec.created_usec),
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("RunningCommands", "u", NULL, offsetof(Session, n_runs), 0),
        SD_BUS_PROPERTY("Progress", "d", property_get_progress, 0, 0),
        SD_BUS_PROPERTY("MemoryMax", "t", NULL, offsetof(Session, rec.limits.memory_max), 0),
        SD_BUS_PROPERTY("TasksMax", "t", NULL, offsetof(Session, rec.limits.tasks_max), 0),
        SD_BUS_PROPERTY("CPUWeight", "t", NULL, offsetof(Session, rec.limits.cpu_weight), 0),
        SD_BUS_PROPERTY("Slice", "s", NULL, offsetof(Session, slice), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("WriteBack", "b", property_get_write_back, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("UnionType", "s", property_get_string, 0, 0),
        SD_BUS_PROPERTY("Commands", "a(asust)", property_get_commands, 0, 0),
        SD_BUS_PROPERTY("TasksCurrent", "t", property_get_usage, 0, 0),
        SD_BUS_PROPERTY("MemoryCurrent", "t", property_get_usage, 0, 0),
        SD_BUS_PROPERTY("CPUUsageNSec", "t", property_get_usage, 0, 0),
        SD_BUS_METHOD_WITH_ARGS("Run",
                                SD_BUS_ARGS("as", argv, "a{sv}", options),
                                SD_BUS_RESULT("s", result, "i", value),
                                method_run, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Kill",
                                SD_BUS_ARGS("i", signal),
                                SD_BUS_NO_RESULT,
                                method_kill, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetLimits",
                                SD_BUS_ARGS("a{sv}", limits),
                                SD_BUS_NO_RESULT,
                                method_set_limits, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("End", NULL, NULL, method_end, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};
