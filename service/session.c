/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "session-private.h"
#include "base.h"
#include "dircopy.h"
#include "options.h"
#include "report.h"
#include "rmtree.h"
#include "util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

void outcome_done(Outcome *o) {
        error_done(&o->error);
        *o = (Outcome) {};
}

/* Each waiting call gets one answer, and is forgotten. */
static void session_answer_begin(Session *s, const Outcome *o) {
        Call c = s->begin_call;

        s->begin_call = CALL_NULL;
        if (call_is_set(&c))
                c.frontend->ops->begin_done(c.data, s, o);
}

static void session_answer_ends(Session *s, const Outcome *o) {
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

static int begin_start_unpack(Session *s, char **ret_error);

/* A copy-on-write session's lower layer: its base's tree, or its directory chroot. */
char *session_lower_path(Session *s) {
        if (s->rec.lower)
                return strdup(s->rec.lower);
        return s->rec.base ? strf("%s/%s/root", s->manager->paths.bases_dir, s->rec.base) : NULL;
}

bool session_is_overlay(const Session *s) {
        return s->rec.base || s->rec.lower;
}
static int begin_start_prepare(Session *s, char **ret_error);
static int begin_finish_base(Session *s);

static Session *session_new(Manager *m, SessionRecord *rec) {
        _cleanup_free_ Session *s = calloc(1, sizeof(Session));
        int r;

        if (!s)
                return NULL;
        s->manager = m;
        s->worker_report_fd = -EBADF;
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
        systemd_job_cancel(s->stop_job);
        systemd_job_cancel(s->limits_job);
        free(s->repack_temp);
        free(s->slice);
        sd_event_source_unref(s->worker_source);
        sd_event_source_unref(s->reader_source);
        safe_close(s->worker_report_fd);
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

static void session_set_state(Session *s, SessionState state) {
        int r;

        s->rec.state = state;
        r = store_write(s->manager->sessions_dirfd, &s->rec);
        if (r < 0)
                log_warning("Failed to write the state of session '%s': %s", s->rec.id, strerror(-r));
        manager_emit_state_changed(s->manager, s);
}

/* ---- helper children: unpack and removal, root in the namespace with the user's
 * own ids mapped too, so they can reach sessions/<id> (which belongs to the user). */

static int session_start_removal(Session *s) {
        _cleanup_close_ int sessfd = -EBADF;
        _cleanup_free_ char *error = NULL;
        WorkerChild w = { .input_fd = -EBADF, .output_fd = -EBADF };
        int r;

        sessfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sessfd < 0)
                return -errno;
        w.sessfd = sessfd;
        r = start_worker(s, &w, -EBADF, remove_after_map, &error);
        if (r < 0)
                log_error("Failed to start removing session '%s': %s", s->rec.id, error ? error : strerror(-r));
        return r;
}

/* Write the tree back into its tarball: into a temporary file beside it (so the rename
 * is atomic and the file is the user's), renamed over the tarball when complete. */
static int session_start_repack(Session *s) {
        _cleanup_close_ int sessfd = -EBADF, out = -EBADF;
        _cleanup_free_ char *error = NULL, *dir = NULL, *tmp = NULL;
        const char *base;
        struct stat st;
        int r, filter;

        filter = dircopy_filter_for_name(s->rec.source);
        if (filter < 0)
                return filter;
        base = strrchr(s->rec.source, '/');
        if (!base || stat(s->rec.source, &st) < 0)
                return -ENOENT;
        dir = strndup(s->rec.source, (size_t) (base - s->rec.source));
        tmp = dir ? strf("%s/.#%s.XXXXXX", dir, base + 1) : NULL;
        if (!tmp)
                return -ENOMEM;
        out = mkostemp(tmp, O_CLOEXEC);
        if (out < 0)
                return -errno;
        (void) fchmod(out, st.st_mode & 07777);
        sessfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sessfd < 0) {
                r = -errno;
                (void) unlink(tmp);
                return r;
        }
        WorkerChild w = { .sessfd = sessfd, .input_fd = -EBADF, .output_fd = out, .filter = filter };
        r = start_worker(s, &w, -EBADF, repack_after_map, &error);
        if (r < 0) {
                log_error("Failed to start writing session '%s' back: %s", s->rec.id, error ? error : strerror(-r));
                (void) unlink(tmp);
                return r;
        }
        s->repack_temp = TAKE_PTR(tmp);
        return 0;
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
        (void) unlink(tmp);
        log_error("Failed to write session '%s' back to %s: %s", s->rec.id, s->rec.source, o->error.message);
        session_answer_ends(s, o);
        s->slice_stopped = false;
        session_set_state(s, SESSION_READY);
}

