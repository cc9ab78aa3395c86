/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Ids 0..IDMAP_COUNT-1 inside a session map onto the user's subordinate range. */
#define IDMAP_COUNT UINT32_C(65536)

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

/* Write the maps of a process that has just made a user namespace, with the setuid
 * helpers newuidmap and newgidmap. With map_self the service's own uid and gid also
 * appear inside as IDMAP_COUNT, so that helper children (unpack, removal) can reach
 * the session's directory, which belongs to the user; commands never get that.
 * Returns 0 or -errno; *ret_error gets what the helper printed. */
int idmap_apply(const IdMap *m, pid_t pid, bool map_self, char **ret_error);
