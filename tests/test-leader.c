/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A session's leader on a real tree: it starts, forks inits that wait for their
 * command, lets one go when its control socket closes, and takes every init with it
 * when stopped. Needs subordinate ids and $CHROOTD_TEST_ROOTFS/busybox-dir (as
 * tests/run-all provides); skips without them. */
#include "idmap.h"
#include "leader.h"
#include "util.h"

#include <glib.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>

typedef struct Fixture {
        char *tmp, *tree;
        IdMap map;
        bool ok;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data) {
        struct passwd *pw = getpwuid(getuid());
        const char *rootfs = g_getenv("CHROOTD_TEST_ROOTFS");
        g_autofree char *error = NULL, *src = NULL, *cmd = NULL;

        *f = (Fixture) {};
        if (getuid() == 0 || !pw ||
            idmap_load(pw->pw_name, getuid(), getgid(), "/etc/subuid", "/etc/subgid", &f->map, &error) < 0) {
                g_test_skip(error ? error : "runs as an ordinary user with subordinate ids (tests/run-all's test user)");
                return;
        }
        src = rootfs ? g_build_filename(rootfs, "busybox-dir", NULL) : NULL;
        if (!src || !g_file_test(src, G_FILE_TEST_IS_DIR)) {
                g_test_skip("no $CHROOTD_TEST_ROOTFS/busybox-dir (tests/run-all sets CHROOTD_TEST_ROOTFS)");
                return;
        }
        f->tmp = g_dir_make_tmp("test-leader-XXXXXX", NULL);
        f->tree = g_build_filename(f->tmp, "root", NULL);
        cmd = g_strdup_printf("cp -a '%s' '%s'", src, f->tree);
        g_assert_cmpint(system(cmd), ==, 0);
        f->ok = true;
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
        if (f->tmp) {
                g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", f->tmp);
                g_assert_cmpint(system(cmd), ==, 0);
        }
        g_free(f->tmp);
        g_free(f->tree);
}

/* Whether pidfd's process exits within ms. */
static bool exits_within(int pidfd, int ms) {
        struct pollfd p = { .fd = pidfd, .events = POLLIN };
        return poll(&p, 1, ms) == 1;
}

static void test_start_fork_stop(Fixture *f, gconstpointer data) {
        g_autofree char *error = NULL;
        Leader l = LEADER_NULL;
        pid_t pid1, pid2;
        int pidfd1, pidfd2, ctl1, ctl2;

        if (!f->ok)
                return;
        LeaderParams p = { .map = &f->map, .tree = f->tree, .hostname = "test-leader" };
        g_assert_cmpint(leader_start(&p, &l, &error), ==, 0);
        g_assert_null(error);
        g_assert_true(leader_alive(&l));

        /* An init waits for its command; its control socket's EOF lets it go. */
        g_assert_cmpint(leader_fork_init(&l, &pid1, &pidfd1, &ctl1), ==, 0);
        g_assert_cmpint(pid1, >, 0);
        g_assert_false(exits_within(pidfd1, 200));
        close(ctl1);
        g_assert_true(exits_within(pidfd1, 5000));
        close(pidfd1);

        /* Asked twice before reading: answers come in order. */
        g_assert_cmpint(leader_request_init(&l), ==, 0);
        g_assert_cmpint(leader_receive_init(&l, &pid2, &pidfd2, &ctl2), ==, 0);
        g_assert_cmpint(pid2, !=, pid1);
        g_assert_false(exits_within(pidfd2, 100));
        g_assert_true(leader_alive(&l));

        /* Stopping the leader takes its inits with it. */
        leader_stop(&l);
        g_assert_false(leader_alive(&l));
        g_assert_true(exits_within(pidfd2, 5000));
        close(pidfd2);
        close(ctl2);
        g_assert_cmpint(leader_request_init(&l), ==, -EPIPE);
}

static void test_missing_tree(Fixture *f, gconstpointer data) {
        g_autofree char *error = NULL, *missing = NULL;
        Leader l = LEADER_NULL;

        if (!f->ok)
                return;
        missing = g_build_filename(f->tmp, "nonexistent", NULL);
        LeaderParams p = { .map = &f->map, .tree = missing, .hostname = "x" };
        /* The tree is opened before the maps are written; whichever the parent sees
         * first, the child's broken sync pipe or its exit, the report says why. */
        for (int i = 0; i < 20; i++) {
                g_assert_cmpint(leader_start(&p, &l, &error), ==, -ENOENT);
                g_assert_false(leader_alive(&l));
                g_assert_cmpstr(error, ==, "Cannot bind the session's tree: No such file or directory");
                g_clear_pointer(&error, free);
        }
}

int main(int argc, char *argv[]) {
        signal(SIGPIPE, SIG_IGN);
        g_test_init(&argc, &argv, NULL);
        g_test_add("/leader/start-fork-stop", Fixture, NULL, fixture_setup, test_start_fork_stop, fixture_teardown);
        g_test_add("/leader/missing-tree", Fixture, NULL, fixture_setup, test_missing_tree, fixture_teardown);
        return g_test_run();
}
