/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "init-copy.h"
#include "report.h"
#include "tar-copy.h"
#include "util.h"

#include <grp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

const char *copy_top_name(const char *path, size_t *ret_len) {
        size_t l = strlen(path);

        while (l > 1 && path[l - 1] == '/')
                l--;
        if (l == 1 && path[0] == '/') {
                *ret_len = 1;
                return ".";
        }
        size_t start = l;
        while (start > 0 && path[start - 1] != '/')
                start--;
        *ret_len = l - start;
        return path + start;
}

/* An empty, read-only tmpfs over dir, if the tree has it. */
static int hide(const char *dir) {
        if (mount("chrootd-hidden", dir, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0555") < 0)
                return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
        return 0;
}

static ChildError copy_error_kind(int r) {
        switch (r) {
        case -ENOENT:
        case -ENOTDIR:
                return CHILD_ERROR_NO_SUCH_FILE;
        case -EINVAL:
                return CHILD_ERROR_INVALID;
        case -EPERM:
                return CHILD_ERROR_UNSAFE_ARCHIVE; /* a name or entry tar-copy refused */
        default:
                return CHILD_ERROR_FAILED;
        }
}

int init_copy_main(const RunParams *p, int fd, int report_fd) {
        _cleanup_free_ char *error = NULL, *top = NULL;
        size_t top_len;
        int r;

        /* Root of the command's user namespace, which owns nothing of the host. */
        if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
                report_error(report_fd, CHILD_ERROR_FAILED, -errno, "Cannot become root in the session: %m");
                return EXIT_FAILURE;
        }
        r = unshare(CLONE_NEWNS) < 0 ? -errno : 0;
        if (r >= 0)
                r = hide("/proc");
        if (r >= 0)
                r = hide("/sys");
        if (r < 0 || chdir("/") < 0) {
                report_error(report_fd, CHILD_ERROR_FAILED, r < 0 ? r : -errno, "Cannot prepare the copy: %m");
                return EXIT_FAILURE;
        }
        umask(022);
        if (p->copy == RUN_COPY_OUT) {
                const char *name = copy_top_name(p->copy_path, &top_len);

                top = strndup(name, top_len);
                r = top ? tar_copy_out(p->copy_path, top, fd, 0, &error) : -ENOMEM;
        } else
                r = tar_copy_in(fd, p->copy_path, TAR_COPY_RESTORE_OWNER, &error);
        if (r < 0) {
                if (error)
                        report_error(report_fd, copy_error_kind(r), r, "%s", error);
                else
                        report_error(report_fd, copy_error_kind(r), r, "Cannot copy '%s': %m", p->copy_path);
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
