/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tar_copy_out() and tar_copy_in(): a tree out and back in (modes, times, symlinks not
 * followed, hard links, a fifo, a 64 MiB file), into a directory and as a new name,
 * owners as root of a user namespace (tests/lib/as-userns-root), and hostile streams
 * built here that try to write outside the destination. */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "archive-util.h"
#include "rmtree.h"
#include "tar-copy.h"
#include "util.h"

#define BIG (64u << 20)

typedef struct Fixture {
        char *tmp, *src, *dest, *outside;
} Fixture;

static void setup(Fixture *f, gconstpointer data) {
        g_autoptr(GError) error = NULL;

        f->tmp = g_dir_make_tmp("test-tar-copy-XXXXXX", &error);
        g_assert_no_error(error);
        f->src = g_build_filename(f->tmp, "src", NULL);
        f->dest = g_build_filename(f->tmp, "dest", NULL);
        f->outside = g_build_filename(f->tmp, "outside", NULL);
        g_assert_cmpint(g_mkdir(f->src, 0755), ==, 0);
        g_assert_cmpint(g_mkdir(f->dest, 0755), ==, 0);
        g_assert_cmpint(g_mkdir(f->outside, 0755), ==, 0);
}

static void teardown(Fixture *f, gconstpointer data) {
        (void) rm_rf_at(AT_FDCWD, f->tmp);
        g_free(f->tmp);
        g_free(f->src);
        g_free(f->dest);
        g_free(f->outside);
}

static char *at(const char *dir, const char *rel) {
        return g_build_filename(dir, rel, NULL);
}

static void put(const char *dir, const char *rel, const char *data, mode_t mode) {
        g_autofree char *p = at(dir, rel);
        g_autoptr(GError) error = NULL;

        g_file_set_contents(p, data, -1, &error);
        g_assert_no_error(error);
        g_assert_cmpint(chmod(p, mode), ==, 0);
}

/* A file of BIG bytes of a pattern that differs in every block. */
static void put_big(const char *path) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        g_autofree uint32_t *buf = g_malloc(1 << 20);

        g_assert_cmpint(fd, >=, 0);
        for (uint32_t mb = 0; mb < BIG >> 20; mb++) {
                for (size_t i = 0; i < (1 << 20) / sizeof(uint32_t); i++)
                        buf[i] = mb * 2654435761u + (uint32_t) i;
                g_assert_cmpint(write(fd, buf, 1 << 20), ==, 1 << 20);
        }
        close(fd);
}

static void assert_same_content(const char *a, const char *b) {
        g_autofree char *ca = NULL, *cb = NULL;
        gsize la, lb;

        g_assert_true(g_file_get_contents(a, &ca, &la, NULL));
        g_assert_true(g_file_get_contents(b, &cb, &lb, NULL));
        g_assert_cmpuint(la, ==, lb);
        g_assert_true(memcmp(ca, cb, la) == 0);
}

static void make_tree(Fixture *f) {
        g_autofree char *top = at(f->src, "top"), *sub = at(f->src, "top/sub"), *empty = at(f->src, "top/empty");
        g_autofree char *big = at(f->src, "top/big"), *fifo = at(f->src, "top/fifo");
        g_autofree char *l1 = at(f->src, "top/rel-link"), *l2 = at(f->src, "top/abs-link");
        g_autofree char *l3 = at(f->src, "top/to-root"), *hard = at(f->src, "top/sub/hard");
        g_autofree char *hard_target = at(f->src, "top/secret"), *old = at(f->src, "top/old");
        struct timespec times[2] = { { .tv_sec = 1600000000 }, { .tv_sec = 1600000000 } };

        g_assert_cmpint(g_mkdir(top, 0755), ==, 0);
        g_assert_cmpint(g_mkdir(sub, 0700), ==, 0);
        g_assert_cmpint(g_mkdir(empty, 0750), ==, 0);
        put(f->src, "top/secret", "only for me\n", 0600);
        put(f->src, "top/tool", "#!/bin/sh\n", 0755);
        put(f->src, "top/old", "old\n", 0644);
        g_assert_cmpint(utimensat(AT_FDCWD, old, times, 0), ==, 0);
        put_big(big);
        g_assert_cmpint(mkfifo(fifo, 0640), ==, 0);
        g_assert_cmpint(symlink("secret", l1), ==, 0);
        g_assert_cmpint(symlink("/etc/passwd", l2), ==, 0);
        g_assert_cmpint(symlink("../../../../../../..", l3), ==, 0);
        g_assert_cmpint(link(hard_target, hard), ==, 0);
}

