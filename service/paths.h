/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Where a user's chroots and sessions live, from the XDG base directory variables. */
typedef struct Paths {
        char *state_dir;    /* $XDG_STATE_HOME/chrootd */
        char *sessions_dir; /* state_dir/sessions: one directory per session */
        char *sbuild_dir;   /* $XDG_CACHE_HOME/sbuild: tarballs named like sbuild's */
        char *confd_dir;    /* $XDG_CONFIG_HOME/chrootd/chroots.d */
        char *bases_dir;    /* $XDG_CACHE_HOME/chrootd/bases: unpacked tarballs */
        char *packages_dir; /* $XDG_CACHE_HOME/chrootd/packages: package caches (package-cache.h) */
} Paths;

/* Fill in the paths from the environment (HOME, or the passwd entry without it).
 * Returns 0 or -errno. */
int paths_init(Paths *p);
void paths_done(Paths *p);
