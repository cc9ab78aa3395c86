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

/* The sample's state file with one line replaced (or dropped when repl is NULL). */
static char *sample_with(const char *key, const char *repl) {
        g_autofree char *text = session_record_format(&sample);
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
        g_test_add_func("/store/record/round-trip", test_round_trip);
        g_test_add_func("/store/record/missing-keys", test_missing_keys);
        g_test_add_func("/store/record/not-a-state-file", test_not_a_state_file);
        /* Last: a failure here ends the program (TAP "Bail out!"), and it has one. */
        g_test_add_func("/store/record/bad-values", test_bad_values);
        g_test_add("/store/create", Fixture, NULL, fixture_setup, test_create, fixture_teardown);
        g_test_add("/store/write-read", Fixture, NULL, fixture_setup, test_write_read, fixture_teardown);
        g_test_add("/store/write-atomic", Fixture, NULL, fixture_setup, test_write_atomic, fixture_teardown);
        g_test_add("/store/read-bad", Fixture, NULL, fixture_setup, test_read_bad, fixture_teardown);
        g_test_add("/store/list", Fixture, NULL, fixture_setup, test_list, fixture_teardown);
        g_test_add("/store/remove", Fixture, NULL, fixture_setup, test_remove, fixture_teardown);
        return g_test_run();
}
