/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The chroot definitions a user has: tarballs in $XDG_CACHE_HOME/sbuild named as
 * sbuild's unshare mode names them, and keyfiles in $XDG_CONFIG_HOME/chrootd/chroots.d. */

typedef enum ChrootType {
        CHROOT_FILE,
        CHROOT_DIRECTORY,
        _CHROOT_TYPE_MAX,
} ChrootType;

const char *chroot_type_to_string(ChrootType t);
/* Returns the type or -EINVAL. */
int chroot_type_from_string(const char *s);

typedef struct Chroot {
        char *name;
        ChrootType type;
        char *path;        /* absolute path of the tarball or directory */
        char *description; /* never NULL, may be "" */
        char **aliases;    /* never NULL, NULL-terminated */
        char *union_type;  /* "overlay", "none" or NULL when unset */
        uint64_t max_size; /* max-size=: bytes of file data a Begin may unpack; 0: the default */
        bool no_package_cache; /* package-cache=false: its sessions never share packages */
        bool boot;         /* boot=true: its sessions are booted (session-boot.c) even when
                            * Begin does not ask for it */
} Chroot;

Chroot *chroot_free(Chroot *c);

/* A list of chroots, NULL-terminated. */
typedef struct Catalog {
        Chroot **chroots;
        size_t n;
        char **warnings; /* one line each, for entries that were skipped; NULL-terminated */
} Catalog;

Catalog *catalog_free(Catalog *c);
static inline void catalog_freep(Catalog **c) {
        catalog_free(*c);
}

/* Load all definitions. sbuild_dir is scanned for NAME.tar, NAME.tar.gz, .tgz, .tar.xz,
 * .txz, .tar.zst, .tzst, .tar.bz2, .tbz, .tbz2 (chroot NAME with alias NAME-sbuild);
 * confd_dir for *.conf key files (groups are chroot names; keys type=file|directory,
 * file=, directory=, description=, aliases= (comma separated), union-type=, max-size=
 * (bytes, with K, M, G or T for powers of 1024), package-cache= (true or false), boot= (true or false)).
 * Either directory may be missing. Invalid names, unreadable or malformed files, and
 * relative paths are skipped with a warning. When names or aliases clash, the keyfile
 * definition wins over the tarball, and earlier files (sorted by name) over later ones.
 * The result is sorted by name. Returns 0 or -errno (-ENOMEM). */
int catalog_load(const char *sbuild_dir, const char *confd_dir, Catalog **ret);

/* Find a chroot by name, then by alias. Returns NULL if there is none. */
const Chroot *catalog_find(const Catalog *c, const char *name_or_alias);
