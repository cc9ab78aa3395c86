/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* STUB: to be written. */
#include "util.h"
#include "catalog.h"
const char *chroot_type_to_string(ChrootType t) { return t == CHROOT_FILE ? "file" : "directory"; }
int chroot_type_from_string(const char *s) { return -EINVAL; }
Chroot *chroot_free(Chroot *c) { return NULL; }
Catalog *catalog_free(Catalog *c) { return NULL; }
int catalog_load(const char *sbuild_dir, const char *confd_dir, Catalog **ret) { return -EOPNOTSUPP; }
const Chroot *catalog_find(const Catalog *c, const char *name_or_alias) { return NULL; }
