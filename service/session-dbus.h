/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>
#include "session.h"

/* org.chrootd1.Session objects, one per session, found by path (fallback vtable). */
extern const sd_bus_vtable session_vtable[];
int session_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                        sd_bus_error *error);
int session_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error);

/* Replies to callers that waited (NULL messages are ignored). */
void session_reply_begin(Session *s, const Outcome *o);
void session_reply_run(Run *r, const Outcome *o);
void session_reply_end(Session *s, sd_bus_message *m, const Outcome *o);
void session_emit_state_changed(Session *s);
void session_reply_set_limits(sd_bus_message *m, const Outcome *o);

/* Read Begin's and SetLimits' options: memory-max, tasks-max (t, UINT64_MAX for no
 * limit), cpu-weight (t, 1..10000), and for Begin (ret_flags not NULL) add-login and
 * write-back (b). Unknown options are refused. */
int bus_read_limits(sd_bus_message *m, Limits *ret, BeginFlags *ret_flags, sd_bus_error *error);
/* Manager.SessionNew and SessionRemoved. */
void session_emit_new(Session *s);
void session_emit_removed(Session *s);

/* Shared by Manager.EndSession and Session.End. */
int bus_session_end(Session *s, sd_bus_message *m, sd_bus_error *error);
