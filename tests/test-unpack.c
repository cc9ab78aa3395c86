/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* unpack_archive() against archives built here with libarchive's write API (and a few
 * headers built by hand, for what libarchive will not write), in every compression we
 * accept. Runs unprivileged (UNPACK_NO_OWNER) or as root (real ownership). */
#include <fcntl.h>
#include <locale.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include <glib.h>

#include "archive-util.h"
#include "unpack.h"
#include "rmtree.h"
#include "util.h"

#define MTIME 1600000000

typedef struct Compression {
        const char *name;
        int filter;
} Compression;

static const Compression compressions[] = {
        { "none", ARCHIVE_FILTER_NONE },
        { "gzip", ARCHIVE_FILTER_GZIP },
        { "xz", ARCHIVE_FILTER_XZ },
        { "zstd", ARCHIVE_FILTER_ZSTD },
        { "bzip2", ARCHIVE_FILTER_BZIP2 },
};

typedef struct Member {
        const char *path;
        mode_t type;            /* AE_IFREG if 0 */
        mode_t perm;            /* 0644 (0755 for directories) if 0 */
        const char *data;
        size_t size;            /* of data; strlen(data) if 0 */
        const char *symlink;
        const char *hardlink;
        uid_t uid;
        gid_t gid;
        time_t mtime;           /* MTIME if 0 */
        dev_t rdev;
        const char *xattr[4];   /* name, value, name, value */
} Member;

typedef struct Fixture {
        char *tmp;
        char *dest;
        char *outside;
        char *cwd;
        int cwd_fd; /* to come back to: the path may pass a 0700 home we cannot search */
        int dest_fd;
} Fixture;

static bool running_as_root(void) {
        return geteuid() == 0;
}

/* Unprivileged runs cannot chown: they keep the files as their own. */
static UnpackFlags default_flags(void) {
        return running_as_root() ? 0 : UNPACK_NO_OWNER;
}

static void fixture_setup(Fixture *f, gconstpointer data) {
        GError *error = NULL;

        f->tmp = g_dir_make_tmp("test-unpack-XXXXXX", &error);
        g_assert_no_error(error);
        f->dest = g_build_filename(f->tmp, "dest", NULL);
        f->outside = g_build_filename(f->tmp, "outside", NULL);
        g_assert_cmpint(mkdir(f->dest, 0755), ==, 0);
        g_assert_cmpint(mkdir(f->outside, 0755), ==, 0);
        f->dest_fd = open(f->dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(f->dest_fd, >=, 0);
        f->cwd = g_get_current_dir();
        f->cwd_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(f->cwd_fd, >=, 0);
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
        g_autofree char *cwd = g_get_current_dir();

        /* Whatever happened, unpack gave us our working directory back. */
        g_assert_cmpstr(cwd, ==, f->cwd);
        close(f->dest_fd);
        close(f->cwd_fd);
        /* The service's own remover: it never follows symlinks out of the tree. */
        (void) rm_rf_at(AT_FDCWD, f->tmp);
        g_free(f->tmp);
        g_free(f->dest);
        g_free(f->outside);
        g_free(f->cwd);
}

static la_ssize_t collect(struct archive *a, void *userdata, const void *buf, size_t n) {
        g_byte_array_append(userdata, buf, (guint) n);
        return (la_ssize_t) n;
}

/* A pax archive (not compressed) of the members. Built with a UTF-8 LC_CTYPE so that
 * non-ASCII names go out as pax "path" records, while the test itself (and so
 * unpack_archive) runs in the C locale. */
static GByteArray *build_tar(const Member *m, size_t n) {
        GByteArray *out = g_byte_array_new();
        locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t) 0);
        locale_t saved = uselocale(utf8);
        struct archive *a = archive_write_new();

        g_assert_nonnull(utf8);
        g_assert_cmpint(archive_write_set_format_pax(a), ==, ARCHIVE_OK);
        g_assert_cmpint(archive_write_set_bytes_in_last_block(a, 1), ==, ARCHIVE_OK);
        g_assert_cmpint(archive_write_open(a, out, NULL, collect, NULL), ==, ARCHIVE_OK);

        for (size_t i = 0; i < n; i++) {
                struct archive_entry *e = archive_entry_new();
                size_t size = m[i].data ? (m[i].size ?: strlen(m[i].data)) : 0;
                mode_t type = m[i].type ?: AE_IFREG;

                archive_entry_set_pathname(e, m[i].path);
                archive_entry_set_filetype(e, type);
                archive_entry_set_perm(e, m[i].perm ?: type == AE_IFDIR ? 0755 : 0644);
                archive_entry_set_uid(e, m[i].uid);
                archive_entry_set_gid(e, m[i].gid);
                archive_entry_set_mtime(e, m[i].mtime ?: MTIME, 0);
                archive_entry_set_size(e, size);
                if (m[i].symlink)
                        archive_entry_set_symlink(e, m[i].symlink);
                if (m[i].hardlink)
                        archive_entry_set_hardlink(e, m[i].hardlink);
                if (m[i].rdev)
                        archive_entry_set_rdev(e, m[i].rdev);
                for (size_t x = 0; x < G_N_ELEMENTS(m[i].xattr) && m[i].xattr[x]; x += 2)
                        archive_entry_xattr_add_entry(e, m[i].xattr[x], m[i].xattr[x + 1],
                                                      strlen(m[i].xattr[x + 1]));
                /* ARCHIVE_WARN: a name that is not UTF-8, written as raw bytes. */
                g_assert_cmpint(archive_write_header(a, e), >=, ARCHIVE_WARN);
                if (size > 0)
                        g_assert_cmpint(archive_write_data(a, m[i].data, size), ==, (la_ssize_t) size);
                archive_entry_free(e);
        }
        g_assert_cmpint(archive_write_close(a), ==, ARCHIVE_OK);
        archive_write_free(a);
        uselocale(saved);
        freelocale(utf8);
        return out;
}

/* The bytes, compressed, in a memfd at offset 0. */
static int compressed_fd(const Compression *c, const void *data, size_t len) {
        struct archive *a = archive_write_new();
        struct archive_entry *e = archive_entry_new();
        int fd = memfd_create("archive", MFD_CLOEXEC);

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(archive_write_set_format_raw(a), ==, ARCHIVE_OK);
        g_assert_cmpint(archive_write_add_filter(a, c->filter), ==, ARCHIVE_OK);
        g_assert_cmpint(archive_write_set_bytes_in_last_block(a, 1), ==, ARCHIVE_OK);
        g_assert_cmpint(archive_write_open_fd(a, fd), ==, ARCHIVE_OK);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, (la_int64_t) len);
        g_assert_cmpint(archive_write_header(a, e), ==, ARCHIVE_OK);
        if (len > 0)
                g_assert_cmpint(archive_write_data(a, data, len), ==, (la_ssize_t) len);
        g_assert_cmpint(archive_write_close(a), ==, ARCHIVE_OK);
        archive_write_free(a);
        archive_entry_free(e);
        g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
        return fd;
}

static void assert_one_line(const char *error) {
        g_assert_nonnull(error);
        g_assert_null(strchr(error, '\n'));
        g_assert_true(g_utf8_validate(error, -1, NULL));
}

static int unpack_bytes_flags(Fixture *f, const Compression *c, const void *data, size_t len,
                              const UnpackLimits *limits, UnpackFlags flags, UnpackStats *stats,
                              char **error) {
        int fd = compressed_fd(c, data, len), r;

        *error = NULL;
        r = unpack_archive_full(fd, f->dest_fd, limits, flags, stats, error);
        close(fd);
        if (r < 0) {
                assert_one_line(*error);
                g_test_message("%s", *error);
        }
        else
                g_assert_null(*error);
        return r;
}

static int unpack_bytes(Fixture *f, const Compression *c, const void *data, size_t len, char **error) {
        return unpack_bytes_flags(f, c, data, len, NULL, default_flags(), NULL, error);
}

