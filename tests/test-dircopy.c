/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dircopy_write_tar() through a pipe into unpack_archive(), as the service does for a
 * "directory" chroot, and the id translation table. */
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <locale.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>

#include <glib.h>

#include "dircopy.h"
#include "unpack.h"
#include "rmtree.h"
#include "util.h"

#define MTIME 1500000000

typedef struct Fixture {
        char *tmp;
        char *src;
        char *dest;
        int src_fd;
        int dest_fd;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data) {
        GError *error = NULL;

        f->tmp = g_dir_make_tmp("test-dircopy-XXXXXX", &error);
        g_assert_no_error(error);
        f->src = g_build_filename(f->tmp, "src", NULL);
        f->dest = g_build_filename(f->tmp, "dest", NULL);
        g_assert_cmpint(mkdir(f->src, 0755), ==, 0);
        g_assert_cmpint(mkdir(f->dest, 0755), ==, 0);
        /* The service may well hold the source as O_PATH. */
        f->src_fd = open(f->src, O_PATH | O_DIRECTORY | O_CLOEXEC);
        f->dest_fd = open(f->dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(f->src_fd, >=, 0);
        g_assert_cmpint(f->dest_fd, >=, 0);
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
        close(f->src_fd);
        close(f->dest_fd);
        /* The service's own remover: it never follows symlinks out of the tree. */
        (void) rm_rf_at(AT_FDCWD, f->tmp);
        g_free(f->tmp);
        g_free(f->src);
        g_free(f->dest);
}

static IdShift own_shift(void) {
        return (IdShift) {
                .self_uid = geteuid(),
                .self_gid = getegid(),
                .uid_base = 100000,
                .gid_base = 100000,
                .count = 65536,
        };
}

static UnpackFlags default_flags(void) {
        return geteuid() == 0 ? 0 : UNPACK_NO_OWNER;
}

typedef struct Writer {
        int src_fd;
        int out_fd;
        IdShift shift;
        int r;
        char *error;
} Writer;

static gpointer writer_thread(gpointer data) {
        Writer *w = data;

        w->r = dircopy_write_tar(w->src_fd, w->out_fd, &w->shift, &w->error);
        w->out_fd = safe_close(w->out_fd);
        return NULL;
}

/* Copies src into dest as the service does: the writer in one thread, the unpacker
 * reading the pipe in another. */
static int copy(Fixture *f, const IdShift *shift, UnpackFlags flags, int *ret_unpack, char **ret_unpack_error,
                char **ret_error) {
        int pipefd[2];
        Writer w = { .src_fd = f->src_fd, .shift = *shift };
        GThread *t;

        g_assert_cmpint(pipe2(pipefd, O_CLOEXEC), ==, 0);
        w.out_fd = pipefd[1];
        t = g_thread_new("writer", writer_thread, &w);
        *ret_unpack = unpack_archive_full(pipefd[0], f->dest_fd, NULL, flags, NULL, ret_unpack_error);
        /* Should the unpacker stop early, the writer gets EPIPE rather than hang. */
        close(pipefd[0]);
        g_thread_join(t);
        *ret_error = w.error;
        if (w.r < 0) {
                g_assert_nonnull(w.error);
                g_assert_null(strchr(w.error, '\n'));
                g_assert_true(g_utf8_validate(w.error, -1, NULL));
        }
        return w.r;
}

static void write_at(int dirfd, const char *path, const void *data, size_t n, mode_t mode) {
        int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(write_full(fd, data, n), ==, 0);
        g_assert_cmpint(fchmod(fd, mode), ==, 0);
        close(fd);
}

static void set_mtime(int dirfd, const char *path, time_t t) {
        struct timespec ts[2] = { { t, 0 }, { t, 0 } };

        g_assert_cmpint(utimensat(dirfd, path, ts, AT_SYMLINK_NOFOLLOW), ==, 0);
}

static char *read_all_at(int dirfd, const char *path, size_t *ret_size) {
        int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        char *buf;

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(fstat(fd, &st), ==, 0);
        buf = g_malloc(st.st_size + 1);
        g_assert_cmpint(read_full(fd, buf, st.st_size), ==, st.st_size);
        buf[st.st_size] = '\0';
        close(fd);
        *ret_size = st.st_size;
        return buf;
}

static int compare_names(gconstpointer a, gconstpointer b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static GPtrArray *list_dir(int at, const char *path, bool copied_only) {
        GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
        int fd = openat(at, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct dirent *de;
        DIR *d;

        g_assert_cmpint(fd, >=, 0);
        d = fdopendir(fd);
        while ((de = readdir(d))) {
                struct stat st;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                g_assert_cmpint(fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW), ==, 0);
                /* Device nodes and sockets are not copied. */
                if (copied_only && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISSOCK(st.st_mode)))
                        continue;
                g_ptr_array_add(names, g_strdup(de->d_name));
        }
        closedir(d);
        g_ptr_array_sort(names, compare_names);
        return names;
}

/* dest has what src has (minus devices and sockets), with the same types, modes,
 * mtimes, contents and symlink targets; owners translated if check_owners. */
static void compare_trees(int src, int dest, const char *path, const IdShift *shift, bool check_owners) {
        g_autoptr(GPtrArray) a = list_dir(src, path, true);
        g_autoptr(GPtrArray) b = list_dir(dest, path, false);
        struct stat sa, sb;

        g_assert_cmpuint(a->len, ==, b->len);
        for (guint i = 0; i < a->len; i++) {
                g_autofree char *p = NULL;

                g_assert_cmpstr(a->pdata[i], ==, b->pdata[i]);
                p = streq(path, ".") ? g_strdup(a->pdata[i]) : g_build_filename(path, a->pdata[i], NULL);
                g_assert_cmpint(fstatat(src, p, &sa, AT_SYMLINK_NOFOLLOW), ==, 0);
                g_assert_cmpint(fstatat(dest, p, &sb, AT_SYMLINK_NOFOLLOW), ==, 0);

                if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT))
                        g_error("%s: type %o became %o", p, sa.st_mode & S_IFMT, sb.st_mode & S_IFMT);
                if (!S_ISLNK(sa.st_mode) && (sa.st_mode & 07777) != (sb.st_mode & 07777))
                        g_error("%s: mode %04o became %04o", p, sa.st_mode & 07777, sb.st_mode & 07777);
                if (sa.st_mtime != sb.st_mtime)
                        g_error("%s: mtime %ld became %ld", p, (long) sa.st_mtime, (long) sb.st_mtime);
                if (check_owners) {
                        g_assert_cmpuint(sb.st_uid, ==, idshift_uid(shift, sa.st_uid));
                        g_assert_cmpuint(sb.st_gid, ==, idshift_gid(shift, sa.st_gid));
                }

                if (S_ISREG(sa.st_mode)) {
                        size_t na, nb;
                        g_autofree char *ca = read_all_at(src, p, &na);
                        g_autofree char *cb = read_all_at(dest, p, &nb);

                        g_assert_cmpmem(ca, na, cb, nb);
                } else if (S_ISLNK(sa.st_mode)) {
                        char la[PATH_MAX] = {}, lb[PATH_MAX] = {};

                        g_assert_cmpint(readlinkat(src, p, la, sizeof(la) - 1), >, 0);
                        g_assert_cmpint(readlinkat(dest, p, lb, sizeof(lb) - 1), >, 0);
                        g_assert_cmpstr(la, ==, lb);
                } else if (S_ISDIR(sa.st_mode))
                        compare_trees(src, dest, p, shift, check_owners);
        }
}

