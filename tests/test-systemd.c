/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* systemd.h's unit names: a session's slice and a command's scope are named from the
 * session id escaped exactly as `systemd-escape` does (systemd 252, Debian 12); a
 * different escape would name units that systemctl, systemd-cgls and the tests cannot
 * find, or, for '-', put the slice somewhere else in the slice tree. Every expected
 * string below was printed by systemd-escape (or systemd-escape --suffix=slice). */
#include <glib.h>

#include "util.h"
#include "names.h"
#include "systemd.h"

/* systemd refuses unit names of UNIT_NAME_MAX (256) characters or more. */
#define UNIT_NAME_MAX 256

static const struct {
        const char *in, *escaped;
} escapes[] = {
        { "bookworm-amd64-3f2a9c1e-0b4d-4e7a-9f21-6c8d5e3b1a70",
          "bookworm\\x2damd64\\x2d3f2a9c1e\\x2d0b4d\\x2d4e7a\\x2d9f21\\x2d6c8d5e3b1a70" },
        { "bookworm-amd64-sbuild-1.2_3", "bookworm\\x2damd64\\x2dsbuild\\x2d1.2_3" },
        { "cg-test", "cg\\x2dtest" },
        { "a.b_c", "a.b_c" },
        { "a..b.", "a..b." },
        { "9lives", "9lives" },
        { "Mid.dle_X-y", "Mid.dle_X\\x2dy" },
        { "x:y", "x:y" },
        { "-", "\\x2d" },
        /* Not session ids (names never start with '.' and have no '/', ' ' or '\\'),
         * but unit_name_escape is systemd-escape for any string. */
        { ".hidden", "\\x2ehidden" },
        { "..a", "\\x2e.a" },
        { "a/b", "a-b" },
        { "a//b/", "a--b-" },
        { "/a", "-a" },
        { "with space", "with\\x20space" },
        { "a\\b", "a\\x5cb" },
        { "tab\there\001\177\377", "tab\\x09here\\x01\\x7f\\xff" },
        { "\xc3\xa9", "\\xc3\\xa9" }, /* "é" in UTF-8 */
        { "", "" },
        /* Every printable ASCII character. */
        { " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~",
          "\\x20\\x21\\x22\\x23\\x24\\x25\\x26\\x27\\x28\\x29\\x2a\\x2b\\x2c\\x2d.-0123456789:\\x3b\\x3c\\x3d\\x3e"
          "\\x3f\\x40ABCDEFGHIJKLMNOPQRSTUVWXYZ\\x5b\\x5c\\x5d\\x5e_\\x60abcdefghijklmnopqrstuvwxyz\\x7b\\x7c\\x7d"
          "\\x7e" },
};

static void test_escape(void) {
        g_autoptr(GString) wrong = g_string_new(NULL);

        /* Every case is tried, and all that differ from systemd-escape are named. */
        for (size_t i = 0; i < G_N_ELEMENTS(escapes); i++) {
                _cleanup_free_ char *e = NULL;
                int r = unit_name_escape(escapes[i].in, &e);

                if (r < 0)
                        g_string_append_printf(wrong, "\n  \"%s\": returned %d", escapes[i].in, r);
                else if (!e || !streq(e, escapes[i].escaped))
                        g_string_append_printf(wrong, "\n  \"%s\": got \"%s\", systemd-escape prints \"%s\"",
                                               escapes[i].in, e ? e : "(null)", escapes[i].escaped);
        }
        if (wrong->len > 0)
                g_test_fail_printf("unit_name_escape() differs from systemd-escape:%s", wrong->str);
}

static void test_slice_name(void) {
        static const struct {
                const char *id, *slice;
        } cases[] = {
                /* systemd-escape --suffix=slice, prefixed with "chrootd-". */
                { "bookworm-amd64-3f2a9c1e-0b4d-4e7a-9f21-6c8d5e3b1a70",
                  "chrootd-bookworm\\x2damd64\\x2d3f2a9c1e\\x2d0b4d\\x2d4e7a\\x2d9f21\\x2d6c8d5e3b1a70.slice" },
                { "cg-test", "chrootd-cg\\x2dtest.slice" },
                { "a.b_c", "chrootd-a.b_c.slice" },
                { "x", "chrootd-x.slice" },
                { "Mid.dle_X-y", "chrootd-Mid.dle_X\\x2dy.slice" },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                _cleanup_free_ char *s = NULL;

                g_assert_cmpint(session_slice_name(cases[i].id, &s), ==, 0);
                g_assert_cmpstr(s, ==, cases[i].slice);
        }
}

static void test_scope_name(void) {
        static const struct {
                const char *id;
                pid_t pid;
                const char *scope;
        } cases[] = {
                { "bookworm-amd64-3f2a9c1e-0b4d-4e7a-9f21-6c8d5e3b1a70", 4242,
                  "chrootd-run-bookworm\\x2damd64\\x2d3f2a9c1e\\x2d0b4d\\x2d4e7a\\x2d9f21\\x2d6c8d5e3b1a70-4242.scope" },
                { "cg-test", 1, "chrootd-run-cg\\x2dtest-1.scope" },
                { "a.b_c", 4194304, "chrootd-run-a.b_c-4194304.scope" },
                { "Mid.dle_X-y", 77, "chrootd-run-Mid.dle_X\\x2dy-77.scope" },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                _cleanup_free_ char *s = NULL;

                g_assert_cmpint(run_scope_name(cases[i].id, cases[i].pid, &s), ==, 0);
                g_assert_cmpstr(s, ==, cases[i].scope);
        }
}

