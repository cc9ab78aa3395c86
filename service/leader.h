/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include "idmap.h"

/* A session's leader: one process in a user and mount namespace of its own, started
 * with the session's first command and kept while commands come (session-run.c). It
 * holds the session's tree (a copy-on-write session's overlay is mounted there, once:
 * two live overlays of one upper directory would be undefined behaviour) and, asked
 * over a socketpair, forks inits for commands into fresh pid, mount, ipc and uts
 * namespaces (init.h), handing back their pid, a pidfd and a control socket by
 * SCM_RIGHTS. So newuidmap and newgidmap run once per leader, not per command, and the
 * service never enters a namespace of a session: commands are forked inside it. The
 * leader dies with the service; it reaps its inits itself. */

typedef struct Leader {
        pid_t pid;
        int pidfd;
        int sock;
        unsigned abandoned; /* answers given up on (timeouts), to drop when they come */
} Leader;

#define LEADER_NULL ((Leader) { .pid = 0, .pidfd = -EBADF, .sock = -EBADF })

typedef struct LeaderParams {
        const IdMap *map;
        IdMapFlags map_flags; /* never IDMAP_HELPER: commands descend from the leader */
        const char *tree;     /* the session's tree, or where its overlay goes */
        const char *lower;    /* copy-on-write: the layers (lower is the base's tree) */
        const char *upper;    /* NULL for a full copy */
        const char *work;
        const char *hostname; /* the commands' */
        /* package-cache sessions: the layers of /var/cache/apt/archives
         * (package-cache.h), or NULL */
        const char *cache_lower, *cache_upper, *cache_work;
} LeaderParams;

/* Start a leader; all paths are absolute paths of the user's. Waits until it holds
 * the tree. Returns 0, or -errno with *ret_error. */
int leader_start(const LeaderParams *p, Leader *ret, char **ret_error);

/* Ask for a new init; answers come in the order of the requests. Returns 0 or -EPIPE
 * (the leader is gone). */
int leader_request_init(Leader *l);

/* The answer to the oldest request (waiting up to 5 s for it): a new init, waiting for
 * its command (run_send_request() on *ret_ctl); *ret_pid is its pid here. Returns 0, or
 * -EPIPE when the leader is gone; any other error leaves the leader usable: -ETIMEDOUT
 * (the late answer is dropped when it comes), -EMFILE (the service had no fds free for
 * the init's: that init exits by itself), -EIO (the leader could not fork). */
int leader_receive_init(Leader *l, pid_t *ret_pid, int *ret_pidfd, int *ret_ctl);

/* Both at once. */
int leader_fork_init(Leader *l, pid_t *ret_pid, int *ret_pidfd, int *ret_ctl);

/* The same for a booted session's boot init (boot.h), waiting for boot_send_request()
 * on *ret_ctl. Never while a spare's answer is pending. */
int leader_fork_boot(Leader *l, pid_t *ret_pid, int *ret_pidfd, int *ret_ctl);

/* Whether the leader runs (not exited, not stopped). */
bool leader_alive(const Leader *l);

/* Kill the leader (and so every init it forked) and reap it. */
void leader_stop(Leader *l);