static int stream_file(Fixture *f) {
        int fd = memfd_create("stream", MFD_CLOEXEC);

        g_assert_cmpint(fd, >=, 0);
        return fd;
}

static void copy_out(const char *path, const char *top, int fd, TarCopyFlags flags) {
        g_autofree char *error = NULL;

        g_assert_cmpint(ftruncate(fd, 0), ==, 0);
        g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
        if (tar_copy_out(path, top, fd, flags, &error) < 0)
                g_error("tar_copy_out(%s): %s", path, error);
        g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
}

static void assert_tree(const char *src, const char *got) {
        static const char *const files[] = { "secret", "tool", "old", "big", NULL };
        static const char *const links[][2] = {
                { "rel-link", "secret" }, { "abs-link", "/etc/passwd" }, { "to-root", "../../../../../../.." }
        };
        struct stat a, b;

        for (const char *const *n = files; *n; n++) {
                g_autofree char *pa = at(src, *n), *pb = at(got, *n);
                g_assert_cmpint(lstat(pa, &a), ==, 0);
                g_assert_cmpint(lstat(pb, &b), ==, 0);
                g_assert_cmpuint(a.st_mode, ==, b.st_mode);
                g_assert_cmpint(a.st_mtime, ==, b.st_mtime);
                assert_same_content(pa, pb);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(links); i++) {
                g_autofree char *p = at(got, links[i][0]);
                g_autofree char *target = g_file_read_link(p, NULL);
                g_assert_cmpstr(target, ==, links[i][1]);
        }
        for (const char *const *d = (const char *const[]) { "sub", "empty", NULL }; *d; d++) {
                g_autofree char *pa = at(src, *d), *pb = at(got, *d);
                g_assert_cmpint(lstat(pa, &a), ==, 0);
                g_assert_cmpint(lstat(pb, &b), ==, 0);
                g_assert_true(S_ISDIR(b.st_mode));
                g_assert_cmpuint(a.st_mode, ==, b.st_mode);
        }
        {
                g_autofree char *fifo = at(got, "fifo"), *h = at(got, "sub/hard"), *s = at(got, "secret");
                g_assert_cmpint(lstat(fifo, &b), ==, 0);
                g_assert_true(S_ISFIFO(b.st_mode));
                g_assert_cmpint(lstat(h, &a), ==, 0);
                g_assert_cmpint(lstat(s, &b), ==, 0);
                g_assert_cmpuint(a.st_ino, ==, b.st_ino); /* still one file */
        }
}

static void test_round_trip(Fixture *f, gconstpointer data) {
        g_autofree char *top = at(f->src, "top"), *into = at(f->dest, "top"), *renamed = at(f->dest, "renamed");
        g_autofree char *error = NULL;
        int fd;

        make_tree(f);
        fd = stream_file(f);
        copy_out(top, "top", fd, 0);
        /* Into an existing directory: under the entry's own name. */
        g_assert_cmpint(tar_copy_in(fd, f->dest, 0, &error), ==, 0);
        assert_tree(top, into);
        /* As a new name: the top-level entry renamed. */
        g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
        g_assert_cmpint(tar_copy_in(fd, renamed, TAR_COPY_HOSTILE, &error), ==, 0);
        assert_tree(top, renamed);
        close(fd);
}

/* One file, as a new name and over an existing file; a symlink at path is the link. */
static void test_single(Fixture *f, gconstpointer data) {
        g_autofree char *file = at(f->src, "file"), *link = at(f->src, "link"), *got = at(f->dest, "got");
        g_autofree char *error = NULL, *target = NULL;
        int fd = stream_file(f);

        put(f->src, "file", "one\n", 0640);
        g_assert_cmpint(symlink("/", link), ==, 0);
        copy_out(file, "file", fd, 0);
        g_assert_cmpint(tar_copy_in(fd, got, TAR_COPY_HOSTILE, &error), ==, 0);
        assert_same_content(file, got);
        put(f->src, "file", "two\n", 0640);
        copy_out(file, "file", fd, 0);
        g_assert_cmpint(tar_copy_in(fd, got, TAR_COPY_HOSTILE, &error), ==, 0);
        assert_same_content(file, got);

        copy_out(link, "link", fd, 0);
        g_free(got);
        got = at(f->dest, "link-copy");
        g_assert_cmpint(tar_copy_in(fd, got, TAR_COPY_HOSTILE, &error), ==, 0);
        target = g_file_read_link(got, NULL);
        g_assert_cmpstr(target, ==, "/");
        close(fd);
}

