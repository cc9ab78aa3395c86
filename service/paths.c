/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "paths.h"
#include "util.h"

#include <pwd.h>

/* $VAR if it is an absolute path (the XDG spec says to ignore relative ones), else
 * $HOME/fallback. */
static char *xdg_dir(const char *var, const char *home, const char *fallback, const char *sub) {
        const char *v = getenv(var);

        if (v && v[0] == '/')
                return strf("%s/%s", v, sub);
        return strf("%s/%s/%s", home, fallback, sub);
}

int paths_init(Paths *p) {
        const char *home = getenv("HOME");
        Paths n = {};

        if (!home || home[0] != '/') {
                struct passwd *pw = getpwuid(getuid());
                if (!pw || !pw->pw_dir)
                        return -ENOENT;
                home = pw->pw_dir;
        }
        n.state_dir = xdg_dir("XDG_STATE_HOME", home, ".local/state", "chrootd");
        n.sbuild_dir = xdg_dir("XDG_CACHE_HOME", home, ".cache", "sbuild");
        n.confd_dir = xdg_dir("XDG_CONFIG_HOME", home, ".config", "chrootd/chroots.d");
        n.sessions_dir = n.state_dir ? strf("%s/sessions", n.state_dir) : NULL;
        n.bases_dir = xdg_dir("XDG_CACHE_HOME", home, ".cache", "chrootd/bases");
        n.packages_dir = xdg_dir("XDG_CACHE_HOME", home, ".cache", "chrootd/packages");
        if (!n.state_dir || !n.sbuild_dir || !n.confd_dir || !n.sessions_dir || !n.bases_dir || !n.packages_dir) {
                paths_done(&n);
                return -ENOMEM;
        }
        *p = n;
        return 0;
}

void paths_done(Paths *p) {
        free(p->state_dir);
        free(p->sessions_dir);
        free(p->sbuild_dir);
        free(p->confd_dir);
        free(p->bases_dir);
        free(p->packages_dir);
        *p = (Paths) {};
}
