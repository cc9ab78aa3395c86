/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* run-request.h: the environment a command gets and how the command travels to its
 * init (test-init.c covers the init itself). */
#include <glib.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "fdpass.h"
#include "util.h"
#include "run-request.h"

#define PATH_ROOT "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define PATH_USER "PATH=/usr/local/bin:/usr/bin:/bin"

static const PasswdEntry root_pw = {
        .name = (char *) "root", .uid = 0, .gid = 0, .home = (char *) "/root", .shell = (char *) "/bin/sh",
};
static const PasswdEntry tester_pw = {
        .name = (char *) "tester", .uid = 1000, .gid = 1000, .home = (char *) "/home/tester",
        .shell = (char *) "/bin/ash",
};

static int cmp_strp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static void assert_env(char **env, const char *const *expected) {
        g_auto(GStrv) want = g_strdupv((char **) expected);
        g_auto(GStrv) copy = g_strdupv(env);
        g_autofree char *got_s = NULL, *want_s = NULL;

        g_assert_nonnull(env);
        qsort(copy, g_strv_length(copy), sizeof(char *), cmp_strp);
        qsort(want, g_strv_length(want), sizeof(char *), cmp_strp);
        got_s = g_strjoinv(",", copy);
        want_s = g_strjoinv(",", want);
        g_assert_cmpstr(got_s, ==, want_s);
}

static void test_clean_root(void) {
        static const char *const want[] = {
                "HOME=/root", "SHELL=/bin/sh", "USER=root", "LOGNAME=root", PATH_ROOT, NULL,
        };
        _cleanup_strv_free_ char **env = NULL;

        g_assert_cmpint(run_build_environment(NULL, NULL, &root_pw, &env), ==, 0);
        assert_env(env, want);
}

static void test_clean_user(void) {
        static const char *const want[] = {
                "HOME=/home/tester", "SHELL=/bin/ash", "USER=tester", "LOGNAME=tester", PATH_USER, NULL,
        };
        _cleanup_strv_free_ char **env = NULL;

        g_assert_cmpint(run_build_environment(NULL, NULL, &tester_pw, &env), ==, 0);
        assert_env(env, want);
}

static void test_base_kept(void) {
        /* The caller's whole environment: nothing is added but the identity, and its
         * own PATH (and HOME, SHELL, TERM...) stay as they are. */
        static const char *const base[] = {
                "FOO=bar", "USER=someone-else", "PATH=/custom/bin", "HOME=/elsewhere", "EMPTY=", "EQ=a=b", NULL,
        };
        static const char *const want[] = {
                "FOO=bar", "USER=tester", "LOGNAME=tester", "PATH=/custom/bin", "HOME=/elsewhere", "EMPTY=",
                "EQ=a=b", NULL,
        };
        _cleanup_strv_free_ char **env = NULL;

        g_assert_cmpint(run_build_environment((char **) base, NULL, &tester_pw, &env), ==, 0);
        assert_env(env, want);
        /* The base itself is not modified. */
        g_assert_cmpstr(base[1], ==, "USER=someone-else");
}

static void test_base_without_path(void) {
        static const char *const base[] = { "LOGNAME=x", "PATHX=no", "MYPATH=no", "TERM=dumb", NULL };
        static const char *const want_root[] = {
                "LOGNAME=root", "USER=root", "PATHX=no", "MYPATH=no", "TERM=dumb", PATH_ROOT, NULL,
        };
        static const char *const want_user[] = {
                "LOGNAME=tester", "USER=tester", "PATHX=no", "MYPATH=no", "TERM=dumb", PATH_USER, NULL,
        };
        _cleanup_strv_free_ char **env = NULL, **env2 = NULL;

        /* PATHX and MYPATH are not PATH: a default PATH is still added. */
        g_assert_cmpint(run_build_environment((char **) base, NULL, &root_pw, &env), ==, 0);
        assert_env(env, want_root);
        g_assert_cmpint(run_build_environment((char **) base, NULL, &tester_pw, &env2), ==, 0);
        assert_env(env2, want_user);
}

static void test_base_empty(void) {
        /* An empty list is an empty environment, not "give me a clean one": no HOME
         * or SHELL, only what is always set. */
        static const char *const base[] = { NULL };
        static const char *const want[] = { "USER=tester", "LOGNAME=tester", PATH_USER, NULL };
        _cleanup_strv_free_ char **env = NULL;

        g_assert_cmpint(run_build_environment((char **) base, NULL, &tester_pw, &env), ==, 0);
        assert_env(env, want);
}

