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
