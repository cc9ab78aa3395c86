/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store.h: the state files are all that is left of a session between commands and
 * across restarts, so they must round-trip exactly and refuse anything damaged. */
#include <glib.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "util.h"
#include "rmtree.h"
#include "store.h"

typedef struct Fixture {
        char *root;
        int dirfd;
} Fixture;

static void record_clear(SessionRecord *r) {
        session_record_done(r);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SessionRecord, record_clear)

static void fixture_setup(Fixture *f, gconstpointer data) {
        GError *error = NULL;

        f->root = g_dir_make_tmp("test-store-XXXXXX", &error);
        g_assert_no_error(error);
        f->dirfd = open(f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(f->dirfd, >=, 0);
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
        safe_close(f->dirfd);
        g_assert_cmpint(rm_rf_at(AT_FDCWD, f->root), ==, 0);
        g_free(f->root);
}

static const SessionRecord sample = {
        .id = (char *) "sid-1234",
        .chroot = (char *) "sid",
        .chroot_type = (char *) "file",
        .source = (char *) "/home/u/.cache/sbuild/sid.tar.zst",
        .state = SESSION_READY,
        .created_usec = UINT64_C(1732800000123456),
};

static void assert_record_eq(const SessionRecord *a, const SessionRecord *b) {
        g_assert_cmpstr(a->id, ==, b->id);
        g_assert_cmpstr(a->chroot, ==, b->chroot);
        g_assert_cmpstr(a->chroot_type, ==, b->chroot_type);
        g_assert_cmpstr(a->source, ==, b->source);
        g_assert_cmpint(a->state, ==, b->state);
        g_assert_cmpuint(a->created_usec, ==, b->created_usec);
        g_assert_cmpint(a->write_back, ==, b->write_back);
        g_assert_cmpstr(a->base, ==, b->base);
        g_assert_cmpint(a->host_tree, ==, b->host_tree);
        g_assert_cmpint(a->map_self, ==, b->map_self);
        g_assert_cmpint(a->boot, ==, b->boot);
        g_assert_cmpint(a->host_network, ==, b->host_network);
}

/* Whether the user's ids are mapped is always written; a state file from before the key
 * existed is a session made with them mapped. */
static void test_map_self(void) {
        SessionRecord in = sample;
        g_auto(SessionRecord) yes = {}, no = {}, old = {};
        g_autofree char *with = NULL, *without = NULL;
        g_autofree char *text = NULL;
        char *line;

        in.map_self = true;
        with = session_record_format(&in);
        g_assert_nonnull(strstr(with, "\nMapSelf=yes\n"));
        g_assert_cmpint(session_record_parse(with, &yes), ==, 0);
        g_assert_true(yes.map_self);

        in.map_self = false;
        without = session_record_format(&in);
        g_assert_nonnull(strstr(without, "\nMapSelf=no\n"));
        g_assert_cmpint(session_record_parse(without, &no), ==, 0);
        g_assert_false(no.map_self);

        text = g_strdup(without);
        line = strstr(text, "MapSelf=no\n");
        g_assert_nonnull(line);
        memmove(line, line + strlen("MapSelf=no\n"), strlen(line + strlen("MapSelf=no\n")) + 1);
        g_assert_cmpint(session_record_parse(text, &old), ==, 0);
        g_assert_true(old.map_self);
}

static bool has_line(const char *text, const char *key, const char *value);
static char *record_with(const SessionRecord *rec, const char *key, const char *repl);

/* A booted session stays booted across a restart of the service (which boots it again),
 * with the network it was given. The keys are written only when true, so the state files
 * of every other session read as before. */
static void test_boot(void) {
        static const struct {
                bool boot, host_network;
        } cases[] = { { false, false }, { true, false }, { true, true } };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                SessionRecord in = sample;
                g_auto(SessionRecord) out = {};
                g_autofree char *text = NULL;

                in.boot = cases[i].boot;
                in.host_network = cases[i].host_network;
                text = session_record_format(&in);
                g_test_message("case %zu:\n%s", i, text);
                g_assert_true(has_line(text, "Boot", in.boot ? "yes" : NULL));
                g_assert_true(has_line(text, "HostNetwork", in.host_network ? "yes" : NULL));
                g_assert_cmpint(session_record_parse(text, &out), ==, 0);
                assert_record_eq(&in, &out);
        }
        {
                /* Anything but "yes" is not set, as for the other flags. */
                SessionRecord in = sample;
                g_auto(SessionRecord) out = {};
                g_autofree char *text = NULL;

                in.boot = in.host_network = true;
                text = record_with(&in, "Boot", "no");
                g_assert_cmpint(session_record_parse(text, &out), ==, 0);
                g_assert_false(out.boot);
                g_assert_true(out.host_network);
        }
}

