/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include "util.h"
#include "names.h"

static void test_valid(void) {
        char longest[NAME_MAX_LEN + 1];

        g_assert_true(name_is_valid("a"));
        g_assert_true(name_is_valid("0"));
        g_assert_true(name_is_valid("bookworm-amd64"));
        g_assert_true(name_is_valid("Sid_i386.v2"));
        g_assert_true(name_is_valid("9.x-y_z"));
        g_assert_true(name_is_valid("a."));
        g_assert_true(name_is_valid("a-"));

        memset(longest, 'x', NAME_MAX_LEN);
        longest[NAME_MAX_LEN] = 0;
        g_assert_true(name_is_valid(longest));
}

static void test_invalid(void) {
        char too_long[NAME_MAX_LEN + 2];

        g_assert_false(name_is_valid(NULL));
        g_assert_false(name_is_valid(""));
        g_assert_false(name_is_valid("."));
        g_assert_false(name_is_valid(".."));
        g_assert_false(name_is_valid(".hidden"));
        g_assert_false(name_is_valid("-flag"));
        g_assert_false(name_is_valid("_x"));
        g_assert_false(name_is_valid("a/b"));
        g_assert_false(name_is_valid("/abs"));
        g_assert_false(name_is_valid("a b"));
        g_assert_false(name_is_valid("a\tb"));
        g_assert_false(name_is_valid("a\nb"));
        g_assert_false(name_is_valid("a:b"));
        g_assert_false(name_is_valid("a*"));
        g_assert_false(name_is_valid("a$b"));
        g_assert_false(name_is_valid("b\xc3\xb6se"));  /* "böse" in UTF-8 */
        g_assert_false(name_is_valid("\xc3\xa9t\xc3\xa9")); /* "été" */
        g_assert_false(name_is_valid("a\x7f"));

        memset(too_long, 'x', NAME_MAX_LEN + 1);
        too_long[NAME_MAX_LEN + 1] = 0;
        g_assert_false(name_is_valid(too_long));
}

static void assert_uuid_suffix(const char *id, const char *chroot) {
        const char *u;

        g_assert_true(g_str_has_prefix(id, chroot));
        u = id + strlen(chroot);
        g_assert_cmpint(u[0], ==, '-');
        u++;
        g_assert_cmpuint(strlen(u), ==, 36);
        for (size_t i = 0; i < 36; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23)
                        g_assert_cmpint(u[i], ==, '-');
                else
                        g_assert_true(strchr("0123456789abcdef", u[i]) && u[i]);
        }
        g_assert_cmpint(u[14], ==, '4');             /* version 4 */
        g_assert_nonnull(strchr("89ab", u[19]));     /* RFC 4122 variant */
}

static void test_session_id(void) {
        _cleanup_free_ char *a = NULL, *b = NULL;

        g_assert_cmpint(session_id_generate("bookworm-amd64", &a), ==, 0);
        g_assert_cmpint(session_id_generate("bookworm-amd64", &b), ==, 0);
        assert_uuid_suffix(a, "bookworm-amd64");
        assert_uuid_suffix(b, "bookworm-amd64");
        g_assert_true(name_is_valid(a));
        g_assert_cmpstr(a, !=, b);
}

static void test_session_id_many_unique(void) {
        g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);

        for (int i = 0; i < 1000; i++) {
                char *id = NULL;

                g_assert_cmpint(session_id_generate("x", &id), ==, 0);
                assert_uuid_suffix(id, "x");
                g_assert_true(g_hash_table_add(seen, id));
        }
}

static void test_session_id_invalid(void) {
        char *sentinel = (char *) "untouched", *id = sentinel;
        char name[NAME_MAX_LEN + 1];
        size_t fits = NAME_MAX_LEN - 37; /* "-" + 36 chars of uuid */

        g_assert_cmpint(session_id_generate("", &id), ==, -EINVAL);
        g_assert_cmpint(session_id_generate(NULL, &id), ==, -EINVAL);
        g_assert_cmpint(session_id_generate("a/b", &id), ==, -EINVAL);
        g_assert_cmpint(session_id_generate(".x", &id), ==, -EINVAL);
        g_assert_true(id == sentinel);

        /* The longest chroot name that still leaves room for the uuid. */
        memset(name, 'n', fits);
        name[fits] = 0;
        g_assert_cmpint(session_id_generate(name, &id), ==, 0);
        g_assert_cmpuint(strlen(id), ==, NAME_MAX_LEN);
        free(id);

        /* One more and the id would be too long to be a name. */
        id = sentinel;
        memset(name, 'n', fits + 1);
        name[fits + 1] = 0;
        g_assert_cmpint(session_id_generate(name, &id), ==, -EINVAL);
        g_assert_true(id == sentinel);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/names/valid", test_valid);
        g_test_add_func("/names/invalid", test_invalid);
        g_test_add_func("/names/session-id", test_session_id);
        g_test_add_func("/names/session-id-unique", test_session_id_many_unique);
        g_test_add_func("/names/session-id-invalid", test_session_id_invalid);
        return g_test_run();
}
