/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Run: a command in namespaces of its own (runner.h), in a transient scope of the
 * session's slice, and for a copy-on-write session on a clone of the overlay its
 * holder keeps (holder.h). */
#include "session-private.h"
#include "report.h"
#include "session-dbus.h"
#include "util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

static void session_arm_holder_timer(Session *s);

/* Freeing the child's watch kills the command's init, and with it the command's
 * whole pid namespace, and reaps it. */
Run *run_free(Run *run) {
        if (!run)
                return NULL;
        sd_event_source_unref(run->timer);
        sd_event_source_unref(run->source);
        idmap_job_done(&run->maps);
        spawned_child_done(&run->child);
        systemd_job_cancel(run->job);
        safe_close(run->report_fd);
        sd_bus_message_unref(run->message);
        outcome_done(&run->failure);
        free(run->unit);
        strv_free(run->argv);
        free(run);
        return NULL;
}

static void run_freep(Run **run) {
        run_free(*run);
}

static int on_run_exit(sd_event_source *source, const siginfo_t *si, void *userdata) {
        Run *run = userdata;
        Session *s = run->session;
        Report rep = {};
        Outcome o = {};

        (void) report_read(run->report_fd, &rep);
        /* Where a Run's time goes (docs/performance.md): --debug shows it. */
        uint64_t t_exit = now_monotonic_usec();
        log_debug("Run %d in '%s': clone %.2f ms, scope %.2f ms, then maps done %.2f ms, then to exit %.2f ms",
                  (int) run->child.pid, s->rec.id, (run->t_cloned - run->t_request) / 1000.0,
                  run->t_scope ? (run->t_scope - run->t_cloned) / 1000.0 : 0.0,
                  run->t_released ? (run->t_released - (run->t_scope ? run->t_scope : run->t_cloned)) / 1000.0 : 0.0,
                  run->t_released ? (t_exit - run->t_released) / 1000.0 : 0.0);
        if (run->timed_out) {
                o.timed_out = true;
                o.value = SIGKILL;
        } else if (rep.have_error) {
                o.error_name = child_error_to_bus_name(rep.error_kind);
                o.error_message = strdup(rep.message);
        } else if (run->failure.error_name) {
                o = run->failure;
                run->failure = (Outcome) {};
        } else if (rep.have_status) {
                o.killed = !WIFEXITED(rep.wstatus);
                o.value = WIFEXITED(rep.wstatus) ? WEXITSTATUS(rep.wstatus) : WTERMSIG(rep.wstatus);
        } else if (s->rec.state == SESSION_ENDING) {
                o.error_name = CHROOTD_ERROR_SESSION_ENDED;
                o.error_message = strf("Session '%s' was ended while the command ran", s->rec.id);
        } else if (si->si_code == CLD_KILLED && run->released) {
                /* Kill(SIGKILL), systemd or the OOM killer: SIGKILL to the init takes the
                 * command down with it, before the init can report a status. */
                o.killed = true;
                o.value = si->si_status;
        } else {
                o.error_name = CHROOTD_ERROR_FAILED;
                o.error_message = si->si_code == CLD_EXITED
                                          ? strf("The command's init failed with status %d", si->si_status)
                                          : strf("The command's init was killed by signal %s", strsignal(si->si_status));
        }
        session_reply_run(run, &o);
        outcome_done(&o);

        for (Run **i = &s->runs; *i; i = &(*i)->next)
                if (*i == run) {
                        *i = run->next;
                        break;
                }
        s->n_runs--;
        run_free(run);
        session_arm_holder_timer(s);

        session_continue_end(s);
        return 0;
}

/* Kill a command that has not run yet; on_run_exit replies with why. */
static void run_fail(Run *run, char *message) {
        if (!run->failure.error_name) {
                run->failure.error_name = CHROOTD_ERROR_FAILED;
                run->failure.error_message = message;
        } else
                free(message);
        (void) kill(run->child.pid, SIGKILL);
}

/* Write the maps and let the command's init go on. */
static void run_release(Run *run) {
        _cleanup_free_ char *error = NULL;
        int r;

        r = userns_go(&run->child, idmap_apply_finish(&run->maps, &error));
        run->released = r >= 0;
        run->t_released = now_monotonic_usec();
        if (r < 0)
                run_fail(run, strf("Cannot start the command: %s", error ? error : strerror(-r)));
}

static void on_run_scope(int r, const char *message, void *userdata) {
        Run *run = userdata;

        run->job = NULL;
        run->t_scope = now_monotonic_usec();
        if (r == -EOPNOTSUPP) {
                free(run->unit);
                run->unit = NULL;
        } else if (r < 0) {
                run_fail(run, strf("systemd did not make a scope for the command: %s", strempty(message)));
                return;
        }
        run_release(run);
}

static int on_run_timeout(sd_event_source *source, uint64_t usec, void *userdata) {
        Run *run = userdata;

        /* SIGKILL to the init takes down its whole pid namespace. */
        run->timed_out = true;
        (void) kill(run->child.pid, SIGKILL);
        return 0;
}

