/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The built service on a private bus (GTestDBus), no systemd: the Manager's methods,
 * its named errors and its introspection against the contract in interfaces/, D-Bus activation,
 * and, where the user has subordinate ids, sessions that run commands and survive a
 * restart of the service. Every test gets fresh XDG directories in a temporary
 * directory, so nothing of the user's own chroots or sessions is seen or touched. */
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <signal.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"

#define WATCHDOG_SEC 150
#define SERVICE_START_TIMEOUT_MS 30000

typedef enum Mode {
        MODE_SPAWN,    /* the test starts $CHROOTD_BINARY itself */
        MODE_ACTIVATE, /* the bus starts it from an activation file */
} Mode;

typedef struct Fixture {
        char *tmp;
        char *home, *cache, *config, *state;
        char *sbuild;      /* $XDG_CACHE_HOME/sbuild */
        char *confd;       /* $XDG_CONFIG_HOME/chrootd/chroots.d */
        char *sessions;    /* $XDG_STATE_HOME/chrootd/sessions */
        char *services;    /* activation files of the private bus */
        GTestDBus *bus;
        GDBusConnection *conn;
        GSubprocess *service;
} Fixture;

static const char *binary(void) {
        const char *b = tl_getenv("CHROOTD_BINARY");

        if (!b)
                g_error("CHROOTD_BINARY is not set: run the tests with meson test");
        return b;
}

static void child_setup(gpointer data) {
        /* If this test program dies (a failed assertion aborts it), so does the service. */
        (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
}

static void service_start(Fixture *f) {
        g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
        g_autoptr(GError) error = NULL;
        gint64 deadline;
        const char *argv[] = { binary(), "--idle-timeout", "0", tl_getenv("CHROOTD_TEST_DEBUG") ? "--debug" : NULL,
                               NULL };

        g_assert_null(f->service);
        g_subprocess_launcher_setenv(l, "DBUS_SESSION_BUS_ADDRESS", g_test_dbus_get_bus_address(f->bus), TRUE);
        /* The service's log goes to our stderr, next to the test's own messages; our
         * stdout is the TAP stream. */
        g_subprocess_launcher_take_stdout_fd(l, dup(STDERR_FILENO));
        g_subprocess_launcher_set_child_setup(l, child_setup, NULL, NULL);
        f->service = g_subprocess_launcher_spawnv(l, argv, &error);
        g_assert_no_error(error);

        deadline = g_get_monotonic_time() + SERVICE_START_TIMEOUT_MS * 1000;
        while (!tl_name_has_owner(f->conn, TL_BUS_NAME)) {
                if (!g_subprocess_get_identifier(f->service)) {
                        g_subprocess_wait(f->service, NULL, NULL);
                        g_error("%s exited (status %d) before it took the name %s", binary(),
                                g_subprocess_get_status(f->service), TL_BUS_NAME);
                }
                if (g_get_monotonic_time() > deadline)
                        g_error("%s did not take the name %s within %d ms", binary(), TL_BUS_NAME,
                                SERVICE_START_TIMEOUT_MS);
                g_usleep(10 * 1000);
        }
}

/* SIGTERM, as systemd stops it: the service must exit cleanly and release the name. */
static void service_stop(Fixture *f, gboolean check) {
        g_autoptr(GError) error = NULL;

        if (!f->service)
                return;
        g_subprocess_send_signal(f->service, SIGTERM);
        g_subprocess_wait(f->service, NULL, &error);
        g_assert_no_error(error);
        if (check) {
                g_assert_true(g_subprocess_get_if_exited(f->service));
                g_assert_cmpint(g_subprocess_get_exit_status(f->service), ==, 0);
                g_assert_true(tl_wait_for_name(f->conn, TL_BUS_NAME, FALSE, 10000));
        }
        g_clear_object(&f->service);
}

/* The XDG directories are fixed for the whole program and set in main(), before any
 * thread exists (setenv() is not thread-safe); each test gets them made afresh and
 * removed after it. */
static char *base_dir;

static void fixture_setup(Fixture *f, gconstpointer data) {
        Mode mode = GPOINTER_TO_INT(data);
        g_autoptr(GError) error = NULL;

        tl_watchdog_arm(WATCHDOG_SEC);
        f->tmp = g_build_filename(base_dir, "t", NULL);
        f->home = g_strdup(g_getenv("HOME"));
        f->cache = g_strdup(g_getenv("XDG_CACHE_HOME"));
        f->config = g_strdup(g_getenv("XDG_CONFIG_HOME"));
        f->state = g_strdup(g_getenv("XDG_STATE_HOME"));
        g_assert_true(g_str_has_prefix(f->home, f->tmp));
        g_assert_true(g_str_has_prefix(f->cache, f->tmp));
        g_assert_true(g_str_has_prefix(f->config, f->tmp));
        g_assert_true(g_str_has_prefix(f->state, f->tmp));
        f->sbuild = g_build_filename(f->cache, "sbuild", NULL);
        f->confd = g_build_filename(f->config, "chrootd", "chroots.d", NULL);
        f->sessions = g_build_filename(f->state, "chrootd", "sessions", NULL);
        f->services = g_build_filename(f->tmp, "services", NULL);
        g_assert_false(g_file_test(f->tmp, G_FILE_TEST_EXISTS));
        g_assert_cmpint(g_mkdir_with_parents(f->home, 0700), ==, 0);
        g_assert_cmpint(g_mkdir_with_parents(f->sbuild, 0700), ==, 0);
        g_assert_cmpint(g_mkdir_with_parents(f->confd, 0700), ==, 0);
        g_assert_cmpint(g_mkdir_with_parents(f->state, 0700), ==, 0);
        g_assert_cmpint(g_mkdir_with_parents(f->services, 0700), ==, 0);

        f->bus = g_test_dbus_new(G_TEST_DBUS_NONE);
        if (mode == MODE_ACTIVATE) {
                g_autofree char *file = g_build_filename(f->services, "org.chrootd1.service", NULL);
                g_autofree char *text = g_strdup_printf("[D-BUS Service]\nName=%s\nExec=%s\n", TL_BUS_NAME, binary());

                g_file_set_contents(file, text, -1, &error);
                g_assert_no_error(error);
                g_test_dbus_add_service_dir(f->bus, f->services);
        }
        /* GTestDBus's watcher (the process that kills the bus daemon if we die) learns
         * of our death from a pipe whose write end is not close-on-exec: a daemon that
         * inherits it keeps the watcher waiting, so after a failed assertion the daemon
         * and the watcher would both outlive us, holding meson's output pipe open
         * until its timeout. Nothing of ours needs inheriting. */
        (void) close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
        /* An activated service inherits the bus daemon's environment, ours. */
        g_test_dbus_up(f->bus);
        f->conn = g_dbus_connection_new_for_address_sync(g_test_dbus_get_bus_address(f->bus),
                                                         G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                                 G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                         NULL, NULL, &error);
        g_assert_no_error(error);
        g_dbus_connection_set_exit_on_close(f->conn, FALSE);
        if (mode == MODE_SPAWN)
                service_start(f);
}

/* End what a failed test left, so that the trees (owned by subordinate ids, which we
 * cannot remove ourselves) go. */
static void end_all_sessions(Fixture *f) {
        g_autoptr(GVariant) reply = NULL;
        g_autoptr(GError) error = NULL;
        GVariantIter *it;
        const char *id;

        reply = tl_call(f->conn, TL_MANAGER_PATH, TL_MANAGER_IFACE, "ListSessions", NULL, "(a(ssso))", &error);
        if (!reply) {
                g_test_message("cleanup: ListSessions failed: %s", error->message);
                return;
        }
        g_variant_get(reply, "(a(ssso))", &it);
        while (g_variant_iter_next(it, "(&s&s&s&o)", &id, NULL, NULL, NULL)) {
                g_autoptr(GVariant) r = NULL;
                g_autoptr(GError) e = NULL;

                g_test_message("cleanup: ending session %s left by the test", id);
                r = tl_call(f->conn, TL_MANAGER_PATH, TL_MANAGER_IFACE, "EndSession", g_variant_new("(s)", id), "()",
                            &e);
                if (!r)
                        g_test_message("cleanup: EndSession(%s) failed: %s", id, e->message);
        }
        g_variant_iter_free(it);
}

/* Copy-on-write bases belong to subordinate ids: only the service can remove them.
 * It does so in the background; wait until bases/ is empty. */
static void collect_bases(Fixture *f) {
        g_autofree char *bases = g_build_filename(f->cache, "chrootd", "bases", NULL);
        g_autoptr(GVariant) reply = NULL;
        g_autoptr(GError) error = NULL;

        reply = g_dbus_connection_call_sync(f->conn, TL_BUS_NAME, TL_MANAGER_PATH, TL_MANAGER_IFACE, "CollectGarbage",
                                            NULL, G_VARIANT_TYPE("(as)"), G_DBUS_CALL_FLAGS_NONE, 30000, NULL, &error);
        if (!reply) {
                g_test_message("cleanup: CollectGarbage failed: %s", error->message);
                return;
        }
        for (int i = 0; i < 400; i++) {
                g_autoptr(GDir) d = g_dir_open(bases, 0, NULL);
                if (!d || !g_dir_read_name(d))
                        return;
                g_usleep(50 * 1000);
        }
        g_test_message("cleanup: %s is still not empty", bases);
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
        if (f->conn && tl_name_has_owner(f->conn, TL_BUS_NAME)) {
                end_all_sessions(f);
                collect_bases(f);
        }
        service_stop(f, FALSE);
        if (f->conn) {
                (void) g_dbus_connection_close_sync(f->conn, NULL, NULL);
                g_clear_object(&f->conn);
        }
        /* Also ends an activated service: it exits when its bus goes away. */
        g_test_dbus_down(f->bus);
        g_clear_object(&f->bus);
        tl_rm_rf(f->tmp);
        g_free(f->tmp);
        g_free(f->home);
        g_free(f->cache);
        g_free(f->config);
        g_free(f->state);
        g_free(f->sbuild);
        g_free(f->confd);
        g_free(f->sessions);
        g_free(f->services);
        tl_watchdog_disarm();
}

static GVariant *manager_call(Fixture *f, const char *method, GVariant *params, const char *reply_type,
                              GError **error) {
        return tl_call(f->conn, TL_MANAGER_PATH, TL_MANAGER_IFACE, method, params, reply_type, error);
}

static void put(const char *dir, const char *name, const char *contents) {
        g_autofree char *p = g_build_filename(dir, name, NULL);
        g_autoptr(GError) error = NULL;

        g_file_set_contents(p, contents, -1, &error);
        g_assert_no_error(error);
}

/* ---- tests without sessions ---- */

static void test_activation(Fixture *f, gconstpointer data) {
        g_autoptr(GVariant) reply = NULL, pid_reply = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree char *exe_link = NULL, *exe = NULL, *want = NULL;
        GVariantIter *it = NULL;
        guint32 pid;

        g_assert_false(tl_name_has_owner(f->conn, TL_BUS_NAME));
        /* Calling the name starts the service, and the call is answered by it. */
        reply = manager_call(f, "ListSessions", NULL, "(a(ssso))", &error);
        g_assert_no_error(error);
        g_variant_get(reply, "(a(ssso))", &it);
        g_assert_cmpuint(g_variant_iter_n_children(it), ==, 0);
        g_variant_iter_free(it);
        g_assert_true(tl_name_has_owner(f->conn, TL_BUS_NAME));

        /* The owner is the binary named in the activation file. */
        pid_reply = g_dbus_connection_call_sync(f->conn, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                                                g_variant_new("(s)", TL_BUS_NAME), G_VARIANT_TYPE("(u)"),
                                                G_DBUS_CALL_FLAGS_NONE, 5000, NULL, &error);
        g_assert_no_error(error);
        g_variant_get(pid_reply, "(u)", &pid);
        exe_link = g_strdup_printf("/proc/%u/exe", pid);
        exe = g_file_read_link(exe_link, &error);
        g_assert_no_error(error);
        want = realpath(binary(), NULL);
        g_assert_nonnull(want);
        g_assert_cmpstr(exe, ==, want);

        /* It serves its own XDG directories (ours): the state directory is made. */
        g_assert_true(g_file_test(f->sessions, G_FILE_TEST_IS_DIR));

        /* Stop it as systemd would; the name goes with it. */
        g_assert_cmpint(kill((pid_t) pid, SIGTERM), ==, 0);
        g_assert_true(tl_wait_for_name(f->conn, TL_BUS_NAME, FALSE, 10000));
}

static void test_introspect_manager(Fixture *f, gconstpointer data) {
        g_autofree char *path = tl_source_path("interfaces/org.chrootd1.Manager.xml");
        g_autofree char *contract = NULL, *live = NULL, *diff = NULL;
        g_autoptr(GError) error = NULL;

        g_file_get_contents(path, &contract, NULL, &error);
        g_assert_no_error(error);
        live = tl_introspect(f->conn, TL_BUS_NAME, TL_MANAGER_PATH, &error);
        g_assert_no_error(error);
        diff = tl_compare_interface(contract, live, TL_MANAGER_IFACE);
        if (diff)
                g_error("live /org/chrootd1 does not match %s: %s", path, diff);
}

static char *project_version(void) {
        g_autofree char *info = NULL, *path = NULL;
        g_autoptr(GRegex) re = g_regex_new("\"version\"\\s*:\\s*\"([^\"]+)\"", 0, 0, NULL);
        g_autoptr(GMatchInfo) m = NULL;
        const char *build = tl_getenv("CHROOTD_BUILD_ROOT");

        if (!build)
                return NULL;
        path = g_build_filename(build, "meson-info", "intro-projectinfo.json", NULL);
        if (!g_file_get_contents(path, &info, NULL, NULL))
                return NULL;
        if (!g_regex_match(re, info, 0, &m))
                return NULL;
        return g_match_info_fetch(m, 1);
}

static void test_version(Fixture *f, gconstpointer data) {
        g_autoptr(GVariant) v = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree char *want = project_version(), *out = NULL, *line = NULL;
        const char *argv[] = { binary(), "--version", NULL };
        int status;

        v = tl_get_property(f->conn, TL_MANAGER_PATH, TL_MANAGER_IFACE, "Version", &error);
        g_assert_no_error(error);
        g_assert_true(g_variant_is_of_type(v, G_VARIANT_TYPE_STRING));
        g_assert_nonnull(want);
        g_assert_cmpstr(g_variant_get_string(v, NULL), ==, want);

        /* The same as the binary says. */
        g_assert_true(g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, &status, NULL));
        g_assert_true(g_spawn_check_wait_status(status, NULL));
        line = g_strdup_printf("chrootd %s\n", want);
        g_assert_cmpstr(out, ==, line);

        /* Read-only: Set is refused. */
        g_clear_pointer(&v, g_variant_unref);
        v = tl_call(f->conn, TL_MANAGER_PATH, "org.freedesktop.DBus.Properties", "Set",
                    g_variant_new("(ssv)", TL_MANAGER_IFACE, "Version", g_variant_new_string("9")), NULL, &error);
        g_assert_null(v);
        g_assert_nonnull(error);
}

