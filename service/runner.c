/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "runner.h"
#include "mounts.h"
#include "report.h"
#include "userns.h"
#include "util.h"

#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <signal.h>

#define PATH_ROOT "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define PATH_USER "/usr/local/bin:/usr/bin:/bin"

/* Set or replace KEY=value in *env. */
static int env_set(char ***env, const char *key, const char *value) {
        size_t kl = strlen(key);

        for (char **e = *env; e && *e; e++)
                if (strncmp(*e, key, kl) == 0 && (*e)[kl] == '=') {
                        char *n = strf("%s=%s", key, value);
                        if (!n)
                                return -ENOMEM;
                        free(*e);
                        *e = n;
                        return 0;
                }
        return strv_consume(env, strf("%s=%s", key, value));
}

static bool env_has(char *const *env, const char *key) {
        size_t kl = strlen(key);

        for (char *const *e = env; e && *e; e++)
                if (strncmp(*e, key, kl) == 0 && (*e)[kl] == '=')
                        return true;
        return false;
}

int run_build_environment(char *const *base, const PasswdEntry *pw, char ***ret) {
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
        if (r < 0)
                return r;
        if (!env && strv_extend(&env, "") < 0) /* never NULL */
                return -ENOMEM;
        *ret = TAKE_PTR(env);
        return 0;
}

typedef struct RunChild {
        const RunParams *p;
        int report_fd;
        int rootfd;
        int mountpointfd; /* copy-on-write: where the overlay goes */
} RunChild;

/* Still the service's user on the host: its own paths are reachable, and the tree is
 * bound onto itself so it can become the root of the new mount namespace. */
