/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "manager-dbus.h"
#include "systemd.h"
#include "config.h"
#include "errors.h"
#include "names.h"
#include "session-dbus.h"
#include "session.h"
#include "util.h"

static int check_name(const char *name, const char *what, sd_bus_error *error) {
        if (!name_is_valid(name))
                return sd_bus_error_setf(error, CHROOTD_ERROR_INVALID_NAME,
                                         "Invalid %s name '%.200s': names start with a letter or digit, continue with "
                                         "letters, digits, '-', '.' or '_', and have at most %d characters",
                                         what, name, NAME_MAX_LEN);
        return 0;
}

/* Read a session id argument and find the session. */
static int read_session(sd_bus_message *m, Manager *mgr, Session **ret, sd_bus_error *error) {
        const char *id;
        int r;

        r = sd_bus_message_read(m, "s", &id);
        if (r < 0)
                return r;
        r = check_name(id, "session", error);
        if (r < 0)
                return r;
        *ret = manager_get_session(mgr, id);
        if (!*ret)
                return sd_bus_error_setf(error, CHROOTD_ERROR_NO_SUCH_SESSION, "No session '%s'", id);
        return 0;
}

static int method_list_chroots(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(catalog_freep) Catalog *c = NULL;
        Manager *mgr = userdata;
        int r;

        r = manager_load_catalog(mgr, &c);
        if (r < 0)
                return r;
        for (char **w = c->warnings; w && *w; w++)
                log_warning("%s", *w);

        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssssas)");
        for (size_t i = 0; r >= 0 && i < c->n; i++) {
                const Chroot *ch = c->chroots[i];
                r = sd_bus_message_open_container(reply, 'r', "ssssas");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "ssss", ch->name, chroot_type_to_string(ch->type), ch->path,
                                                  ch->description);
                if (r >= 0)
                        r = sd_bus_message_append_strv(reply, ch->aliases);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_list_sessions(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *mgr = userdata;
        int r;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssso)");
        for (Session *s = mgr->sessions; r >= 0 && s; s = s->next)
                r = sd_bus_message_append(reply, "(ssso)", s->rec.id, s->rec.chroot,
                                          session_state_to_string(s->rec.state), s->object_path);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_begin_session(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(catalog_freep) Catalog *c = NULL;
        _cleanup_free_ char *generated = NULL, *error_message = NULL;
        const char *chroot_name, *name, *id, *error_name = NULL;
        const Chroot *chroot;
        _cleanup_(begin_flags_done) BeginFlags flags = {};
        Limits limits;
        Manager *mgr = userdata;
        Session *s;
        int r;

        r = sd_bus_message_read(m, "ss", &chroot_name, &name);
        if (r < 0)
                return r;
        r = bus_read_limits(m, &limits, &flags, error);
        if (r < 0)
                return r;
        r = check_name(chroot_name, "chroot", error);
        if (r < 0)
                return r;
        if (*name) {
                r = check_name(name, "session", error);
                if (r < 0)
                        return r;
        }

        r = manager_load_catalog(mgr, &c);
        if (r < 0)
                return r;
        chroot = catalog_find(c, chroot_name);
        if (!chroot)
                return sd_bus_error_setf(error, CHROOTD_ERROR_NO_SUCH_CHROOT,
                                         "No chroot '%s': none in %s or %s has that name or alias", chroot_name,
                                         mgr->paths.sbuild_dir, mgr->paths.confd_dir);

        if (*name)
                id = name;
        else {
                r = session_id_generate(chroot->name, &generated);
                if (r < 0)
                        return sd_bus_error_setf(error, CHROOTD_ERROR_INVALID_NAME,
                                                 "Cannot make a session id from chroot name '%s': %s", chroot->name,
                                                 strerror(-r));
                id = generated;
        }
        if (manager_get_session(mgr, id))
                return sd_bus_error_setf(error, CHROOTD_ERROR_SESSION_EXISTS, "Session '%s' already exists", id);
        if (manager_n_sessions(mgr) >= MANAGER_SESSIONS_MAX)
                return sd_bus_error_setf(error, CHROOTD_ERROR_LIMIT_EXCEEDED,
                                         "There are already %d sessions: end some first", MANAGER_SESSIONS_MAX);

        r = session_begin(mgr, chroot, id, &limits, &flags, m, &s, &error_name, &error_message);
        if (r < 0)
                return sd_bus_error_setf(error, error_name ? error_name : CHROOTD_ERROR_FAILED, "%s",
                                         error_message ? error_message : strerror(-r));
        return 1; /* replied when the session is ready */
}

static int method_end_session(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Session *s;
        int r;

        r = read_session(m, userdata, &s, error);
        if (r < 0)
                return r;
        return bus_session_end(s, m, error);
}

static int method_get_session(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Session *s;
        int r;

        r = read_session(m, userdata, &s, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, "o", s->object_path);
}

