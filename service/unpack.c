/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Extraction of a hostile tarball. In production this runs in a child that is root in
 * the session's user namespace and chroot()ed into the destination, so the kernel is the
 * last line of defence; the checks here are the first: they refuse an unsafe archive
 * with a message naming the member instead of half-extracting it, and they hold on
 * their own when (as in the unit tests) there is no chroot around us. libarchive's
 * SECURE_* flags are kept as a second net below ours. */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "archive-util.h"
#include "sparse.h"
#include "unpack.h"
#include "util.h"

/* The free space is looked at every CHECK_BYTES of data written and every
 * CHECK_ENTRIES members, and before a file of CHECK_BYTES or more: each look asks that
 * the reserve stay free after that much more (an fstatvfs() costs a microsecond; 4 MiB
 * take milliseconds to write). */
#define CHECK_BYTES (UINT64_C(4) << 20)
#define CHECK_ENTRIES 1024

/* Longest piece of a member name quoted in a message, in input bytes. */
#define SHOW_MAX 200
#define SHOW_SIZE UNPACK_QUOTE_SIZE
_Static_assert(UNPACK_QUOTE_SIZE >= (SHOW_MAX + 4) * 4 + 4, "quote buffer too small");

typedef struct RootAttrs {
        bool set;
        mode_t mode;
        uid_t uid;
        gid_t gid;
        struct timespec times[2];
} RootAttrs;

typedef struct Unpacker {
        struct archive *reader;
        struct archive *writer;
        int dest_dirfd;
        UnpackLimits limits;
        UnpackFlags flags;
        UnpackStats stats;
        RootAttrs root;
        /* Written since the free space was last looked at: data (not the zeros left
         * out) and members. */
        uint64_t unchecked_bytes;
        uint64_t unchecked_entries;
        char *error;
} Unpacker;

static void unpacker_done(Unpacker *u) {
        /* Freeing the writer runs its directory fixups (modes, times) relative to the
         * working directory, which is why the caller restores that only afterwards. */
        archive_write_freep(&u->writer);
        archive_read_freep(&u->reader);
        free(u->error);
}

/* Record why the unpack fails, if nothing has yet; %m in fmt is r (a negative errno).
 * Returns r. */
static int fail(Unpacker *u, int r, const char *fmt, ...) _printf_(3, 4);
static int fail(Unpacker *u, int r, const char *fmt, ...) {
        int saved = errno;
        va_list ap;

        /* The first message is the one that explains the failure. */
        if (!u->error) {
                if (r < 0)
                        errno = -r;
                va_start(ap, fmt);
                if (vasprintf(&u->error, fmt, ap) < 0)
                        u->error = NULL;
                va_end(ap);
        }
        errno = saved;
        return r;
}

const char *unpack_quote_name(char buf[static UNPACK_QUOTE_SIZE], const char *name) {
        const unsigned char *s = (const unsigned char *) strempty(name);
        char *p = buf;
        size_t used = 0;

        while (*s) {
                /* A sequence has at most 4 bytes, and none holds the NUL that ends s. */
                size_t n = *s >= 0x80 ? utf8_sequence(s, strnlen((const char *) s, 4)) : 1;

                if (used >= SHOW_MAX) {
                        p = stpcpy(p, "...");
                        break;
                }
                if (n > 1) {
                        memcpy(p, s, n);
                        p += n;
                } else if (n == 0 || *s < 0x20 || *s == 0x7f || *s == '\\') {
                        p += sprintf(p, "\\x%02x", *s);
                        n = 1;
                } else
                        *p++ = (char) *s;
                s += n;
                used += n;
        }
        *p = '\0';
        return buf;
}

static const char *quote(char buf[static SHOW_SIZE], const char *name) {
        return unpack_quote_name(buf, name);
}

/* Member names as relative paths without empty or "." components ("./usr//bin/" is
 * "usr/bin"); the archive root ("./", ".", "") becomes ".". Returns -EPERM for absolute
 * names and ".." components: we refuse them rather than strip them, as a tarball that
 * contains one was not made by a tool that meant well. */
