#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Session.Run: exit statuses and signals, the caller's streams, ids inside and outside,
# networks, what a command leaves running, concurrency, users, working directory,
# environment, and the file systems a command finds.
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

require_user_manager

require_subids
install_test_chroot run-test tar.zst || bail_out "could not install the test chroot"

S=run-test-session
tmp=$(mktemp -d)
cleanup() {
        exec 3>&- 2>/dev/null
        chrootctl end "$S" >/dev/null 2>&1
        chrootctl end run-test-full >/dev/null 2>&1
        rm -rf "$tmp"
}
trap cleanup EXIT

capture chrootctl begin -n "$S" run-test
[ "$RC" -eq 0 ] || bail_out "could not begin a session: $ERR"
path=$(session_path "$S")

# busctl_run ARGV...: Session.Run through busctl, without options (busctl cannot pass
# fds: the streams are /dev/null); prints the reply, e.g. 'si "exited" 0'. The "--"
# keeps busctl from taking the command's options ("-c") for its own.
busctl_run() {
        busctl --user --timeout=120 call -- org.chrootd1 "$path" org.chrootd1.Session Run \
                'asa{sv}' "$#" "$@" 0
}

# ---- exit statuses and signals ----
for code in 0 1 7 255; do
        capture chrootctl run "$S" sh -c "exit $code"
        assert_eq "$code" "$RC" "chrootctl run exits $code when the command exits $code"
done
capture busctl_run sh -c 'exit 7'
assert_eq 'si "exited" 7' "$OUT" "Run replies (\"exited\", 7) for exit 7"
capture busctl_run sh -c 'exit 255'
assert_eq 'si "exited" 255' "$OUT" "Run replies (\"exited\", 255) for exit 255"
capture busctl_run sh -c 'kill -TERM $$'
assert_eq 'si "killed" 15' "$OUT" "Run replies (\"killed\", 15) when the command is killed by SIGTERM"
capture busctl_run sh -c 'kill -KILL $$'
assert_eq 'si "killed" 9' "$OUT" "Run replies (\"killed\", 9) when the command is killed by SIGKILL"
capture chrootctl run "$S" sh -c 'kill -TERM $$'
assert_eq 143 "$RC" "chrootctl run exits 128+15 when the command is killed by SIGTERM"
capture chrootctl run "$S" sh -c 'kill -SEGV $$'
assert_eq 139 "$RC" "chrootctl run exits 128+11 when the command is killed by SIGSEGV"

# ---- the caller's streams ----
head -c 1M /dev/urandom >"$tmp/in"
chrootctl run "$S" cat <"$tmp/in" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 0 ] && cmp -s "$tmp/in" "$tmp/out"; then
        ok "1 MiB of binary data goes through stdin and stdout unchanged"
else
        not_ok "1 MiB of binary data goes through stdin and stdout unchanged" "exit status $rc" \
                "$(cmp "$tmp/in" "$tmp/out" 2>&1)" "$(cat "$tmp/err")"
fi
chrootctl run "$S" sh -c 'echo to-stdout; echo to-stderr >&2' >"$tmp/out" 2>"$tmp/err"
assert_eq "to-stdout|to-stderr" "$(cat "$tmp/out")|$(cat "$tmp/err")" \
        "stdout and stderr of the command are the caller's"
