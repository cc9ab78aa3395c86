/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* A session on disk: sessions/<id>/state (a key file, replaced atomically) and
 * sessions/<id>/root (the tree, owned by subordinate ids), or for a copy-on-write
 * session upper/ and work/ (overlayfs over a cached base) with root/ an empty mount
 * point. Between commands this is all there is of a session, so it survives restarts
 * of the service and reboots. */

typedef enum SessionState {
        SESSION_PREPARING, /* Begin is unpacking or copying the tree */
        SESSION_READY,
        SESSION_ENDING,    /* End is removing the tree */
        _SESSION_STATE_MAX,
} SessionState;

const char *session_state_to_string(SessionState s);
/* Returns the state or -EINVAL. */
int session_state_from_string(const char *s);

/* Resource limits of a session, applied to its slice (0: not set). */
typedef struct Limits {
        uint64_t memory_max; /* bytes, UINT64_MAX: infinity */
        uint64_t tasks_max;  /* UINT64_MAX: infinity */
        uint64_t cpu_weight; /* 1..10000 */
} Limits;

static inline bool limits_any(const Limits *l) {
        return l->memory_max || l->tasks_max || l->cpu_weight;
}

typedef struct SessionRecord {
        char *id;
        char *chroot;
        char *chroot_type; /* "file" or "directory" */
        char *source;      /* the tarball or directory it was made from */
        SessionState state;
        uint64_t created_usec;
        Limits limits;
        bool write_back; /* End writes the tree back into the tarball (schroot's source:) */
        char *base;      /* copy-on-write: the cached base it overlays (base.h), or NULL
                          * for a full private copy in root/ */
        bool host_tree;  /* its tree must be reachable from the host (RootDirectory) */
        bool package_cache; /* its commands share the chroot's package cache (package-cache.h) */
        bool map_self;   /* the user's own ids are themselves inside (IDMAP_SELF): host-tree
                          * sessions, and every session made before that was so */
        char *lower;     /* copy-on-write over a directory chroot: that directory (the
                          * lower layer itself, no base), or NULL */
        char *caller;    /* end-with-caller: the front end's name for the caller whose
                          * going ends the session (a D-Bus unique name), or NULL */
        bool boot;       /* a booted session: the tree's own init runs as PID 1 (boot.h) */
        bool host_network; /* booted: the container shares the host's network namespace
                            * (otherwise it has one with only lo) */
} SessionRecord;

void session_record_done(SessionRecord *r);

/* Serialise / parse the state file. Parsing checks every field (the id must be a
 * valid name); returns 0 or -EBADMSG. */
char *session_record_format(const SessionRecord *r);
int session_record_parse(const char *text, SessionRecord *ret);

/* Write sessions/<id>/state atomically. Returns 0 or -errno. */
int store_write(int sessions_dirfd, const SessionRecord *r);
/* Read sessions/<id>/state. Returns 0, -ENOENT or -EBADMSG. */
int store_read(int sessions_dirfd, const char *id, SessionRecord *ret);
/* Make sessions/<id> (mode 0700). Returns an O_DIRECTORY fd, or -EEXIST / -errno. */
int store_create(int sessions_dirfd, const char *id);
/* Remove sessions/<id> once its tree is gone: the state file, then the directory. */
int store_remove(int sessions_dirfd, const char *id);
/* The names of all session directories, sorted. */
int store_list(int sessions_dirfd, char ***ret);
