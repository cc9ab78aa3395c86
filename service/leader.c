/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "leader.h"
#include "fdpass.h"
#include "mounts.h"
#include "process-util.h"
#include "report.h"
#include "init.h"
#include "boot.h"
#include "userns.h"
#include "util.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

typedef struct LeaderChild {
        const LeaderParams *p;
        int sock;
        int report_fd;
        /* opened before the maps, with the user's own access to its directories */
        int treefd, lowerfd, upperfd, workfd;
        int cache_lowerfd, cache_upperfd, cache_workfd; /* -EBADF: no package cache */
} LeaderChild;

static void close_cache_fds(LeaderChild *c) {
        c->cache_lowerfd = safe_close(c->cache_lowerfd);
        c->cache_upperfd = safe_close(c->cache_upperfd);
        c->cache_workfd = safe_close(c->cache_workfd);
}

static int open_path(const char *path) {
        int fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* Still the user on the host: the session's directories (mode 0700, the user's) can be
 * opened. After the maps the leader needs no path of the user's any more, so they
 * need not map the user's own id. */
static int leader_before_map(void *userdata) {
        LeaderChild *c = userdata;
        const LeaderParams *p = c->p;

        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                report_error(c->report_fd, CHILD_ERROR_FAILED, -errno, "Cannot make the mounts private: %m");
                return EXIT_FAILURE;
        }
        /* A cache that is not there (removed by hand) is no cache, not a failure. */
        if (p->cache_lower && ((c->cache_lowerfd = open_path(p->cache_lower)) < 0 ||
                               (c->cache_upperfd = open_path(p->cache_upper)) < 0 ||
                               (c->cache_workfd = open_path(p->cache_work)) < 0))
                close_cache_fds(c);
        if (p->upper) {
                /* Opened here, in our own mount namespace: overlayfs wants its layers there. */
                if ((c->lowerfd = open_path(p->lower)) < 0 || (c->upperfd = open_path(p->upper)) < 0 ||
                    (c->workfd = open_path(p->work)) < 0 || (c->treefd = open_path(p->tree)) < 0) {
                        report_error(c->report_fd, CHILD_ERROR_FAILED, -errno, "Cannot open the session's layers: %m");
                        return EXIT_FAILURE;
                }
                return 0;
        }
        /* A full copy is bound onto itself, so that it can become an init's root. */
        if (mount(p->tree, p->tree, NULL, MS_BIND | MS_REC, NULL) < 0 || (c->treefd = open_path(p->tree)) < 0) {
                report_error(c->report_fd, CHILD_ERROR_FAILED, -errno, "Cannot bind the session's tree: %m");
                return EXIT_FAILURE;
        }
        return 0;
}

/* Fork an init (a command's, or a booted session's boot init) with its own ctl
 * socket; send the service its pid, a pidfd and our end of ctl (or, on failure,
 * -errno and no fds). */
static int fork_init(LeaderChild *c, int (*init_main)(int ctl, const char *hostname)) {
        _cleanup_close_pair_ int ctl[2] = { -EBADF, -EBADF };
        _cleanup_close_ int pidfd = -EBADF;
        int32_t answer;
        pid_t pid = -1;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) >= 0) {
                struct clone_args args = {
                        /* ipc and uts come in the init's own user namespace (init.c). */
                        .flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_PIDFD,
                        .pidfd = (uint64_t) (uintptr_t) &pidfd,
                        .exit_signal = SIGCHLD,
                };
                pid = (pid_t) syscall(SYS_clone3, &args, sizeof(args));
                if (pid == 0)
                        _exit(init_main(ctl[1], c->p->hostname));
        }
        if (pid < 0) {
                answer = -errno;
                return fdpass_send(c->sock, &answer, sizeof(answer), NULL, 0);
        }
        answer = (int32_t) pid;
        int fds[2] = { pidfd, ctl[0] };
        return fdpass_send(c->sock, &answer, sizeof(answer), fds, 2);
}

/* The package cache on the tree's /var/cache/apt/archives (mounts.h). A tree without
 * the directory, or with a symlink there, gets none; so does one where the kernel
 * refuses (the commands then see the tree's own directory, as without the option).
 * Inits inherit the mount, locked. */
static void mount_package_cache(LeaderChild *c, int rootfd) {
        if (c->cache_lowerfd >= 0)
                (void) mounts_package_cache(rootfd, c->cache_lowerfd, c->cache_upperfd, c->cache_workfd);
        close_cache_fds(c);
}

