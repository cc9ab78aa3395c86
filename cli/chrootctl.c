/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* chrootctl: the command-line client of chrootd (org.chrootd1 on the user bus).
 *
 * Every failure is reported as exactly one line on stderr, "chrootctl: <what failed>:
 * <why>", with exit status 1; usage errors exit with 2. "run" exits with the status of
 * the command it ran (128+N when it was killed by signal N), like a shell. */

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <stdint.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "client.h"
#include "terminal.h"
#include "config.h"
#include "create.h"
#include "init-copy.h"
#include "process-util.h"
#include "tar-copy.h"
#include "util.h"



#define EXIT_USAGE 2

extern char **environ;

enum {
        OPT_NAME = 1 << 0,
        OPT_USER = 1 << 1,
        OPT_DIRECTORY = 1 << 2,
        OPT_NETWORK = 1 << 3,
        OPT_PRESERVE_ENV = 1 << 4,
        OPT_NO_LEGEND = 1 << 5,
        OPT_TIMEOUT = 1 << 6,
        OPT_UNION = 1 << 7,
        OPT_ADD_LOGIN = 1 << 8,
        OPT_HOLD = 1 << 9,
        OPT_ERROR_STATUS = 1 << 10,
        OPT_ADD_ACCOUNT = 1 << 11,
        OPT_PACKAGE_CACHE = 1 << 12,
        OPT_LIMITS = 1 << 13,
        OPT_BOOT = 1 << 14,
        OPT_TTY = 1 << 15,
        OPT_DISCARD = 1 << 16,
        OPT_SUITE = 1 << 17,
        OPT_VARIANT = 1 << 18,
        OPT_INCLUDE = 1 << 19,
        OPT_MIRROR = 1 << 20,
};

/* Indexed by the bit number of OPT_*. */
static const char *const option_names[] = {
        "name", "user", "directory", "network", "preserve-environment", "no-legend", "timeout", "union-type",
        "add-login", "hold", "error-status", "add-account", "package-cache", "memory-max/tasks-max/cpu-weight",
        "boot", "tty", "discard", "suite", "variant", "include", "mirror",
};

enum {
        ARG_VERSION = 0x100,
        ARG_NO_LEGEND,
        ARG_NETWORK,
        ARG_TIMEOUT,
        ARG_UNION,
        ARG_ADD_LOGIN,
        ARG_HOLD,
        ARG_ERROR_STATUS,
        ARG_ADD_ACCOUNT,
        ARG_PACKAGE_CACHE,
        ARG_MEMORY_MAX,
        ARG_TASKS_MAX,
        ARG_CPU_WEIGHT,
        ARG_BOOT,
        ARG_DISCARD,
        ARG_SUITE,
        ARG_VARIANT,
        ARG_INCLUDE,
        ARG_MIRROR,
};

static struct {
        bool legend;
        const char *name;
        const char *user;
        const char *directory;
        const char *network;
        bool preserve_environment;
        uint64_t timeout_sec;
        const char *union_type;
        bool add_login;
        bool hold;
        bool package_cache;
        bool boot;
        bool tty;
        bool discard;
        bool write_back;      /* update's session (not an option) */
        CreateOptions create; /* create's --suite, --variant, --include, --mirror */
        uint64_t memory_max, tasks_max, cpu_weight; /* begin's limits; 0: none */
        const char *accounts[8 + 1]; /* --add-account, NULL-terminated */
        size_t n_accounts;
        int error_status; /* our own failures */
        unsigned seen; /* OPT_* given on the command line, checked against the verb */
} arg = {
        .legend = true,
        .error_status = EXIT_FAILURE,
};

/* "+": stop at the first non-option, so a command's own options are left alone;
 * ":": report missing arguments ourselves, in one line. */
#define OPTSTRING "+:hn:u:d:pt"

static const struct option options[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, ARG_VERSION },
        { "no-legend", no_argument, NULL, ARG_NO_LEGEND },
        { "name", required_argument, NULL, 'n' },
        { "user", required_argument, NULL, 'u' },
        { "directory", required_argument, NULL, 'd' },
        { "network", required_argument, NULL, ARG_NETWORK },
        { "preserve-environment", no_argument, NULL, 'p' },
        { "timeout", required_argument, NULL, ARG_TIMEOUT },
        { "union-type", required_argument, NULL, ARG_UNION },
        { "add-login", no_argument, NULL, ARG_ADD_LOGIN },
        { "hold", no_argument, NULL, ARG_HOLD },
        { "error-status", required_argument, NULL, ARG_ERROR_STATUS },
        { "add-account", required_argument, NULL, ARG_ADD_ACCOUNT },
        { "package-cache", no_argument, NULL, ARG_PACKAGE_CACHE },
        { "memory-max", required_argument, NULL, ARG_MEMORY_MAX },
        { "tasks-max", required_argument, NULL, ARG_TASKS_MAX },
        { "cpu-weight", required_argument, NULL, ARG_CPU_WEIGHT },
        { "boot", no_argument, NULL, ARG_BOOT },
        { "tty", no_argument, NULL, 't' },
        { "discard", no_argument, NULL, ARG_DISCARD },
        { "suite", required_argument, NULL, ARG_SUITE },
        { "variant", required_argument, NULL, ARG_VARIANT },
        { "include", required_argument, NULL, ARG_INCLUDE },
        { "mirror", required_argument, NULL, ARG_MIRROR },
        {}
};

