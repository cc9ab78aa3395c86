#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Refusals that need another identity or another /etc/subuid, tested without root on a
# private dbus-daemon (suite "bus": no systemd):
# - a caller whose uid is not the service's gets org.chrootd1.Error.AccessDenied;
# - a user without subordinate ids gets org.chrootd1.Error.NoSubordinateIds naming the
#   file to fix, and nothing is created.
# The foreign caller is a process whose kernel uid is the first of our subordinate uids
# (unshare --map-users, via newuidmap). dbus-daemon refuses uids it cannot look up in
# /etc/passwd, so it runs in a user namespace that maps only our own uid: there the
# foreign caller is "nobody", which exists. The service without subordinate ids runs in
# a user and mount namespace where /etc/subuid and /etc/subgid are empty files (bound
# there with busybox mount: util-linux mount refuses non-root uids even with the
# capability).
. "$(dirname "${BASH_SOURCE[0]}")/../system/tap.sh"

: "${CHROOTD_BINARY:?run by meson}"
command -v gdbus >/dev/null || skip_all "gdbus (libglib2.0-bin) is not installed"
command -v dbus-daemon >/dev/null || skip_all "dbus-daemon is not installed"
: "${CHROOTCTL_BINARY:?run by meson}"

me=$(id -un)
subuid=$(awk -F: -v u="$me" -v id="$(id -u)" '($1 == u || $1 == id) && $3 >= 65536 { print $2; exit }' /etc/subuid)
subgid=$(awk -F: -v u="$me" -v id="$(id -u)" '($1 == u || $1 == id) && $3 >= 65536 { print $2; exit }' /etc/subgid)

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
export XDG_CACHE_HOME=$tmp/cache XDG_CONFIG_HOME=$tmp/config XDG_STATE_HOME=$tmp/state
mkdir -p "$XDG_CACHE_HOME/sbuild"
if [ -n "${CHROOTD_TEST_ROOTFS:-}" ] && [ -f "$CHROOTD_TEST_ROOTFS/busybox.tar.gz" ]; then
        cp "$CHROOTD_TEST_ROOTFS/busybox.tar.gz" "$XDG_CACHE_HOME/sbuild/"
else
        tar -C "$tmp" -czf "$XDG_CACHE_HOME/sbuild/busybox.tar.gz" bus.conf
fi

if unshare --map-current-user true 2>/dev/null; then
        unshare --map-current-user -- dbus-daemon --config-file="$tmp/bus.conf" --nofork >/dev/null 2>"$tmp/daemon.log" &
else
        dbus-daemon --config-file="$tmp/bus.conf" --nofork >/dev/null 2>"$tmp/daemon.log" &
fi
pids+=($!)
wait_until 10 test -S "$tmp/bus" || bail_out "dbus-daemon did not start: $(cat "$tmp/daemon.log")"
chmod 666 "$tmp/bus"

# start_service [WRAPPER...]: the built service on the private bus; waits for its name.
start_service() {
        "$@" "$CHROOTD_BINARY" --idle-timeout 0 2>>"$tmp/chrootd.log" &
        svc=$!
        pids+=("$svc")
        wait_until 10 gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
                --method org.freedesktop.DBus.GetNameOwner org.chrootd1 >/dev/null 2>&1
}
stop_service() {
        kill "$svc" 2>/dev/null
        wait "$svc" 2>/dev/null
}

# gcall ARGS...: gdbus call on the manager; sets OUT/ERR/RC.
gcall() {
        capture gdbus call --session --dest org.chrootd1 --object-path /org/chrootd1 \
                --method "org.chrootd1.Manager.$1" "${@:2}"
}

# --- AccessDenied ---
if ! start_service; then
        bail_out "chrootd did not take its name: $(cat "$tmp/chrootd.log")"
fi
gcall ListSessions
assert_eq 0 "$RC" "the service's own user is served" || diag "$ERR"

if [ -z "$subuid" ] || [ -z "$subgid" ] || ! command -v newuidmap >/dev/null; then
        skip "a foreign uid is refused" "no subordinate ids for $me or no newuidmap: cannot become another uid"
        skip "the refusal says why" "as above"
        skip "properties are refused to a foreign uid too" "as above"
else
        capture unshare --map-users="$subuid,$subuid,1" --map-groups="$subgid,$subgid,1" \
                --setuid "$subuid" --setgid "$subgid" -- \
                gdbus call --session --dest org.chrootd1 --object-path /org/chrootd1 \
                --method org.chrootd1.Manager.ListSessions
        assert_contains "org.chrootd1.Error.AccessDenied" "$ERR" "a foreign uid is refused with AccessDenied" ||
                diag "rc=$RC out=$OUT err=$ERR"
        assert_contains "serves only its own user" "$ERR" "the refusal says why"
        capture unshare --map-users="$subuid,$subuid,1" --map-groups="$subgid,$subgid,1" \
                --setuid "$subuid" --setgid "$subgid" -- \
                gdbus call --session --dest org.chrootd1 --object-path /org/chrootd1 \
                --method org.freedesktop.DBus.Properties.Get org.chrootd1.Manager Version
        assert_contains "org.chrootd1.Error.AccessDenied" "$ERR" "properties are refused to a foreign uid too" ||
                diag "rc=$RC out=$OUT err=$ERR"
