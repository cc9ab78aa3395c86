/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The varlink front end: org.chrootd.Manager (manager-varlink-idl.c) over the core, as
 * manager-dbus.c and session-dbus.c are the D-Bus one. Each handler reads its
 * parameters (sd-varlink has already checked their types against the interface),
 * refuses callers of another uid, lets the core judge the values and act, and replies,
 * at once or through the core's callbacks (frontend.h). */
#include "manager-varlink.h"
#include "manager-varlink-idl.h"
#include "manager-varlink-json.h"
#include "options.h"
#include "session.h"
#include "util.h"

#include <inttypes.h>
#include <systemd/sd-varlink.h>

/* How often a subscriber hears of an unpack's progress. */
#define PROGRESS_INTERVAL_USEC (500 * 1000)

/* How much of a console log ReadConsoleLog answers with: the end of it (a JSON string
 * in one reply; OpenConsoleLog on D-Bus gives all of it). */
#define CONSOLE_LOG_TAIL_MAX (64 * 1024)

typedef struct ProgressMark {
        char *id;
        double value;
} ProgressMark;

struct VarlinkFrontend {
        Manager *manager;
        sd_varlink_server *server;
        Frontend frontend;
        /* Subscribe's callers, each a "more" call never answered finally (a ref each). */
        sd_varlink **subscribers;
        size_t n_subscribers;
        /* While someone subscribes and a session is preparing: the progress last told
         * for each preparing session, polled by the timer. */
        sd_event_source *progress_timer;
        ProgressMark *marks;
        size_t n_marks;
};

/* A call waiting for the core (frontend.h's Call.data): the connection, and whether the
 * caller asked for more (Run then hears when its command starts). */
typedef struct VarlinkCall {
        sd_varlink *link;
        bool more;
} VarlinkCall;

static VarlinkCall *varlink_call_free(VarlinkCall *c) {
        if (!c)
                return NULL;
        sd_varlink_unref(c->link);
        free(c);
        return NULL;
}

static void varlink_call_freep(VarlinkCall **c) {
        varlink_call_free(*c);
}

static Call varlink_call(VarlinkFrontend *vf, sd_varlink *link, sd_varlink_method_flags_t flags) {
        VarlinkCall *c = calloc(1, sizeof(VarlinkCall));

        if (!c)
                return CALL_NULL;
        c->link = sd_varlink_ref(link);
        c->more = flags & SD_VARLINK_METHOD_MORE;
        return (Call) { .frontend = &vf->frontend, .data = c };
}

/* ---- replies ---- */

/* org.chrootd.Manager.<Kind> with the core's message. Returns what sd-varlink says. */
static int reply_error(sd_varlink *link, const Error *e) {
        _cleanup_free_ char *name = strf(VARLINK_ERROR_PREFIX "%s", error_kind_to_string(e->kind ?: ERROR_FAILED));

        if (!name)
                return -ENOMEM;
        return sd_varlink_errorbo(link, name, SD_JSON_BUILD_PAIR_STRING("message", strempty(e->message)));
}

static int reply_oom(sd_varlink *link) {
        _cleanup_(error_done) Error e = {};

        (void) error_set(&e, ERROR_FAILED, ENOMEM, "Out of memory");
        return reply_error(link, &e);
}

/* A parameter sd_json_dispatch refused. sd-varlink checked the types already; what is
 * left is a key given twice (JSON allows it), which is refused as D-Bus refuses an
 * option twice, and values out of a C type's range. */
static int reply_bad_parameter(sd_varlink *link, int r, const char *field) {
        if (r == -ENOTUNIQ && field) {
                _cleanup_strv_free_ char **seen = NULL;
                _cleanup_(error_done) Error e = {};

                if (check_option_once(&seen, field, &e) >= 0)
                        (void) check_option_once(&seen, field, &e);
                return reply_error(link, &e);
        }
        if (field)
                return sd_varlink_error_invalid_parameter_name(link, field);
        return sd_varlink_error_errno(link, r);
}

static int dispatch(sd_varlink *link, sd_json_variant *parameters, const sd_json_dispatch_field table[], void *p) {
        const char *bad = NULL;
        int r;

        r = sd_json_dispatch_full(parameters, table, NULL, 0, p, &bad);
        if (r < 0) {
                r = reply_bad_parameter(link, r, bad);
                return r < 0 ? r : 1; /* 1: replied */
        }
        return 0;
}