static void usage_error(const char *fmt, ...) _printf_(1, 2);
static void usage_error(const char *fmt, ...) {
        va_list ap;

        fputs("chrootctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs(", see --help\n", stderr);
}

/* Print "chrootctl: <what>: <why>", the why taken from the D-Bus error when there is
 * one (the service explains itself there), else from r. Returns r (negative). */
static int log_failure(const sd_bus_error *error, int r, const char *fmt, ...) _printf_(3, 4);
static int log_failure(const sd_bus_error *error, int r, const char *fmt, ...) {
        va_list ap;
        const char *why;

        if (error && sd_bus_error_is_set(error))
                why = error->message ? error->message : error->name;
        else
                why = strerror(r < 0 ? -r : r);

        fputs("chrootctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, ": %s\n", why);
        return r < 0 ? r : -EIO;
}

static int log_parse_failure(int r) {
        return log_failure(NULL, r, "Failed to parse reply from " BUS_NAME);
}

static int log_oom(void) {
        return log_failure(NULL, -ENOMEM, "Out of memory");
}

static int bus_connect(sd_bus **ret) {
        int r;

        r = sd_bus_open_user(ret);
        if (r == -ENOMEDIUM) {
                /* sd-bus's way of saying it has no address to try at all. */
                fputs("chrootctl: Failed to connect to the user bus: neither "
                      "$DBUS_SESSION_BUS_ADDRESS nor $XDG_RUNTIME_DIR is set\n", stderr);
                return r;
        }
        if (r < 0)
                return log_failure(NULL, r, "Failed to connect to the user bus");
        return 0;
}

static int cmp_row(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Print cells (n_columns per row, rows contiguous) as a table sorted by the first
 * column; the last column is not padded so long descriptions do not leave trailing
 * blanks. noun and nouns name one row and several in the footer. */
static void print_table(const char *const *headers, size_t n_columns, char **cells,
                        const char *noun, const char *nouns) {
        size_t n_rows = strv_length(cells) / n_columns;
        size_t width[8] = {};

        if (n_rows == 0) {
                if (arg.legend)
                        printf("No %s.\n", nouns);
                return;
        }

        qsort(cells, n_rows, n_columns * sizeof(char *), cmp_row);

        for (size_t c = 0; c < n_columns; c++) {
                width[c] = arg.legend ? strlen(headers[c]) : 0;
                for (size_t i = 0; i < n_rows; i++) {
                        size_t l = strlen(cells[i * n_columns + c]);
                        if (l > width[c])
                                width[c] = l;
                }
        }

        for (size_t i = arg.legend ? 0 : 1; i <= n_rows; i++)
                for (size_t c = 0; c < n_columns; c++) {
                        const char *s = i == 0 ? headers[c] : cells[(i - 1) * n_columns + c];
                        if (c + 1 < n_columns)
                                printf("%-*s  ", (int) width[c], s);
                        else
                                printf("%s\n", s);
                }

        if (arg.legend)
                printf("\n%zu %s listed.\n", n_rows, n_rows == 1 ? noun : nouns);
}

static int verb_list(sd_bus *bus, char **args) {
        static const char *const headers[] = { "NAME", "TYPE", "PATH", "ALIASES", "DESCRIPTION" };
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **cells = NULL;
        const char *name, *type, *path, *description;
        int r;

        r = call_manager(bus, "ListChroots", &error, &reply, NULL);
        if (r < 0)
                return log_failure(&error, r, "Failed to list chroots");

        r = sd_bus_message_enter_container(reply, 'a', "(ssssas)");
        if (r < 0)
                return log_parse_failure(r);
        while ((r = sd_bus_message_enter_container(reply, 'r', "ssssas")) > 0) {
                _cleanup_strv_free_ char **aliases = NULL;
                _cleanup_free_ char *joined = NULL;

                r = sd_bus_message_read(reply, "ssss", &name, &type, &path, &description);
                if (r < 0)
                        return log_parse_failure(r);
                r = sd_bus_message_read_strv(reply, &aliases);
                if (r < 0)
                        return log_parse_failure(r);
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return log_parse_failure(r);

                for (char **a = aliases; a && *a; a++) {
                        char *j = strf("%s%s%s", strempty(joined), joined ? "," : "", *a);
                        if (!j)
                                return log_oom();
                        free(joined);
                        joined = j;
                }

                if (strv_extend(&cells, name) < 0 || strv_extend(&cells, type) < 0 ||
                    strv_extend(&cells, path) < 0 ||
                    strv_extend(&cells, joined ? joined : "-") < 0 ||
                    strv_extend(&cells, description[0] ? description : "-") < 0)
                        return log_oom();
        }
        if (r < 0)
                return log_parse_failure(r);

        print_table(headers, ELEMENTSOF(headers), cells, "chroot", "chroots");
        return 0;
}

static int verb_sessions(sd_bus *bus, char **args) {
        static const char *const headers[] = { "ID", "CHROOT", "STATE" };
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **cells = NULL;
        const char *id, *chroot, *state, *path;
        int r;

        r = call_manager(bus, "ListSessions", &error, &reply, NULL);
        if (r < 0)
                return log_failure(&error, r, "Failed to list sessions");

        r = sd_bus_message_enter_container(reply, 'a', "(ssso)");
        if (r < 0)
                return log_parse_failure(r);
        while ((r = sd_bus_message_read(reply, "(ssso)", &id, &chroot, &state, &path)) > 0)
                if (strv_extend(&cells, id) < 0 || strv_extend(&cells, chroot) < 0 ||
                    strv_extend(&cells, state) < 0)
                        return log_oom();
        if (r < 0)
                return log_parse_failure(r);

        print_table(headers, ELEMENTSOF(headers), cells, "session", "sessions");
        return 0;
}

/* While Begin unpacks, show the new session's Progress on a terminal. */
typedef struct BeginWait {
        AsyncCall call;
        char *path; /* the session object, from SessionNew */
        const char *name;
} BeginWait;

static int on_session_new(sd_bus_message *m, void *userdata, sd_bus_error *unused) {
        BeginWait *w = userdata;
        const char *id, *chroot, *path;

        if (w->path || sd_bus_message_read(m, "sso", &id, &chroot, &path) < 0)
                return 0;
        /* Without --name the first new session is taken to be ours: only the bar
         * depends on it, not the id we print. */
        if (!w->name || streq(w->name, id))
                w->path = strdup(path);
        return 0;
}

static void draw_progress(sd_bus *bus, const char *path) {
        double p = 0;
        int n;

        if (sd_bus_get_property_trivial(bus, BUS_NAME, path, SESSION_IFACE, "Progress", NULL, 'd', &p) < 0)
                return;
        n = (int) (p * 40 + 0.5);
        fprintf(stderr, "\rUnpacking [%.*s%*s] %3d%%", n, "########################################", 40 - n, "",
                (int) (p * 100 + 0.5));
        fflush(stderr);
}

/* BeginSession's options from the command line; --hold asks the service to end the
 * session when this connection goes, so that nothing outlives a holder that was killed. */
static int append_begin_call(sd_bus_message *m, const char *chroot) {
        int r;

        r = sd_bus_message_append(m, "ss", chroot, strempty(arg.name));
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && arg.union_type)
                r = sd_bus_message_append(m, "{sv}", "union-type", "s", arg.union_type);
        if (r >= 0 && arg.add_login)
                r = sd_bus_message_append(m, "{sv}", "add-login", "b", 1);
        if (r >= 0 && arg.n_accounts > 0)
                r = append_strv_option(m, "add-accounts", (char **) arg.accounts);
        if (r >= 0 && arg.package_cache)
                r = sd_bus_message_append(m, "{sv}", "package-cache", "b", 1);
        if (r >= 0 && arg.boot)
                r = sd_bus_message_append(m, "{sv}", "boot", "b", 1);
        if (r >= 0 && arg.network)
                r = sd_bus_message_append(m, "{sv}", "network", "s", arg.network);
        if (r >= 0 && arg.memory_max)
                r = sd_bus_message_append(m, "{sv}", "memory-max", "t", arg.memory_max);
        if (r >= 0 && arg.tasks_max)
                r = sd_bus_message_append(m, "{sv}", "tasks-max", "t", arg.tasks_max);
        if (r >= 0 && arg.cpu_weight)
                r = sd_bus_message_append(m, "{sv}", "cpu-weight", "t", arg.cpu_weight);
        if (r >= 0 && arg.write_back)
                r = sd_bus_message_append(m, "{sv}", "write-back", "b", 1);
        /* update's too: a session whose updater died is discarded, not written back. */
        if (r >= 0 && (arg.hold || arg.write_back))
                r = sd_bus_message_append(m, "{sv}", "end-with-caller", "b", 1);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static int call_begin(sd_bus *bus, const char *chroot, sd_bus_error *error, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *match = NULL, *slot = NULL;
        BeginWait w = { .name = arg.name };
        bool drawn = false;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "BeginSession");
        if (r >= 0)
                r = append_begin_call(m, chroot);
        if (r < 0)
                return r;

        if (!isatty(STDERR_FILENO))
                return sd_bus_call(bus, m, CALL_TIMEOUT, error, ret);

        r = sd_bus_match_signal(bus, &match, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "SessionNew", on_session_new, &w);
        if (r >= 0)
                r = sd_bus_call_async(bus, &slot, m, async_call_on_reply, &w.call, CALL_TIMEOUT);
        while (r >= 0 && !w.call.done) {
                r = sd_bus_process(bus, NULL);
                if (r > 0 || w.call.done)
                        continue;
                if (r >= 0)
                        r = sd_bus_wait(bus, 200 * 1000);
                if (r >= 0 && !w.call.done && w.path) {
                        draw_progress(bus, w.path);
                        drawn = true;
                }
        }
        if (drawn)
                fputs("\r\033[K", stderr);
        free(w.path);
        if (r < 0) {
                sd_bus_message_unref(w.call.reply);
                return r;
        }
        return async_call_take(&w.call, error, ret);
}

/* begin --hold: keep the session while we run. Wait for the end of our input (the
 * holder's parent closing its pipe, or dying) or SIGTERM, SIGINT, SIGHUP, then end the
 * session; while waiting, keep reading the bus so that nothing piles up. */
static int hold_session(sd_bus *bus, const char *id) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_close_ int sfd = -EBADF;
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
            (sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
                return log_failure(NULL, -errno, "Failed to watch signals");

        for (bool done = false; !done;) {
                struct pollfd p[3] = {
                        { .fd = STDIN_FILENO, .events = POLLIN },
                        { .fd = sfd, .events = POLLIN },
                        { .fd = sd_bus_get_fd(bus), .events = (short) sd_bus_get_events(bus) },
                };

                while ((r = sd_bus_process(bus, NULL)) > 0)
                        ;
                if (r < 0)
                        return log_failure(NULL, r, "Lost the bus while holding session '%s'", id);
                if (poll(p, 3, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_failure(NULL, -errno, "Failed to wait");
                }
                if (p[1].revents)
                        done = true;
                if (p[0].revents) {
                        char buf[512];
                        ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
                        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
                                done = true;
                }
        }

        r = call_manager(bus, "EndSession", &error, NULL, "s", id);
        if (r < 0)
                return log_failure(&error, r, "Failed to end session '%s'", id);
        return 0;
}

static int verb_begin(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *id = NULL;
        const char *i, *path;
        int r;

        r = call_begin(bus, args[1], &error, &reply);
        if (r < 0)
                return log_failure(&error, r, "Failed to begin a session of '%s'", args[1]);

        r = sd_bus_message_read(reply, "so", &i, &path);
        if (r < 0)
                return log_parse_failure(r);
        id = strdup(i);
        if (!id)
                return log_oom();

        printf("%s\n", id);
        if (!arg.hold)
                return 0;
        if (fflush(stdout) != 0)
                log_failure(NULL, -errno, "Failed to write to standard output");
        return hold_session(bus, id);
}

static int verb_gc(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **removed = NULL;
        int r;

        r = call_manager(bus, "CollectGarbage", &error, &reply, NULL);
        if (r < 0)
                return log_failure(&error, r, "Failed to remove unused bases");
        r = sd_bus_message_read_strv(reply, &removed);
        if (r < 0)
                return log_parse_failure(r);
        size_t n_bases = 0;
        for (char **k = removed; k && *k; k++) {
                const char *chroot = startswith(*k, "packages/");
                if (chroot)
                        printf("removed the package cache of %s\n", chroot);
                else {
                        printf("removed base %s\n", *k);
                        n_bases++;
                }
        }
        if (arg.legend)
                printf("%zu unused base%s removed.\n", n_bases, n_bases == 1 ? "" : "s");
        return 0;
}

static int get_session(sd_bus *bus, const char *id, char **ret);

static int verb_end(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        if (arg.discard) {
                r = get_session(bus, args[1], &path);
                if (r < 0)
                        return r;
                r = call(bus, path, SESSION_IFACE, "Discard", &error, NULL, NULL);
        } else
                r = call_manager(bus, "EndSession", &error, NULL, "s", args[1]);
        if (r < 0)
                return log_failure(&error, r, "Failed to end session '%s'", args[1]);
        return 0;
}

/* Look up the object path of a session; the path is copied out of the reply. */
static int get_session(sd_bus *bus, const char *id, char **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *path;
        int r;

        r = call_manager(bus, "GetSession", &error, &reply, "s", id);
        if (r < 0)
                return log_failure(&error, r, "Failed to find session '%s'", id);
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return log_parse_failure(r);
        *ret = strdup(path);
        return *ret ? 0 : log_oom();
}

/* A terminal's options: its size, and the caller's TERM, COLORTERM and LANG (unless
 * the whole environment goes anyway), so that programs inside draw as they would here. */
static int append_terminal_options(sd_bus_message *m) {
        static const char *const pass[] = { "TERM", "COLORTERM", "LANG" };
        _cleanup_strv_free_ char **set = NULL;
        struct winsize ws;
        int r;

        r = sd_bus_message_append(m, "{sv}", "pty", "b", 1);
        if (r >= 0 && terminal_size(STDIN_FILENO, &ws) && ws.ws_row > 0 && ws.ws_col > 0)
                r = sd_bus_message_append(m, "{sv}{sv}", "pty-rows", "q", ws.ws_row, "pty-columns", "q", ws.ws_col);
        for (size_t i = 0; r >= 0 && !arg.preserve_environment && i < ELEMENTSOF(pass); i++) {
                const char *v = getenv(pass[i]);
                _cleanup_free_ char *e = v ? strf("%s=%s", pass[i], v) : NULL;
                if (v && (!e || strv_extend(&set, e) < 0))
                        return -ENOMEM;
        }
        if (r >= 0 && set)
                r = append_strv_option(m, "setenv", set);
        return r;
}

static int append_run_options(sd_bus_message *m) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = arg.tty ? append_terminal_options(m) : append_stdio_options(m);
        if (r < 0)
                return r;

        if (arg.user && (r = sd_bus_message_append(m, "{sv}", "user", "s", arg.user)) < 0)
                return r;
        if (arg.directory &&
            (r = sd_bus_message_append(m, "{sv}", "directory", "s", arg.directory)) < 0)
                return r;
        if (arg.network &&
            (r = sd_bus_message_append(m, "{sv}", "network", "s", arg.network)) < 0)
                return r;
        if (arg.timeout_sec > 0 &&
            (r = sd_bus_message_append(m, "{sv}", "timeout", "t", arg.timeout_sec * UINT64_C(1000000))) < 0)
                return r;

        if (arg.preserve_environment) {
                _cleanup_strv_free_ char **env = NULL;

                for (char **e = environ; e && *e; e++)
                        if (!environment_unsafe(*e) && strv_extend(&env, *e) < 0)
                                return -ENOMEM;

                r = append_strv_option(m, "environment", env);
                if (r < 0)
                        return r;
        }

        return sd_bus_message_close_container(m);
}

static int exit_status_of(const char *result, int32_t value, const char *what, const char *id);
static int run_terminal(sd_bus *bus, const char *id, char **argv);

static int verb_run(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_free_ char *path = NULL;
        const char *id = args[1], *result;
        int32_t value;
        int r;

        if (arg.tty)
                return run_terminal(bus, id, args + 2);
        /* A session's object path follows from its id: no GetSession round trip. An
         * unknown object means no such session; GetSession then says so properly. */
        r = sd_bus_path_encode(SESSION_PATH_PREFIX, id, &path);
        if (r < 0)
                return log_oom();
        r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, path, SESSION_IFACE, "Run");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, args + 2);
        if (r >= 0)
                r = append_run_options(m);
        if (r < 0)
                return log_failure(NULL, r, "Failed to build the Run request");

        r = call_run_forwarding_signals(bus, m, path, &error, &reply);
        if (r < 0 && (sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_OBJECT) ||
                      sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_METHOD))) {
                _cleanup_free_ char *found = NULL;
                r = get_session(bus, id, &found);
                if (r < 0)
                        return r;
                return log_failure(&error, -ENOENT, "Failed to run '%s' in session '%s'", args[2], id);
        }
        if (r < 0)
                return log_failure(&error, r, "Failed to run '%s' in session '%s'", args[2], id);

        r = sd_bus_message_read(reply, "si", &result, &value);
        if (r < 0)
                return log_parse_failure(r);
        return exit_status_of(result, value, args[2], id);
}

