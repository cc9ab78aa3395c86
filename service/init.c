/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "init.h"
#include "fdpass.h"
#include "init-copy.h"
#include "mounts.h"
#include "report.h"
#include "run-request.h"
#include "tree-file.h"
#include "process-util.h"
#include "relay.h"
#include "userns.h"
#include "util.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

int loopback_up(void) {
        _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr = { .ifr_name = "lo" };

        if (fd < 0)
                return -errno;
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return -errno;
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                return -errno;
        return 0;
}

/* Put fds in place for exec: stdio on 0..2, the report pipe on 3 (close-on-exec),
 * nothing else. */
static int arrange_fds(int stdio[3], int *report_fd) {
        int moved[4];

        /* First move everything above 2 so that dup2 below cannot clobber a source. */
        for (int i = 0; i < 3; i++) {
                moved[i] = fcntl(stdio[i], F_DUPFD_CLOEXEC, 10);
                if (moved[i] < 0)
                        return -errno;
        }
        moved[3] = fcntl(*report_fd, F_DUPFD_CLOEXEC, 10);
        if (moved[3] < 0)
                return -errno;
        for (int i = 0; i < 3; i++)
                if (dup2(moved[i], i) < 0)
                        return -errno;
        if (dup3(moved[3], 3, O_CLOEXEC) < 0)
                return -errno;
        *report_fd = 3;
        if (syscall(SYS_close_range, 4, ~0U, 0) < 0)
                return -errno;
        return 0;
}

void init_command_done(InitCommand *c) {
        c->shell_argv = mfree(c->shell_argv);
        c->groups = mfree(c->groups);
        strv_free(c->env);
        c->env = NULL;
        passwd_entry_done(&c->pw);
}

/* A file of the chroot, read as root inside would (tree-file.h). A missing file is NULL
 * if missing_ok; otherwise the init reports why it cannot read it, as kind. */
static int read_chroot_file(int rootfd, const char *path, bool missing_ok, ChildError kind, int fd, char **ret) {
        char msg[256];
        int r;

        r = tree_file_read(rootfd, path, ret);
        if (r == -ENOENT && missing_ok) {
                *ret = NULL;
                return 0;
        }
        if (r < 0) {
                tree_file_describe_error(r, path, msg, sizeof(msg));
                report_error(fd, kind, r, "%s", msg);
        }
        return r;
}

/* The user's entry in the chroot's /etc/passwd, or -errno after reporting why. */
static int find_user(int rootfd, const char *user, int fd, PasswdEntry *ret) {
        _cleanup_free_ char *passwd = NULL;
        int r;

        r = read_chroot_file(rootfd, "/etc/passwd", false, CHILD_ERROR_NO_SUCH_USER, fd, &passwd);
        if (r < 0)
                return r;
        r = passwd_find(passwd, user, ret);
        if (r == 0)
                r = -ESRCH;
        if (r < 0)
                report_error(fd, CHILD_ERROR_NO_SUCH_USER, r, "User '%s' does not exist in the chroot's /etc/passwd",
                             user);
        return r < 0 ? r : 0;
}

int init_command_prepare(int rootfd, const RunParams *p, int fd, InitCommand *ret) {
        _cleanup_(init_command_done) InitCommand c = { .run = *p };
        _cleanup_free_ char *group = NULL;
        int r;

        r = find_user(rootfd, p->user, fd, &c.pw);
        if (r < 0)
                return r;
        /* No group file means no supplementary groups; a broken one is an error. */
        r = read_chroot_file(rootfd, "/etc/group", true, CHILD_ERROR_FAILED, fd, &group);
        if (r < 0)
                return r;
        /* No command: the login shell (passwd_find() gives /bin/sh for an empty field). */
        if (!p->argv[0]) {
                r = strv_extend(&c.shell_argv, c.pw.shell);
                c.run.argv = c.shell_argv;
        }
        if (r >= 0)
                r = group_list_for_user(group, c.pw.name, c.pw.gid, &c.groups, &c.n_groups);
        if (r >= 0)
                r = run_build_environment(p->environment, p->setenv, &c.pw, &c.env);
        if (r < 0) {
                report_error(fd, CHILD_ERROR_FAILED, r, "Cannot prepare the command: %m");
                return r;
        }
        *ret = c;
        c = (InitCommand) {};
        return 0;
}

