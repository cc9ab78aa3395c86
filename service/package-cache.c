/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "package-cache.h"
#include "rmtree.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

bool package_file_name_is_valid(const char *name) {
        size_t n = strlen(name), underscores = 0;

        if (n < 7 || n > 255 || !endswith(name, ".deb") || !isalnum((unsigned char) name[0]))
                return false;
        for (const char *c = name; *c; c++) {
                if (*c == '_')
                        underscores++;
                else if (!isalnum((unsigned char) *c) && !strchr(".+~%-", *c))
                        return false;
        }
        return underscores == 2;
}

int package_cache_layers(const char *packages_dir, const char *chroot, const char *id, char **ret_lower,
                         char **ret_upper, char **ret_work) {
        _cleanup_free_ char *lower = strf("%s/%s/" PACKAGE_CACHE_LAYER, packages_dir, chroot),
                            *upper = strf("%s/%s/sessions/%s/upper", packages_dir, chroot, id),
                            *work = strf("%s/%s/sessions/%s/work", packages_dir, chroot, id);

        if (!lower || !upper || !work)
                return -ENOMEM;
        *ret_lower = TAKE_PTR(lower);
        *ret_upper = TAKE_PTR(upper);
        *ret_work = TAKE_PTR(work);
        return 0;
}

/* mkdirat that accepts a directory already there (made by another session). */
static int mkdir_at(int dirfd, const char *name, mode_t mode) {
        if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int open_dir(int dirfd, const char *name) {
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int package_cache_prepare(int packagesfd, const char *chroot, const char *id) {
        _cleanup_close_ int chrootfd = -EBADF, layerfd = -EBADF, sessionsfd = -EBADF, sessfd = -EBADF;
        int r;

        if ((r = mkdir_at(packagesfd, chroot, 0755)) < 0 || (chrootfd = r = open_dir(packagesfd, chroot)) < 0)
                return r;
        if ((r = mkdir_at(chrootfd, PACKAGE_CACHE_LAYER, 0755)) < 0 ||
            (layerfd = r = open_dir(chrootfd, PACKAGE_CACHE_LAYER)) < 0 || (r = mkdir_at(layerfd, "partial", 0755)) < 0)
                return r;
        /* Searchable: the session's leader opens its layers as the user, before its maps. */
        if ((r = mkdir_at(chrootfd, "sessions", 0755)) < 0 || (sessionsfd = r = open_dir(chrootfd, "sessions")) < 0)
                return r;
        if ((r = mkdir_at(sessionsfd, id, 0755)) < 0 || (sessfd = r = open_dir(sessionsfd, id)) < 0)
                return r;
        /* upper/ is the root of /var/cache/apt/archives inside, as apt makes it. */
        if ((r = mkdir_at(sessfd, "upper", 0755)) < 0 || (r = mkdir_at(sessfd, "work", 0700)) < 0)
                return r;
        return 0;
}

/* overlayfs's own attributes (user.overlay.*, with userxattr) mean nothing in the cache,
 * where the file is a lower layer's. */
static void drop_overlay_xattrs(int fd) {
        char names[4096];
        ssize_t n = flistxattr(fd, names, sizeof(names));

        for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t) strlen(names + i) + 1)
                if (startswith(names + i, "user.overlay."))
                        (void) fremovexattr(fd, names + i);
}

/* Move upper/name into partial/ unless partial/ has it. 1: added, 0: there already or
 * not a package, -errno: failed. */
static int promote_one(int upperfd, int partialfd, const char *name) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        if (!package_file_name_is_valid(name) || fstatat(upperfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
            !S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_size == 0)
                return 0;
        if (renameat2(upperfd, name, partialfd, name, RENAME_NOREPLACE) < 0) {
                if (errno != EEXIST)
                        return -errno;
                /* Used again: gc keeps it. */
                (void) utimensat(partialfd, name, NULL, AT_SYMLINK_NOFOLLOW);
                return 0;
        }
        /* Ours now, and no session's: whatever its owner, mode and times were inside. */
        fd = openat(partialfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (geteuid() == 0 && fchown(fd, 0, 0) < 0)
                return -errno;
        if (fchmod(fd, 0644) < 0 || futimens(fd, NULL) < 0)
                return -errno;
        drop_overlay_xattrs(fd);
        return 1;
}

int package_cache_promote(int packagesfd, const char *chroot, const char *id) {
        _cleanup_close_ int chrootfd = -EBADF, sessionsfd = -EBADF, partialfd = -EBADF, upperfd = -EBADF;
        _cleanup_free_ char *upper = strf("%s/upper", id);
        DIR *d;
        int added = 0, r = 0;

        if (!upper)
                return -ENOMEM;
        chrootfd = open_dir(packagesfd, chroot);
        if (chrootfd == -ENOENT)
                return 0;
        if (chrootfd < 0)
                return chrootfd;
        sessionsfd = open_dir(chrootfd, "sessions");
        if (sessionsfd == -ENOENT)
                return 0;
        if (sessionsfd < 0)
                return sessionsfd;
        upperfd = open_dir(sessionsfd, upper);
        partialfd = open_dir(chrootfd, PACKAGE_CACHE_LAYER "/partial");
        if (upperfd >= 0 && partialfd >= 0) {
                int dfd = fcntl(upperfd, F_DUPFD_CLOEXEC, 3);
                if (dfd < 0 || !(d = fdopendir(dfd))) {
                        safe_close(dfd);
                        return -errno;
                }
                for (struct dirent *de; (de = readdir(d));) {
                        int k = promote_one(upperfd, partialfd, de->d_name);
                        if (k < 0 && r == 0)
                                r = k;
                        added += k > 0;
                }
                closedir(d);
        } else if (upperfd != -ENOENT)
                r = upperfd < 0 ? upperfd : partialfd;
        /* The session's own layer goes in any case: a failed move loses a download only. */
        int k = rm_rf_at(sessionsfd, id);
        if (r == 0)
                r = k;
        return r < 0 ? r : added;
}
