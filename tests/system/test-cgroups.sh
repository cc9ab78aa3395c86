#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Delegated cgroups: every Run in a transient scope of its own (Delegate=yes) inside a
# slice per session, both gone when they are done; Session.Kill signals every process
# of every running command; Run's "timeout" option; and no unit of a session left once
# it is ended after the service was killed in the middle of a Run.
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

require_user_manager

require_subids
install_test_chroot cg tar.zst || bail_out "could not install the test chroot"

S=cg-test
S9=cg-kill9
SB=cg-big-preparing
sbuild=${XDG_CACHE_HOME:-$HOME/.cache}/sbuild
tmp=$(mktemp -d)
bg_pids=()

cleanup() {
        local p
        exec 3>&- 4>&- 5>&- 2>/dev/null
        for p in "${bg_pids[@]}"; do
                kill "$p" 2>/dev/null
        done
        chrootctl end "$S" >/dev/null 2>&1
        chrootctl end "$S9" >/dev/null 2>&1
        chrootctl end "$SB" >/dev/null 2>&1
        systemctl --user reset-failed chrootd.service 2>/dev/null
        rm -rf "$tmp" "$sbuild/cg-big.tar"
}
trap cleanup EXIT

# cgroup_of PID: the cgroup v2 path of PID.
cgroup_of() {
        sed -n 's/^0:://p' "/proc/$1/cgroup" 2>/dev/null
}

# no_subid_processes: whether nothing runs as a subordinate id (after waiting up to 5 s).
no_subid_processes() {
        wait_until 5 eval '[ -z "$(subid_processes)" ]'
}

# busctl_run OPTIONS_COUNT OPTIONS... -- ARGV...: Session.Run through busctl, printing
# the reply, e.g. 'si "exited" 0'.
busctl_run_opts() {
        local n=$1 opts=()
        shift
        while [ "$1" != "--" ]; do
                opts+=("$1")
                shift
        done
        shift
        busctl --user --timeout=120 call -- org.chrootd1 "$path" org.chrootd1.Session Run \
                'asa{sv}' "$#" "$@" "$n" "${opts[@]}"
}

e=$(esc "$S")
assert_eq 'cg\x2dtest' "$e" "the session id $S escapes to cg\\x2dtest"
slice="chrootd-$e.slice"

capture chrootctl begin -n "$S" cg
[ "$RC" -eq 0 ] || bail_out "could not begin a session: $ERR"
path=$(session_path "$S")

# =============== 1. a scope per Run, in a slice per session ===============
mkfifo "$tmp/fifo-a" "$tmp/fifo-b"
chrootctl run "$S" -- sh -c 'sleep 1000 & read x; exit 0' cg-marker-a <"$tmp/fifo-a" >"$tmp/a.out" 2>&1 &
run_a=$!
bg_pids+=("$run_a")
exec 3>"$tmp/fifo-a"
chrootctl run "$S" -- sh -c 'read x; exit 0' cg-marker-b <"$tmp/fifo-b" >"$tmp/b.out" 2>&1 &
run_b=$!
bg_pids+=("$run_b")
exec 4>"$tmp/fifo-b"

if wait_until 10 eval '[ -n "$(host_pid cg-marker-a)" ] && [ -n "$(host_pid cg-marker-b)" ] && [ -n "$(host_pid "sleep 1000")" ]'; then
        ok "two commands run side by side"
else
        not_ok "two commands run side by side" "$(subid_processes)" "$(cat "$tmp/a.out" "$tmp/b.out")"
fi
pid_a=$(host_pid cg-marker-a) pid_b=$(host_pid cg-marker-b) pid_sleep=$(host_pid "sleep 1000")
# The command is forked by its init, whose host pid names the scope.
init_a=$(ps -o ppid= -p "${pid_a:-0}" 2>/dev/null | tr -d ' ')
init_b=$(ps -o ppid= -p "${pid_b:-0}" 2>/dev/null | tr -d ' ')
scope_a="chrootd-run-$e-$init_a.scope"
scope_b="chrootd-run-$e-$init_b.scope"
note "command a: pid $pid_a, init $init_a; command b: pid $pid_b, init $init_b"

cg_a=$(cgroup_of "${pid_a:-0}")
assert_match "/chrootd\\.slice/chrootd-cg\\\\x2dtest\\.slice/chrootd-run-cg\\\\x2dtest-$init_a\\.scope\$" "$cg_a" \
        "the command's cgroup is .../chrootd.slice/$slice/$scope_a"