/* Only the service's own user is served, as on D-Bus. sd-varlink's
 * SD_VARLINK_SERVER_MYSELF_ONLY would close a foreign client's connection without a
 * word (and libsystemd 257 applies it only together with ROOT_ONLY or ACCOUNT_UID), so
 * every call is checked here and refused with a reason. GetInterfaceDescription and
 * GetInfo stay open, as Introspectable does on D-Bus: the contract is public. Returns
 * 0 when the caller is served, 1 when it was refused (and answered), or -errno. */
static int refuse_foreign(sd_varlink *link) {
        _cleanup_(error_done) Error e = {};
        uid_t uid;
        int r;

        r = sd_varlink_get_peer_uid(link, &uid);
        if (r >= 0 && uid == geteuid())
                return 0;
        if (r < 0)
                (void) error_set(&e, ERROR_ACCESS_DENIED, r, "Cannot determine the caller's uid: %s", strerror(-r));
        else
                (void) error_set(&e, ERROR_ACCESS_DENIED, EPERM, "chrootd of uid %u serves only its own user, not uid %u",
                                 (unsigned) geteuid(), (unsigned) uid);
        log_notice("Refused a varlink call: %s", e.message);
        r = reply_error(link, &e);
        return r < 0 ? r : 1;
}

/* Every method starts here. Descriptors are for Run alone: any that come with another
 * call are closed now, not when it is answered (for Begin or End, minutes later).
 * Returns 0 when the call is to be served, 1 when it was refused (and answered). */
static int serve_caller(sd_varlink *link) {
        int fd;

        for (size_t i = 0; (fd = sd_varlink_take_fd(link, i)) != -ENXIO && fd != -EPERM; i++)
                safe_close(fd);
        return refuse_foreign(link);
}

/* ---- Subscribe's events ---- */

static void drop_subscriber(VarlinkFrontend *vf, sd_varlink *link) {
        for (size_t i = 0; i < vf->n_subscribers; i++)
                if (vf->subscribers[i] == link) {
                        sd_varlink_unref(link);
                        vf->subscribers[i] = vf->subscribers[--vf->n_subscribers];
                        break;
                }
}

static void notify_subscribers(VarlinkFrontend *vf, const char *event, const Session *s) {
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *v = NULL;

        if (vf->n_subscribers == 0)
                return;
        if (vl_build_session(s, &v) < 0) {
                log_warning("Out of memory telling subscribers of session '%s'", s->rec.id);
                return;
        }
        /* Backwards: a subscriber dropped here takes the last one's place. */
        for (size_t i = vf->n_subscribers; i > 0; i--) {
                sd_varlink *link = vf->subscribers[i - 1];
                int r = sd_varlink_notifybo(link, SD_JSON_BUILD_PAIR_STRING("event", event),
                                            SD_JSON_BUILD_PAIR_VARIANT("session", v));
                if (r < 0) {
                        /* Gone, or not reading (-ENOBUFS: sd-varlink queues at most 16 MiB):
                         * it loses its stream, the service keeps its memory. Closing calls
                         * on_disconnect, which drops it (unless it was gone already). */
                        log_debug("Dropping a subscriber that cannot be told of session '%s': %s", s->rec.id,
                                  strerror(-r));
                        (void) sd_varlink_close(link);
                        drop_subscriber(vf, link);
                }
        }
}

static void progress_marks_clear(VarlinkFrontend *vf) {
        for (size_t i = 0; i < vf->n_marks; i++)
                free(vf->marks[i].id);
        vf->marks = mfree(vf->marks);
        vf->n_marks = 0;
}

static bool any_preparing(Manager *m) {
        for (Session *s = m->sessions; s; s = s->next)
                if (s->rec.state == SESSION_PREPARING)
                        return true;
        return false;
}

/* Tell subscribers of each preparing session whose progress moved since last time. */
static int on_progress_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        VarlinkFrontend *vf = userdata;
        ProgressMark *marks = NULL;
        size_t n = 0;

        for (Session *s = vf->manager->sessions; s; s = s->next) {
                double p, last = -1;

                if (s->rec.state != SESSION_PREPARING)
                        continue;
                p = session_progress(s);
                for (size_t i = 0; i < vf->n_marks; i++)
                        if (streq(vf->marks[i].id, s->rec.id))
                                last = vf->marks[i].value;
                if (p != last)
                        notify_subscribers(vf, "progress", s);
                ProgressMark *grown = realloc(marks, (n + 1) * sizeof(ProgressMark));
                char *id = strdup(s->rec.id);
                if (!grown || !id) {
                        free(id);
                        marks = grown ?: marks;
                        break;
                }
                marks = grown;
                marks[n++] = (ProgressMark) { .id = id, .value = p };
        }
        progress_marks_clear(vf);
        vf->marks = marks;
        vf->n_marks = n;

        if (vf->n_subscribers > 0 && n > 0) {
                (void) sd_event_source_set_time_relative(source, PROGRESS_INTERVAL_USEC);
                (void) sd_event_source_set_enabled(source, SD_EVENT_ONESHOT);
        } else {
                vf->progress_timer = sd_event_source_disable_unref(vf->progress_timer);
                progress_marks_clear(vf);
        }
        return 0;
}

