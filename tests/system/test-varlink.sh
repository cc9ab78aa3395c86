#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# varlink through the installed units and the user's real systemd: chrootd.socket,
# started with systemctl --user, listens on $XDG_RUNTIME_DIR/chrootd/org.chrootd.Manager
# and a varlink call starts chrootd.service; one instance serves both front ends (the
# D-Bus name belongs to the same MainPID, a session begun on one is seen on the
# other), also when D-Bus activation starts it while the socket is active; without
# the socket unit the service serves D-Bus alone. Commands run in their scopes under
# the user manager, and SetLimits over varlink reaches the slice.
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

grep -qx '#define HAVE_VARLINK 1' "$CHROOTD_BUILD_ROOT/config.h" 2>/dev/null ||
        skip_all "chrootd was built without varlink (libsystemd $(pkg-config --modversion libsystemd 2>/dev/null) < 257)"
command -v varlinkctl >/dev/null || skip_all "varlinkctl is not installed (systemd >= 255)"
command -v python3 >/dev/null || skip_all "python3 is not installed"
require_user_manager

prefix=$(chrootd_prefix)
socket_unit=$prefix/share/systemd/user/chrootd.socket
sock=$XDG_RUNTIME_DIR/chrootd/org.chrootd.Manager
client=(python3 "$CHROOTD_SOURCE_ROOT/tests/helpers/varlink-client.py")
id=vlsys-$$

cleanup() {
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
