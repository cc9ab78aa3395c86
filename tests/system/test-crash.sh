#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Crash safety: chrootd killed with SIGKILL at the worst moment leaves nothing behind.
#   1. during Begin's unpack: the caller gets an error (no hang); the restarted service
#      does not offer the half-made session, removes it (directory and disk space);
#   2. during a Run: the caller gets an error; the command and all it started are gone,
#      the session stays usable and the old scope unit is gone;
#   3. during End's removal ("ending"): the restarted service finishes the removal by
#      itself, without another End.
# After each: no unit of an ended session, no process of the subordinate ids, and the
# host's mounts as they were.
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

require_user_manager

require_subids
install_test_chroot crash tar.zst || bail_out "could not install the test chroot"

SB=crash-begin
SR=crash-run
SE=crash-end
sbuild=${XDG_CACHE_HOME:-$HOME/.cache}/sbuild
state=${XDG_STATE_HOME:-$HOME/.local/state}/chrootd
sdir=$(sessions_dir)
tmp=$(mktemp -d)
bg_pids=()

cleanup() {
        local p
        for p in "${bg_pids[@]}"; do
                kill "$p" 2>/dev/null
        done
        for p in "$SB" "$SR" "$SE"; do
                chrootctl end "$p" >/dev/null 2>&1
        done
        systemctl --user reset-failed chrootd.service 2>/dev/null
        rm -rf "$tmp" "$sbuild/crash-big.tar" "$sbuild/crash.tar.zst"
}
trap cleanup EXIT

# kill_service: SIGKILL the service's main process and wait until it is gone.
kill_service() {
        local pid
        pid=$(main_pid)
        if [ -z "$pid" ] || [ "$pid" = 0 ]; then
                diag "chrootd.service has no MainPID to kill"
                return 1
        fi
        kill -KILL "$pid" || return 1
        wait_until 10 eval '[ ! -e /proc/$pid ] && [ "$(chrootd_state)" != active ]'
}

# prop PATH NAME: a Session property as busctl prints it (e.g. 's "ending"'), quickly.
prop() {
        busctl --user --timeout=2 get-property org.chrootd1 "$1" org.chrootd1.Session "$2" 2>/dev/null
}

# state_of ID: the session's state in ListSessions ("" when not listed).
state_of() {
        list_sessions_tsv 2>/dev/null | awk -F'\t' -v id="$1" '$1 == id { print $3 }'
}

# iused: inodes in use on the filesystem of the sessions.
iused() {
        stat -f -c '%c %d' "$state" | awk '{ print $1 - $2 }'
}

du_k() {
        du -sk "$state" 2>/dev/null | cut -f1
}

# wait_client PID SECONDS: wait for a background client; sets CRC to its exit status,
# or to "hang" when it is still running after SECONDS.
wait_client() {
        local client_pid=$1
        if wait_until "$2" eval '! kill -0 $client_pid 2>/dev/null'; then
                wait "$client_pid"
                CRC=$?
        else
                CRC=hang
        fi
}

# after_each ID DESC: no unit of ID, no subordinate process, mounts as at the start.
after_each() {
        local id=$1 what=$2
        if wait_until 5 eval '[ -z "$(units_of "$id")" ]'; then
                ok "$what: list-units --all 'chrootd-*' shows no unit of $id"
        else
                not_ok "$what: list-units --all 'chrootd-*' shows no unit of $id" "$(units_of "$id")"
        fi
        if wait_until 5 eval '[ -z "$(subid_processes)" ]'; then
                ok "$what: no process of the subordinate ids remains"
        else
                not_ok "$what: no process of the subordinate ids remains" "$(subid_processes)"
        fi
        assert_eq "$mounts_before" "$(cat /proc/self/mountinfo)" "$what: the host's mounts are unchanged"
}

chrootd_stop
mounts_before=$(cat /proc/self/mountinfo)

# =============== 1. SIGKILL during Begin's unpack ===============
make_big_tarball "$sbuild/crash-big.tar" 30000 300 >/dev/null || bail_out "could not make the large tarball"
list_sessions_tsv >/dev/null
mkdir -p "$state"
du_before=$(du_k)
timeout 30 chrootctl begin --union-type none -n "$SB" crash-big >"$tmp/b.out" 2>"$tmp/b.err" </dev/null &
client=$!
bg_pids+=("$client")
pb=/org/chrootd1/session/crash_2dbegin
if wait_until 15 eval '[ "$(prop $pb State)" = "s \"preparing\"" ] && p=$(prop $pb Progress) && [ -n "$p" ] &&
                awk -v p="${p#d }" "BEGIN { exit !(p > 0.2 && p < 0.9) }"'; then
        ok "Begin of a large tarball is unpacking (Progress $(prop $pb Progress))"
