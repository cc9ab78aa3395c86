#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A session's /etc/passwd, /etc/group and /etc/shadow belong to root inside it (issue
# 10, item 3). The command's init reads them inside the chroot, and Begin's add-login
# child inside the tree, as root inside would resolve them and no further, without
# blocking: a fifo there gives a clear error instead of a hang; a symlink to another
# file of the chroot still works.
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

require_user_manager
require_subids

rootfs=$(test_rootfs) || bail_out "could not make the test root filesystem"
unschroot=$(chrootd_prefix)/libexec/chrootd/unschroot
[ -x "$unschroot" ] || bail_out "$unschroot is not installed"
sbuild=${XDG_CACHE_HOME:-$HOME/.cache}/sbuild
sdir=$(sessions_dir)
me=$(id -un)
tmp=$(mktemp -d)
bg_pids=()
our_sessions="pw-fifo pw-fifobegin pw-wlink"

end_ours() {
        local s
        for s in $our_sessions; do
                chrootctl end "$s" >/dev/null 2>&1
        done
}
cleanup() {
        local p
        exec 3>&- 2>/dev/null
        for p in "${bg_pids[@]}"; do
                kill -KILL "$p" 2>/dev/null
        done
        end_ours
        rm -rf "$tmp"
        rm -f "$sbuild"/pw-*.tar
        # The bases of the tarballs just removed, which no session holds: not left for
        # a later start of the service to remove while another test counts inodes.
        manager_call CollectGarbage >/dev/null 2>&1
}
trap cleanup EXIT
end_ours # what an earlier, interrupted run left
install_test_chroot pw-box tar.zst || bail_out "could not install the test chroot"

# timed LIMIT CMD...: capture CMD, sent SIGTERM after LIMIT seconds and SIGKILL 8 s
# later if it is still running then; sets MS to the milliseconds it took.
timed() {
        local limit=$1 t0
        shift
        t0=$(date +%s%N)
        capture timeout -k 8 "$limit" "$@"
        MS=$((($(date +%s%N) - t0) / 1000000))
}