/* Poll progress while it matters: someone subscribes and a session is preparing. */
static void progress_watch(VarlinkFrontend *vf) {
        int r;

        if (vf->progress_timer || vf->n_subscribers == 0 || !any_preparing(vf->manager))
                return;
        r = sd_event_add_time_relative(vf->manager->event, &vf->progress_timer, CLOCK_MONOTONIC,
                                       PROGRESS_INTERVAL_USEC, 0, on_progress_timer, vf);
        if (r < 0)
                log_warning("Cannot watch the progress of unpacks for subscribers: %s", strerror(-r));
}

/* ---- the core's callbacks (frontend.h) ---- */

static void on_begin_done(void *call, Session *s, const Outcome *o) {
        _cleanup_(varlink_call_freep) VarlinkCall *c = call;
        int r;

        if (error_is_set(&o->error))
                r = reply_error(c->link, &o->error);
        else
                r = sd_varlink_replybo(c->link, SD_JSON_BUILD_PAIR_STRING("id", s->rec.id));
        if (r < 0)
                log_debug("Failed to reply to BeginSession: %s", strerror(-r));
}

static void on_empty_done(void *call, Session *s, const Outcome *o) {
        _cleanup_(varlink_call_freep) VarlinkCall *c = call;
        int r;

        r = error_is_set(&o->error) ? reply_error(c->link, &o->error) : sd_varlink_reply(c->link, NULL);
        if (r < 0)
                log_debug("Failed to reply to a varlink call: %s", strerror(-r));
}

static void on_run_started(void *call, Run *run) {
        VarlinkCall *c = call;
        int r;

        /* Without more, sd-varlink would answer a notify with ExpectedMore, finally. */
        if (!c->more)
                return;
        r = sd_varlink_notifybo(c->link, SD_JSON_BUILD_PAIR_UNSIGNED("pid", (uint64_t) run->pid),
                                SD_JSON_BUILD_PAIR_CONDITION(!!run->unit, "unit", SD_JSON_BUILD_STRING(run->unit)));
        if (r < 0)
                log_debug("Failed to tell a Run's caller that its command started: %s", strerror(-r));
}

static void on_run_done(void *call, Run *run, const Outcome *o) {
        _cleanup_(varlink_call_freep) VarlinkCall *c = call;
        int r;

        if (error_is_set(&o->error))
                r = reply_error(c->link, &o->error);
        else
                r = sd_varlink_replybo(c->link,
                                       SD_JSON_BUILD_PAIR_STRING("result", o->timed_out ? "timeout"
                                                                           : o->killed  ? "killed"
                                                                                        : "exited"),
                                       SD_JSON_BUILD_PAIR_INTEGER("value", o->value));
        if (r < 0)
                log_debug("Failed to reply to Run: %s", strerror(-r));
}

static void on_session_added(void *userdata, Session *s) {
        notify_subscribers(userdata, "added", s);
        progress_watch(userdata);
}

static void on_session_removed(void *userdata, Session *s) {
        notify_subscribers(userdata, "removed", s);
}

static void on_state_changed(void *userdata, Session *s) {
        notify_subscribers(userdata, "state", s);
        progress_watch(userdata);
}

static const FrontendOps varlink_ops = {
        .begin_done = on_begin_done,
        .end_done = on_empty_done,
        .limits_done = on_empty_done,
        .run_started = on_run_started,
        .run_done = on_run_done,
        .session_added = on_session_added,
        .session_removed = on_session_removed,
        .state_changed = on_state_changed,
};

/* The session a call names ("id"); replies NoSuchSession or InvalidName if none. */
static Session *find_session(VarlinkFrontend *vf, sd_varlink *link, const char *id, int *ret_r) {
        _cleanup_(error_done) Error e = {};
        Session *s = manager_find_session(vf->manager, strempty(id), &e);

        if (!s)
                *ret_r = reply_error(link, &e);
        return s;
}

/* The start of every method on one session: the caller checked, the parameters
 * dispatched by table into p, and the session named by *id (a field of p) found.
 * Returns it, or NULL with *ret_r what the method returns (any reply already sent). */
