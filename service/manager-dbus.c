/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "manager-dbus.h"
#include "systemd.h"
#include "config.h"
#include "names.h"
#include "session-dbus.h"
#include "session.h"
#include "util.h"

/* Read a session id argument and find the session. */
static int read_session(sd_bus_message *m, Manager *mgr, Session **ret, sd_bus_error *error) {
        _cleanup_(error_done) Error e = {};
        const char *id;
        int r;

        r = sd_bus_message_read(m, "s", &id);
        if (r < 0)
                return r;
        *ret = manager_find_session(mgr, id, &e);
        if (!*ret)
                return bus_set_error(error, &e);
        return 0;
}

/* ---- replies the core asks for (frontend.h) ---- */

static void reply_error(sd_bus_message *m, const Outcome *o) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        (void) bus_set_error(&error, &o->error);
        r = sd_bus_reply_method_error(m, &error);
        if (r < 0)
                log_warning_errno(r, "Failed to send an error reply: %m");
}

/* An empty reply, or the outcome's error; the call's message is released. */
static void reply_empty(void *call, Session *s, const Outcome *o) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = call;
        int r;

        if (error_is_set(&o->error)) {
                reply_error(m, o);
                return;
        }
        r = sd_bus_reply_method_return(m, NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to reply to %s: %m", sd_bus_message_get_member(m));
}

static void on_begin_done(void *call, Session *s, const Outcome *o) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = call;
        _cleanup_free_ char *path = NULL;
        int r;

        if (error_is_set(&o->error)) {
                reply_error(m, o);
                return;
        }
        r = bus_session_path(s, &path);
        if (r >= 0)
                r = sd_bus_reply_method_return(m, "so", s->rec.id, path);
        if (r < 0)
                log_warning_errno(r, "Failed to reply to BeginSession: %m");
}

static void on_run_done(void *call, Run *run, const Outcome *o) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = call;
        int r;

        /* CopyIn and CopyOut answer () or their error. */
        if (run->copy) {
                reply_empty(TAKE_PTR(m), NULL, o);
                return;
        }
        r = bus_reply_outcome(m, o);
        if (r < 0)
                log_warning_errno(r, "Failed to reply to Run: %m");
}

static void on_wait_done(void *call, Command *c, const Outcome *o) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = call;
        int r;

        r = bus_reply_outcome(m, o);
        if (r < 0)
                log_warning_errno(r, "Failed to reply to Wait: %m");
}

/* Start's reply: the command's object, also for one that ended before it started. */
static void on_start_done(void *call, Command *c, const Outcome *o) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = call;
        _cleanup_free_ char *path = NULL;
        int r;

        if (error_is_set(&o->error)) {
                reply_error(m, o);
                return;
        }
        r = bus_command_path(c, &path);
        if (r >= 0)
                r = sd_bus_reply_method_return(m, "o", path);
        if (r < 0)
                log_warning_errno(r, "Failed to reply to Start: %m");
}

static const FrontendOps bus_ops = {
        .begin_done = on_begin_done,
        .end_done = reply_empty,
        .limits_done = reply_empty,
        .run_done = on_run_done,
        .start_done = on_start_done,
        .wait_done = on_wait_done,
        .command_exited = bus_emit_command_exited,
        .session_added = bus_emit_added,
        .session_removed = bus_emit_removed,
        .state_changed = bus_emit_state_changed,
};

/* ---- org.chrootd1.Manager ---- */

static int method_list_chroots(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(catalog_freep) Catalog *c = NULL;
        BusFrontend *bf = userdata;
        Manager *mgr = bf->manager;
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
        BusFrontend *bf = userdata;
        int r;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssso)");
        for (Session *s = bf->manager->sessions; r >= 0 && s; s = s->next) {
                _cleanup_free_ char *path = NULL;
                r = bus_session_path(s, &path);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "(ssso)", s->rec.id, s->rec.chroot,
                                                  session_state_to_string(s->rec.state), path);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_begin_session(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(begin_flags_done) BeginFlags flags = {};
        _cleanup_(error_done) Error e = {};
        const char *chroot_name, *name;
        BusFrontend *bf = userdata;
        Limits limits;
        Session *s;
        int r;

        r = sd_bus_message_read(m, "ss", &chroot_name, &name);
        if (r < 0)
                return r;
        r = bus_read_limits(m, &limits, &flags, error);
        if (r < 0)
                return r;
        Call call = bus_call(bf, m);
        r = manager_begin_session(bf->manager, chroot_name, name, &limits, &flags, call, &s, &e);
        if (r < 0) {
                sd_bus_message_unref(call.data);
                return bus_set_error(error, &e);
        }
        return 1; /* replied when the session is ready */
}

