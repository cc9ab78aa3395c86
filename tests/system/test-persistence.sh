#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Sessions live on disk, not in the service: they survive a stop and a SIGKILL of the
# service, which D-Bus activation brings back; a Run in progress when the service dies
# gets an error, not a hang, and leaves nothing running; the service exits when idle
# (but not while a command runs); between commands a session is no process and no mount.
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

require_user_manager

require_subids
install_test_chroot pers tar.zst || bail_out "could not install the test chroot"

S=pers-session
sbuild=${XDG_CACHE_HOME:-$HOME/.cache}/sbuild
prefix=$(chrootd_prefix)
dropin_dir=${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user/chrootd.service.d
dropin=$dropin_dir/idle.conf
tmp=$(mktemp -d)

cleanup() {
        if [ -e "$dropin" ]; then
                rm -f "$dropin"
                rmdir "$dropin_dir" 2>/dev/null
                systemctl --user daemon-reload
                chrootd_stop
        fi
        chrootctl end "$S" >/dev/null 2>&1
        chrootctl end pers-interrupted >/dev/null 2>&1
        rm -rf "$tmp" "$sbuild/pers-big.tar"
}
trap cleanup EXIT

# listed: whether ListSessions (activating the service if needed) shows $S, ready.
listed() {
        list_sessions_tsv 2>/dev/null | grep -q "^$S	pers	ready	"
}

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

mounts_before=$(cat /proc/self/mountinfo)

capture chrootctl begin -n "$S" pers
assert_eq "0 $S" "$RC $OUT" "Begin $S $ERR"
check "write /root/marker in the session" chrootctl run "$S" sh -c 'echo x >/root/marker'

# Between commands: no process, no mount (the leader and its spare init go once idle).
assert_eq "" "$(subid_processes)" "between commands no process of the session runs"
wait_until 15 eval '[ -z "$(leader_processes)" ]'
assert_eq "" "$(leader_processes)" "nor, once idle, its leader and spare init"
assert_eq "$mounts_before" "$(cat /proc/self/mountinfo)" "between commands the host has no new mount"

# ---- systemctl stop ----
systemctl --user stop chrootd.service
assert_match '^(inactive|failed)$' "$(chrootd_state)" "chrootd stopped"
if listed; then
        ok "after a stop, ListSessions (activating chrootd) shows the session"
else
        not_ok "after a stop, ListSessions (activating chrootd) shows the session" "$(list_sessions_tsv 2>&1)"
fi
assert_eq active "$(chrootd_state)" "the call activated chrootd again"
capture chrootctl run "$S" cat /root/marker
assert_eq x "$OUT" "after a stop, the session still has /root/marker $ERR"

# ---- SIGKILL ----
if kill_service; then
        ok "chrootd killed with SIGKILL"
else
        not_ok "chrootd killed with SIGKILL" "state: $(chrootd_state), MainPID: $(main_pid)"
fi
if listed; then
        ok "after SIGKILL, ListSessions (activating chrootd) shows the session"
else
        not_ok "after SIGKILL, ListSessions (activating chrootd) shows the session" "$(list_sessions_tsv 2>&1)" \
                "$(systemctl --user status --no-pager chrootd.service 2>&1 | head -n 5)"
fi
capture chrootctl run "$S" cat /root/marker
assert_eq x "$OUT" "after SIGKILL, Run works and sees /root/marker $ERR"

# ---- SIGKILL during a Run ----
timeout 30 chrootctl run "$S" sh -c 'sleep 600; exit 0' pers-kill-marker >"$tmp/out" 2>"$tmp/err" &
client=$!
if wait_until 10 eval 'subid_processes | grep -q pers-kill-marker'; then
        ok "a long command runs"
else
        not_ok "a long command runs" "$(cat "$tmp/err")"
fi
t0=$SECONDS
kill_service
wait "$client"
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $((SECONDS - t0)) -lt 15 ]; then
        ok "a Run in progress fails when the service is killed (chrootctl exit status $rc): $(cat "$tmp/err")"
else
        not_ok "a Run in progress fails when the service is killed" "chrootctl exit status $rc (124: still waiting after 30 s)" \
                "after $((SECONDS - t0)) s" "$(cat "$tmp/err")"
fi
if wait_until 5 eval '! subid_processes | grep -qE "pers-kill-marker|sleep 600"'; then
        ok "nothing of that command runs after the service died"
else
        not_ok "nothing of that command runs after the service died" "$(subid_processes)"
fi
if listed; then
        ok "after that, ListSessions shows the session"
else
        not_ok "after that, ListSessions shows the session" "$(list_sessions_tsv 2>&1)"
