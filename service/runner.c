/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "runner.h"
#include "fdpass.h"
#include "mounts.h"
#include "report.h"
#include "tree-file.h"
#include "userns.h"
#include "util.h"

#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <signal.h>

#define PATH_ROOT "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define PATH_USER "/usr/local/bin:/usr/bin:/bin"

/* Put entry (KEY=value, owned) into *env, in place of the entry of the same KEY, whose
 * length is kl. */
static int env_replace(char ***env, size_t kl, char *entry) {
        if (!entry)
                return -ENOMEM;
        for (char **e = *env; e && *e; e++)
                if (strncmp(*e, entry, kl + 1) == 0) {
                        free(*e);
                        *e = entry;
                        return 0;
                }
        return strv_consume(env, entry);
}

/* Set or replace KEY=value in *env. */
static int env_set(char ***env, const char *key, const char *value) {
        return env_replace(env, strlen(key), strf("%s=%s", key, value));
}

/* Each KEY=VALUE of entries, in order, replacing what env has of KEY. */
static int env_apply(char ***env, char *const *entries) {
        for (char *const *e = entries; e && *e; e++) {
                const char *eq = strchr(*e, '=');
                int r;

                if (!eq || eq == *e)
                        return -EINVAL; /* the service lets none through */
                r = env_replace(env, (size_t) (eq - *e), strdup(*e));
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool env_has(char *const *env, const char *key) {
        size_t kl = strlen(key);

        for (char *const *e = env; e && *e; e++)
                if (strncmp(*e, key, kl) == 0 && (*e)[kl] == '=')
                        return true;
        return false;
}

int run_build_environment(char *const *base, char *const *setenv, const PasswdEntry *pw, char ***ret) {
        _cleanup_strv_free_ char **env = NULL;
        int r;

        if (base) {
                for (char *const *e = base; *e; e++)
                        if (strv_extend(&env, *e) < 0)
                                return -ENOMEM;
        } else {
                r = env_set(&env, "HOME", pw->home);
                if (r >= 0)
                        r = env_set(&env, "SHELL", pw->shell);
                if (r < 0)
                        return r;
        }
        r = env_set(&env, "USER", pw->name);
        if (r >= 0)
                r = env_set(&env, "LOGNAME", pw->name);
        if (r >= 0 && !env_has(env, "PATH"))
                r = env_set(&env, "PATH", pw->uid == 0 ? PATH_ROOT : PATH_USER);
        if (r >= 0)
                r = env_apply(&env, setenv);
        if (r < 0)
                return r;
        if (!env && strv_extend(&env, "") < 0) /* never NULL */
                return -ENOMEM;
        *ret = TAKE_PTR(env);
        return 0;
}

static int loopback_up(void) {
        _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr = { .ifr_name = "lo" };

        if (fd < 0)
                return -errno;
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return -errno;
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                return -errno;
        return 0;
}

/* Put fds in place for exec: stdio on 0..2, the report pipe on 3 (close-on-exec),
 * nothing else. */
static int arrange_fds(int stdio[3], int *report_fd) {
        int moved[4];

        /* First move everything above 2 so that dup2 below cannot clobber a source. */
        for (int i = 0; i < 3; i++) {
                moved[i] = fcntl(stdio[i], F_DUPFD_CLOEXEC, 10);
                if (moved[i] < 0)
                        return -errno;
        }
        moved[3] = fcntl(*report_fd, F_DUPFD_CLOEXEC, 10);
        if (moved[3] < 0)
                return -errno;
        for (int i = 0; i < 3; i++)
                if (dup2(moved[i], i) < 0)
                        return -errno;
        if (dup3(moved[3], 3, O_CLOEXEC) < 0)
                return -errno;
        *report_fd = 3;
        if (syscall(SYS_close_range, 4, ~0U, 0) < 0)
                return -errno;
        return 0;
}

/* The command as the init prepares it, so that its child has only system calls left
 * to make (it shares the init's memory until exec: vfork). */
typedef struct Command {
        const RunParams *p;    /* &run */
        RunParams run;         /* the request, with the login shell for an empty argv */
        char *shell_argv[2];
        PasswdEntry pw;
        gid_t *groups;
        size_t n_groups;
        char **env;
        char *passwd, *group; /* the chroot's files */
} Command;

static void command_done(Command *c) {
        free(c->groups);
        strv_free(c->env);
        passwd_entry_done(&c->pw);
        free(c->passwd);
        free(c->group);
}

/* A file of the chroot, read as root inside would (tree-file.h): the init has pivoted
 * into the tree, so its "/" is the tree's root. A missing file is NULL if missing_ok;
 * otherwise the init reports why it cannot read it, as kind. */
static int read_chroot_file(const char *path, bool missing_ok, ChildError kind, int fd, char **ret) {
        _cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        char msg[256];
        int r;

        r = rootfd < 0 ? -errno : tree_file_read(rootfd, path, ret);
        if (r == -ENOENT && missing_ok) {
                *ret = NULL;
                return 0;
        }
        if (r < 0) {
                tree_file_describe_error(r, path, msg, sizeof(msg));
                report_error(fd, kind, r, "%s", msg);
        }
        return r;
}

/* Look the user up in the chroot's files and build the environment. Returns 0, or
 * -errno after reporting why. */
static int command_prepare(const RunParams *p, int fd, Command *c) {
        int r;

        *c = (Command) { .p = &c->run, .run = *p };
        r = read_chroot_file("/etc/passwd", false, CHILD_ERROR_NO_SUCH_USER, fd, &c->passwd);
        if (r < 0)
                return r;
        r = passwd_find(c->passwd, p->user, &c->pw);
        if (r <= 0) {
                report_error(fd, CHILD_ERROR_NO_SUCH_USER, r < 0 ? r : -ESRCH,
                             "User '%s' does not exist in the chroot's /etc/passwd", p->user);
                return r < 0 ? r : -ESRCH;
        }
        /* No group file means no supplementary groups; a broken one is an error. */
        r = read_chroot_file("/etc/group", true, CHILD_ERROR_FAILED, fd, &c->group);
        if (r < 0)
                return r;
        /* No command: the login shell (passwd_find() gives /bin/sh for an empty field). */
        if (!p->argv[0]) {
                c->shell_argv[0] = c->pw.shell;
                c->run.argv = c->shell_argv;
        }
        r = group_list_for_user(c->group, c->pw.name, c->pw.gid, &c->groups, &c->n_groups);
        if (r >= 0)
                r = run_build_environment(p->environment, p->setenv, &c->pw, &c->env);
        if (r < 0) {
                report_error(fd, CHILD_ERROR_FAILED, r, "Cannot prepare the command: %s", strerror(-r));
                return r;
        }
        return 0;
}

/* In the vfork()ed child: system calls only, nothing written to memory the init uses,
 * and environ is already the command's (execvp() searches its PATH). */
_noreturn_ static void command_exec(const Command *c, int fd) {
        const RunParams *p = c->p;
        int stdio[3] = { p->stdio[0], p->stdio[1], p->stdio[2] }, r;

        reset_signals();
        (void) setsid();
        umask(022);
        /* The raw calls: glibc's wrappers may coordinate threads, which the init has none of. */
        if (syscall(SYS_setgroups, c->n_groups, c->groups) < 0 ||
            syscall(SYS_setresgid, c->pw.gid, c->pw.gid, c->pw.gid) < 0 ||
            syscall(SYS_setresuid, c->pw.uid, c->pw.uid, c->pw.uid) < 0) {
                report_error(fd, CHILD_ERROR_NO_SUCH_USER, -errno,
                             "Cannot become user '%s' (uid %u, gid %u): %m (ids above 65535 are not mapped)",
                             c->pw.name, (unsigned) c->pw.uid, (unsigned) c->pw.gid);
                _exit(127);
        }
        if (chdir(p->directory) < 0) {
                report_error(fd, CHILD_ERROR_NO_SUCH_DIRECTORY, -errno,
                             "Cannot change to directory '%s' in the chroot as user '%s': %m", p->directory, c->pw.name);
                _exit(127);
        }
        /* The service's soft limit on fds is raised; a command gets the usual one. */
        rlimit_nofile_restore();
        r = arrange_fds(stdio, &fd);
        if (r < 0) {
                report_error(fd, CHILD_ERROR_FAILED, r, "Cannot set up standard streams: %s", strerror(-r));
                _exit(127);
        }
        execvp(p->argv[0], p->argv);
        report_error(fd, CHILD_ERROR_EXEC, -errno, "Cannot execute '%s': %m", p->argv[0]);
        _exit(127);
}

/* vfork() in a function of its own: nothing of the caller's frame can be clobbered. */
static __attribute__((noinline)) pid_t command_spawn(const Command *c, int report_fd) {
        pid_t pid = vfork();

        if (pid == 0)
                command_exec(c, report_fd);
        return pid;
}

/* The init passes a signal on to every other process of its pid namespace: this is
 * how Session.Kill reaches the command and everything it started. (As PID 1 of the
 * namespace, the init itself ignores signals it has no handler for, except SIGKILL,
 * which takes the whole namespace down.) */
static void forward_signal(int sig) {
        int saved = errno;

        (void) kill(-1, sig);
        errno = saved;
}

static void install_forwarding(void) {
        struct sigaction sa = { .sa_handler = forward_signal, .sa_flags = SA_RESTART };

        sigemptyset(&sa.sa_mask);
        /* Not SIGCHLD, which the init needs; SIGKILL and SIGSTOP cannot be caught. */
        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGCHLD && sig != SIGKILL && sig != SIGSTOP)
                        (void) sigaction(sig, &sa, NULL);
}

/* The signals whose default action ends a process: not those ignored or stopping by
 * default, nor SIGKILL, which cannot be caught (and ends the init anyway). */
static bool signal_ends_process(int sig) {
        switch (sig) {
        case SIGCHLD: case SIGCONT: case SIGURG: case SIGWINCH:
        case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU:
        case SIGKILL:
                return false;
        default:
                return true;
        }
}

static void ending_signals(sigset_t *ret) {
        sigemptyset(ret);
        for (int sig = 1; sig < _NSIG; sig++)
                if (signal_ends_process(sig))
                        (void) sigaddset(ret, sig); /* glibc's own two refuse: fine */
}

static int ending_report_fd = -EBADF;

/* Only async-signal-safe calls: report_status() is one write(). */
static void end_on_signal(int sig) {
        /* The wait status of a process killed by sig: the Run ends as "killed", as if
         * its command had been there to receive it. */
        report_status(ending_report_fd, sig);
        _exit(128 + sig);
}

void run_init_catch_signals(void) {
        struct sigaction sa = { .sa_handler = end_on_signal };
        sigset_t set;

        ending_signals(&set);
        sa.sa_mask = set;
        /* Held back until the report pipe is known (a spare has none yet). */
        (void) sigprocmask(SIG_BLOCK, &set, NULL);
        for (int sig = 1; sig < _NSIG; sig++)
                if (sigismember(&set, sig) == 1)
                        (void) sigaction(sig, &sa, NULL);
}

void run_init_signals_report_to(int report_fd) {
        sigset_t set;

        ending_report_fd = report_fd;
        ending_signals(&set);
        (void) sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* The request's fixed fields, in this order, then argc (0: the login shell) and argv,
 * the number of environment entries ("-": a clean environment) and the entries, and
 * the number of setenv entries and those. */
#define PARAMS_MAGIC "chrootd-run-2"
#define PARAMS_MAX (64u << 20)

static int buf_add(char **buf, size_t *size, size_t *used, const char *s) {
        size_t l = strlen(s) + 1;

        if (*used + l > *size) {
                size_t n = *size * 2 > *used + l + 4096 ? *size * 2 : *used + l + 4096;
                char *b = realloc(*buf, n);
                if (!b)
                        return -ENOMEM;
                *buf = b;
                *size = n;
        }
        memcpy(*buf + *used, s, l);
        *used += l;
        return 0;
}

int run_params_pack(const RunParams *p, int *ret_fd) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t size = 0, used = 0;
        char num[32];
        int r;

        r = buf_add(&buf, &size, &used, PARAMS_MAGIC);
        if (r >= 0)
                r = buf_add(&buf, &size, &used, p->user);
        if (r >= 0)
                r = buf_add(&buf, &size, &used, p->directory);
        if (r >= 0)
                r = buf_add(&buf, &size, &used, p->network_none ? "1" : "0");
        snprintf(num, sizeof(num), "%zu", strv_length(p->argv));
        if (r >= 0)
                r = buf_add(&buf, &size, &used, num);
        for (char **a = p->argv; r >= 0 && *a; a++)
                r = buf_add(&buf, &size, &used, *a);
        if (p->environment)
                snprintf(num, sizeof(num), "%zu", strv_length(p->environment));
        if (r >= 0)
                r = buf_add(&buf, &size, &used, p->environment ? num : "-");
        for (char **e = p->environment; r >= 0 && e && *e; e++)
                r = buf_add(&buf, &size, &used, *e);
        snprintf(num, sizeof(num), "%zu", strv_length(p->setenv));
        if (r >= 0)
                r = buf_add(&buf, &size, &used, num);
        for (char **e = p->setenv; r >= 0 && e && *e; e++)
                r = buf_add(&buf, &size, &used, *e);
        if (r < 0)
                return r;
        if (used > PARAMS_MAX)
                return -E2BIG;

        fd = memfd_create("chrootd-run", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = write_full(fd, buf, used);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* The next NUL-terminated field of buf[*pos..size), or NULL. */
static char *next_field(char *buf, size_t size, size_t *pos) {
        char *f = buf + *pos, *end;

        if (*pos >= size || !(end = memchr(f, 0, size - *pos)))
                return NULL;
        *pos += (size_t) (end - f) + 1;
        return f;
}

static int read_strv(char *buf, size_t size, size_t *pos, size_t n, char ***ret) {
        _cleanup_free_ char **l = NULL;

        if (n > size)
                return -EBADMSG;
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!(l[i] = next_field(buf, size, pos)))
                        return -EBADMSG;
        *ret = TAKE_PTR(l);
        return 0;
}

/* count (a field just read), then that many strings. */
static int read_counted_strv(char *buf, size_t size, size_t *pos, const char *count, char ***ret) {
        uint64_t n;

        if (!count || parse_u64(count, &n) < 0)
                return -EBADMSG;
        return read_strv(buf, size, pos, n, ret);
}

int run_params_unpack(char *buf, size_t size, RunParams *ret) {
        _cleanup_free_ char **argv = NULL, **env = NULL, **setenv = NULL;
        const char *magic, *user, *directory, *net, *count;
        size_t pos = 0;
        int r;

        magic = next_field(buf, size, &pos);
        user = next_field(buf, size, &pos);
        directory = next_field(buf, size, &pos);
        net = next_field(buf, size, &pos);
        if (!net || !streq(magic, PARAMS_MAGIC) || (!streq(net, "0") && !streq(net, "1")))
                return -EBADMSG;
        count = next_field(buf, size, &pos);
        r = read_counted_strv(buf, size, &pos, count, &argv);
        if (r < 0)
                return r;
        count = next_field(buf, size, &pos);
        if (!count)
                return -EBADMSG;
        if (!streq(count, "-")) {
                r = read_counted_strv(buf, size, &pos, count, &env);
                if (r < 0)
                        return r;
        }
        count = next_field(buf, size, &pos);
        r = read_counted_strv(buf, size, &pos, count, &setenv);
        if (r < 0)
                return r;
        if (pos != size)
                return -EBADMSG;
        *ret = (RunParams) {
                .argv = TAKE_PTR(argv),
                .environment = TAKE_PTR(env),
                .setenv = TAKE_PTR(setenv),
                .user = user,
                .directory = directory,
                .network_none = streq(net, "1"),
                .stdio = { -EBADF, -EBADF, -EBADF },
        };
        return 0;
}

/* The whole of a request's memfd. */
static int read_params(int fd, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        ssize_t n;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size <= 0 || (uint64_t) st.st_size > PARAMS_MAX)
                return -EBADMSG;
        buf = malloc((size_t) st.st_size);
        if (!buf)
                return -ENOMEM;
        n = pread(fd, buf, (size_t) st.st_size, 0);
        if (n != st.st_size)
                return n < 0 ? -errno : -EBADMSG;
        *ret = TAKE_PTR(buf);
        *ret_size = (size_t) st.st_size;
        return 0;
}

/* What an init is sent: its report pipe, the command's stdin, stdout, stderr and the
 * request (run_params_pack). */
enum { REQ_REPORT, REQ_STDIN, REQ_STDOUT, REQ_STDERR, REQ_PARAMS, REQ_FDS };

int run_send_request(int ctl, int report_fd, const int stdio[3], int params_fd) {
        int fds[REQ_FDS] = { report_fd, stdio[0], stdio[1], stdio[2], params_fd };

        return fdpass_send(ctl, "r", 1, fds, REQ_FDS);
}

/* The init's own user namespace, a child of the leader's (userns.h), and the
 * namespaces owned by it; the init stays non-dumpable but for the moment its maps are
 * written (only the owner of /proc/1 may write them, and nothing of a command runs
 * yet). */
static int init_enter_userns(const char *hostname, const char **ret_what) {
        _cleanup_close_ int procfd = -EBADF;
        int r;

        *ret_what = "make the command's user namespace";
        procfd = open("/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (procfd < 0)
                return -errno;
        if (prctl(PR_SET_DUMPABLE, 1) < 0)
                return -errno;
        r = userns_enter_nested(procfd);
        if (prctl(PR_SET_DUMPABLE, 0) < 0 && r >= 0)
                r = -errno;
        if (r < 0)
                return r;
        /* Owned by the new user namespace, so that root inside may change what is its
         * own (the hostname, the SysV IPC objects) and nothing else. */
        *ret_what = "make the command's uts and ipc namespaces";
        if (unshare(CLONE_NEWUTS | CLONE_NEWIPC) < 0)
                return -errno;
        *ret_what = "set the hostname";
        if (hostname && sethostname(hostname, strlen(hostname)) < 0)
                return -errno;
        return 0;
}

/* The command's file system, mounted in the init's mount namespace (owned by the
 * leader's user namespace), then the init's own namespaces, in which the kernel locks
 * those mounts. Returns 0 or -errno with *ret_what naming the step. */
static int init_prepare(const char *hostname, const char **ret_what) {
        _cleanup_close_ int rootfd = -EBADF;
        int r;

        *ret_what = "open the session's tree";
        rootfd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return -errno;
        r = mounts_setup(rootfd, ret_what);
        if (r < 0)
                return r;
        *ret_what = "pivot_root into the tree";
        r = mounts_pivot(rootfd);
        if (r < 0)
                return r;
        r = init_enter_userns(hostname, ret_what);
        if (r < 0)
                return r;
        /* The kernel clears the death signal on some changes of credentials. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                return -errno;
        return 0;
}

/* PID 1 of the command's pid namespace, forked by the session's leader (leader.h) with
 * its cwd at the session's tree. */
int run_init_main(int ctl, const char *hostname) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_(command_done) Command cmd = {};
        int fds[REQ_FDS], setup_error = 0, status = 0, r;
        sigset_t all, old;
        const char *what = NULL;
        RunParams p;
        size_t size = 0, n_fds;
        char byte;
        pid_t pid;

        /* Die with the leader; if it died before this, ctl's other end is gone too and
         * the read below sees EOF. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                return EXIT_FAILURE;
        /* The leader is dumpable (for /proc/<leader>/root); its inits must not be: the
         * command runs as root in the same user namespace and could ptrace its pid 1. */
        if (prctl(PR_SET_DUMPABLE, 0) < 0)
                return EXIT_FAILURE;
        reset_signals();
        run_init_catch_signals();
        if (close_all_fds_except(&ctl, 1) < 0)
                return EXIT_FAILURE;
        /* Nor does the init keep the service's standard streams (the journal's). */
        {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
                        return EXIT_FAILURE;
                if (null > 2)
                        (void) close(null);
        }
        spawn_rename_process("chrootd-spare");

        /* Everything that does not depend on the command is done before it comes: a
         * spare init (session-run.c) waits with its file system ready. */
        setup_error = init_prepare(hostname, &what);

        /* The service hanging up means nobody needs us. */
        if (fdpass_recv(ctl, &byte, 1, fds, REQ_FDS, &n_fds) <= 0)
                return EXIT_SUCCESS;
        if (n_fds != REQ_FDS)
                return EXIT_FAILURE;
        run_init_signals_report_to(fds[REQ_REPORT]);
        spawn_rename_process("chrootd-init");
        ctl = safe_close(ctl);
        if (setup_error < 0) {
                report_error(fds[REQ_REPORT], CHILD_ERROR_FAILED, setup_error, "Cannot %s: %s", what,
                             strerror(-setup_error));
                return EXIT_FAILURE;
        }
        r = read_params(fds[REQ_PARAMS], &buf, &size);
        if (r >= 0)
                r = run_params_unpack(buf, size, &p);
        if (r < 0) {
                report_error(fds[REQ_REPORT], CHILD_ERROR_FAILED, r, "Cannot read the command: %s", strerror(-r));
                return EXIT_FAILURE;
        }
        fds[REQ_PARAMS] = safe_close(fds[REQ_PARAMS]);
        memcpy(p.stdio, fds + REQ_STDIN, sizeof(p.stdio));

        /* The command is sent once the init is in its scope: a cgroup namespace made
         * now has the scope as its root, so the command sees "/" in /proc/self/cgroup,
         * not the host's paths. */
        if (unshare(CLONE_NEWCGROUP) < 0) {
                report_error(fds[REQ_REPORT], CHILD_ERROR_FAILED, -errno, "Cannot make a cgroup namespace: %m");
                return EXIT_FAILURE;
        }
        if (p.network_none) {
                if (unshare(CLONE_NEWNET) < 0)
                        r = -errno;
                else
                        r = loopback_up();
                if (r < 0) {
                        report_error(fds[REQ_REPORT], CHILD_ERROR_FAILED, r, "Cannot make a network namespace with only lo: %s",
                                     strerror(-r));
                        return EXIT_FAILURE;
                }
        }

        r = command_prepare(&p, fds[REQ_REPORT], &cmd);
        if (r < 0)
                return EXIT_FAILURE;
        /* Signals wait while the child shares our memory; it resets them itself. */
        sigfillset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, &old);
        install_forwarding();
        environ = cmd.env;
        pid = command_spawn(&cmd, fds[REQ_REPORT]);
        (void) sigprocmask(SIG_SETMASK, &old, NULL);
        if (pid < 0) {
                report_error(fds[REQ_REPORT], CHILD_ERROR_FAILED, -errno, "Cannot fork the command: %m");
                return EXIT_FAILURE;
        }

        /* The init keeps only the report pipe: the caller's streams are the command's. */
        for (int i = 0; i < 3; i++)
                (void) close(p.stdio[i]);

        for (;;) {
                int st;
                pid_t w = waitpid(-1, &st, 0);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (w == pid) {
                        status = st;
                        break;
                }
        }
        /* Whatever the command left behind dies before the caller hears of its status,
         * so that nothing of it outlives the Run; the namespaces go with the init,
         * after that. */
        (void) kill(-1, SIGKILL);
        while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
                ;
        report_status(fds[REQ_REPORT], status);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
