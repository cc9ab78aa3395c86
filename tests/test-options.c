/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The checks every front end relies on to refuse the same things (options.h). */
#include "options.h"

#include <fcntl.h>
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Checks that r refused with kind and a message holding part. */
static void assert_refused(int r, Error *e, ErrorKind kind, const char *part) {
        g_assert_cmpint(r, <, 0);
        g_assert_cmpuint(e->kind, ==, kind);
        g_assert_nonnull(strstr(e->message, part));
        error_done(e);
}

static void test_names(void) {
        Error e = ERROR_NULL;

        g_assert_cmpint(check_name("bookworm-amd64", "chroot", &e), ==, 0);
        g_assert_false(error_is_set(&e));
        assert_refused(check_name("../x", "chroot", &e), &e, ERROR_INVALID_NAME, "Invalid chroot name '../x'");
        assert_refused(check_name("", "session", &e), &e, ERROR_INVALID_NAME, "Invalid session name");
        assert_refused(check_name(NULL, "session", &e), &e, ERROR_INVALID_NAME, "Invalid session name");
}

static void test_limits(void) {
        Limits l = {};
        Error e = ERROR_NULL;

        g_assert_true(limits_field(&l, "memory-max") == &l.memory_max);
        g_assert_true(limits_field(&l, "tasks-max") == &l.tasks_max);
        g_assert_true(limits_field(&l, "cpu-weight") == &l.cpu_weight);
        g_assert_null(limits_field(&l, "memory"));
        g_assert_cmpint(check_limit("memory-max", UINT64_MAX, &e), ==, 0);
        g_assert_cmpint(check_limit("cpu-weight", 10000, &e), ==, 0);
        assert_refused(check_limit("cpu-weight", 10001, &e), &e, ERROR_INVALID_ARGUMENT, "(1..10000)");
        assert_refused(check_limit("tasks-max", 0, &e), &e, ERROR_INVALID_ARGUMENT, "(at least 1)");
}

static void test_begin_values(void) {
        char *good[] = { "sbuild", "_apt", NULL };
        char *colon[] = { "sbuild", "a:b", NULL };
        char *empty[] = { "", NULL };
        Error e = ERROR_NULL;

        g_assert_cmpint(check_union_type("overlay", &e), ==, 0);
        g_assert_cmpint(check_union_type("none", &e), ==, 0);
        assert_refused(check_union_type("aufs", &e), &e, ERROR_INVALID_ARGUMENT, "union-type");
        assert_refused(check_union_type(NULL, &e), &e, ERROR_INVALID_ARGUMENT, "union-type");
        g_assert_cmpint(check_accounts(good, &e), ==, 0);
        g_assert_cmpint(check_accounts(NULL, &e), ==, 0);
        assert_refused(check_accounts(colon, &e), &e, ERROR_INVALID_ARGUMENT, "'a:b' is not an account name");
        assert_refused(check_accounts(empty, &e), &e, ERROR_INVALID_ARGUMENT, "is not an account name");
}

/* A booted session's network: "host" or "none", and only with boot; not given is none. */
static void test_begin_network(void) {
        Error e = ERROR_NULL;
        bool host = true;

        g_assert_cmpint(check_begin_network(true, NULL, &host, &e), ==, 0);
        g_assert_false(host);
        g_assert_cmpint(check_begin_network(false, NULL, &host, &e), ==, 0);
        g_assert_false(host);
        g_assert_cmpint(check_begin_network(true, "host", &host, &e), ==, 0);
        g_assert_true(host);
        g_assert_cmpint(check_begin_network(true, "none", &host, &e), ==, 0);
        g_assert_false(host);
        host = true;
        assert_refused(check_begin_network(false, "host", &host, &e), &e, ERROR_INVALID_ARGUMENT,
                       "Option 'network' needs 'boot'");
        assert_refused(check_begin_network(false, "none", &host, &e), &e, ERROR_INVALID_ARGUMENT,
                       "Option 'network' needs 'boot'");
        assert_refused(check_begin_network(true, "bogus", &host, &e), &e, ERROR_INVALID_ARGUMENT,
                       "\"host\" or \"none\", not 'bogus'");
        assert_refused(check_begin_network(true, "", &host, &e), &e, ERROR_INVALID_ARGUMENT, "not ''");
        g_assert_true(host); /* written only on success */
}

