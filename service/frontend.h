/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* How front ends (manager-dbus.c, manager-varlink.c) and the session core meet. The
 * core speaks no protocol: a front end decodes a call, checks and carries it out through
 * the core's functions (manager.h, session.h), handing in a Call, its own token for the
 * reply it owes. The core answers each Call exactly once, through the callbacks of the
 * front end that made it, and tells every attached front end of sessions added, removed
 * and changed. */

#include <stdbool.h>
#include "errors.h"

typedef struct Manager Manager;
typedef struct Session Session;
typedef struct Run Run;
typedef struct Command Command;

/* How something the core did for a call ended: an error, or for a Run its result. */
typedef struct Outcome {
        Error error;    /* unset: success */
        bool killed;    /* Run: value is the signal that ended the command */
        bool timed_out; /* Run: killed (value SIGKILL) at its timeout */
        int value;      /* Run: the exit status or signal */
} Outcome;

void outcome_done(Outcome *o);

typedef struct FrontendOps {
        /* Replies. call is what the front end handed in with the request; after its one
         * *_done the core forgets it. A session's calls are answered before it is freed
         * (with SessionEnded or Failed when the service stops). */
        void (*begin_done)(void *call, Session *s, const Outcome *o);
        void (*end_done)(void *call, Session *s, const Outcome *o);
        void (*limits_done)(void *call, Session *s, const Outcome *o);
        /* A Run's command has been handed to its init (may be NULL); then run_done. */
        void (*run_started)(void *call, Run *run);
        void (*run_done)(void *call, Run *run, const Outcome *o);
        /* Start: the command has started (o has no error), or could not (its error; the
         * command is freed after this returns), or ended before it started (its result). */
        void (*start_done)(void *call, Command *c, const Outcome *o);
        /* Wait: the command's result (the command is freed after this returns). */
        void (*wait_done)(void *call, Command *c, const Outcome *o);

        /* Events, to every attached front end (userdata: the Frontend's). */
        void (*session_added)(void *userdata, Session *s);
        void (*session_removed)(void *userdata, Session *s);
        void (*state_changed)(void *userdata, Session *s);
        /* A started command has ended; c->outcome is its result (may be NULL). */
        void (*command_exited)(void *userdata, Command *c);
} FrontendOps;

typedef struct Frontend {
        const FrontendOps *ops;
        void *userdata;
} Frontend;

/* A call waiting for the core: its front end and the front end's data for it. */
typedef struct Call {
        const Frontend *frontend;
        void *data;
} Call;

#define CALL_NULL ((Call) {})

static inline bool call_is_set(const Call *c) {
        return c->frontend;
}
