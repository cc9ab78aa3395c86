/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Ids 0..IDMAP_COUNT-1 inside a session map onto the user's subordinate range, except
 * the user's own uid and gid, which (when in 1..IDMAP_COUNT-1) map to themselves: a file
 * the user makes in a session's tree from the host belongs to their login inside, and
 * a file their login makes inside is theirs on the host, as with schroot. */
#define IDMAP_COUNT UINT32_C(65536)
#define IDMAP_MAX_EXTENTS 4

typedef struct IdExtent {
        uint32_t inside;
        uint32_t outside;
        uint32_t count;
} IdExtent;

typedef struct IdMap {
        uint32_t uid_base;
        uint32_t gid_base;
        uid_t self_uid;
        gid_t self_gid;
} IdMap;

/* Find the subordinate ranges of the user (name and uid) in subuid_path/subgid_path.
 * Returns 0, or -ESRCH/-ENOENT with *ret_error (malloc()ed) saying which file to fix. */
int idmap_load(const char *user, uid_t uid, gid_t gid, const char *subuid_path, const char *subgid_path,
               IdMap *ret, char **ret_error);

/* The extents of one map (uid or gid): 0..IDMAP_COUNT-1 onto base.., with self mapped
 * to itself when it is in 1..IDMAP_COUNT-1. With map_self, a self that is not inside that
 * way appears as IDMAP_COUNT, so that helper children (unpack, removal) can reach the
 * session's directory, which belongs to the user. Returns the number of extents. */
size_t idmap_extents(uint32_t base, uint32_t self, bool map_self, IdExtent ret[IDMAP_MAX_EXTENTS]);

/* Write the maps of a process that has just made a user namespace, with the setuid
 * helpers newuidmap and newgidmap, run at once (extents as idmap_extents() says).
 * Returns 0 or -errno; *ret_error gets what the helper printed. */
int idmap_apply(const IdMap *m, pid_t pid, bool map_self, char **ret_error);

