#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A session's /etc/passwd, /etc/group and /etc/shadow belong to root inside it (issue
# 10, item 3). The host never opens them by name: the command's init reads them inside
# the chroot, and Begin's add-login child inside the tree. So a fifo there gives a
# clear error instead of a hang; a symlink root inside swaps in, racing the reader,
# never makes anyone read a host file of the user; a symlink to another file of the
# chroot still works. Also the Run options that took the reading away from unschroot:
# an empty argv is the user's login shell from the chroot's /etc/passwd.
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

require_user_manager
require_subids

rootfs=$(test_rootfs) || bail_out "could not make the test root filesystem"
unschroot=$(chrootd_prefix)/libexec/chrootd/unschroot
[ -x "$unschroot" ] || bail_out "$unschroot is not installed"
sbuild=${XDG_CACHE_HOME:-$HOME/.cache}/sbuild
bases=${XDG_CACHE_HOME:-$HOME/.cache}/chrootd/bases
sdir=$(sessions_dir)
me=$(id -un)
tmp=$(mktemp -d)
# The user's own private file that a racer inside would like unschroot to read.
secret=$HOME/pw-secret
bg_pids=()
our_sessions="pw-fifo pw-fifobegin pw-wlink pw-race pw-link"

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
        rm -rf "$tmp" "$secret"
        rm -f "$sbuild"/pw-*.tar
        # The bases of the tarballs just removed, which no session holds: not left for
        # a later start of the service to remove while another test counts inodes or
        # processes. The removal runs in the background; it is waited for.
        manager_call CollectGarbage >/dev/null 2>&1 &&
                wait_until 60 eval '! ls -A "$bases" 2>/dev/null | grep -q "^\.old-"'
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
racers_gone() {
        local p
        for p in "${racers[@]}"; do
                gone "$p" || return 1
        done
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

# ---- the race: /etc/passwd swapped between a file and a link to a host path ----
capture "$unschroot" -b -c pw-box -n pw-race
[ "$RC" -eq 0 ] || bail_out "could not begin a session: $ERR"
printf 'root:x:0:0:PWLEAK:/PWLEAK-home:/PWLEAK-shell\n%s:x:%s:%s:PWLEAK:/PWLEAK-home:/PWLEAK-shell\n' \
        "$me" "$(id -u)" "$(id -g)" >"$secret"
chmod 0600 "$secret"
# The same path inside the chroot holds a copy of the chroot's own passwd, so the link
# is never dangling there: resolved inside, every Run finds a user.
capture chrootctl run pw-race -- sh -c "mkdir -p '${secret%/*}' && cp /etc/passwd '$secret' && cp /etc/passwd /etc/pw.reg"
[ "$RC" -eq 0 ] || bail_out "could not prepare the race: $ERR"
# The racer: a static program when the host can build one, which swaps the two names
# with one renameat2(RENAME_EXCHANGE) every few microseconds (or, where the file system
# cannot exchange, renames fresh entries over /etc/passwd), else busybox's mv in a loop
# (a swap every millisecond or so, which loses the race more often). Each prints how
# many swaps it made.
cat >"$tmp/racer.c" <<'EOF'
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
static int swap_fresh(const char *target, const char *text, ssize_t len) {
        int fd = open("/etc/pw.r", O_WRONLY | O_CREAT | O_TRUNC, 0644);

        if (fd < 0 || write(fd, text, (size_t) len) != len || close(fd) < 0 ||
            rename("/etc/pw.r", "/etc/passwd") < 0 || symlink(target, "/etc/pw.s") < 0 ||
            rename("/etc/pw.s", "/etc/passwd") < 0)
                return -1;
        return 0;
}
int main(int argc, char **argv) {
        char text[65536];
        unsigned long n = 0;
        int fd = open("/etc/pw.reg", O_RDONLY), exchange = 1;
        ssize_t len = fd < 0 ? -1 : read(fd, text, sizeof(text));

        if (argc != 2 || len <= 0 || symlink(argv[1], "/etc/pw.alt") < 0)
                return 2;
        close(fd);
        for (; n % 1024 || access("/tmp/pw-stop", F_OK) != 0; n++) {
                if (exchange && renameat2(AT_FDCWD, "/etc/pw.alt", AT_FDCWD, "/etc/passwd", RENAME_EXCHANGE) == 0)
                        continue;
                exchange = 0;
                if (swap_fresh(argv[1], text, len) < 0)
                        return perror("racer"), 1;
        }
        printf("%lu%s\n", n, exchange ? " exchanges" : " pairs of renames");
        return 0;
}
EOF
racer='n=0
while [ ! -e /tmp/pw-stop ]; do
        cp /etc/pw.reg /etc/pw.r$1 && mv -f /etc/pw.r$1 /etc/passwd
        ln -s "$2" /etc/pw.s$1 && mv -f /etc/pw.s$1 /etc/passwd
        n=$((n + 1))
done
echo "$n"'
racers=()
if cc -static -O2 -o "$tmp/racer" "$tmp/racer.c" 2>"$tmp/cc.err" &&
   chrootctl run pw-race -- sh -c 'cat >/tmp/pw-racer && chmod 755 /tmp/pw-racer' <"$tmp/racer"; then
        chrootctl run pw-race -- /tmp/pw-racer "$secret" >"$tmp/race-out.1" 2>&1 </dev/null &
        racers+=($!)
else
        diag "no static racer ($(cat "$tmp/cc.err")): three busybox loops instead"
        for i in 1 2 3; do
                chrootctl run pw-race -- sh -c "$racer" sh "$i" "$secret" >"$tmp/race-out.$i" 2>&1 </dev/null &
                racers+=($!)
        done
fi
bg_pids+=("${racers[@]}")
leaks=0 failures=0 runs=300
for ((i = 0; i < runs; i++)); do
        out=$("$unschroot" -r -c pw-race -u root -d / -- sh -c 'echo "$HOME $SHELL"' 2>&1)
        rc=$?
        [[ $out == *PWLEAK* ]] && leaks=$((leaks + 1))
        [ $rc -eq 0 ] || { failures=$((failures + 1)); last_failure=$out; }
done
for ((i = 0; i < 50; i++)); do
        timeout -k 5 10 chrootctl run pw-race -- touch /tmp/pw-stop >/dev/null 2>&1 && break
        sleep 0.1
done
wait_until 30 racers_gone ||
        diag "the racers did not stop: $(cat "$tmp"/race-out.*)"
note "swaps by the racers: $(cat "$tmp"/race-out.* | paste -sd' ')"
assert_eq 0 "$leaks" "$runs unschroot runs while root inside swaps in a link to the user's 0600 host file: none reads it"
assert_eq 0 "$failures" "... and every one of them finds root in the chroot's own file ${last_failure:-}"
chrootctl end pw-race >/dev/null 2>&1
rm -f "$secret"

# ---- a symlink to another file of the chroot is followed inside ----
capture "$unschroot" -b -c pw-box -n pw-link
[ "$RC" -eq 0 ] || bail_out "could not begin a session: $ERR"
capture chrootctl run pw-link -- sh -c 'mv /etc/passwd /etc/passwd.real && ln -s /etc/passwd.real /etc/passwd &&
        echo "pwshell:x:2001:2001::/tmp:/bin/ash" >>/etc/passwd.real'
[ "$RC" -eq 0 ] || bail_out "could not link /etc/passwd: $ERR"
capture "$unschroot" -r -c pw-link -u tester -d / -- sh -c 'echo "$(id -un) $HOME $SHELL"'
assert_eq "0 tester /home/tester /bin/sh" "$RC $OUT" "/etc/passwd linked to /etc/passwd.real: unschroot finds the user, HOME and SHELL $ERR"
capture chrootctl run pw-link --user tester -- sh -c 'echo "$(id -un) $HOME $SHELL"'
assert_eq "0 tester /home/tester /bin/sh" "$RC $OUT" "... and so does chrootctl run $ERR"

# ---- no command: the login shell of the chroot's passwd ----
out=$(echo 'echo "shell $0 $HOME"' | "$unschroot" -r -c pw-link -u pwshell -d / 2>&1)
assert_eq "0 shell /bin/ash /tmp" "$? $out" "unschroot without a command runs the user's login shell from the chroot"
out=$(echo 'echo "shell $0"' | "$unschroot" -r -c pw-link -u root -d / 2>&1)
assert_eq "0 shell /bin/sh" "$? $out" "... root's, /bin/sh"
capture busctl --user --timeout=120 call org.chrootd1 "$(session_path pw-link)" org.chrootd1.Session Run \
        'asa{sv}' 0 1 user s pwshell
assert_eq 'si "exited" 0' "$OUT" "Run with an empty argv runs the shell (on /dev/null: it exits 0) $ERR"
chrootctl end pw-link >/dev/null 2>&1

done_testing