static int unpack_members_flags(Fixture *f, const Compression *c, const Member *m, size_t n,
                                const UnpackLimits *limits, UnpackFlags flags, UnpackStats *stats,
                                char **error) {
        g_autoptr(GByteArray) tar = build_tar(m, n);

        return unpack_bytes_flags(f, c, tar->data, tar->len, limits, flags, stats, error);
}

static int unpack_members(Fixture *f, const Compression *c, const Member *m, size_t n,
                          const UnpackLimits *limits, UnpackStats *stats, char **error) {
        return unpack_members_flags(f, c, m, n, limits, default_flags(), stats, error);
}

static char *read_at(int dirfd, const char *path) {
        char *s = NULL;

        g_assert_cmpint(read_file_at(dirfd, path, 16 << 20, &s), >=, 0);
        return s;
}

static void assert_empty_dir(const char *path) {
        GError *error = NULL;
        GDir *d = g_dir_open(path, 0, &error);

        g_assert_no_error(error);
        g_assert_null(g_dir_read_name(d));
        g_dir_close(d);
}

static void assert_absent(int dirfd, const char *path) {
        struct stat st;

        g_assert_cmpint(fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW), ==, -1);
        g_assert_cmpint(errno, ==, ENOENT);
}

static struct stat lstat_at(int dirfd, const char *path) {
        struct stat st;

        if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
                g_error("lstat %s: %m", path);
        return st;
}

/* Deterministic, incompressible bytes. */
static char *noise(size_t n, guint32 seed) {
        g_autoptr(GRand) rand = g_rand_new_with_seed(seed);
        char *buf = g_malloc(n);

        for (size_t i = 0; i < n; i++)
                buf[i] = (char) g_rand_int_range(rand, 0, 256);
        return buf;
}

/* ---- good archives ---- */

static void test_roundtrip(Fixture *f, gconstpointer data) {
        g_autofree char *big = noise(300 * 1024, 1);
        g_autofree char *s = NULL, *error = NULL;
        const Member m[] = {
                { "./", AE_IFDIR, 0751, .mtime = 1000000 },
                { "./etc/", AE_IFDIR, 0755, .mtime = 2000000 },
                { "./etc/hostname", .data = "session\n", .mtime = 3000000 },
                { "./etc/secret", .perm = 0600, .data = "s3cret" },
                { "./bin/", AE_IFDIR },
                { "./bin/tool", .perm = 0755, .data = big, .size = 300 * 1024 },
                { "./bin/link", AE_IFLNK, 0777, .symlink = "tool" },
                { "./bin/hard", .hardlink = "./bin/tool" },
                { "./ro/", AE_IFDIR, 0555, .mtime = 4000000 },
                { "./ro/file", .perm = 0444, .data = "read only" },
                { "./run/fifo", AE_IFIFO, 0620 },
                { "./empty", .perm = 0640, .data = "" },
                /* Symlink targets are data: absolute or ".." ones are fine to create,
                 * only writing through them is not. */
                { "./abs-link", AE_IFLNK, 0777, .symlink = "/etc/hostname" },
                { "./up-link", AE_IFLNK, 0777, .symlink = "../../etc" },
                { "./dev/null", AE_IFCHR, 0666, .rdev = makedev(1, 3) },
                { "./dev/sda", AE_IFBLK, 0660, .rdev = makedev(8, 0) },
                { "./caf\xc3\xa9", .data = "utf-8 name" },
                { "x//y/./z", .data = "normalised" },
                { "./sticky/", AE_IFDIR, 01777 },
        };
        UnpackStats stats = {};
        struct stat st, tool;
        char link[64] = {};

        g_assert_cmpint(unpack_members(f, data, m, G_N_ELEMENTS(m), NULL, &stats, &error), ==, 0);

        g_assert_cmpuint(stats.entries, ==, G_N_ELEMENTS(m));
        g_assert_cmpuint(stats.skipped_devices, ==, 2);
        g_assert_cmpuint(stats.bytes, ==, 8 + 6 + 300 * 1024 + 9 + 10 + 10);
        g_assert_cmpuint(stats.warnings, ==, 0);

        /* The root member describes the destination itself, mtime included. */
        st = lstat_at(f->dest_fd, ".");
        g_assert_cmpint(st.st_mode & 07777, ==, 0751);
        g_assert_cmpint(st.st_mtime, ==, 1000000);

        st = lstat_at(f->dest_fd, "etc");
        g_assert_true(S_ISDIR(st.st_mode));
        g_assert_cmpint(st.st_mtime, ==, 2000000);

        s = read_at(f->dest_fd, "etc/hostname");
        g_assert_cmpstr(s, ==, "session\n");
        g_clear_pointer(&s, g_free);
        st = lstat_at(f->dest_fd, "etc/hostname");
        g_assert_cmpint(st.st_mode & 07777, ==, 0644);
        g_assert_cmpint(st.st_mtime, ==, 3000000);

        st = lstat_at(f->dest_fd, "etc/secret");
        g_assert_cmpint(st.st_mode & 07777, ==, 0600);

        tool = lstat_at(f->dest_fd, "bin/tool");
        g_assert_true(S_ISREG(tool.st_mode));
        g_assert_cmpint(tool.st_mode & 07777, ==, 0755);
        g_assert_cmpint(tool.st_size, ==, 300 * 1024);
        g_assert_cmpint(tool.st_nlink, ==, 2);
        s = read_at(f->dest_fd, "bin/tool");
        g_assert_true(memcmp(s, big, 300 * 1024) == 0);
        g_clear_pointer(&s, g_free);

        st = lstat_at(f->dest_fd, "bin/hard");
        g_assert_cmpuint(st.st_ino, ==, tool.st_ino);

        st = lstat_at(f->dest_fd, "bin/link");
        g_assert_true(S_ISLNK(st.st_mode));
        g_assert_cmpint(readlinkat(f->dest_fd, "bin/link", link, sizeof(link) - 1), ==, 4);
        g_assert_cmpstr(link, ==, "tool");

        /* Written into while it was still writable, then made read-only at the end. */
        st = lstat_at(f->dest_fd, "ro");
        g_assert_cmpint(st.st_mode & 07777, ==, 0555);
        g_assert_cmpint(st.st_mtime, ==, 4000000);
        s = read_at(f->dest_fd, "ro/file");
        g_assert_cmpstr(s, ==, "read only");
        g_clear_pointer(&s, g_free);

        st = lstat_at(f->dest_fd, "run/fifo");
        g_assert_true(S_ISFIFO(st.st_mode));
        g_assert_cmpint(st.st_mode & 07777, ==, 0620);

        st = lstat_at(f->dest_fd, "empty");
        g_assert_true(S_ISREG(st.st_mode));
        g_assert_cmpint(st.st_size, ==, 0);

        st = lstat_at(f->dest_fd, "abs-link");
        g_assert_true(S_ISLNK(st.st_mode));
        st = lstat_at(f->dest_fd, "up-link");
        g_assert_true(S_ISLNK(st.st_mode));

        assert_absent(f->dest_fd, "dev/null");
        assert_absent(f->dest_fd, "dev/sda");

        s = read_at(f->dest_fd, "caf\xc3\xa9");
        g_assert_cmpstr(s, ==, "utf-8 name");
        g_clear_pointer(&s, g_free);

        s = read_at(f->dest_fd, "x/y/z");
        g_assert_cmpstr(s, ==, "normalised");
        g_clear_pointer(&s, g_free);

        st = lstat_at(f->dest_fd, "sticky");
        g_assert_cmpint(st.st_mode & 07777, ==, 01777);
}

static void test_empty_archive(Fixture *f, gconstpointer data) {
        g_autofree char *error = NULL;
        UnpackStats stats = { .entries = 42 };

        g_assert_cmpint(unpack_members(f, data, NULL, 0, NULL, &stats, &error), ==, 0);
        g_assert_cmpuint(stats.entries, ==, 0);
        assert_empty_dir(f->dest);
}

/* Later members replace earlier ones, as with tar; replacing a symlink must not write
 * through it. */
