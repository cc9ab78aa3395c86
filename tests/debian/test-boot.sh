#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Booted sessions (chrootctl begin --boot), in a real Debian tree of the host's release
# with systemd as init (make-tarball.sh SUITE systemd):
# - the system comes up: `systemctl is-system-running --wait` says running, PID 1 is
#   systemd, journald keeps what logger writes, a service started by one Run answers a
#   later Run, the Container Interface's $container, container_uuid and /run/host;
# - Runs behave as other sessions' Runs (status, stdio, user, directory, timeout, kill),
#   and their leftovers live on as a login's do; run -t gives a terminal, cp copies in
#   and out;
# - the host sees the container's processes only in the session's scope; nothing of the
#   host (home, user bus, its processes, its cgroups) is visible or writable inside, and
#   attacks by root inside (remounts, umounts, writes to /sys, /proc/sys, /run/host) fail;
# - reboot (chrootctl reboot, and systemctl reboot inside) boots the same tree again;
# - kill -9 of the service: the system dies with it and boots again at the next call;
# - End shuts the system down in under 5 s and leaves nothing; a .conf's boot=true;
#   the host's network on request; a tree without an init is a clear error.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_user_manager
require_subids
deb_require mmdebstrap
deb_boot_chroot
export PATH=$prefix/bin:$PATH
C=$DEB_BOOT_CHROOT
cd / || bail_out "cannot cd /"
deb_chrootd_snapshot
me_uid=$(id -u)

# inside S CMD...: run CMD in session S as root; RC, OUT, ERR.
inside() {
        local s=$1
        shift
        capture chrootctl run "$s" -- "$@"
}

boot_id() { chrootctl run "$1" -- cat /proc/sys/kernel/random/boot_id 2>/dev/null; }

# boot_cgroup S: the cgroup directory of S's system, as the service recorded it.
boot_cgroup() { cat "$(sessions_dir)/$1/boot-cgroup" 2>/dev/null; }

# cgroup_of PID: the process's cgroup v2 directory on the host.
cgroup_of() { sed -n 's|^0::|/sys/fs/cgroup|p' "/proc/$1/cgroup" 2>/dev/null; }

# ======================= 1. What cannot be booted, and says so =======================
install_test_chroot boot-busybox || bail_out "cannot install the busybox chroot"
start=$SECONDS
capture chrootctl begin --boot boot-busybox
assert_eq 1 "$RC" "begin --boot of a tree without an init fails"
assert_contains "Cannot execute the chroot's init (/sbin/init)" "$ERR" "and says it has no /sbin/init"
check "and says so at once" test $((SECONDS - start)) -lt 30
rm -f "${XDG_CACHE_HOME:-$HOME/.cache}/sbuild/boot-busybox.tar.zst"
deb_chrootd_nothing_left "after a tree without an init"

capture chrootctl begin --network=none "$C"
assert_eq 2 "$RC" "--network with begin but without --boot is a usage error"
assert_contains "needs '--boot'" "$ERR" "and says it needs --boot"

# A session that is not booted has no system to reboot and no console.
S0=$(chrootctl begin "$C")
check "a session of $C that is not booted begins" test -n "$S0"
assert_eq "False" "$(session_property "$S0" Boot)" "its Boot property is false"
inside "$S0" sh -c 'test "$(cat /proc/1/comm)" != systemd'
assert_eq 0 "$RC" "its PID 1 is not systemd (the tree is not booted unless asked) $ERR"
capture chrootctl reboot "$S0"
assert_contains "is not a booted session" "$RC $ERR" "chrootctl reboot of it fails: not a booted session"
capture chrootctl log "$S0"
assert_contains "is not a booted session" "$RC $ERR" "chrootctl log of it fails: not a booted session"
chrootctl end "$S0"

# ======================= 2. Boot: the system comes up =======================
start_ns=$(date +%s%N)
S=$(chrootctl begin --boot "$C")
took=$((($(date +%s%N) - start_ns) / 1000000))
check "begin --boot $C prints a session id" test -n "$S"
note "begin --boot until READY=1: $took ms"
assert_eq "True|running" "$(session_property "$S" Boot)|$(session_property "$S" BootState)" \
        "Boot is true and BootState running when begin returns"
capture chrootctl info "$S"
assert_match "Boot: yes" "$OUT" "chrootctl info shows Boot: yes"
assert_match "BootState: running" "$OUT" "and BootState: running"

inside "$S" systemctl is-system-running --wait
assert_eq "0|running" "$RC|$OUT" "systemctl is-system-running --wait says running" ||
        diag "$(chrootctl run "$S" -- systemctl --failed --no-pager 2>&1)"
