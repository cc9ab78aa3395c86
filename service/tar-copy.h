/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Files in and out of a session as a tar stream (pax), as `podman cp` moves them. The
 * same code runs on both sides: inside a session (a copy's child, chrooted in the
 * session's tree as root of its user namespace: init.c), and in chrootctl on the host,
 * which must treat what comes out of a session as hostile (root inside made it). */

typedef enum TarCopyFlags {
        TAR_COPY_OWNER_ROOT = 1 << 0,    /* out: every entry owned by 0:0, no names (the host's ids mean nothing inside) */
        TAR_COPY_RESTORE_OWNER = 1 << 1, /* in: chown to the entries' numeric ids (as root of a user namespace) */
        TAR_COPY_HOSTILE = 1 << 2,       /* in: an untrusted stream: no absolute names, no "..", nothing written
                                          * through a symlink, no device nodes */
} TarCopyFlags;

/* Write a tar stream of path (not followed if it is a symlink) to out_fd: one top-level
 * entry top_name and, for a directory, everything below it as top_name/..., symlinks
 * never followed, mount points below path not entered (a copy of "/" leaves /proc, /sys
 * and /dev). Owners numeric. Returns 0, or -errno with *ret_error (malloc'ed, NULL on
 * ENOMEM) saying what failed; -ENOENT for a missing path. out_fd stays open. */
int tar_copy_out(const char *path, const char *top_name, int out_fd, TarCopyFlags flags, char **ret_error);

/* Extract the tar stream on in_fd to dest. dest an existing directory (symlinks in it
 * followed: the caller's to trust): the entries go into it as they are named.
 * Otherwise the stream's one top-level entry (every name's first component, after a
 * leading "./") becomes dest, whose parent must be a directory: -ENOENT if it is not
 * there (or dest ends in "/"), -EINVAL for a stream of more than one top-level entry. Modes and times are
 * restored, owners with TAR_COPY_RESTORE_OWNER. Returns 0, or -errno with *ret_error as
 * above. What was extracted before an error stays; with TAR_COPY_HOSTILE nothing is
 * ever written outside dest. */
int tar_copy_in(int in_fd, const char *dest, TarCopyFlags flags, char **ret_error);
