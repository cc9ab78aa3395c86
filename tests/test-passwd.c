/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* passwd.h: users and groups come from the chroot's own files, parsed by us, so a
 * hostile /etc/passwd inside a session must never crash or confuse the lookup. */
#include <glib.h>

#include "util.h"
#include "passwd.h"

static const char passwd_text[] =
        "root:x:0:0:root:/root:/bin/sh\n"
        "tester:x:1000:1000:tester:/home/tester:/bin/sh\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
        "empty:x:1001:1001:::\n";

static void entry_clear(PasswdEntry *e) {
        passwd_entry_done(e);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(PasswdEntry, entry_clear)

static void test_by_name(void) {
        g_auto(PasswdEntry) e = {};

        g_assert_cmpint(passwd_find(passwd_text, "tester", &e), ==, 1);
        g_assert_cmpstr(e.name, ==, "tester");
        g_assert_cmpuint(e.uid, ==, 1000);
        g_assert_cmpuint(e.gid, ==, 1000);
        g_assert_cmpstr(e.home, ==, "/home/tester");
        g_assert_cmpstr(e.shell, ==, "/bin/sh");
        passwd_entry_done(&e);

        g_assert_cmpint(passwd_find(passwd_text, "root", &e), ==, 1);
        g_assert_cmpuint(e.uid, ==, 0);
        g_assert_cmpstr(e.home, ==, "/root");
        passwd_entry_done(&e);

        g_assert_cmpint(passwd_find(passwd_text, "nobody", &e), ==, 1);
        g_assert_cmpuint(e.uid, ==, 65534);
        g_assert_cmpstr(e.shell, ==, "/bin/false");
}

static void test_by_uid(void) {
        g_auto(PasswdEntry) e = {};

        g_assert_cmpint(passwd_find(passwd_text, "1000", &e), ==, 1);
        g_assert_cmpstr(e.name, ==, "tester");
        passwd_entry_done(&e);

        g_assert_cmpint(passwd_find(passwd_text, "0", &e), ==, 1);
        g_assert_cmpstr(e.name, ==, "root");
        passwd_entry_done(&e);

        g_assert_cmpint(passwd_find(passwd_text, "65534", &e), ==, 1);
        g_assert_cmpstr(e.name, ==, "nobody");
}

static void test_defaults(void) {
        g_auto(PasswdEntry) e = {};

        /* Empty home and shell fields fall back to "/" and /bin/sh, as login does. */
        g_assert_cmpint(passwd_find(passwd_text, "empty", &e), ==, 1);
        g_assert_cmpuint(e.uid, ==, 1001);
        g_assert_cmpstr(e.home, ==, "/");
        g_assert_cmpstr(e.shell, ==, "/bin/sh");
}

static void test_not_found(void) {
        PasswdEntry e = { .uid = 4242 };

        g_assert_cmpint(passwd_find(passwd_text, "alice", &e), ==, 0);
        g_assert_cmpint(passwd_find(passwd_text, "2000", &e), ==, 0);
        /* Whole names only, no prefixes. */
        g_assert_cmpint(passwd_find(passwd_text, "test", &e), ==, 0);
        g_assert_cmpint(passwd_find(passwd_text, "testers", &e), ==, 0);
        g_assert_cmpint(passwd_find("", "root", &e), ==, 0);
        /* *ret is written only on success. */
        g_assert_null(e.name);
        g_assert_cmpuint(e.uid, ==, 4242);
}

static void test_malformed_skipped(void) {
        static const char text[] =
                "# a comment\n"
                "\n"
                "garbage\n"
                "alice:x:1000\n"                      /* too few fields */
                "alice:x:1000:1000:alice:/home/alice\n" /* one short */
                "alice:x::1000:alice:/home/alice:/bin/sh\n"
                "alice:x:abc:1000:alice:/home/alice:/bin/sh\n"
                "alice:x:-1:1000:alice:/home/alice:/bin/sh\n"
                "alice:x:1000:x:alice:/home/alice:/bin/sh\n"
                "alice:x:4294967295:1000:alice:/home/alice:/bin/sh\n" /* (uid_t) -1 */
                "alice:x:99999999999:1000:alice:/home/alice:/bin/sh\n"
                "alice:x: 7:1000:alice:/home/alice:/bin/sh\n"
                "alice:x:2000:2000:alice:/home/alice:/bin/bash\n";
        g_auto(PasswdEntry) e = {};

        g_assert_cmpint(passwd_find(text, "alice", &e), ==, 1);
        g_assert_cmpuint(e.uid, ==, 2000);
        g_assert_cmpuint(e.gid, ==, 2000);
        g_assert_cmpstr(e.shell, ==, "/bin/bash");
        passwd_entry_done(&e);

        /* The malformed uids never match by number either. */
        g_assert_cmpint(passwd_find(text, "1000", &e), ==, 0);
        g_assert_cmpint(passwd_find(text, "7", &e), ==, 0);
        g_assert_cmpint(passwd_find(text, "4294967295", &e), ==, 0);
        g_assert_cmpint(passwd_find(text, "2000", &e), ==, 1);
        g_assert_cmpstr(e.name, ==, "alice");
}

static void test_no_final_newline(void) {
        g_auto(PasswdEntry) e = {};

        g_assert_cmpint(passwd_find("root:x:0:0::/root:/bin/sh\nlast:x:5:6::/l:/bin/sh", "last", &e), ==, 1);
        g_assert_cmpuint(e.uid, ==, 5);
        g_assert_cmpuint(e.gid, ==, 6);
}

static const char group_text[] =
        "root:x:0:\n"
        "staff:x:50:tester\n"
        "tester:x:1000:\n"
        "wheel:x:10:alice,tester,bob\n"
        "audio:x:29:testers,atester,test\n"     /* similar names, not the user */
        "garbage\n"
        "broken:x:notanumber:tester\n"
        "short:x:77\n"
        "self:x:1000:tester\n"                  /* the primary group, listed again */
        "video:x:44:bob,tester";                /* no final newline */

static void test_groups(void) {
        g_autofree gid_t *l = NULL;
        size_t n = 0;

        g_assert_cmpint(group_list_for_user(group_text, "tester", 1000, &l, &n), ==, 0);
        /* Primary first, then the groups listing the user in file order; no duplicates. */
        g_assert_cmpuint(n, ==, 4);
        g_assert_cmpuint(l[0], ==, 1000);
        g_assert_cmpuint(l[1], ==, 50);
        g_assert_cmpuint(l[2], ==, 10);
        g_assert_cmpuint(l[3], ==, 44);
}

static void test_groups_none(void) {
        g_autofree gid_t *l = NULL, *l2 = NULL;
        size_t n = 0;

        g_assert_cmpint(group_list_for_user(group_text, "carol", 1234, &l, &n), ==, 0);
        g_assert_cmpuint(n, ==, 1);
        g_assert_cmpuint(l[0], ==, 1234);

        /* No group file at all: just the primary group. */
        g_assert_cmpint(group_list_for_user(NULL, "tester", 1000, &l2, &n), ==, 0);
        g_assert_cmpuint(n, ==, 1);
        g_assert_cmpuint(l2[0], ==, 1000);
}

/* passwd_has_name: whole first fields only, on any line. */
static void test_has_name(void) {
        const char *text = "root:x:0:0:root:/root:/bin/sh\nte:x:1:1::/:/bin/sh\ntester:x:1000:1000::/home/tester:/bin/sh";

        g_assert_true(passwd_has_name(text, "root"));
        g_assert_true(passwd_has_name(text, "tester"));
        g_assert_true(passwd_has_name(text, "te"));
        g_assert_false(passwd_has_name(text, "test"));
        g_assert_false(passwd_has_name(text, "x"));
        g_assert_false(passwd_has_name(text, "bin"));
        g_assert_false(passwd_has_name("", "root"));
        g_assert_true(passwd_has_name("staff:x:50:tester\n", "staff"));
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/passwd/by-name", test_by_name);
        g_test_add_func("/passwd/by-uid", test_by_uid);
        g_test_add_func("/passwd/defaults", test_defaults);
        g_test_add_func("/passwd/not-found", test_not_found);
        g_test_add_func("/passwd/malformed-skipped", test_malformed_skipped);
        g_test_add_func("/passwd/no-final-newline", test_no_final_newline);
        g_test_add_func("/passwd/groups", test_groups);
        g_test_add_func("/passwd/groups-none", test_groups_none);
        g_test_add_func("/passwd/has-name", test_has_name);
        return g_test_run();
}
