/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tree-file.h"
#include "util.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

/* RESOLVE_IN_ROOT fails with EAGAIN when a rename elsewhere in the tree raced with
 * the lookup; root inside can rename all day, so a lookup is retried a few times. */
#define OPEN_ATTEMPTS 16

static int check_regular(int fd) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((uint64_t) st.st_size > TREE_FILE_MAX)
                return -EFBIG;
        return 0;
}

int tree_file_open(int rootfd, const char *path, int flags) {
        /* O_NONBLOCK: opening a fifo does not wait for a writer, nor a file with a
         * write lease for its holder (EAGAIN). */
        struct open_how how = {
                .flags = (uint64_t) (flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC),
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
        };
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (flags != O_RDONLY && flags != (O_RDWR | O_APPEND))
                return -EINVAL;
        for (int i = 0; i < OPEN_ATTEMPTS; i++) {
                fd = (int) syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
                if (fd >= 0 || errno != EAGAIN)
                        break;
        }
        if (fd < 0)
                return -errno;
        r = check_regular(fd);
        if (r < 0)
                return r;
        return TAKE_FD(fd);
}

/* Room for what fstat says the file holds and a byte more, so that a file that
 * grew meanwhile is noticed; grown as needed up to one byte beyond the limit. */
static int grow(char **buf, size_t *size, size_t want) {
        char *b;

        if (want > TREE_FILE_MAX + 1)
                want = TREE_FILE_MAX + 1;
        b = realloc(*buf, want);
        if (!b)
                return -ENOMEM;
        *buf = b;
        *size = want;
        return 0;
}

int tree_file_read_fd(int fd, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, done = 0;
        struct stat st;
        int r;

        if (fstat(fd, &st) < 0)
                return -errno;
        r = grow(&buf, &size, (size_t) (st.st_size > 0 ? st.st_size : 0) + 4096);
        while (r >= 0 && done <= TREE_FILE_MAX) {
                ssize_t n;

                if (done == size && (r = grow(&buf, &size, size * 2)) < 0)
                        break;
                n = pread(fd, buf + done, size - done, (off_t) done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        r = -errno;
                if (n <= 0)
                        break;
                done += (size_t) n;
        }
        if (r < 0)
                return r;
        if (done > TREE_FILE_MAX)
                return -EFBIG;
        if (done == size && (r = grow(&buf, &size, size + 1)) < 0)
                return r;
        buf[done] = 0;
        *ret = TAKE_PTR(buf);
        return 0;
}

int tree_file_read(int rootfd, const char *path, char **ret) {
        _cleanup_close_ int fd = tree_file_open(rootfd, path, O_RDONLY);

        if (fd < 0)
                return fd;
        return tree_file_read_fd(fd, ret);
}

void tree_file_describe_error(int error, const char *path, char *buf, size_t size) {
        switch (error) {
        case -EISDIR:
        case -EBADFD:
                snprintf(buf, size, "The chroot's %s is not a regular file", path);
                break;
        case -EFBIG:
                snprintf(buf, size, "The chroot's %s is larger than %zu MiB", path, TREE_FILE_MAX >> 20);
                break;
        case -EXDEV:
                snprintf(buf, size, "The chroot's %s leads out of the chroot's own file system", path);
                break;
        case -ELOOP:
                snprintf(buf, size, "The chroot's %s is a loop of symbolic links or a magic link", path);
                break;
        case -EAGAIN:
                snprintf(buf, size, "The chroot's %s is held by a lease or kept changing", path);
                break;
        default:
                snprintf(buf, size, "Cannot use the chroot's %s: %s", path, strerror(-error));
        }
}
