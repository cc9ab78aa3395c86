/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "errors.h"

#include <glib.h>

static void test_kind_names(void) {
        /* Every kind has a name, and the name leads back to the kind: the front ends
         * build their error names from these. */
        for (unsigned k = ERROR_FAILED; k < _ERROR_KIND_MAX; k++) {
                const char *n = error_kind_to_string((ErrorKind) k);
                g_assert_nonnull(n);
                g_assert_cmpuint(error_kind_from_string(n), ==, k);
        }
        g_assert_null(error_kind_to_string(ERROR_NONE));
        g_assert_cmpstr(error_kind_to_string(ERROR_NO_SUCH_CHROOT), ==, "NoSuchChroot");
        g_assert_cmpstr(error_kind_to_string(ERROR_NO_SUBORDINATE_IDS), ==, "NoSubordinateIds");
        g_assert_cmpstr(error_kind_to_string(_ERROR_KIND_MAX), ==, "Failed");
        g_assert_cmpstr(error_kind_to_string((ErrorKind) -1), ==, "Failed");
        g_assert_cmpuint(error_kind_from_string("NoSuchThing"), ==, ERROR_FAILED);
        g_assert_cmpuint(error_kind_from_string(NULL), ==, ERROR_FAILED);
}

static void test_child_kinds(void) {
        g_assert_cmpuint(child_error_kind(CHILD_ERROR_FAILED), ==, ERROR_FAILED);
        g_assert_cmpuint(child_error_kind(CHILD_ERROR_NO_SUCH_USER), ==, ERROR_NO_SUCH_USER);
        g_assert_cmpuint(child_error_kind(CHILD_ERROR_NO_SUCH_DIRECTORY), ==, ERROR_NO_SUCH_DIRECTORY);
        g_assert_cmpuint(child_error_kind(CHILD_ERROR_EXEC), ==, ERROR_EXEC_FAILED);
        g_assert_cmpuint(child_error_kind(CHILD_ERROR_UNSAFE_ARCHIVE), ==, ERROR_UNSAFE_ARCHIVE);
        g_assert_cmpuint(child_error_kind(CHILD_ERROR_SOURCE), ==, ERROR_SOURCE_UNAVAILABLE);
        g_assert_cmpuint(child_error_kind(CHILD_ERROR_NO_OVERLAY), ==, ERROR_NOT_SUPPORTED);
        g_assert_cmpuint(child_error_kind(CHILD_ERROR_LIMIT), ==, ERROR_LIMIT_EXCEEDED);
        /* A kind from a confused child is still an error. */
        g_assert_cmpuint(child_error_kind(_CHILD_ERROR_MAX), ==, ERROR_FAILED);
        g_assert_cmpuint(child_error_kind((ChildError) -1), ==, ERROR_FAILED);
}

static void test_set_first_wins(void) {
        Error e = ERROR_NULL;

        g_assert_false(error_is_set(&e));
        g_assert_cmpint(error_set(&e, ERROR_NOT_READY, EBUSY, "first %d", 1), ==, -EBUSY);
        g_assert_true(error_is_set(&e));
        g_assert_cmpint(error_set(&e, ERROR_FAILED, -ENOENT, "second"), ==, -ENOENT);
        g_assert_cmpuint(e.kind, ==, ERROR_NOT_READY);
        g_assert_cmpint(e.errnum, ==, EBUSY);
        g_assert_cmpstr(e.message, ==, "first 1");
        error_done(&e);
        g_assert_false(error_is_set(&e));
        g_assert_null(e.message);

        /* No errno: still a negative return, and ERROR_NONE is no way to succeed. */
        g_assert_cmpint(error_set(&e, ERROR_NONE, 0, "x"), ==, -EINVAL);
        g_assert_cmpuint(e.kind, ==, ERROR_FAILED);
        error_done(&e);
}

static void test_move(void) {
        Error a = ERROR_NULL, b = ERROR_NULL, c = ERROR_NULL;

        (void) error_set(&b, ERROR_SESSION_ENDED, ECANCELED, "b");
        error_move(&a, &b);
        g_assert_cmpuint(a.kind, ==, ERROR_SESSION_ENDED);
        g_assert_cmpstr(a.message, ==, "b");
        g_assert_false(error_is_set(&b));
        /* A set destination keeps its error; the source is dropped either way. */
        (void) error_set(&c, ERROR_FAILED, EIO, "c");
        error_move(&a, &c);
        g_assert_cmpstr(a.message, ==, "b");
        g_assert_false(error_is_set(&c));
        g_assert_null(c.message);
        error_done(&a);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/errors/kind-names", test_kind_names);
        g_test_add_func("/errors/child-kinds", test_child_kinds);
        g_test_add_func("/errors/set-first-wins", test_set_first_wins);
        g_test_add_func("/errors/move", test_move);
        return g_test_run();
}
