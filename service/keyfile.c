/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "util.h"
#include "keyfile.h"

#define WHITESPACE " \t\r\f\v"

typedef struct KeyFileGroup {
        char *name;
        char **keys;   /* NULL-terminated, handed out by keyfile_group_keys() */
        char **values; /* parallel to keys */
        size_t n;
} KeyFileGroup;

struct KeyFile {
        KeyFileGroup *groups;
        size_t n_groups;
};

KeyFile *keyfile_free(KeyFile *kf) {
        if (!kf)
                return NULL;
        for (size_t i = 0; i < kf->n_groups; i++) {
                free(kf->groups[i].name);
                strv_free(kf->groups[i].keys);
                strv_free(kf->groups[i].values);
        }
        free(kf->groups);
        free(kf);
        return NULL;
}

size_t keyfile_n_groups(const KeyFile *kf) {
        return kf ? kf->n_groups : 0;
}

const char *keyfile_group_name(const KeyFile *kf, size_t i) {
        if (!kf || i >= kf->n_groups)
                return NULL;
        return kf->groups[i].name;
}

const char *const *keyfile_group_keys(const KeyFile *kf, size_t i) {
        if (!kf || i >= kf->n_groups)
                return NULL;
        return (const char *const *) kf->groups[i].keys;
}

static KeyFileGroup *find_group(const KeyFile *kf, const char *name) {
        for (size_t i = 0; i < kf->n_groups; i++)
                if (streq(kf->groups[i].name, name))
                        return &kf->groups[i];
        return NULL;
}

static const char *group_get(const KeyFileGroup *g, const char *key) {
        for (size_t i = 0; i < g->n; i++)
                if (streq(g->keys[i], key))
                        return g->values[i];
        return NULL;
}

const char *keyfile_get(const KeyFile *kf, const char *group, const char *key) {
        const KeyFileGroup *g;

        if (!kf || !group || !key)
                return NULL;
        g = find_group(kf, group);
        return g ? group_get(g, key) : NULL;
}

/* Trims s in place and returns the start of the trimmed string. */
static char *strstrip(char *s) {
        char *e;

        s += strspn(s, WHITESPACE);
        e = s + strlen(s);
        while (e > s && strchr(WHITESPACE, e[-1]))
                *--e = 0;
        return s;
}

static int add_group(KeyFile *kf, const char *name) {
        KeyFileGroup *groups;
        char *n;
        char **keys, **values;

        n = strdup(name);
        keys = calloc(1, sizeof(char *));
        values = calloc(1, sizeof(char *));
        groups = realloc(kf->groups, sizeof(KeyFileGroup) * (kf->n_groups + 1));
        if (groups)
                kf->groups = groups;
        if (!n || !keys || !values || !groups) {
                free(n);
                free(keys);
                free(values);
                return -ENOMEM;
        }
        kf->groups[kf->n_groups++] = (KeyFileGroup) {
                .name = n,
                .keys = keys,
                .values = values,
        };
        return 0;
}

static int group_add(KeyFileGroup *g, const char *key, const char *value) {
        int r;

        /* keys and values stay the same length: if the value cannot be added, the key
         * is taken back out. */
        r = strv_extend(&g->keys, key);
        if (r < 0)
                return r;
        r = strv_extend(&g->values, value);
        if (r < 0) {
                free(g->keys[g->n]);
                g->keys[g->n] = NULL;
                return r;
        }
        g->n++;
        return 0;
}

/* Returns 0, -EBADMSG for a syntax error in this line, or -ENOMEM. */
static int parse_line(KeyFile *kf, char *line) {
        KeyFileGroup *g;
        char *eq, *key, *value;

        line = strstrip(line);
        /* schroot.conf, like GKeyFile, only knows whole-line comments: a '#' later in
         * a line belongs to the value. */
        if (!*line || *line == '#')
                return 0;

        if (*line == '[') {
                size_t l = strlen(line);
                char *name;

                if (line[l - 1] != ']')
                        return -EBADMSG;
                line[l - 1] = 0;
                name = line + 1;
                if (!*name || strpbrk(name, "[]"))
                        return -EBADMSG;
                if (find_group(kf, name))
                        return -EBADMSG;
                return add_group(kf, name);
        }

        if (kf->n_groups == 0)
                return -EBADMSG;
        eq = strchr(line, '=');
        if (!eq)
                return -EBADMSG;
        *eq = 0;
        key = strstrip(line);
        value = strstrip(eq + 1);
        if (!*key)
                return -EBADMSG;

        g = &kf->groups[kf->n_groups - 1];
        if (group_get(g, key))
                return -EBADMSG;
        return group_add(g, key, value);
}

int keyfile_parse(const char *text, KeyFile **ret, unsigned *ret_line) {
        _cleanup_(keyfile_freep) KeyFile *kf = NULL;
        _cleanup_free_ char *copy = NULL;
        unsigned lineno = 0;
        char *p;

        if (!text)
                return -EINVAL;
        copy = strdup(text);
        kf = calloc(1, sizeof(KeyFile));
        if (!copy || !kf)
                return -ENOMEM;

        p = copy;
        while (*p) {
                char *nl = strchr(p, '\n');
                int r;

                if (nl)
                        *nl = 0;
                lineno++;
                r = parse_line(kf, p);
                if (r == -EBADMSG && ret_line)
                        *ret_line = lineno;
                if (r < 0)
                        return r;
                if (!nl)
                        break;
                p = nl + 1;
        }

        *ret = TAKE_PTR(kf);
        return 0;
}
