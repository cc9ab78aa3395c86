/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "util.h"
#include "catalog.h"
#include "keyfile.h"
#include "names.h"

#include <fcntl.h>
#include <sys/stat.h>

/* A chroots.d file is a handful of lines; anything this big is not one. */
#define CONF_FILE_MAX (1024 * 1024)

static const char *const chroot_type_table[_CHROOT_TYPE_MAX] = {
        [CHROOT_FILE] = "file",
        [CHROOT_DIRECTORY] = "directory",
};

const char *chroot_type_to_string(ChrootType t) {
        if ((int) t < 0 || t >= _CHROOT_TYPE_MAX)
                return NULL;
        return chroot_type_table[t];
}

int chroot_type_from_string(const char *s) {
        if (s)
                for (int i = 0; i < _CHROOT_TYPE_MAX; i++)
                        if (streq(chroot_type_table[i], s))
                                return i;
        return -EINVAL;
}

Chroot *chroot_free(Chroot *c) {
        if (!c)
                return NULL;
        free(c->name);
        free(c->path);
        free(c->description);
        strv_free(c->aliases);
        free(c->union_type);
        free(c);
        return NULL;
}

static void chroot_freep(Chroot **c) {
        chroot_free(*c);
}

Catalog *catalog_free(Catalog *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n; i++)
                chroot_free(c->chroots[i]);
        free(c->chroots);
        strv_free(c->warnings);
        free(c);
        return NULL;
}

static bool chroot_has_name(const Chroot *c, const char *s) {
        return streq(c->name, s) || strv_contains(c->aliases, s);
}

const Chroot *catalog_find(const Catalog *c, const char *name_or_alias) {
        if (!c || !name_or_alias)
                return NULL;
        for (size_t i = 0; i < c->n; i++)
                if (streq(c->chroots[i]->name, name_or_alias))
                        return c->chroots[i];
        for (size_t i = 0; i < c->n; i++)
                if (strv_contains(c->chroots[i]->aliases, name_or_alias))
                        return c->chroots[i];
        return NULL;
}

static Chroot *catalog_find_any(const Catalog *c, const char *s) {
        for (size_t i = 0; i < c->n; i++)
                if (chroot_has_name(c->chroots[i], s))
                        return c->chroots[i];
        return NULL;
}

static int catalog_warn(Catalog *c, const char *fmt, ...) _printf_(2, 3);
static int catalog_warn(Catalog *c, const char *fmt, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return strv_consume(&c->warnings, s);
}

static Chroot *chroot_new(const char *name, ChrootType type, const char *path) {
        _cleanup_(chroot_freep) Chroot *c = NULL;

        c = calloc(1, sizeof(Chroot));
        if (!c)
                return NULL;
        c->type = type;
        c->name = strdup(name);
        c->path = strdup(path);
        c->description = strdup("");
        c->aliases = calloc(1, sizeof(char *));
        if (!c->name || !c->path || !c->description || !c->aliases)
                return NULL;
        return TAKE_PTR(c);
}

/* Adds c to the catalog, unless its name is taken: the first definition wins, and
 * keyfiles are loaded before tarballs. Aliases that are taken are dropped one by one,
 * so a clash costs only the alias. `where` prefixes warnings. Takes ownership of c. */
static int catalog_add(Catalog *cat, Chroot *c, const char *where) {
        _cleanup_(chroot_freep) Chroot *owned = c;
        _cleanup_strv_free_ char **kept = NULL;
        Chroot *other, **l;
        int r;

        other = catalog_find_any(cat, c->name);
        if (other) {
                /* A keyfile that describes a tarball of the sbuild directory (to give it
                 * a description or union-type) is not a clash worth telling about, and
                 * the tarball keeps its NAME-sbuild alias, which sbuild looks for. */
                if (c->type == other->type && streq(c->path, other->path)) {
                        for (char **a = c->aliases; *a; a++)
                                if (!catalog_find_any(cat, *a) && (r = strv_extend(&other->aliases, *a)) < 0)
                                        return r;
                        return 0;
                }
                return catalog_warn(cat, "%s: name '%s' is already used by chroot '%s', skipped",
                                    where, c->name, other->name);
        }

        kept = calloc(1, sizeof(char *));
        if (!kept)
                return -ENOMEM;
        for (char **a = c->aliases; *a; a++) {
                other = catalog_find_any(cat, *a);
                if (other)
                        r = catalog_warn(cat, "%s: alias '%s' is already used by chroot '%s', dropped",
                                         where, *a, other->name);
                else
                        r = strv_extend(&kept, *a);
                if (r < 0)
                        return r;
        }
        strv_free(c->aliases);
        c->aliases = TAKE_PTR(kept);

        l = realloc(cat->chroots, sizeof(Chroot *) * (cat->n + 2));
        if (!l)
                return -ENOMEM;
        cat->chroots = l;
        cat->chroots[cat->n++] = TAKE_PTR(owned);
        cat->chroots[cat->n] = NULL;
        return 0;
}