static void test_run(void) {
        char *argv[] = { "true", NULL }, *none[] = { NULL }, *empty0[] = { "", NULL };
        char *env[] = { "A=1", "B=", NULL }, *bad_env[] = { "=x", NULL }, *no_eq[] = { "A", NULL };
        Error e = ERROR_NULL;
        bool nn = true;

        g_assert_cmpint(check_run(argv, env, NULL, "root", "/", "host", &nn, &e), ==, 0);
        g_assert_false(nn);
        g_assert_cmpint(check_run(none, NULL, env, "1000", "/tmp", "none", &nn, &e), ==, 0);
        g_assert_true(nn);
        assert_refused(check_run(empty0, NULL, NULL, "root", "/", "host", &nn, &e), &e, ERROR_INVALID_ARGUMENT,
                       "argv[0] is an empty string");
        assert_refused(check_run(argv, bad_env, NULL, "root", "/", "host", &nn, &e), &e, ERROR_INVALID_ARGUMENT,
                       "option 'environment' is not KEY=VALUE");
        assert_refused(check_run(argv, NULL, no_eq, "root", "/", "host", &nn, &e), &e, ERROR_INVALID_ARGUMENT,
                       "option 'setenv' is not KEY=VALUE");
        assert_refused(check_run(argv, NULL, NULL, "a:b", "/", "host", &nn, &e), &e, ERROR_INVALID_ARGUMENT,
                       "Invalid user name");
        assert_refused(check_run(argv, NULL, NULL, "", "/", "host", &nn, &e), &e, ERROR_INVALID_ARGUMENT,
                       "Invalid user name");
        assert_refused(check_run(argv, NULL, NULL, "root", "tmp", "host", &nn, &e), &e, ERROR_INVALID_ARGUMENT,
                       "is not an absolute path");
        assert_refused(check_run(argv, NULL, NULL, "root", "/", "private", &nn, &e), &e, ERROR_INVALID_ARGUMENT,
                       "neither \"host\" nor \"none\"");
}

static void test_run_sizes(void) {
        g_autofree char **many = g_new0(char *, RUN_ARGV_MAX + 2);
        g_autofree char *big = g_malloc(RUN_STRINGS_BYTES_MAX + 1);
        char *huge[] = { big, NULL };
        Error e = ERROR_NULL;
        bool nn;

        for (int i = 0; i <= RUN_ARGV_MAX; i++)
                many[i] = "x";
        assert_refused(check_run(many, NULL, NULL, "root", "/", "host", &nn, &e), &e, ERROR_INVALID_ARGUMENT,
                       "Too many arguments");
        many[RUN_ARGV_MAX] = NULL;
        g_assert_cmpint(check_run(many, NULL, NULL, "root", "/", "host", &nn, &e), ==, 0);
        memset(big, 'x', RUN_STRINGS_BYTES_MAX);
        big[RUN_STRINGS_BYTES_MAX] = 0;
        assert_refused(check_run(huge, NULL, NULL, "root", "/", "host", &nn, &e), &e, ERROR_INVALID_ARGUMENT,
                       "exceed");
}

static void test_stream_fds(void) {
        int p[2], sv[2], dir, path, null, pidfd;
        Error e = ERROR_NULL;

        g_assert_cmpint(pipe(p), ==, 0);
        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
        null = open("/dev/null", O_RDWR);
        dir = open("/", O_RDONLY | O_DIRECTORY);
        path = open("/dev/null", O_PATH);
        pidfd = (int) syscall(SYS_pidfd_open, getpid(), 0);
        g_assert_cmpint(check_stream_fd(p[0], "stdin", &e), ==, 0);
        g_assert_cmpint(check_stream_fd(sv[0], "stdout", &e), ==, 0);
        g_assert_cmpint(check_stream_fd(null, "stderr", &e), ==, 0);
        assert_refused(check_stream_fd(dir, "stdin", &e), &e, ERROR_INVALID_ARGUMENT, "a directory cannot be");
        assert_refused(check_stream_fd(path, "stdin", &e), &e, ERROR_INVALID_ARGUMENT, "path-only descriptor");
        if (pidfd >= 0)
                assert_refused(check_stream_fd(pidfd, "stdin", &e), &e, ERROR_INVALID_ARGUMENT,
                               "descriptor that is not a file");
        assert_refused(check_stream_fd(1000000, "stdin", &e), &e, ERROR_INVALID_ARGUMENT, "bad file descriptor");
        close(p[0]), close(p[1]), close(sv[0]), close(sv[1]), close(null), close(dir), close(path);
        if (pidfd >= 0)
                close(pidfd);
}

static void test_signals_and_once(void) {
        g_auto(GStrv) seen = NULL;
        Error e = ERROR_NULL;

        g_assert_cmpint(check_signal(SIGTERM, &e), ==, 0);
        g_assert_cmpint(check_signal(SIGKILL, &e), ==, 0);
        assert_refused(check_signal(SIGSTOP, &e), &e, ERROR_INVALID_ARGUMENT, "use SIGTSTP");
        assert_refused(check_signal(0, &e), &e, ERROR_INVALID_ARGUMENT, "Cannot send signal 0");
        assert_refused(check_signal(_NSIG, &e), &e, ERROR_INVALID_ARGUMENT, "Cannot send signal");
        g_assert_cmpint(check_option_once(&seen, "user", &e), ==, 0);
        g_assert_cmpint(check_option_once(&seen, "directory", &e), ==, 0);
        assert_refused(check_option_once(&seen, "user", &e), &e, ERROR_INVALID_ARGUMENT, "'user' is given twice");
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/options/names", test_names);
        g_test_add_func("/options/limits", test_limits);
        g_test_add_func("/options/begin-values", test_begin_values);
        g_test_add_func("/options/begin-network", test_begin_network);
        g_test_add_func("/options/run", test_run);
        g_test_add_func("/options/run-sizes", test_run_sizes);
        g_test_add_func("/options/stream-fds", test_stream_fds);
        g_test_add_func("/options/signals-and-once", test_signals_and_once);
        return g_test_run();
}