inside "$S" systemctl --failed --no-legend --plain --no-pager
assert_eq "0|" "$RC|$OUT" "no unit failed"
inside "$S" sh -c 'cat /proc/1/comm; readlink /proc/1/exe'
assert_match "^systemd
/(usr/)?lib/systemd/systemd$" "$OUT" "PID 1 is systemd, as Runs see it"
inside "$S" sh -c 'tr "\0" "\n" </proc/1/environ | grep -E "^container(_uuid)?=" | sort'
assert_match "^container=chrootd
container_uuid=[0-9a-f-]{32,36}$" "$OUT" "PID 1 has \$container=chrootd and a container_uuid"
uuid=$(sed -n 's/^container_uuid=//p' <<<"$OUT")
inside "$S" systemd-detect-virt --container
assert_eq "0" "$RC" "systemd-detect-virt --container knows it is in a container ($OUT)"
inside "$S" sh -c 'cat /run/host/container-manager; . /run/host/os-release && echo "$ID"'
assert_eq "0|chrootd|debian" "$RC|$(paste -sd'|' <<<"$OUT")" \
        "/run/host has container-manager (chrootd) and the host's os-release"
inside "$S" sh -c 'tail -n 1 /proc/net/dev | cut -d: -f1; grep -c : /proc/net/dev'
assert_eq "0|lo|1" "$RC|$(paste -sd'|' <<<"$OUT" | tr -d ' ')" "by default the system's network has only lo"

# journald works inside: what logger writes, journalctl reads.
mark=chrootd-mark-$RANDOM$RANDOM
inside "$S" logger -t chrootd-test "$mark"
check "logger writes to the journal" test "$RC" -eq 0
check "journalctl finds it" wait_until 20 eval \
        "chrootctl run '$S' -- journalctl -t chrootd-test -o cat --no-pager 2>/dev/null | grep -qx '$mark'"
inside "$S" journalctl -b -u systemd-journald.service -o cat --no-pager
assert_eq 0 "$RC" "journalctl -b reads the boot's journal"

# A service started by one Run answers a later one (perl-base's IO::Socket, on lo).
inside "$S" sh -c 'printf "%s\n" "$@" >/usr/local/bin/chrootd-echo && chmod 755 /usr/local/bin/chrootd-echo' sh \
        '#!/usr/bin/perl' 'use IO::Socket::INET;' \
        'my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1:7777", Listen => 5, ReuseAddr => 1) or die "listen: $!";' \
        'while (my $c = $s->accept) { print $c "hello from a service\n"; close $c }'
assert_eq 0 "$RC" "a Run writes a small server into the tree $ERR"
inside "$S" systemd-run --unit=chrootd-echo /usr/local/bin/chrootd-echo
assert_eq 0 "$RC" "systemd-run starts it as a service inside $ERR"
check "a later Run connects to it" wait_until 20 eval \
        "chrootctl run '$S' -- bash -c 'exec 3<>/dev/tcp/127.0.0.1/7777 && cat <&3' 2>/dev/null | grep -qx 'hello from a service'"
inside "$S" systemctl is-active chrootd-echo.service
assert_eq "0|active" "$RC|$OUT" "systemctl in a later Run sees the service active"

# The console's output is the user's to read.
capture chrootctl log "$S"
assert_eq 0 "$RC" "chrootctl log prints the console log"
assert_match "Welcome to .*Debian" "$OUT" "the console shows systemd's welcome"

# ======================= 3. Runs in a booted session =======================
capture bash -c "echo hello | chrootctl run '$S' -- sh -c 'read x; echo \"got \$x\"; echo err >&2; exit 7'"
assert_eq "7|got hello|err" "$RC|$OUT|$ERR" "a Run's stdin, stdout, stderr and exit status are the caller's"
capture chrootctl run --user=nobody --directory=/tmp "$S" -- sh -c 'id -un; pwd'
assert_eq "0|nobody|/tmp" "$RC|$(paste -sd'|' <<<"$OUT")" "--user and --directory as in other sessions"
capture env FOO=bar chrootctl run -p "$S" -- sh -c 'echo "$FOO"'
assert_eq "0|bar" "$RC|$OUT" "--preserve-environment passes the caller's variables"
capture chrootctl run --timeout=1 "$S" -- sleep 100
assert_eq 124 "$RC" "--timeout kills a Run (124)"
bg_run "$(mktemp)" "$(mktemp)" run "$S" -- sleep 1001
check "a long Run starts" wait_until 20 eval '[ -n "$(host_pid "sleep 1001")" ]'
chrootctl kill "$S" KILL
wait "$BG"
assert_eq 137 "$?" "chrootctl kill S KILL ends a Run in a booted session (137)"
inside "$S" sh -c 'setsid sleep 1002 </dev/null >/dev/null 2>&1 & echo started'
assert_eq "0|started" "$RC|$OUT" "a Run leaves a process behind and returns"
inside "$S" pgrep -x -f "sleep 1002"
assert_eq 0 "$RC" "its leftover lives on, as a login's would"
bg_run "$(mktemp)" "$(mktemp)" run "$S" -- sleep 1003
check "another Run starts" wait_until 20 eval '[ -n "$(host_pid "sleep 1003")" ]'
chrootctl kill "$S" TERM
wait "$BG"
assert_eq 143 "$?" "chrootctl kill S (TERM) ends the running Run (143)"
check "and the leftover of the Run before" wait_until 10 eval \
        "! chrootctl run '$S' -- pgrep -x -f 'sleep 1002' >/dev/null"
