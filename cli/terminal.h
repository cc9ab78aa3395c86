/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A command's terminal relayed to the caller's, for `chrootctl run -t` and `shell`. */

#include <stdbool.h>
#include <sys/ioctl.h>
#include <systemd/sd-bus.h>

/* The window size of the caller's terminal on fd; false if fd is no terminal. */
bool terminal_size(int fd, struct winsize *ret);

/* Relay master (the command's pty, Command.OpenTerminal) to the caller's terminal
 * (stdin, a tty, and stdout), which is in raw mode meanwhile and restored on every way
 * out (an atexit() handler too, for an exit() on the way); pass window size changes on
 * to the command, and SIGINT, SIGTERM, SIGHUP and SIGQUIT that reach us (Command.Kill on
 * command_path). Ends once Command.Wait has answered (then whatever the terminal still
 * holds is written out first, for at most 100 ms past a hang-up that does not come) or
 * the bus connection failed. Returns 0 with Wait's reply in *ret, or -errno with error
 * filled where the service answered so. */
int terminal_relay(sd_bus *bus, int master, const char *command_path, sd_bus_error *error, sd_bus_message **ret);