/* "chrootd session ID: ARGV..." for the scope's Description, cut at about 200 bytes. */
static char *run_description(const Session *s, char **argv) {
        char buf[256];
        size_t n;

        n = (size_t) snprintf(buf, sizeof(buf), "chrootd session %s:", s->rec.id);
        for (char **a = argv; *a && n < 200; a++)
                n += (size_t) snprintf(buf + n, sizeof(buf) - n, " %s", *a);
        if (n >= 200)
                strcpy(buf + 196, "...");
        return strdup(buf);
}

/* An idle session keeps no process: its overlay holder goes a few seconds after the
 * last command (commands in quick succession, as sbuild runs them, share one). */
#define HOLDER_IDLE_USEC (5 * 1000 * 1000)

static int on_holder_idle(sd_event_source *source, uint64_t usec, void *userdata) {
        Session *s = userdata;

        s->holder_timer = sd_event_source_unref(s->holder_timer);
        if (s->n_runs == 0)
                holder_stop(&s->holder);
        return 0;
}

static void session_arm_holder_timer(Session *s) {
        s->holder_timer = sd_event_source_unref(s->holder_timer);
        /* A host-tree session's holder stays: its view is the session's RootDirectory. */
        if (s->n_runs > 0 || s->holder.pid <= 0 || s->rec.host_tree)
                return;
        if (sd_event_add_time_relative(s->manager->event, &s->holder_timer, CLOCK_MONOTONIC, HOLDER_IDLE_USEC, 0,
                                       on_holder_idle, s) < 0)
                holder_stop(&s->holder);
}

/* A host-tree session's RootDirectory is sessions/<id>/tree, a symlink to its holder's
 * view of the overlay, /proc/<holder>/root/.../root: the path stays the same when the
 * holder is replaced (after a restart of the service, the next command or property
 * read makes a new one and the link follows). Replaced atomically. */
static int session_link_tree(Session *s) {
        _cleanup_free_ char *target = strf("/proc/%d/root%s", (int) s->holder.pid, s->tree);
        _cleanup_close_ int dirfd = -EBADF;

        if (!target)
                return -ENOMEM;
        dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dirfd < 0)
                return -errno;
        (void) unlinkat(dirfd, ".tree.new", 0);
        if (symlinkat(target, dirfd, ".tree.new") < 0)
                return -errno;
        if (renameat(dirfd, ".tree.new", dirfd, "tree") < 0)
                return -errno;
        return 0;
}

static int session_start_holder(Session *s, const IdMap *map, char **ret_error) {
        _cleanup_free_ char *lower = NULL, *upper = NULL, *work = NULL, *error = NULL;
        int r;

        lower = session_lower_path(s);
        upper = strf("%s/upper", s->dir);
        work = strf("%s/work", s->dir);
        if (!lower || !upper || !work)
                return -ENOMEM;
        r = holder_start(map, lower, upper, work, s->tree, &s->holder, &error);
        if (r < 0) {
                *ret_error = strf("Cannot mount the session's overlay: %s", error ? error : strerror(-r));
                return r;
        }
        if (s->rec.host_tree) {
                r = session_link_tree(s);
                if (r < 0)
                        log_warning("Cannot link %s/tree to the session's overlay: %s", s->dir, strerror(-r));
        }
        return 0;
}

char *session_root_directory(Session *s, char **ret_error) {
        IdMap map;
        int r;

        if (!session_is_overlay(s))
                return strdup(s->tree);
        if (!s->rec.host_tree || s->rec.state != SESSION_READY)
                return NULL;
        if (!holder_alive(&s->holder)) {
                holder_stop(&s->holder);
                r = manager_idmap(s->manager, &map, ret_error);
                if (r >= 0)
                        r = session_start_holder(s, &map, ret_error);
                if (r < 0)
                        return NULL;
        }
        return strf("%s/tree", s->dir);
}

/* A clone of the session's overlay for a command, from its holder, which is started
 * with the first command (again if it died). Returns an fd or -errno. */
static int session_overlay(Session *s, const IdMap *map, char **ret_error) {
        int r = -EPIPE;

        for (int attempt = 0; attempt < 2; attempt++) {
                if (!holder_alive(&s->holder)) {
                        holder_stop(&s->holder);
                        r = session_start_holder(s, map, ret_error);
                        if (r < 0)
                                return r;
                }
                r = holder_get_tree(&s->holder);
                if (r >= 0)
                        return r;
                holder_stop(&s->holder);
        }
        *ret_error = strf("The session's overlay holder failed: %s", strerror(-r));
        return r;
}