static Session *method_session(VarlinkFrontend *vf, sd_varlink *link, sd_json_variant *parameters,
                               const sd_json_dispatch_field table[], void *p, const char *const *id, int *ret_r) {
        int r = serve_caller(link);

        if (r == 0)
                r = dispatch(link, parameters, table, p);
        if (r != 0) {
                *ret_r = r < 0 ? r : 0;
                return NULL;
        }
        return find_session(vf, link, *id, ret_r);
}

/* ---- methods ---- */

static int method_list_chroots(sd_varlink *link, sd_json_variant *parameters, sd_varlink_method_flags_t flags,
                               void *userdata) {
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *a = NULL;
        _cleanup_(catalog_freep) Catalog *c = NULL;
        VarlinkFrontend *vf = userdata;
        int r;

        r = serve_caller(link);
        if (r != 0)
                return r < 0 ? r : 0;
        r = manager_load_catalog(vf->manager, &c);
        if (r < 0) {
                _cleanup_(error_done) Error e = {};
                (void) error_set(&e, ERROR_FAILED, r, "Cannot read the chroot definitions: %s", strerror(-r));
                return reply_error(link, &e);
        }
        for (char **w = c->warnings; w && *w; w++)
                log_warning("%s", *w);
        r = sd_json_variant_new_array(&a, NULL, 0);
        for (size_t i = 0; r >= 0 && i < c->n; i++) {
                _cleanup_(sd_json_variant_unrefp) sd_json_variant *v = NULL;
                r = vl_build_chroot(c->chroots[i], &v);
                if (r >= 0)
                        r = sd_json_variant_append_array(&a, v);
        }
        if (r < 0)
                return reply_oom(link);
        return sd_varlink_replybo(link, SD_JSON_BUILD_PAIR_VARIANT("chroots", a));
}

static int method_list_sessions(sd_varlink *link, sd_json_variant *parameters, sd_varlink_method_flags_t flags,
                                void *userdata) {
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *a = NULL;
        VarlinkFrontend *vf = userdata;
        int r;

        r = serve_caller(link);
        if (r != 0)
                return r < 0 ? r : 0;
        if (vl_build_sessions(vf->manager, &a) < 0)
                return reply_oom(link);
        return sd_varlink_replybo(link, SD_JSON_BUILD_PAIR_VARIANT("sessions", a));
}

typedef struct BeginParams {
        const char *chroot;
        const char *name;
        OptU64 limits[3];
        bool add_login, write_back, host_tree, package_cache, boot;
        char **add_accounts;
        const char *union_type;
        const char *network;
} BeginParams;

static int method_begin_session(sd_varlink *link, sd_json_variant *parameters, sd_varlink_method_flags_t flags,
                                void *userdata) {
        static const sd_json_dispatch_field table[] = {
                { "chroot", SD_JSON_VARIANT_STRING, sd_json_dispatch_const_string, offsetof(BeginParams, chroot),
                  SD_JSON_MANDATORY },
                { "name", _SD_JSON_VARIANT_TYPE_INVALID, sd_json_dispatch_const_string, offsetof(BeginParams, name), 0 },
                VL_LIMIT_FIELDS(BeginParams, limits),
                { "addLogin", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_opt_bool, offsetof(BeginParams, add_login), 0 },
                { "addAccounts", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_list, offsetof(BeginParams, add_accounts), 0 },
                { "writeBack", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_opt_bool, offsetof(BeginParams, write_back), 0 },
                { "hostTree", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_opt_bool, offsetof(BeginParams, host_tree), 0 },
                { "packageCache", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_opt_bool,
                  offsetof(BeginParams, package_cache), 0 },
                { "unionType", _SD_JSON_VARIANT_TYPE_INVALID, sd_json_dispatch_const_string,
                  offsetof(BeginParams, union_type), 0 },
                { "boot", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_opt_bool, offsetof(BeginParams, boot), 0 },
                { "network", _SD_JSON_VARIANT_TYPE_INVALID, sd_json_dispatch_const_string,
                  offsetof(BeginParams, network), 0 },
                {}
        };
        _cleanup_(error_done) Error e = {};
        VarlinkFrontend *vf = userdata;
        BeginParams p = {};
        Limits limits;
        Session *s;
        int r;

        r = serve_caller(link);
        if (r != 0)
                return r < 0 ? r : 0;
        r = dispatch(link, parameters, table, &p);
        if (r != 0) {
                strv_free(p.add_accounts);
                return r < 0 ? r : 0;
        }
        BeginFlags bf = {
                .add_login = p.add_login,
                .write_back = p.write_back,
                .host_tree = p.host_tree,
                .package_cache = p.package_cache,
                .boot = p.boot,
                .union_type = p.union_type,
                .add_accounts = TAKE_PTR(p.add_accounts),
        };
        r = vl_read_limits(p.limits, &limits, &e);
        if (r >= 0 && bf.union_type)
                r = check_union_type(bf.union_type, &e);
        if (r >= 0)
                r = check_begin_network(bf.boot, p.network, &bf.host_network, &e);
        if (r < 0) {
                begin_flags_done(&bf);
                return reply_error(link, &e);
        }
        Call call = varlink_call(vf, link, flags);
        if (!call_is_set(&call)) {
                begin_flags_done(&bf);
                return reply_oom(link);
        }
        r = manager_begin_session(vf->manager, p.chroot, strempty(p.name), &limits, &bf, call, &s, &e);
        begin_flags_done(&bf);
        if (r < 0) {
                varlink_call_free(call.data);
                return reply_error(link, &e);
        }
        return 0; /* replied when the session is ready */
}