static char *print_variant(GVariant *v) {
        return g_variant_print(v, FALSE);
}

static void test_list_chroots(Fixture *f, gconstpointer data) {
        g_autofree char *devtree = g_build_filename(f->tmp, "devtree", NULL);
        g_autofree char *conf = NULL, *got = NULL, *want = NULL, *dir_tar = NULL, *sid = NULL;
        g_autoptr(GVariant) reply = NULL, expected = NULL;
        g_autoptr(GError) error = NULL;

        /* Empty to start with. */
        reply = manager_call(f, "ListChroots", NULL, "(a(ssssas))", &error);
        g_assert_no_error(error);
        got = print_variant(reply);
        g_assert_cmpstr(got, ==, "([],)");
        g_clear_pointer(&reply, g_variant_unref);
        g_clear_pointer(&got, g_free);

        /* Tarballs as sbuild names them (their content is not looked at until a
         * session is begun), and what is not one. */
        put(f->sbuild, "bookworm-amd64.tar.zst", "not really a tarball");
        put(f->sbuild, "sid.tar", "");
        put(f->sbuild, "notes.txt", "");
        put(f->sbuild, "-bad.tar.gz", "");
        dir_tar = g_build_filename(f->sbuild, "dir.tar", NULL);
        g_assert_cmpint(g_mkdir(dir_tar, 0700), ==, 0);
        g_assert_cmpint(g_mkdir(devtree, 0700), ==, 0);
        conf = g_strdup_printf("# a directory chroot\n[devtree]\ntype=directory\ndirectory=%s\n"
                               "description=A directory chroot\naliases=dev, tree\n",
                               devtree);
        put(f->confd, "local.conf", conf);

        reply = manager_call(f, "ListChroots", NULL, "(a(ssssas))", &error);
        g_assert_no_error(error);
        {
                g_autofree char *bookworm = g_build_filename(f->sbuild, "bookworm-amd64.tar.zst", NULL);
                g_autofree char *sid_tar = g_build_filename(f->sbuild, "sid.tar", NULL);
                const char *bookworm_aliases[] = { "bookworm-amd64-sbuild", NULL };
                const char *devtree_aliases[] = { "dev", "tree", NULL };
                const char *sid_aliases[] = { "sid-sbuild", NULL };

                /* Sorted by name. */
                expected = g_variant_ref_sink(g_variant_new_parsed(
                        "([(%s, 'file', %s, '', %^as), (%s, 'directory', %s, 'A directory chroot', %^as),"
                        "  (%s, 'file', %s, '', %^as)],)",
                        "bookworm-amd64", bookworm, bookworm_aliases, "devtree", devtree, devtree_aliases, "sid",
                        sid_tar, sid_aliases));
        }
        got = print_variant(reply);
        want = print_variant(expected);
        g_assert_cmpstr(got, ==, want);
        g_clear_pointer(&reply, g_variant_unref);
        g_clear_pointer(&got, g_free);

        /* Re-read on every call: the user's files change under the service. */
        sid = g_build_filename(f->sbuild, "sid.tar", NULL);
        g_assert_cmpint(g_unlink(sid), ==, 0);
        put(f->sbuild, "trixie.tgz", "");
        reply = manager_call(f, "ListChroots", NULL, "(a(ssssas))", &error);
        g_assert_no_error(error);
        {
                g_autoptr(GVariant) list = g_variant_get_child_value(reply, 0);
                g_autofree char *trixie = g_build_filename(f->sbuild, "trixie.tgz", NULL);
                const char *name, *type, *path;

                g_assert_cmpuint(g_variant_n_children(list), ==, 3);
                g_variant_get_child(list, 2, "(&s&s&s&s^a&s)", &name, &type, &path, NULL, NULL);
                g_assert_cmpstr(name, ==, "trixie");
                g_assert_cmpstr(type, ==, "file");
                g_assert_cmpstr(path, ==, trixie);
        }
}