static void test_states(void) {
        for (int i = 0; i < _SESSION_STATE_MAX; i++) {
                const char *s = session_state_to_string(i);
                g_assert_nonnull(s);
                g_assert_cmpint(session_state_from_string(s), ==, i);
        }
        g_assert_cmpstr(session_state_to_string(SESSION_PREPARING), ==, "preparing");
        g_assert_cmpstr(session_state_to_string(SESSION_READY), ==, "ready");
        g_assert_cmpstr(session_state_to_string(SESSION_ENDING), ==, "ending");
        g_assert_null(session_state_to_string(_SESSION_STATE_MAX));
        g_assert_null(session_state_to_string((SessionState) -1));
        g_assert_cmpint(session_state_from_string("running"), ==, -EINVAL);
        g_assert_cmpint(session_state_from_string("Ready"), ==, -EINVAL);
        g_assert_cmpint(session_state_from_string(""), ==, -EINVAL);
        g_assert_cmpint(session_state_from_string(NULL), ==, -EINVAL);
}

/* A copy-on-write session's base and host-tree flag survive; a bad base is refused. */

static void test_base_round_trip(void) {
        SessionRecord in = sample;
        g_auto(SessionRecord) out = {}, none = {}, bad = {};
        g_autofree char *text = NULL, *plain = NULL, *upper = NULL, *shorter = NULL, *path = NULL;

        in.base = (char *) "0123456789abcdef";
        in.host_tree = true;
        text = session_record_format(&in);
        g_assert_nonnull(strstr(text, "\nBase=0123456789abcdef\n"));
        g_assert_nonnull(strstr(text, "\nHostTree=yes\n"));
        g_assert_cmpint(session_record_parse(text, &out), ==, 0);
        assert_record_eq(&in, &out);

        /* Without them: a full copy, and neither key is written. */
        plain = session_record_format(&sample);
        g_assert_null(strstr(plain, "Base="));
        g_assert_null(strstr(plain, "HostTree="));
        g_assert_cmpint(session_record_parse(plain, &none), ==, 0);
        g_assert_null(none.base);
        g_assert_false(none.host_tree);
        g_assert_null(strstr(plain, "Caller="));
        g_assert_null(none.caller);
        {
                /* end-with-caller's caller survives a restart (which then ends it). */
                SessionRecord c = sample;
                g_auto(SessionRecord) back = {};
                g_autofree char *t = NULL;

                c.caller = (char *) ":1.42";
                t = session_record_format(&c);
                g_assert_nonnull(strstr(t, "\nCaller=:1.42\n"));
                g_assert_cmpint(session_record_parse(t, &back), ==, 0);
                g_assert_cmpstr(back.caller, ==, ":1.42");
        }

        /* The base names a directory under bases/: only a key is accepted. */
        upper = record_with(&in, "Base", "0123456789ABCDEF");
        g_assert_cmpint(session_record_parse(upper, &bad), ==, -EBADMSG);
        shorter = record_with(&in, "Base", "0123456789abcde");
        g_assert_cmpint(session_record_parse(shorter, &bad), ==, -EBADMSG);
        path = record_with(&in, "Base", "../../etc");
        g_assert_cmpint(session_record_parse(path, &bad), ==, -EBADMSG);
}

static void test_round_trip(void) {
        for (int st = 0; st < _SESSION_STATE_MAX; st++) {
                SessionRecord in = sample;
                g_auto(SessionRecord) out = {};
                g_autofree char *text = NULL;

                in.state = st;
                in.created_usec = st == 0 ? 0 : st == 1 ? UINT64_MAX : sample.created_usec;
                in.chroot_type = (char *) (st == 2 ? "directory" : "file");
                text = session_record_format(&in);
                g_assert_nonnull(text);
                g_assert_cmpint(session_record_parse(text, &out), ==, 0);
                assert_record_eq(&in, &out);
        }
}

