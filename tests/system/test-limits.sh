#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Limits: BeginSession's options memory-max, tasks-max and cpu-weight become MemoryMax=,
# TasksMax= and CPUWeight= of the session's transient slice chrootd-<escaped id>.slice,
# the Session properties of those names and lines of its state file; Session.SetLimits
# changes some of them and keeps the others; bad values are InvalidArgument, a session
# being prepared is NotReady. After a "reboot" (the slice stopped, the service stopped)
# the service puts the limits back on a new slice. Commands run in scopes inside the
# slice; where the cgroup2 hierarchy has the pids and memory controllers, TasksMax and
# MemoryMax are enforced on all the session's commands together.
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

require_user_manager

require_subids
have_gdbus || skip_all "gdbus (libglib2.0-bin) is needed to see D-Bus error names"
install_test_chroot lim tar.zst || bail_out "could not install the test chroot"

S=lim-a        # begun with all three limits
SN=lim-none    # begun without limits, given some by SetLimits
SB=lim-big-preparing
SP=lim-pids
SM=lim-mem
# The longest session ids are valid names too: 128 characters, half of them '-'.
SL=$(printf 'x-%.0s' $(seq 64))
sbuild=${XDG_CACHE_HOME:-$HOME/.cache}/sbuild
tmp=$(mktemp -d)
bg_pids=()
MIB=1048576
U64MAX=18446744073709551615

cleanup() {
        local p id
        for p in "${bg_pids[@]}"; do
                kill "$p" 2>/dev/null
        done
        for id in "$S" "$SN" "$SB" "$SP" "$SM" "$SL" lim-bad; do
                chrootctl end "$id" >/dev/null 2>&1
        done
        systemctl --user reset-failed chrootd.service 2>/dev/null
        rm -rf "$tmp" "$sbuild/lim-big.tar"
}
trap cleanup EXIT

# slice_limits SLICE: "MemoryMax|TasksMax|CPUWeight" as systemctl --user show says.
slice_limits() {
        printf '%s|%s|%s\n' "$(unit_prop "$1" MemoryMax)" "$(unit_prop "$1" TasksMax)" "$(unit_prop "$1" CPUWeight)"
}

# slice_gone_state SLICE: "ActiveState|Transient"; "inactive|no" when the slice is not
# there (systemctl show loads any slice name, so LoadState says "loaded" regardless).
slice_gone_state() {
        printf '%s|%s\n' "$(unit_prop "$1" ActiveState)" "$(unit_prop "$1" Transient)"
}

# session_limits ID: "MemoryMax|TasksMax|CPUWeight" as the Session properties say.
session_limits() {
        printf '%s|%s|%s\n' "$(session_property "$1" MemoryMax)" "$(session_property "$1" TasksMax)" \
                "$(session_property "$1" CPUWeight)"
}

# state_limits ID: the limit lines of the session's state file, "Key=value" joined by '|'.
state_limits() {
        grep -E '^(MemoryMax|TasksMax|CPUWeight)=' "$(sessions_dir)/$1/state" 2>/dev/null | sort | paste -sd'|'
}

# begin ID OPTIONS: BeginSession of chroot lim through gdbus (OPTIONS in GVariant text);
# sets BUS_ERROR (none on success), OUT, ERR, RC.
begin() {
        bus_error /org/chrootd1 org.chrootd1.Manager.BeginSession "'lim'" "'$1'" "$2"
}

# set_limits ID OPTIONS: Session.SetLimits through gdbus; sets BUS_ERROR, OUT, ERR, RC.
set_limits() {
        local p
        p=$(session_path "$1") || p=/org/chrootd1/session/none
        bus_error "$p" org.chrootd1.Session.SetLimits "$2"
}

# cgroup_of PID: the cgroup v2 path of PID.
cgroup_of() {
        sed -n 's/^0:://p' "/proc/$1/cgroup" 2>/dev/null
}

# cgroup2_mount: where the cgroup2 hierarchy is mounted (the last such mount wins, as
# on hybrid hosts where it is also at /sys/fs/cgroup/unified).
cgroup2_mount() {
        awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") m = $5; break } } END { print m }' \
                /proc/self/mountinfo
}