static void test_replace_symlink(Fixture *f, gconstpointer data) {
        g_autofree char *target = g_build_filename(f->outside, "target", NULL);
        g_autofree char *s = NULL, *error = NULL;
        GError *gerror = NULL;
        const Member m[] = {
                { "x", AE_IFLNK, 0777, .symlink = target },
                { "x", .data = "new" },
                { "d", AE_IFLNK, 0777, .symlink = f->outside },
                { "d/", AE_IFDIR },
                { "d/f", .data = "inside" },
        };
        struct stat st;

        g_file_set_contents(target, "orig", -1, &gerror);
        g_assert_no_error(gerror);

        g_assert_cmpint(unpack_members(f, data, m, G_N_ELEMENTS(m), NULL, NULL, &error), ==, 0);

        s = read_at(f->dest_fd, "x");
        g_assert_cmpstr(s, ==, "new");
        g_clear_pointer(&s, g_free);
        st = lstat_at(f->dest_fd, "d");
        g_assert_true(S_ISDIR(st.st_mode));
        s = read_at(f->dest_fd, "d/f");
        g_assert_cmpstr(s, ==, "inside");
        g_clear_pointer(&s, g_free);

        g_file_get_contents(target, &s, NULL, &gerror);
        g_assert_no_error(gerror);
        g_assert_cmpstr(s, ==, "orig");
        g_clear_pointer(&s, g_free);
        s = g_build_filename(f->outside, "f", NULL);
        assert_absent(AT_FDCWD, s);
}

/* ---- unsafe archives ---- */

static void assert_refused(Fixture *f, const Compression *c, const Member *m, size_t n, const char *message) {
        g_autofree char *error = NULL, *x = g_build_filename(f->tmp, "x", NULL);

        g_assert_cmpint(unpack_members(f, c, m, n, NULL, NULL, &error), ==, -EPERM);
        g_assert_cmpstr(error, ==, message);
        assert_empty_dir(f->outside);
        assert_absent(AT_FDCWD, x);
}

static void test_dotdot(Fixture *f, gconstpointer data) {
        const Member m[] = { { "ok", .data = "fine" }, { "../x", .data = "escaped" } };

        assert_refused(f, data, m, G_N_ELEMENTS(m), "Unsafe member name '../x' in archive");
}

static void test_dotdot_inside(Fixture *f, gconstpointer data) {
        const Member m[] = { { "a/", AE_IFDIR }, { "a/../../x", .data = "escaped" } };

        assert_refused(f, data, m, G_N_ELEMENTS(m), "Unsafe member name 'a/../../x' in archive");
}

static void test_dotdot_dir(Fixture *f, gconstpointer data) {
        const Member m[] = { { "..", AE_IFDIR, 0777 } };

        assert_refused(f, data, m, G_N_ELEMENTS(m), "Unsafe member name '../' in archive");
}

static void test_absolute(Fixture *f, gconstpointer data) {
        g_autofree char *abs = g_build_filename(f->outside, "abs", NULL);
        g_autofree char *message = g_strdup_printf("Unsafe member name '%s' in archive", abs);
        const Member m[] = { { abs, .data = "escaped" } };

        assert_refused(f, data, m, G_N_ELEMENTS(m), message);
}

static void test_symlink_escape(Fixture *f, gconstpointer data) {
        const Member m[] = {
                { "link", AE_IFLNK, 0777, .symlink = f->outside },
                { "link/evil", .data = "escaped" },
        };

        assert_refused(f, data, m, G_N_ELEMENTS(m),
                       "Member 'link/evil' would be written through symlink 'link'");
}

static void test_symlink_escape_deep(Fixture *f, gconstpointer data) {
        const Member m[] = {
                { "a/b/", AE_IFDIR },
                { "a/b/link", AE_IFLNK, 0777, .symlink = f->outside },
                { "./a/b/link/c/evil", AE_IFDIR },
        };

        assert_refused(f, data, m, G_N_ELEMENTS(m),
                       "Member 'a/b/link/c/evil' would be written through symlink 'a/b/link'");
}

static void test_symlink_dotdot(Fixture *f, gconstpointer data) {
        const Member m[] = {
                { "l", AE_IFLNK, 0777, .symlink = ".." },
                { "l/x", .data = "escaped" },
        };

        assert_refused(f, data, m, G_N_ELEMENTS(m), "Member 'l/x' would be written through symlink 'l'");
}

static void test_hardlink_absolute(Fixture *f, gconstpointer data) {
        const Member m[] = { { "passwd", .hardlink = "/etc/passwd" } };

        assert_refused(f, data, m, G_N_ELEMENTS(m),
                       "Unsafe hard link target '/etc/passwd' for member 'passwd'");
        assert_absent(f->dest_fd, "passwd");
}

static void test_hardlink_dotdot(Fixture *f, gconstpointer data) {
        g_autofree char *x = g_build_filename(f->tmp, "y", NULL);
        GError *gerror = NULL;
        const Member m[] = { { "h", .hardlink = "../y" } };
        struct stat st;

        g_file_set_contents(x, "outside", -1, &gerror);
        g_assert_no_error(gerror);
        assert_refused(f, data, m, G_N_ELEMENTS(m), "Unsafe hard link target '../y' for member 'h'");
        g_assert_cmpint(lstat(x, &st), ==, 0);
        g_assert_cmpint(st.st_nlink, ==, 1);
}

static void test_hardlink_through_symlink(Fixture *f, gconstpointer data) {
        g_autofree char *secret = g_build_filename(f->outside, "secret", NULL);
        g_autofree char *error = NULL;
        GError *gerror = NULL;
        const Member m[] = {
                { "s", AE_IFLNK, 0777, .symlink = f->outside },
                { "h", .hardlink = "s/secret" },
        };
        struct stat st;

        g_file_set_contents(secret, "host file", -1, &gerror);
        g_assert_no_error(gerror);
        g_assert_cmpint(unpack_members(f, data, m, G_N_ELEMENTS(m), NULL, NULL, &error), ==, -EPERM);
        g_assert_cmpstr(error, ==, "Hard link 'h' would point through symlink 's'");
        g_assert_cmpint(lstat(secret, &st), ==, 0);
        g_assert_cmpint(st.st_nlink, ==, 1);
        assert_absent(f->dest_fd, "h");
}

static void test_hardlink_to_dir(Fixture *f, gconstpointer data) {
        g_autofree char *error = NULL;
        const Member m[] = { { "d/", AE_IFDIR }, { "h", .hardlink = "d" } };

        g_assert_cmpint(unpack_members(f, data, m, G_N_ELEMENTS(m), NULL, NULL, &error), ==, -EPERM);
        g_assert_cmpstr(error, ==, "Member 'h' is a hard link to directory 'd'");
}

static void test_hardlink_missing(Fixture *f, gconstpointer data) {
        g_autofree char *error = NULL;
        const Member m[] = { { "h", .hardlink = "nowhere" } };

        g_assert_cmpint(unpack_members(f, data, m, G_N_ELEMENTS(m), NULL, NULL, &error), ==, -EBADMSG);
        g_assert_cmpstr(error, ==,
                        "Archive is corrupt: member 'h' is a hard link to 'nowhere', "
                        "which is not in the archive before it");
}

static void test_root_not_dir(Fixture *f, gconstpointer data) {
        const Member m[] = { { "./", AE_IFLNK, 0777, .symlink = "/" } };

        assert_refused(f, data, m, G_N_ELEMENTS(m), "Archive root './' is not a directory");
}

static void test_escaped_names(Fixture *f, gconstpointer data) {
        const Member m1[] = { { "evil\n/../x", .data = "x" } };
        const Member m2[] = { { "\xff\xfe/../../x", .data = "x" } };

        assert_refused(f, data, m1, 1, "Unsafe member name 'evil\\x0a/../x' in archive");
        assert_refused(f, data, m2, 1, "Unsafe member name '\\xff\\xfe/../../x' in archive");
}

