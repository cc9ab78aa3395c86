/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "client.h"
#include "util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

int call(sd_bus *bus, const char *path, const char *iface, const char *method, sd_bus_error *error,
         sd_bus_message **reply, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, path, iface, method);
        if (r < 0)
                return r;
        if (types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
                if (r < 0)
                        return r;
        }
        return sd_bus_call(bus, m, CALL_TIMEOUT, error, reply);
}

int async_call_on_reply(sd_bus_message *m, void *userdata, sd_bus_error *unused) {
        AsyncCall *call = userdata;

        call->reply = sd_bus_message_ref(m);
        call->done = true;
        return 0;
}

int async_call_take(AsyncCall *call, sd_bus_error *error, sd_bus_message **ret) {
        sd_bus_message *reply = call->reply;
        int r;

        call->reply = NULL;
        if (!reply)
                return -ECONNRESET;
        if (sd_bus_message_is_method_error(reply, NULL)) {
                r = sd_bus_error_copy(error, sd_bus_message_get_error(reply));
                sd_bus_message_unref(reply);
                return r < 0 ? r : -EIO;
        }
        *ret = reply;
        return 0;
}

bool environment_unsafe(const char *entry) {
        static const char *const names[] = {
                "BASH_ENV", "CDPATH", "ENV", "HOSTALIASES", "IFS", "KRB5_CONFIG",
                "KRBCONFDIR", "KRBTKFILE", "KRB_CONF", "LOCALDOMAIN", "NLSPATH",
                "PATH_LOCALE", "RES_OPTIONS", "TERMINFO", "TERMINFO_DIRS", "TERMPATH",
        };
        const char *eq = strchr(entry, '=');
        size_t l;

        if (!eq || eq == entry || startswith(entry, "LD_"))
                return true;
        l = (size_t) (eq - entry);
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strlen(names[i]) == l && strncmp(entry, names[i], l) == 0)
                        return true;
        return false;
}

void stdio_fill_closed(void) {
        /* Lowest free fd first: an fd of ours closed here becomes /dev/null. */
        for (int fd = 0; fd < 3; fd++)
                if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
                        int null = open("/dev/null", O_RDWR | O_NOCTTY);
                        if (null >= 0 && null != fd)
                                (void) close(null);
                }
}

int append_stdio_options(sd_bus_message *m) {
        static const char *const streams[] = { "stdin", "stdout", "stderr" };
        int r;

        for (int fd = 0; fd < 3; fd++)
                if (fcntl(fd, F_GETFD) >= 0) {
                        r = sd_bus_message_append(m, "{sv}", streams[fd], "h", fd);
                        if (r < 0)
                                return r;
                }
        return 0;
}

int append_strv_option(sd_bus_message *m, const char *key, char **strv) {
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", key);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, strv);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

void forwarded_signals(sigset_t *mask) {
        sigemptyset(mask);
        sigaddset(mask, SIGINT);
        sigaddset(mask, SIGTERM);
        sigaddset(mask, SIGHUP);
        sigaddset(mask, SIGQUIT);
}

int bus_poll_timeout(sd_bus *bus) {
        struct timespec ts;
        uint64_t until, now;

        if (sd_bus_get_timeout(bus, &until) < 0 || until == UINT64_MAX)
                return -1;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        now = (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
        return until <= now ? 0 : (int) ((until - now + 999) / 1000);
}

int call_run_forwarding_signals(sd_bus *bus, sd_bus_message *m, const char *session_path, sd_bus_error *error,
                                sd_bus_message **ret) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_close_ int sfd = -1;
        AsyncCall w = {};
        sigset_t mask, old;
        int r;

        forwarded_signals(&mask);
        sigprocmask(SIG_BLOCK, &mask, &old);
        sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

        r = sd_bus_call_async(bus, &slot, m, async_call_on_reply, &w, CALL_TIMEOUT);
        while (r >= 0 && !w.done) {
                struct pollfd p[2];

                r = sd_bus_process(bus, NULL);
                if (r < 0 || w.done)
                        break;
                if (r > 0)
                        continue;

                p[0] = (struct pollfd) { .fd = sd_bus_get_fd(bus), .events = (short) sd_bus_get_events(bus) };
                p[1] = (struct pollfd) { .fd = sfd, .events = POLLIN };
                if (poll(p, sfd >= 0 ? 2 : 1, bus_poll_timeout(bus)) < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                if (sfd >= 0 && (p[1].revents & POLLIN)) {
                        struct signalfd_siginfo si;
                        while (read(sfd, &si, sizeof(si)) == (ssize_t) sizeof(si))
                                (void) sd_bus_call_method_async(bus, NULL, BUS_NAME, session_path, SESSION_IFACE,
                                                                "Kill", NULL, NULL, "i", (int32_t) si.ssi_signo);
                }
        }
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (r < 0) {
                sd_bus_message_unref(w.reply);
                return r;
        }
        return async_call_take(&w, error, ret);
}
