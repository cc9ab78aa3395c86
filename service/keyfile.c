/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* STUB: to be written. */
#include "util.h"
#include "keyfile.h"
int keyfile_parse(const char *text, KeyFile **ret, unsigned *ret_line) { return -EOPNOTSUPP; }
KeyFile *keyfile_free(KeyFile *kf) { return NULL; }
size_t keyfile_n_groups(const KeyFile *kf) { return 0; }
const char *keyfile_group_name(const KeyFile *kf, size_t i) { return NULL; }
const char *keyfile_get(const KeyFile *kf, const char *group, const char *key) { return NULL; }
const char *const *keyfile_group_keys(const KeyFile *kf, size_t i) { return NULL; }
