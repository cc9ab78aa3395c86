/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "testlib.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- watchdog ---- */

static char watchdog_test[512];

static void on_alarm(int sig) {
        static const char prefix[] = "Bail out! watchdog: test ";
        static const char suffix[] = " hung; killed\n";

        /* Only async-signal-safe calls here. */
        (void) !write(STDOUT_FILENO, prefix, sizeof(prefix) - 1);
        (void) !write(STDOUT_FILENO, watchdog_test, strlen(watchdog_test));
        (void) !write(STDOUT_FILENO, suffix, sizeof(suffix) - 1);
        signal(SIGALRM, SIG_DFL);
        raise(SIGALRM);
}

void tl_watchdog_arm(unsigned seconds) {
        const char *name = g_test_get_path();

        g_strlcpy(watchdog_test, name ? name : "(unknown)", sizeof(watchdog_test));
        signal(SIGALRM, on_alarm);
        alarm(seconds);
}

void tl_watchdog_disarm(void) {
        alarm(0);
}

/* ---- environment ---- */

const char *tl_getenv(const char *var) {
        const char *v = g_getenv(var);
        return v && *v ? v : NULL;
}

char *tl_source_path(const char *rel) {
        const char *root = tl_getenv("CHROOTD_SOURCE_ROOT");

        if (!root)
                g_error("CHROOTD_SOURCE_ROOT is not set: run the tests with meson test");
        return g_build_filename(root, rel, NULL);
}

char *tl_rootfs_file(const char *name) {
        const char *dir = tl_getenv("CHROOTD_TEST_ROOTFS");
        g_autofree char *p = NULL;

        if (!dir)
                return NULL;
        p = g_build_filename(dir, name, NULL);
        return g_file_test(p, G_FILE_TEST_EXISTS) ? g_steal_pointer(&p) : NULL;
}

/* ---- calls ---- */

GVariant *tl_call_fds(GDBusConnection *c, const char *path, const char *iface, const char *method,
                      GVariant *params, GUnixFDList *fds, const char *reply_type, GError **error) {
        return g_dbus_connection_call_with_unix_fd_list_sync(
                c, TL_BUS_NAME, path, iface, method, params, reply_type ? G_VARIANT_TYPE(reply_type) : NULL,
                G_DBUS_CALL_FLAGS_NONE, TL_CALL_TIMEOUT_MS, fds, NULL, NULL, error);
}

GVariant *tl_call(GDBusConnection *c, const char *path, const char *iface, const char *method,
                  GVariant *params, const char *reply_type, GError **error) {
        return g_dbus_connection_call_sync(c, TL_BUS_NAME, path, iface, method, params,
                                           reply_type ? G_VARIANT_TYPE(reply_type) : NULL, G_DBUS_CALL_FLAGS_NONE,
                                           TL_CALL_TIMEOUT_MS, NULL, error);
}

gboolean tl_name_has_owner(GDBusConnection *c, const char *name) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) v = NULL;
        gboolean has = FALSE;

        v = g_dbus_connection_call_sync(c, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                        "NameHasOwner", g_variant_new("(s)", name), G_VARIANT_TYPE("(b)"),
                                        G_DBUS_CALL_FLAGS_NONE, 5000, NULL, &error);
        g_assert_no_error(error);
        g_variant_get(v, "(b)", &has);
        return has;
}

gboolean tl_wait_for_name(GDBusConnection *c, const char *name, gboolean want, unsigned timeout_ms) {
        gint64 deadline = g_get_monotonic_time() + (gint64) timeout_ms * 1000;

        while (!tl_name_has_owner(c, name) == !!want) {
                if (g_get_monotonic_time() > deadline)
                        return FALSE;
                g_usleep(20 * 1000);
        }
        return TRUE;
}

GVariant *tl_get_property(GDBusConnection *c, const char *path, const char *iface, const char *name,
                          GError **error) {
        g_autoptr(GVariant) reply = NULL;
        GVariant *v = NULL;

        reply = tl_call(c, path, "org.freedesktop.DBus.Properties", "Get", g_variant_new("(ss)", iface, name), "(v)",
                        error);
        if (!reply)
                return NULL;
        g_variant_get(reply, "(v)", &v);
        return v;
}

char *tl_remote_error_name(const GError *error) {
        char *n = g_dbus_error_get_remote_error(error);
        return n ? n : g_strdup("");
}

/* ---- introspection ---- */

char *tl_introspect(GDBusConnection *c, const char *dest, const char *path, GError **error) {
        g_autoptr(GVariant) reply = NULL;
        char *xml = NULL;

        reply = g_dbus_connection_call_sync(c, dest, path, "org.freedesktop.DBus.Introspectable", "Introspect", NULL,
                                            G_VARIANT_TYPE("(s)"), G_DBUS_CALL_FLAGS_NONE, TL_CALL_TIMEOUT_MS, NULL,
                                            error);
        if (!reply)
                return NULL;
        g_variant_get(reply, "(s)", &xml);
        return xml;
}

