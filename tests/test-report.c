/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* report.h: how children tell the service what went wrong before exec, and how the
 * command ended. A lost or misread record turns into a wrong D-Bus reply. */
#include <glib.h>
#include <fcntl.h>
#include <sys/wait.h>

#include "util.h"
#include "report.h"

static void make_pipe(int p[2]) {
        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
}

static void test_empty(void) {
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        Report r;

        /* A child that exec()ed and whose status nobody wrote: no records at all. */
        make_pipe(p);
        p[1] = safe_close(p[1]);
        memset(&r, 0xaa, sizeof(r));
        g_assert_cmpint(report_read(p[0], &r), ==, 0);
        g_assert_false(r.have_error);
        g_assert_false(r.have_status);
}

static void test_round_trip(void) {
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        Report r = {};

        make_pipe(p);
        report_error(p[1], CHILD_ERROR_NO_SUCH_DIRECTORY, -ENOENT, "Cannot change to '%s': %s", "/nope",
                     "No such file or directory");
        report_status(p[1], 3 << 8);
        p[1] = safe_close(p[1]);
        g_assert_cmpint(report_read(p[0], &r), ==, 0);
        g_assert_true(r.have_error);
        g_assert_cmpint(r.error_kind, ==, CHILD_ERROR_NO_SUCH_DIRECTORY);
        g_assert_cmpint(r.error, ==, -ENOENT);
        g_assert_cmpstr(r.message, ==, "Cannot change to '/nope': No such file or directory");
        g_assert_true(r.have_status);
        g_assert_true(WIFEXITED(r.wstatus));
        g_assert_cmpint(WEXITSTATUS(r.wstatus), ==, 3);
}

/* %m in a report is the error reported, not whatever errno is by then; errno is kept. */
static void test_error_m(void) {
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        Report r = {};

        make_pipe(p);
        errno = EPERM;
        report_error(p[1], CHILD_ERROR_FAILED, -ENOSPC, "Cannot write '%s': %m", "x");
        g_assert_cmpint(errno, ==, EPERM);
        p[1] = safe_close(p[1]);
        g_assert_cmpint(report_read(p[0], &r), ==, 0);
        g_assert_true(r.have_error);
        g_assert_cmpint(r.error, ==, -ENOSPC);
        g_assert_cmpstr(r.message, ==, "Cannot write 'x': No space left on device");
}

static void test_status_only(void) {
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        Report r = {};

        make_pipe(p);
        report_status(p[1], SIGKILL); /* a wait status: killed by signal 9 */
        p[1] = safe_close(p[1]);
        g_assert_cmpint(report_read(p[0], &r), ==, 0);
        g_assert_false(r.have_error);
        g_assert_true(r.have_status);
        g_assert_true(WIFSIGNALED(r.wstatus));
        g_assert_cmpint(WTERMSIG(r.wstatus), ==, SIGKILL);
}

static void test_first_error_last_status(void) {
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        Report r = {};

        /* The first error is the cause; later ones are consequences (the init
         * reporting that its child failed, say). The last status is the final word. */
        make_pipe(p);
        report_status(p[1], 1 << 8);
        report_error(p[1], CHILD_ERROR_EXEC, -ENOENT, "first");
        report_status(p[1], 2 << 8);
        report_error(p[1], CHILD_ERROR_FAILED, -EIO, "second");
        report_error(p[1], CHILD_ERROR_NO_SUCH_USER, -EPERM, "third");
        report_status(p[1], 42 << 8);
        p[1] = safe_close(p[1]);
        g_assert_cmpint(report_read(p[0], &r), ==, 0);
        g_assert_true(r.have_error);
        g_assert_cmpint(r.error_kind, ==, CHILD_ERROR_EXEC);
        g_assert_cmpint(r.error, ==, -ENOENT);
        g_assert_cmpstr(r.message, ==, "first");
        g_assert_true(r.have_status);
        g_assert_cmpint(WEXITSTATUS(r.wstatus), ==, 42);
}

static void test_long_message(void) {
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        g_autofree char *big = g_strnfill(5000, 'x');
        Report r = {};

        /* Truncated to fit the record, still NUL-terminated, the record still whole. */
        make_pipe(p);
        report_error(p[1], CHILD_ERROR_FAILED, -E2BIG, "%s", big);
        report_status(p[1], 0);
        p[1] = safe_close(p[1]);
        g_assert_cmpint(report_read(p[0], &r), ==, 0);
        g_assert_true(r.have_error);
        g_assert_cmpuint(strlen(r.message), ==, REPORT_MESSAGE_MAX - 1);
        g_assert_true(r.have_status);
        g_assert_cmpint(r.wstatus, ==, 0);
}