static int normalise(const char *name, char **ret, unsigned *ret_depth) {
        _cleanup_free_ char *out = NULL;
        unsigned depth = 0;
        char *o;

        if (name[0] == '/')
                return -EPERM;

        out = malloc(strlen(name) + 2);
        if (!out)
                return -ENOMEM;
        o = out;

        for (const char *p = name; *p;) {
                size_t n = strcspn(p, "/");

                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return -EPERM;
                if (n > 0 && !(n == 1 && p[0] == '.')) {
                        if (o != out)
                                *o++ = '/';
                        memcpy(o, p, n);
                        o += n;
                        depth++;
                }
                p += n;
                if (*p == '/')
                        p++;
        }
        if (o == out)
                *o++ = '.';
        *o = '\0';

        if (ret_depth)
                *ret_depth = depth;
        *ret = TAKE_PTR(out);
        return 0;
}

/* Looks for a symlink among the existing parent directories of path. Returns 1 with the
 * length of the symlink's path in *ret_len, 0 if there is none, or -errno. Components
 * that do not exist yet are fine: the writer creates them as directories. */
static int find_symlink_parent(int dirfd, const char *path, size_t *ret_len) {
        char buf[PATH_MAX];
        size_t len = strlen(path);

        if (len >= sizeof(buf))
                return -ENAMETOOLONG;
        memcpy(buf, path, len + 1);

        for (char *slash = strchr(buf, '/'); slash; slash = strchr(slash + 1, '/')) {
                struct stat st;

                *slash = '\0';
                if (fstatat(dirfd, buf, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT || errno == ENOTDIR)
                                return 0;
                        return -errno;
                }
                if (S_ISLNK(st.st_mode)) {
                        *ret_len = (size_t) (slash - buf);
                        return 1;
                }
                *slash = '/';
        }
        return 0;
}

static int read_failure(Unpacker *u, const char *member) {
        int e = archive_errno(u->reader);
        char b1[SHOW_SIZE], b2[SHOW_SIZE];

        /* libarchive reports bad data as EILSEQ, EINVAL, -1 or 0; only these are our
         * side's trouble rather than the archive's. */
        if (e == ENOMEM || e == EIO || e == EBADF || e == EISDIR)
                return fail(u, -e, "Cannot read archive: %m");

        quote(b1, archive_error_string(u->reader) ?: "unknown error");
        if (member)
                return fail(u, -EBADMSG, "Archive is corrupt: %s (in member '%s')", b1,
                            quote(b2, member));
        return fail(u, -EBADMSG, "Archive is corrupt: %s", b1);
}

static int write_failure(Unpacker *u, const char *path) {
        int e = archive_errno(u->writer);
        char b1[SHOW_SIZE], b2[SHOW_SIZE];

        quote(b1, path);
        if (e > 0)
                return fail(u, -e, "Cannot extract '%s': %m", b1);
        /* No errno: libarchive refused the entry on its own checks (SECURE_SYMLINKS,
         * NODOTDOT...), the net below ours. Whatever slipped through ours: unsafe. */
        return fail(u, -EPERM, "Cannot extract '%s': %s", b1,
                    quote(b2, archive_error_string(u->writer) ?: "unknown error"));
}

static int owner_failure(Unpacker *u, const char *path, uid_t uid, gid_t gid, int e) {
        char b[SHOW_SIZE];

        (void) fail(u, -e, "Cannot set owner of '%s' to %ju:%ju: %m", quote(b, path), (uintmax_t) uid,
                    (uintmax_t) gid);
        /* EINVAL: an id outside the range mapped into the namespace. EPERM: not root at
         * all. Neither makes the archive unsafe, so not -EPERM. */
        return e == EINVAL || e == EPERM ? -EOVERFLOW : -e;
}

/* libarchive reports what it could not restore as ARCHIVE_WARN, a failed write(2) and a
 * failed chown(2) included. After a warning we look at what is on disk: ownership and
 * mode are part of what the tarball says and must be right (a setuid binary silently
 * owned by root would be wrong in a way nobody notices); xattrs, ACLs and timestamps
 * (e.g. trusted.* in a user namespace) are counted and let go. */
