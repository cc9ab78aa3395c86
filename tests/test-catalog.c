/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <glib/gstdio.h>
#include <sys/stat.h>

#include "util.h"
#include "catalog.h"

typedef struct Fixture {
        char *root;
        char *sbuild; /* <root>/sbuild */
        char *confd;  /* <root>/chroots.d */
} Fixture;

static void rm_rf(const char *path) {
        if (!g_file_test(path, G_FILE_TEST_IS_SYMLINK) && g_file_test(path, G_FILE_TEST_IS_DIR)) {
                g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
                const char *n;

                while (d && (n = g_dir_read_name(d))) {
                        g_autofree char *p = g_build_filename(path, n, NULL);
                        rm_rf(p);
                }
                (void) g_rmdir(path);
        } else
                (void) g_unlink(path);
}

static void fixture_setup(Fixture *f, gconstpointer data) {
        GError *error = NULL;

        f->root = g_dir_make_tmp("test-catalog-XXXXXX", &error);
        g_assert_no_error(error);
        f->sbuild = g_build_filename(f->root, "sbuild", NULL);
        f->confd = g_build_filename(f->root, "chroots.d", NULL);
        g_assert_cmpint(g_mkdir(f->sbuild, 0755), ==, 0);
        g_assert_cmpint(g_mkdir(f->confd, 0755), ==, 0);
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
        rm_rf(f->root);
        g_free(f->root);
        g_free(f->sbuild);
        g_free(f->confd);
}

static void put(const char *dir, const char *name, const char *contents) {
        g_autofree char *p = g_build_filename(dir, name, NULL);
        GError *error = NULL;

        g_file_set_contents(p, contents, -1, &error);
        g_assert_no_error(error);
}

static bool has_warning(const Catalog *c, const char *needle) {
        for (char **w = c->warnings; *w; w++)
                if (strstr(*w, needle))
                        return true;
        return false;
}

static void dump_warnings(const Catalog *c) {
        for (char **w = c->warnings; *w; w++)
                g_test_message("warning: %s", *w);
}

static void assert_no_warnings(const Catalog *c) {
        dump_warnings(c);
        g_assert_cmpuint(strv_length(c->warnings), ==, 0);
}

static void test_types(void) {
        g_assert_cmpstr(chroot_type_to_string(CHROOT_FILE), ==, "file");
        g_assert_cmpstr(chroot_type_to_string(CHROOT_DIRECTORY), ==, "directory");
        g_assert_null(chroot_type_to_string(_CHROOT_TYPE_MAX));
        g_assert_cmpint(chroot_type_from_string("file"), ==, CHROOT_FILE);
        g_assert_cmpint(chroot_type_from_string("directory"), ==, CHROOT_DIRECTORY);
        g_assert_cmpint(chroot_type_from_string("plain"), ==, -EINVAL);
        g_assert_cmpint(chroot_type_from_string(""), ==, -EINVAL);
        g_assert_cmpint(chroot_type_from_string(NULL), ==, -EINVAL);
}

static void test_missing_dirs(Fixture *f, gconstpointer data) {
        _cleanup_(catalog_freep) Catalog *a = NULL, *b = NULL;
        g_autofree char *nosuch = g_build_filename(f->root, "nosuch", NULL);

        g_assert_cmpint(catalog_load(nosuch, nosuch, &a), ==, 0);
        g_assert_cmpuint(a->n, ==, 0);
        g_assert_nonnull(a->chroots);
        g_assert_null(a->chroots[0]);
        assert_no_warnings(a);
        g_assert_null(catalog_find(a, "anything"));

        g_assert_cmpint(catalog_load(NULL, NULL, &b), ==, 0);
        g_assert_cmpuint(b->n, ==, 0);
        assert_no_warnings(b);
}