capture chrootctl run "$S" sh -c 'read x; echo "read [$x]"'
assert_eq "read []" "$OUT" "stdin at end of file reads as empty"
# The caller's pipes are the user's on the host, whose uid is not in the session; the
# command's streams are pipes of its own user's (relay.h), so that scripts may open
# them again by name, as root and as another user, and stdout and stderr that were one
# pipe stay one stream, in order. (capture uses files: these need pipes.)
# piped STDIN ARGS...: chrootctl run ARGS with stdin, stdout and stderr all pipes.
piped() {
        local in=$1 cpid
        shift
        rm -f "$tmp/efifo"
        mkfifo "$tmp/efifo"
        cat "$tmp/efifo" >"$tmp/perr" &
        cpid=$!
        printf '%s' "$in" | chrootctl run "$@" 2>"$tmp/efifo" | cat >"$tmp/pout"
        RC=${PIPESTATUS[1]}
        wait "$cpid"
        OUT=$(cat "$tmp/pout") ERR=$(cat "$tmp/perr")
}
piped "" "$S" sh -c 'echo by-name >/dev/stderr; echo tee | tee /proc/self/fd/2; echo in >/dev/stdout'
assert_eq "0|tee|in|by-name|tee" "$RC|$(paste -sd'|' <<<"$OUT")|$(paste -sd'|' <<<"$ERR")" \
        "root inside opens /dev/stderr, /dev/stdout and /proc/self/fd/2 of the caller's pipes"
piped "from the caller" -u nobody "$S" sh -c 'echo as-nobody >/dev/stderr; cat /dev/stdin'
assert_eq "0|from the caller|as-nobody" "$RC|$OUT|$ERR" "so does another user, stdin too"
out=$(chrootctl run "$S" sh -c 'i=0; while [ $i -lt 300 ]; do echo o$i; echo e$i >&2; i=$((i+1)); done' 2>&1 | cat)
assert_eq "$(for i in $(seq 0 299); do echo "o$i"; echo "e$i"; done)" "$out" \
        "stdout and stderr given as one pipe keep the order of the command's writes"
chrootctl run "$S" sh -c 'echo to-file; echo to-file-err >&2; readlink /proc/$$/fd/1' >"$tmp/out" 2>"$tmp/err"
assert_eq "to-file|to-file-err" "$(head -n 1 "$tmp/out")|$(cat "$tmp/err")" "a file as stdout and stderr gets the output"
assert_eq "" "$(sed -n 2p "$tmp/out" | grep '^pipe:')" "files are passed as they are, not through a pipe"
# A command whose reader left: its writes fail (EPIPE/SIGPIPE) as they would have on
# the caller's pipe, and the Run ends.
timeout 20 chrootctl run "$S" yes | head -n 2 >"$tmp/yes"
assert_eq "141|y|y" "${PIPESTATUS[0]}|$(paste -sd'|' "$tmp/yes")" \
        "a command that writes on after its reader left dies of SIGPIPE (128+13), and the Run ends"
piped "" "$S" sh -c 'sleep 60 & echo started'
assert_eq "0|started" "$RC|$OUT" "a child that keeps the pipes open does not hold the Run (it dies with the command)"

out=$(chrootctl run "$S" sh -c 'cat; echo "rc=$?"; readlink /proc/self/fd/0' <&- 2>&1)
assert_eq "0 rc=0|/dev/null" "$? $(paste -sd'|' <<<"$out")" "a closed stdin is /dev/null for the command"
# Closed stdout and stderr too: the client's own fds (its bus socket, libsystemd's
# pidfd on newer releases) must never take their place.
# (The shell's own fds, read through a pipeline, which leaves them alone.)
chrootctl run "$S" sh -c '{ readlink /proc/$$/fd/1; readlink /proc/$$/fd/2; } | cat >/tmp/closed-fds' >&- 2>&-
assert_eq "0 /dev/null|/dev/null" "$? $(chrootctl run "$S" cat /tmp/closed-fds | paste -sd'|')" \
        "a closed stdout and stderr are /dev/null for the command"

# Nothing of the service leaks into the command: no other fds (the bus connection!),
# no ignored or blocked signals (the service ignores SIGPIPE).
# ls itself as the command: it lists its own fds, 0 1 2 and the directory it reads
# (3). A leaked fd would be listed too, and push ls's own to 4. (A shell pipeline would
# race: the shell holds a pipe's ends for a moment while it sets up the pipeline.)
capture chrootctl run "$S" ls /proc/self/fd
OUT=$(sort -n <<<"$OUT" | paste -sd" ")
assert_eq "0 1 2 3" "$OUT" "the command has only fds 0, 1 and 2 (3: ls's own) $ERR"
capture chrootctl run "$S" sh -c 'grep -E "^Sig(Ign|Blk):" /proc/self/status | paste -sd" "'
assert_eq "SigBlk:	0000000000000000 SigIgn:	0000000000000000" "$OUT" \
        "the command starts with no blocked or ignored signals"