# controllers_of SLICE: the cgroup controllers available in the slice's cgroup (or, if
# that is not there, at the root of the cgroup2 hierarchy).
controllers_of() {
        local mnt cg
        mnt=$(cgroup2_mount)
        cg=$(unit_prop "$1" ControlGroup)
        if [ -n "$mnt" ] && [ -n "$cg" ] && [ -r "$mnt$cg/cgroup.controllers" ]; then
                cat "$mnt$cg/cgroup.controllers"
        elif [ -n "$mnt" ]; then
                cat "$mnt/cgroup.controllers" 2>/dev/null
        fi
}

e=$(esc "$S")
assert_eq 'lim\x2da' "$e" "the session id $S escapes to lim\\x2da"
slice="chrootd-$e.slice"

# =============== 1. Begin with limits ===============
begin "$S" "{'memory-max': <uint64 $((256 * MIB))>, 'tasks-max': <uint64 50>, 'cpu-weight': <uint64 200>}"
assert_eq "none|('$S', objectpath '/org/chrootd1/session/lim_2da')" "$BUS_ERROR|$OUT" \
        "BeginSession with memory-max 256 MiB, tasks-max 50, cpu-weight 200 $ERR"
assert_eq "$((256 * MIB))|50|200" "$(session_limits "$S")" "Session MemoryMax, TasksMax, CPUWeight"
assert_eq "$slice" "$(session_property "$S" Slice)" "Session.Slice is $slice"
assert_eq "$((256 * MIB))|50|200" "$(slice_limits "$slice")" \
        "systemctl --user show $slice: MemoryMax=256M TasksMax=50 CPUWeight=200, before any Run"
assert_eq "loaded|active|yes|chrootd.slice" \
        "$(unit_prop "$slice" LoadState)|$(unit_prop "$slice" ActiveState)|$(unit_prop "$slice" Transient)|$(unit_prop "$slice" Slice)" \
        "the slice is a loaded, active, transient child of chrootd.slice"
assert_eq "CPUWeight=200|MemoryMax=$((256 * MIB))|TasksMax=50" "$(state_limits "$S")" \
        "the state file has MemoryMax=, TasksMax=, CPUWeight="
capture chrootctl run "$S" -- sh -c 'echo in-limited-session'
assert_eq "0|in-limited-session" "$RC|$OUT" "a command runs in the limited session $ERR"

# A command's scope is in the limited slice.
mkfifo "$tmp/fifo"
chrootctl run "$S" -- sh -c 'read x; exit 0' lim-marker <"$tmp/fifo" >"$tmp/m.out" 2>&1 &
run_m=$!
bg_pids+=("$run_m")
exec 3>"$tmp/fifo"
if wait_until 10 eval '[ -n "$(host_pid lim-marker)" ]'; then
        pid_m=$(host_pid lim-marker)
        init_m=$(ps -o ppid= -p "$pid_m" 2>/dev/null | tr -d ' ')
        scope="chrootd-run-$e-$init_m.scope"
        assert_match "/chrootd\\.slice/chrootd-lim\\\\x2da\\.slice/chrootd-run-lim\\\\x2da-$init_m\\.scope\$" \
                "$(cgroup_of "$pid_m")" "the command's cgroup is .../chrootd.slice/$slice/$scope"
        assert_eq "$slice" "$(unit_prop "$scope" Slice)" "the command's scope has Slice=$slice"
        # =============== 2. SetLimits while a command runs ===============
        set_limits "$S" "{'tasks-max': <uint64 100>}"
        assert_eq "none" "$BUS_ERROR" "SetLimits(tasks-max 100) while a command runs $ERR"
        assert_eq "$((256 * MIB))|100|200" "$(slice_limits "$slice")" \
                "systemctl --user show: TasksMax=100, MemoryMax and CPUWeight unchanged"
        assert_eq "$((256 * MIB))|100|200" "$(session_limits "$S")" "the Session properties say the same"
        assert_eq "CPUWeight=200|MemoryMax=$((256 * MIB))|TasksMax=100" "$(state_limits "$S")" \
                "the state file says the same"
        assert_eq "active|running" "$(unit_prop "$scope" ActiveState)|$(unit_prop "$scope" SubState)" \
                "the running command's scope is still there"
else
        not_ok "a command runs in a scope of $slice" "$(subid_processes)" "$(cat "$tmp/m.out")"
fi
echo go >&3
exec 3>&-
wait "$run_m"
assert_eq 0 "$?" "the command ends $(cat "$tmp/m.out")"

