/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fdpass.h"
#include "util.h"

#include <sys/socket.h>

int fdpass_send(int sock, const void *data, size_t len, const int *fds, size_t n) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * FDPASS_MAX)];
        } control = {};
        struct iovec iov = { .iov_base = (void *) data, .iov_len = len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (len == 0 || n > FDPASS_MAX)
                return -EINVAL;
        if (n > 0) {
                mh.msg_control = control.buf;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
        }
        for (;;) {
                if (sendmsg(sock, &mh, MSG_NOSIGNAL) >= 0)
                        return 0;
                if (errno != EINTR)
                        return -errno;
        }
}

ssize_t fdpass_recv(int sock, void *data, size_t len, int *fds, size_t max, size_t *ret_n) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * FDPASS_MAX)];
        } control;
        struct iovec iov = { .iov_base = data, .iov_len = len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                             .msg_controllen = sizeof(control.buf) };
        size_t got = 0;
        ssize_t n;

        *ret_n = 0;
        do
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                /* The control buffer holds at most FDPASS_MAX: more is MSG_CTRUNC. */
                size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                int in[FDPASS_MAX];
                if (k > FDPASS_MAX)
                        k = FDPASS_MAX;
                memcpy(in, CMSG_DATA(c), sizeof(int) * k);
                for (size_t i = 0; i < k; i++) {
                        if (got < max)
                                fds[got++] = in[i];
                        else
                                (void) close(in[i]);
                }
        }
        /* A truncated message is a protocol error: nothing of it is kept. */
        if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
                for (size_t i = 0; i < got; i++)
                        (void) close(fds[i]);
                return -EBADMSG;
        }
        *ret_n = got;
        return n;
}
