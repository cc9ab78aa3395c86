/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mounts.h"
#include "util.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

/* Open a mount point at path beneath dirfd, never through a symlink or out of the
 * tree; create it (as a directory, or an empty file) if it is missing. */
static int open_mount_point(int dirfd, const char *path, bool directory) {
        struct open_how how = {
                .flags = O_PATH | O_CLOEXEC | O_NOFOLLOW | (directory ? O_DIRECTORY : 0),
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        int fd;

        fd = (int) syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
        if (fd >= 0 || errno != ENOENT)
                return fd >= 0 ? fd : -errno;

        /* Only single components are created: their parent is dirfd itself. */
        if (strchr(path, '/'))
                return -ENOENT;
        if (directory) {
                if (mkdirat(dirfd, path, 0755) < 0 && errno != EEXIST)
                        return -errno;
        } else {
                int f = openat(dirfd, path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
                if (f < 0 && errno != EEXIST)
                        return -errno;
                safe_close(f);
        }
        fd = (int) syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
        return fd >= 0 ? fd : -errno;
}

static int attach(int mntfd, int dirfd, const char *path, bool directory) {
        _cleanup_close_ int target = -EBADF;

        target = open_mount_point(dirfd, path, directory);
        if (target < 0)
                return target;
        if (move_mount(mntfd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return -errno;
        return 0;
}

/* Mount a new file system of type with options ("key", "value" pairs; a NULL value
 * sets a flag) at path beneath dirfd. */
static int mount_new(const char *type, const char *const *options, unsigned attrs, int dirfd, const char *path) {
        _cleanup_close_ int fs = -EBADF, mnt = -EBADF;

        fs = fsopen(type, FSOPEN_CLOEXEC);
        if (fs < 0)
                return -errno;
        for (const char *const *o = options; o && *o; o += 2) {
                int r = o[1] ? fsconfig(fs, FSCONFIG_SET_STRING, o[0], o[1], 0)
                             : fsconfig(fs, FSCONFIG_SET_FLAG, o[0], NULL, 0);
                if (r < 0)
                        return -errno;
        }
        if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return -errno;
        mnt = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
        if (mnt < 0)
                return -errno;
        return attach(mnt, dirfd, path, true);
}

/* Bind a host path (trusted: the host's own /dev and /sys) onto path beneath dirfd. */
static int bind_host(const char *source, bool recursive, unsigned attrs, int dirfd, const char *path, bool directory) {
        _cleanup_close_ int mnt = -EBADF;

        mnt = open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
        if (mnt < 0)
                return -errno;
        if (attrs) {
                struct mount_attr attr = { .attr_set = attrs };
                if (mount_setattr(mnt, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof(attr)) < 0)
                        return -errno;
        }
        return attach(mnt, dirfd, path, directory);
}

static int setup_dev(int rootfd, const char **ret_what) {
        static const char *const tmpfs_opts[] = { "mode", "0755", "size", "4m", NULL };
        /* Each command's own /dev/shm, so a bound of its own: a quarter of the RAM (its
         * pages count against the command's memory cgroup too), and the init's user
         * namespace owns it, so the command cannot remount it larger. */
        static const char *const shm_opts[] = { "mode", "1777", "size", "25%", "nr_inodes", "64k", NULL };
        static const char *const pts_opts[] = { "newinstance", NULL, "ptmxmode", "0666", "mode", "0620", "gid", "5", NULL };
        static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
        static const char *const links[][2] = {
                { "fd", "/proc/self/fd" },        { "stdin", "/proc/self/fd/0" },
                { "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
                { "ptmx", "pts/ptmx" },
        };
        _cleanup_close_ int devfd = -EBADF;
        int r;

        *ret_what = "mount /dev";
        r = mount_new("tmpfs", tmpfs_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, rootfd, "dev");
        if (r < 0)
                return r;
        /* From here on /dev is our own tmpfs: nothing in it comes from the tree. */
        devfd = open_mount_point(rootfd, "dev", true);
        if (devfd < 0)
                return devfd;

        for (size_t i = 0; i < ELEMENTSOF(nodes); i++) {
                _cleanup_free_ char *src = strf("/dev/%s", nodes[i]);
                *ret_what = "bind device nodes into /dev";
                if (!src)
                        return -ENOMEM;
                r = bind_host(src, false, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, devfd, nodes[i], false);
                if (r < 0)
                        return r;
        }
        *ret_what = "create /dev symlinks";
        for (size_t i = 0; i < ELEMENTSOF(links); i++)
                if (symlinkat(links[i][1], devfd, links[i][0]) < 0)
                        return -errno;

        *ret_what = "mount /dev/pts";
        r = mount_new("devpts", pts_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, devfd, "pts");
        if (r < 0)
                return r;
        *ret_what = "mount /dev/shm";
        return mount_new("tmpfs", shm_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, devfd, "shm");
}

int mounts_setup(int rootfd, const char **ret_what) {
        const unsigned safe = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
        int r;

        *ret_what = "mount /proc";
        r = mount_new("proc", NULL, safe, rootfd, "proc");
        if (r < 0)
                return r;

        /* A fresh sysfs needs the network namespace's owner to be privileged; the
         * host's, read-only, shows the same devices. */
        *ret_what = "bind /sys";
        r = bind_host("/sys", true, safe | MOUNT_ATTR_RDONLY, rootfd, "sys", true);
        if (r < 0)
                return r;

        return setup_dev(rootfd, ret_what);
}

/* A file of ours in a directory of ours (the container's /run/host). */
static int write_new_file(int dirfd, const char *name, const char *contents) {
        _cleanup_close_ int fd = openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0444);

        if (fd < 0)
                return -errno;
        return write_full(fd, contents, strlen(contents));
}

int mounts_container(int rootfd, int console_fd, const char *os_release, const char **ret_what) {
        static const char *const run_opts[] = { "mode", "0755", "size", "20%", "nr_inodes", "400k", NULL };
        static const char *const host_opts[] = { "mode", "0755", "size", "1m", NULL };
        _cleanup_close_ int runfd = -EBADF, hostfd = -EBADF, devfd = -EBADF, mnt = -EBADF;
        int r;

        /* systemd mounts /run only where nothing is mounted yet; ours carries /run/host. */
        *ret_what = "mount /run";
        r = mount_new("tmpfs", run_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, rootfd, "run");
        if (r >= 0)
                r = runfd = open_mount_point(rootfd, "run", true);
        *ret_what = "mount /run/host";
        if (r >= 0)
                r = mount_new("tmpfs", host_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, runfd, "host");
        if (r >= 0)
                r = hostfd = open_mount_point(runfd, "host", true);
        *ret_what = "fill /run/host";
        if (r >= 0)
                r = write_new_file(hostfd, "container-manager", "chrootd\n");
        if (r >= 0 && os_release)
                r = write_new_file(hostfd, "os-release", os_release);
        if (r < 0)
                return r;

        /* Nothing of the host's cgroup tree: PID 1 mounts the container's own cgroup2
         * on this (on the host's cgroup2 itself the kernel would refuse the same
         * file system mounted twice on one mount point). */
        *ret_what = "cover /sys/fs/cgroup";
        r = mount_new("tmpfs", host_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_RDONLY,
                      rootfd, "sys/fs/cgroup");
        if (r < 0)
                return r;

        /* The console: the pty the service reads, bound where systemd looks for it. */
        *ret_what = "bind /dev/console";
        devfd = open_mount_point(rootfd, "dev", true);
        if (devfd < 0)
                return devfd;
        mnt = open_tree(console_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
        if (mnt < 0)
                return -errno;
        return attach(mnt, devfd, "console", false);
}

int mounts_make_readonly(const char *path) {
        _cleanup_close_ int mnt = open_tree(AT_FDCWD, path, OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
        struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };

        if (mnt < 0)
                return -errno;
        if (mount_setattr(mnt, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
                return -errno;
        return 0;
}

int mounts_pivot(int rootfd) {
        if (fchdir(rootfd) < 0)
                return -errno;
        /* Stacking the old root on top of the new one and detaching it avoids needing
         * a directory for the old root inside the tree. */
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return -errno;
        if (umount2(".", MNT_DETACH) < 0)
                return -errno;
        if (chdir("/") < 0)
                return -errno;
        return 0;
}

int mounts_package_cache(int rootfd, int lowerfd, int upperfd, int workfd) {
        _cleanup_close_ int archivesfd = -EBADF, mnt = -EBADF;

        archivesfd = open_mount_point(rootfd, "var/cache/apt/archives", true);
        if (archivesfd < 0)
                return archivesfd;
        return mounts_overlay(lowerfd, upperfd, workfd, archivesfd, &mnt, NULL, 0);
}

/* The kernel's own words on a failed fsconfig() ("e overlay: ..."), if it left any. */
static void fs_context_message(int fs, char *buf, size_t size) {
        ssize_t n;

        if (!buf || size == 0)
                return;
        n = read(fs, buf, size - 1);
        buf[n > 0 ? n : 0] = 0;
        if (n > 2 && buf[1] == ' ')
                memmove(buf, buf + 2, (size_t) n - 1);
}

int mounts_overlay(int lowerfd, int upperfd, int workfd, int mountpointfd, int *ret_rootfd, char *msg, size_t msg_size) {
        _cleanup_close_ int fs = -EBADF, mnt = -EBADF;
        char lower[32], upper[32], work[32];
        const char *step;
        int r;

        if (msg && msg_size > 0)
                msg[0] = 0;
        /* The layers are given as the fds' magic links, which overlayfs follows like
         * any path: nothing is looked up in the tree by name. */
        snprintf(lower, sizeof(lower), "/proc/self/fd/%d", lowerfd);
        snprintf(upper, sizeof(upper), "/proc/self/fd/%d", upperfd);
        snprintf(work, sizeof(work), "/proc/self/fd/%d", workfd);
        fs = fsopen("overlay", FSOPEN_CLOEXEC);
        if (fs < 0)
                return -errno;
        /* user.overlay.* xattrs: trusted.* cannot be set in a user namespace. */
        step = "userxattr";
        r = fsconfig(fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0);
        if (r >= 0 && (step = "lowerdir"))
                r = fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir", lower, 0);
        if (r >= 0 && (step = "upperdir"))
                r = fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", upper, 0);
        if (r >= 0 && (step = "workdir"))
                r = fsconfig(fs, FSCONFIG_SET_STRING, "workdir", work, 0);
        if (r >= 0 && (step = "create"))
                r = fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
        if (r >= 0 && (step = "fsmount"))
                r = mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
        if (r >= 0 && (step = "move_mount"))
                r = move_mount(mnt, "", mountpointfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
        if (r < 0) {
                r = -errno;
                fs_context_message(fs, msg, msg_size);
                if (msg && msg_size > 0 && !msg[0])
                        snprintf(msg, msg_size, "at %s", step);
                return r;
        }
        *ret_rootfd = TAKE_FD(mnt);
        return 0;
}

int mounts_open_pty(int rootfd, int *ret_master, int *ret_slave) {
        struct open_how how = {
                .flags = O_RDWR | O_NOCTTY | O_CLOEXEC,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        _cleanup_close_ int master = -EBADF;
        int unlock = 0, slave;

        master = (int) syscall(SYS_openat2, rootfd, "dev/pts/ptmx", &how, sizeof(how));
        if (master < 0)
                return -errno;
        if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
                return -errno;
        slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return -errno;
        *ret_master = TAKE_FD(master);
        *ret_slave = slave;
        return 0;
}
