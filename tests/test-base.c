/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base.h"
#include "util.h"

static struct stat sample(void) {
        struct stat st = {};
        st.st_dev = 2049;
        st.st_ino = 1234567;
        st.st_size = 144309511;
        st.st_mtim = (struct timespec) { 1795000000, 123456789 };
        st.st_ctim = (struct timespec) { 1795000001, 5 };
        return st;
}

static void test_key(void) {
        const char *path = "/home/u/.cache/sbuild/bookworm-amd64.tar.zst";
        struct stat st = sample(), other;
        char a[BASE_KEY_LEN + 1], b[BASE_KEY_LEN + 1];

        g_assert_cmpint(base_key(path, &st, false, a), ==, 0);
        g_assert_true(base_key_is_valid(a));
        g_assert_cmpint(base_key(path, &st, false, b), ==, 0);
        g_assert_cmpstr(a, ==, b);

        /* Anything that tells a replaced or rewritten tarball gives another key. */
        g_assert_cmpint(base_key("/home/u/.cache/sbuild/sid-amd64.tar.zst", &st, false, b), ==, 0);
        g_assert_cmpstr(a, !=, b);
        other = st, other.st_ino++;
        g_assert_cmpint(base_key(path, &other, false, b), ==, 0);
        g_assert_cmpstr(a, !=, b);
        other = st, other.st_size--;
        g_assert_cmpint(base_key(path, &other, false, b), ==, 0);
        g_assert_cmpstr(a, !=, b);
        other = st, other.st_mtim.tv_nsec++;
        g_assert_cmpint(base_key(path, &other, false, b), ==, 0);
        g_assert_cmpstr(a, !=, b);
        other = st, other.st_ctim.tv_sec++;
        g_assert_cmpint(base_key(path, &other, false, b), ==, 0);
        g_assert_cmpstr(a, !=, b);
        other = st, other.st_dev++;
        g_assert_cmpint(base_key(path, &other, false, b), ==, 0);
        g_assert_cmpstr(a, !=, b);
        /* A base unpacked with the user's ids themselves is another base. */
        g_assert_cmpint(base_key(path, &st, true, b), ==, 0);
        g_assert_cmpstr(a, !=, b);
}

static void test_source_text(void) {
        struct stat st = sample();
        g_autofree char *t = base_source_text("/x/y.tar", &st, false), *self = base_source_text("/x/y.tar", &st, true);
        g_autofree char *path = NULL, *path2 = NULL, *dummy = NULL;
        bool map_self = true;

        /* The path on its own line first: the service reads it back to find the tarball. */
        g_assert_true(g_str_has_prefix(t, "/x/y.tar\n"));
        g_assert_cmpstr(strchr(t, '\n') + 1, ==,
                        "2049:1234567 144309511 1795000000.123456789 1795000001.000000005\nids: subordinate\n");
        g_assert_cmpint(base_source_parse(t, &path, &map_self), ==, 0);
        g_assert_cmpstr(path, ==, "/x/y.tar");
        g_assert_false(map_self);
        g_assert_cmpint(base_source_parse(self, &path2, &map_self), ==, 0);
        g_assert_cmpstr(path2, ==, "/x/y.tar");
        g_assert_true(map_self);

        /* A base of an older version (no kind) or a damaged file is not taken. */
        g_assert_cmpint(base_source_parse("/x/y.tar\n2049:1234567 1 2.0 3.0\n", &dummy, &map_self), ==, -EBADMSG);
        g_assert_cmpint(base_source_parse("/x/y.tar\n2049:1234567 1 2.0 3.0\nids: all\n", &dummy, &map_self), ==,
                        -EBADMSG);
        g_assert_cmpint(base_source_parse("/x/y.tar", &dummy, &map_self), ==, -EBADMSG);
        g_assert_null(dummy);
}

