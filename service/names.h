/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* Longest chroot, alias or session name we accept. */
#define NAME_MAX_LEN 128

/* schroot's rule, which also keeps names shell-safe and usable as file names:
 * an ASCII letter or digit, then letters, digits, '-', '.', '_'; 1..NAME_MAX_LEN chars. */
bool name_is_valid(const char *name);

/* Make a fresh session id "<chroot>-<uuid v4>" (lower-case hex, from getrandom()).
 * Returns 0 or -errno (-EINVAL if the result would not be a valid name). */
int session_id_generate(const char *chroot, char **ret);