static int method_collect_garbage(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **removed = NULL;
        Manager *mgr = userdata;
        int r;

        r = manager_collect_bases(mgr, true, &removed);
        if (r < 0)
                return sd_bus_error_setf(error, CHROOTD_ERROR_FAILED, "Cannot list %s: %s", mgr->paths.bases_dir,
                                         strerror(-r));
        (void) systemd_stop_stale(mgr->systemd, manager_unit_in_use, mgr);
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_append_strv(reply, removed);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        return r;
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", VERSION);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("ListChroots",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(ssssas)", chroots),
                                method_list_chroots, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListSessions",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(ssso)", sessions),
                                method_list_sessions, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("BeginSession",
                                SD_BUS_ARGS("s", chroot, "s", name, "a{sv}", options),
                                SD_BUS_RESULT("s", id, "o", session),
                                method_begin_session, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("EndSession",
                                SD_BUS_ARGS("s", id),
                                SD_BUS_NO_RESULT,
                                method_end_session, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetSession",
                                SD_BUS_ARGS("s", id),
                                SD_BUS_RESULT("o", session),
                                method_get_session, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CollectGarbage",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("as", removed),
                                method_collect_garbage, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("SessionNew", SD_BUS_ARGS("s", id, "s", chroot, "o", session), 0),
        SD_BUS_SIGNAL_WITH_ARGS("SessionRemoved", SD_BUS_ARGS("s", id, "o", session), 0),
        SD_BUS_VTABLE_END
};

/* Senders already found to be our own uid. A bus never reuses a unique name, so a
 * name once checked stays right; the ring only bounds the memory. This saves a round
 * trip to the bus daemon on every call after a client's first (docs/performance.md). */
static bool caller_known(Manager *mgr, const char *sender) {
        for (unsigned i = 0; sender && i < MANAGER_CALLER_CACHE; i++)
                if (mgr->callers[i] && streq(mgr->callers[i], sender))
                        return true;
        return false;
}

static void caller_remember(Manager *mgr, const char *sender) {
        char *copy = strdup(sender);

        if (!copy)
                return;
        free(mgr->callers[mgr->callers_next]);
        mgr->callers[mgr->callers_next] = copy;
        mgr->callers_next = (mgr->callers_next + 1) % MANAGER_CALLER_CACHE;
}

/* Every method call to our objects, Properties included, passes this check first: only
 * the service's own uid is served. Introspection and Peer stay open: the contract is
 * public. */
static int filter_caller(sd_bus_message *m, void *userdata, sd_bus_error *unused) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_creds *creds = NULL;
        const char *path, *iface;
        uid_t uid;
        int r;

        if (!sd_bus_message_is_method_call(m, NULL, NULL))
                return 0;
        path = sd_bus_message_get_path(m);
        iface = sd_bus_message_get_interface(m);
        if (!path || !(streq(path, CHROOTD_MANAGER_PATH) || startswith(path, CHROOTD_MANAGER_PATH "/")))
                return 0;
        if (iface && (streq(iface, "org.freedesktop.DBus.Introspectable") || streq(iface, "org.freedesktop.DBus.Peer")))
                return 0;
        /* Only unique names (":1.42") are cached: they are what the daemon sends. */
        if (caller_known(userdata, sd_bus_message_get_sender(m)))
                return 0;

        r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_UID, &creds);
        if (r >= 0) {
                r = sd_bus_creds_get_euid(creds, &uid);
                if (r < 0)
                        r = sd_bus_creds_get_uid(creds, &uid);
                sd_bus_creds_unref(creds);
        }
        if (r < 0)
                sd_bus_error_setf(&error, CHROOTD_ERROR_ACCESS_DENIED, "Cannot determine the caller's uid: %s",
                                  strerror(-r));
        else if (uid != geteuid())
                sd_bus_error_setf(&error, CHROOTD_ERROR_ACCESS_DENIED,
                                  "chrootd of uid %u serves only its own user, not uid %u", (unsigned) geteuid(),
                                  (unsigned) uid);
        else {
                const char *sender = sd_bus_message_get_sender(m);
                if (sender && sender[0] == ':')
                        caller_remember(userdata, sender);
                return 0;
        }

        log_notice("Refused %s.%s from %s: %s", strempty(iface), strempty(sd_bus_message_get_member(m)),
                   strempty(sd_bus_message_get_sender(m)), error.message);
        if (sd_bus_message_get_expect_reply(m))
                (void) sd_bus_reply_method_error(m, &error);
        return 1; /* handled: no object sees it */
}

int manager_bus_attach(Manager *m) {
        int r;

        r = sd_bus_default_user(&m->bus);
        if (r < 0)
                return r;
        r = sd_bus_add_filter(m->bus, NULL, filter_caller, m);
        if (r < 0)
                return r;
        r = sd_bus_add_object_vtable(m->bus, NULL, CHROOTD_MANAGER_PATH, "org.chrootd1.Manager", manager_vtable, m);
        if (r < 0)
                return r;
        r = sd_bus_add_fallback_vtable(m->bus, NULL, "/org/chrootd1/session", "org.chrootd1.Session", session_vtable,
                                       session_object_find, m);
        if (r < 0)
                return r;
        r = sd_bus_add_node_enumerator(m->bus, NULL, "/org/chrootd1/session", session_node_enumerator, m);
        if (r < 0)
                return r;
        /* Without the bus nobody can reach us: exit the event loop. */
        r = sd_bus_set_exit_on_disconnect(m->bus, true);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        r = systemd_client_new(m->bus, m->event, &m->systemd);
        if (r < 0)
                return r;
        return sd_bus_request_name(m->bus, CHROOTD_BUS_NAME, 0);
}
