/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The session core's Begin, Run, Kill and End against a fake front end: no bus, no
 * systemd (a NULL SystemdClient). What every front end relies on: each call is
 * answered exactly once, refusals are synchronous and leave nothing behind, and the
 * events come in order. Sessions need subordinate ids and the test root filesystem
 * ($CHROOTD_TEST_ROOTFS, which tests/run-all provides); without them those cases skip. */
#include "manager.h"
#include "session.h"
#include "util.h"

#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/wait.h>

/* One call's answer, as the fake front end saw it. */
typedef struct Reply {
        int answers;
        bool started; /* run_started came first */
        ErrorKind kind;
        char *message;
        bool killed, timed_out;
        int value;
} Reply;

typedef struct Fixture {
        char *tmp;
        sd_event *event;
        Manager *manager;
        Frontend frontend;
        GPtrArray *events; /* "added ID", "state ID STATE", "removed ID" */
} Fixture;

static void reply_set(Reply *r, const Outcome *o) {
        r->answers++;
        r->kind = o->error.kind;
        g_free(r->message);
        r->message = g_strdup(o->error.message);
        r->killed = o->killed;
        r->timed_out = o->timed_out;
        r->value = o->value;
}

static void on_session_done(void *call, Session *s, const Outcome *o) {
        g_assert_nonnull(s);
        reply_set(call, o);
}

static void on_run_started(void *call, Run *run) {
        Reply *r = call;
        g_assert_cmpint(r->answers, ==, 0);
        r->started = true;
}

static void on_run_done(void *call, Run *run, const Outcome *o) {
        reply_set(call, o);
}

static void on_added(void *userdata, Session *s) {
        Fixture *f = userdata;
        g_ptr_array_add(f->events, g_strdup_printf("added %s", s->rec.id));
}

static void on_removed(void *userdata, Session *s) {
        Fixture *f = userdata;
        g_ptr_array_add(f->events, g_strdup_printf("removed %s", s->rec.id));
}

static void on_state(void *userdata, Session *s) {
        Fixture *f = userdata;
        g_ptr_array_add(f->events, g_strdup_printf("state %s %s", s->rec.id, session_state_to_string(s->rec.state)));
}

static const FrontendOps fake_ops = {
        .begin_done = on_session_done,
        .end_done = on_session_done,
        .limits_done = on_session_done,
        .run_started = on_run_started,
        .run_done = on_run_done,
        .session_added = on_added,
        .session_removed = on_removed,
        .state_changed = on_state,
};

static Call call_of(Fixture *f, Reply *r) {
        return (Call) { .frontend = &f->frontend, .data = r };
}

static void fixture_setup(Fixture *f, gconstpointer data) {
        g_autofree char *state = NULL, *cache = NULL, *config = NULL;

        f->tmp = g_dir_make_tmp("test-session-XXXXXX", NULL);
        g_assert_nonnull(f->tmp);
        state = g_build_filename(f->tmp, "state", NULL);
        cache = g_build_filename(f->tmp, "cache", NULL);
        config = g_build_filename(f->tmp, "config", NULL);
        g_setenv("XDG_STATE_HOME", state, TRUE);
        g_setenv("XDG_CACHE_HOME", cache, TRUE);
        g_setenv("XDG_CONFIG_HOME", config, TRUE);
        g_assert_cmpint(sd_event_new(&f->event), ==, 0);
        g_assert_cmpint(manager_new(f->event, &f->manager), ==, 0);
        f->events = g_ptr_array_new_with_free_func(g_free);
        f->frontend = (Frontend) { .ops = &fake_ops, .userdata = f };
        g_assert_cmpint(manager_attach_frontend(f->manager, &f->frontend), ==, 0);
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", f->tmp);
        g_auto(GStrv) removed = NULL;
        Error e = ERROR_NULL;

        /* Bases belong to subordinate ids: only their removal child can remove them. */
        g_assert_cmpint(manager_collect_garbage(f->manager, &removed, &e), ==, 0);
        for (int i = 0; i < 3000 && manager_is_busy(f->manager); i++)
                g_assert_cmpint(sd_event_run(f->event, 10 * 1000), >=, 0);
        g_assert_false(manager_is_busy(f->manager));
        manager_free(f->manager);
        sd_event_unref(f->event);
        g_ptr_array_unref(f->events);
        /* What a session left (owned by subordinate ids) goes with its removal;
         * anything else is ours. */
        g_assert_cmpint(system(cmd), ==, 0);
        g_free(f->tmp);
}

