/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Begin, top-down: session_begin() checks what it can before anything is made, writes
 * the session's record and starts the first step; each step is a child (operation.h)
 * with a done callback of its own:
 *   a full copy:     unpack the tarball (or the directory's tar stream) into root/
 *                    -> on_unpacked
 *   copy-on-write:   unpack the tarball into a new base when none is cached
 *                    -> on_base_unpacked, then make upper/ over the base -> on_prepared
 *                    (the kernel refusing overlayfs turns this into a full copy)
 * then the session's limits go on its slice (on_begin_limits) and the caller hears
 * it is ready; a failed step ends the session (session-end.c) before the caller hears
 * why. */
#include "session-private.h"
#include "base.h"
#include "dircopy.h"
#include "operation.h"
#include "util.h"

#include <fcntl.h>
#include <sys/stat.h>

static int begin_check(Manager *m, const Chroot *chroot, const BeginFlags *flags, int *ret_fd, struct stat *ret_st,
                       bool *ret_overlay, Error *e);
static bool begin_overlay(Manager *m, const Chroot *chroot, const BeginFlags *flags);
static bool directory_is_layer(const IdMap *map, const struct stat *st);
static int begin_login(Manager *m, const BeginFlags *flags, LoginEntries **ret, Error *e);
static int begin_record(const Chroot *chroot, const char *id, const Limits *limits, const BeginFlags *flags,
                        bool overlay, const char *key, SessionRecord *ret);
static int begin_start_unpack(Session *s, char **ret_error);
static int begin_start_base(Session *s, char **ret_error);
static void begin_watch_progress(Session *s);
static void on_base_unpacked(Operation *op, Outcome *o, void *userdata);
static int begin_start_prepare(Session *s, char **ret_error);
static void on_prepared(Operation *op, Outcome *o, void *userdata);
static bool begin_fall_back(Session *s, Outcome *o);
static void on_unpacked(Operation *op, Outcome *o, void *userdata);
static void begin_step_done(Session *s);
static void begin_tree_made(Session *s, Outcome *o);
static void on_begin_limits(int r, const char *message, void *userdata);
static void begin_finish(Session *s, Outcome *o);

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
                else if (s->rec.lower || base_ready(m->bases, key, chroot->path, &st, s->rec.map_self))
                        r = begin_start_prepare(s, &error);
                else
                        r = begin_start_base(s, &error);
        }
        if (r < 0) {
                (void) store_remove(m->sessions_dirfd, id);
                session_free(s);
                return error_set(e, ERROR_FAILED, r, "Cannot start unpacking: %s", error ? error : strerror(-r));
        }
        s->begin_call = call;
        manager_emit_added(m, s);
        *ret = s;
        return 0;
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
        /* A chroot's boot=true is its sessions' default; not for maintenance (a
         * write-back session: what a booted system leaves in its tree would go into
         * the tarball every later session starts from) nor for a tree the host reads
         * (host-tree: sbuild and autopkgtest through unschroot). */
        bool boot = flags->boot || (chroot->boot && !flags->write_back && !flags->host_tree);
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
                /* A write-back session's apt cache is the chroot's own, as written; a
                 * booted one's apt runs on its own (its timers), not only when asked. */
                .package_cache = flags->package_cache && !flags->write_back && !chroot->no_package_cache &&
                                 !boot,
                /* Only a tree the host reads and writes by path needs the user to be
                 * themselves inside (docs/design.md, "The session map"). */
                .map_self = flags->host_tree,
                .caller = flags->caller ? strdup(flags->caller) : NULL,
                .boot = boot,
                .host_network = boot && flags->host_network,
        };

        if (!rec.id || !rec.chroot || !rec.chroot_type || !rec.source || (overlay && !rec.base && !rec.lower) ||
            (flags->caller && !rec.caller)) {
                session_record_done(&rec);
                return -ENOMEM;
        }
        *ret = rec;
        return 0;
}

static int begin_start_unpack(Session *s, char **ret_error) {
        _cleanup_close_ int sessfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        bool dir = streq(s->rec.chroot_type, "directory");
        int r;

        if (sessfd < 0)
                return -errno;
        WorkerChild w = {
                .sessfd = sessfd,
                .input_fd = dir ? -EBADF : s->source_fd,
                .output_fd = -EBADF,
                .login = s->login,
                .max_bytes = s->max_bytes,
        };
        worker_set_cache(s, &w);
        r = start_worker(s, &w, dir ? s->source_fd : -EBADF, unpack_after_map, "Unpacking", on_unpacked, ret_error);
        if (r >= 0)
                begin_watch_progress(s);
        return r;
}

static int begin_start_base(Session *s, char **ret_error) {
        _cleanup_close_ int basefd = -EBADF;
        int r;

        r = base_new(s->manager->bases, s->rec.id, &basefd);
        if (r < 0)
                return r;
        /* The base is the tarball alone: add-login goes into the session's upper/. */
        WorkerChild w = { .sessfd = basefd, .input_fd = s->source_fd, .output_fd = -EBADF,
                          .max_bytes = s->max_bytes };
        r = start_worker(s, &w, -EBADF, unpack_after_map, "Unpacking", on_base_unpacked, ret_error);
        if (r >= 0)
                begin_watch_progress(s);
        return r;
}

