/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* How host ids are translated when a directory chroot is copied into a session. */
typedef struct IdShift {
        uid_t self_uid;       /* the service's own uid: becomes 0 */
        gid_t self_gid;       /* the service's own gid: becomes 0 */
        uint32_t uid_base;    /* subordinate uid range: base+n becomes n */
        uint32_t gid_base;
        uint32_t count;       /* size of the ranges (65536) */
} IdShift;

/* Translate one host uid/gid as described on IdShift; ids below count (a tree made by
 * the real root) stay as they are; anything else becomes 65534 (nobody). */
uid_t idshift_uid(const IdShift *s, uid_t host);
gid_t idshift_gid(const IdShift *s, gid_t host);

/* Walk the directory tree at src_dirfd (never following symlinks, staying on its file
 * system) and write it as a pax tar stream to out_fd, with ids translated by shift.
 * Runs with the service's own credentials on the host. Returns 0 or -errno; on failure
 * *ret_error gets a malloc()ed message naming the file ("Cannot read 'etc/shadow':
 * Permission denied").
 *
 * Kept: types, modes, mtimes, symlinks, hard links (by dev/ino), fifos, the xattrs
 * user.* and security.capability of files and directories, and the holes of sparse
 * files (SEEK_DATA/SEEK_HOLE; written as pax sparse members, whose holes take no room). Skipped: device nodes and
 * sockets; a mount point becomes an empty directory. Names are sorted and atime/ctime
 * left out, so the same tree makes the same stream. After a failure no end-of-archive
 * marker is written: the reader sees a truncated archive, never a smaller tree. SIGPIPE
 * is blocked on the calling thread meanwhile, so a reader that went away is -EPIPE. */
int dircopy_write_tar(int src_dirfd, int out_fd, const IdShift *shift, char **ret_error);

/* The same, compressed with a libarchive filter (ARCHIVE_FILTER_GZIP, ...). */
int dircopy_write_tar_filtered(int src_dirfd, int out_fd, const IdShift *shift, int filter, char **ret_error);

/* The libarchive filter for a tarball's name (.tar, .tar.gz/.tgz, .tar.xz/.txz,
 * .tar.zst/.tzst, .tar.bz2/.tbz/.tbz2), or -EINVAL. */
int dircopy_filter_for_name(const char *name);
