/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* End, top-down: session_end() kills the session's commands; once none runs,
 * session_continue_end() stops the session's slice (on_slice_stopped), writes a
 * write-back session back into its tarball (on_repacked) and removes the tree and the
 * state (on_removed), then answers everyone who waited. A failed Begin ends the same
 * way, answered with why it failed. */
#include "session-private.h"
#include "base.h"
#include "dircopy.h"
#include "operation.h"
#include "util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

static void on_slice_stopped(int r, const char *message, void *userdata);
static int session_start_repack(Session *s, Error *e);
static int repack_temp_file(const char *source, char **ret_path);
static void on_repacked(Operation *op, Outcome *o, void *userdata);
static void session_finish_repack(Session *s, Outcome *o);
static int session_start_removal(Session *s, Error *e);
static void on_removed(Operation *op, Outcome *o, void *userdata);

int session_end(Session *s, Call call, Error *e) {
        if (call_is_set(&call)) {
                Call *l = realloc(s->end_calls, sizeof(Call) * (s->n_end_calls + 1));
                if (!l)
                        return error_set(e, ERROR_FAILED, ENOMEM, "Cannot end session '%s': out of memory", s->rec.id);
                s->end_calls = l;
                s->end_calls[s->n_end_calls++] = call;
        }

        switch (s->rec.state) {
        case SESSION_PREPARING:
                /* Stop Begin's child: its done callback sees the failure and ends it. */
                (void) error_set(&s->begin_failure.error, ERROR_SESSION_ENDED, ECANCELED,
                                 "Session '%s' was ended while it was being made", s->rec.id);
                operation_kill(s->worker);
                return 0;
        case SESSION_READY:
                session_set_state(s, SESSION_ENDING);
                session_kill_runs(s);
                session_boot_stop(s);
                break;
        case SESSION_ENDING:
        default:
                break;
        }
        session_continue_end(s);
        return 0;
}

int session_discard(Session *s, Call call, Error *e) {
        int r;

        if (s->rec.write_back) {
                if (s->rec.state == SESSION_ENDING)
                        return error_set(e, ERROR_NOT_READY, EBUSY,
                                         "Session '%s' is ending already, and is written back first", s->rec.id);
                /* On disk too: a restart of the service must not write it back either. */
                s->rec.write_back = false;
                r = store_write(s->manager->sessions_dirfd, &s->rec);
                if (r < 0) {
                        s->rec.write_back = true;
                        return error_set(e, ERROR_FAILED, r, "Cannot record that session '%s' is discarded: %s",
                                         s->rec.id, strerror(-r));
                }
                log_info("Session '%s': discarded, it will not be written back to %s", s->rec.id, s->rec.source);
        }
        return session_end(s, call, e);
}

void session_continue_end(Session *s) {
        Outcome o = {};
        int r;

        if (s->rec.state != SESSION_ENDING || s->worker || s->n_runs > 0 || s->stop_job || s->boot)
                return;
        /* No unit of the session stays behind, and anything a crash left in it dies. */
        if (!s->slice_stopped) {
                r = systemd_stop_unit(s->manager->systemd, s->slice, on_slice_stopped, s, &s->stop_job);
                if (r >= 0)
                        return;
                if (r != -EOPNOTSUPP)
                        log_warning_errno(r, "Failed to stop %s: %m", s->slice);
                s->slice_stopped = true;
        }
        if (s->rec.write_back && !s->repacked && !error_is_set(&s->begin_failure.error)) {
                if (session_start_repack(s, &o.error) < 0)
                        session_finish_repack(s, &o);
                outcome_done(&o);
                return;
        }
        /* Its commands are gone: so goes the overlay they shared. */
        session_drop_spare(s);
        session_stop_leader(s);
        if (session_start_removal(s, &o.error) < 0)
                on_removed(NULL, &o, s);
        outcome_done(&o);
}

static void on_slice_stopped(int r, const char *message, void *userdata) {
        Session *s = userdata;

        s->stop_job = NULL;
        if (r < 0 && r != -EOPNOTSUPP)
                log_warning("Failed to stop %s: %s", s->slice, strempty(message));
        s->slice_stopped = true;
        session_continue_end(s);
}

/* Write the tree back into its tarball: into a temporary file, renamed over the
 * tarball when complete (session_finish_repack). */
