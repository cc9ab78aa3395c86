/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "session-dbus.h"
#include "cgroup.h"
#include "names.h"
#include "options.h"
#include "util.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <signal.h>

BusFrontend *bus_frontend_of(sd_bus_message *m) {
        return sd_bus_slot_get_userdata(sd_bus_get_current_slot(sd_bus_message_get_bus(m)));
}

Call bus_call(BusFrontend *bf, sd_bus_message *m) {
        return (Call) { .frontend = &bf->frontend, .data = sd_bus_message_ref(m) };
}

int bus_set_error(sd_bus_error *error, const Error *e) {
        _cleanup_free_ char *name = strf(BUS_ERROR_PREFIX "%s", error_kind_to_string(e->kind ?: ERROR_FAILED));

        if (!name)
                return -ENOMEM;
        (void) sd_bus_error_setf(error, name, "%s", strempty(e->message));
        return e->errnum > 0 ? -e->errnum : -EINVAL;
}

int bus_session_path(const Session *s, char **ret) {
        return sd_bus_path_encode(BUS_SESSION_PREFIX, s->rec.id, ret);
}

int session_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                        sd_bus_error *error) {
        BusFrontend *bf = userdata;
        _cleanup_free_ char *id = NULL;
        Session *s;

        if (sd_bus_path_decode(path, BUS_SESSION_PREFIX, &id) <= 0)
                return 0;
        s = manager_get_session(bf->manager, id);
        if (!s)
                return 0;
        *found = s;
        return 1;
}

int session_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        BusFrontend *bf = userdata;
        _cleanup_strv_free_ char **l = NULL;

        for (Session *s = bf->manager->sessions; s; s = s->next) {
                char *p;
                if (bus_session_path(s, &p) < 0 || strv_consume(&l, p) < 0)
                        return -ENOMEM;
                for (Command *c = s->commands; c; c = c->next)
                        if (bus_command_path(c, &p) < 0 || strv_consume(&l, p) < 0)
                                return -ENOMEM;
        }
        *nodes = TAKE_PTR(l);
        return 1;
}

void bus_emit_state_changed(void *userdata, Session *s) {
        BusFrontend *bf = userdata;
        _cleanup_free_ char *path = NULL;

        /* The core says so for either: the session's state or its booted system's. */
        if (bus_session_path(s, &path) >= 0)
                (void) sd_bus_emit_properties_changed(bf->bus, path, "org.chrootd1.Session", "State",
                                                      s->rec.boot ? "BootState" : NULL, NULL);
}

void bus_emit_added(void *userdata, Session *s) {
        BusFrontend *bf = userdata;
        _cleanup_free_ char *path = NULL;

        if (bus_session_path(s, &path) >= 0)
                (void) sd_bus_emit_signal(bf->bus, "/org/chrootd1", "org.chrootd1.Manager", "SessionNew", "sso",
                                          s->rec.id, s->rec.chroot, path);
}

void bus_emit_removed(void *userdata, Session *s) {
        BusFrontend *bf = userdata;
        _cleanup_free_ char *path = NULL;

        if (bus_session_path(s, &path) >= 0)
                (void) sd_bus_emit_signal(bf->bus, "/org/chrootd1", "org.chrootd1.Manager", "SessionRemoved", "so",
                                          s->rec.id, path);
}

/* An a{sv} may name a key twice; which one would win is nobody's guess. */
static int option_once(char ***seen, const char *key, sd_bus_error *error) {
        _cleanup_(error_done) Error e = {};

        if (check_option_once(seen, key, &e) < 0)
                return bus_set_error(error, &e);
        return 0;
}

/* A value the core judged. */
static int checked(int r, Error *e, sd_bus_error *error) {
        if (r < 0) {
                r = bus_set_error(error, e);
                error_done(e);
        }
        return r;
}

