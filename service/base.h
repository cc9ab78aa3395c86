/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>

/* Copy-on-write sessions share a base: a tarball unpacked once into
 * $XDG_CACHE_HOME/chrootd/bases/<key>/root (owned by subordinate ids, never changed
 * after it is complete). The key names the tarball as it is now (its path, device,
 * inode, size, mtime and ctime), so a changed or replaced tarball gets a new base and
 * the old one is collected once no session uses it. The key also says whether the
 * user's own ids were themselves in the unpack (IDMAP_SELF, for host-tree sessions):
 * that decides who owns a file the tarball gives to the user's uid, so a base serves
 * sessions of one kind only. bases/<key>/source records what the key was made of. A
 * base being unpacked is bases/.new-<session id>/, renamed to <key> when complete. */

#define BASE_KEY_LEN 16

/* The key of the tarball at path, with stat st (of the open file), unpacked with the
 * user's ids themselves inside or not. */
int base_key(const char *path, const struct stat *st, bool map_self, char ret[BASE_KEY_LEN + 1]);

/* The text of bases/<key>/source: the path on a line of its own, then what tells a
 * changed tarball, then the kind of map. A base is current if its text is this. */
char *base_source_text(const char *path, const struct stat *st, bool map_self);

/* The path and kind of map from such a text. Returns 0 or -EBADMSG (a text from an
 * older version, without the kind: such a base is never current). */
int base_source_parse(const char *text, char **ret_path, bool *ret_map_self);

bool base_key_is_valid(const char *key);

/* ---- the cache: bases/ and what is in it ---- */

#include <systemd/sd-event.h>
#include "idmap.h"

typedef struct BaseCache BaseCache;

/* Whether a session uses name: a base's key, or ".new-<owner>" while that owner's
 * Begin unpacks it. */
typedef bool (*base_in_use_t)(const char *name, void *userdata);
/* The id map removals run with (they are root of a namespace of subordinate ids, as
 * the unpack that made the base was). Returns 0 or -errno with *ret_error. */
typedef int (*base_idmap_t)(IdMap *ret, char **ret_error, void *userdata);

/* The cache in the directory dir (made if missing). Knows nothing of sessions: it asks
 * in_use and idmap. Returns 0 or -errno. */
int base_cache_new(sd_event *event, const char *dir, base_in_use_t in_use, base_idmap_t idmap, void *userdata,
                   BaseCache **ret);
/* Removals still running are killed (what they left is collected at the next start). */
BaseCache *base_cache_free(BaseCache *c);
static inline void base_cache_freep(BaseCache **c) {
        base_cache_free(*c);
}

int base_cache_dirfd(const BaseCache *c);
/* True while a removal runs. */
bool base_cache_busy(const BaseCache *c);

/* dir/<key>/root, the tree of a base (NULL: out of memory). */
char *base_tree_path(const BaseCache *c, const char *key);

/* Whether bases/<key> is a complete base made from the tarball at path as it is now
 * (st: its stat), with the user's own ids inside or not. */
bool base_ready(BaseCache *c, const char *key, const char *path, const struct stat *st, bool map_self);

/* bases/.new-<owner>, made empty (an earlier one, from a crash, is removed), for an
 * unpack to fill; *ret_fd is it, opened. Returns 0 or -errno. */
int base_new(BaseCache *c, const char *owner, int *ret_fd);

/* The unpack into bases/.new-<owner> is complete: name it <key>. When another Begin
 * was quicker and its base of the same tarball is ready, ours is retired and that one
 * serves. Returns 0, -EEXIST (bases/<key> is there but not a ready base of that
 * tarball: ours is kept as .new-<owner> for base_drop_new()) or -errno. */
int base_commit(BaseCache *c, const char *owner, const char *key, const char *path, const struct stat *st,
                bool map_self);

/* A failed unpack's bases/.new-<owner> goes, if it is there. */
void base_drop_new(BaseCache *c, const char *owner);

/* Take bases/<name> out of use at once (renamed to .old-*) and remove it in the
 * background. Returns 0 or -errno (not renamed); a removal that fails to start is
 * logged and left to the next collection. */
int base_retire(BaseCache *c, const char *name);

/* Remove bases nothing uses: all of them (all), or only those whose tarball changed
 * or is gone; and what an interrupted unpack or removal left. *ret_removed (may be
 * NULL) gets the keys. Returns how many were removed, or -errno. */
int base_collect(BaseCache *c, bool all, char ***ret_removed);
