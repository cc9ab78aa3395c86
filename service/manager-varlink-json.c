/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The core's objects in org.chrootd.Manager's JSON, and the parameter types the
 * interface has beyond sd-json's own dispatchers. */
#include "manager-varlink-json.h"
#include "cgroup.h"
#include "options.h"
#include "session.h"

int vl_build_chroot(const Chroot *ch, sd_json_variant **ret) {
        return sd_json_buildo(ret,
                              SD_JSON_BUILD_PAIR_STRING("name", ch->name),
                              SD_JSON_BUILD_PAIR_STRING("type", chroot_type_to_string(ch->type)),
                              SD_JSON_BUILD_PAIR_STRING("path", ch->path),
                              SD_JSON_BUILD_PAIR_STRING("description", strempty(ch->description)),
                              SD_JSON_BUILD_PAIR_STRV("aliases", ch->aliases));
}

static int build_commands(const Session *s, sd_json_variant **ret) {
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *a = NULL;
        int r;

        r = sd_json_variant_new_array(&a, NULL, 0);
        for (Run *run = s->runs; r >= 0 && run; run = run->next)
                r = sd_json_variant_append_arraybo(
                                &a,
                                SD_JSON_BUILD_PAIR_STRV("argv", run->argv),
                                SD_JSON_BUILD_PAIR_UNSIGNED("pid", (uint64_t) run->pid),
                                SD_JSON_BUILD_PAIR_CONDITION(!!run->unit, "unit", SD_JSON_BUILD_STRING(run->unit)),
                                SD_JSON_BUILD_PAIR_UNSIGNED("startedUSec", run->started_usec));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(a);
        return 0;
}

int vl_build_session(const Session *s, sd_json_variant **ret) {
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *commands = NULL;
        _cleanup_free_ char *root = session_root_directory(s);
        CgroupUsage u = { UINT64_MAX, UINT64_MAX, UINT64_MAX };
        int r;

        if (s->manager->slices_cgroup && s->slice) {
                _cleanup_free_ char *dir = strf("%s%s", s->manager->slices_cgroup, s->slice);
                if (!dir)
                        return -ENOMEM;
                cgroup_read_usage(dir, &u);
        }
        r = build_commands(s, &commands);
        if (r < 0)
                return r;
        return sd_json_buildo(
                        ret,
                        SD_JSON_BUILD_PAIR_STRING("id", s->rec.id),
                        SD_JSON_BUILD_PAIR_STRING("chroot", s->rec.chroot),
                        SD_JSON_BUILD_PAIR_STRING("state", session_state_to_string(s->rec.state)),
                        SD_JSON_BUILD_PAIR_REAL("progress", session_progress(s)),
                        SD_JSON_BUILD_PAIR_UNSIGNED("creationTimestamp", s->rec.created_usec),
                        SD_JSON_BUILD_PAIR_STRING("unionType", session_is_overlay(s) ? "overlay" : "none"),
                        SD_JSON_BUILD_PAIR_BOOLEAN("writeBack", s->rec.write_back),
                        SD_JSON_BUILD_PAIR_BOOLEAN("packageCache", s->rec.package_cache),
                        SD_JSON_BUILD_PAIR_BOOLEAN("boot", s->rec.boot),
                        SD_JSON_BUILD_PAIR_BOOLEAN("hostNetwork", s->rec.host_network),
                        SD_JSON_BUILD_PAIR_CONDITION(s->rec.boot, "bootState",
                                                     SD_JSON_BUILD_STRING(session_boot_state(s))),
                        SD_JSON_BUILD_PAIR_CONDITION(!!root, "rootDirectory", SD_JSON_BUILD_STRING(root)),
                        SD_JSON_BUILD_PAIR_STRING("slice", strempty(s->slice)),
                        SD_JSON_BUILD_PAIR_UNSIGNED("memoryMax", s->rec.limits.memory_max),
                        SD_JSON_BUILD_PAIR_UNSIGNED("tasksMax", s->rec.limits.tasks_max),
                        SD_JSON_BUILD_PAIR_UNSIGNED("cpuWeight", s->rec.limits.cpu_weight),
                        SD_JSON_BUILD_PAIR_CONDITION(u.tasks != UINT64_MAX, "tasksCurrent", SD_JSON_BUILD_UNSIGNED(u.tasks)),
                        SD_JSON_BUILD_PAIR_CONDITION(u.memory != UINT64_MAX, "memoryCurrent",
                                                     SD_JSON_BUILD_UNSIGNED(u.memory)),
                        SD_JSON_BUILD_PAIR_CONDITION(u.cpu_usec != UINT64_MAX, "cpuUsageNSec",
                                                     SD_JSON_BUILD_UNSIGNED(u.cpu_usec * 1000)),
                        SD_JSON_BUILD_PAIR_UNSIGNED("runningCommands", s->n_runs),
                        SD_JSON_BUILD_PAIR_VARIANT("commands", commands));
}

int vl_build_sessions(Manager *m, sd_json_variant **ret) {
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *a = NULL;
        int r;

        r = sd_json_variant_new_array(&a, NULL, 0);
        for (Session *s = m->sessions; r >= 0 && s; s = s->next) {
                _cleanup_(sd_json_variant_unrefp) sd_json_variant *v = NULL;
                r = vl_build_session(s, &v);
                if (r >= 0)
                        r = sd_json_variant_append_array(&a, v);
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(a);
        return 0;
}

int vl_dispatch_opt_u64(const char *name, sd_json_variant *v, sd_json_dispatch_flags_t flags, void *userdata) {
        OptU64 *o = userdata;
        int r;

        if (sd_json_variant_is_null(v))
                return 0;
        r = sd_json_dispatch_uint64(name, v, flags, &o->value);
        if (r < 0)
                return r;
        o->set = true;
        return 0;
}

int vl_dispatch_opt_bool(const char *name, sd_json_variant *v, sd_json_dispatch_flags_t flags, void *userdata) {
        if (sd_json_variant_is_null(v))
                return 0;
        return sd_json_dispatch_stdbool(name, v, flags, userdata);
}

int vl_dispatch_list(const char *name, sd_json_variant *v, sd_json_dispatch_flags_t flags, void *userdata) {
        char ***l = userdata;
        int r;

        strv_free(*l);
        *l = NULL;
        if (sd_json_variant_is_null(v))
                return 0;
        r = sd_json_variant_strv(v, l);
        if (r < 0)
                return r;
        if (!*l && !(*l = calloc(1, sizeof(char *))))
                return -ENOMEM;
        return 0;
}

/* The limits, as D-Bus names them for the core's checks and messages; the JSON names
 * are VL_LIMIT_FIELDS'. */
static const char *const limit_keys[3] = { "memory-max", "tasks-max", "cpu-weight" };

int vl_read_limits(const OptU64 opt[3], Limits *ret, Error *e) {
        Limits l = {};
        int r;

        for (int i = 0; i < 3; i++) {
                if (!opt[i].set)
                        continue;
                r = check_limit(limit_keys[i], opt[i].value, e);
                if (r < 0)
                        return r;
                *limits_field(&l, limit_keys[i]) = opt[i].value;
        }
        *ret = l;
        return 0;
}
