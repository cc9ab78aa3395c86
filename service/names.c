/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* STUB: to be written. */
#include "util.h"
#include "names.h"
bool name_is_valid(const char *name) { return name && *name; }
int session_id_generate(const char *chroot, char **ret) { *ret = strf("%s-%d", chroot, (int) getpid()); return *ret ? 0 : -ENOMEM; }
