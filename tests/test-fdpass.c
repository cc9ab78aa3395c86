/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fdpass.h: how the service, a session's leader and the inits hand each other fds. A
 * lost, duplicated or leaked fd here is a stdio stream that goes to the wrong place. */
#include <glib.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "util.h"
#include "fdpass.h"

static void make_pair(int sp[2]) {
        g_assert_cmpint(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), ==, 0);
}

static bool same_file(int a, int b) {
        struct stat sa, sb;

        g_assert_cmpint(fstat(a, &sa), ==, 0);
        g_assert_cmpint(fstat(b, &sb), ==, 0);
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static void test_round_trip(void) {
        _cleanup_close_pair_ int sp[2] = { -EBADF, -EBADF }, p[2] = { -EBADF, -EBADF };
        int sent[3], got[3];
        int32_t v = 4711, w = 0;
        size_t n = 99;

        make_pair(sp);
        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        sent[0] = p[0];
        sent[1] = p[1];
        sent[2] = p[0];
        g_assert_cmpint(fdpass_send(sp[0], &v, sizeof(v), sent, 3), ==, 0);
        g_assert_cmpint(fdpass_recv(sp[1], &w, sizeof(w), got, 3, &n), ==, sizeof(w));
        g_assert_cmpint(w, ==, 4711);
        g_assert_cmpint(n, ==, 3);
        for (int i = 0; i < 3; i++) {
                g_assert_true(same_file(got[i], sent[i]));
                g_assert_cmpint(fcntl(got[i], F_GETFD), ==, FD_CLOEXEC);
        }
        /* they work: what goes into the received write end comes out of the pipe */
        g_assert_cmpint(write(got[1], "x", 1), ==, 1);
        char c = 0;
        g_assert_cmpint(read(p[0], &c, 1), ==, 1);
        g_assert_cmpint(c, ==, 'x');
        for (int i = 0; i < 3; i++)
                close(got[i]);
}

static void test_no_fds(void) {
        _cleanup_close_pair_ int sp[2] = { -EBADF, -EBADF };
        char buf[4];
        int got[2];
        size_t n = 99;

        make_pair(sp);
        g_assert_cmpint(fdpass_send(sp[0], "i", 1, NULL, 0), ==, 0);
        g_assert_cmpint(fdpass_recv(sp[1], buf, sizeof(buf), got, 2, &n), ==, 1);
        g_assert_cmpint(n, ==, 0);
        g_assert_cmpint(buf[0], ==, 'i');
        /* EOF once the other end is gone */
        sp[0] = safe_close(sp[0]);
        g_assert_cmpint(fdpass_recv(sp[1], buf, sizeof(buf), got, 2, &n), ==, 0);
        g_assert_cmpint(n, ==, 0);
}

static void test_more_than_wanted(void) {
        _cleanup_close_pair_ int sp[2] = { -EBADF, -EBADF };
        _cleanup_close_ int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        int sent[4] = { null, null, null, null }, got[2];
        char buf[1];
        size_t n = 99;
        int before, after;

        /* Fds beyond what the receiver takes are closed, not leaked: the next fd number
         * it gets is the same before and after. */
        make_pair(sp);
        before = dup(null);
        close(before);
        g_assert_cmpint(fdpass_send(sp[0], "r", 1, sent, 4), ==, 0);
        g_assert_cmpint(fdpass_recv(sp[1], buf, sizeof(buf), got, 2, &n), ==, 1);
        g_assert_cmpint(n, ==, 2);
        close(got[0]);
        close(got[1]);
        after = dup(null);
        close(after);
        g_assert_cmpint(after, ==, before);
}

static void test_truncated(void) {
        _cleanup_close_pair_ int sp[2] = { -EBADF, -EBADF };
        _cleanup_close_ int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        int got[1], before, after;
        char buf[2];
        size_t n = 99;

        /* A message longer than expected is refused, and its fds do not stay open. */
        make_pair(sp);
        before = dup(null);
        close(before);
        g_assert_cmpint(fdpass_send(sp[0], "toolong", 7, &null, 1), ==, 0);
        g_assert_cmpint(fdpass_recv(sp[1], buf, sizeof(buf), got, 1, &n), ==, -EBADMSG);
        g_assert_cmpint(n, ==, 0);
        after = dup(null);
        close(after);
        g_assert_cmpint(after, ==, before);
}

static void test_limits(void) {
        int fds[FDPASS_MAX + 1] = {};

        g_assert_cmpint(fdpass_send(-1, "x", 1, fds, FDPASS_MAX + 1), ==, -EINVAL);
        g_assert_cmpint(fdpass_send(-1, "", 0, NULL, 0), ==, -EINVAL);
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/fdpass/round-trip", test_round_trip);
        g_test_add_func("/fdpass/no-fds", test_no_fds);
        g_test_add_func("/fdpass/more-than-wanted", test_more_than_wanted);
        g_test_add_func("/fdpass/truncated", test_truncated);
        g_test_add_func("/fdpass/limits", test_limits);
        return g_test_run();
}