static int method_end_session(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Session *s;
        int r;

        r = read_session(m, ((BusFrontend *) userdata)->manager, &s, error);
        if (r < 0)
                return r;
        return bus_session_end(s, m, error);
}

static int method_get_session(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Session *s;
        int r;

        _cleanup_free_ char *path = NULL;

        r = read_session(m, ((BusFrontend *) userdata)->manager, &s, error);
        if (r < 0)
                return r;
        r = bus_session_path(s, &path);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, "o", path);
}

static int method_collect_garbage(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **removed = NULL;
        _cleanup_(error_done) Error e = {};
        BusFrontend *bf = userdata;
        int r;

        r = manager_collect_garbage(bf->manager, &removed, &e);
        if (r < 0)
                return bus_set_error(error, &e);
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
static bool caller_known(BusFrontend *mgr, const char *sender) {
        for (unsigned i = 0; sender && i < BUS_CALLER_CACHE; i++)
                if (mgr->callers[i] && streq(mgr->callers[i], sender))
                        return true;
        return false;
}

static void caller_remember(BusFrontend *mgr, const char *sender) {
        char *copy = strdup(sender);

        if (!copy)
                return;
        free(mgr->callers[mgr->callers_next]);
        mgr->callers[mgr->callers_next] = copy;
        mgr->callers_next = (mgr->callers_next + 1) % BUS_CALLER_CACHE;
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
                sd_bus_error_setf(&error, BUS_ERROR_PREFIX "AccessDenied", "Cannot determine the caller's uid: %s",
                                  strerror(-r));
        else if (uid != geteuid())
                sd_bus_error_setf(&error, BUS_ERROR_PREFIX "AccessDenied",
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

/* A unique name left the bus: sessions begun with end-with-caller by it end. Only the
 * bus driver's signal counts (the match names it as sender, and so does this check). */
static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *unused) {
        BusFrontend *bf = userdata;
        const char *name, *old_owner, *new_owner;

        if (!streq_ptr(sd_bus_message_get_sender(m), "org.freedesktop.DBus") ||
            sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (name[0] == ':' && new_owner[0] == 0)
                (void) manager_caller_gone(bf->manager, name);
        return 0;
}

BusFrontend *bus_frontend_free(BusFrontend *bf) {
        if (!bf)
                return NULL;
        sd_bus_flush_close_unref(bf->bus);
        for (unsigned i = 0; i < BUS_CALLER_CACHE; i++)
                free(bf->callers[i]);
        free(bf);
        return NULL;
}

int bus_frontend_new(Manager *m, sd_bus *bus, BusFrontend **ret) {
        _cleanup_(bus_frontend_freep) BusFrontend *bf = NULL;
        int r;

        bf = calloc(1, sizeof(BusFrontend));
        if (!bf)
                return -ENOMEM;
        bf->manager = m;
        bf->bus = sd_bus_ref(bus);
        bf->frontend = (Frontend) { .ops = &bus_ops, .userdata = bf };
        r = sd_bus_add_filter(bus, NULL, filter_caller, bf);
        if (r < 0)
                return r;
        /* Installed before any call is served, so that no caller can go unseen. */
        r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                "NameOwnerChanged", on_name_owner_changed, bf);
        if (r < 0)
                return r;
        r = sd_bus_add_object_vtable(bus, NULL, CHROOTD_MANAGER_PATH, "org.chrootd1.Manager", manager_vtable, bf);
        if (r < 0)
                return r;
        r = sd_bus_add_fallback_vtable(bus, NULL, BUS_SESSION_PREFIX, "org.chrootd1.Session", session_vtable,
                                       session_object_find, bf);
        if (r < 0)
                return r;
        r = sd_bus_add_fallback_vtable(bus, NULL, BUS_SESSION_PREFIX, "org.chrootd1.Command", command_vtable,
                                       command_object_find, bf);
        if (r < 0)
                return r;
        r = sd_bus_add_node_enumerator(bus, NULL, BUS_SESSION_PREFIX, session_node_enumerator, bf);
        if (r < 0)
                return r;
        r = manager_attach_frontend(m, &bf->frontend);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bf);
        return 0;
}

int bus_frontend_take_name(BusFrontend *bf) {
        return sd_bus_request_name(bf->bus, CHROOTD_BUS_NAME, 0);
}

void bus_frontend_release_name(BusFrontend *bf) {
        int r;

        if (!sd_bus_is_open(bf->bus))
                return;
        r = sd_bus_release_name(bf->bus, CHROOTD_BUS_NAME);
        if (r < 0) {
                log_debug_errno(r, "Failed to release %s: %m", CHROOTD_BUS_NAME);
                return;
        }
        /* Answer what was queued before the release took effect. */
        while (sd_bus_process(bf->bus, NULL) > 0)
                ;
}
