/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The file system a command sees (mounts.h), made on a real tree in a child that is
 * root of a user namespace of the caller's subordinate ids with its own mount and pid
 * namespaces, as a command's init is:
 * what is mounted where, with which flags, and that the host's root is gone after the
 * pivot. Needs subordinate ids and $CHROOTD_TEST_ROOTFS/busybox-dir; skips without. */
#include "idmap.h"
#include "mounts.h"
#include "userns.h"
#include "util.h"

#include <fcntl.h>
#include <glib.h>
#include <linux/magic.h>
#include <pwd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

typedef struct Child {
        const char *tree;
        const char *home; /* the user's, which is not in the tree */
        int rootfd;
        int out;
} Child;

/* As the leader does it, still as the user (the tree is in the user's temporary
 * directory, mode 0700): private mounts, and the tree bound onto itself, which makes
 * it a mount that can become the root. */
static int bind_tree(void *userdata) {
        Child *c = userdata;

        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount(c->tree, c->tree, NULL, MS_BIND | MS_REC, NULL) < 0)
                return 5;
        c->rootfd = open(c->tree, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return c->rootfd < 0 ? 2 : 0;
}

static const char *fs_of(const char *path) {
        struct statfs sf;

        if (statfs(path, &sf) < 0)
                return "missing";
        return sf.f_type == PROC_SUPER_MAGIC    ? "proc"
               : sf.f_type == SYSFS_MAGIC       ? "sysfs"
               : sf.f_type == TMPFS_MAGIC       ? "tmpfs"
               : sf.f_type == DEVPTS_SUPER_MAGIC ? "devpts"
                                                 : "other";
}

static bool read_only(const char *path) {
        struct statvfs sv;
        return statvfs(path, &sv) == 0 && (sv.f_flag & ST_RDONLY);
}

static int setup_and_look(void *userdata) {
        Child *c = userdata;
        const char *what = NULL;
        struct stat st;
        int r;

        r = mounts_setup(c->rootfd, &what);
        dprintf(c->out, "setup=%d%s%s\n", r, r < 0 ? " at " : "", r < 0 ? strempty(what) : "");
        if (r < 0)
                return 3;
        r = mounts_pivot(c->rootfd);
        dprintf(c->out, "pivot=%d\n", r);
        if (r < 0)
                return 4;
        dprintf(c->out, "/proc=%s /sys=%s%s /dev=%s /dev/pts=%s /dev/shm=%s\n", fs_of("/proc"), fs_of("/sys"),
                read_only("/sys") ? ",ro" : ",rw", fs_of("/dev"), fs_of("/dev/pts"), fs_of("/dev/shm"));
        dprintf(c->out, "null=%s\n", stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode) ? "chr" : "no");
        dprintf(c->out, "ptmx=%s\n", stat("/dev/ptmx", &st) == 0 ? "yes" : "no");
        /* The tree is the root now: its busybox is /bin/busybox; the host's home is not. */
        dprintf(c->out, "busybox=%s\n", access("/bin/busybox", X_OK) == 0 ? "yes" : "no");
        dprintf(c->out, "host-home=%s\n", access(c->home, F_OK) == 0 ? "yes" : "no");
        return 0;
}

static void test_setup_and_pivot(void) {
        struct passwd *pw = getpwuid(getuid());
        const char *rootfs = g_getenv("CHROOTD_TEST_ROOTFS");
        g_autofree char *error = NULL, *src = NULL, *tmp = NULL, *tree = NULL, *cmd = NULL, *rm = NULL;
        char buf[4096];
        ssize_t n, total = 0;
        int p[2], status, pidfd = -1;
        IdMap map;
        pid_t pid;

        if (getuid() == 0 || !pw ||
            idmap_load(pw->pw_name, getuid(), getgid(), "/etc/subuid", "/etc/subgid", &map, &error) < 0) {
                g_test_skip(error ? error : "runs as an ordinary user with subordinate ids (tests/run-all's test user)");
                return;
        }
        src = rootfs ? g_build_filename(rootfs, "busybox-dir", NULL) : NULL;
        if (!src || !g_file_test(src, G_FILE_TEST_IS_DIR)) {
                g_test_skip("no $CHROOTD_TEST_ROOTFS/busybox-dir (tests/run-all sets CHROOTD_TEST_ROOTFS)");
                return;
        }
        tmp = g_dir_make_tmp("test-mounts-XXXXXX", NULL);
        tree = g_build_filename(tmp, "root", NULL);
        cmd = g_strdup_printf("cp -a '%s' '%s'", src, tree);
        g_assert_cmpint(system(cmd), ==, 0);

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        Child c = { .tree = tree, .home = pw->pw_dir, .rootfd = -1, .out = p[1] };
        int keep[] = { p[1] };
        SpawnParams sp = { .map = &map, .extra_flags = CLONE_NEWNS | CLONE_NEWPID, .keep_fds = keep, .n_keep_fds = 1,
                           .before_map = bind_tree, .after_map = setup_and_look, .userdata = &c };
        g_assert_cmpint(userns_spawn(&sp, &pid, &pidfd, &error), ==, 0);
        close(p[1]);
        while ((n = read(p[0], buf + total, sizeof(buf) - 1 - (size_t) total)) > 0)
                total += n;
        buf[total] = 0;
        close(p[0]);
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        close(pidfd);
        g_test_message("%s", buf);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
        g_assert_nonnull(strstr(buf, "setup=0\n"));
        g_assert_nonnull(strstr(buf, "pivot=0\n"));
        g_assert_nonnull(strstr(buf, "/proc=proc /sys=sysfs,ro /dev=tmpfs /dev/pts=devpts /dev/shm=tmpfs\n"));
        g_assert_nonnull(strstr(buf, "null=chr\n"));
        g_assert_nonnull(strstr(buf, "ptmx=yes\n"));
        g_assert_nonnull(strstr(buf, "busybox=yes\n"));
        g_assert_nonnull(strstr(buf, "host-home=no\n"));

        /* Nothing was made in the tree on the host: the mounts lived in the child's
         * namespace alone, and the tree is ours to remove. */
        rm = g_strdup_printf("rm -rf '%s'", tmp);
        g_assert_cmpint(system(rm), ==, 0);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/mounts/setup-and-pivot", test_setup_and_pivot);
        return g_test_run();
}
