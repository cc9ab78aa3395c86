/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "base.h"
#include "names.h"
#include "operation.h"
#include "rmtree.h"
#include "userns.h"
#include "util.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

#define IDS_SELF "ids: self"
#define IDS_SUBORDINATE "ids: subordinate"

char *base_source_text(const char *path, const struct stat *st, bool map_self) {
        return strf("%s\n%" PRIu64 ":%" PRIu64 " %" PRIu64 " %" PRId64 ".%09ld %" PRId64 ".%09ld\n%s\n", path,
                    (uint64_t) st->st_dev, (uint64_t) st->st_ino, (uint64_t) st->st_size,
                    (int64_t) st->st_mtim.tv_sec, st->st_mtim.tv_nsec, (int64_t) st->st_ctim.tv_sec,
                    st->st_ctim.tv_nsec, map_self ? IDS_SELF : IDS_SUBORDINATE);
}

int base_source_parse(const char *text, char **ret_path, bool *ret_map_self) {
        const char *nl = strchr(text, '\n'), *second = nl ? strchr(nl + 1, '\n') : NULL, *kind;
        char *path;

        if (!second)
                return -EBADMSG;
        kind = second + 1;
        if (!streq(kind, IDS_SELF "\n") && !streq(kind, IDS_SUBORDINATE "\n"))
                return -EBADMSG;
        path = strndup(text, (size_t) (nl - text));
        if (!path)
                return -ENOMEM;
        *ret_path = path;
        *ret_map_self = streq(kind, IDS_SELF "\n");
        return 0;
}

/* 64-bit FNV-1a: the key only has to tell tarballs apart; bases/<key>/source is
 * compared in full before a base is used. */
int base_key(const char *path, const struct stat *st, bool map_self, char ret[BASE_KEY_LEN + 1]) {
        _cleanup_free_ char *text = base_source_text(path, st, map_self);
        uint64_t h = UINT64_C(14695981039346656037);

        if (!text)
                return -ENOMEM;
        for (const unsigned char *c = (const unsigned char *) text; *c; c++)
                h = (h ^ *c) * UINT64_C(1099511628211);
        snprintf(ret, BASE_KEY_LEN + 1, "%016" PRIx64, h);
        return 0;
}

bool base_key_is_valid(const char *key) {
        size_t n = 0;

        for (; key[n]; n++)
                if (!((key[n] >= '0' && key[n] <= '9') || (key[n] >= 'a' && key[n] <= 'f')))
                        return false;
        return n == BASE_KEY_LEN;
}

/* ---- the cache ---- */

typedef struct Removal Removal;

struct BaseCache {
        sd_event *event;
        char *dir;
        int dirfd;
        base_in_use_t in_use;
        base_idmap_t idmap;
        void *userdata;
        Removal *removals;
};

struct Removal {
        BaseCache *cache;
        Removal *next;
        char *name;
        Operation *op;
};

static Removal *removal_free(Removal *rm) {
        if (!rm)
                return NULL;
        for (Removal **i = &rm->cache->removals; *i; i = &(*i)->next)
                if (*i == rm) {
                        *i = rm->next;
                        break;
                }
        operation_free(rm->op);
        free(rm->name);
        free(rm);
        return NULL;
}

int base_cache_new(sd_event *event, const char *dir, base_in_use_t in_use, base_idmap_t idmap, void *userdata,
                   BaseCache **ret) {
        _cleanup_(base_cache_freep) BaseCache *c = NULL;
        int r;

        assert(event && dir && in_use && idmap && ret);
        c = calloc(1, sizeof(BaseCache));
        if (!c)
                return -ENOMEM;
        *c = (BaseCache) { .event = sd_event_ref(event), .dir = strdup(dir), .dirfd = -EBADF, .in_use = in_use,
                           .idmap = idmap, .userdata = userdata };
        if (!c->dir)
                return -ENOMEM;
        r = mkdir_p(dir, 0700);
        if (r < 0)
                return r;
        c->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (c->dirfd < 0)
                return -errno;
        *ret = TAKE_PTR(c);
        return 0;
}

BaseCache *base_cache_free(BaseCache *c) {
        if (!c)
                return NULL;
        while (c->removals)
                removal_free(c->removals);
        safe_close(c->dirfd);
        free(c->dir);
        sd_event_unref(c->event);
        free(c);
        return NULL;
}

int base_cache_dirfd(const BaseCache *c) {
        return c->dirfd;
}

bool base_cache_busy(const BaseCache *c) {
        return c->removals;
}

char *base_tree_path(const BaseCache *c, const char *key) {
        return strf("%s/%s/root", c->dir, key);
}

bool base_ready(BaseCache *c, const char *key, const char *path, const struct stat *st, bool map_self) {
        _cleanup_free_ char *name = strf("%s/source", key), *want = base_source_text(path, st, map_self), *have = NULL;
        struct stat rst;

        if (!name || !want || read_file_at(c->dirfd, name, 64 * 1024, &have) < 0)
                return false;
        free(name);
        name = strf("%s/root", key);
        return name && streq(have, want) && fstatat(c->dirfd, name, &rst, AT_SYMLINK_NOFOLLOW) >= 0 &&
               S_ISDIR(rst.st_mode);
}