else
        not_ok "Begin of a large tarball is unpacking" "State: $(prop $pb State), Progress: $(prop $pb Progress)" \
                "$(cat "$tmp/b.err")"
fi
du_during=$(du_k)
note "du -sk $state: ${du_before} KiB before Begin, ${du_during} KiB while unpacking"
t0=$SECONDS
if kill_service; then
        ok "chrootd killed with SIGKILL during the unpack"
else
        not_ok "chrootd killed with SIGKILL during the unpack" "state: $(chrootd_state), MainPID: $(main_pid)"
fi
wait_client "$client" 20
if [ "$CRC" != hang ] && [ "$CRC" -ne 0 ] && [ "$CRC" -ne 124 ]; then
        ok "the Begin caller gets an error (status $CRC after $((SECONDS - t0)) s): $(cat "$tmp/b.err")"
else
        not_ok "the Begin caller gets an error, not a hang" "status $CRC (124 or hang: still waiting)" \
                "$(cat "$tmp/b.out" "$tmp/b.err")"
fi
capture list_sessions_tsv
assert_eq "0" "$RC" "a call activates the service again $ERR"
assert_eq "" "$(awk -F'\t' -v id="$SB" '$1 == id && $3 == "ready"' <<<"$OUT")" \
        "after the restart, the half-made session is not listed as ready"
if wait_until 15 eval '[ -z "$(state_of $SB)" ] && [ ! -e "$sdir/$SB" ]'; then
        ok "the restarted service removes the half-made session: not listed, no $sdir/$SB"
else
        not_ok "the restarted service removes the half-made session: not listed, no $sdir/$SB" \
                "state: '$(state_of $SB)'" "$(ls -la "$sdir/$SB" 2>&1 | head -n 5)"
fi
capture chrootctl run "$SB" true
assert_eq 1 "$((RC != 0))" "Run in the removed session fails ($ERR)"
du_after=$(du_k)
if [ -n "$du_before" ] && [ -n "$du_after" ] && [ $((du_after - du_before)) -lt 2048 ] &&
   [ $((du_before - du_after)) -lt 2048 ]; then
        ok "the disk space comes back (du -sk: ${du_before} KiB before, ${du_during} KiB during, ${du_after} KiB after)"
else
        not_ok "the disk space comes back" "du -sk $state: ${du_before} KiB before, ${du_during} KiB during, ${du_after} KiB after" \
                "$(du -ak "$state" 2>/dev/null | sort -n | tail -n 5)"
fi
if [ -n "$du_during" ] && [ $((du_during - du_before)) -gt 10240 ]; then
        ok "(the unpack had used $(((du_during - du_before) / 1024)) MiB when the service was killed)"
else
        not_ok "the unpack had used some space when the service was killed" "before ${du_before} KiB, during ${du_during} KiB"
fi
after_each "$SB" "after the killed Begin"

# =============== 2. SIGKILL during a Run ===============
systemctl --user reset-failed chrootd.service 2>/dev/null
capture chrootctl begin -n "$SR" crash
assert_eq "0|$SR" "$RC|$OUT" "Begin $SR $ERR"
timeout 30 chrootctl run "$SR" -- sh -c 'sleep 1000 & sleep 1000' >"$tmp/r.out" 2>"$tmp/r.err" </dev/null &
client=$!
bg_pids+=("$client")
if wait_until 10 eval '[ "$(subid_processes | grep -c "sleep 1000")" -ge 2 ] && [ -n "$(units_of $SR | grep "\.scope$")" ]'; then
        ok "a command with a background child runs"
else
        not_ok "a command with a background child runs" "$(subid_processes)" "$(units_of "$SR")" "$(cat "$tmp/r.err")"
fi
old_scope=$(units_of "$SR" | grep '\.scope$')
note "scope: $old_scope"
t0=$SECONDS
if kill_service; then
        ok "chrootd killed with SIGKILL during the Run"
else
        not_ok "chrootd killed with SIGKILL during the Run" "state: $(chrootd_state), MainPID: $(main_pid)"
fi
wait_client "$client" 20
if [ "$CRC" != hang ] && [ "$CRC" -ne 0 ] && [ "$CRC" -ne 124 ]; then
        ok "the Run caller gets an error (status $CRC after $((SECONDS - t0)) s): $(cat "$tmp/r.err")"
else
        not_ok "the Run caller gets an error, not a hang" "status $CRC (124 or hang: still waiting)" \
                "$(cat "$tmp/r.out" "$tmp/r.err")"
fi
if wait_until 5 eval '[ -z "$(subid_processes)" ]'; then
        ok "the command and everything it started are gone"