/* In the vfork()ed child: system calls only, nothing written to memory the init uses,
 * and environ is already the command's (execvp() searches its PATH). */
_noreturn_ static void command_exec(const InitCommand *c, int join_procs, int fd) {
        const RunParams *p = &c->run;
        int stdio[3] = { p->stdio[0], p->stdio[1], p->stdio[2] }, r;

        reset_signals();
        (void) setsid();
        /* Its terminal becomes the controlling one of its new session: job control. */
        if (p->pty && ioctl(p->stdio[0], TIOCSCTTY, 0) < 0) {
                report_error(fd, CHILD_ERROR_FAILED, -errno, "Cannot make the terminal the command's own: %m");
                _exit(127);
        }
        umask(022);
        /* A booted session's command joins the cgroup Session.Kill signals (boot.c). */
        if (join_procs >= 0 && write(join_procs, "0", 1) != 1) {
                report_error(fd, CHILD_ERROR_FAILED, -errno,
                             "Cannot join the cgroup of the session's commands (/sys/fs/cgroup/chrootd-runs): %m");
                _exit(127);
        }
        /* The raw calls: glibc's wrappers may coordinate threads, which the init has none of. */
        if (syscall(SYS_setgroups, c->n_groups, c->groups) < 0 ||
            syscall(SYS_setresgid, c->pw.gid, c->pw.gid, c->pw.gid) < 0 ||
            syscall(SYS_setresuid, c->pw.uid, c->pw.uid, c->pw.uid) < 0) {
                report_error(fd, CHILD_ERROR_NO_SUCH_USER, -errno,
                             "Cannot become user '%s' (uid %u, gid %u): %m (ids above 65535 are not mapped)",
                             c->pw.name, (unsigned) c->pw.uid, (unsigned) c->pw.gid);
                _exit(127);
        }
        if (chdir(p->directory) < 0) {
                report_error(fd, CHILD_ERROR_NO_SUCH_DIRECTORY, -errno,
                             "Cannot change to directory '%s' in the chroot as user '%s': %m", p->directory,
                             c->pw.name);
                _exit(127);
        }
        /* The service's soft limit on fds is raised; a command gets the usual one. */
        rlimit_nofile_restore();
        r = arrange_fds(stdio, &fd);
        if (r < 0) {
                report_error(fd, CHILD_ERROR_FAILED, r, "Cannot set up standard streams: %m");
                _exit(127);
        }
        execvp(p->argv[0], p->argv);
        report_error(fd, CHILD_ERROR_EXEC, -errno, "Cannot execute '%s': %m", p->argv[0]);
        _exit(127);
}

/* vfork() in a function of its own: nothing of the caller's frame can be clobbered. */
static __attribute__((noinline)) pid_t command_spawn(const InitCommand *c, int join_procs, int report_fd) {
        pid_t pid = vfork();

        if (pid == 0)
                command_exec(c, join_procs, report_fd);
        return pid;
}

/* The init passes a signal on to every other process of its pid namespace: this is
 * how Session.Kill reaches the command and everything it started. (As PID 1 of the
 * namespace, the init itself ignores signals it has no handler for, except SIGKILL,
 * which takes the whole namespace down.) */
static pid_t forward_target = -1; /* a booted session's Run: -(the command's process group) */

static void forward_signal(int sig) {
        int saved = errno;

        /* The service cannot send a booted Run's child a SIGKILL to pass on (it would
         * take the child itself): it sends SIGRTMAX instead. */
        if (forward_target != -1 && sig == SIGRTMAX)
                sig = SIGKILL;
        (void) kill(forward_target, sig);
        errno = saved;
}

