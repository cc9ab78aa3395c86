/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Booted sessions, the service's side: the session's leader forks a boot init
 * (boot.h), which goes into a scope of the session's slice; that scope's cgroup is
 * handed to the session's root; then the boot init is told to boot. The service holds
 * the console (into sessions/<id>/console), the notify socket (READY=1: the system is
 * up) and the agent's socket, over which Runs reach the container. PID 1's end with
 * SIGHUP is a reboot: the same tree boots again. End asks PID 1 to halt (SIGRTMIN+3)
 * and kills the boot init (and so the whole container) after a timeout. */
#include "session-private.h"
#include "boot.h"
#include "cgroup.h"
#include "process-util.h"
#include "report.h"
#include "util.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <inttypes.h>

#define BOOT_TIMEOUT_USEC (120 * 1000 * 1000ULL)  /* until READY=1 */
#define STOP_TIMEOUT_USEC (10 * 1000 * 1000ULL)   /* from SIGRTMIN+3 to SIGKILL */
#define CONSOLE_LOG_MAX (8 * 1024 * 1024)         /* the rest of a boot's console is dropped */

typedef enum BootPhase {
        BOOT_STARTING, /* no READY=1 yet */
        BOOT_RUNNING,
        BOOT_STOPPING, /* asked to halt (End) or to reboot */
} BootPhase;

struct Boot {
        Session *session;
        BootPhase phase;
        bool reboot;            /* boot again once it is down */
        pid_t pid;              /* the boot init */
        int pidfd;
        int ctl;                /* until its answer */
        char *unit;             /* its scope */
        SystemdJob *job;
        char *cgroup;           /* the scope's cgroup directory, once handed over */
        int report_fd;
        Report report;
        BootAnswer fds;
        pid_t pid1;             /* PID 1, as we see it (the notify socket's sender) */
        int log_fd;
        uint64_t log_size;
        uint64_t agent_sent, agent_answered; /* Runs given to the agent, pidfds back */
        sd_event_source *exit_source, *ctl_source, *console_source, *notify_source, *agent_source, *timer;
};

static void boot_failed(Session *s, ErrorKind kind, int r, const char *fmt, ...) _printf_(4, 5);

const char *session_boot_state(const Session *s) {
        if (!s->rec.boot)
                return "";
        if (!s->boot)
                return "off";
        switch (s->boot->phase) {
        case BOOT_STARTING:
                return "starting";
        case BOOT_RUNNING:
                return "running";
        default:
                return "stopping";
        }
}

bool session_boot_running(const Session *s) {
        return s->boot && s->boot->phase == BOOT_RUNNING && s->boot->fds.agent >= 0;
}

const char *session_boot_unit(const Session *s) {
        return s->boot ? s->boot->unit : NULL;
}

static char *boot_path(const Session *s, const char *name) {
        return strf("%s/%s", s->dir, name);
}

/* ---- the cgroup: handed to the session's root, and taken back ---- */

typedef struct CgroupHelper {
        const char *path;
        bool hand_over; /* else remove the tree */
} CgroupHelper;

/* In a user namespace of the session's map with the user's ids as IDMAP_COUNT: root
 * there may chown the user's cgroup to itself (the session's root) and remove what the
 * session's root made. */
static int cgroup_helper_after_map(void *userdata) {
        static const char *const files[] = { "cgroup.procs", "cgroup.threads", "cgroup.subtree_control" };
        const CgroupHelper *h = userdata;
        _cleanup_close_ int fd = -EBADF;

        if (!h->hand_over) {
                cgroup_remove_tree(AT_FDCWD, h->path);
                return 0;
        }
        fd = open(h->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fchown(fd, 0, 0) < 0)
                return EXIT_FAILURE;
        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                if (fchownat(fd, files[i], 0, 0, AT_SYMLINK_NOFOLLOW) < 0 && errno != ENOENT)
                        return EXIT_FAILURE;
        return 0;
}