/* Whether sessions can be made here: subordinate ids and the busybox tarball, which
 * becomes chroot "busybox". */
static bool require_sessions(Fixture *f) {
        g_autofree char *error = NULL, *dir = NULL, *dest = NULL, *contents = NULL;
        const char *rootfs = g_getenv("CHROOTD_TEST_ROOTFS");
        g_autofree char *tarball = rootfs ? g_build_filename(rootfs, "busybox.tar.gz", NULL) : NULL;
        gsize n;
        IdMap map;

        if (manager_idmap(f->manager, &map, &error) < 0) {
                g_autofree char *msg = g_strdup_printf("%s (tests/run-all runs the unit tests as a user with "
                                                       "subordinate ids)", error);
                g_test_skip(msg);
                return false;
        }
        if (!tarball || !g_file_get_contents(tarball, &contents, &n, NULL)) {
                g_test_skip("no $CHROOTD_TEST_ROOTFS/busybox.tar.gz (tests/run-all sets CHROOTD_TEST_ROOTFS)");
                return false;
        }
        dir = g_build_filename(f->tmp, "cache", "sbuild", NULL);
        g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
        dest = g_build_filename(dir, "busybox.tar.gz", NULL);
        g_assert_true(g_file_set_contents(dest, contents, (gssize) n, NULL));
        return true;
}

/* Run the event loop until the reply came (30 s at most). */
static void wait_for(Fixture *f, Reply *r) {
        for (int i = 0; i < 3000 && r->answers == 0; i++)
                g_assert_cmpint(sd_event_run(f->event, 10 * 1000), >=, 0);
        g_assert_cmpint(r->answers, ==, 1);
}

static bool has_event(Fixture *f, const char *event) {
        for (guint i = 0; i < f->events->len; i++)
                if (streq(f->events->pdata[i], event))
                        return true;
        return false;
}

static Session *begin(Fixture *f, const char *id, const BeginFlags *flags, Reply *r) {
        BeginFlags none = {};
        Limits limits = {};
        Error e = ERROR_NULL;
        Session *s = NULL;

        g_assert_cmpint(manager_begin_session(f->manager, "busybox", id, &limits, flags ? flags : &none, call_of(f, r),
                                              &s, &e),
                        ==, 0);
        g_assert_false(error_is_set(&e));
        g_assert_nonnull(s);
        return s;
}

static void end(Fixture *f, Session *s, const char *id) {
        g_autofree char *removed = g_strdup_printf("removed %s", id);
        Reply r = {};
        Error e = ERROR_NULL;

        g_assert_cmpint(session_end(s, call_of(f, &r), &e), ==, 0);
        wait_for(f, &r);
        g_assert_cmpuint(r.kind, ==, ERROR_NONE);
        g_assert_true(has_event(f, removed));
        g_assert_null(manager_get_session(f->manager, id));
        g_free(r.message);
}

/* Run argv as root in s with stdout into a pipe; *ret_output gets what it wrote. */
static void run(Fixture *f, Session *s, char **argv, Reply *r, char **ret_output) {
        int p[2];
        Error e = ERROR_NULL;
        char buf[4096];
        ssize_t n;

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        RunParams params = { .argv = argv, .user = "root", .directory = "/", .stdio = { -1, p[1], -1 } };
        g_assert_cmpint(session_run(s, &params, call_of(f, r), &e), ==, 0);
        close(p[1]); /* the core has its own copy */
        wait_for(f, r);
        n = read(p[0], buf, sizeof(buf) - 1);
        g_assert_cmpint(n, >=, 0);
        buf[n] = 0;
        close(p[0]);
        if (ret_output)
                *ret_output = g_strdup(buf);
}

