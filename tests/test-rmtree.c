/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rmtree.h: ending a session removes a tree its user controls completely, so the
 * removal has to get through directories made unreadable and must never follow a
 * symlink out of the tree. */
#include <glib.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "util.h"
#include "rmtree.h"

typedef struct Fixture {
        char *root;
        int dirfd;
} Fixture;

/* Best effort, for teardown after a failure: make everything writable first. */
static void force_remove(const char *path) {
        g_autofree char *cmd = g_strdup_printf("chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", path, path);
        (void) !system(cmd);
}

static void fixture_setup(Fixture *f, gconstpointer data) {
        GError *error = NULL;

        f->root = g_dir_make_tmp("test-rmtree-XXXXXX", &error);
        g_assert_no_error(error);
        f->dirfd = open(f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(f->dirfd, >=, 0);
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
        safe_close(f->dirfd);
        force_remove(f->root);
        g_free(f->root);
}

static void mkdirs(Fixture *f, const char *rel) {
        g_autofree char *p = g_build_filename(f->root, rel, NULL);
        g_assert_cmpint(g_mkdir_with_parents(p, 0755), ==, 0);
}

static void put(Fixture *f, const char *rel, const char *contents) {
        g_autofree char *p = g_build_filename(f->root, rel, NULL);
        GError *error = NULL;

        g_file_set_contents(p, contents, -1, &error);
        g_assert_no_error(error);
}

static void chmod_rel(Fixture *f, const char *rel, mode_t mode) {
        g_assert_cmpint(fchmodat(f->dirfd, rel, mode, 0), ==, 0);
}

static bool exists(Fixture *f, const char *rel) {
        struct stat st;
        return fstatat(f->dirfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void test_nested(Fixture *f, gconstpointer data) {
        mkdirs(f, "victim/a/b/c/d/e");
        mkdirs(f, "victim/x/y");
        put(f, "victim/file", "1");
        put(f, "victim/a/b/c/d/e/deep", "2");
        put(f, "victim/a/b/.hidden", "3");
        g_assert_cmpint(symlinkat("a/b", f->dirfd, "victim/rel-link"), ==, 0);
        g_assert_cmpint(symlinkat("/nonexistent/dangling", f->dirfd, "victim/x/dangling"), ==, 0);
        g_assert_cmpint(mkfifoat(f->dirfd, "victim/x/y/fifo", 0600), ==, 0);
        put(f, "keep", "neighbour");

        g_assert_cmpint(rm_rf_at(f->dirfd, "victim"), ==, 0);
        g_assert_false(exists(f, "victim"));
        g_assert_true(exists(f, "keep"));
}

static void test_unreadable_dirs(Fixture *f, gconstpointer data) {
        /* What a session's user can leave behind: directories without any permission,
         * nested, with content, and read-only ones whose entries cannot be unlinked. */
        mkdirs(f, "victim/locked/inner/more");
        put(f, "victim/locked/inner/more/f", "x");
        put(f, "victim/locked/inner/f", "x");
        mkdirs(f, "victim/readonly/sub");
        put(f, "victim/readonly/f", "x");
        put(f, "victim/readonly/sub/f", "x");
        mkdirs(f, "victim/empty-locked");
        chmod_rel(f, "victim/locked/inner/more", 0);
        chmod_rel(f, "victim/locked/inner", 0);
        chmod_rel(f, "victim/locked", 0);
        chmod_rel(f, "victim/readonly/sub", 0500);
        chmod_rel(f, "victim/readonly", 0500);
        chmod_rel(f, "victim/empty-locked", 0);

        g_assert_cmpint(rm_rf_at(f->dirfd, "victim"), ==, 0);
        g_assert_false(exists(f, "victim"));
}

static void test_top_unreadable(Fixture *f, gconstpointer data) {
        mkdirs(f, "victim/sub");
        put(f, "victim/sub/f", "x");
        chmod_rel(f, "victim", 0);

        g_assert_cmpint(rm_rf_at(f->dirfd, "victim"), ==, 0);
        g_assert_false(exists(f, "victim"));
}

static void test_symlinks_not_followed(Fixture *f, gconstpointer data) {
        g_autofree char *outside = g_build_filename(f->root, "outside", NULL);
        g_autofree char *outside_file = g_build_filename(f->root, "outside", "precious", NULL);
        g_autofree char *outside_sub = g_build_filename(f->root, "outside", "sub", NULL);
        struct stat st;

        mkdirs(f, "outside/sub");
        put(f, "outside/precious", "keep me");
        put(f, "outside/sub/also", "keep me too");
        chmod_rel(f, "outside/sub", 0555);
        mkdirs(f, "victim/d");
        /* Absolute and relative links to the outside directory, one to an outside
         * file, one at the top of a subdirectory. */
        g_assert_cmpint(symlinkat(outside, f->dirfd, "victim/abs-dir-link"), ==, 0);
        g_assert_cmpint(symlinkat("../../outside", f->dirfd, "victim/d/rel-dir-link"), ==, 0);
        g_assert_cmpint(symlinkat(outside_file, f->dirfd, "victim/file-link"), ==, 0);
        g_assert_cmpint(symlinkat(outside_sub, f->dirfd, "victim/d/sub"), ==, 0);

        g_assert_cmpint(rm_rf_at(f->dirfd, "victim"), ==, 0);
        g_assert_false(exists(f, "victim"));
        /* The links went, what they pointed at did not: content and modes intact. */
        g_assert_true(exists(f, "outside/precious"));
        g_assert_true(exists(f, "outside/sub/also"));
        g_assert_cmpint(fstatat(f->dirfd, "outside/sub", &st, 0), ==, 0);
        g_assert_cmpuint(st.st_mode & 07777, ==, 0555);
        g_assert_cmpint(fstatat(f->dirfd, "outside", &st, 0), ==, 0);
        g_assert_cmpuint(st.st_mode & 07777, ==, 0755);
}

static void test_top_symlink(Fixture *f, gconstpointer data) {
        g_autofree char *outside = g_build_filename(f->root, "outside", NULL);

        /* The name itself a symlink to a directory: only the link goes. */
        mkdirs(f, "outside");
        put(f, "outside/precious", "keep me");
        g_assert_cmpint(symlinkat(outside, f->dirfd, "victim"), ==, 0);

        g_assert_cmpint(rm_rf_at(f->dirfd, "victim"), ==, 0);
        g_assert_false(exists(f, "victim"));
        g_assert_true(exists(f, "outside/precious"));
}

static void test_file_and_missing(Fixture *f, gconstpointer data) {
        put(f, "plain", "x");
        g_assert_cmpint(rm_rf_at(f->dirfd, "plain"), ==, 0);
        g_assert_false(exists(f, "plain"));
        g_assert_cmpint(rm_rf_at(f->dirfd, "plain"), ==, 0);
        g_assert_cmpint(rm_rf_at(f->dirfd, "never-was"), ==, 0);
}

static void test_absolute_path(Fixture *f, gconstpointer data) {
        g_autofree char *p = g_build_filename(f->root, "victim", NULL);

        mkdirs(f, "victim/a");
        put(f, "victim/a/f", "x");
        g_assert_cmpint(rm_rf_at(AT_FDCWD, p), ==, 0);
        g_assert_false(exists(f, "victim"));
}

static void test_many_entries(Fixture *f, gconstpointer data) {
        /* Enough entries that readdir() needs several getdents() calls while we
         * delete under it. */
        mkdirs(f, "victim");
        for (int i = 0; i < 2000; i++) {
                g_autofree char *n = g_strdup_printf("victim/entry-with-a-longish-name-%04d", i);
                if (i % 3 == 0)
                        mkdirs(f, n);
                else
                        put(f, n, "");
        }
        g_assert_cmpint(rm_rf_at(f->dirfd, "victim"), ==, 0);
        g_assert_false(exists(f, "victim"));
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add("/rmtree/nested", Fixture, NULL, fixture_setup, test_nested, fixture_teardown);
        g_test_add("/rmtree/unreadable-dirs", Fixture, NULL, fixture_setup, test_unreadable_dirs, fixture_teardown);
        g_test_add("/rmtree/top-unreadable", Fixture, NULL, fixture_setup, test_top_unreadable, fixture_teardown);
        g_test_add("/rmtree/symlinks-not-followed", Fixture, NULL, fixture_setup, test_symlinks_not_followed,
                   fixture_teardown);
        g_test_add("/rmtree/top-symlink", Fixture, NULL, fixture_setup, test_top_symlink, fixture_teardown);
        g_test_add("/rmtree/file-and-missing", Fixture, NULL, fixture_setup, test_file_and_missing,
                   fixture_teardown);
        g_test_add("/rmtree/absolute-path", Fixture, NULL, fixture_setup, test_absolute_path, fixture_teardown);
        g_test_add("/rmtree/many-entries", Fixture, NULL, fixture_setup, test_many_entries, fixture_teardown);
        return g_test_run();
}