/* Run the helper and wait for it (a few ms: newuidmap and newgidmap), in the event
 * loop: only when a boot starts or ends, never on a Run's path. */
static int cgroup_helper(Session *s, const char *path, bool hand_over, char **ret_error) {
        CgroupHelper h = { .path = path, .hand_over = hand_over };
        _cleanup_close_ int pidfd = -EBADF;
        IdMap map;
        pid_t pid;
        int r, st;

        r = manager_idmap(s->manager, &map, ret_error);
        if (r < 0)
                return r;
        SpawnParams p = {
                .map = &map,
                .map_flags = session_map_flags(s) | IDMAP_HELPER,
                .after_map = cgroup_helper_after_map,
                .userdata = &h,
        };
        r = userns_spawn(&p, &pid, &pidfd, ret_error);
        if (r < 0)
                return r;
        r = wait_for_child(pid, &st);
        if (r < 0)
                return r;
        return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EPERM;
}

/* What an earlier boot left in the cgroup tree (the service was killed, or the boot
 * init was): recorded in sessions/<id>/boot-cgroup, removed by the helper. */
static void boot_remove_leftovers(Session *s) {
        _cleanup_free_ char *record = boot_path(s, "boot-cgroup"), *path = NULL, *error = NULL;
        struct stat st;

        if (!record || read_file_at(AT_FDCWD, record, 4096, &path) < 0)
                return;
        path[strcspn(path, "\n")] = 0;
        if (startswith(path, "/sys/fs/cgroup/") && !strstr(path, "/../") && stat(path, &st) == 0 &&
            cgroup_helper(s, path, false, &error) < 0)
                log_warning("Session '%s': cannot remove the cgroups of its last boot (%s): %s", s->rec.id, path,
                            strempty(error));
        (void) unlink(record);
}

/* ---- the boot's lifetime ---- */

static void boot_free(Session *s) {
        Boot *b = s->boot;

        if (!b)
                return;
        sd_event_source_unref(b->exit_source);
        sd_event_source_unref(b->ctl_source);
        sd_event_source_unref(b->console_source);
        sd_event_source_unref(b->notify_source);
        sd_event_source_unref(b->agent_source);
        sd_event_source_unref(b->timer);
        systemd_job_cancel(b->job);
        if (b->pidfd >= 0)
                (void) syscall(SYS_pidfd_send_signal, b->pidfd, SIGKILL, NULL, 0);
        safe_close(b->pidfd);
        safe_close(b->ctl);
        safe_close(b->report_fd);
        safe_close(b->log_fd);
        boot_answer_close(&b->fds);
        free(b->unit);
        free(b->cgroup);
        free(b);
        s->boot = NULL;
}

void session_boot_free(Session *s) {
        boot_free(s);
}

static void boot_changed(Session *s) {
        manager_emit_state_changed(s->manager, s);
}

/* The last lines of this boot's console, for an error message. */
static char *console_tail(Session *s) {
        _cleanup_free_ char *path = boot_path(s, "console");
        _cleanup_close_ int fd = path ? open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -EBADF;
        char *tail = NULL;
        size_t n;

        if (fd < 0 || read_file_tail(fd, 1023, &tail, &n) < 0)
                return NULL;
        if (n == 0)
                tail = mfree(tail);
        return tail;
}

/* The boot could not finish (or its system stopped before it was up). During Begin the
 * session goes and Begin hears why; otherwise the session stays, its system off. */
static void boot_failed(Session *s, ErrorKind kind, int r, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL, *tail = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        boot_free(s);
        tail = console_tail(s);
        session_fail_waiting_runs(s, msg ? msg : "The session's system did not boot");
        if (call_is_set(&s->begin_call)) {
                (void) error_set(&s->begin_failure.error, kind, r < 0 ? -r : r, "%s%s%s", msg ? msg : "Boot failed",
                                 tail ? "; the console's last lines:\n" : "", strempty(tail));
                log_warning("Begin of session '%s' failed: %s", s->rec.id, s->begin_failure.error.message);
                session_set_state(s, SESSION_ENDING);
                session_continue_end(s);
                return;
        }
        log_warning("Session '%s': %s", s->rec.id, msg ? msg : "boot failed");
        boot_changed(s);
        session_continue_end(s);
}

