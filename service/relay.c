/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "relay.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static bool same_inode(const struct stat *a, const struct stat *b) {
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* A pipe whose inode belongs to uid and gid: the kernel gives it the fs ids. */
static int pipe_of(uid_t uid, gid_t gid, int p[2]) {
        gid_t old_gid = (gid_t) setfsgid(gid);
        uid_t old_uid = (uid_t) setfsuid(uid);
        int r = pipe2(p, O_CLOEXEC) < 0 ? -errno : 0;

        (void) setfsuid(old_uid);
        (void) setfsgid(old_gid);
        return r;
}

int relays_setup(int stdio[3], uid_t uid, gid_t gid, Relays *rs, int ret_mine[3]) {
        struct stat st[3];
        bool fifo[3];
        int r;

        for (int i = 0; i < 3; i++) {
                ret_mine[i] = -EBADF;
                fifo[i] = fstat(stdio[i], &st[i]) >= 0 && S_ISFIFO(st[i].st_mode);
        }
        for (int i = 0; i < 3; i++) {
                int p[2], caller;

                if (!fifo[i])
                        continue;
                /* A pipe that is stdin and an output too is left alone: no relay
                 * could tell which way its data goes. */
                if (i == 0 && ((fifo[1] && same_inode(&st[0], &st[1])) || (fifo[2] && same_inode(&st[0], &st[2]))))
                        continue;
                if (i == 2 && ret_mine[1] >= 0 && same_inode(&st[1], &st[2])) {
                        ret_mine[2] = fcntl(ret_mine[1], F_DUPFD_CLOEXEC, 3);
                        if (ret_mine[2] < 0)
                                return -errno;
                        stdio[2] = ret_mine[2];
                        continue;
                }
                caller = fcntl(stdio[i], F_DUPFD_CLOEXEC, 3);
                if (caller < 0)
                        return -errno;
                r = pipe_of(uid, gid, p);
                if (r < 0) {
                        (void) close(caller);
                        return r;
                }
                Relay *x = &rs->r[rs->n++];
                if (i == 0)
                        *x = (Relay) { .src = caller, .dst = p[1], .input = true };
                else
                        *x = (Relay) { .src = p[0], .dst = caller };
                ret_mine[i] = i == 0 ? p[0] : p[1];
                /* Our end of the command's pipe; the caller's is theirs to set. */
                if (fcntl(i == 0 ? p[1] : p[0], F_SETFL, O_NONBLOCK) < 0)
                        return -errno;
                stdio[i] = ret_mine[i];
        }
        return 0;
}

static void relay_close(Relay *x) {
        x->src = safe_close(x->src);
        x->dst = safe_close(x->dst);
        x->blocked = false;
}

/* The command's input: what the caller's pipe has now, moved into the command's pipe
 * (ours is non-blocking: a command that does not read cannot hold the init up). At
 * EOF, or once the command's end is closed, done. */
static void relay_input(Relay *x) {
        for (;;) {
                ssize_t n = splice(x->src, NULL, x->dst, NULL, 1 << 20, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
                if (n > 0)
                        continue;
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN) {
                        /* Either the caller's pipe is empty or the command's is full. */
                        struct pollfd pfd = { .fd = x->dst, .events = POLLOUT };
                        x->blocked = poll(&pfd, 1, 0) == 0;
                        return;
                }
                relay_close(x);
                return;
        }
}

/* The command's output: copied, not spliced, so that the caller's pipe fills as
 * if the command wrote into it (splice would move each small write into a slot of its
 * own, and the pipe would hold 16 writes, not 64 KiB). The caller's pipe blocks as it
 * would have blocked the command. When its reader is gone, the command's pipe closes:
 * its writers get EPIPE, as from the caller's pipe. */
static void relay_output(Relay *x) {
        char buf[65536];

        for (;;) {
                ssize_t n = read(x->src, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n <= 0 || write_full(x->dst, buf, (size_t) n) < 0) {
                        relay_close(x);
                        return;
                }
        }
}