static void test_refusals(Fixture *f, gconstpointer data) {
        BeginFlags flags = {};
        Limits limits = {};
        Reply r = {};
        Error e = ERROR_NULL;
        Session *s = NULL;

        /* Refused at once, answered by the return value alone: nothing made, no event,
         * the call never answered. */
        g_assert_cmpint(manager_begin_session(f->manager, "../etc", "", &limits, &flags, call_of(f, &r), &s, &e), <, 0);
        g_assert_cmpuint(e.kind, ==, ERROR_INVALID_NAME);
        error_done(&e);
        g_assert_cmpint(manager_begin_session(f->manager, "nonesuch", "x", &limits, &flags, call_of(f, &r), &s, &e), <, 0);
        g_assert_cmpuint(e.kind, ==, ERROR_NO_SUCH_CHROOT);
        g_assert_nonnull(strstr(e.message, "No chroot 'nonesuch'"));
        error_done(&e);
        g_assert_null(manager_find_session(f->manager, "nonesuch", &e));
        g_assert_cmpuint(e.kind, ==, ERROR_NO_SUCH_SESSION);
        error_done(&e);
        g_assert_null(manager_find_session(f->manager, "a/b", &e));
        g_assert_cmpuint(e.kind, ==, ERROR_INVALID_NAME);
        error_done(&e);
        g_assert_null(s);
        g_assert_null(f->manager->sessions);
        g_assert_cmpuint(f->events->len, ==, 0);
        g_assert_cmpint(r.answers, ==, 0);
}

/* What a booted session cannot be, refused before anything is made: a network
 * without boot, and written back, also when its chroot's .conf says boot=true. */
static void test_boot_refusals(Fixture *f, gconstpointer data) {
        g_autofree char *confd = g_build_filename(f->tmp, "config", "chrootd", "chroots.d", NULL);
        g_autofree char *conf = g_build_filename(confd, "booted.conf", NULL);
        g_autofree char *tarball = g_build_filename(f->tmp, "booted.tar", NULL);
        g_autofree char *text = g_strdup_printf("[booted]\nfile=%s\nboot=true\n", tarball);
        static const struct {
                BeginFlags flags;
                const char *chroot, *message;
        } cases[] = {
                { { .host_network = true }, "busybox", "Option 'network' needs 'boot'" },
                { { .boot = true, .write_back = true }, "busybox", "A booted session cannot be written back" },
                { { .boot = true, .write_back = true }, "booted", "A booted session cannot be written back" },
                { { .boot = true, .host_tree = true }, "busybox", "A booted session has no tree on the host" },
        };

        g_assert_cmpint(g_mkdir_with_parents(confd, 0700), ==, 0);
        g_assert_true(g_file_set_contents(conf, text, -1, NULL));
        g_assert_true(g_file_set_contents(tarball, "", 0, NULL));
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                Limits limits = {};
                Reply r = {};
                Error e = ERROR_NULL;
                Session *s = NULL;

                g_test_message("case %zu: %s", i, cases[i].message);
                g_assert_cmpint(manager_begin_session(f->manager, cases[i].chroot, "b", &limits, &cases[i].flags,
                                                      call_of(f, &r), &s, &e),
                                <, 0);
                g_assert_cmpuint(e.kind, ==, ERROR_INVALID_ARGUMENT);
                g_assert_nonnull(strstr(e.message, cases[i].message));
                error_done(&e);
                g_assert_null(s);
                g_assert_cmpint(r.answers, ==, 0);
        }
        g_assert_null(f->manager->sessions);
        g_assert_cmpuint(f->events->len, ==, 0);
}

/* A booted session's record: booted when Begin asks or the chroot says boot=true, with
 * the network asked for, and never a package cache (its apt runs on timers of its own);
 * and where it cannot boot, a named error and nothing left. */