else
        not_ok "the command and everything it started are gone" "$(subid_processes)"
fi
assert_eq ready "$(state_of "$SR")" "after the restart, the session is listed as ready"
capture chrootctl run "$SR" -- sh -c 'echo again'
assert_eq "0|again" "$RC|$OUT" "a new Run in the session works $ERR"
if [ -z "$old_scope" ]; then
        not_ok "the old scope unit is gone" "no scope was seen"
elif wait_until 5 eval '! units_of $SR | grep -qxF -- "$old_scope"'; then
        ok "the old scope unit is gone"
else
        not_ok "the old scope unit is gone" "$(systemctl --user status --no-pager -- "$old_scope" 2>&1 | head -n 8)"
fi
capture chrootctl end "$SR"
assert_eq "0|" "$RC|$ERR" "End $SR"
after_each "$SR" "after the killed Run"

# =============== 3. SIGKILL during End ===============
systemctl --user reset-failed chrootd.service 2>/dev/null
i_begin=$(iused)
capture chrootctl begin -n "$SE" crash
assert_eq "0|$SE" "$RC|$OUT" "Begin $SE $ERR"
# Many files make the removal take a moment.
capture chrootctl run "$SE" -- sh -c 'for d in 1 2 3 4 5 6 7 8; do mkdir -p /many/$d && cd /many/$d && seq 1 10000 | xargs touch || exit 1; done; find /many -type f | wc -l'
assert_eq "0|80000" "$RC|$(tr -d ' ' <<<"$OUT")" "the session has 80000 more files $ERR"
i_files=$(iused)
pe=/org/chrootd1/session/crash_2dend
assert_eq 's "ready"' "$(prop $pe State)" "its State is ready"
timeout 30 busctl --user --timeout=30 call org.chrootd1 /org/chrootd1 org.chrootd1.Manager EndSession s "$SE" \
        >"$tmp/e.out" 2>"$tmp/e.err" </dev/null &
client=$!
bg_pids+=("$client")
seen=
for ((i = 0; i < 2000; i++)); do
        st=$(prop $pe State)
        if [ "$st" = 's "ending"' ]; then
                seen=1
                break
        fi
        kill -0 "$client" 2>/dev/null || break
done
if [ -n "$seen" ]; then
        ok "End is removing the session (State \"ending\")"
else
        not_ok "End is removing the session (State \"ending\")" "last State: '$st'" \
                "End: $(kill -0 "$client" 2>/dev/null && echo running || echo done) $(cat "$tmp/e.out" "$tmp/e.err")"
fi
if kill_service; then
        ok "chrootd killed with SIGKILL during the removal"
else
        not_ok "chrootd killed with SIGKILL during the removal" "state: $(chrootd_state), MainPID: $(main_pid)"
fi
# The remover makes the tree unreadable to us: count the filesystem's inodes instead.
i_kill=$(iused)
wait_client "$client" 20
note "the End caller: status $CRC: $(cat "$tmp/e.out" "$tmp/e.err")"
sleep 1
i_later=$(iused)
list_sessions_tsv >/dev/null 2>&1
if wait_until 15 eval '[ -z "$(state_of $SE)" ] && [ ! -e "$sdir/$SE" ]'; then
        ok "the restarted service finishes the removal by itself: not listed, no $sdir/$SE"
else
        not_ok "the restarted service finishes the removal by itself: not listed, no $sdir/$SE" \
                "state: '$(state_of $SE)'" "$(find "$sdir/$SE" 2>/dev/null | wc -l) entries left in $sdir/$SE"
fi
i_after=$(iused)
note "inodes in use: $i_begin before Begin $SE, $i_files with its files, $i_kill at the kill, $i_later 1 s later (no service), $i_after after the restart"
if [ $((i_kill - i_after)) -gt 1000 ]; then
        ok "the service died with the removal unfinished ($((i_kill - i_after)) inodes still in use)"
else
        not_ok "the service died with the removal unfinished" \
                "only $((i_kill - i_after)) inodes more than after the removal: too quick to interrupt"
fi
# The count is the whole file system's, which others on the machine change too (a
# build beside the tests moves it by thousands): what is left of the tree must be far
# less than what was there at the kill.
if [ -n "$i_begin" ] && [ -n "$i_after" ] && [ $((i_after - i_begin)) -lt $(((i_kill - i_begin) / 2)) ]; then
        ok "the inodes come back (before Begin $i_begin, after $i_after, at the kill $i_kill)"
else
        not_ok "the inodes come back" "before Begin: $i_begin, after: $i_after, at the kill: $i_kill"
fi
after_each "$SE" "after the killed End"

rm -f "$sbuild/crash-big.tar"
done_testing
