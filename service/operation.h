/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A child process the service waits for (an unpack, a directory's reader, a repack, a
 * removal): its pidfd, the read end of its report pipe (report.h) and its event
 * source, with a done callback of its own kind. An Operation owns the child: freeing
 * one before the child has exited SIGKILLs and reaps it. */

#include <sys/types.h>
#include <systemd/sd-event.h>
#include "frontend.h"

typedef struct Operation Operation;

/* Called once the child has exited and been reaped. o is its outcome: the first error
 * it reported, or a failed exit status or signal (told as "<what> failed with exit
 * status 2"); unset for a clean exit. done may take o's error (error_move); the
 * Operation frees itself after done returns: its owner must forget it in done. */
typedef void (*operation_done_t)(Operation *op, Outcome *o, void *userdata);

/* Watch the child pid with pidfd (taken, even on failure, when the child is killed and
 * reaped) and report_fd (taken; -EBADF for none). what names it in messages (a static
 * string). Returns 0 or -errno. */
int operation_watch(sd_event *event, pid_t pid, int pidfd, int report_fd, const char *what, operation_done_t done,
                    void *userdata, Operation **ret);

/* The same for a child of fork(): its pidfd is opened here. */
int operation_watch_pid(sd_event *event, pid_t pid, int report_fd, const char *what, operation_done_t done,
                        void *userdata, Operation **ret);

/* SIGKILL the child; done still comes, once it is reaped. */
void operation_kill(Operation *op);

pid_t operation_pid(const Operation *op);

/* Kill and reap the child if it still runs (done is not called). */
Operation *operation_free(Operation *op);
static inline void operation_freep(Operation **op) {
        operation_free(*op);
}