assert_eq "$cg_a" "$(cgroup_of "${pid_sleep:-0}")" "what the command started (sleep 1000 &) is in the same cgroup"
assert_eq "$cg_a" "$(cgroup_of "${init_a:-0}")" "the command's init is in the same cgroup"
cg_b=$(cgroup_of "${pid_b:-0}")
assert_match "/chrootd\\.slice/chrootd-cg\\\\x2dtest\\.slice/chrootd-run-cg\\\\x2dtest-$init_b\\.scope\$" "$cg_b" \
        "the second command's cgroup is .../$slice/$scope_b"
if [ -n "$cg_a" ] && [ "$cg_a" != "$cg_b" ] && [ "$scope_a" != "$scope_b" ]; then
        ok "concurrent Runs get distinct scopes"
else
        not_ok "concurrent Runs get distinct scopes" "a: $cg_a" "b: $cg_b"
fi

listed=$(command_units_of "$S")
assert_eq "$(printf '%s\n' "$scope_a" "$scope_b" "$slice" | sort)" "$listed" \
        "list-units --all 'chrootd*' shows the session's slice and both commands' scopes"
# Once a command has its init, the next one's waits in a scope of its own.
wait_until 5 eval '[ -n "$(spare_units_of "$S")" ]'
spare=$(spare_units_of "$S")
assert_eq 1 "$(printf '%s\n' "$spare" | grep -c '\.scope$')" "one spare init waits in a scope: $spare"
assert_match "^chrootd-run-cg\\\\x2dtest-[0-9]+\\.scope\$" "$spare" "named like a command's scope, after its init"
assert_eq "$slice|yes" "$(unit_prop "$spare" Slice)|$(unit_prop "$spare" Delegate)" "in the session's slice, delegated"
assert_eq "" "$(printf '%s\n' "$scope_a" "$scope_b" | grep -xF -- "$spare")" "it is neither command's scope"
# The next command runs in that init and scope, which then names the command.
mkfifo "$tmp/fifo-c"
chrootctl run "$S" -- sh -c 'read x; exit 0' cg-marker-c <"$tmp/fifo-c" >"$tmp/c.out" 2>&1 &
run_c=$!
bg_pids+=("$run_c")
exec 5>"$tmp/fifo-c"
wait_until 10 eval '[ -n "$(host_pid cg-marker-c)" ]'
init_c=$(ps -o ppid= -p "$(host_pid cg-marker-c)" 2>/dev/null | tr -d ' ')
assert_eq "$spare" "chrootd-run-$e-$init_c.scope" "the next command's init is the spare, in its scope"
assert_eq "chrootd session $S: sh -c read x; exit 0 cg-marker-c" "$(unit_prop "$spare" Description)" \
        "whose Description now names the command"
echo go >&5
exec 5>&-
wait "$run_c"
assert_eq "0" "$?" "that command ends"
assert_eq "yes|inactive-or-failed|$slice" \
        "$(unit_prop "$scope_a" Delegate)|$(unit_prop "$scope_a" CollectMode)|$(unit_prop "$scope_a" Slice)" \
        "the scope has Delegate=yes, CollectMode=inactive-or-failed, Slice=$slice"
assert_eq "chrootd session $S: sh -c sleep 1000 & read x; exit 0 cg-marker-a" "$(unit_prop "$scope_a" Description)" \
        "the scope's Description is 'chrootd session ID: ARGV'"
assert_eq "chrootd session $S: sh -c read x; exit 0 cg-marker-b" "$(unit_prop "$scope_b" Description)" \
        "the second scope's Description has its own argv"
assert_eq "active|running" "$(unit_prop "$scope_a" ActiveState)|$(unit_prop "$scope_a" SubState)" \
        "the scope is active (running)"
assert_eq "chrootd.slice" "$(unit_prop "$slice" Slice)" "the session's slice is a child of chrootd.slice"
capture systemd-cgls --user --no-pager
if [ "$RC" -eq 0 ]; then
        assert_contains "$scope_a" "$OUT" "systemd-cgls --user shows the scope"
else
        skip "systemd-cgls --user shows the scope" "systemd-cgls --user failed: $ERR"
fi

# End a: its scope goes, b's stays.
echo go >&3
exec 3>&-
wait "$run_a"
assert_eq "0" "$?" "the first command ends"
if wait_until 5 eval '! unit_listed "$scope_a"'; then
        ok "after its Run returned, the first scope is gone"
else
        not_ok "after its Run returned, the first scope is gone" "$(units_of "$S")" \
                "$(systemctl --user status --no-pager "$scope_a" 2>&1 | head -n 10)"
