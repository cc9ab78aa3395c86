/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "idmap.h"
#include "process-util.h"
#include "subid.h"
#include "util.h"
#include "config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

static int load_one(const char *path, const char *user, uint32_t id, uint32_t *ret, char **ret_error) {
        SubIdRange range;
        int r;

        r = subid_find(path, user, id, IDMAP_COUNT, &range);
        if (r == -ENOENT) {
                *ret_error = strf("%s does not exist: add a range of %u ids for user '%s' (usermod --add-subuids/--add-subgids)",
                                  path, IDMAP_COUNT, user);
                return -ENOENT;
        }
        if (r < 0) {
                *ret_error = strf("Cannot read %s: %s", path, strerror(-r));
                return r;
        }
        if (r == 0) {
                *ret_error = strf("No range of %u subordinate ids for user '%s' in %s: add one (usermod --add-subuids/--add-subgids)",
                                  IDMAP_COUNT, user, path);
                return -ESRCH;
        }
        *ret = range.start;
        return 0;
}

int idmap_load(const char *user, uid_t uid, gid_t gid, const char *subuid_path, const char *subgid_path,
               IdMap *ret, char **ret_error) {
        IdMap m = { .self_uid = uid, .self_gid = gid };
        int r;

        r = load_one(subuid_path, user, uid, &m.uid_base, ret_error);
        if (r < 0)
                return r;
        r = load_one(subgid_path, user, uid, &m.gid_base, ret_error);
        if (r < 0)
                return r;
        *ret = m;
        return 0;
}

typedef struct IdMapHelper {
        const char *path;
        pid_t pid;
        int err_fd;
} IdMapHelper;

/* A setuid helper is started with posix_spawn() (vfork semantics: no copy of the
 * service's memory), its stderr on a pipe for the error message. */
static int helper_start(IdMapHelper *h, const char *path, char *const argv[], char **ret_error) {
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, all;
        int r;

        *h = (IdMapHelper) { .path = path, .pid = 0, .err_fd = -EBADF };
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        sigemptyset(&none);
        sigfillset(&all);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDWR, 0);
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_RDWR, 0);
        posix_spawn_file_actions_adddup2(&fa, p[1], STDERR_FILENO);
        posix_spawnattr_init(&attr);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &all);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        r = posix_spawn(&h->pid, path, &fa, &attr, argv, (char *[]) { NULL });
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        if (r != 0) {
                *ret_error = strf("Cannot execute %s: %s (is the package uidmap installed?)", path, strerror(r));
                return -r;
        }
        h->err_fd = TAKE_FD(p[0]);
        return 0;
}

/* Wait for a started helper; 0 if it succeeded, else -EPERM with what it said. */
static int helper_finish(IdMapHelper *h, char **ret_error) {
        _cleanup_close_ int fd = TAKE_FD(h->err_fd);
        char buf[512];
        ssize_t n;
        int status, r;

        if (h->pid <= 0)
                return 0;
        n = read_full(fd, buf, sizeof(buf) - 1);
        buf[n > 0 ? n : 0] = 0;
        r = wait_for_child(h->pid, &status);
        if (r < 0)
                return r;
        h->pid = 0;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        for (char *e = buf + strlen(buf); e > buf && (e[-1] == '\n' || e[-1] == ' '); e--)
                e[-1] = 0;
        if (!*ret_error)
                *ret_error = strf("%s failed: %s", h->path, buf[0] ? buf : "no message");
        return -EPERM;
}

size_t idmap_extents(uint32_t base, uint32_t self, IdMapFlags flags, IdExtent ret[IDMAP_MAX_EXTENTS]) {
        size_t n = 0;

        /* Host root never goes into a session (the service refuses to run as root). */
        if (!(flags & IDMAP_SELF) || self == 0 || self >= IDMAP_COUNT) {
                ret[n++] = (IdExtent) { 0, base, IDMAP_COUNT };
                if ((flags & IDMAP_HELPER) && self != 0)
                        ret[n++] = (IdExtent) { IDMAP_COUNT, self, 1 };
                return n;
        }
        ret[n++] = (IdExtent) { 0, base, self };
        ret[n++] = (IdExtent) { self, self, 1 };
        if (self + 1 < IDMAP_COUNT)
                ret[n++] = (IdExtent) { self + 1, base + self + 1, IDMAP_COUNT - self - 1 };
        return n;
}

static int start_one(IdMapHelper *h, const char *helper, pid_t pid, uint32_t base, uint32_t self, IdMapFlags flags,
                     char **ret_error) {
        IdExtent e[IDMAP_MAX_EXTENTS];
        char numbers[1 + 3 * IDMAP_MAX_EXTENTS][16];
        char *argv[2 + 3 * IDMAP_MAX_EXTENTS + 1];
        size_t n, k = 0;

        n = idmap_extents(base, self, flags, e);
        const char *slash = strrchr(helper, '/');
        argv[k++] = (char *) (slash ? slash + 1 : helper);
        snprintf(numbers[0], sizeof(numbers[0]), "%d", (int) pid);
        argv[k++] = numbers[0];
        for (size_t i = 0; i < n; i++) {
                uint32_t v[3] = { e[i].inside, e[i].outside, e[i].count };
                for (size_t j = 0; j < 3; j++) {
                        char *b = numbers[1 + 3 * i + j];
                        snprintf(b, sizeof(numbers[0]), "%" PRIu32, v[j]);
                        argv[k++] = b;
                }
        }
        argv[k] = NULL;
        /* posix_spawn() copies argv before it returns. */
        return helper_start(h, helper, argv, ret_error);
}

int idmap_apply(const IdMap *m, pid_t pid, IdMapFlags flags, char **ret_error) {
        IdMapHelper uid = { .err_fd = -EBADF }, gid = { .err_fd = -EBADF };
        char *ignored = NULL;
        int r, r2;

        /* Both helpers at once: each is a setuid exec of a millisecond or two. */
        r = start_one(&uid, NEWUIDMAP, pid, m->uid_base, (uint32_t) m->self_uid, flags, ret_error);
        if (r < 0)
                return r;
        r = start_one(&gid, NEWGIDMAP, pid, m->gid_base, (uint32_t) m->self_gid, flags, ret_error);
        if (r < 0) {
                (void) helper_finish(&uid, &ignored);
                free(ignored);
                return r;
        }
        r = helper_finish(&uid, ret_error);
        r2 = helper_finish(&gid, ret_error);
        return r < 0 ? r : r2;
}