static int leader_after_map(void *userdata) {
        LeaderChild *c = userdata;
        const LeaderParams *p = c->p;
        struct sigaction sa = { .sa_handler = SIG_IGN, .sa_flags = SA_NOCLDWAIT };
        char msg[256] = "";
        int rootfd = -EBADF, r;

        /* Had the service died before this, the read of sock below sees EOF. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                return EXIT_FAILURE;
        spawn_rename_process("chrootd-leader");
        /* Changing credentials made us undumpable, which would keep the user out of
         * /proc/<pid>/root: a host-tree session's RootDirectory. */
        if (prctl(PR_SET_DUMPABLE, 1) < 0)
                return EXIT_FAILURE;
        if (p->upper) {
                r = mounts_overlay(c->lowerfd, c->upperfd, c->workfd, c->treefd, &rootfd, msg, sizeof(msg));
                if (r < 0) {
                        report_error(c->report_fd, CHILD_ERROR_FAILED, r, "Cannot mount the session's overlay: %m%s%s",
                                     msg[0] ? ": " : "", msg);
                        return EXIT_FAILURE;
                }
        } else
                rootfd = c->treefd;
        mount_package_cache(c, rootfd);
        /* Inits inherit this working directory: in their copy of our mount namespace it
         * is their copy of the tree, found without a path. */
        if (fchdir(rootfd) < 0) {
                report_error(c->report_fd, CHILD_ERROR_FAILED, -errno, "Cannot enter the session's tree: %m");
                return EXIT_FAILURE;
        }
        (void) close_all_fds_except(&c->sock, 1);
        /* Inits are reaped by the kernel; the service watches them by pidfd. */
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGCHLD, &sa, NULL) < 0)
                return EXIT_FAILURE;

        /* One byte in, one init out ('b': a boot init), until the service hangs up. */
        for (;;) {
                char byte;
                ssize_t n = read(c->sock, &byte, 1);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return EXIT_SUCCESS;
                if (fork_init(c, byte == 'b' ? boot_init_main : run_init_main) < 0)
                        return EXIT_FAILURE;
        }
}

int leader_start(const LeaderParams *lp, Leader *ret, char **ret_error) {
        _cleanup_close_pair_ int sp[2] = { -EBADF, -EBADF }, rp[2] = { -EBADF, -EBADF };
        _cleanup_close_ int pidfd = -EBADF;
        _cleanup_(sigkill_waitp) pid_t pid = 0;
        Report rep = {};
        int r;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0 || pipe2(rp, O_CLOEXEC) < 0)
                return -errno;
        LeaderChild c = { .p = lp, .sock = sp[1], .report_fd = rp[1],
                          .treefd = -EBADF, .lowerfd = -EBADF, .upperfd = -EBADF, .workfd = -EBADF,
                          .cache_lowerfd = -EBADF, .cache_upperfd = -EBADF, .cache_workfd = -EBADF };
        int keep[] = { sp[1], rp[1] };
        SpawnParams p = {
                .map = lp->map,
                .map_flags = lp->map_flags,
                .extra_flags = CLONE_NEWNS | CLONE_NEWPID,
                .keep_fds = keep,
                .n_keep_fds = ELEMENTSOF(keep),
                .before_map = leader_before_map,
                .after_map = leader_after_map,
                .userdata = &c,
        };
        r = userns_spawn(&p, &pid, &pidfd, ret_error);
        sp[1] = safe_close(sp[1]);
        rp[1] = safe_close(rp[1]);
        if (r < 0) {
                /* A child whose before_map failed exits at once, and its parent may
                 * only see the sync pipe broken (-EPIPE): its report says why. The
                 * child is reaped: every writer is gone. */
                if (report_read(rp[0], &rep) >= 0 && rep.have_error) {
                        free(*ret_error);
                        *ret_error = strdup(rep.message);
                        return rep.error < 0 ? rep.error : -EIO;
                }
                return r;
        }
        /* The report pipe closes when the tree is held (or the leader failed). */
        (void) report_read(rp[0], &rep);
        if (rep.have_error || !leader_alive(&(Leader) { .pid = pid, .pidfd = pidfd })) {
                *ret_error = strdup(rep.have_error ? rep.message : "The session's leader exited at once");
                return rep.have_error && rep.error < 0 ? rep.error : -EIO;
        }
        *ret = (Leader) { .pid = TAKE_PID(pid), .pidfd = TAKE_FD(pidfd), .sock = TAKE_FD(sp[0]), .abandoned = 0 };
        return 0;
}

