/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>

/* Copy-on-write sessions share a base: a tarball unpacked once into
 * $XDG_CACHE_HOME/chrootd/bases/<key>/root (owned by subordinate ids, never changed
 * after it is complete). The key names the tarball as it is now (its path, device,
 * inode, size, mtime and ctime), so a changed or replaced tarball gets a new base and
 * the old one is collected once no session uses it. bases/<key>/source records what
 * the key was made of. A base being unpacked is bases/.new-<session id>/, renamed to
 * <key> when complete. */

#define BASE_KEY_LEN 16

/* The key of the tarball at path, with stat st (of the open file). */
int base_key(const char *path, const struct stat *st, char ret[BASE_KEY_LEN + 1]);

/* The text of bases/<key>/source, and whether a base made from it is current. */
char *base_source_text(const char *path, const struct stat *st);

bool base_key_is_valid(const char *key);