/* In a slice name '-' means "child of": the session's slice must be a direct child of
 * chrootd.slice whatever the id, so the escaped id has no '-' (ids have no '/'). */
static void test_slice_is_child_of_chrootd_slice(void) {
        static const char *const ids[] = { "a-b", "a--b", "a-", "x-y-z", "bookworm-amd64-sbuild" };

        for (size_t i = 0; i < G_N_ELEMENTS(ids); i++) {
                _cleanup_free_ char *s = NULL;
                const char *rest;

                g_assert_true(name_is_valid(ids[i]));
                g_assert_cmpint(session_slice_name(ids[i], &s), ==, 0);
                g_assert_true(g_str_has_prefix(s, "chrootd-"));
                g_assert_true(g_str_has_suffix(s, ".slice"));
                rest = s + strlen("chrootd-");
                g_assert_null(strchr(rest, '-'));
        }
}

/* Generated ids ("<chroot>-<uuid>"): every '-' becomes \x2d, nothing else changes. */
static void test_generated_ids(void) {
        static const char *const chroots[] = { "bookworm-amd64", "sid", "trixie-arm64-sbuild", "a.b_c" };

        for (size_t i = 0; i < G_N_ELEMENTS(chroots); i++) {
                _cleanup_free_ char *id = NULL, *e = NULL, *slice = NULL, *want_slice = NULL;
                g_auto(GStrv) parts = NULL;
                g_autofree char *want = NULL;

                g_assert_cmpint(session_id_generate(chroots[i], &id), ==, 0);
                parts = g_strsplit(id, "-", -1);
                want = g_strjoinv("\\x2d", parts);
                g_assert_cmpint(unit_name_escape(id, &e), ==, 0);
                g_assert_cmpstr(e, ==, want);
                g_assert_cmpint(session_slice_name(id, &slice), ==, 0);
                want_slice = strf("chrootd-%s.slice", want);
                g_assert_cmpstr(slice, ==, want_slice);
        }
}

/* Names with a leading '.' cannot be session ids, so a slice name never has the
 * escaped leading dot systemd-escape makes of one. */
static void test_leading_dot_not_an_id(void) {
        g_assert_false(name_is_valid(".hidden"));
        g_assert_false(name_is_valid(".a-b"));
        g_assert_false(name_is_valid("."));
}

/* Unit names must stay below UNIT_NAME_MAX, or systemd refuses the slice and the scope.
 * First ids of the length generated ids have (a chroot name of 91 characters), then
 * the worst valid session id: 128 characters, most of them '-' (4 characters each
 * escaped). */
static void check_names_fit(const char *id, GString *too_long) {
        _cleanup_free_ char *slice = NULL, *scope = NULL;

        g_assert_true(name_is_valid(id));
        g_assert_cmpint(session_slice_name(id, &slice), ==, 0);
        /* pid_max is at most 2^22: 7 digits. */
        g_assert_cmpint(run_scope_name(id, 4194304, &scope), ==, 0);
        if (strlen(slice) >= UNIT_NAME_MAX)
                g_string_append_printf(too_long, "\n  slice of \"%s\": %zu characters", id, strlen(slice));
        if (strlen(scope) >= UNIT_NAME_MAX)
                g_string_append_printf(too_long, "\n  scope of \"%s\": %zu characters", id, strlen(scope));
}

static void test_names_fit_generated(void) {
        g_autoptr(GString) too_long = g_string_new(NULL);
        char chroot[NAME_MAX_LEN - 37 + 1];
        _cleanup_free_ char *id = NULL;

        memset(chroot, 'n', sizeof(chroot) - 1);
        chroot[sizeof(chroot) - 1] = 0;
        g_assert_cmpint(session_id_generate(chroot, &id), ==, 0);
        g_assert_cmpuint(strlen(id), ==, NAME_MAX_LEN);
        check_names_fit(id, too_long);
        if (too_long->len > 0)
                g_test_fail_printf("unit names of %d characters or more, which systemd refuses:%s", UNIT_NAME_MAX,
                                   too_long->str);
}

static void test_names_fit_worst(void) {
        g_autoptr(GString) too_long = g_string_new(NULL);
        char id[NAME_MAX_LEN + 1];

        id[0] = 'a';
        memset(id + 1, '-', NAME_MAX_LEN - 1);
        id[NAME_MAX_LEN] = 0;
        check_names_fit(id, too_long);
        if (too_long->len > 0)
                g_test_fail_printf("unit names of %d characters or more, which systemd refuses:%s", UNIT_NAME_MAX,
                                   too_long->str);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/systemd/escape", test_escape);
        g_test_add_func("/systemd/slice-name", test_slice_name);
        g_test_add_func("/systemd/scope-name", test_scope_name);
        g_test_add_func("/systemd/slice-child-of-chrootd-slice", test_slice_is_child_of_chrootd_slice);
        g_test_add_func("/systemd/generated-ids", test_generated_ids);
        g_test_add_func("/systemd/leading-dot-not-an-id", test_leading_dot_not_an_id);
        g_test_add_func("/systemd/names-fit/generated", test_names_fit_generated);
        g_test_add_func("/systemd/names-fit/worst", test_names_fit_worst);
        return g_test_run();
}
