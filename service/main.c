/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* chrootd: the per-user service that owns unprivileged chroot sessions. */
#include "config.h"
#include "manager-dbus.h"
#include "manager-varlink.h"
#include "manager.h"
#include "process-util.h"
#include "systemd.h"
#include "util.h"

#include <getopt.h>
#include <signal.h>
#include <systemd/sd-daemon.h>

#define DEFAULT_IDLE_SEC 30

static unsigned arg_idle_sec = DEFAULT_IDLE_SEC;

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                { "idle-timeout", required_argument, NULL, 't' },
                { "debug", no_argument, NULL, 'd' },
                { "version", no_argument, NULL, 'V' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "t:dVh", options, NULL)) >= 0)
                switch (c) {
                case 't': {
                        char *end;
                        errno = 0;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (errno || *end || !*optarg || v > 86400) {
                                log_error("Invalid --idle-timeout '%s': seconds, 0 for never", optarg);
                                return -EINVAL;
                        }
                        arg_idle_sec = (unsigned) v;
                        break;
                }
                case 'd':
                        log_set_max_level(7);
                        break;
                case 'V':
                        printf("chrootd %s\n", VERSION);
                        return 0;
                case 'h':
                        printf("Usage: %s [--idle-timeout SEC] [--debug] [--version]\n"
                               "The chrootd service; started by D-Bus activation on the user bus.\n"
                               "Exits after SEC seconds (default %d, 0: never) with nothing running.\n",
                               program_invocation_short_name, DEFAULT_IDLE_SEC);
                        return 0;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                log_error("%s takes no arguments", program_invocation_short_name);
                return -EINVAL;
        }
        return 1;
}

/* Run until idle: exit once arg_idle_sec passed without any event while nothing was
 * in flight and no varlink client was connected. The bus name is released first so
 * that D-Bus activation starts a new instance for calls that arrive from then on;
 * calls already queued are answered. Varlink clients not yet accepted wait in
 * chrootd.socket's queue, which systemd hands to the next instance. */
static int run_loop(Manager *m, BusFrontend *bus, VarlinkFrontend *vl) {
        uint64_t timeout = arg_idle_sec > 0 ? (uint64_t) arg_idle_sec * 1000000 : UINT64_MAX;
        int r;

        for (;;) {
                r = sd_event_get_state(m->event);
                if (r < 0)
                        return r;
                if (r == SD_EVENT_FINISHED)
                        break;
                r = sd_event_run(m->event, timeout);
                if (r < 0)
                        return r;
                if (r == 0 && !manager_is_busy(m) && !varlink_frontend_busy(vl))
                        break;
        }

        bus_frontend_release_name(bus);
        return 0;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

/* The user bus: the D-Bus front end's, and the way to the user's systemd. */
static int connect_bus(Manager *m, sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = sd_bus_default_user(&bus);
        if (r < 0)
                return r;
        /* Without the bus nobody can reach us: exit the event loop. */
        r = sd_bus_set_exit_on_disconnect(bus, true);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        r = systemd_client_new(bus, m->event, &m->systemd);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

int main(int argc, char *argv[]) {
        /* Freed after the manager, whose sessions answer their calls when freed. */
        _cleanup_(bus_frontend_freep) BusFrontend *bus_fe = NULL;
        _cleanup_(varlink_frontend_freep) VarlinkFrontend *varlink_fe = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(manager_freep) Manager *m = NULL;
        sd_event *event = NULL;
        sigset_t mask;
        int r;

        spawn_save_argv(argc, argv);
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        if (geteuid() == 0)
                log_warning("Running as root: sessions use root's ranges in /etc/subuid and /etc/subgid");
        /* Each running command holds a few fds here (session-dbus.c counts them). */
        r = rlimit_nofile_raise();
        if (r < 0)
                log_warning_errno(r, "Cannot raise the limit on open files: %m");

        /* sd-event watches children and signals through fds; the signals themselves
         * stay blocked (children reset their masks). */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);

        r = sd_event_default(&event);
        if (r < 0) {
                log_error_errno(r, "Failed to allocate the event loop: %m");
                return EXIT_FAILURE;
        }
        (void) sd_event_add_signal(event, NULL, SIGTERM, on_exit_signal, NULL);
        (void) sd_event_add_signal(event, NULL, SIGINT, on_exit_signal, NULL);

        r = manager_new(event, &m);
        sd_event_unref(event);
        if (r < 0) {
                log_error_errno(r, "Failed to set up: %m");
                return EXIT_FAILURE;
        }
        r = connect_bus(m, &bus);
        if (r >= 0)
                r = bus_frontend_new(m, bus, &bus_fe);
        if (r >= 0)
                r = bus_frontend_take_name(bus_fe);
        if (r < 0) {
                log_error_errno(r, "Failed to connect to the user bus and take the name %s: %m", CHROOTD_BUS_NAME);
                return EXIT_FAILURE;
        }
        /* On the socket chrootd.socket passes in, if any (else D-Bus alone). */
        r = varlink_frontend_new(m, &varlink_fe);
        if (r < 0) {
                log_error("Failed to serve varlink: %s", strerror(-r));
                return EXIT_FAILURE;
        }
        r = manager_load_sessions(m);
        if (r < 0)
                log_warning_errno(r, "Failed to load sessions from %s: %m", m->paths.sessions_dir);
        /* No command of ours runs yet; the sessions are known. */
        (void) systemd_stop_stale(m->systemd, manager_unit_in_use, m);

        (void) sd_notify(false, "READY=1");
        log_debug("chrootd %s ready, state in %s", VERSION, m->paths.state_dir);

        r = run_loop(m, bus_fe, varlink_fe);
        (void) sd_notify(false, "STOPPING=1");
        if (r < 0) {
                log_error_errno(r, "Event loop failed: %m");
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
