/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers shared by the GDBus test programs (test-bus.c on a private bus,
 * test-gdbus-client.c on the real user bus). Only GLib and GIO: these tests are
 * clients like any other and know nothing of the service's internals. */

#include <gio/gio.h>
#include <gio/gunixfdlist.h>

#define TL_BUS_NAME "org.chrootd1"
#define TL_MANAGER_PATH "/org/chrootd1"
#define TL_MANAGER_IFACE "org.chrootd1.Manager"
#define TL_SESSION_IFACE "org.chrootd1.Session"
#define TL_SESSION_PATH_PREFIX "/org/chrootd1/session"
/* Begin unpacks a tarball, End removes a tree: generous, the watchdog is the real limit. */
#define TL_CALL_TIMEOUT_MS (120 * 1000)

/* The watchdog: if a test hangs (a reply that never comes, a read that never ends),
 * SIGALRM prints which test and kills the program instead of waiting for meson's
 * timeout. Arm it at the start of every test, disarm it at the end. */
void tl_watchdog_arm(unsigned seconds);
void tl_watchdog_disarm(void);

/* $var, or NULL when unset or empty. */
const char *tl_getenv(const char *var);
/* $CHROOTD_SOURCE_ROOT/rel (falls back to the source tree this was built from). */
char *tl_source_path(const char *rel);
/* $CHROOTD_TEST_ROOTFS/name if that exists, else NULL. */
char *tl_rootfs_file(const char *name);

/* A method call that returns the reply (checked against reply_type, may be NULL), or
 * NULL with *error set. params is consumed when floating. */
GVariant *tl_call(GDBusConnection *c, const char *path, const char *iface, const char *method,
                  GVariant *params, const char *reply_type, GError **error);
/* The same with file descriptors to pass. */
GVariant *tl_call_fds(GDBusConnection *c, const char *path, const char *iface, const char *method,
                      GVariant *params, GUnixFDList *fds, const char *reply_type, GError **error);
/* Calls on the bus daemon itself. */
gboolean tl_name_has_owner(GDBusConnection *c, const char *name);
/* Poll until name has (want = TRUE) or has no owner; FALSE on timeout. */
gboolean tl_wait_for_name(GDBusConnection *c, const char *name, gboolean want, unsigned timeout_ms);
/* A property of an object of the service, or NULL with *error. */
GVariant *tl_get_property(GDBusConnection *c, const char *path, const char *iface, const char *name,
                          GError **error);

/* The D-Bus error name carried by error ("" when it is not a remote error). */
char *tl_remote_error_name(const GError *error);
/* Assert that error is the remote error name, printing the message otherwise. */
#define tl_assert_remote_error(error, name)                                                     \
        G_STMT_START {                                                                          \
                const GError *e_ = (error);                                                     \
                g_autofree char *n_ = NULL;                                                     \
                if (!e_)                                                                        \
                        g_error("%s:%d: expected the error %s, the call succeeded", __FILE__,  \
                                __LINE__, (name));                                              \
                n_ = tl_remote_error_name(e_);                                                  \
                if (g_strcmp0(n_, (name)) != 0)                                                 \
                        g_error("%s:%d: expected the error %s, got %s: %s", __FILE__, __LINE__, \
                                (name), n_, e_->message);                                        \
        } G_STMT_END

/* Introspection, compared with the contract: the members of iface in both (methods
 * with their arguments' names, signatures and directions, signals, properties with
 * signature and access; no annotations or comments), and the set of interfaces other
 * than the standard org.freedesktop.DBus.* ones. Returns NULL when they agree, else a
 * description of the difference. */
char *tl_introspect(GDBusConnection *c, const char *dest, const char *path, GError **error);
char *tl_compare_interface(const char *contract_xml, const char *live_xml, const char *iface);
/* The child node names of an introspected object. */
GStrv tl_introspect_children(const char *xml);

/* Whether the user running the tests can run sessions: a range of 65536 ids in both
 * /etc/subuid and /etc/subgid, and newuidmap/newgidmap that accept it. FALSE with
 * the reason otherwise. */
gboolean tl_have_subids(char **ret_reason);

/* Pipes, reads and copies. */
void tl_pipe(int p[2]);
/* Read fd until EOF, for at most timeout_ms. *ret_eof tells whether EOF came. */
char *tl_read_all(int fd, unsigned timeout_ms, gboolean *ret_eof);
gboolean tl_copy_file(const char *from, const char *to, GError **error);
/* rm -rf, best effort (trees made by sessions belong to subordinate ids). */
void tl_rm_rf(const char *path);

/* Run argv in the session at session_path with stdout and stderr captured through
 * pipes and stdin fed from input (or /dev/null when input is NULL). options (a{sv},
 * floating, may be NULL) adds Run options. The output must fit in a pipe (64 KiB):
 * it is read after the reply. Returns FALSE with *error when Run fails. */
typedef struct TlRun {
        char *result; /* "exited" or "killed" */
        int value;
        char *out;
        char *err;
        gboolean out_eof, err_eof; /* whether the pipes were closed by everyone */
} TlRun;
void tl_run_clear(TlRun *r);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(TlRun, tl_run_clear)
gboolean tl_run(GDBusConnection *c, const char *session_path, const char *const *argv, const char *input,
                GVariant *options, TlRun *ret, GError **error);