static void append_args(GString *s, const char *dir, GDBusArgInfo **args) {
        for (GDBusArgInfo **a = args; a && *a; a++)
                g_string_append_printf(s, "%s%s%s %s", s->str[s->len - 1] == '(' ? "" : ", ", dir ? dir : "",
                                       (*a)->signature, (*a)->name ? (*a)->name : "");
}

static const char *access_string(GDBusPropertyInfoFlags f) {
        gboolean r = !!(f & G_DBUS_PROPERTY_INFO_FLAGS_READABLE), w = !!(f & G_DBUS_PROPERTY_INFO_FLAGS_WRITABLE);
        return r && w ? "readwrite" : r ? "read" : w ? "write" : "none";
}

static int cmp_strp(gconstpointer a, gconstpointer b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* One line per member, sorted: the shape of an interface without comments or
 * annotations. */
static char *normalize_interface(GDBusInterfaceInfo *i) {
        g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
        GString *all = g_string_new(NULL);

        for (GDBusMethodInfo **m = i->methods; m && *m; m++) {
                GString *s = g_string_new(NULL);
                g_string_append_printf(s, "method %s(", (*m)->name);
                append_args(s, "in ", (*m)->in_args);
                append_args(s, "out ", (*m)->out_args);
                g_string_append_c(s, ')');
                g_ptr_array_add(lines, g_string_free(s, FALSE));
        }
        for (GDBusSignalInfo **sg = i->signals; sg && *sg; sg++) {
                GString *s = g_string_new(NULL);
                g_string_append_printf(s, "signal %s(", (*sg)->name);
                append_args(s, NULL, (*sg)->args);
                g_string_append_c(s, ')');
                g_ptr_array_add(lines, g_string_free(s, FALSE));
        }
        for (GDBusPropertyInfo **p = i->properties; p && *p; p++)
                g_ptr_array_add(lines, g_strdup_printf("property %s %s %s", (*p)->name, (*p)->signature,
                                                       access_string((*p)->flags)));
        g_ptr_array_sort(lines, cmp_strp);
        for (guint k = 0; k < lines->len; k++)
                g_string_append_printf(all, "%s\n", (char *) lines->pdata[k]);
        return g_string_free(all, FALSE);
}

static char *own_interfaces(GDBusNodeInfo *n) {
        g_autoptr(GPtrArray) names = g_ptr_array_new();
        GString *s = g_string_new(NULL);

        for (GDBusInterfaceInfo **i = n->interfaces; i && *i; i++)
                if (!g_str_has_prefix((*i)->name, "org.freedesktop.DBus."))
                        g_ptr_array_add(names, (*i)->name);
        g_ptr_array_sort(names, cmp_strp);
        for (guint k = 0; k < names->len; k++)
                g_string_append_printf(s, "%s%s", k ? " " : "", (char *) names->pdata[k]);
        return g_string_free(s, FALSE);
}

char *tl_compare_interface(const char *contract_xml, const char *live_xml, const char *iface) {
        g_autoptr(GDBusNodeInfo) contract = NULL, live = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree char *contract_ifaces = NULL, *live_ifaces = NULL, *want = NULL, *got = NULL;
        GDBusInterfaceInfo *ci, *li;

        contract = g_dbus_node_info_new_for_xml(contract_xml, &error);
        if (!contract)
                return g_strdup_printf("the contract does not parse: %s", error->message);
        live = g_dbus_node_info_new_for_xml(live_xml, &error);
        if (!live)
                return g_strdup_printf("the live introspection does not parse: %s\n%s", error->message, live_xml);

        contract_ifaces = own_interfaces(contract);
        live_ifaces = own_interfaces(live);
        if (!g_str_equal(contract_ifaces, live_ifaces))
                return g_strdup_printf("interfaces differ: contract [%s], live [%s]", contract_ifaces, live_ifaces);
        ci = g_dbus_node_info_lookup_interface(contract, iface);
        li = g_dbus_node_info_lookup_interface(live, iface);
        if (!ci)
                return g_strdup_printf("the contract has no interface %s", iface);
        if (!li)
                return g_strdup_printf("the live object has no interface %s:\n%s", iface, live_xml);
        want = normalize_interface(ci);
        got = normalize_interface(li);
        if (!g_str_equal(want, got))
                return g_strdup_printf("%s differs.\ncontract:\n%slive:\n%s", iface, want, got);
        return NULL;
}

GStrv tl_introspect_children(const char *xml) {
        g_autoptr(GDBusNodeInfo) n = g_dbus_node_info_new_for_xml(xml, NULL);
        g_autoptr(GStrvBuilder) b = g_strv_builder_new();

        g_assert_nonnull(n);
        for (GDBusNodeInfo **c = n->nodes; c && *c; c++)
                g_strv_builder_add(b, (*c)->path);
        return g_strv_builder_end(b);
}

/* ---- subordinate ids ---- */

/* A line "NAME_OR_UID:START:COUNT" for the user with COUNT >= 65536. */
static gboolean find_range(const char *file, const char *user, uid_t uid, guint64 *ret_start, char **ret_reason) {
        g_autofree char *text = NULL, *uid_s = g_strdup_printf("%u", (unsigned) uid);
        g_autoptr(GError) error = NULL;
        g_auto(GStrv) lines = NULL;

        if (!g_file_get_contents(file, &text, NULL, &error)) {
                *ret_reason = g_strdup_printf("cannot read %s: %s", file, error->message);
                return FALSE;
        }
        lines = g_strsplit(text, "\n", -1);
        for (char **l = lines; *l; l++) {
                g_auto(GStrv) f = g_strsplit(g_strstrip(*l), ":", -1);
                guint64 start, count;

                if (g_strv_length(f) != 3 || (!g_str_equal(f[0], user) && !g_str_equal(f[0], uid_s)))
                        continue;
                if (!g_ascii_string_to_unsigned(f[1], 10, 0, G_MAXUINT32, &start, NULL) ||
                    !g_ascii_string_to_unsigned(f[2], 10, 0, G_MAXUINT32, &count, NULL) || count < 65536)
                        continue;
                *ret_start = start;
                return TRUE;
        }
        *ret_reason = g_strdup_printf("user %s (uid %u) has no range of 65536 ids in %s", user, (unsigned) uid, file);
        return FALSE;
}

/* Run newuidmap or newgidmap on a process in a fresh user namespace, mapping as the
 * service does: 0 to ourselves, 1..65536 to the subordinate range. */
static gboolean try_map(const char *tool, pid_t pid, unsigned self, guint64 start, char **ret_reason) {
        g_autofree char *pid_s = g_strdup_printf("%d", (int) pid), *self_s = g_strdup_printf("%u", self);
        g_autofree char *start_s = g_strdup_printf("%" G_GUINT64_FORMAT, start);
        g_autofree char *out = NULL, *err = NULL;
        g_autoptr(GError) error = NULL;
        const char *argv[] = { tool, pid_s, "0", self_s, "1", "1", start_s, "65536", NULL };
        int status = 0;

        if (!g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status, &error)) {
                *ret_reason = g_strdup_printf("cannot run %s: %s", tool, error->message);
                return FALSE;
        }
        if (!g_spawn_check_wait_status(status, &error)) {
                *ret_reason = g_strdup_printf("%s %s 0 %s 1 1 %s 65536 failed (%s): %s", tool, pid_s, self_s, start_s,
                                              error->message, g_strstrip(err));
                return FALSE;
        }
        return TRUE;
}