static void install_forwarding(void) {
        struct sigaction sa = { .sa_handler = forward_signal, .sa_flags = SA_RESTART };

        sigemptyset(&sa.sa_mask);
        /* Not SIGCHLD, which the init needs; SIGKILL and SIGSTOP cannot be caught. */
        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGCHLD && sig != SIGKILL && sig != SIGSTOP)
                        (void) sigaction(sig, &sa, NULL);
}

/* The signals whose default action ends a process: not those ignored or stopping by
 * default, nor SIGKILL, which cannot be caught (and ends the init anyway). */
static bool signal_ends_process(int sig) {
        switch (sig) {
        case SIGCHLD: case SIGCONT: case SIGURG: case SIGWINCH:
        case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU:
        case SIGKILL:
                return false;
        default:
                return true;
        }
}

static void ending_signals(sigset_t *ret) {
        sigemptyset(ret);
        for (int sig = 1; sig < _NSIG; sig++)
                if (signal_ends_process(sig))
                        (void) sigaddset(ret, sig); /* glibc's own two refuse: fine */
}

static int ending_report_fd = -EBADF;

/* Only async-signal-safe calls: report_status() is one write(). */
static void end_on_signal(int sig) {
        /* The wait status of a process killed by sig: the Run ends as "killed", as if
         * its command had been there to receive it. */
        report_status(ending_report_fd, sig);
        _exit(128 + sig);
}

void run_init_catch_signals(void) {
        struct sigaction sa = { .sa_handler = end_on_signal };
        sigset_t set;

        ending_signals(&set);
        sa.sa_mask = set;
        /* Held back until the report pipe is known (a spare has none yet). */
        (void) sigprocmask(SIG_BLOCK, &set, NULL);
        for (int sig = 1; sig < _NSIG; sig++)
                if (sigismember(&set, sig) == 1)
                        (void) sigaction(sig, &sa, NULL);
}