static int on_boot_timeout(sd_event_source *source, uint64_t usec, void *userdata) {
        Session *s = userdata;
        Boot *b = s->boot;

        b->timer = sd_event_source_unref(b->timer);
        if (b->phase == BOOT_STARTING) {
                boot_failed(s, ERROR_FAILED, ETIMEDOUT, "The session's system did not finish booting in %llu s",
                            BOOT_TIMEOUT_USEC / 1000000ULL);
                return 0;
        }
        log_warning("Session '%s': its system did not stop in %llu s, killing it", s->rec.id,
                    STOP_TIMEOUT_USEC / 1000000ULL);
        (void) syscall(SYS_pidfd_send_signal, b->pidfd, SIGKILL, NULL, 0);
        return 0;
}

static int boot_arm_timer(Session *s, uint64_t usec) {
        Boot *b = s->boot;

        b->timer = sd_event_source_unref(b->timer);
        return sd_event_add_time_relative(s->manager->event, &b->timer, CLOCK_MONOTONIC, usec, 0, on_boot_timeout, s);
}

/* The boot init exited: PID 1 with it (its status in the report), and the container. */
static int on_boot_exit(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Session *s = userdata;
        Boot *b = s->boot;
        bool up = b->phase != BOOT_STARTING, wanted_down = b->phase == BOOT_STOPPING && !b->reboot;
        bool reboot = b->reboot;
        Report rep;
        int st;

        if (b->report_fd >= 0)
                (void) report_read_more(b->report_fd, &b->report);
        rep = b->report;
        st = rep.have_status ? rep.wstatus : -1;
        /* The boot init removed the container's cgroups; unless it was killed first. */
        if (!rep.have_status && b->cgroup)
                (void) cgroup_helper(s, b->cgroup, false, NULL);
        else {
                _cleanup_free_ char *record = boot_path(s, "boot-cgroup");
                if (record)
                        (void) unlink(record);
        }
        if (rep.have_error && !up) {
                boot_failed(s, child_error_kind(rep.error_kind), rep.error, "Cannot boot the session: %s", rep.message);
                return 0;
        }
        if (st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGHUP && s->rec.state == SESSION_READY)
                reboot = true; /* reboot() inside */
        log_info("Session '%s': its system %s (%s %d)", s->rec.id, reboot ? "reboots" : "stopped",
                 st >= 0 && WIFSIGNALED(st) ? "signal" : "status",
                 st < 0 ? -1 : WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        if (!up && !reboot && !wanted_down) {
                boot_failed(s, ERROR_FAILED, 0, "The session's system stopped before it finished booting");
                return 0;
        }
        boot_free(s);
        if (reboot && s->rec.state == SESSION_READY) {
                /* Runs asked for meanwhile wait for the next boot. */
                session_boot_start(s);
                return 0;
        }
        session_fail_waiting_runs(s, "The session's system stopped");
        boot_changed(s);
        session_continue_end(s);
        return 0;
}

/* ---- the console, the notify socket, the agent ---- */

static int on_console(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Session *s = userdata;
        Boot *b = s->boot;
        char buf[16384];
        ssize_t n;

        n = read(fd, buf, sizeof(buf));
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                /* Nobody holds the slave (we do, so only once it is gone for good). */
                b->console_source = sd_event_source_unref(b->console_source);
                return 0;
        }
        /* The tty's \r\n, as \n. */
        size_t m = 0;
        for (ssize_t i = 0; i < n; i++)
                if (buf[i] != '\r')
                        buf[m++] = buf[i];
        if (b->log_fd >= 0 && b->log_size < CONSOLE_LOG_MAX) {
                if (b->log_size + m > CONSOLE_LOG_MAX) {
                        static const char cut[] = "\n[chrootd: the rest of this boot's console is not kept]\n";
                        m = CONSOLE_LOG_MAX - b->log_size;
                        (void) write_full(b->log_fd, buf, m);
                        (void) write_full(b->log_fd, cut, sizeof(cut) - 1);
                } else
                        (void) write_full(b->log_fd, buf, m);
                b->log_size += m;
        }
        return 0;
}