static int session_start_repack(Session *s, Error *e) {
        _cleanup_close_ int sessfd = -EBADF, out = -EBADF;
        _cleanup_free_ char *error = NULL, *tmp = NULL;
        int r, filter;

        filter = dircopy_filter_for_name(s->rec.source);
        out = filter < 0 ? filter : repack_temp_file(s->rec.source, &tmp);
        if (out < 0)
                return error_set(e, ERROR_FAILED, out, "Cannot write the session back to %s: %s", s->rec.source,
                                 strerror(-out));
        sessfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sessfd < 0) {
                r = -errno;
                (void) unlink(tmp);
                return error_set(e, ERROR_FAILED, r, "Cannot write the session back: %s", strerror(-r));
        }
        WorkerChild w = { .sessfd = sessfd, .input_fd = -EBADF, .output_fd = out, .filter = filter };
        r = start_worker(s, &w, -EBADF, repack_after_map, "Writing back", on_repacked, &error);
        if (r < 0) {
                (void) unlink(tmp);
                return error_set(e, ERROR_FAILED, r, "Cannot write the session back to %s: %s", s->rec.source,
                                 error ? error : strerror(-r));
        }
        s->repack_temp = TAKE_PTR(tmp);
        return 0;
}

/* A temporary file beside the tarball (so that the rename is atomic and the file is
 * the user's), with the tarball's mode. */
static int repack_temp_file(const char *source, char **ret_path) {
        _cleanup_free_ char *dir = NULL, *tmp = NULL;
        const char *base = strrchr(source, '/');
        struct stat st;
        int fd;

        if (!base || stat(source, &st) < 0)
                return -ENOENT;
        dir = strndup(source, (size_t) (base - source));
        tmp = dir ? strf("%s/.#%s.XXXXXX", dir, base + 1) : NULL;
        if (!tmp)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        (void) fchmod(fd, st.st_mode & 07777);
        *ret_path = TAKE_PTR(tmp);
        return fd;
}

static void on_repacked(Operation *op, Outcome *o, void *userdata) {
        Session *s = userdata;

        s->worker = NULL;
        session_finish_repack(s, o);
}

/* The repack is over: on success the new tarball replaces the old one and End goes
 * on; on failure End fails and the session stays, tree and all. */
static void session_finish_repack(Session *s, Outcome *o) {
        _cleanup_free_ char *tmp = TAKE_PTR(s->repack_temp);

        if (!error_is_set(&o->error) && rename(tmp, s->rec.source) < 0)
                (void) error_set(&o->error, ERROR_FAILED, errno, "Cannot replace '%s': %m", s->rec.source);
        if (!error_is_set(&o->error)) {
                s->repacked = true;
                session_continue_end(s);
                return;
        }
        if (tmp)
                (void) unlink(tmp);
        log_error("Failed to write session '%s' back to %s: %s", s->rec.id, s->rec.source, o->error.message);
        session_answer_ends(s, o);
        s->slice_stopped = false;
        session_set_state(s, SESSION_READY);
}

/* Removal runs as root of a namespace with the user's own ids mapped too, so that it
 * reaches sessions/<id> (the user's) and everything in it. */
static int session_start_removal(Session *s, Error *e) {
        _cleanup_close_ int sessfd = -EBADF;
        _cleanup_free_ char *error = NULL;
        WorkerChild w = { .input_fd = -EBADF, .output_fd = -EBADF };
        int r;

        sessfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sessfd < 0)
                return error_set(e, ERROR_FAILED, errno, "Cannot remove the session: %m");
        w.sessfd = sessfd;
        worker_set_cache(s, &w);
        r = start_worker(s, &w, -EBADF, remove_after_map, "Removal", on_removed, &error);
        if (r < 0)
                return error_set(e, ERROR_FAILED, r, "Cannot remove the session: %s", error ? error : strerror(-r));
        return 0;
}

/* The session is gone from disk: answer everyone who waited and forget it. */
static void on_removed(Operation *op, Outcome *o, void *userdata) {
        Session *s = userdata;
        bool failed = error_is_set(&o->error);
        Outcome ok = {};
        int r;

        s->worker = NULL;
        if (failed)
                log_error("Failed to remove session '%s': %s", s->rec.id, o->error.message);
        else {
                /* A booted session's console logs and cgroups go with it. */
                session_boot_remove_leftovers(s);
                r = store_remove(s->manager->sessions_dirfd, s->rec.id);
                if (r < 0)
                        log_warning_errno(r, "Failed to remove the state of session '%s': %m", s->rec.id);
        }
        session_answer_begin(s, error_is_set(&s->begin_failure.error) ? &s->begin_failure : o);
        session_answer_ends(s, failed ? o : &ok);
        if (failed)
                return; /* still listed as ending: the next End or start retries */

        Manager *m = s->manager;
        bool had_base = s->rec.base;
        manager_emit_removed(m, s);
        session_free(s);
        /* The last session of a base whose tarball has changed since takes it along. */
        if (had_base)
                (void) base_collect(m->bases, false, NULL);
}
