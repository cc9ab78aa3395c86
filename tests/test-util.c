/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* util.h: the helpers every module builds on (string lists, bounded reads, atomic
 * writes, mkdir -p). */
#include <glib.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <signal.h>

#include "util.h"
#include "rmtree.h"

typedef struct Fixture {
        char *root;
        int dirfd;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data) {
        GError *error = NULL;

        f->root = g_dir_make_tmp("test-util-XXXXXX", &error);
        g_assert_no_error(error);
        f->dirfd = open(f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(f->dirfd, >=, 0);
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
        safe_close(f->dirfd);
        g_assert_cmpint(rm_rf_at(AT_FDCWD, f->root), ==, 0);
        g_free(f->root);
}

static void test_strv(void) {
        _cleanup_strv_free_ char **l = NULL;
        char *owned;

        g_assert_cmpuint(strv_length(NULL), ==, 0);
        g_assert_false(strv_contains(NULL, "a"));
        strv_free(NULL);

        g_assert_cmpint(strv_extend(&l, "a"), ==, 0);
        g_assert_cmpint(strv_extend(&l, ""), ==, 0);
        owned = strdup("c");
        g_assert_cmpint(strv_consume(&l, owned), ==, 0);
        g_assert_cmpuint(strv_length(l), ==, 3);
        g_assert_null(l[3]);
        g_assert_cmpstr(l[0], ==, "a");
        g_assert_cmpstr(l[1], ==, "");
        /* consume takes the pointer itself, extend a copy. */
        g_assert_true(l[2] == owned);

        g_assert_true(strv_contains(l, "a"));
        g_assert_true(strv_contains(l, ""));
        g_assert_true(strv_contains(l, "c"));
        g_assert_false(strv_contains(l, "b"));
        g_assert_false(strv_contains(l, "aa"));

        /* A failed strdup() arrives as NULL: -ENOMEM, the list unchanged. */
        g_assert_cmpint(strv_consume(&l, NULL), ==, -ENOMEM);
        g_assert_cmpuint(strv_length(l), ==, 3);

        for (int i = 0; i < 1000; i++)
                g_assert_cmpint(strv_extend(&l, "x"), ==, 0);
        g_assert_cmpuint(strv_length(l), ==, 1003);
}

static void test_strings(void) {
        _cleanup_free_ char *s = strf("%s-%d", "abc", 42);

        g_assert_cmpstr(s, ==, "abc-42");
        g_assert_true(streq("a", "a"));
        g_assert_false(streq("a", "ab"));
        g_assert_true(streq_ptr(NULL, NULL));
        g_assert_false(streq_ptr("a", NULL));
        g_assert_false(streq_ptr(NULL, "a"));
        g_assert_true(streq_ptr("a", "a"));
        g_assert_cmpstr(strempty(NULL), ==, "");
        g_assert_cmpstr(strempty("x"), ==, "x");
        g_assert_cmpstr(startswith("foobar", "foo"), ==, "bar");
        g_assert_cmpstr(startswith("foo", "foo"), ==, "");
        g_assert_null(startswith("fo", "foo"));
        g_assert_cmpstr(endswith("foo.tar.gz", ".tar.gz"), ==, ".tar.gz");
        g_assert_null(endswith("gz", ".tar.gz"));
        g_assert_null(endswith("foo.tar.xz", ".tar.gz"));
}

static void test_parse_size(void) {
        static const struct {
                const char *s;
                int r;
                uint64_t v;
        } table[] = {
                { "0", 0, 0 },
                { "4096", 0, 4096 },
                { "1K", 0, 1024 },
                { "1k", 0, 1024 },
                { "512M", 0, UINT64_C(512) << 20 },
                { "16G", 0, UINT64_C(16) << 30 },
                { "16g", 0, UINT64_C(16) << 30 },
                { "2T", 0, UINT64_C(2) << 40 },
                { "18446744073709551615", 0, UINT64_MAX },
                { "16777215T", 0, UINT64_C(16777215) << 40 },
                { "16777216T", -ERANGE, 0 },
                { "18446744073709551616", -ERANGE, 0 },
                { "", -EINVAL, 0 },
                { "G", -EINVAL, 0 },
                { "16GiB", -EINVAL, 0 },
                { "16GB", -EINVAL, 0 },
                { "16 G", -EINVAL, 0 },
                { " 16G", -EINVAL, 0 },
                { "16G ", -EINVAL, 0 },
                { "-1", -EINVAL, 0 },
                { "1.5G", -EINVAL, 0 },
                { "0x10", -EINVAL, 0 },
                { "16P", -EINVAL, 0 },
                { "lots", -EINVAL, 0 },
        };
        uint64_t v;

        for (size_t i = 0; i < G_N_ELEMENTS(table); i++) {
                g_test_message("'%s'", table[i].s);
                v = 42;
                g_assert_cmpint(parse_size(table[i].s, &v), ==, table[i].r);
                g_assert_cmpuint(v, ==, table[i].r == 0 ? table[i].v : 42);
        }
        g_assert_cmpint(parse_size(NULL, &v), ==, -EINVAL);
}

static void test_read_write_full(void) {
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        char big[100000], back[100000 + 10];
        pid_t pid;
        int status;

        for (size_t i = 0; i < sizeof(big); i++)
                big[i] = (char) (i * 7);
        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        /* More than a pipe holds: the writer needs the reader to make progress, and
         * both loops have to cope with short transfers. */
        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                safe_close(p[0]);
                _exit(write_full(p[1], big, sizeof(big)) == 0 ? 0 : 1);
        }
        p[1] = safe_close(p[1]);
        g_assert_cmpint(read_full(p[0], back, sizeof(back)), ==, (ssize_t) sizeof(big));
        g_assert_cmpint(memcmp(big, back, sizeof(big)), ==, 0);
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        /* At EOF: 0 bytes. */
        g_assert_cmpint(read_full(p[0], back, 10), ==, 0);
        g_assert_cmpint(read_full(-1, back, 10), ==, -EBADF);
        g_assert_cmpint(write_full(-1, back, 10), ==, -EBADF);
}

