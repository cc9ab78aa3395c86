/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "store.h"
#include "keyfile.h"
#include "base.h"
#include "names.h"
#include "util.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

static const char *const state_table[_SESSION_STATE_MAX] = {
        [SESSION_PREPARING] = "preparing",
        [SESSION_READY] = "ready",
        [SESSION_ENDING] = "ending",
};

const char *session_state_to_string(SessionState s) {
        return (unsigned) s < _SESSION_STATE_MAX ? state_table[s] : NULL;
}

int session_state_from_string(const char *s) {
        for (int i = 0; i < _SESSION_STATE_MAX; i++)
                if (s && streq(s, state_table[i]))
                        return i;
        return -EINVAL;
}

void session_record_done(SessionRecord *r) {
        free(r->id);
        free(r->chroot);
        free(r->chroot_type);
        free(r->source);
        free(r->base);
        free(r->lower);
        free(r->caller);
        *r = (SessionRecord) {};
}

char *session_record_format(const SessionRecord *r) {
        char limits[128] = "";
        size_t n = 0;

        if (r->limits.memory_max)
                n += (size_t) snprintf(limits + n, sizeof(limits) - n, "MemoryMax=%" PRIu64 "\n", r->limits.memory_max);
        if (r->limits.tasks_max)
                n += (size_t) snprintf(limits + n, sizeof(limits) - n, "TasksMax=%" PRIu64 "\n", r->limits.tasks_max);
        if (r->limits.cpu_weight)
                (void) snprintf(limits + n, sizeof(limits) - n, "CPUWeight=%" PRIu64 "\n", r->limits.cpu_weight);
        return strf("# chrootd session state; written atomically, do not edit\n"
                    "[Session]\nId=%s\nChroot=%s\nType=%s\nSource=%s\nState=%s\nCreated=%" PRIu64 "\n%s%s%s%s%s%s%s%s%s"
                    "%sMapSelf=%s\n%s%s%s%s%s",
                    r->id, r->chroot, r->chroot_type, r->source, session_state_to_string(r->state),
                    r->created_usec, limits, r->write_back ? "WriteBack=yes\n" : "",
                    r->base ? "Base=" : "", strempty(r->base), r->base ? "\n" : "",
                    r->host_tree ? "HostTree=yes\n" : "", r->lower ? "Lower=" : "", strempty(r->lower),
                    r->lower ? "\n" : "", r->package_cache ? "PackageCache=yes\n" : "", r->map_self ? "yes" : "no", r->caller ? "Caller=" : "",
                    strempty(r->caller), r->caller ? "\n" : "", r->boot ? "Boot=yes\n" : "",
                    r->host_network ? "HostNetwork=yes\n" : "");
}

/* An optional number: absent is 0, anything but digits is an error. */
static int parse_optional(const KeyFile *kf, const char *key, uint64_t *ret) {
        const char *v = keyfile_get(kf, "Session", key);

        *ret = 0;
        return v ? parse_u64(v, ret) : 0;
}

