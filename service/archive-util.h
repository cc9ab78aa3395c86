/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <archive.h>
#include <locale.h>
#include <archive_entry.h>

static inline void archive_read_freep(struct archive **a) {
        if (*a)
                archive_read_free(*a);
}
static inline void archive_write_freep(struct archive **a) {
        if (*a)
                archive_write_free(*a);
}
static inline void archive_entry_freep(struct archive_entry **e) {
        if (*e)
                archive_entry_free(*e);
}
#define _cleanup_archive_read_ __attribute__((cleanup(archive_read_freep)))
#define _cleanup_archive_write_ __attribute__((cleanup(archive_write_freep)))
#define _cleanup_archive_entry_ __attribute__((cleanup(archive_entry_freep)))

/* libarchive converts names between pax's UTF-8 and the current LC_CTYPE. Under the
 * C locale names pass as raw bytes (pax hdrcharset=BINARY); under a legacy 8-bit
 * locale they would be transcoded. Archive code runs with a UTF-8 LC_CTYPE on its own
 * thread, set by locale_push_utf8() and undone by locale_pop() (a cleanup). */
typedef struct LocaleGuard {
        locale_t mine;
        locale_t saved;
} LocaleGuard;

LocaleGuard locale_push_utf8(void);
void locale_pop(LocaleGuard *g);