/* run's exit status: the command's, as a shell gives it. */
static int exit_status_of(const char *result, int32_t value, const char *what, const char *id) {
        if (streq(result, "exited"))
                return value & 0xff;
        if (streq(result, "killed"))
                return 128 + (value & 0x7f);
        if (streq(result, "timeout")) {
                /* As timeout(1) does. */
                fprintf(stderr, "chrootctl: Command timed out after %" PRIu64 " s\n", arg.timeout_sec);
                return 124;
        }
        fprintf(stderr, "chrootctl: Failed to run '%s' in session '%s': unknown result '%s'\n", what, id, result);
        return -EPROTO;
}

/* run -t and shell: Start with a terminal, relayed to ours until Wait answers. */
static int run_terminal(sd_bus *bus, const char *id, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL, *term = NULL;
        _cleanup_free_ char *path = NULL;
        const char *what = argv[0] ? argv[0] : "the login shell", *command, *result;
        _cleanup_free_ char *command_path = NULL;
        int32_t value;
        int master, r;

        if (!isatty(STDIN_FILENO)) {
                fprintf(stderr, "chrootctl: A terminal (-t, shell) needs one on standard input, which is none\n");
                return -ENOTTY;
        }
        r = get_session(bus, id, &path);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, path, SESSION_IFACE, "Start");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, argv);
        if (r >= 0)
                r = append_run_options(m);
        if (r < 0)
                return log_failure(NULL, r, "Failed to build the Start request");
        r = sd_bus_call(bus, m, CALL_TIMEOUT, &error, &reply);
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &command);
        if (r < 0)
                return log_failure(&error, r, "Failed to run '%s' in session '%s'", what, id);
        command_path = strdup(command);
        if (!command_path)
                return log_oom();
        r = call(bus, command_path, "org.chrootd1.Command", "OpenTerminal", &error, &term, NULL);
        if (r >= 0)
                r = sd_bus_message_read(term, "h", &master);
        if (r < 0)
                return log_failure(&error, r, "Failed to open the terminal of '%s' in session '%s'", what, id);
        sd_bus_message_unref(reply);
        reply = NULL;
        r = terminal_relay(bus, master, command_path, &error, &reply);
        if (r < 0)
                return log_failure(&error, r, "Lost '%s' in session '%s'", what, id);
        r = sd_bus_message_read(reply, "si", &result, &value);
        if (r < 0)
                return log_parse_failure(r);
        return exit_status_of(result, value, what, id);
}