/* Hand-made ustar headers, for what libarchive will not write. */
static void tar_header(GByteArray *out, const char *name, char type, size_t size, const char *linkname) {
        char h[512] = {};
        unsigned sum = 0;

        snprintf(h, 100, "%s", name);
        snprintf(h + 100, 8, "%07o", 0644);
        snprintf(h + 108, 8, "%07o", 0);
        snprintf(h + 116, 8, "%07o", 0);
        snprintf(h + 124, 12, "%011zo", size);
        snprintf(h + 136, 12, "%011o", MTIME);
        h[156] = type;
        if (linkname)
                snprintf(h + 157, 100, "%s", linkname);
        memcpy(h + 257, "ustar", 6);
        memcpy(h + 263, "00", 2);
        memset(h + 148, ' ', 8);
        for (size_t i = 0; i < sizeof(h); i++)
                sum += (unsigned char) h[i];
        snprintf(h + 148, 8, "%06o", sum);
        h[155] = ' ';
        g_byte_array_append(out, (guint8 *) h, sizeof(h));
}

static void tar_data(GByteArray *out, const char *data, size_t n) {
        static const guint8 zeros[512] = {};

        g_byte_array_append(out, (const guint8 *) data, (guint) n);
        if (n % 512)
                g_byte_array_append(out, zeros, (guint) (512 - n % 512));
}

static void tar_end(GByteArray *out) {
        static const guint8 zeros[1024] = {};

        g_byte_array_append(out, zeros, sizeof(zeros));
}

/* pax allows data on a hard link; libarchive writes it by opening the link's name, which
 * is the target itself, so through a symlink if the target is one. */
static void test_hardlink_data_through_symlink(Fixture *f, gconstpointer data) {
        g_autofree char *target = g_build_filename(f->outside, "target", NULL);
        g_autoptr(GByteArray) tar = g_byte_array_new();
        g_autofree char *s = NULL, *error = NULL;
        const char *record = "13 comment=x\n";
        GError *gerror = NULL;
        struct stat st;

        g_file_set_contents(target, "orig", -1, &gerror);
        g_assert_no_error(gerror);

        tar_header(tar, "s", '2', 0, target);
        tar_header(tar, "PaxHeaders/h", 'x', strlen(record), NULL);
        tar_data(tar, record, strlen(record));
        tar_header(tar, "h", '1', 5, "s");
        tar_data(tar, "EVIL!", 5);
        tar_end(tar);

        g_assert_cmpint(unpack_bytes(f, data, tar->data, tar->len, &error), ==, 0);

        g_file_get_contents(target, &s, NULL, &gerror);
        g_assert_no_error(gerror);
        g_assert_cmpstr(s, ==, "orig");
        st = lstat_at(f->dest_fd, "h");
        g_assert_true(S_ISLNK(st.st_mode));
}

/* ---- device nodes ---- */

static void test_devices_skipped(Fixture *f, gconstpointer data) {
        g_autofree char *error = NULL;
        const Member m[] = {
                { "./dev/", AE_IFDIR },
                { "./dev/null", AE_IFCHR, 0666, .rdev = makedev(1, 3) },
                { "./dev/zero", AE_IFCHR, 0666, .rdev = makedev(1, 5) },
                { "./dev/sda", AE_IFBLK, 0660, .rdev = makedev(8, 0) },
                { "./dev/kmem", AE_IFCHR, 0640, .rdev = makedev(1, 2) },
                { "./dev/fd", AE_IFLNK, 0777, .symlink = "/proc/self/fd" },
        };
        UnpackStats stats = {};
        struct stat st;

        g_assert_cmpint(unpack_members(f, data, m, G_N_ELEMENTS(m), NULL, &stats, &error), ==, 0);
        g_assert_cmpuint(stats.entries, ==, 6);
        g_assert_cmpuint(stats.skipped_devices, ==, 4);
        assert_absent(f->dest_fd, "dev/null");
        assert_absent(f->dest_fd, "dev/zero");
        assert_absent(f->dest_fd, "dev/sda");
        assert_absent(f->dest_fd, "dev/kmem");
        st = lstat_at(f->dest_fd, "dev/fd");
        g_assert_true(S_ISLNK(st.st_mode));
}

/* ---- corrupt archives ---- */

static void test_garbage(Fixture *f, gconstpointer data) {
        g_autofree char *error = NULL;
        g_autofree char *junk = noise(4096, 2);

        g_assert_cmpint(unpack_bytes(f, data, junk, 4096, &error), ==, -EBADMSG);
        g_assert_true(g_str_has_prefix(error, "Archive is corrupt: "));
        assert_empty_dir(f->dest);
}

static void test_empty_input(Fixture *f, gconstpointer data) {
        g_autofree char *error = NULL;

        g_assert_cmpint(unpack_bytes(f, data, "", 0, &error), ==, -EBADMSG);
        g_assert_true(g_str_has_prefix(error, "Archive is corrupt: "));
}

static void test_truncated(Fixture *f, gconstpointer data) {
        g_autofree char *big = noise(256 * 1024, 3);
        g_autofree char *error = NULL;
        const Member m[] = { { "first", .data = "ok" }, { "big", .data = big, .size = 256 * 1024 } };
        g_autoptr(GByteArray) tar = build_tar(m, G_N_ELEMENTS(m));
        int fd = compressed_fd(data, tar->data, tar->len);
        struct stat st;

        g_assert_cmpint(fstat(fd, &st), ==, 0);
        g_assert_cmpint(ftruncate(fd, st.st_size / 2), ==, 0);
        g_assert_cmpint(unpack_archive_full(fd, f->dest_fd, NULL, default_flags(), NULL, &error), ==,
                        -EBADMSG);
        assert_one_line(error);
        g_test_message("%s", error);
        g_assert_true(g_str_has_prefix(error, "Archive is corrupt: "));
        close(fd);
}

static void test_bad_checksum(Fixture *f, gconstpointer data) {
        g_autoptr(GByteArray) tar = g_byte_array_new();
        g_autofree char *error = NULL;

        tar_header(tar, "a", '0', 5, NULL);
        tar_data(tar, "hello", 5);
        tar_header(tar, "b", '0', 5, NULL);
        tar->data[1024 + 148] ^= 1; /* the second header's checksum */
        tar_data(tar, "world", 5);
        tar_end(tar);

        g_assert_cmpint(unpack_bytes(f, data, tar->data, tar->len, &error), ==, -EBADMSG);
        g_assert_true(g_str_has_prefix(error, "Archive is corrupt: "));
}

/* ---- limits ---- */

static void test_limit_entries(Fixture *f, gconstpointer data) {
        g_autofree char *error = NULL;
        const Member m[] = { { "a" }, { "b" }, { "c" }, { "d" } };
        UnpackLimits limits = UNPACK_LIMITS_DEFAULT;

        limits.max_entries = 4;
        g_assert_cmpint(unpack_members(f, data, m, 4, &limits, NULL, &error), ==, 0);

        limits.max_entries = 3;
        g_assert_cmpint(unpack_members(f, data, m, 4, &limits, NULL, &error), ==, -EFBIG);
        g_assert_cmpstr(error, ==, "Archive exceeds the limit of 3 entries");
}

static void test_limit_bytes(Fixture *f, gconstpointer data) {
        g_autofree char *error = NULL;
        const Member m[] = { { "a", .data = "0123456789" }, { "b", .data = "0123456789" } };
        UnpackLimits limits = UNPACK_LIMITS_DEFAULT;
        UnpackStats stats = {};

        limits.max_bytes = 20;
        g_assert_cmpint(unpack_members(f, data, m, 2, &limits, &stats, &error), ==, 0);
        g_assert_cmpuint(stats.bytes, ==, 20);

        limits.max_bytes = 19;
        g_assert_cmpint(unpack_members(f, data, m, 2, &limits, NULL, &error), ==, -EFBIG);
        g_assert_cmpstr(error, ==, "Archive exceeds the limit of 19 bytes of file data at member 'b'");
}

