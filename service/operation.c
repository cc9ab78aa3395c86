/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "operation.h"
#include "process-util.h"
#include "report.h"
#include "util.h"

#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>

struct Operation {
        pid_t pid;
        int pidfd;
        int report_fd;
        sd_event_source *source;
        const char *what;
        operation_done_t done;
        void *userdata;
};

/* A child's report and exit, as an outcome. */
static void operation_outcome(Operation *op, const siginfo_t *si, Outcome *ret) {
        Report rep = {};
        Outcome o = {};

        if (op->report_fd >= 0)
                (void) report_read(op->report_fd, &rep);
        if (rep.have_error)
                (void) error_set(&o.error, child_error_kind(rep.error_kind), rep.error, "%s", rep.message);
        else if (si->si_code == CLD_EXITED && si->si_status != 0)
                (void) error_set(&o.error, ERROR_FAILED, 0, "%s failed with exit status %d", op->what, si->si_status);
        else if (si->si_code != CLD_EXITED)
                (void) error_set(&o.error, ERROR_FAILED, 0, "%s was killed by signal %s", op->what,
                                 strsignal(si->si_status));
        *ret = o;
}

static int on_child_exit(sd_event_source *source, const siginfo_t *si, void *userdata) {
        Operation *op = userdata;
        Outcome o = {};

        /* sd-event has reaped it: nothing is left to kill. */
        op->pid = 0;
        operation_outcome(op, si, &o);
        op->done(op, &o, op->userdata);
        outcome_done(&o);
        operation_free(op);
        return 0;
}

int operation_watch(sd_event *event, pid_t pid, int pidfd, int report_fd, const char *what, operation_done_t done,
                    void *userdata, Operation **ret) {
        _cleanup_(operation_freep) Operation *op = NULL;
        int r;

        assert(event && pid > 0 && pidfd >= 0 && done && ret);
        op = calloc(1, sizeof(Operation));
        if (!op) {
                sigkill_wait(pid);
                safe_close(pidfd);
                safe_close(report_fd);
                return -ENOMEM;
        }
        *op = (Operation) { .pid = pid, .pidfd = pidfd, .report_fd = report_fd, .what = what, .done = done,
                            .userdata = userdata };
        r = sd_event_add_child_pidfd(event, &op->source, pidfd, WEXITED, on_child_exit, op);
        if (r < 0)
                return r; /* freeing op kills and reaps the child */
        /* The source owns neither: operation_free() kills and reaps itself, so that
         * the order of teardown is ours. */
        *ret = TAKE_PTR(op);
        return 0;
}

int operation_watch_pid(sd_event *event, pid_t pid, int report_fd, const char *what, operation_done_t done,
                        void *userdata, Operation **ret) {
        int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);

        if (pidfd < 0) {
                int r = -errno;
                sigkill_wait(pid); /* our child, not reaped yet: its pid is still its own */
                safe_close(report_fd);
                return r;
        }
        return operation_watch(event, pid, pidfd, report_fd, what, done, userdata, ret);
}

void operation_kill(Operation *op) {
        if (op && op->pid > 0)
                (void) syscall(SYS_pidfd_send_signal, op->pidfd, SIGKILL, NULL, 0);
}

pid_t operation_pid(const Operation *op) {
        return op ? op->pid : 0;
}

Operation *operation_free(Operation *op) {
        if (!op)
                return NULL;
        op->source = sd_event_source_unref(op->source);
        if (op->pid > 0)
                sigkill_wait(op->pid); /* not reaped yet: sd-event reaps only on exit */
        safe_close(op->pidfd);
        safe_close(op->report_fd);
        free(op);
        return NULL;
}