static int verb_shell(sd_bus *bus, char **args) {
        char *none[] = { NULL };

        arg.tty = true;
        return run_terminal(bus, args[1], none);
}

static int verb_info(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *path = NULL;
        const char *id = NULL, *chroot = NULL, *state = NULL, *root = NULL, *union_type = NULL, *boot_state = NULL;
        const char *key;
        int boot = false, host_network = false;
        uint64_t created = 0;
        uint32_t running = 0;
        char date[128] = "n/a";
        int r;

        r = get_session(bus, args[1], &path);
        if (r < 0)
                return r;

        r = call(bus, path, "org.freedesktop.DBus.Properties", "GetAll", &error, &reply, "s",
                 SESSION_IFACE);
        if (r < 0)
                return log_failure(&error, r, "Failed to read properties of session '%s'",
                                   args[1]);

        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                return log_parse_failure(r);
        while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                r = sd_bus_message_read(reply, "s", &key);
                if (r >= 0) {
                        if (streq(key, "Id"))
                                r = sd_bus_message_read(reply, "v", "s", &id);
                        else if (streq(key, "Chroot"))
                                r = sd_bus_message_read(reply, "v", "s", &chroot);
                        else if (streq(key, "State"))
                                r = sd_bus_message_read(reply, "v", "s", &state);
                        else if (streq(key, "RootDirectory"))
                                r = sd_bus_message_read(reply, "v", "s", &root);
                        else if (streq(key, "UnionType"))
                                r = sd_bus_message_read(reply, "v", "s", &union_type);
                        else if (streq(key, "CreationTimestamp"))
                                r = sd_bus_message_read(reply, "v", "t", &created);
                        else if (streq(key, "RunningCommands"))
                                r = sd_bus_message_read(reply, "v", "u", &running);
                        else if (streq(key, "Boot"))
                                r = sd_bus_message_read(reply, "v", "b", &boot);
                        else if (streq(key, "HostNetwork"))
                                r = sd_bus_message_read(reply, "v", "b", &host_network);
                        else if (streq(key, "BootState"))
                                r = sd_bus_message_read(reply, "v", "s", &boot_state);
                        else
                                r = sd_bus_message_skip(reply, "v");
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return log_parse_failure(r);
        }
        if (r < 0)
                return log_parse_failure(r);

        if (created > 0) {
                time_t t = (time_t) (created / 1000000);
                struct tm tm;

                if (localtime_r(&t, &tm))
                        strftime(date, sizeof(date), "%a %Y-%m-%d %H:%M:%S %Z", &tm);
        }

        printf("Id: %s\n", strempty(id));
        printf("Chroot: %s\n", strempty(chroot));
        printf("State: %s\n", strempty(state));
        printf("UnionType: %s\n", strempty(union_type));
        printf("RootDirectory: %s\n", root && *root ? root : "(only inside commands)");
        printf("CreationTimestamp: %s\n", date);
        printf("RunningCommands: %" PRIu32 "\n", running);
        printf("Boot: %s\n", boot ? "yes" : "no");
        if (boot) {
                printf("BootState: %s\n", strempty(boot_state));
                printf("HostNetwork: %s\n", host_network ? "yes" : "no");
        }
        return 0;
}