static void test_boot_record(Fixture *f, gconstpointer data) {
        BeginFlags asked = { .boot = true, .host_network = true, .package_cache = true };
        BeginFlags plain = { .package_cache = true };
        Limits limits = {};
        Reply b = {};
        Error e = ERROR_NULL;
        Session *s = NULL;

        if (!require_sessions(f))
                return;
        g_assert_cmpint(manager_begin_session(f->manager, "busybox", "boot1", &limits, &asked, call_of(f, &b), &s, &e), ==, 0);
        g_assert_true(s->rec.boot);
        g_assert_true(s->rec.host_network);
        g_assert_false(s->rec.package_cache);
        g_assert_false(s->rec.write_back);
        /* No user manager here (and, outside the test harness, no cgroup v2 at
         * /sys/fs/cgroup): Begin fails with a named error once the tree is made, and
         * the session is gone when it answers; nothing half-boots. */
        wait_for(f, &b);
        g_assert_cmpuint(b.kind, ==, ERROR_NOT_SUPPORTED);
        g_assert_nonnull(strstr(b.message, "Booting a session needs"));
        g_assert_null(manager_get_session(f->manager, "boot1"));
        g_free(b.message);

        /* Not asked: an ordinary session, with the package cache it asked for. */
        b = (Reply) {};
        s = begin(f, "plain1", &plain, &b);
        g_assert_false(s->rec.boot);
        g_assert_false(s->rec.host_network);
        g_assert_true(s->rec.package_cache);
        g_assert_cmpstr(session_boot_state(s), ==, "");
        g_assert_cmpint(session_reboot(s, &e), <, 0);
        g_assert_cmpuint(e.kind, ==, ERROR_NOT_SUPPORTED);
        error_done(&e);
        end(f, s, "plain1");
        g_free(b.message);
}

static void test_begin_run_end(Fixture *f, gconstpointer data) {
        char *hello[] = { "sh", "-c", "echo hello from $(hostname); exit 3", NULL };
        char *killed[] = { "sh", "-c", "kill -TERM $$", NULL };
        g_autofree char *out = NULL;
        Reply b = {}, r1 = {}, r2 = {};
        Session *s;

        if (!require_sessions(f))
                return;
        s = begin(f, "s1", NULL, &b);
        g_assert_true(has_event(f, "added s1"));
        g_assert_cmpint(s->rec.state, ==, SESSION_PREPARING);
        wait_for(f, &b);
        g_assert_cmpstr(b.message, ==, NULL);
        g_assert_cmpuint(b.kind, ==, ERROR_NONE);
        g_assert_true(has_event(f, "state s1 ready"));
        g_assert_cmpint(session_progress(s), ==, 1);
        /* A copy-on-write session by default; no host tree unless asked. */
        g_assert_true(session_is_overlay(s));
        g_assert_null(session_root_directory(s));

        run(f, s, hello, &r1, &out);
        g_assert_true(r1.started);
        g_assert_cmpuint(r1.kind, ==, ERROR_NONE);
        g_assert_false(r1.killed);
        g_assert_cmpint(r1.value, ==, 3);
        g_assert_cmpstr(out, ==, "hello from busybox\n");

        run(f, s, killed, &r2, NULL);
        g_assert_cmpuint(r2.kind, ==, ERROR_NONE);
        g_assert_true(r2.killed);
        g_assert_cmpint(r2.value, ==, SIGTERM);

        end(f, s, "s1");
        g_free(b.message), g_free(r1.message), g_free(r2.message);
}