gboolean tl_have_subids(char **ret_reason) {
        struct passwd *pw = getpwuid(getuid());
        g_autofree char *user = g_strdup(pw ? pw->pw_name : "?");
        guint64 ustart = 0, gstart = 0;
        int ready[2], go[2];
        gboolean ok;
        char c;
        pid_t pid;

        if (!find_range("/etc/subuid", user, getuid(), &ustart, ret_reason) ||
            !find_range("/etc/subgid", user, getuid(), &gstart, ret_reason))
                return FALSE;

        /* A child in a new user namespace waits while we map it. Only async-signal-safe
         * calls in the child: this process may have threads. */
        g_assert_cmpint(pipe2(ready, O_CLOEXEC), ==, 0);
        g_assert_cmpint(pipe2(go, O_CLOEXEC), ==, 0);
        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                char r;

                /* Our copy of the write end would keep the read below from ever
                 * seeing EOF. */
                close(go[1]);
                close(ready[0]);
                r = unshare(CLONE_NEWUSER) < 0 ? 'E' : 'R';
                (void) !write(ready[1], &r, 1);
                (void) !read(go[0], &r, 1);
                _exit(0);
        }
        close(ready[1]);
        close(go[0]);
        if (read(ready[0], &c, 1) != 1 || c != 'R') {
                *ret_reason = g_strdup("cannot make a user namespace (unshare(CLONE_NEWUSER) failed)");
                ok = FALSE;
        } else
                ok = try_map("newuidmap", pid, (unsigned) getuid(), ustart, ret_reason) &&
                     try_map("newgidmap", pid, (unsigned) getgid(), gstart, ret_reason);
        close(go[1]);
        close(ready[0]);
        (void) waitpid(pid, NULL, 0);
        return ok;
}

