/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* Reading what a session's slice uses, from the cgroup2 files systemd made for it. */

typedef struct CgroupUsage {
        uint64_t tasks;        /* pids.current */
        uint64_t memory;       /* memory.current, bytes */
        uint64_t cpu_usec;     /* cpu.stat usage_usec */
} CgroupUsage;

/* The cgroup2 directory of a unit of our user manager under chrootd.slice, e.g.
 * /sys/fs/cgroup/user.slice/.../user@1000.service/chrootd.slice/chrootd-x.slice, found
 * from the service's own cgroup in proc_self_cgroup (the text of /proc/self/cgroup).
 * Returns 0, or -ENOENT when the service does not run under a user manager. */
int cgroup_slice_dir(const char *proc_self_cgroup, const char *cgroup_root, const char *slice, char **ret);

/* Read usage in dir; values the cgroup does not provide (a missing controller, a
 * slice that does not exist) are UINT64_MAX. */
void cgroup_read_usage(const char *dir, CgroupUsage *ret);

/* Where the cgroup2 hierarchy is mounted: /sys/fs/cgroup, or /sys/fs/cgroup/unified
 * on hybrid hosts. */
const char *cgroup2_root(void);

/* The cgroup2 path ("/user.slice/...") in the text of a /proc/<pid>/cgroup: its "0::"
 * line. Returns 0, or -ENOENT (no such line) / -ENOMEM. */
int cgroup_unified_path(const char *proc_pid_cgroup, char **ret);

/* Remove the cgroup name beneath dirfd and every cgroup below it, deepest first,
 * waiting a moment for those whose processes are still exiting. Errors are ignored:
 * what stays is what could not go. */
void cgroup_remove_tree(int dirfd, const char *name);
