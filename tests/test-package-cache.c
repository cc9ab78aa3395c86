/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The package cache's own steps on a temporary directory (package-cache.h): which
 * names are packages, the directories a session gets, and what its End adds. As a
 * plain user, so owners are left as they are (the service's child is root inside). */
#include "package-cache.h"
#include "rmtree.h"

#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_names(void) {
        g_assert_true(package_file_name_is_valid("hello_2.10-3_amd64.deb"));
        g_assert_true(package_file_name_is_valid("libc6_2.36-9+deb12u4_amd64.deb"));
        g_assert_true(package_file_name_is_valid("foo_1%3a2.0~rc1-1_all.deb"));
        g_assert_false(package_file_name_is_valid("hello_2.10-3_amd64.udeb"));
        g_assert_false(package_file_name_is_valid("hello.deb"));
        g_assert_false(package_file_name_is_valid("a_b_c_d.deb"));
        g_assert_false(package_file_name_is_valid(".hidden_1_all.deb"));
        g_assert_false(package_file_name_is_valid("odd name_1_all.deb"));
        g_assert_false(package_file_name_is_valid("a/b_1_all.deb"));
        g_assert_false(package_file_name_is_valid("lock"));
}

static void put(const char *path, const char *text) {
        g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

static char *read_text(const char *path) {
        char *text = NULL;
        g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
        return text;
}

static void test_prepare_promote(void) {
        g_autofree char *dir = g_dir_make_tmp("test-package-cache-XXXXXX", NULL);
        g_autofree char *upper = g_build_filename(dir, "ch", "sessions", "s1", "upper", NULL);
        g_autofree char *partial = g_build_filename(dir, "ch", "layer", "partial", NULL);
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct stat st;

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(package_cache_prepare(fd, "ch", "s1"), ==, 0);
        g_assert_cmpint(package_cache_prepare(fd, "ch", "s1"), ==, 0); /* again: fine */
        g_assert_true(g_file_test(upper, G_FILE_TEST_IS_DIR));
        g_assert_true(g_file_test(partial, G_FILE_TEST_IS_DIR));

        g_autofree char *foo = g_build_filename(upper, "foo_1_all.deb", NULL);
        g_autofree char *bar = g_build_filename(upper, "bar_1_all.deb", NULL);
        g_autofree char *link = g_build_filename(upper, "link_1_all.deb", NULL);
        g_autofree char *txt = g_build_filename(upper, "notes.txt", NULL);
        g_autofree char *cached_bar = g_build_filename(partial, "bar_1_all.deb", NULL);
        put(foo, "foo");
        g_assert_cmpint(chmod(foo, 04700), ==, 0);
        put(bar, "session's bar");
        put(cached_bar, "cache's bar");
        g_assert_cmpint(symlink("/etc/passwd", link), ==, 0);
        put(txt, "notes");

        /* One added (foo); bar is there already; the rest are no packages. */
        g_assert_cmpint(package_cache_promote(fd, "ch", "s1"), ==, 1);
        g_autofree char *cached_foo = g_build_filename(partial, "foo_1_all.deb", NULL);
        g_assert_cmpint(stat(cached_foo, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 07777, ==, 0644);
        g_autofree char *foo_text = read_text(cached_foo);
        g_assert_cmpstr(foo_text, ==, "foo");
        g_autofree char *bar_text = read_text(cached_bar);
        g_assert_cmpstr(bar_text, ==, "cache's bar");
        g_autofree char *cached_link = g_build_filename(partial, "link_1_all.deb", NULL);
        g_assert_false(g_file_test(cached_link, G_FILE_TEST_EXISTS));
        /* The session's own directories are gone. */
        g_autofree char *sess = g_build_filename(dir, "ch", "sessions", "s1", NULL);
        g_assert_false(g_file_test(sess, G_FILE_TEST_EXISTS));
        /* A session that has none (already promoted, or never prepared) adds nothing. */
        g_assert_cmpint(package_cache_promote(fd, "ch", "s1"), ==, 0);
        g_assert_cmpint(package_cache_promote(fd, "other", "s1"), ==, 0);

        g_assert_cmpint(rm_rf_at(AT_FDCWD, dir), ==, 0);
        close(fd);
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/package-cache/names", test_names);
        g_test_add_func("/package-cache/prepare-promote", test_prepare_promote);
        return g_test_run();
}
