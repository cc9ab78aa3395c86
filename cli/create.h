/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* `chrootctl create`: a Debian chroot tarball made without root, by mmdebstrap in its
 * unshare mode, where sbuild's unshare mode and chrootd look for one:
 * $XDG_CACHE_HOME/sbuild/NAME.tar.zst. */

typedef struct CreateOptions {
        const char *name;    /* NULL: SUITE-ARCH, as sbuild names them */
        const char *suite;   /* NULL: the host's (VERSION_CODENAME of /etc/os-release) */
        const char *variant; /* NULL: buildd */
        const char *include; /* comma-separated packages, or NULL */
        const char *mirror;  /* or NULL: mmdebstrap's choice */
} CreateOptions;

/* Check what mmdebstrap needs (itself, the user's subordinate ids), run it into a
 * directory of its own beside the tarball (its progress on our stderr; SIGINT and
 * SIGTERM reach it, not us), and rename the tarball into place only when whole; a
 * tarball of that name already there is refused, never replaced. Failures are one line
 * "chrootctl: ..." on stderr (after what mmdebstrap said). Returns 0 or -errno. */
int chroot_create(const CreateOptions *o);
