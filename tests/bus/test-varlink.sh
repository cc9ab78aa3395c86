#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The varlink front end (org.chrootd.Manager), without systemd: a private dbus-daemon
# for the service's D-Bus side, and the built service socket-activated by
# systemd-socket-activate on $XDG_RUNTIME_DIR/chrootd/org.chrootd.Manager, passed in as
# chrootd.socket passes it (a listening socket named "varlink"). Clients are the ones
# users have: varlinkctl (introspection, calls without descriptors) and a client in
# another language, tests/helpers/varlink-client.py (plain AF_UNIX and json, with
# socket.send_fds for Run's stdio). Checked: the live interface against
# interfaces/org.chrootd.Manager.varlink; errors as the core names them; Begin, Get,
# List, Run (stdio, continues, exit status, timeout, stray descriptors closed), Kill,
# End; Subscribe; a foreign uid refused; the service staying while a client is
# connected and exiting on idle after.
. "$(dirname "${BASH_SOURCE[0]}")/../system/tap.sh"

: "${CHROOTD_BINARY:?run by meson}"
grep -qx '#define HAVE_VARLINK 1' "$CHROOTD_BUILD_ROOT/config.h" 2>/dev/null ||
        skip_all "chrootd was built without varlink (libsystemd $(pkg-config --modversion libsystemd 2>/dev/null) < 257)"
command -v varlinkctl >/dev/null || skip_all "varlinkctl is not installed (systemd >= 255)"
command -v systemd-socket-activate >/dev/null || skip_all "systemd-socket-activate is not installed"
command -v dbus-daemon >/dev/null || skip_all "dbus-daemon is not installed"
command -v python3 >/dev/null || skip_all "python3 is not installed"

me=$(id -un)
subuid=$(awk -F: -v u="$me" -v id="$(id -u)" '($1 == u || $1 == id) && $3 >= 65536 { print $2; exit }' /etc/subuid)
subgid=$(awk -F: -v u="$me" -v id="$(id -u)" '($1 == u || $1 == id) && $3 >= 65536 { print $2; exit }' /etc/subgid)
have_ids=
[ -n "$subuid" ] && [ -n "$subgid" ] && command -v newuidmap >/dev/null && have_ids=1