fi
assert_eq "" "$(subid_processes | grep 'sleep 1000')" "what the first command left behind is gone"
if unit_listed "$scope_b" && unit_listed "$slice"; then
        ok "the second scope and the slice are still there while it runs"
else
        not_ok "the second scope and the slice are still there while it runs" "$(units_of "$S")"
fi
echo go >&4
exec 4>&-
wait "$run_b"
assert_eq "0" "$?" "the second command ends"
if wait_until 5 eval '! unit_listed "$scope_b"'; then
        ok "after its Run returned, the second scope is gone"
else
        not_ok "after its Run returned, the second scope is gone" "$(units_of "$S")"
fi

# A quick command's scope is gone too.
capture chrootctl run "$S" -- true
assert_eq 0 "$RC" "a quick command runs $ERR"
if wait_until 5 eval '[ -z "$(command_units_of "$S" | grep "\.scope$")" ]'; then
        ok "no command's scope is left after the Runs"
else
        not_ok "no command's scope is left after the Runs" "$(units_of "$S")"
fi
# The session's leader and spare init go 5 s after its last command.
if wait_until 10 eval '[ -z "$(units_of "$S" | grep "\.scope$")" ]'; then
        ok "once the session is idle, the spare's scope is gone too"
else
        not_ok "once the session is idle, the spare's scope is gone too" "$(units_of "$S")"
fi

# Inside, the command's cgroup namespace has its scope as root: no host paths.
capture chrootctl run "$S" -- cat /proc/self/cgroup
assert_eq "0|" "$RC|$(awk -F: '$3 != "/"' <<<"$OUT")" "inside, /proc/self/cgroup shows / for every hierarchy: $(paste -sd' ' <<<"$OUT")"

# =============== 2. Session.Kill ===============
for sig in 0 65 -1 19; do
        assert_bus_error org.chrootd1.Error.InvalidArgument "Kill($sig): InvalidArgument" \
                "$path" org.chrootd1.Session.Kill "$sig"
done
if have_gdbus; then
        bus_error "$path" org.chrootd1.Session.Kill 15
        assert_eq none "$BUS_ERROR" "Kill(15) with no command running succeeds $ERR"
else
        skip "Kill(15) with no command running succeeds" "no gdbus"
fi
capture chrootctl kill "$S"
assert_eq "0|" "$RC|$ERR" "chrootctl kill with no command running succeeds"

# Kill(15) reaches the command (a shell trapping TERM) and what it started; another
# command (a shell waiting for two sleeps) is killed by it; one Kill for both.
bg_run "$tmp/k1.out" "$tmp/k1.err" run "$S" -- sh -c 'trap "echo got-term; exit 42" TERM; sleep 100 & wait' cg-trap
k1=$BG
bg_run "$tmp/k2.out" "$tmp/k2.err" run "$S" -- sh -c 'sleep 100 & sleep 100 & wait' cg-two
k2=$BG
if wait_until 10 eval '[ "$(subid_processes | awk "\$3 == \"sleep\" && \$4 == 100 && NF == 4" | wc -l)" -eq 3 ]'; then
        ok "two commands with three sleeps run"
else
        not_ok "two commands with three sleeps run" "$(subid_processes)"
fi
if have_gdbus; then
        bus_error "$path" org.chrootd1.Session.Kill 15
        assert_eq none "$BUS_ERROR" "Kill(15) succeeds $ERR"
else
        capture chrootctl kill "$S" 15
fi
wait "$k1"
rc1=$?
wait "$k2"
rc2=$?
assert_eq "42|got-term" "$rc1|$(cat "$tmp/k1.out")" "the trapping shell got TERM and exited 42 $(cat "$tmp/k1.err")"
assert_eq "143" "$rc2" "the other command was killed by TERM: chrootctl run exits 143 $(cat "$tmp/k2.err")"
no_subid_processes
assert_eq "" "$(subid_processes)" "no process of the subordinate ids remains (the sleeps were killed)"

# Kill returns as soon as the signals are sent, even when the command ignores them.
bg_run "$tmp/k3.out" "$tmp/k3.err" run "$S" -- sh -c 'trap "" TERM; sleep 100' cg-ignore
k3=$BG
wait_until 10 eval '[ -n "$(host_pid "sleep 100")" ]'
t0=$(date +%s%N)
capture chrootctl kill "$S" TERM
ms=$((($(date +%s%N) - t0) / 1000000))
assert_eq "0|" "$RC|$ERR" "chrootctl kill S TERM succeeds"
if [ $ms -lt 2000 ] && kill -0 "$k3" 2>/dev/null && [ -n "$(host_pid "sleep 100")" ]; then
        ok "Kill returns at once (${ms} ms) while a command that ignores TERM goes on"
