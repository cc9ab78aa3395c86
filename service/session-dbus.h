/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The D-Bus front end's own shared parts (manager-dbus.c, session-dbus.c): the core
 * (manager.h, session.h) knows nothing of them. */

#include <systemd/sd-bus.h>
#include "frontend.h"
#include "manager.h"
#include "session.h"

#define BUS_ERROR_PREFIX "org.chrootd1.Error."
#define BUS_SESSION_PREFIX "/org/chrootd1/session"
#define BUS_CALLER_CACHE 32

typedef struct BusFrontend {
        Manager *manager;
        sd_bus *bus;
        Frontend frontend;
        char *callers[BUS_CALLER_CACHE]; /* unique names known to be our own uid */
        unsigned callers_next;
} BusFrontend;

/* The front end whose object is being called (the slot's userdata). */
BusFrontend *bus_frontend_of(sd_bus_message *m);

/* A Call whose reply goes to m (referenced until answered). */
Call bus_call(BusFrontend *bf, sd_bus_message *m);

/* Set error from e (org.chrootd1.Error.<Kind>); returns e's -errno for a method
 * handler to return. */
int bus_set_error(sd_bus_error *error, const Error *e);

/* /org/chrootd1/session/<id, escaped>. */
int bus_session_path(const Session *s, char **ret);

/* org.chrootd1.Session objects, one per session, found by path (fallback vtable). */
extern const sd_bus_vtable session_vtable[];
int session_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                        sd_bus_error *error);
int session_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error);

/* org.chrootd1.Command objects (command-dbus.c), at
 * /org/chrootd1/session/<id, escaped>/command/<n>. */
extern const sd_bus_vtable command_vtable[];
int bus_command_path(const Command *c, char **ret);
int command_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                        sd_bus_error *error);
/* The session's started commands' paths, as an "ao". */
int bus_append_command_paths(sd_bus_message *reply, Session *s);
/* Reply to m as Run does: (result, value), or the outcome's error. */
int bus_reply_outcome(sd_bus_message *m, const Outcome *o);
void bus_emit_command_exited(void *userdata, Command *c);

/* Read Begin's and SetLimits' options (an a{sv}): memory-max, tasks-max, cpu-weight (t),
 * and for Begin (ret_flags not NULL) add-login, write-back, host-tree, end-with-caller,
 * package-cache, boot (b), union-type, network (s) and add-accounts (as). Types are
 * checked here, values by the core (options.h). Unknown options are refused. */
int bus_read_limits(sd_bus_message *m, Limits *ret, BeginFlags *ret_flags, sd_bus_error *error);

/* Shared by Manager.EndSession and Session.End. */
int bus_session_end(Session *s, sd_bus_message *m, sd_bus_error *error);

/* Emitted for the core (frontend.h). */
void bus_emit_added(void *userdata, Session *s);
void bus_emit_removed(void *userdata, Session *s);
void bus_emit_state_changed(void *userdata, Session *s);