static void put(Fixture *f, const char *name, const char *contents, gssize len) {
        g_autofree char *p = g_build_filename(f->root, name, NULL);
        GError *error = NULL;

        g_file_set_contents(p, contents, len, &error);
        g_assert_no_error(error);
}

static int open_at(Fixture *f, const char *name) {
        int fd = openat(f->dirfd, name, O_RDONLY | O_CLOEXEC);
        g_assert_cmpint(fd, >=, 0);
        return fd;
}

/* A console log's end: the last bytes from a line's start, read whatever the fd's offset. */
static void test_read_file_tail(Fixture *f, gconstpointer data) {
        static const struct {
                const char *contents, *want;
                size_t max;
        } cases[] = {
                { "", "", 16 },
                { "short\n", "short\n", 16 },
                { "0123456789", "0123456789", 10 },            /* exactly max: all of it */
                { "first line\nsecond\n", "second\n", 10 },  /* the cut line goes */
                { "aaaa\nbbbb\ncc", "bbbb\ncc", 10 },         /* from the first line begun in them */
                { "one long line without end", "line without end", 16 }, /* no line begins in them */
                { "xxxxxxxxxxxxxxxxxxxx\n", "xxxxxxxxxxxxxxx\n", 16 },  /* only the last byte is a newline */
        };
        int p[2];

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                _cleanup_free_ char *s = NULL;
                _cleanup_close_ int fd = -EBADF;
                size_t n = 42;

                g_test_message("case %zu: '%s', max %zu", i, cases[i].contents, cases[i].max);
                put(f, "log", cases[i].contents, -1);
                fd = open_at(f, "log");
                /* The offset is not where reading starts. */
                g_assert_cmpint(lseek(fd, 0, SEEK_END), >=, 0);
                g_assert_cmpint(read_file_tail(fd, cases[i].max, &s, &n), ==, 0);
                g_assert_cmpstr(s, ==, cases[i].want);
                g_assert_cmpuint(n, ==, strlen(cases[i].want));
        }
        {
                /* Bytes, NULs included, come as they are. */
                _cleanup_free_ char *s = NULL;
                _cleanup_close_ int fd = -EBADF;
                size_t n;

                put(f, "nul", "a\0b", 3);
                fd = open_at(f, "nul");
                g_assert_cmpint(read_file_tail(fd, 64, &s, &n), ==, 0);
                g_assert_cmpuint(n, ==, 3);
                g_assert_cmpint(memcmp(s, "a\0b\0", 4), ==, 0);
        }
        {
                /* A pipe would be read until its writer closes it: refused. */
                char *s = (char *) "untouched";

                g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
                g_assert_cmpint(read_file_tail(p[0], 64, &s, NULL), ==, -EBADFD);
                g_assert_cmpstr(s, ==, "untouched");
                close(p[0]), close(p[1]);
                g_assert_cmpint(read_file_tail(f->dirfd, 64, &s, NULL), ==, -EBADFD);
        }
        {
                /* A device is read once, at most max bytes: /dev/null (a log not there
                 * yet) is empty, /dev/zero does not go on for ever. */
                _cleanup_free_ char *empty = NULL, *zeros = NULL;
                _cleanup_close_ int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
                _cleanup_close_ int zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
                size_t n = 42;

                g_assert_cmpint(read_file_tail(null, 64, &empty, &n), ==, 0);
                g_assert_cmpstr(empty, ==, "");
                g_assert_cmpuint(n, ==, 0);
                g_assert_cmpint(read_file_tail(zero, 64, &zeros, &n), ==, 0);
                g_assert_cmpuint(n, ==, 64);
        }
}