tmp=$(mktemp -d)
chmod 755 "$tmp" # the foreign caller must reach the socket
pids=()
cleanup() {
        local p
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
        wait 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT

cat >"$tmp/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$tmp/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF
export DBUS_SESSION_BUS_ADDRESS=unix:path=$tmp/bus
export XDG_CACHE_HOME=$tmp/cache XDG_CONFIG_HOME=$tmp/config XDG_STATE_HOME=$tmp/state XDG_RUNTIME_DIR=$tmp/run
mkdir -p "$XDG_CACHE_HOME/sbuild" "$XDG_RUNTIME_DIR/chrootd"
chmod 755 "$XDG_RUNTIME_DIR" "$XDG_RUNTIME_DIR/chrootd"
rootfs=${CHROOTD_TEST_ROOTFS:-$tmp/rootfs}
if "$CHROOTD_SOURCE_ROOT/tests/make-rootfs.sh" "$rootfs" >/dev/null 2>&1; then
        cp "$rootfs/busybox.tar.gz" "$XDG_CACHE_HOME/sbuild/"
        have_rootfs=1
else
        tar -C "$tmp" -czf "$XDG_CACHE_HOME/sbuild/busybox.tar.gz" bus.conf
        have_rootfs=
fi

if unshare --map-current-user true 2>/dev/null; then
        unshare --map-current-user -- dbus-daemon --config-file="$tmp/bus.conf" --nofork >/dev/null 2>"$tmp/daemon.log" &
else
        dbus-daemon --config-file="$tmp/bus.conf" --nofork >/dev/null 2>"$tmp/daemon.log" &
fi
pids+=($!)
wait_until 10 test -S "$tmp/bus" || bail_out "dbus-daemon did not start: $(cat "$tmp/daemon.log")"

sock=$XDG_RUNTIME_DIR/chrootd/org.chrootd.Manager
client=("$CHROOTD_SOURCE_ROOT/tests/helpers/varlink-client.py")

# start_service [ARGS...]: listen on $sock as chrootd.socket does and start the built
# service on the first connection (systemd-socket-activate execs it then, in its own
# pid: $svc). It passes on only the environment it is told to.
start_service() {
        local v env=()
        for v in DBUS_SESSION_BUS_ADDRESS XDG_CACHE_HOME XDG_CONFIG_HOME XDG_STATE_HOME XDG_RUNTIME_DIR HOME PATH USER; do
                env+=(-E "$v")
        done
        rm -f "$sock"
        systemd-socket-activate -l "$sock" --fdname=varlink "${env[@]}" \
                "$CHROOTD_BINARY" "$@" 2>>"$tmp/chrootd.log" &
        svc=$!
        pids+=("$svc")
        wait_until 10 test -S "$sock" || return 1
        chmod 666 "$sock" # as for the bus: the foreign caller must be able to connect
}
# svc_exe: what $svc runs now.
svc_exe() {
        readlink "/proc/$svc/exe" 2>/dev/null
}

# vcall METHOD [JSON]: varlinkctl call on org.chrootd.Manager; sets OUT/ERR/RC.
vcall() {
        capture varlinkctl call "$sock" "org.chrootd.Manager.$1" "${2:-{\}}"
}
# pycall ARGS...: the python client; sets OUT/ERR/RC (OUT: a JSON object a line).
pycall() {
        capture python3 "${client[@]}" "$@"
}
# pyj EXPR: evaluate EXPR over the JSON in $OUT: d is the object (varlinkctl's one) or
# L the list of objects (the python client's, one a line).
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
# error_of: the error name varlinkctl reported (it says it on stderr).
error_of() {
        sed -n 's/^Method call .* failed: \([A-Za-z.]*\).*/\1/p' <<<"$ERR" | head -n 1
}

start_service --idle-timeout 0 || bail_out "systemd-socket-activate did not listen on $sock: $(cat "$tmp/chrootd.log")"

# --- activation and the contract ---
before=$(svc_exe)
vcall ListSessions
assert_eq "0|{\"sessions\":[]}" "$RC|$OUT" "ListSessions over varlink: no sessions" || diag "$ERR" "$(cat "$tmp/chrootd.log")"
if [ "$before" != "$(readlink -f "$CHROOTD_BINARY")" ] && [ "$(svc_exe)" = "$(readlink -f "$CHROOTD_BINARY")" ]; then
        ok "the first connection started chrootd (socket activation)"
else
        not_ok "the first connection started chrootd (socket activation)" "before: $before" "after: $(svc_exe)"
fi

contract=$(grep -v '^# SPDX-License-Identifier:' "$CHROOTD_SOURCE_ROOT/interfaces/org.chrootd.Manager.varlink")
capture env SYSTEMD_COLORS=0 varlinkctl introspect "$sock" org.chrootd.Manager
if [ "$RC" -eq 0 ] && [ -n "$contract" ] && [ "$OUT" = "$contract" ]; then
        ok "varlinkctl introspect matches interfaces/org.chrootd.Manager.varlink"
else
        not_ok "varlinkctl introspect matches interfaces/org.chrootd.Manager.varlink" "exit status $RC $ERR" \
                "diff (- contract, + live):" "$(diff -u <(printf '%s\n' "$contract") <(printf '%s\n' "$OUT") | tail -n +3)"
fi
capture varlinkctl call "$sock" org.varlink.service.GetInterfaceDescription '{"interface":"org.chrootd.Manager"}'
live=$(pyj 'd["description"]')
assert_eq "$contract" "$live" "GetInterfaceDescription is the contract, byte for byte" ||
        diag "$(diff -u <(printf '%s\n' "$contract") <(printf '%s\n' "$live") | tail -n +3)"
version=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["version"])' \
        "$CHROOTD_BUILD_ROOT/meson-info/intro-projectinfo.json" 2>/dev/null)
