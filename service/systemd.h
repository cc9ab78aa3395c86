/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "store.h"

/* Talking to the systemd user manager on the user bus: transient scopes for commands,
 * a slice per session, and waiting for their jobs. Without a user manager (a plain
 * dbus-daemon, as in the bus tests) every request finishes with -EOPNOTSUPP and the
 * caller goes on without cgroup delegation; that is logged once. */

typedef struct SystemdJob SystemdJob;
/* A NULL SystemdClient is a service with no user manager: every call below returns
 * -EOPNOTSUPP (the core's unit tests run so, without a bus). */
typedef struct SystemdClient SystemdClient;

/* Called once when a request is done: 0, -EOPNOTSUPP (no user manager), or another
 * -errno with a message saying what systemd answered. */
typedef void (*systemd_job_done_t)(int r, const char *message, void *userdata);

/* Attach to a bus and event loop (to match JobRemoved). Returns 0 or -errno. */
int systemd_client_new(sd_bus *bus, sd_event *event, SystemdClient **ret);
SystemdClient *systemd_client_free(SystemdClient *c);

/* Start a transient scope with Delegate=yes for pid (and its pidfd, where the manager
 * takes PIDFDs), in slice, and call done when its job has finished. */
int systemd_start_scope(SystemdClient *c, const char *unit, const char *slice, const char *description, pid_t pid,
                        int pidfd, systemd_job_done_t done, void *userdata, SystemdJob **ret);

/* Change a unit's Description (a spare init's scope, once its command is known); fire
 * and forget. Returns 0 or -errno. */
int systemd_set_description(SystemdClient *c, const char *unit, const char *description);

/* Stop a unit (the session's slice, with everything in it) and call done when its job
 * has finished. A unit that is not loaded is not an error. */
int systemd_stop_unit(SystemdClient *c, const char *unit, systemd_job_done_t done, void *userdata, SystemdJob **ret);

/* Make the session's slice a transient unit with these limits, or change them on the
 * slice that exists; call done when that is in effect. */
int systemd_set_slice_limits(SystemdClient *c, const char *slice, const Limits *limits, systemd_job_done_t done,
                             void *userdata, SystemdJob **ret);

/* Stop every chrootd-run-*.scope and chrootd-*.slice for which in_use says no (asked
 * when the manager's list comes): what a crash of an earlier instance, or an End whose
 * stop failed, left behind. Fire and forget; in_use and userdata must outlive the
 * client. Returns 0 or -errno. */
typedef bool (*systemd_unit_in_use_t)(const char *unit, void *userdata);
int systemd_stop_stale(SystemdClient *c, systemd_unit_in_use_t in_use, void *userdata);

/* Forget a request: its callback will not be called. */
SystemdJob *systemd_job_cancel(SystemdJob *j);

/* Unit names: "chrootd-<id escaped as systemd-escape does>.slice", a child of
 * chrootd.slice, and "chrootd-run-<escaped id>-<pid>.scope". An id whose escaped form
 * is longer than 200 characters is replaced by "h" and 16 hex digits of its hash, so
 * that names stay below systemd's 256. */
int session_slice_name(const char *id, char **ret);
int run_scope_name(const char *id, pid_t pid, char **ret);
/* systemd-escape of a string, for use in a unit name. */
int unit_name_escape(const char *s, char **ret);
