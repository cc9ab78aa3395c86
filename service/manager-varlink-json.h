/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the varlink front end (manager-varlink.c) needs of sd-json: the core's objects
 * as org.chrootd.Manager's types, and dispatchers for its parameters. sd-varlink has
 * checked each parameter's type against the interface before these see it. */

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-json.h>

#include "catalog.h"
#include "errors.h"
#include "manager.h"

/* The types Chroot and Session (with its Commands); ListSessions' and Subscribe's
 * array of every session. Return 0 or -ENOMEM. */
int vl_build_chroot(const Chroot *ch, sd_json_variant **ret);
int vl_build_session(const Session *s, sd_json_variant **ret);
int vl_build_sessions(Manager *m, sd_json_variant **ret);

/* A nullable integer: null (or absent) is "not given", unlike 0. */
typedef struct OptU64 {
        uint64_t value;
        bool set;
} OptU64;

/* sd_json_dispatch callbacks: into an OptU64; a nullable bool (null: left as it is);
 * a list of strings (char ***) where [] stays an empty list (an empty environment)
 * and null stays NULL (a clean one), as on D-Bus. */
int vl_dispatch_opt_u64(const char *name, sd_json_variant *v, sd_json_dispatch_flags_t flags, void *userdata);
int vl_dispatch_opt_bool(const char *name, sd_json_variant *v, sd_json_dispatch_flags_t flags, void *userdata);
int vl_dispatch_list(const char *name, sd_json_variant *v, sd_json_dispatch_flags_t flags, void *userdata);

/* memoryMax, tasksMax and cpuWeight, into member[0..2] (OptU64) of type. */
#define VL_LIMIT_FIELDS(type, member)                                                                        \
        { "memoryMax", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_opt_u64, offsetof(type, member[0]), 0 },  \
        { "tasksMax", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_opt_u64, offsetof(type, member[1]), 0 },   \
        { "cpuWeight", _SD_JSON_VARIANT_TYPE_INVALID, vl_dispatch_opt_u64, offsetof(type, member[2]), 0 }

/* The limits given (VL_LIMIT_FIELDS), judged by the core (check_limit()); unset ones
 * are 0. Returns 0 or -errno with e set. */
int vl_read_limits(const OptU64 opt[3], Limits *ret, Error *e);
