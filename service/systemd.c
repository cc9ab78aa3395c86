/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "systemd.h"
#include "util.h"

#include <ctype.h>
#include <inttypes.h>

#define SYSTEMD_DEST "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER "org.freedesktop.systemd1.Manager"
#define JOB_TIMEOUT_USEC (30 * 1000000ULL)
#define RECENT_MAX 16

typedef enum Availability {
        SYSTEMD_UNKNOWN,
        SYSTEMD_AVAILABLE,
        SYSTEMD_UNAVAILABLE,
} Availability;

struct SystemdClient {
        sd_bus *bus;
        sd_event *event;
        sd_bus_slot *match;
        Availability availability;
        bool subscribed;
        bool no_pidfds; /* systemd < 253 does not know the PIDFDs property */
        bool no_delegate_subgroup; /* systemd < 254 does not know DelegateSubgroup */
        SystemdJob *jobs;
        /* JobRemoved signals whose job we did not know yet: systemd replies before it
         * runs the job, but a reply that is read late must still find its result. */
        struct {
                char *path;
                char *result;
        } recent[RECENT_MAX];
        unsigned recent_next;
};

typedef enum JobKind {
        JOB_SCOPE, /* StartTransientUnit of a scope */
        JOB_STOP,  /* StopUnit */
        JOB_SLICE, /* StartTransientUnit of a slice with limits, or SetUnitProperties */
} JobKind;

struct SystemdJob {
        SystemdClient *client;
        SystemdJob *next;
        char *unit;
        char *job_path;
        sd_bus_slot *call;
        sd_event_source *timer;
        systemd_job_done_t done;
        void *userdata;
        JobKind kind;
        Limits limits;     /* JOB_SLICE */
        bool setting_properties;
        /* To retry a scope with PIDs when PIDFDs is refused. */
        bool used_pidfds;
        bool used_delegate_subgroup;
        char *slice;
        char *description;
        pid_t pid;
        int pidfd;
};

SystemdJob *systemd_job_cancel(SystemdJob *j) {
        if (!j)
                return NULL;
        for (SystemdJob **i = &j->client->jobs; *i; i = &(*i)->next)
                if (*i == j) {
                        *i = j->next;
                        break;
                }
        sd_bus_slot_unref(j->call);
        sd_event_source_unref(j->timer);
        free(j->unit);
        free(j->job_path);
        free(j->slice);
        free(j->description);
        free(j);
        return NULL;
}

static void job_finish(SystemdJob *j, int r, const char *message) {
        systemd_job_done_t done = j->done;
        void *userdata = j->userdata;

        systemd_job_cancel(j);
        done(r, message, userdata);
}

static void job_finish_with_result(SystemdJob *j, const char *result) {
        _cleanup_free_ char *msg = NULL;

        if (streq(result, "done")) {
                job_finish(j, 0, NULL);
                return;
        }
        msg = strf("systemd's job for %s finished with result '%s'", j->unit, result);
        job_finish(j, -EIO, msg ? msg : result);
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *unused) {
        SystemdClient *c = userdata;
        const char *path, *unit, *result;
        uint32_t id;
        unsigned k;

        if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
                return 0;
        for (SystemdJob *j = c->jobs; j; j = j->next)
                if (j->job_path && streq(j->job_path, path)) {
                        job_finish_with_result(j, result);
                        return 0;
                }
        k = c->recent_next++ % RECENT_MAX;
        free(c->recent[k].path);
        free(c->recent[k].result);
        c->recent[k].path = strdup(path);
        c->recent[k].result = strdup(result);
        return 0;
}

static int on_job_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        SystemdJob *j = userdata;
        _cleanup_free_ char *msg = strf("systemd did not finish the job for %s in time", j->unit);

        job_finish(j, -ETIMEDOUT, msg ? msg : "timeout");
        return 0;
}

/* A bus without a user manager: nobody owns the name, or activating it failed (a
 * plain dbus-daemon finds systemd's activation file, whose Exec= is /bin/false). */
static bool error_means_no_manager(const sd_bus_error *e) {
        return sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER) ||
               (e->name && startswith(e->name, "org.freedesktop.DBus.Error.Spawn."));
}

static int send_job_call(SystemdJob *j);
static int send_set_properties(SystemdJob *j);

