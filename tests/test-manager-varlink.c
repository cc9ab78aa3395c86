/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The varlink front end's pieces that need no socket: the interface as C defines it
 * against its contract file, the core's objects in JSON (manager-varlink-json.h), and
 * the parameter dispatchers' null / [] / 0 distinctions. */
#include "config.h"

#include <glib.h>
#include <stdio.h>

#if HAVE_VARLINK
#include "manager-varlink-idl.h"
#include "manager-varlink-json.h"
#include "session.h"

#include <systemd/sd-varlink-idl.h>

/* The text sd-varlink serves as GetInterfaceDescription is the contract file, less its
 * SPDX line: the file cannot drift from the C definition unnoticed. */
static void test_interface_is_contract(void) {
        const char *root = g_getenv("CHROOTD_SOURCE_ROOT");
        g_autofree char *path = NULL, *contract = NULL;
        char *text = NULL;
        const char *body;

        if (!root) {
                g_test_skip("CHROOTD_SOURCE_ROOT is not set (run by meson)");
                return;
        }
        path = g_build_filename(root, "interfaces", "org.chrootd.Manager.varlink", NULL);
        g_assert_true(g_file_get_contents(path, &contract, NULL, NULL));
        body = contract;
        if (g_str_has_prefix(body, "# SPDX-License-Identifier:"))
                body = strchr(body, '\n') + 1;
        g_assert_cmpint(sd_varlink_idl_format(&vl_interface_org_chrootd_Manager, &text), >=, 0);
        g_assert_cmpstr(text, ==, body);
        free(text);
}

static char *format(sd_json_variant *v) {
        char *s = NULL;

        g_assert_cmpint(sd_json_variant_format(v, 0, &s), >=, 0);
        return s;
}

static void test_chroot(void) {
        char *aliases[] = { "bookworm-amd64-sbuild", NULL };
        Chroot ch = {
                .name = "bookworm-amd64",
                .type = CHROOT_FILE,
                .path = "/home/u/.cache/sbuild/bookworm-amd64.tar.zst",
                .description = "",
                .aliases = aliases,
        };
        sd_json_variant *v = NULL;
        char *s;

        g_assert_cmpint(vl_build_chroot(&ch, &v), >=, 0);
        s = format(v);
        g_assert_cmpstr(s, ==,
                        "{\"name\":\"bookworm-amd64\",\"type\":\"file\","
                        "\"path\":\"/home/u/.cache/sbuild/bookworm-amd64.tar.zst\",\"description\":\"\","
                        "\"aliases\":[\"bookworm-amd64-sbuild\"]}");
        free(s);
        sd_json_variant_unref(v);
}

/* A session as the core holds it, without a process or a file behind it. */
static void test_session(void) {
        char *argv[] = { "make", "check", NULL };
        Manager m = {};
        Session s = {
                .manager = &m,
                .rec = {
                        .id = "s1",
                        .chroot = "bookworm-amd64",
                        .state = SESSION_READY,
                        .created_usec = 1700000000000000,
                        .limits = { .tasks_max = 64 },
                        .base = "0123456789abcdef",
                        .host_tree = true,
                },
                .dir = "/state/sessions/s1",
                .tree = "/state/sessions/s1/root",
                .slice = "chrootd-s1.slice",
                .progress_fd = -EBADF,
        };
        Run run = { .session = &s, .pid = 42, .unit = "chrootd-run-s1-42.scope", .argv = argv, .started_usec = 5 };
        sd_json_variant *v = NULL;
        char *text;

        s.runs = &run;
        s.n_runs = 1;
        g_assert_cmpint(vl_build_session(&s, &v), >=, 0);
        /* How a real is spelled is sd-json's business. */
        g_assert_cmpfloat(sd_json_variant_real(sd_json_variant_by_key(v, "progress")), ==, 1.0);
        g_assert_cmpint(sd_json_variant_filter(&v, (char *[]) { "progress", NULL }), ==, 1);
        text = format(v);
        /* No usage without a slices cgroup (no user manager): those fields are absent,
         * not UINT64_MAX. A ready host-tree overlay session's tree is its tree link. */
        g_assert_cmpstr(text, ==,
                        "{\"id\":\"s1\",\"chroot\":\"bookworm-amd64\",\"state\":\"ready\","
                        "\"creationTimestamp\":1700000000000000,\"unionType\":\"overlay\","
                        "\"writeBack\":false,\"packageCache\":false,\"boot\":false,\"hostNetwork\":false,"
                        "\"rootDirectory\":\"/state/sessions/s1/tree\","
                        "\"slice\":\"chrootd-s1.slice\",\"memoryMax\":0,\"tasksMax\":64,\"cpuWeight\":0,"
                        "\"runningCommands\":1,\"commands\":[{\"argv\":[\"make\",\"check\"],\"pid\":42,"
                        "\"unit\":\"chrootd-run-s1-42.scope\",\"startedUSec\":5}]}");
        free(text);
        sd_json_variant_unref(v);

        /* Preparing, no host tree, no commands, no unit. */
        s.rec.state = SESSION_PREPARING;
        s.runs = NULL;
        s.n_runs = 0;
        v = NULL;
        g_assert_cmpint(vl_build_session(&s, &v), >=, 0);
        g_assert_null(sd_json_variant_by_key(v, "rootDirectory"));
        g_assert_cmpstr(sd_json_variant_string(sd_json_variant_by_key(v, "state")), ==, "preparing");
        g_assert_cmpuint(sd_json_variant_elements(sd_json_variant_by_key(v, "commands")), ==, 0);
        /* Not booted: no bootState at all (D-Bus says ""). */
        g_assert_null(sd_json_variant_by_key(v, "bootState"));
        sd_json_variant_unref(v);

        /* Booted, with the host's network: its system's state, as the core tells it. */
        s.rec.boot = true;
        s.rec.host_network = true;
        v = NULL;
        g_assert_cmpint(vl_build_session(&s, &v), >=, 0);
        g_assert_true(sd_json_variant_boolean(sd_json_variant_by_key(v, "boot")));
        g_assert_true(sd_json_variant_boolean(sd_json_variant_by_key(v, "hostNetwork")));
        g_assert_cmpstr(sd_json_variant_string(sd_json_variant_by_key(v, "bootState")), ==, session_boot_state(&s));
        g_assert_cmpstr(session_boot_state(&s), !=, "");
        sd_json_variant_unref(v);
}

