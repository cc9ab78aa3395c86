/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The zero detection that unpacking leaves holes with, and the hole map that writing a
 * tarball takes from the file system. */
#include <fcntl.h>
#include <sys/stat.h>

#include <glib.h>

#include "sparse.h"
#include "util.h"

#define B SPARSE_BLOCK

static void test_memory_is_zero(void) {
        g_autofree char *buf = g_malloc0(3 * B);

        g_assert_true(memory_is_zero(buf, 0));
        g_assert_true(memory_is_zero(buf, 1));
        g_assert_true(memory_is_zero(buf, 3 * B));
        buf[3 * B - 1] = 1;
        g_assert_false(memory_is_zero(buf, 3 * B));
        g_assert_true(memory_is_zero(buf, 3 * B - 1));
        buf[0] = 1;
        g_assert_false(memory_is_zero(buf, 1));
}

typedef struct Piece {
        size_t start, len;
} Piece;

/* The pieces that sparse_next_data() gives for buf, at most 8. */
static size_t pieces(const char *buf, size_t len, uint64_t offset, Piece out[static 8]) {
        size_t pos = 0, n = 0, start, l;

        while (sparse_next_data(buf, len, offset, &pos, &start, &l)) {
                g_assert_cmpuint(n, <, 8);
                g_assert_cmpuint(l, >, 0);
                out[n++] = (Piece) { start, l };
        }
        g_assert_cmpuint(pos, ==, len);
        return n;
}

static void test_next_data(void) {
        g_autofree char *buf = g_malloc0(8 * B);
        Piece p[8];

        /* All zeros: nothing to write, aligned or not. */
        g_assert_cmpuint(pieces(buf, 8 * B, 0, p), ==, 0);
        g_assert_cmpuint(pieces(buf, 8 * B - 7, 123, p), ==, 0);
        g_assert_cmpuint(pieces(buf, 0, 0, p), ==, 0);

        /* Data in blocks 1 and 2, and in 5: two runs, each whole blocks. */
        buf[B + 10] = 1;
        buf[2 * B + B - 1] = 1;
        buf[5 * B] = 1;
        g_assert_cmpuint(pieces(buf, 8 * B, 0, p), ==, 2);
        g_assert_cmpuint(p[0].start, ==, B);
        g_assert_cmpuint(p[0].len, ==, 2 * B);
        g_assert_cmpuint(p[1].start, ==, 5 * B);
        g_assert_cmpuint(p[1].len, ==, B);

        /* Blocks follow file offsets, not the buffer: at offset B - 100, the buffer's
         * first 100 bytes end a block of their own. */
        memset(buf, 0, 8 * B);
        buf[50] = 1;       /* in the first, partial block */
        buf[100 + B] = 1;  /* the first byte of the second block after it */
        g_assert_cmpuint(pieces(buf, 3 * B, B - 100, p), ==, 2);
        g_assert_cmpuint(p[0].start, ==, 0);
        g_assert_cmpuint(p[0].len, ==, 100);
        g_assert_cmpuint(p[1].start, ==, 100 + B);
        g_assert_cmpuint(p[1].len, ==, B);

        /* A partial block at the end that has data is written up to the end. */
        memset(buf, 0, 8 * B);
        buf[2 * B + 5] = 1;
        g_assert_cmpuint(pieces(buf, 2 * B + 10, 0, p), ==, 1);
        g_assert_cmpuint(p[0].start, ==, 2 * B);
        g_assert_cmpuint(p[0].len, ==, 10);

        /* No zeros at all: one piece, the whole buffer. */
        memset(buf, 'x', 8 * B);
        g_assert_cmpuint(pieces(buf, 8 * B - 3, 17, p), ==, 1);
        g_assert_cmpuint(p[0].start, ==, 0);
        g_assert_cmpuint(p[0].len, ==, 8 * B - 3);
}

typedef struct Fixture {
        char *path;
        int fd;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data) {
        GError *error = NULL;

        f->fd = g_file_open_tmp("test-sparse-XXXXXX", &f->path, &error);
        g_assert_no_error(error);
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
        close(f->fd);
        unlink(f->path);
        g_free(f->path);
}

