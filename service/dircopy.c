/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A "directory" chroot is copied into a session as a tar stream: the service walks the
 * tree with its own credentials and the namespace child unpacks the stream with
 * unpack_archive(), so that the copy gets the session's ids and passes the same checks
 * as a tarball. The walk is by hand, relative to dirfds: archive_read_disk wants a path,
 * and we want O_NOFOLLOW on every step. */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "archive-util.h"
#include "dircopy.h"
#include "sparse.h"
#include "unpack.h"
#include "util.h"

#define NOBODY 65534
/* The same as UnpackLimits' default depth: a deeper tree would be refused there. */
#define MAX_DEPTH 256
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

uid_t idshift_uid(const IdShift *s, uid_t host) {
        if (host == s->self_uid)
                return 0;
        if (host >= s->uid_base && host - s->uid_base < s->count)
                return host - s->uid_base;
        if (host < s->count)
                return host;
        return NOBODY;
}

gid_t idshift_gid(const IdShift *s, gid_t host) {
        if (host == s->self_gid)
                return 0;
        if (host >= s->gid_base && host - s->gid_base < s->count)
                return host - s->gid_base;
        if (host < s->count)
                return host;
        return NOBODY;
}

typedef struct Copier {
        struct archive *writer;
        struct archive_entry_linkresolver *links;
        const IdShift *shift;
        dev_t dev;
        char *error;
} Copier;

/* Record why the copy fails, if nothing has yet; %m in fmt is r (a negative errno).
 * Returns r. */
static int fail(Copier *c, int r, const char *fmt, ...) _printf_(3, 4);
static int fail(Copier *c, int r, const char *fmt, ...) {
        int saved = errno;
        va_list ap;

        if (!c->error) {
                if (r < 0)
                        errno = -r;
                va_start(ap, fmt);
                if (vasprintf(&c->error, fmt, ap) < 0)
                        c->error = NULL;
                va_end(ap);
        }
        errno = saved;
        return r;
}

/* "Cannot read 'etc/shadow': Permission denied". Paths are relative, the root is ".";
 * quoted, as a name that is not UTF-8 would make the D-Bus error unsendable. */
static int read_failure(Copier *c, int r, const char *path, const char *why) {
        char q[UNPACK_QUOTE_SIZE];

        unpack_quote_name(q, path[0] ? path : ".");
        if (why)
                return fail(c, r, "Cannot read '%s': %s", q, why);
        return fail(c, r, "Cannot read '%s': %m", q);
}

static int write_failure(Copier *c, const char *path) {
        int e = archive_errno(c->writer);
        char q[UNPACK_QUOTE_SIZE];

        unpack_quote_name(q, path[0] ? path : ".");
        if (e > 0)
                return fail(c, -e, "Cannot write archive at '%s': %m", q);
        return fail(c, -EIO, "Cannot write archive at '%s': %s", q,
                    archive_error_string(c->writer) ?: "unknown error");
}

/* Only xattrs that mean something in a session: user.*, and file capabilities
 * (namespaced by the kernel when they are written as root of the session). trusted.*
 * cannot be written there, and system.posix_acl_* carry host ids we would have to map. */
static bool xattr_wanted(const char *name) {
        return startswith(name, "user.") || streq(name, "security.capability");
}

static int add_xattrs(Copier *c, struct archive_entry *e, int fd, const char *path) {
        _cleanup_free_ char *names = NULL;
        ssize_t n;

        for (;;) {
                n = flistxattr(fd, NULL, 0);
                if (n < 0) {
                        if (errno == ENOTSUP)
                                return 0;
                        return read_failure(c, -errno, path, NULL);
                }
                if (n == 0)
                        return 0;
                free(names);
                names = malloc((size_t) n);
                if (!names)
                        return -ENOMEM;
                n = flistxattr(fd, names, (size_t) n);
                if (n >= 0)
                        break;
                if (errno != ERANGE) /* else the list grew: again */
                        return read_failure(c, -errno, path, NULL);
        }

        for (const char *name = names; name < names + n; name += strlen(name) + 1) {
                _cleanup_free_ void *value = NULL;
                ssize_t size;

                if (!xattr_wanted(name))
                        continue;
                for (;;) {
                        size = fgetxattr(fd, name, NULL, 0);
                        if (size >= 0) {
                                free(value);
                                value = malloc((size_t) size + 1);
                                if (!value)
                                        return -ENOMEM;
                                size = fgetxattr(fd, name, value, (size_t) size);
                        }
                        if (size >= 0 || errno != ERANGE)
                                break;
                }
                if (size < 0) {
                        if (errno == ENODATA) /* removed meanwhile */
                                continue;
                        return read_failure(c, -errno, path, NULL);
                }
                archive_entry_xattr_add_entry(e, name, value, (size_t) size);
        }
        return 0;
}