fi
capture chrootctl run "$S" cat /root/marker
assert_eq x "$OUT" "after that, Run works $ERR"

# ---- SIGKILL during a Begin ----
# systemd refuses a sixth start of a unit within 10 s (StartLimitBurst=5): forget the
# starts so far, which have nothing to do with chrootd's behaviour.
systemctl --user reset-failed chrootd.service 2>/dev/null
make_big_tarball "$sbuild/pers-big.tar" 30000 0 || bail_out "could not make the large tarball"
timeout 30 chrootctl begin -n pers-interrupted pers-big >"$tmp/out" 2>"$tmp/err" &
client=$!
if wait_until 10 eval 'list_sessions_tsv | grep -q "^pers-interrupted	pers-big	preparing	"'; then
        ok "a long Begin is in progress"
else
        not_ok "a long Begin is in progress" "$(list_sessions_tsv 2>&1)" "$(cat "$tmp/err")"
fi
t0=$SECONDS
kill_service
wait "$client"
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $((SECONDS - t0)) -lt 15 ]; then
        ok "a Begin in progress fails when the service is killed: $(cat "$tmp/err")"
else
        not_ok "a Begin in progress fails when the service is killed" "chrootctl exit status $rc (124: still waiting after 30 s)" \
                "$(cat "$tmp/out" "$tmp/err")"
fi
capture list_sessions_tsv
assert_eq "" "$(grep "^pers-interrupted	.*	ready	" <<<"$OUT")" \
        "after a restart, the interrupted session is not offered as ready"
if wait_until 10 eval '! list_sessions_tsv | grep -q "^pers-interrupted	" && [ ! -e "$(sessions_dir)/pers-interrupted" ]'; then
        ok "the restarted service removes the interrupted session"
else
        not_ok "the restarted service removes the interrupted session" "$(list_sessions_tsv 2>&1)" \
                "$(ls -la "$(sessions_dir)/pers-interrupted" 2>&1)"
fi
wait_until 5 eval '[ -z "$(subid_processes)" ]'
assert_eq "" "$(subid_processes)" "nothing of the interrupted Begin runs"
rm -f "$sbuild/pers-big.tar"
capture chrootctl run "$S" cat /root/marker
assert_eq x "$OUT" "the other session is unaffected $ERR"

# ---- exit when idle ----
mkdir -p "$dropin_dir"
printf '%s\n' '[Service]' 'ExecStart=' "ExecStart=$prefix/libexec/chrootd/chrootd --idle-timeout 3" >"$dropin"
systemctl --user daemon-reload
chrootd_stop
listed
t0=$(date +%s%N)
assert_eq active "$(chrootd_state)" "with --idle-timeout 3, a call activates chrootd"
capture systemctl --user show -p ExecStart --value chrootd.service
assert_contains "--idle-timeout 3" "$OUT" "the drop-in is in effect"
if wait_until 12 eval '[ "$(chrootd_state)" != active ]'; then
        ms=$((($(date +%s%N) - t0) / 1000000))
        if [ $ms -ge 2000 ]; then
                ok "chrootd exits by itself after its idle period (${ms} ms after the last call)"
        else
                not_ok "chrootd exits by itself after its idle period" "it exited ${ms} ms after the last call, before 3 s"
        fi
else
        not_ok "chrootd exits by itself after its idle period" "still $(chrootd_state) 12 s after the last call"
fi
assert_eq inactive "$(chrootd_state)" "an idle exit is a clean one (not 'failed')"
if listed; then
        ok "the next call activates it again and the session is there"
else
        not_ok "the next call activates it again and the session is there" "$(list_sessions_tsv 2>&1)"
fi

# Not idle while a command runs: a 5 s command outlives the 3 s idle timeout.
pid_before=$(main_pid)
capture chrootctl run "$S" sh -c 'sleep 5; echo done'
assert_eq "0 done" "$RC $OUT" "a command longer than the idle timeout completes $ERR"
assert_eq "$pid_before" "$(main_pid)" "chrootd did not exit while the command ran"

rm -f "$dropin"
rmdir "$dropin_dir" 2>/dev/null
systemctl --user daemon-reload
chrootd_stop

# ---- and nothing on the host between commands ----
assert_eq "" "$(subid_processes)$(leader_processes)" "between commands no process of the session runs (the leader died with the service)"
assert_eq "$mounts_before" "$(cat /proc/self/mountinfo)" "between commands the host has no new mount"

capture chrootctl end "$S"
assert_eq 0 "$RC" "End $S $ERR"
assert_eq "" "$(list_sessions_tsv | grep "^$S	")" "the session is gone"

done_testing