static void test_run_refusals(Fixture *f, gconstpointer data) {
        char *argv[] = { "true", NULL };
        Reply b = {}, r = {}, limits = {};
        Error e = ERROR_NULL;
        Limits none = {};
        Session *s;

        if (!require_sessions(f))
                return;
        s = begin(f, "s2", NULL, &b);
        /* Not ready yet: refused at once, never answered. */
        RunParams params = { .argv = argv, .user = "root", .directory = "/", .stdio = { -1, -1, -1 } };
        g_assert_cmpint(session_run(s, &params, call_of(f, &r), &e), ==, -EBUSY);
        g_assert_cmpuint(e.kind, ==, ERROR_NOT_READY);
        g_assert_nonnull(strstr(e.message, "is preparing, not ready"));
        error_done(&e);
        g_assert_cmpint(session_kill(s, SIGTERM, &e), <, 0);
        g_assert_cmpuint(e.kind, ==, ERROR_NOT_READY);
        error_done(&e);
        wait_for(f, &b);
        g_assert_cmpint(r.answers, ==, 0);

        /* Limits with no user manager: accepted, then answered NotSupported; a second
         * change while one is on its way would be refused. */
        g_assert_cmpint(session_set_limits(s, &none, call_of(f, &limits), &e), <, 0);
        g_assert_cmpuint(e.kind, ==, ERROR_INVALID_ARGUMENT);
        error_done(&e);
        Limits some = { .tasks_max = 100 };
        g_assert_cmpint(session_set_limits(s, &some, call_of(f, &limits), &e), ==, 0);
        g_assert_cmpint(limits.answers, ==, 1);
        g_assert_cmpuint(limits.kind, ==, ERROR_NOT_SUPPORTED);
        g_assert_cmpuint(s->rec.limits.tasks_max, ==, 0); /* not applied, not kept */
        g_assert_cmpint(session_kill(s, SIGSTOP, &e), <, 0);
        g_assert_cmpuint(e.kind, ==, ERROR_INVALID_ARGUMENT);
        error_done(&e);
        end(f, s, "s2");
        g_free(b.message), g_free(limits.message);
}

static void test_end_while_preparing(Fixture *f, gconstpointer data) {
        Reply b = {}, x = {};
        Session *s;

        if (!require_sessions(f))
                return;
        s = begin(f, "s3", NULL, &b);
        end(f, s, "s3");
        /* Begin's caller hears why, once. */
        g_assert_cmpint(b.answers, ==, 1);
        g_assert_cmpuint(b.kind, ==, ERROR_SESSION_ENDED);
        g_assert_nonnull(strstr(b.message, "was ended while it was being made"));
        g_assert_false(has_event(f, "state s3 ready"));

        /* A session freed with its calls waiting (the service stopping) answers them. */
        s = begin(f, "s4", NULL, &x);
        manager_free(f->manager);
        g_assert_cmpint(manager_new(f->event, &f->manager), ==, 0);
        g_assert_cmpint(x.answers, ==, 1);
        g_assert_cmpuint(x.kind, ==, ERROR_FAILED);
        g_assert_cmpstr(x.message, ==, "The service is stopping");
        /* Half made: the next start removes it. */
        g_assert_cmpint(manager_load_sessions(f->manager), ==, 0);
        g_assert_nonnull(manager_get_session(f->manager, "s4"));
        g_assert_cmpint(manager_get_session(f->manager, "s4")->rec.state, ==, SESSION_ENDING);
        for (int i = 0; i < 3000 && manager_get_session(f->manager, "s4"); i++)
                g_assert_cmpint(sd_event_run(f->event, 10 * 1000), >=, 0);
        g_assert_null(manager_get_session(f->manager, "s4"));
        g_free(b.message), g_free(x.message);
}

/* end-with-caller: the front end says a caller is gone, and its sessions (only its)
 * end; while one exists the service is busy (no idle exit), and a new instance that
 * finds one ends it, since nobody watches its caller there. */