typedef struct Params {
        OptU64 n;
        bool b;
        char **l;
} Params;

static int dispatch_json(const char *json, Params *p) {
        static const sd_json_dispatch_field table[] = {
                { "n", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_opt_u64, offsetof(Params, n), 0 },
                { "b", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_opt_bool, offsetof(Params, b), 0 },
                { "l", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_list, offsetof(Params, l), 0 },
                {}
        };
        sd_json_variant *v = NULL;
        int r;

        g_assert_cmpint(sd_json_parse(json, 0, &v, NULL, NULL), >=, 0);
        r = sd_json_dispatch(v, table, 0, p);
        sd_json_variant_unref(v);
        return r;
}

static void test_dispatch(void) {
        Params p = {};

        /* Absent and null are "not given"; 0, false and [] are given. */
        g_assert_cmpint(dispatch_json("{}", &p), >=, 0);
        g_assert_false(p.n.set);
        g_assert_null(p.l);
        g_assert_cmpint(dispatch_json("{\"n\":null,\"b\":null,\"l\":null}", &p), >=, 0);
        g_assert_false(p.n.set);
        g_assert_false(p.b);
        g_assert_null(p.l);
        g_assert_cmpint(dispatch_json("{\"n\":0,\"b\":true,\"l\":[]}", &p), >=, 0);
        g_assert_true(p.n.set);
        g_assert_cmpuint(p.n.value, ==, 0);
        g_assert_true(p.b);
        g_assert_nonnull(p.l); /* an empty environment, not a clean one */
        g_assert_null(p.l[0]);
        strv_free(p.l);
        p = (Params) {};
        g_assert_cmpint(dispatch_json("{\"n\":18446744073709551615,\"l\":[\"A=1\",\"B=2\"]}", &p), >=, 0);
        g_assert_cmpuint(p.n.value, ==, UINT64_MAX);
        g_assert_cmpuint(strv_length(p.l), ==, 2);
        g_assert_cmpstr(p.l[1], ==, "B=2");
        strv_free(p.l);
        p = (Params) {};
        g_assert_cmpint(dispatch_json("{\"n\":-1}", &p), <, 0);
        /* A key twice is refused (the front end answers InvalidArgument for it). */
        g_assert_cmpint(dispatch_json("{\"b\":true,\"b\":false}", &p), ==, -ENOTUNIQ);
}

static void test_limits(void) {
        OptU64 opt[3] = { { 1 << 20, true }, {}, { 100, true } };
        Limits l;
        Error e = ERROR_NULL;

        g_assert_cmpint(vl_read_limits(opt, &l, &e), ==, 0);
        g_assert_cmpuint(l.memory_max, ==, 1 << 20);
        g_assert_cmpuint(l.tasks_max, ==, 0);
        g_assert_cmpuint(l.cpu_weight, ==, 100);
        /* Given as 0 is refused, by the core's check, in D-Bus's words. */
        opt[1] = (OptU64) { 0, true };
        g_assert_cmpint(vl_read_limits(opt, &l, &e), <, 0);
        g_assert_cmpuint(e.kind, ==, ERROR_INVALID_ARGUMENT);
        g_assert_nonnull(strstr(e.message, "Option 'tasks-max' out of range: 0"));
        error_done(&e);
}
#endif

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
#if HAVE_VARLINK
        g_test_add_func("/manager-varlink/interface-is-contract", test_interface_is_contract);
        g_test_add_func("/manager-varlink/chroot", test_chroot);
        g_test_add_func("/manager-varlink/session", test_session);
        g_test_add_func("/manager-varlink/dispatch", test_dispatch);
        g_test_add_func("/manager-varlink/limits", test_limits);
#else
        printf("1..0 # SKIP chrootd was built without varlink (libsystemd < 257)\n");
        return 0;
#endif
        return g_test_run();
}