fi
stop_service

# --- NotSupported: limits need a systemd user manager, and this bus has none ---
# sessions_left: what is in the sessions directory, one name a line.
sessions_left() {
        find "$XDG_STATE_HOME/chrootd/sessions" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort
}
# scall PATH METHOD ARGS...: gdbus call on a session; sets OUT/ERR/RC.
scall() {
        capture gdbus call --session --dest org.chrootd1 --object-path "$1" --method "org.chrootd1.Session.$2" "${@:3}"
}
# sprop PATH PROP: a session property as gdbus prints it, e.g. "(<uint64 0>,)".
sprop() {
        gdbus call --session --dest org.chrootd1 --object-path "$1" \
                --method org.freedesktop.DBus.Properties.Get org.chrootd1.Session "$2" 2>&1
}
# not_supported_tests: Begin and SetLimits with limits fail with NotSupported, and the
# failed Begin leaves nothing; bad limits are InvalidArgument first.
not_supported_tests() {
        start_service || bail_out "chrootd did not take its name: $(cat "$tmp/chrootd.log")"
        for opt in "{'memory-max': <uint64 67108864>}" "{'tasks-max': <uint64 20>}" "{'cpu-weight': <uint64 100>}" \
                "{'memory-max': <uint64 67108864>, 'tasks-max': <uint64 20>, 'cpu-weight': <uint64 50>}"; do
                gcall BeginSession busybox lim-nosd "$opt"
                assert_contains "org.chrootd1.Error.NotSupported" "$ERR" "Begin with $opt and no user manager: NotSupported" ||
                        diag "rc=$RC out=$OUT err=$ERR"
                assert_eq "" "$(sessions_left)" "  the failed Begin left no session directory"
                gcall ListSessions
                assert_eq "(@a(ssso) [],)" "$OUT" "  and no session is listed"
                gcall GetSession lim-nosd
                assert_contains "org.chrootd1.Error.NoSuchSession" "$ERR" "  GetSession says NoSuchSession"
        done
        # Bad limits are refused before anything is made, with or without a user manager.
        for opt in "{'memory-max': <uint64 0>}" "{'tasks-max': <uint64 0>}" "{'cpu-weight': <uint64 0>}" \
                "{'cpu-weight': <uint64 10001>}" "{'memory-max': <'64M'>}" "{'tasks-max': <int32 20>}" \
                "{'no-such-option': <uint64 1>}" "{'MemoryMax': <uint64 67108864>}"; do
                gcall BeginSession busybox lim-nosd "$opt"
                assert_contains "org.chrootd1.Error.InvalidArgument" "$ERR" "Begin with $opt: InvalidArgument" ||
                        diag "rc=$RC out=$OUT err=$ERR"
        done
        assert_eq "" "$(sessions_left)" "no session directory after the refused Begins"

        # A session without limits works without a user manager; SetLimits on it does not.
        gcall BeginSession busybox lim-nosd "{}"
        assert_eq "('lim-nosd', objectpath '/org/chrootd1/session/lim_2dnosd')" "$OUT" \
                "Begin without limits succeeds without a user manager $ERR"
        spath=/org/chrootd1/session/lim_2dnosd
        assert_eq "(<uint64 0>,)|(<uint64 0>,)|(<uint64 0>,)" \
                "$(sprop $spath MemoryMax)|$(sprop $spath TasksMax)|$(sprop $spath CPUWeight)" \
                "its MemoryMax, TasksMax and CPUWeight are 0 (not set)"
        assert_eq "(<'chrootd-lim\\\\x2dnosd.slice'>,)" "$(sprop $spath Slice)" "its Slice is chrootd-lim\\x2dnosd.slice"
        scall $spath SetLimits "{'tasks-max': <uint64 20>}"
        assert_contains "org.chrootd1.Error.NotSupported" "$ERR" "SetLimits(tasks-max 20) without a user manager: NotSupported" ||
                diag "rc=$RC out=$OUT err=$ERR"
        scall $spath SetLimits "{'memory-max': <uint64 67108864>, 'cpu-weight': <uint64 200>}"
        assert_contains "org.chrootd1.Error.NotSupported" "$ERR" "SetLimits(memory-max, cpu-weight) without a user manager: NotSupported" ||
                diag "rc=$RC out=$OUT err=$ERR"
        assert_eq "(<uint64 0>,)|(<uint64 0>,)|(<uint64 0>,)" \
                "$(sprop $spath MemoryMax)|$(sprop $spath TasksMax)|$(sprop $spath CPUWeight)" \
                "after the failed SetLimits the properties are still 0"
        state=$(cat "$XDG_STATE_HOME/chrootd/sessions/lim-nosd/state" 2>&1)
        if [[ $state == *"Id=lim-nosd"* ]] && ! grep -qE '^(MemoryMax|TasksMax|CPUWeight)=' <<<"$state"; then
                ok "the state file has no limit"
        else
                not_ok "the state file has no limit" "$state"
        fi
        for opt in "{}" "{'tasks-max': <uint64 0>}" "{'cpu-weight': <uint64 10001>}" "{'memory-max': <'1G'>}" \
                "{'bogus': <uint64 1>}"; do
                scall $spath SetLimits "$opt"
                assert_contains "org.chrootd1.Error.InvalidArgument" "$ERR" "SetLimits($opt): InvalidArgument" ||
                        diag "rc=$RC out=$OUT err=$ERR"
        done
        scall $spath Run "['true']" "{}"
        assert_eq "('exited', 0)" "$OUT" "the session still runs commands $ERR"
        # Not a booted session: chrootctl info says so, reboot and log are refused by the
        # service (NotSupported), each in one line on stderr, exit status 1.
        capture "$CHROOTCTL_BINARY" info lim-nosd
        assert_eq "0|Boot: no|" "$RC|$(grep '^Boot:' <<<"$OUT")|$(grep -E '^(BootState|HostNetwork):' <<<"$OUT")" \
                "chrootctl info of a session that is not booted: Boot: no, no BootState" || diag "$OUT" "$ERR"
        for verb in reboot log; do
                capture "$CHROOTCTL_BINARY" $verb lim-nosd
                assert_eq "1||1" "$RC|$OUT|$(grep -c '' <<<"$ERR")" "chrootctl $verb of a session that is not booted fails" ||
                        diag "$ERR"
                assert_contains "Session 'lim-nosd' is not a booted session" "$ERR" "  and says why"
        done
        gcall EndSession lim-nosd
        assert_eq "0|" "$RC|$ERR" "EndSession lim-nosd"
        assert_eq "" "$(sessions_left)" "nothing is left after End"
        # Its cached base belongs to subordinate ids: only the service can remove it
        # (the cleanup's rm cannot), and does so in the background.
        gcall CollectGarbage
        wait_until 20 bash -c '[ -z "$(ls -A "$0" 2>/dev/null)" ]' "$XDG_CACHE_HOME/chrootd/bases"
        assert_eq "0|" "$RC|$(ls -A "$XDG_CACHE_HOME/chrootd/bases" 2>/dev/null)" "CollectGarbage removes the base it used" ||
                diag "$OUT" "$ERR"
        stop_service
}
if [ -z "$subuid" ] || [ -z "$subgid" ] || ! command -v newuidmap >/dev/null; then
        skip "limits without a user manager: NotSupported" \
                "no subordinate ids for $me or no newuidmap: cannot make a session"