/* rec's state file with one line replaced (or dropped when repl is NULL). */
static char *record_with(const SessionRecord *rec, const char *key, const char *repl) {
        g_autofree char *text = session_record_format(rec);
        g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
        g_autoptr(GString) s = g_string_new(NULL);
        g_autofree char *prefix = g_strconcat(key, "=", NULL);
        bool found = false;

        for (char **l = lines; *l; l++) {
                if (g_str_has_prefix(*l, prefix)) {
                        found = true;
                        if (repl)
                                g_string_append_printf(s, "%s=%s\n", key, repl);
                } else if (**l)
                        g_string_append_printf(s, "%s\n", *l);
        }
        g_assert_true(found);
        return g_string_free(g_steal_pointer(&s), FALSE);
}

/* The sample's state file with one line replaced (or dropped when repl is NULL). */
static char *sample_with(const char *key, const char *repl) {
        return record_with(&sample, key, repl);
}

static void assert_rejected(const char *text) {
        SessionRecord r = { .id = (char *) "untouched" };

        g_test_message("parsing:\n%s", text);
        g_assert_cmpint(session_record_parse(text, &r), ==, -EBADMSG);
        g_assert_cmpstr(r.id, ==, "untouched");
}

static void test_missing_keys(void) {
        static const char *const keys[] = { "Id", "Chroot", "Type", "Source", "State", "Created" };

        for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
                g_autofree char *text = sample_with(keys[i], NULL);
                assert_rejected(text);
        }
}

static void test_bad_values(void) {
        static const struct {
                const char *key, *value;
        } cases[] = {
                { "Id", "" },
                { "Id", "-leading-dash" },
                { "Id", ".hidden" },
                { "Id", "a/b" },
                { "Id", "../escape" },
                { "Id", "with space" },
                { "State", "running" },
                { "State", "" },
                { "Created", "" },
                { "Created", "12x" },
                { "Created", "x12" },
                { "Created", "1.5" },
                { "Created", "0x10" },
                { "Created", "18446744073709551616" }, /* 2^64 */
                /* strtoull() takes a sign and wraps: "-1" would become 2^64-1 µs. */
                { "Created", "-1" },
                { "Created", "-0" },
                { "Created", "+5" },
        };
        g_autoptr(GString) accepted = g_string_new(NULL);

        /* Every case is tried, and all that were wrongly accepted are named. */
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autofree char *text = sample_with(cases[i].key, cases[i].value);
                SessionRecord r = {};
                int k = session_record_parse(text, &r);

                if (k == 0)
                        g_string_append_printf(accepted, " %s=\"%s\" (parsed, Created=%" G_GUINT64_FORMAT ")",
                                               cases[i].key, cases[i].value, r.created_usec);
                else if (k != -EBADMSG)
                        g_string_append_printf(accepted, " %s=\"%s\" (returned %d, not -EBADMSG)", cases[i].key,
                                               cases[i].value, k);
                session_record_done(&r);
        }
        {
                /* An Id of 129 characters: one more than names may have. */
                g_autofree char *long_id = g_strnfill(129, 'a');
                g_autofree char *text = sample_with("Id", long_id);
                assert_rejected(text);
        }
        if (accepted->len > 0)
                g_test_fail_printf("session_record_parse() accepted bad values:%s", accepted->str);
}

static void test_not_a_state_file(void) {
        assert_rejected("");
        assert_rejected("garbage without a group\n");
        assert_rejected("[Other]\nId=x\n");
        {
                /* The right keys in the wrong group. */
                g_autofree char *text = session_record_format(&sample);
                g_autofree char *other = NULL;
                char *g = strstr(text, "[Session]");

                g_assert_nonnull(g);
                other = g_strdup_printf("%.*s[Other]%s", (int) (g - text), text, g + strlen("[Session]"));
                assert_rejected(other);
        }
        {
                /* A duplicated key is a syntax error, not "the last one wins". */
                g_autofree char *text = session_record_format(&sample);
                g_autofree char *dup = g_strconcat(text, "State=ending\n", NULL);
                assert_rejected(dup);
        }
}