static void test_valid(void) {
        g_assert_true(base_key_is_valid("0123456789abcdef"));
        g_assert_false(base_key_is_valid(""));
        g_assert_false(base_key_is_valid("0123456789abcde"));
        g_assert_false(base_key_is_valid("0123456789abcdef0"));
        g_assert_false(base_key_is_valid("0123456789ABCDEF"));
        g_assert_false(base_key_is_valid(".new-something"));
        g_assert_false(base_key_is_valid("../../../etc/pwd"));
}

/* ---- the cache, on a temporary directory ---- */

typedef struct Fixture {
        char *tmp, *dir, *tarball;
        char *in_use; /* the one name "in use", or NULL */
        sd_event *event;
        BaseCache *cache;
} Fixture;

static bool fixture_in_use(const char *name, void *userdata) {
        Fixture *f = userdata;
        return f->in_use && streq(f->in_use, name);
}

/* Removals need subordinate ids; here there are none, so they never start and the
 * renames (what the cache guarantees at once) are what is left to check. */
static int fixture_idmap(IdMap *ret, char **ret_error, void *userdata) {
        *ret_error = strdup("no subordinate ids in this test");
        return -ENOENT;
}

static void fixture_setup(Fixture *f) {
        *f = (Fixture) {};
        f->tmp = g_dir_make_tmp("test-base-XXXXXX", NULL);
        g_assert_nonnull(f->tmp);
        f->dir = g_build_filename(f->tmp, "bases", NULL);
        f->tarball = g_build_filename(f->tmp, "t.tar", NULL);
        g_assert_true(g_file_set_contents(f->tarball, "not really a tarball", -1, NULL));
        g_assert_cmpint(sd_event_new(&f->event), ==, 0);
        g_assert_cmpint(base_cache_new(f->event, f->dir, fixture_in_use, fixture_idmap, f, &f->cache), ==, 0);
}

static void fixture_teardown(Fixture *f) {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", f->tmp);
        base_cache_free(f->cache);
        sd_event_unref(f->event);
        g_assert_cmpint(system(cmd), ==, 0);
        g_free(f->tmp), g_free(f->dir), g_free(f->tarball);
}