static void test_list_sessions_empty(Fixture *f, gconstpointer data) {
        g_autoptr(GVariant) reply = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree char *got = NULL;

        reply = manager_call(f, "ListSessions", NULL, "(a(ssso))", &error);
        g_assert_no_error(error);
        got = print_variant(reply);
        g_assert_cmpstr(got, ==, "([],)");
}

static GVariant *no_options(void) {
        return g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0);
}

/* Call and expect the named error; the message must mention needle. */
static void expect_error(Fixture *f, const char *method, GVariant *params, const char *name, const char *needle) {
        g_autoptr(GVariant) reply = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree char *shown = g_variant_print(params, FALSE);

        g_test_message("%s%s, expecting %s", method, shown, name);
        reply = manager_call(f, method, params, NULL, &error);
        tl_assert_remote_error(error, name);
        if (needle && !strstr(error->message, needle))
                g_error("%s%s: the error message does not mention '%s': %s", method, shown, needle, error->message);
}

static void test_invalid_names(Fixture *f, gconstpointer data) {
        g_autofree char *too_long = g_strnfill(129, 'a');
        g_autofree char *longest = g_strnfill(128, 'a');
        static const char *const bad[] = { "", "-dash", ".dot", "_under", "a/b", "..", "a b", "a:b", "ä", NULL };

        put(f->sbuild, "good.tar", "");
        for (const char *const *b = bad; *b; b++) {
                expect_error(f, "BeginSession", g_variant_new("(ss@a{sv})", *b, "", no_options()),
                             "org.chrootd1.Error.InvalidName", NULL);
                /* An empty session name means "make one up". */
                if (**b)
                        expect_error(f, "BeginSession", g_variant_new("(ss@a{sv})", "good", *b, no_options()),
                                     "org.chrootd1.Error.InvalidName", NULL);
                expect_error(f, "EndSession", g_variant_new("(s)", *b), "org.chrootd1.Error.InvalidName", NULL);
                expect_error(f, "GetSession", g_variant_new("(s)", *b), "org.chrootd1.Error.InvalidName", NULL);
        }
        expect_error(f, "BeginSession", g_variant_new("(ss@a{sv})", too_long, "", no_options()),
                     "org.chrootd1.Error.InvalidName", too_long);
        expect_error(f, "BeginSession", g_variant_new("(ss@a{sv})", "good", too_long, no_options()),
                     "org.chrootd1.Error.InvalidName", too_long);
        expect_error(f, "GetSession", g_variant_new("(s)", too_long), "org.chrootd1.Error.InvalidName", too_long);
        expect_error(f, "EndSession", g_variant_new("(s)", "../etc"), "org.chrootd1.Error.InvalidName", "../etc");
        /* 128 characters is a valid name, just not one that exists. */
        expect_error(f, "GetSession", g_variant_new("(s)", longest), "org.chrootd1.Error.NoSuchSession", NULL);
        expect_error(f, "BeginSession", g_variant_new("(ss@a{sv})", longest, "", no_options()),
                     "org.chrootd1.Error.NoSuchChroot", NULL);
}

static void test_no_such_chroot(Fixture *f, gconstpointer data) {
        put(f->sbuild, "exists.tar", "");
        expect_error(f, "BeginSession", g_variant_new("(ss@a{sv})", "nope", "", no_options()),
                     "org.chrootd1.Error.NoSuchChroot", "nope");
        expect_error(f, "BeginSession", g_variant_new("(ss@a{sv})", "nope", "named", no_options()),
                     "org.chrootd1.Error.NoSuchChroot", "nope");
        /* Not a prefix match, and aliases are whole names too. */
        expect_error(f, "BeginSession", g_variant_new("(ss@a{sv})", "exist", "", no_options()),
                     "org.chrootd1.Error.NoSuchChroot", NULL);
        expect_error(f, "BeginSession", g_variant_new("(ss@a{sv})", "exists-sbuil", "", no_options()),
                     "org.chrootd1.Error.NoSuchChroot", NULL);
}

static void test_no_such_session(Fixture *f, gconstpointer data) {
        expect_error(f, "EndSession", g_variant_new("(s)", "nope"), "org.chrootd1.Error.NoSuchSession", "nope");
        expect_error(f, "GetSession", g_variant_new("(s)", "nope"), "org.chrootd1.Error.NoSuchSession", "nope");
}

static void test_unknown_option(Fixture *f, gconstpointer data) {
        GVariantBuilder b;

        put(f->sbuild, "exists.tar", "");
        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&b, "{sv}", "bogus", g_variant_new_boolean(TRUE));
        expect_error(f, "BeginSession", g_variant_new("(ssa{sv})", "exists", "", &b),
                     "org.chrootd1.Error.InvalidArgument", "bogus");
        /* Nothing was made. */
        test_list_sessions_empty(f, data);
}

/* boot and network: wrong types, a network without boot or with a bad value, and a
 * booted session written back (asked for, or a chroot with boot=true) are refused
 * before anything is made. */
static void test_boot_options(Fixture *f, gconstpointer data) {
        g_autofree char *booted = g_build_filename(f->sbuild, "booted.tar", NULL);
        g_autofree char *conf = g_strdup_printf("[booted]\nfile=%s\nboot=true\n", booted);
        static const struct {
                const char *chroot;
                const char *json; /* the options, in GVariant text */
                const char *needle;
        } cases[] = {
                { "exists", "{'network': <'host'>}", "Option 'network' needs 'boot'" },
                { "exists", "{'network': <'none'>}", "Option 'network' needs 'boot'" },
                { "exists", "{'boot': <false>, 'network': <'host'>}", "Option 'network' needs 'boot'" },
                /* A boot=true chroot boots without being asked, but its network is asked
                 * for with boot. */
                { "booted", "{'network': <'host'>}", "Option 'network' needs 'boot'" },
                { "exists", "{'network': <'bogus'>, 'boot': <true>}", "not 'bogus'" },
                { "exists", "{'boot': <true>, 'network': <true>}", "Option 'network' must be a string (s)" },
                { "exists", "{'boot': <'yes'>}", "Option 'boot' must be a boolean (b)" },
                { "exists", "{'boot': <true>, 'write-back': <true>}", "A booted session cannot be written back" },
                { "exists", "{'boot': <true>, 'host-tree': <true>}", "A booted session has no tree on the host" },
                { "exists", "{'boot': <true>, 'boot': <true>}", "Option 'boot' is given twice" },
        };

        put(f->sbuild, "exists.tar", "");
        put(f->sbuild, "booted.tar", "");
        put(f->confd, "booted.conf", conf);
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autoptr(GError) error = NULL;
                GVariant *options = g_variant_parse(G_VARIANT_TYPE("a{sv}"), cases[i].json, NULL, NULL, &error);

                g_assert_no_error(error);
                expect_error(f, "BeginSession", g_variant_new("(ss@a{sv})", cases[i].chroot, "", options),
                             "org.chrootd1.Error.InvalidArgument", cases[i].needle);
        }
        /* Nothing was made. */
        test_list_sessions_empty(f, data);
}

/* ---- sessions: these need subordinate ids and the test root filesystem ---- */

/* Whether sessions can be tested here; installs busybox.tar.gz as chroot "busybox". */
static gboolean require_sessions(Fixture *f) {
        static int have = -1;
        static char *reason;
        g_autofree char *tarball = NULL, *dest = NULL;
        g_autoptr(GError) error = NULL;

        if (have < 0)
                have = tl_have_subids(&reason);
        if (!have) {
                g_autofree char *msg = g_strdup_printf("%s; sessions need it (tests/run-all runs the tests as a user "
                                                       "with subordinate ids)",
                                                       reason);
                g_test_skip(msg);
                return FALSE;
        }
        tarball = tl_rootfs_file("busybox.tar.gz");
        if (!tarball) {
                g_test_skip("no $CHROOTD_TEST_ROOTFS/busybox.tar.gz (tests/make-rootfs.sh makes it; "
                            "tests/run-all sets CHROOTD_TEST_ROOTFS)");
                return FALSE;
        }
        dest = g_build_filename(f->sbuild, "busybox.tar.gz", NULL);
        tl_copy_file(tarball, dest, &error);
        g_assert_no_error(error);
        return TRUE;
}

/* union_type: NULL for the default (overlay for tarballs), "none" for a full copy
 * whose tree can be looked at from here. */
static char *begin_session_union(Fixture *f, const char *chroot, const char *name, const char *union_type,
                                 char **ret_id) {
        g_autoptr(GVariant) reply = NULL;
        g_autoptr(GError) error = NULL;
        char *id = NULL, *path = NULL;
        GVariantBuilder b;

        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        if (union_type)
                g_variant_builder_add(&b, "{sv}", "union-type", g_variant_new_string(union_type));
        reply = manager_call(f, "BeginSession", g_variant_new("(ssa{sv})", chroot, name, &b), "(so)", &error);
        g_assert_no_error(error);
        g_variant_get(reply, "(so)", &id, &path);
        if (*name)
                g_assert_cmpstr(id, ==, name);
        if (ret_id)
                *ret_id = id;
        else
                g_free(id);
        return path;
}