static int on_job_reply(sd_bus_message *m, void *userdata, sd_bus_error *unused) {
        SystemdJob *j = userdata;
        SystemdClient *c = j->client;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        const char *path;
        int r;

        j->call = sd_bus_slot_unref(j->call);
        if (e) {
                if (error_means_no_manager(e)) {
                        if (c->availability != SYSTEMD_UNAVAILABLE)
                                log_notice("No systemd user manager on the bus (%s): commands run without "
                                           "delegated cgroups, and limits are not supported", e->message);
                        c->availability = SYSTEMD_UNAVAILABLE;
                        job_finish(j, -EOPNOTSUPP, e->message);
                        return 0;
                }
                if (j->kind == JOB_SCOPE && (j->used_pidfds || j->used_delegate_subgroup) &&
                    sd_bus_error_has_names(e, SD_BUS_ERROR_INVALID_ARGS, SD_BUS_ERROR_PROPERTY_READ_ONLY)) {
                        /* Probe, don't compare versions (DelegateSubgroup came with systemd
                         * 254, PIDFDs with 253): drop the newest property the manager may
                         * not know, and try again; what works is remembered. */
                        if (j->used_delegate_subgroup)
                                c->no_delegate_subgroup = true;
                        else
                                c->no_pidfds = true;
                        r = send_job_call(j);
                        if (r < 0)
                                job_finish(j, r, "Cannot ask systemd for a scope");
                        return 0;
                }
                if (j->kind == JOB_STOP && sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit")) {
                        job_finish(j, 0, NULL); /* stopping what is not there */
                        return 0;
                }
                if (j->kind == JOB_SLICE && sd_bus_error_has_name(e, "org.freedesktop.systemd1.UnitExists")) {
                        /* The slice is there already (a Run made it, or an earlier
                         * instance of the service): change its properties instead. */
                        r = send_set_properties(j);
                        if (r < 0)
                                job_finish(j, r, "Cannot ask systemd to change the slice");
                        return 0;
                }
                job_finish(j, -EIO, e->message);
                return 0;
        }
        if (j->setting_properties) {
                job_finish(j, 0, NULL); /* no job: done when it answers */
                return 0;
        }
        c->availability = SYSTEMD_AVAILABLE;
        r = sd_bus_message_read(m, "o", &path);
        if (r < 0 || !(j->job_path = strdup(path))) {
                job_finish(j, r < 0 ? r : -ENOMEM, "Cannot read systemd's reply");
                return 0;
        }
        for (unsigned k = 0; k < RECENT_MAX; k++)
                if (c->recent[k].path && streq(c->recent[k].path, path)) {
                        job_finish_with_result(j, strempty(c->recent[k].result));
                        return 0;
                }
        r = sd_event_add_time_relative(c->event, &j->timer, CLOCK_MONOTONIC, JOB_TIMEOUT_USEC, 0, on_job_timeout, j);
        if (r < 0)
                job_finish(j, r, "Cannot wait for systemd's job");
        return 0;
}

static int append_scope_properties(SystemdJob *j, sd_bus_message *m) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)", "Description", "s", j->description, "Slice", "s",
                                          j->slice, "Delegate", "b", 1, "CollectMode", "s", "inactive-or-failed");
        if (r >= 0) {
                j->used_pidfds = j->pidfd >= 0 && !j->client->no_pidfds;
                if (j->used_pidfds)
                        r = sd_bus_message_append(m, "(sv)", "PIDFDs", "ah", 1, j->pidfd);
                else
                        r = sd_bus_message_append(m, "(sv)", "PIDs", "au", 1, (uint32_t) j->pid);
        }
        /* The command in a subgroup of the delegated scope leaves the scope's own cgroup
         * free to enable controllers for it (no processes in inner cgroups). */
        j->used_delegate_subgroup = !j->client->no_delegate_subgroup;
        if (r >= 0 && j->used_delegate_subgroup)
                r = sd_bus_message_append(m, "(sv)", "DelegateSubgroup", "s", "payload");
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "a(sa(sv))", 0);
        return r;
}

static int append_limits(const Limits *l, sd_bus_message *m) {
        int r = 0;

        if (l->memory_max)
                r = sd_bus_message_append(m, "(sv)", "MemoryMax", "t", l->memory_max);
        if (r >= 0 && l->tasks_max)
                r = sd_bus_message_append(m, "(sv)", "TasksMax", "t", l->tasks_max);
        if (r >= 0 && l->cpu_weight)
                r = sd_bus_message_append(m, "(sv)", "CPUWeight", "t", l->cpu_weight);
        return r;
}

static int send_set_properties(SystemdJob *j) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        SystemdClient *c = j->client;
        int r;

        r = sd_bus_message_new_method_call(c->bus, &m, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                           "SetUnitProperties");
        if (r >= 0)
                r = sd_bus_message_append(m, "sb", j->unit, 1); /* runtime: gone with the slice */
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = append_limits(&j->limits, m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        j->setting_properties = true;
        return sd_bus_call_async(c->bus, &j->call, m, on_job_reply, j, JOB_TIMEOUT_USEC);
}

