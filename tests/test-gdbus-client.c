/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A client in another language than the service's: GDBus only, on the real user bus,
 * against the installed service started by D-Bus activation. It does what any client
 * would: install a chroot, begin a session, run a command with its stdin and stdout
 * passed as file descriptors, end the session. Nothing here knows about sd-bus. */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"

#define WATCHDOG_SEC 200
#define CHROOT_NAME "gdbus-test"

typedef struct Fixture {
        GDBusConnection *conn;
        char *sbuild;
        char *tarball; /* the installed copy, removed afterwards */
        char *session_id;
} Fixture;

static GVariant *manager_call(Fixture *f, const char *method, GVariant *params, const char *reply_type,
                              GError **error) {
        return tl_call(f->conn, TL_MANAGER_PATH, TL_MANAGER_IFACE, method, params, reply_type, error);
}

static void fixture_setup(Fixture *f, gconstpointer data) {
        g_autoptr(GError) error = NULL;
        g_autofree char *source = NULL;
        const char *cache = tl_getenv("XDG_CACHE_HOME");

        tl_watchdog_arm(WATCHDOG_SEC);
        source = tl_rootfs_file("busybox.tar.gz");
        if (!source) {
                g_test_skip("no $CHROOTD_TEST_ROOTFS/busybox.tar.gz (tests/run-all sets CHROOTD_TEST_ROOTFS; "
                            "tests/make-rootfs.sh makes it)");
                return;
        }
        f->conn = g_bus_get_sync(G_BUS_TYPE_SESSION, NULL, &error);
        if (!f->conn) {
                g_autofree char *msg = g_strdup_printf("no user bus: %s (tests/run-all provides one)", error->message);
                g_test_skip(msg);
                return;
        }

        /* Where the service looks for sbuild tarballs. */
        f->sbuild = cache && g_path_is_absolute(cache) ? g_build_filename(cache, "sbuild", NULL)
                                                       : g_build_filename(g_get_home_dir(), ".cache", "sbuild", NULL);
        g_assert_cmpint(g_mkdir_with_parents(f->sbuild, 0700), ==, 0);
        f->tarball = g_build_filename(f->sbuild, CHROOT_NAME ".tar.gz", NULL);
        tl_copy_file(source, f->tarball, &error);
        g_assert_no_error(error);
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
        if (f->conn && f->session_id) {
                g_autoptr(GVariant) r = NULL;
                g_autoptr(GError) error = NULL;

                r = manager_call(f, "EndSession", g_variant_new("(s)", f->session_id), "()", &error);
                if (!r && !g_dbus_error_is_remote_error(error))
                        g_test_message("cleanup: EndSession(%s): %s", f->session_id, error->message);
        }
        if (f->tarball)
                (void) g_unlink(f->tarball);
        g_clear_object(&f->conn);
        g_free(f->sbuild);
        g_free(f->tarball);
        g_free(f->session_id);
        tl_watchdog_disarm();
}

static void assert_activatable(Fixture *f) {
        g_autoptr(GVariant) reply = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree const char **names = NULL;

        reply = g_dbus_connection_call_sync(f->conn, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                            "org.freedesktop.DBus", "ListActivatableNames", NULL,
                                            G_VARIANT_TYPE("(as)"), G_DBUS_CALL_FLAGS_NONE, 5000, NULL, &error);
        g_assert_no_error(error);
        g_variant_get(reply, "(^a&s)", &names);
        if (!g_strv_contains(names, TL_BUS_NAME))
                g_error("%s is not activatable on the user bus: is chrootd installed "
                        "(share/dbus-1/services/org.chrootd1.service under the prefix)?",
                        TL_BUS_NAME);
}

static void test_list_chroots(Fixture *f, gconstpointer data) {
        g_autoptr(GVariant) reply = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariantIter) it = NULL;
        const char *name, *type, *path, *description;
        g_autofree const char **aliases = NULL;
        gboolean found = FALSE;

        if (!f->conn)
                return;
        assert_activatable(f);
        if (!tl_name_has_owner(f->conn, TL_BUS_NAME))
                g_test_message("%s has no owner yet: this call activates it", TL_BUS_NAME);

        reply = manager_call(f, "ListChroots", NULL, "(a(ssssas))", &error);
        g_assert_no_error(error);
        g_assert_true(tl_name_has_owner(f->conn, TL_BUS_NAME));
        g_variant_get(reply, "(a(ssssas))", &it);
        while (g_variant_iter_next(it, "(&s&s&s&s^a&s)", &name, &type, &path, &description, &aliases)) {
                if (g_str_equal(name, CHROOT_NAME)) {
                        found = TRUE;
                        g_assert_cmpstr(type, ==, "file");
                        g_assert_cmpstr(path, ==, f->tarball);
                        g_assert_true(g_strv_contains(aliases, CHROOT_NAME "-sbuild"));
                }
                g_clear_pointer(&aliases, g_free);
        }
        if (!found)
                g_error("ListChroots does not list %s installed as %s: does the service use another "
                        "$XDG_CACHE_HOME than this test (%s)?",
                        CHROOT_NAME, f->tarball, tl_getenv("XDG_CACHE_HOME") ? tl_getenv("XDG_CACHE_HOME") : "unset");
}

