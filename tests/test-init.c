/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* init.h: how a command's init prepares its command from the chroot's own files, and
 * how the init, PID 1 of a pid namespace, ends on a signal before its command exists.
 * The mounts and namespaces themselves need subordinate ids and are covered by the
 * bus and system suites. */
#include <glib.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "init.h"
#include "report.h"
#include "util.h"

/* A chroot's tree with etc/passwd (and etc/group unless group is NULL). */
typedef struct Tree {
        char *dir;
        int rootfd;
} Tree;

static void tree_init(Tree *t, const char *passwd, const char *group) {
        g_autofree char *etc = NULL;

        t->dir = g_dir_make_tmp("test-init-XXXXXX", NULL);
        g_assert_nonnull(t->dir);
        etc = g_build_filename(t->dir, "etc", NULL);
        g_assert_cmpint(g_mkdir(etc, 0755), ==, 0);
        if (passwd) {
                g_autofree char *p = g_build_filename(etc, "passwd", NULL);
                g_assert_true(g_file_set_contents(p, passwd, -1, NULL));
        }
        if (group) {
                g_autofree char *p = g_build_filename(etc, "group", NULL);
                g_assert_true(g_file_set_contents(p, group, -1, NULL));
        }
        t->rootfd = open(t->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(t->rootfd, >=, 0);
}

static void tree_done(Tree *t) {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", t->dir);

        close(t->rootfd);
        g_assert_cmpint(system(cmd), ==, 0);
        g_free(t->dir);
}

static const char passwd_text[] =
        "root:x:0:0:root:/root:/bin/bash\n"
        "tester:x:1000:1000:A Tester:/home/tester:\n";
static const char group_text[] =
        "root:x:0:\n"
        "users:x:100:tester\n"
        "sudo:x:27:other,tester\n"
        "audio:x:29:other\n";

/* Prepare p in t; the report pipe's records into *ret_rep. Returns what
 * init_command_prepare() returned. */
static int prepare(Tree *t, const RunParams *p, InitCommand *cmd, Report *ret_rep) {
        _cleanup_close_pair_ int rp[2] = { -EBADF, -EBADF };
        int r;

        g_assert_cmpint(pipe2(rp, O_CLOEXEC), ==, 0);
        r = init_command_prepare(t->rootfd, p, rp[1], cmd);
        rp[1] = safe_close(rp[1]);
        g_assert_cmpint(report_read(rp[0], ret_rep), ==, 0);
        return r;
}

static bool has_gid(const InitCommand *c, gid_t gid) {
        for (size_t i = 0; i < c->n_groups; i++)
                if (c->groups[i] == gid)
                        return true;
        return false;
}

static void test_prepare_user(void) {
        char *argv[] = { (char *) "id", (char *) "-G", NULL };
        char *set[] = { (char *) "TERM=dumb", NULL };
        _cleanup_(init_command_done) InitCommand cmd = {};
        Tree t;
        Report rep;

        tree_init(&t, passwd_text, group_text);
        g_assert_cmpint(prepare(&t, &(RunParams) { .argv = argv, .setenv = set, .user = "tester", .directory = "/",
                                                   .stdio = { 5, 6, 7 } }, &cmd, &rep), ==, 0);
        g_assert_false(rep.have_error);
        g_assert_cmpstr(cmd.pw.name, ==, "tester");
        g_assert_cmpuint(cmd.pw.uid, ==, 1000);
        g_assert_cmpuint(cmd.pw.gid, ==, 1000);
        /* The primary group and those that list the user; not those that do not. */
        g_assert_cmpuint(cmd.n_groups, ==, 3);
        g_assert_true(has_gid(&cmd, 1000));
        g_assert_true(has_gid(&cmd, 100));
        g_assert_true(has_gid(&cmd, 27));
        g_assert_false(has_gid(&cmd, 29));
        /* The command as asked, with the request's streams. */
        g_assert_true(cmd.run.argv == argv);
        g_assert_null(cmd.shell_argv);
        g_assert_cmpint(cmd.run.stdio[2], ==, 7);
        /* A clean environment for the user from the chroot's passwd, then setenv. */
        g_assert_true(strv_contains(cmd.env, "USER=tester"));
        g_assert_true(strv_contains(cmd.env, "HOME=/home/tester"));
        g_assert_true(strv_contains(cmd.env, "SHELL=/bin/sh"));
        g_assert_true(strv_contains(cmd.env, "TERM=dumb"));
        tree_done(&t);
}

/* No argv: the user's login shell, from the chroot's passwd (an empty field is /bin/sh). */
static void test_prepare_login_shell(void) {
        char *none[] = { NULL };
        _cleanup_(init_command_done) InitCommand root = {}, tester = {};
        Tree t;
        Report rep;

        tree_init(&t, passwd_text, group_text);
        g_assert_cmpint(prepare(&t, &(RunParams) { .argv = none, .user = "0", .directory = "/" }, &root, &rep), ==, 0);
        g_assert_cmpstr(root.run.argv[0], ==, "/bin/bash");
        g_assert_null(root.run.argv[1]);
        g_assert_cmpstr(root.pw.name, ==, "root");
        g_assert_cmpint(prepare(&t, &(RunParams) { .argv = none, .user = "tester", .directory = "/" }, &tester, &rep),
                        ==, 0);
        g_assert_cmpstr(tester.run.argv[0], ==, "/bin/sh");
        g_assert_null(tester.run.argv[1]);
        /* The request is not changed. */
        g_assert_null(none[0]);
        tree_done(&t);
}

/* A chroot without /etc/group: the primary group alone. */
static void test_prepare_no_group_file(void) {
        char *argv[] = { (char *) "true", NULL };
        _cleanup_(init_command_done) InitCommand cmd = {};
        Tree t;
        Report rep;

        tree_init(&t, passwd_text, NULL);
        g_assert_cmpint(prepare(&t, &(RunParams) { .argv = argv, .user = "tester", .directory = "/" }, &cmd, &rep),
                        ==, 0);
        g_assert_false(rep.have_error);
        g_assert_cmpuint(cmd.n_groups, ==, 1);
        g_assert_cmpuint(cmd.groups[0], ==, 1000);
        tree_done(&t);
}

static void assert_refused(Tree *t, const RunParams *p, int error, ChildError kind, const char *message) {
        InitCommand cmd = { .n_groups = 42 };
        Report rep;

        g_assert_cmpint(prepare(t, p, &cmd, &rep), ==, error);
        /* Nothing written on failure. */
        g_assert_null(cmd.groups);
        g_assert_cmpuint(cmd.n_groups, ==, 42);
        g_assert_true(rep.have_error);
        g_assert_cmpint(rep.error_kind, ==, kind);
        g_assert_cmpint(rep.error, ==, error);
        g_assert_cmpstr(rep.message, ==, message);
}

static void test_prepare_refused(void) {
        char *argv[] = { (char *) "true", NULL };
        char *bad[] = { (char *) "NOEQUALS", NULL };
        g_autofree char *passwd = NULL, *group = NULL;
        Tree t;

        tree_init(&t, passwd_text, group_text);
        assert_refused(&t, &(RunParams) { .argv = argv, .user = "nobody", .directory = "/" }, -ESRCH,
                       CHILD_ERROR_NO_SUCH_USER, "User 'nobody' does not exist in the chroot's /etc/passwd");
        assert_refused(&t, &(RunParams) { .argv = argv, .user = "1001", .directory = "/" }, -ESRCH,
                       CHILD_ERROR_NO_SUCH_USER, "User '1001' does not exist in the chroot's /etc/passwd");
        /* The service refuses such setenv entries already; the init does too. */
        assert_refused(&t, &(RunParams) { .argv = argv, .setenv = bad, .user = "tester", .directory = "/" }, -EINVAL,
                       CHILD_ERROR_FAILED, "Cannot prepare the command: Invalid argument");

        /* Files root inside the chroot made something else: not read, and said so. */
        group = g_build_filename(t.dir, "etc", "group", NULL);
        g_assert_cmpint(g_unlink(group), ==, 0);
        g_assert_cmpint(g_mkdir(group, 0755), ==, 0);
        assert_refused(&t, &(RunParams) { .argv = argv, .user = "tester", .directory = "/" }, -EISDIR,
                       CHILD_ERROR_FAILED, "The chroot's /etc/group is not a regular file");
        passwd = g_build_filename(t.dir, "etc", "passwd", NULL);
        g_assert_cmpint(g_unlink(passwd), ==, 0);
        assert_refused(&t, &(RunParams) { .argv = argv, .user = "tester", .directory = "/" }, -ENOENT,
                       CHILD_ERROR_NO_SUCH_USER, "Cannot use the chroot's /etc/passwd: No such file or directory");
        /* A symlink out of the tree resolves inside it, where there is no such file (on
         * the host there is: read there, the answer would be -ESRCH). */
        g_assert_true(g_file_test("/etc/hostname", G_FILE_TEST_EXISTS));
        g_assert_cmpint(symlink("../../../../../../etc/hostname", passwd), ==, 0);
        assert_refused(&t, &(RunParams) { .argv = argv, .user = "root", .directory = "/" }, -ENOENT,
                       CHILD_ERROR_NO_SUCH_USER, "Cannot use the chroot's /etc/passwd: No such file or directory");
        tree_done(&t);
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

        g_test_add_func("/init/prepare/user", test_prepare_user);
        g_test_add_func("/init/prepare/login-shell", test_prepare_login_shell);
        g_test_add_func("/init/prepare/no-group-file", test_prepare_no_group_file);
        g_test_add_func("/init/prepare/refused", test_prepare_refused);
        g_test_add_func("/init/signals", test_init_signals);
        return g_test_run();
}