/* The last component of a directory path, for warnings ("chroots.d/foo.conf"). */
static char *dir_label(const char *path) {
        size_t l = strlen(path);
        const char *s;

        while (l > 1 && path[l - 1] == '/')
                l--;
        s = memrchr(path, '/', l);
        if (s && l > 1) {
                s++;
                return strndup(s, l - (size_t) (s - path));
        }
        return strndup(path, l);
}

static char *path_join(const char *dir, const char *name) {
        size_t l = strlen(dir);

        while (l > 0 && dir[l - 1] == '/')
                l--;
        return strf("%.*s/%s", (int) l, dir, name);
}

/* Opens a directory to scan and lists its non-hidden entries, sorted. Returns 1 and the
 * fd, 0 if the directory does not exist (or was skipped with a warning), or -ENOMEM. */
static bool not_hidden(const struct dirent *de) {
        return de->d_name[0] != '.';
}

/* Open a chroot directory and list its entries (hidden ones left out, sorted), with
 * the label its warnings use. Returns 1, or 0 when there is nothing to load (no path,
 * no such directory, or a warning recorded), or -ENOMEM. */
static int open_and_list(Catalog *cat, const char *path, char **ret_label, int *ret_fd, char ***ret_names) {
        _cleanup_free_ char *label = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_strv_free_ char **names = NULL;
        int r;

        if (!path)
                return 0;
        label = dir_label(path);
        if (!label)
                return -ENOMEM;
        if (path[0] != '/')
                return catalog_warn(cat, "%s: not an absolute path, directory ignored", path);

        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                return catalog_warn(cat, "%s: cannot open directory: %m", label);
        }
        r = dir_list(fd, not_hidden, &names);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                errno = -r;
                return catalog_warn(cat, "%s: cannot read directory: %m", label);
        }
        if (!names && !(names = calloc(1, sizeof(char *))))
                return -ENOMEM;

        *ret_label = TAKE_PTR(label);
        *ret_fd = TAKE_FD(fd);
        *ret_names = TAKE_PTR(names);
        return 1;
}