static void test_limit_depth(Fixture *f, gconstpointer data) {
        g_autofree char *error = NULL;
        const Member ok[] = { { "./a/b/c", .data = "3" } };
        const Member deep[] = { { "./a/b/c/d", AE_IFDIR } };
        UnpackLimits limits = UNPACK_LIMITS_DEFAULT;

        limits.max_depth = 3;
        g_assert_cmpint(unpack_members(f, data, ok, 1, &limits, NULL, &error), ==, 0);
        g_assert_cmpint(unpack_members(f, data, deep, 1, &limits, NULL, &error), ==, -EFBIG);
        g_assert_cmpstr(error, ==, "Member 'a/b/c/d' exceeds the limit of 3 path components");
}

/* ---- bombs and sparse files ---- */

/* A member too big to build in memory: size bytes, all zeros but for its data extents,
 * which hold 'd'. With sparse, it is stored as a pax sparse member of those extents. */
typedef struct BigMember {
        const char *name;
        uint64_t size;
        bool sparse;
        struct {
                uint64_t offset, length;
        } data[4];
} BigMember;

#define CHUNK (1 << 20)

/* The bytes of m at [at, at + n), into buf. */
static void big_fill(const BigMember *m, uint64_t at, char *buf, size_t n) {
        memset(buf, 0, n);
        for (size_t i = 0; i < G_N_ELEMENTS(m->data) && m->data[i].length; i++) {
                uint64_t from = MAX(at, m->data[i].offset);
                uint64_t to = MIN(at + n, m->data[i].offset + m->data[i].length);

                if (from < to)
                        memset(buf + (from - at), 'd', to - from);
        }
}

/* The members, compressed, in a memfd at offset 0: streamed, as a bomb is. */
static int big_archive_fd(const Compression *c, const BigMember *m, size_t n) {
        g_autofree char *buf = g_malloc(CHUNK);
        struct archive *a = archive_write_new();
        int fd = memfd_create("bomb", MFD_CLOEXEC);

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(archive_write_set_format_pax(a), ==, ARCHIVE_OK);
        g_assert_cmpint(archive_write_add_filter(a, c->filter), ==, ARCHIVE_OK);
        g_assert_cmpint(archive_write_open_fd(a, fd), ==, ARCHIVE_OK);
        for (size_t i = 0; i < n; i++) {
                struct archive_entry *e = archive_entry_new();

                archive_entry_set_pathname(e, m[i].name);
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_perm(e, 0644);
                archive_entry_set_mtime(e, MTIME, 0);
                archive_entry_set_size(e, (la_int64_t) m[i].size);
                for (size_t x = 0; m[i].sparse && x < G_N_ELEMENTS(m[i].data) && m[i].data[x].length; x++)
                        archive_entry_sparse_add_entry(e, (la_int64_t) m[i].data[x].offset,
                                                       (la_int64_t) m[i].data[x].length);
                g_assert_cmpint(archive_write_header(a, e), ==, ARCHIVE_OK);
                /* pax wants a sparse member's holes too, and leaves them out itself. */
                for (uint64_t at = 0; at < m[i].size; at += CHUNK) {
                        size_t k = (size_t) MIN((uint64_t) CHUNK, m[i].size - at);

                        big_fill(&m[i], at, buf, k);
                        g_assert_cmpint(archive_write_data(a, buf, k), ==, (la_ssize_t) k);
                }
                archive_entry_free(e);
        }
        g_assert_cmpint(archive_write_close(a), ==, ARCHIVE_OK);
        archive_write_free(a);
        g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
        return fd;
}

static int unpack_big(Fixture *f, const Compression *c, const BigMember *m, size_t n,
                      const UnpackLimits *limits, UnpackStats *stats, char **error) {
        int fd = big_archive_fd(c, m, n), r;
        struct stat st;

        g_assert_cmpint(fstat(fd, &st), ==, 0);
        g_test_message("archive of %zu members: %jd bytes", n, (intmax_t) st.st_size);
        *error = NULL;
        r = unpack_archive_full(fd, f->dest_fd, limits, default_flags(), stats, error);
        close(fd);
        if (r < 0) {
                assert_one_line(*error);
                g_test_message("%s", *error);
        }
        return r;
}

/* The file is m's contents, and takes at most max_disk bytes of disk. */
static void assert_big_file(Fixture *f, const BigMember *m, uint64_t max_disk) {
        g_autofree char *want = g_malloc(CHUNK), *got = g_malloc(CHUNK);
        int fd = openat(f->dest_fd, m->name, O_RDONLY | O_CLOEXEC);
        struct stat st;

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(fstat(fd, &st), ==, 0);
        g_assert_cmpuint((uint64_t) st.st_size, ==, m->size);
        g_test_message("%s: %ju bytes, %ju of them on disk", m->name, (uintmax_t) st.st_size,
                       (uintmax_t) st.st_blocks * 512);
        g_assert_cmpuint((uint64_t) st.st_blocks * 512, <=, max_disk);
        for (uint64_t at = 0; at < m->size; at += CHUNK) {
                size_t k = (size_t) MIN((uint64_t) CHUNK, m->size - at);

                big_fill(m, at, want, k);
                g_assert_cmpint(pread(fd, got, k, (off_t) at), ==, (ssize_t) k);
                g_assert_true(memcmp(want, got, k) == 0);
        }
        close(fd);
}

/* Zeros are not written: a file that is mostly zeros comes out sparse, whatever the
 * compression, with the data where it was (a run across a block boundary, the first
 * and the last byte). */
static void test_zeros_sparse(Fixture *f, gconstpointer data) {
        g_autofree char *error = NULL;
        const BigMember m = { "mostly-zeros", 8 << 20, .data = {
                { 0, 100 }, { (3 << 20) + 5, 4097 }, { (8 << 20) - 1, 1 } } };
        UnpackStats stats = {};

        g_assert_cmpint(unpack_big(f, data, &m, 1, NULL, &stats, &error), ==, 0);
        /* Four blocks of data; the rest of the 8 MiB is holes. */
        assert_big_file(f, &m, 64 << 10);
        g_assert_cmpuint(stats.bytes, ==, 8 << 20);
}

/* 256 MiB of zeros in four members, a few KiB of zstd: the first member costs no disk,
 * and the second, which would take the archive past max_bytes, is refused before any
 * of it is written. */
static void test_zero_bomb(Fixture *f, gconstpointer data) {
        g_autofree char *error = NULL;
        const BigMember m[] = {
                { "z1", 64 << 20 }, { "z2", 64 << 20 }, { "z3", 64 << 20 }, { "z4", 64 << 20 },
        };
        UnpackLimits limits = UNPACK_LIMITS_DEFAULT;

        limits.max_bytes = 100 << 20;
        g_assert_cmpint(unpack_big(f, data, m, G_N_ELEMENTS(m), &limits, NULL, &error), ==, -EFBIG);
        assert_big_file(f, &m[0], 0);
        assert_absent(f->dest_fd, "z2");
        g_assert_cmpstr(error, ==, "Archive exceeds the limit of 100 MiB of file data at member 'z2'");
}

/* The default bound fits real chroots, not 20 GiB: a member that declares so much is
 * refused at its header, before its data is even read (here there is none: the archive
 * ends after a few bytes of it). */
static void test_default_limit(Fixture *f, gconstpointer data) {
        g_autoptr(GByteArray) tar = g_byte_array_new();
        g_autofree char *error = NULL;
        const char *record = "20 size=21474836480\n";

        g_assert_cmpuint(strlen(record), ==, 20);
        tar_header(tar, "PaxHeaders/big", 'x', strlen(record), NULL);
        tar_data(tar, record, strlen(record));
        tar_header(tar, "big", '0', 0, NULL);
        tar_data(tar, "\0\0\0\0", 4);

        g_assert_cmpint(unpack_bytes(f, data, tar->data, tar->len, &error), ==, -EFBIG);
        g_assert_cmpstr(error, ==, "Archive exceeds the limit of 16 GiB of file data at member 'big'");
        assert_absent(f->dest_fd, "big");
}

/* A member stored sparse stays sparse, and what counts toward max_bytes is its data,
 * not its apparent size: 64 MiB with 12 KiB of data fit in a limit of 1 MiB. */
