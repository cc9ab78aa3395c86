/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include "errors.h"
#include "util.h"

/* Children (a Run's init and command, an unpack) tell the service what happened
 * through a pipe of fixed-size records. Each record is written with one write() of
 * less than PIPE_BUF bytes, so records from several processes never interleave. The
 * command's copy of the pipe is O_CLOEXEC: a successful exec leaves no record. */

#define REPORT_MESSAGE_MAX 900

typedef struct Report {
        bool have_error;
        ChildError error_kind;
        int error;                     /* negative errno, or 0 */
        char message[REPORT_MESSAGE_MAX];
        bool started;                  /* the command was forked (report_started()) */
        bool have_status;
        int wstatus;                   /* the command's wait status */
} Report;

/* Called in children: never fail, never allocate, keep errno. In report_error()'s fmt,
 * %m is error (a negative errno; errno as it is for 0). */
void report_error(int fd, ChildError kind, int error, const char *fmt, ...) _printf_(4, 5);
void report_status(int fd, int wstatus);
/* The command was forked: it has exec()ed, or reported why not before this record (a
 * vfork() parent resumes only then). */
void report_started(int fd);

/* Called in the service once every writer has gone: read all records. The first
 * error wins; the last status wins. Returns 0 or -errno. */
int report_read(int fd, Report *ret);

/* Read the records there are now from a non-blocking fd into *rep (which holds what
 * earlier calls read). Returns 1 at EOF (every writer gone), 0 if more may come, or
 * -errno. */
int report_read_more(int fd, Report *rep);