static void test_suffixes(Fixture *f, gconstpointer data) {
        static const char *const suffixes[] = {
                ".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.zst", ".tzst",
                ".tar.bz2", ".tbz", ".tbz2",
        };
        _cleanup_(catalog_freep) Catalog *c = NULL;

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                g_autofree char *n = g_strdup_printf("chroot%zu%s", i, suffixes[i]);
                put(f->sbuild, n, "not really a tarball");
        }
        /* Not tarballs by name: ignored without a word. */
        put(f->sbuild, "README", "");
        put(f->sbuild, "foo.zst", "");
        put(f->sbuild, "foo.tar.zst.part", "");
        put(f->sbuild, "foo.tar.lz4", "");
        /* Hidden: ignored too (e.g. a download in progress). */
        put(f->sbuild, ".partial.tar.zst", "");

        g_assert_cmpint(catalog_load(f->sbuild, f->confd, &c), ==, 0);
        assert_no_warnings(c);
        g_assert_cmpuint(c->n, ==, ELEMENTSOF(suffixes));
        g_assert_null(c->chroots[c->n]);

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                g_autofree char *name = g_strdup_printf("chroot%zu", i);
                g_autofree char *alias = g_strdup_printf("chroot%zu-sbuild", i);
                g_autofree char *file = g_strdup_printf("chroot%zu%s", i, suffixes[i]);
                g_autofree char *path = g_build_filename(f->sbuild, file, NULL);
                const Chroot *ch = catalog_find(c, name);

                g_assert_nonnull(ch);
                g_assert_cmpstr(ch->name, ==, name);
                g_assert_cmpint(ch->type, ==, CHROOT_FILE);
                g_assert_cmpstr(ch->path, ==, path);
                g_assert_cmpstr(ch->description, ==, "");
                g_assert_null(ch->union_type);
                g_assert_cmpuint(ch->max_size, ==, 0); /* tarballs found get the default */
                g_assert_false(ch->boot);
                g_assert_cmpuint(strv_length(ch->aliases), ==, 1);
                g_assert_cmpstr(ch->aliases[0], ==, alias);
                g_assert_true(catalog_find(c, alias) == ch);
        }
}

static void test_tarball_alias_and_path(Fixture *f, gconstpointer data) {
        _cleanup_(catalog_freep) Catalog *c = NULL;
        g_autofree char *slashed = g_strconcat(f->sbuild, "//", NULL);
        g_autofree char *expected = g_build_filename(f->sbuild, "bookworm-amd64.tar.zst", NULL);
        const Chroot *ch;

        put(f->sbuild, "bookworm-amd64.tar.zst", "");
        /* A trailing slash on the directory does not end up in the path. */
        g_assert_cmpint(catalog_load(slashed, NULL, &c), ==, 0);
        assert_no_warnings(c);
        g_assert_cmpuint(c->n, ==, 1);
        ch = catalog_find(c, "bookworm-amd64-sbuild");
        g_assert_nonnull(ch);
        g_assert_cmpstr(ch->name, ==, "bookworm-amd64");
        g_assert_cmpstr(ch->path, ==, expected);
        g_assert_null(catalog_find(c, "bookworm"));
        g_assert_null(catalog_find(c, "bookworm-amd64.tar.zst"));
        g_assert_null(catalog_find(c, NULL));
}