capture varlinkctl call "$sock" org.varlink.service.GetInfo '{}'
assert_eq "chrootd|$version|True" "$(pyj 'd["product"] + "|" + d["version"] + "|" + str("org.chrootd.Manager" in d["interfaces"])')" \
        "GetInfo: product chrootd, the project's version, interface org.chrootd.Manager"

# --- calls without descriptors, and the errors the core names ---
vcall ListChroots
assert_eq "busybox|file|['busybox-sbuild']|$XDG_CACHE_HOME/sbuild/busybox.tar.gz" \
        "$(pyj '"|".join(str(x) for x in [d["chroots"][0][k] for k in ("name", "type", "aliases", "path")])')" \
        "ListChroots lists the tarball in ~/.cache/sbuild with its alias"
vcall GetSession '{"id":"../x"}'
assert_eq "org.chrootd.Manager.InvalidName" "$(error_of)" "GetSession of a bad name: InvalidName" || diag "$OUT" "$ERR"
assert_contains "Invalid session name '../x'" "$OUT" "  the message says which name and why"
vcall GetSession '{"id":"nope"}'
assert_eq "org.chrootd.Manager.NoSuchSession" "$(error_of)" "GetSession of no session: NoSuchSession"
vcall BeginSession '{"chroot":"no-such-chroot"}'
assert_eq "org.chrootd.Manager.NoSuchChroot" "$(error_of)" "BeginSession of a missing chroot: NoSuchChroot" || diag "$OUT" "$ERR"
assert_contains "No chroot 'no-such-chroot'" "$OUT" "  the message names it"
vcall BeginSession '{"chroot":"a/b"}'
assert_eq "org.chrootd.Manager.InvalidName" "$(error_of)" "BeginSession of a bad chroot name: InvalidName"
vcall BeginSession '{"chroot":"busybox","name":"x y"}'
assert_eq "org.chrootd.Manager.InvalidName" "$(error_of)" "BeginSession with a bad session name: InvalidName"
for p in '"memoryMax":0' '"tasksMax":0' '"cpuWeight":0' '"cpuWeight":10001' '"unionType":"bogus"' \
        '"addLogin":true,"addAccounts":["a:b"]' '"network":"host"' '"boot":false,"network":"none"' \
        '"boot":true,"network":"bogus"' '"boot":true,"writeBack":true'; do
        vcall BeginSession "{\"chroot\":\"busybox\",\"name\":\"refused\",$p}"
        assert_eq "org.chrootd.Manager.InvalidArgument" "$(error_of)" "BeginSession with {$p}: InvalidArgument" ||
                diag "$OUT" "$ERR"
done
vcall BeginSession '{"chroot":"busybox","memoryMax":0}'
assert_contains "Option 'memory-max' out of range: 0" "$OUT" "  the core's message, naming the option as D-Bus does"
vcall BeginSession '{"chroot":"busybox","network":"host"}'
assert_contains "Option 'network' needs 'boot'" "$OUT" "  a network without boot: the core's message, as on D-Bus"
vcall BeginSession '{"chroot":"busybox","boot":true,"writeBack":true}'
assert_contains "A booted session cannot be written back" "$OUT" "  a booted session written back: the core's message"
vcall BeginSession '{"chroot":"busybox","bogus":1}'
assert_eq "org.varlink.service.InvalidParameter|bogus" "$(error_of)|$(pyj 'd["parameter"]')" \
        "an unknown parameter: the protocol's InvalidParameter, naming it"