int systemd_set_description(SystemdClient *c, const char *unit, const char *description) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        if (!c || c->availability == SYSTEMD_UNAVAILABLE)
                return -EOPNOTSUPP;
        r = sd_bus_message_new_method_call(c->bus, &m, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                           "SetUnitProperties");
        if (r >= 0)
                r = sd_bus_message_append(m, "sba(sv)", unit, 1, 1, "Description", "s", description);
        if (r >= 0)
                r = sd_bus_message_set_expect_reply(m, 0);
        if (r < 0)
                return r;
        return sd_bus_send(c->bus, m, NULL);
}

static int send_job_call(SystemdJob *j) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        SystemdClient *c = j->client;
        int r;

        /* Job signals are only sent to subscribers; messages are ordered, so this is in
         * effect before the job exists. */
        if (!c->subscribed) {
                r = sd_bus_call_method_async(c->bus, NULL, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER, "Subscribe",
                                             NULL, NULL, NULL);
                if (r < 0)
                        return r;
                c->subscribed = true;
        }
        r = sd_bus_message_new_method_call(c->bus, &m, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                           j->kind == JOB_STOP ? "StopUnit" : "StartTransientUnit");
        if (r < 0)
                return r;
        /* A stop replaces what is queued for the unit: End's stop of the slice must not
         * be refused because a spare's scope in it still waits to start. */
        r = sd_bus_message_append(m, "ss", j->unit, j->kind == JOB_STOP ? "replace" : "fail");
        if (r >= 0 && j->kind == JOB_SCOPE)
                r = append_scope_properties(j, m);
        if (r >= 0 && j->kind == JOB_SLICE) {
                r = sd_bus_message_open_container(m, 'a', "(sv)");
                if (r >= 0)
                        r = append_limits(&j->limits, m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_append(m, "a(sa(sv))", 0);
        }
        if (r < 0)
                return r;
        return sd_bus_call_async(c->bus, &j->call, m, on_job_reply, j, JOB_TIMEOUT_USEC);
}

static int job_new(SystemdClient *c, const char *unit, systemd_job_done_t done, void *userdata, SystemdJob **ret) {
        SystemdJob *j;

        if (!c || c->availability == SYSTEMD_UNAVAILABLE)
                return -EOPNOTSUPP;
        j = calloc(1, sizeof(SystemdJob));
        if (!j)
                return -ENOMEM;
        j->client = c;
        j->pidfd = -EBADF;
        j->done = done;
        j->userdata = userdata;
        j->unit = strdup(unit);
        if (!j->unit) {
                free(j);
                return -ENOMEM;
        }
        j->next = c->jobs;
        c->jobs = j;
        *ret = j;
        return 0;
}

int systemd_start_scope(SystemdClient *c, const char *unit, const char *slice, const char *description, pid_t pid,
                        int pidfd, systemd_job_done_t done, void *userdata, SystemdJob **ret) {
        SystemdJob *j;
        int r;

        r = job_new(c, unit, done, userdata, &j);
        if (r < 0)
                return r;
        j->kind = JOB_SCOPE;
        j->pid = pid;
        j->pidfd = pidfd; /* borrowed: the caller keeps it open while the job runs */
        j->slice = strdup(slice);
        j->description = strdup(description);
        r = j->slice && j->description ? send_job_call(j) : -ENOMEM;
        if (r < 0) {
                systemd_job_cancel(j);
                return r;
        }
        *ret = j;
        return 0;
}

int systemd_stop_unit(SystemdClient *c, const char *unit, systemd_job_done_t done, void *userdata, SystemdJob **ret) {
        SystemdJob *j;
        int r;

        r = job_new(c, unit, done, userdata, &j);
        if (r < 0)
                return r;
        j->kind = JOB_STOP;
        r = send_job_call(j);
        if (r < 0) {
                systemd_job_cancel(j);
                return r;
        }
        *ret = j;
        return 0;
}

int systemd_set_slice_limits(SystemdClient *c, const char *slice, const Limits *limits, systemd_job_done_t done,
                             void *userdata, SystemdJob **ret) {
        SystemdJob *j;
        int r;

        r = job_new(c, slice, done, userdata, &j);
        if (r < 0)
                return r;
        j->kind = JOB_SLICE;
        j->limits = *limits;
        r = send_job_call(j);
        if (r < 0) {
                systemd_job_cancel(j);
                return r;
        }
        *ret = j;
        return 0;
}

typedef struct StaleQuery {
        SystemdClient *client;
        systemd_unit_in_use_t in_use;
        void *userdata;
} StaleQuery;