# =============== 3. SetLimits between commands ===============
set_limits "$S" "{'memory-max': <uint64 $U64MAX>, 'cpu-weight': <uint64 10000>}"
assert_eq "none" "$BUS_ERROR" "SetLimits(memory-max UINT64_MAX, cpu-weight 10000) $ERR"
assert_eq "infinity|100|10000" "$(slice_limits "$slice")" \
        "systemctl --user show: MemoryMax=infinity, TasksMax unchanged, CPUWeight=10000"
assert_eq "$U64MAX|100|10000" "$(session_limits "$S")" "the Session properties say the same"
set_limits "$S" "{'cpu-weight': <uint64 1>, 'tasks-max': <uint64 $U64MAX>, 'memory-max': <uint64 $((64 * MIB))>}"
assert_eq "none" "$BUS_ERROR" "SetLimits of all three $ERR"
assert_eq "$((64 * MIB))|infinity|1" "$(slice_limits "$slice")" \
        "systemctl --user show: MemoryMax=64M, TasksMax=infinity, CPUWeight=1"
assert_eq "$((64 * MIB))|$U64MAX|1" "$(session_limits "$S")" "the Session properties say the same"
assert_eq "CPUWeight=1|MemoryMax=$((64 * MIB))|TasksMax=$U64MAX" "$(state_limits "$S")" \
        "the state file says the same"
capture busctl --user call org.chrootd1 "$(session_path "$S")" org.chrootd1.Session SetLimits 'a{sv}' \
        2 memory-max t $((128 * MIB)) tasks-max t 2000
assert_eq "0|" "$RC|$OUT" "SetLimits through busctl, as the README shows $ERR"
assert_eq "$((128 * MIB))|2000|1" "$(slice_limits "$slice")" "systemctl --user show: MemoryMax=128M TasksMax=2000"

# Refusals, which change nothing.
for opt in "{}" "{'memory-max': <uint64 0>}" "{'tasks-max': <uint64 0>}" "{'cpu-weight': <uint64 0>}" \
        "{'cpu-weight': <uint64 10001>}" "{'cpu-weight': <uint64 $U64MAX>}" "{'memory-max': <'1G'>}" \
        "{'tasks-max': <uint32 5>}" "{'nice': <uint64 5>}" "{'tasks-max': <uint64 5>, 'bogus': <uint64 1>}" \
        "{'tasks-max': <uint64 5>, 'cpu-weight': <uint64 0>}"; do
        set_limits "$S" "$opt"
        assert_eq "org.chrootd1.Error.InvalidArgument" "$BUS_ERROR" "SetLimits($opt): InvalidArgument"
done
assert_eq "$((128 * MIB))|2000|1" "$(session_limits "$S")" "the refused SetLimits changed no Session property"
assert_eq "$((128 * MIB))|2000|1" "$(slice_limits "$slice")" "nor the slice"
assert_eq "CPUWeight=1|MemoryMax=$((128 * MIB))|TasksMax=2000" "$(state_limits "$S")" "nor the state file"

# =============== 4. Begin with bad limits ===============
for opt in "{'memory-max': <uint64 0>}" "{'tasks-max': <uint64 0>}" "{'cpu-weight': <uint64 0>}" \
        "{'cpu-weight': <uint64 10001>}" "{'memory-max': <'64M'>}" "{'tasks-max': <int64 20>}" \
        "{'unknown': <uint64 1>}" "{'TasksMax': <uint64 20>}"; do
        begin lim-bad "$opt"
        assert_eq "org.chrootd1.Error.InvalidArgument" "$BUS_ERROR" "BeginSession with $opt: InvalidArgument"
done
assert_eq "" "$(list_sessions_tsv | grep '^lim-bad	')" "no session lim-bad is listed"
if [ ! -e "$(sessions_dir)/lim-bad" ]; then
        ok "no session directory lim-bad"
else
        not_ok "no session directory lim-bad" "$(ls -la "$(sessions_dir)/lim-bad")"
fi
assert_eq "inactive|no" "$(slice_gone_state 'chrootd-lim\x2dbad.slice')" "no slice of lim-bad (inactive, not transient)"