/* ---- Limits (MemoryMax=, TasksMax=, CPUWeight=; 0: not set, not written) ---- */

static const SessionRecord sample_limits = {
        .id = (char *) "bookworm-amd64-3f2a9c1e-0b4d-4e7a-9f21-6c8d5e3b1a70",
        .chroot = (char *) "bookworm-amd64",
        .chroot_type = (char *) "file",
        .source = (char *) "/home/u/.cache/sbuild/bookworm-amd64.tar.zst",
        .state = SESSION_READY,
        .created_usec = UINT64_C(1732800000123456),
        .limits = { .memory_max = UINT64_C(536870912), .tasks_max = 20, .cpu_weight = 100 },
};

static void assert_limits_eq(const Limits *a, const Limits *b) {
        g_assert_cmpuint(a->memory_max, ==, b->memory_max);
        g_assert_cmpuint(a->tasks_max, ==, b->tasks_max);
        g_assert_cmpuint(a->cpu_weight, ==, b->cpu_weight);
}

/* Whether text has the line "key=value" (value NULL: no line for key at all). */
static bool has_line(const char *text, const char *key, const char *value) {
        g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
        g_autofree char *prefix = g_strconcat(key, "=", NULL);
        g_autofree char *want = value ? g_strconcat(prefix, value, NULL) : NULL;

        for (char **l = lines; *l; l++)
                if (g_str_has_prefix(*l, prefix))
                        return want && g_str_equal(*l, want);
        return !want;
}

static void test_limits_round_trip(void) {
        static const Limits cases[] = {
                {},
                { .memory_max = 1 },
                { .tasks_max = 1 },
                { .cpu_weight = 1 },
                { .cpu_weight = 10000 },
                { .memory_max = UINT64_C(536870912), .tasks_max = 20, .cpu_weight = 100 },
                { .memory_max = UINT64_MAX, .tasks_max = UINT64_MAX, .cpu_weight = 10000 },
                { .memory_max = UINT64_MAX - 1, .cpu_weight = 50 },
                { .tasks_max = 4096 },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                SessionRecord in = sample_limits;
                g_auto(SessionRecord) out = {};
                g_autofree char *text = NULL;
                g_autofree char *mem = NULL, *tasks = NULL, *cpu = NULL;

                in.limits = cases[i];
                text = session_record_format(&in);
                g_assert_nonnull(text);
                g_test_message("case %zu:\n%s", i, text);
                g_assert_cmpint(session_record_parse(text, &out), ==, 0);
                assert_record_eq(&in, &out);
                assert_limits_eq(&in.limits, &out.limits);

                /* Each limit that is set is one line with its decimal value; one that
                 * is not set (0) is not written. */
                mem = in.limits.memory_max ? g_strdup_printf("%" G_GUINT64_FORMAT, in.limits.memory_max) : NULL;
                tasks = in.limits.tasks_max ? g_strdup_printf("%" G_GUINT64_FORMAT, in.limits.tasks_max) : NULL;
                cpu = in.limits.cpu_weight ? g_strdup_printf("%" G_GUINT64_FORMAT, in.limits.cpu_weight) : NULL;
                g_assert_true(has_line(text, "MemoryMax", mem));
                g_assert_true(has_line(text, "TasksMax", tasks));
                g_assert_true(has_line(text, "CPUWeight", cpu));
        }
}

/* A state file written before limits existed has none of their keys: no limits. */
static void test_limits_absent(void) {
        g_autofree char *text = NULL;
        SessionRecord r = { .limits = { 1, 2, 3 } };

        text = session_record_format(&sample);
        g_assert_false(has_line(text, "MemoryMax", "0"));
        g_assert_true(has_line(text, "MemoryMax", NULL));
        g_assert_cmpint(session_record_parse(text, &r), ==, 0);
        g_assert_cmpuint(r.limits.memory_max, ==, 0);
        g_assert_cmpuint(r.limits.tasks_max, ==, 0);
        g_assert_cmpuint(r.limits.cpu_weight, ==, 0);
        session_record_done(&r);

        /* One limit dropped, the others kept. */
        {
                static const char *const keys[] = { "MemoryMax", "TasksMax", "CPUWeight" };

                for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
                        g_autofree char *t = record_with(&sample_limits, keys[i], NULL);
                        Limits want = sample_limits.limits;
                        SessionRecord got = {};

                        if (i == 0)
                                want.memory_max = 0;
                        else if (i == 1)
                                want.tasks_max = 0;
                        else
                                want.cpu_weight = 0;
                        g_assert_cmpint(session_record_parse(t, &got), ==, 0);
                        assert_limits_eq(&want, &got.limits);
                        session_record_done(&got);
                }
        }
}