/* What becomes a JSON or D-Bus string: valid UTF-8 stays as it is, the rest is U+FFFD. */
static void test_utf8_make_valid(void) {
        static const struct {
                const char *in;
                size_t n;
                const char *want;
        } cases[] = {
                { "", 0, "" },
                { "plain ASCII\n", 12, "plain ASCII\n" },
                { "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x90\xa7", 15, "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x90\xa7" },
                { "a\0b", 3, "a\xef\xbf\xbd" "b" },                    /* NUL */
                { "\xff", 1, "\xef\xbf\xbd" },                         /* never UTF-8 */
                { "\xbf\x80x", 3, "\xef\xbf\xbd\xef\xbf\xbdx" },       /* stray continuations */
                { "x\xe2\x82", 3, "x\xef\xbf\xbd\xef\xbf\xbd" },       /* cut at the end */
                { "\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd" },         /* overlong '/' */
                { "\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* a surrogate */
                { "\xf4\x90\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* > U+10FFFF */
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                _cleanup_free_ char *out = utf8_make_valid(cases[i].in, cases[i].n);

                g_test_message("case %zu", i);
                g_assert_nonnull(out);
                g_assert_cmpstr(out, ==, cases[i].want);
                g_assert_true(g_utf8_validate(out, -1, NULL));
        }
        /* Only n bytes are looked at: a sequence is not completed from beyond them. */
        g_assert_cmpuint(utf8_sequence((const unsigned char *) "\xc3\xbc", 1), ==, 0);
        g_assert_cmpuint(utf8_sequence((const unsigned char *) "\xc3\xbc", 2), ==, 2);
        g_assert_cmpuint(utf8_sequence((const unsigned char *) "a", 1), ==, 0);
}

static void test_read_file_at(Fixture *f, gconstpointer data) {
        _cleanup_free_ char *s = NULL;
        char *untouched = (char *) "untouched";

        put(f, "ten", "0123456789", -1);
        put(f, "empty", "", 0);
        put(f, "nul", "a\0b", 3);

        g_assert_cmpint(read_file_at(f->dirfd, "ten", 10, &s), ==, 0);
        g_assert_cmpstr(s, ==, "0123456789");
        free(TAKE_PTR(s));
        g_assert_cmpint(read_file_at(f->dirfd, "ten", 100, &s), ==, 0);
        g_assert_cmpstr(s, ==, "0123456789");
        free(TAKE_PTR(s));

        /* One byte over the limit is too big; *ret is left alone. */
        s = untouched;
        g_assert_cmpint(read_file_at(f->dirfd, "ten", 9, &s), ==, -EFBIG);
        g_assert_cmpint(read_file_at(f->dirfd, "ten", 0, &s), ==, -EFBIG);
        g_assert_true(s == untouched);
        g_assert_cmpint(read_file_at(f->dirfd, "missing", 10, &s), ==, -ENOENT);
        g_assert_true(s == untouched);
        s = NULL;

        g_assert_cmpint(read_file_at(f->dirfd, "empty", 0, &s), ==, 0);
        g_assert_cmpstr(s, ==, "");
        free(TAKE_PTR(s));

        /* Always NUL-terminated, whatever the file holds. */
        g_assert_cmpint(read_file_at(f->dirfd, "nul", 3, &s), ==, 0);
        g_assert_cmpint(memcmp(s, "a\0b\0", 4), ==, 0);
        free(TAKE_PTR(s));

        /* Relative to the dirfd, and AT_FDCWD with an absolute path. */
        {
                g_autofree char *abs = g_build_filename(f->root, "ten", NULL);
                g_assert_cmpint(read_file_at(AT_FDCWD, abs, 10, &s), ==, 0);
                g_assert_cmpstr(s, ==, "0123456789");
                free(TAKE_PTR(s));
        }
        /* A directory cannot be read as a file. */
        g_assert_cmpint(mkdirat(f->dirfd, "dir", 0700), ==, 0);
        g_assert_cmpint(read_file_at(f->dirfd, "dir", 10, &s), ==, -EISDIR);
        g_assert_null(s);
}

static void assert_only_entries(Fixture *f, const char *const *names) {
        g_autoptr(GDir) d = g_dir_open(f->root, 0, NULL);
        const char *n;
        size_t count = 0;

        g_assert_nonnull(d);
        while ((n = g_dir_read_name(d))) {
                g_test_message("entry: %s", n);
                g_assert_true(g_strv_contains(names, n));
                count++;
        }
        g_assert_cmpuint(count, ==, g_strv_length((char **) names));
}

static void test_write_file_atomic_at(Fixture *f, gconstpointer data) {
        static const char *const only_a[] = { "a", NULL };
        g_autofree char *path = g_build_filename(f->root, "a", NULL);
        g_autofree char *got = NULL;
        struct stat st1, st2;
        mode_t old_umask;

        old_umask = umask(022);
        g_assert_cmpint(write_file_atomic_at(f->dirfd, "a", "first\n", 0640), ==, 0);
        g_assert_true(g_file_get_contents(path, &got, NULL, NULL));
        g_assert_cmpstr(got, ==, "first\n");
        g_clear_pointer(&got, g_free);
        g_assert_cmpint(g_lstat(path, &st1), ==, 0);
        g_assert_cmpuint(st1.st_mode & 07777, ==, 0640);
        assert_only_entries(f, only_a);

        /* Replacing: a new inode renamed over the old one, the old content gone whole. */
        g_assert_cmpint(write_file_atomic_at(f->dirfd, "a", "second", 0600), ==, 0);
        g_assert_true(g_file_get_contents(path, &got, NULL, NULL));
        g_assert_cmpstr(got, ==, "second");
        g_clear_pointer(&got, g_free);
        g_assert_cmpint(g_lstat(path, &st2), ==, 0);
        g_assert_cmpuint(st1.st_ino, !=, st2.st_ino);
        g_assert_cmpuint(st2.st_mode & 07777, ==, 0600);
        assert_only_entries(f, only_a);

        /* A stale temporary from a crash is truncated and reused. */
        put(f, ".#a.tmp", "stale stale stale stale", -1);
        g_assert_cmpint(write_file_atomic_at(f->dirfd, "a", "", 0600), ==, 0);
        g_assert_true(g_file_get_contents(path, &got, NULL, NULL));
        g_assert_cmpstr(got, ==, "");
        g_clear_pointer(&got, g_free);
        assert_only_entries(f, only_a);
        umask(old_umask);
}

static void test_write_file_atomic_symlink(Fixture *f, gconstpointer data) {
        g_autofree char *victim = g_build_filename(f->root, "victim", NULL);
        g_autofree char *target = g_build_filename(f->root, "a", NULL);
        g_autofree char *got = NULL;

        /* Whoever plants a symlink where the temporary goes does not get the write
         * redirected through it. */
        put(f, "victim", "precious", -1);
        g_assert_cmpint(symlinkat(victim, f->dirfd, ".#a.tmp"), ==, 0);
        g_assert_cmpint(write_file_atomic_at(f->dirfd, "a", "new", 0600), <, 0);
        g_assert_true(g_file_get_contents(victim, &got, NULL, NULL));
        g_assert_cmpstr(got, ==, "precious");
        g_assert_false(g_file_test(target, G_FILE_TEST_EXISTS));
}

static void test_write_file_atomic_fails_cleanly(Fixture *f, gconstpointer data) {
        static const char *const none[] = { "ro", NULL };
        _cleanup_close_ int ro = -EBADF;

        if (geteuid() == 0) {
                g_test_skip("root writes into read-only directories");
                return;
        }
        g_assert_cmpint(mkdirat(f->dirfd, "ro", 0500), ==, 0);
        ro = openat(f->dirfd, "ro", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(ro, >=, 0);
        g_assert_cmpint(write_file_atomic_at(ro, "x", "data", 0600), ==, -EACCES);
        g_assert_cmpint(fchmod(ro, 0700), ==, 0);
        assert_only_entries(f, none);
        {
                g_autofree char *p = g_build_filename(f->root, "ro", NULL);
                g_autoptr(GDir) d = g_dir_open(p, 0, NULL);
                g_assert_nonnull(d);
                g_assert_null(g_dir_read_name(d));
        }
}

static void test_mkdir_p(Fixture *f, gconstpointer data) {
        g_autofree char *deep = g_build_filename(f->root, "a", "b", "c", "d", NULL);
        g_autofree char *under_file = g_build_filename(f->root, "file", "x", "y", NULL);
        g_autofree char *trailing = g_strconcat(f->root, "/t1/t2/", NULL);
        g_autofree char *t2 = g_build_filename(f->root, "t1", "t2", NULL);
        struct stat st;
        mode_t old_umask = umask(022);

        g_assert_cmpint(mkdir_p(deep, 0700), ==, 0);
        g_assert_true(g_file_test(deep, G_FILE_TEST_IS_DIR));
        g_assert_cmpint(g_lstat(deep, &st), ==, 0);
        g_assert_cmpuint(st.st_mode & 07777, ==, 0700);
        /* Again: already there is fine. */
        g_assert_cmpint(mkdir_p(deep, 0700), ==, 0);
        g_assert_cmpint(mkdir_p(f->root, 0700), ==, 0);
        g_assert_cmpint(mkdir_p("/", 0700), ==, 0);

        g_assert_cmpint(mkdir_p(trailing, 0755), ==, 0);
        g_assert_true(g_file_test(t2, G_FILE_TEST_IS_DIR));

        put(f, "file", "", 0);
        g_assert_cmpint(mkdir_p(under_file, 0700), ==, -ENOTDIR);
        umask(old_umask);
}

static void test_pidfd_alive(void) {
        pid_t pid = fork();
        int fd;

        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                pause();
                _exit(0);
        }
        fd = (int) syscall(SYS_pidfd_open, pid, 0);
        g_assert_cmpint(fd, >=, 0);
        g_assert_true(pidfd_alive(fd));
        g_assert_cmpint(kill(pid, SIGKILL), ==, 0);
        /* exited, not yet reaped: no longer alive */
        g_assert_cmpint(waitid(P_PID, (id_t) pid, NULL, WEXITED | WNOWAIT), ==, 0);
        g_assert_false(pidfd_alive(fd));
        g_assert_cmpint(waitpid(pid, NULL, 0), ==, pid);
        g_assert_false(pidfd_alive(fd));
        g_assert_false(pidfd_alive(-EBADF));
        close(fd);
}

/* The pid a pidfd names, and a process's start time: what names a process across pid
 * reuse. A child with a name that holds ") " must not confuse the parser. */
static void test_pidfd_pid_and_start_time(void) {
        uint64_t mine, child, again;
        pid_t pid = fork();
        int fd;

        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                (void) prctl(PR_SET_NAME, "a) b 1 2 3");
                pause();
                _exit(0);
        }
        fd = (int) syscall(SYS_pidfd_open, pid, 0);
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(pidfd_get_pid(fd), ==, pid);
        g_assert_cmpint(process_start_time(getpid(), &mine), ==, 0);
        usleep(20000); /* so that the name is set */
        g_assert_cmpint(process_start_time(pid, &child), ==, 0);
        g_assert_cmpuint(child, >=, mine);
        g_assert_cmpint(process_start_time(pid, &again), ==, 0);
        g_assert_cmpuint(again, ==, child);
        g_assert_cmpint(kill(pid, SIGKILL), ==, 0);
        g_assert_cmpint(waitpid(pid, NULL, 0), ==, pid);
        /* Reaped: gone by its pidfd and by its pid. */
        g_assert_cmpint(pidfd_get_pid(fd), ==, -ESRCH);
        g_assert_cmpint(process_start_time(pid, &again), ==, -ESRCH);
        close(fd);
}

/* What body printed on stderr (fd 2 is a memfd meanwhile). */
static char *capture_stderr(void (*body)(void)) {
        int saved = dup(STDERR_FILENO), mfd = memfd_create("test-stderr", MFD_CLOEXEC);
        char buf[1024];
        ssize_t n;

        g_assert_cmpint(saved, >=, 0);
        g_assert_cmpint(mfd, >=, 0);
        fflush(stderr);
        g_assert_cmpint(dup2(mfd, STDERR_FILENO), ==, STDERR_FILENO);
        body();
        fflush(stderr);
        g_assert_cmpint(dup2(saved, STDERR_FILENO), ==, STDERR_FILENO);
        close(saved);
        n = pread(mfd, buf, sizeof(buf) - 1, 0);
        g_assert_cmpint(n, >=, 0);
        buf[n] = 0;
        close(mfd);
        return g_strdup(buf);
}

static void log_errno_body(void) {
        /* %m is the error given, not errno; errno is left as it was. */
        errno = EPERM;
        g_assert_cmpint(log_error_errno(-ENOENT, "Failed to open '%s': %m", "x.tar"), ==, -ENOENT);
        g_assert_cmpint(errno, ==, EPERM);
        /* A positive errno value (posix_spawn()'s) is taken as its negation. */
        g_assert_cmpint(log_warning_errno(EACCES, "Cannot %s: %m", "spawn"), ==, -EACCES);
        /* Plain log_*() still mean errno by %m. */
        errno = ENOSPC;
        log_notice("Short: %m");
        g_assert_cmpint(errno, ==, ENOSPC);
        /* Below the level: nothing printed, the error still returned. */
        log_set_max_level(6);
        g_assert_cmpint(log_debug_errno(-EIO, "hidden: %m"), ==, -EIO);
        log_set_max_level(7);
        g_assert_cmpint(log_debug_errno(-EIO, "shown: %m"), ==, -EIO);
        log_set_max_level(6);
}

static void test_log_errno(void) {
        g_autofree char *got = capture_stderr(log_errno_body);

        g_assert_cmpstr(got, ==,
                        "<3>Failed to open 'x.tar': No such file or directory\n"
                        "<4>Cannot spawn: Permission denied\n"
                        "<5>Short: No space left on device\n"
                        "<7>shown: Input/output error\n");
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/util/strv", test_strv);
        g_test_add_func("/util/strings", test_strings);
        g_test_add_func("/util/parse-size", test_parse_size);
        g_test_add_func("/util/read-write-full", test_read_write_full);
        g_test_add_func("/util/pidfd-alive", test_pidfd_alive);
        g_test_add_func("/util/pidfd-pid-and-start-time", test_pidfd_pid_and_start_time);
        g_test_add_func("/util/log-errno", test_log_errno);
        g_test_add_func("/util/utf8-make-valid", test_utf8_make_valid);
        g_test_add("/util/read-file-at", Fixture, NULL, fixture_setup, test_read_file_at, fixture_teardown);
        g_test_add("/util/read-file-tail", Fixture, NULL, fixture_setup, test_read_file_tail, fixture_teardown);
        g_test_add("/util/write-file-atomic-at", Fixture, NULL, fixture_setup, test_write_file_atomic_at,
                   fixture_teardown);
        g_test_add("/util/write-file-atomic-at/symlink", Fixture, NULL, fixture_setup,
                   test_write_file_atomic_symlink, fixture_teardown);
        g_test_add("/util/write-file-atomic-at/fails-cleanly", Fixture, NULL, fixture_setup,
                   test_write_file_atomic_fails_cleanly, fixture_teardown);
        g_test_add("/util/mkdir-p", Fixture, NULL, fixture_setup, test_mkdir_p, fixture_teardown);
        return g_test_run();
}
