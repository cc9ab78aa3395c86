/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where a user's chroots and sessions live (paths.h). */
#include "paths.h"

#include <glib.h>
#include <stdlib.h>

static void test_xdg(void) {
        Paths p;

        g_setenv("HOME", "/home/u", TRUE);
        g_setenv("XDG_STATE_HOME", "/s", TRUE);
        g_setenv("XDG_CACHE_HOME", "/c", TRUE);
        g_setenv("XDG_CONFIG_HOME", "/k", TRUE);
        g_assert_cmpint(paths_init(&p), ==, 0);
        g_assert_cmpstr(p.state_dir, ==, "/s/chrootd");
        g_assert_cmpstr(p.sessions_dir, ==, "/s/chrootd/sessions");
        g_assert_cmpstr(p.sbuild_dir, ==, "/c/sbuild");
        g_assert_cmpstr(p.confd_dir, ==, "/k/chrootd/chroots.d");
        g_assert_cmpstr(p.bases_dir, ==, "/c/chrootd/bases");
        g_assert_cmpstr(p.packages_dir, ==, "/c/chrootd/packages");
        paths_done(&p);
}

static void test_defaults(void) {
        Paths p;

        /* Unset, and relative values (which the XDG spec says to ignore), fall back to
         * HOME. */
        g_setenv("HOME", "/home/u", TRUE);
        g_unsetenv("XDG_STATE_HOME");
        g_setenv("XDG_CACHE_HOME", "relative/cache", TRUE);
        g_setenv("XDG_CONFIG_HOME", "", TRUE);
        g_assert_cmpint(paths_init(&p), ==, 0);
        g_assert_cmpstr(p.state_dir, ==, "/home/u/.local/state/chrootd");
        g_assert_cmpstr(p.sbuild_dir, ==, "/home/u/.cache/sbuild");
        g_assert_cmpstr(p.confd_dir, ==, "/home/u/.config/chrootd/chroots.d");
        g_assert_cmpstr(p.bases_dir, ==, "/home/u/.cache/chrootd/bases");
        paths_done(&p);
}

static void test_no_home(void) {
        Paths p;

        /* Without a usable HOME, the passwd entry's directory is used. */
        g_setenv("HOME", "not/absolute", TRUE);
        g_unsetenv("XDG_STATE_HOME");
        g_assert_cmpint(paths_init(&p), ==, 0);
        g_assert_true(p.state_dir[0] == '/');
        g_assert_true(g_str_has_suffix(p.state_dir, "/.local/state/chrootd"));
        g_assert_false(g_str_has_prefix(p.state_dir, "not/"));
        paths_done(&p);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/paths/xdg", test_xdg);
        g_test_add_func("/paths/defaults", test_defaults);
        g_test_add_func("/paths/no-home", test_no_home);
        return g_test_run();
}
