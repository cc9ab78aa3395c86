/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "util.h"
#include "subid.h"

/* Strict decimal: digits only (no sign, no blanks, no hex), must fit in 32 bits.
 * strtoul() would accept " -1" and wrap it, which is not what a subid file means. */
static int parse_u32(const char *s, uint32_t *ret) {
        uint64_t v = 0;

        if (!*s)
                return -EINVAL;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                v = v * 10 + (uint64_t) (*s - '0');
                if (v > UINT32_MAX)
                        return -ERANGE;
        }
        *ret = (uint32_t) v;
        return 0;
}

static bool owner_matches(const char *owner, const char *user, uint32_t id) {
        uint32_t v;

        if (user && streq(owner, user))
                return true;
        /* shadow's newuidmap accepts the numeric uid as owner too. */
        return parse_u32(owner, &v) >= 0 && v == id;
}

/* Parses one line in place. Returns true if it is a well-formed range for the user. */
static bool line_matches(char *line, const char *user, uint32_t id, SubIdRange *ret) {
        char *owner, *start, *count, *end;
        uint32_t s, c;

        line[strcspn(line, "\r\n")] = 0;
        owner = line + strspn(line, " \t");
        if (!*owner || *owner == '#')
                return false;
        end = owner + strlen(owner);
        while (end > owner && (end[-1] == ' ' || end[-1] == '\t'))
                *--end = 0;

        start = strchr(owner, ':');
        if (!start)
                return false;
        *start++ = 0;
        count = strchr(start, ':');
        if (!count)
                return false;
        *count++ = 0;
        if (strchr(count, ':'))
                return false;

        if (!*owner || parse_u32(start, &s) < 0 || parse_u32(count, &c) < 0)
                return false;
        /* A range that runs past the last id is broken; using any of it would map ids
         * that do not exist. */
        if (c == 0 || (uint64_t) s + c - 1 > UINT32_MAX)
                return false;
        if (!owner_matches(owner, user, id))
                return false;

        ret->start = s;
        ret->count = c;
        return true;
}

int subid_find(const char *path, const char *user, uint32_t id, uint32_t want, SubIdRange *ret) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t size = 0;

        f = fopen(path, "re");
        if (!f)
                return -errno;

        for (;;) {
                SubIdRange range;

                errno = 0;
                if (getline(&line, &size, f) < 0) {
                        if (ferror(f))
                                return errno > 0 ? -errno : -EIO;
                        break;
                }
                if (!line_matches(line, user, id, &range))
                        continue;
                if (range.count < want)
                        continue;
                if (ret)
                        *ret = range;
                return 1;
        }
        return 0;
}