static bool can_set_xattr(int dirfd, const char *path, const char *name, const char *value) {
        g_autofree char *p = g_strdup_printf("/proc/self/fd/%d/%s", dirfd, path);

        return setxattr(p, name, value, strlen(value), 0) == 0;
}

static void test_idshift(void) {
        const IdShift s = {
                .self_uid = 1000,
                .self_gid = 1001,
                .uid_base = 100000,
                .gid_base = 200000,
                .count = 65536,
        };
        const IdShift top = { .self_uid = 1000, .self_gid = 1000, .uid_base = UINT32_C(4294901760),
                              .gid_base = UINT32_C(4294901760), .count = 65536 };
        const IdShift none = { .self_uid = 1000, .self_gid = 1000, .uid_base = 100000, .gid_base = 100000 };
        static const struct {
                uid_t host, uid, gid;
        } table[] = {
                /* host    as uid  as gid */
                { 1000, 0, 1000 },         /* the service's own uid (but not its gid) */
                { 1001, 1001, 0 },         /* its own gid */
                { 100000, 0, 65534 },      /* subordinate range start: root inside */
                { 100001, 1, 65534 },
                { 165535, 65535, 65534 },  /* last of the range */
                { 165536, 65534, 65534 },  /* just past it */
                { 200000, 65534, 0 },      /* the gid range is its own */
                { 200042, 65534, 42 },
                { 0, 0, 0 },               /* a tree made by the real root stays */
                { 33, 33, 33 },
                { 65535, 65535, 65535 },
                { 65536, 65534, 65534 },   /* anything else: nobody */
                { 99999, 65534, 65534 },
                { 4294967294u, 65534, 65534 },
                { (uid_t) -1, 65534, 65534 },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(table); i++) {
                g_test_message("host id %ju", (uintmax_t) table[i].host);
                g_assert_cmpuint(idshift_uid(&s, table[i].host), ==, table[i].uid);
                g_assert_cmpuint(idshift_gid(&s, table[i].host), ==, table[i].gid);
        }

        /* A range at the very top: no overflow. */
        g_assert_cmpuint(idshift_uid(&top, 4294967295u), ==, 65535);
        g_assert_cmpuint(idshift_uid(&top, 4294901760u), ==, 0);
        g_assert_cmpuint(idshift_gid(&top, 4294901759u), ==, 65534);

        /* No range at all: only the service's own ids map (to root). */
        g_assert_cmpuint(idshift_uid(&none, 1000), ==, 0);
        g_assert_cmpuint(idshift_uid(&none, 0), ==, 65534);
        g_assert_cmpuint(idshift_uid(&none, 100000), ==, 65534);
        g_assert_cmpuint(idshift_gid(&none, 1000), ==, 0);
}