capture chrootctl run "$S" sh -c 'yes | head -n 1; echo "${?}"'
assert_eq "0 y|0" "$RC $(paste -sd'|' <<<"$OUT")" "a pipeline into head ends (SIGPIPE works)"

# ---- ids: root inside, subordinate ids outside, the caller never ----
capture chrootctl run "$S" id -u
assert_eq 0 "$OUT" "the command runs as uid 0 inside"
# Inside, the command's own user namespace maps the session's ids 0..65535 onto
# themselves (what they are on the host is checked below, from the host).
capture chrootctl run "$S" sh -c 'cat /proc/self/uid_map /proc/self/gid_map'
assert_eq "0 0 65536|0 0 65536" "$(awk '{ print $1, $2, $3 }' <<<"$OUT" | paste -sd'|')" \
        "inside, the command's user namespace maps the session's ids 0..65535 onto themselves"
# A full copy's tree is on the host, in the session's directory (not its RootDirectory,
# which an ordinary session does not have).
F=run-test-full
capture chrootctl begin --union-type none -n "$F" run-test
[ "$RC" -eq 0 ] || bail_out "could not begin a full-copy session: $ERR"
capture chrootctl run "$F" --user tester sh -c 'echo hi >/home/tester/made-by-tester'
root=$(sessions_dir)/$F/root
assert_eq "$(host_id uid 1000):$(host_id gid 1000)" "$(stat -c %u:%g "$root/home/tester/made-by-tester" 2>&1)" \
        "a file made by tester (1000) inside belongs to what 1000 maps to on the host"
me=$(id -u); myg=$(id -g)
if [ "$me" -lt 65536 ] && [ "$myg" -lt 65536 ]; then
        # The caller's own ids are not in an ordinary session: a file the caller makes
        # in its tree from the host is nobody's inside, and root inside cannot touch it...
        echo from-host >"$root/tmp/made-on-host"
        capture chrootctl run "$F" sh -c 'stat -c %u:%g /tmp/made-on-host; chmod 0600 /tmp/made-on-host || echo refused'
        assert_eq "65534:65534|refused" "$(paste -sd'|' <<<"$OUT")" \
                "a file the caller makes in an ordinary session's tree from the host is nobody's inside: root inside cannot chmod it"
        # ...and a command running as the caller's uid inside is a subordinate id outside.
        chrootctl run "$F" sh -c "echo 'me:x:$me:$myg::/tmp:/bin/sh' >>/etc/passwd"
        capture chrootctl run "$F" --user "$me" sh -c 'id -u; echo x >/tmp/made-by-me'
        assert_eq "$me" "$OUT" "a command can run as uid $me (the caller's number) inside"
        assert_eq "$(host_id uid "$me"):$(host_id gid "$myg")" "$(stat -c %u:%g "$root/tmp/made-by-me" 2>&1)" \
                "a file made inside by uid $me belongs to subordinate ids on the host, not to the caller"
        chrootctl end "$F" >/dev/null 2>&1

        # A host-tree session (unschroot's) is schroot's: the caller's ids are themselves.
        capture busctl --user call org.chrootd1 /org/chrootd1 org.chrootd1.Manager BeginSession 'ssa{sv}' run-test "$F" 2 \
                host-tree b true union-type s none
        [ "$RC" -eq 0 ] || bail_out "could not begin a host-tree session: $ERR"
        root=$(session_property "$F" RootDirectory)
        echo from-host >"$root/tmp/made-on-host"
        capture chrootctl run "$F" sh -c 'stat -c %u:%g /tmp/made-on-host && chmod 0600 /tmp/made-on-host &&
                chown 0:0 /tmp/made-on-host && stat -c "%u:%g %a" /tmp/made-on-host'
        assert_eq "$me:$myg|0:0 600" "$(paste -sd'|' <<<"$OUT")" \
                "host-tree: a file made on the host in the tree is the caller's ids inside, and root inside may chmod and chown it"
        chrootctl run "$F" sh -c "echo 'me:x:$me:$myg::/tmp:/bin/sh' >>/etc/passwd"
        capture chrootctl run "$F" --user "$me" sh -c 'id -u; echo x >/tmp/made-by-me'
        assert_eq "$me" "$(stat -c %u "$root/tmp/made-by-me" 2>&1)" \
                "host-tree: a file made inside by the caller's uid belongs to the caller on the host"
        check "host-tree: the caller can remove it from the host" rm "$root/tmp/made-by-me"
        chrootctl end "$F" >/dev/null 2>&1