static void test_sparse_member(Fixture *f, gconstpointer data) {
        g_autofree char *error = NULL;
        const BigMember m = { "sparse", 64 << 20, true, { { 1 << 20, 4096 }, { 32 << 20, 8192 } } };
        UnpackLimits limits = UNPACK_LIMITS_DEFAULT;
        UnpackStats stats = {};

        limits.max_bytes = 1 << 20;
        g_assert_cmpint(unpack_big(f, data, &m, 1, &limits, &stats, &error), ==, 0);
        assert_big_file(f, &m, 64 << 10);
        g_assert_cmpuint(stats.bytes, ==, 4096 + 8192);

        /* Its data alone past the limit: refused. */
        limits.max_bytes = 8192;
        g_assert_cmpint(rm_rf_at(f->dest_fd, "sparse"), ==, 0);
        g_assert_cmpint(unpack_big(f, data, &m, 1, &limits, NULL, &error), ==, -EFBIG);
        g_assert_cmpstr(error, ==, "Archive exceeds the limit of 8 KiB of file data at member 'sparse'");
}

/* A pax record "LEN key=value\n", whose LEN counts its own digits. */
static void pax_record(GString *out, const char *key, const char *value) {
        size_t n = strlen(key) + strlen(value) + 3, len = n + 1;

        while (len != n + (size_t) snprintf(NULL, 0, "%zu", len))
                len = n + (size_t) snprintf(NULL, 0, "%zu", len);
        g_string_append_printf(out, "%zu %s=%s\n", len, key, value);
}

/* A GNU sparse 1.0 member by hand (libarchive writes only good maps): realsize, then
 * the map and 512 bytes of 'd' for each of its extents. */
static void sparse_by_hand(GByteArray *tar, const char *realsize, const char *map, size_t extents) {
        g_autoptr(GString) records = g_string_new(NULL);
        g_autofree char *data = g_malloc(512);

        pax_record(records, "GNU.sparse.major", "1");
        pax_record(records, "GNU.sparse.minor", "0");
        pax_record(records, "GNU.sparse.name", "f");
        pax_record(records, "GNU.sparse.realsize", realsize);
        tar_header(tar, "PaxHeaders/f", 'x', records->len, NULL);
        tar_data(tar, records->str, records->len);
        tar_header(tar, "GNUSparseFile.0/f", '0', 512 + 512 * extents, NULL);
        g_assert_cmpuint(strlen(map), <, 512);
        tar_data(tar, map, strlen(map));
        memset(data, 'd', 512);
        for (size_t i = 0; i < extents; i++)
                tar_data(tar, data, 512);
        tar_end(tar);
}

/* Leaving zeros out is right only where nothing was written: a sparse map whose
 * extents go back, or past the file's size, is refused. */
static void test_sparse_bad_map(Fixture *f, gconstpointer data) {
        g_autoptr(GByteArray) good = g_byte_array_new(), back = g_byte_array_new();
        g_autoptr(GByteArray) past = g_byte_array_new();
        g_autofree char *error = NULL;
        struct stat st;

        sparse_by_hand(good, "16384", "2\n0\n512\n8192\n512\n", 2);
        g_assert_cmpint(unpack_bytes(f, data, good->data, good->len, &error), ==, 0);
        st = lstat_at(f->dest_fd, "f");
        g_assert_cmpint(st.st_size, ==, 16384);

        sparse_by_hand(back, "16384", "2\n8192\n512\n0\n512\n", 2);
        g_assert_cmpint(unpack_bytes(f, data, back->data, back->len, &error), ==, -EBADMSG);
        g_assert_cmpstr(error, ==,
                        "Archive is corrupt: member 'f' has data out of order or beyond its size");
        g_clear_pointer(&error, g_free);

        sparse_by_hand(past, "4096", "1\n8192\n512\n", 1);
        g_assert_cmpint(unpack_bytes(f, data, past->data, past->len, &error), ==, -EBADMSG);
        g_assert_cmpstr(error, ==,
                        "Archive is corrupt: member 'f' has data out of order or beyond its size");
}

/* ---- ownership ---- */

static void test_ownership(Fixture *f, gconstpointer data) {
        g_autofree char *error = NULL;
        const Member m[] = {
                { "./", AE_IFDIR, 0755, .uid = 10, .gid = 20 },
                { "dir/", AE_IFDIR, 02775, .uid = 7, .gid = 8 },
                { "dir/file", .data = "x", .uid = 1234, .gid = 5678 },
                { "suid", .perm = 04755, .data = "#!", .uid = 1234, .gid = 5678 },
                { "sgid", .perm = 02755, .data = "#!", .uid = 0, .gid = 42 },
                { "link", AE_IFLNK, 0777, .symlink = "suid", .uid = 42, .gid = 43 },
                { "fifo", AE_IFIFO, 0600, .uid = 65534, .gid = 65534 },
        };
        struct stat st;

        if (!running_as_root()) {
                g_test_skip("restoring ownership needs root (as in the session's user namespace)");
                return;
        }

        g_assert_cmpint(unpack_members_flags(f, data, m, G_N_ELEMENTS(m), NULL, 0, NULL, &error), ==, 0);

        st = lstat_at(f->dest_fd, ".");
        g_assert_cmpuint(st.st_uid, ==, 10);
        g_assert_cmpuint(st.st_gid, ==, 20);
        st = lstat_at(f->dest_fd, "dir");
        g_assert_cmpuint(st.st_uid, ==, 7);
        g_assert_cmpuint(st.st_gid, ==, 8);
        g_assert_cmpint(st.st_mode & 07777, ==, 02775);
        st = lstat_at(f->dest_fd, "dir/file");
        g_assert_cmpuint(st.st_uid, ==, 1234);
        g_assert_cmpuint(st.st_gid, ==, 5678);
        st = lstat_at(f->dest_fd, "suid");
        g_assert_cmpuint(st.st_uid, ==, 1234);
        g_assert_cmpint(st.st_mode & 07777, ==, 04755);
        st = lstat_at(f->dest_fd, "sgid");
        g_assert_cmpuint(st.st_gid, ==, 42);
        g_assert_cmpint(st.st_mode & 07777, ==, 02755);
        st = lstat_at(f->dest_fd, "link");
        g_assert_cmpuint(st.st_uid, ==, 42);
        g_assert_cmpuint(st.st_gid, ==, 43);
        st = lstat_at(f->dest_fd, "fifo");
        g_assert_cmpuint(st.st_uid, ==, 65534);
}

/* Probes what this process may do in dir: the tests run as a user, as root, or as root
 * of a user namespace with a 65536-id range (as the service's child does). */
static bool can_set_xattr(const char *dir, const char *name) {
        g_autofree char *probe = g_build_filename(dir, "xattr-probe", NULL);
        bool ok;

        g_assert_true(g_file_set_contents(probe, "", 0, NULL));
        ok = setxattr(probe, name, "1", 1, 0) == 0;
        unlink(probe);
        return ok;
}

/* Ids past a session's 0..65535 are refused before anything is made, whatever this
 * process could give: the unpack child has the user as 65536. */
static void test_ownership_outside(Fixture *f, gconstpointer data) {
        g_autofree char *error = NULL, *error2 = NULL;
        const Member uid[] = { { "file", .data = "x", .uid = 65536, .gid = 0 } };
        const Member gid[] = { { "file", .data = "x", .uid = 0, .gid = 70000 } };

        g_assert_cmpint(unpack_members_flags(f, data, uid, 1, NULL, 0, NULL, &error), ==, -EOVERFLOW);
        g_assert_cmpstr(error, ==, "Member 'file' is owned by 65536:0, outside the ids of a session (0..65535)");
        g_assert_cmpint(faccessat(f->dest_fd, "file", F_OK, AT_SYMLINK_NOFOLLOW), ==, -1);
        g_assert_cmpint(unpack_members_flags(f, data, gid, 1, NULL, 0, NULL, &error2), ==, -EOVERFLOW);
        g_assert_nonnull(strstr(error2, "0:70000"));
}