void run_init_signals_report_to(int report_fd) {
        sigset_t set;

        ending_report_fd = report_fd;
        ending_signals(&set);
        (void) sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* The init's own user namespace, a child of the leader's (userns.h), and the
 * namespaces owned by it; the init stays non-dumpable but for the moment its maps are
 * written (only the owner of /proc/1 may write them, and nothing of a command runs
 * yet). */
static int init_enter_userns(const char *hostname, const char **ret_what) {
        int r;

        *ret_what = "make the command's user namespace";
        r = userns_enter_nested_undumpable();
        if (r < 0)
                return r;
        /* Owned by the new user namespace, so that root inside may change what is its
         * own (the hostname, the SysV IPC objects) and nothing else. */
        *ret_what = "make the command's uts and ipc namespaces";
        if (unshare(CLONE_NEWUTS | CLONE_NEWIPC) < 0)
                return -errno;
        *ret_what = "set the hostname";
        if (hostname && sethostname(hostname, strlen(hostname)) < 0)
                return -errno;
        return 0;
}

/* The command's file system, mounted in the init's mount namespace (owned by the
 * leader's user namespace), then the init's own namespaces, in which the kernel locks
 * those mounts. Returns 0 or -errno with *ret_what naming the step. */
static int init_prepare(const char *hostname, const char **ret_what) {
        _cleanup_close_ int rootfd = -EBADF;
        int r;

        *ret_what = "open the session's tree";
        rootfd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return -errno;
        r = mounts_setup(rootfd, ret_what);
        if (r < 0)
                return r;
        *ret_what = "pivot_root into the tree";
        r = mounts_pivot(rootfd);
        if (r < 0)
                return r;
        r = init_enter_userns(hostname, ret_what);
        if (r < 0)
                return r;
        /* The kernel clears the death signal on some changes of credentials. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                return -errno;
        return 0;
}

/* Leave behind what the init inherited from the leader: its fds but ctl, its standard
 * streams (the journal's), its signal handlers and its dumpability. */
static int init_detach(int ctl) {
        /* If the leader died before this, ctl's other end is gone too and the receive
         * of the request sees EOF. */
        int r = init_process_detach(ctl, "chrootd-spare");

        if (r >= 0)
                run_init_catch_signals();
        return r;
}

/* The command's request, read from its memfd (closed then); the command's streams are
 * the request's. Returns 0, or -errno after reporting why. */
static int init_read_command(RunRequestFds *fds, char **ret_buf, RunParams *ret) {
        int r;

        r = run_params_read(fds->params_fd, ret_buf, ret);
        if (r < 0) {
                report_error(fds->report_fd, CHILD_ERROR_FAILED, r, "Cannot read the command: %m");
                return r;
        }
        fds->params_fd = safe_close(fds->params_fd);
        memcpy(ret->stdio, fds->stdio, sizeof(ret->stdio));
        return 0;
}

/* The namespaces made once the command is known. Returns 0, or -errno after reporting
 * why. */
static int init_enter_command_namespaces(const RunParams *p, bool booted, int report_fd) {
        int r;

        /* The command is sent once the init is in its scope: a cgroup namespace made
         * now has the scope as its root, so the command sees "/" in /proc/self/cgroup,
         * not the host's paths. A booted session's commands share its system's. */
        if (!booted && unshare(CLONE_NEWCGROUP) < 0) {
                r = -errno;
                report_error(report_fd, CHILD_ERROR_FAILED, r, "Cannot make a cgroup namespace: %m");
                return r;
        }
        if (!p->network_none)
                return 0;
        r = unshare(CLONE_NEWNET) < 0 ? -errno : loopback_up();
        if (r < 0)
                report_error(report_fd, CHILD_ERROR_FAILED, r, "Cannot make a network namespace with only lo: %m");
        return r;
}

/* Fork the command, from then on passing signals on to it; join_procs: a cgroup.procs
 * it joins first, or -EBADF. Returns its pid, or -errno after reporting why. */
static pid_t init_start_command(const InitCommand *cmd, bool booted, int join_procs, int report_fd) {
        sigset_t all, old;
        pid_t pid;
        int r = 0;

        /* Signals wait while the child shares our memory; it resets them itself. */
        sigfillset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, &old);
        install_forwarding();
        environ = cmd->env;
        pid = command_spawn(cmd, join_procs, report_fd);
        if (pid < 0)
                r = -errno;
        else if (booted)
                forward_target = -pid; /* its own session (setsid()), not the container's */
        /* The child has exec()ed or exited by now: environ may not outlive cmd. */
        environ = NULL;
        (void) sigprocmask(SIG_SETMASK, &old, NULL);
        if (r < 0) {
                report_error(report_fd, CHILD_ERROR_FAILED, r, "Cannot fork the command: %m");
                return r;
        }
        return pid;
}

/* Fork a copy (RunParams.copy: init-copy.h) on the caller's fd, as init_start_command()
 * forks a command: fork(), for it allocates. Returns its pid, or -errno after reporting
 * why. */
static pid_t init_start_copy(const RunParams *p, int fd, bool booted, int join_procs, int report_fd) {
        sigset_t all, old;
        pid_t pid;

        sigfillset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, &old);
        install_forwarding();
        pid = fork();
        if (pid == 0) {
                reset_signals();
                (void) setsid();
                if (join_procs >= 0 && write(join_procs, "0", 1) != 1) {
                        report_error(report_fd, CHILD_ERROR_FAILED, -errno,
                                     "Cannot join the cgroup of the session's commands: %m");
                        _exit(EXIT_FAILURE);
                }
                _exit(init_copy_main(p, fd, report_fd));
        }
        if (pid < 0) {
                int r = -errno;
                (void) sigprocmask(SIG_SETMASK, &old, NULL);
                report_error(report_fd, CHILD_ERROR_FAILED, r, "Cannot fork the copy: %m");
                return r;
        }
        if (booted)
                forward_target = -pid;
        (void) sigprocmask(SIG_SETMASK, &old, NULL);
        return pid;
}