static void test_tarball_skips(Fixture *f, gconstpointer data) {
        _cleanup_(catalog_freep) Catalog *c = NULL;
        g_autofree char *dir = g_build_filename(f->sbuild, "adir.tar.gz", NULL);
        g_autofree char *target = g_build_filename(f->root, "elsewhere.tar.xz", NULL);
        g_autofree char *link = g_build_filename(f->sbuild, "linked.tar.xz", NULL);
        g_autofree char *dangling = g_build_filename(f->sbuild, "dangling.tar.xz", NULL);
        g_autofree char *dirlink = g_build_filename(f->sbuild, "dirlink.tar", NULL);
        g_autofree char *fifo = g_build_filename(f->sbuild, "fifo.tar", NULL);
        g_autofree char *longname = NULL;
        const Chroot *ch;

        put(f->sbuild, "good.tar.gz", "");
        put(f->sbuild, "bad name.tar.gz", "");
        put(f->sbuild, "-dash.tar.gz", "");
        put(f->sbuild, "b\xc3\xb6se.tar.gz", "");
        g_assert_cmpint(g_mkdir(dir, 0755), ==, 0);
        put(f->root, "elsewhere.tar.xz", "");
        g_assert_cmpint(symlink(target, link), ==, 0);
        g_assert_cmpint(symlink("/nonexistent/x.tar.xz", dangling), ==, 0);
        g_assert_cmpint(symlink(f->root, dirlink), ==, 0);
        g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);

        /* 128 chars is a valid name; its "-sbuild" alias would be too long and is left out. */
        longname = g_strnfill(128, 'l');
        {
                g_autofree char *n = g_strconcat(longname, ".tar", NULL);
                put(f->sbuild, n, "");
        }

        g_assert_cmpint(catalog_load(f->sbuild, f->confd, &c), ==, 0);
        dump_warnings(c);
        g_assert_cmpuint(c->n, ==, 3);
        g_assert_nonnull(catalog_find(c, "good"));
        ch = catalog_find(c, "linked");
        g_assert_nonnull(ch);
        g_assert_cmpstr(ch->path, ==, link); /* the link, as the user named it */
        ch = catalog_find(c, longname);
        g_assert_nonnull(ch);
        g_assert_cmpuint(strv_length(ch->aliases), ==, 0);

        g_assert_true(has_warning(c, "sbuild/bad name.tar.gz: invalid chroot name"));
        g_assert_true(has_warning(c, "sbuild/-dash.tar.gz: invalid chroot name"));
        g_assert_true(has_warning(c, "sbuild/b\xc3\xb6se.tar.gz: invalid chroot name"));
        g_assert_true(has_warning(c, "sbuild/adir.tar.gz: not a regular file"));
        g_assert_true(has_warning(c, "sbuild/dangling.tar.xz: not a regular file"));
        g_assert_true(has_warning(c, "sbuild/dirlink.tar: not a regular file"));
        g_assert_true(has_warning(c, "sbuild/fifo.tar: not a regular file"));
        g_assert_cmpuint(strv_length(c->warnings), ==, 7);
}

