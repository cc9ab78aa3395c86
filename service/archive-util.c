/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "archive-util.h"

LocaleGuard locale_push_utf8(void) {
        LocaleGuard g = {};
        locale_t base;

        base = duplocale(uselocale((locale_t) 0));
        if (!base)
                return g;
        g.mine = newlocale(LC_CTYPE_MASK, "C.UTF-8", base);
        if (!g.mine) {
                freelocale(base);
                return g;
        }
        g.saved = uselocale(g.mine);
        return g;
}

void locale_pop(LocaleGuard *g) {
        if (!g->mine)
                return;
        uselocale(g->saved);
        freelocale(g->mine);
}