static void test_errors(Fixture *f, gconstpointer data) {
        g_autofree char *missing = at(f->src, "missing"), *error = NULL, *nodir = at(f->dest, "no/such/x");
        int fd = stream_file(f);

        g_assert_cmpint(tar_copy_out(missing, "missing", fd, 0, &error), ==, -ENOENT);
        g_assert_nonnull(strstr(error, missing));
        g_clear_pointer(&error, g_free);
        put(f->src, "a", "a", 0644);
        copy_out(f->src, "src", fd, 0);
        g_assert_cmpint(tar_copy_in(fd, nodir, 0, &error), ==, -ENOENT);
        g_assert_nonnull(strstr(error, "No such directory"));
        /* a trailing "/" names a directory that must be there, even as the link it is */
        {
                g_autofree char *slash = g_strconcat(f->dest, "/new/", NULL), *link = at(f->dest, "link");
                g_autofree char *link_slash = g_strconcat(link, "/", NULL);
                struct stat st;

                g_assert_cmpint(symlink("no-such-target", link), ==, 0);
                g_clear_pointer(&error, g_free);
                g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
                g_assert_cmpint(tar_copy_in(fd, slash, 0, &error), ==, -ENOENT);
                g_clear_pointer(&error, g_free);
                g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
                g_assert_cmpint(tar_copy_in(fd, link_slash, 0, &error), ==, -ENOENT);
                g_assert_cmpint(lstat(link, &st), ==, 0);
                g_assert_true(S_ISLNK(st.st_mode));
        }
        close(fd);
}

/* Owners: 0:0 in the stream with TAR_COPY_OWNER_ROOT; numeric ids restored as root. */
static void test_owners(Fixture *f, gconstpointer data) {
        g_autofree char *file = at(f->src, "owned"), *got = at(f->dest, "owned"), *error = NULL;
        _cleanup_archive_read_ struct archive *a = archive_read_new();
        struct archive_entry *e;
        struct stat st;
        int fd = stream_file(f);

        put(f->src, "owned", "x", 0644);
        copy_out(file, "owned", fd, TAR_COPY_OWNER_ROOT);
        g_assert_cmpint(archive_read_support_format_tar(a), ==, ARCHIVE_OK);
        g_assert_cmpint(archive_read_open_fd(a, dup(fd), 4096), ==, ARCHIVE_OK);
        g_assert_cmpint(archive_read_next_header(a, &e), ==, ARCHIVE_OK);
        g_assert_cmpint(archive_entry_uid(e), ==, 0);
        g_assert_cmpint(archive_entry_gid(e), ==, 0);
        g_assert_cmpstr(archive_entry_uname(e) ?: "", ==, ""); /* no names: the host's mean nothing inside */
        if (geteuid() != 0) {
                close(fd);
                g_test_skip("restoring owners needs root (of a user namespace: tests/lib/as-userns-root)");
                return;
        }
        g_assert_cmpint(chown(file, 1234, 4321), ==, 0);
        copy_out(file, "owned", fd, 0);
        g_assert_cmpint(tar_copy_in(fd, got, TAR_COPY_RESTORE_OWNER, &error), ==, 0);
        g_assert_cmpint(stat(got, &st), ==, 0);
        g_assert_cmpint(st.st_uid, ==, 1234);
        g_assert_cmpint(st.st_gid, ==, 4321);
        close(fd);
}

typedef struct Entry {
        const char *name;
        mode_t type;
        const char *symlink, *hardlink, *data;
} Entry;

/* A stream of these entries, in fd. */
static void write_stream(int fd, const Entry *entries, size_t n) {
        _cleanup_archive_write_ struct archive *a = archive_write_new();

        g_assert_cmpint(ftruncate(fd, 0), ==, 0);
        g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
        g_assert_cmpint(archive_write_set_format_pax_restricted(a), ==, ARCHIVE_OK);
        g_assert_cmpint(archive_write_open_fd(a, fd), ==, ARCHIVE_OK);
        for (size_t i = 0; i < n; i++) {
                _cleanup_archive_entry_ struct archive_entry *e = archive_entry_new();
                size_t len = entries[i].data ? strlen(entries[i].data) : 0;

                archive_entry_set_pathname(e, entries[i].name);
                archive_entry_set_filetype(e, entries[i].type ?: AE_IFREG);
                archive_entry_set_perm(e, 0644);
                if (entries[i].symlink)
                        archive_entry_set_symlink(e, entries[i].symlink);
                if (entries[i].hardlink)
                        archive_entry_set_hardlink(e, entries[i].hardlink);
                if (entries[i].type == AE_IFCHR)
                        archive_entry_set_rdev(e, makedev(1, 3));
                archive_entry_set_size(e, (la_int64_t) len);
                g_assert_cmpint(archive_write_header(a, e), ==, ARCHIVE_OK);
                if (len)
                        g_assert_cmpint(archive_write_data(a, entries[i].data, len), ==, (la_ssize_t) len);
        }
        g_assert_cmpint(archive_write_close(a), ==, ARCHIVE_OK);
        g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
}

