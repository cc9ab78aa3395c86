/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sparse files, both ways: unpacking leaves out the blocks of zeros it is given (so a
 * tarball of zeros costs no disk), and writing a tree into a tarball asks the file
 * system where a file's holes are (so a sparse file is not stored as its zeros). */

/* The unit of zeros left out on unpack: a page, which is the allocation block of
 * ext4, xfs, btrfs and tmpfs as usually made. Smaller runs of zeros are written. */
#define SPARSE_BLOCK 4096

/* Whether the n bytes at p are all zero. */
bool memory_is_zero(const void *p, size_t n);

/* Steps through buf (len bytes that belong at file offset `offset`) to the next piece
 * worth writing: the blocks that are all zeros are stepped over (SPARSE_BLOCK bytes,
 * aligned on file offsets; the partial blocks at either end of buf count too), and the
 * run of other blocks after them is returned as *ret_start (an index into buf) and
 * *ret_len. *pos is where to go on from; start it at 0. Returns false when the rest
 * of buf is zeros. Leaving zeros out is right only for a file that was empty before,
 * where what is not written reads as zeros. */
bool sparse_next_data(const void *buf, size_t len, uint64_t offset, size_t *pos, size_t *ret_start,
                      size_t *ret_len);

typedef struct SparseExtent {
        uint64_t offset;
        uint64_t length;
} SparseExtent;

/* No file needs more extents than this to be stored sparse: past it, the rest of the
 * file is one extent, holes and all, which keeps a tarball's sparse map (and the
 * memory that reading it takes) small whatever the file looks like. */
#define SPARSE_EXTENTS_MAX 65536

/* The data extents of the first size bytes of the regular file open at fd, as
 * SEEK_DATA/SEEK_HOLE report them, at most max (the last one then reaches to size).
 * Returns 1 with the extents in *ret (malloc()ed; may be NULL when *ret_n is 0: a file
 * that is all hole) if the file has holes; 0 if it has none, or the file system cannot
 * tell, and *ret is left alone; or -errno. */
int sparse_map(int fd, uint64_t size, size_t max, SparseExtent **ret, size_t *ret_n);
