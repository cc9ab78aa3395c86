/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "run-request.h"

/* The body of Session.CopyIn's and CopyOut's child (p->copy), forked by a command's
 * init in the command's namespaces (or by a booted session's agent in its system's),
 * where "/" is the session's tree: become root inside, hide /proc and /sys behind empty
 * read-only mounts in a mount namespace of its own (so that no magic link there, to a
 * process's fds, executable or mapped files, leads out of the tree, whatever the tree's
 * symlinks point at), then copy with tar-copy.h: p->copy_path packed to fd, or the
 * stream on fd extracted at it, owners restored. fd is the caller's. Why a copy failed
 * goes to report_fd (a missing path is CHILD_ERROR_NO_SUCH_FILE). Returns the exit
 * status for _exit(). */
int init_copy_main(const RunParams *p, int fd, int report_fd);

/* The name a copy-out gives path in the stream: its last component ("." for "/" and a
 * path ending in "/.", which copy a directory's contents). Returns a pointer into
 * path; *ret_len is the name's length. */
const char *copy_top_name(const char *path, size_t *ret_len);
