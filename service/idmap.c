/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "idmap.h"
#include "subid.h"
#include "util.h"
#include "config.h"

#include <fcntl.h>
#include <signal.h>
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

/* Run a helper, collecting what it prints on stderr for the error message. */
static int run_helper(const char *path, char *const argv[], char **ret_error) {
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        char buf[512];
        ssize_t n;
        pid_t pid;
        int status;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                sigset_t all;
                sigemptyset(&all);
                sigprocmask(SIG_SETMASK, &all, NULL);
                if (dup2(p[1], STDERR_FILENO) < 0)
                        _exit(127);
                int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (devnull >= 0) {
                        dup2(devnull, STDIN_FILENO);
                        dup2(devnull, STDOUT_FILENO);
                }
                execv(path, argv);
                fprintf(stderr, "cannot execute %s: %m (is the package uidmap installed?)", path);
                _exit(127);
        }
        p[1] = safe_close(p[1]);
        n = read_full(p[0], buf, sizeof(buf) - 1);
        buf[n > 0 ? n : 0] = 0;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        for (char *e = buf + strlen(buf); e > buf && (e[-1] == '\n' || e[-1] == ' '); e--)
                e[-1] = 0;
        *ret_error = strf("%s failed: %s", path, buf[0] ? buf : "no message");
        return -EPERM;
}

int idmap_apply(const IdMap *m, pid_t pid, bool map_self, char **ret_error) {
        char spid[16], base[16], count[16], inside_self[16], self[16];
        int r;

        snprintf(spid, sizeof(spid), "%d", (int) pid);
        snprintf(count, sizeof(count), "%u", IDMAP_COUNT);
        snprintf(inside_self, sizeof(inside_self), "%u", IDMAP_COUNT);

        snprintf(base, sizeof(base), "%u", m->uid_base);
        snprintf(self, sizeof(self), "%u", (unsigned) m->self_uid);
        char *uargv[] = { (char *) "newuidmap", spid, (char *) "0", base, count,
                          map_self ? inside_self : NULL, self, (char *) "1", NULL };
        r = run_helper(NEWUIDMAP, uargv, ret_error);
        if (r < 0)
                return r;

        snprintf(base, sizeof(base), "%u", m->gid_base);
        snprintf(self, sizeof(self), "%u", (unsigned) m->self_gid);
        char *gargv[] = { (char *) "newgidmap", spid, (char *) "0", base, count,
                          map_self ? inside_self : NULL, self, (char *) "1", NULL };
        return run_helper(NEWGIDMAP, gargv, ret_error);
}