# fails_fast DESC LIMIT NEEDLE CMD...: CMD fails by itself within LIMIT seconds (not
# killed by timeout: 124 is its SIGTERM, 137 the SIGKILL that follows when SIGTERM
# was ignored), saying NEEDLE on stderr.
fails_fast() {
        local desc=$1 limit=$2 needle=$3
        shift 3
        timed "$limit" "$@"
        if [ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && [ "$RC" -ne 137 ] && [[ $ERR == *"$needle"* ]]; then
                ok "$desc ($MS ms)"
        else
                not_ok "$desc" "took $MS ms (limit $limit s; 124: ended by SIGTERM, 137: SIGTERM ignored, SIGKILLed)" \
                        "expected stderr to contain: $needle"
                tap_command_diag "$@"
                return 1
        fi
}

# gone PID: the process has ended (bash reaps its children as they end).
gone() {
        ! kill -0 "$1" 2>/dev/null
}

# ---- a fifo, a directory, a fifo /etc/group inside a session ----
capture "$unschroot" -b -c pw-box -n pw-fifo
[ "$RC" -eq 0 ] || bail_out "could not begin a session: $ERR"
# Root inside breaks the files one after the other, each time waiting for a line on
# its stdin, then puts them back. It was started while they were whole, and ignores
# the signals clients pass on to every command of the session.
trap '' PIPE
mkfifo "$tmp/hold"
chrootctl run pw-fifo -- sh -c 'trap "" TERM INT HUP QUIT
        mv /etc/passwd /etc/passwd.real && mkfifo /etc/passwd && echo fifo; read x
        rm /etc/passwd && mkdir /etc/passwd && echo dir; read x
        rmdir /etc/passwd && ln -s /proc/1/environ /etc/passwd && echo proc; read x
        rm /etc/passwd && mv /etc/passwd.real /etc/passwd &&
                mv /etc/group /etc/group.real && mkfifo /etc/group && echo group; read x
        rm /etc/group && mv /etc/group.real /etc/group && echo restored' <"$tmp/hold" >"$tmp/holder" 2>&1 &
holder=$!
bg_pids+=("$holder")
exec 3>"$tmp/hold"
step() {
        echo next >&3
        wait_until 30 grep -qx "$1" "$tmp/holder" || bail_out "root inside did not get to '$1': $(cat "$tmp/holder")"
}
wait_until 30 grep -qx fifo "$tmp/holder" || bail_out "root inside could not make /etc/passwd a fifo: $(cat "$tmp/holder")"

fails_fast "a fifo /etc/passwd: chrootctl run fails at once" 5 "/etc/passwd" chrootctl run pw-fifo -- true
assert_contains "not a regular file" "$ERR" "... and says the file is not a regular file"
fails_fast "a fifo /etc/passwd: unschroot --run-session fails at once" 5 "/etc/passwd" \
        "$unschroot" --run-session -q -c pw-fifo -u root -d / -- true
assert_eq "1 1" "$RC $(grep -c '' <<<"$ERR")" "... with exit status 1 and one E: line"
fails_fast "a fifo /etc/passwd: the caller's default user fails at once too" 5 "/etc/passwd" \
        "$unschroot" -r -c pw-fifo -d / -- true
# A client that is sent SIGTERM while its Run has not started the command yet passes
# it on, and the Run ends (the command's init ends on it); the client with it.
"$unschroot" -r -c pw-fifo -u root -d / -- true >/dev/null 2>&1 &
client=$!
bg_pids+=("$client")
sleep 1
kill -TERM "$client" 2>/dev/null
if wait_until 5 gone "$client"; then
        ok "unschroot ends within 5 s of SIGTERM"
else
        not_ok "unschroot ends within 5 s of SIGTERM" "it still runs: $(ps -o pid=,args= -p "$client")"
        kill -KILL "$client" 2>/dev/null
fi
assert_eq 1 "$(session_property pw-fifo RunningCommands)" "no Run of the broken passwd keeps running (only root's own command)"

step dir
fails_fast "a directory /etc/passwd: a clear error" 5 "not a regular file" chrootctl run pw-fifo -- true
step proc
fails_fast "an /etc/passwd that leads into /proc (the init's own files): refused" 5 "/etc/passwd" \
        chrootctl run pw-fifo -- true
assert_contains "file system" "$ERR" "... because it leaves the chroot's file system"
step group
fails_fast "a fifo /etc/group: a clear error" 5 "/etc/group" chrootctl run pw-fifo -- true
step restored
echo done >&3
exec 3>&-
wait "$holder"
assert_eq 0 "$?" "root inside put the files back"
capture timeout -k 8 20 chrootctl run pw-fifo -- echo ok
assert_eq "0 ok" "$RC $OUT" "chrootctl run works again once the files are back $ERR"
capture timeout -k 8 20 "$unschroot" -r -c pw-fifo -u root -d / -- echo ok
assert_eq "0 ok" "$RC $OUT" "unschroot --run-session works again $ERR"
chrootctl end pw-fifo >/dev/null 2>&1

# ---- add-login at Begin of a tarball whose /etc/passwd is a fifo, or a symlink ----
# tarball NAME SETUP: the test tree, changed by SETUP (run in it), as $sbuild/NAME.tar.
tarball() {
        rm -rf "$tmp/tree" && cp -a "$rootfs/busybox-dir" "$tmp/tree" &&
                (cd "$tmp/tree" && eval "$2") &&
                tar --numeric-owner --owner=0 --group=0 -C "$tmp/tree" -cf "$sbuild/$1.tar" .
}
tarball pw-fifobox 'rm etc/passwd && mkfifo etc/passwd' || bail_out "could not make a tarball with a fifo"
before=$(ls -A "$sdir")
fails_fast "add-login Begin of a tarball whose /etc/passwd is a fifo fails at once" 15 "/etc/passwd" \
        "$unschroot" -b -c pw-fifobox -n pw-fifobegin
assert_match "^E: .*not a regular file" "$ERR" "... with a clear E: line"
wait_until 10 eval '! list_sessions_tsv | grep -q pw-fifobegin'
assert_eq "" "$(list_sessions_tsv | grep pw-fifobegin)" "... and no session is left"
assert_eq "$before" "$(ls -A "$sdir")" "... nor a session directory"
wait_until 10 eval '[ -z "$(subid_processes)" ]'
assert_eq "" "$(subid_processes)" "... nor a process"

tarball pw-linkbox 'mv etc/passwd etc/passwd.real && ln -s /etc/passwd.real etc/passwd' ||
        bail_out "could not make a tarball with a symlink"
capture "$unschroot" -b -c pw-linkbox -n pw-wlink
assert_eq "0 pw-wlink" "$RC $OUT" "add-login Begin of a tarball whose /etc/passwd links to a file of the chroot $ERR"
capture chrootctl run pw-wlink -- sh -c "test -L /etc/passwd && grep -c '^$me:' /etc/passwd.real"
assert_eq "0 1" "$RC $OUT" "... adds the login to the file it links to, through the link $ERR"
capture "$unschroot" -r -c pw-wlink -d / -- id -un
assert_eq "0 $me" "$RC $OUT" "... and the login can run commands $ERR"
chrootctl end pw-wlink >/dev/null 2>&1

done_testing
