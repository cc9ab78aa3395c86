/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tree-file.h: a file of a session's tree is opened as root inside would resolve it
 * and no further, never blocks, and is a bounded regular file. */
#include <glib.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "util.h"
#include "rmtree.h"
#include "tree-file.h"

typedef struct Fixture {
        char *root;
        int rootfd;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data) {
        GError *error = NULL;
        char *etc;

        /* A fifo that blocked would hang the test: the watchdog ends it instead. */
        alarm(20);
        f->root = g_dir_make_tmp("test-tree-file-XXXXXX", &error);
        g_assert_no_error(error);
        etc = g_build_filename(f->root, "etc", NULL);
        g_assert_cmpint(mkdir(etc, 0755), ==, 0);
        g_free(etc);
        f->rootfd = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(f->rootfd, >=, 0);
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
        safe_close(f->rootfd);
        g_assert_cmpint(rm_rf_at(AT_FDCWD, f->root), ==, 0);
        g_free(f->root);
        alarm(0);
}

static void put(Fixture *f, const char *path, const char *contents) {
        g_autofree char *p = g_build_filename(f->root, path, NULL);
        GError *error = NULL;

        g_file_set_contents(p, contents, -1, &error);
        g_assert_no_error(error);
}

static void link_to(Fixture *f, const char *target, const char *path) {
        g_autofree char *p = g_build_filename(f->root, path, NULL);

        g_assert_cmpint(symlink(target, p), ==, 0);
}

static void assert_reads(Fixture *f, const char *path, const char *expected) {
        _cleanup_free_ char *text = NULL;

        g_assert_cmpint(tree_file_read(f->rootfd, path, &text), ==, 0);
        g_assert_cmpstr(text, ==, expected);
}

static void assert_refused(Fixture *f, const char *path, int error) {
        _cleanup_free_ char *text = NULL;

        g_assert_cmpint(tree_file_read(f->rootfd, path, &text), ==, error);
        g_assert_null(text);
}

