/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* The file system a command sees. Called in a Run's child, which is root in the
 * session's user namespace and owns a new mount namespace, with rootfd an O_PATH fd
 * for the bind mount of the session's tree. Mount points inside the tree are opened
 * beneath rootfd without following symlinks (the tree belongs to whoever is root in
 * it); everything else is mounted on file systems we create ourselves.
 *
 * Mounts: /proc fresh, /sys the host's read-only, /dev a tmpfs with null zero full
 * random urandom tty bound from the host, /dev/pts a private devpts instance with
 * /dev/ptmx, /dev/shm a tmpfs of a quarter of the RAM and 64k inodes at most. Returns 0 or -errno, with *ret_what naming the step. */
int mounts_setup(int rootfd, const char **ret_what);

/* What a booted session's container gets besides (boot.h), after mounts_setup(): /run
 * a tmpfs (systemd leaves a mounted /run alone), /run/host a tmpfs of ours with
 * container-manager ("chrootd") and os-release (the host's, if given), and console_fd
 * (a pty of the container's /dev/pts) bound on /dev/console. Returns 0 or -errno, with
 * *ret_what naming the step. */
int mounts_container(int rootfd, int console_fd, const char *os_release, const char **ret_what);

/* A new pty of the devpts at dev/pts of the tree rootfd (mounts_setup()'s own
 * instance: nothing of the host's terminals), unlocked: its master and its slave
 * (TIOCGPTPEER), both O_NOCTTY and close-on-exec. Returns 0 or -errno. */
int mounts_open_pty(int rootfd, int *ret_master, int *ret_slave);

/* Make the mount at path (a mount point: /run/host, once filled) read-only. */
int mounts_make_readonly(const char *path);

/* Make rootfd the root directory with pivot_root() and drop the old root.
 * Returns 0 or -errno. */
int mounts_pivot(int rootfd);

/* A copy-on-write session's tree: an overlayfs of upperfd (with workfd) over lowerfd,
 * mounted on mountpointfd (all O_PATH directories). Called as root of the session's
 * user namespace in a mount namespace of its own. *ret_rootfd gets the mount's root,
 * usable as mounts_setup()'s rootfd. Returns 0 or -errno (the kernel's refusal of
 * overlayfs in a user namespace included). */
int mounts_overlay(int lowerfd, int upperfd, int workfd, int mountpointfd, int *ret_rootfd, char *msg, size_t msg_size);

/* The package cache's overlay (package-cache.h) on var/cache/apt/archives of the tree
 * at rootfd, found as every mount point is (never through a symlink, never made).
 * Returns 0, -ENOENT for a tree without that directory, or another -errno. */
int mounts_package_cache(int rootfd, int lowerfd, int upperfd, int workfd);
