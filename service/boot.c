/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "boot.h"
#include "cgroup.h"
#include "fdpass.h"
#include "init.h"
#include "mounts.h"
#include "process-util.h"
#include "report.h"
#include "run-request.h"
#include "userns.h"
#include "util.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#define NOTIFY_PATH "/run/host/notify"

int boot_send_request(int ctl, int report_fd, const BootRequest *req) {
        return fdpass_send(ctl, req, sizeof(*req), &report_fd, 1);
}

void boot_answer_close(BootAnswer *a) {
        a->pid1_pidfd = safe_close(a->pid1_pidfd);
        a->console = safe_close(a->console);
        a->console_peer = safe_close(a->console_peer);
        a->notify = safe_close(a->notify);
        a->agent = safe_close(a->agent);
}

static void close_fds(int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                safe_close(fds[i]);
}

int boot_receive_answer(int ctl, BootAnswer *ret) {
        int32_t pid1;
        int fds[5];
        size_t n_fds = 0;
        ssize_t n;

        n = fdpass_recv(ctl, &pid1, sizeof(pid1), fds, 5, &n_fds);
        if (n == 0 || n == -ECONNRESET || n == -EPIPE)
                return -EPIPE;
        if (n < 0)
                return (int) n;
        if (n != sizeof(pid1) || n_fds != 5 || pid1 <= 0) {
                close_fds(fds, n_fds);
                return -EBADMSG;
        }
        *ret = (BootAnswer) { .pid1_pidfd = fds[0], .console = fds[1], .console_peer = fds[2], .notify = fds[3],
                              .agent = fds[4] };
        return 0;
}

int boot_agent_send(int agent, int report_fd, const int stdio[3], int params_fd, int terminal_fd) {
        return run_send_request(agent, report_fd, stdio, params_fd, terminal_fd);
}

int boot_agent_signal(int agent, int sig) {
        return run_send_signal(agent, sig);
}

int boot_agent_receive(int agent, int *ret_pidfd) {
        int32_t answer;
        int fd = -EBADF;
        size_t n_fds = 0;
        ssize_t n;

        n = fdpass_recv(agent, &answer, sizeof(answer), &fd, 1, &n_fds);
        if (n == 0 || n == -ECONNRESET || n == -EPIPE)
                return -EPIPE;
        if (n < 0)
                return (int) n;
        if (n != sizeof(answer) || answer <= 0 || n_fds != 1) {
                if (n_fds > 0)
                        safe_close(fd);
                return answer < 0 && n == sizeof(answer) ? answer : -EBADMSG;
        }
        *ret_pidfd = fd;
        return 0;
}

/* ---- inside the container: the agent ---- */

/* The cgroup every command of the session joins (under the root of the container's
 * cgroup namespace, beside systemd's slices): Session.Kill signals all of it, so that
 * it reaches what a Run left behind, as ending a login reaches its processes. */
#define RUNS_CGROUP "chrootd-runs"

/* Its cgroup.procs; the cgroup is made by the first Run (and again if root inside
 * removed it). */
