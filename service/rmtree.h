/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Remove name beneath dirfd and everything below it, never following symlinks and
 * never leaving the file system it is on. Called as root inside the session's user
 * namespace (the files belong to subordinate ids), chroot()ed into the session's
 * directory. A missing name is not an error. Returns 0 or the first -errno. */
int rm_rf_at(int dirfd, const char *name);
