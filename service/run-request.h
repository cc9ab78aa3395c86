/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "passwd.h"

/* The wire format between the service and a command's init (init.h): what a command
 * is, how it travels to the init (a memfd and four fds by SCM_RIGHTS on the init's
 * control socket), and the environment the init builds for it. Both sides link this
 * module; nothing here enters a namespace or forks. */

/* What an init runs: a command, or one of Session.CopyIn's and CopyOut's copies, which
 * run the service's own code (tar-copy.h) as root in the session's tree. */
typedef enum RunCopy {
        RUN_COPY_NONE,
        RUN_COPY_IN,  /* a tar stream on stdin extracted at copy_path */
        RUN_COPY_OUT, /* copy_path packed as a tar stream to stdout */
} RunCopy;

/* One command, run by an init in namespaces made for it alone: pid, mount, ipc, uts
 * (and net), inside the user namespace of the session's leader (leader.h). */
typedef struct RunParams {
        char **argv;           /* empty: the user's login shell from the chroot's /etc/passwd */
        char **environment;    /* the whole environment, or NULL for a clean one */
        char **setenv;         /* KEY=VALUE entries set last, replacing same-named ones (may be NULL) */
        const char *user;      /* name or uid in the chroot's /etc/passwd */
        const char *directory; /* inside the chroot */
        bool network_none;     /* a network namespace with only lo */
        int stdio[3];
        uint64_t timeout_usec; /* for the service: kill the command after this long (0: never) */
        /* A terminal: the init makes a pty in the command's own devpts, the slave is
         * the command's stdin, stdout, stderr and controlling terminal, and the master
         * goes back to the service (run_send_request()'s terminal_fd). stdio is unused. */
        bool pty;
        uint16_t pty_rows, pty_columns; /* its first window size (0: the kernel's, 0x0) */
        /* A copy instead of a command: argv, environment, setenv, user, directory and
         * pty are unused; the copy runs as root inside, with network_none as asked. */
        RunCopy copy;
        const char *copy_path; /* absolute, inside the session */
} RunParams;

/* The command as its init receives it: argv, environment, setenv, user, directory,
 * network_none, the pty fields and the copy in a memfd (which has no size limit, unlike a socket message). Returns 0
 * or -errno (-E2BIG beyond 64 MiB). */
int run_params_pack(const RunParams *p, int *ret_fd);

/* The reverse, from the memfd's size bytes in buf, which p points into afterwards;
 * p->argv, p->environment and p->setenv are arrays to free() (not their strings; argv
 * and setenv are never NULL): run_params_unpacked_done(). stdio is -EBADF each. Returns
 * 0, -EBADMSG or -ENOMEM. */
int run_params_unpack(char *buf, size_t size, RunParams *ret);

/* Free what run_params_unpack() allocated (the arrays, not the strings in buf). */
void run_params_unpacked_done(RunParams *p);

/* Read the whole memfd fd and unpack it (run_params_unpack()); *ret_buf holds the
 * strings *ret points to. Returns 0, -EBADMSG (empty, over 64 MiB, or not a request)
 * or -errno. */
int run_params_read(int fd, char **ret_buf, RunParams *ret);

/* Give an init its command: the report pipe's write end, the command's stdin, stdout
 * and stderr, the packed request and, for a request with pty, terminal_fd (else
 * -EBADF): a SOCK_SEQPACKET socket on which the init sends the pty's master (one byte
 * 't' with the fd), by SCM_RIGHTS over ctl. Returns 0 or -errno. */
int run_send_request(int ctl, int report_fd, const int stdio[3], int params_fd, int terminal_fd);

/* A request as the init receives it: every fd close-on-exec and owned. */
typedef struct RunRequestFds {
        int report_fd;
        int stdio[3];
        int params_fd;
        int terminal_fd; /* -EBADF: no terminal asked for */
} RunRequestFds;

#define RUN_REQUEST_FDS_NULL                                                                                  \
        ((RunRequestFds) { .report_fd = -EBADF, .stdio = { -EBADF, -EBADF, -EBADF }, .params_fd = -EBADF, \
                           .terminal_fd = -EBADF })

/* Close every fd of f that is open (for _cleanup_). */
void run_request_fds_close(RunRequestFds *f);
/* Close f's stdio. */
void run_request_fds_close_streams(RunRequestFds *f);

/* Wait on ctl for run_send_request()'s message. Returns 1 with the fds in *ret, 0 when
 * the service hung up (EOF), -EBADMSG when a message came without exactly the five fds
 * (six with a terminal's)
 * (none of which is left open), or another -errno of the receive. */
int run_receive_request(int ctl, RunRequestFds *ret);

/* A booted session's agent is also told to signal everything its commands started
 * (boot.c): sig, by itself, over ctl. Returns 0 or -errno. */
int run_send_signal(int ctl, int sig);

/* As run_receive_request(), and also run_send_signal()'s message: then returns 2 with
 * the signal (1.._NSIG-1) in *ret_signal and nothing in *ret. */
int run_receive_message(int ctl, RunRequestFds *ret, int *ret_signal);

/* The command's environment: base (or a clean one: HOME, LOGNAME, USER, SHELL, PATH)
 * with USER and LOGNAME set to the target user and a default PATH if it has none;
 * then each KEY=VALUE of setenv (may be NULL), replacing an entry of the same KEY.
 * Returns 0 with a never-NULL list, -EINVAL for a setenv entry without "KEY=", or
 * -ENOMEM. */
int run_build_environment(char *const *base, char *const *setenv, const PasswdEntry *pw, char ***ret);