vcall BeginSession '{"chroot":7}'
assert_eq "org.varlink.service.InvalidParameter|chroot" "$(error_of)|$(pyj 'd["parameter"]')" \
        "a parameter of the wrong type: InvalidParameter"
vcall Subscribe
assert_eq "org.varlink.service.ExpectedMore" "$(error_of)" "Subscribe without more: ExpectedMore"
pycall --raw '{"method":"org.chrootd.Manager.BeginSession","parameters":{"chroot":"busybox","name":"a","name":"b"}}' \
        "$sock" -
assert_eq "org.chrootd.Manager.InvalidArgument|Option 'name' is given twice" \
        "$(pyj 'L[0]["error"] + "|" + L[0]["parameters"]["message"]')" \
        "a key twice (raw JSON from python): InvalidArgument, as an option twice on D-Bus"
vcall ListSessions
assert_eq '{"sessions":[]}' "$OUT" "none of the refused Begins left a session"

# --- a foreign uid ---
if [ -z "$have_ids" ]; then
        skip "a foreign uid is refused with AccessDenied" "no subordinate ids for $me or no newuidmap: cannot become another uid"
        skip "introspection stays open to it" "as above"
else
        as_foreign=(unshare --map-users="$subuid,$subuid,1" --map-groups="$subgid,$subgid,1"
                --setuid "$subuid" --setgid "$subgid" --)
        capture "${as_foreign[@]}" varlinkctl call "$sock" org.chrootd.Manager.ListSessions '{}'
        assert_eq "org.chrootd.Manager.AccessDenied" "$(error_of)" "a foreign uid is refused with AccessDenied" ||
                diag "rc=$RC out=$OUT err=$ERR"
        assert_contains "serves only its own user, not uid $subuid" "$OUT" "  the refusal says why"
        capture "${as_foreign[@]}" env SYSTEMD_COLORS=0 varlinkctl introspect "$sock" org.chrootd.Manager
        assert_eq "0" "$RC" "introspection stays open to it, as on D-Bus" || diag "$ERR"
fi

# --- sessions, commands ---
if [ -z "$have_ids" ] || [ -z "$have_rootfs" ]; then
        skip_all "no subordinate ids, newuidmap or busybox-static: cannot make a session"
fi

# Subscribe first: it must see what follows.
python3 "${client[@]}" --more --max-replies 1000 --timeout 200 "$sock" org.chrootd.Manager.Subscribe '{}' \
        >"$tmp/events" 2>&1 &
subscriber=$!
pids+=("$subscriber")
wait_until 10 grep -q '"subscribed"' "$tmp/events"
assert_eq '[]' "$(OUT=$(head -n 1 "$tmp/events") pyj 'L[0]["parameters"]["sessions"]')" \
        "Subscribe's first reply: subscribed, with every session (none)"

vcall BeginSession '{"chroot":"busybox","name":"vl1"}'
assert_eq '0|{"id":"vl1"}' "$RC|$OUT" "BeginSession replies with the id once the session is ready" || diag "$ERR"
vcall BeginSession '{"chroot":"busybox","name":"vl1"}'
assert_eq "org.chrootd.Manager.SessionExists" "$(error_of)" "a second Begin of vl1: SessionExists"
vcall GetSession '{"id":"vl1"}'
assert_eq "vl1|busybox|ready|1.0|0|[]" \
        "$(pyj '"|".join(str(d["session"][k]) for k in ("id", "chroot", "state", "progress", "runningCommands", "commands"))')" \
        "GetSession: id, chroot, state ready, progress 1, no commands" || diag "$OUT"
vcall ListSessions
assert_eq "['vl1']" "$(pyj '[s["id"] for s in d["sessions"]]')" "ListSessions lists it"
assert_eq "False|False|False" \
        "$(pyj '"|".join(str(x) for x in (d["sessions"][0]["boot"], d["sessions"][0]["hostNetwork"], "bootState" in d["sessions"][0]))')" \
        "  not booted: boot and hostNetwork false, no bootState" || diag "$OUT"
