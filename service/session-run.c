/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Run: a command's init (init.h) is forked by the session's leader (leader.h) and put
 * into a transient scope of the session's slice before it is given its command
 * (run-request.h). A session with recent commands keeps one spare init, already set up and in a scope
 * of its own, so that the next Run waits neither for a fork nor for systemd. */
#include "session-private.h"
#include "fdpass.h"
#include "report.h"
#include "options.h"
#include "package-cache.h"
#include "util.h"

#include <fcntl.h>
#include <poll.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

/* An idle session keeps no process: its leader (and spare init) go a few seconds after
 * the last command; commands in quick succession, as sbuild runs them, share them. */
#define LEADER_IDLE_USEC (5 * 1000 * 1000)

static void session_arm_leader_timer(Session *s);
static void session_make_spare(Session *s);
static int on_leader_answer(sd_event_source *source, int fd, uint32_t revents, void *userdata);

static void run_signal(Run *run, int sig) {
        if (run->booted) {
                /* The agent's child passes it on to the command; SIGKILL would take the
                 * child alone (init.c). Until the child is known, the signal waits. */
                if (run->pidfd < 0) {
                        if (run->pending_signal != SIGKILL)
                                run->pending_signal = sig;
                        return;
                }
                if (sig == SIGKILL)
                        sig = SIGRTMAX;
        }
        if (run->pidfd >= 0)
                (void) syscall(SYS_pidfd_send_signal, run->pidfd, sig, NULL, 0);
}

/* Freeing a Run kills its init, and with it the command's whole pid namespace (the
 * leader reaps it). */
Run *run_free(Run *run) {
        if (!run)
                return NULL;
        if (call_is_set(&run->call) || run->command) {
                Outcome o = {};
                (void) error_set(&o.error, ERROR_FAILED, ECANCELED, "The service is stopping");
                if (call_is_set(&run->call))
                        run->call.frontend->ops->run_done(run->call.data, run, &o);
                if (run->command)
                        command_finish(run->command, &o);
                outcome_done(&o);
        }
        sd_event_source_unref(run->timer);
        sd_event_source_unref(run->source);
        sd_event_source_unref(run->report_source);
        /* A booted session's command is its system's: what it started lives on. */
        if (!run->booted)
                run_signal(run, SIGKILL);
        safe_close(run->pidfd);
        safe_close(run->ctl);
        systemd_job_cancel(run->job);
        safe_close(run->report_fd);
        safe_close(run->params_fd);
        for (int i = 0; i < 3; i++)
                safe_close(run->stdio[i]);
        safe_close(run->terminal_sock);
        safe_close(run->terminal_peer);
        safe_close(run->terminal);
        outcome_done(&run->failure);
        free(run->unit);
        free(run->description);
        strv_free(run->argv);
        free(run);
        return NULL;
}

static void run_freep(Run **run) {
        run_free(*run);
}

void session_drop_spare(Session *s) {
        s->spare = run_free(s->spare);
}

void session_stop_leader(Session *s) {
        s->leader_source = sd_event_source_unref(s->leader_source);
        s->spare_requested = false;
        leader_stop(&s->leader);
}

/* Kill a command's init; run_finish replies with why (first reason wins). */
static void run_fail(Run *run, int r, const char *what, const char *why) {
        (void) error_set(&run->failure.error, ERROR_FAILED, r, "%s: %s", what, why ? why : strerror(-r));
        run_signal(run, SIGKILL);
}

static void run_on_started(Run *run);

/* The init has reported the command's status (after killing whatever else ran in its
 * pid namespace), or it has exited. */
