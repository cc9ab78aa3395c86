/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.chrootd1.Command: the commands begun with Session.Start, one object each at
 * /org/chrootd1/session/<id>/command/<n>, found by path (a fallback vtable, as the
 * sessions are). The core (session.h) keeps them; this is the bus's view. */
#include "session-dbus.h"
#include "options.h"
#include "util.h"

#include <inttypes.h>

/* The session's path, then the number as it is (a path element may be all digits;
 * sd_bus_path_encode() would escape a leading one). */
int bus_command_path(const Command *c, char **ret) {
        _cleanup_free_ char *session = NULL;
        int r;

        r = bus_session_path(c->session, &session);
        if (r < 0)
                return r;
        *ret = strf("%s/command/%" PRIu64, session, c->id);
        return *ret ? 0 : -ENOMEM;
}

int command_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                        sd_bus_error *error) {
        BusFrontend *bf = userdata;
        _cleanup_free_ char *session_path = NULL, *id = NULL;
        const char *n;
        uint64_t number;
        Session *s;
        Command *c;

        n = strstr(path, "/command/");
        if (!n || !(session_path = strndup(path, (size_t) (n - path))))
                return n ? -ENOMEM : 0;
        n += strlen("/command/");
        if (n[0] < '1' || n[0] > '9' || parse_u64(n, &number) < 0 ||
            sd_bus_path_decode(session_path, BUS_SESSION_PREFIX, &id) <= 0)
                return 0;
        s = manager_get_session(bf->manager, id);
        c = s ? session_find_command(s, number) : NULL;
        if (!c)
                return 0;
        *found = c;
        return 1;
}

int bus_append_command_paths(sd_bus_message *reply, Session *s) {
        int r;

        r = sd_bus_message_open_container(reply, 'a', "o");
        for (Command *c = s->commands; r >= 0 && c; c = c->next) {
                _cleanup_free_ char *path = NULL;
                r = bus_command_path(c, &path);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "o", path);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

/* "exited", "killed", "timeout", "failed" (an error: Wait returns it), or "" while it runs. */
static const char *outcome_result(const Command *c) {
        const Outcome *o = &c->outcome;

        if (!c->done)
                return "";
        return error_is_set(&o->error) ? "failed" : o->timed_out ? "timeout" : o->killed ? "killed" : "exited";
}

void bus_emit_command_exited(void *userdata, Command *c) {
        BusFrontend *bf = userdata;
        _cleanup_free_ char *path = NULL;

        if (bus_command_path(c, &path) < 0)
                return;
        (void) sd_bus_emit_properties_changed(bf->bus, path, "org.chrootd1.Command", "State", "Result", "ExitStatus",
                                              NULL);
        (void) sd_bus_emit_signal(bf->bus, path, "org.chrootd1.Command", "Exited", "si", outcome_result(c),
                                  (int32_t) c->outcome.value);
}

/* Wait's reply, as Run's: (result, value), or the command's error. */
int bus_reply_outcome(sd_bus_message *m, const Outcome *o) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        if (error_is_set(&o->error)) {
                (void) bus_set_error(&error, &o->error);
                return sd_bus_reply_method_error(m, &error);
        }
        return sd_bus_reply_method_return(m, "si", o->timed_out ? "timeout" : o->killed ? "killed" : "exited",
                                          o->value);
}

static int method_wait(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(error_done) Error e = {};
        Call call = bus_call(bus_frontend_of(m), m);
        int r;

        r = command_wait(userdata, call, &e);
        if (r < 0) {
                sd_bus_message_unref(call.data);
                return bus_set_error(error, &e);
        }
        return 1; /* replied when it ends */
}

static int method_kill(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(error_done) Error e = {};
        int32_t sig;
        int r;

        r = sd_bus_message_read(m, "i", &sig);
        if (r < 0)
                return r;
        r = check_signal(sig, &e);
        if (r >= 0)
                r = command_kill(userdata, sig, &e);
        if (r < 0)
                return bus_set_error(error, &e);
        return sd_bus_reply_method_return(m, NULL);
}

static int method_resize(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(error_done) Error e = {};
        uint16_t rows, columns;
        int r;

        r = sd_bus_message_read(m, "qq", &rows, &columns);
        if (r < 0)
                return r;
        r = command_resize(userdata, rows, columns, &e);
        if (r < 0)
                return bus_set_error(error, &e);
        return sd_bus_reply_method_return(m, NULL);
}

static int method_open_terminal(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(error_done) Error e = {};
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = command_open_terminal(userdata, &fd, &e);
        if (r < 0)
                return bus_set_error(error, &e);
        return sd_bus_reply_method_return(m, "h", fd); /* sd-bus sends a copy */
}

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Command *c = userdata;

        if (streq(property, "Argv"))
                return sd_bus_message_append_strv(reply, c->argv);
        if (streq(property, "Session"))
                return sd_bus_message_append(reply, "s", c->session->rec.id);
        if (streq(property, "Scope"))
                return sd_bus_message_append(reply, "s", strempty(c->unit));
        if (streq(property, "State"))
                return sd_bus_message_append(reply, "s", command_state(c));
        if (streq(property, "Result"))
                return sd_bus_message_append(reply, "s", outcome_result(c));
        if (streq(property, "Terminal"))
                return sd_bus_message_append(reply, "b", c->terminal >= 0);
        if (streq(property, "ExitStatus"))
                return sd_bus_message_append(reply, "i", (int32_t) (c->done ? c->outcome.value : 0));
        return sd_bus_message_append(reply, "u", (uint32_t) c->pid); /* Pid */
}

const sd_bus_vtable command_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "t", NULL, offsetof(Command, id), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Session", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Argv", "as", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Pid", "u", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Scope", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("StartTimestamp", "t", NULL, offsetof(Command, started_usec), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Terminal", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Result", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ExitStatus", "i", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Wait", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", result, "i", value), method_wait,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Kill", SD_BUS_ARGS("i", signal), SD_BUS_NO_RESULT, method_kill,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Resize", SD_BUS_ARGS("q", rows, "q", columns), SD_BUS_NO_RESULT, method_resize,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("OpenTerminal", SD_BUS_NO_ARGS, SD_BUS_RESULT("h", terminal), method_open_terminal,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("Exited", SD_BUS_ARGS("s", result, "i", value), 0),
        SD_BUS_VTABLE_END
};