/* Reads a regular file; -EBADFD if it is something else (a FIFO would block us). */
static int read_conf_file(int dfd, const char *name, char **ret) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        ssize_t n;

        fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        buf = malloc(CONF_FILE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        n = read_full(fd, buf, CONF_FILE_MAX + 1);
        if (n < 0)
                return (int) n;
        if (n > CONF_FILE_MAX)
                return -EFBIG;
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* Turns file=/directory= into an absolute path, expanding a leading "~/". NULL if the
 * value is relative (or "~/" cannot be expanded); -ENOMEM via *ret_oom. */
static char *expand_path(const char *value, bool *ret_oom) {
        const char *rest, *home;
        char *p;

        *ret_oom = false;
        rest = startswith(value, "~/");
        if (rest) {
                home = getenv("HOME");
                if (!home || home[0] != '/')
                        return NULL;
                p = path_join(home, rest);
        } else if (value[0] == '/')
                p = strdup(value);
        else
                return NULL;
        if (!p)
                *ret_oom = true;
        return p;
}

/* Splits "a, b,c" into c->aliases: trimmed, empty items ignored, duplicates and the
 * chroot's own name dropped silently, invalid names dropped with a warning. */
static int parse_aliases(Catalog *cat, const char *where, Chroot *c, const char *value) {
        _cleanup_free_ char *copy = strdup(value);
        char *p, *item;
        int r;

        if (!copy)
                return -ENOMEM;
        for (p = copy; (item = strsep(&p, ",")); ) {
                char *e;

                item += strspn(item, " \t");
                e = item + strlen(item);
                while (e > item && (e[-1] == ' ' || e[-1] == '\t'))
                        *--e = 0;
                if (!*item || streq(item, c->name) || strv_contains(c->aliases, item))
                        continue;
                if (!name_is_valid(item)) {
                        r = catalog_warn(cat, "%s: invalid alias '%s', dropped", where, item);
                        if (r < 0)
                                return r;
                        continue;
                }
                r = strv_extend(&c->aliases, item);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Builds the chroot for one group. Returns 1 and *ret, 0 if it was skipped with a
 * warning, or -ENOMEM. */
static int chroot_from_group(Catalog *cat, const char *label, const KeyFile *kf, size_t i,
                             Chroot **ret) {
        _cleanup_(chroot_freep) Chroot *c = NULL;
        _cleanup_free_ char *where = NULL, *path = NULL;
        const char *group = keyfile_group_name(kf, i);
        const char *type_s, *file, *directory, *value, *key;
        ChrootType type;
        bool oom;
        int r;

        where = strf("%s: [%s]", label, group);
        if (!where)
                return -ENOMEM;
        if (!name_is_valid(group))
                return catalog_warn(cat, "%s: invalid chroot name, skipped", where);

        type_s = keyfile_get(kf, group, "type");
        file = keyfile_get(kf, group, "file");
        directory = keyfile_get(kf, group, "directory");
        if (!type_s) {
                /* schroot would default to "plain"; guessing from the one path key that
                 * is there is friendlier and never ambiguous. */
                if (file && !directory)
                        type_s = "file";
                else if (directory && !file)
                        type_s = "directory";
                else
                        return catalog_warn(cat, "%s: no type= (and not exactly one of file=, directory=), skipped",
                                            where);
        }
        /* schroot's "plain" is a directory without setup scripts; we run none anyway. */
        r = streq(type_s, "plain") ? CHROOT_DIRECTORY : chroot_type_from_string(type_s);
        if (r < 0)
                return catalog_warn(cat, "%s: unsupported type '%s', skipped", where, type_s);
        type = (ChrootType) r;

        key = type == CHROOT_FILE ? "file" : "directory";
        value = type == CHROOT_FILE ? file : directory;
        if (!value || !*value)
                return catalog_warn(cat, "%s: type=%s needs %s=, skipped", where, type_s, key);
        path = expand_path(value, &oom);
        if (oom)
                return -ENOMEM;
        if (!path)
                return catalog_warn(cat, "%s: %s=%s is not an absolute path, skipped", where, key,
                                    value);

        c = chroot_new(group, type, path);
        if (!c)
                return -ENOMEM;

        value = keyfile_get(kf, group, "description");
        if (value) {
                free(c->description);
                c->description = strdup(value);
                if (!c->description)
                        return -ENOMEM;
        }

        value = keyfile_get(kf, group, "union-type");
        if (value) {
                if (!streq(value, "overlay") && !streq(value, "none"))
                        return catalog_warn(cat, "%s: unsupported union-type '%s', skipped", where,
                                            value);
                c->union_type = strdup(value);
                if (!c->union_type)
                        return -ENOMEM;
        }

        value = keyfile_get(kf, group, "package-cache");
        if (value) {
                if (!streq(value, "true") && !streq(value, "false"))
                        return catalog_warn(cat, "%s: package-cache must be true or false, not '%s', skipped", where,
                                            value);
                c->no_package_cache = streq(value, "false");
        }

        value = keyfile_get(kf, group, "boot");
        if (value) {
                if (!streq(value, "true") && !streq(value, "false"))
                        return catalog_warn(cat, "%s: boot must be true or false, not '%s', skipped", where, value);
                c->boot = streq(value, "true");
        }

        value = keyfile_get(kf, group, "max-size");
        if (value) {
                r = parse_size(value, &c->max_size);
                if (r == -ENOMEM)
                        return r;
                if (r < 0 || c->max_size == 0)
                        return catalog_warn(cat, "%s: invalid max-size '%s' (bytes, more than 0, with an "
                                            "optional K, M, G or T suffix for KiB, MiB, GiB or TiB), skipped",
                                            where, value);
        }

        value = keyfile_get(kf, group, "aliases");
        if (value) {
                r = parse_aliases(cat, where, c, value);
                if (r < 0)
                        return r;
        }

        /* Other keys (users=, groups=, profile=, setup.*, ...) are schroot's business; a
         * schroot.conf snippet should load without noise. */
        *ret = TAKE_PTR(c);
        return 1;
}

static int load_confd(Catalog *cat, const char *confd_dir) {
        _cleanup_free_ char *label = NULL;
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_close_ int dfd = -EBADF;
        int r;

        r = open_and_list(cat, confd_dir, &label, &dfd, &names);
        if (r <= 0)
                return r;

        for (char **n = names; *n; n++) {
                _cleanup_(keyfile_freep) KeyFile *kf = NULL;
                _cleanup_free_ char *text = NULL, *flabel = NULL;
                unsigned line = 0;

                if (!endswith(*n, ".conf"))
                        continue;
                flabel = strf("%s/%s", label, *n);
                if (!flabel)
                        return -ENOMEM;

                r = read_conf_file(dfd, *n, &text);
                if (r == -ENOMEM)
                        return r;
                if (r == -EBADFD)
                        r = catalog_warn(cat, "%s: not a regular file, skipped", flabel);
                else if (r == -EFBIG)
                        r = catalog_warn(cat, "%s: larger than %d bytes, skipped", flabel,
                                         CONF_FILE_MAX);
                else if (r < 0)
                        r = catalog_warn(cat, "%s: cannot read: %s, skipped", flabel, strerror(-r));
                else {
                        r = keyfile_parse(text, &kf, &line);
                        if (r == -EBADMSG)
                                r = catalog_warn(cat, "%s:%u: syntax error, file skipped", flabel, line);
                        else if (r >= 0)
                                r = 1;
                }
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;

                for (size_t i = 0; i < keyfile_n_groups(kf); i++) {
                        _cleanup_free_ char *where = NULL;
                        Chroot *c = NULL;

                        r = chroot_from_group(cat, flabel, kf, i, &c);
                        if (r < 0)
                                return r;
                        if (r == 0)
                                continue;
                        where = strf("%s: [%s]", flabel, c->name);
                        if (!where) {
                                chroot_free(c);
                                return -ENOMEM;
                        }
                        r = catalog_add(cat, c, where);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* sbuild --chroot-mode=unshare looks for these, in $XDG_CACHE_HOME/sbuild. */
static const char *const tarball_suffixes[] = {
        ".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.zst", ".tzst",
        ".tar.bz2", ".tbz", ".tbz2",
};

static const char *tarball_suffix(const char *filename) {
        for (size_t i = 0; i < ELEMENTSOF(tarball_suffixes); i++) {
                const char *e = endswith(filename, tarball_suffixes[i]);
                if (e)
                        return e;
        }
        return NULL;
}

static int load_sbuild(Catalog *cat, const char *sbuild_dir) {
        _cleanup_free_ char *label = NULL;
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_close_ int dfd = -EBADF;
        int r;

        r = open_and_list(cat, sbuild_dir, &label, &dfd, &names);
        if (r <= 0)
                return r;

        for (char **n = names; *n; n++) {
                _cleanup_free_ char *name = NULL, *path = NULL, *alias = NULL, *where = NULL;
                Chroot *c;
                const char *suffix;
                struct stat st;

                suffix = tarball_suffix(*n);
                if (!suffix)
                        continue;
                where = strf("%s/%s", label, *n);
                name = strndup(*n, (size_t) (suffix - *n));
                if (!where || !name)
                        return -ENOMEM;
                if (!name_is_valid(name)) {
                        r = catalog_warn(cat, "%s: invalid chroot name '%s', skipped", where, name);
                        if (r < 0)
                                return r;
                        continue;
                }
                /* Follows symlinks on purpose: pointing the cache at tarballs kept
                 * elsewhere is normal, and this is the user's own directory. */
                if (fstatat(dfd, *n, &st, 0) < 0 || !S_ISREG(st.st_mode)) {
                        r = catalog_warn(cat, "%s: not a regular file, skipped", where);
                        if (r < 0)
                                return r;
                        continue;
                }

                path = path_join(sbuild_dir, *n);
                if (!path)
                        return -ENOMEM;
                c = chroot_new(name, CHROOT_FILE, path);
                if (!c)
                        return -ENOMEM;
                /* The schroot-style name sbuild itself would use. */
                alias = strf("%s-sbuild", name);
                if (!alias || (name_is_valid(alias) && strv_extend(&c->aliases, alias) < 0)) {
                        chroot_free(c);
                        return -ENOMEM;
                }
                r = catalog_add(cat, c, where);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int chroot_compare(const void *a, const void *b) {
        return strcmp((*(Chroot *const *) a)->name, (*(Chroot *const *) b)->name);
}

int catalog_load(const char *sbuild_dir, const char *confd_dir, Catalog **ret) {
        _cleanup_(catalog_freep) Catalog *cat = NULL;
        int r;

        cat = calloc(1, sizeof(Catalog));
        if (!cat)
                return -ENOMEM;
        cat->chroots = calloc(1, sizeof(Chroot *));
        cat->warnings = calloc(1, sizeof(char *));
        if (!cat->chroots || !cat->warnings)
                return -ENOMEM;

        /* Keyfiles first: the first definition of a name wins. */
        r = load_confd(cat, confd_dir);
        if (r < 0)
                return r;
        r = load_sbuild(cat, sbuild_dir);
        if (r < 0)
                return r;

        qsort(cat->chroots, cat->n, sizeof(Chroot *), chroot_compare);
        *ret = TAKE_PTR(cat);
        return 0;
}
