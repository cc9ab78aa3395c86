/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <glib/gstdio.h>

#include "util.h"
#include "subid.h"

static char *tmpdir;

/* Writes contents to a fresh file in tmpdir and returns its path. */
static char *write_tmp(const char *contents) {
        static unsigned counter;
        char *path = g_strdup_printf("%s/subid-%u", tmpdir, counter++);
        GError *error = NULL;

        g_file_set_contents(path, contents, -1, &error);
        g_assert_no_error(error);
        return path;
}

static void test_by_name(void) {
        g_autofree char *p = write_tmp("root:100000:65536\n"
                                       "alice:165536:65536\n"
                                       "bob:231072:65536\n");
        SubIdRange r = {};

        g_assert_cmpint(subid_find(p, "alice", 1000, 65536, &r), ==, 1);
        g_assert_cmpuint(r.start, ==, 165536);
        g_assert_cmpuint(r.count, ==, 65536);

        g_assert_cmpint(subid_find(p, "bob", 1001, 1, &r), ==, 1);
        g_assert_cmpuint(r.start, ==, 231072);

        /* Names match whole, not as prefixes. */
        g_assert_cmpint(subid_find(p, "ali", 4242, 1, &r), ==, 0);
        g_assert_cmpint(subid_find(p, "alice2", 4242, 1, &r), ==, 0);
        g_assert_cmpint(subid_find(p, "carol", 4242, 1, &r), ==, 0);
}

static void test_by_uid(void) {
        g_autofree char *p = write_tmp("alice:100000:65536\n"
                                       "1000:300000:65536\n");
        SubIdRange r = {};

        /* By uid only, when the name is unknown or not given. */
        g_assert_cmpint(subid_find(p, "someone", 1000, 65536, &r), ==, 1);
        g_assert_cmpuint(r.start, ==, 300000);
        g_assert_cmpint(subid_find(p, NULL, 1000, 65536, &r), ==, 1);
        g_assert_cmpuint(r.start, ==, 300000);

        /* The first matching line wins, whether it matched by name or by uid. */
        g_assert_cmpint(subid_find(p, "alice", 1000, 65536, &r), ==, 1);
        g_assert_cmpuint(r.start, ==, 100000);

        g_assert_cmpint(subid_find(p, NULL, 1001, 1, &r), ==, 0);
        /* Leading zeros, still the same number; a name like "1000x" is not a uid. */
        g_free(p);
        p = write_tmp("1000x:1:65536\n01000:500000:65536\n");
        g_assert_cmpint(subid_find(p, NULL, 1000, 1, &r), ==, 1);
        g_assert_cmpuint(r.start, ==, 500000);
}

static void test_short_ranges_skipped(void) {
        g_autofree char *p = write_tmp("alice:100000:1000\n"
                                       "alice:200000:65535\n"
                                       "alice:300000:65536\n"
                                       "alice:400000:131072\n");
        SubIdRange r = {};

        g_assert_cmpint(subid_find(p, "alice", 1000, 65536, &r), ==, 1);
        g_assert_cmpuint(r.start, ==, 300000);
        g_assert_cmpint(subid_find(p, "alice", 1000, 100000, &r), ==, 1);
        g_assert_cmpuint(r.start, ==, 400000);
        g_assert_cmpint(subid_find(p, "alice", 1000, 1000, &r), ==, 1);
        g_assert_cmpuint(r.start, ==, 100000);
        g_assert_cmpint(subid_find(p, "alice", 1000, 200000, &r), ==, 0);
}

static void test_comments_and_malformed(void) {
        g_autofree char *p = write_tmp("# alice:1:65536\n"
                                       "   # indented comment\n"
                                       "\n"
                                       "   \n"
                                       "alice\n"
                                       "alice:\n"
                                       "alice:100\n"
                                       "alice:100:\n"
                                       "alice::65536\n"
                                       "alice:-1:65536\n"
                                       "alice:0x10:65536\n"
                                       "alice:1 0:65536\n"
                                       "alice:10:65536:extra\n"
                                       "alice:4294967296:65536\n"   /* start > 2^32-1 */
                                       "alice:4294967295:2\n"       /* runs past the end */
                                       "alice:7:0\n"                /* empty */
                                       ":8:65536\n"
                                       "  alice:100000:65536  \r\n");
        SubIdRange r = {};

        g_assert_cmpint(subid_find(p, "alice", 1000, 1, &r), ==, 1);
        g_assert_cmpuint(r.start, ==, 100000);
        g_assert_cmpuint(r.count, ==, 65536);
}

static void test_edges(void) {
        g_autofree char *p = write_tmp("alice:4294901760:65536"); /* no final newline */
        g_autofree char *empty = write_tmp("");
        SubIdRange r = {}, untouched = { .start = 7, .count = 7 };

        g_assert_cmpint(subid_find(p, "alice", 1000, 65536, &r), ==, 1);
        g_assert_cmpuint(r.start, ==, 4294901760u);
        g_assert_cmpuint(r.count, ==, 65536);

        r = untouched;
        g_assert_cmpint(subid_find(empty, "alice", 1000, 1, &r), ==, 0);
        g_assert_cmpuint(r.start, ==, 7);
        g_assert_cmpuint(r.count, ==, 7);
}

static void test_missing_file(void) {
        g_autofree char *p = g_strdup_printf("%s/does-not-exist", tmpdir);
        SubIdRange r = { .start = 1, .count = 2 };

        g_assert_cmpint(subid_find(p, "alice", 1000, 1, &r), ==, -ENOENT);
        g_assert_cmpuint(r.start, ==, 1);
        /* A directory is a read error, not "no range". */
        g_assert_cmpint(subid_find(tmpdir, "alice", 1000, 1, &r), ==, -EISDIR);
}

int main(int argc, char *argv[]) {
        GError *error = NULL;
        int r;

        g_test_init(&argc, &argv, NULL);
        tmpdir = g_dir_make_tmp("test-subid-XXXXXX", &error);
        g_assert_no_error(error);

        g_test_add_func("/subid/by-name", test_by_name);
        g_test_add_func("/subid/by-uid", test_by_uid);
        g_test_add_func("/subid/short-ranges", test_short_ranges_skipped);
        g_test_add_func("/subid/comments-malformed", test_comments_and_malformed);
        g_test_add_func("/subid/edges", test_edges);
        g_test_add_func("/subid/missing", test_missing_file);
        r = g_test_run();

        {
                g_autoptr(GDir) d = g_dir_open(tmpdir, 0, NULL);
                const char *n;

                while (d && (n = g_dir_read_name(d))) {
                        g_autofree char *f = g_build_filename(tmpdir, n, NULL);
                        (void) g_unlink(f);
                }
        }
        (void) g_rmdir(tmpdir);
        g_free(tmpdir);
        return r;
}