static void test_keyfile(Fixture *f, gconstpointer data) {
        _cleanup_(catalog_freep) Catalog *c = NULL;
        const Chroot *ch;

        g_setenv("HOME", "/home/tester/", TRUE);
        put(f->confd, "main.conf",
            "# comment\n"
            "[sid]\n"
            "type=directory\n"
            "directory=/srv/chroot/sid\n"
            "description=Debian unstable\n"
            "aliases= unstable , sid-amd64,,default ,unstable\n"
            "union-type=overlay\n"
            "users=alice\n"
            "groups=sbuild\n"
            "root-groups=root\n"
            "profile=sbuild\n"
            "setup.fstab=default/fstab\n"
            "personality=linux\n"
            "preserve-environment=true\n"
            "description[de]=Debian Unstable, deutsch\n"
            "\n"
            "[bookworm]\n"
            "type=file\n"
            "file=~/images/bookworm.tar.gz\n"
            "union-type=none\n"
            "max-size=512M\n"
            "boot=true\n"
            "\n"
            "[trixie]\n"
            "file=/srv/trixie.tar.zst\n"
            "boot=false\n"
            "\n"
            "[old]\n"
            "type=plain\n"
            "directory=/srv/old\n");

        g_assert_cmpint(catalog_load(f->sbuild, f->confd, &c), ==, 0);
        assert_no_warnings(c);
        g_assert_cmpuint(c->n, ==, 4);

        ch = catalog_find(c, "sid");
        g_assert_nonnull(ch);
        g_assert_cmpint(ch->type, ==, CHROOT_DIRECTORY);
        g_assert_cmpstr(ch->path, ==, "/srv/chroot/sid");
        g_assert_cmpstr(ch->description, ==, "Debian unstable");
        g_assert_cmpstr(ch->union_type, ==, "overlay");
        g_assert_cmpuint(strv_length(ch->aliases), ==, 3);
        g_assert_cmpstr(ch->aliases[0], ==, "unstable");
        g_assert_cmpstr(ch->aliases[1], ==, "sid-amd64");
        g_assert_cmpstr(ch->aliases[2], ==, "default");
        g_assert_true(catalog_find(c, "unstable") == ch);
        g_assert_true(catalog_find(c, "default") == ch);
        g_assert_false(ch->boot); /* not given: Begin decides */

        ch = catalog_find(c, "bookworm");
        g_assert_nonnull(ch);
        g_assert_cmpint(ch->type, ==, CHROOT_FILE);
        g_assert_cmpstr(ch->path, ==, "/home/tester/images/bookworm.tar.gz");
        g_assert_cmpstr(ch->description, ==, "");
        g_assert_cmpstr(ch->union_type, ==, "none");
        g_assert_cmpuint(ch->max_size, ==, UINT64_C(512) << 20);
        g_assert_true(ch->boot);
        g_assert_nonnull(ch->aliases);
        g_assert_null(ch->aliases[0]);

        /* No type=: inferred from the one path key given. */
        ch = catalog_find(c, "trixie");
        g_assert_nonnull(ch);
        g_assert_cmpint(ch->type, ==, CHROOT_FILE);
        g_assert_null(ch->union_type);
        g_assert_cmpuint(ch->max_size, ==, 0); /* the default */
        g_assert_false(ch->boot);

        /* schroot's "plain" is a directory. */
        ch = catalog_find(c, "old");
        g_assert_nonnull(ch);
        g_assert_cmpint(ch->type, ==, CHROOT_DIRECTORY);
        g_assert_cmpstr(ch->path, ==, "/srv/old");
}

