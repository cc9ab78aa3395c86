/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* process-util.h: what children do with what they inherit, and the cleanup that kills
 * and reaps a child an early return leaves behind. Whatever would change this test
 * process itself (its fds, signals, name) runs in a forked child, which reports back
 * through a pipe. */
#include <glib.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "process-util.h"
#include "util.h"

/* A child that sleeps until it is killed. */
static pid_t fork_sleeper(void) {
        pid_t pid = fork();

        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                for (;;)
                        pause();
        }
        return pid;
}

/* Whether pid is our child that has not been reaped (running or a zombie). */
static bool is_unreaped_child(pid_t pid) {
        siginfo_t si = {};

        return waitid(P_PID, (id_t) pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0;
}

static void test_sigkill_wait_cleanup(void) {
        pid_t pid = fork_sleeper(), copy = pid;

        g_assert_true(is_unreaped_child(pid));
        {
                _cleanup_(sigkill_waitp) pid_t p = pid;
        }
        /* Killed and reaped: no longer our child, no such process (nothing reuses a
         * pid this soon). */
        g_assert_false(is_unreaped_child(copy));
        g_assert_cmpint(waitpid(copy, NULL, WNOHANG), ==, -1);
        g_assert_cmpint(errno, ==, ECHILD);
        g_assert_cmpint(kill(copy, 0), ==, -1);
        g_assert_cmpint(errno, ==, ESRCH);
}

static void test_sigkill_wait_take(void) {
        pid_t pid = fork_sleeper(), kept;
        int status;

        {
                _cleanup_(sigkill_waitp) pid_t p = pid;
                kept = TAKE_PID(p);
                g_assert_cmpint(p, ==, 0);
        }
        /* Handed on: still running. */
        g_assert_cmpint(kept, ==, pid);
        g_assert_cmpint(waitpid(pid, &status, WNOHANG), ==, 0);
        g_assert_cmpint(kill(pid, 0), ==, 0);

        sigkill_waitp(&kept);
        g_assert_cmpint(kept, ==, 0);
        g_assert_false(is_unreaped_child(pid));
}

static void test_sigkill_wait_ignores_nonpositive(void) {
        /* kill(0, ...) would be our process group and kill(-1, ...) everything we may
         * signal: that this test goes on is the assertion. */
        sigkill_wait(0);
        sigkill_wait(-1);
        sigkill_wait(-2);
        {
                _cleanup_(sigkill_waitp) pid_t p = 0;
        }
        g_assert_cmpint(kill(getpid(), 0), ==, 0);
}

static void test_wait_for_child(void) {
        pid_t pid = fork();
        int status = -1;

        g_assert_cmpint(pid, >=, 0);
        if (pid == 0)
                _exit(7);
        g_assert_cmpint(wait_for_child(pid, &status), ==, 0);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 7);
        /* Reaped already; and our own pid is no child of ours. */
        g_assert_cmpint(wait_for_child(pid, NULL), ==, -ECHILD);
        g_assert_cmpint(wait_for_child(getpid(), &status), ==, -ECHILD);
}

static void test_pidfd_sigkill_close(void) {
        pid_t pid = fork_sleeper();
        int pidfd = (int) syscall(SYS_pidfd_open, pid, 0), status;

        if (pidfd < 0) {
                sigkill_wait(pid);
                g_test_skip("no pidfd_open() here");
                return;
        }
        {
                _cleanup_(pidfd_sigkill_closep) int fd = pidfd;
        }
        /* Killed, not reaped (it need not be our child): its parent reaps it. */
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFSIGNALED(status));
        g_assert_cmpint(WTERMSIG(status), ==, SIGKILL);
        g_assert_cmpint(fcntl(pidfd, F_GETFD), ==, -1);
        g_assert_cmpint(errno, ==, EBADF);
        pidfd_sigkill_close(-EBADF); /* nothing */
}

/* Run body(report_fd) in a forked child; returns what it wrote to report_fd (a string)
 * once it exited 0. */
static char *in_child(void (*body)(int report_fd)) {
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        char buf[256];
        ssize_t n;
        pid_t pid;
        int status;

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                p[0] = safe_close(p[0]);
                body(p[1]);
                _exit(0);
        }
        p[1] = safe_close(p[1]);
        n = read_full(p[0], buf, sizeof(buf) - 1);
        g_assert_cmpint(n, >=, 0);
        buf[n] = 0;
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
        return g_strdup(buf);
}

static bool fd_open(int fd) {
        return fcntl(fd, F_GETFD) >= 0;
}

