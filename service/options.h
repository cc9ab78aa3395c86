/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The checks on what callers ask for, shared by every front end: each decodes its own
 * wire format into these values and lets the core judge them, so that D-Bus and
 * varlink accept and refuse exactly the same things, with the same messages. Each
 * returns 0, or a negative errno with e set (ERROR_INVALID_ARGUMENT unless said). */

#include <stdbool.h>
#include <stdint.h>
#include "errors.h"
#include "store.h"

/* Limits on what one Run may ask for. */
#define RUN_ARGV_MAX 4096
#define RUN_ENV_MAX 4096
#define RUN_STRINGS_BYTES_MAX (1024 * 1024)
#define RUN_USER_MAX 256
#define RUN_DIRECTORY_MAX 4096
#define ACCOUNT_NAME_MAX 256

/* A chroot or session name (names.h); ERROR_INVALID_NAME. what: "chroot", "session". */
int check_name(const char *name, const char *what, Error *e);

/* One limit's value: memory-max and tasks-max at least 1 (UINT64_MAX: no limit),
 * cpu-weight 1..10000. key names the option. */
int check_limit(const char *key, uint64_t v, Error *e);

/* The Limits field an option key names, or NULL for a key that is none of them. */
uint64_t *limits_field(Limits *l, const char *key);

/* union-type: "overlay" or "none". */
int check_union_type(const char *v, Error *e);

/* Begin's network: "host" or "none" (NULL: not given, which is "none"), for a booted
 * session only (boot: Begin's boot option is true); *ret_host_network says "host". */
int check_begin_network(bool boot, const char *network, bool *ret_host_network, Error *e);

/* add-accounts: names that can be looked up (no ':', '\n' or '/', 1..256 bytes). */
int check_accounts(char *const *accounts, Error *e);

/* A Run's argv (an empty one is the user's login shell; an empty argv[0] is refused),
 * environment and setenv (KEY=VALUE), user, directory (absolute) and network ("host"
 * or "none": *ret_network_none), within the RUN_* limits. */
int check_run(char *const *argv, char *const *environment, char *const *setenv, const char *user,
              const char *directory, const char *network, bool *ret_network_none, Error *e);

/* A command's standard stream: a file, pipe, socket or character device, not O_PATH.
 * key names the option ("stdin"...). */
int check_stream_fd(int fd, const char *key, Error *e);

/* A terminal for a command (pty): then no stdin, stdout or stderr of the caller's
 * (stdio[] all negative); a window size (size_given) only with one. */
int check_terminal(bool pty, const int stdio[3], bool size_given, Error *e);

/* CopyIn's and CopyOut's path inside the session (absolute, within PATH_MAX) and the
 * tar stream's fd (a file, pipe or socket: check_stream_fd()). */
int check_copy(const char *path, int fd, Error *e);

/* A signal Kill may send (1.._NSIG-1, not SIGSTOP, which an init cannot pass on). */
int check_signal(int sig, Error *e);

/* An option given a second time (*seen collects the keys): which would win is nobody's
 * guess, so that is refused. */
int check_option_once(char ***seen, const char *key, Error *e);