# =============== 5. A session without limits, given some later ===============
en=$(esc "$SN")
slice_n="chrootd-$en.slice"
begin "$SN" "{}"
assert_eq "none" "$BUS_ERROR" "BeginSession without limits $ERR"
assert_eq "0|0|0" "$(session_limits "$SN")" "its MemoryMax, TasksMax and CPUWeight are 0 (not set)"
assert_eq "" "$(state_limits "$SN")" "its state file has no limit"
assert_eq "$slice_n" "$(session_property "$SN" Slice)" "its Slice is $slice_n"
set_limits "$SN" "{'tasks-max': <uint64 30>}"
assert_eq "none" "$BUS_ERROR" "SetLimits(tasks-max 30) on it $ERR"
assert_eq "0|30|0" "$(session_limits "$SN")" "now TasksMax is 30, the others still 0"
assert_eq "30" "$(unit_prop "$slice_n" TasksMax)" "systemctl --user show $slice_n: TasksMax=30"
assert_eq "TasksMax=30" "$(state_limits "$SN")" "the state file has TasksMax=30 only"
capture chrootctl run "$SN" -- true
assert_eq "0|" "$RC|$ERR" "a command runs in it"
assert_eq "30" "$(unit_prop "$slice_n" TasksMax)" "after the Run the slice still has TasksMax=30"

# SetLimits on a session being prepared: NotReady.
make_big_tarball "$sbuild/lim-big.tar" 20000 0 >/dev/null || bail_out "could not make the large tarball"
bg_run "$tmp/big.out" "$tmp/big.err" begin -n "$SB" lim-big
big=$BG
if wait_until 10 eval 'list_sessions_tsv | grep -q "^$SB	lim-big	preparing	"'; then
        bus_error /org/chrootd1/session/lim_2dbig_2dpreparing org.chrootd1.Session.SetLimits "{'tasks-max': <uint64 10>}"
        assert_eq "org.chrootd1.Error.NotReady" "$BUS_ERROR" "SetLimits on a session being prepared: NotReady"
else
        not_ok "a Begin of a large tarball is preparing" "$(list_sessions_tsv 2>&1)" "$(cat "$tmp/big.err")"
fi
chrootctl end "$SB" >/dev/null 2>&1
wait "$big"
rm -f "$sbuild/lim-big.tar"

# =============== 6. A "reboot": the slices and the service gone ===============
# Only the service restarted: the slice stays, and so do its limits.
chrootd_stop
manager_call ListSessions >/dev/null
if wait_until 5 eval '[ "$(slice_limits "$slice")" = "$((128 * MIB))|2000|1" ]'; then
        ok "after a restart of the service alone, $slice still has its limits"
else
        not_ok "after a restart of the service alone, $slice still has its limits" "$(slice_limits "$slice")"
fi
# Then as after a reboot: nothing runs, the transient slices are gone, then the service.
# (systemctl may warn that the slice's drop-ins changed on disk: SetUnitProperties.)
capture systemctl --user stop "$slice" "$slice_n"
assert_eq "0" "$RC" "systemctl --user stop $slice $slice_n $ERR"
if wait_until 5 eval '[ "$(slice_gone_state "$slice")|$(slice_gone_state "$slice_n")" = "inactive|no|inactive|no" ]'; then
        ok "the transient slices are gone"
else
        not_ok "the transient slices are gone" "$slice: $(slice_gone_state "$slice")" \
                "$slice_n: $(slice_gone_state "$slice_n")"
fi
assert_eq "infinity|infinity|infinity" "$(unit_prop "$slice" MemoryMax)|$(unit_prop "$slice" TasksMax)|$(unit_prop "$slice_n" TasksMax)" \
        "and so are their limits"
chrootd_stop
assert_eq "inactive" "$(chrootd_state)" "chrootd is stopped"
capture manager_call ListSessions
assert_eq 0 "$RC" "a call activates the service again $ERR"
if wait_until 5 eval '[ "$(slice_limits "$slice")" = "$((128 * MIB))|2000|1" ]'; then
        ok "it puts the limits back: $slice has MemoryMax=128M TasksMax=2000 CPUWeight=1"
else
        not_ok "it puts the limits back on $slice" "MemoryMax|TasksMax|CPUWeight: $(slice_limits "$slice")" \
                "ActiveState|Transient: $(slice_gone_state "$slice")"
fi
if wait_until 5 eval '[ "$(unit_prop "$slice_n" TasksMax)" = 30 ]'; then
        ok "and on $slice_n: TasksMax=30"
