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

int manager_new(sd_event *event, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_strv_free_ char **ids = NULL;
        struct passwd *pw;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;
        m->sessions_dirfd = -EBADF;
        m->bases_dirfd = -EBADF;
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
        r = mkdir_p(m->paths.bases_dir, 0700);
        if (r < 0)
                return r;
        m->bases_dirfd = open(m->paths.bases_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (m->bases_dirfd < 0)
                return -errno;

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
                        log_warning("Failed to load session '%s': %s", *id, strerror(-r));
        }
        /* What a crash left in the bases, and bases of tarballs that changed. */
        (void) manager_collect_bases(m, false, NULL);
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
        safe_close(m->bases_dirfd);
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
        if (r >= 0 && flags->union_type)
                r = check_union_type(flags->union_type, e);
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
        int r;

        r = manager_collect_bases(m, true, ret_removed);
        if (r < 0)
                return error_set(e, ERROR_FAILED, r, "Cannot list %s: %s", m->paths.bases_dir, strerror(-r));
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
                if (streq_ptr(s->slice, unit) || (s->spare && streq_ptr(s->spare->unit, unit)))
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
                if (s->worker_source || s->n_runs > 0 || (s->rec.host_tree && leader_alive(&s->leader)))
                        return true;
        return m->n_removals > 0;
}

/* ---- copy-on-write bases ---- */

bool manager_base_ready(Manager *m, const char *key, const char *path, const struct stat *st, bool map_self) {
        _cleanup_free_ char *name = strf("%s/source", key), *want = base_source_text(path, st, map_self), *have = NULL;
        struct stat rst;

        if (!name || !want || read_file_at(m->bases_dirfd, name, 64 * 1024, &have) < 0)
                return false;
        free(name);
        name = strf("%s/root", key);
        return name && streq(have, want) && fstatat(m->bases_dirfd, name, &rst, AT_SYMLINK_NOFOLLOW) >= 0 &&
               S_ISDIR(rst.st_mode);
}

bool manager_base_in_use(Manager *m, const char *key, const Session *except) {
        for (Session *s = m->sessions; s; s = s->next)
                if (s != except && streq_ptr(s->rec.base, key))
                        return true;
        return false;
}

typedef struct BaseRemoval {
        Manager *manager;
        char *name;
        int bases_dirfd;
        sd_event_source *source;
} BaseRemoval;

static int base_remove_after_map(void *userdata) {
        BaseRemoval *b = userdata;
        int r;

        /* The tree came from a tarball: stay inside bases/ whatever it holds. */
        if (fchdir(b->bases_dirfd) < 0 || chroot(".") < 0)
                return EXIT_FAILURE;
        r = rm_rf_at(AT_FDCWD, b->name);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

static int on_base_removed(sd_event_source *source, const siginfo_t *si, void *userdata) {
        BaseRemoval *b = userdata;

        if (si->si_code != CLD_EXITED || si->si_status != 0)
                log_warning("Failed to remove %s/%s; the next start tries again", b->manager->paths.bases_dir, b->name);
        b->manager->n_removals--;
        sd_event_source_unref(b->source);
        free(b->name);
        free(b);
        return 0;
}

static int remove_base_dir(Manager *m, const char *name) {
        _cleanup_free_ char *error = NULL;
        _cleanup_close_ int pidfd = -EBADF;
        BaseRemoval *b;
        IdMap map;
        pid_t pid;
        int r;

        r = manager_idmap(m, &map, &error);
        if (r < 0)
                return r;
        b = calloc(1, sizeof(BaseRemoval));
        if (!b || !(b->name = strdup(name))) {
                free(b);
                return -ENOMEM;
        }
        b->manager = m;
        b->bases_dirfd = m->bases_dirfd;
        int keep[] = { m->bases_dirfd };
        SpawnParams sp = {
                .map = &map,
                .map_flags = IDMAP_HELPER,
                .keep_fds = keep,
                .n_keep_fds = 1,
                .after_map = base_remove_after_map,
                .userdata = b,
        };
        r = userns_spawn(&sp, &pid, &pidfd, &error);
        if (r >= 0)
                r = sd_event_add_child_pidfd(m->event, &b->source, pidfd, WEXITED, on_base_removed, b);
        if (r < 0) {
                if (pidfd >= 0) {
                        (void) kill(pid, SIGKILL);
                        (void) waitpid(pid, NULL, 0);
                }
                log_warning("Cannot remove %s/%s: %s", m->paths.bases_dir, name, error ? error : strerror(-r));
                free(b->name);
                free(b);
                return r;
        }
        (void) sd_event_source_set_child_pidfd_own(b->source, true);
        (void) sd_event_source_set_child_process_own(b->source, true);
        TAKE_FD(pidfd);
        m->n_removals++;
        return 0;
}

int manager_retire_base(Manager *m, const char *name) {
        _cleanup_free_ char *old = NULL, *id = NULL;
        int r;

        r = session_id_generate("old", &id);
        if (r < 0)
                return r;
        old = strf(".%s", id);
        if (!old)
                return -ENOMEM;
        /* Renamed first, so that a half-removed base is never taken for a whole one. */
        if (renameat(m->bases_dirfd, name, m->bases_dirfd, old) < 0)
                return -errno;
        return remove_base_dir(m, old);
}

/* A base whose tarball still is what it was made from. */
static bool base_current(Manager *m, const char *key) {
        _cleanup_free_ char *name = strf("%s/source", key), *text = NULL, *path = NULL;
        struct stat st;
        bool map_self;

        if (!name || read_file_at(m->bases_dirfd, name, 64 * 1024, &text) < 0 ||
            base_source_parse(text, &path, &map_self) < 0)
                return false;
        return stat(path, &st) >= 0 && manager_base_ready(m, key, path, &st, map_self);
}

static bool unpack_in_flight(Manager *m, const char *name) {
        /* .new-<session id>: a Begin is unpacking it. */
        for (Session *s = m->sessions; s; s = s->next)
                if (startswith(name, ".new-") && streq(name + 5, s->rec.id) && s->worker_source)
                        return true;
        return false;
}

int manager_collect_bases(Manager *m, bool all, char ***ret_removed) {
        _cleanup_strv_free_ char **names = NULL, **removed = NULL;
        int r, n = 0;

        r = dir_list(m->bases_dirfd, NULL, &names);
        if (r < 0)
                return r;
        for (char **name = names; name && *name; name++) {
                bool leftover = startswith(*name, ".old-") || (startswith(*name, ".new-") && !unpack_in_flight(m, *name));

                if (leftover) {
                        r = remove_base_dir(m, *name);
                        continue;
                }
                if (!base_key_is_valid(*name) || manager_base_in_use(m, *name, NULL))
                        continue;
                if (!all && base_current(m, *name))
                        continue;
                r = manager_retire_base(m, *name);
                if (r < 0) {
                        log_warning("Cannot remove base %s: %s", *name, strerror(-r));
                        continue;
                }
                log_info("Removed base %s (%s)", *name, all ? "unused" : "its tarball changed or is gone");
                if (strv_extend(&removed, *name) < 0)
                        return -ENOMEM;
                n++;
        }
        if (ret_removed)
                *ret_removed = TAKE_PTR(removed);
        return n;
}
