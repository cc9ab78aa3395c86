/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Messages with file descriptors (SCM_RIGHTS) on a SOCK_SEQPACKET socket, between the
 * service, a session's leader and its commands' inits (leader.h). */

#define FDPASS_MAX 8

/* Send len bytes of data (at least 1) with n fds (n <= FDPASS_MAX). Returns 0 or -errno. */
int fdpass_send(int sock, const void *data, size_t len, const int *fds, size_t n);

/* Receive one message: up to len bytes of data and up to max fds (close-on-exec), the
 * rest of which are closed, *ret_n of them. Returns the number of bytes (0 at EOF) or
 * -errno; on error no fd is left open. */
ssize_t fdpass_recv(int sock, void *data, size_t len, int *fds, size_t max, size_t *ret_n);