vcall Reboot '{"id":"vl1"}'
assert_eq "org.chrootd.Manager.NotSupported" "$(error_of)" "Reboot of a session that is not booted: NotSupported" ||
        diag "$OUT" "$ERR"
vcall ReadConsoleLog '{"id":"vl1"}'
assert_eq "org.chrootd.Manager.NotSupported" "$(error_of)" "ReadConsoleLog of a session that is not booted: NotSupported" ||
        diag "$OUT" "$ERR"
vcall Reboot '{"id":"nope"}'
assert_eq "org.chrootd.Manager.NoSuchSession" "$(error_of)" "Reboot of no session: NoSuchSession"

pycall --more --fd /dev/null --pipe out --pipe err "$sock" org.chrootd.Manager.Run \
        '{"id":"vl1","argv":["echo","hello from varlink"],"stdin":0,"stdout":1,"stderr":2}'
assert_eq "0" "$RC" "Run echo with more, stdio passed as descriptors" || diag "$OUT" "$ERR"
assert_eq "True|True" "$(pyj 'str(L[0]["continues"]) + "|" + str(L[0]["parameters"]["pid"] > 0)')" \
        "  the first reply continues, with the init's pid, once the command runs"
assert_eq "False|exited|0" "$(pyj 'str(L[1]["continues"]) + "|" + L[1]["parameters"]["result"] + "|" + str(L[1]["parameters"]["value"])')" \
        "  then the last: exited 0"
assert_eq "hello from varlink
|" "$(pyj '[p["data"] for p in L if p.get("pipe") == "out"][0] + "|" + [p["data"] for p in L if p.get("pipe") == "err"][0]')" \
        "  its stdout came through the pipe, its stderr through the other"
pycall --pipe both "$sock" org.chrootd.Manager.Run '{"id":"vl1","argv":["sh","-c","echo to-err >&2; exit 3"],"stdout":0,"stderr":0}'
assert_eq "1|exited|3|to-err" \
        "$(pyj 'str(len([p for p in L if "continues" in p])) + "|" + L[0]["parameters"]["result"] + "|" + str(L[0]["parameters"]["value"]) + "|" + L[-1]["data"].strip()')" \
        "Run without more: one reply, a command exiting 3 gives exited 3; one descriptor for stdout and stderr"
pycall --pipe out --stray spare "$sock" org.chrootd.Manager.Run \
        '{"id":"vl1","argv":["sh","-c","ls /proc/self/fd; sleep 3"],"stdout":0}'
eof=$(pyj '[p["eof_after"] for p in L if "stray" in p][0]')
if [ "$RC" -eq 0 ] && python3 -c 'import sys; sys.exit(not (sys.argv[1] != "None" and float(sys.argv[1]) < 2))' "$eof"; then
        ok "a descriptor the Run does not name is closed at once ($eof s), not kept while the command runs"
else
        not_ok "a descriptor the Run does not name is closed at once" "eof after: $eof" "$OUT" "$ERR"
fi
assert_eq "0 1 2 3" "$(pyj '" ".join([p["data"] for p in L if p.get("pipe") == "out"][0].split())')" \
        "  the command has only its stdin, stdout and stderr (and ls's own directory)"
