/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <string.h>

#include "base.h"

static struct stat sample(void) {
        struct stat st = {};
        st.st_dev = 2049;
        st.st_ino = 1234567;
        st.st_size = 144309511;
        st.st_mtim = (struct timespec) { 1795000000, 123456789 };
        st.st_ctim = (struct timespec) { 1795000001, 5 };
        return st;
}

static void test_key(void) {
        const char *path = "/home/u/.cache/sbuild/bookworm-amd64.tar.zst";
        struct stat st = sample(), other;
        char a[BASE_KEY_LEN + 1], b[BASE_KEY_LEN + 1];

        g_assert_cmpint(base_key(path, &st, false, a), ==, 0);
        g_assert_true(base_key_is_valid(a));
        g_assert_cmpint(base_key(path, &st, false, b), ==, 0);
        g_assert_cmpstr(a, ==, b);

        /* Anything that tells a replaced or rewritten tarball gives another key. */
        g_assert_cmpint(base_key("/home/u/.cache/sbuild/sid-amd64.tar.zst", &st, false, b), ==, 0);
        g_assert_cmpstr(a, !=, b);
        other = st, other.st_ino++;
        g_assert_cmpint(base_key(path, &other, false, b), ==, 0);
        g_assert_cmpstr(a, !=, b);
        other = st, other.st_size--;
        g_assert_cmpint(base_key(path, &other, false, b), ==, 0);
        g_assert_cmpstr(a, !=, b);
        other = st, other.st_mtim.tv_nsec++;
        g_assert_cmpint(base_key(path, &other, false, b), ==, 0);
        g_assert_cmpstr(a, !=, b);
        other = st, other.st_ctim.tv_sec++;
        g_assert_cmpint(base_key(path, &other, false, b), ==, 0);
        g_assert_cmpstr(a, !=, b);
        other = st, other.st_dev++;
        g_assert_cmpint(base_key(path, &other, false, b), ==, 0);
        g_assert_cmpstr(a, !=, b);
        /* A base unpacked with the user's ids themselves is another base. */
        g_assert_cmpint(base_key(path, &st, true, b), ==, 0);
        g_assert_cmpstr(a, !=, b);
}

static void test_source_text(void) {
        struct stat st = sample();
        g_autofree char *t = base_source_text("/x/y.tar", &st, false), *self = base_source_text("/x/y.tar", &st, true);
        g_autofree char *path = NULL, *path2 = NULL, *dummy = NULL;
        bool map_self = true;

        /* The path on its own line first: the service reads it back to find the tarball. */
        g_assert_true(g_str_has_prefix(t, "/x/y.tar\n"));
        g_assert_cmpstr(strchr(t, '\n') + 1, ==,
                        "2049:1234567 144309511 1795000000.123456789 1795000001.000000005\nids: subordinate\n");
        g_assert_cmpint(base_source_parse(t, &path, &map_self), ==, 0);
        g_assert_cmpstr(path, ==, "/x/y.tar");
        g_assert_false(map_self);
        g_assert_cmpint(base_source_parse(self, &path2, &map_self), ==, 0);
        g_assert_cmpstr(path2, ==, "/x/y.tar");
        g_assert_true(map_self);

        /* A base of an older version (no kind) or a damaged file is not taken. */
        g_assert_cmpint(base_source_parse("/x/y.tar\n2049:1234567 1 2.0 3.0\n", &dummy, &map_self), ==, -EBADMSG);
        g_assert_cmpint(base_source_parse("/x/y.tar\n2049:1234567 1 2.0 3.0\nids: all\n", &dummy, &map_self), ==,
                        -EBADMSG);
        g_assert_cmpint(base_source_parse("/x/y.tar", &dummy, &map_self), ==, -EBADMSG);
        g_assert_null(dummy);
}

static void test_valid(void) {
        g_assert_true(base_key_is_valid("0123456789abcdef"));
        g_assert_false(base_key_is_valid(""));
        g_assert_false(base_key_is_valid("0123456789abcde"));
        g_assert_false(base_key_is_valid("0123456789abcdef0"));
        g_assert_false(base_key_is_valid("0123456789ABCDEF"));
        g_assert_false(base_key_is_valid(".new-something"));
        g_assert_false(base_key_is_valid("../../../etc/pwd"));
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/base/key", test_key);
        g_test_add_func("/base/source-text", test_source_text);
        g_test_add_func("/base/valid", test_valid);
        return g_test_run();
}
