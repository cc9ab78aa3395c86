/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "report.h"

#include <stdint.h>

enum {
        RECORD_ERROR = 1,
        RECORD_STATUS = 2,
        RECORD_STARTED = 3,
};

typedef struct Record {
        uint32_t type;
        int32_t kind;
        int32_t value; /* errno or wait status */
        char message[REPORT_MESSAGE_MAX];
} Record;

_Static_assert(sizeof(Record) < 4096, "records must be written atomically");

void report_error(int fd, ChildError kind, int error, const char *fmt, ...) {
        Record rec = { .type = RECORD_ERROR, .kind = kind, .value = error };
        int saved = errno;
        va_list ap;

        if (fd < 0)
                return;
        if (error < 0)
                errno = -error;
        va_start(ap, fmt);
        (void) vsnprintf(rec.message, sizeof(rec.message), fmt, ap);
        va_end(ap);
        (void) write_full(fd, &rec, sizeof(rec));
        errno = saved;
}

void report_status(int fd, int wstatus) {
        Record rec = { .type = RECORD_STATUS, .value = wstatus };

        if (fd >= 0)
                (void) write_full(fd, &rec, sizeof(rec));
}

void report_started(int fd) {
        Record rec = { .type = RECORD_STARTED };

        if (fd >= 0)
                (void) write_full(fd, &rec, sizeof(rec));
}

int report_read_more(int fd, Report *rep) {
        Record rec;

        for (;;) {
                ssize_t n = read_full(fd, &rec, sizeof(rec));
                if (n == -EAGAIN)
                        return 0;
                if (n == 0)
                        return 1;
                if (n < 0)
                        return (int) n;
                if ((size_t) n != sizeof(rec))
                        return -EBADMSG;
                if (rec.type == RECORD_ERROR && !rep->have_error) {
                        rep->have_error = true;
                        rep->error_kind = (ChildError) rec.kind;
                        rep->error = rec.value;
                        rec.message[sizeof(rec.message) - 1] = 0;
                        memcpy(rep->message, rec.message, sizeof(rep->message));
                } else if (rec.type == RECORD_STARTED)
                        rep->started = true;
                else if (rec.type == RECORD_STATUS) {
                        rep->have_status = true;
                        rep->wstatus = rec.value;
                }
        }
}

int report_read(int fd, Report *ret) {
        int r;

        *ret = (Report) {};
        r = report_read_more(fd, ret);
        return r < 0 ? r : 0;
}
