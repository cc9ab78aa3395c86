/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "session-private.h"
#include "base.h"
#include "dircopy.h"
#include "report.h"
#include "rmtree.h"
#include "session-dbus.h"
#include "util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

void outcome_done(Outcome *o) {
        free(o->error_message);
        *o = (Outcome) {};
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
        r = sd_bus_path_encode("/org/chrootd1/session", rec->id, &s->object_path);
        if (r >= 0)
                r = session_slice_name(rec->id, &s->slice);
        if (!s->dir || !s->tree || r < 0) {
                free(s->dir);
                free(s->tree);
                free(s->object_path);
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
        Manager *m;

        if (!s)
                return NULL;
        m = s->manager;
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
        sd_bus_message_unref(s->set_limits_message);
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
        sd_bus_message_unref(s->begin_message);
        for (size_t i = 0; i < s->n_end_messages; i++)
                sd_bus_message_unref(s->end_messages[i]);
        free(s->end_messages);
        outcome_done(&s->begin_failure);
        session_record_done(&s->rec);
        free(s->object_path);
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
        session_emit_state_changed(s);
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

        if (!o->error_name && rename(tmp, s->rec.source) < 0) {
                o->error_name = CHROOTD_ERROR_FAILED;
                o->error_message = strf("Cannot replace '%s': %m", s->rec.source);
        }
        if (!o->error_name) {
                s->repacked = true;
                session_continue_end(s);
                return;
        }
        (void) unlink(tmp);
        log_error("Failed to write session '%s' back to %s: %s", s->rec.id, s->rec.source, strempty(o->error_message));
        for (size_t i = 0; i < s->n_end_messages; i++) {
                session_reply_end(s, s->end_messages[i], o);
                sd_bus_message_unref(s->end_messages[i]);
        }
        s->n_end_messages = 0;
        s->slice_stopped = false;
        session_set_state(s, SESSION_READY);
}

/* The session is gone from disk: answer everyone who waited and forget it. */
static void session_finish_removal(Session *s, const Outcome *removal) {
        Outcome ok = {};
        int r;

        if (!removal->error_name) {
                r = store_remove(s->manager->sessions_dirfd, s->rec.id);
                if (r < 0)
                        log_warning("Failed to remove the state of session '%s': %s", s->rec.id, strerror(-r));
        } else
                log_error("Failed to remove session '%s': %s", s->rec.id, strempty(removal->error_message));

        if (s->begin_message)
                session_reply_begin(s, s->begin_failure.error_name ? &s->begin_failure : removal);
        for (size_t i = 0; i < s->n_end_messages; i++)
                session_reply_end(s, s->end_messages[i], removal->error_name ? removal : &ok);

        if (removal->error_name) {
                /* Keep it listed as ending: the next End or start retries. */
                s->worker_pid = 0;
                s->begin_message = sd_bus_message_unref(s->begin_message);
                for (size_t i = 0; i < s->n_end_messages; i++)
                        sd_bus_message_unref(s->end_messages[i]);
                s->n_end_messages = 0;
                return;
        }
        Manager *m = s->manager;
        bool had_base = s->rec.base;
        session_emit_removed(s);
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
        if (s->rec.write_back && !s->repacked && !s->begin_failure.error_name) {
                r = session_start_repack(s);
                if (r >= 0)
                        return;
                o.error_name = CHROOTD_ERROR_FAILED;
                o.error_message = strf("Cannot write the session back to %s: %s", s->rec.source, strerror(-r));
                session_finish_repack(s, &o);
                outcome_done(&o);
                return;
        }
        /* Its commands are gone: so goes the overlay they shared. */
        session_drop_spare(s);
        session_stop_leader(s);
        r = session_start_removal(s);
        if (r < 0) {
                o.error_name = CHROOTD_ERROR_FAILED;
                o.error_message = strf("Cannot remove the session: %s", strerror(-r));
                session_finish_removal(s, &o);
                outcome_done(&o);
        }
}

/* Begin is over: the session is ready, or whatever it made is removed before the
 * caller hears why it failed. o is the outcome of the last step. */
static void session_finish_begin(Session *s, Outcome *o) {
        s->source_fd = safe_close(s->source_fd);
        s->login = login_entries_free(s->login);
        if (!o->error_name && !s->begin_failure.error_name) {
                session_set_state(s, SESSION_READY);
                session_reply_begin(s, o);
                s->begin_message = sd_bus_message_unref(s->begin_message);
                return;
        }
        if (!s->begin_failure.error_name) {
                log_warning("Begin of session '%s' failed: %s", s->rec.id, strempty(o->error_message));
                s->begin_failure = *o;
                *o = (Outcome) {};
        }
        session_set_state(s, SESSION_ENDING);
        session_continue_end(s);
}

static void on_begin_limits(int r, const char *message, void *userdata) {
        Session *s = userdata;
        Outcome o = {};

        s->limits_job = NULL;
        if (r == -EOPNOTSUPP) {
                o.error_name = CHROOTD_ERROR_NOT_SUPPORTED;
                o.error_message = strdup("Limits need a systemd user manager, and there is none on the bus");
        } else if (r < 0) {
                o.error_name = CHROOTD_ERROR_FAILED;
                o.error_message = strf("systemd did not set the limits on %s: %s", s->slice, strempty(message));
        }
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
                o->error_name = CHROOTD_ERROR_FAILED;
                o->error_message = strf("Cannot set up the session's base: %s", error ? error : strerror(-r));
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

        if (s->begin_phase != BEGIN_PREPARE || !streq_ptr(o->error_name, CHROOTD_ERROR_NOT_SUPPORTED))
                return false;
        log_warning("The kernel does not allow %s; sessions are full copies from now on", strempty(o->error_message));
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
        o->error_name = CHROOTD_ERROR_FAILED;
        o->error_message = strf("Cannot start unpacking: %s", error ? error : strerror(-r));
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

        if (s->rec.state == SESSION_PREPARING && s->begin_phase == BEGIN_BASE && o.error_name)
                begin_drop_new_base(s);
        if (s->rec.state == SESSION_PREPARING && begin_fall_back(s, &o))
                ;
        else if (s->rec.state == SESSION_PREPARING) {
                if (!o.error_name && !s->begin_failure.error_name && begin_next_step(s, &o))
                        ; /* another child is on its way */
                else if (!o.error_name && !s->begin_failure.error_name && limits_any(&s->rec.limits))
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

int session_begin(Manager *m, const Chroot *chroot, const char *id, const Limits *limits, const BeginFlags *flags,
                  sd_bus_message *message,
                  Session **ret, const char **ret_error_name, char **ret_error_message) {
        _cleanup_close_ int source_fd = -EBADF, sessfd = -EBADF;
        _cleanup_free_ char *error = NULL;
        LoginEntries *login = NULL;
        SessionRecord rec = {};
        char key[BASE_KEY_LEN + 1];
        bool overlay;
        struct stat st;
        IdMap map;
        Session *s;
        int r;

        r = manager_idmap(m, &map, ret_error_message);
        if (r < 0) {
                *ret_error_name = CHROOTD_ERROR_NO_SUBORDINATE_IDS;
                return r;
        }

        if (flags->write_back && (chroot->type != CHROOT_FILE || dircopy_filter_for_name(chroot->path) < 0)) {
                *ret_error_name = CHROOTD_ERROR_NOT_SUPPORTED;
                *ret_error_message = strf("Chroot '%s' is not a tarball that can be written back", chroot->name);
                return -EOPNOTSUPP;
        }
        source_fd = open(chroot->path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
                                               (chroot->type == CHROOT_DIRECTORY ? O_DIRECTORY : 0));
        if (source_fd < 0 || fstat(source_fd, &st) < 0) {
                *ret_error_name = CHROOTD_ERROR_SOURCE_UNAVAILABLE;
                *ret_error_message = strf("Cannot open %s '%s' of chroot '%s': %m",
                                          chroot->type == CHROOT_DIRECTORY ? "directory" : "tarball",
                                          chroot->path, chroot->name);
                return -errno;
        }
        if (chroot->type == CHROOT_FILE && !S_ISREG(st.st_mode)) {
                *ret_error_name = CHROOTD_ERROR_SOURCE_UNAVAILABLE;
                *ret_error_message = strf("Tarball '%s' of chroot '%s' is not a regular file", chroot->path, chroot->name);
                return -EINVAL;
        }
        overlay = begin_overlay(m, chroot, flags) &&
                  (chroot->type == CHROOT_FILE || directory_is_layer(&map, &st));
        if (overlay && chroot->type == CHROOT_FILE && base_key(chroot->path, &st, flags->host_tree, key) < 0) {
                *ret_error_name = CHROOTD_ERROR_FAILED;
                *ret_error_message = strdup("Out of memory");
                return -ENOMEM;
        }
        if (flags->add_login) {
                const char *missing = NULL;
                r = login_entries(m, flags->add_accounts, &login, &missing);
                if (r < 0) {
                        *ret_error_name = missing ? CHROOTD_ERROR_NO_SUCH_USER : CHROOTD_ERROR_NOT_SUPPORTED;
                        *ret_error_message = missing ? strf("add-accounts: no account '%s' on the host", missing)
                                             : r == -ERANGE
                                                     ? strf("An account's ids cannot exist inside a session (ids 0..%u)",
                                                            IDMAP_COUNT - 1)
                                                     : strf("Cannot look up user %u on the host", (unsigned) m->uid);
                        return r;
                }
        }

        sessfd = store_create(m->sessions_dirfd, id);
        if (sessfd < 0) {
                login_entries_free(login);
                *ret_error_name = sessfd == -EEXIST ? CHROOTD_ERROR_SESSION_EXISTS : CHROOTD_ERROR_FAILED;
                *ret_error_message = sessfd == -EEXIST ? strf("Session '%s' already exists", id)
                                                       : strf("Cannot make session directory: %s", strerror(-sessfd));
                return sessfd;
        }

        rec.id = strdup(id);
        rec.chroot = strdup(chroot->name);
        rec.chroot_type = strdup(chroot_type_to_string(chroot->type));
        rec.source = strdup(chroot->path);
        rec.state = SESSION_PREPARING;
        rec.created_usec = now_realtime_usec();
        rec.limits = *limits;
        rec.write_back = flags->write_back;
        rec.base = overlay && chroot->type == CHROOT_FILE ? strdup(key) : NULL;
        rec.lower = overlay && chroot->type == CHROOT_DIRECTORY ? strdup(chroot->path) : NULL;
        rec.host_tree = flags->host_tree;
        /* Only a tree the host reads and writes by path needs the user to be themselves
         * inside (docs/design.md, "The session map"). */
        rec.map_self = flags->host_tree;
        s = rec.id && rec.chroot && rec.chroot_type && rec.source && (rec.base || rec.lower || !overlay)
                    ? session_new(m, &rec)
                    : NULL;
        session_record_done(&rec);
        if (!s) {
                login_entries_free(login);
                (void) store_remove(m->sessions_dirfd, id);
                *ret_error_name = CHROOTD_ERROR_FAILED;
                *ret_error_message = strdup("Out of memory");
                return -ENOMEM;
        }
        s->login = login;
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
                *ret_error_name = CHROOTD_ERROR_FAILED;
                *ret_error_message = strf("Cannot start unpacking: %s", error ? error : strerror(-r));
                return r;
        }
        if (chroot->type == CHROOT_FILE && s->begin_phase != BEGIN_PREPARE) {
                s->progress_fd = fcntl(s->source_fd, F_DUPFD_CLOEXEC, 3);
                s->progress_size = (uint64_t) st.st_size;
        }
        s->begin_message = sd_bus_message_ref(message);
        session_emit_new(s);
        *ret = s;
        return 0;
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
        sd_bus_message *m = TAKE_PTR(s->set_limits_message);
        Outcome o = {};

        s->limits_job = NULL;
        if (r >= 0) {
                r = store_write(s->manager->sessions_dirfd, &s->rec);
                if (r < 0)
                        log_warning("Failed to write the state of session '%s': %s", s->rec.id, strerror(-r));
        } else {
                s->rec.limits = s->old_limits;
                o.error_name = r == -EOPNOTSUPP ? CHROOTD_ERROR_NOT_SUPPORTED : CHROOTD_ERROR_FAILED;
                o.error_message = r == -EOPNOTSUPP
                                          ? strdup("Limits need a systemd user manager, and there is none on the bus")
                                          : strf("systemd did not set the limits on %s: %s", s->slice, strempty(message));
        }
        session_reply_set_limits(m, &o);
        sd_bus_message_unref(m);
        outcome_done(&o);
}

int session_set_limits(Session *s, const Limits *l, sd_bus_message *message) {
        if (s->rec.state != SESSION_READY)
                return -EBUSY;
        if (s->set_limits_message)
                return -EALREADY;
        s->old_limits = s->rec.limits;
        if (l->memory_max)
                s->rec.limits.memory_max = l->memory_max;
        if (l->tasks_max)
                s->rec.limits.tasks_max = l->tasks_max;
        if (l->cpu_weight)
                s->rec.limits.cpu_weight = l->cpu_weight;
        s->set_limits_message = sd_bus_message_ref(message);
        session_apply_limits(s, on_set_limits);
        return 0;
}

int session_end(Session *s, sd_bus_message *message) {
        if (message) {
                sd_bus_message **l = realloc(s->end_messages, sizeof(sd_bus_message *) * (s->n_end_messages + 1));
                if (!l)
                        return -ENOMEM;
                s->end_messages = l;
                s->end_messages[s->n_end_messages++] = sd_bus_message_ref(message);
        }

        switch (s->rec.state) {
        case SESSION_PREPARING:
                /* Stop the unpack; on_worker_exit sees it failed and removes the rest. */
                if (!s->begin_failure.error_name) {
                        s->begin_failure.error_name = CHROOTD_ERROR_SESSION_ENDED;
                        s->begin_failure.error_message = strf("Session '%s' was ended while it was being made", s->rec.id);
                }
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