int session_run(Session *s, const RunParams *p, sd_bus_message *message, const char **ret_error_name,
                char **ret_error_message) {
        _cleanup_close_pair_ int rp[2] = { -EBADF, -EBADF };
        _cleanup_(run_freep) Run *run = NULL;
        _cleanup_free_ char *description = NULL;
        _cleanup_close_ int overlay_fd = -EBADF;
        RunParams params = *p;
        Run *started;
        int r;

        if (s->rec.state != SESSION_READY) {
                *ret_error_name = CHROOTD_ERROR_NOT_READY;
                *ret_error_message = strf("Session '%s' is %s, not ready", s->rec.id, session_state_to_string(s->rec.state));
                return -EBUSY;
        }
        run = calloc(1, sizeof(Run));
        if (!run || pipe2(rp, O_CLOEXEC) < 0) {
                *ret_error_name = CHROOTD_ERROR_FAILED;
                *ret_error_message = strdup("Out of memory or file descriptors");
                return -ENOMEM;
        }
        run->child = (SpawnedChild) { .pidfd = -EBADF, .sync_fd = -EBADF };
        run->maps = (IdMapJob) { .uid = { .err_fd = -EBADF }, .gid = { .err_fd = -EBADF } };
        run->report_fd = -EBADF;
        run->t_request = now_monotonic_usec();
        r = manager_idmap(s->manager, &run->map, ret_error_message);
        if (r < 0) {
                *ret_error_name = CHROOTD_ERROR_NO_SUBORDINATE_IDS;
                return r;
        }

        params.tree = s->tree;
        params.hostname = s->rec.chroot;
        if (session_is_overlay(s)) {
                s->holder_timer = sd_event_source_unref(s->holder_timer);
                overlay_fd = session_overlay(s, &run->map, ret_error_message);
                if (overlay_fd < 0) {
                        session_arm_holder_timer(s);
                        *ret_error_name = CHROOTD_ERROR_FAILED;
                        return overlay_fd;
                }
                params.overlay_fd = overlay_fd;
        }
        r = run_clone(&params, rp[1], &run->child);
        if (r < 0) {
                *ret_error_name = CHROOTD_ERROR_FAILED;
                *ret_error_message = strf("Cannot start the command: %s", strerror(-r));
                return r;
        }
        run->t_cloned = now_monotonic_usec();
        rp[1] = safe_close(rp[1]);
        (void) fcntl(rp[0], F_SETFL, O_NONBLOCK);
        run->report_fd = TAKE_FD(rp[0]);

        /* The watch owns the process from here: freeing it kills and reaps. */
        r = sd_event_add_child_pidfd(s->manager->event, &run->source, run->child.pidfd, WEXITED, on_run_exit, run);
        if (r < 0) {
                (void) kill(run->child.pid, SIGKILL);
                (void) waitpid(run->child.pid, NULL, 0);
                *ret_error_name = CHROOTD_ERROR_FAILED;
                *ret_error_message = strf("Cannot watch the command: %s", strerror(-r));
                return r;
        }
        (void) sd_event_source_set_child_process_own(run->source, true);
        /* newuidmap and newgidmap run while systemd makes the scope (run_release). */
        r = idmap_apply_start(&run->map, run->child.pid, false, &run->maps, ret_error_message);
        if (r < 0) {
                *ret_error_name = CHROOTD_ERROR_FAILED;
                return r; /* freeing run kills the child */
        }
        if (p->timeout_usec > 0) {
                r = sd_event_add_time_relative(s->manager->event, &run->timer, CLOCK_MONOTONIC, p->timeout_usec, 0,
                                               on_run_timeout, run);
                if (r < 0) {
                        *ret_error_name = CHROOTD_ERROR_FAILED;
                        *ret_error_message = strf("Cannot set up the timeout: %s", strerror(-r));
                        return r; /* freeing run kills the child */
                }
        }

        run->session = s;
        run->started_usec = now_realtime_usec();
        for (char **a = p->argv; *a; a++)
                if (strv_extend(&run->argv, *a) < 0) {
                        *ret_error_name = CHROOTD_ERROR_FAILED;
                        *ret_error_message = strdup("Out of memory");
                        return -ENOMEM; /* freeing run kills the child */
                }
        run->message = sd_bus_message_ref(message);
        run->next = s->runs;
        started = s->runs = TAKE_PTR(run);
        s->n_runs++;

        /* From here on, failures reach the caller through on_run_exit. Before the
         * command runs, its init goes into a scope of its own in the session's slice,
         * so that everything it starts is tracked and can be killed by systemd. */
        description = run_description(s, p->argv);
        r = description ? run_scope_name(s->rec.id, started->child.pid, &started->unit) : -ENOMEM;
        if (r >= 0)
                r = systemd_start_scope(s->manager->systemd, started->unit, s->slice, description,
                                        started->child.pid, started->child.pidfd, on_run_scope, started,
                                        &started->job);
        if (r == -EOPNOTSUPP)
                on_run_scope(r, NULL, started);
        else if (r < 0)
                run_fail(started, strf("Cannot ask systemd for a scope: %s", strerror(-r)));
        return 0;
}
