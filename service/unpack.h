/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Safe extraction of a hostile archive. Called in a child process that is already
 * root in the session's user namespace and chroot()ed into the (empty) destination,
 * so that nothing can escape even if a check were missed; the checks below make
 * every unsafe archive fail with a message instead of being half-extracted. */

typedef struct UnpackLimits {
        uint64_t max_entries;     /* default 10 million */
        /* File data written in all, counted as libarchive delivers it (zeros that are
         * left out as holes count: they cost the time to decompress them); a file
         * whose declared data would pass it is refused before any of it is written.
         * Default UNPACK_MAX_BYTES_DEFAULT. */
        uint64_t max_bytes;
        unsigned max_depth;       /* path components; default 256 */
        /* What must stay free on the destination's file system: reserve_percent of its
         * size, at most reserve_max bytes, and reserve_percent of its inodes. 0 percent:
         * no reserve (the file system may fill up: -ENOSPC from a write). */
        unsigned reserve_percent; /* default 5 */
        uint64_t reserve_max;     /* default 1 GiB */
} UnpackLimits;

/* A Debian buildd chroot is about 0.3 GiB, a full desktop one 5 to 10 GiB. */
#define UNPACK_MAX_BYTES_DEFAULT (UINT64_C(16) << 30)

#define UNPACK_LIMITS_DEFAULT                                                      \
        ((UnpackLimits) { .max_entries = 10000000,                                 \
                          .max_bytes = UNPACK_MAX_BYTES_DEFAULT,                   \
                          .max_depth = 256,                                        \
                          .reserve_percent = 5,                                    \
                          .reserve_max = UINT64_C(1) << 30 })

/* Owners a member may have: a session's ids (idmap.h's IDMAP_COUNT). */
#define UNPACK_IDS 65536u

typedef struct UnpackStats {
        uint64_t entries;
        uint64_t bytes;           /* file data, as counted for max_bytes */
        uint64_t skipped_devices; /* char/block device entries, which we never create */
        uint64_t skipped_other;   /* sockets, skipped as well */
        uint64_t warnings;        /* entries whose xattrs, ACLs or timestamps could not be
                                   * restored (never ownership, mode or contents: those fail) */
} UnpackStats;

typedef enum UnpackFlags {
        /* Leave every file owned by the extracting user instead of the archive's ids, and
         * drop setuid/setgid bits that would then be wrong. For callers that cannot chown:
         * unprivileged unit tests, a session without subordinate ids. */
        UNPACK_NO_OWNER = 1 << 0,
} UnpackFlags;

/* Read an archive (tar in any format libarchive reads; plain, gzip, xz, zstd, bzip2)
 * from fd and extract it into dest_dirfd. Ownership and modes come from the archive's
 * numeric ids (no name lookups), with timestamps, xattrs and ACLs where present.
 * Refused, with -EPERM and a message in *ret_error ("Unsafe member name '../x' in
 * archive"): absolute names, ".." components, hard links with such targets, any entry
 * or hard link target whose path passes through a symlink; with -EFBIG, members beyond
 * the limits; with -ENOSPC, an archive that would leave less than the reserve free
 * (looked at every few MiB and members, and before each large file). Blocks of zeros in
 * file data are not written, so files come out sparse (and so do members that the
 * archive stores as sparse). Device nodes and sockets are skipped (counted in stats):
 * Run binds the host's nodes. Returns 0 or -errno; on failure *ret_error (if not NULL)
 * gets a malloc()ed one-line message. Stats are written only on success. */
int unpack_archive(int fd, int dest_dirfd, const UnpackLimits *limits, UnpackStats *ret_stats, char **ret_error);

/* Room for any result of unpack_quote_name(). */
#define UNPACK_QUOTE_SIZE ((200 + 4) * 4 + 8)

/* A file name from an archive or a tree, made fit for a one-line message that goes out on
 * D-Bus: control characters, backslashes and bytes that are not UTF-8 become \xNN, and
 * names longer than 200 bytes are cut. Writes into buf and returns it. */
const char *unpack_quote_name(char buf[static UNPACK_QUOTE_SIZE], const char *name);

/* unpack_archive() with flags. limits may be NULL for UNPACK_LIMITS_DEFAULT. Error codes:
 * -EPERM unsafe member (name, link target, symlink in the way), -EBADMSG corrupt or
 * unreadable archive data, -EFBIG a limit exceeded (entries, bytes, depth, path length),
 * -EOVERFLOW an owner that cannot be set (ids outside the mapped range), -ENOSPC the
 * reserve of free space reached (or the file system full), other -errno from the file
 * system (-EDQUOT, ...). Changes the working directory while it runs and restores it;
 * uses a UTF-8 LC_CTYPE on the calling thread so that pax names survive whatever the
 * process locale is. */
int unpack_archive_full(int fd, int dest_dirfd, const UnpackLimits *limits, UnpackFlags flags,
                        UnpackStats *ret_stats, char **ret_error);