static int runs_cgroup_procs(int cgroot) {
        int fd = openat(cgroot, RUNS_CGROUP "/cgroup.procs", O_WRONLY | O_NOFOLLOW | O_CLOEXEC);

        if (fd < 0 && errno == ENOENT) {
                if (mkdirat(cgroot, RUNS_CGROUP, 0755) < 0 && errno != EEXIST)
                        return -errno;
                fd = openat(cgroot, RUNS_CGROUP "/cgroup.procs", O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
        }
        return fd < 0 ? -errno : fd;
}

/* Session.Kill: sig to each process of the commands' cgroup (SIGKILL through
 * cgroup.kill where the kernel has it, which also catches what forks meanwhile). */
static void agent_signal(int cgroot, int sig) {
        _cleanup_fclose_ FILE *f = NULL;
        int fd;
        long pid;

        if (sig == SIGKILL) {
                _cleanup_close_ int kfd = openat(cgroot, RUNS_CGROUP "/cgroup.kill", O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
                if (kfd >= 0 && write(kfd, "1", 1) == 1)
                        return;
        }
        fd = openat(cgroot, RUNS_CGROUP "/cgroup.procs", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return;
        f = fdopen(fd, "r");
        if (!f) {
                safe_close(fd);
                return;
        }
        while (fscanf(f, "%ld", &pid) == 1)
                if (pid > 1)
                        (void) kill((pid_t) pid, sig);
}

/* One command: a child that runs it and reports; the service gets the child's pidfd. */
static int agent_fork(int sock, int cgroot, RunRequestFds *fds) {
        int pidfd = -EBADF;
        struct clone_args args = {
                .flags = CLONE_PIDFD,
                .pidfd = (uint64_t) (uintptr_t) &pidfd,
                .exit_signal = SIGCHLD,
        };
        int32_t answer;
        pid_t pid;

        pid = (pid_t) syscall(SYS_clone3, &args, sizeof(args));
        if (pid == 0) {
                _cleanup_close_ int procs = -EBADF;
                int status;

                safe_close(sock);
                reset_signals();
                spawn_rename_process("chrootd-run");
                procs = runs_cgroup_procs(cgroot);
                if (procs < 0) {
                        report_error(fds->report_fd, CHILD_ERROR_FAILED, procs,
                                     "Cannot open the cgroup of the session's commands (/sys/fs/cgroup/" RUNS_CGROUP
                                     "): %m");
                        _exit(EXIT_FAILURE);
                }
                status = init_run_contained(fds, procs);
                if (status < 0)
                        _exit(EXIT_FAILURE);
                report_status(fds->report_fd, status);
                _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        }
        if (pid < 0) {
                answer = -errno;
                return fdpass_send(sock, &answer, sizeof(answer), NULL, 0);
        }
        answer = (int32_t) pid;
        int r = fdpass_send(sock, &answer, sizeof(answer), &pidfd, 1);
        safe_close(pidfd);
        return r;
}

_noreturn_ static void agent_main(int sock) {
        struct sigaction sa = { .sa_handler = SIG_IGN, .sa_flags = SA_NOCLDWAIT };
        int null, cgroot;

        spawn_rename_process("chrootd-agent");
        (void) close_all_fds_except(&sock, 1);
        /* The container's cgroup2, opened before anything inside can mount over it. */
        cgroot = open("/sys/fs/cgroup", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cgroot < 0)
                _exit(EXIT_FAILURE);
        null = open("/dev/null", O_RDWR | O_CLOEXEC);
        for (int i = 0; null >= 0 && i < 3; i++)
                (void) dup2(null, i);
        /* Its commands are reaped by the kernel; the service watches them by pidfd. */
        sigemptyset(&sa.sa_mask);
        (void) sigaction(SIGCHLD, &sa, NULL);
        for (;;) {
                _cleanup_(run_request_fds_close) RunRequestFds fds = RUN_REQUEST_FDS_NULL;
                int sig, r = run_receive_message(sock, &fds, &sig);

                if (r == -EBADMSG || r == -EINTR)
                        continue;
                if (r <= 0)
                        _exit(r == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
                if (r == 2)
                        agent_signal(cgroot, sig);
                else if (agent_fork(sock, cgroot, &fds) < 0)
                        _exit(EXIT_FAILURE);
        }
}

/* ---- inside the container: PID 1 until it executes the tree's init ---- */

typedef struct Boot {
        BootRequest req;
        const char *hostname;
        int report_fd;
        int cgroupfd;      /* the scope's cgroup (the boot init's), read-write */
        int payload_procs; /* payload/cgroup.procs there */
        int console_master, console;
        int notify;
        int agent[2];
        char *os_release;
} Boot;

static void boot_done(Boot *b) {
        b->report_fd = safe_close(b->report_fd);
        b->cgroupfd = safe_close(b->cgroupfd);
        b->payload_procs = safe_close(b->payload_procs);
        b->console_master = safe_close(b->console_master);
        b->console = safe_close(b->console);
        b->notify = safe_close(b->notify);
        b->agent[0] = safe_close(b->agent[0]);
        b->agent[1] = safe_close(b->agent[1]);
        b->os_release = mfree(b->os_release);
}

_noreturn_ static void pid1_fail(Boot *b, int r, const char *what) {
        report_error(b->report_fd, CHILD_ERROR_FAILED, r, "Cannot %s in the container: %m", what);
        _exit(EXIT_FAILURE);
}

/* /proc/sys/kernel/random/boot_id is the kernel's, the same for every container and
 * every boot of one: each boot of the container gets one of its own instead (as
 * systemd-nspawn does), a file of ours bound over it. */
static int bind_boot_id(void) {
        static const char path[] = "/run/.chrootd-boot-id";
        uint8_t u[16];
        char text[40];
        int fd, r = 0;

        if (getrandom(u, sizeof(u), 0) != sizeof(u))
                return -EIO;
        u[6] = (u[6] & 0x0f) | 0x40;
        u[8] = (u[8] & 0x3f) | 0x80;
        snprintf(text, sizeof(text), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x\n", u[0], u[1],
                 u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
        fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0444);
        if (fd < 0)
                return -errno;
        if (write_full(fd, text, strlen(text)) < 0 ||
            mount(path, "/proc/sys/kernel/random/boot_id", NULL, MS_BIND, NULL) < 0 ||
            mount(NULL, "/proc/sys/kernel/random/boot_id", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  NULL) < 0)
                r = -errno;
        safe_close(fd);
        (void) unlink(path);
        return r;
}

/* Capabilities that reach only what belongs to the host's root (modules, raw I/O, the
 * clock, audit, MAC policy, kernel tracing): of no use in a user namespace, and
 * systemd asks for them (ConditionCapability=) before it tries such things, as in any
 * container. Dropped from PID 1's bounding set, and so from everything inside. */
static const int dropped_caps[] = {
        CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_SYS_PACCT, CAP_SYS_TIME, CAP_MAC_OVERRIDE, CAP_MAC_ADMIN,
        CAP_AUDIT_CONTROL, CAP_AUDIT_READ, CAP_SYSLOG, CAP_WAKE_ALARM, CAP_BLOCK_SUSPEND, CAP_PERFMON, CAP_BPF,
};

/* PID 1 of the container's pid namespace: into payload/, its own namespaces, the
 * agent, then the tree's init with the console as its streams. */
_noreturn_ static void boot_pid1(Boot *b) {
        static const char *const inits[] = { "/sbin/init", "/lib/systemd/systemd", "/usr/lib/systemd/systemd" };
        unsigned long flags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC;
        char *argv[] = { (char *) "/sbin/init", NULL };
        char uuid_env[64];
        char *envp[] = {
                (char *) "container=chrootd", uuid_env, (char *) "NOTIFY_SOCKET=" NOTIFY_PATH,
                (char *) "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", (char *) "TERM=vt220", NULL,
        };
        pid_t agent;
        int r;

        if (write(b->payload_procs, "0", 1) != 1)
                pid1_fail(b, -errno, "enter the container's cgroup");
        b->payload_procs = safe_close(b->payload_procs);
        b->cgroupfd = safe_close(b->cgroupfd);
        b->console_master = safe_close(b->console_master);
        b->notify = safe_close(b->notify);
        b->agent[0] = safe_close(b->agent[0]);
        if (!(b->req.flags & BOOT_HOST_NETWORK))
                flags |= CLONE_NEWNET;
        if (unshare(flags) < 0)
                pid1_fail(b, -errno, "make the container's namespaces");
        if (!(b->req.flags & BOOT_HOST_NETWORK) && (r = loopback_up()) < 0)
                pid1_fail(b, r, "bring up lo");
        if (b->hostname && sethostname(b->hostname, strlen(b->hostname)) < 0)
                pid1_fail(b, -errno, "set the hostname");
        /* Mounted by the container's own user namespace: this /proc shows its pid
         * namespace, this cgroup2 the container's cgroup namespace, payload/. */
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                pid1_fail(b, -errno, "mount /proc");
        r = bind_boot_id();
        if (r < 0)
                pid1_fail(b, r, "give the container a boot id of its own");
        /* As a container's is: its files belong to the host's root anyway, and systemd
         * skips what needs them when they are read-only. */
        if (mount("/proc/sys", "/proc/sys", NULL, MS_BIND | MS_REC, NULL) < 0 ||
            mount(NULL, "/proc/sys", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                pid1_fail(b, -errno, "make /proc/sys read-only");
        if (mount("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                pid1_fail(b, -errno, "mount /sys/fs/cgroup");

        for (size_t i = 0; i < ELEMENTSOF(dropped_caps); i++)
                if (prctl(PR_CAPBSET_DROP, dropped_caps[i], 0, 0, 0) < 0 && errno != EINVAL)
                        pid1_fail(b, -errno, "drop capabilities from the bounding set");

        agent = fork();
        if (agent < 0)
                pid1_fail(b, -errno, "fork the agent");
        if (agent == 0) {
                safe_close(b->report_fd);
                safe_close(b->console);
                agent_main(b->agent[1]);
        }
        b->agent[1] = safe_close(b->agent[1]);

        snprintf(uuid_env, sizeof(uuid_env), "container_uuid=%s", b->req.uuid);
        (void) setsid();
        (void) ioctl(b->console, TIOCSCTTY, 0);
        int stdio[3] = { b->console, b->console, b->console };
        for (int i = 0; i < 3; i++)
                if (dup2(stdio[i], i) < 0)
                        pid1_fail(b, -errno, "set up the console");
        int report = fcntl(b->report_fd, F_DUPFD_CLOEXEC, 3);
        if (report < 0 || dup3(report, 3, O_CLOEXEC) < 0)
                pid1_fail(b, -errno, "set up the report pipe");
        b->report_fd = 3;
        (void) syscall(SYS_close_range, 4, ~0U, 0);
        reset_signals();
        for (size_t i = 0; i < ELEMENTSOF(inits); i++) {
                execve(inits[i], argv, envp);
                r = -errno;
        }
        report_error(b->report_fd, CHILD_ERROR_EXEC, r, "Cannot execute the chroot's init (/sbin/init): %m");
        _exit(127);
}

/* The boot init's cgroup (the scope the service made for it), opened read-write
 * before /sys becomes the container's read-only one. */
static int open_own_cgroup(int *ret) {
        _cleanup_free_ char *text = NULL, *path = NULL, *dir = NULL;
        struct statfs sfs;
        int fd, r;

        r = read_file_at(AT_FDCWD, "/proc/self/cgroup", 64 * 1024, &text);
        if (r >= 0)
                r = cgroup_unified_path(text, &path);
        if (r < 0)
                return r == -ENOENT ? -EOPNOTSUPP : r;
        dir = strf("/sys/fs/cgroup%s", path);
        if (!dir)
                return -ENOMEM;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstatfs(fd, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC) {
                safe_close(fd);
                return -EOPNOTSUPP;
        }
        *ret = fd;
        return 0;
}

static int bind_notify_socket(int *ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = NOTIFY_PATH };
        int one = 1, fd;

        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0) {
                int r = -errno;
                safe_close(fd);
                return r;
        }
        *ret = fd;
        return 0;
}

/* Everything before PID 1: the cgroup, the file system, the console, the notify
 * socket, the user namespace and the pid namespace PID 1 is forked into. Returns 0 or
 * -errno with *ret_what naming the step. */
static int boot_prepare(Boot *b, const char **ret_what) {
        _cleanup_close_ int rootfd = -EBADF;
        int r;

        *ret_what = "find the session's cgroup (booting needs cgroup v2 at /sys/fs/cgroup)";
        r = open_own_cgroup(&b->cgroupfd);
        if (r < 0)
                return r;
        *ret_what = "make the container's cgroup";
        if (mkdirat(b->cgroupfd, "payload", 0755) < 0)
                return -errno;
        b->payload_procs = openat(b->cgroupfd, "payload/cgroup.procs", O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
        if (b->payload_procs < 0)
                return -errno;
        /* The host's, read while / is still the host's. */
        if (read_file_at(AT_FDCWD, "/etc/os-release", 64 * 1024, &b->os_release) < 0)
                (void) read_file_at(AT_FDCWD, "/usr/lib/os-release", 64 * 1024, &b->os_release);

        *ret_what = "open the session's tree";
        rootfd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return -errno;
        r = mounts_setup(rootfd, ret_what);
        if (r < 0)
                return r;
        *ret_what = "make the console";
        r = mounts_open_pty(rootfd, &b->console_master, &b->console);
        if (r < 0)
                return r;
        r = mounts_container(rootfd, b->console, b->os_release, ret_what);
        if (r < 0)
                return r;
        *ret_what = "pivot_root into the tree";
        r = mounts_pivot(rootfd);
        if (r < 0)
                return r;
        *ret_what = "make the notify socket";
        r = bind_notify_socket(&b->notify);
        if (r >= 0 && (*ret_what = "make /run/host read-only"))
                r = mounts_make_readonly("/run/host");
        if (r < 0)
                return r;

        *ret_what = "make the container's user namespace";
        r = userns_enter_nested_undumpable();
        if (r < 0)
                return r;
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                return -errno;
        /* Owned by the container's user namespace, so that systemd's reboot() there
         * ends PID 1 with SIGHUP or SIGINT instead of failing. */
        *ret_what = "make the container's pid namespace";
        if (unshare(CLONE_NEWPID) < 0)
                return -errno;
        *ret_what = "make the agent's socket";
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, b->agent) < 0)
                return -errno;
        return 0;
}

static int receive_request(int ctl, BootRequest *req, int *ret_report) {
        size_t n_fds = 0;
        int fd = -EBADF;
        ssize_t n;

        n = fdpass_recv(ctl, req, sizeof(*req), &fd, 1, &n_fds);
        if (n <= 0)
                return (int) n;
        if (n != sizeof(*req) || n_fds != 1) {
                if (n_fds > 0)
                        safe_close(fd);
                return -EBADMSG;
        }
        req->uuid[sizeof(req->uuid) - 1] = 0;
        *ret_report = fd;
        return 1;
}

int boot_init_main(int ctl, const char *hostname) {
        _cleanup_(boot_done) Boot b = {
                .hostname = hostname, .report_fd = -EBADF, .cgroupfd = -EBADF, .payload_procs = -EBADF,
                .console_master = -EBADF, .console = -EBADF, .notify = -EBADF, .agent = { -EBADF, -EBADF },
        };
        _cleanup_close_ int pidfd = -EBADF;
        const char *what = "";
        int32_t answer;
        pid_t pid;
        int r, st = 0;

        if (init_process_detach(ctl, "chrootd-boot") < 0)
                return EXIT_FAILURE;
        r = receive_request(ctl, &b.req, &b.report_fd);
        if (r <= 0)
                return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
        r = boot_prepare(&b, &what);
        if (r < 0) {
                report_error(b.report_fd, CHILD_ERROR_FAILED, r, "Cannot %s: %m", what);
                if (b.cgroupfd >= 0)
                        cgroup_remove_tree(b.cgroupfd, "payload");
                return EXIT_FAILURE;
        }
        struct clone_args args = {
                .flags = CLONE_PIDFD,
                .pidfd = (uint64_t) (uintptr_t) &pidfd,
                .exit_signal = SIGCHLD,
        };
        pid = (pid_t) syscall(SYS_clone3, &args, sizeof(args));
        if (pid == 0) {
                safe_close(ctl);
                boot_pid1(&b);
        }
        if (pid < 0) {
                report_error(b.report_fd, CHILD_ERROR_FAILED, -errno, "Cannot fork the container's PID 1: %m");
                cgroup_remove_tree(b.cgroupfd, "payload");
                return EXIT_FAILURE;
        }
        b.agent[1] = safe_close(b.agent[1]);
        b.payload_procs = safe_close(b.payload_procs);
        answer = (int32_t) pid;
        /* The service keeps the console's other end open too: a pty whose slave nobody
         * holds reads as EIO/hangup while systemd reopens it. */
        int fds[5] = { pidfd, b.console_master, b.console, b.notify, b.agent[0] };
        (void) fdpass_send(ctl, &answer, sizeof(answer), fds, 5);
        b.console = safe_close(b.console);
        pidfd = safe_close(pidfd);
        b.console_master = safe_close(b.console_master);
        b.notify = safe_close(b.notify);
        b.agent[0] = safe_close(b.agent[0]);
        ctl = safe_close(ctl);

        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR) {
                        st = W_EXITCODE(255, 0);
                        break;
                }
        /* The container's processes died with its PID 1: its cgroups can go. */
        cgroup_remove_tree(b.cgroupfd, "payload");
        report_status(b.report_fd, st);
        return EXIT_SUCCESS;
}