static char *begin_session(Fixture *f, const char *chroot, const char *name, char **ret_id) {
        return begin_session_union(f, chroot, name, NULL, ret_id);
}

static void end_session(Fixture *f, const char *id) {
        g_autoptr(GVariant) reply = NULL;
        g_autoptr(GError) error = NULL;

        reply = manager_call(f, "EndSession", g_variant_new("(s)", id), "()", &error);
        g_assert_no_error(error);
}

static char *session_list(Fixture *f) {
        g_autoptr(GVariant) reply = NULL;
        g_autoptr(GError) error = NULL;

        reply = manager_call(f, "ListSessions", NULL, "(a(ssso))", &error);
        g_assert_no_error(error);
        return print_variant(reply);
}

static char *session_prop_string(Fixture *f, const char *path, const char *name) {
        g_autoptr(GVariant) v = NULL;
        g_autoptr(GError) error = NULL;

        v = tl_get_property(f->conn, path, TL_SESSION_IFACE, name, &error);
        g_assert_no_error(error);
        g_assert_true(g_variant_is_of_type(v, G_VARIANT_TYPE_STRING));
        return g_variant_dup_string(v, NULL);
}

static void assert_run(Fixture *f, const char *path, const char *const *argv, const char *input,
                       GVariant *options, const char *result, int value, const char *out, const char *err) {
        g_auto(TlRun) r = {};
        g_autoptr(GError) error = NULL;
        g_autofree char *cmd = g_strjoinv(" ", (char **) argv);

        g_test_message("Run: %s", cmd);
        if (!tl_run(f->conn, path, argv, input, options, &r, &error))
                g_error("Run %s failed: %s", cmd, error->message);
        g_assert_cmpstr(r.result, ==, result);
        g_assert_cmpint(r.value, ==, value);
        if (out)
                g_assert_cmpstr(r.out, ==, out);
        if (err)
                g_assert_cmpstr(r.err, ==, err);
        /* Once Run has replied, nothing holds the command's output open. */
        g_assert_true(r.out_eof);
        g_assert_true(r.err_eof);
}

/* A directory, a path-only fd or a pidfd as a command's stdin is refused: the first two
 * would let the command leave its tree (fchdir, openat), the last is the client's own. */
static void run_with_bad_stdin(Fixture *f, const char *path) {
        int bad[3];

        bad[0] = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        bad[1] = open("/etc/passwd", O_PATH | O_CLOEXEC);
        bad[2] = (int) syscall(SYS_pidfd_open, getpid(), 0);
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
                g_autoptr(GVariant) reply = NULL;
                g_autoptr(GError) error = NULL;
                const char *argv[] = { "true", NULL };
                GVariantBuilder b;
                int idx;

                g_assert_cmpint(bad[i], >=, 0);
                idx = g_unix_fd_list_append(fds, bad[i], NULL);
                g_assert_cmpint(idx, >=, 0);
                close(bad[i]);
                g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
                g_variant_builder_add(&b, "{sv}", "stdin", g_variant_new_handle(idx));
                reply = tl_call_fds(f->conn, path, TL_SESSION_IFACE, "Run",
                                    g_variant_new("(^asa{sv})", (char **) argv, &b), fds, "(si)", &error);
                g_assert_null(reply);
                tl_assert_remote_error(error, "org.chrootd1.Error.InvalidArgument");
                g_assert_nonnull(strstr(error->message, "cannot be a command's standard stream"));
        }
}

static void assert_run_error(Fixture *f, const char *path, const char *const *argv, GVariant *options,
                             const char *name) {
        g_auto(TlRun) r = {};
        g_autoptr(GError) error = NULL;
        g_autofree char *cmd = g_strjoinv(" ", (char **) argv);

        g_test_message("Run: [%s], expecting %s", cmd, name);
        if (tl_run(f->conn, path, argv, NULL, options, &r, &error))
                g_error("Run [%s] succeeded (%s %d, stderr '%s'); expected %s", cmd, r.result, r.value, r.err, name);
        tl_assert_remote_error(error, name);
}

static void test_session_run(Fixture *f, gconstpointer data) {
        const char *argv[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
        const char *cat[] = { "cat", NULL };
        g_autofree char *path = NULL, *got = NULL, *want = NULL, *contract_path = NULL, *contract = NULL;
        g_autofree char *live = NULL, *diff = NULL, *root = NULL, *want_root = NULL, *busybox = NULL;
        g_autofree char *session_dir = NULL, *listing = NULL;
        g_autoptr(GVariant) v = NULL, reply = NULL;
        g_autoptr(GError) error = NULL;
        g_auto(GStrv) children = NULL;
        gint64 before, after;
        const char *node;

        if (!require_sessions(f))
                return;

        before = g_get_real_time();
        /* By its sbuild alias. */
        path = begin_session_union(f, "busybox-sbuild", "run-test", "none", NULL);
        after = g_get_real_time();
        g_assert_true(g_variant_is_object_path(path));
        g_assert_true(g_str_has_prefix(path, TL_SESSION_PATH_PREFIX "/"));

        reply = manager_call(f, "GetSession", g_variant_new("(s)", "run-test"), "(o)", &error);
        g_assert_no_error(error);
        g_variant_get(reply, "(&o)", &node);
        g_assert_cmpstr(node, ==, path);

        got = session_list(f);
        want = g_strdup_printf("([('run-test', 'busybox', 'ready', '%s')],)", path);
        g_assert_cmpstr(got, ==, want);

        /* Properties. */
        g_free(got);
        got = session_prop_string(f, path, "Id");
        g_assert_cmpstr(got, ==, "run-test");
        g_free(got);
        got = session_prop_string(f, path, "Chroot");
        g_assert_cmpstr(got, ==, "busybox");
        g_free(got);
        got = session_prop_string(f, path, "State");
        g_assert_cmpstr(got, ==, "ready");
        /* Only a host-tree session has a RootDirectory; the tree is in the session's
         * directory all the same. */
        root = session_prop_string(f, path, "RootDirectory");
        g_assert_cmpstr(root, ==, "");
        want_root = g_build_filename(f->sessions, "run-test", "root", NULL);
        busybox = g_build_filename(want_root, "bin", "busybox", NULL);
        g_assert_true(g_file_test(busybox, G_FILE_TEST_IS_EXECUTABLE));
        v = tl_get_property(f->conn, path, TL_SESSION_IFACE, "CreationTimestamp", &error);
        g_assert_no_error(error);
        g_assert_true(g_variant_is_of_type(v, G_VARIANT_TYPE_UINT64));
        g_assert_cmpuint(g_variant_get_uint64(v), >=, (guint64) before - 1000000);
        g_assert_cmpuint(g_variant_get_uint64(v), <=, (guint64) after + 1000000);
        g_clear_pointer(&v, g_variant_unref);
        v = tl_get_property(f->conn, path, TL_SESSION_IFACE, "RunningCommands", &error);
        g_assert_no_error(error);
        g_assert_cmpuint(g_variant_get_uint32(v), ==, 0);
        /* Not a booted session: no boot state, no system to reboot, no console. */
        for (const char *const *b = (const char *const[]) { "Boot", "HostNetwork", NULL }; *b; b++) {
                g_clear_pointer(&v, g_variant_unref);
                v = tl_get_property(f->conn, path, TL_SESSION_IFACE, *b, &error);
                g_assert_no_error(error);
                g_assert_true(g_variant_is_of_type(v, G_VARIANT_TYPE_BOOLEAN));
                g_assert_false(g_variant_get_boolean(v));
        }
        g_free(got);
        got = session_prop_string(f, path, "BootState");
        g_assert_cmpstr(got, ==, "");
        for (const char *const *m = (const char *const[]) { "Reboot", "OpenConsoleLog", NULL }; *m; m++) {
                g_autoptr(GVariant) r = tl_call(f->conn, path, TL_SESSION_IFACE, *m, NULL, NULL, &error);

                g_assert_null(r);
                tl_assert_remote_error(error, "org.chrootd1.Error.NotSupported");
                g_assert_nonnull(strstr(error->message, "is not a booted session"));
                g_clear_error(&error);
        }

        /* The command's streams are the fds we pass, its status the reply. */
        assert_run(f, path, argv, NULL, NULL, "exited", 3, "out\n", "err\n");
        assert_run(f, path, cat, "line one\nline two\n", NULL, "exited", 0, "line one\nline two\n", "");
        /* Without stdin it reads /dev/null. */
        assert_run(f, path, cat, NULL, NULL, "exited", 0, "", "");

        /* The session object against interfaces/org.chrootd1.Session.xml. */
        contract_path = tl_source_path("interfaces/org.chrootd1.Session.xml");
        g_file_get_contents(contract_path, &contract, NULL, &error);
        g_assert_no_error(error);
        live = tl_introspect(f->conn, TL_BUS_NAME, path, &error);
        g_assert_no_error(error);
        diff = tl_compare_interface(contract, live, TL_SESSION_IFACE);
        if (diff)
                g_error("live %s does not match %s: %s", path, contract_path, diff);
        /* And it is listed below /org/chrootd1/session. */
        g_free(live);
        live = tl_introspect(f->conn, TL_BUS_NAME, TL_SESSION_PATH_PREFIX, &error);
        g_assert_no_error(error);
        children = tl_introspect_children(live);
        g_assert_true(g_strv_contains((const char *const *) children, path + strlen(TL_SESSION_PATH_PREFIX "/")));

        /* The same name again. */
        expect_error(f, "BeginSession", g_variant_new("(ss@a{sv})", "busybox", "run-test", no_options()),
                     "org.chrootd1.Error.SessionExists", "run-test");

        end_session(f, "run-test");

        /* Gone: from the list, the bus and the disk. */
        g_free(got);
        got = session_list(f);
        g_assert_cmpstr(got, ==, "([],)");
        expect_error(f, "GetSession", g_variant_new("(s)", "run-test"), "org.chrootd1.Error.NoSuchSession", NULL);
        expect_error(f, "EndSession", g_variant_new("(s)", "run-test"), "org.chrootd1.Error.NoSuchSession", NULL);
        g_clear_pointer(&v, g_variant_unref);
        v = tl_get_property(f->conn, path, TL_SESSION_IFACE, "Id", &error);
        g_assert_null(v);
        g_assert_nonnull(error);
        tl_assert_remote_error(error, "org.freedesktop.DBus.Error.UnknownObject");
        g_clear_error(&error);
        {
                g_autoptr(GVariant) r = NULL;
                r = tl_call(f->conn, path, TL_SESSION_IFACE, "Run",
                            g_variant_new("(^as@a{sv})", (char **) argv, no_options()), "(si)", &error);
                g_assert_null(r);
                g_assert_nonnull(error);
                g_clear_error(&error);
        }
        g_free(live);
        live = tl_introspect(f->conn, TL_BUS_NAME, path, &error);
        if (live && strstr(live, TL_SESSION_IFACE))
                g_error("%s still has %s after EndSession:\n%s", path, TL_SESSION_IFACE, live);
        if (!live)
                tl_assert_remote_error(error, "org.freedesktop.DBus.Error.UnknownObject");
        g_clear_error(&error);
        session_dir = g_build_filename(f->sessions, "run-test", NULL);
        g_assert_false(g_file_test(session_dir, G_FILE_TEST_EXISTS));
        g_free(live);
        live = tl_introspect(f->conn, TL_BUS_NAME, TL_SESSION_PATH_PREFIX, &error);
        g_assert_no_error(error);
        g_strfreev(children);
        children = tl_introspect_children(live);
        listing = g_strjoinv(" ", children);
        g_assert_cmpstr(listing, ==, "");
}

static GVariant *opt(const char *key, GVariant *value) {
        GVariantBuilder b;

        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&b, "{sv}", key, value);
        return g_variant_builder_end(&b);
}