static void test_keyfile_bad_entries(Fixture *f, gconstpointer data) {
        _cleanup_(catalog_freep) Catalog *c = NULL;
        const Chroot *ch;

        g_unsetenv("HOME");
        put(f->confd, "foo.conf",
            "[bad/name]\ntype=directory\ndirectory=/srv/x\n"
            "[.hidden]\ntype=directory\ndirectory=/srv/x\n"
            "[relative]\ntype=directory\ndirectory=srv/x\n"
            "[tilde]\ntype=file\nfile=~/x.tar\n"          /* no $HOME here */
            "[tilde-user]\ntype=file\nfile=~bob/x.tar\n"
            "[nofile]\ntype=file\ndirectory=/srv/x\n"
            "[emptyfile]\ntype=file\nfile=\n"
            "[nodir]\ntype=directory\n"
            "[notype]\n"
            "[both]\nfile=/a.tar\ndirectory=/a\n"
            "[lvm]\ntype=lvm-snapshot\ndevice=/dev/vg/x\n"
            "[aufs]\ntype=directory\ndirectory=/srv/x\nunion-type=aufs\n"
            "[size-word]\ntype=file\nfile=/x.tar\nmax-size=lots\n"
            "[size-zero]\ntype=file\nfile=/x.tar\nmax-size=0\n"
            "[size-huge]\ntype=file\nfile=/x.tar\nmax-size=16777216T\n"
            "[size-unit]\ntype=file\nfile=/x.tar\nmax-size=16GiB\n"
            "[boot-yes]\ntype=file\nfile=/x.tar\nboot=yes\n"
            "[boot-empty]\ntype=file\nfile=/x.tar\nboot=\n"
            "[badalias]\ntype=directory\ndirectory=/srv/ok\naliases=fine, not fine,/abs\n");

        g_assert_cmpint(catalog_load(f->sbuild, f->confd, &c), ==, 0);
        dump_warnings(c);

        g_assert_cmpuint(c->n, ==, 1);
        ch = catalog_find(c, "badalias");
        g_assert_nonnull(ch);
        g_assert_cmpuint(strv_length(ch->aliases), ==, 1);
        g_assert_cmpstr(ch->aliases[0], ==, "fine");

        g_assert_true(has_warning(c, "chroots.d/foo.conf: [bad/name]: invalid chroot name, skipped"));
        g_assert_true(has_warning(c, "chroots.d/foo.conf: [.hidden]: invalid chroot name"));
        g_assert_true(has_warning(c, "[relative]: directory=srv/x is not an absolute path"));
        g_assert_true(has_warning(c, "[tilde]: file=~/x.tar is not an absolute path"));
        g_assert_true(has_warning(c, "[tilde-user]: file=~bob/x.tar is not an absolute path"));
        g_assert_true(has_warning(c, "[nofile]: type=file needs file="));
        g_assert_true(has_warning(c, "[emptyfile]: type=file needs file="));
        g_assert_true(has_warning(c, "[nodir]: type=directory needs directory="));
        g_assert_true(has_warning(c, "[notype]: no type="));
        g_assert_true(has_warning(c, "[both]: no type="));
        g_assert_true(has_warning(c, "[lvm]: unsupported type 'lvm-snapshot'"));
        g_assert_true(has_warning(c, "[aufs]: unsupported union-type 'aufs'"));
        g_assert_true(has_warning(c, "[size-word]: invalid max-size 'lots' (bytes, more than 0, with an "
                                     "optional K, M, G or T suffix for KiB, MiB, GiB or TiB), skipped"));
        g_assert_true(has_warning(c, "[size-zero]: invalid max-size '0'"));
        g_assert_true(has_warning(c, "[size-huge]: invalid max-size '16777216T'"));
        g_assert_true(has_warning(c, "[size-unit]: invalid max-size '16GiB'"));
        /* Only true and false, as for package-cache=: a chroot that may or may not boot
         * is not guessed at. */
        g_assert_true(has_warning(c, "[boot-yes]: boot must be true or false, not 'yes', skipped"));
        g_assert_true(has_warning(c, "[boot-empty]: boot must be true or false, not '', skipped"));
        g_assert_true(has_warning(c, "[badalias]: invalid alias 'not fine'"));
        g_assert_true(has_warning(c, "[badalias]: invalid alias '/abs'"));
        g_assert_cmpuint(strv_length(c->warnings), ==, 20);
}

static void test_keyfile_files(Fixture *f, gconstpointer data) {
        _cleanup_(catalog_freep) Catalog *c = NULL;
        g_autofree char *subdir = g_build_filename(f->confd, "dir.conf", NULL);
        g_autofree char *big = g_malloc(2 * 1024 * 1024 + 1);

        put(f->confd, "good.conf", "[good]\ntype=directory\ndirectory=/srv/good\n");
        put(f->confd, "broken.conf", "[ok]\ntype=directory\ndirectory=/srv/ok\n\noops\n");
        put(f->confd, "dup.conf", "[a]\ntype=directory\ndirectory=/a\n[a]\n");
        put(f->confd, "notes.txt", "[ignored]\ntype=directory\ndirectory=/srv/x\n");
        put(f->confd, "good.conf~", "[ignored2]\ntype=directory\ndirectory=/srv/x\n");
        put(f->confd, ".hidden.conf", "[ignored3]\ntype=directory\ndirectory=/srv/x\n");
        g_assert_cmpint(g_mkdir(subdir, 0755), ==, 0);
        memset(big, '#', 2 * 1024 * 1024);
        big[2 * 1024 * 1024] = 0;
        put(f->confd, "huge.conf", big);

        g_assert_cmpint(catalog_load(f->sbuild, f->confd, &c), ==, 0);
        dump_warnings(c);
        g_assert_cmpuint(c->n, ==, 1);
        g_assert_nonnull(catalog_find(c, "good"));
        /* A file with a syntax error is skipped whole, even the groups before the error. */
        g_assert_null(catalog_find(c, "ok"));
        g_assert_null(catalog_find(c, "a"));
        g_assert_true(has_warning(c, "chroots.d/broken.conf:5: syntax error"));
        g_assert_true(has_warning(c, "chroots.d/dup.conf:4: syntax error"));
        g_assert_true(has_warning(c, "chroots.d/dir.conf: not a regular file"));
        g_assert_true(has_warning(c, "chroots.d/huge.conf: larger than"));
        g_assert_cmpuint(strv_length(c->warnings), ==, 4);
}

