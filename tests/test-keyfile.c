/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include "util.h"
#include "keyfile.h"

static void test_basic(void) {
        _cleanup_(keyfile_freep) KeyFile *kf = NULL;
        const char *const *keys;
        unsigned line = 0;

        g_assert_cmpint(keyfile_parse("# a comment\n"
                                      "\n"
                                      "[bookworm]\n"
                                      "type=directory\n"
                                      "directory=/srv/chroot/bookworm\n"
                                      "description=Debian 12 # not a comment\n"
                                      "\n"
                                      "[sid]\n"
                                      "type=file\n"
                                      "file=/srv/sid.tar.zst\n"
                                      "empty=\n",
                                      &kf, &line),
                        ==, 0);
        g_assert_nonnull(kf);
        g_assert_cmpuint(keyfile_n_groups(kf), ==, 2);
        g_assert_cmpstr(keyfile_group_name(kf, 0), ==, "bookworm");
        g_assert_cmpstr(keyfile_group_name(kf, 1), ==, "sid");
        g_assert_null(keyfile_group_name(kf, 2));

        g_assert_cmpstr(keyfile_get(kf, "bookworm", "type"), ==, "directory");
        g_assert_cmpstr(keyfile_get(kf, "bookworm", "directory"), ==, "/srv/chroot/bookworm");
        g_assert_cmpstr(keyfile_get(kf, "bookworm", "description"), ==, "Debian 12 # not a comment");
        g_assert_cmpstr(keyfile_get(kf, "sid", "file"), ==, "/srv/sid.tar.zst");
        g_assert_cmpstr(keyfile_get(kf, "sid", "empty"), ==, "");
        g_assert_null(keyfile_get(kf, "sid", "directory"));
        g_assert_null(keyfile_get(kf, "nosuch", "type"));
        g_assert_null(keyfile_get(kf, "bookworm", "file"));

        keys = keyfile_group_keys(kf, 1);
        g_assert_nonnull(keys);
        g_assert_cmpstr(keys[0], ==, "type");
        g_assert_cmpstr(keys[1], ==, "file");
        g_assert_cmpstr(keys[2], ==, "empty");
        g_assert_null(keys[3]);
        g_assert_null(keyfile_group_keys(kf, 2));
}

static void test_whitespace(void) {
        _cleanup_(keyfile_freep) KeyFile *kf = NULL;

        g_assert_cmpint(keyfile_parse("  [g]  \r\n"
                                      "\t key \t=  value with  inner  spaces \t\r\n"
                                      "k2=a=b\n"
                                      "   # indented comment\n"
                                      "k3 =   \n"
                                      "   \n",
                                      &kf, NULL),
                        ==, 0);
        g_assert_cmpuint(keyfile_n_groups(kf), ==, 1);
        g_assert_cmpstr(keyfile_get(kf, "g", "key"), ==, "value with  inner  spaces");
        g_assert_cmpstr(keyfile_get(kf, "g", "k2"), ==, "a=b");
        g_assert_cmpstr(keyfile_get(kf, "g", "k3"), ==, "");
}

static void test_empty(void) {
        _cleanup_(keyfile_freep) KeyFile *a = NULL, *b = NULL, *c = NULL;
        const char *const *keys;

        g_assert_cmpint(keyfile_parse("", &a, NULL), ==, 0);
        g_assert_cmpuint(keyfile_n_groups(a), ==, 0);
        g_assert_cmpint(keyfile_parse("# only\n\n#comments", &b, NULL), ==, 0);
        g_assert_cmpuint(keyfile_n_groups(b), ==, 0);

        /* A group with no keys has an empty (not NULL) key list. */
        g_assert_cmpint(keyfile_parse("[lonely]", &c, NULL), ==, 0);
        g_assert_cmpuint(keyfile_n_groups(c), ==, 1);
        keys = keyfile_group_keys(c, 0);
        g_assert_nonnull(keys);
        g_assert_null(keys[0]);
}

static void assert_error_at(const char *text, unsigned expected_line) {
        KeyFile *kf = NULL;
        unsigned line = 0;

        g_assert_cmpint(keyfile_parse(text, &kf, &line), ==, -EBADMSG);
        g_assert_null(kf);
        g_assert_cmpuint(line, ==, expected_line);
        /* ret_line may be NULL. */
        g_assert_cmpint(keyfile_parse(text, &kf, NULL), ==, -EBADMSG);
        g_assert_null(kf);
}

static void test_syntax_errors(void) {
        assert_error_at("key=value\n", 1);                       /* key before any group */
        assert_error_at("# c\n\nkey=value\n", 3);
        assert_error_at("[g]\nno equals sign\n", 2);
        assert_error_at("[g]\n=value\n", 2);                     /* empty key */
        assert_error_at("[g]\n  = value\n", 2);
        assert_error_at("[g]\nk=1\n[unclosed\n", 3);
        assert_error_at("[]\n", 1);
        assert_error_at("[a]b]\n", 1);
        assert_error_at("[a[b]\n", 1);
        assert_error_at("[g] trailing\n", 1);
        assert_error_at("[g]\r\nk=1\r\nbad\r\n", 3);
        assert_error_at("[g]\nk=1\n\n\n[h]\nx", 6);             /* no final newline */
}

static void test_duplicates(void) {
        assert_error_at("[g]\nk=1\n[h]\n[g]\n", 4);              /* duplicate group */
        assert_error_at("[g]\nk=1\nk=2\n", 3);                   /* duplicate key */
        assert_error_at("[g]\nk=1\n k =2\n", 3);                 /* ... after trimming */

        /* The same key in different groups is fine; keys are case-sensitive. */
        {
                _cleanup_(keyfile_freep) KeyFile *kf = NULL;

                g_assert_cmpint(keyfile_parse("[g]\nk=1\nK=3\n[h]\nk=2\n", &kf, NULL), ==, 0);
                g_assert_cmpstr(keyfile_get(kf, "g", "k"), ==, "1");
                g_assert_cmpstr(keyfile_get(kf, "g", "K"), ==, "3");
                g_assert_cmpstr(keyfile_get(kf, "h", "k"), ==, "2");
        }
}

static void test_many(void) {
        _cleanup_(keyfile_freep) KeyFile *kf = NULL;
        g_autoptr(GString) s = g_string_new(NULL);

        for (int g = 0; g < 50; g++) {
                g_string_append_printf(s, "[group%d]\n", g);
                for (int k = 0; k < 20; k++)
                        g_string_append_printf(s, "key%d=value-%d-%d\n", k, g, k);
        }
        g_assert_cmpint(keyfile_parse(s->str, &kf, NULL), ==, 0);
        g_assert_cmpuint(keyfile_n_groups(kf), ==, 50);
        g_assert_cmpstr(keyfile_group_name(kf, 49), ==, "group49");
        g_assert_cmpstr(keyfile_get(kf, "group37", "key19"), ==, "value-37-19");
        g_assert_cmpuint(g_strv_length((char **) keyfile_group_keys(kf, 12)), ==, 20);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/keyfile/basic", test_basic);
        g_test_add_func("/keyfile/whitespace", test_whitespace);
        g_test_add_func("/keyfile/empty", test_empty);
        g_test_add_func("/keyfile/syntax-errors", test_syntax_errors);
        g_test_add_func("/keyfile/duplicates", test_duplicates);
        g_test_add_func("/keyfile/many", test_many);
        return g_test_run();
}