static int check_metadata(Unpacker *u, struct archive_entry *e, const char *path, bool hardlink) {
        uid_t uid = (uid_t) archive_entry_uid(e);
        gid_t gid = (gid_t) archive_entry_gid(e);
        char b[SHOW_SIZE];
        struct stat st;

        if (hardlink) {
                /* A hard link without data does not carry metadata. */
                u->stats.warnings++;
                return 0;
        }

        if (fstatat(u->dest_dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return fail(u, -errno, "Cannot extract '%s': %m", quote(b, path));

        if (!(u->flags & UNPACK_NO_OWNER) && (st.st_uid != uid || st.st_gid != gid)) {
                /* Ask again to learn why: libarchive keeps only its last message. */
                if (fchownat(u->dest_dirfd, path, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                        return owner_failure(u, path, uid, gid, errno);
                if (fstatat(u->dest_dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return fail(u, -errno, "Cannot extract '%s': %m", quote(b, path));
        }

        /* Directory modes are set at archive_write_close(); symlinks have none. */
        if (!S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode)) {
                mode_t mask = u->flags & UNPACK_NO_OWNER ? 01777 : 07777;
                mode_t want = (mode_t) archive_entry_perm(e) & mask;

                if ((st.st_mode & mask) != want)
                        return fail(u, -EIO, "Cannot set mode of '%s' to %04o", quote(b, path),
                                    (unsigned) want);
        }

        u->stats.warnings++;
        return 0;
}

/* Overlayfs keeps its own state in these; a tree that may become an overlay layer (a
 * copy-on-write session base) must not take them from a tarball. */
static bool xattr_refused(const char *name) {
        return startswith(name, "trusted.overlay.") || startswith(name, "user.overlay.");
}

static int filter_xattrs(struct archive_entry *e) {
        struct kept {
                char *name;
                void *value;
                size_t size;
        } *kept = NULL;
        size_t n = 0, total;
        bool drop = false;
        const char *name;
        const void *value;
        size_t size;
        int r = 0;

        total = (size_t) archive_entry_xattr_reset(e);
        if (total == 0)
                return 0;
        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
                if (xattr_refused(name))
                        drop = true;
        if (!drop)
                return 0;

        kept = calloc(total, sizeof(*kept));
        if (!kept)
                return -ENOMEM;
        archive_entry_xattr_reset(e);
        while (n < total && archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
                if (xattr_refused(name))
                        continue;
                kept[n].name = strdup(name);
                kept[n].value = malloc(size ?: 1);
                kept[n].size = size;
                if (!kept[n].name || !kept[n].value) {
                        free(kept[n].name);
                        free(kept[n].value);
                        r = -ENOMEM;
                        break;
                }
                memcpy(kept[n].value, value, size);
                n++;
        }
        if (r == 0) {
                archive_entry_xattr_clear(e);
                for (size_t i = 0; i < n; i++)
                        archive_entry_xattr_add_entry(e, kept[i].name, kept[i].value, kept[i].size);
        }
        for (size_t i = 0; i < n; i++) {
                free(kept[i].name);
                free(kept[i].value);
        }
        free(kept);
        return r;
}

/* "16 GiB" for a limit that is a whole number of a binary unit, else "N bytes": limits
 * come from max-size= and read best as they were written. */
static const char *format_size(char buf[static 32], uint64_t n) {
        static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
        const char *unit = "bytes";

        for (size_t i = 0; i < ELEMENTSOF(units) && n >= 1024 && n % 1024 == 0; i++) {
                n /= 1024;
                unit = units[i];
        }
        snprintf(buf, 32, "%" PRIu64 " %s", n, unit);
        return buf;
}

static int over_budget(Unpacker *u, const char *path) {
        char b[SHOW_SIZE], s[32];

        return fail(u, -EFBIG, "Archive exceeds the limit of %s of file data at member '%s'",
                    format_size(s, u->limits.max_bytes), quote(b, path));
}

/* "812.3 MiB": free space, to a tenth (with integers: no locale's decimal point). */
static const char *format_mib(char buf[static 32], uint64_t n) {
        snprintf(buf, 32, "%" PRIu64 ".%" PRIu64 " MiB", n >> 20, ((n & 0xfffff) * 10) >> 20);
        return buf;
}

/* Stops before the destination's file system is nearly full: what a user's other
 * programs need must not be taken by a tarball, and a bomb is stopped there at the
 * latest. Predicted rather than waited for: upcoming is what may be written before the
 * next look, and the members to come may take CHECK_ENTRIES inodes. */
static int check_free(Unpacker *u, uint64_t upcoming) {
        uint64_t unit, avail, left, reserve, inodes, inodes_left;
        char s1[32], s2[32];
        struct statvfs sv;

        u->unchecked_bytes = u->unchecked_entries = 0;
        if (u->limits.reserve_percent == 0)
                return 0;
        if (fstatvfs(u->dest_dirfd, &sv) < 0)
                return fail(u, -errno, "Cannot look at the free space of the file system holding "
                            "the session: %m");

        unit = sv.f_frsize ?: sv.f_bsize;
        avail = (uint64_t) sv.f_bavail * unit;
        left = upcoming < avail ? avail - upcoming : 0;
        reserve = (uint64_t) sv.f_blocks * unit / 100 * u->limits.reserve_percent;
        if (reserve > u->limits.reserve_max)
                reserve = u->limits.reserve_max;
        if (left < reserve)
                return fail(u, -ENOSPC, "Stopped unpacking: only %s would be left free on the file "
                            "system holding the session (reserve %s)",
                            format_mib(s1, left), format_mib(s2, reserve));

        /* btrfs has no fixed number of inodes, and says 0. */
        inodes = (uint64_t) sv.f_files / 100 * u->limits.reserve_percent;
        inodes_left = CHECK_ENTRIES < sv.f_favail ? (uint64_t) sv.f_favail - CHECK_ENTRIES : 0;
        if (sv.f_files > 0 && inodes_left < inodes)
                return fail(u, -ENOSPC, "Stopped unpacking: only %" PRIu64 " inodes would be left "
                            "free on the file system holding the session (reserve %" PRIu64 ")",
                            inodes_left, inodes);
        return 0;
}

/* Writes a block that libarchive delivered, but for its blocks of zeros. The file is
 * new (libarchive creates it O_EXCL, after unlinking whatever was in the way), so what
 * is not written reads as zeros; libarchive seeks over the gaps and, when the entry is
 * finished, sets the file's size with ftruncate(), so trailing zeros are a hole too. */
static int write_data(Unpacker *u, const char *path, const void *buf, size_t len, int64_t offset) {
        size_t pos = 0, start, n;

        while (sparse_next_data(buf, len, (uint64_t) offset, &pos, &start, &n)) {
                /* A failed write(2) (ENOSPC, EDQUOT) is only ARCHIVE_WARN here, so
                 * anything but OK is fatal. */
                if (archive_write_data_block(u->writer, (const char *) buf + start, n,
                                             offset + (int64_t) start) != ARCHIVE_OK)
                        return write_failure(u, path);
                u->unchecked_bytes += n;
        }
        return u->unchecked_bytes >= CHECK_BYTES ? check_free(u, CHECK_BYTES) : 0;
}

/* The data of a regular file of size bytes. Leaving zeros out is right only where
 * nothing was written before, so data must come in order, without overlaps (as every
 * tar writer stores it), and within the file's size. */
static int copy_data(Unpacker *u, const char *path, uint64_t size) {
        uint64_t next = 0;
        char b[SHOW_SIZE];

        for (;;) {
                const void *buf;
                size_t len;
                la_int64_t offset;
                int r;

                r = archive_read_data_block(u->reader, &buf, &len, &offset);
                if (r == ARCHIVE_EOF)
                        return 0;
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                        return read_failure(u, path);
                if (offset < 0 || (uint64_t) offset < next || (uint64_t) offset > size ||
                    len > size - (uint64_t) offset)
                        return fail(u, -EBADMSG,
                                    "Archive is corrupt: member '%s' has data out of order or "
                                    "beyond its size", quote(b, path));
                next = (uint64_t) offset + len;
                /* Counted as delivered, zeros and all: what a bomb costs is the time
                 * to decompress it, whether or not its data reaches the disk. */
                if (len > u->limits.max_bytes - u->stats.bytes)
                        return over_budget(u, path);
                u->stats.bytes += len;
                r = write_data(u, path, buf, len, offset);
                if (r < 0)
                        return r;
        }
}

static void remember_root(Unpacker *u, struct archive_entry *e) {
        u->root = (RootAttrs) {
                .set = true,
                .mode = (mode_t) archive_entry_perm(e) & 07777,
                .uid = (uid_t) archive_entry_uid(e),
                .gid = (gid_t) archive_entry_gid(e),
                .times = {
                        { .tv_nsec = UTIME_OMIT },
                        { .tv_nsec = UTIME_OMIT },
                },
        };
        if (archive_entry_atime_is_set(e))
                u->root.times[0] = (struct timespec) { archive_entry_atime(e),
                                                       archive_entry_atime_nsec(e) };
        if (archive_entry_mtime_is_set(e))
                u->root.times[1] = (struct timespec) { archive_entry_mtime(e),
                                                       archive_entry_mtime_nsec(e) };
}

/* The root entry ("./") describes the destination itself. libarchive would restore its
 * times at once, and every later member would then bump the mtime again, so it is done
 * here, after everything else. */
static int apply_root(Unpacker *u) {
        mode_t mode = u->root.mode;

        if (!u->root.set)
                return 0;

        if (u->flags & UNPACK_NO_OWNER)
                mode &= ~(mode_t) (S_ISUID | S_ISGID);
        else if (fchownat(u->dest_dirfd, "", u->root.uid, u->root.gid, AT_EMPTY_PATH) < 0)
                return owner_failure(u, ".", u->root.uid, u->root.gid, errno);

        /* After the chown, which clears setgid. */
        if (fchmodat(u->dest_dirfd, ".", mode, 0) < 0)
                return fail(u, -errno, "Cannot set mode of the archive root: %m");
        if (utimensat(u->dest_dirfd, ".", u->root.times, 0) < 0)
                return fail(u, -errno, "Cannot set times of the archive root: %m");
        return 0;
}

/* The member's name as a relative path in *ret_path, and a hard link's target in
 * *ret_target (NULL for other members), both normalised and within the limits. */
static int check_names(Unpacker *u, struct archive_entry *e, char **ret_path, char **ret_target) {
        _cleanup_free_ char *path = NULL, *target = NULL;
        const char *name = archive_entry_pathname(e), *hardlink = archive_entry_hardlink(e);
        char b1[SHOW_SIZE], b2[SHOW_SIZE];
        unsigned depth;
        int r;

        if (!name || !name[0])
                return fail(u, -EBADMSG, "Archive is corrupt: member without a name");

        /* Names first, for every member: an unsafe name marks a hostile archive even on
         * an entry that we would skip. */
        r = normalise(name, &path, &depth);
        if (r == -EPERM)
                return fail(u, r, "Unsafe member name '%s' in archive", quote(b1, name));
        if (r < 0)
                return fail(u, r, "Cannot extract '%s': %m", quote(b1, name));
        if (depth > u->limits.max_depth)
                return fail(u, -EFBIG, "Member '%s' exceeds the limit of %u path components",
                            quote(b1, path), u->limits.max_depth);
        /* Longer names would make libarchive chdir() around (edit_deep_directories),
         * which our checks do not follow. No real root file system needs them. */
        if (strlen(path) >= PATH_MAX)
                return fail(u, -EFBIG, "Member '%s' exceeds the limit of %d bytes for a name",
                            quote(b1, path), PATH_MAX - 1);
        if (hardlink) {
                r = normalise(hardlink, &target, NULL);
                if (r == -EPERM || (r >= 0 && streq(target, ".")))
                        return fail(u, -EPERM, "Unsafe hard link target '%s' for member '%s'",
                                    quote(b1, hardlink), quote(b2, path));
                if (r < 0)
                        return fail(u, r, "Cannot extract '%s': %m", quote(b1, path));
        }
        *ret_path = TAKE_PTR(path);
        *ret_target = TAKE_PTR(target);
        return 0;
}

/* Returns 1 for members that are not extracted: device nodes and sockets (counted), and
 * the archive root, whose attributes are kept for apply_root(); 0 for the others. */
static int check_type(Unpacker *u, struct archive_entry *e, const char *path, bool hardlink) {
        mode_t type = archive_entry_filetype(e);
        char b[SHOW_SIZE];

        /* A session has ids 0..65535; the unpack child may have one more (the user,
         * as 65536, to reach the session's directory: idmap.h), which no file of a
         * tarball may get. */
        if (!(u->flags & UNPACK_NO_OWNER) && !hardlink &&
            (archive_entry_uid(e) >= UNPACK_IDS || archive_entry_gid(e) >= UNPACK_IDS))
                return fail(u, -EOVERFLOW, "Member '%s' is owned by %jd:%jd, outside the ids of a session (0..%u)",
                            quote(b, path), (intmax_t) archive_entry_uid(e), (intmax_t) archive_entry_gid(e),
                            UNPACK_IDS - 1);

        if (!hardlink)
                switch (type) {
                case AE_IFCHR:
                case AE_IFBLK:
                        /* Run binds the host's nodes; mknod would fail in a user
                         * namespace anyway. */
                        u->stats.skipped_devices++;
                        return 1;
                case AE_IFSOCK:
                        u->stats.skipped_other++;
                        return 1;
                case AE_IFREG:
                case AE_IFDIR:
                case AE_IFLNK:
                case AE_IFIFO:
                        break;
                default:
                        return fail(u, -EBADMSG,
                                    "Archive is corrupt: member '%s' has unknown type 0%o",
                                    quote(b, path), (unsigned) type);
                }

        if (streq(path, ".")) {
                if (hardlink || type != AE_IFDIR)
                        return fail(u, -EPERM, "Archive root '%s' is not a directory",
                                    quote(b, archive_entry_pathname(e)));
                remember_root(u, e);
                return 1;
        }
        return 0;
}

/* No symlink among the member's existing parents. */
static int check_parents(Unpacker *u, char *path) {
        char b1[SHOW_SIZE], b2[SHOW_SIZE];
        size_t len;
        int r;

        r = find_symlink_parent(u->dest_dirfd, path, &len);
        if (r < 0)
                return fail(u, r, "Cannot extract '%s': %m", quote(b1, path));
        if (r > 0) {
                path[len] = '\0';
                quote(b2, path);
                path[len] = '/';
                return fail(u, -EPERM, "Member '%s' would be written through symlink '%s'",
                            quote(b1, path), b2);
        }
        return 0;
}

static int check_hardlink(Unpacker *u, struct archive_entry *e, const char *path, char *target) {
        char b1[SHOW_SIZE], b2[SHOW_SIZE];
        struct stat st;
        size_t len;
        int r;

        if (streq(target, path))
                return fail(u, -EBADMSG, "Archive is corrupt: member '%s' is a hard link to itself",
                            quote(b1, path));
        /* link(2) follows symlinks in the target's directories (never the last
         * component): a link to "l/passwd" with l -> /etc would pin a host file. */
        r = find_symlink_parent(u->dest_dirfd, target, &len);
        if (r < 0)
                return fail(u, r, "Cannot extract '%s': %m", quote(b1, path));
        if (r > 0) {
                target[len] = '\0';
                quote(b2, target);
                return fail(u, -EPERM, "Hard link '%s' would point through symlink '%s'",
                            quote(b1, path), b2);
        }
        if (fstatat(u->dest_dirfd, target, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno != ENOENT && errno != ENOTDIR)
                        return fail(u, -errno, "Cannot extract '%s': %m", quote(b1, path));
                return fail(u, -EBADMSG,
                            "Archive is corrupt: member '%s' is a hard link to '%s', "
                            "which is not in the archive before it",
                            quote(b1, path), quote(b2, target));
        }
        if (S_ISDIR(st.st_mode))
                return fail(u, -EPERM, "Member '%s' is a hard link to directory '%s'",
                            quote(b1, path), quote(b2, target));
        archive_entry_set_hardlink(e, target);
        /* pax lets a hard link carry data again; libarchive would write it by
         * opening the new name, and so through the target if that is a symlink.
         * The first member already carried the data: drop this copy. */
        archive_entry_set_size(e, 0);
        return 0;
}

/* The data that the archive will deliver for a regular file: its size, or for a member
 * stored sparse, the sum of its data extents (its holes are not delivered). */
static uint64_t declared_data(struct archive_entry *e, uint64_t size) {
        la_int64_t offset, length;
        uint64_t sum = 0;

        if (archive_entry_sparse_reset(e) == 0)
                return size;
        while (archive_entry_sparse_next(e, &offset, &length) == ARCHIVE_OK)
                if (length > 0)
                        sum = (uint64_t) length > UINT64_MAX - sum ? UINT64_MAX
                                                                    : sum + (uint64_t) length;
        return sum;
}

/* A regular file's size, and a symlink's target. A file whose data would take the
 * archive past max_bytes is refused before anything of it is written. */
static int check_contents(Unpacker *u, struct archive_entry *e, const char *path) {
        char b[SHOW_SIZE];

        if (archive_entry_filetype(e) == AE_IFREG) {
                int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
                uint64_t data;

                if (size < 0)
                        return fail(u, -EBADMSG,
                                    "Archive is corrupt: member '%s' has a negative size",
                                    quote(b, path));
                data = declared_data(e, (uint64_t) size);
                if (data > u->limits.max_bytes - u->stats.bytes)
                        return over_budget(u, path);
                /* Its zeros would cost nothing, but a file this large is seldom all
                 * zeros: better to stop before writing it than in the middle. */
                if (data >= CHECK_BYTES)
                        return check_free(u, data);
        } else if (archive_entry_filetype(e) == AE_IFLNK) {
                const char *link = archive_entry_symlink(e);

                if (!link || !link[0])
                        return fail(u, -EBADMSG, "Archive is corrupt: symlink '%s' has no target",
                                    quote(b, path));
        }
        return 0;
}

static int write_entry(Unpacker *u, struct archive_entry *e, const char *path, bool hardlink) {
        char b[SHOW_SIZE];
        bool warned;
        int r;

        r = filter_xattrs(e);
        if (r < 0)
                return fail(u, r, "Cannot extract '%s': %m", quote(b, path));
        archive_entry_set_pathname(e, path);

        r = archive_write_header(u->writer, e);
        if (r < ARCHIVE_WARN)
                return write_failure(u, path);
        warned = r == ARCHIVE_WARN;

        /* libarchive sets the size to 0 when it opened no file (links, dirs, fifos). */
        if (!hardlink && archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0) {
                r = copy_data(u, path, (uint64_t) archive_entry_size(e));
                if (r < 0)
                        return r;
        }

        r = archive_write_finish_entry(u->writer);
        if (r < ARCHIVE_WARN)
                return write_failure(u, path);
        if (r == ARCHIVE_WARN || warned)
                return check_metadata(u, e, path, hardlink);
        return 0;
}

static int unpack_entry(Unpacker *u, struct archive_entry *e) {
        _cleanup_free_ char *path = NULL, *target = NULL;
        int r;

        r = check_names(u, e, &path, &target);
        if (r < 0)
                return r;
        r = check_type(u, e, path, target != NULL);
        if (r != 0)
                return r < 0 ? r : 0;
        r = check_parents(u, path);
        if (r < 0)
                return r;
        r = target ? check_hardlink(u, e, path, target) : check_contents(u, e, path);
        if (r < 0)
                return r;
        return write_entry(u, e, path, target != NULL);
}

static int open_reader(Unpacker *u, int fd) {
        u->reader = archive_read_new();
        if (!u->reader)
                return fail(u, -ENOMEM, "Cannot read archive: %m");

        /* tar only (ustar, pax, GNU, v7: one reader): chroots come as tarballs, and
         * format_all would add a dozen parsers as attack surface, mtree among them, whose
         * "contents=" keyword reads files from the extracting side. Only the compressions
         * that Debian's libarchive decodes in-process: the others (lrzip, lzop, grzip...)
         * exec an external program. */
        if (archive_read_support_format_tar(u->reader) != ARCHIVE_OK ||
            archive_read_support_filter_gzip(u->reader) < ARCHIVE_WARN ||
            archive_read_support_filter_xz(u->reader) < ARCHIVE_WARN ||
            archive_read_support_filter_zstd(u->reader) < ARCHIVE_WARN ||
            archive_read_support_filter_bzip2(u->reader) < ARCHIVE_WARN)
                return fail(u, -EOPNOTSUPP, "Cannot read archive: %s",
                            strempty(archive_error_string(u->reader)));

        if (archive_read_open_fd(u->reader, fd, 64 * 1024) != ARCHIVE_OK)
                return read_failure(u, NULL);
        return 0;
}

static int open_writer(Unpacker *u) {
        /* Not FFLAGS: immutable or append-only files would outlive End. Not UNLINK: the
         * destination starts empty and libarchive replaces what is in the way anyway.
         * No user/group lookup: ids are the archive's numbers, and the names would be
         * resolved in whatever /etc/passwd the extracting side sees. */
        int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |
                    ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                    ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS;

        if (!(u->flags & UNPACK_NO_OWNER))
                flags |= ARCHIVE_EXTRACT_OWNER;

        u->writer = archive_write_disk_new();
        if (!u->writer)
                return fail(u, -ENOMEM, "Cannot extract archive: %m");
        if (archive_write_disk_set_options(u->writer, flags) != ARCHIVE_OK)
                return fail(u, -EINVAL, "Cannot extract archive: %s",
                            strempty(archive_error_string(u->writer)));
        return 0;
}

static int unpack_run(Unpacker *u, int fd) {
        int r;

        r = open_reader(u, fd);
        if (r < 0)
                return r;
        r = open_writer(u);
        if (r < 0)
                return r;
        r = check_free(u, CHECK_BYTES);
        if (r < 0)
                return r;

        for (;;) {
                struct archive_entry *e;

                r = archive_read_next_header(u->reader, &e);
                if (r == ARCHIVE_EOF)
                        break;
                /* ARCHIVE_WARN is about names that did not convert and pax records we
                 * ignore: the entry is still there. ARCHIVE_RETRY is a damaged header
                 * that bsdtar would skip; a skipped member is a broken chroot. */
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                        return read_failure(u, NULL);

                if (++u->stats.entries > u->limits.max_entries)
                        return fail(u, -EFBIG, "Archive exceeds the limit of %" PRIu64 " entries",
                                    u->limits.max_entries);
                if (++u->unchecked_entries >= CHECK_ENTRIES) {
                        r = check_free(u, CHECK_BYTES);
                        if (r < 0)
                                return r;
                }

                r = unpack_entry(u, e);
                if (r < 0)
                        return r;
        }

        /* Sets the modes and times of directories, which had to stay writable (and kept
         * changing) while their contents were written. */
        if (archive_write_close(u->writer) < ARCHIVE_WARN)
                return write_failure(u, ".");

        return apply_root(u);
}

static void cwd_restore(int *fd) {
        if (*fd < 0)
                return;
        (void) fchdir(*fd);
        *fd = safe_close(*fd);
}

int unpack_archive_full(int fd, int dest_dirfd, const UnpackLimits *limits, UnpackFlags flags,
                        UnpackStats *ret_stats, char **ret_error) {
        /* Declaration order is cleanup order reversed: the archives go first (the
         * writer's fixups need the destination as cwd), then the cwd, then the locale. */
        _cleanup_(locale_pop) LocaleGuard loc = locale_push_utf8();
        _cleanup_(cwd_restore) int saved_cwd = -EBADF;
        _cleanup_(unpacker_done) Unpacker u = {
                .dest_dirfd = dest_dirfd,
                .limits = limits ? *limits : UNPACK_LIMITS_DEFAULT,
                .flags = flags,
        };
        int r;

        /* libarchive works on paths relative to the working directory. */
        saved_cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (saved_cwd < 0)
                r = fail(&u, -errno, "Cannot open the working directory: %m");
        else if (fchdir(dest_dirfd) < 0)
                r = fail(&u, -errno, "Cannot enter the destination directory: %m");
        else
                r = unpack_run(&u, fd);

        if (r < 0) {
                if (ret_error)
                        *ret_error = u.error ? TAKE_PTR(u.error)
                                             : strf("Cannot unpack archive: %s", strerror(-r));
                return r;
        }
        if (ret_stats)
                *ret_stats = u.stats;
        return 0;
}

int unpack_archive(int fd, int dest_dirfd, const UnpackLimits *limits, UnpackStats *ret_stats,
                   char **ret_error) {
        return unpack_archive_full(fd, dest_dirfd, limits, 0, ret_stats, ret_error);
}