static void test_no_duplicates(void) {
        static const char *const base[] = { "USER=a", "LOGNAME=b", "PATH=/p", NULL };
        _cleanup_strv_free_ char **env = NULL;
        size_t n_user = 0, n_logname = 0, n_path = 0;

        g_assert_cmpint(run_build_environment((char **) base, NULL, &root_pw, &env), ==, 0);
        for (char **e = env; *e; e++) {
                n_user += g_str_has_prefix(*e, "USER=");
                n_logname += g_str_has_prefix(*e, "LOGNAME=");
                n_path += g_str_has_prefix(*e, "PATH=");
        }
        g_assert_cmpuint(n_user, ==, 1);
        g_assert_cmpuint(n_logname, ==, 1);
        g_assert_cmpuint(n_path, ==, 1);
        g_assert_cmpuint(strv_length(env), ==, 3);
}

static void test_setenv(void) {
        /* After a clean environment: added, or in place of what it had (HOME), even
         * of what the service sets (PATH); the last of two entries of a KEY wins. */
        static const char *const set[] = {
                "TERM=xterm", "SCHROOT_SESSION_ID=s1", "HOME=/elsewhere", "PATH=/opt/bin", "EQ=a=b", "E=",
                "TERM=dumb", NULL,
        };
        static const char *const want[] = {
                "HOME=/elsewhere", "SHELL=/bin/ash", "USER=tester", "LOGNAME=tester", "PATH=/opt/bin",
                "TERM=dumb", "SCHROOT_SESSION_ID=s1", "EQ=a=b", "E=", NULL,
        };
        /* After a given one, the same. */
        static const char *const base[] = { "FOO=bar", "SCHROOT_SESSION_ID=old", NULL };
        static const char *const want_base[] = {
                "FOO=bar", "SCHROOT_SESSION_ID=s1", "USER=tester", "LOGNAME=tester", PATH_USER, NULL,
        };
        static const char *const one[] = { "SCHROOT_SESSION_ID=s1", NULL };
        static const char *const bad[] = { "NOEQUALS", NULL };
        static const char *const empty_key[] = { "=x", NULL };
        _cleanup_strv_free_ char **env = NULL, **env2 = NULL, **env3 = NULL;

        g_assert_cmpint(run_build_environment(NULL, (char **) set, &tester_pw, &env), ==, 0);
        assert_env(env, want);
        g_assert_cmpint(run_build_environment((char **) base, (char **) one, &tester_pw, &env2), ==, 0);
        assert_env(env2, want_base);
        /* The service refuses these; the init does too. */
        g_assert_cmpint(run_build_environment(NULL, (char **) bad, &tester_pw, &env3), ==, -EINVAL);
        g_assert_cmpint(run_build_environment(NULL, (char **) empty_key, &tester_pw, &env3), ==, -EINVAL);
        g_assert_null(env3);
}

/* The memfd run_params_pack() made, read whole. */
static char *read_memfd(int fd, size_t *ret_size) {
        struct stat st;
        char *buf;

        g_assert_cmpint(fstat(fd, &st), ==, 0);
        buf = g_malloc(st.st_size + 1);
        g_assert_cmpint(pread(fd, buf, st.st_size, 0), ==, st.st_size);
        *ret_size = (size_t) st.st_size;
        return buf;
}

static void round_trip(const RunParams *in) {
        g_autofree char *buf = NULL;
        RunParams out;
        size_t size;
        int fd = -1;

        g_assert_cmpint(run_params_pack(in, &fd), ==, 0);
        buf = read_memfd(fd, &size);
        close(fd);
        g_assert_cmpint(run_params_unpack(buf, size, &out), ==, 0);
        g_assert_cmpstr(out.user, ==, in->user);
        g_assert_cmpstr(out.directory, ==, in->directory);
        g_assert_cmpint(out.network_none, ==, in->network_none);
        g_assert_cmpint(out.pty, ==, in->pty);
        g_assert_cmpuint(out.pty_rows, ==, in->pty_rows);
        g_assert_cmpuint(out.pty_columns, ==, in->pty_columns);
        g_assert_cmpint(out.copy, ==, in->copy);
        g_assert_cmpstr(out.copy_path, ==, in->copy_path);
        g_assert_true(g_strv_equal((const char *const *) out.argv, (const char *const *) in->argv));
        if (in->environment)
                g_assert_true(g_strv_equal((const char *const *) out.environment, (const char *const *) in->environment));
        else
                g_assert_null(out.environment);
        /* No setenv arrives as an empty one. */
        g_assert_nonnull(out.setenv);
        if (in->setenv)
                g_assert_true(g_strv_equal((const char *const *) out.setenv, (const char *const *) in->setenv));
        else
                g_assert_null(out.setenv[0]);
        free(out.argv);
        free(out.environment);
        free(out.setenv);
}