static void make_tree(Fixture *f) {
        g_autofree char *big = g_malloc(1 << 20);
        int fd = f->src_fd;

        for (size_t i = 0; i < (1 << 20); i++)
                big[i] = (char) (i * 2654435761u >> 13);

        g_assert_cmpint(mkdirat(fd, "etc", 0755), ==, 0);
        write_at(fd, "etc/hostname", "chroot\n", 7, 0644);
        write_at(fd, "etc/secret", "s3cret", 6, 0600);
        g_assert_cmpint(mkdirat(fd, "bin", 0755), ==, 0);
        write_at(fd, "bin/tool", big, 1 << 20, 0755);
        g_assert_cmpint(linkat(fd, "bin/tool", fd, "bin/tool-hardlink", 0), ==, 0);
        g_assert_cmpint(linkat(fd, "bin/tool", fd, "etc/tool-elsewhere", 0), ==, 0);
        g_assert_cmpint(symlinkat("tool", fd, "bin/link"), ==, 0);
        g_assert_cmpint(symlinkat("/etc/passwd", fd, "abs-link"), ==, 0);
        g_assert_cmpint(symlinkat("../../../..", fd, "up-link"), ==, 0);
        g_assert_cmpint(symlinkat("nowhere", fd, "dangling"), ==, 0);
        g_assert_cmpint(mkfifoat(fd, "fifo", 0620), ==, 0);
        write_at(fd, "empty", "", 0, 0640);
        g_assert_cmpint(mkdirat(fd, "emptydir", 0700), ==, 0);
        g_assert_cmpint(mkdirat(fd, "ro", 0755), ==, 0);
        write_at(fd, "ro/file", "read only", 9, 0444);
        g_assert_cmpint(fchmodat(fd, "ro", 0555, 0), ==, 0);
        g_assert_cmpint(mkdirat(fd, "tmp", 0755), ==, 0);
        g_assert_cmpint(fchmodat(fd, "tmp", 01777, 0), ==, 0);
        g_assert_cmpint(mkdirat(fd, "a", 0755), ==, 0);
        g_assert_cmpint(mkdirat(fd, "a/b", 0755), ==, 0);
        g_assert_cmpint(mkdirat(fd, "a/b/c", 0755), ==, 0);
        g_assert_cmpint(mkdirat(fd, "a/b/c/d", 0755), ==, 0);
        write_at(fd, "a/b/c/d/deep", "deep", 4, 0644);
        write_at(fd, "caf\xc3\xa9", "utf-8", 5, 0644);
        write_at(fd, "bad\xff\xfe", "not utf-8", 9, 0644);
        write_at(fd, "new\nline", "newline", 7, 0644);
}