typedef struct IdParams {
        const char *id;
} IdParams;

static const sd_json_dispatch_field id_table[] = {
        { "id", SD_JSON_VARIANT_STRING, sd_json_dispatch_const_string, offsetof(IdParams, id), SD_JSON_MANDATORY },
        {}
};

static int method_end_session(sd_varlink *link, sd_json_variant *parameters, sd_varlink_method_flags_t flags,
                              void *userdata) {
        _cleanup_(error_done) Error e = {};
        VarlinkFrontend *vf = userdata;
        IdParams p = {};
        Session *s;
        int r;

        s = method_session(vf, link, parameters, id_table, &p, &p.id, &r);
        if (!s)
                return r;
        Call call = varlink_call(vf, link, flags);
        if (!call_is_set(&call))
                return reply_oom(link);
        r = session_end(s, call, &e);
        if (r < 0) {
                varlink_call_free(call.data);
                return reply_error(link, &e);
        }
        return 0; /* replied once the session is gone */
}

static int method_get_session(sd_varlink *link, sd_json_variant *parameters, sd_varlink_method_flags_t flags,
                              void *userdata) {
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *v = NULL;
        VarlinkFrontend *vf = userdata;
        IdParams p = {};
        Session *s;
        int r;

        s = method_session(vf, link, parameters, id_table, &p, &p.id, &r);
        if (!s)
                return r;
        if (vl_build_session(s, &v) < 0)
                return reply_oom(link);
        return sd_varlink_replybo(link, SD_JSON_BUILD_PAIR_VARIANT("session", v));
}

static int method_collect_garbage(sd_varlink *link, sd_json_variant *parameters, sd_varlink_method_flags_t flags,
                                  void *userdata) {
        _cleanup_strv_free_ char **removed = NULL;
        _cleanup_(error_done) Error e = {};
        VarlinkFrontend *vf = userdata;
        int r;

        r = serve_caller(link);
        if (r != 0)
                return r < 0 ? r : 0;
        r = manager_collect_garbage(vf->manager, &removed, &e);
        if (r < 0)
                return reply_error(link, &e);
        return sd_varlink_replybo(link, SD_JSON_BUILD_PAIR_STRV("removed", removed));
}

typedef struct KillParams {
        const char *id;
        int signal;
} KillParams;

static int method_kill(sd_varlink *link, sd_json_variant *parameters, sd_varlink_method_flags_t flags,
                       void *userdata) {
        static const sd_json_dispatch_field table[] = {
                { "id", SD_JSON_VARIANT_STRING, sd_json_dispatch_const_string, offsetof(KillParams, id),
                  SD_JSON_MANDATORY },
                { "signal", _SD_JSON_VARIANT_TYPE_INVALID, sd_json_dispatch_int32, offsetof(KillParams, signal),
                  SD_JSON_MANDATORY },
                {}
        };
        _cleanup_(error_done) Error e = {};
        VarlinkFrontend *vf = userdata;
        KillParams p = {};
        Session *s;
        int r;

        s = method_session(vf, link, parameters, table, &p, &p.id, &r);
        if (!s)
                return r;
        r = session_kill(s, p.signal, &e);
        if (r < 0)
                return reply_error(link, &e);
        return sd_varlink_reply(link, NULL);
}

typedef struct LimitsParams {
        const char *id;
        OptU64 limits[3];
} LimitsParams;