static void run_finish(Run *run) {
        Session *s = run->session;
        const Report *rep = &run->report;
        Outcome o = {};
        uint64_t t_exit = now_monotonic_usec();

        if (run->report_fd >= 0)
                (void) report_read_more(run->report_fd, &run->report);
        /* A command that started and ended at once (its init's exit seen before its
         * report): it is told as started first, with its pid and scope. */
        if (run->report.started && !run->started && !run->report.have_error)
                run_on_started(run);
        /* Where a Run's time goes (docs/performance.md): --debug shows it. */
        log_debug("Run %d in '%s' (%s init): waited %.2f ms for its scope, %.2f ms from the request to the "
                  "command, %.2f ms to the exit",
                  (int) run->pid, s->rec.id, run->booted ? "the agent's" : run->was_spare ? "spare" : "new",
                  run->t_scope > run->t_request ? (run->t_scope - run->t_request) / 1000.0 : 0.0,
                  run->t_dispatched ? (run->t_dispatched - run->t_request) / 1000.0 : 0.0,
                  run->t_dispatched ? (t_exit - run->t_dispatched) / 1000.0 : 0.0);
        if (run->timed_out) {
                o.timed_out = true;
                o.value = SIGKILL;
        } else if (rep->have_error)
                (void) error_set(&o.error, child_error_kind(rep->error_kind), rep->error, "%s", rep->message);
        else if (error_is_set(&run->failure.error))
                error_move(&o.error, &run->failure.error);
        else if (rep->have_status) {
                o.killed = !WIFEXITED(rep->wstatus);
                o.value = WIFEXITED(rep->wstatus) ? WEXITSTATUS(rep->wstatus) : WTERMSIG(rep->wstatus);
        } else if (s->rec.state == SESSION_ENDING)
                (void) error_set(&o.error, ERROR_SESSION_ENDED, ECANCELED, "Session '%s' was ended while the command ran",
                                 s->rec.id);
        else if (run->dispatched || run->killed) {
                /* The init ends without a report only by SIGKILL: Kill(SIGKILL), systemd,
                 * the OOM killer, or its leader's death. It takes the command with it. */
                o.killed = true;
                o.value = SIGKILL;
        } else
                (void) error_set(&o.error, ERROR_FAILED, 0, "The command's init exited before it was given the command");
        /* A copy that ended without saying why still failed. */
        if (run->copy && !error_is_set(&o.error) && (o.killed || o.timed_out || o.value != 0))
                (void) error_set(&o.error, ERROR_FAILED, 0,
                                 o.killed ? "The copy was killed (signal %d)" : "The copy failed (exit status %d)",
                                 o.value);
        Call call = run->call;
        run->call = CALL_NULL;
        if (call_is_set(&call))
                call.frontend->ops->run_done(call.data, run, &o);
        if (run->command) {
                Command *c = run->command;
                run->command = NULL;
                command_finish(c, &o);
        }
        outcome_done(&o);

        for (Run **i = &s->runs; *i; i = &(*i)->next)
                if (*i == run) {
                        *i = run->next;
                        break;
                }
        s->n_runs--;
        run_free(run);
        session_arm_leader_timer(s);
        session_continue_end(s);
}

/* The master of the command's pty, which its init sent before it forked the command:
 * a pty master (the ptmx of a devpts, char 5:2), nothing else. */
static int run_receive_terminal(Run *run) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        size_t n_fds = 0;
        ssize_t n;
        char c;

        n = fdpass_recv(run->terminal_sock, &c, 1, &fd, 1, &n_fds);
        if (n < 0)
                return (int) n;
        if (n != 1 || c != 't' || n_fds != 1)
                return -EBADMSG;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 || minor(st.st_rdev) != 2)
                return -EBADMSG;
        run->terminal_sock = safe_close(run->terminal_sock);
        run->terminal = TAKE_FD(fd);
        return 0;
}

static void run_on_started(Run *run) {
        int r;

        run->started = true;
        if (run->terminal_sock >= 0) {
                r = run_receive_terminal(run);
                if (r < 0) {
                        run_fail(run, r, "The command's init sent no terminal", NULL);
                        return;
                }
        }
        if (run->command)
                command_started(run->command, run);
}

static int on_run_report(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Run *run = userdata;
        int r;

        r = report_read_more(fd, &run->report);
        /* A command that failed to start reported why before this. */
        if (run->report.started && !run->started && !run->report.have_error)
                run_on_started(run);
        if (r != 0 || run->report.have_status)
                run_finish(run);
        return 0;
}

static int on_init_exit(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Run *run = userdata;
        Session *s = run->session;

        if (run == s->spare) {
                log_debug("The spare init %d of session '%s' exited", (int) run->pid, s->rec.id);
                session_drop_spare(s);
                return 0;
        }
        run_finish(run);
        return 0;
}

