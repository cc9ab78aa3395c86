#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# varlink through the installed units and the user's real systemd: chrootd.socket,
# started with systemctl --user, listens on $XDG_RUNTIME_DIR/chrootd/org.chrootd.Manager
# and a varlink call starts chrootd.service; one instance serves both front ends (the
# D-Bus name belongs to the same MainPID, a session begun on one is seen on the
# other), also when D-Bus activation starts it while the socket is active; without
# the socket unit the service serves D-Bus alone. Commands run in their scopes under
# the user manager, and SetLimits over varlink reaches the slice. Start, its commands
# (WaitCommand, KillCommand, ResizeCommand, OpenTerminal, a terminal passed back as a
# descriptor) and CopyIn / CopyOut work over varlink as on D-Bus.
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

grep -qx '#define HAVE_VARLINK 1' "$CHROOTD_BUILD_ROOT/config.h" 2>/dev/null ||
        skip_all "chrootd was built without varlink (libsystemd $(pkg-config --modversion libsystemd 2>/dev/null) < 257)"
command -v varlinkctl >/dev/null || skip_all "varlinkctl is not installed (systemd >= 255)"
command -v python3 >/dev/null || skip_all "python3 is not installed"
require_user_manager

prefix=$(chrootd_prefix)
socket_unit=$(chrootd_user_unit_dir)/chrootd.socket
sock=$XDG_RUNTIME_DIR/chrootd/org.chrootd.Manager
client=(python3 "$CHROOTD_SOURCE_ROOT/tests/helpers/varlink-client.py")
id=vlsys-$$
work=$(mktemp -d)

cleanup() {
        rm -rf "$work"
        manager_call EndSession s "$id" >/dev/null 2>&1
        systemctl --user stop chrootd.socket 2>/dev/null
        chrootd_stop
}
trap cleanup EXIT

# vcall METHOD [JSON]: varlinkctl call on org.chrootd.Manager; sets OUT/ERR/RC.
vcall() {
        capture varlinkctl call "$sock" "org.chrootd.Manager.$1" "${2:-{\}}"
}
# pyj EXPR: EXPR over the JSON in $OUT (d: one object; L: one object a line).
pyj() {
        python3 -c '
import json, sys
text = sys.stdin.read()
L = [json.loads(l) for l in text.splitlines() if l.strip()]
try:
    d = json.loads(text)
except ValueError:
    d = None
print(eval(sys.argv[1]))' "$1" <<<"$OUT" 2>&1
}

# --- the installed socket unit ---
if [ -f "$socket_unit" ] && grep -qx 'ListenStream=%t/chrootd/org.chrootd.Manager' "$socket_unit" &&
   grep -qx 'FileDescriptorName=varlink' "$socket_unit"; then
        ok "socket unit installed: $socket_unit"
else
        not_ok "socket unit installed: $socket_unit" "$(ls -l "$socket_unit" 2>&1; cat "$socket_unit" 2>&1)"
fi
[ "$(systemctl --user show -p LoadState --value chrootd.socket)" = loaded ] || systemctl --user daemon-reload
assert_eq "loaded|$socket_unit|chrootd.service" \
        "$(unit_prop chrootd.socket LoadState)|$(unit_prop chrootd.socket FragmentPath)|$(unit_prop chrootd.socket Triggers)" \
        "the user manager loads chrootd.socket from the installed file; it triggers chrootd.service"

# --- socket activation ---
# A service already running was started without the socket: stop it first.
chrootd_stop
check "systemctl --user start chrootd.socket" systemctl --user start chrootd.socket
assert_eq "socket 600" "$(stat -c '%F %a' "$sock" 2>&1)" \
        "it listens on \$XDG_RUNTIME_DIR/chrootd/org.chrootd.Manager, mode 0600"
assert_match '^(inactive|failed)$' "$(chrootd_state)" "chrootd.service is not running before the first call"
vcall ListSessions
assert_eq "0" "$RC" "a varlink call on the socket succeeds" || diag "$ERR"
if wait_until 10 test "$(chrootd_state)" = active; then
        ok "the call started chrootd.service"
