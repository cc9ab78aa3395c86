/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "manager.h"
#include "cgroup.h"
#include "session.h"
#include "store.h"
#include "util.h"

#include <fcntl.h>
#include <pwd.h>

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
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        while (m->sessions)
                session_free(m->sessions);
        systemd_client_free(m->systemd);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        paths_done(&m->paths);
        safe_close(m->sessions_dirfd);
        free(m->user);
        free(m->slices_cgroup);
        free(m);
        return NULL;
}

unsigned manager_n_sessions(Manager *m) {
        unsigned n = 0;

        for (Session *s = m->sessions; s; s = s->next)
                n++;
        return n;
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
                if (s->worker_source || s->n_runs > 0)
                        return true;
        return false;
}
