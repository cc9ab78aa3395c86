/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The command's streams through pipes of its own (relay.h), with a forked child as
 * the command: what it writes reaches the caller's pipes whole and in order, what the
 * caller writes reaches it, its pipes can be opened again by name, and a command that
 * ignores its input still ends the relay. */
#include "relay.h"
#include "util.h"

#include <fcntl.h>
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Fork a child with stdio (after relays_setup) that runs sh -c script. */
static pid_t spawn_sh(const int stdio[3], const char *script) {
        pid_t pid = fork();

        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                int moved[3];
                for (int i = 0; i < 3; i++)
                        moved[i] = fcntl(stdio[i], F_DUPFD, 10);
                for (int i = 0; i < 3; i++)
                        dup2(moved[i], i);
                execl("/bin/sh", "sh", "-c", script, (char *) NULL);
                _exit(127);
        }
        return pid;
}

static char *read_all_fd(int fd);

static gpointer read_all_thread(gpointer fd) {
        return read_all_fd(GPOINTER_TO_INT(fd));
}

static char *read_all_fd(int fd) {
        GString *s = g_string_new(NULL);
        char buf[65536];
        ssize_t n;

        while ((n = read(fd, buf, sizeof(buf))) > 0)
                g_string_append_len(s, buf, n);
        return g_string_free(s, FALSE);
}

/* Run script with stdin from in_text (NULL: /dev/null), stdout and stderr as one pipe
 * (merged) or two; returns the exit status, the outputs in *out and *err. */
static int run(const char *script, const char *in_text, bool merged, char **out, char **err) {
        int in[2], o[2], e[2], stdio[3], mine[3], status;
        Relays rs = RELAYS_NULL;
        sigset_t block;

        g_assert_cmpint(pipe2(in, O_CLOEXEC), ==, 0);
        g_assert_cmpint(pipe2(o, O_CLOEXEC), ==, 0);
        g_assert_cmpint(pipe2(e, O_CLOEXEC), ==, 0);
        stdio[0] = in_text ? in[0] : open("/dev/null", O_RDONLY | O_CLOEXEC);
        stdio[1] = o[1];
        stdio[2] = merged ? o[1] : e[1];
        int given0 = stdio[0];
        g_assert_cmpint(relays_setup(stdio, getuid(), getgid(), &rs, mine), ==, 0);
        g_assert_cmpuint(rs.n, ==, (in_text ? 1u : 0u) + (merged ? 1u : 2u));
        sigemptyset(&block);
        sigaddset(&block, SIGCHLD);
        sigprocmask(SIG_BLOCK, &block, NULL);
        pid_t pid = spawn_sh(stdio, script);
        for (int i = 0; i < 3; i++)
                safe_close(mine[i]);
        /* The caller's ends we gave: the relays hold their own. */
        close(in[0]);
        close(o[1]);
        close(e[1]);
        if (!in_text)
                close(given0);
        if (in_text) {
                g_assert_cmpint(write(in[1], in_text, strlen(in_text)), ==, (ssize_t) strlen(in_text));
                close(in[1]);
        } else
                close(in[1]);
        /* The caller reads as the command writes (a pipe holds 64 KiB). */
        GThread *to = g_thread_new("out", read_all_thread, GINT_TO_POINTER(o[0]));
        GThread *te = g_thread_new("err", read_all_thread, GINT_TO_POINTER(e[0]));
        status = relays_run(&rs, pid);
        relays_finish(&rs);
        sigprocmask(SIG_UNBLOCK, &block, NULL);
        *out = g_thread_join(to);
        *err = g_thread_join(te);
        close(o[0]);
        close(e[0]);
        return status;
}

static void test_outputs(void) {
        g_autofree char *out = NULL, *err = NULL;
        int st = run("echo out; echo err >&2; echo by-name >/dev/stderr; echo tee | tee /proc/self/fd/2; exit 3",
                     NULL, false, &out, &err);

        g_assert_true(WIFEXITED(st));
        g_assert_cmpint(WEXITSTATUS(st), ==, 3);
        g_assert_cmpstr(out, ==, "out\ntee\n");
        g_assert_cmpstr(err, ==, "err\nby-name\ntee\n");
}

