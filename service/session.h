/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "catalog.h"
#include "errors.h"
#include "frontend.h"
#include "leader.h"
#include "manager.h"
#include "report.h"
#include "run-request.h"
#include "store.h"
#include "systemd.h"
#include "util.h"

typedef struct LoginEntries LoginEntries;
typedef struct Boot Boot;
typedef struct Operation Operation;

/* Most commands one session runs at once. */
#define SESSION_RUNS_MAX 256

/* Begin's yes/no options. */
typedef struct BeginFlags {
        bool add_login;  /* the user's passwd and group entries go into the tree */
        bool write_back; /* End repacks the tree into the tarball (schroot's source:) */
        const char *union_type; /* "overlay", "none", or NULL: the chroot's default */
        bool host_tree;  /* the tree must be reachable from the host (RootDirectory) */
        bool package_cache; /* /var/cache/apt/archives shares the chroot's packages (package-cache.h) */
        char **add_accounts; /* with add_login: host accounts added too (owned) */
        bool boot;           /* the tree's init boots as PID 1 (session-boot.c) */
        bool host_network;   /* with boot: the host's network, not only lo */
        const char *caller;  /* end-with-caller: the front end's name for the caller
                              * (manager_caller_gone() ends the session), or NULL */
} BeginFlags;

static inline void begin_flags_done(BeginFlags *f) {
        strv_free(f->add_accounts);
        f->add_accounts = NULL;
}

struct Session {
        Manager *manager;
        Session *next;
        SessionRecord rec;
        char *dir;  /* sessions/<id> */
        char *tree; /* sessions/<id>/root */

        /* The session's leader, which forks its commands' inits (leader.h), and the
         * next command's init, ready in its scope (session-run.c). */
        Leader leader;
        sd_event_source *leader_source; /* its answer to spare_requested */
        Run *spare;
        bool spare_requested; /* asked the leader for the next spare, no answer yet */
        sd_event_source *leader_timer; /* stops them once no command ran for a while */

        /* Begin's state: the source, the user's entries. */
        int source_fd;
        LoginEntries *login;
        uint64_t max_bytes; /* the chroot's max-size=, or 0 */

        /* The one child in flight (operation.h): Begin's unpack or prepare, or End's
         * repack or removal; and a directory chroot's reader, during Begin. */
        Operation *worker;
        Operation *reader;
        /* While a tarball is unpacked: the tarball, sharing its file offset with the
         * unpack child, and its size, for the Progress property. */
        int progress_fd;
        uint64_t progress_size;
        double progress_reached; /* by the steps before: Progress never goes back */

        /* Callers waiting: Begin for the session to become ready, End for it to go. */
        Call begin_call;
        Call *end_calls;
        size_t n_end_calls;
        /* Why a failed Begin failed, replied once its remains are removed. */
        Outcome begin_failure;

        Run *runs;
        unsigned n_runs;
        /* Commands begun with Start (session-command.c), running and finished. */
        Command *commands;
        unsigned n_commands;
        uint64_t last_command_id;

        /* End stops the session's slice (every scope in it) before removing the tree. */
        char *slice;
        SystemdJob *stop_job;
        bool slice_stopped;
        SystemdJob *limits_job; /* putting rec.limits on the slice */
        Call limits_call;
        Limits old_limits;      /* restored if SetLimits fails */

        /* A booted session's running system (session-boot.c), or NULL while it is
         * not running. */
        Boot *boot;
        bool boot_wanted;   /* boot it (again) once the session is ready / the old one is gone */
        uint64_t boots;     /* how many times it was booted by this instance of the service */

        /* A write-back session's End repacks the tree into its tarball first. */
        char *repack_temp;
        bool repacked;
};

struct Run {
        Session *session;
        Run *next;
        pid_t pid;           /* the command's init, forked by the session's leader */
        int pidfd;
        int ctl;             /* the init's control socket, until it has its command */
        sd_event_source *source; /* the pidfd: the init has exited */
        char *unit;          /* its transient scope */
        SystemdJob *job;     /* starting the scope */
        bool scope_ready;
        bool was_spare;      /* made before its command came */
        /* The command (none yet for the spare): */
        bool has_command;    /* a spare has none until a Run takes it */
        Call call;           /* the caller waiting for its end */
        int params_fd;       /* run_params_pack() */
        int stdio[3];
        char *description;   /* its scope's */
        bool dispatched;     /* the init has its command */
        int report_fd;
        sd_event_source *report_source;
        Report report;       /* what it has reported so far */
        Outcome failure;     /* why the service killed it before it ran */
        bool killed;         /* by Kill(SIGKILL) */
        char **argv;            /* for the Commands property */
        uint64_t started_usec;
        sd_event_source *timer; /* the Run's timeout */
        bool timed_out;
        /* A booted session's Run: its command goes to the agent in the session's
         * system; pidfd is then the agent's child that runs it (once it answered). */
        bool booted;
        uint64_t agent_seq;  /* its number among the agent's answers, once sent */
        int pending_signal;  /* asked for before the pidfd came */
        /* A Run with a terminal (RunParams.pty): the socket its init sends the pty's
         * master on (and the init's end, until dispatched), then the master. */
        int terminal_sock, terminal_peer;
        int terminal;
        bool started;        /* the init has forked the command (report_started()) */
        Command *command;    /* Start's, or NULL for a Run */
        bool copy;           /* session_copy()'s */
        /* CLOCK_MONOTONIC of each step, for --debug */
        uint64_t t_request, t_scope, t_dispatched;
};