/* The default for a tarball: copy-on-write, also without a user manager. */
static void test_session_overlay(Fixture *f, gconstpointer data) {
        const char *write[] = { "sh", "-c", "echo kept >/root/marker && rm /etc/hostname", NULL };
        const char *read[] = { "sh", "-c", "cat /root/marker; test -e /etc/hostname || echo gone", NULL };
        g_autofree char *path = NULL, *other = NULL, *root = NULL, *kind = NULL;

        if (!require_sessions(f))
                return;
        path = begin_session(f, "busybox", "cow", NULL);
        kind = session_prop_string(f, path, "UnionType");
        g_assert_cmpstr(kind, ==, "overlay");
        root = session_prop_string(f, path, "RootDirectory");
        g_assert_cmpstr(root, ==, "");
        assert_run(f, path, write, NULL, NULL, "exited", 0, "", "");
        assert_run(f, path, read, NULL, NULL, "exited", 0, "kept\ngone\n", "");
        /* Another session of the same base does not see it. */
        other = begin_session(f, "busybox", "cow-other", NULL);
        assert_run(f, other, read, NULL, NULL, "exited", 0, "", "cat: can't open '/root/marker': No such file or directory\n");
}

/* end-with-caller: a session ends when the connection that began it leaves the bus
 * (as a killed client's does), and not before; a session begun without it stays. */
