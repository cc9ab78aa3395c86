/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* A booted session's container, process side: the boot init, forked by the session's
 * leader (leader.h) like a command's init, sets up the container's file system
 * (mounts.h: /proc, /sys, /dev with /dev/console, /run with /run/host), a notify
 * socket, a user namespace of its own (so every mount above is locked), and a pid
 * namespace owned by it, whose PID 1 enters mount, cgroup, uts, ipc (and net)
 * namespaces of that user namespace and executes the tree's /sbin/init. Before that,
 * PID 1 forks the agent, which stays in the container and forks each Run's command
 * there (init_run_contained()): commands get in by IPC, never by setns() from outside.
 * The boot init reaps PID 1 and reports its wait status (SIGHUP: a reboot, SIGINT:
 * halt or power-off, as the kernel kills a pid namespace's init that calls reboot()).
 *
 * The service puts the boot init in a scope of the session's slice and hands the
 * scope's cgroup to the session's root (session-boot.c) before it sends the request;
 * the boot init makes payload/ there, whose owner is root inside: the container's
 * cgroup namespace has it as its root, and systemd inside manages it. Once PID 1 is
 * gone, the boot init removes payload/'s tree. */

#define BOOT_HOST_NETWORK (UINT32_C(1) << 0)

typedef struct BootRequest {
        uint32_t flags;
        char uuid[33]; /* container_uuid: 32 hex digits */
} BootRequest;

/* The service's side: send the request (and the report pipe's write end) on the boot
 * init's control socket. Returns 0 or -errno. */
int boot_send_request(int ctl, int report_fd, const BootRequest *req);

/* What the boot init sends back once PID 1 is forked: a pidfd of PID 1, the console
 * pty's master and its slave (held so that the pty stays up), the notify socket ($NOTIFY_SOCKET inside: /run/host/notify) and the
 * service's end of the agent's socket. */
typedef struct BootAnswer {
        int pid1_pidfd, console, console_peer, notify, agent;
} BootAnswer;

#define BOOT_ANSWER_NULL ((BootAnswer) { -EBADF, -EBADF, -EBADF, -EBADF, -EBADF })

/* Receive it (blocking; the control socket is readable). Returns 0, -EPIPE (the boot
 * init exited first: its report says why) or -EBADMSG. */
int boot_receive_answer(int ctl, BootAnswer *ret);
void boot_answer_close(BootAnswer *a);

/* Give the agent a command (run-request.h's request), and receive its answer: a pidfd
 * of the child that runs it (which reports into report_fd and exits with it). Returns
 * 0 or -errno. */
int boot_agent_send(int agent, int report_fd, const int stdio[3], int params_fd, int terminal_fd);
int boot_agent_receive(int agent, int *ret_pidfd);

/* Have the agent send sig to every process of the container's commands' cgroup
 * (/sys/fs/cgroup/chrootd-runs inside): what Runs started, running or left behind, not
 * the system's own services. No answer. Returns 0 or -errno. */
int boot_agent_signal(int agent, int sig);

/* The body of the boot init: forked by the leader into new pid and mount namespaces
 * with its working directory at the session's tree. Returns the exit status for
 * _exit(). */
int boot_init_main(int ctl, const char *hostname);