/* A command begun with Start: what a Run is, answered once it has started, and kept
 * after its end until its result is read (Wait) or the session goes; a session keeps
 * 64 finished ones at most, the oldest going first. */
struct Command {
        Session *session;
        Command *next;
        uint64_t id;           /* 1, 2, ... in its session */
        Run *run;              /* while it runs */
        char **argv;           /* as asked for (empty: the login shell) */
        pid_t pid;             /* its init (0 for a booted session's, whose agent runs it) */
        char *unit;            /* its scope, or NULL */
        uint64_t started_usec;
        int terminal;          /* the service's copy of its pty's master (kept after its end), or -EBADF */
        bool done;
        Outcome outcome;       /* once done: its result, as a Run's */
        Call start_call;       /* Start's, until it started */
        Call *waits;           /* Wait's, until it ends */
        size_t n_waits;
};

/* Make a new session of chroot and start unpacking (or copying) it; call is answered
 * (begin_done) when the tree is ready or the attempt has been cleaned up. A failure to
 * start comes back as -errno with e set and nothing created (call not answered). id
 * must be a valid name no session has (manager_begin_session() checks all that). */
int session_begin(Manager *m, const Chroot *chroot, const char *id, const Limits *limits, const BeginFlags *flags,
                  Call call, Session **ret, Error *e);

/* The session's tree as the host can reach it, for a session begun with host-tree:
 * root/ of a full copy, or for a copy-on-write session sessions/<id>/tree, a link to
 * its leader's view of the overlay (kept running while the session is ready). NULL
 * for other sessions. Starts nothing. */
char *session_root_directory(const Session *s);

/* Whether the session is copy-on-write (over a base, or over its directory chroot). */
bool session_is_overlay(const Session *s);

/* The share of the tarball unpacked so far (0..1; 1 once ready). */
double session_progress(const Session *s);

/* Recreate a session found on disk at startup; unfinished ones are removed. */
int session_load(Manager *m, const char *id);

/* Start a command (p checked by check_run() and check_stream_fd(); a negative stdio
 * fd is /dev/null); call is answered (run_started, then run_done) when it ends.
 * Refusals (not ready, too many commands) are -errno with e set, call not answered. */
int session_run(Session *s, const RunParams *p, Call call, Error *e);

/* Copy a tar stream on fd (check_copy()) into the session's tree at path (RUN_COPY_IN),
 * or path out of it as one (RUN_COPY_OUT), as root inside: a Run of the service's own
 * code (init-copy.h), counted among the session's commands, answered (run_done) when
 * it is over: o without an error is success. */
int session_copy(Session *s, RunCopy kind, const char *path, int fd, Call call, Error *e);

/* Start a command (checked as for session_run(); with p->pty, stdio is unused): call is
 * answered (start_done) once it has started, or could not. Refusals are -errno with e
 * set, call not answered. */
int session_start(Session *s, const RunParams *p, Call call, Error *e);

/* The session's started command with this id, or NULL. */
Command *session_find_command(Session *s, uint64_t id);

/* Wait for a started command's end: call is answered (wait_done) then, or at once if it
 * ended already; the command is forgotten after that (its result was read). */
int command_wait(Command *c, Call call, Error *e);

/* Signal a running command (check_signal()): its init passes sig on to all of it.
 * ERROR_NOT_READY once it has ended. */
int command_kill(Command *c, int sig, Error *e);

/* Its terminal's window size (TIOCSWINSZ: the command gets SIGWINCH). ERROR_NOT_SUPPORTED
 * for a command without a terminal, ERROR_NOT_READY once it has ended. */
int command_resize(Command *c, unsigned rows, unsigned columns, Error *e);

/* A new fd of its terminal's master (O_CLOEXEC), for a client to relay, also after the
 * command's end (what it wrote is still there to read); ERROR_NOT_SUPPORTED for a
 * command without a terminal. */
int command_open_terminal(Command *c, int *ret_fd, Error *e);

/* "running" or "exited". */
const char *command_state(const Command *c);

/* Change the session's limits (fields that are 0 stay as they are; at least one must
 * be set); call is answered (limits_done) when systemd has applied them. Refusals
 * (not ready, another change on its way) are -errno with e set. */
int session_set_limits(Session *s, const Limits *l, Call call, Error *e);

/* Send sig (check_signal()) to every process of every command running in the session
 * (through each command's init, which passes it on to its pid namespace). */
int session_kill(Session *s, int sig, Error *e);

/* End the session: kill its commands, remove the tree and state. call (may be
 * CALL_NULL) is answered (end_done) when everything is gone. */
int session_end(Session *s, Call call, Error *e);

/* End the session without writing it back (for a write-back session, whose End would
 * repack the tree into its tarball first; for others the same as session_end()).
 * ERROR_NOT_READY for a write-back session that is ending already. */
int session_discard(Session *s, Call call, Error *e);

/* A booted session's system: "off", "starting", "running", "stopping" ("" for a
 * session that is not booted). */
const char *session_boot_state(const Session *s);

/* The scope of a booted session's system, or NULL. */
const char *session_boot_unit(const Session *s);

/* Reboot a booted session's system (boot it if it is off); returns at once, the
 * BootState shows the progress. -errno with e set: not a booted session
 * (ERROR_NOT_SUPPORTED), not ready. */
int session_reboot(Session *s, Error *e);

/* A read-only fd of the booted system's console log (this boot's, and the one before it
 * from "----- reboot -----" on). Returns 0 or -errno with e set. */
int session_open_console_log(Session *s, int *ret_fd, Error *e);

/* Forget the session; calls still waiting are answered (Failed: the service stops). */
Session *session_free(Session *s);