static void test_caller_gone(Fixture *f, gconstpointer data) {
        BeginFlags mine = { .caller = ":1.7" }, other = { .caller = ":1.8" };
        Reply a = {}, b = {}, c = {}, d = {};
        Session *s;

        if (!require_sessions(f))
                return;
        begin(f, "c1", &mine, &a);
        begin(f, "c2", &other, &b);
        begin(f, "c3", NULL, &c);
        wait_for(f, &a), wait_for(f, &b), wait_for(f, &c);
        g_assert_cmpuint(a.kind, ==, ERROR_NONE);
        g_assert_cmpstr(manager_get_session(f->manager, "c1")->rec.caller, ==, ":1.7");
        g_assert_true(manager_is_busy(f->manager));

        g_assert_cmpuint(manager_caller_gone(f->manager, ":1.9"), ==, 0);
        g_assert_cmpuint(manager_caller_gone(f->manager, ":1.7"), ==, 1);
        for (int i = 0; i < 3000 && manager_get_session(f->manager, "c1"); i++)
                g_assert_cmpint(sd_event_run(f->event, 10 * 1000), >=, 0);
        g_assert_null(manager_get_session(f->manager, "c1"));
        g_assert_true(has_event(f, "removed c1"));
        g_assert_nonnull(manager_get_session(f->manager, "c2"));
        g_assert_nonnull(manager_get_session(f->manager, "c3"));

        /* A new instance: c2's caller is unwatched there, so c2 ends; c3 stays. */
        manager_free(f->manager);
        g_assert_cmpint(manager_new(f->event, &f->manager), ==, 0);
        g_assert_cmpint(manager_attach_frontend(f->manager, &f->frontend), ==, 0);
        g_assert_cmpint(manager_load_sessions(f->manager), ==, 0);
        for (int i = 0; i < 3000 && manager_get_session(f->manager, "c2"); i++)
                g_assert_cmpint(sd_event_run(f->event, 10 * 1000), >=, 0);
        g_assert_null(manager_get_session(f->manager, "c2"));
        s = manager_get_session(f->manager, "c3");
        g_assert_nonnull(s);
        /* c3 alone keeps nothing busy (c2's removal may still be finishing). */
        for (int i = 0; i < 3000 && manager_is_busy(f->manager); i++)
                g_assert_cmpint(sd_event_run(f->event, 10 * 1000), >=, 0);
        g_assert_false(manager_is_busy(f->manager));
        end(f, s, "c3");
        g_free(a.message), g_free(b.message), g_free(c.message), g_free(d.message);
}

/* Progress only goes forward: a base's unpack reads the whole tarball, and the step
 * after it (preparing upper/) keeps what it reached. */
static void test_progress(Fixture *f, gconstpointer data) {
        Reply b = {};
        Session *s;
        double last = 0;
        bool saw_base = false;

        if (!require_sessions(f))
                return;
        s = begin(f, "s5", NULL, &b);
        g_assert_nonnull(s->rec.base);
        g_autofree char *base = g_build_filename(f->tmp, "cache", "chrootd", "bases", s->rec.base, NULL);
        for (int i = 0; i < 3000 && b.answers == 0; i++) {
                double p = session_progress(s);
                g_assert_cmpfloat(p, >=, last);
                g_assert_cmpfloat(p, <=, 1);
                if (g_file_test(base, G_FILE_TEST_IS_DIR)) {
                        saw_base = true;
                        g_assert_cmpfloat(p, >=, 0.99);
                }
                last = p;
                g_assert_cmpint(sd_event_run(f->event, 10 * 1000), >=, 0);
        }
        g_assert_cmpint(b.answers, ==, 1);
        g_assert_cmpuint(b.kind, ==, ERROR_NONE);
        g_assert_true(saw_base);
        g_assert_cmpfloat(session_progress(s), ==, 1);
        end(f, s, "s5");
        g_free(b.message);
}

int main(int argc, char *argv[]) {
        sigset_t mask;

        /* As in the service: children are watched through pidfds, SIGCHLD blocked. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);
        g_test_init(&argc, &argv, NULL);
        g_test_add("/session/refusals", Fixture, NULL, fixture_setup, test_refusals, fixture_teardown);
        g_test_add("/session/boot-refusals", Fixture, NULL, fixture_setup, test_boot_refusals, fixture_teardown);
        g_test_add("/session/boot-record", Fixture, NULL, fixture_setup, test_boot_record, fixture_teardown);
        g_test_add("/session/begin-run-end", Fixture, NULL, fixture_setup, test_begin_run_end, fixture_teardown);
        g_test_add("/session/run-refusals", Fixture, NULL, fixture_setup, test_run_refusals, fixture_teardown);
        g_test_add("/session/progress", Fixture, NULL, fixture_setup, test_progress, fixture_teardown);
        g_test_add("/session/caller-gone", Fixture, NULL, fixture_setup, test_caller_gone, fixture_teardown);
        g_test_add("/session/end-while-preparing", Fixture, NULL, fixture_setup, test_end_while_preparing,
                   fixture_teardown);
        return g_test_run();
}