/* Sets every mtime, children before their directories. */
static void set_mtimes(int dirfd, const char *path, time_t t) {
        g_autoptr(GPtrArray) names = list_dir(dirfd, path, false);

        for (guint i = 0; i < names->len; i++) {
                g_autofree char *p = streq(path, ".") ? g_strdup(names->pdata[i])
                                                      : g_build_filename(path, names->pdata[i], NULL);
                struct stat st;

                g_assert_cmpint(fstatat(dirfd, p, &st, AT_SYMLINK_NOFOLLOW), ==, 0);
                if (S_ISDIR(st.st_mode))
                        set_mtimes(dirfd, p, t + 1);
                set_mtime(dirfd, p, t + i);
        }
}

static void test_roundtrip(Fixture *f, gconstpointer data) {
        g_autofree char *error = NULL, *unpack_error = NULL, *s = NULL;
        IdShift shift = own_shift();
        bool xattrs;
        struct stat st, tool;
        int r, unpack_r;
        size_t n;

        make_tree(f);
        /* Not copied: sockets (tar has none) and device nodes (Run binds the host's). */
        {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

                g_snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/socket", f->src);
                g_assert_cmpint(bind(sock, (struct sockaddr *) &sa, sizeof(sa)), ==, 0);
                close(sock);
        }
        if (mknodat(f->src_fd, "null", S_IFCHR | 0666, makedev(1, 3)) < 0)
                g_test_message("no device node in the source: %m");

        xattrs = can_set_xattr(f->src_fd, "etc/hostname", "user.test", "file") &&
                 can_set_xattr(f->src_fd, "etc", "user.test", "dir");
        /* Not user.* or security.capability: not copied. */
        if (xattrs)
                (void) can_set_xattr(f->src_fd, "etc/secret", "trusted.test", "1");

        set_mtimes(f->src_fd, ".", MTIME);
        g_assert_cmpint(fchmodat(f->src_fd, ".", 0751, 0), ==, 0);
        set_mtime(f->src_fd, ".", 1234567);

        r = copy(f, &shift, default_flags(), &unpack_r, &unpack_error, &error);
        g_assert_cmpstr(error, ==, NULL);
        g_assert_cmpint(r, ==, 0);
        g_assert_cmpstr(unpack_error, ==, NULL);
        g_assert_cmpint(unpack_r, ==, 0);

        compare_trees(f->src_fd, f->dest_fd, ".", &shift, geteuid() == 0);

        st = (struct stat) {};
        g_assert_cmpint(fstatat(f->dest_fd, ".", &st, 0), ==, 0);
        g_assert_cmpint(st.st_mode & 07777, ==, 0751);
        g_assert_cmpint(st.st_mtime, ==, 1234567);

        /* Hard links stay hard links, across directories too. */
        g_assert_cmpint(fstatat(f->dest_fd, "bin/tool", &tool, 0), ==, 0);
        g_assert_cmpint(tool.st_nlink, ==, 3);
        g_assert_cmpint(fstatat(f->dest_fd, "bin/tool-hardlink", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
        g_assert_cmpuint(st.st_ino, ==, tool.st_ino);
        g_assert_cmpint(fstatat(f->dest_fd, "etc/tool-elsewhere", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
        g_assert_cmpuint(st.st_ino, ==, tool.st_ino);

        g_assert_cmpint(fstatat(f->dest_fd, "socket", &st, AT_SYMLINK_NOFOLLOW), ==, -1);
        g_assert_cmpint(fstatat(f->dest_fd, "null", &st, AT_SYMLINK_NOFOLLOW), ==, -1);

        if (xattrs) {
                g_autofree char *file = g_build_filename(f->dest, "etc/hostname", NULL);
                g_autofree char *dir = g_build_filename(f->dest, "etc", NULL);
                g_autofree char *secret = g_build_filename(f->dest, "etc/secret", NULL);
                char value[16] = {};

                g_assert_cmpint(getxattr(file, "user.test", value, sizeof(value)), ==, 4);
                g_assert_cmpstr(value, ==, "file");
                g_assert_cmpint(getxattr(dir, "user.test", value, sizeof(value)), ==, 3);
                g_assert_cmpint(getxattr(secret, "trusted.test", value, sizeof(value)), ==, -1);
        } else
                g_test_message("no user xattrs on this file system: not checked");

        s = read_all_at(f->dest_fd, "bad\xff\xfe", &n);
        g_assert_cmpstr(s, ==, "not utf-8");
}

/* Owners are translated: the service's own ids and the subordinate range become the
 * session's, anything else nobody. Needs a process that can chown. */
static void test_owners(Fixture *f, gconstpointer data) {
        g_autofree char *error = NULL, *unpack_error = NULL;
        /* A subordinate range that fits in the id range of a test run in a user
         * namespace with 65536 ids, as in the service's child. */
        IdShift shift = { .self_uid = geteuid(), .self_gid = getegid(), .uid_base = 1000,
                          .gid_base = 2000, .count = 65536 };
        struct stat st;
        int r, unpack_r;

        write_at(f->src_fd, "mine", "x", 1, 0644);
        write_at(f->src_fd, "sub", "x", 1, 04755);
        write_at(f->src_fd, "low", "x", 1, 0644);
        g_assert_cmpint(mkdirat(f->src_fd, "dir", 0755), ==, 0);
        if (fchownat(f->src_fd, "sub", 1005, 2007, 0) < 0 ||
            fchownat(f->src_fd, "low", 20, 30, 0) < 0 ||
            fchownat(f->src_fd, "dir", 1001, 2001, 0) < 0) {
                g_test_skip("cannot give files other owners here");
                return;
        }
        g_assert_cmpint(fchmodat(f->src_fd, "sub", 04755, 0), ==, 0);
        g_assert_cmpint(fchmodat(f->src_fd, "dir", 02755, 0), ==, 0);

        r = copy(f, &shift, 0, &unpack_r, &unpack_error, &error);
        g_assert_cmpstr(error, ==, NULL);
        g_assert_cmpint(r, ==, 0);
        g_assert_cmpstr(unpack_error, ==, NULL);
        g_assert_cmpint(unpack_r, ==, 0);

        g_assert_cmpint(fstatat(f->dest_fd, "mine", &st, 0), ==, 0);
        g_assert_cmpuint(st.st_uid, ==, 0);
        g_assert_cmpuint(st.st_gid, ==, 0);
        g_assert_cmpint(fstatat(f->dest_fd, "sub", &st, 0), ==, 0);
        g_assert_cmpuint(st.st_uid, ==, 5);
        g_assert_cmpuint(st.st_gid, ==, 7);
        g_assert_cmpint(st.st_mode & 07777, ==, 04755);
        g_assert_cmpint(fstatat(f->dest_fd, "low", &st, 0), ==, 0);
        g_assert_cmpuint(st.st_uid, ==, 20);
        g_assert_cmpuint(st.st_gid, ==, 30);
        g_assert_cmpint(fstatat(f->dest_fd, "dir", &st, 0), ==, 0);
        g_assert_cmpuint(st.st_uid, ==, 1);
        g_assert_cmpuint(st.st_gid, ==, 1);
        g_assert_cmpint(st.st_mode & 07777, ==, 02755);
}

/* Root (also root in a user namespace, where the suite runs to restore ownership)
 * reads files whatever their mode. To see a permission error, the test takes
 * CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH out of this thread's effective set (new
 * threads inherit it) and puts them back afterwards. */
typedef struct DacGuard {
        bool dropped;
        struct __user_cap_header_struct header;
        struct __user_cap_data_struct saved[2];
} DacGuard;

static void dac_drop(DacGuard *g) {
        struct __user_cap_data_struct data[2];

        g->header = (struct __user_cap_header_struct) { .version = _LINUX_CAPABILITY_VERSION_3 };
        if (syscall(SYS_capget, &g->header, g->saved) < 0)
                return;
        memcpy(data, g->saved, sizeof(data));
        data[0].effective &= ~((1U << CAP_DAC_OVERRIDE) | (1U << CAP_DAC_READ_SEARCH));
        g->dropped = syscall(SYS_capset, &g->header, data) == 0;
}

static void dac_restore(DacGuard *g) {
        if (g->dropped)
                g_assert_cmpint(syscall(SYS_capset, &g->header, g->saved), ==, 0);
}

/* True if the file at path beneath dirfd can be opened despite its mode 0. */
static bool opens_anyway(int dirfd, const char *path, int flags) {
        int fd = openat(dirfd, path, flags | O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        close(fd);
        return true;
}

static void test_unreadable_file(Fixture *f, gconstpointer data) {
        g_autofree char *error = NULL, *unpack_error = NULL;
        IdShift shift = own_shift();
        DacGuard dac = {};
        int r, unpack_r;

        g_assert_cmpint(mkdirat(f->src_fd, "etc", 0755), ==, 0);
        write_at(f->src_fd, "etc/shadow", "root:*:", 7, 0000);
        dac_drop(&dac);
        if (opens_anyway(f->src_fd, "etc/shadow", 0)) {
                dac_restore(&dac);
                g_test_skip("this process reads files whatever their mode");
                return;
        }

        r = copy(f, &shift, default_flags(), &unpack_r, &unpack_error, &error);
        dac_restore(&dac);
        g_assert_cmpint(r, ==, -EACCES);
        g_assert_cmpstr(error, ==, "Cannot read 'etc/shadow': Permission denied");
        /* No end-of-archive marker after a failure: the copy is not mistaken for a
         * complete, smaller tree. */
        g_assert_cmpint(unpack_r, ==, -EBADMSG);
}

static void test_unreadable_dir(Fixture *f, gconstpointer data) {
        g_autofree char *error = NULL, *unpack_error = NULL;
        IdShift shift = own_shift();
        DacGuard dac = {};
        int r, unpack_r;

        g_assert_cmpint(mkdirat(f->src_fd, "locked", 0000), ==, 0);
        dac_drop(&dac);
        if (opens_anyway(f->src_fd, "locked", O_DIRECTORY)) {
                dac_restore(&dac);
                g_test_skip("this process reads directories whatever their mode");
                return;
        }

        r = copy(f, &shift, default_flags(), &unpack_r, &unpack_error, &error);
        dac_restore(&dac);
        g_assert_cmpint(r, ==, -EACCES);
        g_assert_cmpstr(error, ==, "Cannot read 'locked': Permission denied");
        g_assert_cmpint(unpack_r, ==, -EBADMSG);
}

/* The unpacking side is gone: EPIPE, not a SIGPIPE that kills the service. */
static void test_reader_gone(Fixture *f, gconstpointer data) {
        g_autofree char *error = NULL;
        g_autofree char *big = g_malloc0(1 << 20);
        IdShift shift = own_shift();
        sigset_t pending, mask;
        int pipefd[2];

        write_at(f->src_fd, "big", big, 1 << 20, 0644);
        g_assert_cmpint(pipe2(pipefd, O_CLOEXEC), ==, 0);
        close(pipefd[0]);

        g_assert_cmpint(dircopy_write_tar(f->src_fd, pipefd[1], &shift, &error), ==, -EPIPE);
        g_assert_true(g_str_has_prefix(error, "Cannot write archive at "));
        close(pipefd[1]);

        g_assert_cmpint(sigpending(&pending), ==, 0);
        g_assert_false(sigismember(&pending, SIGPIPE));
        g_assert_cmpint(pthread_sigmask(SIG_BLOCK, NULL, &mask), ==, 0);
        g_assert_false(sigismember(&mask, SIGPIPE));
}

/* The stream is the same for the same tree: names sorted, nothing from the walk. */
static void test_deterministic(Fixture *f, gconstpointer data) {
        IdShift shift = own_shift();
        GByteArray *out[2];

        make_tree(f);
        set_mtimes(f->src_fd, ".", MTIME);

        for (size_t i = 0; i < 2; i++) {
                g_autofree char *error = NULL;
                int fd = memfd_create("tar", MFD_CLOEXEC);
                struct stat st;

                g_assert_cmpint(dircopy_write_tar(f->src_fd, fd, &shift, &error), ==, 0);
                g_assert_cmpint(fstat(fd, &st), ==, 0);
                out[i] = g_byte_array_sized_new(st.st_size);
                g_byte_array_set_size(out[i], st.st_size);
                g_assert_cmpint(pread(fd, out[i]->data, st.st_size, 0), ==, st.st_size);
                close(fd);
        }
        g_assert_cmpmem(out[0]->data, out[0]->len, out[1]->data, out[1]->len);
        g_byte_array_unref(out[0]);
        g_byte_array_unref(out[1]);
}

/* Whether the file system of the source makes holes and reports them. */
static bool holes_work(Fixture *f) {
        int fd = openat(f->src_fd, "hole-probe", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        struct stat st;
        bool ok;

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(ftruncate(fd, 64 << 20), ==, 0);
        g_assert_cmpint(fstat(fd, &st), ==, 0);
        ok = st.st_blocks == 0 && lseek(fd, 0, SEEK_HOLE) == 0;
        close(fd);
        g_assert_cmpint(unlinkat(f->src_fd, "hole-probe", 0), ==, 0);
        return ok;
}

/* A file of size bytes that is a hole but for 'd' in the extents given (offset, length
 * pairs, ending with a 0 length). */
static void make_sparse(Fixture *f, const char *path, off_t size, const off_t *extents) {
        int fd = openat(f->src_fd, path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(ftruncate(fd, size), ==, 0);
        for (const off_t *x = extents; x[1] > 0; x += 2) {
                g_autofree char *buf = g_malloc(x[1]);

                memset(buf, 'd', x[1]);
                g_assert_cmpint(pwrite(fd, buf, x[1], x[0]), ==, x[1]);
        }
        close(fd);
}

static blkcnt_t blocks_at(int dirfd, const char *path) {
        struct stat st;

        g_assert_cmpint(fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW), ==, 0);
        g_test_message("%s: %jd bytes, %jd on disk", path, (intmax_t) st.st_size,
                       (intmax_t) st.st_blocks * 512);
        return st.st_blocks;
}

/* Sparse files stay sparse through the tar stream, which does not hold their holes:
 * 80 MiB of files with 20 KiB of data make a stream of a few KiB, and unpacking it
 * gives the same files, as sparse. */
static void test_sparse(Fixture *f, gconstpointer data) {
        static const off_t extents[] = { 1 << 20, 4096, 40 << 20, 8192, (64 << 20) - 10, 10, 0, 0 };
        static const off_t none[] = { 0, 0 };
        g_autofree char *error = NULL, *unpack_error = NULL;
        IdShift shift = own_shift();
        int fd, r, unpack_r;
        struct stat st;

        if (!holes_work(f)) {
                g_test_skip("the temporary directory's file system does not report holes");
                return;
        }
        make_sparse(f, "sparse", 64 << 20, extents);
        make_sparse(f, "all-hole", 16 << 20, none);
        g_assert_cmpint(linkat(f->src_fd, "sparse", f->src_fd, "sparse-link", 0), ==, 0);
        write_at(f->src_fd, "dense", "not sparse", 10, 0644);
        set_mtimes(f->src_fd, ".", MTIME);

        fd = memfd_create("tar", MFD_CLOEXEC);
        g_assert_cmpint(dircopy_write_tar(f->src_fd, fd, &shift, &error), ==, 0);
        g_assert_cmpint(fstat(fd, &st), ==, 0);
        g_test_message("tar stream: %jd bytes", (intmax_t) st.st_size);
        g_assert_cmpint(st.st_size, <, 64 << 10);
        close(fd);

        /* The way a directory chroot is copied, and a session written back. */
        r = copy(f, &shift, default_flags(), &unpack_r, &unpack_error, &error);
        g_assert_cmpstr(error, ==, NULL);
        g_assert_cmpint(r, ==, 0);
        g_assert_cmpstr(unpack_error, ==, NULL);
        g_assert_cmpint(unpack_r, ==, 0);
        compare_trees(f->src_fd, f->dest_fd, ".", &shift, false);
        g_assert_cmpint(blocks_at(f->dest_fd, "sparse") * 512, <=, 64 << 10);
        g_assert_cmpint(blocks_at(f->dest_fd, "all-hole"), ==, 0);
        g_assert_cmpint(fstatat(f->dest_fd, "sparse-link", &st, 0), ==, 0);
        g_assert_cmpint(st.st_nlink, ==, 2);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        setlocale(LC_ALL, "C");

        g_test_add_func("/dircopy/idshift", test_idshift);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
        ADD("/dircopy/roundtrip", test_roundtrip);
        ADD("/dircopy/owners", test_owners);
        ADD("/dircopy/unreadable-file", test_unreadable_file);
        ADD("/dircopy/unreadable-dir", test_unreadable_dir);
        ADD("/dircopy/reader-gone", test_reader_gone);
        ADD("/dircopy/deterministic", test_deterministic);
        ADD("/dircopy/sparse", test_sparse);
#undef ADD

        return g_test_run();
}