pycall --pipe out "$sock" org.chrootd.Manager.Run '{"id":"vl1","argv":["true"],"stdout":5}'
assert_eq "org.chrootd.Manager.InvalidArgument" "$(pyj 'L[0]["error"]')" "Run naming a descriptor that did not come: InvalidArgument"
pycall --fd / "$sock" org.chrootd.Manager.Run '{"id":"vl1","argv":["true"],"stdin":0}'
assert_eq "org.chrootd.Manager.InvalidArgument" "$(pyj 'L[0]["error"]')" "Run with a directory for stdin: InvalidArgument"
assert_contains "a directory cannot be a command's standard stream" "$OUT" "  the core's message"
vcall Run '{"id":"vl1","argv":["true"],"network":"lan"}'
assert_eq "org.chrootd.Manager.InvalidArgument" "$(error_of)" "Run with network lan: InvalidArgument"
vcall Run '{"id":"vl1","argv":["true"],"user":"nosuchuser"}'
assert_eq "org.chrootd.Manager.NoSuchUser" "$(error_of)" "Run as a user the chroot does not have: NoSuchUser" || diag "$OUT" "$ERR"
vcall Run '{"id":"vl1","argv":["sleep","10"],"timeout":300000}'
assert_eq "timeout|9" "$(pyj 'd["result"] + "|" + str(d["value"])')" "Run with a timeout: timeout, 9 (varlinkctl, no descriptors)"
vcall Run '{"id":"vl1","argv":["sh","-c","[ \"$(readlink /proc/$$/fd/1)\" = /dev/null ] && [ \"$FOO\" = bar ]"],"setenv":["FOO=bar"]}'
assert_eq "exited|0" "$(pyj 'd["result"] + "|" + str(d["value"])')" "Run without descriptors: stdout is /dev/null; setenv is set" ||
        diag "$OUT" "$ERR"

python3 "${client[@]}" --more --timeout 60 "$sock" org.chrootd.Manager.Run '{"id":"vl1","argv":["sleep","30"]}' \
        >"$tmp/killed" 2>&1 &
runner=$!
pids+=("$runner")
wait_until 10 grep -q '"continues": true' "$tmp/killed"
vcall GetSession '{"id":"vl1"}'
assert_eq "1|['sleep', '30']" "$(pyj 'str(d["session"]["runningCommands"]) + "|" + str(d["session"]["commands"][0]["argv"])')" \
        "GetSession shows the running command"
vcall Kill '{"id":"vl1","signal":19}'
assert_eq "org.chrootd.Manager.InvalidArgument" "$(error_of)" "Kill with SIGSTOP: InvalidArgument"
vcall Kill '{"id":"vl1","signal":15}'
assert_eq "0" "$RC" "Kill with SIGTERM" || diag "$ERR"
wait "$runner"
assert_eq "killed|15" "$(OUT=$(cat "$tmp/killed") pyj 'L[-1]["parameters"]["result"] + "|" + str(L[-1]["parameters"]["value"])')" \
        "  the Run ends: killed by 15"
vcall SetLimits '{"id":"vl1"}'
assert_eq "org.chrootd.Manager.InvalidArgument" "$(error_of)" "SetLimits with no limit: InvalidArgument"
vcall SetLimits '{"id":"vl1","tasksMax":20}'
assert_eq "org.chrootd.Manager.NotSupported" "$(error_of)" "SetLimits without a user manager: NotSupported" || diag "$OUT" "$ERR"

vcall EndSession '{"id":"vl1"}'
assert_eq "0|{}" "$RC|$OUT" "EndSession replies once the session is gone" || diag "$ERR"
vcall GetSession '{"id":"vl1"}'
assert_eq "org.chrootd.Manager.NoSuchSession" "$(error_of)" "  GetSession says NoSuchSession then"
vcall CollectGarbage
assert_eq "0|1" "$RC|$(pyj 'len(d["removed"])')" "CollectGarbage removes the base the session used" || diag "$OUT" "$ERR"

wait_until 10 grep -q '"removed"' "$tmp/events"
events=$(OUT=$(cat "$tmp/events") pyj '" ".join(p["parameters"]["event"] + ":" + p["parameters"].get("session", {}).get("state", "") for p in L if p["parameters"].get("session", {}).get("id", "vl1") == "vl1" and p["parameters"]["event"] != "progress")')
assert_eq "subscribed: added:preparing state:ready state:ending removed:ending" "$events" \
        "Subscribe saw vl1 added, ready, ending and removed, in order" || diag "$(cat "$tmp/events")"

