/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "idmap.h"
#include "passwd.h"
#include "userns.h"

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
} RunParams;

/* The command as its init receives it: argv, environment, setenv, user, directory and
 * network_none in a memfd (which has no size limit, unlike a socket message). Returns 0
 * or -errno. */
int run_params_pack(const RunParams *p, int *ret_fd);

/* The reverse, from the memfd's size bytes in buf, which p points into afterwards;
 * p->argv, p->environment and p->setenv are arrays to free() (not their strings; argv
 * and setenv are never NULL). Returns 0, -EBADMSG or -ENOMEM. */
int run_params_unpack(char *buf, size_t size, RunParams *ret);

/* Give an init its command: the report pipe's write end, the command's stdin, stdout
 * and stderr, and the packed request, by SCM_RIGHTS over ctl. Returns 0 or -errno. */
int run_send_request(int ctl, int report_fd, const int stdio[3], int params_fd);

/* The body of a command's init, forked by the session's leader into new pid, mount,
 * ipc and uts namespaces with its working directory at the session's tree: set the
 * hostname, mount /proc, /sys and /dev and pivot_root into the tree, then wait on ctl
 * for the command (run_send_request; EOF: exit quietly). Then fork the command and
 * reap everything until it exits; when the init exits, the kernel kills whatever is
 * left in its pid namespace. Problems before exec and the command's wait status go as
 * report records into the report pipe. Returns the exit status for _exit(). */
int run_init_main(int ctl, const char *hostname);

/* The command's environment: base (or a clean one: HOME, LOGNAME, USER, SHELL, PATH)
 * with USER and LOGNAME set to the target user and a default PATH if it has none;
 * then each KEY=VALUE of setenv (may be NULL), replacing an entry of the same KEY. */
int run_build_environment(char *const *base, char *const *setenv, const PasswdEntry *pw, char ***ret);

/* A command's init is PID 1 of its pid namespace, and so ignores every signal it has
 * no handler for. Until its command exists, it ends on a signal whose default action
 * would end a process instead (Session.Kill, or a client passing SIGTERM on, must end
 * a Run whose command never started): run_init_catch_signals(), at its start, catches
 * them and holds them back; run_init_signals_report_to() names the report pipe and lets
 * them in. One then writes the status of a command killed by it to the pipe and
 * _exit()s with 128 + its number. Later, the init passes signals on to its command. */
void run_init_catch_signals(void);
void run_init_signals_report_to(int report_fd);
