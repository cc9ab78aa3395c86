/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <sys/types.h>
#include "passwd.h"
#include "run-request.h"

/* A command's init: PID 1 of the pid namespace a session's leader (leader.h) forks for
 * one command. It prepares the command's file system and namespaces before the command
 * is known (so that a spare init waits ready), receives the request (run-request.h),
 * forks the command and reaps everything until the command exits. It runs in the
 * leader's child, never in the service. */

/* The body of a command's init, forked by the session's leader into new pid and mount
 * namespaces with its working directory at the session's tree: mount /proc, /sys and
 * /dev, pivot_root into the tree, make a user namespace nested in the leader's with uts
 * and ipc namespaces (and set the hostname), then wait on ctl for the command
 * (run_send_request(); EOF: exit quietly). Then a cgroup namespace (and a network one
 * with only lo for network_none), fork the command and reap everything until it exits;
 * what the command left behind is killed before its status is reported. Problems before
 * exec and the command's wait status go as report records into the report pipe.
 * Returns the exit status for _exit(). */
int run_init_main(int ctl, const char *hostname);

/* Bring up lo in the caller's network namespace. Returns 0 or -errno. */
int loopback_up(void);

/* A booted session's command (boot.h), in a child of the container's agent: the
 * request in fds is run as run_init_main() runs it, but in the container's own
 * namespaces (only a network one with only lo is made, for network_none), with signals
 * passed on to the command's session alone, and what it leaves behind keeps running
 * (output it writes once the command is gone may be lost). The command joins the
 * cgroup whose cgroup.procs is join_procs before it executes (failing to is an error).
 * Returns the command's wait status, or -errno after reporting why it did not start. */
int init_run_contained(RunRequestFds *fds, int join_procs);

/* A command's init is PID 1 of its pid namespace, and so ignores every signal it has
 * no handler for. Until its command exists, it ends on a signal whose default action
 * would end a process instead (Session.Kill, or a client passing SIGTERM on, must end
 * a Run whose command never started): run_init_catch_signals(), at its start, catches
 * them and holds them back; run_init_signals_report_to() names the report pipe and lets
 * them in. One then writes the status of a command killed by it to the pipe and
 * _exit()s with 128 + its number. Later, the init passes signals on to its command. */
void run_init_catch_signals(void);
void run_init_signals_report_to(int report_fd);

/* The command as the init prepares it, so that the child it forks (with vfork(), which
 * shares the init's memory until exec) has only system calls left to make. */
typedef struct InitCommand {
        RunParams run;     /* the request (its strings not owned); argv is shell_argv for an empty one */
        char **shell_argv; /* the user's login shell, when the request has no argv */
        PasswdEntry pw;
        gid_t *groups;     /* supplementary groups, the primary one among them */
        size_t n_groups;
        char **env;        /* run_build_environment() */
} InitCommand;

/* Look p->user up in the /etc/passwd and /etc/group of the tree whose root is rootfd,
 * read as root inside would (tree-file.h; no /etc/group: no supplementary groups), and
 * build the environment. Returns 0 with *ret (free with init_command_done()), or -errno
 * after reporting why to report_fd: -ESRCH (CHILD_ERROR_NO_SUCH_USER) for a user the
 * passwd lacks; a passwd that cannot be read is CHILD_ERROR_NO_SUCH_USER too, a group
 * file or an environment CHILD_ERROR_FAILED. */
int init_command_prepare(int rootfd, const RunParams *p, int report_fd, InitCommand *ret);

/* Free what init_command_prepare() allocated (not the request); c may be zeroed. */
void init_command_done(InitCommand *c);
