/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Ids 0..IDMAP_COUNT-1 inside a session map onto the user's subordinate range. Only
 * with IDMAP_SELF are the user's own uid and gid (when in 1..IDMAP_COUNT-1) themselves
 * inside instead: a file the user makes in the tree from the host belongs to their
 * login inside, and one their login makes inside is theirs on the host, as with
 * schroot. That is for host-tree sessions alone (docs/design.md, "The session map"):
 * root inside such a session can become the user. */
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

typedef enum IdMapFlags {
        /* The user's own ids are themselves inside (host-tree sessions). */
        IDMAP_SELF = 1 << 0,
        /* For helper children (unpack, removal, write-back), which work in the user's
         * directories (mode 0700): the user's ids, where not inside already, appear as
         * IDMAP_COUNT. Never for the leader, whose namespace commands descend from. */
        IDMAP_HELPER = 1 << 1,
} IdMapFlags;

/* The extents of one map (uid or gid): 0..IDMAP_COUNT-1 onto base.., with self mapped
 * to itself instead when flags has IDMAP_SELF and self is in 1..IDMAP_COUNT-1, and self
 * as IDMAP_COUNT with IDMAP_HELPER when it is not inside. Host root (self 0) is never
 * mapped. Returns the number of extents. */
size_t idmap_extents(uint32_t base, uint32_t self, IdMapFlags flags, IdExtent ret[IDMAP_MAX_EXTENTS]);

/* Write the maps of a process that has just made a user namespace, with the setuid
 * helpers newuidmap and newgidmap, run at once (extents as idmap_extents() says).
 * Returns 0 or -errno; *ret_error gets what the helper printed. */
int idmap_apply(const IdMap *m, pid_t pid, IdMapFlags flags, char **ret_error);