else
        not_ok "the call started chrootd.service" "ActiveState=$(chrootd_state)" \
                "$(systemctl --user status --no-pager chrootd.service chrootd.socket 2>&1)"
fi
pid=$(main_pid)
capture busctl --user call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
        GetConnectionUnixProcessID s org.chrootd1
assert_eq "u $pid" "$OUT" "the same instance has the D-Bus name (MainPID $pid)"

contract=$(grep -v '^# SPDX-License-Identifier:' "$CHROOTD_SOURCE_ROOT/interfaces/org.chrootd.Manager.varlink")
capture env SYSTEMD_COLORS=0 varlinkctl introspect "$sock" org.chrootd.Manager
if [ "$RC" -eq 0 ] && [ "$OUT" = "$contract" ]; then
        ok "the installed service's interface is interfaces/org.chrootd.Manager.varlink"
else
        not_ok "the installed service's interface is interfaces/org.chrootd.Manager.varlink" "exit status $RC $ERR" \
                "$(diff -u <(printf '%s\n' "$contract") <(printf '%s\n' "$OUT") | tail -n +3)"
fi

# --- one core, two front ends ---
if ! install_test_chroot vlsys-busybox tar.gz; then
        skip_all "cannot make the test chroot (busybox-static?)"
fi
vcall BeginSession "{\"chroot\":\"vlsys-busybox\",\"name\":\"$id\"}"
assert_eq "0|{\"id\":\"$id\"}" "$RC|$OUT" "BeginSession over varlink" || diag "$ERR"
capture manager_call GetSession s "$id"
assert_eq "0" "$RC" "  the session is there over D-Bus too" || diag "$ERR"
path=${OUT#o \"}
path=${path%\"}

capture "${client[@]}" --more --fd /dev/null --pipe out --pipe err "$sock" org.chrootd.Manager.Run \
        "{\"id\":\"$id\",\"argv\":[\"echo\",\"hi\"],\"stdin\":0,\"stdout\":1,\"stderr\":2}"
assert_eq "0|True|exited|0|hi" \
        "$RC|$(pyj 'str(L[0]["continues"]) + "|" + L[1]["parameters"]["result"] + "|" + str(L[1]["parameters"]["value"]) + "|" + L[2]["data"].strip()')" \
        "Run echo over varlink, stdio passed: continues, then exited 0, and its output" || diag "$OUT" "$ERR"

slice=$(printf 'chrootd-%s.slice' "$(esc "$id")")
"${client[@]}" --more --timeout 60 "$sock" org.chrootd.Manager.Run "{\"id\":\"$id\",\"argv\":[\"sleep\",\"60\"]}" \
        >"$XDG_RUNTIME_DIR/vlsys-$$.out" 2>&1 &
runner=$!
wait_until 20 grep -q '"continues": true' "$XDG_RUNTIME_DIR/vlsys-$$.out"
OUT=$(cat "$XDG_RUNTIME_DIR/vlsys-$$.out")
unit=$(pyj 'L[0]["parameters"].get("unit", "")')
if [[ $unit == *.scope ]] && [ "$(unit_prop "$unit" ActiveState)|$(unit_prop "$unit" Slice)" = "active|$slice" ]; then
        ok "the continues reply names the command's scope, active in the session's slice ($unit)"
else
        not_ok "the continues reply names the command's scope, active in the session's slice" "$OUT" \
                "ActiveState=$(unit_prop "$unit" ActiveState) Slice=$(unit_prop "$unit" Slice), want $slice"
fi
vcall Kill "{\"id\":\"$id\",\"signal\":9}"
wait "$runner"
OUT=$(cat "$XDG_RUNTIME_DIR/vlsys-$$.out")
rm -f "$XDG_RUNTIME_DIR/vlsys-$$.out"
assert_eq "killed|9" "$(pyj 'L[-1]["parameters"]["result"] + "|" + str(L[-1]["parameters"]["value"])')" \
        "Kill over varlink: the Run ends killed by 9"

capture varlinkctl call "$sock" org.chrootd.Manager.SetLimits "{\"id\":\"$id\",\"tasksMax\":64}"
assert_eq "0" "$RC" "SetLimits tasksMax 64 over varlink" || diag "$ERR"
capture busctl --user get-property org.chrootd1 "$path" org.chrootd1.Session TasksMax
assert_eq "t 64" "$OUT" "  D-Bus's TasksMax says 64"
assert_eq "64" "$(unit_prop "$slice" TasksMax)" "  and so does the slice"
vcall GetSession "{\"id\":\"$id\"}"
assert_eq "64|True" "$(pyj 'str(d["session"]["tasksMax"]) + "|" + str(d["session"]["slice"].startswith("chrootd-"))')" \
        "  and varlink's GetSession"
# --- Start and its commands ---
# start [CLIENT-OPTIONS...] JSON: Start through the python client; sets OUT/ERR/RC.
start() {
        local params=${*: -1}
        capture "${client[@]}" "${@:1:$#-1}" "$sock" org.chrootd.Manager.Start "$params"
}
# cmd_call METHOD COMMAND [MORE-JSON]: METHOD on command COMMAND of the session.
cmd_call() {
        vcall "$1" "{\"id\":\"$id\",\"command\":${2:-0}${3:+,$3}}"
}

start "{\"id\":\"$id\",\"argv\":[\"sh\",\"-c\",\"exit 5\"]}"
cmd=$(pyj 'L[0]["parameters"]["command"]')
assert_match '^0\|[1-9][0-9]*\|True\|False$' "$RC|$cmd|$(pyj 'L[0]["parameters"]["pid"] > 0')|$(pyj 'L[0]["continues"]')" \
        "Start without more: one reply, with the command's number and its pid" || diag "$OUT" "$ERR"
cmd_call WaitCommand "$cmd"
assert_eq "0|exited|5" "$RC|$(pyj 'd["result"] + "|" + str(d["value"])')" "  WaitCommand then: exited 5" ||
        diag "$OUT" "$ERR"
cmd_call WaitCommand "$cmd"
assert_contains "org.chrootd.Manager.NoSuchCommand" "$ERR" "  a second WaitCommand: NoSuchCommand (its result was read)"
cmd_call WaitCommand 999999
assert_contains "org.chrootd.Manager.NoSuchCommand" "$ERR" "WaitCommand of a number no command has: NoSuchCommand"

start --more "{\"id\":\"$id\",\"argv\":[\"sh\",\"-c\",\"exit 3\"]}"
assert_eq "0|True|True|exited|3|False" \
        "$RC|$(pyj 'str(L[0]["continues"]) + "|" + str(L[0]["parameters"]["command"] > 0) + "|" + L[1]["parameters"]["result"] + "|" + str(L[1]["parameters"]["value"]) + "|" + str(L[1]["continues"])')" \
        "Start with more: the start (continues, with the command), then exited 3" || diag "$OUT" "$ERR"
cmd_call WaitCommand "$(pyj 'L[0]["parameters"]["command"]')"
assert_contains "org.chrootd.Manager.NoSuchCommand" "$ERR" "  its result was read by that last reply"

start "{\"id\":\"$id\",\"argv\":[\"sleep\",\"100\"]}"
cmd=$(pyj 'L[0]["parameters"]["command"]')
cmd_call KillCommand "$cmd" '"signal":19'
assert_contains "org.chrootd.Manager.InvalidArgument" "$ERR" "KillCommand with SIGSTOP: InvalidArgument"
cmd_call KillCommand "$cmd" '"signal":15'
assert_eq "0" "$RC" "KillCommand 15 of a sleeping command" || diag "$ERR"
cmd_call WaitCommand "$cmd"
assert_eq "0|killed|15" "$RC|$(pyj 'd["result"] + "|" + str(d["value"])')" "  WaitCommand: killed 15" ||
        diag "$OUT" "$ERR"

start "{\"id\":\"$id\",\"argv\":[\"true\"],\"ptyRows\":3}"
assert_eq "org.chrootd.Manager.InvalidArgument" "$(pyj 'L[0]["error"]')" "Start with ptyRows but no pty: InvalidArgument"
start "{\"id\":\"$id\",\"argv\":[\"true\"],\"pty\":true,\"ptyRows\":65536}"
assert_eq "org.chrootd.Manager.InvalidArgument" "$(pyj 'L[0]["error"]')" "Start with ptyRows 65536: InvalidArgument"

# A terminal: Start's own descriptor of it reads what stty says, the size asked for,
# and again after ResizeCommand (the command polls until its size changes).
rx=$work/term
script="stty size; while [ \\\"\$(stty size)\\\" = '12 34' ]; do sleep 0.2; done; stty size; exit 7"
"${client[@]}" --more --receive "$rx" "$sock" org.chrootd.Manager.Start \
        "{\"id\":\"$id\",\"pty\":true,\"ptyRows\":12,\"ptyColumns\":34,\"argv\":[\"sh\",\"-c\",\"$script\"]}" \
        >"$rx.out" 2>&1 &
runner=$!
if wait_until 20 grep -q '12 34' "$rx.0"; then
        ok "Start with pty: the terminal passed with the first reply reads 'stty size': 12 34"
else
        not_ok "Start with pty: the terminal passed with the first reply reads 'stty size': 12 34" \
                "$(cat "$rx.out" "$rx.0" 2>&1)"
fi
OUT=$(cat "$rx.out")
assert_eq "0" "$(pyj 'L[0]["parameters"]["terminal"]')" "  the first reply names it: terminal 0"
cmd_call ResizeCommand "$(pyj 'L[0]["parameters"]["command"]')" '"rows":20,"columns":50'
assert_eq "0" "$RC" "  ResizeCommand 20x50" || diag "$ERR"
wait "$runner"
OUT=$(cat "$rx.out")
assert_eq "12 34 20 50|exited|7" \
        "$(pyj '" ".join([x["data"] for x in L if "received" in x][0].split()) + "|" + [x for x in L if "parameters" in x][-1]["parameters"]["result"] + "|" + str([x for x in L if "parameters" in x][-1]["parameters"]["value"])')" \
        "  it then reads the new size, and the last reply is exited 7" || diag "$OUT"

start "{\"id\":\"$id\",\"pty\":true,\"ptyRows\":5,\"ptyColumns\":6,\"argv\":[\"stty\",\"size\"]}"
cmd=$(pyj 'L[0]["parameters"]["command"]')
capture "${client[@]}" --receive "$work/open" "$sock" org.chrootd.Manager.OpenTerminal "{\"id\":\"$id\",\"command\":$cmd}"
assert_eq "0|0|5 6" "$RC|$(pyj 'L[0]["parameters"]["terminal"]')|$(pyj '[x["data"] for x in L if "received" in x][0].strip()')" \
        "OpenTerminal: a descriptor of the terminal's master, with what the command wrote (5 6)" || diag "$OUT" "$ERR"
cmd_call WaitCommand "$cmd"
assert_eq "0|exited|0" "$RC|$(pyj 'd["result"] + "|" + str(d["value"])')" "  WaitCommand: exited 0" || diag "$ERR"
start "{\"id\":\"$id\",\"argv\":[\"true\"]}"
cmd=$(pyj 'L[0]["parameters"]["command"]')
cmd_call OpenTerminal "$cmd"
assert_contains "org.chrootd.Manager.NotSupported" "$ERR" "OpenTerminal of a command without a terminal: NotSupported"
cmd_call ResizeCommand "$cmd" '"rows":1,"columns":1'
assert_contains "org.chrootd.Manager.NotSupported" "$ERR" "  and ResizeCommand"
cmd_call WaitCommand "$cmd"

# --- CopyIn and CopyOut ---
python3 - "$work/in.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT) as t:
    for name, mode, data in (('vlcopy', 0o750, None), ('vlcopy/hello.txt', 0o640, b'copied over varlink\n'),
                             ('vlcopy/sub', 0o700, None), ('vlcopy/sub/tool', 0o755, b'#!/bin/sh\necho tool\n')):
        i = tarfile.TarInfo(name)
        i.mode, i.mtime = mode, 1600000000
        if data is None:
            i.type = tarfile.DIRTYPE
            t.addfile(i)
        else:
            i.size = len(data)
            t.addfile(i, io.BytesIO(data))
PY
# tar_listing FILE: each member's name, type, mode and contents.
tar_listing() {
        python3 -c '
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    for m in sorted(t.getmembers(), key=lambda m: m.name):
        data = t.extractfile(m).read() if m.isfile() else b""
        print(m.name.rstrip("/"), m.type.decode(), oct(m.mode), data)' "$1" 2>&1
}
capture "${client[@]}" --fd "$work/in.tar" "$sock" org.chrootd.Manager.CopyIn "{\"id\":\"$id\",\"path\":\"/tmp\",\"tar\":0}"
assert_eq "0|{}|False" "$RC|$(pyj 'L[0]["parameters"]')|$(pyj 'L[0]["continues"]')" "CopyIn of a tar stream: {}" ||
        diag "$OUT" "$ERR"
capture "${client[@]}" --fd /dev/null --pipe out --pipe err "$sock" org.chrootd.Manager.Run \
        "{\"id\":\"$id\",\"argv\":[\"sh\",\"-c\",\"cat /tmp/vlcopy/hello.txt; stat -c %a /tmp/vlcopy/sub/tool\"],\"stdin\":0,\"stdout\":1,\"stderr\":2}"
assert_eq "copied over varlink
755" "$(pyj '[x["data"] for x in L if x.get("pipe") == "out"][0].strip()')" "  inside: the file's contents and the tool's mode" ||
        diag "$OUT"
: >"$work/out.tar"
capture "${client[@]}" --fd "$work/out.tar" "$sock" org.chrootd.Manager.CopyOut "{\"id\":\"$id\",\"path\":\"/tmp/vlcopy\",\"tar\":0}"
assert_eq "0|{}" "$RC|$(pyj 'L[0]["parameters"]')" "CopyOut of it: {}" || diag "$OUT" "$ERR"
listing=$(tar_listing "$work/in.tar")
if [ -n "$listing" ] && [ "$listing" = "$(tar_listing "$work/out.tar")" ]; then
        ok "  the stream out has the names, types, modes and contents that went in"
else
        not_ok "  the stream out has the names, types, modes and contents that went in" \
                "$(diff -u <(printf '%s\n' "$listing") <(tar_listing "$work/out.tar"))"
fi
capture "${client[@]}" --fd "$work/out.tar" "$sock" org.chrootd.Manager.CopyOut "{\"id\":\"$id\",\"path\":\"/no/such/vlcopy\",\"tar\":0}"
assert_eq "1|org.chrootd.Manager.NoSuchFile" "$RC|$(pyj 'L[0]["error"]')" "CopyOut of a missing path: NoSuchFile" ||
        diag "$OUT" "$ERR"
capture "${client[@]}" "$sock" org.chrootd.Manager.CopyIn "{\"id\":\"$id\",\"path\":\"/tmp\",\"tar\":0}"
assert_eq "org.chrootd.Manager.InvalidArgument" "$(pyj 'L[0]["error"]')" "CopyIn without a descriptor: InvalidArgument"

capture manager_call EndSession s "$id"
assert_eq "0" "$RC" "EndSession over D-Bus" || diag "$ERR"
vcall GetSession "{\"id\":\"$id\"}"
assert_contains "org.chrootd.Manager.NoSuchSession" "$ERR" "  varlink's GetSession says NoSuchSession then"

# --- D-Bus activation while the socket is active: the service gets it too ---
chrootd_stop
check "D-Bus activation with the socket active" manager_call ListChroots
pid=$(main_pid)
vcall ListSessions
assert_eq "0|$pid" "$RC|$(main_pid)" "  varlink is served by that same instance (MainPID $pid)" || diag "$ERR"

# --- without the socket unit: D-Bus alone ---
systemctl --user stop chrootd.socket
chrootd_stop
if [ ! -e "$sock" ]; then
        ok "stopping chrootd.socket removes the socket"
else
        not_ok "stopping chrootd.socket removes the socket" "$(ls -l "$sock")"
fi
check "D-Bus activation without the socket unit" manager_call ListChroots
vcall ListSessions
assert_eq "1|active" "$RC|$(chrootd_state)" "  the service runs, serving D-Bus alone: no varlink socket to call"

done_testing