/* length bytes of the file from offset on. */
static int copy_range(Copier *c, int fd, const char *path, uint64_t offset, uint64_t length) {
        char buf[64 * 1024];

        while (length > 0) {
                ssize_t n = pread(fd, buf, length < sizeof(buf) ? (size_t) length : sizeof(buf),
                                  (off_t) offset);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return read_failure(c, -errno, path, NULL);
                }
                if (n == 0)
                        /* The header with the old size is out: we cannot go on. */
                        return read_failure(c, -EIO, path, "it shrank while being copied");
                if (archive_write_data(c->writer, buf, (size_t) n) != n)
                        return write_failure(c, path);
                offset += (uint64_t) n;
                length -= (uint64_t) n;
        }
        return 0;
}

/* The pax writer leaves out the holes of the sparse map it was given, but wants to be
 * handed them all the same: as zeros, which it does not look at. */
static int skip_hole(Copier *c, const char *path, uint64_t length) {
        static const char zeros[64 * 1024];

        while (length > 0) {
                size_t n = length < sizeof(zeros) ? (size_t) length : sizeof(zeros);

                if (archive_write_data(c->writer, zeros, n) != (la_ssize_t) n)
                        return write_failure(c, path);
                length -= n;
        }
        return 0;
}

/* A regular file's data: with sparse, its n extents x and the holes between them, up
 * to size; else all of it. */
static int copy_data(Copier *c, int fd, const char *path, uint64_t size, bool sparse,
                     const SparseExtent *x, size_t n) {
        uint64_t at = 0;
        int r;

        if (!sparse)
                return copy_range(c, fd, path, 0, size);
        for (size_t i = 0; i < n; i++) {
                r = skip_hole(c, path, x[i].offset - at);
                if (r >= 0)
                        r = copy_range(c, fd, path, x[i].offset, x[i].length);
                if (r < 0)
                        return r;
                at = x[i].offset + x[i].length;
        }
        return skip_hole(c, path, size - at);
}

/* A file with holes becomes a pax sparse member of its data extents (GNU sparse 1.0,
 * which libarchive, GNU tar and bsdtar read), so that a session holding a sparse file
 * of 1 GiB does not repack into 1 GiB of zeros. Returns 1 with its extents in *ret
 * (NULL if it is all hole), 0 for a file without holes, or -errno. */
static int add_sparse_map(Copier *c, struct archive_entry *e, int fd, const char *path,
                          SparseExtent **ret, size_t *ret_n) {
        _cleanup_free_ SparseExtent *x = NULL;
        uint64_t size = (uint64_t) archive_entry_size(e);
        size_t n = 0;
        int r;

        r = sparse_map(fd, size, SPARSE_EXTENTS_MAX, &x, &n);
        if (r < 0)
                return read_failure(c, r, path, NULL);
        if (r == 0)
                return 0;
        for (size_t i = 0; i < n; i++)
                archive_entry_sparse_add_entry(e, (la_int64_t) x[i].offset, (la_int64_t) x[i].length);
        /* All hole: an empty extent at the end still makes it a sparse member. */
        if (n == 0)
                archive_entry_sparse_add_entry(e, (la_int64_t) size, 0);
        /* libarchive drops an extent it cannot allocate without a word, and would then
         * take that data for a hole. */
        if ((size_t) archive_entry_sparse_count(e) != (n ?: 1))
                return -ENOMEM;
        *ret = TAKE_PTR(x);
        *ret_n = n;
        return 1;
}

/* One member. fd is the file itself, for xattrs and the data of regular files; -EBADF
 * for symlinks and fifos, which we do not open. */