static void assert_empty_dir(const char *dir) {
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        const char *first = d ? g_dir_read_name(d) : NULL;

        g_assert_nonnull(d);
        if (first)
                g_error("%s should be empty, has %s", dir, first);
}

static void test_hostile(Fixture *f, gconstpointer data) {
        const Entry via_link[] = {
                { .name = "top", .type = AE_IFDIR },
                { .name = "top/link", .type = AE_IFLNK, .symlink = f->outside },
                { .name = "top/link/file", .data = "through the link\n" },
        };
        const Entry via_dotdot_link[] = {
                { .name = "up", .type = AE_IFLNK, .symlink = ".." },
                { .name = "up/outside/x", .data = "x" },
        };
        const Entry cases[][1] = {
                { { .name = "../outside/escaped", .data = "x" } },
                { { .name = "a/../../outside/escaped", .data = "x" } },
                { { .name = "/tmp/absolute-escape-of-test-tar-copy", .data = "x" } },
                { { .name = "hard", .hardlink = "../outside/victim" } },
                { { .name = "dev", .type = AE_IFCHR } },
        };
        int fd = stream_file(f);

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autofree char *error = NULL;
                write_stream(fd, cases[i], 1);
                g_assert_cmpint(tar_copy_in(fd, f->dest, TAR_COPY_HOSTILE, &error), <, 0);
                g_test_message("%s: %s", cases[i][0].name, error);
                assert_empty_dir(f->outside);
                g_assert_false(g_file_test("/tmp/absolute-escape-of-test-tar-copy", G_FILE_TEST_EXISTS));
        }
        /* Through a symlink of the stream's own: libarchive replaces the link by a
         * directory (SECURE_SYMLINKS with UNLINK) or refuses; either way nothing
         * lands outside, and no symlink is left to follow. */
        {
                g_autofree char *error = NULL, *link = at(f->dest, "top/link");
                struct stat st;
                int r;

                write_stream(fd, via_link, G_N_ELEMENTS(via_link));
                r = tar_copy_in(fd, f->dest, TAR_COPY_HOSTILE, &error);
                g_test_message("through a symlink: %d %s", r, strempty(error));
                assert_empty_dir(f->outside);
                g_assert_true(r < 0 || (lstat(link, &st) == 0 && S_ISDIR(st.st_mode)));
        }
        {
                g_autofree char *error = NULL, *sub = at(f->dest, "sub"), *up = at(f->dest, "sub/up");
                struct stat st;
                int r;

                g_assert_cmpint(g_mkdir(sub, 0755), ==, 0);
                write_stream(fd, via_dotdot_link, G_N_ELEMENTS(via_dotdot_link));
                r = tar_copy_in(fd, sub, TAR_COPY_HOSTILE, &error);
                g_test_message("through a link to '..': %d %s", r, strempty(error));
                assert_empty_dir(f->outside);
                g_assert_true(r < 0 || (lstat(up, &st) == 0 && S_ISDIR(st.st_mode)));
        }
        close(fd);
}

/* One raw ustar header (libarchive's writer gives a hard link no data; an attacker's
 * tar may), appended to fd. */
static void raw_header(int fd, const char *name, char type, const char *link, size_t size) {
        char h[512] = {};
        unsigned sum = 0;

        g_assert_cmpuint(strlen(name), <, 100);
        memcpy(h, name, strlen(name));
        memcpy(h + 100, "0000644", 7);
        memcpy(h + 108, "0000000", 7);
        memcpy(h + 116, "0000000", 7);
        snprintf(h + 124, 12, "%011zo", size & 077777777777); /* 11 octal digits */
        memcpy(h + 136, "00000000000", 11);
        h[156] = type;
        if (link)
                memcpy(h + 157, link, strlen(link));
        memcpy(h + 257, "ustar\0" "00", 8);
        memset(h + 148, ' ', 8);
        for (size_t i = 0; i < sizeof(h); i++)
                sum += (unsigned char) h[i];
        snprintf(h + 148, 8, "%06o", sum);
        g_assert_cmpint(write(fd, h, sizeof(h)), ==, (ssize_t) sizeof(h));
}