int bus_read_limits(sd_bus_message *m, Limits *ret, BeginFlags *ret_flags, sd_bus_error *error) {
        _cleanup_strv_free_ char **seen = NULL;
        _cleanup_(error_done) Error e = {};
        _cleanup_(begin_flags_done) BeginFlags flags = {};
        const char *network = NULL;
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
                if (ret_flags && (streq(key, "add-login") || streq(key, "write-back") || streq(key, "host-tree") ||
                                  streq(key, "end-with-caller") || streq(key, "package-cache") ||
                                  streq(key, "boot"))) {
                        int b;

                        r = sd_bus_message_read(m, "v", "b", &b);
                        if (r < 0)
                                return sd_bus_error_setf(error, BUS_ERROR_PREFIX "InvalidArgument",
                                                         "Option '%s' must be a boolean (b)", key);
                        if (streq(key, "end-with-caller")) {
                                /* The caller is its unique name, which the bus never
                                 * reuses; the front end watches it go (manager-dbus.c). */
                                const char *sender = sd_bus_message_get_sender(m);
                                if (b && (!sender || sender[0] != ':'))
                                        return sd_bus_error_setf(error, BUS_ERROR_PREFIX "InvalidArgument",
                                                                 "Option 'end-with-caller' needs a caller on a bus");
                                flags.caller = b ? sender : NULL; /* lives as long as the message */
                        } else if (streq(key, "add-login"))
                                flags.add_login = b;
                        else if (streq(key, "write-back"))
                                flags.write_back = b;
                        else if (streq(key, "package-cache"))
                                flags.package_cache = b;
                        else if (streq(key, "boot"))
                                flags.boot = b;
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
                                return sd_bus_error_setf(error, BUS_ERROR_PREFIX "InvalidArgument",
                                                         "Option 'add-accounts' must be a list of account names (as)");
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
                        if (r < 0)
                                u = NULL;
                        r = checked(check_union_type(u, &e), &e, error);
                        if (r < 0)
                                return r;
                        flags.union_type = u; /* lives as long as the message */
                        r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (ret_flags && streq(key, "network")) {
                        /* Judged once all options are read: it needs boot, which may
                         * come after it. */
                        r = sd_bus_message_read(m, "v", "s", &network);
                        if (r < 0)
                                return sd_bus_error_setf(error, BUS_ERROR_PREFIX "InvalidArgument",
                                                         "Option 'network' must be a string (s)");
                        r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return r;
                        continue;
                }
                dest = limits_field(&l, key);
                if (!dest)
                        return sd_bus_error_setf(error, BUS_ERROR_PREFIX "InvalidArgument", "Unknown option '%s'", key);
                r = sd_bus_message_read(m, "v", "t", &v);
                if (r < 0)
                        return sd_bus_error_setf(error, BUS_ERROR_PREFIX "InvalidArgument",
                                                 "Option '%s' must be a number (t)", key);
                r = checked(check_limit(key, v, &e), &e, error);
                if (r < 0)
                        return r;
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
        if (ret_flags) {
                r = checked(check_begin_network(flags.boot, network, &flags.host_network, &e), &e, error);
                if (r < 0)
                        return r;
        }
        *ret = l;
        if (ret_flags) {
                *ret_flags = flags;
                flags = (BeginFlags) {};
        }
        return 0;
}

static int method_set_limits(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(error_done) Error e = {};
        Session *s = userdata;
        Limits l;
        int r;

        r = bus_read_limits(m, &l, NULL, error);
        if (r < 0)
                return r;
        Call call = bus_call(bus_frontend_of(m), m);
        r = session_set_limits(s, &l, call, &e);
        if (r < 0) {
                sd_bus_message_unref(call.data);
                return bus_set_error(error, &e);
        }
        return 1; /* replied once systemd applied them */
}

int bus_session_end(Session *s, sd_bus_message *m, sd_bus_error *error) {
        _cleanup_(error_done) Error e = {};
        Call call = bus_call(bus_frontend_of(m), m);
        int r;

        r = streq(sd_bus_message_get_member(m), "Discard") ? session_discard(s, call, &e) : session_end(s, call, &e);
        if (r < 0) {
                sd_bus_message_unref(call.data);
                return bus_set_error(error, &e);
        }
        return 1; /* replied once the session is gone */
}

static int method_kill(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(error_done) Error e = {};
        int32_t sig;
        int r;

        r = sd_bus_message_read(m, "i", &sig);
        if (r < 0)
                return r;
        r = session_kill(userdata, sig, &e);
        if (r < 0)
                return bus_set_error(error, &e);
        return sd_bus_reply_method_return(m, NULL);
}

static int method_end(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return bus_session_end(userdata, m, error);
}

static int method_reboot(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(error_done) Error e = {};
        int r;

        r = session_reboot(userdata, &e);
        if (r < 0)
                return bus_set_error(error, &e);
        return sd_bus_reply_method_return(m, NULL);
}

static int method_open_console_log(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(error_done) Error e = {};
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = session_open_console_log(userdata, &fd, &e);
        if (r < 0)
                return bus_set_error(error, &e);
        /* sd-bus sends a copy of the descriptor; ours closes on return. */
        return sd_bus_reply_method_return(m, "h", fd);
}

/* A Run as read from its message: strings point into it, lists are owned. */
typedef struct BusRun {
        char **argv;
        char **environment;
        char **setenv;
        const char *user;
        const char *directory;
        const char *network;
        uint64_t timeout_usec;
        int stdio[3];
        int pty;
        uint16_t pty_rows, pty_columns;
} BusRun;

static void bus_run_done(BusRun *q) {
        strv_free(q->argv);
        strv_free(q->environment);
        strv_free(q->setenv);
}

/* The value of an "as" option. An empty list is kept as one (an empty environment),
 * unlike no list (a clean one). */
static int read_strv_option(sd_bus_message *m, const char *key, char ***dest, sd_bus_error *error) {
        int r;

        r = sd_bus_message_enter_container(m, 'v', "as");
        if (r < 0)
                return sd_bus_error_setf(error, BUS_ERROR_PREFIX "InvalidArgument",
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

static int read_run_options(sd_bus_message *m, BusRun *q, sd_bus_error *error) {
        static const char *const fd_names[3] = { "stdin", "stdout", "stderr" };
        _cleanup_strv_free_ char **seen = NULL;
        _cleanup_(error_done) Error e = {};
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
                                        return sd_bus_error_setf(error, BUS_ERROR_PREFIX "InvalidArgument",
                                                                 "Option '%s' must be a file descriptor (h)", key);
                                r = checked(check_stream_fd(q->stdio[i], key, &e), &e, error);
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
                                return sd_bus_error_setf(error, BUS_ERROR_PREFIX "InvalidArgument",
                                                         "Option '%s' must be a string (s)", key);
                } else if (streq(key, "pty")) {
                        r = sd_bus_message_read(m, "v", "b", &q->pty);
                        if (r < 0)
                                return sd_bus_error_setf(error, BUS_ERROR_PREFIX "InvalidArgument",
                                                         "Option 'pty' must be a boolean (b)");
                } else if (streq(key, "pty-rows") || streq(key, "pty-columns")) {
                        r = sd_bus_message_read(m, "v", "q", streq(key, "pty-rows") ? &q->pty_rows : &q->pty_columns);
                        if (r < 0)
                                return sd_bus_error_setf(error, BUS_ERROR_PREFIX "InvalidArgument",
                                                         "Option '%s' must be a number of 16 bits (q)", key);
                } else if (streq(key, "timeout")) {
                        r = sd_bus_message_read(m, "v", "t", &q->timeout_usec);
                        if (r < 0)
                                return sd_bus_error_setf(error, BUS_ERROR_PREFIX "InvalidArgument",
                                                         "Option 'timeout' must be microseconds (t)");
                } else if (streq(key, "environment") || streq(key, "setenv")) {
                        r = read_strv_option(m, key, streq(key, "setenv") ? &q->setenv : &q->environment, error);
                        if (r < 0)
                                return r;
                } else
                        return sd_bus_error_setf(error, BUS_ERROR_PREFIX "InvalidArgument", "Unknown option '%s'", key);

                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* Run's and Start's argv and options, checked, as p (pointing into q). */
static int read_run(sd_bus_message *m, BusRun *q, RunParams *p, sd_bus_error *error) {
        _cleanup_(error_done) Error e = {};
        bool network_none;
        int r;

        r = sd_bus_message_read_strv(m, &q->argv);
        if (r < 0)
                return r;
        if (!q->argv && !(q->argv = calloc(1, sizeof(char *)))) /* empty: never NULL */
                return -ENOMEM;
        r = read_run_options(m, q, error);
        if (r < 0)
                return r;
        r = check_run(q->argv, q->environment, q->setenv, q->user, q->directory, q->network, &network_none, &e);
        if (r >= 0)
                r = check_terminal(q->pty, q->stdio, q->pty_rows || q->pty_columns, &e);
        if (r < 0)
                return bus_set_error(error, &e);
        *p = (RunParams) {
                .argv = q->argv,
                .environment = q->environment,
                .setenv = q->setenv,
                .user = q->user,
                .directory = q->directory,
                .network_none = network_none,
                .timeout_usec = q->timeout_usec,
                .stdio = { q->stdio[0], q->stdio[1], q->stdio[2] },
                .pty = q->pty,
                .pty_rows = q->pty_rows,
                .pty_columns = q->pty_columns,
        };
        return 0;
}

#define BUS_RUN_DEFAULTS \
        { .user = "root", .directory = "/", .network = "host", .stdio = { -EBADF, -EBADF, -EBADF } }

/* Run and Start: the same argv and options; Run is answered when the command ends,
 * Start once it has started. */
static int method_run(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(bus_run_done) BusRun q = BUS_RUN_DEFAULTS;
        _cleanup_(error_done) Error e = {};
        bool start = streq(sd_bus_message_get_member(m), "Start");
        RunParams p;
        int r;

        r = read_run(m, &q, &p, error);
        if (r < 0)
                return r;
        if (p.pty && !start)
                return sd_bus_error_setf(error, BUS_ERROR_PREFIX "InvalidArgument",
                                         "Option 'pty' is Start's: a Run's caller has no way to its terminal");
        Call call = bus_call(bus_frontend_of(m), m);
        r = start ? session_start(userdata, &p, call, &e) : session_run(userdata, &p, call, &e);
        if (r < 0) {
                sd_bus_message_unref(call.data);
                return bus_set_error(error, &e);
        }
        return 1; /* replied later */
}

/* CopyIn(s path, h tar, a{sv} options) and CopyOut(...): no option is known yet. */
static int method_copy(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(error_done) Error e = {};
        RunCopy kind = streq(sd_bus_message_get_member(m), "CopyIn") ? RUN_COPY_IN : RUN_COPY_OUT;
        const char *path;
        int fd, r;

        r = sd_bus_message_read(m, "sh", &path, &fd);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'e', "sv");
        if (r < 0)
                return r;
        if (r > 0) {
                const char *key;
                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                return sd_bus_error_setf(error, BUS_ERROR_PREFIX "InvalidArgument", "Unknown option '%s'", key);
        }
        r = checked(check_copy(path, fd, &e), &e, error);
        if (r < 0)
                return r;
        Call call = bus_call(bus_frontend_of(m), m);
        r = session_copy(userdata, kind, path, fd, call, &e);
        if (r < 0) {
                sd_bus_message_unref(call.data);
                return bus_set_error(error, &e);
        }
        return 1; /* replied when the copy is over */
}

static int property_get_started(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return bus_append_command_paths(reply, userdata);
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        return sd_bus_message_append(reply, "s", streq(property, "BootState") ? session_boot_state(s)
                                                                               : session_state_to_string(s->rec.state));
}

static int property_get_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        const char *v = streq(property, "Id")              ? s->rec.id
                        : streq(property, "Chroot")        ? s->rec.chroot
                        : streq(property, "UnionType")     ? (session_is_overlay(s) ? "overlay" : "none")
                                                           : NULL;
        _cleanup_free_ char *root = NULL;

        if (v)
                return sd_bus_message_append(reply, "s", v);
        /* RootDirectory */
        root = session_root_directory(s);
        return sd_bus_message_append(reply, "s", strempty(root));
}

static int property_get_progress(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "d", session_progress(userdata));
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

static int property_get_flag(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        bool v = streq(property, "WriteBack")     ? s->rec.write_back
                 : streq(property, "Boot")        ? s->rec.boot
                 : streq(property, "HostNetwork") ? s->rec.host_network
                                                  : s->rec.package_cache;
        return sd_bus_message_append(reply, "b", v);
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
        SD_BUS_PROPERTY("WriteBack", "b", property_get_flag, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("PackageCache", "b", property_get_flag, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Boot", "b", property_get_flag, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("HostNetwork", "b", property_get_flag, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("BootState", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("UnionType", "s", property_get_string, 0, 0),
        SD_BUS_PROPERTY("Commands", "a(asust)", property_get_commands, 0, 0),
        SD_BUS_PROPERTY("StartedCommands", "ao", property_get_started, 0, 0),
        SD_BUS_PROPERTY("TasksCurrent", "t", property_get_usage, 0, 0),
        SD_BUS_PROPERTY("MemoryCurrent", "t", property_get_usage, 0, 0),
        SD_BUS_PROPERTY("CPUUsageNSec", "t", property_get_usage, 0, 0),
        SD_BUS_METHOD_WITH_ARGS("Run",
                                SD_BUS_ARGS("as", argv, "a{sv}", options),
                                SD_BUS_RESULT("s", result, "i", value),
                                method_run, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Start",
                                SD_BUS_ARGS("as", argv, "a{sv}", options),
                                SD_BUS_RESULT("o", command),
                                method_run, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CopyIn",
                                SD_BUS_ARGS("s", path, "h", tar, "a{sv}", options),
                                SD_BUS_NO_RESULT,
                                method_copy, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CopyOut",
                                SD_BUS_ARGS("s", path, "h", tar, "a{sv}", options),
                                SD_BUS_NO_RESULT,
                                method_copy, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Kill",
                                SD_BUS_ARGS("i", signal),
                                SD_BUS_NO_RESULT,
                                method_kill, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetLimits",
                                SD_BUS_ARGS("a{sv}", limits),
                                SD_BUS_NO_RESULT,
                                method_set_limits, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("End", NULL, NULL, method_end, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Discard", NULL, NULL, method_end, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Reboot", NULL, NULL, method_reboot, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("OpenConsoleLog",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("h", log),
                                method_open_console_log, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};