int session_record_parse(const char *text, SessionRecord *ret) {
        _cleanup_(keyfile_freep) KeyFile *kf = NULL;
        const char *id, *chroot, *type, *source, *state, *created;
        SessionRecord r = {};
        int s;

        if (keyfile_parse(text, &kf, NULL) < 0)
                return -EBADMSG;
        id = keyfile_get(kf, "Session", "Id");
        chroot = keyfile_get(kf, "Session", "Chroot");
        type = keyfile_get(kf, "Session", "Type");
        source = keyfile_get(kf, "Session", "Source");
        state = keyfile_get(kf, "Session", "State");
        created = keyfile_get(kf, "Session", "Created");
        if (!id || !name_is_valid(id) || !chroot || !type || !source || !state || !created)
                return -EBADMSG;
        s = session_state_from_string(state);
        if (s < 0)
                return -EBADMSG;
        if (parse_u64(created, &r.created_usec) < 0 ||
            parse_optional(kf, "MemoryMax", &r.limits.memory_max) < 0 ||
            parse_optional(kf, "TasksMax", &r.limits.tasks_max) < 0 ||
            parse_optional(kf, "CPUWeight", &r.limits.cpu_weight) < 0 || r.limits.cpu_weight > 10000)
                return -EBADMSG;
        r.state = (SessionState) s;
        r.write_back = streq_ptr(keyfile_get(kf, "Session", "WriteBack"), "yes");
        r.host_tree = streq_ptr(keyfile_get(kf, "Session", "HostTree"), "yes");
        r.package_cache = streq_ptr(keyfile_get(kf, "Session", "PackageCache"), "yes");
        r.boot = streq_ptr(keyfile_get(kf, "Session", "Boot"), "yes");
        r.host_network = streq_ptr(keyfile_get(kf, "Session", "HostNetwork"), "yes");
        /* Sessions from before MapSelf= had the user's ids mapped, and their files are
         * owned accordingly. */
        r.map_self = !streq_ptr(keyfile_get(kf, "Session", "MapSelf"), "no");
        {
                const char *lower = keyfile_get(kf, "Session", "Lower");
                if (lower && (lower[0] != '/' || r.base))
                        return -EBADMSG;
                if (lower && !(r.lower = strdup(lower)))
                        return -ENOMEM;
        }
        {
                const char *base = keyfile_get(kf, "Session", "Base");
                if (base && !base_key_is_valid(base))
                        return -EBADMSG;
                if (base && !(r.base = strdup(base)))
                        return -ENOMEM;
        }
        const char *caller = keyfile_get(kf, "Session", "Caller");
        r.caller = caller ? strdup(caller) : NULL;
        r.id = strdup(id);
        r.chroot = strdup(chroot);
        r.chroot_type = strdup(type);
        r.source = strdup(source);
        if (!r.id || !r.chroot || !r.chroot_type || !r.source || (caller && !r.caller)) {
                session_record_done(&r);
                return -ENOMEM;
        }
        *ret = r;
        return 0;
}

static int open_session_dir(int sessions_dirfd, const char *id) {
        int fd = openat(sessions_dirfd, id, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_RDONLY);
        return fd < 0 ? -errno : fd;
}

int store_write(int sessions_dirfd, const SessionRecord *r) {
        _cleanup_close_ int dfd = -EBADF;
        _cleanup_free_ char *text = NULL;

        dfd = open_session_dir(sessions_dirfd, r->id);
        if (dfd < 0)
                return dfd;
        text = session_record_format(r);
        if (!text)
                return -ENOMEM;
        return write_file_atomic_at(dfd, "state", text, 0600);
}

int store_read(int sessions_dirfd, const char *id, SessionRecord *ret) {
        _cleanup_close_ int dfd = -EBADF;
        _cleanup_free_ char *text = NULL;
        SessionRecord r;
        int k;

        dfd = open_session_dir(sessions_dirfd, id);
        if (dfd < 0)
                return dfd;
        k = read_file_at(dfd, "state", 64 * 1024, &text);
        if (k < 0)
                return k;
        k = session_record_parse(text, &r);
        if (k < 0)
                return k;
        if (!streq(r.id, id)) {
                session_record_done(&r);
                return -EBADMSG;
        }
        *ret = r;
        return 0;
}

int store_create(int sessions_dirfd, const char *id) {
        if (mkdirat(sessions_dirfd, id, 0700) < 0)
                return -errno;
        return open_session_dir(sessions_dirfd, id);
}

int store_remove(int sessions_dirfd, const char *id) {
        _cleanup_close_ int dfd = open_session_dir(sessions_dirfd, id);

        if (dfd < 0)
                return dfd == -ENOENT ? 0 : dfd;
        if (unlinkat(dfd, "state", 0) < 0 && errno != ENOENT)
                return -errno;
        (void) unlinkat(dfd, ".#state.tmp", 0);
        if (unlinkat(sessions_dirfd, id, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

static bool is_session_dir(const struct dirent *de) {
        return de->d_type == DT_DIR && name_is_valid(de->d_name);
}

int store_list(int sessions_dirfd, char ***ret) {
        return dir_list(sessions_dirfd, is_session_dir, ret);
}
