/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdarg.h>
#include "util.h"

/* What went wrong, in the core's terms: a kind, the errno behind it and a message for
 * the user. The kinds are the named errors of the contract; only the front ends turn
 * them into names (org.chrootd1.Error.<Name> on D-Bus, org.chrootd.Manager.<Name> on
 * varlink), from error_kind_to_string(). */
typedef enum ErrorKind {
        ERROR_NONE, /* success: no error */
        ERROR_FAILED,
        ERROR_NO_SUCH_CHROOT,
        ERROR_NO_SUCH_SESSION,
        ERROR_SESSION_EXISTS,
        ERROR_INVALID_NAME,
        ERROR_INVALID_ARGUMENT,
        ERROR_NO_SUBORDINATE_IDS,
        ERROR_SOURCE_UNAVAILABLE,
        ERROR_UNSAFE_ARCHIVE,
        ERROR_NOT_READY,
        ERROR_NO_SUCH_USER,
        ERROR_NO_SUCH_DIRECTORY,
        ERROR_EXEC_FAILED,
        ERROR_SESSION_ENDED,
        ERROR_ACCESS_DENIED,
        ERROR_LIMIT_EXCEEDED,
        ERROR_NOT_SUPPORTED,
        ERROR_NO_SUCH_FILE, /* CopyIn/CopyOut: no such path in the session */
        _ERROR_KIND_MAX,
} ErrorKind;

/* "NoSuchChroot" for ERROR_NO_SUCH_CHROOT; "Failed" for anything out of range, NULL
 * for ERROR_NONE. */
const char *error_kind_to_string(ErrorKind k);
/* The reverse; ERROR_FAILED for a name that is none of them. */
ErrorKind error_kind_from_string(const char *s);

typedef struct Error {
        ErrorKind kind; /* ERROR_NONE: no error */
        int errnum;     /* a positive errno, or 0 */
        char *message;  /* owned; never NULL when kind is set (error_set makes sure) */
} Error;

#define ERROR_NULL ((Error) {})

/* Set e (which must be unset: a first error is never overwritten, later ones are
 * dropped) and return -errnum (or -EINVAL for errnum 0), for `return error_set(...)`. */
int error_set(Error *e, ErrorKind kind, int errnum, const char *fmt, ...) _printf_(4, 5);
/* Take over src (which is left unset); dropped if dst is already set. */
void error_move(Error *dst, Error *src);
void error_done(Error *e);
static inline bool error_is_set(const Error *e) {
        return e->kind != ERROR_NONE;
}

/* What went wrong in a child process (a Run's command before exec, or an unpack),
 * carried back to the service in a report record: the children's vocabulary. */
typedef enum ChildError {
        CHILD_ERROR_FAILED,
        CHILD_ERROR_NO_SUCH_USER,
        CHILD_ERROR_NO_SUCH_DIRECTORY,
        CHILD_ERROR_EXEC,
        CHILD_ERROR_UNSAFE_ARCHIVE,
        CHILD_ERROR_SOURCE,
        CHILD_ERROR_NO_OVERLAY, /* the kernel refused overlayfs in a user namespace */
        CHILD_ERROR_LIMIT,      /* an archive beyond the limits of an unpack */
        CHILD_ERROR_NO_SUCH_FILE, /* a copy's path is not there */
        CHILD_ERROR_INVALID,      /* a copy that cannot be done as asked (ERROR_INVALID_ARGUMENT) */
        _CHILD_ERROR_MAX,
} ChildError;

/* The kind of error a ChildError is (CHILD_ERROR_NO_OVERLAY: ERROR_NOT_SUPPORTED). */
ErrorKind child_error_kind(ChildError e);
