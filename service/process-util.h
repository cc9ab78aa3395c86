/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What every child of the service and of a session's leader does with what it
 * inherited (fds, signal mask and handlers, its name), and the cleanup that kills and
 * reaps a half-started child on an early return, so that a failed setup never leaves a
 * process behind. */

#include <errno.h>
#include <stddef.h>
#include <sys/types.h>

/* Close every fd >= 3 except the ones in keep (any order, duplicates and fds < 3
 * allowed). Returns 0 or -errno. */
int close_all_fds_except(const int *keep, size_t n);

/* Reset the signal mask and dispositions a child inherited from the service: every
 * signal unblocked, every handler the default one. */
void reset_signals(void);

/* What an init forked by a session's leader (a command's, a booted session's) does
 * first: die with the leader (PR_SET_PDEATHSIG), stop being dumpable (the leader is,
 * for /proc/<leader>/root; an init must not be: what it starts runs as root in the
 * same user namespace and could ptrace it), reset signals, close every fd but keep,
 * put /dev/null on 0..2 and take name. Returns 0 or -errno. */
int init_process_detach(int keep, const char *name);

/* Remember main()'s argv so that children can rename themselves. */
void spawn_save_argv(int argc, char **argv);

/* Rename the calling process (comm and the command line shown by ps), e.g. a Run's
 * init, which should not show the service's path and arguments inside a session. */
void spawn_rename_process(const char *name);

/* waitpid() for the child pid, retried on EINTR. Returns 0 with its wait status in
 * *ret_status (may be NULL), or -errno. */
int wait_for_child(pid_t pid, int *ret_status);

/* SIGKILL the child pid and reap it; nothing for pid <= 0. A child not yet reaped
 * keeps its pid, so the signal cannot reach another process. For _cleanup_: a pid
 * handed on is taken with TAKE_PID(). */
void sigkill_wait(pid_t pid);
static inline void sigkill_waitp(pid_t *pid) {
        sigkill_wait(*pid);
        *pid = 0;
}

#define TAKE_PID(pid)                        \
        ({                                   \
                pid_t _pid_ = (pid);         \
                (pid) = 0;                   \
                _pid_;                       \
        })

/* SIGKILL the process behind pidfd and close the fd; nothing for pidfd < 0. The
 * process need not be a child (an init forked by a session's leader), so it is not
 * reaped: its parent does that. For _cleanup_: take a pidfd handed on with TAKE_FD(). */
void pidfd_sigkill_close(int pidfd);
static inline void pidfd_sigkill_closep(int *pidfd) {
        pidfd_sigkill_close(*pidfd);
        *pidfd = -EBADF;
}
