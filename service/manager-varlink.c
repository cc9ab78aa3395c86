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
#include <limits.h>
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
 * caller asked for more (Run then hears when its command starts, Start when its command
 * ends); the front end, for a Start with more that goes on as a Wait. */
typedef struct VarlinkCall {
        VarlinkFrontend *vf;
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
        c->vf = vf;
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

/* Every method starts here. Descriptors are for Run, Start, CopyIn and CopyOut alone
 * (which take theirs first): any that come with another call are closed now, not when
 * it is answered (for Begin or End, minutes later).
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

        /* Without more, sd-varlink would answer a notify with ExpectedMore, finally. A
         * copy has nothing to tell until it is over. */
        if (!c->more || run->copy)
                return;
        r = sd_varlink_notifybo(c->link, SD_JSON_BUILD_PAIR_UNSIGNED("pid", (uint64_t) run->pid),
                                SD_JSON_BUILD_PAIR_CONDITION(!!run->unit, "unit", SD_JSON_BUILD_STRING(run->unit)));
        if (r < 0)
                log_debug("Failed to tell a Run's caller that its command started: %s", strerror(-r));
}

/* How a command ended, as Run's, WaitCommand's and Start's last reply: its result, or
 * its error. */
static int reply_outcome(sd_varlink *link, const Outcome *o) {
        if (error_is_set(&o->error))
                return reply_error(link, &o->error);
        return sd_varlink_replybo(link,
                                  SD_JSON_BUILD_PAIR_STRING("result", o->timed_out ? "timeout"
                                                                      : o->killed  ? "killed"
                                                                                   : "exited"),
                                  SD_JSON_BUILD_PAIR_INTEGER("value", o->value));
}

static void on_run_done(void *call, Run *run, const Outcome *o) {
        _cleanup_(varlink_call_freep) VarlinkCall *c = call;
        int r;

        /* CopyIn and CopyOut answer {} or their error. */
        if (run->copy)
                r = error_is_set(&o->error) ? reply_error(c->link, &o->error) : sd_varlink_reply(c->link, NULL);
        else
                r = reply_outcome(c->link, o);
        if (r < 0)
                log_debug("Failed to reply to %s: %s", run->copy ? "a copy" : "Run", strerror(-r));
}

/* Start's first reply: the command's number, pid and scope, and with a terminal a new
 * descriptor of its master, pushed to go with this reply (sd-varlink owns it then, and
 * drops it if an error is sent instead). Returns 0 with *ret set, or -errno with e set. */
static int build_started(sd_varlink *link, Command *c, sd_json_variant **ret, Error *e) {
        int terminal = -1, r;

        if (c->terminal >= 0) {
                _cleanup_close_ int fd = -EBADF;

                r = command_open_terminal(c, &fd, e);
                if (r < 0)
                        return r;
                terminal = sd_varlink_push_fd(link, fd);
                if (terminal < 0)
                        return error_set(e, ERROR_FAILED, -terminal,
                                         "Cannot pass the terminal of command %" PRIu64 ": %s", c->id,
                                         strerror(-terminal));
                TAKE_FD(fd);
        }
        r = sd_json_buildo(ret,
                           SD_JSON_BUILD_PAIR_UNSIGNED("command", c->id),
                           SD_JSON_BUILD_PAIR_UNSIGNED("pid", (uint64_t) c->pid),
                           SD_JSON_BUILD_PAIR_CONDITION(!!c->unit, "unit", SD_JSON_BUILD_STRING(c->unit)),
                           SD_JSON_BUILD_PAIR_CONDITION(terminal >= 0, "terminal", SD_JSON_BUILD_INTEGER(terminal)));
        if (r < 0)
                return error_set(e, ERROR_FAILED, -r, "Out of memory");
        return 0;
}

/* Start's answer: the command has started (or ended before it had), or could not. With
 * more, the start is a reply that continues and the call goes on as a WaitCommand, whose
 * wait_done gives the last reply (and frees the call). */