static void test_merged_order(void) {
        g_autofree char *out = NULL, *err = NULL;
        g_autofree char *expect = NULL;
        GString *e = g_string_new(NULL);

        /* One pipe for both: the lines stay in the order they were written. */
        int st = run("i=0; while [ $i -lt 200 ]; do echo o$i; echo e$i >&2; i=$((i+1)); done", NULL, true, &out,
                     &err);
        for (int i = 0; i < 200; i++)
                g_string_append_printf(e, "o%d\ne%d\n", i, i);
        expect = g_string_free(e, FALSE);
        g_assert_cmpint(st, ==, 0);
        g_assert_cmpstr(out, ==, expect);
        g_assert_cmpstr(err, ==, "");
}

static void test_input_and_volume(void) {
        g_autofree char *out = NULL, *err = NULL;

        int st = run("cat /dev/stdin; head -c 3000000 /dev/zero | tr '\\0' x", "from the caller\n", false, &out,
                     &err);
        g_assert_cmpint(st, ==, 0);
        g_assert_true(g_str_has_prefix(out, "from the caller\nxxx"));
        g_assert_cmpuint(strlen(out), ==, strlen("from the caller\n") + 3000000);
}

static void test_unread_input(void) {
        int in[2], o[2], stdio[3], mine[3];
        Relays rs = RELAYS_NULL;
        sigset_t block;

        /* The caller keeps stdin open and writes more than a pipe holds; the command
         * never reads it and exits: the relay ends all the same. */
        g_assert_cmpint(pipe2(in, O_CLOEXEC), ==, 0);
        g_assert_cmpint(pipe2(o, O_CLOEXEC), ==, 0);
        stdio[0] = in[0];
        stdio[1] = o[1];
        stdio[2] = o[1];
        g_assert_cmpint(relays_setup(stdio, getuid(), getgid(), &rs, mine), ==, 0);
        sigemptyset(&block);
        sigaddset(&block, SIGCHLD);
        sigprocmask(SIG_BLOCK, &block, NULL);
        pid_t pid = spawn_sh(stdio, "sleep 0.2; echo done");
        for (int i = 0; i < 3; i++)
                safe_close(mine[i]);
        close(o[1]);
        fcntl(in[1], F_SETFL, O_NONBLOCK);
        char buf[4096] = {};
        while (write(in[1], buf, sizeof(buf)) > 0)
                ;
        int st = relays_run(&rs, pid);
        relays_finish(&rs);
        sigprocmask(SIG_UNBLOCK, &block, NULL);
        g_autofree char *out = read_all_fd(o[0]);
        g_assert_cmpint(st, ==, 0);
        g_assert_cmpstr(out, ==, "done\n");
        close(in[1]);
        close(o[0]);
}

static void test_not_pipes(void) {
        int stdio[3], mine[3];
        Relays rs = RELAYS_NULL;
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);

        stdio[0] = stdio[1] = stdio[2] = null;
        g_assert_cmpint(relays_setup(stdio, getuid(), getgid(), &rs, mine), ==, 0);
        g_assert_cmpuint(rs.n, ==, 0);
        for (int i = 0; i < 3; i++) {
                g_assert_cmpint(stdio[i], ==, null);
                g_assert_cmpint(mine[i], <, 0);
        }
        close(null);
}

int main(int argc, char **argv) {
        signal(SIGPIPE, SIG_IGN);
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/relay/outputs", test_outputs);
        g_test_add_func("/relay/merged-order", test_merged_order);
        g_test_add_func("/relay/input-and-volume", test_input_and_volume);
        g_test_add_func("/relay/unread-input", test_unread_input);
        g_test_add_func("/relay/not-pipes", test_not_pipes);
        return g_test_run();
}