/* While a tarball is unpacked, Progress reads the offset of a file description shared
 * with the unpack child. */
static void begin_watch_progress(Session *s) {
        struct stat st;

        if (!streq(s->rec.chroot_type, "file") || fstat(s->source_fd, &st) < 0)
                return;
        safe_close(s->progress_fd);
        s->progress_fd = fcntl(s->source_fd, F_DUPFD_CLOEXEC, 3);
        s->progress_size = (uint64_t) st.st_size;
}

static void on_base_unpacked(Operation *op, Outcome *o, void *userdata) {
        _cleanup_free_ char *error = NULL;
        Session *s = userdata;
        struct stat st;
        int r = 0;

        begin_step_done(s);
        if (!error_is_set(&o->error) && !error_is_set(&s->begin_failure.error)) {
                r = fstat(s->source_fd, &st) < 0 ? -errno
                                                 : base_commit(s->manager->bases, s->rec.id, s->rec.base, s->rec.source,
                                                               &st, s->rec.map_self);
                if (r >= 0)
                        r = begin_start_prepare(s, &error);
                if (r >= 0)
                        return;
                (void) error_set(&o->error, ERROR_FAILED, r, "Cannot set up the session's base: %s",
                                 error ? error : strerror(-r));
        }
        base_drop_new(s->manager->bases, s->rec.id);
        begin_finish(s, o);
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
        worker_set_cache(s, &w);
        return start_worker(s, &w, -EBADF, prepare_after_map, "Preparing", on_prepared, ret_error);
}

static void on_prepared(Operation *op, Outcome *o, void *userdata) {
        Session *s = userdata;

        begin_step_done(s);
        if (o->error.kind == ERROR_NOT_SUPPORTED && !error_is_set(&s->begin_failure.error) && begin_fall_back(s, o))
                return;
        begin_tree_made(s, o);
}

/* The kernel refused overlayfs in a user namespace: say so once and make this and
 * every later session a full copy. Returns whether the unpack started. */
static bool begin_fall_back(Session *s, Outcome *o) {
        _cleanup_free_ char *error = NULL;
        int r;

        log_warning("The kernel does not allow %s; sessions are full copies from now on", o->error.message);
        s->manager->overlay_refused = true;
        s->progress_reached = 0; /* the tarball is read again, into root/ */
        s->rec.base = mfree(s->rec.base);
        s->rec.lower = mfree(s->rec.lower);
        r = store_write(s->manager->sessions_dirfd, &s->rec);
        if (r >= 0 && lseek(s->source_fd, 0, SEEK_SET) < 0)
                r = -errno;
        if (r >= 0)
                r = begin_start_unpack(s, &error);
        error_done(&o->error);
        if (r >= 0)
                return true;
        (void) error_set(&o->error, ERROR_FAILED, r, "Cannot start unpacking: %s", error ? error : strerror(-r));
        return false;
}

static void on_unpacked(Operation *op, Outcome *o, void *userdata) {
        Session *s = userdata;

        begin_step_done(s);
        begin_tree_made(s, o);
}

/* Every step's child is gone; so is a directory's reader still blocked on a stream
 * that the unpack abandoned, and the progress of an unpack. */
static void begin_step_done(Session *s) {
        /* A base's unpack is followed by the prepare step, which reads nothing: the
         * progress made so far stays (it went back to 0 once the base was made). */
        s->progress_reached = session_progress(s);
        s->worker = NULL;
        s->reader = operation_free(s->reader);
        s->progress_fd = safe_close(s->progress_fd);
}

/* The tree is made: the limits go on, if there are any, and Begin is done. */
static void begin_tree_made(Session *s, Outcome *o) {
        if (!error_is_set(&o->error) && !error_is_set(&s->begin_failure.error) && limits_any(&s->rec.limits))
                session_apply_limits(s, on_begin_limits);
        else
                begin_finish(s, o);
}

static void on_begin_limits(int r, const char *message, void *userdata) {
        Session *s = userdata;
        Outcome o = {};

        s->limits_job = NULL;
        session_limits_outcome(s, r, message, &o);
        begin_finish(s, &o);
        outcome_done(&o);
}

/* Begin is over: the session is ready, or whatever it made is removed before the
 * caller hears why it failed. o is the outcome of the last step. */
static void begin_finish(Session *s, Outcome *o) {
        s->source_fd = safe_close(s->source_fd);
        s->login = login_entries_free(s->login);
        if (!error_is_set(&o->error) && !error_is_set(&s->begin_failure.error)) {
                session_set_state(s, SESSION_READY);
                if (s->rec.boot) {
                        /* Begin is answered once the system is up (session-boot.c). */
                        session_boot_start(s);
                        return;
                }
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
        if (p < s->progress_reached)
                p = s->progress_reached;
        return p > 1 ? 1 : p;
}
