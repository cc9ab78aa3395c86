/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* runner.h: the environment a command gets, how the command travels to its init, and
 * how the init, PID 1 of a pid namespace, ends on a signal before its command exists.
 * The namespaces themselves need subordinate ids and are covered by the bus and
 * system suites. */
#include <glib.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "util.h"
#include "report.h"
#include "runner.h"

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
}

static void assert_refused(const char *data, size_t size) {
        g_autofree char *copy = g_memdup2(data, size);
        RunParams out;

        g_assert_cmpint(run_params_unpack(copy, size, &out), ==, -EBADMSG);
}

static void test_params_refused(void) {
        static const char good[] = "chrootd-run-2\0root\0/\0" "0\0" "1\0true\0-\0" "1\0A=1";
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
        assert_refused("chrootd-run-2\0root\0/\0" "2\0" "1\0true\0-\0" "1\0A=1", n);     /* network neither 0 nor 1 */
        assert_refused("chrootd-run-2\0root\0/\0" "0\0" "9\0true\0-\0" "1\0A=1", n);     /* argc beyond the data */
        assert_refused("chrootd-run-2\0root\0/\0" "0\0" "1\0true\0" "1\0" "1\0A=1", n); /* environment count beyond it */
        assert_refused("chrootd-run-2\0root\0/\0" "0\0" "1\0true\0-\0" "2\0A=1", n);     /* setenv count beyond it */
        assert_refused("chrootd-run-2\0root\0/\0" "0\0" "1\0true\0-\0" "x\0A=1", n);     /* setenv count not a number */
        {
                static const char no_setenv[] = "chrootd-run-2\0root\0/\0" "0\0" "1\0true\0-";
                static const char extra[] = "chrootd-run-2\0root\0/\0" "0\0" "1\0true\0-\0" "0\0x";
                static const char no_argv[] = "chrootd-run-2\0root\0/\0" "0\0" "0\0-\0" "0";
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

/* Fork a process that is PID 1 of a new pid namespace (in a new user namespace, so
 * that no privilege is needed) and run body in it; returns its wait status as the
 * intermediate process saw it, or -1 when namespaces are not available here. */
static int as_pid1(void (*body)(int report_fd), int report_fd) {
        pid_t pid = fork();
        int status;

        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                pid_t init;

                if (unshare(CLONE_NEWUSER | CLONE_NEWPID) < 0)
                        _exit(99);
                init = fork();
                if (init < 0)
                        _exit(98);
                if (init == 0) {
                        body(report_fd);
                        _exit(0);
                }
                if (waitpid(init, &status, 0) != init)
                        _exit(97);
                /* Its exit status as ours: 128 + N for a handled signal N. */
                _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 96);
        }
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFEXITED(status));
        return WEXITSTATUS(status) == 99 ? -1 : WEXITSTATUS(status);
}

static void term_without_handler(int report_fd) {
        /* What the init was before: PID 1 without a handler, deaf to SIGTERM. */
        (void) kill(1, SIGTERM);
        _exit(5);
}

static void term_before_report_fd(int report_fd) {
        run_init_catch_signals();
        /* A spare init, its command not come yet: the signal waits... */
        (void) kill(1, SIGTERM);
        /* ...until the report pipe is known, then ends the init. */
        run_init_signals_report_to(report_fd);
        _exit(5);
}

static void winch_ignored(int report_fd) {
        run_init_catch_signals();
        run_init_signals_report_to(report_fd);
        (void) kill(1, SIGWINCH); /* its default is to be ignored: it stays so */
        (void) kill(1, SIGCHLD);
        _exit(6);
}

static void test_init_signals(void) {
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        Report rep;
        int status;

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        status = as_pid1(term_without_handler, p[1]);
        if (status < 0) {
                g_test_skip("no unprivileged user and pid namespaces here");
                return;
        }
        g_assert_cmpint(status, ==, 5);
        g_assert_cmpint(as_pid1(term_before_report_fd, p[1]), ==, 128 + SIGTERM);
        g_assert_cmpint(as_pid1(winch_ignored, p[1]), ==, 6);
        p[1] = safe_close(p[1]);
        /* One record in all: the status of a command killed by SIGTERM. */
        g_assert_cmpint(report_read(p[0], &rep), ==, 0);
        g_assert_false(rep.have_error);
        g_assert_true(rep.have_status);
        g_assert_true(WIFSIGNALED(rep.wstatus));
        g_assert_cmpint(WTERMSIG(rep.wstatus), ==, SIGTERM);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/runner/environment/clean-root", test_clean_root);
        g_test_add_func("/runner/environment/clean-user", test_clean_user);
        g_test_add_func("/runner/environment/base-kept", test_base_kept);
        g_test_add_func("/runner/environment/base-without-path", test_base_without_path);
        g_test_add_func("/runner/environment/base-empty", test_base_empty);
        g_test_add_func("/runner/environment/no-duplicates", test_no_duplicates);
        g_test_add_func("/runner/environment/setenv", test_setenv);
        g_test_add_func("/runner/params/round-trip", test_params_round_trip);
        g_test_add_func("/runner/params/refused", test_params_refused);
        g_test_add_func("/runner/init/signals", test_init_signals);
        return g_test_run();
}
