/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>
#include <systemd/sd-event.h>

#include "catalog.h"
#include "errors.h"
#include "frontend.h"
#include "idmap.h"
#include "paths.h"
#include "systemd.h"

typedef struct BeginFlags BeginFlags;
typedef struct BaseCache BaseCache;

#define MANAGER_FRONTENDS_MAX 4

typedef struct Manager {
        sd_event *event;
        const Frontend *frontends[MANAGER_FRONTENDS_MAX]; /* told of sessions added, removed, changed */
        unsigned n_frontends;
        Paths paths;
        int sessions_dirfd;
        BaseCache *bases;       /* copy-on-write bases (base.h) */
        BaseCache *packages;    /* package caches (package-cache.h), removed as bases are */
        bool overlay_refused;   /* the kernel refused overlayfs in a user namespace */
        Session *sessions; /* a list: a user has few sessions */
        char *user;
        uid_t uid;
        gid_t gid;
        const char *subuid_path;
        const char *subgid_path;
        SystemdClient *systemd; /* the user manager, for scopes and slices */
        char *slices_cgroup;    /* cgroup2 directory of chrootd.slice, or NULL */
} Manager;

/* Set up paths and state directories. Returns 0 or -errno. */
int manager_new(sd_event *event, Manager **ret);
Manager *manager_free(Manager *m);
static inline void manager_freep(Manager **m) {
        manager_free(*m);
}

/* A front end to be told of sessions (frontend.h); it stays attached until the manager
 * is freed, and must outlive it. Returns 0 or -ENOSPC. */
int manager_attach_frontend(Manager *m, const Frontend *fe);

/* Tell every front end. */
void manager_emit_added(Manager *m, Session *s);
void manager_emit_removed(Manager *m, Session *s);
void manager_emit_state_changed(Manager *m, Session *s);
void manager_emit_command_exited(Manager *m, Command *c);

/* BeginSession: check the names (name may be "" for a generated id) and the flags that
 * do not go together (network without boot, a booted session written back: also one of
 * a chroot with boot=true), find the chroot, and begin a session of it
 * (session_begin()); call is answered when it is ready. */
int manager_begin_session(Manager *m, const char *chroot_name, const char *name, const Limits *limits,
                          const BeginFlags *flags, Call call, Session **ret, Error *e);

/* The session a caller names: ERROR_INVALID_NAME or ERROR_NO_SUCH_SESSION if none. */
Session *manager_find_session(Manager *m, const char *id, Error *e);

/* CollectGarbage: remove every base no session uses and units of ours that nothing
 * uses; *ret_removed gets the bases' keys. */
int manager_collect_garbage(Manager *m, char ***ret_removed, Error *e);

/* Most sessions one user may have at once. */
#define MANAGER_SESSIONS_MAX 1024

/* How many sessions exist, in any state. */
unsigned manager_n_sessions(Manager *m);

/* Whether a systemd unit is a session's slice or a command's (or spare's) scope:
 * systemd_stop_stale()'s question. */
bool manager_unit_in_use(const char *unit, void *userdata);

/* How many commands run now, in all sessions, and how many the service's limit on open
 * files leaves room for (each holds a few fds here: manager.c counts them). */
unsigned manager_n_runs(Manager *m);
unsigned manager_runs_max(Manager *m);

/* Look up a session by id. */
Session *manager_get_session(Manager *m, const char *id);

/* Load the current chroot definitions (they are re-read on every call: they are
 * the user's files and change under us). */
int manager_load_catalog(Manager *m, Catalog **ret);

/* The id maps for the service's user, or -errno with *ret_error. */
int manager_idmap(Manager *m, IdMap *ret, char **ret_error);

/* Load the sessions on disk (at startup, once the bus is attached); sessions left
 * half-made or half-removed by a crash are removed. Returns 0 or -errno. */
int manager_load_sessions(Manager *m);

/* True while anything is in flight: an unpack, a removal or a command; or while a
 * session ends with its caller (only this instance watches that caller). */
bool manager_is_busy(Manager *m);

/* A front end says that a caller is gone (caller: the name it gave as BeginFlags'
 * caller): end every session begun with end-with-caller by it, as End would. Returns
 * how many it ends. */
unsigned manager_caller_gone(Manager *m, const char *caller);