/* Reap every child until pid exits. Returns pid's wait status. */
static int init_wait(pid_t pid) {
        for (;;) {
                int st;
                pid_t w = waitpid(-1, &st, 0);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return 0;
                }
                if (w == pid)
                        return st;
        }
}

/* Whatever the command left behind dies before the caller hears of its status, so
 * that nothing of it outlives the Run; the namespaces go with the init, after that. */
static void init_kill_rest(void) {
        (void) kill(-1, SIGKILL);
        while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
                ;
}

/* init_command_prepare() in the init's root, which is the tree's since pivot_root.
 * Returns 0, or -errno after reporting why. */
static int init_prepare_in_root(const RunParams *p, int report_fd, InitCommand *ret) {
        _cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        int r;

        if (rootfd < 0) {
                r = -errno;
                report_error(report_fd, CHILD_ERROR_FAILED, r, "Cannot open the chroot's root: %m");
                return r;
        }
        return init_command_prepare(rootfd, p, report_fd, ret);
}

/* The command's terminal (RunParams.pty): a pty of the devpts in the command's root
 * (the session's own instance, or a booted session's system's), in the window size
 * asked for, its slave the command's user's, its master sent to the service on
 * terminal_fd. Returns the slave, or -errno after reporting why. */
static int init_open_terminal(const InitCommand *cmd, int terminal_fd, int report_fd) {
        _cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), master = -EBADF, slave = -EBADF;
        struct winsize ws = { .ws_row = cmd->run.pty_rows, .ws_col = cmd->run.pty_columns };
        int r;

        r = rootfd < 0 ? -errno : mounts_open_pty(rootfd, &master, &slave);
        if (r >= 0 && ioctl(master, TIOCSWINSZ, &ws) < 0)
                r = -errno;
        /* Its group stays devpts' tty (5), as a login's terminal is. */
        if (r >= 0 && fchown(slave, cmd->pw.uid, (gid_t) -1) < 0)
                r = -errno;
        if (r < 0) {
                report_error(report_fd, CHILD_ERROR_FAILED, r, "Cannot make the command's terminal: %m");
                return r;
        }
        r = fdpass_send(terminal_fd, "t", 1, &master, 1);
        if (r < 0) {
                report_error(report_fd, CHILD_ERROR_FAILED, r, "Cannot pass the command's terminal on: %m");
                return r;
        }
        return TAKE_FD(slave);
}

/* The command's streams: its terminal's slave, or the caller's pipes through pipes of
 * its user's (relay.h). mine[] are the command's ends. Returns 0, or -errno after
 * reporting why. */
static int init_setup_streams(InitCommand *cmd, RunRequestFds *fds, Relays *relays, int mine[3]) {
        int r;

        if (cmd->run.pty != (fds->terminal_fd >= 0)) {
                report_error(fds->report_fd, CHILD_ERROR_FAILED, -EBADMSG, "A terminal came without a request for one");
                return -EBADMSG;
        }
        if (cmd->run.pty) {
                r = init_open_terminal(cmd, fds->terminal_fd, fds->report_fd);
                if (r < 0)
                        return r;
                mine[0] = r;
                mine[1] = fcntl(r, F_DUPFD_CLOEXEC, 3);
                mine[2] = fcntl(r, F_DUPFD_CLOEXEC, 3);
                r = mine[1] < 0 || mine[2] < 0 ? -errno : 0;
                memcpy(cmd->run.stdio, mine, sizeof(cmd->run.stdio));
        } else
                r = relays_setup(cmd->run.stdio, cmd->pw.uid, cmd->pw.gid, relays, mine);
        if (r < 0) {
                report_error(fds->report_fd, CHILD_ERROR_FAILED, r, "Cannot set up the command's streams: %m");
                return r;
        }
        fds->terminal_fd = safe_close(fds->terminal_fd);
        return 0;
}

