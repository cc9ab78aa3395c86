/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "base.h"
#include "util.h"

#include <inttypes.h>

#define IDS_SELF "ids: self"
#define IDS_SUBORDINATE "ids: subordinate"

char *base_source_text(const char *path, const struct stat *st, bool map_self) {
        return strf("%s\n%" PRIu64 ":%" PRIu64 " %" PRIu64 " %" PRId64 ".%09ld %" PRId64 ".%09ld\n%s\n", path,
                    (uint64_t) st->st_dev, (uint64_t) st->st_ino, (uint64_t) st->st_size,
                    (int64_t) st->st_mtim.tv_sec, st->st_mtim.tv_nsec, (int64_t) st->st_ctim.tv_sec,
                    st->st_ctim.tv_nsec, map_self ? IDS_SELF : IDS_SUBORDINATE);
}

int base_source_parse(const char *text, char **ret_path, bool *ret_map_self) {
        const char *nl = strchr(text, '\n'), *second = nl ? strchr(nl + 1, '\n') : NULL, *kind;
        char *path;

        if (!second)
                return -EBADMSG;
        kind = second + 1;
        if (!streq(kind, IDS_SELF "\n") && !streq(kind, IDS_SUBORDINATE "\n"))
                return -EBADMSG;
        path = strndup(text, (size_t) (nl - text));
        if (!path)
                return -ENOMEM;
        *ret_path = path;
        *ret_map_self = streq(kind, IDS_SELF "\n");
        return 0;
}

/* 64-bit FNV-1a: the key only has to tell tarballs apart; bases/<key>/source is
 * compared in full before a base is used. */
int base_key(const char *path, const struct stat *st, bool map_self, char ret[BASE_KEY_LEN + 1]) {
        _cleanup_free_ char *text = base_source_text(path, st, map_self);
        uint64_t h = UINT64_C(14695981039346656037);

        if (!text)
                return -ENOMEM;
        for (const unsigned char *c = (const unsigned char *) text; *c; c++)
                h = (h ^ *c) * UINT64_C(1099511628211);
        snprintf(ret, BASE_KEY_LEN + 1, "%016" PRIx64, h);
        return 0;
}

bool base_key_is_valid(const char *key) {
        size_t n = 0;

        for (; key[n]; n++)
                if (!((key[n] >= '0' && key[n] <= '9') || (key[n] >= 'a' && key[n] <= 'f')))
                        return false;
        return n == BASE_KEY_LEN;
}