static int run_before_map(void *userdata) {
        RunChild *c = userdata;

        if (c->p->overlay_fd >= 0) {
                /* The overlay is attached once we are root in the namespace. */
                if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
                    (c->mountpointfd = open(c->p->tree, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
                        report_error(c->report_fd, CHILD_ERROR_FAILED, -errno, "Cannot open the session's tree: %m");
                        return EXIT_FAILURE;
                }
                return 0;
        }
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount(c->p->tree, c->p->tree, NULL, MS_BIND | MS_REC, NULL) < 0) {
                report_error(c->report_fd, CHILD_ERROR_FAILED, -errno, "Cannot bind the session's tree: %m");
                return EXIT_FAILURE;
        }
        c->rootfd = open(c->p->tree, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (c->rootfd < 0) {
                report_error(c->report_fd, CHILD_ERROR_FAILED, -errno, "Cannot open the session's tree: %m");
                return EXIT_FAILURE;
        }
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

_noreturn_ static void command_main(RunChild *c) {
        const RunParams *p = c->p;
        _cleanup_free_ char *passwd = NULL, *group = NULL;
        _cleanup_free_ gid_t *groups = NULL;
        _cleanup_strv_free_ char **env = NULL;
        PasswdEntry pw = {};
        size_t n_groups = 0;
        int fd = c->report_fd, r;

        reset_signals();
        (void) setsid();
        umask(022);

        r = read_file_at(AT_FDCWD, "/etc/passwd", 16 << 20, &passwd);
        if (r < 0) {
                report_error(fd, CHILD_ERROR_NO_SUCH_USER, r, "Cannot read the chroot's /etc/passwd: %s", strerror(-r));
                _exit(127);
        }
        r = passwd_find(passwd, p->user, &pw);
        if (r <= 0) {
                report_error(fd, CHILD_ERROR_NO_SUCH_USER, r < 0 ? r : -ESRCH,
                             "User '%s' does not exist in the chroot's /etc/passwd", p->user);
                _exit(127);
        }
        (void) read_file_at(AT_FDCWD, "/etc/group", 16 << 20, &group);
        if (group_list_for_user(group, pw.name, pw.gid, &groups, &n_groups) < 0 ||
            run_build_environment(p->environment, &pw, &env) < 0) {
                report_error(fd, CHILD_ERROR_FAILED, -ENOMEM, "Out of memory");
                _exit(127);
        }

        if (setgroups(n_groups, groups) < 0 || setresgid(pw.gid, pw.gid, pw.gid) < 0 ||
            setresuid(pw.uid, pw.uid, pw.uid) < 0) {
                report_error(fd, CHILD_ERROR_NO_SUCH_USER, -errno,
                             "Cannot become user '%s' (uid %u, gid %u): %m (ids above 65535 are not mapped)",
                             pw.name, (unsigned) pw.uid, (unsigned) pw.gid);
                _exit(127);
        }
        if (chdir(p->directory) < 0) {
                report_error(fd, CHILD_ERROR_NO_SUCH_DIRECTORY, -errno,
                             "Cannot change to directory '%s' in the chroot as user '%s': %m", p->directory, pw.name);
                _exit(127);
        }

        r = arrange_fds((int *) p->stdio, &fd);
        if (r < 0) {
                report_error(fd, CHILD_ERROR_FAILED, r, "Cannot set up standard streams: %s", strerror(-r));
                _exit(127);
        }

        /* execvp() searches the PATH of environ: the command's own. */
        environ = env;
        execvp(p->argv[0], p->argv);
        report_error(fd, CHILD_ERROR_EXEC, -errno, "Cannot execute '%s': %m", p->argv[0]);
        _exit(127);
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

/* PID 1 of the command's pid namespace. */
static int run_after_map(void *userdata) {
        RunChild *c = userdata;
        const RunParams *p = c->p;
        const char *what = NULL;
        int status = 0, r;
        pid_t pid;

        /* Changing credentials cleared the parent-death signal: set it again. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                return EXIT_FAILURE;
        spawn_rename_process("chrootd-init");

        if (p->hostname && sethostname(p->hostname, strlen(p->hostname)) < 0) {
                report_error(c->report_fd, CHILD_ERROR_FAILED, -errno, "Cannot set the hostname: %m");
                return EXIT_FAILURE;
        }
        if (p->network_none) {
                r = loopback_up();
                if (r < 0) {
                        report_error(c->report_fd, CHILD_ERROR_FAILED, r, "Cannot bring up lo: %s", strerror(-r));
                        return EXIT_FAILURE;
                }
        }
        if (p->overlay_fd >= 0) {
                if (move_mount(p->overlay_fd, "", c->mountpointfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
                        report_error(c->report_fd, CHILD_ERROR_FAILED, -errno, "Cannot attach the session's overlay: %m");
                        return EXIT_FAILURE;
                }
                /* Attached, the fd is the tree's root. */
                c->rootfd = p->overlay_fd;
                c->mountpointfd = safe_close(c->mountpointfd);
        }
        r = mounts_setup(c->rootfd, &what);
        if (r >= 0) {
                what = "pivot_root into the tree";
                r = mounts_pivot(c->rootfd);
        }
        if (r < 0) {
                report_error(c->report_fd, CHILD_ERROR_FAILED, r, "Cannot %s: %s", what, strerror(-r));
                return EXIT_FAILURE;
        }
        c->rootfd = safe_close(c->rootfd);

        install_forwarding();
        pid = fork();
        if (pid < 0) {
                report_error(c->report_fd, CHILD_ERROR_FAILED, -errno, "Cannot fork the command: %m");
                return EXIT_FAILURE;
        }
        if (pid == 0)
                command_main(c);

        /* The init keeps only the report pipe: the caller's streams are the command's. */
        for (int i = 0; i < 3; i++)
                (void) close(p->stdio[i]);

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
        report_status(c->report_fd, status);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void run_spawn_params(const RunParams *p, RunChild *c, int keep[5], SpawnParams *ret) {
        *c = (RunChild) { .p = p, .report_fd = keep[0], .rootfd = -EBADF, .mountpointfd = -EBADF };
        *ret = (SpawnParams) {
                .map_self = false,
                .extra_flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS |
                               (p->network_none ? CLONE_NEWNET : 0),
                .keep_fds = keep,
                .n_keep_fds = 5,
                .before_map = run_before_map,
                .after_map = run_after_map,
                .userdata = c,
        };
}

int run_clone(const RunParams *p, int report_fd, SpawnedChild *ret) {
        int keep[5] = { report_fd, p->stdio[0], p->stdio[1], p->stdio[2], p->overlay_fd };
        SpawnParams sp;
        RunChild c;

        /* c lives on this stack: the child gets its own copy of it at clone. */
        run_spawn_params(p, &c, keep, &sp);
        return userns_clone(&sp, ret);
}