else
        not_supported_tests
fi

# --- chrootctl's usage errors for booted sessions: exit 2, before any call ---
for args in "begin --network host busybox" "begin --network=none busybox" "begin --boot --network=bogus busybox" \
        "run --boot s1 true" "reboot" "reboot s1 s2" "log" "log --boot s1"; do
        # shellcheck disable=SC2086 # the words are the arguments
        capture "$CHROOTCTL_BINARY" $args
        assert_eq "2||1" "$RC|$OUT|$(grep -c '' <<<"$ERR")" "chrootctl $args: a usage error (exit 2, one line)" ||
                diag "$ERR"
done
capture "$CHROOTCTL_BINARY" begin --network host busybox
assert_contains "'--network' with 'begin' needs '--boot'" "$ERR" "  begin --network without --boot says so"
capture "$CHROOTCTL_BINARY" --help
assert_contains "reboot SESSION" "$OUT" "chrootctl --help lists reboot"
assert_contains "log SESSION" "$OUT" "  and log"
assert_contains "--boot" "$OUT" "  and begin's --boot"

# --- NoSubordinateIds ---
if ! unshare --map-current-user --keep-caps --mount true 2>/dev/null; then
        skip "a user without subordinate ids gets NoSubordinateIds" "unprivileged user and mount namespaces are not available"
        skip "the error names /etc/subuid" "as above"
        skip "nothing is created" "as above"
else
        : >"$tmp/empty"
        start_service unshare --map-current-user --keep-caps --mount -- sh -c \
                'busybox mount -o bind "$0" /etc/subuid && busybox mount -o bind "$0" /etc/subgid && exec "$@"' "$tmp/empty" ||
                bail_out "chrootd without subordinate ids did not start: $(cat "$tmp/chrootd.log")"
        gcall BeginSession busybox "" "{}"
        assert_contains "org.chrootd1.Error.NoSubordinateIds" "$ERR" "a user without subordinate ids gets NoSubordinateIds" ||
                diag "rc=$RC out=$OUT err=$ERR"
        assert_contains "/etc/subuid" "$ERR" "the error names the file to fix"
        left=$(find "$XDG_STATE_HOME/chrootd/sessions" -mindepth 1 2>/dev/null)
        assert_eq "" "$left" "nothing is created"
        gcall ListSessions
        assert_eq "(@a(ssso) [],)" "$OUT" "no session is listed"
        stop_service
fi

done_testing
