/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* The named errors of the contract (interfaces/org.chrootd1.*.xml). */
#define CHROOTD_ERROR_NO_SUCH_CHROOT     "org.chrootd1.Error.NoSuchChroot"
#define CHROOTD_ERROR_NO_SUCH_SESSION    "org.chrootd1.Error.NoSuchSession"
#define CHROOTD_ERROR_SESSION_EXISTS     "org.chrootd1.Error.SessionExists"
#define CHROOTD_ERROR_INVALID_NAME       "org.chrootd1.Error.InvalidName"
#define CHROOTD_ERROR_INVALID_ARGUMENT   "org.chrootd1.Error.InvalidArgument"
#define CHROOTD_ERROR_NO_SUBORDINATE_IDS "org.chrootd1.Error.NoSubordinateIds"
#define CHROOTD_ERROR_SOURCE_UNAVAILABLE "org.chrootd1.Error.SourceUnavailable"
#define CHROOTD_ERROR_UNSAFE_ARCHIVE     "org.chrootd1.Error.UnsafeArchive"
#define CHROOTD_ERROR_NOT_READY          "org.chrootd1.Error.NotReady"
#define CHROOTD_ERROR_NO_SUCH_USER       "org.chrootd1.Error.NoSuchUser"
#define CHROOTD_ERROR_NO_SUCH_DIRECTORY  "org.chrootd1.Error.NoSuchDirectory"
#define CHROOTD_ERROR_EXEC_FAILED        "org.chrootd1.Error.ExecFailed"
#define CHROOTD_ERROR_SESSION_ENDED      "org.chrootd1.Error.SessionEnded"
#define CHROOTD_ERROR_ACCESS_DENIED      "org.chrootd1.Error.AccessDenied"
#define CHROOTD_ERROR_LIMIT_EXCEEDED     "org.chrootd1.Error.LimitExceeded"
#define CHROOTD_ERROR_NOT_SUPPORTED      "org.chrootd1.Error.NotSupported"
#define CHROOTD_ERROR_FAILED             "org.chrootd1.Error.Failed"

/* What went wrong in a child process (a Run's command before exec, or an unpack),
 * carried back to the service in a report record and turned into a named error. */
typedef enum ChildError {
        CHILD_ERROR_FAILED,
        CHILD_ERROR_NO_SUCH_USER,
        CHILD_ERROR_NO_SUCH_DIRECTORY,
        CHILD_ERROR_EXEC,
        CHILD_ERROR_UNSAFE_ARCHIVE,
        CHILD_ERROR_SOURCE,
        CHILD_ERROR_NO_OVERLAY, /* the kernel refused overlayfs in a user namespace */
        CHILD_ERROR_LIMIT,      /* an archive beyond the limits of an unpack */
        _CHILD_ERROR_MAX,
} ChildError;

/* The D-Bus error name for a ChildError. */
const char *child_error_to_bus_name(ChildError e);