static int write_member(Copier *c, const char *path, const struct stat *st, int fd,
                        const char *symlink) {
        _cleanup_archive_entry_ struct archive_entry *e = NULL;
        _cleanup_free_ SparseExtent *extents = NULL;
        struct archive_entry *spare = NULL;
        size_t n_extents = 0;
        bool sparse = false;
        int r;

        e = archive_entry_new();
        if (!e)
                return -ENOMEM;
        archive_entry_set_pathname(e, path[0] ? path : ".");
        /* Mode, mtime, and dev/ino/nlink for the link resolver. Not atime (reading the
         * tree changes it) nor ctime (nobody can restore it): the same tree makes the
         * same stream. */
        archive_entry_copy_stat(e, st);
        archive_entry_unset_atime(e);
        archive_entry_unset_ctime(e);
        archive_entry_unset_birthtime(e);
        archive_entry_set_uid(e, idshift_uid(c->shift, st->st_uid));
        archive_entry_set_gid(e, idshift_gid(c->shift, st->st_gid));
        if (!S_ISREG(st->st_mode))
                archive_entry_set_size(e, 0);
        if (symlink)
                archive_entry_set_symlink(e, symlink);
        if (fd >= 0) {
                r = add_xattrs(c, e, fd, path);
                if (r < 0)
                        return r;
        }

        /* Later names of a multiply linked file become hard links (size 0) to the first. */
        archive_entry_linkify(c->links, &e, &spare);
        archive_entry_free(spare); /* never set for tar */
        if (S_ISREG(st->st_mode) && archive_entry_size(e) > 0) {
                r = add_sparse_map(c, e, fd, path, &extents, &n_extents);
                if (r < 0)
                        return r;
                sparse = r > 0;
        }

        /* ARCHIVE_WARN: a name that is not UTF-8 goes out as raw bytes (hdrcharset=BINARY). */
        if (archive_write_header(c->writer, e) < ARCHIVE_WARN)
                return write_failure(c, path);

        if (S_ISREG(st->st_mode) && archive_entry_size(e) > 0) {
                r = copy_data(c, fd, path, (uint64_t) archive_entry_size(e), sparse, extents,
                              n_extents);
                if (r < 0)
                        return r;
        }
        if (archive_write_finish_entry(c->writer) < ARCHIVE_WARN)
                return write_failure(c, path);
        return 0;
}

static int read_symlink(int dirfd, const char *name, size_t hint, char **ret) {
        size_t size = hint + 1 < 256 ? 256 : hint + 1;

        for (;;) {
                _cleanup_free_ char *buf = malloc(size);
                ssize_t n;

                if (!buf)
                        return -ENOMEM;
                n = readlinkat(dirfd, name, buf, size);
                if (n < 0)
                        return -errno;
                if ((size_t) n < size) {
                        buf[n] = '\0';
                        *ret = TAKE_PTR(buf);
                        return 0;
                }
                size *= 2;
        }
}

static bool same_inode(const struct stat *a, const struct stat *b) {
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
               ((a->st_mode ^ b->st_mode) & S_IFMT) == 0;
}

static int copy_tree(Copier *c, int dirfd, const char *path, unsigned depth);

/* The member at name in dirfd, whose relative path is path. */
static int copy_member(Copier *c, int dirfd, const char *name, const char *path, unsigned depth) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *target = NULL;
        struct stat st, fst;
        int r;

        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return read_failure(c, -errno, path, NULL);

        switch (st.st_mode & S_IFMT) {
        case S_IFDIR:
                if (depth > MAX_DEPTH)
                        return read_failure(c, -EFBIG, path,
                                            "deeper than " STRINGIFY(MAX_DEPTH) " directories");
                fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                break;
        case S_IFREG:
                if (st.st_dev != c->dev) /* a bind-mounted file */
                        return 0;
                /* O_NONBLOCK: should a fifo take its place meanwhile, do not hang on it. */
                fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
                break;
        case S_IFLNK:
                r = read_symlink(dirfd, name, (size_t) st.st_size, &target);
                if (r < 0)
                        return read_failure(c, r, path, NULL);
                return write_member(c, path, &st, -EBADF, target);
        case S_IFIFO:
                return write_member(c, path, &st, -EBADF, NULL);
        default:
                /* Device nodes (Run binds the host's) and sockets (tar has none). */
                return 0;
        }

        if (fd < 0 || fstat(fd, &fst) < 0)
                return read_failure(c, -errno, path, NULL);
        if (!same_inode(&st, &fst))
                return read_failure(c, -EIO, path, "it was replaced while being copied");

        r = write_member(c, path, &fst, fd, NULL);
        if (r < 0)
                return r;

        /* Stay on the file system: a mount point is copied as an empty directory, like
         * /proc in a chroot that is in use. */
        if (S_ISDIR(fst.st_mode) && fst.st_dev == c->dev)
                return copy_tree(c, fd, path, depth);
        return 0;
}