static void test_precedence(Fixture *f, gconstpointer data) {
        _cleanup_(catalog_freep) Catalog *c = NULL;
        g_autofree char *same_path = g_build_filename(f->sbuild, "same.tar.gz", NULL);
        g_autofree char *conf = g_strdup_printf("[same]\ntype=file\nfile=%s\ndescription=described\n"
                                                "max-size=2G\n",
                                                same_path);
        const Chroot *ch;

        put(f->sbuild, "bookworm-amd64.tar.zst", "");
        put(f->sbuild, "same.tar.gz", "");
        put(f->sbuild, "dup.tar.gz", "");
        put(f->sbuild, "dup.tar.zst", "");
        put(f->sbuild, "stable.tar", "");
        put(f->confd, "10-first.conf",
            "[bookworm-amd64]\ntype=directory\ndirectory=/srv/bookworm\n"
            "[x]\ntype=directory\ndirectory=/srv/x-first\naliases=shared\n"
            "[deb]\ntype=directory\ndirectory=/srv/deb\naliases=stable\n");
        put(f->confd, "20-second.conf",
            "[x]\ntype=directory\ndirectory=/srv/x-second\n"
            "[y]\ntype=directory\ndirectory=/srv/y\naliases=shared, y1\n"
            "[shared]\ntype=directory\ndirectory=/srv/shared\n");
        put(f->confd, "30-same.conf", conf);

        g_assert_cmpint(catalog_load(f->sbuild, f->confd, &c), ==, 0);
        dump_warnings(c);

        /* Keyfile over tarball; the tarball's alias goes with it. */
        ch = catalog_find(c, "bookworm-amd64");
        g_assert_nonnull(ch);
        g_assert_cmpint(ch->type, ==, CHROOT_DIRECTORY);
        g_assert_cmpstr(ch->path, ==, "/srv/bookworm");
        g_assert_null(catalog_find(c, "bookworm-amd64-sbuild"));
        g_assert_true(has_warning(c, "sbuild/bookworm-amd64.tar.zst: name 'bookworm-amd64' is already used"));

        /* Earlier file over later file, for names and for aliases. */
        ch = catalog_find(c, "x");
        g_assert_cmpstr(ch->path, ==, "/srv/x-first");
        g_assert_true(has_warning(c, "chroots.d/20-second.conf: [x]: name 'x' is already used by chroot 'x'"));
        g_assert_true(catalog_find(c, "shared") == ch);
        ch = catalog_find(c, "y");
        g_assert_nonnull(ch);
        g_assert_cmpuint(strv_length(ch->aliases), ==, 1);
        g_assert_cmpstr(ch->aliases[0], ==, "y1");
        g_assert_true(has_warning(c, "[y]: alias 'shared' is already used by chroot 'x', dropped"));
        g_assert_true(has_warning(c, "[shared]: name 'shared' is already used by chroot 'x'"));

        /* A keyfile alias shadows a tarball's name. */
        g_assert_cmpstr(catalog_find(c, "stable")->name, ==, "deb");
        g_assert_true(has_warning(c, "sbuild/stable.tar: name 'stable' is already used by chroot 'deb'"));

        /* Two tarballs for one name: the first by file name wins. */
        ch = catalog_find(c, "dup");
        g_assert_true(g_str_has_suffix(ch->path, "/dup.tar.gz"));
        g_assert_true(has_warning(c, "sbuild/dup.tar.zst: name 'dup' is already used"));

        /* A keyfile describing the very same tarball is no clash worth a warning; that
         * is how a tarball of the sbuild directory gets a max-size. */
        ch = catalog_find(c, "same");
        g_assert_cmpstr(ch->description, ==, "described");
        g_assert_true(catalog_find(c, "same-sbuild") == ch); /* and it keeps the tarball's alias */
        g_assert_cmpuint(ch->max_size, ==, UINT64_C(2) << 30);
        g_assert_false(has_warning(c, "same.tar.gz"));

        g_assert_cmpuint(strv_length(c->warnings), ==, 6);
        g_assert_cmpuint(c->n, ==, 6);
}