/* Whether the file system of the temporary file makes holes and reports them. */
static bool holes_work(Fixture *f) {
        struct stat st;
        bool ok;

        g_assert_cmpint(ftruncate(f->fd, 64 << 20), ==, 0);
        g_assert_cmpint(fstat(f->fd, &st), ==, 0);
        ok = st.st_blocks == 0 && lseek(f->fd, 0, SEEK_HOLE) == 0;
        g_assert_cmpint(ftruncate(f->fd, 0), ==, 0);
        return ok;
}

static void put(Fixture *f, off_t at, size_t n) {
        g_autofree char *buf = g_malloc(n);

        memset(buf, 'd', n);
        g_assert_cmpint(pwrite(f->fd, buf, n, at), ==, (ssize_t) n);
}

static void test_map(Fixture *f, gconstpointer data) {
        g_autofree SparseExtent *x = NULL;
        size_t n = 0;

        if (!holes_work(f)) {
                g_test_skip("the temporary directory's file system does not report holes");
                return;
        }

        /* Empty: nothing to map. */
        g_assert_cmpint(sparse_map(f->fd, 0, SPARSE_EXTENTS_MAX, &x, &n), ==, 0);

        /* All hole: sparse, no extents. */
        g_assert_cmpint(ftruncate(f->fd, 8 << 20), ==, 0);
        g_assert_cmpint(sparse_map(f->fd, 8 << 20, SPARSE_EXTENTS_MAX, &x, &n), ==, 1);
        g_assert_cmpuint(n, ==, 0);
        g_clear_pointer(&x, free);

        /* Data at 1 MiB and at 4 MiB, holes between and at both ends. */
        put(f, 1 << 20, 8192);
        put(f, 4 << 20, 4096);
        g_assert_cmpint(sparse_map(f->fd, 8 << 20, SPARSE_EXTENTS_MAX, &x, &n), ==, 1);
        g_assert_cmpuint(n, ==, 2);
        g_assert_cmpuint(x[0].offset, ==, 1 << 20);
        g_assert_cmpuint(x[0].length, ==, 8192);
        g_assert_cmpuint(x[1].offset, ==, 4 << 20);
        g_assert_cmpuint(x[1].length, ==, 4096);
        g_clear_pointer(&x, free);

        /* Only as far as asked: a size taken before the file grew. */
        g_assert_cmpint(sparse_map(f->fd, (1 << 20) + 4096, SPARSE_EXTENTS_MAX, &x, &n), ==, 1);
        g_assert_cmpuint(n, ==, 1);
        g_assert_cmpuint(x[0].offset, ==, 1 << 20);
        g_assert_cmpuint(x[0].length, ==, 4096);
        g_clear_pointer(&x, free);

        /* At most max extents: the last one takes the rest, holes and all. */
        g_assert_cmpint(sparse_map(f->fd, 8 << 20, 1, &x, &n), ==, 1);
        g_assert_cmpuint(n, ==, 1);
        g_assert_cmpuint(x[0].offset, ==, 1 << 20);
        g_assert_cmpuint(x[0].length, ==, 7 << 20);
        g_clear_pointer(&x, free);
}

static void test_map_no_holes(Fixture *f, gconstpointer data) {
        SparseExtent *x = NULL;
        size_t n = 0;

        put(f, 0, 3 * B + 5);
        g_assert_cmpint(sparse_map(f->fd, 3 * B + 5, SPARSE_EXTENTS_MAX, &x, &n), ==, 0);
        g_assert_null(x);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/sparse/memory-is-zero", test_memory_is_zero);
        g_test_add_func("/sparse/next-data", test_next_data);
        g_test_add("/sparse/map", Fixture, NULL, fixture_setup, test_map, fixture_teardown);
        g_test_add("/sparse/map-no-holes", Fixture, NULL, fixture_setup, test_map_no_holes, fixture_teardown);

        return g_test_run();
}
