/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "passwd.h"
#include "util.h"

#include <stdint.h>

void passwd_entry_done(PasswdEntry *e) {
        free(e->name);
        free(e->home);
        free(e->shell);
        *e = (PasswdEntry) {};
}

/* Split one line in place into at most n ':'-separated fields. Returns the count. */
static size_t split_fields(char *line, char **fields, size_t n) {
        size_t i = 0;

        fields[i++] = line;
        for (char *p = line; *p && i < n; p++)
                if (*p == ':') {
                        *p = 0;
                        fields[i++] = p + 1;
                }
        return i;
}

static int parse_id(const char *s, uint32_t *ret) {
        char *end;
        unsigned long v;

        if (!*s || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || *end || v >= UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t) v;
        return 0;
}

int passwd_find(const char *text, const char *user, PasswdEntry *ret) {
        _cleanup_free_ char *copy = strdup(text);
        uint32_t want = 0;
        bool by_id = parse_id(user, &want) >= 0;
        char *rest = copy, *line;

        if (!copy)
                return -ENOMEM;
        while ((line = strsep(&rest, "\n"))) {
                char *f[7];
                uint32_t uid, gid;

                if (split_fields(line, f, 7) != 7 || parse_id(f[2], &uid) < 0 || parse_id(f[3], &gid) < 0)
                        continue;
                if (by_id ? uid != want : !streq(f[0], user))
                        continue;
                PasswdEntry e = {
                        .name = strdup(f[0]),
                        .uid = uid,
                        .gid = gid,
                        .home = strdup(*f[5] ? f[5] : "/"),
                        .shell = strdup(*f[6] ? f[6] : "/bin/sh"),
                };
                if (!e.name || !e.home || !e.shell) {
                        passwd_entry_done(&e);
                        return -ENOMEM;
                }
                *ret = e;
                return 1;
        }
        return 0;
}

bool passwd_has_name(const char *text, const char *name) {
        size_t n = strlen(name);

        for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (strncmp(p, name, n) == 0 && p[n] == ':')
                        return true;
        return false;
}

int group_list_for_user(const char *text, const char *user, gid_t primary, gid_t **ret, size_t *ret_n) {
        _cleanup_free_ char *copy = strdup(strempty(text));
        _cleanup_free_ gid_t *list = malloc(sizeof(gid_t));
        size_t n = 0;
        char *rest = copy, *line;

        if (!copy || !list)
                return -ENOMEM;
        list[n++] = primary;

        while ((line = strsep(&rest, "\n"))) {
                char *f[4], *save = NULL;
                uint32_t gid;
                bool member = false;

                if (split_fields(line, f, 4) != 4 || parse_id(f[2], &gid) < 0)
                        continue;
                for (char *m = strtok_r(f[3], ",", &save); m; m = strtok_r(NULL, ",", &save))
                        if (streq(m, user))
                                member = true;
                if (!member || gid == primary)
                        continue;
                gid_t *l = realloc(list, sizeof(gid_t) * (n + 1));
                if (!l)
                        return -ENOMEM;
                list = l;
                list[n++] = gid;
        }
        *ret_n = n;
        *ret = TAKE_PTR(list);
        return 0;
}