static int compare_names(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The contents of the directory open at dirfd, in name order so that the same tree
 * makes the same stream. */
static int copy_tree(Copier *c, int dirfd, const char *path, unsigned depth) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int fd, r;

        fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return read_failure(c, -errno, path, NULL);
        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                safe_close(fd);
                return read_failure(c, r, path, NULL);
        }

        for (errno = 0; (de = readdir(d)); errno = 0) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (strv_extend(&names, de->d_name) < 0)
                        return -ENOMEM;
        }
        if (errno != 0)
                return read_failure(c, -errno, path, NULL);
        d = (closedir(d), NULL);

        if (names)
                qsort(names, strv_length(names), sizeof(char *), compare_names);

        for (char **n = names; n && *n; n++) {
                _cleanup_free_ char *child = path[0] ? strf("%s/%s", path, *n) : strdup(*n);

                if (!child)
                        return -ENOMEM;
                r = copy_member(c, dirfd, *n, child, depth + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

typedef struct SigpipeGuard {
        sigset_t saved;
        bool blocked;
        bool hit;
} SigpipeGuard;

/* out_fd is usually a pipe to the unpacking child; if that dies, write(2) raises SIGPIPE,
 * which would kill the whole service. Blocked on this thread, the write fails with EPIPE
 * instead, and the pending signal is taken away before the mask is restored. */
static SigpipeGuard sigpipe_block(void) {
        SigpipeGuard g = {};
        sigset_t s;

        sigemptyset(&s);
        sigaddset(&s, SIGPIPE);
        g.blocked = pthread_sigmask(SIG_BLOCK, &s, &g.saved) == 0;
        return g;
}

static void sigpipe_restore(SigpipeGuard *g) {
        if (!g->blocked)
                return;
        if (g->hit && !sigismember(&g->saved, SIGPIPE)) {
                struct timespec zero = {};
                sigset_t s;

                sigemptyset(&s);
                sigaddset(&s, SIGPIPE);
                while (sigtimedwait(&s, NULL, &zero) == SIGPIPE)
                        ;
        }
        pthread_sigmask(SIG_SETMASK, &g->saved, NULL);
}

static void linkresolver_freep(struct archive_entry_linkresolver **l) {
        if (*l)
                archive_entry_linkresolver_free(*l);
}

int dircopy_write_tar(int src_dirfd, int out_fd, const IdShift *shift, char **ret_error) {
        return dircopy_write_tar_filtered(src_dirfd, out_fd, shift, ARCHIVE_FILTER_NONE, ret_error);
}

int dircopy_filter_for_name(const char *name) {
        static const struct {
                const char *suffix;
                int filter;
        } table[] = {
                { ".tar", ARCHIVE_FILTER_NONE },     { ".tar.gz", ARCHIVE_FILTER_GZIP },
                { ".tgz", ARCHIVE_FILTER_GZIP },     { ".tar.xz", ARCHIVE_FILTER_XZ },
                { ".txz", ARCHIVE_FILTER_XZ },       { ".tar.zst", ARCHIVE_FILTER_ZSTD },
                { ".tzst", ARCHIVE_FILTER_ZSTD },    { ".tar.bz2", ARCHIVE_FILTER_BZIP2 },
                { ".tbz", ARCHIVE_FILTER_BZIP2 },    { ".tbz2", ARCHIVE_FILTER_BZIP2 },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (endswith(name, table[i].suffix))
                        return table[i].filter;
        return -EINVAL;
}

int dircopy_write_tar_filtered(int src_dirfd, int out_fd, const IdShift *shift, int filter, char **ret_error) {
        _cleanup_(sigpipe_restore) SigpipeGuard sigpipe = sigpipe_block();
        _cleanup_(locale_pop) LocaleGuard loc = locale_push_utf8();
        _cleanup_(linkresolver_freep) struct archive_entry_linkresolver *links = NULL;
        _cleanup_archive_write_ struct archive *w = NULL;
        _cleanup_free_ char *error = NULL;
        _cleanup_close_ int root_fd = -EBADF;
        Copier c = { .shift = shift };
        struct stat st;
        int r;

        w = archive_write_new();
        links = archive_entry_linkresolver_new();
        if (!w || !links)
                return -ENOMEM;
        if (archive_write_set_format_pax_restricted(w) != ARCHIVE_OK ||
            archive_write_add_filter(w, filter) != ARCHIVE_OK) {
                r = -EINVAL;
                fail(&c, r, "Cannot write archive: %s", strempty(archive_error_string(w)));
                goto finish;
        }
        archive_entry_linkresolver_set_strategy(links, archive_format(w));
        c.writer = w;
        c.links = links;

        if (archive_write_open_fd(w, out_fd) != ARCHIVE_OK) {
                r = write_failure(&c, "");
                goto finish;
        }

        /* src_dirfd may be O_PATH; we need one we can read. */
        root_fd = openat(src_dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0 || fstat(root_fd, &st) < 0) {
                r = read_failure(&c, -errno, "", NULL);
                goto finish;
        }
        c.dev = st.st_dev;

        r = write_member(&c, "", &st, root_fd, NULL);
        if (r >= 0)
                r = copy_tree(&c, root_fd, "", 0);
        if (r >= 0 && archive_write_close(w) != ARCHIVE_OK)
                r = write_failure(&c, "");

finish:
        error = c.error;
        if (r < 0) {
                /* No end-of-archive marker for a partial copy: the reader must see a
                 * truncated stream, not a complete smaller tree. */
                archive_write_fail(w);
                sigpipe.hit = r == -EPIPE;
                if (ret_error)
                        *ret_error = error ? TAKE_PTR(error)
                                           : strf("Cannot copy directory: %s", strerror(-r));
                return r;
        }
        return 0;
}
