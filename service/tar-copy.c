/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tar-copy.h"
#include "archive-util.h"
#include "util.h"

#include <assert.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>

#define COPY_BLOCK (64 * 1024)

static void linkresolver_freep(struct archive_entry_linkresolver **l) {
        if (*l)
                archive_entry_linkresolver_free(*l);
}

static int fail(int r, char **ret_error, const char *fmt, ...) _printf_(3, 4);
static int fail(int r, char **ret_error, const char *fmt, ...) {
        va_list ap;

        if (ret_error) {
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return r;
}

static int archive_fail(struct archive *a, int fallback, char **ret_error, const char *what) {
        int e = archive_errno(a);

        return fail(e > 0 ? -e : fallback, ret_error, "%s: %s", what, archive_error_string(a) ?: "failed");
}

/* The entry's name in the stream: top_name, and below it what follows path. */
static char *stream_name(const char *path, const char *top_name, const char *disk_name) {
        size_t l = strlen(path);

        if (strncmp(disk_name, path, l) != 0)
                return NULL;
        if (disk_name[l] == 0)
                return strdup(top_name);
        /* path "/" gives names "/etc"; others "path/etc" */
        return strf("%s/%s", top_name, disk_name + l + (disk_name[l] == '/'));
}

static int copy_entry_data(struct archive *disk, struct archive *out) {
        _cleanup_free_ char *buf = malloc(COPY_BLOCK);
        la_ssize_t n;

        if (!buf)
                return -ENOMEM;
        while ((n = archive_read_data(disk, buf, COPY_BLOCK)) > 0)
                if (archive_write_data(out, buf, (size_t) n) != n)
                        return -EIO;
        return n < 0 ? -EIO : 0;
}

int tar_copy_out(const char *path, const char *top_name, int out_fd, TarCopyFlags flags, char **ret_error) {
        _cleanup_(locale_pop) LocaleGuard loc = locale_push_utf8();
        _cleanup_archive_read_ struct archive *disk = NULL;
        _cleanup_archive_write_ struct archive *out = NULL;
        _cleanup_archive_entry_ struct archive_entry *entry = NULL;
        _cleanup_(linkresolver_freep) struct archive_entry_linkresolver *links = NULL;
        struct stat st;
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (lstat(path, &st) < 0)
                return fail(-errno, ret_error, "Cannot copy '%s': %m", path);
        disk = archive_read_disk_new();
        out = archive_write_new();
        entry = archive_entry_new();
        links = archive_entry_linkresolver_new();
        if (!disk || !out || !entry || !links)
                return -ENOMEM;
        /* Hard links as tar has them: the first one whole, the others naming it. */
        archive_entry_linkresolver_set_strategy(links, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
        if (archive_read_disk_set_symlink_physical(disk) != ARCHIVE_OK ||
            archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS | ARCHIVE_READDISK_NO_XATTR |
                                                         ARCHIVE_READDISK_NO_ACL | ARCHIVE_READDISK_NO_FFLAGS) !=
                    ARCHIVE_OK ||
            archive_read_disk_open(disk, path) != ARCHIVE_OK)
                return archive_fail(disk, -EIO, ret_error, path);
        if (archive_write_set_format_pax_restricted(out) != ARCHIVE_OK ||
            archive_write_set_bytes_in_last_block(out, 1) != ARCHIVE_OK || archive_write_open_fd(out, out_fd) != ARCHIVE_OK)
                return archive_fail(out, -EIO, ret_error, "Cannot write the stream");

        for (;;) {
                _cleanup_free_ char *name = NULL;

                archive_entry_clear(entry);
                r = archive_read_next_header2(disk, entry);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return archive_fail(disk, -EIO, ret_error, path);
                name = stream_name(path, top_name, archive_entry_pathname(entry));
                if (!name)
                        return fail(-EIO, ret_error, "Unexpected name below '%s': %s", path,
                                    archive_entry_pathname(entry));
                archive_entry_set_pathname(entry, name);
                if (flags & TAR_COPY_OWNER_ROOT) {
                        archive_entry_set_uid(entry, 0);
                        archive_entry_set_gid(entry, 0);
                }
                archive_entry_set_uname(entry, NULL);
                archive_entry_set_gname(entry, NULL);
                {
                        struct archive_entry *e = entry, *spare = NULL;
                        /* The tar strategy never holds an entry back. */
                        archive_entry_linkify(links, &e, &spare);
                        assert(e == entry && !spare);
                }
                if (archive_write_header(out, entry) < ARCHIVE_WARN)
                        return archive_fail(out, -EIO, ret_error, name);
                if (archive_entry_filetype(entry) == AE_IFREG && !archive_entry_hardlink(entry) &&
                    archive_entry_size(entry) > 0 &&
                    copy_entry_data(disk, out) < 0)
                        return archive_fail(archive_errno(out) ? out : disk, -EIO, ret_error, name);
                if (archive_read_disk_can_descend(disk))
                        (void) archive_read_disk_descend(disk);
        }
        if (archive_write_close(out) != ARCHIVE_OK)
                return archive_fail(out, -EIO, ret_error, "Cannot finish the stream");
        return 0;
}

/* Where extraction goes: into dest, or as dest (the top-level entry renamed). */
typedef struct Target {
        char *dir;      /* the directory entries are extracted into */
        char *rename;   /* the new name of the stream's top-level entry, or NULL */
        char *top;      /* the stream's top-level entry, once seen */
} Target;

static void target_done(Target *t) {
        free(t->dir);
        free(t->rename);
        free(t->top);
}

static int target_of(const char *dest, Target *ret, char **ret_error) {
        _cleanup_free_ char *d = strdup(dest), *b = strdup(dest);
        const char *parent;
        struct stat st;

        if (!d || !b)
                return -ENOMEM;
        /* Resolved now: the checks on the stream's names (no "..", no symlink on the
         * way) then see only what the stream adds to it. */
        if (stat(dest, &st) == 0 && S_ISDIR(st.st_mode)) {
                ret->dir = realpath(dest, NULL);
                return ret->dir ? 0 : fail(-errno, ret_error, "Cannot resolve '%s': %m", dest);
        }
        /* "dir/" names a directory, never a new name for what comes. */
        if (endswith(dest, "/"))
                return fail(-ENOENT, ret_error, "No such directory: %s", dest);
        ret->rename = strdup(basename(b));
        if (!ret->rename)
                return -ENOMEM;
        if (streq(ret->rename, ".") || streq(ret->rename, "..") || streq(ret->rename, "/"))
                return fail(-EINVAL, ret_error, "Cannot copy to '%s'", dest);
        parent = dirname(d);
        ret->dir = realpath(parent, NULL);
        if (!ret->dir || stat(ret->dir, &st) < 0 || !S_ISDIR(st.st_mode))
                return fail(-ENOENT, ret_error, "No such directory: %s", parent);
        return 0;
}

/* name as it goes to disk: below t->dir, its top component renamed. NULL: refused
 * (*ret_r -errno), or nothing to make (*ret_r 0). A stream whose first entry is "."
 * (a directory's contents: copy_top_name()) has that as its top-level entry. */
static char *target_path(Target *t, const char *name, int *ret_r, char **ret_error) {
        bool dot;
        size_t l;

        while (startswith(name, "./"))
                name += 2;
        dot = !*name || streq(name, ".");
        l = strcspn(name, "/");
        *ret_r = -EINVAL;
        if (!t->rename) {
                if (dot) {
                        *ret_r = 0; /* the directory extracted into: nothing to make */
                        return NULL;
                }
                return strf("%s/%s", t->dir, name);
        }
        if (!t->top && !(t->top = dot ? strdup(".") : strndup(name, l))) {
                *ret_r = -ENOMEM;
                return NULL;
        }
        if (streq(t->top, "."))
                return dot ? strf("%s/%s", t->dir, t->rename) : strf("%s/%s/%s", t->dir, t->rename, name);
        if (dot || strlen(t->top) != l || strncmp(t->top, name, l) != 0) {
                fail(-EINVAL, ret_error, "The stream holds more than one top-level entry ('%s', '%.*s') to copy as one",
                     t->top, dot ? 1 : (int) l, dot ? "." : name);
                return NULL;
        }
        return strf("%s/%s%s", t->dir, t->rename, name + l);
}

static int extract_entry(struct archive *in, struct archive *disk, struct archive_entry *entry, Target *t,
                         TarCopyFlags flags, char **ret_error) {
        _cleanup_free_ char *path = NULL, *link = NULL;
        const char *name = archive_entry_pathname(entry), *hard = archive_entry_hardlink(entry);
        mode_t type = archive_entry_filetype(entry);
        int r;

        if (!name)
                return fail(-EINVAL, ret_error, "An entry of the stream has no name");
        if ((flags & TAR_COPY_HOSTILE) && (type == AE_IFCHR || type == AE_IFBLK))
                return fail(-EPERM, ret_error, "Refusing the device node '%s'", name);
        path = target_path(t, name, &r, ret_error);
        if (!path)
                return r == -EINVAL && ret_error && !*ret_error ? fail(r, ret_error, "Refusing the name '%s'", name) : r;
        archive_entry_set_pathname(entry, path);
        if (hard) {
                link = target_path(t, hard, &r, ret_error);
                if (!link)
                        return r ? r : fail(-EINVAL, ret_error, "Refusing the hard link to '%s'", hard);
                archive_entry_set_hardlink(entry, link);
        }
        if (archive_write_header(disk, entry) < ARCHIVE_OK)
                return archive_fail(disk, -EIO, ret_error, name);
        if (archive_entry_size(entry) > 0) {
                const void *buf;
                size_t size;
                la_int64_t off;

                while ((r = archive_read_data_block(in, &buf, &size, &off)) == ARCHIVE_OK)
                        if (archive_write_data_block(disk, buf, size, off) < ARCHIVE_OK)
                                return archive_fail(disk, -EIO, ret_error, name);
                if (r != ARCHIVE_EOF)
                        return archive_fail(in, -EIO, ret_error, name);
        }
        if (archive_write_finish_entry(disk) < ARCHIVE_OK)
                return archive_fail(disk, -EIO, ret_error, name);
        return 0;
}

int tar_copy_in(int in_fd, const char *dest, TarCopyFlags flags, char **ret_error) {
        _cleanup_(locale_pop) LocaleGuard loc = locale_push_utf8();
        _cleanup_archive_read_ struct archive *in = NULL;
        _cleanup_archive_write_ struct archive *disk = NULL;
        _cleanup_(target_done) Target t = {};
        struct archive_entry *entry;
        int extract = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                      ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_UNLINK;
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (flags & TAR_COPY_RESTORE_OWNER)
                extract |= ARCHIVE_EXTRACT_OWNER;
        if (flags & TAR_COPY_HOSTILE)
                extract |= ARCHIVE_EXTRACT_SECURE_SYMLINKS;
        r = target_of(dest, &t, ret_error);
        if (r < 0)
                return r;
        in = archive_read_new();
        disk = archive_write_disk_new();
        if (!in || !disk)
                return -ENOMEM;
        if (archive_read_support_format_tar(in) != ARCHIVE_OK || archive_read_open_fd(in, in_fd, COPY_BLOCK) != ARCHIVE_OK)
                return archive_fail(in, -EIO, ret_error, "Cannot read the stream");
        if (archive_write_disk_set_options(disk, extract) != ARCHIVE_OK)
                return archive_fail(disk, -EIO, ret_error, "Cannot extract");
        /* The absolute names made here (dest/...) are ours: only the stream's are checked. */
        archive_write_disk_set_options(disk, extract & ~ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
        while ((r = archive_read_next_header(in, &entry)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
                const char *name = archive_entry_pathname(entry), *hard = archive_entry_hardlink(entry);

                if ((name && name[0] == '/') || (hard && hard[0] == '/'))
                        return fail(-EPERM, ret_error, "Refusing the absolute name '%s'", name[0] == '/' ? name : hard);
                r = extract_entry(in, disk, entry, &t, flags, ret_error);
                if (r < 0)
                        return r;
        }
        if (r != ARCHIVE_EOF)
                return archive_fail(in, -EIO, ret_error, "Cannot read the stream");
        if (t.rename && !t.top)
                return fail(-EINVAL, ret_error, "The stream is empty");
        if (archive_write_close(disk) != ARCHIVE_OK)
                return archive_fail(disk, -EIO, ret_error, "Cannot finish the copy");
        return 0;
}