static void on_start_done(void *call, Command *c, const Outcome *o) {
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *v = NULL;
        _cleanup_(varlink_call_freep) VarlinkCall *vc = call;
        _cleanup_(error_done) Error e = {};
        int r;

        if (error_is_set(&o->error))
                r = reply_error(vc->link, &o->error);
        else if (build_started(vc->link, c, &v, &e) < 0)
                r = reply_error(vc->link, &e);
        else if (!vc->more)
                r = sd_varlink_reply(vc->link, v);
        else {
                /* A caller gone already leaves the command for a WaitCommand. */
                r = sd_varlink_notify(vc->link, v);
                if (r >= 0 && c->done)
                        /* It ended before it had started (command_finish() calls us then):
                         * command_wait() would answer at once and free the command while
                         * the core still uses it. Its result is told here; the command
                         * stays until the session trims it or ends. */
                        r = reply_outcome(vc->link, &c->outcome);
                else if (r >= 0) {
                        r = command_wait(c, (Call) { .frontend = &vc->vf->frontend, .data = vc }, &e);
                        if (r >= 0) {
                                TAKE_PTR(vc); /* wait_done has it now */
                                return;
                        }
                        r = reply_error(vc->link, &e);
                }
        }
        if (r < 0)
                log_debug("Failed to reply to Start: %s", strerror(-r));
}

