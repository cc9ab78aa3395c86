/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "session-private.h"
#include "base.h"
#include "dircopy.h"
#include "options.h"
#include "util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

void outcome_done(Outcome *o) {
        error_done(&o->error);
        *o = (Outcome) {};
}

/* Each waiting call gets one answer, and is forgotten. */
void session_answer_begin(Session *s, const Outcome *o) {
        Call c = s->begin_call;

        s->begin_call = CALL_NULL;
        if (call_is_set(&c))
                c.frontend->ops->begin_done(c.data, s, o);
}

void session_answer_ends(Session *s, const Outcome *o) {
        Call *l = TAKE_PTR(s->end_calls);
        size_t n = s->n_end_calls;

        s->n_end_calls = 0;
        for (size_t i = 0; i < n; i++)
                l[i].frontend->ops->end_done(l[i].data, s, o);
        free(l);
}

static void session_answer_limits(Session *s, const Outcome *o) {
        Call c = s->limits_call;

        s->limits_call = CALL_NULL;
        if (call_is_set(&c))
                c.frontend->ops->limits_done(c.data, s, o);
}

/* Begin's steps. BEGIN_UNPACK: a full private copy into root/. Copy-on-write:
 * BEGIN_BASE unpacks the tarball into bases/.new-<id> when no base of it is cached,
 * then BEGIN_PREPARE makes the session's upper/ over the base. */
enum {
        BEGIN_UNPACK,
        BEGIN_BASE,
        BEGIN_PREPARE,
};


/* A copy-on-write session's lower layer: its base's tree, or its directory chroot. */
char *session_lower_path(Session *s) {
        if (s->rec.lower)
                return strdup(s->rec.lower);
        return s->rec.base ? base_tree_path(s->manager->bases, s->rec.base) : NULL;
}

bool session_is_overlay(const Session *s) {
        return s->rec.base || s->rec.lower;
}

Session *session_new(Manager *m, SessionRecord *rec) {
        _cleanup_free_ Session *s = calloc(1, sizeof(Session));
        int r;

        if (!s)
                return NULL;
        s->manager = m;
        s->progress_fd = -EBADF;
        s->source_fd = -EBADF;
        s->leader = LEADER_NULL;
        s->dir = strf("%s/%s", m->paths.sessions_dir, rec->id);
        s->tree = strf("%s/%s/root", m->paths.sessions_dir, rec->id);
        r = session_slice_name(rec->id, &s->slice);
        if (!s->dir || !s->tree || r < 0) {
                free(s->dir);
                free(s->tree);
                free(s->slice);
                return NULL;
        }
        s->rec = *rec;
        *rec = (SessionRecord) {};
        s->next = m->sessions;
        m->sessions = s;
        return TAKE_PTR(s);
}

Session *session_free(Session *s) {
        Outcome stopping = {};
        Manager *m;

        if (!s)
                return NULL;
        m = s->manager;
        if (call_is_set(&s->begin_call) || s->n_end_calls > 0 || call_is_set(&s->limits_call)) {
                (void) error_set(&stopping.error, ERROR_FAILED, ECANCELED, "The service is stopping");
                session_answer_begin(s, &stopping);
                session_answer_ends(s, &stopping);
                session_answer_limits(s, &stopping);
                outcome_done(&stopping);
        }
        for (Session **i = &m->sessions; *i; i = &(*i)->next)
                if (*i == s) {
                        *i = s->next;
                        break;
                }
        while (s->runs) {
                Run *r = s->runs;
                s->runs = r->next;
                run_free(r);
        }
        session_free_commands(s);
        session_boot_free(s);
        systemd_job_cancel(s->stop_job);
        systemd_job_cancel(s->limits_job);
        free(s->repack_temp);
        free(s->slice);
        operation_free(s->worker);
        operation_free(s->reader);
        safe_close(s->progress_fd);
        safe_close(s->source_fd);
        session_drop_spare(s);
        sd_event_source_unref(s->leader_timer);
        session_stop_leader(s);
        login_entries_free(s->login);
        outcome_done(&s->begin_failure);
        session_record_done(&s->rec);
        free(s->dir);
        free(s->tree);
        free(s);
        return NULL;
}

void session_set_state(Session *s, SessionState state) {
        int r;

        s->rec.state = state;
        r = store_write(s->manager->sessions_dirfd, &s->rec);
        if (r < 0)
                log_warning_errno(r, "Failed to write the state of session '%s': %m", s->rec.id);
        manager_emit_state_changed(s->manager, s);
}

/* systemd's answer to a change of limits, as an outcome. */
void session_limits_outcome(Session *s, int r, const char *message, Outcome *o) {
        if (r == -EOPNOTSUPP)
                (void) error_set(&o->error, ERROR_NOT_SUPPORTED, EOPNOTSUPP,
                                 "Limits need a systemd user manager, and there is none on the bus");
        else if (r < 0)
                (void) error_set(&o->error, ERROR_FAILED, r, "systemd did not set the limits on %s: %s", s->slice,
                                 strempty(message));
}