else
        for t in host-file-owner own-uid own-file host-tree-owner host-tree-file host-tree-remove; do
                skip "caller's ids inside: $t" "the caller's uid or gid is above 65535: not mapped into sessions"
        done
        chrootctl end "$F" >/dev/null 2>&1
fi
# A command that waits on a fifo, so that it can be looked at from the host.
mkfifo "$tmp/fifo"
chrootctl run "$S" sh -c 'read x; exit 0' run-test-uid-marker <"$tmp/fifo" >/dev/null 2>&1 &
waiter=$!
exec 3>"$tmp/fifo"
if wait_until 10 eval 'subid_processes | grep -q run-test-uid-marker'; then
        hostpid=$(subid_processes | awk '/run-test-uid-marker/ { print $1; exit }')
        uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$hostpid/status" 2>&1)
        assert_eq "$suid $suid $suid $suid" "$uids" \
                "on the host, the command runs as the first subordinate uid ($suid)"
        # Read from the host, the maps say what the command's ids are outside.
        assert_eq "$(session_id_map uid)|$(session_id_map gid)" \
                "$(cat "/proc/$hostpid/uid_map" "/proc/$hostpid/gid_map" | awk '{ print $1, $2, $3 }' | paste -sd'|')" \
                "on the host, the command's ids 0..65535 are the subordinate ids, and the caller's own are not among them"
        # Its user namespace is its own, a child of the session leader's.
        init=$(awk '/^PPid:/ { print $2 }' "/proc/$hostpid/status")
        leader=$(awk '/^PPid:/ { print $2 }' "/proc/$init/status")
        parent=$(python3 -c '
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
print(os.fstat(fcntl.ioctl(fd, 0xb702)).st_ino)  # NS_GET_PARENT
' "/proc/$hostpid/ns/user" 2>&1)
        assert_eq "$(stat -L -c %i "/proc/$leader/ns/user" 2>&1)" "$parent" \
                "the command's user namespace is a child of its session leader's"
else
        not_ok "on the host, the command runs as the first subordinate uid ($suid)" \
                "no process of the command found among: $(ps -e -o pid=,uid=,args= | grep -v ' 0 ' | tail -n 20)"
fi
echo go >&3
exec 3>&-
wait "$waiter"
assert_eq 0 "$?" "the waiting command ends when its stdin says so"

# ---- networks ----
capture chrootctl run "$S" --network=none ip -o link
assert_eq lo "$(awk -F': ' '{ print $2 }' <<<"$OUT" | sed 's/@.*//')" "network none: ip link shows only lo"
assert_match 'LOOPBACK,UP' "$OUT" "network none: lo is up"
capture chrootctl run "$S" --network=none cat /proc/net/dev
assert_eq lo "$(tail -n +3 <<<"$OUT" | awk -F: '{ gsub(/ /, "", $1); print $1 }')" \
        "network none: /proc/net/dev has only lo"
host_ifaces=$(tail -n +3 /proc/net/dev | awk -F: '{ gsub(/ /, "", $1); print $1 }' | sort)
capture chrootctl run "$S" cat /proc/net/dev
assert_eq "$host_ifaces" "$(tail -n +3 <<<"$OUT" | awk -F: '{ gsub(/ /, "", $1); print $1 }' | sort)" \
        "default network: the host's interfaces ($(echo $host_ifaces))"
capture chrootctl run "$S" --network=host cat /proc/net/dev
assert_eq "$host_ifaces" "$(tail -n +3 <<<"$OUT" | awk -F: '{ gsub(/ /, "", $1); print $1 }' | sort)" \
        "network host: the host's interfaces"

# ---- namespaces: fresh for every command ----
# (busybox readlink; each command's user namespace is a child of the one the session's
# leader holds between commands)
# The kernel reuses a freed namespace's inode number, so the four commands compared
# run at the same time: each prints its namespaces, then waits (10 s at most) until
# all four have.
chrootctl run "$S" sh -c 'rm -f /tmp/ns-printed.*'
ns_pids=()
for k in 1 2 3 4; do
        opt=--network=host
        [ $k -le 2 ] || opt=--network=none
        chrootctl run "$S" $opt sh -c 'for n in user pid mnt ipc uts net cgroup; do readlink /proc/self/ns/$n; done
                touch /tmp/ns-printed.$1
                i=0; while [ $(ls /tmp/ns-printed.* | wc -l) -lt 4 ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done' \
                sh $k >"$tmp/ns.$k" 2>&1 </dev/null &
        ns_pids+=($!)
done
wait "${ns_pids[@]}"
ns1=$(paste -sd' ' "$tmp/ns.1") ns2=$(paste -sd' ' "$tmp/ns.2") ns3=$(paste -sd' ' "$tmp/ns.3") ns4=$(paste -sd' ' "$tmp/ns.4")
read -r u1 p1 m1 i1 h1 n1 c1 <<<"$ns1"
read -r u2 p2 m2 i2 h2 n2 c2 <<<"$ns2"
read -r u3 p3 m3 i3 h3 n3 c3 <<<"$ns3"
read -r u4 p4 m4 i4 h4 n4 c4 <<<"$ns4"
note "first: $ns1; second: $ns2"
if [ -n "$u1" ] && [ "$u1" != "$(readlink /proc/self/ns/user)" ] && [ "$u1" != "$u2" ]; then
        ok "two commands have user namespaces of their own, not the host's"
else
        not_ok "two commands have user namespaces of their own, not the host's" "$ns1" "$ns2" "host: $(readlink /proc/self/ns/user)"
fi
fresh=yes
for pair in "$p1 $p2" "$m1 $m2" "$i1 $i2" "$h1 $h2" "$c1 $c2" "$n3 $n4"; do
        read -r a b <<<"$pair"
        { [ -n "$a" ] && [ "$a" != "$b" ]; } || fresh=no
done
for mine in "$p1" "$m1" "$i1" "$h1" "$c1"; do
        kind=${mine%%:*}
        [ "$mine" != "$(readlink "/proc/self/ns/$kind")" ] || fresh=no
done
assert_eq yes "$fresh" "each command gets its own pid, mount, ipc, uts and cgroup namespace (and net with network none)"
assert_eq "$(readlink /proc/self/ns/net)|$(readlink /proc/self/ns/net)" "$n1|$n2" "by default commands use the host's network namespace"
{ [ -n "$u3" ] && [ "$u3" != "$u4" ] && [ "$u3" != "$u1" ] && [ "$u4" != "$u2" ]; } &&
        ok "commands with network none have user namespaces of their own too" ||
        not_ok "commands with network none have user namespaces of their own too" "$ns3" "$ns4"

# ---- what a command leaves behind ----
start=$SECONDS
capture timeout 30 chrootctl run "$S" sh -c 'sleep 1000 & echo started'
assert_eq "0 started" "$RC $OUT" "a command that leaves 'sleep 1000 &' behind returns"
assert_eq "" "$(subid_processes | grep 'sleep 1000')" "nothing it left behind runs after Run returned"
note "took $((SECONDS - start)) s"
assert_eq 0 "$(session_property "$S" RunningCommands)" "RunningCommands is 0 after it"

# ---- concurrent runs ----
t0=$(date +%s%N)
pids=()
for i in 1 2 3 4 5 6 7 8; do
        chrootctl run "$S" sh -c "sleep 1; echo $i" >"$tmp/conc.$i" 2>&1 &
        pids+=($!)
done
# While they run, the session counts them.
sleep 0.5
running=$(session_property "$S" RunningCommands)
failed=0
for i in 1 2 3 4 5 6 7 8; do
        wait "${pids[$((i - 1))]}" || failed=$((failed + 1))
        [ "$(cat "$tmp/conc.$i")" = "$i" ] || failed=$((failed + 1))
done
ms=$((($(date +%s%N) - t0) / 1000000))
assert_eq 0 "$failed" "8 concurrent runs all succeed with their own output"
if [ $ms -lt 4000 ]; then
        ok "8 concurrent 'sleep 1' runs overlap (${ms} ms in all)"
else
        not_ok "8 concurrent 'sleep 1' runs overlap" "they took ${ms} ms; one after another would take 8000"
fi
if [ "${running:-0}" -ge 2 ] 2>/dev/null; then
        ok "RunningCommands counts concurrent runs ($running)"
else
        not_ok "RunningCommands counts concurrent runs" "RunningCommands was '$running' while 8 ran"
fi

# ---- user, working directory ----
capture chrootctl run "$S" --user tester sh -c 'id -u; id -g; id -Gn; echo "$HOME $USER $LOGNAME"'
uid=$(sed -n 1p <<<"$OUT") gid=$(sed -n 2p <<<"$OUT") groups=$(sed -n 3p <<<"$OUT") rest=$(sed -n 4p <<<"$OUT")
assert_eq "1000 1000" "$uid $gid" "--user tester: uid and gid 1000 $ERR"
assert_match '(^| )staff( |$)' "$groups" "--user tester: in the supplementary group staff"
assert_eq "/home/tester tester tester" "$rest" "--user tester: HOME, USER and LOGNAME of tester"
capture chrootctl run "$S" --user 1000 id -un
assert_eq tester "$OUT" "--user 1000 (numeric) runs as tester"
capture chrootctl run "$S" --user tester sh -c 'grep -E "^Cap(Prm|Eff|Amb):" /proc/self/status | cut -f2 | paste -sd" "'
assert_eq "0000000000000000 0000000000000000 0000000000000000" "$OUT" "--user tester: no capabilities"
capture chrootctl run "$S" --user tester touch /root/nope
assert_eq 1 "$((RC != 0))" "tester cannot write in /root (not root inside)"
capture chrootctl run "$S" --directory /tmp pwd
assert_eq /tmp "$OUT" "--directory /tmp sets the working directory"
capture chrootctl run "$S" pwd
assert_eq / "$OUT" "the default working directory is /"

# ---- environment ----
capture env CHROOTD_TEST_CALLER_VAR=leak FOO=bar chrootctl run "$S" env
env_keys=$(cut -d= -f1 <<<"$OUT" | sort | tr '\n' ' ')
for k in HOME USER LOGNAME PATH; do
        assert_match "(^| )$k( |$)" "$env_keys" "clean environment has $k"
done
assert_eq "" "$(grep -E '^(CHROOTD_TEST_CALLER_VAR|FOO|DBUS_SESSION_BUS_ADDRESS|XDG_RUNTIME_DIR)=' <<<"$OUT")" \
        "clean environment has none of the caller's variables"
assert_eq "HOME=/root USER=root" "$(grep -E '^(HOME|USER)=' <<<"$OUT" | sort | tr '\n' ' ' | sed 's/ $//')" \
        "clean environment: HOME and USER of root"
capture env FOO=bar LD_PRELOAD= LD_LIBRARY_PATH=/nonexistent-chrootd-test USER=someone-else \
        chrootctl run "$S" -p env
assert_contains $'\nFOO=bar\n' $'\n'"$OUT"$'\n' "-p passes FOO=bar through"
assert_eq "" "$(grep -E '^LD_' <<<"$OUT")" "-p does not pass LD_PRELOAD or LD_LIBRARY_PATH"
assert_eq "USER=root" "$(grep -E '^USER=' <<<"$OUT")" "-p: USER is still the target user"
capture env -i DBUS_SESSION_BUS_ADDRESS="${DBUS_SESSION_BUS_ADDRESS:-unix:path=$XDG_RUNTIME_DIR/bus}" \
        XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" FOO=bar "$(command -v chrootctl)" run "$S" -p env
assert_match '(^|'$'\n'')PATH=/' "$OUT" "-p without PATH in the caller's environment: PATH is set $ERR"
assert_match '(^|'$'\n'')FOO=bar' "$OUT" "-p without PATH: FOO=bar still passed"

# ---- the file systems a command finds ----
capture chrootctl run "$S" sh -c 'test -e /proc/self/status && readlink /proc/self'
assert_match '^[0-9]+$' "$OUT" "/proc is mounted (/proc/self is $OUT)"
capture chrootctl run "$S" sh -c 'ls -d /proc/[0-9]* | wc -l'
if [ "$RC" -eq 0 ] && [ "$OUT" -lt 10 ] 2>/dev/null; then
        ok "/proc shows a fresh pid namespace ($OUT processes)"
else
        not_ok "/proc shows a fresh pid namespace" "processes in /proc: $OUT $ERR"
fi
# The command's pid 1 is chrootd's init, a copy of the service: root inside must not
# be able to read its memory or fds, or attach to it.
capture chrootctl run "$S" sh -c 'cat /proc/1/environ >/dev/null 2>&1 && echo environ; ls /proc/1/fd >/dev/null 2>&1 && echo fd; head -c1 /proc/1/mem >/dev/null 2>&1 && echo mem; echo done'
assert_eq "done" "$OUT" "root inside cannot read its init's environ, fds or memory $ERR"
check "/dev/null is writable" chrootctl run "$S" sh -c 'echo x >/dev/null'
check "/dev/zero and /dev/urandom are readable" chrootctl run "$S" sh -c 'head -c 1 /dev/zero | od >/dev/null && head -c 1 /dev/urandom >/dev/null'
check "/dev/shm is a writable tmpfs" chrootctl run "$S" sh -c 'echo x >/dev/shm/f && grep -q " /dev/shm tmpfs " /proc/mounts'
check "/dev/pts exists, with a ptmx" chrootctl run "$S" sh -c 'test -d /dev/pts && test -e /dev/ptmx'
capture chrootctl run "$S" sh -c 'grep " /sys " /proc/mounts'
assert_match '(^| )ro[ ,]' "$OUT" "/sys is mounted read-only"
capture chrootctl run "$S" hostname
if [ "$RC" -eq 0 ] && [ -n "$OUT" ] && [ "$OUT" != "$(hostname)" ]; then
        ok "the hostname is set ($OUT), not the host's"
else
        not_ok "the hostname is set, not the host's" "inside: '$OUT' ($ERR), host: '$(hostname)'"
fi
capture chrootctl run "$S" sh -c 'echo x >/root/written && cat /root/written'
assert_eq x "$OUT" "the command can write in the tree"

# Nothing of the session runs between commands: the session's leader and its spare
# init go a few seconds after its last command.
assert_eq "" "$(subid_processes)" "no process of a command runs as a subordinate id between commands"
wait_until 15 eval '[ -z "$(leader_processes)" ]'
assert_eq "" "$(leader_processes)" "the session's leader and spare init are gone a few seconds after its last command"

capture chrootctl end "$S"
assert_eq 0 "$RC" "End the session $ERR"

done_testing
