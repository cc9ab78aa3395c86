/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* The package cache a chroot's sessions share (BeginSession's package-cache): under the
 * service's packages/ directory (~/.cache/chrootd/packages), per chroot,
 *
 *   CHROOT/layer/partial/NAME.deb    what earlier sessions downloaded
 *   CHROOT/sessions/ID/upper, work   a session's own layer over it
 *
 * all owned by root inside (the first subordinate ids). A session's leader mounts an
 * overlay of layer/ under upper/ on the tree's /var/cache/apt/archives, so every
 * command sees the cache as part-downloaded files in partial/. apt trusts a complete
 * file in archives/ by its size alone, but checks a file in partial/ against its own
 * index (signed by the archive) before using it, and downloads it again if it does not
 * match; so a package that a session's root changed or made up is never installed by
 * another session. What the session's apt downloads lands in upper/; when the session
 * ends it joins layer/partial/ (package_cache_promote). docs/design.md, "The package
 * cache". */

#define PACKAGE_CACHE_LAYER "layer"

/* The paths of session id's layers in chroot's cache under packages_dir (absolute):
 * the cache's layer/, the session's upper/ and work/. Returns 0 or -ENOMEM. */
int package_cache_layers(const char *packages_dir, const char *chroot, const char *id, char **ret_lower,
                         char **ret_upper, char **ret_work);

/* Whether name is what apt calls a downloaded package: NAME_VERSION_ARCH.deb, with
 * only the characters of package names and versions (':' as apt writes it, %3a). */
bool package_file_name_is_valid(const char *name);

/* The directories of session id's cache of chroot under packagesfd (which the caller
 * may write), made as needed: CHROOT/layer/partial and CHROOT/sessions/ID/{upper,work}.
 * Called in a child that is root of the session's user namespace with the user's own
 * ids mapped too, so that they belong to root inside. Returns 0 or -errno. */
int package_cache_prepare(int packagesfd, const char *chroot, const char *id);

/* At the session's End, in the same kind of child (no command of the session runs):
 * every regular file of its upper/ that is named like a package and is not in the cache
 * yet moves into layer/partial/, owned by root inside, mode 0644, with the time of now
 * (one that is there already has its time renewed: gc keeps what is used); then the
 * session's directories go. Anything else there (symlinks, devices, directories, odd
 * names) is left to go with them. Two sessions ending at once are safe: the first
 * rename of a name wins. Returns the number of packages added, or -errno. */
int package_cache_promote(int packagesfd, const char *chroot, const char *id);