static void test_sorted(Fixture *f, gconstpointer data) {
        _cleanup_(catalog_freep) Catalog *c = NULL;
        static const char *const expected[] = { "A", "a", "b", "b-1", "b.1", "c", "m", "z" };

        put(f->sbuild, "z.tar", "");
        put(f->sbuild, "b.tar", "");
        put(f->sbuild, "A.tar", "");
        put(f->sbuild, "b.1.tar", "");
        put(f->sbuild, "b-1.tar", "");
        put(f->confd, "x.conf",
            "[m]\ntype=directory\ndirectory=/m\n"
            "[c]\ntype=directory\ndirectory=/c\n");
        put(f->confd, "w.conf", "[a]\ntype=directory\ndirectory=/a\n");

        g_assert_cmpint(catalog_load(f->sbuild, f->confd, &c), ==, 0);
        assert_no_warnings(c);
        g_assert_cmpuint(c->n, ==, ELEMENTSOF(expected));
        for (size_t i = 0; i < ELEMENTSOF(expected); i++)
                g_assert_cmpstr(c->chroots[i]->name, ==, expected[i]);
        g_assert_null(c->chroots[c->n]);
}

static void test_relative_dirs(Fixture *f, gconstpointer data) {
        _cleanup_(catalog_freep) Catalog *c = NULL;

        g_assert_cmpint(catalog_load("relative/sbuild", "relative/chroots.d", &c), ==, 0);
        dump_warnings(c);
        g_assert_cmpuint(c->n, ==, 0);
        g_assert_true(has_warning(c, "relative/sbuild: not an absolute path"));
        g_assert_true(has_warning(c, "relative/chroots.d: not an absolute path"));
}

static void test_not_a_directory(Fixture *f, gconstpointer data) {
        _cleanup_(catalog_freep) Catalog *c = NULL;
        g_autofree char *file = g_build_filename(f->root, "plainfile", NULL);

        put(f->root, "plainfile", "");
        g_assert_cmpint(catalog_load(file, NULL, &c), ==, 0);
        dump_warnings(c);
        g_assert_cmpuint(c->n, ==, 0);
        g_assert_true(has_warning(c, "plainfile: cannot open directory"));
}

#define ADD(path, fn) \
        g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/catalog/types", test_types);
        ADD("/catalog/missing-dirs", test_missing_dirs);
        ADD("/catalog/suffixes", test_suffixes);
        ADD("/catalog/tarball-alias-path", test_tarball_alias_and_path);
        ADD("/catalog/tarball-skips", test_tarball_skips);
        ADD("/catalog/keyfile", test_keyfile);
        ADD("/catalog/keyfile-bad-entries", test_keyfile_bad_entries);
        ADD("/catalog/keyfile-files", test_keyfile_files);
        ADD("/catalog/precedence", test_precedence);
        ADD("/catalog/sorted", test_sorted);
        ADD("/catalog/relative-dirs", test_relative_dirs);
        ADD("/catalog/not-a-directory", test_not_a_directory);
        return g_test_run();
}