/* Give the init its command. */
static void run_dispatch(Run *run) {
        _cleanup_close_pair_ int rp[2] = { -EBADF, -EBADF };
        Session *s = run->session;
        int r;

        /* A spare's scope was made before its command was known. Sent before the
         * command starts, so that whoever looks at the scope sees its command. */
        if (run->was_spare && run->unit)
                (void) systemd_set_description(s->manager->systemd, run->unit, run->description);
        if (pipe2(rp, O_CLOEXEC) < 0)
                r = -errno;
        else if (run->booted)
                r = session_boot_send(s, rp[1], run->stdio, run->params_fd, run->terminal_peer, &run->agent_seq);
        else
                r = run_send_request(run->ctl, rp[1], run->stdio, run->params_fd, run->terminal_peer);
        run->ctl = safe_close(run->ctl);
        run->params_fd = safe_close(run->params_fd);
        run->terminal_peer = safe_close(run->terminal_peer);
        for (int i = 0; i < 3; i++)
                run->stdio[i] = safe_close(run->stdio[i]);
        run->t_dispatched = now_monotonic_usec();
        if (r < 0 && run->booted) {
                (void) error_set(&run->failure.error, ERROR_FAILED, -r, "Cannot give the command to the session's system: %s",
                                 strerror(-r));
                run_finish(run);
                return;
        }
        if (r < 0) {
                run_fail(run, r, "Cannot give the command to its init", NULL);
                return;
        }
        (void) fcntl(rp[0], F_SETFL, O_NONBLOCK);
        run->report_fd = TAKE_FD(rp[0]);
        run->dispatched = true;
        /* Without this watch the Run still ends, when the init exits. */
        (void) sd_event_add_io(s->manager->event, &run->report_source, run->report_fd, EPOLLIN, on_run_report, run);
        if (call_is_set(&run->call) && run->call.frontend->ops->run_started)
                run->call.frontend->ops->run_started(run->call.data, run);
        session_make_spare(s);
}

static void on_run_scope(int r, const char *message, void *userdata) {
        Run *run = userdata;
        Session *s = run->session;

        run->job = NULL;
        run->t_scope = now_monotonic_usec();
        if (r == -EOPNOTSUPP) {
                run->unit = mfree(run->unit);
        } else if (r < 0) {
                if (run == s->spare) {
                        log_debug("No scope for a spare init of session '%s': %s", s->rec.id, strempty(message));
                        session_drop_spare(s);
                } else
                        run_fail(run, r, "systemd did not make a scope for the command", message);
                return;
        }
        run->scope_ready = true;
        if (run->has_command)
                run_dispatch(run);
}

