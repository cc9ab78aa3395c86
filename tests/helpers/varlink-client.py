#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# A varlink client in another language than the service's, as users would write one:
# a plain AF_UNIX socket and json, no library. It does what varlinkctl cannot: pass
# file descriptors with a call (socket.send_fds), for Run's stdin/stdout/stderr, and
# receive them with replies (socket.recv_fds), as Start's and OpenTerminal's terminal.
#
#   varlink-client.py [OPTIONS] SOCKET METHOD [PARAMETERS-JSON]
#
#   --more            call with "more": print every reply until the last one
#   --raw TEXT        send TEXT as the whole message instead (METHOD and PARAMETERS
#                     are then ignored), e.g. to send a key twice
#   --fd PATH         open PATH (read-write; a directory read-only) and pass it
#   --pipe NAME       make a pipe, pass its write end; what the command writes to it
#                     is printed at the end as {"pipe": NAME, "data": ...}
#   --stray NAME      make a pipe, pass its write end, and print when its read end sees
#                     EOF as {"stray": NAME, "eof_after": SECONDS since the call was sent}
#                     (every other holder closed it)
#   --receive PREFIX  read every descriptor that comes with a reply (a terminal's
#                     master) until its end (EOF, or EIO once a pty has no slave left),
#                     appending what it gives to PREFIX.N as it comes (N: 0, 1, ... in
#                     the order they came), and print it at the end as
#                     {"received": N, "data": ...}; the client waits for those ends too
#   --max-replies N   stop after N replies (Subscribe never ends by itself)
#   --timeout SEC     give up after SEC seconds (default 60): exit status 2
#
# Descriptors are passed in the order the options give them; their index in that list
# is what Run's stdin/stdout/stderr name. Each reply is printed on a line of its own as
# {"parameters": ..., "continues": true|false} or {"error": NAME, "parameters": ...}.
# Exit status: 0 when the last reply is not an error, 1 when it is, 2 on a timeout or
# a protocol problem.
import json
import os
import select
import socket
import sys
import time


def out(obj):
    print(json.dumps(obj, sort_keys=True), flush=True)


def main(argv):
    more = False
    raw = None
    max_replies = None
    timeout = 60.0
    fds = []            # what is passed, in order
    pipes = []          # (name, read end) of --pipe
    strays = []         # (name, read end) of --stray
    receive = None      # --receive's PREFIX
    args = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == '--more':
            more = True
        elif a == '--raw':
            i += 1
            raw = argv[i]
        elif a == '--fd':
            i += 1
            flags = os.O_RDONLY if os.path.isdir(argv[i]) else os.O_RDWR
            fds.append(os.open(argv[i], flags | os.O_CLOEXEC))
        elif a in ('--pipe', '--stray'):
            i += 1
            r, w = os.pipe()
            fds.append(w)
            (pipes if a == '--pipe' else strays).append((argv[i], r))
        elif a == '--receive':
            i += 1
            receive = argv[i]
        elif a == '--max-replies':
            i += 1
            max_replies = int(argv[i])
        elif a == '--timeout':
            i += 1
            timeout = float(argv[i])
        else:
            args.append(a)
        i += 1
    if len(args) < 2:
        sys.stderr.write('usage: varlink-client.py [OPTIONS] SOCKET METHOD [PARAMETERS-JSON]\n')
        return 2
    path, method = args[0], args[1]
    params = json.loads(args[2]) if len(args) > 2 else {}

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    if raw is not None:
        message = raw.encode()
    else:
        call = {'method': method, 'parameters': params}
        if more:
            call['more'] = True
        message = json.dumps(call).encode()
    message += b'\0'
    if fds:
        socket.send_fds(sock, [message], fds)
    else:
        sock.sendall(message)
    sent = time.monotonic()
    # The service has its own copies now; ours would keep the pipes open.
    for fd in fds:
        os.close(fd)

    deadline = sent + timeout
    buf = b''
    data = {name: b'' for name, _ in pipes}
    open_pipes = dict((r, name) for name, r in pipes)
    open_strays = dict((r, name) for name, r in strays)
    received = []       # data of each received descriptor, by its number
    open_received = {}  # fd: its number, until its end
    replies = 0
    last_error = False
    done = False
    while not done or open_pipes or open_received:
        left = deadline - time.monotonic()
        if left <= 0:
            out({'timeout': timeout})
            return 2
        watch = list(open_pipes) + list(open_strays) + list(open_received) + ([] if done else [sock])
        ready, _, _ = select.select(watch, [], [], left)
        for fd in ready:
            if fd is sock:
                chunk, got, _, _ = socket.recv_fds(sock, 65536, 16)
                for r in got:
                    if receive is None:
                        os.close(r)
                        continue
                    open_received[r] = len(received)
                    received.append(b'')
                    open(f'{receive}.{open_received[r]}', 'wb').close()
                if not chunk:
                    out({'disconnected': True})
                    return 2
                buf += chunk
                while b'\0' in buf and not done:
                    text, buf = buf.split(b'\0', 1)
                    reply = json.loads(text)
                    replies += 1
                    if 'error' in reply:
                        out({'error': reply['error'], 'parameters': reply.get('parameters', {})})
                        last_error = True
                        done = True
                    else:
                        continues = bool(reply.get('continues'))
                        out({'parameters': reply.get('parameters', {}), 'continues': continues})
                        done = not continues
                    if max_replies is not None and replies >= max_replies:
                        done = True
            elif fd in open_received:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # EIO: a pty master whose slave is closed
                    chunk = b''
                n = open_received[fd]
                if chunk:
                    received[n] += chunk
                    with open(f'{receive}.{n}', 'ab') as f:
                        f.write(chunk)
                else:
                    os.close(fd)
                    del open_received[fd]
            elif fd in open_strays:
                if not os.read(fd, 4096):
                    out({'stray': open_strays.pop(fd), 'eof_after': round(time.monotonic() - sent, 3)})
                    os.close(fd)
            else:
                chunk = os.read(fd, 65536)
                if chunk:
                    data[open_pipes[fd]] += chunk
                else:
                    os.close(fd)
                    del open_pipes[fd]
    for name, _ in pipes:
        out({'pipe': name, 'data': data[name].decode(errors='replace')})
    for n, data_n in enumerate(received):
        out({'received': n, 'data': data_n.decode(errors='replace')})
    for fd, name in open_strays.items():
        out({'stray': name, 'eof_after': None})
    return 1 if last_error else 0


sys.exit(main(sys.argv[1:]))