static int method_set_limits(sd_varlink *link, sd_json_variant *parameters, sd_varlink_method_flags_t flags,
                             void *userdata) {
        static const sd_json_dispatch_field table[] = {
                { "id", SD_JSON_VARIANT_STRING, sd_json_dispatch_const_string, offsetof(LimitsParams, id),
                  SD_JSON_MANDATORY },
                VL_LIMIT_FIELDS(LimitsParams, limits),
                {}
        };
        _cleanup_(error_done) Error e = {};
        VarlinkFrontend *vf = userdata;
        LimitsParams p = {};
        Limits l;
        Session *s;
        int r;

        s = method_session(vf, link, parameters, table, &p, &p.id, &r);
        if (!s)
                return r;
        r = vl_read_limits(p.limits, &l, &e);
        if (r < 0)
                return reply_error(link, &e);
        Call call = varlink_call(vf, link, flags);
        if (!call_is_set(&call))
                return reply_oom(link);
        r = session_set_limits(s, &l, call, &e);
        if (r < 0) {
                varlink_call_free(call.data);
                return reply_error(link, &e);
        }
        return 0; /* replied once systemd applied them */
}

static int method_reboot(sd_varlink *link, sd_json_variant *parameters, sd_varlink_method_flags_t flags,
                         void *userdata) {
        _cleanup_(error_done) Error e = {};
        VarlinkFrontend *vf = userdata;
        IdParams p = {};
        Session *s;
        int r;

        s = method_session(vf, link, parameters, id_table, &p, &p.id, &r);
        if (!s)
                return r;
        r = session_reboot(s, &e);
        if (r < 0)
                return reply_error(link, &e);
        return sd_varlink_reply(link, NULL);
}

static int method_read_console_log(sd_varlink *link, sd_json_variant *parameters, sd_varlink_method_flags_t flags,
                                   void *userdata) {
        _cleanup_free_ char *tail = NULL, *text = NULL;
        _cleanup_(error_done) Error e = {};
        _cleanup_close_ int fd = -EBADF;
        VarlinkFrontend *vf = userdata;
        IdParams p = {};
        Session *s;
        size_t n;
        int r;

        s = method_session(vf, link, parameters, id_table, &p, &p.id, &r);
        if (!s)
                return r;
        r = session_open_console_log(s, &fd, &e);
        if (r < 0)
                return reply_error(link, &e);
        /* varlink has no descriptors for a reply here: the end of the log, as a string. */
        r = read_file_tail(fd, CONSOLE_LOG_TAIL_MAX, &tail, &n);
        if (r < 0) {
                (void) error_set(&e, ERROR_FAILED, r, "Cannot read the console log of session '%s': %s", s->rec.id,
                                 strerror(-r));
                return reply_error(link, &e);
        }
        text = utf8_make_valid(tail, n);
        if (!text)
                return reply_oom(link);
        return sd_varlink_replybo(link, SD_JSON_BUILD_PAIR_STRING("log", text));
}

typedef struct RunCallParams {
        const char *id;
        char **argv;
        char **environment;
        char **setenv;
        const char *user;
        const char *directory;
        const char *network;
        OptU64 timeout;
        OptU64 stdio[3];
} RunCallParams;

static void run_call_params_done(RunCallParams *p) {
        strv_free(p->argv);
        strv_free(p->environment);
        strv_free(p->setenv);
}

/* Every descriptor that came with the call, taken from sd-varlink so that none stays
 * open here longer than this call needs it (sd-varlink would keep them until the
 * reply, which for a Run comes when the command ends). */
typedef struct PassedFds {
        int *fds;
        size_t n;
} PassedFds;

static void passed_fds_done(PassedFds *f) {
        for (size_t i = 0; i < f->n; i++)
                safe_close(f->fds[i]);
        free(f->fds);
        *f = (PassedFds) {};
}

static int passed_fds_take(sd_varlink *link, PassedFds *ret) {
        PassedFds f = {};
        int fd;

        /* -ENXIO past the last; -EPERM on a connection without fd passing (none). */
        while ((fd = sd_varlink_take_fd(link, f.n)) >= 0 || fd == -EBADF) {
                int *grown = realloc(f.fds, (f.n + 1) * sizeof(int));
                if (!grown) {
                        safe_close(fd);
                        passed_fds_done(&f);
                        return -ENOMEM;
                }
                f.fds = grown;
                f.fds[f.n++] = fd;
        }
        *ret = f;
        return 0;
}