static void close_fds_body(int report_fd) {
        int fds[6], keep[5];
        char out[16];

        for (int i = 0; i < 6; i++)
                if ((fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
                        _exit(2);
        /* Unsorted, with a duplicate and a standard stream: only fds[1] and fds[4] (and
         * the report pipe) stay among those above 2. */
        keep[0] = fds[4];
        keep[1] = report_fd;
        keep[2] = 1;
        keep[3] = fds[1];
        keep[4] = fds[4];
        if (close_all_fds_except(keep, ELEMENTSOF(keep)) < 0)
                _exit(3);
        for (int i = 0; i < 6; i++)
                out[i] = fd_open(fds[i]) ? '1' : '0';
        out[6] = fd_open(0) && fd_open(1) && fd_open(2) ? 's' : '-';
        /* Nothing else above 2 but what was kept. */
        out[7] = '+';
        for (int fd = 3; fd < 1024; fd++)
                if (fd_open(fd) && fd != report_fd && fd != fds[1] && fd != fds[4])
                        out[7] = '!';
        (void) write_full(report_fd, out, 8);
}

static void test_close_all_fds_except(void) {
        g_autofree char *got = in_child(close_fds_body);

        g_assert_cmpstr(got, ==, "010010s+");
}

/* With nothing to keep, everything above 2 goes; the standard streams stay. */
static void test_close_all_fds_except_none(void) {
        pid_t pid;
        int status;

        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                int high = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 500);

                if (high < 0 || close_all_fds_except(NULL, 0) < 0)
                        _exit(2);
                if (fd_open(fd) || fd_open(high))
                        _exit(3);
                _exit(fd_open(0) && fd_open(1) && fd_open(2) ? 0 : 4);
        }
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

static void reset_signals_body(int report_fd) {
        struct sigaction ign = { .sa_handler = SIG_IGN }, got;
        sigset_t block, now;
        char out[3];

        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigaddset(&block, SIGUSR2);
        if (sigaction(SIGUSR1, &ign, NULL) < 0 || sigaction(SIGPIPE, &ign, NULL) < 0 ||
            sigprocmask(SIG_BLOCK, &block, NULL) < 0)
                _exit(2);
        reset_signals();
        (void) sigprocmask(SIG_SETMASK, NULL, &now);
        out[0] = sigismember(&now, SIGTERM) || sigismember(&now, SIGUSR2) ? 'b' : 'u';
        (void) sigaction(SIGUSR1, NULL, &got);
        out[1] = got.sa_handler == SIG_DFL ? 'd' : 'i';
        (void) sigaction(SIGPIPE, NULL, &got);
        out[2] = got.sa_handler == SIG_DFL ? 'd' : 'i';
        (void) write_full(report_fd, out, 3);
}

static void test_reset_signals(void) {
        g_autofree char *got = in_child(reset_signals_body);

        /* Unblocked, default handlers. */
        g_assert_cmpstr(got, ==, "udd");
}

static void rename_body(int report_fd) {
        char area[] = "/usr/libexec/chrootd/chrootd\0--debug\0--other";
        char *argv[] = { area, area + 29, area + 37, NULL };
        g_autofree char *comm = NULL;
        size_t len = sizeof(area);
        bool zeroed = true;

        spawn_save_argv(3, argv);
        spawn_rename_process("chrootd-init");
        /* The command line ps shows is the name alone, the rest of the area zeroed. */
        for (size_t i = strlen("chrootd-init"); i < len; i++)
                zeroed = zeroed && area[i] == 0;
        if (!g_file_get_contents("/proc/self/comm", &comm, NULL, NULL))
                _exit(2);
        g_strchomp(comm);
        (void) dprintf(report_fd, "%s|%s|%s", area, zeroed ? "zeroed" : "left", comm);
}

static void test_rename(void) {
        g_autofree char *got = in_child(rename_body);

        g_assert_cmpstr(got, ==, "chrootd-init|zeroed|chrootd-init");
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/process-util/sigkill-wait/cleanup", test_sigkill_wait_cleanup);
        g_test_add_func("/process-util/sigkill-wait/take", test_sigkill_wait_take);
        g_test_add_func("/process-util/sigkill-wait/nonpositive", test_sigkill_wait_ignores_nonpositive);
        g_test_add_func("/process-util/wait-for-child", test_wait_for_child);
        g_test_add_func("/process-util/pidfd-sigkill-close", test_pidfd_sigkill_close);
        g_test_add_func("/process-util/close-all-fds-except", test_close_all_fds_except);
        g_test_add_func("/process-util/close-all-fds-except/none", test_close_all_fds_except_none);
        g_test_add_func("/process-util/reset-signals", test_reset_signals);
        g_test_add_func("/process-util/rename", test_rename);
        return g_test_run();
}