static void test_limits_bad_values(void) {
        static const struct {
                const char *key, *value;
        } cases[] = {
                { "MemoryMax", "abc" },
                { "MemoryMax", "" },
                { "MemoryMax", "-1" },
                { "MemoryMax", "+5" },
                { "MemoryMax", "1.5" },
                { "MemoryMax", "0x10" },
                { "MemoryMax", "512M" },
                { "MemoryMax", "infinity" },
                { "MemoryMax", "18446744073709551616" }, /* 2^64 */
                { "TasksMax", "abc" },
                { "TasksMax", "" },
                { "TasksMax", "-20" },
                { "TasksMax", "20%" },
                { "TasksMax", "infinity" },
                { "TasksMax", "99999999999999999999" },
                { "CPUWeight", "abc" },
                { "CPUWeight", "" },
                { "CPUWeight", "-1" },
                { "CPUWeight", "idle" },
                { "CPUWeight", "1e3" },
        };
        g_autoptr(GString) accepted = g_string_new(NULL);

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autofree char *text = record_with(&sample_limits, cases[i].key, cases[i].value);
                SessionRecord r = {};
                int k = session_record_parse(text, &r);

                if (k == 0)
                        g_string_append_printf(accepted,
                                               " %s=\"%s\" (parsed: MemoryMax=%" G_GUINT64_FORMAT
                                               " TasksMax=%" G_GUINT64_FORMAT " CPUWeight=%" G_GUINT64_FORMAT ")",
                                               cases[i].key, cases[i].value, r.limits.memory_max,
                                               r.limits.tasks_max, r.limits.cpu_weight);
                else if (k != -EBADMSG)
                        g_string_append_printf(accepted, " %s=\"%s\" (returned %d, not -EBADMSG)", cases[i].key,
                                               cases[i].value, k);
                session_record_done(&r);
        }
        {
                /* A limit given twice is a syntax error, not "the last one wins". */
                g_autofree char *text = session_record_format(&sample_limits);
                g_autofree char *dup = g_strconcat(text, "TasksMax=5000\n", NULL);
                assert_rejected(dup);
        }
        if (accepted->len > 0)
                g_test_fail_printf("session_record_parse() accepted bad limits:%s", accepted->str);
}

/* CPUWeight is 1..10000 (Begin and SetLimits refuse anything else), so a state file
 * with more was not written by chrootd: damaged. */
static void test_limits_out_of_range(void) {
        static const char *const values[] = { "10001", "18446744073709551615" };
        g_autoptr(GString) accepted = g_string_new(NULL);

        for (size_t i = 0; i < G_N_ELEMENTS(values); i++) {
                g_autofree char *text = record_with(&sample_limits, "CPUWeight", values[i]);
                SessionRecord r = {};

                if (session_record_parse(text, &r) == 0)
                        g_string_append_printf(accepted, " CPUWeight=%s (parsed as %" G_GUINT64_FORMAT ")",
                                               values[i], r.limits.cpu_weight);
                session_record_done(&r);
        }
        if (accepted->len > 0)
                g_test_fail_printf("session_record_parse() accepted a CPUWeight out of 1..10000:%s", accepted->str);
}

