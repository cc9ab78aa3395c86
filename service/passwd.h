/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Users and groups of a chroot, read from its own /etc/passwd and /etc/group text.
 * We parse the files ourselves instead of calling getpwnam(): NSS would load the
 * chroot's libraries into a process built against the host's libc. */

typedef struct PasswdEntry {
        char *name;
        uid_t uid;
        gid_t gid;
        char *home;
        char *shell;
} PasswdEntry;

void passwd_entry_done(PasswdEntry *e);

/* Find user (a name, or a decimal uid) in passwd text. Returns 1 and fills *ret if
 * found, 0 if not, -errno on allocation failure. */
int passwd_find(const char *text, const char *user, PasswdEntry *ret);

/* True if a line of text (an /etc/passwd or /etc/group) starts with "name:". */
bool passwd_has_name(const char *text, const char *name);

/* The supplementary groups of user in group text: every group listing the user as a
 * member, plus primary. Returns 0 with a malloc()ed array, or -ENOMEM. Lines that do
 * not parse are skipped. */
int group_list_for_user(const char *text, const char *user, gid_t primary, gid_t **ret, size_t *ret_n);