static bool notify_has(const char *msg, size_t len, const char *line) {
        size_t l = strlen(line);

        for (const char *p = msg; p < msg + len;) {
                const char *e = memchr(p, '\n', (size_t) (msg + len - p));
                size_t k = e ? (size_t) (e - p) : (size_t) (msg + len - p);
                if (k == l && memcmp(p, line, l) == 0)
                        return true;
                p += k + 1;
        }
        return false;
}

static void boot_ready(Session *s) {
        Boot *b = s->boot;
        Outcome ok = {};

        b->phase = BOOT_RUNNING;
        b->timer = sd_event_source_unref(b->timer);
        log_info("Session '%s': its system is up", s->rec.id);
        boot_changed(s);
        session_dispatch_waiting_runs(s);
        if (call_is_set(&s->begin_call))
                session_answer_begin(s, &ok);
}

/* Datagrams from PID 1 (others are dropped, and so is any fd that comes with one). */
static int on_notify(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Session *s = userdata;
        Boot *b = s->boot;
        char buf[4096];
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 16)];
        } control;
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof(control) };
        const struct ucred *cred = NULL;
        ssize_t n;

        n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
        if (n < 0)
                return 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                if (c->cmsg_level != SOL_SOCKET)
                        continue;
                if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
                        cred = (const struct ucred *) CMSG_DATA(c);
                else if (c->cmsg_type == SCM_RIGHTS) {
                        int *fds = (int *) CMSG_DATA(c);
                        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        for (size_t i = 0; i < k; i++)
                                safe_close(fds[i]);
                }
        }
        if (!cred || cred->pid != b->pid1 || (size_t) n > sizeof(buf) || (mh.msg_flags & MSG_TRUNC))
                return 0;
        if (b->phase == BOOT_STARTING && notify_has(buf, (size_t) n, "READY=1"))
                boot_ready(s);
        else if (b->phase == BOOT_RUNNING && notify_has(buf, (size_t) n, "STOPPING=1")) {
                /* Going down from inside (poweroff, reboot): no new Runs meanwhile. */
                b->phase = BOOT_STOPPING;
                boot_changed(s);
        }
        return 0;
}

/* The agent's answers, one per Run given to it, in order: the pidfd of the child that
 * runs it (Kill and the timeout reach the command through it). */
static int on_agent(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Session *s = userdata;
        Boot *b = s->boot;
        int pidfd = -EBADF, r;

        r = boot_agent_receive(fd, &pidfd);
        if (r == -EPIPE || r == -EBADMSG) {
                /* Killed from inside, or gone with the container: no more Runs. */
                log_warning("Session '%s': the agent in its system is gone", s->rec.id);
                b->agent_source = sd_event_source_unref(b->agent_source);
                b->fds.agent = safe_close(b->fds.agent);
                return 0;
        }
        b->agent_answered++;
        if (r < 0)
                return 0; /* the agent could not fork: the Run's report pipe ends it */
        session_attach_booted_run(s, b->agent_answered, pidfd);
        return 0;
}

int session_boot_send(Session *s, int report_fd, const int stdio[3], int params_fd, int terminal_fd,
                      uint64_t *ret_seq) {
        Boot *b = s->boot;
        int r;

        if (!session_boot_running(s))
                return -ENOTCONN;
        r = boot_agent_send(b->fds.agent, report_fd, stdio, params_fd, terminal_fd);
        if (r < 0)
                return r;
        *ret_seq = ++b->agent_sent;
        return 0;
}

int session_boot_signal(Session *s, int sig) {
        if (!session_boot_running(s))
                return -ENOTCONN;
        return boot_agent_signal(s->boot->fds.agent, sig);
}

