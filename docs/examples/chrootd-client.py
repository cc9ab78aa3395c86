#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""chrootd from another language: a client of org.chrootd1 on the user bus, in Python
with GDBus (python3-gi), as an IDE or a test runner would write one.

It begins a session of CHROOT, starts a command in it on a terminal of its own
(Session.Start with the pty option), reads what the command writes to the terminal,
resizes it, waits for the command's Exited signal, copies a file the command made out
of the session (Session.CopyOut, a tar stream), and ends the session.

    python3 chrootd-client.py CHROOT

Nothing here is private to chrootd: the same calls work from busctl --user, from any
D-Bus binding, or over varlink.
"""

import os
import select
import sys
import tarfile
import tempfile

from gi.repository import Gio, GLib

BUS_NAME = "org.chrootd1"
MANAGER = ("/org/chrootd1", "org.chrootd1.Manager")
SESSION_IFACE = "org.chrootd1.Session"
COMMAND_IFACE = "org.chrootd1.Command"
FOREVER = GLib.MAXINT  # Begin unpacks a tarball, Wait lasts as long as the command


def call(bus, path, iface, method, args=None, fds=None):
    """A method call and its reply (a tuple), with file descriptors both ways."""
    fd_list = Gio.UnixFDList.new()
    for fd in fds or []:
        fd_list.append(fd)
    reply, out_fds = bus.call_with_unix_fd_list_sync(
        BUS_NAME, path, iface, method, args, None, Gio.DBusCallFlags.NONE, FOREVER, fd_list, None)
    return reply.unpack(), out_fds


def read_until(fd, needle, timeout=10.0):
    """What the terminal gives until needle shows up in it."""
    got = b""
    deadline = GLib.get_monotonic_time() + int(timeout * 1e6)
    while needle not in got:
        left = (deadline - GLib.get_monotonic_time()) / 1e6
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError(f"no {needle!r} from the terminal, only {got!r}")
        got += os.read(fd, 4096)
    return got.decode(errors="replace")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: chrootd-client.py CHROOT")
    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)

    # The Exited signal of any command; subscribed before Start, so none is missed.
    exited = {}
    loop = GLib.MainLoop()

    def on_exited(conn, sender, path, iface, signal, params):
        exited[path] = params.unpack()
        loop.quit()

    bus.signal_subscribe(BUS_NAME, COMMAND_IFACE, "Exited", None, None, Gio.DBusSignalFlags.NONE, on_exited)

    (session_id, session), _ = call(bus, *MANAGER, "BeginSession",
                                    GLib.Variant("(ssa{sv})", (sys.argv[1], "", {})))
    print("session:", session_id)
    try:
        script = "stty size; read line; stty size; echo \"$line\" > /tmp/greeting"
        options = {
            "pty": GLib.Variant("b", True),
            "pty-rows": GLib.Variant("q", 24),
            "pty-columns": GLib.Variant("q", 80),
        }
        (command,), _ = call(bus, session, SESSION_IFACE, "Start",
                             GLib.Variant("(asa{sv})", (["sh", "-c", script], options)))
        print("command:", command)

        # The terminal's master: what the command writes, and its keyboard.
        (index,), fds = call(bus, command, COMMAND_IFACE, "OpenTerminal")
        master = fds.get(index)
        print("size at start:", read_until(master, b"24 80").split()[-2:])
        call(bus, command, COMMAND_IFACE, "Resize", GLib.Variant("(qq)", (30, 100)))
        os.write(master, b"hello from python\n")
        print("size after Resize:", read_until(master, b"30 100").split()[-2:])

        if command not in exited:
            GLib.timeout_add_seconds(30, loop.quit)
            loop.run()
        result, value = exited[command]
        print("exited:", result, value)
        os.close(master)

        # The file it made, out as a tar stream (into a file: a pipe would need a
        # reader while the call runs).
        with tempfile.TemporaryFile() as stream:
            call(bus, session, SESSION_IFACE, "CopyOut",
                 GLib.Variant("(sha{sv})", ("/tmp/greeting", 0, {})), fds=[stream.fileno()])
            stream.seek(0)
            with tarfile.open(fileobj=stream) as tar:
                member = tar.next()
                data = tar.extractfile(member).read().decode()
                print(f"copied out: {member.name} ({member.uid}:{member.gid}, {member.mode:o}): {data.strip()}")
    finally:
        call(bus, *MANAGER, "EndSession", GLib.Variant("(s)", (session_id,)))
        print("ended")


if __name__ == "__main__":
    main()