else
        not_ok "Kill returns at once while a command that ignores TERM goes on" "took ${ms} ms" \
                "client alive: $(kill -0 "$k3" 2>/dev/null && echo yes || echo no)" "$(subid_processes)"
fi
capture chrootctl kill "$S" SIGKILL
assert_eq "0|" "$RC|$ERR" "chrootctl kill S SIGKILL succeeds"
wait "$k3"
assert_eq 137 "$?" "the command is killed by SIGKILL: chrootctl run exits 137 $(cat "$tmp/k3.err")"
no_subid_processes
assert_eq "" "$(subid_processes)" "nothing of it remains"

# The reply says ("killed", signal).
busctl_run_opts 0 -- sleep 100 >"$tmp/k4.out" 2>&1 &
k4=$!
bg_pids+=("$k4")
wait_until 10 eval '[ -n "$(host_pid "sleep 100")" ]'
capture chrootctl kill "$S" 2
assert_eq "0|" "$RC|$ERR" "chrootctl kill S 2 succeeds"
wait "$k4"
assert_eq 'si "killed" 2' "$(cat "$tmp/k4.out")" "Run replies (\"killed\", 2) after Kill(2)"
bg_run "$tmp/k5.out" "$tmp/k5.err" run "$S" -- sleep 100
k5=$BG
wait_until 10 eval '[ -n "$(host_pid "sleep 100")" ]'
capture chrootctl kill "$S" INT
assert_eq "0|" "$RC|$ERR" "chrootctl kill S INT succeeds"
wait "$k5"
assert_eq 130 "$?" "chrootctl run exits 130 after kill INT"

# CLI errors: one line on stderr, nothing on stdout, status 1 (2 for a usage error,
# which a signal chrootctl rejects itself is).
for sig in 0 65 STOP SIGSTOP 19 NOSUCHSIG; do
        capture chrootctl kill "$S" "$sig"
        if { [ "$RC" -eq 1 ] || [ "$RC" -eq 2 ]; } && [ -z "$OUT" ] && [ -n "$ERR" ] && [ "$(wc -l <<<"$ERR")" -eq 1 ]; then
                ok "chrootctl kill S $sig fails ($RC) with one line: $ERR"
        else
                not_ok "chrootctl kill S $sig fails with one line" "status $RC" "stdout: $OUT" "stderr: $ERR"
        fi
done
capture chrootctl kill no-such-session-cg TERM
assert_eq 1 "$RC" "chrootctl kill of an unknown session fails ($ERR)"

# NotReady while the session is being prepared.
make_big_tarball "$sbuild/cg-big.tar" 20000 0 || bail_out "could not make the large tarball"
bg_run "$tmp/big.out" "$tmp/big.err" begin -n "$SB" cg-big
big=$BG
if wait_until 10 eval 'list_sessions_tsv | grep -q "^$SB	cg-big	preparing	"'; then
        assert_bus_error org.chrootd1.Error.NotReady "Kill in a session being prepared: NotReady" \
                /org/chrootd1/session/cg_2dbig_2dpreparing org.chrootd1.Session.Kill 15
        capture chrootctl kill "$SB"
        assert_eq 1 "$RC" "chrootctl kill of a session being prepared fails ($ERR)"
else
        not_ok "a Begin of a large tarball is preparing" "$(list_sessions_tsv 2>&1)" "$(cat "$tmp/big.err")"
fi
chrootctl end "$SB" >/dev/null 2>&1
wait "$big"
rm -f "$sbuild/cg-big.tar"

# =============== 3. Run's "timeout" option ===============
t0=$(date +%s%N)
capture chrootctl run --timeout 1 "$S" -- sleep 100
ms=$((($(date +%s%N) - t0) / 1000000))
assert_eq "124|chrootctl: Command timed out after 1 s" "$RC|$ERR" \
        "chrootctl run --timeout 1 -- sleep 100 exits 124 with one line on stderr"
if [ $ms -ge 900 ] && [ $ms -lt 4000 ]; then
        ok "it took about 1 s (${ms} ms)"
else
        not_ok "it took about 1 s" "${ms} ms"
fi
no_subid_processes
assert_eq "" "$(subid_processes)" "nothing of it remains"

t0=$(date +%s%N)
capture busctl_run_opts 1 timeout t 1000000 -- sh -c 'sleep 100 & sleep 100 & trap "" TERM; wait' cg-timeout
ms=$((($(date +%s%N) - t0) / 1000000))
assert_eq 'si "timeout" 9' "$OUT" "Run with timeout 1 s replies (\"timeout\", 9) $ERR"
if [ $ms -lt 4000 ]; then
        ok "the timed-out command (ignoring TERM) ended after ${ms} ms"
