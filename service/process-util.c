/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "process-util.h"
#include "util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static char *argv_area;
static size_t argv_area_size;

void spawn_save_argv(int argc, char **argv) {
        if (argc <= 0)
                return;
        /* The strings of argv lie back to back; the area ends after the last one. */
        argv_area = argv[0];
        argv_area_size = (size_t) (argv[argc - 1] + strlen(argv[argc - 1]) + 1 - argv[0]);
}

void spawn_rename_process(const char *name) {
        (void) prctl(PR_SET_NAME, name);
        if (argv_area && argv_area_size > 1) {
                memset(argv_area, 0, argv_area_size);
                strncpy(argv_area, name, argv_area_size - 1);
        }
}

static int cmp_int(const void *a, const void *b) {
        return *(const int *) a - *(const int *) b;
}

int close_all_fds_except(const int *keep, size_t n) {
        int sorted[n + 1];
        int from = 3;

        if (n > 0) {
                memcpy(sorted, keep, n * sizeof(int));
                qsort(sorted, n, sizeof(int), cmp_int);
        }
        for (size_t i = 0; i < n; i++) {
                if (sorted[i] < from)
                        continue;
                if (sorted[i] > from && syscall(SYS_close_range, from, sorted[i] - 1, 0) < 0)
                        return -errno;
                from = sorted[i] + 1;
        }
        if (syscall(SYS_close_range, from, ~0U, 0) < 0)
                return -errno;
        return 0;
}

void reset_signals(void) {
        struct sigaction sa = { .sa_handler = SIG_DFL };
        sigset_t none;

        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) sigaction(sig, &sa, NULL);
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
}

int wait_for_child(pid_t pid, int *ret_status) {
        int status;

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (ret_status)
                *ret_status = status;
        return 0;
}

void sigkill_wait(pid_t pid) {
        if (pid <= 0)
                return;
        (void) kill(pid, SIGKILL);
        (void) wait_for_child(pid, NULL);
}

void pidfd_sigkill_close(int pidfd) {
        if (pidfd < 0)
                return;
        (void) syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
        (void) safe_close(pidfd);
}

int init_process_detach(int keep, const char *name) {
        _cleanup_close_ int null = -EBADF;
        int r;

        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || prctl(PR_SET_DUMPABLE, 0) < 0)
                return -errno;
        reset_signals();
        r = close_all_fds_except(&keep, 1);
        if (r < 0)
                return r;
        null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0)
                return -errno;
        for (int i = 0; i < 3; i++)
                if (dup2(null, i) < 0)
                        return -errno;
        /* Had null been one of 0..2, dup2() onto itself left it there: keep it. */
        if (null <= 2)
                TAKE_FD(null);
        spawn_rename_process(name);
        return 0;
}