static void test_no_owner(Fixture *f, gconstpointer data) {
        g_autofree char *error = NULL;
        const Member m[] = {
                { "./", AE_IFDIR, 0755, .uid = 10, .gid = 20 },
                { "file", .perm = 04755, .data = "x", .uid = 1234, .gid = 5678 },
        };
        struct stat st;

        g_assert_cmpint(unpack_members_flags(f, data, m, 2, NULL, UNPACK_NO_OWNER, NULL, &error), ==, 0);
        st = lstat_at(f->dest_fd, "file");
        g_assert_cmpuint(st.st_uid, ==, geteuid());
        /* setuid to someone else that the file does not belong to: dropped. */
        g_assert_cmpint(st.st_mode & 07777, ==, 0755);
        st = lstat_at(f->dest_fd, ".");
        g_assert_cmpuint(st.st_uid, ==, geteuid());
}

/* ---- xattrs ---- */

static void test_xattrs(Fixture *f, gconstpointer data) {
        g_autofree char *error = NULL;
        g_autofree char *file = g_build_filename(f->dest, "file", NULL);
        g_autofree char *dir = g_build_filename(f->dest, "dir", NULL);
        const Member m[] = {
                { "file", .data = "x", .xattr = { "user.kept", "yes", "user.overlay.opaque", "y" } },
                { "dir/", AE_IFDIR, .xattr = { "trusted.overlay.redirect", "/etc" } },
        };
        UnpackStats stats = {};
        char value[16] = {};

        if (!can_set_xattr(f->tmp, "user.probe")) {
                g_test_skip("the file system of the temporary directory has no user xattrs");
                return;
        }

        g_assert_cmpint(unpack_members(f, data, m, G_N_ELEMENTS(m), NULL, &stats, &error), ==, 0);
        g_assert_cmpint(getxattr(file, "user.kept", value, sizeof(value)), ==, 3);
        g_assert_cmpstr(value, ==, "yes");
        g_assert_cmpint(getxattr(file, "user.overlay.opaque", value, sizeof(value)), ==, -1);
        g_assert_cmpint(errno, ==, ENODATA);
        g_assert_cmpint(getxattr(dir, "trusted.overlay.redirect", value, sizeof(value)), ==, -1);
        g_assert_cmpuint(stats.warnings, ==, 0);
}

/* A trusted.* xattr cannot be set unprivileged or in a user namespace: a warning, not a
 * failure. */
static void test_xattr_warning(Fixture *f, gconstpointer data) {
        g_autofree char *error = NULL, *s = NULL;
        const Member m[] = { { "file", .data = "content", .xattr = { "trusted.test", "1" } } };
        UnpackStats stats = {};

        if (can_set_xattr(f->tmp, "trusted.probe")) {
                g_test_skip("this process can set trusted.* xattrs");
                return;
        }

        g_assert_cmpint(unpack_members(f, data, m, 1, NULL, &stats, &error), ==, 0);
        g_assert_cmpuint(stats.warnings, ==, 1);
        s = read_at(f->dest_fd, "file");
        g_assert_cmpstr(s, ==, "content");
}

/* ---- a full file system ---- */

static bool write_string(const char *path, const char *s) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        bool ok;

        if (fd < 0)
                return false;
        ok = write_full(fd, s, strlen(s)) == 0;
        close(fd);
        return ok;
}

/* Unpacking archive_fd onto a small tmpfs (mount options `options`) fails with -ENOSPC
 * and a message that starts with error_prefix; unless full, the file system still has
 * its reserve free afterwards. */
typedef struct TmpfsCase {
        const char *options;
        int archive_fd;
        UnpackLimits limits;
        const char *error_prefix;
        bool full;
} TmpfsCase;

/* Runs in a child with its own mount namespace (and user namespace, to be allowed one
 * unprivileged): the tmpfs on dest. Exits 77 where that cannot be had. */
static int child_tmpfs(Fixture *f, const TmpfsCase *t) {
        g_autofree char *uid_map = g_strdup_printf("0 %u 1", (unsigned) geteuid());
        g_autofree char *gid_map = g_strdup_printf("0 %u 1", (unsigned) getegid());
        g_autofree char *error = NULL;
        struct statvfs sv;
        int dest, r;

        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                return 77;
        if (!write_string("/proc/self/setgroups", "deny") ||
            !write_string("/proc/self/uid_map", uid_map) ||
            !write_string("/proc/self/gid_map", gid_map))
                return 77;
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", f->dest, "tmpfs", 0, t->options) < 0)
                return 77;

        dest = open(f->dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dest < 0)
                return 2;
        r = unpack_archive_full(t->archive_fd, dest, &t->limits, UNPACK_NO_OWNER, NULL, &error);
        g_printerr("# unpack: %s\n", strempty(error));
        if (r != -ENOSPC || !startswith(strempty(error), t->error_prefix)) {
                g_printerr("unpack returned %d, expected %d (ENOSPC) and '%s...'\n", r, -ENOSPC,
                           t->error_prefix);
                return 1;
        }
        if (fstatvfs(dest, &sv) < 0)
                return 2;
        g_printerr("# left free: %ju of %ju blocks, %ju of %ju inodes\n", (uintmax_t) sv.f_bavail,
                   (uintmax_t) sv.f_blocks, (uintmax_t) sv.f_favail, (uintmax_t) sv.f_files);
        if (!t->full && (sv.f_bavail < sv.f_blocks / 20 || sv.f_favail < sv.f_files / 20)) {
                g_printerr("the file system has less than its reserve free\n");
                return 1;
        }
        return 0;
}

static void run_in_tmpfs(Fixture *f, TmpfsCase *t) {
        int status;
        pid_t pid;

        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0)
                _exit(child_tmpfs(f, t));
        t->archive_fd = safe_close(t->archive_fd);
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77) {
                g_test_skip("no user and mount namespace for a small tmpfs");
                return;
        }
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

/* A failed write(2) is only a warning to libarchive: it must still fail the unpack, with
 * the errno that the service turns into a message about the disk. Without a reserve,
 * so that the disk does fill up. */
static void test_enospc(Fixture *f, gconstpointer data) {
        g_autofree char *big = noise(1 << 20, 4);
        const Member m[] = { { "small", .data = "fits" }, { "big", .data = big, .size = 1 << 20 } };
        g_autoptr(GByteArray) tar = build_tar(m, G_N_ELEMENTS(m));
        TmpfsCase t = {
                .options = "size=64k,mode=0755",
                .archive_fd = compressed_fd(data, tar->data, tar->len),
                .limits = UNPACK_LIMITS_DEFAULT,
                .error_prefix = "Cannot extract 'big': No space left on device",
                .full = true,
        };

        t.limits.reserve_percent = 0;
        run_in_tmpfs(f, &t);
}

/* A file that would leave less than 5 % of a 32 MiB file system free is not begun. */
static void test_reserve_big_file(Fixture *f, gconstpointer data) {
        const BigMember m = { "big", 31 << 20, .data = { { 0, 31 << 20 } } };
        TmpfsCase t = {
                .options = "size=32m,mode=0755",
                .archive_fd = big_archive_fd(data, &m, 1),
                .limits = UNPACK_LIMITS_DEFAULT,
                .error_prefix = "Stopped unpacking: only 1.0 MiB would be left free on the file system "
                                "holding the session (reserve 1.5 MiB)",
        };

        run_in_tmpfs(f, &t);
}

/* 40 files of 1 MiB, each too small to be looked at before it is written: the look
 * every 4 MiB stops them before the reserve is reached. */
static void test_reserve_many_files(Fixture *f, gconstpointer data) {
        BigMember m[40];
        char names[40][8];
        TmpfsCase t = {
                .options = "size=32m,mode=0755",
                .limits = UNPACK_LIMITS_DEFAULT,
                .error_prefix = "Stopped unpacking: only ",
        };

        for (size_t i = 0; i < G_N_ELEMENTS(m); i++) {
                g_snprintf(names[i], sizeof(names[i]), "f%02zu", i);
                m[i] = (BigMember) { names[i], 1 << 20, .data = { { 0, 1 << 20 } } };
        }
        t.archive_fd = big_archive_fd(data, m, G_N_ELEMENTS(m));
        run_in_tmpfs(f, &t);
}