inside "$S" systemctl is-active chrootd-echo.service
assert_eq "active" "$OUT" "but not the system's own services (a service a Run started with systemd-run)"
inside "$S" systemctl is-system-running
assert_eq "running" "$OUT" "the system still runs after its Runs were killed"

# A terminal (script(1) gives chrootctl one) and copies, as in other sessions.
capture script -qec "chrootctl run -t '$S' -- sh -c 'tty; test -t 0 && test -t 1 && echo on-a-tty; ps -o tty= -p \$\$'" /dev/null
assert_match "/dev/pts/[0-9]+" "$OUT" "run -t: the command's stdin is a pty of the system's devpts"
assert_contains "on-a-tty" "$OUT" "... stdin and stdout are the terminal"
assert_match "pts/[0-9]+" "$(sed -n 3p <<<"$OUT")" "... and it is the command's controlling terminal"
copies=$(mktemp -d)
mkdir -p "$copies/in/d"
printf 'copied in\n' >"$copies/in/d/f"
check "cp into a booted session" chrootctl cp "$copies/in/d" "$S:/root/"
inside "$S" stat -c '%U %a' /root/d/f
assert_eq "0|root 644" "$RC|$OUT" "... the file is there, root's inside, its mode kept"
check "cp out of a booted session" chrootctl cp "$S:/etc/os-release" "$copies/os-release"
check "... a symlink stays one" test -L "$copies/os-release"
check "cp out of a booted session" chrootctl cp "$S:/usr/lib/os-release" "$copies/os-release2"
inside "$S" cat /usr/lib/os-release
assert_eq "$OUT" "$(cat "$copies/os-release2")" "... the system's own file"
check_fails "a copy cannot read the system's /proc either" chrootctl cp "$S:/proc/1/environ" "$copies/environ"
rm -rf "$copies"

