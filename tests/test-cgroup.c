/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Finding a session's slice from /proc/self/cgroup, and reading what it uses. */
#include "cgroup.h"
#include "util.h"

#include <glib.h>
#include <glib/gstdio.h>

static void test_slice_dir(void) {
        char *d = NULL;

        g_assert_cmpint(cgroup_slice_dir("0::/user.slice/user-1001.slice/user@1001.service/app.slice/chrootd.service\n",
                                         "/sys/fs/cgroup", "chrootd-s1.slice", &d),
                        ==, 0);
        g_assert_cmpstr(d, ==,
                        "/sys/fs/cgroup/user.slice/user-1001.slice/user@1001.service/chrootd.slice/chrootd-s1.slice");
        g_free(d);
        /* Hybrid hosts: the unified line is one of several. */
        g_assert_cmpint(cgroup_slice_dir("12:pids:/user.slice\n1:name=systemd:/user.slice/user@1001.service/x\n"
                                         "0::/user.slice/user@1001.service/app.slice/chrootd.service\n",
                                         "/sys/fs/cgroup/unified", "", &d),
                        ==, 0);
        g_assert_cmpstr(d, ==, "/sys/fs/cgroup/unified/user.slice/user@1001.service/chrootd.slice/");
        g_free(d);
        /* The manager's own cgroup, with nothing below it. */
        g_assert_cmpint(cgroup_slice_dir("0::/user.slice/user@5.service", "/r", "x.slice", &d), ==, 0);
        g_assert_cmpstr(d, ==, "/r/user.slice/user@5.service/chrootd.slice/x.slice");
        g_free(d);
}

static void test_slice_dir_none(void) {
        char *d = NULL;

        /* Not under a user manager (a system service, a test harness): no slice. */
        g_assert_cmpint(cgroup_slice_dir("0::/system.slice/foo.service\n", "/sys/fs/cgroup", "x", &d), ==, -ENOENT);
        /* "user@" only on a line that is not the unified one does not count. */
        g_assert_cmpint(cgroup_slice_dir("1:name=systemd:/user@1.service\n0::/init.scope\n", "/r", "x", &d), ==,
                        -ENOENT);
        g_assert_cmpint(cgroup_slice_dir("10:0::/user@1.service\n", "/r", "x", &d), ==, -ENOENT);
        g_assert_cmpint(cgroup_slice_dir("", "/r", "x", &d), ==, -ENOENT);
        g_assert_null(d);
}

static void put(const char *dir, const char *name, const char *text) {
        g_autofree char *p = g_build_filename(dir, name, NULL);
        g_assert_true(g_file_set_contents(p, text, -1, NULL));
}

static void test_read_usage(void) {
        g_autofree char *dir = g_dir_make_tmp("test-cgroup-XXXXXX", NULL);
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
        CgroupUsage u;

        /* No such directory: nothing is known. */
        cgroup_read_usage("/nonexistent/chrootd", &u);
        g_assert_cmpuint(u.tasks, ==, UINT64_MAX);
        g_assert_cmpuint(u.memory, ==, UINT64_MAX);
        g_assert_cmpuint(u.cpu_usec, ==, UINT64_MAX);

        put(dir, "pids.current", "7\n");
        put(dir, "memory.current", "1048576\n");
        put(dir, "cpu.stat", "usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\n");
        cgroup_read_usage(dir, &u);
        g_assert_cmpuint(u.tasks, ==, 7);
        g_assert_cmpuint(u.memory, ==, 1048576);
        g_assert_cmpuint(u.cpu_usec, ==, 123456);

        /* A missing controller's file, garbage, and a key that only ends like ours. */
        g_autofree char *memory = g_build_filename(dir, "memory.current", NULL);
        g_assert_cmpint(g_remove(memory), ==, 0);
        put(dir, "pids.current", "max\n");
        put(dir, "cpu.stat", "xusage_usec 5\n");
        cgroup_read_usage(dir, &u);
        g_assert_cmpuint(u.tasks, ==, UINT64_MAX);
        g_assert_cmpuint(u.memory, ==, UINT64_MAX);
        g_assert_cmpuint(u.cpu_usec, ==, UINT64_MAX);
        g_assert_cmpint(system(cmd), ==, 0);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/cgroup/slice-dir", test_slice_dir);
        g_test_add_func("/cgroup/slice-dir-none", test_slice_dir_none);
        g_test_add_func("/cgroup/read-usage", test_read_usage);
        return g_test_run();
}