static void test_params_round_trip(void) {
        char *argv[] = { (char *) "sh", (char *) "-c", (char *) "echo 'a b'\n", (char *) "", NULL };
        char *env[] = { (char *) "A=1", (char *) "B=", NULL };
        char *no_env[] = { NULL };
        char *set[] = { (char *) "TERM=xterm", (char *) "X=a=b", NULL };

        round_trip(&(RunParams) { .argv = argv, .environment = env, .user = "root", .directory = "/" });
        round_trip(&(RunParams) { .argv = argv, .environment = env, .setenv = set, .user = "root", .directory = "/" });
        round_trip(&(RunParams) { .argv = argv, .setenv = set, .user = "tester", .directory = "/" });
        /* no command: the login shell */
        round_trip(&(RunParams) { .argv = no_env, .setenv = set, .user = "tester", .directory = "/" });
        /* a clean environment (NULL) is not an empty one */
        round_trip(&(RunParams) { .argv = argv, .environment = NULL, .user = "1000", .directory = "/tmp",
                                  .network_none = true });
        round_trip(&(RunParams) { .argv = argv, .environment = no_env, .user = "tester", .directory = "/home" });
        /* a terminal, with a size and without one */
        round_trip(&(RunParams) { .argv = argv, .user = "root", .directory = "/", .pty = true, .pty_rows = 65535,
                                  .pty_columns = 1 });
        round_trip(&(RunParams) { .argv = argv, .user = "root", .directory = "/", .pty = true });
        /* copies, with the path's bytes as they are */
        round_trip(&(RunParams) { .argv = no_env, .user = "root", .directory = "/", .copy = RUN_COPY_IN,
                                  .copy_path = "/tmp/a b\n" });
        round_trip(&(RunParams) { .argv = no_env, .user = "root", .directory = "/", .network_none = true,
                                  .copy = RUN_COPY_OUT, .copy_path = "/" });
}

static void assert_refused(const char *data, size_t size) {
        g_autofree char *copy = g_memdup2(data, size);
        RunParams out;

        g_assert_cmpint(run_params_unpack(copy, size, &out), ==, -EBADMSG);
}

