/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "util.h"
#include "names.h"

#include <stdint.h>
#include <sys/random.h>

/* Not isalnum(): that depends on the locale, and a name must mean the same thing to
 * every process that sees it (file names, bus paths, schroot front ends). */
static bool char_is_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool name_is_valid(const char *name) {
        size_t n;

        if (!name || !char_is_alnum(name[0]))
                return false;
        for (n = 1; name[n]; n++) {
                if (n >= NAME_MAX_LEN)
                        return false;
                if (!char_is_alnum(name[n]) && !strchr("-._", name[n]))
                        return false;
        }
        return true;
}

static int random_bytes(void *buf, size_t n) {
        size_t done = 0;

        while (done < n) {
                ssize_t k = getrandom((uint8_t *) buf + done, n - done, 0);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                done += (size_t) k;
        }
        return 0;
}

int session_id_generate(const char *chroot, char **ret) {
        _cleanup_free_ char *id = NULL;
        uint8_t u[16];
        int r;

        if (!name_is_valid(chroot))
                return -EINVAL;

        r = random_bytes(u, sizeof(u));
        if (r < 0)
                return r;
        /* RFC 4122: version 4 (random), variant 10xx. */
        u[6] = (u[6] & 0x0f) | 0x40;
        u[8] = (u[8] & 0x3f) | 0x80;

        id = strf("%s-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                  chroot, u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
                  u[11], u[12], u[13], u[14], u[15]);
        if (!id)
                return -ENOMEM;
        if (!name_is_valid(id))
                return -EINVAL;

        *ret = TAKE_PTR(id);
        return 0;
}
