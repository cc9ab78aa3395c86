/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "idmap.h"
#include "passwd.h"
#include "userns.h"

/* One command in namespaces made for it alone. */
typedef struct RunParams {
        char **argv;
        char **environment;    /* the whole environment, or NULL for a clean one */
        const char *user;      /* name or uid in the chroot's /etc/passwd */
        const char *directory; /* inside the chroot */
        bool network_none;     /* a network namespace with only lo */
        const char *hostname;
        const char *tree;      /* the session's tree on the host (a copy-on-write
                                * session's: root/, where its overlay is mounted) */
        int overlay_fd;        /* copy-on-write: a detached clone of the session's
                                * overlay (holder.h), attached at tree; else -1 */
        int stdio[3];
        uint64_t timeout_usec; /* for the service: kill the command after this long (0: never) */
} RunParams;

/* Start the command: a child in new user, mount, pid, ipc, uts (and net) namespaces
 * that will become the pid namespace's init, set up the file system, fork the command
 * and reap everything until the command exits; when it exits, the kernel kills
 * whatever is left in the pid namespace. Problems before exec and the command's wait
 * status are written as report records to report_fd. The child waits until
 * userns_release() (with map_self false) writes its maps, so that the caller can put
 * it into a cgroup first. Returns 0 or -errno. */
int run_clone(const RunParams *p, int report_fd, SpawnedChild *ret);

/* The command's environment: base (or a clean one: HOME, LOGNAME, USER, SHELL, PATH)
 * with USER and LOGNAME set to the target user and a default PATH if it has none. */
int run_build_environment(char *const *base, const PasswdEntry *pw, char ***ret);