int leader_request_init(Leader *l) {
        if (l->sock < 0 || send(l->sock, "i", 1, MSG_NOSIGNAL) < 0)
                return -EPIPE;
        return 0;
}

int leader_fork_boot(Leader *l, pid_t *ret_pid, int *ret_pidfd, int *ret_ctl) {
        if (l->sock < 0 || send(l->sock, "b", 1, MSG_NOSIGNAL) < 0)
                return -EPIPE;
        return leader_receive_init(l, ret_pid, ret_pidfd, ret_ctl);
}

int leader_fork_init(Leader *l, pid_t *ret_pid, int *ret_pidfd, int *ret_ctl) {
        int r = leader_request_init(l);

        return r < 0 ? r : leader_receive_init(l, ret_pid, ret_pidfd, ret_ctl);
}

/* One answer: 1 with an init, 0 with none (the leader could not fork, or the fds did not
 * fit: see leader.h), or -EPIPE / -ETIMEDOUT. */
static int receive_one(Leader *l, pid_t *ret_pid, int *ret_pidfd, int *ret_ctl, int *ret_error) {
        struct pollfd pfd = { .fd = l->sock, .events = POLLIN };
        int32_t answer;
        int fds[2];
        size_t n_fds;
        ssize_t n;

        if (l->sock < 0)
                return -EPIPE;
        /* The leader answers at once; never wait on it for long in the event loop. */
        n = poll(&pfd, 1, 5000);
        if (n == 0)
                return -ETIMEDOUT;
        if (n < 0)
                return errno == EINTR ? -ETIMEDOUT : -errno;
        n = fdpass_recv(l->sock, &answer, sizeof(answer), fds, 2, &n_fds);
        if (n == 0 || n == -ECONNRESET || n == -EPIPE)
                return -EPIPE;
        if (n == -EBADMSG) {
                /* Truncated: the kernel could not give us the fds (EMFILE). The answer
                 * was one message all the same, so the next one is the next init's. */
                *ret_error = -EMFILE;
                return 0;
        }
        if (n != sizeof(answer)) {
                for (size_t i = 0; n > 0 && i < n_fds; i++)
                        (void) close(fds[i]);
                *ret_error = n < 0 ? (int) n : -EIO;
                return 0;
        }
        if (answer <= 0 || n_fds != 2) {
                for (size_t i = 0; i < n_fds; i++)
                        (void) close(fds[i]);
                *ret_error = answer < 0 ? answer : -EIO;
                return 0;
        }
        /* The leader's answer is the pid in its own pid namespace; ours is in the pidfd. */
        pid_t pid = pidfd_get_pid(fds[0]);
        if (pid < 0) {
                (void) close(fds[0]);
                (void) close(fds[1]);
                *ret_error = pid;
                return 0;
        }
        *ret_pid = pid;
        *ret_pidfd = fds[0];
        *ret_ctl = fds[1];
        return 1;
}

int leader_receive_init(Leader *l, pid_t *ret_pid, int *ret_pidfd, int *ret_ctl) {
        pid_t pid;
        int pidfd, ctl, error = 0, r;

        /* Answers come in the order of the requests: first those given up on. */
        while (l->abandoned > 0) {
                r = receive_one(l, &pid, &pidfd, &ctl, &error);
                if (r < 0)
                        return r == -ETIMEDOUT ? (l->abandoned++, r) : r;
                l->abandoned--;
                if (r > 0) {
                        /* The leader's child: the leader reaps it. */
                        pidfd_sigkill_close(pidfd);
                        (void) close(ctl);
                }
        }
        error = 0;
        r = receive_one(l, ret_pid, ret_pidfd, ret_ctl, &error);
        if (r == -ETIMEDOUT)
                l->abandoned++;
        if (r < 0)
                return r;
        return r > 0 ? 0 : error;
}

bool leader_alive(const Leader *l) {
        return l->pid > 0 && pidfd_alive(l->pidfd);
}

void leader_stop(Leader *l) {
        l->sock = safe_close(l->sock);
        sigkill_waitp(&l->pid);
        l->pidfd = safe_close(l->pidfd);
        l->abandoned = 0;
}