static int method_run(sd_varlink *link, sd_json_variant *parameters, sd_varlink_method_flags_t flags,
                      void *userdata) {
        static const char *const fd_keys[3] = { "stdin", "stdout", "stderr" };
        static const sd_json_dispatch_field table[] = {
                { "id", SD_JSON_VARIANT_STRING, sd_json_dispatch_const_string, offsetof(RunCallParams, id),
                  SD_JSON_MANDATORY },
                { "argv", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_list, offsetof(RunCallParams, argv), 0 },
                { "user", _SD_JSON_VARIANT_TYPE_INVALID, sd_json_dispatch_const_string, offsetof(RunCallParams, user),
                  0 },
                { "directory", _SD_JSON_VARIANT_TYPE_INVALID, sd_json_dispatch_const_string,
                  offsetof(RunCallParams, directory), 0 },
                { "network", _SD_JSON_VARIANT_TYPE_INVALID, sd_json_dispatch_const_string,
                  offsetof(RunCallParams, network), 0 },
                { "timeout", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_opt_u64, offsetof(RunCallParams, timeout), 0 },
                { "environment", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_list,
                  offsetof(RunCallParams, environment), 0 },
                { "setenv", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_list, offsetof(RunCallParams, setenv), 0 },
                { "stdin", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_opt_u64, offsetof(RunCallParams, stdio[0]), 0 },
                { "stdout", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_opt_u64, offsetof(RunCallParams, stdio[1]), 0 },
                { "stderr", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_opt_u64, offsetof(RunCallParams, stdio[2]), 0 },
                {}
        };
        _cleanup_(run_call_params_done) RunCallParams p = {};
        _cleanup_(passed_fds_done) PassedFds passed = {};
        _cleanup_(error_done) Error e = {};
        VarlinkFrontend *vf = userdata;
        int stdio[3] = { -EBADF, -EBADF, -EBADF };
        bool network_none;
        Session *s;
        int r;

        /* Before serve_caller() closes them; a refused or failed call leaves none here. */
        r = passed_fds_take(link, &passed);
        if (r < 0)
                return reply_oom(link);
        s = method_session(vf, link, parameters, table, &p, &p.id, &r);
        if (!s)
                return r;
        if (!p.argv && !(p.argv = calloc(1, sizeof(char *)))) /* empty: the login shell */
                return reply_oom(link);
        r = check_run(p.argv, p.environment, p.setenv, p.user ?: "root", p.directory ?: "/", p.network ?: "host",
                      &network_none, &e);
        for (int i = 0; r >= 0 && i < 3; i++) {
                if (!p.stdio[i].set)
                        continue;
                if (p.stdio[i].value >= passed.n || passed.fds[p.stdio[i].value] < 0)
                        r = error_set(&e, ERROR_INVALID_ARGUMENT, EBADF,
                                      "Option '%s': no file descriptor %" PRIu64 " came with the call (%zu did)",
                                      fd_keys[i], p.stdio[i].value, passed.n);
                else {
                        stdio[i] = passed.fds[p.stdio[i].value];
                        r = check_stream_fd(stdio[i], fd_keys[i], &e);
                }
        }
        if (r < 0)
                return reply_error(link, &e);

        RunParams rp = {
                .argv = p.argv,
                .environment = p.environment,
                .setenv = p.setenv,
                .user = p.user ?: "root",
                .directory = p.directory ?: "/",
                .network_none = network_none,
                .timeout_usec = p.timeout.value,
                .stdio = { stdio[0], stdio[1], stdio[2] },
        };
        Call call = varlink_call(vf, link, flags);
        if (!call_is_set(&call))
                return reply_oom(link);
        /* The core takes copies of the stdio descriptors; ours close on return. */
        r = session_run(s, &rp, call, &e);
        if (r < 0) {
                varlink_call_free(call.data);
                return reply_error(link, &e);
        }
        return 0; /* replied (continues, then finally) as the command starts and ends */
}

static int method_subscribe(sd_varlink *link, sd_json_variant *parameters, sd_varlink_method_flags_t flags,
                            void *userdata) {
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *a = NULL;
        VarlinkFrontend *vf = userdata;
        sd_varlink **grown;
        int r;

        r = serve_caller(link);
        if (r != 0)
                return r < 0 ? r : 0;
        /* sd-varlink refuses Subscribe without more (SD_VARLINK_REQUIRES_MORE). */
        if (vl_build_sessions(vf->manager, &a) < 0)
                return reply_oom(link);
        grown = realloc(vf->subscribers, (vf->n_subscribers + 1) * sizeof(sd_varlink *));
        if (!grown)
                return reply_oom(link);
        vf->subscribers = grown;
        r = sd_varlink_notifybo(link, SD_JSON_BUILD_PAIR_STRING("event", "subscribed"),
                                SD_JSON_BUILD_PAIR_VARIANT("sessions", a));
        if (r < 0)
                return r;
        vf->subscribers[vf->n_subscribers++] = sd_varlink_ref(link);
        progress_watch(vf);
        return 0; /* never answered finally: the stream ends with the connection */
}