static void relay_move(Relay *x) {
        if (x->input)
                relay_input(x);
        else
                relay_output(x);
}

/* What to wait for, for each relay still going. */
static size_t relays_pollfds(Relays *rs, struct pollfd pfd[3], Relay *of[3], bool outputs_only) {
        size_t n = 0;

        for (size_t i = 0; i < rs->n; i++) {
                Relay *x = &rs->r[i];
                if (x->src < 0 || (outputs_only && x->input))
                        continue;
                pfd[n] = x->blocked ? (struct pollfd) { .fd = x->dst, .events = POLLOUT }
                                    : (struct pollfd) { .fd = x->src, .events = POLLIN };
                of[n++] = x;
        }
        return n;
}

static void on_sigchld(int sig) {
}

/* SIGPIPE of a write into a pipe whose reader left is the relay's business, not a
 * signal for the init to pass on: held back, then dropped. */
static void drop_pending_sigpipe(void) {
        const struct timespec zero = {};
        sigset_t pipe_set;

        sigemptyset(&pipe_set);
        sigaddset(&pipe_set, SIGPIPE);
        while (sigtimedwait(&pipe_set, NULL, &zero) > 0)
                ;
}

int relays_run(Relays *rs, pid_t pid) {
        struct sigaction sa = { .sa_handler = on_sigchld, .sa_flags = SA_NOCLDSTOP }, old_sa;
        sigset_t block, old, wait_mask;
        int status = 0;

        sigemptyset(&block);
        sigaddset(&block, SIGCHLD);
        sigaddset(&block, SIGPIPE);
        (void) sigprocmask(SIG_BLOCK, &block, &old);
        wait_mask = old;
        sigdelset(&wait_mask, SIGCHLD);
        sigaddset(&wait_mask, SIGPIPE);
        sigemptyset(&sa.sa_mask);
        /* A handler, so that SIGCHLD ends ppoll(); it is unblocked only there. */
        (void) sigaction(SIGCHLD, &sa, &old_sa);
        for (;;) {
                struct pollfd pfd[3];
                Relay *of[3];
                pid_t w;
                int st;

                while ((w = waitpid(-1, &st, WNOHANG)) > 0)
                        if (w == pid) {
                                status = st;
                                goto done;
                        }
                if (w < 0 && errno == ECHILD)
                        goto done;
                size_t n = relays_pollfds(rs, pfd, of, false);
                if (ppoll(pfd, n, NULL, &wait_mask) <= 0)
                        continue;
                for (size_t i = 0; i < n; i++)
                        if (pfd[i].revents)
                                relay_move(of[i]);
        }
done:
        (void) sigaction(SIGCHLD, &old_sa, NULL);
        drop_pending_sigpipe();
        (void) sigprocmask(SIG_SETMASK, &old, NULL);
        return status;
}

void relays_finish(Relays *rs) {
        relays_drain(rs, -1);
}

void relays_drain(Relays *rs, int idle_ms) {
        sigset_t block, old;

        sigemptyset(&block);
        sigaddset(&block, SIGPIPE);
        (void) sigprocmask(SIG_BLOCK, &block, &old);
        for (size_t i = 0; i < rs->n; i++)
                if (rs->r[i].input)
                        relay_close(&rs->r[i]);
        for (;;) {
                struct pollfd pfd[3];
                Relay *of[3];
                size_t n = relays_pollfds(rs, pfd, of, true);

                if (n == 0)
                        break;
                int k = poll(pfd, n, idle_ms);
                if (k == 0)
                        break;
                if (k < 0)
                        continue;
                for (size_t i = 0; i < n; i++)
                        if (pfd[i].revents)
                                relay_move(of[i]);
        }
        drop_pending_sigpipe();
        (void) sigprocmask(SIG_SETMASK, &old, NULL);
        relays_close(rs);
}

void relays_close(Relays *rs) {
        for (size_t i = 0; i < rs->n; i++)
                relay_close(&rs->r[i]);
        rs->n = 0;
}