/* Put the session's limits on its slice; done is called when that is in effect. */
void session_apply_limits(Session *s, systemd_job_done_t done) {
        int r;

        s->limits_job = systemd_job_cancel(s->limits_job);
        r = systemd_set_slice_limits(s->manager->systemd, s->slice, &s->rec.limits, done, s, &s->limits_job);
        if (r < 0)
                done(r, strerror(-r), s);
}

static void on_loaded_limits(int r, const char *message, void *userdata) {
        Session *s = userdata;

        s->limits_job = NULL;
        if (r < 0)
                log_warning("Failed to set the limits of session '%s' on %s: %s", s->rec.id, s->slice,
                            r == -EOPNOTSUPP ? "no systemd user manager" : strempty(message));
}

int session_load(Manager *m, const char *id) {
        SessionRecord rec = {};
        Session *s;
        int r;

        r = store_read(m->sessions_dirfd, id, &rec);
        if (r < 0) {
                /* A directory without a valid state is what a crash between mkdir and
                 * the first state write leaves: remove it. */
                log_warning("Session '%s' has no valid state (%s): removing it", id, strerror(-r));
                rec = (SessionRecord) { .id = strdup(id), .chroot = strdup(""), .chroot_type = strdup(""),
                                        .source = strdup(""), .state = SESSION_ENDING };
                if (!rec.id || !rec.chroot || !rec.chroot_type || !rec.source) {
                        session_record_done(&rec);
                        return -ENOMEM;
                }
        }
        s = session_new(m, &rec);
        session_record_done(&rec);
        if (!s)
                return -ENOMEM;
        if (s->rec.state == SESSION_READY && limits_any(&s->rec.limits))
                /* After a reboot the transient slice is gone: make it again. */
                session_apply_limits(s, on_loaded_limits);
        if (s->rec.state == SESSION_READY && s->rec.caller) {
                /* An instance that watched its caller died (a caller outlives no
                 * instance otherwise: such a session keeps it from exiting when idle),
                 * and no one here can tell when that caller goes: end it. */
                log_warning("Session '%s' was to end with its caller %s, which this instance cannot watch: ending it",
                            id, s->rec.caller);
                s->rec.state = SESSION_ENDING;
        }
        if (s->rec.state == SESSION_READY)
                session_keep_tree(s);
        /* A booted session's system comes back with the service. */
        if (s->rec.state == SESSION_READY && s->rec.boot)
                session_boot_start(s);
        if (s->rec.state != SESSION_READY) {
                if (s->rec.state == SESSION_PREPARING)
                        log_warning("Session '%s' was interrupted while being made: removing it", id);
                s->rec.state = SESSION_ENDING;
                session_continue_end(s);
        }
        return 0;
}

static void on_set_limits(int r, const char *message, void *userdata) {
        Session *s = userdata;
        Outcome o = {};

        s->limits_job = NULL;
        if (r >= 0) {
                r = store_write(s->manager->sessions_dirfd, &s->rec);
                if (r < 0)
                        log_warning_errno(r, "Failed to write the state of session '%s': %m", s->rec.id);
        } else {
                s->rec.limits = s->old_limits;
                session_limits_outcome(s, r, message, &o);
        }
        session_answer_limits(s, &o);
        outcome_done(&o);
}

int session_check_ready(const Session *s, Error *e) {
        if (s->rec.state != SESSION_READY)
                return error_set(e, ERROR_NOT_READY, EBUSY, "Session '%s' is %s, not ready", s->rec.id,
                                 session_state_to_string(s->rec.state));
        return 0;
}

int session_set_limits(Session *s, const Limits *l, Call call, Error *e) {
        int r;

        if (!limits_any(l))
                return error_set(e, ERROR_INVALID_ARGUMENT, EINVAL, "No limit given");
        r = session_check_ready(s, e);
        if (r < 0)
                return r;
        /* A job of our own (the limits put back after a restart) is replaced. */
        if (call_is_set(&s->limits_call))
                return error_set(e, ERROR_NOT_READY, EALREADY, "Session '%s' is already changing its limits",
                                 s->rec.id);
        s->old_limits = s->rec.limits;
        if (l->memory_max)
                s->rec.limits.memory_max = l->memory_max;
        if (l->tasks_max)
                s->rec.limits.tasks_max = l->tasks_max;
        if (l->cpu_weight)
                s->rec.limits.cpu_weight = l->cpu_weight;
        s->limits_call = call;
        session_apply_limits(s, on_set_limits);
        return 0;
}

int session_kill(Session *s, int sig, Error *e) {
        int r;

        r = check_signal(sig, e);
        if (r >= 0)
                r = session_check_ready(s, e);
        if (r < 0)
                return r;
        /* A booted session's commands are all in one cgroup of its system, with what
         * they left behind: the agent signals that (once each). SIGKILL also goes the
         * usual way, which counts the Runs as killed and ends those still waiting. */
        if (session_boot_signal(s, sig) < 0 || sig == SIGKILL)
                session_signal_runs(s, sig);
        return 0;
}