/* Empty files cost inodes, not blocks: 5000 of them on a file system of 4096 inodes
 * stop before its last 5 % are taken. */
static void test_reserve_inodes(Fixture *f, gconstpointer data) {
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        g_autofree Member *m = g_new0(Member, 5000);
        g_autoptr(GByteArray) tar = NULL;
        TmpfsCase t = {
                .options = "size=32m,nr_inodes=4096,mode=0755",
                .limits = UNPACK_LIMITS_DEFAULT,
                .error_prefix = "Stopped unpacking: only 0 inodes would be left free on the file "
                                "system holding the session (reserve 200)",
        };

        for (size_t i = 0; i < 5000; i++) {
                g_ptr_array_add(names, g_strdup_printf("empty-%04zu", i));
                m[i] = (Member) { names->pdata[i], .data = "" };
        }
        tar = build_tar(m, 5000);
        t.archive_fd = compressed_fd(data, tar->data, tar->len);
        run_in_tmpfs(f, &t);
}

/* ---- the destination is what counts, not the working directory ---- */

static void test_not_cwd(Fixture *f, gconstpointer data) {
        g_autofree char *error = NULL, *s = NULL;
        const Member m[] = { { "./where", .data = "dest" } };

        g_assert_cmpint(chdir(f->outside), ==, 0);
        g_assert_cmpint(unpack_members(f, data, m, 1, NULL, NULL, &error), ==, 0);
        g_autofree char *cwd = g_get_current_dir();
        g_assert_cmpstr(cwd, ==, f->outside);
        assert_empty_dir(f->outside);
        s = read_at(f->dest_fd, "where");
        g_assert_cmpstr(s, ==, "dest");
        g_assert_cmpint(fchdir(f->cwd_fd), ==, 0);
}

static void test_quote_name(void) {
        char buf[UNPACK_QUOTE_SIZE];
        g_autofree char *longname = g_strnfill(1000, 'a');

        g_assert_cmpstr(unpack_quote_name(buf, "plain/name"), ==, "plain/name");
        g_assert_cmpstr(unpack_quote_name(buf, "caf\xc3\xa9"), ==, "caf\xc3\xa9");
        g_assert_cmpstr(unpack_quote_name(buf, "a\tb\\c\x7f"), ==, "a\\x09b\\x5cc\\x7f");
        /* Truncated, overlong, surrogate, beyond U+10FFFF. */
        g_assert_cmpstr(unpack_quote_name(buf, "\xc3"), ==, "\\xc3");
        g_assert_cmpstr(unpack_quote_name(buf, "\xc0\xaf"), ==, "\\xc0\\xaf");
        g_assert_cmpstr(unpack_quote_name(buf, "\xed\xa0\x80"), ==, "\\xed\\xa0\\x80");
        g_assert_cmpstr(unpack_quote_name(buf, "\xf4\x90\x80\x80"), ==, "\\xf4\\x90\\x80\\x80");
        g_assert_cmpstr(unpack_quote_name(buf, "\xf0\x9f\x90\xa7"), ==, "\xf0\x9f\x90\xa7");
        g_assert_cmpstr(unpack_quote_name(buf, NULL), ==, "");
        unpack_quote_name(buf, longname);
        g_assert_cmpuint(strlen(buf), ==, 203);
        g_assert_true(g_str_has_suffix(buf, "a..."));

        memset(longname, 0xff, 999);
        unpack_quote_name(buf, longname);
        g_assert_cmpuint(strlen(buf), <, sizeof(buf));
        g_assert_true(g_utf8_validate(buf, -1, NULL));
}

typedef void (*FixtureTest)(Fixture *f, gconstpointer data);

static void add_for_each_compression(const char *name, FixtureTest fn) {
        for (size_t i = 0; i < G_N_ELEMENTS(compressions); i++) {
                g_autofree char *path = g_strdup_printf("/unpack/%s/%s", compressions[i].name, name);

                g_test_add(path, Fixture, &compressions[i], fixture_setup, fn, fixture_teardown);
        }
}

int main(int argc, char *argv[]) {
        const Compression *zstd = &compressions[3]; /* what bombs come in */

        g_test_init(&argc, &argv, NULL);
        /* Names must survive whatever the process locale is: test in the least kind. */
        setlocale(LC_ALL, "C");

        g_test_add_func("/unpack/quote-name", test_quote_name);

        add_for_each_compression("roundtrip", test_roundtrip);
        add_for_each_compression("empty-archive", test_empty_archive);
        add_for_each_compression("replace-symlink", test_replace_symlink);
        add_for_each_compression("unsafe/dotdot", test_dotdot);
        add_for_each_compression("unsafe/dotdot-inside", test_dotdot_inside);
        add_for_each_compression("unsafe/dotdot-dir", test_dotdot_dir);
        add_for_each_compression("unsafe/absolute", test_absolute);
        add_for_each_compression("unsafe/symlink-escape", test_symlink_escape);
        add_for_each_compression("unsafe/symlink-escape-deep", test_symlink_escape_deep);
        add_for_each_compression("unsafe/symlink-dotdot", test_symlink_dotdot);
        add_for_each_compression("unsafe/hardlink-absolute", test_hardlink_absolute);
        add_for_each_compression("unsafe/hardlink-dotdot", test_hardlink_dotdot);
        add_for_each_compression("unsafe/hardlink-through-symlink", test_hardlink_through_symlink);
        add_for_each_compression("unsafe/hardlink-to-dir", test_hardlink_to_dir);
        add_for_each_compression("unsafe/hardlink-data-through-symlink", test_hardlink_data_through_symlink);
        add_for_each_compression("unsafe/root-not-dir", test_root_not_dir);
        add_for_each_compression("unsafe/escaped-names", test_escaped_names);
        add_for_each_compression("devices-skipped", test_devices_skipped);
        add_for_each_compression("corrupt/garbage", test_garbage);
        add_for_each_compression("corrupt/empty-input", test_empty_input);
        add_for_each_compression("corrupt/truncated", test_truncated);
        add_for_each_compression("corrupt/bad-checksum", test_bad_checksum);
        add_for_each_compression("corrupt/hardlink-missing", test_hardlink_missing);
        add_for_each_compression("limits/entries", test_limit_entries);
        add_for_each_compression("limits/bytes", test_limit_bytes);
        add_for_each_compression("limits/depth", test_limit_depth);
        add_for_each_compression("limits/default", test_default_limit);
        add_for_each_compression("sparse/zeros", test_zeros_sparse);
        add_for_each_compression("sparse/member", test_sparse_member);
        add_for_each_compression("sparse/bad-map", test_sparse_bad_map);
        g_test_add("/unpack/zstd/limits/zero-bomb", Fixture, zstd, fixture_setup,
                   test_zero_bomb, fixture_teardown);
        add_for_each_compression("owner/restored", test_ownership);
        add_for_each_compression("owner/outside", test_ownership_outside);
        add_for_each_compression("owner/none", test_no_owner);
        add_for_each_compression("xattrs/filtered", test_xattrs);
        add_for_each_compression("xattrs/warning", test_xattr_warning);
        add_for_each_compression("not-cwd", test_not_cwd);
        add_for_each_compression("enospc", test_enospc);
        g_test_add("/unpack/zstd/reserve/big-file", Fixture, zstd, fixture_setup,
                   test_reserve_big_file, fixture_teardown);
        g_test_add("/unpack/zstd/reserve/many-files", Fixture, zstd, fixture_setup,
                   test_reserve_many_files, fixture_teardown);
        g_test_add("/unpack/zstd/reserve/inodes", Fixture, zstd, fixture_setup,
                   test_reserve_inodes, fixture_teardown);

        return g_test_run();
}