else
        not_ok "the timed-out command (ignoring TERM) ended within 4 s" "${ms} ms"
fi
no_subid_processes
assert_eq "" "$(subid_processes)" "nothing the timed-out command started remains"

t0=$(date +%s%N)
capture chrootctl run --timeout 5 "$S" -- true
ms=$((($(date +%s%N) - t0) / 1000000))
assert_eq "0|" "$RC|$ERR" "chrootctl run --timeout 5 -- true succeeds"
if [ $ms -lt 3000 ]; then
        ok "a command that finishes earlier is not held up (${ms} ms)"
else
        not_ok "a command that finishes earlier is not held up" "${ms} ms"
fi
capture chrootctl run --timeout 5 "$S" -- sh -c 'echo out; exit 3'
assert_eq "3|out" "$RC|$OUT" "with --timeout 5, a quick command's status and output are its own"
capture busctl_run_opts 1 timeout t 0 -- sh -c 'sleep 1; exit 3'
assert_eq 'si "exited" 3' "$OUT" "timeout 0 means none $ERR"
capture busctl_run_opts 1 timeout t 5000000 -- sh -c 'exit 4'
assert_eq 'si "exited" 4' "$OUT" "a command that finishes before its timeout replies (\"exited\", 4) $ERR"
if wait_until 5 eval '[ -z "$(command_units_of "$S" | grep "\.scope$")" ]'; then
        ok "no command's scope is left after the killed and timed-out Runs"
else
        not_ok "no command's scope is left after the killed and timed-out Runs" "$(units_of "$S")"
fi

# End: the slice goes.
capture chrootctl end "$S"
assert_eq "0|" "$RC|$ERR" "End $S"
if wait_until 5 eval '[ -z "$(units_of "$S")" ]'; then
        ok "after End, no unit of the session (no slice) is left"
else
        not_ok "after End, no unit of the session (no slice) is left" "$(units_of "$S")"
fi

# =============== 4. kill -9 of the service during a Run ===============
e9=$(esc "$S9")
systemctl --user reset-failed chrootd.service 2>/dev/null
capture chrootctl begin -n "$S9" cg
assert_eq "0|$S9" "$RC|$OUT" "Begin $S9 $ERR"
bg_run "$tmp/k9.out" "$tmp/k9.err" run "$S9" -- sh -c 'sleep 600 & sleep 600; exit 0' cg-kill9-marker
k9=$BG
if wait_until 10 eval '[ -n "$(host_pid cg-kill9-marker)" ] && [ -n "$(units_of "$S9" | grep "\.scope$")" ]'; then
        ok "a command runs in a scope of $S9: $(units_of "$S9" | paste -sd' ')"
else
        not_ok "a command runs in a scope of $S9" "$(subid_processes)" "$(units_of "$S9")"
fi
mainpid=$(systemctl --user show -p MainPID --value chrootd.service)
if [ -n "$mainpid" ] && [ "$mainpid" != 0 ] && kill -KILL "$mainpid"; then
        ok "chrootd ($mainpid) killed with SIGKILL"
else
        not_ok "chrootd killed with SIGKILL" "MainPID: $mainpid"
fi
wait_until 10 eval '[ ! -e /proc/$mainpid ]'
if wait_until 10 eval '! kill -0 $k9 2>/dev/null'; then
        wait "$k9"
        rc=$?
        assert_eq 1 "$((rc != 0))" "the Run in progress fails (status $rc): $(cat "$tmp/k9.err")"
else
        not_ok "the Run in progress fails" "chrootctl still waiting 10 s after the service died"
fi
capture chrootctl end "$S9"
assert_eq "0|" "$RC|$ERR" "End $S9 (activating the service again)"
if wait_until 5 eval '[ -z "$(units_of "$S9")" ]'; then
        ok "after End, no unit of $S9 is left (no slice, no scope)"
else
        not_ok "after End, no unit of $S9 is left (no slice, no scope)" "$(units_of "$S9")" \
                "$(systemctl --user list-units --all --no-pager 'chrootd*' 2>&1)"
fi
assert_eq "" "$(systemctl --user list-units --all --plain --no-legend --no-pager | awk '{ print $1 }' | grep -F -- "$e9")" \
        "list-units --all shows no unit with $e9 in its name"
no_subid_processes
assert_eq "" "$(subid_processes)" "no process of the subordinate ids remains"

done_testing