/* ---- the server ---- */

static int on_connect(sd_varlink_server *server, sd_varlink *link, void *userdata) {
        int r;

        /* Run's stdio comes as descriptors. Others sent along are closed unused. */
        r = sd_varlink_set_allow_fd_passing_input(link, true);
        if (r < 0)
                log_debug("Cannot receive file descriptors on a varlink connection: %s", strerror(-r));
        return 0;
}

static void on_disconnect(sd_varlink_server *server, sd_varlink *link, void *userdata) {
        drop_subscriber(userdata, link);
}

VarlinkFrontend *varlink_frontend_free(VarlinkFrontend *vf) {
        if (!vf)
                return NULL;
        for (size_t i = 0; i < vf->n_subscribers; i++)
                sd_varlink_unref(vf->subscribers[i]);
        vf->n_subscribers = 0;
        free(vf->subscribers);
        sd_event_source_disable_unref(vf->progress_timer);
        progress_marks_clear(vf);
        if (vf->server) {
                /* Connections outlive the server object (each holds a reference to it):
                 * they must not call back into a freed front end. */
                (void) sd_varlink_server_bind_disconnect(vf->server, NULL);
                sd_varlink_server_unref(vf->server);
        }
        free(vf);
        return NULL;
}

bool varlink_frontend_busy(VarlinkFrontend *vf) {
        return vf && sd_varlink_server_current_connections(vf->server) > 0;
}

int varlink_frontend_new(Manager *m, VarlinkFrontend **ret) {
        _cleanup_(varlink_frontend_freep) VarlinkFrontend *vf = NULL;
        int r;

        vf = calloc(1, sizeof(VarlinkFrontend));
        if (!vf)
                return -ENOMEM;
        vf->manager = m;
        vf->frontend = (Frontend) { .ops = &varlink_ops, .userdata = vf };

        /* ACCOUNT_UID: connections are counted per uid, and each one's peer credentials
         * are taken when it is accepted, for refuse_foreign(). */
        r = sd_varlink_server_new(&vf->server, SD_VARLINK_SERVER_ACCOUNT_UID | SD_VARLINK_SERVER_INHERIT_USERDATA);
        if (r < 0)
                return r;
        sd_varlink_server_set_userdata(vf->server, vf);
        r = sd_varlink_server_set_description(vf->server, "chrootd");
        if (r >= 0)
                r = sd_varlink_server_set_info(vf->server, "chrootd", "chrootd", VERSION,
                                               "file://" DOCDIR "/README.md");
        if (r >= 0)
                r = sd_varlink_server_add_interface(vf->server, &vl_interface_org_chrootd_Manager);
        if (r >= 0)
                r = sd_varlink_server_bind_method_many(
                                vf->server,
                                VARLINK_INTERFACE ".ListChroots", method_list_chroots,
                                VARLINK_INTERFACE ".ListSessions", method_list_sessions,
                                VARLINK_INTERFACE ".BeginSession", method_begin_session,
                                VARLINK_INTERFACE ".EndSession", method_end_session,
                                VARLINK_INTERFACE ".GetSession", method_get_session,
                                VARLINK_INTERFACE ".CollectGarbage", method_collect_garbage,
                                VARLINK_INTERFACE ".Run", method_run,
                                VARLINK_INTERFACE ".Kill", method_kill,
                                VARLINK_INTERFACE ".SetLimits", method_set_limits,
                                VARLINK_INTERFACE ".Reboot", method_reboot,
                                VARLINK_INTERFACE ".ReadConsoleLog", method_read_console_log,
                                VARLINK_INTERFACE ".Subscribe", method_subscribe);
        if (r >= 0)
                r = sd_varlink_server_bind_connect(vf->server, on_connect);
        if (r >= 0)
                r = sd_varlink_server_bind_disconnect(vf->server, on_disconnect);
        if (r >= 0)
                r = sd_varlink_server_attach_event(vf->server, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;

        r = sd_varlink_server_listen_auto(vf->server);
        if (r < 0)
                return r;
        /* Commands and helpers started later must not take the sockets for theirs. */
        (void) unsetenv("LISTEN_FDS");
        (void) unsetenv("LISTEN_PID");
        (void) unsetenv("LISTEN_FDNAMES");
        if (r == 0) {
                /* Started by D-Bus activation without chrootd.socket: D-Bus only. */
                log_debug("No varlink socket was passed in: serving D-Bus only");
                *ret = NULL;
                return 0;
        }
        r = manager_attach_frontend(m, &vf->frontend);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(vf);
        return 0;
}
