/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cgroup.h"
#include "util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int cgroup_slice_dir(const char *proc_self_cgroup, const char *cgroup_root, const char *slice, char **ret) {
        const char *line, *end, *user;
        size_t len;

        /* The unified hierarchy's line is "0::/path". */
        line = strstr(proc_self_cgroup, "0::/");
        if (!line || (line != proc_self_cgroup && line[-1] != '\n'))
                return -ENOENT;
        line += 3;
        end = strchrnul(line, '\n');
        /* Our user manager's root: the path up to the "user@UID.service" component. */
        user = strstr(line, "/user@");
        if (!user || user >= end)
                return -ENOENT;
        user = strchrnul(user + 1, '/');
        if (user > end)
                user = end;
        len = (size_t) (user - line);
        *ret = strf("%s%.*s/chrootd.slice/%s", cgroup_root, (int) len, line, slice);
        return *ret ? 0 : -ENOMEM;
}

static uint64_t read_u64_at(int dirfd, const char *name) {
        _cleanup_free_ char *text = NULL;
        uint64_t v;

        if (read_file_at(dirfd, name, 64, &text) < 0)
                return UINT64_MAX;
        text[strcspn(text, "\n")] = 0;
        return parse_u64(text, &v) < 0 ? UINT64_MAX : v;
}

static uint64_t read_cpu_usec(int dirfd) {
        _cleanup_free_ char *text = NULL;
        const char *p;
        uint64_t v;

        if (read_file_at(dirfd, "cpu.stat", 4096, &text) < 0)
                return UINT64_MAX;
        p = strstr(text, "usage_usec ");
        if (!p || (p != text && p[-1] != '\n'))
                return UINT64_MAX;
        p += STRLEN("usage_usec ");
        text[p - text + strcspn(p, "\n")] = 0;
        return parse_u64(p, &v) < 0 ? UINT64_MAX : v;
}

void cgroup_read_usage(const char *dir, CgroupUsage *ret) {
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        *ret = (CgroupUsage) { UINT64_MAX, UINT64_MAX, UINT64_MAX };
        if (fd < 0)
                return;
        ret->tasks = read_u64_at(fd, "pids.current");
        ret->memory = read_u64_at(fd, "memory.current");
        ret->cpu_usec = read_cpu_usec(fd);
}

const char *cgroup2_root(void) {
        return access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified";
}

int cgroup_unified_path(const char *text, char **ret) {
        const char *line = text;

        while (line && *line && !startswith(line, "0::/")) {
                line = strchr(line, '\n');
                if (line)
                        line++;
        }
        if (!line || !*line)
                return -ENOENT;
        line += 3;
        *ret = strndup(line, strcspn(line, "\n"));
        return *ret ? 0 : -ENOMEM;
}

void cgroup_remove_tree(int dirfd, const char *name) {
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_strv_free_ char **subdirs = NULL;

        if (fd < 0)
                return;
        if (dir_list(fd, NULL, &subdirs) >= 0)
                for (char **d = subdirs; *d; d++) {
                        struct stat st;
                        if (fstatat(fd, *d, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
                                cgroup_remove_tree(fd, *d);
                }
        for (int i = 0; i < 100; i++) {
                if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno != EBUSY)
                        return;
                (void) usleep(10 * 1000);
        }
}
