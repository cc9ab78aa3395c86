/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include "idmap.h"

/* The overlay of a copy-on-write session, mounted once and shared by its commands.
 * Two overlay mounts of the same upper directory must never be live at once (the
 * kernel calls that undefined behaviour), and concurrent Runs are allowed, so each
 * session with a command gets a holder: a child in a user and mount namespace of its
 * own that mounts the session's overlay and, on request over a socketpair, hands out
 * clones of that mount (open_tree(OPEN_TREE_CLONE), passed by SCM_RIGHTS). A Run's
 * child attaches its clone with move_mount(): every command sees the same file system,
 * and nobody enters anybody's namespaces. The holder dies with the service (or when
 * the session ends). */

typedef struct Holder {
        pid_t pid;
        int pidfd;
        int sock;
} Holder;

#define HOLDER_NULL ((Holder) { .pid = 0, .pidfd = -EBADF, .sock = -EBADF })

/* Start a holder for the overlay of lower (the base's tree), upper and work, mounted
 * at mountpoint (all absolute paths of the user's). Waits until it has mounted.
 * Returns 0, or -errno with *ret_error. */
int holder_start(const IdMap *map, const char *lower, const char *upper, const char *work, const char *mountpoint,
                 Holder *ret, char **ret_error);

/* A new detached clone of the session's overlay (an fd for move_mount()), or -errno
 * (-EPIPE: the holder is gone). */
int holder_get_tree(Holder *h);

/* Whether the holder runs (not exited, not stopped). */
bool holder_alive(const Holder *h);

/* Kill the holder and reap it. */
void holder_stop(Holder *h);