static bool exists(Fixture *f, const char *name) {
        struct stat st;
        return fstatat(base_cache_dirfd(f->cache), name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static unsigned count_prefix(Fixture *f, const char *prefix) {
        g_autoptr(GDir) d = g_dir_open(f->dir, 0, NULL);
        const char *n;
        unsigned k = 0;

        while ((n = g_dir_read_name(d)))
                k += g_str_has_prefix(n, prefix);
        return k;
}

/* An unpack into .new-<owner>: a root/ directory. */
static void unpack_new(Fixture *f, const char *owner) {
        int fd = -1;

        g_assert_cmpint(base_new(f->cache, owner, &fd), ==, 0);
        g_assert_cmpint(mkdirat(fd, "root", 0755), ==, 0);
        close(fd);
}

static void tarball_key(Fixture *f, struct stat *st, char key[BASE_KEY_LEN + 1]) {
        g_assert_cmpint(stat(f->tarball, st), ==, 0);
        g_assert_cmpint(base_key(f->tarball, st, false, key), ==, 0);
}

static void test_cache_commit(void) {
        Fixture f;
        struct stat st;
        char key[BASE_KEY_LEN + 1];
        g_autofree char *tree = NULL;

        fixture_setup(&f);
        tarball_key(&f, &st, key);
        g_assert_false(base_ready(f.cache, key, f.tarball, &st, false));
        unpack_new(&f, "s1");
        g_assert_true(exists(&f, ".new-s1"));
        g_assert_cmpint(base_commit(f.cache, "s1", key, f.tarball, &st, false), ==, 0);
        g_assert_false(exists(&f, ".new-s1"));
        g_assert_true(base_ready(f.cache, key, f.tarball, &st, false));
        /* A base serves one kind of map only. */
        g_assert_false(base_ready(f.cache, key, f.tarball, &st, true));
        tree = base_tree_path(f.cache, key);
        g_assert_true(g_str_has_suffix(tree, "/root") && strstr(tree, key));
        g_assert_true(g_file_test(tree, G_FILE_TEST_IS_DIR));

        /* A second Begin of the same tarball lost the race: its base is retired and
         * the first one serves. */
        unpack_new(&f, "s2");
        g_assert_cmpint(base_commit(f.cache, "s2", key, f.tarball, &st, false), ==, 0);
        g_assert_false(exists(&f, ".new-s2"));
        g_assert_cmpuint(count_prefix(&f, ".old-"), ==, 1);
        g_assert_true(base_ready(f.cache, key, f.tarball, &st, false));
        fixture_teardown(&f);
}

static void test_cache_conflict(void) {
        Fixture f;
        struct stat st;
        char key[BASE_KEY_LEN + 1];

        fixture_setup(&f);
        tarball_key(&f, &st, key);
        /* Something that is not a ready base has the name: ours is not renamed over
         * it, and base_drop_new() takes ours away. */
        g_assert_cmpint(mkdirat(base_cache_dirfd(f.cache), key, 0700), ==, 0);
        g_assert_cmpint(mkdirat(base_cache_dirfd(f.cache), g_strdup_printf("%s/junk", key), 0700), ==, 0);
        unpack_new(&f, "s3");
        g_assert_cmpint(base_commit(f.cache, "s3", key, f.tarball, &st, false), ==, -EEXIST);
        g_assert_true(exists(&f, ".new-s3"));
        base_drop_new(f.cache, "s3");
        g_assert_false(exists(&f, ".new-s3"));
        g_assert_cmpuint(count_prefix(&f, ".old-"), ==, 1);
        /* Dropping what is not there is harmless. */
        base_drop_new(f.cache, "s3");
        g_assert_cmpuint(count_prefix(&f, ".old-"), ==, 1);
        /* A crash's empty .new-<owner> is no obstacle to a new one. */
        unpack_new(&f, "s4");
        g_assert_cmpint(base_new(f.cache, "s4", &(int) { -1 }), ==, 0);
        fixture_teardown(&f);
}

static void test_cache_collect(void) {
        g_auto(GStrv) removed = NULL, removed2 = NULL, removed3 = NULL;
        Fixture f;
        struct stat st;
        char key[BASE_KEY_LEN + 1];
        struct timespec later[2] = { { 0, UTIME_OMIT }, { 1700000000, 0 } };

        fixture_setup(&f);
        tarball_key(&f, &st, key);
        unpack_new(&f, "s1");
        g_assert_cmpint(base_commit(f.cache, "s1", key, f.tarball, &st, false), ==, 0);

        /* Current and unused: kept unless all; in use: kept even then. */
        g_assert_cmpint(base_collect(f.cache, false, &removed), ==, 0);
        g_assert_true(exists(&f, key));
        f.in_use = key;
        g_assert_cmpint(base_collect(f.cache, true, &removed2), ==, 0);
        g_assert_true(exists(&f, key));

        /* The tarball changed: its base is stale, and goes once unused. */
        g_assert_cmpint(utimensat(AT_FDCWD, f.tarball, later, 0), ==, 0);
        g_assert_cmpint(base_collect(f.cache, false, NULL), ==, 0);
        g_assert_true(exists(&f, key));
        f.in_use = NULL;
        g_assert_cmpint(base_collect(f.cache, false, &removed3), ==, 1);
        g_assert_cmpstr(removed3[0], ==, key);
        g_assert_null(removed3[1]);
        g_assert_false(exists(&f, key));
        g_assert_false(base_cache_busy(f.cache));
        fixture_teardown(&f);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/base/key", test_key);
        g_test_add_func("/base/source-text", test_source_text);
        g_test_add_func("/base/valid", test_valid);
        g_test_add_func("/base/cache-commit", test_cache_commit);
        g_test_add_func("/base/cache-conflict", test_cache_conflict);
        g_test_add_func("/base/cache-collect", test_cache_collect);
        return g_test_run();
}
