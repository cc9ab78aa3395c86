/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Commands as objects: Start runs a command as Run does (session-run.c) but answers
 * once it has started, and keeps what became of it, so that a client may go and come
 * back for it (Wait), signal it or resize its terminal meanwhile. */
#include "session-private.h"
#include "util.h"

#include <fcntl.h>
#include <inttypes.h>

#include <sys/ioctl.h>
#include <termios.h>

/* Finished commands a session keeps for a Wait that may still come; the oldest go. */
#define SESSION_DONE_COMMANDS_MAX 64

static void command_answer_waits(Command *c, const Outcome *o) {
        Call *waits = c->waits;
        size_t n = c->n_waits;

        c->waits = NULL;
        c->n_waits = 0;
        for (size_t i = 0; i < n; i++)
                waits[i].frontend->ops->wait_done(waits[i].data, c, o);
        free(waits);
}

static void command_free(Command *c) {
        Session *s;

        if (!c)
                return;
        s = c->session;
        if (call_is_set(&c->start_call) || c->n_waits > 0) {
                Outcome o = {};
                (void) error_set(&o.error, ERROR_FAILED, ECANCELED, "The service is stopping");
                if (call_is_set(&c->start_call))
                        c->start_call.frontend->ops->start_done(c->start_call.data, c, &o);
                command_answer_waits(c, &o);
                outcome_done(&o);
        }
        if (c->run)
                c->run->command = NULL;
        for (Command **i = &s->commands; *i; i = &(*i)->next)
                if (*i == c) {
                        *i = c->next;
                        break;
                }
        s->n_commands--;
        safe_close(c->terminal);
        outcome_done(&c->outcome);
        strv_free(c->argv);
        free(c->unit);
        free(c);
}

void session_free_commands(Session *s) {
        while (s->commands)
                command_free(s->commands);
}

Command *session_find_command(Session *s, uint64_t id) {
        for (Command *c = s->commands; c; c = c->next)
                if (c->id == id)
                        return c;
        return NULL;
}

/* A session keeps SESSION_DONE_COMMANDS_MAX finished commands: the oldest one goes. */
static void session_trim_done_commands(Session *s) {
        Command *oldest = NULL;
        unsigned n = 0;

        for (Command *c = s->commands; c; c = c->next)
                if (c->done) {
                        n++;
                        if (!oldest || c->id < oldest->id)
                                oldest = c;
                }
        if (n > SESSION_DONE_COMMANDS_MAX)
                command_free(oldest);
}

int session_start(Session *s, const RunParams *p, Call call, Error *e) {
        Command *c;
        int r;

        c = calloc(1, sizeof(Command));
        if (!c)
                return error_set(e, ERROR_FAILED, ENOMEM, "Out of memory");
        *c = (Command) { .session = s, .id = ++s->last_command_id, .terminal = -EBADF };
        r = 0;
        for (char **a = p->argv; r >= 0 && *a; a++)
                r = strv_extend(&c->argv, *a);
        if (r < 0) {
                strv_free(c->argv);
                free(c);
                return error_set(e, ERROR_FAILED, ENOMEM, "Out of memory");
        }
        c->next = s->commands;
        s->commands = c;
        s->n_commands++;
        r = session_run_command(s, p, CALL_NULL, c, e);
        if (r < 0) {
                command_free(c);
                return r;
        }
        c->start_call = call;
        return 0;
}

void command_started(Command *c, Run *run) {
        Call call = c->start_call;

        c->pid = run->pid;
        c->started_usec = run->started_usec;
        if (run->unit && !c->unit)
                c->unit = strdup(run->unit);
        if (run->terminal >= 0 && c->terminal < 0)
                c->terminal = fcntl(run->terminal, F_DUPFD_CLOEXEC, 3);
        c->start_call = CALL_NULL;
        if (call_is_set(&call))
                call.frontend->ops->start_done(call.data, c, &(Outcome) {});
}

void command_finish(Command *c, Outcome *o) {
        Session *s = c->session;

        c->run = NULL;
        c->done = true;
        /* The terminal stays until the command goes: what the command wrote last is
         * still in it for a client that opens it now. */
        error_move(&c->outcome.error, &o->error);
        c->outcome.killed = o->killed;
        c->outcome.timed_out = o->timed_out;
        c->outcome.value = o->value;
        if (call_is_set(&c->start_call)) {
                Call call = c->start_call;
                c->start_call = CALL_NULL;
                call.frontend->ops->start_done(call.data, c, &c->outcome);
                /* It never started: nothing to keep. */
                if (error_is_set(&c->outcome.error)) {
                        command_free(c);
                        return;
                }
        }
        manager_emit_command_exited(s->manager, c);
        if (c->n_waits > 0) {
                command_answer_waits(c, &c->outcome);
                command_free(c); /* its status was read */
                return;
        }
        session_trim_done_commands(s);
}

int command_wait(Command *c, Call call, Error *e) {
        Call *w;

        if (c->done) {
                call.frontend->ops->wait_done(call.data, c, &c->outcome);
                command_free(c);
                return 0;
        }
        w = reallocarray(c->waits, c->n_waits + 1, sizeof(Call));
        if (!w)
                return error_set(e, ERROR_FAILED, ENOMEM, "Out of memory");
        c->waits = w;
        c->waits[c->n_waits++] = call;
        return 0;
}

int command_kill(Command *c, int sig, Error *e) {
        if (c->done)
                return error_set(e, ERROR_NOT_READY, ESRCH, "Command %" PRIu64 " of session '%s' has ended", c->id,
                                 c->session->rec.id);
        if (!c->run)
                return error_set(e, ERROR_NOT_READY, ESRCH, "Command %" PRIu64 " has not started yet", c->id);
        run_kill(c->run, sig);
        return 0;
}

int command_resize(Command *c, unsigned rows, unsigned columns, Error *e) {
        struct winsize ws = { .ws_row = (unsigned short) rows, .ws_col = (unsigned short) columns };

        if (rows > UINT16_MAX || columns > UINT16_MAX)
                return error_set(e, ERROR_INVALID_ARGUMENT, EINVAL, "A window has at most 65535 rows and columns");
        if (c->terminal < 0)
                return error_set(e, ERROR_NOT_SUPPORTED, ENOTTY, "Command %" PRIu64 " has no terminal", c->id);
        if (c->done)
                return error_set(e, ERROR_NOT_READY, ESRCH, "Command %" PRIu64 " has ended", c->id);
        if (ioctl(c->terminal, TIOCSWINSZ, &ws) < 0)
                return error_set(e, ERROR_FAILED, errno, "Cannot resize the command's terminal: %m");
        return 0;
}

int command_open_terminal(Command *c, int *ret_fd, Error *e) {
        int fd;

        if (c->terminal < 0)
                return error_set(e, ERROR_NOT_SUPPORTED, ENOTTY, "Command %" PRIu64 " has no terminal", c->id);
        fd = fcntl(c->terminal, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return error_set(e, ERROR_FAILED, errno, "Cannot pass the terminal on: %m");
        *ret_fd = fd;
        return 0;
}

const char *command_state(const Command *c) {
        return c->done ? "exited" : "running";
}
