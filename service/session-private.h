/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What session.c (lifecycle, Begin's steps, End), session-run.c (Run and the session's
 * leader) and session-worker.c (the unpack, prepare, removal and repack children)
 * share. Not for other modules: they use session.h. */

#include <signal.h>
#include "operation.h"
#include "session.h"
#include "userns.h"

/* Begin's add-login: the user's entries, and those of the host accounts asked for
 * (add-accounts), added to the tree's files. */
struct LoginEntries {
        char **names;        /* accounts: the user first */
        char **passwd_lines; /* one per account, "x" as its password */
        char **shadow_lines; /* one per account, locked */
        char **group_names;  /* the user's primary group first, then supplementary ones,
                              * then the accounts' primary groups */
        char **group_lines;
};

LoginEntries *login_entries_free(LoginEntries *l);
static inline void login_entries_freep(LoginEntries **l) {
        login_entries_free(*l);
}
/* The service user's entries and those of the host accounts named in accounts (may be
 * NULL) (session-worker.c). Returns 0, -ESRCH (the user, or *ret_missing, is not on
 * the host) or -ERANGE (ids a session cannot hold). */
int login_entries(Manager *m, char *const *accounts, LoginEntries **ret, const char **ret_missing);

typedef struct WorkerChild {
        int sessfd;
        int input_fd;  /* the archive to unpack, or -EBADF */
        int output_fd; /* the tarball to write back into, or -EBADF */
        int filter;    /* its compression */
        /* Preparing a copy-on-write session (in a mount namespace of its own): the
         * paths of its lower layer and session directory, opened in the child, since
         * overlayfs wants its layers from the mount namespace it is mounted in. */
        const char *lower_path;
        const char *session_dir;
        int report_fd;
        const LoginEntries *login; /* or NULL */
        /* package-cache sessions (package-cache.h): the service's packages/ directory,
         * the chroot and the session id; NULL for others */
        const char *packages_dir, *cache_chroot, *cache_id;
        uint64_t max_bytes;        /* unpacking: the chroot's max-size=, or 0 for the default */
} WorkerChild;

/* The id map of the session's processes (idmap.h): the leader's and so its commands'. */
static inline IdMapFlags session_map_flags(const Session *s) {
        return s->rec.map_self ? IDMAP_SELF : 0;
}

/* Start a worker child for s (unpack, prepare, removal, repack: the *_after_map
 * functions) as s->worker (operation.h), which done gets when it exits; what names it
 * in messages. With dir_fd >= 0 its input is that directory as a tar stream, from a
 * reader child (s->reader). Returns 0 or -errno with *ret_error. */
int start_worker(Session *s, WorkerChild *w, int dir_fd, spawn_func_t after_map, const char *what,
                 operation_done_t done, char **ret_error);
/* Point w at the session's package cache, if it has one. */
static inline void worker_set_cache(const Session *s, WorkerChild *w) {
        if (!s->rec.package_cache)
                return;
        w->packages_dir = s->manager->paths.packages_dir;
        w->cache_chroot = s->rec.chroot;
        w->cache_id = s->rec.id;
}
int unpack_after_map(void *userdata);
int prepare_after_map(void *userdata);
int remove_after_map(void *userdata);
int repack_after_map(void *userdata);

/* session.c */
/* A session of rec (taken), listed in m. NULL: out of memory. */
Session *session_new(Manager *m, SessionRecord *rec);
void session_set_state(Session *s, SessionState state);
/* Answer the waiting Begin call, or every End call, and forget them. */
void session_answer_begin(Session *s, const Outcome *o);
void session_answer_ends(Session *s, const Outcome *o);
/* Put the session's limits on its slice; done is called when that is in effect. */
void session_apply_limits(Session *s, systemd_job_done_t done);
/* systemd's answer to a change of limits, as an outcome. */
void session_limits_outcome(Session *s, int r, const char *message, Outcome *o);
/* ERROR_NOT_READY unless the session is ready. */
int session_check_ready(const Session *s, Error *e);
void session_continue_end(Session *s);
char *session_lower_path(Session *s);

/* session-run.c */
/* Freeing a Run answers its call (Failed) if it still waits, and kills its init. */
Run *run_free(Run *run);
/* A ready host-tree session's tree stays reachable from the host: its leader (whose
 * view the session's tree link points into) is started if it is not running. */
void session_keep_tree(Session *s);
/* Pass sig on to every command (SIGKILL also ends inits still waiting for theirs). */
void session_signal_runs(Session *s, int sig);
/* End: SIGKILL to every command's init; the spare goes at once. */
void session_kill_runs(Session *s);
void session_drop_spare(Session *s);
/* Stop the session's leader (and so every init it forked). */
void session_stop_leader(Session *s);

/* session-boot.c: a booted session's system (session.h's session_boot_state()). */
/* Boot the session's system now (it is ready and has none running); failures are the
 * Begin's, if one waits, or logged. */
void session_boot_start(Session *s);
/* End: halt it (SIGRTMIN+3 to PID 1; SIGKILL of the container after a timeout);
 * session_continue_end() is called once it is down. */
void session_boot_stop(Session *s);
/* Remove what a boot left in the cgroup tree (End, once everything is dead). */
void session_boot_remove_leftovers(Session *s);
/* Kill it at once (the session is freed). */
void session_boot_free(Session *s);
/* Whether it is up and its agent takes commands. */
bool session_boot_running(const Session *s);
/* Give the agent a Run's request; *ret_seq numbers it among the agent's answers
 * (session_attach_booted_run()). Returns 0 or -errno (-ENOTCONN: not running). */
int session_boot_send(Session *s, int report_fd, const int stdio[3], int params_fd, int terminal_fd,
                      uint64_t *ret_seq);

/* session_run(), and session_start()'s: cmd (or NULL for a Run) hears of the command's
 * start and end (command_started(), command_finish()) instead of call. */
int session_run_command(Session *s, const RunParams *p, Call call, Command *cmd, Error *e);
/* Signal one Run (as Kill does all of them). */
void run_kill(Run *run, int sig);
/* For session-run.c: the command has started; it has ended with o (moved from). */
void command_started(Command *c, Run *run);
void command_finish(Command *c, Outcome *o);
/* The session's commands go (session_free()). */
void session_free_commands(Session *s);

/* Session.Kill of a booted session whose system runs: the agent signals every command
 * and what the commands left (boot_agent_signal()). Returns 0, or -ENOTCONN when the
 * system is not running, or -errno. */
int session_boot_signal(Session *s, int sig);

/* session-run.c */
/* The session's leader, started if it is not running. */
int session_ensure_leader(Session *s, Error *e);
/* A booted session's Runs that wait for its system: given to it (it is up), or failed
 * with why. */
void session_dispatch_waiting_runs(Session *s);
void session_fail_waiting_runs(Session *s, const char *why);
/* The agent's answer number seq: the pidfd of the child running that Run (taken). */
void session_attach_booted_run(Session *s, uint64_t seq, int pidfd);
