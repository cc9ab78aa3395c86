/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include "idmap.h"

/* Start a child in a new user namespace (plus extra_flags, more CLONE_NEW* flags),
 * write its id maps, and let it become root there.
 *
 * The child first calls before_map(userdata), still with the service's credentials
 * on the host (it may look up the service's own paths, which belong to the user),
 * then waits for the maps, switches to uid/gid 0 inside and calls
 * after_map(userdata), whose return value is its exit status. Either callback may be
 * NULL. The child gets SIGKILL if the service dies, starts with all signals unblocked
 * and default dispositions, and closes every fd except those listed in keep_fds.
 *
 * Returns 0 with the child's pid and a pidfd for it, or -errno; if the maps cannot
 * be written the child is killed and reaped, and *ret_error says why. */
typedef int (*spawn_func_t)(void *userdata);

typedef struct SpawnParams {
        const IdMap *map;
        IdMapFlags map_flags;
        unsigned long extra_flags;
        const int *keep_fds;
        size_t n_keep_fds;
        spawn_func_t before_map;
        spawn_func_t after_map;
        void *userdata;
} SpawnParams;

int userns_spawn(const SpawnParams *p, pid_t *ret_pid, int *ret_pidfd, char **ret_error);

/* Move the calling process (root of a session's user namespace, single-threaded, its
 * root the root of its mount namespace) into a new user namespace, a child of the one it
 * is in, with ids 0..IDMAP_COUNT-1 mapped onto themselves and a mount namespace owned by
 * it. The kernel locks everything mounted before this (flags and place: no remount
 * read-write, no umount uncovering what lies beneath), because it was mounted by a more
 * privileged namespace; capabilities in the new namespace reach nothing of the old one.
 * The maps are written by a child forked for that, which stays in the old namespace:
 * only a process there may write them. proc_dirfd: the process's own /proc. Returns 0
 * or -errno. The caller must be dumpable (PR_SET_DUMPABLE) meanwhile: otherwise its
 * child may not write its maps (-EACCES). */
int userns_enter_nested(int proc_dirfd);

/* userns_enter_nested() for a process that is not dumpable (an init, whose command
 * or container runs as root in the same namespaces): dumpable only while its maps are
 * written, through the /proc of its mount namespace. Returns 0 or -errno. */
int userns_enter_nested_undumpable(void);