/* A signal by number, or by name with or without "SIG". */
static int parse_signal(const char *s) {
        static const struct {
                const char *name;
                int sig;
        } table[] = {
                { "HUP", SIGHUP },   { "INT", SIGINT },   { "QUIT", SIGQUIT }, { "KILL", SIGKILL },
                { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "TERM", SIGTERM }, { "CONT", SIGCONT },
                { "TSTP", SIGTSTP }, { "ALRM", SIGALRM }, { "WINCH", SIGWINCH }, { "STOP", SIGSTOP },
        };
        const char *name = startswith(s, "SIG") ? s + 3 : s;
        char *end;
        long v;

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq(name, table[i].name))
                        return table[i].sig;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || end == s || *end || v <= 0 || v >= _NSIG)
                return -EINVAL;
        return (int) v;
}

static int verb_kill(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        int sig = SIGTERM, r;

        if (args[2]) {
                sig = parse_signal(args[2]);
                if (sig < 0) {
                        usage_error("'%s' is not a signal", args[2]);
                        exit(EXIT_USAGE);
                }
        }
        r = get_session(bus, args[1], &path);
        if (r < 0)
                return r;
        r = call(bus, path, SESSION_IFACE, "Kill", &error, NULL, "i", (int32_t) sig);
        if (r < 0)
                return log_failure(&error, r, "Failed to signal session '%s'", args[1]);
        return 0;
}

static int verb_reboot(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        r = get_session(bus, args[1], &path);
        if (r < 0)
                return r;
        r = call(bus, path, SESSION_IFACE, "Reboot", &error, NULL, NULL);
        if (r < 0)
                return log_failure(&error, r, "Failed to reboot session '%s'", args[1]);
        return 0;
}

/* The booted system's console log, as it is now, onto stdout. */
static int verb_log(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *path = NULL;
        char buf[64 * 1024];
        int fd, r;

        r = get_session(bus, args[1], &path);
        if (r < 0)
                return r;
        r = call(bus, path, SESSION_IFACE, "OpenConsoleLog", &error, &reply, NULL);
        if (r < 0)
                return log_failure(&error, r, "Failed to open the console log of session '%s'", args[1]);
        r = sd_bus_message_read(reply, "h", &fd); /* the reply's own: closed with it */
        if (r < 0)
                return log_parse_failure(r);
        if (fflush(stdout) != 0)
                return log_failure(NULL, -errno, "Failed to write to standard output");
        for (;;) {
                ssize_t n = read_full(fd, buf, sizeof buf);
                if (n < 0)
                        return log_failure(NULL, (int) n, "Failed to read the console log of session '%s'", args[1]);
                if (n == 0)
                        return 0;
                r = write_full(STDOUT_FILENO, buf, (size_t) n);
                if (r == -EPIPE)
                        return 0; /* a pager or head that has seen enough */
                if (r < 0)
                        return log_failure(NULL, r, "Failed to write to standard output");
        }
}

static int verb_create(sd_bus *bus, char **args) {
        arg.create.name = args[1];
        return chroot_create(&arg.create);
}

/* update NAME: upgrade a tarball chroot in place through a write-back session: apt-get
 * update and dist-upgrade as root inside, then End, whose repack the service renames
 * over the tarball when whole. A failed upgrade is discarded, and so is the session
 * when we die meanwhile (end-with-caller): the tarball stays as it was. */
static int verb_update(sd_bus *bus, char **args) {
        static const char *const script =
                "apt-get update && apt-get -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "
                "dist-upgrade && apt-get -y autoremove && apt-get clean";
        char *argv[] = { (char *) "sh", (char *) "-c", (char *) script, NULL };
        char *setenv[] = { (char *) "DEBIAN_FRONTEND=noninteractive", NULL };
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL, *m = NULL, *run = NULL;
        const char *id, *path, *result;
        int32_t value;
        int r;

        arg.write_back = true;
        r = call_begin(bus, args[1], &error, &reply);
        if (r < 0)
                return log_failure(&error, r, "Failed to update chroot '%s'", args[1]);
        r = sd_bus_message_read(reply, "so", &id, &path);
        if (r < 0)
                return log_parse_failure(r);
        r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, path, SESSION_IFACE, "Run");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, argv);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = append_stdio_options(m);
        if (r >= 0)
                r = append_strv_option(m, "setenv", setenv);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return log_failure(NULL, r, "Failed to build the Run request");
        r = call_run_forwarding_signals(bus, m, path, &error, &run);
        if (r >= 0)
                r = sd_bus_message_read(run, "si", &result, &value);
        if (r < 0 || !streq(result, "exited") || value != 0) {
                _cleanup_(sd_bus_error_free) sd_bus_error discard_error = SD_BUS_ERROR_NULL;

                if (call(bus, path, SESSION_IFACE, "Discard", &discard_error, NULL, NULL) < 0)
                        log_failure(&discard_error, -EIO, "Failed to discard session '%s'", id);
                if (r < 0)
                        return log_failure(&error, r, "Failed to update chroot '%s'", args[1]);
                fprintf(stderr, "chrootctl: Failed to update chroot '%s': the upgrade %s %d; the chroot is as it was\n",
                        args[1], streq(result, "exited") ? "exited with status" : "was killed by signal", value);
                return -EIO;
        }
        r = call_manager(bus, "EndSession", &error, NULL, "s", id);
        if (r < 0)
                return log_failure(&error, r, "Failed to write the upgraded chroot '%s' back", args[1]);
        return 0;
}