static bool exists_at(int dirfd, const char *path) {
        struct stat st;
        return fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void test_create(Fixture *f, gconstpointer data) {
        struct stat st;
        int fd;

        fd = store_create(f->dirfd, "s1");
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(fstat(fd, &st), ==, 0);
        g_assert_true(S_ISDIR(st.st_mode));
        g_assert_cmpuint(st.st_mode & 07777, ==, 0700);
        g_assert_cmpint(fcntl(fd, F_GETFD), ==, FD_CLOEXEC);
        safe_close(fd);

        g_assert_cmpint(store_create(f->dirfd, "s1"), ==, -EEXIST);
        /* A stray file of that name is not a session directory either. */
        g_assert_cmpint(close(openat(f->dirfd, "file", O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), ==, 0);
        g_assert_cmpint(store_create(f->dirfd, "file"), ==, -EEXIST);
}

static void test_write_read(Fixture *f, gconstpointer data) {
        g_auto(SessionRecord) got = {};
        g_autoptr(GDir) d = NULL;
        g_autofree char *path = NULL;
        SessionRecord rec = sample;
        struct stat st;
        const char *n;
        int fd;

        fd = store_create(f->dirfd, sample.id);
        g_assert_cmpint(fd, >=, 0);
        safe_close(fd);

        g_assert_cmpint(store_read(f->dirfd, sample.id, &got), ==, -ENOENT);

        rec.state = SESSION_PREPARING;
        g_assert_cmpint(store_write(f->dirfd, &rec), ==, 0);
        g_assert_cmpint(store_read(f->dirfd, sample.id, &got), ==, 0);
        assert_record_eq(&rec, &got);
        session_record_done(&got);

        /* Rewriting replaces the file whole. */
        rec.state = SESSION_READY;
        g_assert_cmpint(store_write(f->dirfd, &rec), ==, 0);
        g_assert_cmpint(store_read(f->dirfd, sample.id, &got), ==, 0);
        assert_record_eq(&rec, &got);

        /* Only the state file is there: no temporary left behind, private mode. */
        path = g_build_filename(f->root, sample.id, NULL);
        d = g_dir_open(path, 0, NULL);
        g_assert_nonnull(d);
        while ((n = g_dir_read_name(d)))
                g_assert_cmpstr(n, ==, "state");
        g_free(path);
        path = g_build_filename(f->root, sample.id, "state", NULL);
        g_assert_cmpint(g_lstat(path, &st), ==, 0);
        g_assert_true(S_ISREG(st.st_mode));
        g_assert_cmpuint(st.st_mode & 0777, ==, 0600);
}

static void test_write_atomic(Fixture *f, gconstpointer data) {
        g_autofree char *state = g_build_filename(f->root, sample.id, "state", NULL);
        g_autofree char *tmp = g_build_filename(f->root, sample.id, ".#state.tmp", NULL);
        g_auto(SessionRecord) got = {};
        SessionRecord rec = sample;
        struct stat before, after;
        int fd;

        fd = store_create(f->dirfd, sample.id);
        g_assert_cmpint(fd, >=, 0);
        safe_close(fd);
        g_assert_cmpint(store_write(f->dirfd, &rec), ==, 0);
        g_assert_cmpint(g_lstat(state, &before), ==, 0);

        /* A temporary left by a crash mid-write is overwritten, not appended to. */
        g_assert_true(g_file_set_contents(tmp, "[Session]\nId=stale\nleftover garbage", -1, NULL));
        rec.state = SESSION_ENDING;
        g_assert_cmpint(store_write(f->dirfd, &rec), ==, 0);
        g_assert_false(g_file_test(tmp, G_FILE_TEST_EXISTS));
        g_assert_cmpint(g_lstat(state, &after), ==, 0);
        /* A new inode renamed over the old one: readers see the old or the new file,
         * never a half-written one. */
        g_assert_cmpuint(before.st_ino, !=, after.st_ino);
        g_assert_cmpint(store_read(f->dirfd, sample.id, &got), ==, 0);
        g_assert_cmpint(got.state, ==, SESSION_ENDING);

        /* A session directory that is gone. */
        rec.id = (char *) "no-such-session";
        g_assert_cmpint(store_write(f->dirfd, &rec), ==, -ENOENT);
}

/* Limits survive store_write/store_read, and a change of them is written over. */
static void test_write_read_limits(Fixture *f, gconstpointer data) {
        g_auto(SessionRecord) got = {}, again = {};
        g_autofree char *path = g_build_filename(f->root, sample_limits.id, "state", NULL);
        g_autofree char *text = NULL;
        SessionRecord rec = sample_limits;
        int fd;

        fd = store_create(f->dirfd, rec.id);
        g_assert_cmpint(fd, >=, 0);
        safe_close(fd);
        g_assert_cmpint(store_write(f->dirfd, &rec), ==, 0);
        g_assert_cmpint(store_read(f->dirfd, rec.id, &got), ==, 0);
        assert_record_eq(&rec, &got);
        assert_limits_eq(&rec.limits, &got.limits);
        g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
        g_assert_true(has_line(text, "MemoryMax", "536870912"));
        g_assert_true(has_line(text, "TasksMax", "20"));
        g_assert_true(has_line(text, "CPUWeight", "100"));

        /* What SetLimits does: some limits changed, the others kept. */
        rec.limits.tasks_max = 64;
        rec.limits.cpu_weight = 9999;
        g_assert_cmpint(store_write(f->dirfd, &rec), ==, 0);
        g_assert_cmpint(store_read(f->dirfd, rec.id, &again), ==, 0);
        assert_limits_eq(&rec.limits, &again.limits);
        g_assert_cmpuint(again.limits.memory_max, ==, UINT64_C(536870912));
}

static void put_state(Fixture *f, const char *dir, const char *text) {
        g_autofree char *d = g_build_filename(f->root, dir, NULL);
        g_autofree char *p = g_build_filename(d, "state", NULL);

        g_assert_cmpint(g_mkdir_with_parents(d, 0700), ==, 0);
        g_assert_true(g_file_set_contents(p, text, -1, NULL));
}

static void test_read_bad(Fixture *f, gconstpointer data) {
        g_autofree char *good = session_record_format(&sample);
        g_autofree char *bad_state = sample_with("State", "bogus");
        g_autofree char *big = g_strnfill(128 * 1024, '#');
        g_autofree char *link_target = g_build_filename(f->root, "target", NULL);
        g_autofree char *link = g_build_filename(f->root, "link", NULL);
        SessionRecord r = {};

        g_assert_cmpint(store_read(f->dirfd, "missing", &r), ==, -ENOENT);
        put_state(f, "garbage", "not a key file\n");
        g_assert_cmpint(store_read(f->dirfd, "garbage", &r), ==, -EBADMSG);
        put_state(f, "bad-state", bad_state);
        g_assert_cmpint(store_read(f->dirfd, "bad-state", &r), ==, -EBADMSG);
        /* A state file whose Id is not its directory's name. */
        put_state(f, "other-name", good);
        g_assert_cmpint(store_read(f->dirfd, "other-name", &r), ==, -EBADMSG);
        /* Far too large for a state file. */
        put_state(f, "huge", big);
        g_assert_cmpint(store_read(f->dirfd, "huge", &r), <, 0);
        /* A symlinked session directory is not followed. */
        put_state(f, "target", good);
        g_assert_cmpint(symlink(link_target, link), ==, 0);
        g_assert_cmpint(store_read(f->dirfd, "link", &r), <, 0);
        g_assert_null(r.id);

        put_state(f, sample.id, good);
        g_assert_cmpint(store_read(f->dirfd, sample.id, &r), ==, 0);
        assert_record_eq(&sample, &r);
        session_record_done(&r);
}

static void test_list(Fixture *f, gconstpointer data) {
        g_auto(GStrv) empty = NULL, l = NULL;
        static const char *const dirs[] = { "zeta", "alpha", "Beta", "9lives", "mid.dle_x-y" };
        static const char *const invalid[] = { ".hidden", "-dash", "_under", "with space" };

        g_assert_cmpint(store_list(f->dirfd, &empty), ==, 0);
        g_assert_cmpuint(strv_length(empty), ==, 0);

        for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++) {
                int fd = store_create(f->dirfd, dirs[i]);
                g_assert_cmpint(fd, >=, 0);
                safe_close(fd);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(invalid); i++)
                g_assert_cmpint(mkdirat(f->dirfd, invalid[i], 0700), ==, 0);
        /* Not directories: a file with a valid name and a symlink to a directory. */
        g_assert_cmpint(close(openat(f->dirfd, "plainfile", O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), ==, 0);
        g_assert_cmpint(symlinkat("alpha", f->dirfd, "symlinked"), ==, 0);
        /* What a crashed write leaves. */
        g_assert_cmpint(close(openat(f->dirfd, ".#state.tmp", O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), ==, 0);

        g_assert_cmpint(store_list(f->dirfd, &l), ==, 0);
        g_assert_nonnull(l);
        g_assert_cmpuint(g_strv_length(l), ==, 5);
        /* Sorted bytewise (strcmp), which puts digits and capitals first. */
        g_assert_cmpstr(l[0], ==, "9lives");
        g_assert_cmpstr(l[1], ==, "Beta");
        g_assert_cmpstr(l[2], ==, "alpha");
        g_assert_cmpstr(l[3], ==, "mid.dle_x-y");
        g_assert_cmpstr(l[4], ==, "zeta");

        /* Listing twice through the same fd gives the same answer. */
        g_strfreev(g_steal_pointer(&l));
        g_assert_cmpint(store_list(f->dirfd, &l), ==, 0);
        g_assert_cmpuint(g_strv_length(l), ==, 5);
}

static void test_remove(Fixture *f, gconstpointer data) {
        g_autofree char *dir = g_build_filename(f->root, sample.id, NULL);
        g_autofree char *tmp = g_build_filename(dir, ".#state.tmp", NULL);
        g_autofree char *root = g_build_filename(dir, "root", NULL);
        int fd;

        fd = store_create(f->dirfd, sample.id);
        g_assert_cmpint(fd, >=, 0);
        safe_close(fd);
        g_assert_cmpint(store_write(f->dirfd, &sample), ==, 0);
        /* A temporary left by a crash goes too. */
        g_assert_true(g_file_set_contents(tmp, "x", -1, NULL));
        g_assert_cmpint(store_remove(f->dirfd, sample.id), ==, 0);
        g_assert_false(exists_at(f->dirfd, sample.id));

        /* Removing what is not there is fine. */
        g_assert_cmpint(store_remove(f->dirfd, sample.id), ==, 0);
        g_assert_cmpint(store_remove(f->dirfd, "never-existed"), ==, 0);

        /* A session whose tree is still there is not removed: that is rm_rf's job,
         * done first, and must not be skipped silently. */
        fd = store_create(f->dirfd, sample.id);
        g_assert_cmpint(fd, >=, 0);
        safe_close(fd);
        g_assert_cmpint(store_write(f->dirfd, &sample), ==, 0);
        g_assert_cmpint(g_mkdir(root, 0755), ==, 0);
        g_assert_cmpint(store_remove(f->dirfd, sample.id), ==, -ENOTEMPTY);
        g_assert_true(g_file_test(root, G_FILE_TEST_IS_DIR));
        g_assert_cmpint(g_rmdir(root), ==, 0);
        g_assert_cmpint(store_remove(f->dirfd, sample.id), ==, 0);
        g_assert_false(exists_at(f->dirfd, sample.id));
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/store/states", test_states);
        g_test_add_func("/store/map-self", test_map_self);
        g_test_add_func("/store/record/boot", test_boot);
        g_test_add_func("/store/record/round-trip", test_round_trip);
        g_test_add_func("/store/record/base", test_base_round_trip);
        g_test_add_func("/store/record/missing-keys", test_missing_keys);
        g_test_add_func("/store/record/not-a-state-file", test_not_a_state_file);
        g_test_add_func("/store/record/limits/round-trip", test_limits_round_trip);
        g_test_add_func("/store/record/limits/absent", test_limits_absent);
        g_test_add_func("/store/record/limits/bad-values", test_limits_bad_values);
        g_test_add_func("/store/record/limits/out-of-range", test_limits_out_of_range);
        /* Last: a failure here ends the program (TAP "Bail out!"), and it has one. */
        g_test_add_func("/store/record/bad-values", test_bad_values);
        g_test_add("/store/create", Fixture, NULL, fixture_setup, test_create, fixture_teardown);
        g_test_add("/store/write-read", Fixture, NULL, fixture_setup, test_write_read, fixture_teardown);
        g_test_add("/store/write-read-limits", Fixture, NULL, fixture_setup, test_write_read_limits,
                   fixture_teardown);
        g_test_add("/store/write-atomic", Fixture, NULL, fixture_setup, test_write_atomic, fixture_teardown);
        g_test_add("/store/read-bad", Fixture, NULL, fixture_setup, test_read_bad, fixture_teardown);
        g_test_add("/store/list", Fixture, NULL, fixture_setup, test_list, fixture_teardown);
        g_test_add("/store/remove", Fixture, NULL, fixture_setup, test_remove, fixture_teardown);
        return g_test_run();
}
