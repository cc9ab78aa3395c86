/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* Files of a session's tree that chrootd itself reads or appends to (the chroot's
 * /etc/passwd, /etc/group, /etc/shadow). The tree belongs to root inside the session,
 * who may have made any of them a fifo, a device, a directory, a huge file or a
 * symlink to anywhere, and may swap one for another at any moment. So they are opened
 * once, relative to the tree's root, as that root would resolve them and no further,
 * without blocking, and only a bounded regular file is accepted; what is read and
 * written goes through that one fd. */

/* The largest file accepted (a passwd of ~200,000 users). */
#define TREE_FILE_MAX ((size_t) 16 << 20)

/* Open path in the tree whose root directory is rootfd, with flags O_RDONLY or
 * O_RDWR | O_APPEND (O_NONBLOCK, O_NOCTTY and O_CLOEXEC are added). Symlinks are
 * followed as inside the tree ("/" and ".." stop at rootfd), but not magic links
 * (/proc/PID/fd/N) and not onto another mount (the /proc, /sys and /dev mounted in a
 * command's tree show the init's own process, not the chroot's files). Returns the fd,
 * or -ENOENT, -EISDIR or -EBADFD (not a regular file), -EFBIG (larger than
 * TREE_FILE_MAX), -EXDEV (leads onto another mount), -ELOOP, -EAGAIN (a lease), or
 * another -errno. */
int tree_file_open(int rootfd, const char *path, int flags);

/* Read all of fd, a regular file from tree_file_open(), from its start: at most
 * TREE_FILE_MAX bytes (-EFBIG if it has grown beyond), NUL-terminated. Returns 0 or
 * -errno. */
int tree_file_read_fd(int fd, char **ret);

/* tree_file_open() for reading and tree_file_read_fd(). */
int tree_file_read(int rootfd, const char *path, char **ret);

/* A sentence about error (from the functions above) for path, such as "The chroot's
 * /etc/passwd is not a regular file", into buf. Allocates nothing, for children. */
void tree_file_describe_error(int error, const char *path, char *buf, size_t size);