/* ---- files and pipes ---- */

void tl_pipe(int p[2]) {
        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
}

char *tl_read_all(int fd, unsigned timeout_ms, gboolean *ret_eof) {
        gint64 deadline = g_get_monotonic_time() + (gint64) timeout_ms * 1000;
        GString *s = g_string_new(NULL);

        *ret_eof = FALSE;
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                gint64 left = (deadline - g_get_monotonic_time()) / 1000;
                char buf[4096];
                ssize_t n;
                int k;

                if (left <= 0)
                        break;
                k = poll(&p, 1, (int) left);
                if (k < 0 && errno == EINTR)
                        continue;
                g_assert_cmpint(k, >=, 0);
                if (k == 0)
                        break;
                n = read(fd, buf, sizeof(buf));
                if (n < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                g_assert_cmpint(n, >=, 0);
                if (n == 0) {
                        *ret_eof = TRUE;
                        break;
                }
                g_string_append_len(s, buf, n);
        }
        return g_string_free(s, FALSE);
}

gboolean tl_copy_file(const char *from, const char *to, GError **error) {
        g_autoptr(GFile) src = g_file_new_for_path(from);
        g_autoptr(GFile) dst = g_file_new_for_path(to);

        return g_file_copy(src, dst, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, error);
}

void tl_rm_rf(const char *path) {
        const char *argv[] = { "rm", "-rf", "--one-file-system", "--", path, NULL };
        const char *chmod_argv[] = { "chmod", "-R", "u+rwX", "--", path, NULL };
        g_autofree char *err = NULL;
        int status = 0;

        /* Directories left without permissions must be opened up first. */
        (void) g_spawn_sync(NULL, (char **) chmod_argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
                            G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, NULL, NULL);
        if (!g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                          NULL, &err, &status, NULL) ||
            !g_spawn_check_wait_status(status, NULL))
                g_test_message("could not remove all of %s: %s", path, err ? err : "");
}

/* ---- Run ---- */

void tl_run_clear(TlRun *r) {
        g_free(r->result);
        g_free(r->out);
        g_free(r->err);
        *r = (TlRun) {};
}

gboolean tl_run(GDBusConnection *c, const char *session_path, const char *const *argv, const char *input,
                GVariant *options, TlRun *ret, GError **error) {
        g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
        g_autoptr(GVariant) reply = NULL;
        g_autoptr(GVariant) opts = options ? g_variant_ref_sink(options) : NULL;
        GVariantBuilder b;
        int out[2], err[2], in[2] = { -1, -1 };
        int idx;

        tl_pipe(out);
        tl_pipe(err);
        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        if (input) {
                size_t len = strlen(input);

                g_assert_cmpuint(len, <, 65536);
                tl_pipe(in);
                g_assert_cmpint(write(in[1], input, len), ==, (ssize_t) len);
                close(in[1]);
                idx = g_unix_fd_list_append(fds, in[0], NULL);
                g_assert_cmpint(idx, >=, 0);
                close(in[0]);
                g_variant_builder_add(&b, "{sv}", "stdin", g_variant_new_handle(idx));
        }
        idx = g_unix_fd_list_append(fds, out[1], NULL);
        g_assert_cmpint(idx, >=, 0);
        g_variant_builder_add(&b, "{sv}", "stdout", g_variant_new_handle(idx));
        idx = g_unix_fd_list_append(fds, err[1], NULL);
        g_assert_cmpint(idx, >=, 0);
        g_variant_builder_add(&b, "{sv}", "stderr", g_variant_new_handle(idx));
        /* Only the copies in the message (and then the service's) keep the write ends
         * open: EOF on our side means everyone let go of them. */
        close(out[1]);
        close(err[1]);
        if (opts) {
                GVariantIter it;
                const char *k;
                GVariant *v;

                g_variant_iter_init(&it, opts);
                while (g_variant_iter_next(&it, "{&sv}", &k, &v)) {
                        g_variant_builder_add(&b, "{sv}", k, v);
                        g_variant_unref(v);
                }
        }

        reply = tl_call_fds(c, session_path, TL_SESSION_IFACE, "Run",
                            g_variant_new("(^asa{sv})", (char **) argv, &b), fds, "(si)", error);
        g_clear_object(&fds);
        if (!reply) {
                close(out[0]);
                close(err[0]);
                return FALSE;
        }
        *ret = (TlRun) {};
        g_variant_get(reply, "(si)", &ret->result, &ret->value);
        ret->out = tl_read_all(out[0], 10000, &ret->out_eof);
        ret->err = tl_read_all(err[0], 10000, &ret->err_eof);
        close(out[0]);
        close(err[0]);
        return TRUE;
}
