/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* A minimal schroot.conf-style key file: "[group]" headers, "key=value" lines,
 * '#' comments, blank lines. Whitespace around keys and values is trimmed. */
typedef struct KeyFile KeyFile;

/* Parse text. On a syntax error returns -EBADMSG and sets *ret_line to the 1-based
 * line number (if ret_line is not NULL). A key before any group, a duplicate group
 * or a duplicate key within a group is an error too. */
int keyfile_parse(const char *text, KeyFile **ret, unsigned *ret_line);

KeyFile *keyfile_free(KeyFile *kf);
static inline void keyfile_freep(KeyFile **kf) {
        keyfile_free(*kf);
}

/* Number of groups, and the name of group i (in file order). */
size_t keyfile_n_groups(const KeyFile *kf);
const char *keyfile_group_name(const KeyFile *kf, size_t i);

/* Value of key in group, or NULL. */
const char *keyfile_get(const KeyFile *kf, const char *group, const char *key);

/* Keys of group i (NULL-terminated array owned by kf), for checking unknown keys. */
const char *const *keyfile_group_keys(const KeyFile *kf, size_t i);
