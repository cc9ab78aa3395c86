/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "userns.h"
#include "process-util.h"
#include "util.h"

#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

_noreturn_ static void child_main(const SpawnParams *p, int sync_fd) {
        char c;
        int r;

        /* Die with the service. If it died before prctl, the read of sync_fd below
         * sees EOF (getppid() cannot tell: it is 0 in a new pid namespace). */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                _exit(EXIT_FAILURE);
        reset_signals();

        {
                int keep[p->n_keep_fds + 1];
                memcpy(keep, p->keep_fds, p->n_keep_fds * sizeof(int));
                keep[p->n_keep_fds] = sync_fd;
                if (close_all_fds_except(keep, p->n_keep_fds + 1) < 0)
                        _exit(EXIT_FAILURE);
        }

        if (p->before_map) {
                r = p->before_map(p->userdata);
                if (r != 0)
                        _exit(r);
        }

        /* EOF instead of a byte means the parent could not write the maps. */
        if (read_full(sync_fd, &c, 1) != 1)
                _exit(EXIT_FAILURE);
        sync_fd = safe_close(sync_fd);

        if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                _exit(EXIT_FAILURE);

        _exit(p->after_map ? p->after_map(p->userdata) : 0);
}

/* The child, waiting for its maps until a byte comes on sync_fd. */
typedef struct SpawnedChild {
        pid_t pid;
        int pidfd;
        int sync_fd;
} SpawnedChild;

static int userns_clone(const SpawnParams *p, SpawnedChild *ret) {
        _cleanup_close_pair_ int sync[2] = { -EBADF, -EBADF };
        int pidfd = -EBADF;
        pid_t pid;
        struct clone_args args = {
                .flags = CLONE_NEWUSER | CLONE_PIDFD | p->extra_flags,
                .pidfd = (uint64_t) (uintptr_t) &pidfd,
                .exit_signal = SIGCHLD,
        };

        if (pipe2(sync, O_CLOEXEC) < 0)
                return -errno;

        pid = (pid_t) syscall(SYS_clone3, &args, sizeof(args));
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                sync[1] = safe_close(sync[1]);
                child_main(p, sync[0]);
        }

        *ret = (SpawnedChild) { .pid = pid, .pidfd = pidfd, .sync_fd = TAKE_FD(sync[1]) };
        return 0;
}

/* Write the maps and let the child go on. */
static int userns_release(SpawnedChild *c, const IdMap *map, IdMapFlags flags, char **ret_error) {
        int r = idmap_apply(map, c->pid, flags, ret_error);

        if (r >= 0)
                r = write_full(c->sync_fd, "x", 1);
        c->sync_fd = safe_close(c->sync_fd);
        return r;
}

/* A child not handed on is killed and reaped. */
static void spawned_child_done(SpawnedChild *c) {
        sigkill_waitp(&c->pid);
        c->pidfd = safe_close(c->pidfd);
        c->sync_fd = safe_close(c->sync_fd);
}

int userns_spawn(const SpawnParams *p, pid_t *ret_pid, int *ret_pidfd, char **ret_error) {
        _cleanup_(spawned_child_done) SpawnedChild c = { .pidfd = -EBADF, .sync_fd = -EBADF };
        int r;

        r = userns_clone(p, &c);
        if (r < 0)
                return r;
        r = userns_release(&c, p->map, p->map_flags, ret_error);
        if (r < 0)
                return r;
        *ret_pid = TAKE_PID(c.pid);
        *ret_pidfd = TAKE_FD(c.pidfd);
        return 0;
}

/* The map of a namespace nested in ours that maps our ids 0..IDMAP_COUNT-1 onto
 * themselves, from our own map (/proc/self/uid_map or gid_map, in which the first
 * column is our ids): the kernel wants each extent of a child's map to lie within one
 * extent of its parent's, so ours are copied extent by extent. */
static int identity_map(int proc_dirfd, const char *file, char *buf, size_t size) {
        _cleanup_free_ char *ours = NULL, *path = strf("self/%s", file);
        size_t n = 0;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_file_at(proc_dirfd, path, 4096, &ours);
        if (r < 0)
                return r;
        buf[0] = 0;
        for (char *line = strtok(ours, "\n"); line; line = strtok(NULL, "\n")) {
                uint32_t inside, outside, count;
                if (sscanf(line, "%" SCNu32 " %" SCNu32 " %" SCNu32, &inside, &outside, &count) != 3)
                        return -EBADMSG;
                if (inside >= IDMAP_COUNT)
                        continue;
                if (count > IDMAP_COUNT - inside)
                        count = IDMAP_COUNT - inside;
                n += (size_t) snprintf(buf + n, size - n, "%" PRIu32 " %" PRIu32 " %" PRIu32 "\n", inside, inside, count);
                if (n >= size)
                        return -E2BIG;
        }
        return buf[0] ? 0 : -EBADMSG;
}

/* In the child of userns_enter_nested(): once the parent has made its namespace, write
 * its maps. Returns the exit status: 0 or an errno value. */
static int write_nested_maps(int proc_dirfd, pid_t parent, int go_fd) {
        char maps[2][512], path[64], c;
        static const char *const files[2] = { "uid_map", "gid_map" };
        int r;

        for (int i = 0; i < 2; i++) {
                r = identity_map(proc_dirfd, files[i], maps[i], sizeof(maps[i]));
                if (r < 0)
                        return -r;
        }
        if (read_full(go_fd, &c, 1) != 1)
                return ECANCELED;
        for (int i = 0; i < 2; i++) {
                _cleanup_close_ int fd = -EBADF;
                size_t len = strlen(maps[i]);
                snprintf(path, sizeof(path), "%d/%s", (int) parent, files[i]);
                fd = openat(proc_dirfd, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0)
                        return errno;
                /* A map is written with one write(). */
                if (write(fd, maps[i], len) != (ssize_t) len)
                        return errno ? errno : EIO;
        }
        return 0;
}

int userns_enter_nested(int proc_dirfd) {
        _cleanup_close_pair_ int go[2] = { -EBADF, -EBADF };
        pid_t self = getpid(), pid;
        int status, r = 0, r2;

        if (pipe2(go, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                go[1] = safe_close(go[1]);
                _exit(write_nested_maps(proc_dirfd, self, go[0]));
        }
        go[0] = safe_close(go[0]);
        if (unshare(CLONE_NEWUSER) < 0)
                r = -errno;
        /* A closed pipe instead of the byte tells the child to give up. */
        if (r >= 0 && write_full(go[1], "x", 1) < 0)
                r = -EPIPE;
        go[1] = safe_close(go[1]);
        r2 = wait_for_child(pid, &status);
        if (r >= 0)
                r = r2;
        if (r < 0)
                return r;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return WIFEXITED(status) ? -WEXITSTATUS(status) : -EIO;
        if (unshare(CLONE_NEWNS) < 0)
                return -errno;
        return 0;
}

int userns_enter_nested_undumpable(void) {
        _cleanup_close_ int procfd = open("/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int r;

        if (procfd < 0)
                return -errno;
        if (prctl(PR_SET_DUMPABLE, 1) < 0)
                return -errno;
        r = userns_enter_nested(procfd);
        if (prctl(PR_SET_DUMPABLE, 0) < 0 && r >= 0)
                r = -errno;
        return r;
}