/* "SESSION:PATH" names a path in a session: what precedes the first ':' holds no '/'
 * (so "./a:b" is a host path, as for podman cp). *ret_path points into arg. */
static int split_session_path(const char *spec, char **ret_id, const char **ret_path) {
        const char *colon = strchr(spec, ':');

        if (!colon || colon == spec || memchr(spec, '/', (size_t) (colon - spec)))
                return 0;
        *ret_id = strndup(spec, (size_t) (colon - spec));
        *ret_path = colon + 1;
        return *ret_id ? 1 : log_oom();
}

/* The host's side of a copy, in a child while the call runs: pack path into fd (a
 * copy in: owned by root inside), or extract fd at path (a copy out, as hostile). Why it
 * failed goes to error_fd. Returns the child's pid. */
static pid_t copy_host_side(bool in, const char *path, int fd, int other_end, int error_fd) {
        pid_t pid = fork();

        if (pid == 0) {
                _cleanup_free_ char *error = NULL, *top = NULL;
                size_t l;
                int r;

                (void) close(other_end);
                if (in) {
                        const char *name = copy_top_name(path, &l);
                        top = strndup(name, l);
                        r = top ? tar_copy_out(path, top, fd, TAR_COPY_OWNER_ROOT, &error) : -ENOMEM;
                } else
                        r = tar_copy_in(fd, path, TAR_COPY_HOSTILE, &error);
                if (r < 0) {
                        int32_t e = r;
                        (void) write_full(error_fd, &e, sizeof(e));
                        if (error)
                                (void) write_full(error_fd, error, strlen(error));
                        _exit(EXIT_FAILURE);
                }
                _exit(EXIT_SUCCESS);
        }
        return pid;
}