static void test_session_end_with_caller(Fixture *f, gconstpointer data) {
        g_autoptr(GDBusConnection) other = NULL;
        g_autoptr(GVariant) reply = NULL, bad = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree char *kept = NULL, *list = NULL;

        if (!require_sessions(f))
                return;
        bad = g_dbus_connection_call_sync(f->conn, TL_BUS_NAME, TL_MANAGER_PATH, TL_MANAGER_IFACE, "BeginSession",
                                          g_variant_new("(ss@a{sv})", "busybox", "",
                                                        opt("end-with-caller", g_variant_new_string("yes"))),
                                          G_VARIANT_TYPE("(so)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
        g_assert_null(bad);
        tl_assert_remote_error(error, "org.chrootd1.Error.InvalidArgument");
        g_clear_error(&error);

        other = g_dbus_connection_new_for_address_sync(g_test_dbus_get_bus_address(f->bus),
                                                       G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                               G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                       NULL, NULL, &error);
        g_assert_no_error(error);
        g_dbus_connection_set_exit_on_close(other, FALSE);
        reply = g_dbus_connection_call_sync(other, TL_BUS_NAME, TL_MANAGER_PATH, TL_MANAGER_IFACE, "BeginSession",
                                            g_variant_new("(ss@a{sv})", "busybox", "held",
                                                          opt("end-with-caller", g_variant_new_boolean(TRUE))),
                                            G_VARIANT_TYPE("(so)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
        g_assert_no_error(error);
        kept = begin_session(f, "busybox", "kept", NULL);
        list = session_list(f);
        g_assert_nonnull(strstr(list, "'held', 'busybox', 'ready'"));
        g_free(list);

        g_dbus_connection_close_sync(other, NULL, &error);
        g_assert_no_error(error);
        for (int i = 0; i < 300; i++) {
                list = session_list(f);
                if (!strstr(list, "'held'"))
                        break;
                g_free(list);
                list = NULL;
                g_usleep(100 * 1000);
        }
        g_assert_nonnull(list);
        g_assert_null(strstr(list, "'held'"));
        g_assert_nonnull(strstr(list, "'kept', 'busybox', 'ready'"));
        end_session(f, "kept");
}

static void test_session_run_options(Fixture *f, gconstpointer data) {
        const char *t[] = { "true", NULL };
        const char *empty[] = { NULL };
        const char *empty_arg[] = { "", NULL };
        const char *bad_set[] = { "A=1", "NOEQUALS", NULL };
        const char *set[] = { "FOO=set", "HOME=/set", NULL };
        const char *missing[] = { "/no/such/program", NULL };
        const char *id[] = { "sh", "-c", "id -u; id -g; echo $USER $LOGNAME $HOME; echo $PATH; pwd", NULL };
        const char *env[] = { "sh", "-c", "echo $FOO $USER; echo $PATH", NULL };
        const char *env_vars[] = { "FOO=bar", "USER=overridden", NULL };
        const char *killed[] = { "sh", "-c", "kill -9 $$", NULL };
        const char *host[] = { "hostname", NULL };
        g_autofree char *path = NULL;

        if (!require_sessions(f))
                return;
        path = begin_session(f, "busybox", "options", NULL);

        assert_run_error(f, path, empty_arg, NULL, "org.chrootd1.Error.InvalidArgument");
        assert_run_error(f, path, t, opt("bogus", g_variant_new_int32(1)), "org.chrootd1.Error.InvalidArgument");
        assert_run_error(f, path, t, opt("setenv", g_variant_new_strv(bad_set, -1)), "org.chrootd1.Error.InvalidArgument");
        assert_run_error(f, path, t, opt("setenv", g_variant_new_string("A=1")), "org.chrootd1.Error.InvalidArgument");
        assert_run_error(f, path, t, opt("user", g_variant_new_int32(0)), "org.chrootd1.Error.InvalidArgument");
        assert_run_error(f, path, t, opt("network", g_variant_new_string("bogus")),
                         "org.chrootd1.Error.InvalidArgument");
        assert_run_error(f, path, t, opt("directory", g_variant_new_string("relative")),
                         "org.chrootd1.Error.InvalidArgument");
        assert_run_error(f, path, t, opt("user", g_variant_new_string("nosuchuser")),
                         "org.chrootd1.Error.NoSuchUser");
        assert_run_error(f, path, t, opt("directory", g_variant_new_string("/nonexistent")),
                         "org.chrootd1.Error.NoSuchDirectory");
        assert_run_error(f, path, missing, NULL, "org.chrootd1.Error.ExecFailed");
        run_with_bad_stdin(f, path);

        /* Root by default, in "/", with a clean environment. */
        assert_run(f, path, id, NULL, NULL, "exited", 0,
                   "0\n0\nroot root /root\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n/\n", "");
        /* Another user by name and by uid, and a directory. */
        assert_run(f, path, id, NULL, opt("user", g_variant_new_string("tester")), "exited", 0,
                   "1000\n1000\ntester tester /home/tester\n/usr/local/bin:/usr/bin:/bin\n/\n", "");
        {
                GVariantBuilder b;
                g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
                g_variant_builder_add(&b, "{sv}", "user", g_variant_new_string("1000"));
                g_variant_builder_add(&b, "{sv}", "directory", g_variant_new_string("/home/tester"));
                assert_run(f, path, id, NULL, g_variant_builder_end(&b), "exited", 0,
                           "1000\n1000\ntester tester /home/tester\n/usr/local/bin:/usr/bin:/bin\n/home/tester\n", "");
        }
        /* A given environment is used as is, but for USER, LOGNAME and a missing PATH. */
        assert_run(f, path, env, NULL, opt("environment", g_variant_new_strv(env_vars, -1)), "exited", 0,
                   "bar root\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n", "");
        /* setenv comes last: over a clean environment, or a given one. */
        assert_run(f, path, env, NULL, opt("setenv", g_variant_new_strv(set, -1)), "exited", 0,
                   "set root\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n", "");
        {
                const char *home[] = { "sh", "-c", "echo $FOO $HOME", NULL };
                GVariantBuilder b;
                g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
                g_variant_builder_add(&b, "{sv}", "environment", g_variant_new_strv(env_vars, -1));
                g_variant_builder_add(&b, "{sv}", "setenv", g_variant_new_strv(set, -1));
                assert_run(f, path, home, NULL, g_variant_builder_end(&b), "exited", 0, "set /set\n", "");
                assert_run(f, path, home, NULL, opt("setenv", g_variant_new_strv(set, -1)), "exited", 0, "set /set\n", "");
        }
        /* No command: the user's login shell from the chroot's /etc/passwd, here on stdin. */
        assert_run(f, path, empty, "echo \"$0 $HOME\"\n", opt("user", g_variant_new_string("tester")), "exited", 0,
                   "/bin/sh /home/tester\n", "");
        /* Killed by a signal. */
        assert_run(f, path, killed, NULL, NULL, "killed", 9, "", "");
        /* The hostname is the chroot's name. */
        assert_run(f, path, host, NULL, NULL, "exited", 0, "busybox\n", "");

        end_session(f, "options");
}

#define TL_COMMAND_IFACE "org.chrootd1.Command"

static char *start_command(Fixture *f, const char *path, const char *const *argv, GVariant *options,
                           GUnixFDList *fds, GError **error) {
        g_autoptr(GVariant) reply = NULL;
        char *cmd = NULL;

        reply = tl_call_fds(f->conn, path, TL_SESSION_IFACE, "Start",
                            g_variant_new("(^as@a{sv})", (char **) argv, options ? options : no_options()), fds,
                            "(o)", error);
        if (reply)
                g_variant_get(reply, "(o)", &cmd);
        return cmd;
}

/* Read fd (non-blocking is not needed: poll first) until what it gave contains every
 * needle, for at most 10 s; returns what it read. */
static char *read_until(int fd, const char *const *needles) {
        GString *got = g_string_new(NULL);
        gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

        for (;;) {
                gboolean all = TRUE;
                struct pollfd p = { .fd = fd, .events = POLLIN };
                char buf[512];
                ssize_t n;

                for (const char *const *nd = needles; *nd; nd++)
                        all = all && strstr(got->str, *nd);
                if (all)
                        break;
                if (g_get_monotonic_time() > deadline)
                        g_error("the terminal said '%s', missing '%s'", got->str, needles[0]);
                if (poll(&p, 1, 100) <= 0)
                        continue;
                n = read(fd, buf, sizeof(buf));
                if (n <= 0)
                        g_error("the terminal ended (%s) after '%s'", n < 0 ? g_strerror(errno) : "EOF", got->str);
                g_string_append_len(got, buf, n);
        }
        return g_string_free(got, FALSE);
}

static void on_exited(GDBusConnection *c, const char *sender, const char *path, const char *iface,
                      const char *signal, GVariant *params, gpointer userdata) {
        char **got = userdata;

        g_free(*got);
        *got = g_variant_print(params, FALSE);
}

static void async_ready(GObject *source, GAsyncResult *res, gpointer userdata) {
        *(GAsyncResult **) userdata = g_object_ref(res);
}

/* Iterate the default main context until *got is set (a signal came), at most 10 s. */
static void wait_for_signal(char **got) {
        gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

        while (!*got && g_get_monotonic_time() < deadline)
                g_main_context_iteration(NULL, FALSE) || (g_usleep(10000), TRUE);
        g_assert_nonnull(*got);
}

static void assert_wait(GDBusConnection *c, const char *cmd, const char *result, int value) {
        g_autoptr(GVariant) reply = NULL;
        g_autoptr(GError) error = NULL;
        const char *got;
        int v;

        reply = tl_call(c, cmd, TL_COMMAND_IFACE, "Wait", NULL, "(si)", &error);
        g_assert_no_error(error);
        g_variant_get(reply, "(&si)", &got, &v);
        g_assert_cmpstr(got, ==, result);
        g_assert_cmpint(v, ==, value);
}

static char *command_prop_string(Fixture *f, const char *cmd, const char *name) {
        g_autoptr(GVariant) v = NULL;
        g_autoptr(GError) error = NULL;

        v = tl_get_property(f->conn, cmd, TL_COMMAND_IFACE, name, &error);
        g_assert_no_error(error);
        return g_variant_dup_string(v, NULL);
}

/* Start: a command with a terminal made inside, resized, answered, its status kept
 * for whoever asks (Wait), also a client other than the one that started it. */
static void test_session_start_terminal(Fixture *f, gconstpointer data) {
        const char *term[] = { "sh", "-c", "tty; stty size; read line; echo got:$line; stty size; exit 4", NULL };
        const char *t[] = { "true", NULL };
        g_autofree char *path = NULL, *cmd = NULL, *exited = NULL, *state = NULL, *out = NULL, *out2 = NULL;
        g_autoptr(GUnixFDList) fds = NULL;
        g_autoptr(GVariant) reply = NULL, v = NULL;
        g_autoptr(GError) error = NULL;
        GVariantBuilder b;
        unsigned sub;
        int master, h;

        if (!require_sessions(f))
                return;
        path = begin_session(f, "busybox", "start", NULL);

        /* A Run's caller has no way to a terminal; a terminal is the command's stdio. */
        assert_run_error(f, path, t, opt("pty", g_variant_new_boolean(TRUE)), "org.chrootd1.Error.InvalidArgument");
        g_assert_null(start_command(f, path, t, opt("pty-rows", g_variant_new_uint16(3)), NULL, &error));
        tl_assert_remote_error(error, "org.chrootd1.Error.InvalidArgument");
        g_clear_error(&error);
        {
                g_autoptr(GUnixFDList) in = g_unix_fd_list_new();
                g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
                g_variant_builder_add(&b, "{sv}", "pty", g_variant_new_boolean(TRUE));
                g_variant_builder_add(&b, "{sv}", "stdin", g_variant_new_handle(g_unix_fd_list_append(in, 0, NULL)));
                g_assert_null(start_command(f, path, t, g_variant_builder_end(&b), in, &error));
                tl_assert_remote_error(error, "org.chrootd1.Error.InvalidArgument");
                g_assert_nonnull(strstr(error->message, "'stdin' does not go with 'pty'"));
                g_clear_error(&error);
        }
        /* A command that cannot start is Start's error, and leaves nothing behind. */
        g_assert_null(start_command(f, path, t, opt("user", g_variant_new_string("nosuchuser")), NULL, &error));
        tl_assert_remote_error(error, "org.chrootd1.Error.NoSuchUser");
        g_clear_error(&error);
        v = tl_get_property(f->conn, path, TL_SESSION_IFACE, "StartedCommands", &error);
        g_assert_no_error(error);
        g_assert_cmpuint(g_variant_n_children(v), ==, 0);
        g_clear_pointer(&v, g_variant_unref);

        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&b, "{sv}", "pty", g_variant_new_boolean(TRUE));
        g_variant_builder_add(&b, "{sv}", "pty-rows", g_variant_new_uint16(30));
        g_variant_builder_add(&b, "{sv}", "pty-columns", g_variant_new_uint16(100));
        cmd = start_command(f, path, term, g_variant_builder_end(&b), NULL, &error);
        g_assert_no_error(error);
        g_assert_true(g_str_has_prefix(cmd, path));
        g_assert_true(g_str_has_suffix(cmd, "/command/2")); /* the refused one was 1 */
        sub = g_dbus_connection_signal_subscribe(f->conn, NULL, TL_COMMAND_IFACE, "Exited", cmd, NULL,
                                                 G_DBUS_SIGNAL_FLAGS_NONE, on_exited, &exited, NULL);
        state = command_prop_string(f, cmd, "State");
        g_assert_cmpstr(state, ==, "running");
        /* The object against interfaces/org.chrootd1.Command.xml, listed below its session. */
        {
                g_autofree char *contract_path = tl_source_path("interfaces/org.chrootd1.Command.xml");
                g_autofree char *contract = NULL, *live = NULL, *diff = NULL, *listing = NULL;
                g_auto(GStrv) children = NULL;

                g_file_get_contents(contract_path, &contract, NULL, &error);
                g_assert_no_error(error);
                live = tl_introspect(f->conn, TL_BUS_NAME, cmd, &error);
                g_assert_no_error(error);
                diff = tl_compare_interface(contract, live, TL_COMMAND_IFACE);
                if (diff)
                        g_error("live %s does not match %s: %s", cmd, contract_path, diff);
                g_free(live);
                live = tl_introspect(f->conn, TL_BUS_NAME, path, &error);
                g_assert_no_error(error);
                children = tl_introspect_children(live);
                listing = g_strjoinv(" ", children);
                g_assert_cmpstr(listing, ==, "command/2"); /* sd-bus names the whole relative path */
        }
        v = tl_get_property(f->conn, cmd, TL_COMMAND_IFACE, "Terminal", &error);
        g_assert_no_error(error);
        g_assert_true(g_variant_get_boolean(v));
        g_clear_pointer(&v, g_variant_unref);
        v = tl_get_property(f->conn, path, TL_SESSION_IFACE, "StartedCommands", &error);
        g_assert_no_error(error);
        g_assert_cmpuint(g_variant_n_children(v), ==, 1);
        g_clear_pointer(&v, g_variant_unref);

        reply = g_dbus_connection_call_with_unix_fd_list_sync(f->conn, TL_BUS_NAME, cmd, TL_COMMAND_IFACE,
                                                              "OpenTerminal", NULL, G_VARIANT_TYPE("(h)"),
                                                              G_DBUS_CALL_FLAGS_NONE, TL_CALL_TIMEOUT_MS, NULL, &fds,
                                                              NULL, &error);
        g_assert_no_error(error);
        g_variant_get(reply, "(h)", &h);
        master = g_unix_fd_list_get(fds, h, &error);
        g_assert_no_error(error);
        /* The session's own devpts, in the size asked for. */
        out = read_until(master, (const char *const[]) { "/dev/pts/0", "30 100", NULL });
        g_clear_pointer(&reply, g_variant_unref);
        reply = tl_call(f->conn, cmd, TL_COMMAND_IFACE, "Resize", g_variant_new("(qq)", 40, 120), "()", &error);
        g_assert_no_error(error);
        g_assert_cmpint(write(master, "hello\n", 6), ==, 6);
        out2 = read_until(master, (const char *const[]) { "got:hello", "40 120", NULL });
        assert_wait(f->conn, cmd, "exited", 4);
        wait_for_signal(&exited);
        g_assert_cmpstr(exited, ==, "('exited', 4)");
        g_dbus_connection_signal_unsubscribe(f->conn, sub);
        close(master);
        /* Read: forgotten. */
        v = tl_get_property(f->conn, cmd, TL_COMMAND_IFACE, "State", &error);
        g_assert_null(v);
        tl_assert_remote_error(error, "org.freedesktop.DBus.Error.UnknownObject");
        end_session(f, "start");
}

/* A started command's status waits for a client that went away and one that comes. */
static void test_session_start_reconnect(Fixture *f, gconstpointer data) {
        const char *later[] = { "sh", "-c", "sleep 0.5; echo done; exit 5", NULL };
        const char *sleeper[] = { "sleep", "100", NULL };
        g_autofree char *path = NULL, *cmd = NULL, *state = NULL, *result = NULL, *out = NULL;
        g_autoptr(GDBusConnection) other = NULL;
        g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
        g_autoptr(GVariant) reply = NULL, v = NULL;
        g_autoptr(GError) error = NULL;
        gboolean eof;
        int p[2];

        if (!require_sessions(f))
                return;
        path = begin_session(f, "busybox", "reconnect", NULL);
        other = g_dbus_connection_new_for_address_sync(g_test_dbus_get_bus_address(f->bus),
                                                       G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                               G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                       NULL, NULL, &error);
        g_assert_no_error(error);
        tl_pipe(p);
        reply = tl_call_fds(other, path, TL_SESSION_IFACE, "Start",
                            g_variant_new("(^as@a{sv})", (char **) later,
                                          opt("stdout", g_variant_new_handle(g_unix_fd_list_append(fds, p[1], NULL)))),
                            fds, "(o)", &error);
        g_assert_no_error(error);
        close(p[1]);
        g_clear_object(&fds); /* it holds a copy of p[1] */
        g_variant_get(reply, "(o)", &cmd);
        g_dbus_connection_close_sync(other, NULL, &error);
        g_assert_no_error(error);
        out = tl_read_all(p[0], 10000, &eof);
        close(p[0]);
        g_assert_cmpstr(out, ==, "done\n");
        g_assert_true(eof);
        /* Ended, kept until read. */
        for (int i = 0; i < 100; i++) {
                g_free(state);
                state = command_prop_string(f, cmd, "State");
                if (g_str_equal(state, "exited"))
                        break;
                g_usleep(50000);
        }
        g_assert_cmpstr(state, ==, "exited");
        result = command_prop_string(f, cmd, "Result");
        g_assert_cmpstr(result, ==, "exited");
        v = tl_get_property(f->conn, cmd, TL_COMMAND_IFACE, "ExitStatus", &error);
        g_assert_no_error(error);
        g_assert_cmpint(g_variant_get_int32(v), ==, 5);
        assert_wait(f->conn, cmd, "exited", 5);

        /* Kill: one command, by its object. */
        g_free(cmd);
        cmd = start_command(f, path, sleeper, NULL, NULL, &error);
        g_assert_no_error(error);
        g_clear_pointer(&reply, g_variant_unref);
        reply = tl_call(f->conn, cmd, TL_COMMAND_IFACE, "Kill", g_variant_new("(i)", 15), "()", &error);
        g_assert_no_error(error);
        assert_wait(f->conn, cmd, "killed", 15);
        /* A terminal it does not have. */
        g_free(cmd);
        cmd = start_command(f, path, sleeper, NULL, NULL, &error);
        g_assert_no_error(error);
        g_clear_pointer(&reply, g_variant_unref);
        reply = tl_call(f->conn, cmd, TL_COMMAND_IFACE, "Resize", g_variant_new("(qq)", 1, 1), "()", &error);
        tl_assert_remote_error(error, "org.chrootd1.Error.NotSupported");
        g_clear_error(&error);
        /* End answers a Wait still waiting. */
        {
                g_autoptr(GVariant) r = NULL;
                GAsyncResult *res = NULL;
                g_dbus_connection_call(f->conn, TL_BUS_NAME, cmd, TL_COMMAND_IFACE, "Wait", NULL, G_VARIANT_TYPE("(si)"),
                                       G_DBUS_CALL_FLAGS_NONE, TL_CALL_TIMEOUT_MS, NULL, async_ready, &res);
                end_session(f, "reconnect");
                while (!res)
                        g_main_context_iteration(NULL, TRUE);
                r = g_dbus_connection_call_finish(f->conn, res, &error);
                g_object_unref(res);
                g_assert_null(r);
                tl_assert_remote_error(error, "org.chrootd1.Error.SessionEnded");
        }
}

/* CopyIn or CopyOut of inside with fd as the stream. */
static gboolean copy_call(Fixture *f, const char *path, const char *method, const char *inside, int fd,
                          GVariant *options, GError **error) {
        g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
        g_autoptr(GVariant) reply = NULL;
        int idx = g_unix_fd_list_append(fds, fd, NULL);

        g_assert_cmpint(idx, >=, 0);
        reply = tl_call_fds(f->conn, path, TL_SESSION_IFACE, method,
                            g_variant_new("(sh@a{sv})", inside, idx, options ? options : no_options()), fds, "()",
                            error);
        return reply != NULL;
}

static char *spawn_out(const char *cmdline) {
        g_autoptr(GError) error = NULL;
        char *out = NULL;
        int status;

        g_spawn_command_line_sync(cmdline, &out, NULL, &status, &error);
        g_assert_no_error(error);
        if (!g_spawn_check_wait_status(status, &error))
                g_error("%s: %s", cmdline, error->message);
        return out;
}

static int tmp_stream(const char *dir) {
        g_autofree char *name = g_build_filename(dir, "stream.tar", NULL);
        int fd = open(name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        g_assert_cmpint(fd, >=, 0);
        return fd;
}

/* CopyIn and CopyOut: a tar stream in with owners, modes and a symlink to "/", the
 * same out again; the session's symlinks resolve inside it, /proc is out of reach,
 * and bad requests get their errors. */
static void test_session_copy(Fixture *f, gconstpointer data) {
        const char *check[] = { "sh", "-c",
                                "cd /tmp/tree && stat -c '%n %a %u:%g' file sub tool && readlink link && cat file",
                                NULL };
        const char *links[] = { "sh", "-c", "ln -s / /tmp/up && ln -s /proc /tmp/p && cat /etc/passwd", NULL };
        g_autofree char *path = NULL, *dir = NULL, *cmd = NULL, *listing = NULL, *got = NULL, *stream = NULL;
        g_auto(TlRun) r = {}, r2 = {};
        g_autoptr(GError) error = NULL;
        int fd;

        if (!require_sessions(f))
                return;
        path = begin_session(f, "busybox", "copy", NULL);
        dir = g_dir_make_tmp("test-bus-copy-XXXXXX", &error);
        g_assert_no_error(error);
        {
                g_autofree char *tree = g_build_filename(dir, "tree", NULL), *sub = g_build_filename(tree, "sub", NULL);
                g_autofree char *file = g_build_filename(tree, "file", NULL), *tool = g_build_filename(tree, "tool", NULL);
                g_autofree char *link = g_build_filename(tree, "link", NULL);

                g_assert_cmpint(g_mkdir(tree, 0755), ==, 0);
                g_assert_cmpint(g_mkdir(sub, 0700), ==, 0);
                put(tree, "file", "copied in\n");
                put(tree, "tool", "#!/bin/sh\n");
                g_assert_cmpint(chmod(file, 0640), ==, 0);
                g_assert_cmpint(chmod(tool, 0755), ==, 0);
                g_assert_cmpint(symlink("/", link), ==, 0);
        }
        cmd = g_strdup_printf("tar -C %s --owner=1234 --group=4321 --numeric-owner -cf %s/stream.tar tree", dir, dir);
        g_free(spawn_out(cmd));
        stream = g_build_filename(dir, "stream.tar", NULL);
        fd = open(stream, O_RDONLY | O_CLOEXEC);
        g_assert_cmpint(fd, >=, 0);
        g_assert_true(copy_call(f, path, "CopyIn", "/tmp", fd, NULL, &error));
        g_assert_no_error(error);
        close(fd);
        g_assert_true(tl_run(f->conn, path, check, NULL, NULL, &r, &error));
        g_assert_no_error(error);
        g_assert_cmpstr(r.out, ==, "file 640 1234:4321\nsub 700 1234:4321\ntool 755 1234:4321\n/\ncopied in\n");

        /* Out again, as it is inside. */
        fd = tmp_stream(dir);
        g_assert_true(copy_call(f, path, "CopyOut", "/tmp/tree", fd, NULL, &error));
        g_assert_no_error(error);
        close(fd);
        g_free(cmd);
        cmd = g_strdup_printf("tar --numeric-owner -tvf %s", stream);
        listing = spawn_out(cmd);
        g_test_message("%s", listing);
        g_assert_nonnull(strstr(listing, "-rw-r----- 1234/4321"));
        g_assert_nonnull(strstr(listing, " tree/file\n"));
        g_assert_nonnull(strstr(listing, " tree/link -> /\n"));
        g_assert_nonnull(strstr(listing, "drwx------ 1234/4321"));
        /* "/" is the tree's contents, without what is mounted in it. */
        fd = tmp_stream(dir);
        g_assert_true(copy_call(f, path, "CopyOut", "/", fd, NULL, &error));
        g_assert_no_error(error);
        close(fd);
        g_free(listing);
        listing = spawn_out(cmd);
        g_assert_nonnull(strstr(listing, " ./tmp/tree/file\n"));
        g_assert_nonnull(strstr(listing, " ./proc/\n"));
        g_assert_null(strstr(listing, "./proc/1/"));
        g_assert_null(strstr(listing, "./proc/self"));
        g_assert_null(strstr(listing, "./sys/kernel"));

        /* The session's symlinks lead into its own tree; /proc is not there for a copy. */
        g_assert_true(tl_run(f->conn, path, links, NULL, NULL, &r2, &error));
        g_assert_no_error(error);
        fd = tmp_stream(dir);
        g_assert_true(copy_call(f, path, "CopyOut", "/tmp/up/etc/passwd", fd, NULL, &error));
        g_assert_no_error(error);
        close(fd);
        g_free(cmd);
        cmd = g_strdup_printf("tar -xOf %s", stream);
        got = spawn_out(cmd);
        g_assert_cmpstr(got, ==, r2.out);
        for (const char *const *p = (const char *const[]) { "/tmp/p/1/environ", "/proc/self/status", "/proc/1/exe",
                                                            "/sys/kernel", NULL };
             *p; p++) {
                fd = tmp_stream(dir);
                g_assert_false(copy_call(f, path, "CopyOut", *p, fd, NULL, &error));
                close(fd);
                tl_assert_remote_error(error, "org.chrootd1.Error.NoSuchFile");
                g_clear_error(&error);
        }

        /* Errors. */
        fd = tmp_stream(dir);
        g_assert_false(copy_call(f, path, "CopyOut", "/no/such", fd, NULL, &error));
        tl_assert_remote_error(error, "org.chrootd1.Error.NoSuchFile");
        g_assert_nonnull(strstr(error->message, "/no/such"));
        g_clear_error(&error);
        g_assert_false(copy_call(f, path, "CopyOut", "tmp", fd, NULL, &error));
        tl_assert_remote_error(error, "org.chrootd1.Error.InvalidArgument");
        g_clear_error(&error);
        g_assert_false(copy_call(f, path, "CopyOut", "/tmp", fd, opt("user", g_variant_new_string("root")), &error));
        tl_assert_remote_error(error, "org.chrootd1.Error.InvalidArgument");
        g_clear_error(&error);
        close(fd);
        fd = open(stream, O_RDONLY | O_CLOEXEC);
        g_assert_false(copy_call(f, path, "CopyIn", "/no/such/dir/x", fd, NULL, &error));
        tl_assert_remote_error(error, "org.chrootd1.Error.NoSuchFile");
        g_clear_error(&error);
        close(fd);
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_assert_false(copy_call(f, path, "CopyIn", "/tmp", fd, NULL, &error));
        tl_assert_remote_error(error, "org.chrootd1.Error.InvalidArgument");
        g_clear_error(&error);
        close(fd);
        /* Garbage is no tar stream. */
        {
                int p[2];
                tl_pipe(p);
                g_assert_cmpint(write(p[1], "not a tar stream\n", 17), ==, 17);
                close(p[1]);
                g_assert_false(copy_call(f, path, "CopyIn", "/tmp", p[0], NULL, &error));
                close(p[0]);
                g_assert_nonnull(error);
                g_test_message("garbage: %s", error->message);
                g_clear_error(&error);
        }
        end_session(f, "copy");
        tl_rm_rf(dir);
}

static void test_session_restart(Fixture *f, gconstpointer data) {
        const char *write_marker[] = { "sh", "-c", "echo kept > /root/marker", NULL };
        const char *read_marker[] = { "cat", "/root/marker", NULL };
        g_autofree char *path = NULL, *got = NULL, *want = NULL, *state = NULL, *got2 = NULL;

        if (!require_sessions(f))
                return;
        path = begin_session(f, "busybox", "persist", NULL);
        assert_run(f, path, write_marker, NULL, NULL, "exited", 0, "", "");

        /* Stopped (as systemd stops it, or at idle) and started again. */
        service_stop(f, TRUE);
        state = g_build_filename(f->sessions, "persist", "state", NULL);
        g_assert_true(g_file_test(state, G_FILE_TEST_IS_REGULAR));
        service_start(f);

        got = session_list(f);
        want = g_strdup_printf("([('persist', 'busybox', 'ready', '%s')],)", path);
        g_assert_cmpstr(got, ==, want);
        got2 = session_prop_string(f, path, "State");
        g_assert_cmpstr(got2, ==, "ready");

        /* The tree is the same one: what the first service's command wrote is there. */
        assert_run(f, path, read_marker, NULL, NULL, "exited", 0, "kept\n", "");

        end_session(f, "persist");
        g_free(got);
        got = session_list(f);
        g_assert_cmpstr(got, ==, "([],)");
}

int main(int argc, char *argv[]) {
        g_autoptr(GError) error = NULL;
        int r;

        base_dir = g_dir_make_tmp("test-bus-XXXXXX", &error);
        g_assert_no_error(error);
        {
                g_autofree char *home = g_build_filename(base_dir, "t", "home", NULL);
                g_autofree char *cache = g_build_filename(base_dir, "t", "cache", NULL);
                g_autofree char *config = g_build_filename(base_dir, "t", "config", NULL);
                g_autofree char *state = g_build_filename(base_dir, "t", "state", NULL);

                g_setenv("HOME", home, TRUE);
                g_setenv("XDG_CACHE_HOME", cache, TRUE);
                g_setenv("XDG_CONFIG_HOME", config, TRUE);
                g_setenv("XDG_STATE_HOME", state, TRUE);
        }
        g_test_init(&argc, &argv, NULL);

#define ADD(name, func, mode) \
        g_test_add(name, Fixture, GINT_TO_POINTER(mode), fixture_setup, func, fixture_teardown)
        ADD("/bus/activation", test_activation, MODE_ACTIVATE);
        ADD("/bus/manager/introspection", test_introspect_manager, MODE_SPAWN);
        ADD("/bus/manager/version", test_version, MODE_SPAWN);
        ADD("/bus/manager/list-chroots", test_list_chroots, MODE_SPAWN);
        ADD("/bus/manager/list-sessions-empty", test_list_sessions_empty, MODE_SPAWN);
        ADD("/bus/manager/invalid-names", test_invalid_names, MODE_SPAWN);
        ADD("/bus/manager/no-such-chroot", test_no_such_chroot, MODE_SPAWN);
        ADD("/bus/manager/no-such-session", test_no_such_session, MODE_SPAWN);
        ADD("/bus/manager/unknown-option", test_unknown_option, MODE_SPAWN);
        ADD("/bus/manager/boot-options", test_boot_options, MODE_SPAWN);
        ADD("/bus/session/run", test_session_run, MODE_SPAWN);
        ADD("/bus/session/run-options", test_session_run_options, MODE_SPAWN);
        ADD("/bus/session/overlay", test_session_overlay, MODE_SPAWN);
        ADD("/bus/session/end-with-caller", test_session_end_with_caller, MODE_SPAWN);
        ADD("/bus/session/restart", test_session_restart, MODE_SPAWN);
        ADD("/bus/session/start-terminal", test_session_start_terminal, MODE_SPAWN);
        ADD("/bus/session/start-reconnect", test_session_start_reconnect, MODE_SPAWN);
        ADD("/bus/session/copy", test_session_copy, MODE_SPAWN);
#undef ADD
        r = g_test_run();
        (void) g_rmdir(base_dir);
        g_free(base_dir);
        return r;
}
