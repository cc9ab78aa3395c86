/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Booted sessions: the tree's own init (systemd) as PID 1 of a container (boot.h),
 * commands delivered by its agent. (Being written: the API first.) */
#include "session-private.h"

const char *session_boot_state(const Session *s) {
        if (!s->rec.boot)
                return "";
        return s->boot ? "running" : "off";
}

int session_reboot(Session *s, Error *e) {
        if (!s->rec.boot)
                return error_set(e, ERROR_NOT_SUPPORTED, EOPNOTSUPP, "Session '%s' is not a booted session", s->rec.id);
        return error_set(e, ERROR_NOT_SUPPORTED, EOPNOTSUPP, "Not yet");
}

int session_open_console_log(Session *s, int *ret_fd, Error *e) {
        if (!s->rec.boot)
                return error_set(e, ERROR_NOT_SUPPORTED, EOPNOTSUPP, "Session '%s' is not a booted session", s->rec.id);
        return error_set(e, ERROR_NOT_SUPPORTED, EOPNOTSUPP, "Not yet");
}