else
        not_ok "and on $slice_n: TasksMax=30" "TasksMax: $(unit_prop "$slice_n" TasksMax)" \
                "ActiveState|Transient: $(slice_gone_state "$slice_n")"
fi
assert_eq "yes|chrootd.slice" "$(unit_prop "$slice" Transient)|$(unit_prop "$slice" Slice)" \
        "the new slice is transient, a child of chrootd.slice"
assert_eq "$((128 * MIB))|2000|1" "$(session_limits "$S")" "the Session properties are the same as before"
assert_eq "0|30|0" "$(session_limits "$SN")" "those of $SN too"
capture chrootctl run "$S" -- sh -c 'echo after-reboot'
assert_eq "0|after-reboot" "$RC|$OUT" "a command runs in the session after the reboot $ERR"
set_limits "$S" "{'tasks-max': <uint64 3000>}"
assert_eq "none" "$BUS_ERROR" "SetLimits after the reboot $ERR"
assert_eq "$((128 * MIB))|3000|1" "$(slice_limits "$slice")" "systemctl --user show: TasksMax=3000, the rest kept"

# =============== 7. End: the slice goes ===============
capture chrootctl end "$SN"
assert_eq "0|" "$RC|$ERR" "End $SN"
if wait_until 5 eval '[ "$(slice_gone_state "$slice_n")" = "inactive|no" ]'; then
        ok "after End, $slice_n is gone"
else
        not_ok "after End, $slice_n is gone" "ActiveState|Transient: $(slice_gone_state "$slice_n")"
fi
assert_eq "infinity" "$(unit_prop "$slice_n" TasksMax)" "and its TasksMax with it"

# =============== 8. The longest session ids ===============
# 128 characters with 64 '-' escape to 320, more than systemd takes in a unit name
# (255): still a valid session id, so its limits and commands should work as any
# other's.
begin "$SL" "{'tasks-max': <uint64 50>}"
assert_eq "none" "$BUS_ERROR" "BeginSession of a 128-character id with 64 '-' and tasks-max 50 $ERR"
if [ "$BUS_ERROR" = none ]; then
        sl=$(session_property "$SL" Slice)
        assert_eq "50" "$(unit_prop "$sl" TasksMax)" "its slice has TasksMax=50"
else
        assert_eq "" "$(list_sessions_tsv | grep "^$SL	")" "the failed Begin left no session listed"
        if [ ! -e "$(sessions_dir)/$SL" ]; then
                ok "nor a session directory"
        else
                not_ok "nor a session directory" "$(ls -la "$(sessions_dir)/$SL")"
        fi
        begin "$SL" "{}"
        assert_eq "none" "$BUS_ERROR" "BeginSession of that id without limits $ERR"
fi
capture chrootctl run "$SL" -- true
assert_eq "0|" "$RC|$ERR" "a command runs in the session with the 128-character id"
chrootctl end "$SL" >/dev/null 2>&1
capture chrootctl run "$S" -- true
assert_eq "0|" "$RC|$ERR" "the other sessions still run commands"

# =============== 9. Enforcement ===============
# Limits are enforced only where the cgroup2 hierarchy has the controllers (not on
# hybrid hosts, see README).
ctrl=$(controllers_of "$slice")
note "controllers in the cgroup2 hierarchy of $slice: ${ctrl:-none}"