# Progress: a tarball of many files takes a while to unpack, long enough for the 0.5 s
# poll to see it part done at least once (one value strictly between 0 and 1 is the
# proof; any more must rise). How long depends on the machine: the tarball grows
# (6000, 24000, 96000 files) until its unpack takes 1.5 s, and that one is judged.
for dirs in 60 240 960; do
        name=vl-many-$dirs
        python3 - "$XDG_CACHE_HOME/sbuild/many.tar" "$dirs" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1], 'w') as t:
    for d in range(int(sys.argv[2])):
        ti = tarfile.TarInfo('d%d' % d)
        ti.type, ti.mode = tarfile.DIRTYPE, 0o755
        t.addfile(ti)
        for f in range(100):
            t.addfile(tarfile.TarInfo('d%d/f%d' % (d, f)))
PY
        # A full copy (unionType none): the unpack is the whole of its preparing.
        t0=$(date +%s%N)
        vcall BeginSession "{\"chroot\":\"many\",\"name\":\"$name\",\"unionType\":\"none\"}"
        took=$((($(date +%s%N) - t0) / 1000000))
        assert_eq "0|{\"id\":\"$name\"}" "$RC|$OUT" "BeginSession of a tarball of $((dirs * 101)) entries ($took ms)" ||
                diag "$ERR"
        vcall EndSession "{\"id\":\"$name\"}"
        [ "$took" -ge 1500 ] && break
done
removed() { # NAME: Subscribe has told of NAME's removal
        python3 -c '
import json, sys
sys.exit(not any(p.get("parameters", {}).get("event") == "removed" and
                 p["parameters"].get("session", {}).get("id") == sys.argv[2]
                 for p in (json.loads(l) for l in open(sys.argv[1]) if l.strip())))' "$tmp/events" "$1"
}
wait_until 10 removed "$name"
progress=$(OUT=$(cat "$tmp/events") pyj '" ".join("%s:%.2f" % (p["parameters"]["session"]["state"], p["parameters"]["session"]["progress"]) for p in L if p["parameters"]["event"] == "progress" and p["parameters"]["session"]["id"] == "'"$name"'")')
if python3 -c '
import sys
v = [(w.split(":")[0], float(w.split(":")[1])) for w in sys.argv[1].split()]
sys.exit(not (any(0 < p < 1 for s, p in v) and all(s == "preparing" and 0 <= p <= 1 for s, p in v)
              and all(a[1] < b[1] for a, b in zip(v, v[1:]))))' "$progress"; then
        ok "Subscribe told of the unpack's progress while it prepared ($name: $progress)"
else
        not_ok "Subscribe told of the unpack's progress while it prepared" "$name: progress events: $progress"
fi

# --- exit on idle, with a client connected ---
kill "$subscriber" 2>/dev/null
kill "$svc" 2>/dev/null
wait "$svc" 2>/dev/null
start_service --idle-timeout 2 || bail_out "systemd-socket-activate did not listen again: $(cat "$tmp/chrootd.log")"
python3 "${client[@]}" --more --max-replies 100 --timeout 30 "$sock" org.chrootd.Manager.Subscribe '{}' \
        >"$tmp/events2" 2>&1 &
subscriber=$!
pids+=("$subscriber")
wait_until 10 grep -q '"subscribed"' "$tmp/events2"
sleep 4
if kill -0 "$svc" 2>/dev/null; then
        ok "the service stays past its idle timeout while a varlink client is connected"
else
        not_ok "the service stays past its idle timeout while a varlink client is connected" "$(cat "$tmp/chrootd.log")"
fi
kill "$subscriber"
if wait_until 10 bash -c "! kill -0 $svc 2>/dev/null"; then
        ok "  and exits on idle once the client is gone"
else
        not_ok "  and exits on idle once the client is gone"
fi

done_testing
