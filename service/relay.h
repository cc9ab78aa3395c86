/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* A command's standard streams that are the caller's pipes go through pipes of the
 * command's own, which the init relays (splice) to and from the caller's. The caller's
 * pipe belongs to the user on the host, whose uid is not in the session: opened again
 * by name (/dev/stderr, /proc/self/fd/2: `tee /dev/stderr`, autopkgtest's
 * `apt-get update | tee /proc/self/fd/2`) it refuses root inside. The command's own
 * pipe belongs to the command's user, as the pipes a shell makes for it would. Streams
 * that are not pipes (terminals, files, sockets, /dev/null) are passed as they are;
 * stdout and stderr that are one pipe share one relay, so their order is kept. */

typedef struct Relay {
        int src, dst;  /* -EBADF once done */
        bool input;    /* stdin: the caller's to the command's; dropped when the command ends */
        bool blocked;  /* dst was full: wait until it is writable */
} Relay;

typedef struct Relays {
        Relay r[3];
        size_t n;
} Relays;

#define RELAYS_NULL                                                                                                  \
        (Relays) {                                                                                                     \
                .n = 0                                                                                                 \
        }

/* For each of stdio[0..2] that is a pipe, a pipe of uid/gid's (made with them as fs
 * ids) whose command's end replaces it in stdio[] (the caller's fd stays the caller's:
 * the relay holds a copy). Replaced entries are returned in ret_mine[] (the caller of
 * this closes them once the command has them), others are -EBADF. Returns 0 or -errno. */
int relays_setup(int stdio[3], uid_t uid, gid_t gid, Relays *rs, int ret_mine[3]);

/* Relay until pid (a child of ours) exits; reap other children meanwhile. Needs
 * SIGCHLD blocked (it is unblocked while waiting). Returns pid's wait status. */
int relays_run(Relays *rs, pid_t pid);

/* Once every writer of the command's pipes is gone: pass on what is left of its
 * output, then close everything. */
void relays_finish(Relays *rs);

/* The same, for a command whose leftovers may keep its pipes open (a booted session's
 * Run): pass on output until none came for idle_ms (-1: until every writer is gone),
 * then close everything; later output is lost to the caller. */
void relays_drain(Relays *rs, int idle_ms);

void relays_close(Relays *rs);