if [[ " $ctrl " == *" pids "* ]]; then
        begin "$SP" "{'tasks-max': <uint64 20>}"
        assert_eq "none" "$BUS_ERROR" "BeginSession with tasks-max 20 $ERR"
        sp_cg=$(cgroup2_mount)$(unit_prop "chrootd-$(esc "$SP").slice" ControlGroup)
        # sleeps_peak SECONDS: the most "sleep 10" processes seen at once meanwhile.
        sleeps_peak() {
                local end=$((SECONDS + $1)) n max=0
                while [ $SECONDS -lt $end ]; do
                        n=$(subid_processes | awk '$3 == "sleep" && $4 == 10' | wc -l)
                        [ "$n" -gt "$max" ] && max=$n
                        sleep 0.1
                done
                echo "$max"
        }
        # A fork bomb-ish command: ash gives up at the first fork that fails.
        bg_run "$tmp/p1.out" "$tmp/p1.err" run --timeout 30 "$SP" -- sh -c 'for i in $(seq 100); do sleep 10 & done; wait'
        p1=$BG
        peak=$(sleeps_peak 3)
        wait "$p1"
        rc=$?
        if [ "$peak" -le 20 ] && [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -q fork "$tmp/p1.err"; then
                ok "with TasksMax=20, starting 100 sleeps fails at a fork (status $rc, at most $peak sleeps seen)"
        else
                not_ok "with TasksMax=20, starting 100 sleeps fails at a fork" "status $rc, at most $peak sleeps seen" \
                        "stderr: $(head -n 3 "$tmp/p1.err")"
        fi
        # Two commands of 15 sleeps each: either fits alone, not both together.
        bg_run "$tmp/p2.out" "$tmp/p2.err" run --timeout 30 "$SP" -- sh -c 'for i in $(seq 15); do sleep 10 & done; wait'
        p2=$BG
        if wait_until 10 eval '[ "$(subid_processes | awk "\$3 == \"sleep\" && \$4 == 10" | wc -l)" -eq 15 ]'; then
                ok "a command starts 15 sleeps (pids.current: $(cat "$sp_cg/pids.current" 2>/dev/null))"
        else
                not_ok "a command starts 15 sleeps" "$(subid_processes)" "$(cat "$tmp/p2.err")"
        fi
        capture chrootctl run --timeout 30 "$SP" -- sh -c 'for i in $(seq 15); do sleep 10 & done; wait'
        if [ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && [[ $ERR == *fork* ]]; then
                ok "a second one, together with it, cannot: the limit bounds the session's commands together"
        else
                not_ok "a second command of 15 sleeps fails at a fork while the first runs" "status $RC" "stderr: $ERR"
        fi
        if kill -0 "$p2" 2>/dev/null; then
                ok "the first command still runs"
        else
                not_ok "the first command still runs" "$(cat "$tmp/p2.err")"
        fi
        chrootctl kill "$SP" KILL >/dev/null 2>&1
        wait "$p2"
        chrootctl end "$SP" >/dev/null 2>&1
else
        skip "TasksMax=20 bounds the session's tasks" "no pids controller in this cgroup2 hierarchy (hybrid host)"
fi

if [[ " $ctrl " == *" memory "* ]]; then
        begin "$SM" "{'memory-max': <uint64 $((32 * MIB))>}"
        assert_eq "none" "$BUS_ERROR" "BeginSession with memory-max 32 MiB $ERR"
        # dd allocates its 200 MiB block and fills it.
        capture chrootctl run --timeout 60 "$SM" -- dd if=/dev/zero of=/dev/null bs=200M count=1
        if [ "$RC" -ne 0 ] && [ "$RC" -ne 124 ]; then
                ok "with MemoryMax=32M, a command allocating 200 MiB fails (status $RC)"
        else
                not_ok "with MemoryMax=32M, a command allocating 200 MiB fails" "status $RC" "$ERR"
        fi
        capture chrootctl run --timeout 60 "$SM" -- dd if=/dev/zero of=/dev/null bs=4M count=1
        assert_eq 0 "$RC" "one allocating 4 MiB succeeds"
        chrootctl end "$SM" >/dev/null 2>&1
else
        skip "MemoryMax=32M bounds the session's memory" "no memory controller in this cgroup2 hierarchy (hybrid host)"
fi

capture chrootctl end "$S"
assert_eq "0|" "$RC|$ERR" "End $S"
if wait_until 5 eval '[ "$(slice_gone_state "$slice")" = "inactive|no" ]'; then
        ok "after End, $slice is gone"
else
        not_ok "after End, $slice is gone" "ActiveState|Transient: $(slice_gone_state "$slice")"
fi

# chrootctl begin's options for them (the virt server passes its own on to these).
capture chrootctl begin --name=lim-cli --memory-max=256M --tasks-max=77 --cpu-weight=33 lim
assert_eq "0|268435456|77|33" "$RC|$(session_limits lim-cli)" "chrootctl begin --memory-max=256M --tasks-max=77 --cpu-weight=33 $ERR"
chrootctl end lim-cli >/dev/null 2>&1
for bad in --memory-max=lots --memory-max=0 --tasks-max=-1 --cpu-weight=10001; do
        capture chrootctl begin --name=lim-bad "$bad" lim
        assert_eq "2|" "$RC|$OUT" "chrootctl begin $bad is refused as a usage error (2), and begins nothing"
done
assert_match "takes a weight 1..10000" "$ERR" "saying what it takes"
done_testing
