#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# peer-uid.py unix NAME | tcp PORT: listen on the abstract unix socket @NAME or on
# 127.0.0.1:PORT, print "ready", then for the first connection (20 s at most) print
# the uid the host sees for its peer: SO_PEERCRED for unix sockets, and for TCP the
# owner of the peer's socket in /proc/net/tcp (what an identd or a port-owner check
# would trust). This is what a host service would take a session's command for.
import socket
import struct
import sys


def tcp_owner(port):
    with open('/proc/net/tcp') as f:
        next(f)
        for line in f:
            fields = line.split()
            local = fields[1]
            if int(local.split(':')[1], 16) == port:
                return int(fields[7])
    return -1


def main():
    kind, where = sys.argv[1], sys.argv[2]
    if kind == 'unix':
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind('\0' + where)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(('127.0.0.1', int(where)))
    s.listen(1)
    s.settimeout(20)
    print('ready', flush=True)
    c, addr = s.accept()
    c.settimeout(5)
    c.recv(64)
    if kind == 'unix':
        pid, uid, gid = struct.unpack('3i', c.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    else:
        uid = tcp_owner(addr[1])
    print(uid, flush=True)
    c.close()


main()
