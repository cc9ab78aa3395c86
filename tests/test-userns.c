/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* userns_spawn() and userns_enter_nested() with the caller's real subordinate ids: who
 * the child is, which ids it has, and that a nested namespace locks the mounts made
 * before it (what keeps root inside a session from unmounting or remounting them).
 * Needs a range in /etc/subuid and /etc/subgid and newuidmap; skips without them. */
#include "idmap.h"
#include "userns.h"
#include "util.h"

#include <fcntl.h>
#include <glib.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>

typedef struct Child {
        int out;             /* where the child writes what it saw */
        unsigned long flags; /* for the nested test */
} Child;

static bool load_map(IdMap *map) {
        struct passwd *pw = getpwuid(getuid());
        g_autofree char *error = NULL;

        if (getuid() == 0) {
                g_test_skip("runs as an ordinary user with subordinate ids (tests/run-all's test user)");
                return false;
        }
        if (!pw || idmap_load(pw->pw_name, getuid(), getgid(), "/etc/subuid", "/etc/subgid", map, &error) < 0) {
                g_test_skip(error ? error : "no passwd entry");
                return false;
        }
        return true;
}

/* Spawn after_map with flags, wait for it; returns what it wrote and its exit status. */
static char *spawn_and_read(const IdMap *map, IdMapFlags flags, unsigned long extra, spawn_func_t after_map,
                            int *ret_status) {
        int p[2], status;
        g_autofree char *error = NULL;
        char buf[4096];
        pid_t pid;
        int pidfd = -1;
        ssize_t n, total = 0;

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        Child c = { .out = p[1] };
        int keep[] = { p[1] };
        SpawnParams sp = { .map = map, .map_flags = flags, .extra_flags = extra, .keep_fds = keep, .n_keep_fds = 1,
                           .after_map = after_map, .userdata = &c };
        g_assert_cmpint(userns_spawn(&sp, &pid, &pidfd, &error), ==, 0);
        close(p[1]);
        while ((n = read(p[0], buf + total, sizeof(buf) - 1 - (size_t) total)) > 0)
                total += n;
        buf[total] = 0;
        close(p[0]);
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        close(pidfd);
        *ret_status = status;
        return g_strdup(buf);
}

static int write_identity(void *userdata) {
        Child *c = userdata;
        g_autofree char *uid_map = NULL, *gid_map = NULL;

        if (!g_file_get_contents("/proc/self/uid_map", &uid_map, NULL, NULL) ||
            !g_file_get_contents("/proc/self/gid_map", &gid_map, NULL, NULL))
                return 2;
        dprintf(c->out, "%u %u\n%s%s", (unsigned) getuid(), (unsigned) getgid(), uid_map, gid_map);
        return 0;
}

/* "A B C" lines of a map into a canonical "A:B:C," string. */
static char *squeeze(const char *text) {
        GString *s = g_string_new(NULL);
        unsigned a, b, c;
        int used;

        while (sscanf(text, " %u %u %u%n", &a, &b, &c, &used) == 3) {
                g_string_append_printf(s, "%u:%u:%u,", a, b, c);
                text += used;
        }
        return g_string_free(s, FALSE);
}

static void test_spawn_maps(void) {
        IdMap map;
        int status;

        if (!load_map(&map))
                return;
        g_autofree char *out = spawn_and_read(&map, 0, 0, write_identity, &status);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
        /* Root inside, and ids 0..65535 on the subordinate range alone: the user is
         * nobody inside an ordinary session. */
        g_autofree char *want = g_strdup_printf("0 0\n0 %u 65536\n0 %u 65536\n", map.uid_base, map.gid_base);
        g_autofree char *got_sq = squeeze(out + 4), *want_sq = squeeze(want + 4);
        g_assert_true(g_str_has_prefix(out, "0 0\n"));
        g_assert_cmpstr(got_sq, ==, want_sq);
}

static void test_spawn_self(void) {
        IdMap map;
        int status;

        if (!load_map(&map))
                return;
        if (map.self_uid == 0 || map.self_uid >= IDMAP_COUNT) {
                g_test_skip("the user's uid is not one a session can hold (1..65535)");
                return;
        }
        g_autofree char *out = spawn_and_read(&map, IDMAP_SELF, 0, write_identity, &status);
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
        /* With IDMAP_SELF the user's own uid is itself inside. */
        g_autofree char *self = g_strdup_printf(",%u:%u:1,", (unsigned) map.self_uid, (unsigned) map.self_uid);
        g_autofree char *maps = squeeze(out + 4);
        g_autofree char *all = g_strdup_printf(",%s", maps);
        g_assert_nonnull(strstr(all, self));
}

/* In a new mount namespace, as root of the session's namespace: a tmpfs, then a nested
 * namespace; then try what root inside would. */
static int try_nested(void *userdata) {
        Child *c = userdata;
        const char *dir = "/mnt"; /* any directory: the mount is in the child's namespace */
        int proc, r;

        if (mount("none", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "size=1m") < 0)
                return 2;
        proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        /* Only a dumpable process's maps can be written by its child (as the init). */
        if (prctl(PR_SET_DUMPABLE, 1) < 0)
                return 4;
        r = userns_enter_nested(proc);
        dprintf(c->out, "nested=%d uid=%u\n", r, (unsigned) getuid());
        if (r < 0)
                return 3;
        /* Root of the nested namespace, and it owns its mount namespace, but the tmpfs
         * came from a more privileged one: locked read-only and in place. */
        r = mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV, NULL);
        dprintf(c->out, "remount-rw=%d\n", r < 0 ? -errno : 0);
        r = umount2(dir, MNT_DETACH);
        dprintf(c->out, "umount=%d\n", r < 0 ? -errno : 0);
        r = unshare(CLONE_NEWNS);
        dprintf(c->out, "unshare-ns=%d\n", r < 0 ? -errno : 0);
        return 0;
}

static void test_nested_locks_mounts(void) {
        IdMap map;
        int status;

        if (!load_map(&map))
                return;
        g_autofree char *out = spawn_and_read(&map, 0, CLONE_NEWNS, try_nested, &status);
        g_test_message("%s", out);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
        g_assert_nonnull(strstr(out, "nested=0 uid=0\n"));
        /* EPERM: a locked flag cannot be cleared; EINVAL: a locked mount cannot be
         * detached from what it covers. Either refusal is the lock. */
        g_assert_null(strstr(out, "remount-rw=0\n"));
        g_assert_null(strstr(out, "umount=0\n"));
        /* Its own mount namespaces it may still make. */
        g_assert_nonnull(strstr(out, "unshare-ns=0\n"));
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/userns/spawn-maps", test_spawn_maps);
        g_test_add_func("/userns/spawn-self", test_spawn_self);
        g_test_add_func("/userns/nested-locks-mounts", test_nested_locks_mounts);
        return g_test_run();
}
