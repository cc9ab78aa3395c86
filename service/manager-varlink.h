/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The varlink front end: interface org.chrootd.Manager on the socket that systemd
 * passes in (chrootd.socket: $XDG_RUNTIME_DIR/chrootd/org.chrootd.Manager), on
 * libsystemd's sd-varlink. Built only where libsystemd has it (HAVE_VARLINK); the
 * stubs below let main.c attach it unconditionally. */

#include <stdbool.h>
#include "config.h"
#include "manager.h"

typedef struct VarlinkFrontend VarlinkFrontend;

#if HAVE_VARLINK
/* Serve org.chrootd.Manager on the sockets systemd passed in ($LISTEN_FDS named
 * "varlink"; also $SYSTEMD_VARLINK_LISTEN, sd-varlink's debugging aid) and attach to m
 * (frontend.h). Without such a socket *ret is NULL and 0 is returned: the service is
 * then reachable over D-Bus alone. The front end must outlive m. Returns 0 or -errno. */
int varlink_frontend_new(Manager *m, VarlinkFrontend **ret);
VarlinkFrontend *varlink_frontend_free(VarlinkFrontend *vf);
/* Whether a client is connected (a Subscribe stream, or one between calls): the
 * service does not exit on idle then (docs/design.md). */
bool varlink_frontend_busy(VarlinkFrontend *vf);
#else
static inline int varlink_frontend_new(Manager *m, VarlinkFrontend **ret) {
        *ret = NULL;
        return 0;
}
static inline VarlinkFrontend *varlink_frontend_free(VarlinkFrontend *vf) {
        return NULL;
}
static inline bool varlink_frontend_busy(VarlinkFrontend *vf) {
        return false;
}
#endif

static inline void varlink_frontend_freep(VarlinkFrontend **vf) {
        varlink_frontend_free(*vf);
}