static void test_no_fd(void) {
        /* Children without a report pipe just carry on. */
        report_error(-EBADF, CHILD_ERROR_FAILED, -EIO, "nobody listens");
        report_status(-EBADF, 0);
}

static void test_truncated(void) {
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        Report r = { .have_error = true };

        /* A partial record (a writer killed mid-write cannot produce one, but a
         * confused one can) is an error, not garbage taken for data. */
        make_pipe(p);
        report_status(p[1], 0);
        g_assert_cmpint(write(p[1], "abc", 3), ==, 3);
        p[1] = safe_close(p[1]);
        g_assert_cmpint(report_read(p[0], &r), ==, -EBADMSG);
}

static void test_nonblocking_writer_open(void) {
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        Report r = {};

        /* The service reads a non-blocking pipe whose writers may not all be gone
         * (a command's grandchild still holding it): it takes what is there. */
        g_assert_cmpint(pipe2(p, O_CLOEXEC | O_NONBLOCK), ==, 0);
        report_status(p[1], 5 << 8);
        g_assert_cmpint(report_read(p[0], &r), ==, 0);
        g_assert_true(r.have_status);
        g_assert_cmpint(WEXITSTATUS(r.wstatus), ==, 5);
}

static void test_many_writers(void) {
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        Report r = {};
        enum { N = 16, PER_CHILD = 50 };
        pid_t pids[N];

        /* Records from several processes at once arrive whole: each is one write()
         * below PIPE_BUF. More than the pipe holds, so writers block and interleave. */
        make_pipe(p);
        for (int i = 0; i < N; i++) {
                pids[i] = fork();
                g_assert_cmpint(pids[i], >=, 0);
                if (pids[i] == 0) {
                        safe_close(p[0]);
                        for (int k = 0; k < PER_CHILD; k++)
                                report_status(p[1], 7 << 8);
                        _exit(0);
                }
        }
        p[1] = safe_close(p[1]);
        g_assert_cmpint(report_read(p[0], &r), ==, 0);
        g_assert_true(r.have_status);
        g_assert_cmpint(r.wstatus, ==, 7 << 8);
        g_assert_false(r.have_error);
        for (int i = 0; i < N; i++) {
                int status;
                g_assert_cmpint(waitpid(pids[i], &status, 0), ==, pids[i]);
                g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
}

static void test_incremental(void) {
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        Report r = {};

        /* The service reads a Run's records as they come (non-blocking): an error, then
         * nothing yet, then the status while the writer is still there, then EOF. */
        make_pipe(p);
        g_assert_cmpint(fcntl(p[0], F_SETFL, O_NONBLOCK), ==, 0);
        g_assert_cmpint(report_read_more(p[0], &r), ==, 0);
        g_assert_false(r.have_error || r.have_status);
        report_error(p[1], CHILD_ERROR_EXEC, -ENOENT, "first");
        g_assert_cmpint(report_read_more(p[0], &r), ==, 0);
        g_assert_true(r.have_error);
        g_assert_false(r.have_status);
        report_error(p[1], CHILD_ERROR_FAILED, -EIO, "second");
        report_status(p[1], 127 << 8);
        g_assert_cmpint(report_read_more(p[0], &r), ==, 0);
        g_assert_true(r.have_status);
        g_assert_cmpint(WEXITSTATUS(r.wstatus), ==, 127);
        /* what was read before is kept: the first error wins */
        g_assert_cmpint(r.error_kind, ==, CHILD_ERROR_EXEC);
        g_assert_cmpstr(r.message, ==, "first");
        p[1] = safe_close(p[1]);
        g_assert_cmpint(report_read_more(p[0], &r), ==, 1);
        g_assert_cmpstr(r.message, ==, "first");
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/report/empty", test_empty);
        g_test_add_func("/report/round-trip", test_round_trip);
        g_test_add_func("/report/status-only", test_status_only);
        g_test_add_func("/report/error-m", test_error_m);
        g_test_add_func("/report/first-error-last-status", test_first_error_last_status);
        g_test_add_func("/report/long-message", test_long_message);
        g_test_add_func("/report/no-fd", test_no_fd);
        g_test_add_func("/report/truncated", test_truncated);
        g_test_add_func("/report/nonblocking-writer-open", test_nonblocking_writer_open);
        g_test_add_func("/report/many-writers", test_many_writers);
        g_test_add_func("/report/incremental", test_incremental);
        return g_test_run();
}
