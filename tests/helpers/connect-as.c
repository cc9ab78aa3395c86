/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* connect-as UID GID unix NAME | tcp PORT: become UID:GID (no supplementary groups),
 * connect to the abstract unix socket @NAME or to 127.0.0.1:PORT, write one line and
 * exit 0. Built statically, it is copied into a session by the system tests to act as
 * an untrusted command would: what the host's peer sees of it is the attack's result. */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int fail(const char *what) {
        fprintf(stderr, "connect-as: %s: %s\n", what, strerror(errno));
        return 2;
}

int main(int argc, char *argv[]) {
        const char line[] = "hello from inside\n";
        int fd;

        if (argc != 5) {
                fprintf(stderr, "usage: connect-as UID GID unix NAME | tcp PORT\n");
                return 2;
        }
        if (setgroups(0, NULL) < 0)
                return fail("setgroups");
        if (setresgid((gid_t) atol(argv[2]), (gid_t) atol(argv[2]), (gid_t) atol(argv[2])) < 0)
                return fail("setresgid");
        if (setresuid((uid_t) atol(argv[1]), (uid_t) atol(argv[1]), (uid_t) atol(argv[1])) < 0)
                return fail("setresuid");
        if (strcmp(argv[3], "unix") == 0) {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                size_t n = strlen(argv[4]);
                if (n + 1 >= sizeof(sa.sun_path))
                        return 2;
                memcpy(sa.sun_path + 1, argv[4], n); /* abstract: a leading NUL */
                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0 || connect(fd, (struct sockaddr *) &sa, (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + n)) < 0)
                        return fail("connect");
        } else {
                struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) atoi(argv[4])) };
                sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                        return fail("connect");
        }
        if (write(fd, line, sizeof(line) - 1) < 0)
                return fail("write");
        /* Wait for the peer to hang up, so that it can look at us while we are there. */
        char c;
        (void) read(fd, &c, 1);
        return 0;
}
