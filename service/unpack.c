/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* STUB: to be written. */
#include "util.h"
#include "unpack.h"
int unpack_archive(int fd, int dest_dirfd, const UnpackLimits *limits, UnpackStats *ret_stats, char **ret_error) { return -EOPNOTSUPP; }
