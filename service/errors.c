/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "errors.h"

#include <assert.h>
#include <stdio.h>

static const char *const error_kind_table[_ERROR_KIND_MAX] = {
        [ERROR_FAILED] = "Failed",
        [ERROR_NO_SUCH_CHROOT] = "NoSuchChroot",
        [ERROR_NO_SUCH_SESSION] = "NoSuchSession",
        [ERROR_SESSION_EXISTS] = "SessionExists",
        [ERROR_INVALID_NAME] = "InvalidName",
        [ERROR_INVALID_ARGUMENT] = "InvalidArgument",
        [ERROR_NO_SUBORDINATE_IDS] = "NoSubordinateIds",
        [ERROR_SOURCE_UNAVAILABLE] = "SourceUnavailable",
        [ERROR_UNSAFE_ARCHIVE] = "UnsafeArchive",
        [ERROR_NOT_READY] = "NotReady",
        [ERROR_NO_SUCH_USER] = "NoSuchUser",
        [ERROR_NO_SUCH_DIRECTORY] = "NoSuchDirectory",
        [ERROR_EXEC_FAILED] = "ExecFailed",
        [ERROR_SESSION_ENDED] = "SessionEnded",
        [ERROR_ACCESS_DENIED] = "AccessDenied",
        [ERROR_LIMIT_EXCEEDED] = "LimitExceeded",
        [ERROR_NOT_SUPPORTED] = "NotSupported",
        [ERROR_NO_SUCH_FILE] = "NoSuchFile",
};

const char *error_kind_to_string(ErrorKind k) {
        if (k == ERROR_NONE)
                return NULL;
        if ((unsigned) k >= _ERROR_KIND_MAX)
                return error_kind_table[ERROR_FAILED];
        return error_kind_table[k];
}

ErrorKind error_kind_from_string(const char *s) {
        for (unsigned k = ERROR_FAILED; s && k < _ERROR_KIND_MAX; k++)
                if (streq(error_kind_table[k], s))
                        return (ErrorKind) k;
        return ERROR_FAILED;
}

int error_set(Error *e, ErrorKind kind, int errnum, const char *fmt, ...) {
        va_list ap;

        assert(e);
        if (errnum < 0)
                errnum = -errnum;
        if (kind == ERROR_NONE)
                kind = ERROR_FAILED;
        if (!error_is_set(e)) {
                char *m = NULL;

                va_start(ap, fmt);
                if (vasprintf(&m, fmt, ap) < 0)
                        m = NULL;
                va_end(ap);
                *e = (Error) { .kind = kind, .errnum = errnum, .message = m ? m : strdup("Out of memory") };
        }
        return errnum > 0 ? -errnum : -EINVAL;
}

void error_move(Error *dst, Error *src) {
        if (!error_is_set(dst)) {
                *dst = *src;
                *src = ERROR_NULL;
        } else
                error_done(src);
}

void error_done(Error *e) {
        free(e->message);
        *e = ERROR_NULL;
}

static const ErrorKind child_error_table[_CHILD_ERROR_MAX] = {
        [CHILD_ERROR_FAILED] = ERROR_FAILED,
        [CHILD_ERROR_NO_SUCH_USER] = ERROR_NO_SUCH_USER,
        [CHILD_ERROR_NO_SUCH_DIRECTORY] = ERROR_NO_SUCH_DIRECTORY,
        [CHILD_ERROR_EXEC] = ERROR_EXEC_FAILED,
        [CHILD_ERROR_UNSAFE_ARCHIVE] = ERROR_UNSAFE_ARCHIVE,
        [CHILD_ERROR_SOURCE] = ERROR_SOURCE_UNAVAILABLE,
        [CHILD_ERROR_NO_OVERLAY] = ERROR_NOT_SUPPORTED,
        [CHILD_ERROR_LIMIT] = ERROR_LIMIT_EXCEEDED,
        [CHILD_ERROR_NO_SUCH_FILE] = ERROR_NO_SUCH_FILE,
        [CHILD_ERROR_INVALID] = ERROR_INVALID_ARGUMENT,
};

ErrorKind child_error_kind(ChildError e) {
        if ((unsigned) e >= _CHILD_ERROR_MAX)
                return ERROR_FAILED;
        return child_error_table[e];
}