# ======================= 4. The host's view, and nothing of the host inside =======================
cg=$(boot_cgroup "$S")
check "the service recorded the system's cgroup" test -d "$cg"
outside=0 inside=0
for pid in $(subid_processes | awk '{ print $1 }'); do
        c=$(cgroup_of "$pid")
        [ -z "$c" ] && continue # gone meanwhile
        case "$c/" in "$cg"/*) inside=$((inside + 1)) ;; *) outside=$((outside + 1)); diag "outside: $pid $c" ;; esac
done
check "the host sees the container's processes" test "$inside" -ge 5
assert_eq 0 "$outside" "all of them in the session's scope ($cg)"
journald=$(host_pid "systemd-journald")
case $(cgroup_of "${journald:-0}")/ in
"$cg"/payload/system.slice/systemd-journald.service/) ok "the container's journald is in that scope, in the container's own system.slice" ;;
*) not_ok "the container's journald is in that scope, in the container's own system.slice" "got: $(cgroup_of "${journald:-0}")" ;;
esac
inside "$S" sh -c 'grep "^0::" /proc/self/cgroup'
assert_eq "0|0::/chrootd-runs" "$RC|$OUT" "a Run is in the commands' cgroup, and its path names nothing of the host"

sleep 3003 &
host_sleep=$!
inside "$S" sh -c 'ps -e -o args= | grep -c "^sleep 3003"; ls /proc | grep -c "^[0-9]"'
read -r seen count <<<"$(paste -sd' ' <<<"$OUT")"
assert_eq 0 "${seen:-x}" "a host process is not visible inside"
check "inside only the container's processes are ($count)" test "${count:-999}" -lt 60
kill "$host_sleep"; wait "$host_sleep" 2>/dev/null
inside "$S" sh -c "test ! -e '$HOME' && test ! -e '/run/user/$me_uid' && test -z \"\$(ls -A /home)\" && echo none"
assert_eq "0|none" "$RC|$OUT" "the host's home, its /run/user (the user bus) are not inside"
inside "$S" sh -c 'env | grep -E "^(DBUS_SESSION_BUS_ADDRESS|XDG_RUNTIME_DIR)=" || echo none'
assert_eq "none" "$OUT" "a Run gets no address of the user's bus"
inside "$S" sh -c 'cat /sys/fs/cgroup/cgroup.procs | while read p; do test -e /proc/$p || echo "$p"; done'
assert_eq "0|" "$RC|$OUT" "every process in the container's cgroup tree is one of its own"

# Root inside attacks what it was given; every attempt fails. attack_in SESSION DESC CMD;
# attack DESC CMD: in S.
attack_in() {
        local s=$1 desc=$2
        shift 2
        inside "$s" sh -c "$*"
        if [ "$RC" -ne 0 ]; then ok "$desc: refused"; else not_ok "$desc: refused" "it succeeded: $OUT"; fi
}
attack() { attack_in "$S" "$@"; }
attack "remount /sys read-write" mount -o remount,rw /sys
attack "write into /sys" 'echo 1 >/sys/kernel/mm/ksm/run'
attack "write /proc/sys" 'echo 1 >/proc/sys/kernel/sysrq'
# /proc and /proc/sys are PID 1's own mounts, as is what systemd mounts: its system's to
# remount. What the kernel guards behind them stays guarded.
attack "write a global sysctl through /proc/sys remounted read-write" \
        'mount -o remount,rw /proc/sys && echo 1 >/proc/sys/kernel/sysrq'
attack "write into /run/host" touch /run/host/x
attack "remount /run/host read-write" mount -o remount,rw /run/host
attack "unmount /run/host" umount /run/host
attack "unmount /run/host lazily" umount -l /run/host
attack "unmount /dev/null" umount -l /dev/null
attack "unmount /run" umount -l /run
attack "see the host's cgroup tree through a cgroup2 mount of its own" \
        'mkdir -p /tmp/cg && mount -t cgroup2 none /tmp/cg && find /tmp/cg -maxdepth 8 -name chrootd.slice | grep -q . && exit 0; test "$(stat -c %i /tmp/cg)" = "$(stat -c %i /sys/fs/cgroup)" && exit 1; exit 0'
attack "read the agent's environment" \
        'for p in $(pgrep -x -f chrootd-agent) $(pgrep chrootd); do cat /proc/$p/environ >/dev/null || exit 1; done; exit 1'
inside "$S" systemctl is-system-running
assert_eq "running" "$OUT" "the system still runs after the attacks"

# ======================= 5. Reboot =======================
id0=$(boot_id "$S")
inside "$S" sh -c 'echo kept >/var/tmp/chrootd-kept && echo gone >/run/chrootd-gone'
capture chrootctl reboot "$S"
assert_eq 0 "$RC" "chrootctl reboot $ERR"
id1=$(boot_id "$S")
check "a Run after the reboot waits for the new boot (a new boot id)" test -n "$id1" -a "$id1" != "$id0"
assert_eq "running" "$(session_property "$S" BootState)" "BootState is running again"
inside "$S" sh -c 'cat /var/tmp/chrootd-kept; test -e /run/chrootd-gone || echo clean; pgrep -x -f "sleep 1002" || echo none'
assert_eq "kept|clean|none" "$(paste -sd'|' <<<"$OUT")" "the same tree booted again: /var kept, /run new, no process of the last boot"
inside "$S" sh -c 'tr "\0" "\n" </proc/1/environ | sed -n "s/^container_uuid=//p"'
assert_eq "$uuid" "$OUT" "container_uuid stays the same across boots"
capture chrootctl log "$S"
assert_match "Welcome to" "$OUT" "the console log has the new boot"
check "the last boot's console is kept beside it" test -s "$(sessions_dir)/$S/console.previous"

# A command inside reboots the system: systemd's reboot, seen as PID 1's exit.
inside "$S" systemctl reboot
check "systemctl reboot inside returns" test "$RC" -eq 0 -o "$RC" -eq 143 -o "$RC" -eq 137
check "the system reboots (a new boot id)" wait_until 60 eval \
        '[ -n "$(boot_id "$S")" ] && [ "$(boot_id "$S")" != "$id1" ]'
inside "$S" systemctl is-system-running --wait
assert_eq "running" "$OUT" "and comes up running"

# ======================= 6. Two booted systems at once; a .conf's boot=true =======================
T=$(chrootctl begin "$C-booted")
check "a session of a chroot with boot=true begins" test -n "$T"
assert_eq "True|running" "$(session_property "$T" Boot)|$(session_property "$T" BootState)" \
        "boot=true in the .conf boots it without --boot"
inside "$T" sh -c 'cat /proc/1/comm; tr "\0" "\n" </proc/1/environ | sed -n "s/^container_uuid=//p"'
assert_eq "systemd" "$(head -n 1 <<<"$OUT")" "its PID 1 is systemd"
check "two booted sessions have their own container_uuid" test "$(tail -n 1 <<<"$OUT")" != "$uuid"
check "and their own boot id" test "$(boot_id "$T")" != "$(boot_id "$S")"
inside "$T" pgrep -f chrootd-echo
assert_eq 1 "$RC" "one system's services are not visible in the other"
capture "$compat/schroot" -c "$C-booted" -u root -- cat /proc/1/comm
assert_eq "0|systemd" "$RC|$OUT" "schroot's automatic session of a boot=true chroot is booted $ERR"
u=$("$compat/schroot" --begin-session -c "$C-booted" 2>/dev/null)
capture "$compat/schroot" --run-session -c "$u" -u root -- cat /proc/1/comm
check "a session that sbuild and autopkgtest use (--begin-session: the tree on the host) is not" \
        test "$RC" -eq 0 -a "$OUT" != systemd
"$compat/schroot" --end-session -c "$u"

# Root inside takes its own system apart; the host keeps what it had, End still cleans up.
inside "$T" sh -c 'umount /proc/sys/kernel/random/boot_id; umount /proc/sys/kernel/random/boot_id; umount /proc/sys; umount -l /proc'
assert_eq 0 "$RC" "root inside may unmount PID 1's own /proc $ERR"
inside "$T" sh -c 'for p in /proc/[0-9]*; do cat $p/comm; done | sort -u | tr "\n" " "'
check "beneath it only the container's processes and its boot init ($OUT)" \
        test -n "$OUT" -a -z "$(tr ' ' '\n' <<<"$OUT" | grep -vxE 'chrootd-(boot|agent|run)|systemd.*|\(sd-.*|dbus-daemon|agetty|sh|cat|sort|tr|')"
attack_in "$T" "read the boot init's environment beneath" 'cat /proc/1/environ'
attack_in "$T" "open the boot init's root beneath" 'ls /proc/1/root/'
attack_in "$T" "open the boot init's fds beneath" 'ls /proc/1/fd/'
attack_in "$T" "unmount the locked mounts beneath" 'umount -l /sys || umount -l /dev || umount -l /run/host'
chrootctl end "$T"

# ======================= 7. kill -9 of the service =======================
pid=$(main_pid)
check "the service runs" test "${pid:-0}" -gt 0
old=$(boot_id "$S")
kill -KILL "$pid"
check "the system dies with the service" wait_until 20 eval '[ -z "$(subid_processes)" ]'
id2=$(boot_id "$S")
check "the next call starts the service, which boots the session again" test -n "$id2" -a "$id2" != "$old"
assert_eq "running" "$(session_property "$S" BootState)" "BootState is running"
inside "$S" systemctl is-system-running --wait
assert_eq "running" "$OUT" "the system is running again"
check "the new boot has its cgroup" test -d "$(boot_cgroup "$S")"

# ======================= 8. End =======================
cg=$(boot_cgroup "$S")
start_ns=$(date +%s%N)
capture chrootctl end "$S"
took=$((($(date +%s%N) - start_ns) / 1000000))
assert_eq 0 "$RC" "chrootctl end of a booted session $ERR"
note "end of a booted session: $took ms"
check "End shut it down in under 5 s ($took ms)" test "$took" -lt 5000
check "its cgroup is removed" test ! -e "$cg"
check "its state (console logs, records) is removed" test ! -e "$(sessions_dir)/$S"
deb_chrootd_nothing_left "after End"

# ======================= 9. The host's network, on request =======================
S=$(chrootctl begin --boot --network=host "$C")
check "begin --boot --network=host" test -n "$S"
host_ifs=$(grep -c : /proc/net/dev)
inside "$S" grep -c : /proc/net/dev
assert_eq "0|$host_ifs" "$RC|$OUT" "the booted system has the host's interfaces"
inside "$S" sh -c 'mount -o remount,rw /proc/sys && echo 1 >/proc/sys/net/ipv4/conf/all/forwarding'
check "root inside cannot change the host network's settings (/proc/sys/net remounted read-write)" test "$RC" -ne 0
chrootctl end "$S"
deb_chrootd_nothing_left "after a session with the host's network"

done_testing
