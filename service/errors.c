/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "errors.h"
#include "util.h"

static const char *const child_error_table[_CHILD_ERROR_MAX] = {
        [CHILD_ERROR_FAILED] = CHROOTD_ERROR_FAILED,
        [CHILD_ERROR_NO_SUCH_USER] = CHROOTD_ERROR_NO_SUCH_USER,
        [CHILD_ERROR_NO_SUCH_DIRECTORY] = CHROOTD_ERROR_NO_SUCH_DIRECTORY,
        [CHILD_ERROR_EXEC] = CHROOTD_ERROR_EXEC_FAILED,
        [CHILD_ERROR_UNSAFE_ARCHIVE] = CHROOTD_ERROR_UNSAFE_ARCHIVE,
        [CHILD_ERROR_SOURCE] = CHROOTD_ERROR_SOURCE_UNAVAILABLE,
        [CHILD_ERROR_NO_OVERLAY] = CHROOTD_ERROR_NOT_SUPPORTED,
        [CHILD_ERROR_LIMIT] = CHROOTD_ERROR_LIMIT_EXCEEDED,
};

const char *child_error_to_bus_name(ChildError e) {
        if ((unsigned) e >= _CHILD_ERROR_MAX)
                return CHROOTD_ERROR_FAILED;
        return child_error_table[e];
}
