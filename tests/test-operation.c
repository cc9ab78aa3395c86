/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Operations own child processes: done once with the outcome, kill and reap on free. */
#include "operation.h"
#include "report.h"
#include "util.h"

#include <fcntl.h>
#include <glib.h>
#include <signal.h>
#include <sys/wait.h>

typedef struct Seen {
        int calls;
        ErrorKind kind;
        char *message;
        Operation *op;
} Seen;

static void on_done(Operation *op, Outcome *o, void *userdata) {
        Seen *seen = userdata;

        g_assert_true(op == seen->op);
        seen->calls++;
        seen->kind = o->error.kind;
        seen->message = g_strdup(o->error.message);
        seen->op = NULL;
}

/* Fork a child that runs body(report_fd) and exits with its value. */
static pid_t fork_child(int (*body)(int fd), int *ret_report) {
        int p[2];
        pid_t pid;

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                close(p[0]);
                _exit(body(p[1]));
        }
        close(p[1]);
        *ret_report = p[0];
        return pid;
}

static int body_ok(int fd) {
        return 0;
}

static int body_exit3(int fd) {
        return 3;
}

static int body_report(int fd) {
        report_error(fd, CHILD_ERROR_UNSAFE_ARCHIVE, -EPERM, "entry %s escapes", "../x");
        return 1;
}

static int body_sleep(int fd) {
        pause();
        return 0;
}

static void run_until_done(sd_event *e, Seen *seen) {
        for (int i = 0; i < 500 && seen->calls == 0; i++)
                g_assert_cmpint(sd_event_run(e, 10 * 1000), >=, 0);
        g_assert_cmpint(seen->calls, ==, 1);
}

static void watch(sd_event *e, int (*body)(int), Seen *seen, pid_t *ret_pid) {
        int report;
        pid_t pid = fork_child(body, &report);

        g_assert_cmpint(operation_watch_pid(e, pid, report, "Testing", on_done, seen, &seen->op), ==, 0);
        g_assert_cmpint(operation_pid(seen->op), ==, pid);
        if (ret_pid)
                *ret_pid = pid;
}

static void test_outcomes(void) {
        sd_event *e = NULL;
        Seen ok = {}, three = {}, rep = {};

        g_assert_cmpint(sd_event_new(&e), ==, 0);
        watch(e, body_ok, &ok, NULL);
        run_until_done(e, &ok);
        g_assert_cmpuint(ok.kind, ==, ERROR_NONE);

        watch(e, body_exit3, &three, NULL);
        run_until_done(e, &three);
        g_assert_cmpuint(three.kind, ==, ERROR_FAILED);
        g_assert_cmpstr(three.message, ==, "Testing failed with exit status 3");

        /* A report's error wins over the exit status. */
        watch(e, body_report, &rep, NULL);
        run_until_done(e, &rep);
        g_assert_cmpuint(rep.kind, ==, ERROR_UNSAFE_ARCHIVE);
        g_assert_cmpstr(rep.message, ==, "entry ../x escapes");
        g_free(ok.message), g_free(three.message), g_free(rep.message);
        sd_event_unref(e);
}

static void test_kill(void) {
        sd_event *e = NULL;
        Seen seen = {};

        g_assert_cmpint(sd_event_new(&e), ==, 0);
        watch(e, body_sleep, &seen, NULL);
        operation_kill(seen.op);
        run_until_done(e, &seen);
        g_assert_cmpuint(seen.kind, ==, ERROR_FAILED);
        g_assert_nonnull(strstr(seen.message, "killed by signal"));
        g_free(seen.message);
        sd_event_unref(e);
}

static void test_free_kills_and_reaps(void) {
        sd_event *e = NULL;
        Seen seen = {};
        pid_t pid;

        g_assert_cmpint(sd_event_new(&e), ==, 0);
        watch(e, body_sleep, &seen, &pid);
        g_assert_cmpint(kill(pid, 0), ==, 0);
        operation_free(seen.op);
        /* Killed and reaped: no such process, not even a zombie, and no callback. */
        g_assert_cmpint(kill(pid, 0), ==, -1);
        g_assert_cmpint(errno, ==, ESRCH);
        g_assert_cmpint(sd_event_run(e, 50 * 1000), >=, 0);
        g_assert_cmpint(seen.calls, ==, 0);
        sd_event_unref(e);
}

int main(int argc, char *argv[]) {
        sigset_t mask;

        /* sd-event watches children through pidfds with SIGCHLD blocked, as the service. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/operation/outcomes", test_outcomes);
        g_test_add_func("/operation/kill", test_kill);
        g_test_add_func("/operation/free-kills-and-reaps", test_free_kills_and_reaps);
        return g_test_run();
}
