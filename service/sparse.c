/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <unistd.h>

#include "sparse.h"
#include "util.h"

bool memory_is_zero(const void *p, size_t n) {
        const unsigned char *b = p;

        /* The bytes against themselves one further on: memcmp is vectorised where a
         * byte loop is not, and zeros are what a bomb is made of. */
        return n == 0 || (b[0] == 0 && memcmp(b, b + 1, n - 1) == 0);
}

/* The end (an index into a buffer of len bytes at file offset `offset`) of the block
 * that index i is in. */
static size_t block_end(uint64_t offset, size_t i, size_t len) {
        uint64_t in_block = (offset + i) % SPARSE_BLOCK;
        uint64_t rest = SPARSE_BLOCK - in_block;

        return rest < len - i ? i + (size_t) rest : len;
}

bool sparse_next_data(const void *buf, size_t len, uint64_t offset, size_t *pos, size_t *ret_start,
                      size_t *ret_len) {
        const unsigned char *p = buf;
        size_t i = *pos, start;

        while (i < len && memory_is_zero(p + i, block_end(offset, i, len) - i))
                i = block_end(offset, i, len);
        if (i >= len) {
                *pos = len;
                return false;
        }

        start = i;
        i = block_end(offset, i, len);
        while (i < len && !memory_is_zero(p + i, block_end(offset, i, len) - i))
                i = block_end(offset, i, len);

        *pos = i;
        *ret_start = start;
        *ret_len = i - start;
        return true;
}

static int extent_add(SparseExtent **list, size_t *n, size_t *allocated, uint64_t offset, uint64_t length) {
        if (*n == *allocated) {
                size_t want = *allocated ? *allocated * 2 : 16;
                SparseExtent *l = reallocarray(*list, want, sizeof(SparseExtent));

                if (!l)
                        return -ENOMEM;
                *list = l;
                *allocated = want;
        }
        (*list)[(*n)++] = (SparseExtent) { offset, length };
        return 0;
}

int sparse_map(int fd, uint64_t size, size_t max, SparseExtent **ret, size_t *ret_n) {
        _cleanup_free_ SparseExtent *list = NULL;
        size_t n = 0, allocated = 0;
        uint64_t at = 0;
        int r;

        if (size == 0 || max == 0 || size > INT64_MAX)
                return 0;

        while (at < size) {
                off_t data, hole;

                data = lseek(fd, (off_t) at, SEEK_DATA);
                if (data < 0 && errno == ENXIO) /* a hole from here to the end */
                        break;
                if (data < 0 && (errno == EINVAL || errno == EOPNOTSUPP))
                        return 0; /* no SEEK_DATA here: as if there were no holes */
                if (data < 0)
                        return -errno;
                if ((uint64_t) data >= size)
                        break;
                hole = lseek(fd, data, SEEK_HOLE);
                if (hole < 0)
                        return -errno;
                /* The file may have grown since its size was taken; the last extent
                 * allowed takes the rest. */
                if ((uint64_t) hole > size || n + 1 == max)
                        hole = (off_t) size;
                r = extent_add(&list, &n, &allocated, (uint64_t) data, (uint64_t) (hole - data));
                if (r < 0)
                        return r;
                at = (uint64_t) hole;
        }

        if (n == 1 && list[0].offset == 0 && list[0].length == size)
                return 0;
        *ret = TAKE_PTR(list);
        *ret_n = n;
        return 1;
}