static void test_params_refused(void) {
        static const char good[] = "chrootd-run-4\0root\0/\0" "0\0" "-\0" "-\0" "1\0true\0-\0" "1\0A=1";
        size_t n = sizeof(good); /* with its last NUL */
        g_autofree char *copy = g_memdup2(good, n);
        RunParams out;

        g_assert_cmpint(run_params_unpack(copy, n, &out), ==, 0);
        g_assert_cmpstr(out.setenv[0], ==, "A=1");
        free(out.argv);
        free(out.setenv);
        for (size_t cut = 0; cut < n; cut++)
                assert_refused(good, cut); /* every truncation */
        assert_refused("chrootd-run-1\0root\0/\0" "0\0" "1\0true\0-\0" "1\0A=1", n);     /* another version */
        assert_refused("chrootd-run-2\0root\0/\0" "0\0" "1\0true\0-\0" "1\0A=1", n - 4); /* older ones */
        assert_refused("chrootd-run-3\0root\0/\0" "0\0" "-\0" "1\0true\0-\0" "1\0A=1", n - 2);
        /* A terminal is "ROWS COLUMNS", each of 16 bits. */
        for (const char *const *t = (const char *const[]) { "24", "24 80 1", "70000 80", "a b", "24 80x", "", NULL }; *t;
             t++) {
                const char *fields[] = { "chrootd-run-4", "root", "/", "0", *t, "-", "1", "true", "-", "0" };
                g_autoptr(GByteArray) bad = g_byte_array_new();

                for (size_t i = 0; i < G_N_ELEMENTS(fields); i++)
                        g_byte_array_append(bad, (const guint8 *) fields[i], strlen(fields[i]) + 1);
                assert_refused((const char *) bad->data, bad->len);
        }
        {
                const char *fields[] = { "chrootd-run-4", "root", "/", "0", "24 80", "-", "1", "true", "-", "0" };
                g_autoptr(GByteArray) ok = g_byte_array_new();

                for (size_t i = 0; i < G_N_ELEMENTS(fields); i++)
                        g_byte_array_append(ok, (const guint8 *) fields[i], strlen(fields[i]) + 1);
                g_assert_cmpint(run_params_unpack((char *) ok->data, ok->len, &out), ==, 0);
                g_assert_true(out.pty);
                g_assert_cmpuint(out.pty_rows, ==, 24);
                g_assert_cmpuint(out.pty_columns, ==, 80);
                free(out.argv);
                free(out.setenv);
        }
        /* a copy is "in" or "out" and a path */
        assert_refused("chrootd-run-4\0root\0/\0" "0\0" "-\0" "up\0" "1\0true\0-\0" "1\0A=1", n + 1);
        {
                static const char no_path[] = "chrootd-run-4\0root\0/\0" "0\0" "-\0" "in";
                static const char with_path[] = "chrootd-run-4\0root\0/\0" "0\0" "-\0" "out\0/etc\0" "0\0-\0" "0";
                g_autofree char *c = g_memdup2(with_path, sizeof(with_path));

                assert_refused(no_path, sizeof(no_path));
                g_assert_cmpint(run_params_unpack(c, sizeof(with_path), &out), ==, 0);
                g_assert_cmpint(out.copy, ==, RUN_COPY_OUT);
                g_assert_cmpstr(out.copy_path, ==, "/etc");
                free(out.argv);
                free(out.setenv);
        }
        assert_refused("chrootd-run-4\0root\0/\0" "2\0" "-\0" "-\0" "1\0true\0-\0" "1\0A=1", n);     /* network neither 0 nor 1 */
        assert_refused("chrootd-run-4\0root\0/\0" "0\0" "-\0" "-\0" "9\0true\0-\0" "1\0A=1", n);     /* argc beyond the data */
        assert_refused("chrootd-run-4\0root\0/\0" "0\0" "-\0" "-\0" "1\0true\0" "1\0" "1\0A=1", n); /* environment count beyond it */
        assert_refused("chrootd-run-4\0root\0/\0" "0\0" "-\0" "-\0" "1\0true\0-\0" "2\0A=1", n);     /* setenv count beyond it */
        assert_refused("chrootd-run-4\0root\0/\0" "0\0" "-\0" "-\0" "1\0true\0-\0" "x\0A=1", n);     /* setenv count not a number */
        {
                static const char no_setenv[] = "chrootd-run-4\0root\0/\0" "0\0" "-\0" "-\0" "1\0true\0-";
                static const char extra[] = "chrootd-run-4\0root\0/\0" "0\0" "-\0" "-\0" "1\0true\0-\0" "0\0x";
                static const char no_argv[] = "chrootd-run-4\0root\0/\0" "0\0" "-\0" "-\0" "0\0-\0" "0";
                g_autofree char *c = g_memdup2(no_argv, sizeof(no_argv));

                assert_refused(no_setenv, sizeof(no_setenv));                           /* the old format */
                assert_refused(extra, sizeof(extra));                                   /* data after the end */
                /* argc 0 is the login shell: an empty argv, not NULL */
                g_assert_cmpint(run_params_unpack(c, sizeof(no_argv), &out), ==, 0);
                g_assert_nonnull(out.argv);
                g_assert_null(out.argv[0]);
                g_assert_null(out.environment);
                free(out.argv);
                free(out.setenv);
        }
}