static void on_wait_done(void *call, Command *c, const Outcome *o) {
        _cleanup_(varlink_call_freep) VarlinkCall *vc = call;
        int r;

        r = reply_outcome(vc->link, o);
        if (r < 0)
                log_debug("Failed to reply to WaitCommand: %s", strerror(-r));
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
        .start_done = on_start_done,
        .wait_done = on_wait_done,
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

/* EndSession and DiscardSession: answered once the session is gone. */
static int end_session(VarlinkFrontend *vf, sd_varlink *link, sd_json_variant *parameters,
                       sd_varlink_method_flags_t flags, bool discard) {
        _cleanup_(error_done) Error e = {};
        IdParams p = {};
        Session *s;
        int r;

        s = method_session(vf, link, parameters, id_table, &p, &p.id, &r);
        if (!s)
                return r;
        Call call = varlink_call(vf, link, flags);
        if (!call_is_set(&call))
                return reply_oom(link);
        r = discard ? session_discard(s, call, &e) : session_end(s, call, &e);
        if (r < 0) {
                varlink_call_free(call.data);
                return reply_error(link, &e);
        }
        return 0;
}

static int method_end_session(sd_varlink *link, sd_json_variant *parameters, sd_varlink_method_flags_t flags,
                              void *userdata) {
        return end_session(userdata, link, parameters, flags, false);
}

static int method_discard_session(sd_varlink *link, sd_json_variant *parameters, sd_varlink_method_flags_t flags,
                                  void *userdata) {
        return end_session(userdata, link, parameters, flags, true);
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
        bool pty;
        OptU64 pty_size[2];
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

/* The passed descriptor an index parameter (key) names, checked as a stream; returns
 * it (still passed's) or -errno with e set. */
static int passed_fd(const PassedFds *passed, uint64_t index, const char *key, Error *e) {
        int r;

        if (index >= passed->n || passed->fds[index] < 0)
                return error_set(e, ERROR_INVALID_ARGUMENT, EBADF,
                                 "Option '%s': no file descriptor %" PRIu64 " came with the call (%zu did)", key,
                                 index, passed->n);
        r = check_stream_fd(passed->fds[index], key, e);
        return r < 0 ? r : passed->fds[index];
}

/* Run's parameters; Start's are these and its terminal's. */
#define VL_RUN_FIELDS                                                                                                \
        { "id", SD_JSON_VARIANT_STRING, sd_json_dispatch_const_string, offsetof(RunCallParams, id),                 \
          SD_JSON_MANDATORY },                                                                                       \
        { "argv", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_list, offsetof(RunCallParams, argv), 0 },              \
        { "user", _SD_JSON_VARIANT_TYPE_INVALID, sd_json_dispatch_const_string, offsetof(RunCallParams, user), 0 }, \
        { "directory", _SD_JSON_VARIANT_TYPE_INVALID, sd_json_dispatch_const_string,                               \
          offsetof(RunCallParams, directory), 0 },                                                                   \
        { "network", _SD_JSON_VARIANT_TYPE_INVALID, sd_json_dispatch_const_string,                                 \
          offsetof(RunCallParams, network), 0 },                                                                     \
        { "timeout", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_opt_u64, offsetof(RunCallParams, timeout), 0 },     \
        { "environment", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_list, offsetof(RunCallParams, environment),     \
          0 },                                                                                                       \
        { "setenv", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_list, offsetof(RunCallParams, setenv), 0 },          \
        { "stdin", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_opt_u64, offsetof(RunCallParams, stdio[0]), 0 },      \
        { "stdout", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_opt_u64, offsetof(RunCallParams, stdio[1]), 0 },     \
        { "stderr", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_opt_u64, offsetof(RunCallParams, stdio[2]), 0 }

/* Run's and Start's start: the caller checked, the descriptors taken (into *passed,
 * before serve_caller() closes them), the parameters dispatched by table into p and
 * judged by the core, as *ret (pointing into p and passed). Returns the session, or
 * NULL with *ret_r what the method returns (any reply already sent). */
static Session *read_run(VarlinkFrontend *vf, sd_varlink *link, sd_json_variant *parameters,
                         const sd_json_dispatch_field table[], RunCallParams *p, PassedFds *passed, RunParams *ret,
                         int *ret_r) {
        static const char *const fd_keys[3] = { "stdin", "stdout", "stderr" };
        static const char *const size_keys[2] = { "ptyRows", "ptyColumns" };
        _cleanup_(error_done) Error e = {};
        int stdio[3] = { -EBADF, -EBADF, -EBADF };
        bool network_none;
        Session *s;
        int r;

        if (passed_fds_take(link, passed) < 0) {
                *ret_r = reply_oom(link);
                return NULL;
        }
        s = method_session(vf, link, parameters, table, p, &p->id, ret_r);
        if (!s)
                return NULL;
        if (!p->argv && !(p->argv = calloc(1, sizeof(char *)))) { /* empty: the login shell */
                *ret_r = reply_oom(link);
                return NULL;
        }
        r = check_run(p->argv, p->environment, p->setenv, p->user ?: "root", p->directory ?: "/",
                      p->network ?: "host", &network_none, &e);
        for (int i = 0; r >= 0 && i < 3; i++)
                if (p->stdio[i].set) {
                        r = passed_fd(passed, p->stdio[i].value, fd_keys[i], &e);
                        stdio[i] = r;
                }
        /* D-Bus's are 16 bits by type; here the range is checked. */
        for (int i = 0; r >= 0 && i < 2; i++)
                if (p->pty_size[i].value > UINT16_MAX)
                        r = error_set(&e, ERROR_INVALID_ARGUMENT, ERANGE, "Option '%s' must be 0..65535, not %" PRIu64,
                                      size_keys[i], p->pty_size[i].value);
        if (r >= 0)
                r = check_terminal(p->pty, stdio, p->pty_size[0].set || p->pty_size[1].set, &e);
        if (r < 0) {
                *ret_r = reply_error(link, &e);
                return NULL;
        }
        *ret = (RunParams) {
                .argv = p->argv,
                .environment = p->environment,
                .setenv = p->setenv,
                .user = p->user ?: "root",
                .directory = p->directory ?: "/",
                .network_none = network_none,
                .timeout_usec = p->timeout.value,
                .stdio = { stdio[0], stdio[1], stdio[2] },
                .pty = p->pty,
                .pty_rows = (uint16_t) p->pty_size[0].value,
                .pty_columns = (uint16_t) p->pty_size[1].value,
        };
        return s;
}

/* Run and Start after their parameters: Run is answered (continues, then finally) as
 * the command starts and ends, Start once it has started (with more: continues, then
 * once it has ended). */
static int run_or_start(sd_varlink *link, sd_json_variant *parameters, sd_varlink_method_flags_t flags,
                        VarlinkFrontend *vf, const sd_json_dispatch_field table[], bool start) {
        _cleanup_(run_call_params_done) RunCallParams p = {};
        _cleanup_(passed_fds_done) PassedFds passed = {};
        _cleanup_(error_done) Error e = {};
        RunParams rp;
        Session *s;
        int r;

        s = read_run(vf, link, parameters, table, &p, &passed, &rp, &r);
        if (!s)
                return r;
        Call call = varlink_call(vf, link, flags);
        if (!call_is_set(&call))
                return reply_oom(link);
        /* The core takes copies of the stdio descriptors; ours close on return. */
        r = start ? session_start(s, &rp, call, &e) : session_run(s, &rp, call, &e);
        if (r < 0) {
                varlink_call_free(call.data);
                return reply_error(link, &e);
        }
        return 0;
}

static int method_run(sd_varlink *link, sd_json_variant *parameters, sd_varlink_method_flags_t flags,
                      void *userdata) {
        static const sd_json_dispatch_field table[] = { VL_RUN_FIELDS, {} };

        return run_or_start(link, parameters, flags, userdata, table, false);
}

static int method_start(sd_varlink *link, sd_json_variant *parameters, sd_varlink_method_flags_t flags,
                        void *userdata) {
        static const sd_json_dispatch_field table[] = {
                VL_RUN_FIELDS,
                { "pty", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_opt_bool, offsetof(RunCallParams, pty), 0 },
                { "ptyRows", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_opt_u64, offsetof(RunCallParams, pty_size[0]),
                  0 },
                { "ptyColumns", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_opt_u64,
                  offsetof(RunCallParams, pty_size[1]), 0 },
                {}
        };

        return run_or_start(link, parameters, flags, userdata, table, true);
}

typedef struct CommandParams {
        const char *id;
        uint64_t command;
        int signal;
        uint64_t size[2];
} CommandParams;

#define VL_COMMAND_FIELDS                                                                                    \
        { "id", SD_JSON_VARIANT_STRING, sd_json_dispatch_const_string, offsetof(CommandParams, id),         \
          SD_JSON_MANDATORY },                                                                               \
        { "command", _SD_JSON_VARIANT_TYPE_INVALID, sd_json_dispatch_uint64, offsetof(CommandParams, command), \
          SD_JSON_MANDATORY }

/* The start of every method on a started command: as method_session(), and the command
 * numbered "command" found. D-Bus answers a path no command has with UnknownObject;
 * here that is NoSuchCommand, the front end's own error (a command whose result was
 * read is forgotten, as one never started). */
static Command *method_command(VarlinkFrontend *vf, sd_varlink *link, sd_json_variant *parameters,
                               const sd_json_dispatch_field table[], CommandParams *p, int *ret_r) {
        _cleanup_free_ char *message = NULL;
        Session *s;
        Command *c;

        s = method_session(vf, link, parameters, table, p, &p->id, ret_r);
        if (!s)
                return NULL;
        c = session_find_command(s, p->command);
        if (c)
                return c;
        message = strf("Session '%s' has no command %" PRIu64 " (never started, or its result was read)", s->rec.id,
                       p->command);
        if (!message)
                *ret_r = reply_oom(link);
        else
                *ret_r = sd_varlink_errorbo(link, VARLINK_ERROR_PREFIX "NoSuchCommand",
                                            SD_JSON_BUILD_PAIR_STRING("message", message));
        return NULL;
}

static int method_wait_command(sd_varlink *link, sd_json_variant *parameters, sd_varlink_method_flags_t flags,
                               void *userdata) {
        static const sd_json_dispatch_field table[] = { VL_COMMAND_FIELDS, {} };
        _cleanup_(error_done) Error e = {};
        VarlinkFrontend *vf = userdata;
        CommandParams p = {};
        Command *c;
        int r;

        c = method_command(vf, link, parameters, table, &p, &r);
        if (!c)
                return r;
        Call call = varlink_call(vf, link, flags);
        if (!call_is_set(&call))
                return reply_oom(link);
        /* Answered (wait_done) when it ends, or now if it has. */
        r = command_wait(c, call, &e);
        if (r < 0) {
                varlink_call_free(call.data);
                return reply_error(link, &e);
        }
        return 0;
}

static int method_kill_command(sd_varlink *link, sd_json_variant *parameters, sd_varlink_method_flags_t flags,
                               void *userdata) {
        static const sd_json_dispatch_field table[] = {
                VL_COMMAND_FIELDS,
                { "signal", _SD_JSON_VARIANT_TYPE_INVALID, sd_json_dispatch_int32, offsetof(CommandParams, signal),
                  SD_JSON_MANDATORY },
                {}
        };
        _cleanup_(error_done) Error e = {};
        VarlinkFrontend *vf = userdata;
        CommandParams p = {};
        Command *c;
        int r;

        c = method_command(vf, link, parameters, table, &p, &r);
        if (!c)
                return r;
        r = check_signal(p.signal, &e);
        if (r >= 0)
                r = command_kill(c, p.signal, &e);
        if (r < 0)
                return reply_error(link, &e);
        return sd_varlink_reply(link, NULL);
}

/* A window dimension for command_resize(), which refuses more than 16 bits: a value
 * past UINT_MAX must not wrap into range on the way. */
static unsigned window_size(uint64_t v) {
        return v > UINT_MAX ? UINT_MAX : (unsigned) v;
}

static int method_resize_command(sd_varlink *link, sd_json_variant *parameters, sd_varlink_method_flags_t flags,
                                 void *userdata) {
        static const sd_json_dispatch_field table[] = {
                VL_COMMAND_FIELDS,
                { "rows", _SD_JSON_VARIANT_TYPE_INVALID, sd_json_dispatch_uint64, offsetof(CommandParams, size[0]),
                  SD_JSON_MANDATORY },
                { "columns", _SD_JSON_VARIANT_TYPE_INVALID, sd_json_dispatch_uint64, offsetof(CommandParams, size[1]),
                  SD_JSON_MANDATORY },
                {}
        };
        _cleanup_(error_done) Error e = {};
        VarlinkFrontend *vf = userdata;
        CommandParams p = {};
        Command *c;
        int r;

        c = method_command(vf, link, parameters, table, &p, &r);
        if (!c)
                return r;
        r = command_resize(c, window_size(p.size[0]), window_size(p.size[1]), &e);
        if (r < 0)
                return reply_error(link, &e);
        return sd_varlink_reply(link, NULL);
}

static int method_open_terminal(sd_varlink *link, sd_json_variant *parameters, sd_varlink_method_flags_t flags,
                                void *userdata) {
        static const sd_json_dispatch_field table[] = { VL_COMMAND_FIELDS, {} };
        _cleanup_(error_done) Error e = {};
        _cleanup_close_ int fd = -EBADF;
        VarlinkFrontend *vf = userdata;
        CommandParams p = {};
        Command *c;
        int r, index;

        c = method_command(vf, link, parameters, table, &p, &r);
        if (!c)
                return r;
        r = command_open_terminal(c, &fd, &e);
        if (r < 0)
                return reply_error(link, &e);
        /* sd-varlink sends it with the reply and owns it from here. */
        index = sd_varlink_push_fd(link, fd);
        if (index < 0) {
                (void) error_set(&e, ERROR_FAILED, -index, "Cannot pass the terminal of command %" PRIu64 ": %s",
                                 c->id, strerror(-index));
                return reply_error(link, &e);
        }
        TAKE_FD(fd);
        return sd_varlink_replybo(link, SD_JSON_BUILD_PAIR_INTEGER("terminal", index));
}

typedef struct CopyParams {
        const char *id;
        const char *path;
        uint64_t tar;
} CopyParams;

/* CopyIn and CopyOut: the path inside, and the descriptor the tar stream is read from
 * or written to. */
static int method_copy(sd_varlink *link, sd_json_variant *parameters, sd_varlink_method_flags_t flags,
                       VarlinkFrontend *vf, RunCopy kind) {
        static const sd_json_dispatch_field table[] = {
                { "id", SD_JSON_VARIANT_STRING, sd_json_dispatch_const_string, offsetof(CopyParams, id),
                  SD_JSON_MANDATORY },
                { "path", SD_JSON_VARIANT_STRING, sd_json_dispatch_const_string, offsetof(CopyParams, path),
                  SD_JSON_MANDATORY },
                { "tar", _SD_JSON_VARIANT_TYPE_INVALID, sd_json_dispatch_uint64, offsetof(CopyParams, tar),
                  SD_JSON_MANDATORY },
                {}
        };
        _cleanup_(passed_fds_done) PassedFds passed = {};
        _cleanup_(error_done) Error e = {};
        CopyParams p = {};
        Session *s;
        int r, fd;

        /* Before serve_caller() closes them; a refused or failed call leaves none here. */
        r = passed_fds_take(link, &passed);
        if (r < 0)
                return reply_oom(link);
        s = method_session(vf, link, parameters, table, &p, &p.id, &r);
        if (!s)
                return r;
        fd = passed_fd(&passed, p.tar, "tar", &e);
        r = fd < 0 ? fd : check_copy(p.path, fd, &e);
        if (r < 0)
                return reply_error(link, &e);
        Call call = varlink_call(vf, link, flags);
        if (!call_is_set(&call))
                return reply_oom(link);
        /* The core takes a copy of the descriptor; ours closes on return. */
        r = session_copy(s, kind, p.path, fd, call, &e);
        if (r < 0) {
                varlink_call_free(call.data);
                return reply_error(link, &e);
        }
        return 0; /* replied when the copy is over */
}

static int method_copy_in(sd_varlink *link, sd_json_variant *parameters, sd_varlink_method_flags_t flags,
                          void *userdata) {
        return method_copy(link, parameters, flags, userdata, RUN_COPY_IN);
}

static int method_copy_out(sd_varlink *link, sd_json_variant *parameters, sd_varlink_method_flags_t flags,
                           void *userdata) {
        return method_copy(link, parameters, flags, userdata, RUN_COPY_OUT);
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

        /* Run's stdio and the copies' tar streams come as descriptors. Others sent along
         * are closed unused. */
        r = sd_varlink_set_allow_fd_passing_input(link, true);
        if (r < 0)
                log_debug("Cannot receive file descriptors on a varlink connection: %s", strerror(-r));
        /* Start and OpenTerminal answer with a terminal's master. */
        r = sd_varlink_set_allow_fd_passing_output(link, true);
        if (r < 0)
                log_debug("Cannot send file descriptors on a varlink connection: %s", strerror(-r));
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
                                VARLINK_INTERFACE ".DiscardSession", method_discard_session,
                                VARLINK_INTERFACE ".GetSession", method_get_session,
                                VARLINK_INTERFACE ".CollectGarbage", method_collect_garbage,
                                VARLINK_INTERFACE ".Run", method_run,
                                VARLINK_INTERFACE ".Start", method_start,
                                VARLINK_INTERFACE ".WaitCommand", method_wait_command,
                                VARLINK_INTERFACE ".KillCommand", method_kill_command,
                                VARLINK_INTERFACE ".ResizeCommand", method_resize_command,
                                VARLINK_INTERFACE ".OpenTerminal", method_open_terminal,
                                VARLINK_INTERFACE ".CopyIn", method_copy_in,
                                VARLINK_INTERFACE ".CopyOut", method_copy_out,
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