/* The boot init has forked PID 1: the service takes its fds. */
static int on_boot_answer(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Session *s = userdata;
        Boot *b = s->boot;
        sd_event *e = s->manager->event;
        int r;

        b->ctl_source = sd_event_source_unref(b->ctl_source);
        r = boot_receive_answer(b->ctl, &b->fds);
        b->ctl = safe_close(b->ctl);
        if (r < 0)
                return 0; /* the boot init exits: its report says why */
        b->pid1 = pidfd_get_pid(b->fds.pid1_pidfd);
        (void) fcntl(b->fds.console, F_SETFL, O_NONBLOCK);
        r = sd_event_add_io(e, &b->console_source, b->fds.console, EPOLLIN, on_console, s);
        if (r >= 0)
                r = sd_event_add_io(e, &b->notify_source, b->fds.notify, EPOLLIN, on_notify, s);
        if (r >= 0)
                r = sd_event_add_io(e, &b->agent_source, b->fds.agent, EPOLLIN, on_agent, s);
        if (r < 0)
                boot_failed(s, ERROR_FAILED, r, "Cannot watch the session's system: %s", strerror(-r));
        return 0;
}

/* container_uuid: the same for every boot of a session (systemd makes the machine id
 * of a tree without one from it), another for every session: from its id and the time
 * it was made (FNV-1a, twice), as 32 hex digits. */
static void make_uuid(const Session *s, char ret[33]) {
        uint64_t h[2] = { UINT64_C(0xcbf29ce484222325), UINT64_C(0x84222325cbf29ce4) };
        uint8_t bytes[16];
        char key[300];

        snprintf(key, sizeof(key), "chrootd %s %" PRIu64, s->rec.id, s->rec.created_usec);
        for (int k = 0; k < 2; k++)
                for (const char *c = key; *c; c++)
                        h[k] = (h[k] ^ (uint8_t) *c) * UINT64_C(0x100000001b3);
        memcpy(bytes, h, sizeof(bytes));
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        for (size_t i = 0; i < sizeof(bytes); i++)
                snprintf(ret + 2 * i, 3, "%02x", bytes[i]);
}

/* The scope holds the boot init: hand its cgroup to the session's root, and boot. */
static void on_boot_scope(int r, const char *message, void *userdata) {
        _cleanup_free_ char *procfile = NULL, *text = NULL, *path = NULL, *error = NULL;
        _cleanup_close_pair_ int rp[2] = { -EBADF, -EBADF };
        Session *s = userdata;
        Boot *b = s->boot;
        BootRequest req = {};

        b->job = NULL;
        if (r == -EOPNOTSUPP) {
                boot_failed(s, ERROR_NOT_SUPPORTED, EOPNOTSUPP,
                            "Booting a session needs a systemd user manager (for a delegated cgroup), and there is none");
                return;
        }
        if (r < 0) {
                boot_failed(s, ERROR_FAILED, r, "systemd did not make a scope for the session's system: %s",
                            strempty(message));
                return;
        }
        procfile = strf("/proc/%d/cgroup", (int) b->pid);
        r = procfile ? read_file_at(AT_FDCWD, procfile, 64 * 1024, &text) : -ENOMEM;
        if (r >= 0)
                r = cgroup_unified_path(text, &path);
        if (r >= 0)
                r = (b->cgroup = strf("/sys/fs/cgroup%s", path)) ? 0 : -ENOMEM;
        if (r < 0) {
                boot_failed(s, ERROR_FAILED, r, "Cannot find the cgroup of the session's system: %s", strerror(-r));
                return;
        }
        /* Recorded first: whatever happens next, the next boot or End removes it. */
        {
                _cleanup_close_ int dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                _cleanup_free_ char *line = strf("%s\n", b->cgroup);
                if (dirfd >= 0 && line)
                        (void) write_file_replace_at(dirfd, "boot-cgroup", line, 0600);
        }
        r = cgroup_helper(s, b->cgroup, true, &error);
        if (r < 0) {
                boot_failed(s, ERROR_FAILED, r, "Cannot hand the cgroup %s to the session's root: %s", b->cgroup,
                            error ? error : strerror(-r));
                return;
        }
        if (pipe2(rp, O_CLOEXEC) < 0) {
                boot_failed(s, ERROR_FAILED, errno, "Cannot boot: %m");
                return;
        }
        req.flags = s->rec.host_network ? BOOT_HOST_NETWORK : 0;
        make_uuid(s, req.uuid);
        r = boot_send_request(b->ctl, rp[1], &req);
        if (r < 0) {
                boot_failed(s, ERROR_FAILED, r, "Cannot start the session's system: %s", strerror(-r));
                return;
        }
        (void) fcntl(rp[0], F_SETFL, O_NONBLOCK);
        b->report_fd = TAKE_FD(rp[0]);
        r = sd_event_add_io(s->manager->event, &b->ctl_source, b->ctl, EPOLLIN, on_boot_answer, s);
        if (r < 0)
                boot_failed(s, ERROR_FAILED, r, "Cannot watch the session's system: %s", strerror(-r));
}

