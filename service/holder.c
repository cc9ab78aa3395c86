/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "holder.h"
#include "mounts.h"
#include "report.h"
#include "userns.h"
#include "util.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

typedef struct HolderChild {
        const char *lower, *upper, *work, *mountpoint;
        int sock;
        int report_fd;
} HolderChild;

static int send_fd(int sock, int fd) {
        char byte = 'x';
        struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (fd >= 0) {
                mh.msg_control = control.buf;
                mh.msg_controllen = sizeof(control.buf);
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof(int));
        } else
                byte = 'e';
        return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static int open_path(const char *path) {
        int fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

static int holder_after_map(void *userdata) {
        HolderChild *c = userdata;
        _cleanup_close_ int lowerfd = -EBADF, upperfd = -EBADF, workfd = -EBADF, mpfd = -EBADF, rootfd = -EBADF;
        char msg[256] = "";
        int r;

        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() == 1)
                return EXIT_FAILURE;
        spawn_rename_process("chrootd-holder");
        /* Changing credentials made us undumpable, which would keep the user out of
         * /proc/<pid>/root: a host-tree session's RootDirectory. */
        if (prctl(PR_SET_DUMPABLE, 1) < 0)
                return EXIT_FAILURE;
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                report_error(c->report_fd, CHILD_ERROR_FAILED, -errno, "Cannot make the mounts private: %m");
                return EXIT_FAILURE;
        }
        /* Opened here, in our own mount namespace: overlayfs wants its layers there. */
        if ((lowerfd = open_path(c->lower)) < 0 || (upperfd = open_path(c->upper)) < 0 ||
            (workfd = open_path(c->work)) < 0 || (mpfd = open_path(c->mountpoint)) < 0) {
                report_error(c->report_fd, CHILD_ERROR_FAILED, -errno, "Cannot open the session's layers: %m");
                return EXIT_FAILURE;
        }
        r = mounts_overlay(lowerfd, upperfd, workfd, mpfd, &rootfd, msg, sizeof(msg));
        if (r < 0) {
                report_error(c->report_fd, CHILD_ERROR_FAILED, r, "Cannot mount the session's overlay: %s%s%s",
                             strerror(-r), msg[0] ? ": " : "", msg);
                return EXIT_FAILURE;
        }
        c->report_fd = safe_close(c->report_fd);

        /* One byte in, one clone of the mount out, until the service hangs up. */
        for (;;) {
                _cleanup_close_ int clone = -EBADF;
                char byte;
                ssize_t n = read(c->sock, &byte, 1);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return EXIT_SUCCESS;
                clone = open_tree(rootfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
                if (send_fd(c->sock, clone) < 0)
                        return EXIT_FAILURE;
        }
}

int holder_start(const IdMap *map, const char *lower, const char *upper, const char *work, const char *mountpoint,
                 Holder *ret, char **ret_error) {
        _cleanup_close_pair_ int sp[2] = { -EBADF, -EBADF }, rp[2] = { -EBADF, -EBADF };
        _cleanup_close_ int pidfd = -EBADF;
        Report rep = {};
        pid_t pid;
        int r;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0 || pipe2(rp, O_CLOEXEC) < 0)
                return -errno;
        HolderChild c = { lower, upper, work, mountpoint, sp[1], rp[1] };
        int keep[] = { sp[1], rp[1] };
        SpawnParams p = {
                .map = map,
                .map_self = true,
                .extra_flags = CLONE_NEWNS,
                .keep_fds = keep,
                .n_keep_fds = ELEMENTSOF(keep),
                .after_map = holder_after_map,
                .userdata = &c,
        };
        r = userns_spawn(&p, &pid, &pidfd, ret_error);
        if (r < 0)
                return r;
        sp[1] = safe_close(sp[1]);
        rp[1] = safe_close(rp[1]);
        /* The report pipe closes when the overlay is mounted (or the holder failed). */
        (void) report_read(rp[0], &rep);
        if (rep.have_error) {
                *ret_error = strdup(rep.message);
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return rep.error < 0 ? rep.error : -EIO;
        }
        *ret = (Holder) { .pid = pid, .pidfd = TAKE_FD(pidfd), .sock = TAKE_FD(sp[0]) };
        return 0;
}

int holder_get_tree(Holder *h) {
        char byte;
        struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control;
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                             .msg_controllen = sizeof(control.buf) };
        struct pollfd pfd = { .fd = h->sock, .events = POLLIN };
        ssize_t n;
        int fd = -EBADF;

        if (h->sock < 0)
                return -EPIPE;
        if (send(h->sock, "x", 1, MSG_NOSIGNAL) < 0)
                return -EPIPE;
        /* The holder answers at once; never wait on it for long in the event loop. */
        if (poll(&pfd, 1, 5000) <= 0)
                return -ETIMEDOUT;
        n = recvmsg(h->sock, &mh, MSG_CMSG_CLOEXEC);
        if (n <= 0)
                return -EPIPE;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                        memcpy(&fd, CMSG_DATA(c), sizeof(int));
        return fd >= 0 ? fd : -EIO;
}

bool holder_alive(const Holder *h) {
        struct pollfd pfd = { .fd = h->pidfd, .events = POLLIN };

        /* A pidfd is readable once its process has exited. */
        return h->pid > 0 && h->pidfd >= 0 && poll(&pfd, 1, 0) == 0;
}

void holder_stop(Holder *h) {
        h->sock = safe_close(h->sock);
        if (h->pid > 0) {
                (void) kill(h->pid, SIGKILL);
                (void) waitpid(h->pid, NULL, 0);
        }
        h->pidfd = safe_close(h->pidfd);
        h->pid = 0;
}