/* A hard link with data to a symlink of the stream's, which points outside: the data
 * must not go through the link. */
static void test_hardlink_to_symlink(Fixture *f, gconstpointer data) {
        g_autofree char *victim = at(f->outside, "victim"), *error = NULL, *content = NULL;
        char block[512] = "overwritten\n", pax[512] = "13 comment=x\n", end[1024] = {};
        int fd = stream_file(f), r;

        put(f->outside, "victim", "original\n", 0644);
        raw_header(fd, "lnk", '2', victim, 0);
        /* pax's extended header first: libarchive honours a hard link's data only in pax */
        raw_header(fd, "PaxHeader/h", 'x', NULL, strlen(pax));
        g_assert_cmpint(write(fd, pax, sizeof(pax)), ==, (ssize_t) sizeof(pax));
        raw_header(fd, "h", '1', "lnk", strlen(block));
        g_assert_cmpint(write(fd, block, sizeof(block)), ==, (ssize_t) sizeof(block));
        g_assert_cmpint(write(fd, end, sizeof(end)), ==, (ssize_t) sizeof(end));
        g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
        r = tar_copy_in(fd, f->dest, TAR_COPY_HOSTILE, &error);
        g_test_message("a hard link to a symlink: %d %s", r, strempty(error));
        g_assert_null(strstr(strempty(error), "Damaged")); /* the stream was read as meant */
        g_assert_true(g_file_get_contents(victim, &content, NULL, NULL));
        g_assert_cmpstr(content, ==, "original\n");
        close(fd);
}

/* "dir/." packs a directory's contents under ".": into an existing directory they
 * land in it, as a new name they become it. */
static void test_contents(Fixture *f, gconstpointer data) {
        g_autofree char *top = at(f->src, "top"), *dot = at(f->src, "top/."), *renamed = at(f->dest, "renamed");
        g_autofree char *error = NULL;
        const Entry dot_late[] = { { .name = "a", .data = "a" }, { .name = ".", .type = AE_IFDIR } };
        int fd;

        make_tree(f);
        fd = stream_file(f);
        copy_out(dot, ".", fd, 0);
        g_assert_cmpint(tar_copy_in(fd, renamed, TAR_COPY_HOSTILE, &error), ==, 0);
        assert_tree(top, renamed);
        g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
        g_clear_pointer(&error, g_free);
        g_assert_cmpint(tar_copy_in(fd, f->dest, TAR_COPY_HOSTILE, &error), ==, 0);
        assert_tree(top, f->dest);
        /* "." after another top-level entry is a second one */
        g_free(renamed);
        renamed = at(f->dest, "renamed2");
        write_stream(fd, dot_late, G_N_ELEMENTS(dot_late));
        g_clear_pointer(&error, g_free);
        g_assert_cmpint(tar_copy_in(fd, renamed, TAR_COPY_HOSTILE, &error), ==, -EINVAL);
        close(fd);
}

/* As a new name, the stream must be one thing. */
static void test_two_tops(Fixture *f, gconstpointer data) {
        const Entry two[] = { { .name = "a", .data = "a" }, { .name = "b", .data = "b" } };
        g_autofree char *error = NULL, *dest = at(f->dest, "new");
        int fd = stream_file(f);

        write_stream(fd, two, G_N_ELEMENTS(two));
        g_assert_cmpint(tar_copy_in(fd, dest, TAR_COPY_HOSTILE, &error), ==, -EINVAL);
        g_assert_nonnull(strstr(error, "more than one top-level entry"));
        close(fd);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add(name, Fixture, NULL, setup, fn, teardown)
        ADD("/tar-copy/round-trip", test_round_trip);
        ADD("/tar-copy/single", test_single);
        ADD("/tar-copy/errors", test_errors);
        ADD("/tar-copy/owners", test_owners);
        ADD("/tar-copy/hostile", test_hostile);
        ADD("/tar-copy/two-tops", test_two_tops);
        ADD("/tar-copy/hardlink-to-symlink", test_hardlink_to_symlink);
        ADD("/tar-copy/contents", test_contents);
#undef ADD
        return g_test_run();
}