/* The session is gone from disk: answer everyone who waited and forget it. */
static void session_finish_removal(Session *s, const Outcome *removal) {
        Outcome ok = {};
        int r;

        bool failed = error_is_set(&removal->error);

        if (!failed) {
                r = store_remove(s->manager->sessions_dirfd, s->rec.id);
                if (r < 0)
                        log_warning("Failed to remove the state of session '%s': %s", s->rec.id, strerror(-r));
        } else
                log_error("Failed to remove session '%s': %s", s->rec.id, removal->error.message);

        session_answer_begin(s, error_is_set(&s->begin_failure.error) ? &s->begin_failure : removal);
        session_answer_ends(s, failed ? removal : &ok);
        if (failed) {
                /* Keep it listed as ending: the next End or start retries. */
                s->worker_pid = 0;
                return;
        }
        Manager *m = s->manager;
        bool had_base = s->rec.base;
        manager_emit_removed(m, s);
        session_free(s);
        /* The last session of a base whose tarball has changed since takes it along. */
        if (had_base)
                (void) manager_collect_bases(m, false, NULL);
}

static void on_slice_stopped(int r, const char *message, void *userdata) {
        Session *s = userdata;

        s->stop_job = NULL;
        if (r < 0 && r != -EOPNOTSUPP)
                log_warning("Failed to stop %s: %s", s->slice, strempty(message));
        s->slice_stopped = true;
        session_continue_end(s);
}

/* End, once nothing runs any more: stop the session's slice (so no unit of it stays
 * behind, and anything a crash left in it dies), then remove the tree. */
void session_continue_end(Session *s) {
        int r;
        Outcome o = {};

        if (s->rec.state != SESSION_ENDING || s->worker_source || s->n_runs > 0 || s->stop_job)
                return;
        if (!s->slice_stopped) {
                r = systemd_stop_unit(s->manager->systemd, s->slice, on_slice_stopped, s, &s->stop_job);
                if (r >= 0)
                        return;
                if (r != -EOPNOTSUPP)
                        log_warning("Failed to stop %s: %s", s->slice, strerror(-r));
                s->slice_stopped = true;
        }
        if (s->rec.write_back && !s->repacked && !error_is_set(&s->begin_failure.error)) {
                r = session_start_repack(s);
                if (r >= 0)
                        return;
                (void) error_set(&o.error, ERROR_FAILED, r, "Cannot write the session back to %s: %s", s->rec.source,
                                 strerror(-r));
                session_finish_repack(s, &o);
                outcome_done(&o);
                return;
        }
        /* Its commands are gone: so goes the overlay they shared. */
        session_drop_spare(s);
        session_stop_leader(s);
        r = session_start_removal(s);
        if (r < 0) {
                (void) error_set(&o.error, ERROR_FAILED, r, "Cannot remove the session: %s", strerror(-r));
                session_finish_removal(s, &o);
                outcome_done(&o);
        }
}

/* Begin is over: the session is ready, or whatever it made is removed before the
 * caller hears why it failed. o is the outcome of the last step. */
static void session_finish_begin(Session *s, Outcome *o) {
        s->source_fd = safe_close(s->source_fd);
        s->login = login_entries_free(s->login);
        if (!error_is_set(&o->error) && !error_is_set(&s->begin_failure.error)) {
                session_set_state(s, SESSION_READY);
                session_keep_tree(s);
                session_answer_begin(s, o);
                return;
        }
        if (!error_is_set(&s->begin_failure.error))
                log_warning("Begin of session '%s' failed: %s", s->rec.id, o->error.message);
        error_move(&s->begin_failure.error, &o->error);
        session_set_state(s, SESSION_ENDING);
        session_continue_end(s);
}

