/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "terminal.h"
#include "client.h"
#include "util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define COMMAND_IFACE "org.chrootd1.Command"
/* After Wait's answer, what the terminal still holds gets this long to come out: a
 * booted session's leftovers may keep the terminal open for ever. */
#define DRAIN_MSEC 100

bool terminal_size(int fd, struct winsize *ret) {
        return isatty(fd) && ioctl(fd, TIOCGWINSZ, ret) == 0;
}

/* The caller's terminal as it was, put back by terminal_restore() (once). */
static struct termios saved;
static bool saved_valid;

static void terminal_restore(void) {
        if (!saved_valid)
                return;
        (void) tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
        saved_valid = false;
}

static int terminal_make_raw(void) {
        static bool registered;
        struct termios raw;

        if (tcgetattr(STDIN_FILENO, &saved) < 0)
                return -errno;
        saved_valid = true;
        if (!registered && atexit(terminal_restore) == 0)
                registered = true;
        raw = saved;
        cfmakeraw(&raw);
        if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0)
                return -errno;
        return 0;
}

/* One direction of the relay: bytes read from `from`, waiting to be written to `to`. */
typedef struct Pipe {
        int from, to;
        char buf[4096];
        size_t len, off;
        bool eof; /* from has hung up (a pty master: EIO once the command's side closed) */
} Pipe;

static void pipe_events(const Pipe *p, struct pollfd *in, struct pollfd *out) {
        *in = (struct pollfd) { .fd = p->eof || p->len > 0 ? -1 : p->from, .events = POLLIN };
        *out = (struct pollfd) { .fd = p->len > 0 ? p->to : -1, .events = POLLOUT };
}

/* Move what can be moved without blocking. Returns 0, or -errno when `to` failed. */
static int pipe_move(Pipe *p, short in_revents, short out_revents) {
        if (p->len == 0 && (in_revents & (POLLIN | POLLHUP | POLLERR))) {
                ssize_t n = read(p->from, p->buf, sizeof(p->buf));
                if (n > 0) {
                        p->len = (size_t) n;
                        p->off = 0;
                } else if (n == 0 || (errno != EAGAIN && errno != EINTR))
                        p->eof = true;
        }
        if (p->len > 0 && (out_revents & POLLOUT || out_revents == 0)) {
                ssize_t n = write(p->to, p->buf + p->off, p->len);
                if (n < 0 && errno != EAGAIN && errno != EINTR)
                        return -errno;
                if (n > 0) {
                        p->off += (size_t) n;
                        p->len -= (size_t) n;
                }
        }
        return 0;
}

static uint64_t now_msec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

typedef struct Relay {
        sd_bus *bus;
        const char *command_path;
        int master, sfd;
        Pipe input, output; /* the caller's keys to the command, its output to the caller */
        AsyncCall wait;
        uint64_t drain_until; /* once Wait has answered */
} Relay;

static void relay_signal(Relay *r) {
        struct signalfd_siginfo si;

        while (read(r->sfd, &si, sizeof(si)) == (ssize_t) sizeof(si)) {
                struct winsize ws;

                if (si.ssi_signo == SIGWINCH) {
                        if (terminal_size(STDIN_FILENO, &ws))
                                (void) ioctl(r->master, TIOCSWINSZ, &ws);
                } else
                        (void) sd_bus_call_method_async(r->bus, NULL, BUS_NAME, r->command_path, COMMAND_IFACE, "Kill",
                                                        NULL, NULL, "i", (int32_t) si.ssi_signo);
        }
}

/* Until Wait has answered and the output is out (or DRAIN_MSEC passed). */
static int relay_loop(Relay *r) {
        for (;;) {
                struct pollfd p[6];
                int timeout, k;

                k = sd_bus_process(r->bus, NULL);
                if (k < 0)
                        return k;
                if (r->wait.done && !r->drain_until)
                        r->drain_until = now_msec() + DRAIN_MSEC;
                if (r->wait.done && (r->output.eof && r->output.len == 0))
                        return 0;
                if (r->drain_until && now_msec() >= r->drain_until)
                        return 0;
                if (k > 0)
                        continue;

                p[0] = (struct pollfd) { .fd = sd_bus_get_fd(r->bus), .events = (short) sd_bus_get_events(r->bus) };
                p[1] = (struct pollfd) { .fd = r->sfd, .events = POLLIN };
                pipe_events(&r->input, &p[2], &p[3]);
                pipe_events(&r->output, &p[4], &p[5]);
                timeout = bus_poll_timeout(r->bus);
                if (r->drain_until) {
                        int left = (int) (r->drain_until - now_msec());
                        timeout = timeout < 0 || timeout > left ? left : timeout;
                }
                if (poll(p, ELEMENTSOF(p), timeout) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (p[1].revents & POLLIN)
                        relay_signal(r);
                /* The caller's terminal going away ends nothing: the command is told by
                 * SIGHUP, if the caller's session sends one. */
                (void) pipe_move(&r->input, p[2].revents, p[3].revents);
                k = pipe_move(&r->output, p[4].revents, p[5].revents);
                if (k < 0)
                        r->output.eof = true, r->output.len = 0; /* nobody to show it to */
        }
}

int terminal_relay(sd_bus *bus, int master, const char *command_path, sd_bus_error *error, sd_bus_message **ret) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_close_ int sfd = -EBADF;
        Relay relay = {
                .bus = bus,
                .command_path = command_path,
                .master = master,
                .input = { .from = STDIN_FILENO, .to = master },
                .output = { .from = master, .to = STDOUT_FILENO },
        };
        struct winsize ws;
        sigset_t mask, old;
        int r;

        forwarded_signals(&mask);
        sigaddset(&mask, SIGWINCH);
        sigprocmask(SIG_BLOCK, &mask, &old);
        sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
        relay.sfd = sfd;
        (void) fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);

        r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, command_path, COMMAND_IFACE, "Wait");
        if (r >= 0)
                r = sd_bus_call_async(bus, &slot, m, async_call_on_reply, &relay.wait, CALL_TIMEOUT);
        if (r >= 0)
                r = terminal_make_raw();
        /* A change of size between Start and now. */
        if (r >= 0 && terminal_size(STDIN_FILENO, &ws))
                (void) ioctl(master, TIOCSWINSZ, &ws);
        if (r >= 0)
                r = relay_loop(&relay);
        terminal_restore();
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (r < 0) {
                sd_bus_message_unref(relay.wait.reply);
                return r;
        }
        return async_call_take(&relay.wait, error, ret);
}