static gboolean session_listed(Fixture *f, const char *id, const char *want_path) {
        g_autoptr(GVariant) reply = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariantIter) it = NULL;
        const char *sid, *chroot, *state, *path;
        gboolean found = FALSE;

        reply = manager_call(f, "ListSessions", NULL, "(a(ssso))", &error);
        g_assert_no_error(error);
        g_variant_get(reply, "(a(ssso))", &it);
        while (g_variant_iter_next(it, "(&s&s&s&o)", &sid, &chroot, &state, &path))
                if (g_str_equal(sid, id)) {
                        found = TRUE;
                        g_assert_cmpstr(chroot, ==, CHROOT_NAME);
                        g_assert_cmpstr(state, ==, "ready");
                        if (want_path)
                                g_assert_cmpstr(path, ==, want_path);
                }
        return found;
}

/* Text with every printable ASCII character and many lines, well below a pipe's size. */
static char *make_input(void) {
        GString *s = g_string_new(NULL);

        for (int i = 0; i < 200; i++) {
                g_string_append_printf(s, "line %03d: ", i);
                for (int c = ' '; c <= '~'; c++)
                        g_string_append_c(s, (char) c);
                g_string_append_c(s, '\n');
        }
        g_string_append(s, "no newline at the end");
        return g_string_free(s, FALSE);
}

static void test_session(Fixture *f, gconstpointer data) {
        const char *argv[] = { "sh", "-c", "cat; echo done", NULL };
        g_autoptr(GVariant) reply = NULL, state = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree char *input = make_input(), *want = NULL, *path = NULL, *uuid_part = NULL;
        g_auto(TlRun) r = {};

        if (!f->conn)
                return;
        assert_activatable(f);

        /* No name given: the service makes "<chroot>-<uuid>". */
        reply = manager_call(f, "BeginSession",
                             g_variant_new("(ss@a{sv})", CHROOT_NAME, "", g_variant_new_array(G_VARIANT_TYPE("{sv}"),
                                                                                             NULL, 0)),
                             "(so)", &error);
        g_assert_no_error(error);
        g_variant_get(reply, "(so)", &f->session_id, &path);
        g_test_message("session %s at %s", f->session_id, path);
        g_assert_true(g_str_has_prefix(f->session_id, CHROOT_NAME "-"));
        uuid_part = g_strdup(f->session_id + strlen(CHROOT_NAME "-"));
        g_assert_true(g_uuid_string_is_valid(uuid_part));
        g_assert_true(g_str_has_prefix(path, TL_SESSION_PATH_PREFIX "/"));
        g_assert_true(session_listed(f, f->session_id, path));
        state = tl_get_property(f->conn, path, TL_SESSION_IFACE, "State", &error);
        g_assert_no_error(error);
        g_assert_cmpstr(g_variant_get_string(state, NULL), ==, "ready");

        /* stdin and stdout as fds in a GUnixFDList; stderr too, to show what went wrong. */
        if (!tl_run(f->conn, path, argv, input, NULL, &r, &error))
                g_error("Run failed: %s", error->message);
        if (*r.err)
                g_test_message("stderr: %s", r.err);
        g_assert_cmpstr(r.result, ==, "exited");
        g_assert_cmpint(r.value, ==, 0);
        want = g_strconcat(input, "done\n", NULL);
        g_assert_cmpstr(r.out, ==, want);
        g_assert_true(r.out_eof);
        g_assert_cmpstr(r.err, ==, "");

        g_clear_pointer(&reply, g_variant_unref);
        reply = manager_call(f, "EndSession", g_variant_new("(s)", f->session_id), "()", &error);
        g_assert_no_error(error);
        g_assert_false(session_listed(f, f->session_id, NULL));
        g_clear_pointer(&reply, g_variant_unref);
        reply = manager_call(f, "GetSession", g_variant_new("(s)", f->session_id), "(o)", &error);
        tl_assert_remote_error(error, "org.chrootd1.Error.NoSuchSession");
        g_clear_pointer(&f->session_id, g_free);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add("/gdbus-client/list-chroots", Fixture, NULL, fixture_setup, test_list_chroots, fixture_teardown);
        g_test_add("/gdbus-client/session", Fixture, NULL, fixture_setup, test_session, fixture_teardown);
        return g_test_run();
}
