/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "rmtree.h"
#include "util.h"

#include <fcntl.h>
#include <sys/stat.h>

/* Remove everything inside the directory fd (which it takes over). */
static int rm_children(int fd, dev_t dev) {
        _cleanup_closedir_ DIR *d = fdopendir(fd);
        int ret = 0;

        if (!d) {
                safe_close(fd);
                return -errno;
        }
        for (struct dirent *de; (errno = 0, de = readdir(d));) {
                struct stat st;
                int r = 0;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno != ENOENT && ret == 0)
                                ret = -errno;
                        continue;
                }
                if (S_ISDIR(st.st_mode)) {
                        int sub;

                        if (st.st_dev != dev) {
                                if (ret == 0)
                                        ret = -EXDEV;
                                continue;
                        }
                        /* Make sure we can list and empty it whatever its mode. */
                        (void) fchmodat(dirfd(d), de->d_name, 0700, 0);
                        sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0)
                                r = -errno;
                        else
                                r = rm_children(sub, dev);
                        if (r >= 0 && unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0)
                                r = -errno;
                } else if (unlinkat(dirfd(d), de->d_name, 0) < 0)
                        r = -errno;
                if (r < 0 && r != -ENOENT && ret == 0)
                        ret = r;
        }
        if (errno != 0 && ret == 0)
                ret = -errno;
        return ret;
}

int rm_rf_at(int dirfd, const char *name) {
        struct stat st;
        int fd, r;

        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;

        (void) fchmodat(dirfd, name, 0700, 0);
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = rm_children(fd, st.st_dev);
        if (r < 0)
                return r;
        if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}