static int base_remove_after_map(void *userdata) {
        Removal *rm = userdata;
        int r;

        /* The tree came from a tarball: stay inside bases/ whatever it holds. */
        if (fchdir(rm->cache->dirfd) < 0 || chroot(".") < 0)
                return EXIT_FAILURE;
        r = rm_rf_at(AT_FDCWD, rm->name);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

static void on_removed(Operation *op, Outcome *o, void *userdata) {
        Removal *rm = userdata;

        if (error_is_set(&o->error))
                log_warning("Failed to remove %s/%s (%s); the next start tries again", rm->cache->dir, rm->name,
                            o->error.message);
        rm->op = NULL; /* it frees itself */
        removal_free(rm);
}

/* Remove bases/<name> in a child, root of a namespace of the subordinate ids. */
static int base_remove(BaseCache *c, const char *name) {
        _cleanup_free_ char *error = NULL;
        _cleanup_close_ int pidfd = -EBADF;
        Removal *rm;
        IdMap map;
        pid_t pid;
        int r;

        r = c->idmap(&map, &error, c->userdata);
        if (r < 0) {
                log_warning("Cannot remove %s/%s: %s", c->dir, name, error ? error : strerror(-r));
                return r;
        }
        rm = calloc(1, sizeof(Removal));
        if (!rm || !(rm->name = strdup(name))) {
                free(rm);
                return -ENOMEM;
        }
        rm->cache = c;
        rm->next = c->removals;
        c->removals = rm;
        int keep[] = { c->dirfd };
        SpawnParams sp = {
                .map = &map,
                .map_flags = IDMAP_HELPER,
                .keep_fds = keep,
                .n_keep_fds = 1,
                .after_map = base_remove_after_map,
                .userdata = rm,
        };
        r = userns_spawn(&sp, &pid, &pidfd, &error);
        if (r >= 0)
                r = operation_watch(c->event, pid, TAKE_FD(pidfd), -EBADF, "Removal", on_removed, rm, &rm->op);
        if (r < 0) {
                log_warning("Cannot remove %s/%s: %s", c->dir, name, error ? error : strerror(-r));
                removal_free(rm);
                return r;
        }
        return 0;
}

int base_retire(BaseCache *c, const char *name) {
        _cleanup_free_ char *old = NULL, *id = NULL;
        int r;

        r = session_id_generate("old", &id);
        if (r < 0)
                return r;
        old = strf(".%s", id);
        if (!old)
                return -ENOMEM;
        /* Renamed first, so that a half-removed base is never taken for a whole one. */
        if (renameat(c->dirfd, name, c->dirfd, old) < 0)
                return -errno;
        (void) base_remove(c, old);
        return 0;
}

int base_new(BaseCache *c, const char *owner, int *ret_fd) {
        _cleanup_free_ char *name = strf(".new-%s", owner);
        int fd;

        if (!name)
                return -ENOMEM;
        (void) rm_rf_at(c->dirfd, name); /* an empty one from a crash: ours */
        if (mkdirat(c->dirfd, name, 0700) < 0)
                return -errno;
        fd = openat(c->dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

int base_commit(BaseCache *c, const char *owner, const char *key, const char *path, const struct stat *st,
                bool map_self) {
        _cleanup_free_ char *name = strf(".new-%s", owner), *text = base_source_text(path, st, map_self);
        _cleanup_close_ int basefd = -EBADF;
        int r;

        if (!name || !text)
                return -ENOMEM;
        basefd = openat(c->dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (basefd < 0)
                return -errno;
        r = write_file_atomic_at(basefd, "source", text, 0600);
        if (r < 0)
                return r;
        if (renameat(c->dirfd, name, c->dirfd, key) >= 0)
                return 0;
        if (errno != EEXIST && errno != ENOTEMPTY)
                return -errno;
        if (!base_ready(c, key, path, st, map_self))
                return -EEXIST;
        return base_retire(c, name);
}

void base_drop_new(BaseCache *c, const char *owner) {
        _cleanup_free_ char *name = strf(".new-%s", owner);
        struct stat st;

        if (name && fstatat(c->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0 && base_retire(c, name) < 0)
                log_warning("Cannot remove the unfinished base %s/%s", c->dir, name);
}

/* A base whose tarball still is what it was made from. */
static bool base_current(BaseCache *c, const char *key) {
        _cleanup_free_ char *name = strf("%s/source", key), *text = NULL, *path = NULL;
        struct stat st;
        bool map_self;

        if (!name || read_file_at(c->dirfd, name, 64 * 1024, &text) < 0 ||
            base_source_parse(text, &path, &map_self) < 0)
                return false;
        return stat(path, &st) >= 0 && base_ready(c, key, path, &st, map_self);
}

static bool removal_running(BaseCache *c, const char *name) {
        for (Removal *rm = c->removals; rm; rm = rm->next)
                if (streq(rm->name, name))
                        return true;
        return false;
}

int base_collect(BaseCache *c, bool all, char ***ret_removed) {
        _cleanup_strv_free_ char **names = NULL, **removed = NULL;
        int r, n = 0;

        r = dir_list(c->dirfd, NULL, &names);
        if (r < 0)
                return r;
        for (char **name = names; name && *name; name++) {
                if (startswith(*name, ".old-") || startswith(*name, ".new-")) {
                        /* What a crash left, unless it is being unpacked or removed. */
                        if (!c->in_use(*name, c->userdata) && !removal_running(c, *name))
                                (void) base_remove(c, *name);
                        continue;
                }
                if (!base_key_is_valid(*name) || c->in_use(*name, c->userdata))
                        continue;
                if (!all && base_current(c, *name))
                        continue;
                r = base_retire(c, *name);
                if (r < 0) {
                        log_warning_errno(r, "Cannot remove base %s: %m", *name);
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