static void test_regular(Fixture *f, gconstpointer data) {
        put(f, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
        assert_reads(f, "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
        assert_reads(f, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
        put(f, "etc/empty", "");
        assert_reads(f, "/etc/empty", "");
        assert_refused(f, "/etc/missing", -ENOENT);
}

static void test_not_regular(Fixture *f, gconstpointer data) {
        g_autofree char *fifo = g_build_filename(f->root, "etc", "passwd", NULL);
        g_autofree char *sock = g_build_filename(f->root, "etc", "group", NULL);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        char msg[256];

        /* No writer: a blocking open would wait for one for ever. */
        g_assert_cmpint(mkfifo(fifo, 0644), ==, 0);
        assert_refused(f, "/etc/passwd", -EBADFD);
        tree_file_describe_error(-EBADFD, "/etc/passwd", msg, sizeof(msg));
        g_assert_cmpstr(msg, ==, "The chroot's /etc/passwd is not a regular file");
        g_assert_cmpint(tree_file_open(f->rootfd, "/etc/passwd", O_RDWR | O_APPEND), ==, -EBADFD);

        assert_refused(f, "/etc", -EISDIR);
        tree_file_describe_error(-EISDIR, "/etc", msg, sizeof(msg));
        g_assert_cmpstr(msg, ==, "The chroot's /etc is not a regular file");

        /* Device nodes cannot be made here; the host's /dev/null is one, and the
         * real root stands in for a tree. */
        {
                _cleanup_close_ int host_root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
                _cleanup_close_ int fd = tree_file_open(host_root, "/dev/null", O_RDONLY);
                /* EXDEV where /dev is a mount of its own, as it is nearly everywhere. */
                g_assert_true(fd == -EBADFD || fd == -EXDEV);
        }

        g_assert_cmpint(s, >=, 0);
        g_assert_cmpuint(strlen(sock), <, sizeof(sa.sun_path));
        strcpy(sa.sun_path, sock);
        g_assert_cmpint(bind(s, (struct sockaddr *) &sa, sizeof(sa)), ==, 0);
        assert_refused(f, "/etc/group", -ENXIO);
}

static void test_size(Fixture *f, gconstpointer data) {
        g_autofree char *big = g_build_filename(f->root, "etc", "big", NULL);
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = open(big, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        char msg[256];

        g_assert_cmpint(fd, >=, 0);
        /* Sparse: the limit itself is accepted... */
        g_assert_cmpint(ftruncate(fd, (off_t) TREE_FILE_MAX), ==, 0);
        g_assert_cmpint(tree_file_read(f->rootfd, "/etc/big", &text), ==, 0);
        g_assert_cmpuint(strlen(text), ==, 0);
        /* ...one byte more is not. */
        g_assert_cmpint(ftruncate(fd, (off_t) TREE_FILE_MAX + 1), ==, 0);
        assert_refused(f, "/etc/big", -EFBIG);
        tree_file_describe_error(-EFBIG, "/etc/big", msg, sizeof(msg));
        g_assert_cmpstr(msg, ==, "The chroot's /etc/big is larger than 16 MiB");
}

static void test_grown(Fixture *f, gconstpointer data) {
        g_autofree char *path = g_build_filename(f->root, "etc", "passwd", NULL);
        _cleanup_close_ int fd = -EBADF, writer = -EBADF;
        _cleanup_free_ char *text = NULL;

        put(f, "etc/passwd", "a\n");
        fd = tree_file_open(f->rootfd, "/etc/passwd", O_RDONLY);
        g_assert_cmpint(fd, >=, 0);
        /* Grown beyond the limit after it was opened: the read notices. */
        writer = open(path, O_WRONLY | O_CLOEXEC);
        g_assert_cmpint(ftruncate(writer, (off_t) TREE_FILE_MAX + 4096), ==, 0);
        g_assert_cmpint(tree_file_read_fd(fd, &text), ==, -EFBIG);
        g_assert_null(text);
        /* Grown a little: all of it is read, from the start. */
        g_assert_cmpint(ftruncate(writer, 0), ==, 0);
        g_assert_cmpint(pwrite(writer, "0123456789", 10, 0), ==, 10);
        g_assert_cmpint(lseek(fd, 5, SEEK_SET), ==, 5);
        g_assert_cmpint(tree_file_read_fd(fd, &text), ==, 0);
        g_assert_cmpstr(text, ==, "0123456789");
}

static void test_symlinks_stay_inside(Fixture *f, gconstpointer data) {
        g_autofree char *outside = g_strdup_printf("%s.outside", f->root);
        GError *error = NULL;
        char msg[256];

        /* An absolute link to another file of the chroot is that file. */
        put(f, "etc/passwd.real", "real\n");
        link_to(f, "/etc/passwd.real", "etc/passwd");
        assert_reads(f, "/etc/passwd", "real\n");
        link_to(f, "passwd.real", "etc/relative");
        assert_reads(f, "/etc/relative", "real\n");
        /* ".." cannot climb above the root. */
        link_to(f, "../../../../../../etc/passwd.real", "etc/climb");
        assert_reads(f, "/etc/climb", "real\n");
        /* A link to a host path is resolved in the tree, where it is not. */
        g_file_set_contents(outside, "host secret\n", -1, &error);
        g_assert_no_error(error);
        link_to(f, outside, "etc/shadow");
        assert_refused(f, "/etc/shadow", -ENOENT);
        link_to(f, "loop", "etc/loop");
        assert_refused(f, "/etc/loop", -ELOOP);
        tree_file_describe_error(-ENOENT, "/etc/shadow", msg, sizeof(msg));
        g_assert_cmpstr(msg, ==, "Cannot use the chroot's /etc/shadow: No such file or directory");
        g_assert_cmpint(unlink(outside), ==, 0);
}

static void test_no_magic_no_other_mounts(Fixture *f, gconstpointer data) {
        /* In a command's tree /proc is mounted, and /proc/1 is its init: neither a magic
         * link nor a file of another mount may stand in for a chroot's file. The host's
         * own root, with its /proc, shows both. */
        _cleanup_close_ int host_root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        g_autofree char *magic = g_strdup_printf("/proc/self/fd/%d", f->rootfd);
        char msg[256];

        g_assert_cmpint(host_root, >=, 0);
        g_assert_cmpint(tree_file_open(host_root, "/proc/self/status", O_RDONLY), ==, -EXDEV);
        g_assert_cmpint(tree_file_open(host_root, magic, O_RDONLY), <, 0);
        link_to(f, "/proc/self/status", "etc/passwd");
        assert_refused(f, "/etc/passwd", -ENOENT); /* no /proc inside this tree */
        tree_file_describe_error(-EXDEV, "/etc/passwd", msg, sizeof(msg));
        g_assert_cmpstr(msg, ==, "The chroot's /etc/passwd leads out of the chroot's own file system");
}

static void test_append(Fixture *f, gconstpointer data) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *text = NULL;

        put(f, "etc/passwd.real", "root:x:0:0::/root:/bin/sh");
        link_to(f, "/etc/passwd.real", "etc/passwd");
        fd = tree_file_open(f->rootfd, "/etc/passwd", O_RDWR | O_APPEND);
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(tree_file_read_fd(fd, &text), ==, 0);
        g_assert_cmpstr(text, ==, "root:x:0:0::/root:/bin/sh");
        /* Written where it was read: through the link, at the end. */
        g_assert_cmpint(write_full(fd, "\nme:x:1:1::/:/bin/sh\n", 21), ==, 0);
        g_clear_pointer(&text, free);
        assert_reads(f, "/etc/passwd.real", "root:x:0:0::/root:/bin/sh\nme:x:1:1::/:/bin/sh\n");
        /* Only reading, or appending. */
        g_assert_cmpint(tree_file_open(f->rootfd, "/etc/passwd", O_WRONLY), ==, -EINVAL);
        g_assert_cmpint(tree_file_open(f->rootfd, "/etc/passwd", O_RDWR | O_TRUNC), ==, -EINVAL);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

#define ADD(name, func) g_test_add(name, Fixture, NULL, fixture_setup, func, fixture_teardown)
        ADD("/tree-file/regular", test_regular);
        ADD("/tree-file/not-regular", test_not_regular);
        ADD("/tree-file/size", test_size);
        ADD("/tree-file/grown", test_grown);
        ADD("/tree-file/symlinks-stay-inside", test_symlinks_stay_inside);
        ADD("/tree-file/no-magic-no-other-mounts", test_no_magic_no_other_mounts);
        ADD("/tree-file/append", test_append);
#undef ADD
        return g_test_run();
}
