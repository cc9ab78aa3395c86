/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* One line of /etc/subuid or /etc/subgid. */
typedef struct SubIdRange {
        uint32_t start;
        uint32_t count;
} SubIdRange;

/* Find the first range of at least `want` ids for the user in a subuid/subgid file
 * (lines "NAME_OR_ID:START:COUNT"; the user matches by name or by numeric id; comments
 * and malformed lines are skipped). Returns 1 and sets *ret if found, 0 if the file has
 * no such range, -ENOENT if the file does not exist, other -errno on read errors. */
int subid_find(const char *path, const char *user, uint32_t id, uint32_t want, SubIdRange *ret);