static int on_run_timeout(sd_event_source *source, uint64_t usec, void *userdata) {
        Run *run = userdata;

        /* SIGKILL to the init takes down its whole pid namespace. */
        run->timed_out = true;
        run_signal(run, SIGKILL);
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

static int on_leader_idle(sd_event_source *source, uint64_t usec, void *userdata) {
        Session *s = userdata;

        s->leader_timer = sd_event_source_unref(s->leader_timer);
        if (s->n_runs > 0 || s->boot)
                return 0;
        session_drop_spare(s);
        /* A host-tree session's leader stays: its view is the session's RootDirectory. */
        if (!s->rec.host_tree)
                session_stop_leader(s);
        return 0;
}

static void session_arm_leader_timer(Session *s) {
        s->leader_timer = sd_event_source_unref(s->leader_timer);
        if (s->n_runs > 0 || (s->leader.pid <= 0 && !s->spare))
                return;
        if (sd_event_add_time_relative(s->manager->event, &s->leader_timer, CLOCK_MONOTONIC, LEADER_IDLE_USEC, 0,
                                       on_leader_idle, s) < 0)
                on_leader_idle(NULL, 0, s);
}

/* A host-tree session's RootDirectory is sessions/<id>/tree, a symlink to its leader's
 * view of the tree, /proc/<leader>/root/.../root: the path stays the same when the
 * leader is replaced (after a restart of the service, the next command or property
 * read makes a new one and the link follows). Replaced atomically. */
static int session_link_tree(Session *s) {
        _cleanup_free_ char *target = strf("/proc/%d/root%s", (int) s->leader.pid, s->tree);
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

/* sessions/<id>/leader names the session's last leader by pid and start time. A
 * leader of an earlier instance of the service dies with it, but the kernel takes a
 * moment to kill everything in its pid namespace, and until then its mounts of the
 * overlay live: a new one mounted meanwhile would be a second live overlay of one
 * upper directory. So a new leader waits (5 s at most) for the old one to be gone. */
static void session_wait_old_leader(Session *s) {
        _cleanup_free_ char *name = strf("%s/leader", s->dir), *text = NULL;
        _cleanup_close_ int pidfd = -EBADF;
        struct pollfd pfd;
        uint64_t want, now;
        int pid;

        if (!name || read_file_at(AT_FDCWD, name, 128, &text) < 0 ||
            sscanf(text, "%d %" SCNu64, &pid, &want) != 2 || pid <= 0)
                return;
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        /* Asked after pidfd_open: the pidfd is the process of that start time or none. */
        if (pidfd < 0 || process_start_time(pid, &now) < 0 || now != want)
                return;
        log_debug("Waiting for the previous leader %d of '%s' to be gone", pid, s->rec.id);
        pfd = (struct pollfd) { .fd = pidfd, .events = POLLIN };
        if (poll(&pfd, 1, 5000) == 0)
                log_warning("The previous leader %d of session '%s' is still there after 5 s", pid, s->rec.id);
}

static void session_record_leader(Session *s) {
        _cleanup_close_ int dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        char text[64];
        uint64_t start;

        if (dirfd < 0 || process_start_time(s->leader.pid, &start) < 0)
                return;
        snprintf(text, sizeof(text), "%d %" PRIu64 "\n", (int) s->leader.pid, start);
        /* Not synced: after a reboot no leader runs anyway. */
        (void) write_file_replace_at(dirfd, "leader", text, 0600);
}

/* The session's leader, started if it is not running. */
int session_ensure_leader(Session *s, Error *e) {
        _cleanup_free_ char *lower = NULL, *upper = NULL, *work = NULL, *error = NULL, *cache_lower = NULL,
                            *cache_upper = NULL, *cache_work = NULL;
        IdMap map;
        int r;

        if (leader_alive(&s->leader))
                return 0;
        session_stop_leader(s);
        session_drop_spare(s);
        r = manager_idmap(s->manager, &map, &error);
        if (r < 0)
                return error_set(e, ERROR_NO_SUBORDINATE_IDS, r, "%s", error ? error : strerror(-r));
        if (session_is_overlay(s)) {
                lower = session_lower_path(s);
                upper = strf("%s/upper", s->dir);
                work = strf("%s/work", s->dir);
                if (!lower || !upper || !work)
                        return error_set(e, ERROR_FAILED, ENOMEM, "Out of memory");
        }
        if (s->rec.package_cache &&
            package_cache_layers(s->manager->paths.packages_dir, s->rec.chroot, s->rec.id, &cache_lower, &cache_upper,
                                 &cache_work) < 0)
                return error_set(e, ERROR_FAILED, ENOMEM, "Out of memory");
        LeaderParams p = {
                .map = &map, .map_flags = session_map_flags(s), .tree = s->tree, .lower = lower, .upper = upper, .work = work,
                .hostname = s->rec.chroot, .cache_lower = cache_lower, .cache_upper = cache_upper, .cache_work = cache_work,
        };
        session_wait_old_leader(s);
        uint64_t t0 = now_monotonic_usec();
        r = leader_start(&p, &s->leader, &error);
        log_debug("Leader of '%s' started in %.2f ms", s->rec.id, (now_monotonic_usec() - t0) / 1000.0);
        if (r < 0)
                return error_set(e, ERROR_FAILED, r, "%s: %s",
                                 session_is_overlay(s) ? "Cannot mount the session's overlay"
                                                       : "Cannot start the session's leader",
                                 error ? error : strerror(-r));
        session_record_leader(s);
        r = sd_event_add_io(s->manager->event, &s->leader_source, s->leader.sock, EPOLLIN, on_leader_answer, s);
        if (r < 0) {
                session_stop_leader(s);
                return error_set(e, ERROR_FAILED, r, "Cannot watch the session's leader: %s", strerror(-r));
        }
        if (s->rec.host_tree) {
                r = session_link_tree(s);
                if (r < 0)
                        log_warning_errno(r, "Cannot link %s/tree to the session's overlay: %m", s->dir);
        }
        return 0;
}

char *session_root_directory(const Session *s) {
        /* Only sessions begun for it: a host tool that follows a path into the tree
         * follows the tree's symlinks, which belong to root inside, onto the host. */
        if (!s->rec.host_tree || s->rec.state != SESSION_READY)
                return NULL;
        if (!session_is_overlay(s))
                return strdup(s->tree);
        return strf("%s/tree", s->dir);
}

void session_keep_tree(Session *s) {
        _cleanup_(error_done) Error e = {};

        if (!s->rec.host_tree || !session_is_overlay(s) || s->rec.state != SESSION_READY)
                return;
        if (session_ensure_leader(s, &e) < 0)
                log_warning("Session '%s' has no tree on the host: %s", s->rec.id, e.message);
}

/* A Run with nothing yet: no init, no fds. NULL: out of memory. */
static Run *run_alloc(Session *s) {
        Run *run = calloc(1, sizeof(Run));

        if (run)
                *run = (Run) { .session = s, .pidfd = -EBADF, .ctl = -EBADF, .report_fd = -EBADF, .params_fd = -EBADF,
                               .stdio = { -EBADF, -EBADF, -EBADF }, .terminal_sock = -EBADF,
                               .terminal_peer = -EBADF, .terminal = -EBADF };
        return run;
}

/* A Run of a new init (from leader_receive_init()), in a scope that is being made
 * (description NULL: a spare's, whose command is not known). Takes the fds. */
static int run_attach(Session *s, const char *description, pid_t pid, int pidfd, int ctl, Run **ret, Error *e) {
        _cleanup_(run_freep) Run *run = NULL;
        int r;

        run = run_alloc(s);
        if (!run) {
                safe_close(pidfd);
                safe_close(ctl);
                return error_set(e, ERROR_FAILED, ENOMEM, "Out of memory");
        }
        run->pid = pid;
        run->pidfd = pidfd;
        run->ctl = ctl;
        r = sd_event_add_io(s->manager->event, &run->source, run->pidfd, EPOLLIN, on_init_exit, run);
        if (r < 0)
                return error_set(e, ERROR_FAILED, r, "Cannot watch the command's init: %s", strerror(-r));
        /* Before its command, the init goes into a scope of its own in the session's
         * slice, so that everything the command starts is tracked and can be killed. */
        r = run_scope_name(s->rec.id, run->pid, &run->unit);
        if (r >= 0) {
                _cleanup_free_ char *waiting = strf("chrootd session %s: waiting for a command", s->rec.id);
                r = waiting ? systemd_start_scope(s->manager->systemd, run->unit, s->slice, description ? description : waiting,
                                                  run->pid, run->pidfd, on_run_scope, run, &run->job)
                            : -ENOMEM;
        }
        if (r == -EOPNOTSUPP) {
                run->unit = mfree(run->unit);
                run->scope_ready = true;
        } else if (r < 0)
                return error_set(e, ERROR_FAILED, r, "Cannot ask systemd for a scope: %s", strerror(-r));
        *ret = TAKE_PTR(run);
        return 0;
}

/* A booted session's Run: no init of its own; the agent in the session's system runs
 * it, once that is up. */
static int run_new_booted(Session *s, Run **ret, Error *e) {
        Run *run = run_alloc(s);

        if (!run)
                return error_set(e, ERROR_FAILED, ENOMEM, "Out of memory");
        run->booted = run->scope_ready = true;
        *ret = run;
        return 0;
}

/* A new init from the session's leader (started, or restarted once if it died). */
static int run_new(Session *s, const char *description, Run **ret, Error *e) {
        pid_t pid = 0;
        int pidfd = -EBADF, ctl = -EBADF, r = -EPIPE;

        /* Only a leader that hung up is dead: restarting one that is merely slow or
         * short of fds would kill every command of the session. */
        for (int attempt = 0; attempt < 2; attempt++) {
                r = session_ensure_leader(s, e);
                if (r < 0)
                        return r;
                r = leader_fork_init(&s->leader, &pid, &pidfd, &ctl);
                if (r != -EPIPE)
                        break;
                session_stop_leader(s);
        }
        if (r == -EMFILE || r == -ENFILE)
                return error_set(e, ERROR_LIMIT_EXCEEDED, -r,
                                 "The service has no file descriptors left for another command: %s", strerror(-r));
        if (r < 0)
                return error_set(e, ERROR_FAILED, r, "The session's leader failed: %s", strerror(-r));
        return run_attach(s, description, pid, pidfd, ctl, ret, e);
}

/* The leader's answer to the spare's request (or its end). */
static int on_leader_answer(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        _cleanup_(error_done) Error error = {};
        Session *s = userdata;
        pid_t pid;
        int pidfd, ctl, r;

        if (!s->spare_requested) {
                /* Nothing asked: it hung up (died), or a Run took the answer already
                 * (session_run) after this event was seen. */
                char byte;
                if (recv(s->leader.sock, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
                        session_stop_leader(s);
                return 0;
        }
        s->spare_requested = false;
        r = leader_receive_init(&s->leader, &pid, &pidfd, &ctl);
        if (r == -EPIPE)
                session_stop_leader(s);
        if (r >= 0 && s->rec.state != SESSION_READY) {
                /* Ended meanwhile: no spare any more. */
                (void) syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
                safe_close(pidfd);
                safe_close(ctl);
                return 0;
        }
        if (r >= 0)
                r = run_attach(s, NULL, pid, pidfd, ctl, &s->spare, &error);
        if (r < 0)
                log_debug("No spare init for session '%s': %s", s->rec.id, error.message ?: strerror(-r));
        return 0;
}

/* After a command got its init, the next one gets ready: asked for now, the leader's
 * answer taken in on_leader_answer(), so that the service does not wait for the fork. */
static void session_make_spare(Session *s) {
        if (s->spare || s->spare_requested || s->rec.state != SESSION_READY || s->rec.boot || !leader_alive(&s->leader))
                return;
        s->spare_requested = leader_request_init(&s->leader) >= 0;
}

/* The limits on commands at once: per session, and what the service's fds allow. */
static int session_check_runs(Session *s, Error *e) {
        Manager *m = s->manager;

        if (s->n_runs >= SESSION_RUNS_MAX)
                return error_set(e, ERROR_LIMIT_EXCEEDED, EBUSY, "Session '%s' already runs %d commands", s->rec.id,
                                 SESSION_RUNS_MAX);
        if (manager_n_runs(m) >= manager_runs_max(m))
                return error_set(e, ERROR_LIMIT_EXCEEDED, EMFILE,
                                 "The service already runs %u commands, all its limit on open files "
                                 "(RLIMIT_NOFILE %" PRIu64 ") leaves room for",
                                 manager_n_runs(m), rlimit_nofile_current());
        return 0;
}

/* The command's copy of the caller's stdio; /dev/null where none was given. */
static int run_take_stdio(Run *run, const int stdio[3]) {
        for (int i = 0; i < 3; i++) {
                run->stdio[i] = stdio[i] >= 0 ? fcntl(stdio[i], F_DUPFD_CLOEXEC, 3)
                                              : open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
                if (run->stdio[i] < 0)
                        return -errno;
        }
        return 0;
}

/* The socket pair on which the init sends the master of the command's pty. */
static int run_make_terminal_socket(Run *run) {
        int sv[2];

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
                return -errno;
        run->terminal_sock = sv[0];
        run->terminal_peer = sv[1];
        return 0;
}

int session_run(Session *s, const RunParams *p, Call call, Error *e) {
        return session_run_command(s, p, call, NULL, e);
}

int session_copy(Session *s, RunCopy kind, const char *path, int fd, Call call, Error *e) {
        char *argv[] = { (char *) (kind == RUN_COPY_IN ? "[copy-in]" : "[copy-out]"), (char *) path, NULL };
        RunParams p = {
                .argv = argv,
                .user = "root",
                .directory = "/",
                .copy = kind,
                .copy_path = path,
                .stdio = { kind == RUN_COPY_IN ? fd : -EBADF, kind == RUN_COPY_OUT ? fd : -EBADF, -EBADF },
        };

        return session_run_command(s, &p, call, NULL, e);
}

int session_run_command(Session *s, const RunParams *p, Call call, Command *cmd, Error *e) {
        _cleanup_(run_freep) Run *run = NULL;
        _cleanup_free_ char *description = NULL;
        uint64_t t_request = now_monotonic_usec();
        Run *started;
        int r;

        r = session_check_ready(s, e);
        if (r >= 0)
                r = session_check_runs(s, e);
        if (r < 0)
                return r;
        description = run_description(s, p->argv);
        if (!description)
                return error_set(e, ERROR_FAILED, ENOMEM, "Out of memory");
        s->leader_timer = sd_event_source_unref(s->leader_timer);
        /* A spare asked for comes in a moment: take it, not another one. */
        if (!s->spare && s->spare_requested)
                (void) on_leader_answer(NULL, -EBADF, 0, s);
        /* A spare that died (with its leader, say) before we heard of it is no use. */
        if (s->spare && !pidfd_alive(s->spare->pidfd))
                session_drop_spare(s);
        if (s->rec.boot) {
                r = run_new_booted(s, &run, e);
                if (r < 0)
                        return r;
        } else if (s->spare) {
                run = TAKE_PTR(s->spare);
                run->was_spare = true;
        } else {
                r = run_new(s, description, &run, e);
                if (r < 0) {
                        session_arm_leader_timer(s);
                        return r;
                }
        }
        run->t_request = t_request;

        r = run_params_pack(p, &run->params_fd);
        if (r >= 0)
                r = run_take_stdio(run, p->pty ? (const int[3]) { -EBADF, -EBADF, -EBADF } : p->stdio);
        if (r >= 0 && p->pty)
                r = run_make_terminal_socket(run);
        for (char **a = p->argv; r >= 0 && *a; a++)
                r = strv_extend(&run->argv, *a);
        if (r >= 0 && p->timeout_usec > 0)
                r = sd_event_add_time_relative(s->manager->event, &run->timer, CLOCK_MONOTONIC, p->timeout_usec, 0,
                                               on_run_timeout, run);
        if (r < 0) {
                session_arm_leader_timer(s);
                return error_set(e, ERROR_FAILED, r, "Cannot pass the command on: %s", strerror(-r));
                /* freeing run kills its init */
        }
        run->description = TAKE_PTR(description);
        run->started_usec = now_realtime_usec();
        run->call = call;
        run->command = cmd;
        run->copy = p->copy != RUN_COPY_NONE;
        if (cmd)
                cmd->run = run;
        run->has_command = true;
        run->next = s->runs;
        started = s->runs = TAKE_PTR(run);
        s->n_runs++;

        /* From here on, failures reach the caller through run_finish. */
        if (started->booted) {
                if (session_boot_running(s))
                        run_dispatch(started);
                else if (!s->boot)
                        session_boot_start(s); /* it was off: a command boots it */
        } else if (started->scope_ready)
                run_dispatch(started);
        return 0;
}

void session_dispatch_waiting_runs(Session *s) {
        /* Dispatching may finish (and free) a Run: start again after each. */
        for (bool again = true; again;) {
                again = false;
                for (Run *r = s->runs; r; r = r->next)
                        if (r->booted && r->has_command && !r->dispatched && !error_is_set(&r->failure.error)) {
                                run_dispatch(r);
                                again = true;
                                break;
                        }
        }
}

void session_fail_waiting_runs(Session *s, const char *why) {
        for (bool again = true; again;) {
                again = false;
                for (Run *r = s->runs; r; r = r->next)
                        if (r->booted && !r->dispatched) {
                                (void) error_set(&r->failure.error, ERROR_FAILED, EHOSTDOWN, "%s", why);
                                run_finish(r);
                                again = true;
                                break;
                        }
        }
}

void session_attach_booted_run(Session *s, uint64_t seq, int pidfd) {
        for (Run *r = s->runs; r; r = r->next)
                if (r->booted && r->agent_seq == seq && r->pidfd < 0) {
                        r->pidfd = pidfd;
                        if (r->pending_signal)
                                run_signal(r, r->pending_signal);
                        return;
                }
        safe_close(pidfd); /* its Run is over */
}

void run_kill(Run *run, int sig) {
        /* The init passes the signal on; one without its command yet has nobody to pass
         * it to, and only SIGKILL ends it. */
        if (run->dispatched || sig == SIGKILL) {
                run->killed = run->killed || sig == SIGKILL;
                run_signal(run, sig);
        }
}

void session_signal_runs(Session *s, int sig) {
        for (Run *r = s->runs; r; r = r->next)
                run_kill(r, sig);
}

void session_kill_runs(Session *s) {
        for (Run *r = s->runs; r; r = r->next)
                run_signal(r, SIGKILL);
        session_drop_spare(s);
}
