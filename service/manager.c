/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "manager.h"
#include "cgroup.h"
#include "session.h"
#include "store.h"
#include "base.h"
#include "names.h"
#include "options.h"
#include "rmtree.h"
#include "userns.h"
#include "util.h"

#include <fcntl.h>
#include <dirent.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>

/* The base cache's questions (base.h). */
static bool base_in_use(const char *name, void *userdata) {
        Manager *m = userdata;
        const char *owner = startswith(name, ".new-");

        for (Session *s = m->sessions; s; s = s->next)
                if (owner ? streq(owner, s->rec.id) && s->worker && s->rec.state == SESSION_PREPARING
                          : streq_ptr(s->rec.base, name))
                        return true;
        return false;
}

/* A chroot's package cache is in use while any session of the chroot exists (its
 * leader may have the cache mounted). */
static bool packages_in_use(const char *name, void *userdata) {
        Manager *m = userdata;

        for (Session *s = m->sessions; s; s = s->next)
                if (streq(s->rec.chroot, name))
                        return true;
        return false;
}

static int base_idmap(IdMap *ret, char **ret_error, void *userdata) {
        return manager_idmap(userdata, ret, ret_error);
}

int manager_new(sd_event *event, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_strv_free_ char **ids = NULL;
        struct passwd *pw;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;
        m->sessions_dirfd = -EBADF;
        m->event = sd_event_ref(event);
        m->uid = getuid();
        m->gid = getgid();
        m->subuid_path = "/etc/subuid";
        m->subgid_path = "/etc/subgid";
        pw = getpwuid(m->uid);
        m->user = pw ? strdup(pw->pw_name) : strf("%u", (unsigned) m->uid);
        if (!m->user)
                return -ENOMEM;

        /* Where the sessions' slices appear, for their usage; not under a user
         * manager (no "user@" in our cgroup) there is none. */
        {
                _cleanup_free_ char *self = NULL;
                if (read_file_at(AT_FDCWD, "/proc/self/cgroup", 64 * 1024, &self) >= 0)
                        (void) cgroup_slice_dir(self, cgroup2_root(), "", &m->slices_cgroup);
        }

        r = paths_init(&m->paths);
        if (r < 0)
                return r;
        r = mkdir_p(m->paths.sessions_dir, 0700);
        if (r < 0)
                return r;
        m->sessions_dirfd = open(m->paths.sessions_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (m->sessions_dirfd < 0)
                return -errno;
        r = base_cache_new(event, m->paths.bases_dir, base_in_use, base_idmap, m, &m->bases);
        if (r < 0)
                return r;
        /* Package caches are trees of subordinate ids too, removed the same way. */
        r = base_cache_new(event, m->paths.packages_dir, packages_in_use, base_idmap, m, &m->packages);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

/* Separate from manager_new: sessions that need removal start children whose
 * completion is reported on the bus. */
int manager_load_sessions(Manager *m) {
        _cleanup_strv_free_ char **ids = NULL;
        int r;

        r = store_list(m->sessions_dirfd, &ids);
        if (r < 0)
                return r;
        for (char **id = ids; id && *id; id++) {
                r = session_load(m, *id);
                if (r < 0)
                        log_warning_errno(r, "Failed to load session '%s': %m", *id);
        }
        /* What a crash left in the bases, and bases of tarballs that changed. */
        (void) base_collect(m->bases, false, NULL);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        while (m->sessions)
                session_free(m->sessions);
        systemd_client_free(m->systemd);
        sd_event_unref(m->event);
        paths_done(&m->paths);
        safe_close(m->sessions_dirfd);
        base_cache_free(m->bases);
        base_cache_free(m->packages);
        free(m->user);
        free(m->slices_cgroup);
        free(m);
        return NULL;
}

int manager_attach_frontend(Manager *m, const Frontend *fe) {
        if (m->n_frontends >= MANAGER_FRONTENDS_MAX)
                return -ENOSPC;
        m->frontends[m->n_frontends++] = fe;
        return 0;
}

void manager_emit_added(Manager *m, Session *s) {
        for (unsigned i = 0; i < m->n_frontends; i++)
                if (m->frontends[i]->ops->session_added)
                        m->frontends[i]->ops->session_added(m->frontends[i]->userdata, s);
}

void manager_emit_removed(Manager *m, Session *s) {
        for (unsigned i = 0; i < m->n_frontends; i++)
                if (m->frontends[i]->ops->session_removed)
                        m->frontends[i]->ops->session_removed(m->frontends[i]->userdata, s);
}

void manager_emit_state_changed(Manager *m, Session *s) {
        for (unsigned i = 0; i < m->n_frontends; i++)
                if (m->frontends[i]->ops->state_changed)
                        m->frontends[i]->ops->state_changed(m->frontends[i]->userdata, s);
}

void manager_emit_command_exited(Manager *m, Command *c) {
        for (unsigned i = 0; i < m->n_frontends; i++)
                if (m->frontends[i]->ops->command_exited)
                        m->frontends[i]->ops->command_exited(m->frontends[i]->userdata, c);
}

int manager_begin_session(Manager *m, const char *chroot_name, const char *name, const Limits *limits,
                          const BeginFlags *flags, Call call, Session **ret, Error *e) {
        _cleanup_(catalog_freep) Catalog *c = NULL;
        _cleanup_free_ char *generated = NULL;
        const Chroot *chroot;
        const char *id = name;
        int r;

        r = check_name(chroot_name, "chroot", e);
        if (r >= 0 && *name)
                r = check_name(name, "session", e);
        if (r >= 0)
                r = check_accounts(flags->add_accounts, e);
        if (r >= 0 && !flags->add_login && strv_length(flags->add_accounts) > 0)
                r = error_set(e, ERROR_INVALID_ARGUMENT, EINVAL, "Option 'add-accounts' needs 'add-login'");
        if (r >= 0 && flags->union_type)
                r = check_union_type(flags->union_type, e);
        if (r >= 0 && flags->host_network && !flags->boot)
                r = error_set(e, ERROR_INVALID_ARGUMENT, EINVAL, "Option 'network' needs 'boot'");
        if (r >= 0 && flags->boot && flags->write_back)
                r = error_set(e, ERROR_INVALID_ARGUMENT, EINVAL, "A booted session cannot be written back");
        if (r >= 0 && flags->boot && flags->host_tree)
                r = error_set(e, ERROR_INVALID_ARGUMENT, EINVAL, "A booted session has no tree on the host (host-tree)");
        if (r < 0)
                return r;
        r = manager_load_catalog(m, &c);
        if (r < 0)
                return error_set(e, ERROR_FAILED, r, "Cannot read the chroot definitions: %s", strerror(-r));
        for (char **w = c->warnings; w && *w; w++)
                log_warning("%s", *w);
        chroot = catalog_find(c, chroot_name);
        if (!chroot)
                return error_set(e, ERROR_NO_SUCH_CHROOT, ENOENT, "No chroot '%s': none in %s or %s has that name or alias",
                                 chroot_name, m->paths.sbuild_dir, m->paths.confd_dir);
        if (!*name) {
                r = session_id_generate(chroot->name, &generated);
                if (r < 0)
                        return error_set(e, ERROR_INVALID_NAME, r, "Cannot make a session id from chroot name '%s': %s",
                                         chroot->name, strerror(-r));
                id = generated;
        }
        if (manager_get_session(m, id))
                return error_set(e, ERROR_SESSION_EXISTS, EEXIST, "Session '%s' already exists", id);
        if (manager_n_sessions(m) >= MANAGER_SESSIONS_MAX)
                return error_set(e, ERROR_LIMIT_EXCEEDED, EBUSY, "There are already %d sessions: end some first",
                                 MANAGER_SESSIONS_MAX);
        return session_begin(m, chroot, id, limits, flags, call, ret, e);
}

Session *manager_find_session(Manager *m, const char *id, Error *e) {
        Session *s;

        if (check_name(id, "session", e) < 0)
                return NULL;
        s = manager_get_session(m, id);
        if (!s)
                (void) error_set(e, ERROR_NO_SUCH_SESSION, ENOENT, "No session '%s'", id);
        return s;
}

int manager_collect_garbage(Manager *m, char ***ret_removed, Error *e) {
        _cleanup_strv_free_ char **names = NULL;
        int r;

        r = base_collect(m->bases, true, ret_removed);
        if (r < 0)
                return error_set(e, ERROR_FAILED, r, "Cannot list %s: %s", m->paths.bases_dir, strerror(-r));
        /* Package caches of chroots no session uses (and what a crash left of one). */
        (void) base_collect(m->packages, true, NULL);
        r = dir_list(base_cache_dirfd(m->packages), NULL, &names);
        if (r < 0)
                return error_set(e, ERROR_FAILED, r, "Cannot list %s: %s", m->paths.packages_dir, strerror(-r));
        for (char **n = names; n && *n; n++) {
                _cleanup_free_ char *what = NULL;

                if (!name_is_valid(*n) || packages_in_use(*n, m))
                        continue;
                r = base_retire(m->packages, *n);
                if (r < 0) {
                        log_warning_errno(r, "Cannot remove the package cache of %s: %m", *n);
                        continue;
                }
                log_info("Removed the package cache of %s (no session uses it)", *n);
                what = strf("packages/%s", *n);
                if (ret_removed && (!what || strv_consume(ret_removed, TAKE_PTR(what)) < 0))
                        return error_set(e, ERROR_FAILED, ENOMEM, "Out of memory");
        }
        (void) systemd_stop_stale(m->systemd, manager_unit_in_use, m);
        return 0;
}

unsigned manager_n_sessions(Manager *m) {
        unsigned n = 0;

        for (Session *s = m->sessions; s; s = s->next)
                n++;
        return n;
}

bool manager_unit_in_use(const char *unit, void *userdata) {
        Manager *m = userdata;

        for (Session *s = m->sessions; s; s = s->next) {
                if (streq_ptr(s->slice, unit) || (s->spare && streq_ptr(s->spare->unit, unit)) ||
                    streq_ptr(session_boot_unit(s), unit))
                        return true;
                for (Run *r = s->runs; r; r = r->next)
                        if (streq_ptr(r->unit, unit))
                                return true;
        }
        return false;
}

unsigned manager_n_runs(Manager *m) {
        unsigned n = 0;

        for (Session *s = m->sessions; s; s = s->next)
                n += s->n_runs;
        return n;
}

/* At most what one running command holds here: its init's pidfd and control socket,
 * the report pipe, the request's memfd, the caller's three fds twice (ours and the bus
 * message's, which is kept for the reply). Each session may hold four more (its
 * leader's pidfd and socket, a spare's). A quarter of the table is kept for calls on
 * their way in (sd-bus holds the fds of every message it has read before we see it)
 * and the rest of the service (the bus, the event loop, Begin's and End's children). */
#define FDS_PER_RUN 10
#define FDS_PER_SESSION 4
#define FDS_RESERVE 256

unsigned manager_runs_max(Manager *m) {
        uint64_t limit = rlimit_nofile_current();
        uint64_t taken = FDS_RESERVE + limit / 4 + (uint64_t) FDS_PER_SESSION * manager_n_sessions(m);
        uint64_t n;

        if (limit <= taken + FDS_PER_RUN)
                return 1;
        n = (limit - taken) / FDS_PER_RUN;
        return n > UINT32_MAX ? UINT32_MAX : (unsigned) n;
}

Session *manager_get_session(Manager *m, const char *id) {
        for (Session *s = m->sessions; s; s = s->next)
                if (streq(s->rec.id, id))
                        return s;
        return NULL;
}

int manager_load_catalog(Manager *m, Catalog **ret) {
        return catalog_load(m->paths.sbuild_dir, m->paths.confd_dir, ret);
}

int manager_idmap(Manager *m, IdMap *ret, char **ret_error) {
        /* Read each time: the administrator may fix /etc/subuid while we run. */
        return idmap_load(m->user, m->uid, m->gid, m->subuid_path, m->subgid_path, ret, ret_error);
}

bool manager_is_busy(Manager *m) {
        for (Session *s = m->sessions; s; s = s->next)
                if (s->worker || s->n_runs > 0 || s->boot || (s->rec.host_tree && leader_alive(&s->leader)) ||
                    (s->rec.caller && s->rec.state != SESSION_ENDING))
                        return true;
        return base_cache_busy(m->bases) || base_cache_busy(m->packages);
}

unsigned manager_caller_gone(Manager *m, const char *caller) {
        _cleanup_strv_free_ char **ids = NULL;
        unsigned n = 0;

        /* Ids first: ending one may change the list (a preparing session's Begin ends
         * through its child's callback). */
        for (Session *s = m->sessions; s; s = s->next)
                if (streq_ptr(s->rec.caller, caller) && s->rec.state != SESSION_ENDING &&
                    strv_extend(&ids, s->rec.id) < 0)
                        log_warning("Out of memory");
        for (char **id = ids; id && *id; id++) {
                _cleanup_(error_done) Error e = {};
                Session *s = manager_get_session(m, *id);

                if (!s)
                        continue;
                /* What its caller was doing did not finish: a write-back session is not
                 * written back. */
                log_info("Session '%s': its caller %s is gone, %s it", *id, caller,
                         s->rec.write_back ? "discarding" : "ending");
                if (session_discard(s, CALL_NULL, &e) < 0)
                        log_warning("Failed to end session '%s': %s", *id, strempty(e.message));
                else
                        n++;
        }
        return n;
}