static int on_stale_listed(sd_bus_message *m, void *userdata, sd_bus_error *unused) {
        _cleanup_free_ StaleQuery *q = userdata;
        const char *unit, *s1, *s2, *s3, *s4, *s5, *o1, *s6, *o2;
        uint32_t job;
        int r;

        if (sd_bus_message_is_method_error(m, NULL))
                return 0; /* no user manager, or one too old for ListUnitsByPatterns */
        r = sd_bus_message_enter_container(m, 'a', "(ssssssouso)");
        while (r > 0) {
                r = sd_bus_message_read(m, "(ssssssouso)", &unit, &s1, &s2, &s3, &s4, &s5, &o1, &job, &s6, &o2);
                if (r <= 0)
                        break;
                /* Asked now, not when the list was asked for: a session may have come. */
                if (q->in_use(unit, q->userdata))
                        continue;
                log_notice("Stopping %s, which no session or command of ours uses", unit);
                (void) sd_bus_call_method_async(q->client->bus, NULL, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                                "StopUnit", NULL, NULL, "ss", unit, "replace");
        }
        return 0;
}

int systemd_stop_stale(SystemdClient *c, systemd_unit_in_use_t in_use, void *userdata) {
        static const char *const patterns[] = { "chrootd-run-*.scope", "chrootd-*.slice", NULL };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ StaleQuery *q = NULL;
        int r;

        if (!c)
                return -EOPNOTSUPP;
        q = malloc(sizeof(StaleQuery));
        if (!q)
                return -ENOMEM;
        *q = (StaleQuery) { .client = c, .in_use = in_use, .userdata = userdata };
        r = sd_bus_message_new_method_call(c->bus, &m, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                           "ListUnitsByPatterns");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, NULL);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, (char **) patterns);
        if (r >= 0)
                r = sd_bus_call_async(c->bus, NULL, m, on_stale_listed, q, JOB_TIMEOUT_USEC);
        if (r < 0)
                return r;
        TAKE_PTR(q);
        return 0;
}

int systemd_client_new(sd_bus *bus, sd_event *event, SystemdClient **ret) {
        SystemdClient *c = calloc(1, sizeof(SystemdClient));
        int r;

        if (!c)
                return -ENOMEM;
        c->bus = sd_bus_ref(bus);
        c->event = sd_event_ref(event);
        r = sd_bus_match_signal(bus, &c->match, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER, "JobRemoved",
                                on_job_removed, c);
        if (r < 0) {
                systemd_client_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

SystemdClient *systemd_client_free(SystemdClient *c) {
        if (!c)
                return NULL;
        while (c->jobs)
                systemd_job_cancel(c->jobs);
        for (unsigned k = 0; k < RECENT_MAX; k++) {
                free(c->recent[k].path);
                free(c->recent[k].result);
        }
        sd_bus_slot_unref(c->match);
        sd_bus_unref(c->bus);
        sd_event_unref(c->event);
        free(c);
        return NULL;
}

int unit_name_escape(const char *s, char **ret) {
        _cleanup_free_ char *e = malloc(strlen(s) * 4 + 1);
        char *p;

        if (!e)
                return -ENOMEM;
        p = e;
        for (const char *i = s; *i; i++) {
                unsigned char ch = (unsigned char) *i;
                if (ch == '/')
                        *p++ = '-';
                else if (isalnum(ch) || ch == '_' || ch == ':' || (ch == '.' && i != s))
                        *p++ = (char) ch;
                else
                        p += sprintf(p, "\\x%02x", ch);
        }
        *p = 0;
        *ret = TAKE_PTR(e);
        return 0;
}

/* systemd refuses unit names of 256 characters or more, and escaping can make a
 * 128-character id four times longer. Such ids are named by a hash instead: FNV-1a,
 * which is stable, so the service finds the same slice after a restart. */
#define ESCAPED_ID_MAX 200

static int unit_id_part(const char *id, char **ret) {
        _cleanup_free_ char *e = NULL;
        uint64_t h = UINT64_C(14695981039346656037);
        int r;

        r = unit_name_escape(id, &e);
        if (r < 0)
                return r;
        if (strlen(e) <= ESCAPED_ID_MAX) {
                *ret = TAKE_PTR(e);
                return 0;
        }
        for (const char *p = id; *p; p++)
                h = (h ^ (unsigned char) *p) * UINT64_C(1099511628211);
        *ret = strf("h%016" PRIx64, h);
        return *ret ? 0 : -ENOMEM;
}

int session_slice_name(const char *id, char **ret) {
        _cleanup_free_ char *e = NULL;
        int r = unit_id_part(id, &e);

        if (r < 0)
                return r;
        *ret = strf("chrootd-%s.slice", e);
        return *ret ? 0 : -ENOMEM;
}

int run_scope_name(const char *id, pid_t pid, char **ret) {
        _cleanup_free_ char *e = NULL;
        int r = unit_id_part(id, &e);

        if (r < 0)
                return r;
        *ret = strf("chrootd-run-%s-%d.scope", e, (int) pid);
        return *ret ? 0 : -ENOMEM;
}