/* cp SRC SESSION:DST, cp SESSION:SRC DST ("-": a tar stream on stdin, or to stdout). */
static int verb_cp(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *src_id = NULL, *dst_id = NULL, *session = NULL, *child_error = NULL;
        _cleanup_close_pair_ int data[2] = { -EBADF, -EBADF }, err[2] = { -EBADF, -EBADF };
        const char *src, *dst, *inside, *host;
        bool in;
        pid_t pid = -1;
        int r, fd, child_r = 0;

        r = split_session_path(args[1], &src_id, &src);
        if (r >= 0)
                r = split_session_path(args[2], &dst_id, &dst);
        if (r < 0)
                return r;
        if (!src_id == !dst_id) {
                usage_error("one of SRC and DST must be SESSION:PATH, the other a path on the host");
                exit(EXIT_USAGE);
        }
        if (!src_id)
                src = args[1];
        if (!dst_id)
                dst = args[2];
        in = dst_id;
        inside = in ? dst : src;
        host = in ? src : dst;
        r = get_session(bus, in ? dst_id : src_id, &session);
        if (r < 0)
                return r;
        if (streq(host, "-"))
                fd = in ? STDIN_FILENO : STDOUT_FILENO;
        else {
                struct stat st;

                /* A missing source says so before anything is sent. */
                if (in && lstat(host, &st) < 0)
                        return log_failure(NULL, -errno, "Failed to copy '%s'", host);
                if (pipe2(data, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
                        return log_failure(NULL, -errno, "Failed to make a pipe");
                pid = copy_host_side(in, host, data[in ? 1 : 0], data[in ? 0 : 1], err[1]);
                if (pid < 0)
                        return log_failure(NULL, -errno, "Failed to fork");
                err[1] = safe_close(err[1]);
                /* Ours is the service's end; the child's is closed here. */
                data[in ? 1 : 0] = safe_close(data[in ? 1 : 0]);
                fd = data[in ? 0 : 1];
        }
        r = call(bus, session, SESSION_IFACE, in ? "CopyIn" : "CopyOut", &error, NULL, "sha{sv}", inside, fd, 0);
        data[0] = safe_close(data[0]);
        data[1] = safe_close(data[1]);
        if (pid > 0) {
                int st = 0;
                char buf[1024];
                ssize_t n;

                (void) wait_for_child(pid, &st);
                n = read_full(err[0], buf, sizeof(buf) - 1);
                if (n >= (ssize_t) sizeof(int32_t)) {
                        buf[n] = 0;
                        memcpy(&child_r, buf, sizeof(int32_t));
                        child_error = strdup(buf + sizeof(int32_t));
                } else if (st != 0)
                        child_r = -EIO;
        }
        /* The side that failed first says why. In, the host's packing, unless it only
         * saw the service stop reading; out, the service's, whose failure the host's
         * extraction sees only as a stream cut short. */
        if (child_r < 0 && (r >= 0 || (in && child_r != -EPIPE))) {
                if (child_error && *child_error)
                        fprintf(stderr, "chrootctl: %s\n", child_error);
                else
                        log_failure(NULL, child_r, "Failed to copy '%s'", host);
                return child_r;
        }
        if (r < 0)
                return log_failure(&error, r, "Failed to copy %s '%s' of session '%s'", in ? "to" : "from", inside,
                                   in ? dst_id : src_id);
        return 0;
}

static const struct verb {
        const char *name;
        size_t min_args, max_args; /* counting the verb itself */
        unsigned options;          /* OPT_* that make sense with it */
        const char *usage;
        int (*run)(sd_bus *bus, char **args);
        bool no_bus; /* needs no service */
} verbs[] = {
        { "list", 1, 1, OPT_NO_LEGEND, "list", verb_list },
        { "sessions", 1, 1, OPT_NO_LEGEND, "sessions", verb_sessions },
        { "begin", 2, 2,
          OPT_NAME | OPT_UNION | OPT_ADD_LOGIN | OPT_ADD_ACCOUNT | OPT_PACKAGE_CACHE | OPT_LIMITS | OPT_HOLD | OPT_BOOT |
                  OPT_NETWORK,
          "begin CHROOT", verb_begin },
        { "run", 3, SIZE_MAX,
          OPT_USER | OPT_DIRECTORY | OPT_NETWORK | OPT_PRESERVE_ENV | OPT_TIMEOUT | OPT_ERROR_STATUS | OPT_TTY,
          "run SESSION [--] COMMAND...", verb_run },
        { "shell", 2, 2, OPT_USER | OPT_DIRECTORY | OPT_NETWORK | OPT_PRESERVE_ENV | OPT_TIMEOUT | OPT_ERROR_STATUS,
          "shell SESSION", verb_shell },
        { "cp", 3, 3, 0, "cp SRC SESSION:DST | cp SESSION:SRC DST", verb_cp },
        { "kill", 2, 3, 0, "kill SESSION [SIGNAL]", verb_kill },
        { "end", 2, 2, OPT_DISCARD, "end SESSION", verb_end },
        { "create", 1, 2, OPT_SUITE | OPT_VARIANT | OPT_INCLUDE | OPT_MIRROR, "create [NAME]", verb_create, true },
        { "update", 2, 2, 0, "update NAME", verb_update },
        { "info", 2, 2, 0, "info SESSION", verb_info },
        { "reboot", 2, 2, 0, "reboot SESSION", verb_reboot },
        { "log", 2, 2, 0, "log SESSION", verb_log },
        { "gc", 1, 1, OPT_NO_LEGEND, "gc", verb_gc },
};

static void help(void) {
        printf("chrootctl [OPTIONS...] COMMAND ...\n"
               "\n"
               "Use unprivileged chroot sessions of chrootd.\n"
               "\n"
               "Commands:\n"
               "  list                        List chroots\n"
               "  sessions                    List sessions\n"
               "  begin CHROOT                Begin a session of CHROOT and print its id\n"
               "  run SESSION [--] CMD...     Run a command in a session\n"
               "  shell SESSION               Run the user's login shell in a session, on a\n"
               "                              terminal of its own (as run -t)\n"
               "  cp SRC SESSION:DST          Copy files or a directory into a session, or\n"
               "  cp SESSION:SRC DST          out of it (\"-\": a tar stream on stdin/stdout)\n"
               "  kill SESSION [SIGNAL]       Signal every command running in a session (TERM)\n"
               "  end SESSION                 End a session and remove its tree\n"
               "  create [NAME]               Make a Debian chroot tarball with mmdebstrap\n"
               "                              (default NAME: SUITE-ARCH, as sbuild names them)\n"
               "  update NAME                 Upgrade a chroot tarball in place (apt-get\n"
               "                              dist-upgrade), keeping it as it was on failure\n"
               "  info SESSION                Show the properties of a session\n"
               "  reboot SESSION              Reboot a booted session's system (or boot it)\n"
               "  log SESSION                 Print a booted session's console log\n"
               "  gc                          Remove cached bases and package caches no\n"
               "                              session uses\n"
               "\n"
               "Options:\n"
               "  -h --help                   Show this help\n"
               "     --version                Show the version\n"
               "     --no-legend              Do not print column headers and footer\n"
               "  -n --name=NAME              begin: session id (default CHROOT-UUID)\n"
               "     --union-type=overlay|none  begin: copy-on-write over a cached base, or\n"
               "                              a full private copy (the chroot's default)\n"
               "     --add-login              begin: add your passwd and group entries\n"
               "     --add-account=NAME       begin: add this host account's entries (repeatable)\n"
               "     --package-cache          begin: share downloaded packages with the chroot's\n"
               "                              other sessions (/var/cache/apt/archives)\n"
               "     --memory-max=BYTES       begin: the session's memory limit (K, M, G, T)\n"
               "     --tasks-max=N            begin: the most tasks of the session at once\n"
               "     --cpu-weight=1..10000    begin: the session's share of CPU time\n"
               "     --hold                   begin: print the id, keep the session until end\n"
               "                              of input or SIGTERM, SIGINT, SIGHUP; then end it\n"
               "     --boot                   begin: boot the tree's own init (systemd) as\n"
               "                              PID 1 of a container\n"
               "     --discard                end: do not write a write-back session back\n"
               "     --suite=SUITE            create: the Debian suite (the host's)\n"
               "     --variant=buildd|minbase create: mmdebstrap's variant (buildd)\n"
               "     --include=PKG,...        create: more packages to install\n"
               "     --mirror=URL             create: the mirror (mmdebstrap's default)\n"
               "  -u --user=USER              run: user name or uid in the chroot (root)\n"
               "  -d --directory=DIR          run: working directory in the chroot (/)\n"
               "     --network=host|none      run: share the host's network or only\n"
               "                              get loopback (host); begin --boot: the same\n"
               "                              for the booted system (none)\n"
               "  -p --preserve-environment   run: pass this environment, less variables\n"
               "                              that are unsafe in a chroot (as schroot)\n"
               "  -t --tty                    run: on a terminal made in the session, relayed to\n"
               "                              this one (TERM, COLORTERM, LANG pass through)\n"
               "     --timeout=SEC            run: kill the command after SEC seconds\n"
               "                              (exit status 124)\n"
               "     --error-status=N         run: exit with N on chrootctl's own failures (1)\n");
}

/* Collect positional arguments into *ret_args. Options may come anywhere, except that
 * for "run" everything from the first non-option after SESSION on is the command. */
static int parse_argv(int argc, char *argv[], char ***ret_args) {
        _cleanup_strv_free_ char **args = NULL;
        int c;

        opterr = 0;
        for (;;) {
                int before = optind;

                c = getopt_long(argc, argv, OPTSTRING, options, NULL);
                if (c == -1) {
                        bool dashdash = optind == before + 1 && streq(argv[before], "--");
                        bool command = args && streq(args[0], "run") && strv_length(args) >= 2;

                        if (optind >= argc)
                                break;
                        if (dashdash || command) {
                                for (; optind < argc; optind++)
                                        if (strv_extend(&args, argv[optind]) < 0)
                                                return log_oom();
                                break;
                        }
                        if (strv_extend(&args, argv[optind++]) < 0)
                                return log_oom();
                        continue;
                }

                switch (c) {
                case 'h':
                        help();
                        exit(EXIT_SUCCESS);
                case ARG_VERSION:
                        printf("chrootctl %s\n", VERSION);
                        exit(EXIT_SUCCESS);
                case ARG_NO_LEGEND:
                        arg.legend = false;
                        arg.seen |= OPT_NO_LEGEND;
                        break;
                case 'n':
                        arg.name = optarg;
                        arg.seen |= OPT_NAME;
                        break;
                case 'u':
                        arg.user = optarg;
                        arg.seen |= OPT_USER;
                        break;
                case 'd':
                        arg.directory = optarg;
                        arg.seen |= OPT_DIRECTORY;
                        break;
                case ARG_NETWORK:
                        if (!streq(optarg, "host") && !streq(optarg, "none")) {
                                usage_error("--network must be 'host' or 'none', not '%s'",
                                            optarg);
                                return -EINVAL;
                        }
                        arg.network = optarg;
                        arg.seen |= OPT_NETWORK;
                        break;
                case ARG_UNION:
                        if (!streq(optarg, "overlay") && !streq(optarg, "none")) {
                                usage_error("--union-type must be 'overlay' or 'none', not '%s'", optarg);
                                return -EINVAL;
                        }
                        arg.union_type = optarg;
                        arg.seen |= OPT_UNION;
                        break;
                case 't':
                        arg.tty = true;
                        arg.seen |= OPT_TTY;
                        break;
                case 'p':
                        arg.preserve_environment = true;
                        arg.seen |= OPT_PRESERVE_ENV;
                        break;
                case ARG_TIMEOUT: {
                        char *end;
                        errno = 0;
                        unsigned long long v = strtoull(optarg, &end, 10);
                        if (errno || end == optarg || *end || optarg[0] == '-' || v > UINT64_MAX / 1000000) {
                                usage_error("--timeout takes whole seconds, not '%s'", optarg);
                                return -EINVAL;
                        }
                        arg.timeout_sec = v;
                        arg.seen |= OPT_TIMEOUT;
                        break;
                }
                case ARG_ADD_LOGIN:
                        arg.add_login = true;
                        arg.seen |= OPT_ADD_LOGIN;
                        break;
                case ARG_ADD_ACCOUNT:
                        if (arg.n_accounts + 1 >= ELEMENTSOF(arg.accounts)) {
                                usage_error("--add-account may be given at most %zu times",
                                            ELEMENTSOF(arg.accounts) - 1);
                                return -EINVAL;
                        }
                        arg.accounts[arg.n_accounts++] = optarg;
                        arg.seen |= OPT_ADD_ACCOUNT;
                        break;
                case ARG_MEMORY_MAX:
                case ARG_TASKS_MAX:
                case ARG_CPU_WEIGHT: {
                        const char *name = c == ARG_MEMORY_MAX  ? "memory-max"
                                           : c == ARG_TASKS_MAX ? "tasks-max"
                                                                : "cpu-weight";
                        uint64_t *dest = c == ARG_MEMORY_MAX ? &arg.memory_max
                                         : c == ARG_TASKS_MAX ? &arg.tasks_max
                                                              : &arg.cpu_weight;
                        uint64_t v;
                        if ((c == ARG_MEMORY_MAX ? parse_size(optarg, &v) : parse_u64(optarg, &v)) < 0 || v == 0 ||
                            (c == ARG_CPU_WEIGHT && v > 10000)) {
                                usage_error("--%s takes %s, not '%s'", name,
                                            c == ARG_MEMORY_MAX  ? "a size in bytes (with K, M, G or T)"
                                            : c == ARG_CPU_WEIGHT ? "a weight 1..10000"
                                                                  : "a number of at least 1",
                                            optarg);
                                return -EINVAL;
                        }
                        *dest = v;
                        arg.seen |= OPT_LIMITS;
                        break;
                }
                case ARG_PACKAGE_CACHE:
                        arg.package_cache = true;
                        arg.seen |= OPT_PACKAGE_CACHE;
                        break;
                case ARG_HOLD:
                        arg.hold = true;
                        arg.seen |= OPT_HOLD;
                        break;
                case ARG_BOOT:
                        arg.boot = true;
                        arg.seen |= OPT_BOOT;
                        break;
                case ARG_DISCARD:
                        arg.discard = true;
                        arg.seen |= OPT_DISCARD;
                        break;
                case ARG_SUITE:
                case ARG_VARIANT:
                case ARG_INCLUDE:
                case ARG_MIRROR:
                        *(c == ARG_SUITE     ? &arg.create.suite
                          : c == ARG_VARIANT ? &arg.create.variant
                          : c == ARG_INCLUDE ? &arg.create.include
                                             : &arg.create.mirror) = optarg;
                        arg.seen |= c == ARG_SUITE     ? OPT_SUITE
                                    : c == ARG_VARIANT ? OPT_VARIANT
                                    : c == ARG_INCLUDE ? OPT_INCLUDE
                                                       : OPT_MIRROR;
                        break;
                case ARG_ERROR_STATUS: {
                        char *end;
                        errno = 0;
                        long v = strtol(optarg, &end, 10);
                        if (errno || end == optarg || *end || v < 1 || v > 255) {
                                usage_error("--error-status takes a status 1..255, not '%s'", optarg);
                                return -EINVAL;
                        }
                        arg.error_status = (int) v;
                        arg.seen |= OPT_ERROR_STATUS;
                        break;
                }
                case ':':
                        /* getopt has stepped past the option that lacks its argument. */
                        usage_error("option '%s' needs an argument", argv[optind - 1]);
                        return -EINVAL;
                default:
                        /* An unknown short option may sit inside a cluster ("-px"), so
                         * name the character; anything else is a whole long option. */
                        if (optopt > 0 && optopt < 0x100 && !strchr(OPTSTRING, optopt))
                                usage_error("unknown option '-%c'", optopt);
                        else
                                usage_error("invalid option '%s'", argv[optind - 1]);
                        return -EINVAL;
                }
        }

        *ret_args = TAKE_PTR(args);
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_strv_free_ char **args = NULL;
        const struct verb *verb = NULL;
        size_t n;
        int r;

        stdio_fill_closed();

        /* A closed pipe downstream must not kill us silently halfway through a table. */
        signal(SIGPIPE, SIG_IGN);

        if (parse_argv(argc, argv, &args) < 0)
                return EXIT_USAGE;
        if (!args && strv_extend(&args, "list") < 0) {
                log_oom();
                return EXIT_FAILURE;
        }
        n = strv_length(args);

        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, args[0]))
                        verb = &verbs[i];
        if (!verb) {
                usage_error("unknown command '%s'", args[0]);
                return EXIT_USAGE;
        }
        if (n < verb->min_args || n > verb->max_args) {
                usage_error("usage: chrootctl %s", verb->usage);
                return EXIT_USAGE;
        }
        if (arg.seen & ~verb->options) {
                usage_error("option '--%s' is not valid with '%s'",
                            option_names[__builtin_ctz(arg.seen & ~verb->options)], verb->name);
                return EXIT_USAGE;
        }
        /* begin's --network is the booted system's; each command's is run's. */
        if (streq(verb->name, "begin") && arg.network && !arg.boot) {
                usage_error("option '--network' with 'begin' needs '--boot'");
                return EXIT_USAGE;
        }

        r = verb->no_bus ? 0 : bus_connect(&bus);
        if (r < 0)
                return arg.error_status;

        r = verb->run(bus, args);
        if (r < 0)
                return arg.error_status;

        if (fflush(stdout) != 0 && errno != EPIPE) {
                log_failure(NULL, -errno, "Failed to write to standard output");
                return arg.error_status;
        }
        return r;
}
