/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What chrootctl and unschroot share as clients of chrootd. */

#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#define BUS_NAME "org.chrootd1"
#define MANAGER_PATH "/org/chrootd1"
#define MANAGER_IFACE "org.chrootd1.Manager"
#define SESSION_IFACE "org.chrootd1.Session"
#define SESSION_PATH_PREFIX "/org/chrootd1/session" /* + the escaped session id */

/* Begin unpacks whole tarballs and Run lasts as long as the command: never time out. */
#define CALL_TIMEOUT UINT64_MAX

/* sd_bus_call_method() to chrootd without its 25 s timeout. On failure error is
 * filled and a negative errno returned. */
int call(sd_bus *bus, const char *path, const char *iface, const char *method, sd_bus_error *error,
         sd_bus_message **reply, const char *types, ...);

#define call_manager(bus, method, ...) call(bus, MANAGER_PATH, MANAGER_IFACE, method, __VA_ARGS__)

/* An asynchronous call with an infinite timeout, for clients that do something else
 * while they wait (a progress bar, passing signals on): start it with
 * sd_bus_call_async(..., async_call_on_reply, &call, CALL_TIMEOUT), loop until
 * call.done, then async_call_take() turns the reply into *ret or a filled error. */
typedef struct AsyncCall {
        bool done;
        sd_bus_message *reply;
} AsyncCall;

int async_call_on_reply(sd_bus_message *m, void *userdata, sd_bus_error *unused);
int async_call_take(AsyncCall *call, sd_bus_error *error, sd_bus_message **ret);

/* How long poll() may wait for the bus (sd_bus_get_timeout()), in ms; -1: forever. */
int bus_poll_timeout(sd_bus *bus);

/* The signals a client passes on to its command: SIGINT, SIGTERM, SIGHUP, SIGQUIT. */
void forwarded_signals(sigset_t *mask);

/* Call Session.Run (m) and wait for its reply, passing SIGINT, SIGTERM, SIGHUP and
 * SIGQUIT that reach us on to the command (Session.Kill on session_path): the command
 * runs in a session of its own, so a ^C on the terminal reaches only the client.
 * Returns 0 with *ret, or -errno with error filled where the service answered so. */
int call_run_forwarding_signals(sd_bus *bus, sd_bus_message *m, const char *session_path, sd_bus_error *error,
                                sd_bus_message **ret);

/* Run options both clients send: the caller's open standard streams as stdin/stdout/
 * stderr fds (a closed one stays closed: the service then uses /dev/null), and a
 * string-array option such as "environment". Return 0 or -errno. */
/* First thing in main(): standard streams the caller closed become /dev/null, before
 * anything (the bus connection, libsystemd's pidfd for it) can take their numbers and be
 * handed to a command as its stdin. */
void stdio_fill_closed(void);

int append_stdio_options(sd_bus_message *m);
int append_strv_option(sd_bus_message *m, const char *key, char **strv);

/* schroot's default environment filter: entries that change how the dynamic linker,
 * shells or resolver behave (LD_*, IFS, BASH_ENV, ...) and so must not leak from the
 * caller into a chroot; entries that are not KEY=VALUE too. */
bool environment_unsafe(const char *entry);