/* Checks that need no child: a unified cgroup hierarchy, a user manager. */
static int boot_check_host(Session *s, Error *e) {
        struct statfs sfs;

        if (statfs("/sys/fs/cgroup", &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC)
                return error_set(e, ERROR_NOT_SUPPORTED, EOPNOTSUPP,
                                 "Booting a session needs the unified cgroup hierarchy (cgroup v2) at /sys/fs/cgroup; "
                                 "this host has %s there",
                                 statfs("/sys/fs/cgroup", &sfs) < 0 ? "nothing" : "cgroup v1 (a hybrid or legacy hierarchy)");
        if (!s->manager->systemd)
                return error_set(e, ERROR_NOT_SUPPORTED, EOPNOTSUPP,
                                 "Booting a session needs a systemd user manager (for a delegated cgroup)");
        return 0;
}

static int boot_open_log(Session *s) {
        _cleanup_free_ char *path = boot_path(s, "console"), *old = boot_path(s, "console.previous");

        if (!path || !old)
                return -ENOMEM;
        (void) rename(path, old);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
        return fd < 0 ? -errno : fd;
}

void session_boot_start(Session *s) {
        _cleanup_(error_done) Error e = {};
        _cleanup_free_ char *description = NULL;
        Boot *b;
        int r;

        if (s->boot || s->rec.state != SESSION_READY)
                return;
        s->boot = b = calloc(1, sizeof(Boot));
        if (!b) {
                boot_failed(s, ERROR_FAILED, ENOMEM, "Out of memory");
                return;
        }
        *b = (Boot) { .session = s, .phase = BOOT_STARTING, .pidfd = -EBADF, .ctl = -EBADF, .report_fd = -EBADF,
                      .log_fd = -EBADF, .fds = BOOT_ANSWER_NULL };
        s->boots++;
        boot_changed(s);
        r = boot_check_host(s, &e);
        if (r < 0) {
                boot_failed(s, e.kind, -r, "%s", e.message);
                return;
        }
        boot_remove_leftovers(s);
        r = session_ensure_leader(s, &e);
        if (r < 0) {
                boot_failed(s, e.kind, -r, "%s", e.message);
                return;
        }
        session_drop_spare(s);
        r = leader_fork_boot(&s->leader, &b->pid, &b->pidfd, &b->ctl);
        if (r < 0) {
                boot_failed(s, ERROR_FAILED, r, "The session's leader cannot fork its system's init: %s", strerror(-r));
                return;
        }
        r = sd_event_add_io(s->manager->event, &b->exit_source, b->pidfd, EPOLLIN, on_boot_exit, s);
        if (r >= 0)
                r = b->log_fd = boot_open_log(s);
        if (r >= 0)
                r = boot_arm_timer(s, BOOT_TIMEOUT_USEC);
        if (r >= 0)
                r = run_scope_name(s->rec.id, b->pid, &b->unit);
        description = strf("chrootd session %s: its booted system", s->rec.id);
        if (r >= 0)
                r = description ? systemd_start_scope(s->manager->systemd, b->unit, s->slice, description, b->pid,
                                                      b->pidfd, on_boot_scope, s, &b->job)
                                : -ENOMEM;
        if (r == -EOPNOTSUPP) {
                on_boot_scope(r, NULL, s);
                return;
        }
        if (r < 0)
                boot_failed(s, ERROR_FAILED, r, "Cannot boot the session: %s", strerror(-r));
}

/* Ask PID 1 for sig (SIGRTMIN+3: halt; SIGRTMIN+5: reboot), or, before it is up, kill
 * the boot. The boot init's exit goes on from there (on_boot_exit). */
static void boot_stop(Session *s, int sig, bool reboot) {
        Boot *b = s->boot;

        b->reboot = reboot;
        if (b->phase == BOOT_STARTING || b->fds.pid1_pidfd < 0) {
                b->phase = BOOT_STOPPING;
                (void) syscall(SYS_pidfd_send_signal, b->pidfd, SIGKILL, NULL, 0);
                boot_changed(s);
                return;
        }
        b->phase = BOOT_STOPPING;
        boot_changed(s);
        if (syscall(SYS_pidfd_send_signal, b->fds.pid1_pidfd, sig, NULL, 0) < 0)
                (void) syscall(SYS_pidfd_send_signal, b->pidfd, SIGKILL, NULL, 0);
        else if (boot_arm_timer(s, STOP_TIMEOUT_USEC) < 0)
                (void) syscall(SYS_pidfd_send_signal, b->pidfd, SIGKILL, NULL, 0);
}

void session_boot_stop(Session *s) {
        if (!s->boot)
                return;
        if (call_is_set(&s->begin_call))
                (void) error_set(&s->begin_failure.error, ERROR_SESSION_ENDED, ECANCELED,
                                 "Session '%s' was ended while its system booted", s->rec.id);
        if (s->boot->phase == BOOT_STOPPING) {
                /* Going down already (from inside, or a reboot): not up again, and not
                 * for longer than a stop may take. */
                s->boot->reboot = false;
                if (!s->boot->timer && boot_arm_timer(s, STOP_TIMEOUT_USEC) < 0)
                        (void) syscall(SYS_pidfd_send_signal, s->boot->pidfd, SIGKILL, NULL, 0);
        } else
                boot_stop(s, SIGRTMIN + 3, false);
}

void session_boot_remove_leftovers(Session *s) {
        static const char *const files[] = { "console", "console.previous" };

        if (!s->rec.boot)
                return;
        boot_remove_leftovers(s);
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *path = boot_path(s, files[i]);
                if (path)
                        (void) unlink(path);
        }
}

int session_reboot(Session *s, Error *e) {
        int r;

        if (!s->rec.boot)
                return error_set(e, ERROR_NOT_SUPPORTED, EOPNOTSUPP, "Session '%s' is not a booted session", s->rec.id);
        r = session_check_ready(s, e);
        if (r < 0)
                return r;
        if (!s->boot) {
                session_boot_start(s);
                return 0;
        }
        if (s->boot->phase == BOOT_STOPPING)
                s->boot->reboot = true;
        else
                boot_stop(s, SIGRTMIN + 5, true);
        return 0;
}

int session_open_console_log(Session *s, int *ret_fd, Error *e) {
        _cleanup_free_ char *path = NULL;
        int fd;

        if (!s->rec.boot)
                return error_set(e, ERROR_NOT_SUPPORTED, EOPNOTSUPP, "Session '%s' is not a booted session", s->rec.id);
        path = boot_path(s, "console");
        if (!path)
                return error_set(e, ERROR_FAILED, ENOMEM, "Out of memory");
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT)
                fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return error_set(e, ERROR_FAILED, errno, "Cannot open the console log of session '%s': %m", s->rec.id);
        *ret_fd = fd;
        return 0;
}