/* systemd's answer to a change of limits, as an outcome. */
static void limits_outcome(Session *s, int r, const char *message, Outcome *o) {
        if (r == -EOPNOTSUPP)
                (void) error_set(&o->error, ERROR_NOT_SUPPORTED, EOPNOTSUPP,
                                 "Limits need a systemd user manager, and there is none on the bus");
        else if (r < 0)
                (void) error_set(&o->error, ERROR_FAILED, r, "systemd did not set the limits on %s: %s", s->slice,
                                 strempty(message));
}

static void on_begin_limits(int r, const char *message, void *userdata) {
        Session *s = userdata;
        Outcome o = {};

        s->limits_job = NULL;
        limits_outcome(s, r, message, &o);
        session_finish_begin(s, &o);
        outcome_done(&o);
}

/* Put the session's limits on its slice; done is called when that is in effect. */
static void session_apply_limits(Session *s, systemd_job_done_t done) {
        int r;

        s->limits_job = systemd_job_cancel(s->limits_job);
        r = systemd_set_slice_limits(s->manager->systemd, s->slice, &s->rec.limits, done, s, &s->limits_job);
        if (r < 0)
                done(r, strerror(-r), s);
}

/* A failed Begin's half-made base goes (if it is still there). */
static void begin_drop_new_base(Session *s) {
        _cleanup_free_ char *name = strf(".new-%s", s->rec.id);
        struct stat st;

        if (name && fstatat(s->manager->bases_dirfd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0 &&
            manager_retire_base(s->manager, name) < 0)
                log_warning("Cannot remove the unfinished base of session '%s'", s->rec.id);
}

/* After a step of a Begin that went well: start the next one, if there is one. On
 * failure, *o says why. Returns whether a step was started. */
static bool begin_next_step(Session *s, Outcome *o) {
        _cleanup_free_ char *error = NULL;
        int r;

        if (s->begin_phase == BEGIN_BASE) {
                r = begin_finish_base(s);
                if (r >= 0)
                        r = begin_start_prepare(s, &error);
                if (r >= 0)
                        return true;
                (void) error_set(&o->error, ERROR_FAILED, r, "Cannot set up the session's base: %s",
                                 error ? error : strerror(-r));
                begin_drop_new_base(s);
                return false;
        }
        return false;
}

/* The kernel refused overlayfs in a user namespace: say so once and make this and
 * every later session a full copy. */
static bool begin_fall_back(Session *s, Outcome *o) {
        _cleanup_free_ char *error = NULL;
        int r;

        if (s->begin_phase != BEGIN_PREPARE || o->error.kind != ERROR_NOT_SUPPORTED)
                return false;
        log_warning("The kernel does not allow %s; sessions are full copies from now on", o->error.message);
        s->manager->overlay_refused = true;
        free(s->rec.base);
        s->rec.base = NULL;
        free(s->rec.lower);
        s->rec.lower = NULL;
        r = store_write(s->manager->sessions_dirfd, &s->rec);
        if (r >= 0 && lseek(s->source_fd, 0, SEEK_SET) < 0)
                r = -errno;
        if (r >= 0)
                r = begin_start_unpack(s, &error);
        outcome_done(o);
        if (r >= 0) {
                s->progress_fd = fcntl(s->source_fd, F_DUPFD_CLOEXEC, 3);
                return true;
        }
        (void) error_set(&o->error, ERROR_FAILED, r, "Cannot start unpacking: %s", error ? error : strerror(-r));
        return false;
}

int on_worker_exit(sd_event_source *source, const siginfo_t *si, void *userdata) {
        Session *s = userdata;
        Outcome o = {};

        outcome_from_child(si, s->worker_report_fd, s->rec.state == SESSION_PREPARING ? "Unpacking" : "Removal", &o);
        s->worker_source = sd_event_source_unref(s->worker_source);
        /* Kills a reader still blocked on a stream that the unpack abandoned. */
        s->reader_source = sd_event_source_unref(s->reader_source);
        s->worker_report_fd = safe_close(s->worker_report_fd);
        s->progress_fd = safe_close(s->progress_fd);
        s->worker_pid = 0;

        bool ok = !error_is_set(&o.error) && !error_is_set(&s->begin_failure.error);
        if (s->rec.state == SESSION_PREPARING && s->begin_phase == BEGIN_BASE && error_is_set(&o.error))
                begin_drop_new_base(s);
        if (s->rec.state == SESSION_PREPARING && begin_fall_back(s, &o))
                ;
        else if (s->rec.state == SESSION_PREPARING) {
                if (ok && begin_next_step(s, &o))
                        ; /* another child is on its way */
                else if (ok && limits_any(&s->rec.limits))
                        session_apply_limits(s, on_begin_limits);
                else
                        session_finish_begin(s, &o);
        } else if (s->repack_temp)
                session_finish_repack(s, &o);
        else
                session_finish_removal(s, &o);

        outcome_done(&o);
        return 0;
}

/* Whether this Begin makes a copy-on-write session: tarballs only (a directory chroot
 * is copied: its host owners are translated), not when End writes back, not when the
 * caller or the chroot's union-type says none, not once the kernel refused. */
static bool begin_overlay(Manager *m, const Chroot *chroot, const BeginFlags *flags) {
        const char *u = flags->union_type ? flags->union_type : chroot->union_type;

        return !flags->write_back && !streq_ptr(u, "none") && !m->overlay_refused;
}

/* A directory chroot is its own lower layer when its top belongs to root of the
 * session's user namespace (the first subordinate ids: made by mmdebstrap --mode=unshare
 * or unpacked in a user namespace), so that its owners are right inside as they are.
 * Any other directory is copied, its host owners translated (dircopy.h). */
static bool directory_is_layer(const IdMap *map, const struct stat *st) {
        return st->st_uid == map->uid_base && st->st_gid == map->gid_base;
}

static int begin_start_unpack(Session *s, char **ret_error) {
        _cleanup_close_ int sessfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        bool dir = streq(s->rec.chroot_type, "directory");

        if (sessfd < 0)
                return -errno;
        WorkerChild w = {
                .sessfd = sessfd,
                .input_fd = dir ? -EBADF : s->source_fd,
                .output_fd = -EBADF,
                .login = s->login,
                .max_bytes = s->max_bytes,
        };
        s->begin_phase = BEGIN_UNPACK;
        return start_worker(s, &w, dir ? s->source_fd : -EBADF, unpack_after_map, ret_error);
}

static int begin_start_base(Session *s, char **ret_error) {
        _cleanup_free_ char *name = strf(".new-%s", s->rec.id);
        _cleanup_close_ int basefd = -EBADF;
        Manager *m = s->manager;

        if (!name)
                return -ENOMEM;
        (void) rm_rf_at(m->bases_dirfd, name); /* an empty one from a crash: ours */
        if (mkdirat(m->bases_dirfd, name, 0700) < 0)
                return -errno;
        basefd = openat(m->bases_dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (basefd < 0)
                return -errno;
        /* The base is the tarball alone: add-login goes into the session's upper/. */
        WorkerChild w = { .sessfd = basefd, .input_fd = s->source_fd, .output_fd = -EBADF,
                          .max_bytes = s->max_bytes };
        s->begin_phase = BEGIN_BASE;
        return start_worker(s, &w, -EBADF, unpack_after_map, ret_error);
}

static int begin_start_prepare(Session *s, char **ret_error) {
        _cleanup_close_ int sessfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_free_ char *lower_path = session_lower_path(s);

        if (sessfd < 0)
                return -errno;
        if (!lower_path)
                return -ENOMEM;
        WorkerChild w = { .sessfd = sessfd, .input_fd = -EBADF, .output_fd = -EBADF, .login = s->login,
                          .lower_path = lower_path, .session_dir = s->dir };
        s->begin_phase = BEGIN_PREPARE;
        return start_worker(s, &w, -EBADF, prepare_after_map, ret_error);
}

/* The base is unpacked: give it its name, or drop it if another Begin was quicker. */
static int begin_finish_base(Session *s) {
        _cleanup_free_ char *name = strf(".new-%s", s->rec.id), *text = NULL;
        _cleanup_close_ int basefd = -EBADF;
        Manager *m = s->manager;
        struct stat st;
        int r;

        if (!name)
                return -ENOMEM;
        if (fstat(s->source_fd, &st) < 0)
                return -errno;
        text = base_source_text(s->rec.source, &st, s->rec.map_self);
        if (!text)
                return -ENOMEM;
        basefd = openat(m->bases_dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (basefd < 0)
                return -errno;
        r = write_file_atomic_at(basefd, "source", text, 0600);
        if (r < 0)
                return r;
        if (renameat(m->bases_dirfd, name, m->bases_dirfd, s->rec.base) >= 0)
                return 0;
        if (errno != EEXIST && errno != ENOTEMPTY)
                return -errno;
        if (!manager_base_ready(m, s->rec.base, s->rec.source, &st, s->rec.map_self))
                return -EEXIST;
        return manager_retire_base(m, name);
}

/* The checks and lookups of a Begin that come before anything is made: the source
 * open (*ret_fd, *ret_st) and whether the session is copy-on-write. */
static int begin_check(Manager *m, const Chroot *chroot, const BeginFlags *flags, int *ret_fd, struct stat *ret_st,
                       bool *ret_overlay, Error *e) {
        _cleanup_free_ char *why = NULL;
        _cleanup_close_ int fd = -EBADF;
        IdMap map;
        int r;

        r = manager_idmap(m, &map, &why);
        if (r < 0)
                return error_set(e, ERROR_NO_SUBORDINATE_IDS, r, "%s", why ? why : strerror(-r));
        if (flags->write_back && (chroot->type != CHROOT_FILE || dircopy_filter_for_name(chroot->path) < 0))
                return error_set(e, ERROR_NOT_SUPPORTED, EOPNOTSUPP,
                                 "Chroot '%s' is not a tarball that can be written back", chroot->name);
        fd = open(chroot->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | (chroot->type == CHROOT_DIRECTORY ? O_DIRECTORY : 0));
        if (fd < 0 || fstat(fd, ret_st) < 0)
                return error_set(e, ERROR_SOURCE_UNAVAILABLE, errno, "Cannot open %s '%s' of chroot '%s': %m",
                                 chroot->type == CHROOT_DIRECTORY ? "directory" : "tarball", chroot->path, chroot->name);
        if (chroot->type == CHROOT_FILE && !S_ISREG(ret_st->st_mode))
                return error_set(e, ERROR_SOURCE_UNAVAILABLE, EINVAL, "Tarball '%s' of chroot '%s' is not a regular file",
                                 chroot->path, chroot->name);
        *ret_overlay = begin_overlay(m, chroot, flags) &&
                       (chroot->type == CHROOT_FILE || directory_is_layer(&map, ret_st));
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int begin_login(Manager *m, const BeginFlags *flags, LoginEntries **ret, Error *e) {
        const char *missing = NULL;
        int r;

        *ret = NULL;
        if (!flags->add_login)
                return 0;
        r = login_entries(m, flags->add_accounts, ret, &missing);
        if (r < 0 && missing)
                return error_set(e, ERROR_NO_SUCH_USER, -r, "add-accounts: no account '%s' on the host", missing);
        if (r == -ERANGE)
                return error_set(e, ERROR_NOT_SUPPORTED, ERANGE,
                                 "An account's ids cannot exist inside a session (ids 0..%u)", IDMAP_COUNT - 1);
        if (r < 0)
                return error_set(e, ERROR_NOT_SUPPORTED, -r, "Cannot look up user %u on the host", (unsigned) m->uid);
        return 0;
}

/* The session's record, as Begin first writes it. */
static int begin_record(const Chroot *chroot, const char *id, const Limits *limits, const BeginFlags *flags,
                        bool overlay, const char *key, SessionRecord *ret) {
        SessionRecord rec = {
                .id = strdup(id),
                .chroot = strdup(chroot->name),
                .chroot_type = strdup(chroot_type_to_string(chroot->type)),
                .source = strdup(chroot->path),
                .state = SESSION_PREPARING,
                .created_usec = now_realtime_usec(),
                .limits = *limits,
                .write_back = flags->write_back,
                .base = overlay && chroot->type == CHROOT_FILE ? strdup(key) : NULL,
                .lower = overlay && chroot->type == CHROOT_DIRECTORY ? strdup(chroot->path) : NULL,
                .host_tree = flags->host_tree,
                /* Only a tree the host reads and writes by path needs the user to be
                 * themselves inside (docs/design.md, "The session map"). */
                .map_self = flags->host_tree,
        };

        if (!rec.id || !rec.chroot || !rec.chroot_type || !rec.source || (overlay && !rec.base && !rec.lower)) {
                session_record_done(&rec);
                return -ENOMEM;
        }
        *ret = rec;
        return 0;
}

int session_begin(Manager *m, const Chroot *chroot, const char *id, const Limits *limits, const BeginFlags *flags,
                  Call call, Session **ret, Error *e) {
        _cleanup_(login_entries_freep) LoginEntries *login = NULL;
        _cleanup_close_ int source_fd = -EBADF, sessfd = -EBADF;
        _cleanup_free_ char *error = NULL;
        SessionRecord rec = {};
        char key[BASE_KEY_LEN + 1] = "";
        bool overlay = false;
        struct stat st;
        Session *s;
        int r;

        r = begin_check(m, chroot, flags, &source_fd, &st, &overlay, e);
        if (r < 0)
                return r;
        if (overlay && chroot->type == CHROOT_FILE && base_key(chroot->path, &st, flags->host_tree, key) < 0)
                return error_set(e, ERROR_FAILED, ENOMEM, "Out of memory");
        r = begin_login(m, flags, &login, e);
        if (r < 0)
                return r;

        sessfd = store_create(m->sessions_dirfd, id);
        if (sessfd == -EEXIST)
                return error_set(e, ERROR_SESSION_EXISTS, EEXIST, "Session '%s' already exists", id);
        if (sessfd < 0)
                return error_set(e, ERROR_FAILED, sessfd, "Cannot make session directory: %s", strerror(-sessfd));
        r = begin_record(chroot, id, limits, flags, overlay, key, &rec);
        s = r >= 0 ? session_new(m, &rec) : NULL;
        session_record_done(&rec);
        if (!s) {
                (void) store_remove(m->sessions_dirfd, id);
                return error_set(e, ERROR_FAILED, ENOMEM, "Out of memory");
        }
        s->login = TAKE_PTR(login);
        s->max_bytes = chroot->max_size;
        s->source_fd = TAKE_FD(source_fd);
        r = store_write(m->sessions_dirfd, &s->rec);
        if (r >= 0) {
                if (!overlay)
                        r = begin_start_unpack(s, &error);
                else if (s->rec.lower || manager_base_ready(m, key, chroot->path, &st, s->rec.map_self))
                        r = begin_start_prepare(s, &error);
                else
                        r = begin_start_base(s, &error);
        }
        if (r < 0) {
                (void) store_remove(m->sessions_dirfd, id);
                session_free(s);
                return error_set(e, ERROR_FAILED, r, "Cannot start unpacking: %s", error ? error : strerror(-r));
        }
        if (chroot->type == CHROOT_FILE && s->begin_phase != BEGIN_PREPARE) {
                s->progress_fd = fcntl(s->source_fd, F_DUPFD_CLOEXEC, 3);
                s->progress_size = (uint64_t) st.st_size;
        }
        s->begin_call = call;
        manager_emit_added(m, s);
        *ret = s;
        return 0;
}

double session_progress(const Session *s) {
        double p = 0;

        if (s->rec.state == SESSION_READY)
                return 1;
        /* The unpack child reads through a file description shared with progress_fd.
         * Directory chroots report 0 until ready. */
        if (s->rec.state == SESSION_PREPARING && s->progress_fd >= 0 && s->progress_size > 0) {
                off_t o = lseek(s->progress_fd, 0, SEEK_CUR);
                if (o > 0)
                        p = (double) o / (double) s->progress_size;
        }
        return p > 1 ? 1 : p;
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
        if (s->rec.state == SESSION_READY)
                session_keep_tree(s);
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
                        log_warning("Failed to write the state of session '%s': %s", s->rec.id, strerror(-r));
        } else {
                s->rec.limits = s->old_limits;
                limits_outcome(s, r, message, &o);
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
        if (call_is_set(&s->limits_call) || s->limits_job)
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
        session_signal_runs(s, sig);
        return 0;
}

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
                /* Stop the unpack; on_worker_exit sees it failed and removes the rest. */
                (void) error_set(&s->begin_failure.error, ERROR_SESSION_ENDED, ECANCELED,
                                 "Session '%s' was ended while it was being made", s->rec.id);
                if (s->worker_pid > 0)
                        (void) kill(s->worker_pid, SIGKILL);
                return 0;
        case SESSION_READY:
                session_set_state(s, SESSION_ENDING);
                session_kill_runs(s);
                break;
        case SESSION_ENDING:
        default:
                break;
        }
        session_continue_end(s);
        return 0;
}