/* run_params_read(): what the init does with the memfd it is sent. */
static void test_params_read(void) {
        char *argv[] = { (char *) "id", (char *) "-u", NULL };
        char *set[] = { (char *) "TERM=dumb", NULL };
        _cleanup_(run_params_unpacked_done) RunParams out = {};
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -EBADF, empty = -EBADF;

        g_assert_cmpint(run_params_pack(&(RunParams) { .argv = argv, .setenv = set, .user = "tester",
                                                       .directory = "/tmp" }, &fd), ==, 0);
        g_assert_cmpint(run_params_read(fd, &buf, &out), ==, 0);
        g_assert_cmpstr(out.user, ==, "tester");
        g_assert_cmpstr(out.directory, ==, "/tmp");
        g_assert_true(g_strv_equal((const char *const *) out.argv, (const char *const *) argv));
        g_assert_true(g_strv_equal((const char *const *) out.setenv, (const char *const *) set));
        g_assert_null(out.environment);
        /* It points into buf, and reads from the start whatever the file offset. */
        g_assert_true(out.user >= buf);
        for (int i = 0; i < 3; i++)
                g_assert_cmpint(out.stdio[i], ==, -EBADF);

        /* An empty memfd, or one of garbage, is no request. */
        empty = memfd_create("test-empty", MFD_CLOEXEC);
        g_assert_cmpint(empty, >=, 0);
        {
                _cleanup_free_ char *b2 = NULL;
                RunParams o2;

                g_assert_cmpint(run_params_read(empty, &b2, &o2), ==, -EBADMSG);
                g_assert_cmpint(write(empty, "garbage", 7), ==, 7);
                g_assert_cmpint(run_params_read(empty, &b2, &o2), ==, -EBADMSG);
                g_assert_null(b2);
        }
        run_params_unpacked_done(&out);
        g_assert_null(out.argv);
        g_assert_null(out.setenv);
}

static void assert_same_file(int a, int b) {
        struct stat sa, sb;

        g_assert_cmpint(fstat(a, &sa), ==, 0);
        g_assert_cmpint(fstat(b, &sb), ==, 0);
        g_assert_cmpuint(sa.st_dev, ==, sb.st_dev);
        g_assert_cmpuint(sa.st_ino, ==, sb.st_ino);
}

static bool fd_is_open(int fd) {
        return fcntl(fd, F_GETFD) >= 0;
}

/* The five fds go over the init's control socket and come out in their places. */
static void test_send_receive(void) {
        _cleanup_close_pair_ int ctl[2] = { -EBADF, -EBADF }, report[2] = { -EBADF, -EBADF };
        _cleanup_(run_request_fds_close) RunRequestFds got = RUN_REQUEST_FDS_NULL;
        _cleanup_close_ int in = -EBADF, out = -EBADF, err = -EBADF, params = -EBADF;
        char *argv[] = { (char *) "true", NULL };

        g_assert_cmpint(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl), ==, 0);
        g_assert_cmpint(pipe2(report, O_CLOEXEC), ==, 0);
        in = memfd_create("test-in", MFD_CLOEXEC);
        out = memfd_create("test-out", MFD_CLOEXEC);
        err = memfd_create("test-err", MFD_CLOEXEC);
        g_assert_cmpint(run_params_pack(&(RunParams) { .argv = argv, .user = "root", .directory = "/" }, &params),
                        ==, 0);

        g_assert_cmpint(run_send_request(ctl[0], report[1], (int[3]) { in, out, err }, params, -EBADF), ==, 0);
        g_assert_cmpint(run_receive_request(ctl[1], &got), ==, 1);
        assert_same_file(got.report_fd, report[1]);
        assert_same_file(got.stdio[0], in);
        assert_same_file(got.stdio[1], out);
        assert_same_file(got.stdio[2], err);
        assert_same_file(got.params_fd, params);
        /* Received close-on-exec: nothing of the service's leaks into the command by
         * accident. */
        g_assert_cmpint(fcntl(got.stdio[0], F_GETFD) & FD_CLOEXEC, ==, FD_CLOEXEC);

        {
                int params_fd = got.params_fd;

                run_request_fds_close(&got);
                g_assert_false(fd_is_open(params_fd));
                g_assert_cmpint(got.report_fd, ==, -EBADF);
                g_assert_cmpint(got.params_fd, ==, -EBADF);
        }

        /* A sixth fd: the socket for a terminal's master. */
        {
                _cleanup_(run_request_fds_close) RunRequestFds with = RUN_REQUEST_FDS_NULL;
                _cleanup_close_pair_ int term[2] = { -EBADF, -EBADF };

                g_assert_cmpint(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, term), ==, 0);
                g_assert_cmpint(run_send_request(ctl[0], report[1], (int[3]) { in, out, err }, params, term[1]), ==, 0);
                g_assert_cmpint(run_receive_request(ctl[1], &with), ==, 1);
                assert_same_file(with.terminal_fd, term[1]);
                assert_same_file(with.params_fd, params);
        }
        g_assert_cmpint(got.terminal_fd, ==, -EBADF);

        /* The service hanging up is EOF. */
        ctl[0] = safe_close(ctl[0]);
        g_assert_cmpint(run_receive_request(ctl[1], &got), ==, 0);
}