/* Run the command received in fds to its end. Returns its wait status, or -errno after
 * reporting why it did not start. booted: a booted session's, in its system's
 * namespaces, in the cgroup of join_procs; what it leaves behind lives on. */
static int init_run_command(RunRequestFds *fds, bool booted, int join_procs) {
        _cleanup_(run_params_unpacked_done) RunParams p = {};
        _cleanup_(init_command_done) InitCommand cmd = {};
        _cleanup_(relays_close) Relays relays = RELAYS_NULL;
        _cleanup_free_ char *buf = NULL;
        int mine[3] = { -EBADF, -EBADF, -EBADF }, status;
        pid_t pid = -1;
        int r;

        r = init_read_command(fds, &buf, &p);
        if (r >= 0)
                r = init_enter_command_namespaces(&p, booted, fds->report_fd);
        if (r < 0)
                return r;
        if (p.copy != RUN_COPY_NONE) {
                /* The caller's stream as it is: the copy is the service's code, not the tree's. */
                pid = init_start_copy(&p, fds->stdio[p.copy == RUN_COPY_IN ? 0 : 1], booted, join_procs,
                                      fds->report_fd);
                if (pid < 0)
                        return (int) pid;
                report_started(fds->report_fd);
                run_request_fds_close_streams(fds);
                status = init_wait(pid);
                if (!booted)
                        init_kill_rest();
                return status;
        }
        r = init_prepare_in_root(&p, fds->report_fd, &cmd);
        if (r < 0)
                return r;
        r = init_setup_streams(&cmd, fds, &relays, mine);
        if (r >= 0)
                pid = init_start_command(&cmd, booted, join_procs, fds->report_fd);
        for (int i = 0; i < 3; i++)
                mine[i] = safe_close(mine[i]);
        if (r < 0)
                return r;
        if (pid < 0)
                return (int) pid;
        report_started(fds->report_fd);
        /* The init keeps only the report pipe and the relays' ends. */
        run_request_fds_close_streams(fds);
        status = relays.n > 0 ? relays_run(&relays, pid) : init_wait(pid);
        if (booted) {
                /* What it left running may hold its pipes for as long as it likes. */
                relays_drain(&relays, 100);
                return status;
        }
        init_kill_rest();
        /* Every writer is gone: what the command wrote reaches the caller before its status. */
        relays_finish(&relays);
        return status;
}

int init_run_contained(RunRequestFds *fds, int join_procs) {
        return init_run_command(fds, true, join_procs);
}

/* PID 1 of the command's pid namespace, forked by the session's leader (leader.h) with
 * its cwd at the session's tree. */
int run_init_main(int ctl, const char *hostname) {
        _cleanup_(run_request_fds_close) RunRequestFds fds = RUN_REQUEST_FDS_NULL;
        const char *what = NULL;
        int setup_error, status, r;

        if (init_detach(ctl) < 0)
                return EXIT_FAILURE;
        /* Everything that does not depend on the command is done before it comes: a
         * spare init (session-run.c) waits with its file system ready. */
        setup_error = init_prepare(hostname, &what);

        /* The service hanging up means nobody needs us. */
        r = run_receive_request(ctl, &fds);
        if (r <= 0)
                return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
        run_init_signals_report_to(fds.report_fd);
        spawn_rename_process("chrootd-init");
        ctl = safe_close(ctl);
        if (setup_error < 0) {
                report_error(fds.report_fd, CHILD_ERROR_FAILED, setup_error, "Cannot %s: %m", what);
                return EXIT_FAILURE;
        }
        status = init_run_command(&fds, false, -EBADF);
        if (status < 0)
                return EXIT_FAILURE;
        report_status(fds.report_fd, status);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