/* The lowest fd number free now. */
static int lowest_free_fd(void) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

        g_assert_cmpint(fd, >=, 0);
        close(fd);
        return fd;
}

/* A message that is not a request leaves no fd behind. */
static void test_receive_refused(void) {
        _cleanup_close_pair_ int ctl[2] = { -EBADF, -EBADF };
        RunRequestFds got = RUN_REQUEST_FDS_NULL;
        int two[2], before;

        g_assert_cmpint(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl), ==, 0);
        two[0] = two[1] = ctl[0];
        g_assert_cmpint(fdpass_send(ctl[0], "r", 1, two, 2), ==, 0);
        before = lowest_free_fd();
        g_assert_cmpint(run_receive_request(ctl[1], &got), ==, -EBADMSG);
        g_assert_cmpint(got.report_fd, ==, -EBADF);
        /* Had the two fds received been kept, they would hold the lowest numbers. */
        g_assert_cmpint(lowest_free_fd(), ==, before);
}

/* A booted session's agent also takes a signal for its commands' cgroup; an init, which
 * takes only requests, refuses it; a signal with fds or out of range is refused and
 * leaves no fd behind. */
static void test_signal_message(void) {
        _cleanup_close_pair_ int ctl[2] = { -EBADF, -EBADF };
        RunRequestFds got = RUN_REQUEST_FDS_NULL;
        char msg[5] = { 'k' };
        int32_t bad = 4096;
        int sig = 0, before;

        g_assert_cmpint(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl), ==, 0);
        g_assert_cmpint(run_send_signal(ctl[0], SIGTERM), ==, 0);
        g_assert_cmpint(run_receive_message(ctl[1], &got, &sig), ==, 2);
        g_assert_cmpint(sig, ==, SIGTERM);
        g_assert_cmpint(got.report_fd, ==, -EBADF);

        g_assert_cmpint(run_send_signal(ctl[0], SIGKILL), ==, 0);
        g_assert_cmpint(run_receive_request(ctl[1], &got), ==, -EBADMSG);

        memcpy(msg + 1, &bad, sizeof(bad));
        g_assert_cmpint(fdpass_send(ctl[0], msg, sizeof(msg), NULL, 0), ==, 0);
        g_assert_cmpint(run_receive_message(ctl[1], &got, &sig), ==, -EBADMSG);

        msg[1] = SIGTERM, msg[2] = msg[3] = msg[4] = 0; /* a good signal, but with an fd */
        g_assert_cmpint(fdpass_send(ctl[0], msg, sizeof(msg), &ctl[0], 1), ==, 0);
        before = lowest_free_fd();
        g_assert_cmpint(run_receive_message(ctl[1], &got, &sig), ==, -EBADMSG);
        g_assert_cmpint(lowest_free_fd(), ==, before);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/run-request/environment/clean-root", test_clean_root);
        g_test_add_func("/run-request/environment/clean-user", test_clean_user);
        g_test_add_func("/run-request/environment/base-kept", test_base_kept);
        g_test_add_func("/run-request/environment/base-without-path", test_base_without_path);
        g_test_add_func("/run-request/environment/base-empty", test_base_empty);
        g_test_add_func("/run-request/environment/no-duplicates", test_no_duplicates);
        g_test_add_func("/run-request/environment/setenv", test_setenv);
        g_test_add_func("/run-request/params/round-trip", test_params_round_trip);
        g_test_add_func("/run-request/params/refused", test_params_refused);
        g_test_add_func("/run-request/params/read", test_params_read);
        g_test_add_func("/run-request/fds/send-receive", test_send_receive);
        g_test_add_func("/run-request/fds/refused", test_receive_refused);
        g_test_add_func("/run-request/signal", test_signal_message);
        return g_test_run();
}
