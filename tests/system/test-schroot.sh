#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# unschroot, the schroot-compatible front end, as sbuild and autopkgtest drive it
# (COMPAT.md): every option form, --list/--info/--config/--location in schroot's
# formats, begin/run/end, automatic sessions, the environment rules, exit codes, one
# "E: ..." line and exit 1 for each bad input, and nothing on stderr on success. Both
# the installed binary and the schroot-compat/schroot link are exercised.
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

require_user_manager

rootfs=$(test_rootfs) || bail_out "could not make the test root filesystem"
prefix=$(chrootd_prefix)
unschroot=$prefix/libexec/chrootd/unschroot
compat=$prefix/libexec/chrootd/schroot-compat
confd=${XDG_CONFIG_HOME:-$HOME/.config}/chrootd/chroots.d
conf=$confd/test-schroot.conf
me=$(id -un)
uuid_re='[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
root_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
user_path=/usr/local/bin:/usr/bin:/bin
sessions=()

cleanup() {
        local s
        for s in "${sessions[@]}"; do
                "$unschroot" -e -c "$s" >/dev/null 2>&1
        done
        rm -f "$conf"
}
trap cleanup EXIT

[ -x "$unschroot" ] || bail_out "$unschroot is not installed"
install_test_chroot us-bb tar.zst || bail_out "could not install the test chroot"
mkdir -p "$confd"
printf '%s\n' '[us-conf]' 'type=file' "file=$rootfs/busybox.tar.gz" 'aliases=us-alias' \
        'description=unschroot test chroot' >"$conf"

# us_fails DESC NEEDLE CMD...: CMD exits 1, prints nothing on stdout and exactly one
# line on stderr, "E: ..." containing NEEDLE.
us_fails() {
        local desc=$1 needle=$2 lines
        shift 2
        capture "$@"
        lines=$(printf '%s' "$ERR" | grep -c '')
        if [ "$RC" -eq 1 ] && [ -z "$OUT" ] && [ "$lines" -eq 1 ] && [[ $ERR == "E: "* ]] &&
           [[ $ERR == *"$needle"* ]]; then
                ok "$desc: exit 1, one E: line"
        else
                not_ok "$desc: exit 1, one E: line containing '$needle'" "stderr lines: $lines"
                tap_command_diag "$@"
                return 1
        fi
}

# us_ok DESC EXPECTED CMD...: CMD exits 0, prints EXPECTED on stdout, nothing on stderr.
us_ok() {
        local desc=$1 expected=$2
        shift 2
        capture "$@"
        if [ "$RC" -eq 0 ] && [ -z "$ERR" ] && [ "$OUT" = "$expected" ]; then
                ok "$desc"
        else
                not_ok "$desc" "expected stdout: '$expected'"
                tap_command_diag "$@"
                return 1
        fi
}

# assert_line REGEX TEXT DESC: some line of TEXT matches REGEX (grep -E).
assert_line() {
        if grep -Eq -- "$1" <<<"$2"; then
                ok "$3"
        else
                not_ok "$3" "no line matches: $1" "in:" "$2"
        fi
}

session_ids() {
        list_sessions_tsv | cut -f1 | LC_ALL=C sort
}

# ---- installation ----
assert_eq "../unschroot" "$(readlink "$compat/schroot")" "schroot-compat/schroot links to ../unschroot"
check "the schroot link runs unschroot" "$compat/schroot" --version
assert_match '^unschroot ' "$OUT" "--version names unschroot"
us_ok "-V is --version" "$OUT" "$unschroot" -V
capture "$unschroot" --help
assert_eq "0 " "$RC $ERR" "--help exits 0, silent on stderr"
assert_contains "--begin-session" "$OUT" "--help lists the options"

# ---- --list ----
tsv=$(list_chroots_tsv)
expected=$(awk -F'\t' '{ print "chroot:" $1; n = split($5, a, ","); for (i = 1; i <= n; i++) print "chroot:" a[i] }' <<<"$tsv" | LC_ALL=C sort)
us_ok "--list: chroot:NAME and chroot:ALIAS lines, sorted" "$expected" "$unschroot" --list
assert_contains "chroot:us-bb-sbuild" "$OUT" "a tarball chroot answers to NAME-sbuild too"
us_ok "-l is --list, and the schroot link gives the same" "$expected" "$compat/schroot" -l
us_ok "--list --exclude-aliases: names only" "$(cut -f1 <<<"$tsv" | sed 's/^/chroot:/' | LC_ALL=C sort)" \
        "$unschroot" --list --exclude-aliases
us_ok "--list --all-source-chroots: source:NAME lines" \
        "$(cut -f1 <<<"$tsv" | sed 's/^/source:/' | LC_ALL=C sort)" "$unschroot" --list --all-source-chroots --exclude-aliases
us_ok "--list -c ALIAS lists that one" "chroot:us-alias" "$unschroot" --list -c us-alias
us_fails "--list of an unknown chroot" "chroot:us-nope: Chroot not found" "$unschroot" --list -c us-nope

# ---- --info ----
capture env LC_ALL=C "$unschroot" --info
info=$OUT
assert_eq "0 " "$RC $ERR" "--info with no other argument exits 0, silent on stderr"
n=$(grep -c '' <<<"$tsv")
assert_eq "$n $n" "$(grep -cx '  ─── Chroot ───' <<<"$info") $(grep -cx '  ─── Source ───' <<<"$info")" \
        "--info: a '  ─── Chroot ───' and a '  ─── Source ───' block per chroot, even under LC_ALL=C"
assert_eq "$((2 * n - 1))" "$(grep -c '^$' <<<"$info")" "--info: blocks separated by one blank line"
assert_eq "" "$(grep -vE '^(  ─── (Chroot|Source) ───|  [A-Z][A-Za-z ]+[^ ] +.*|)$' <<<"$info")" \
        "--info: every other line is '  Key   value'"
# What sbuild reads from it: the block after each header, Name, Aliases, Session Purged.
parsed=$(awk '/^  ─── /{ t = $2 } /^  Name /{ n = $2 } /^  Aliases /{ a = $2 }
        /^  Session Purged /{ p = $3 } /^$/{ print t, n, a, p; a = "" } END { print t, n, a, p }' <<<"$info")
assert_contains "Chroot us-bb us-bb-sbuild true" "$parsed" "--info: us-bb's block has Name, Aliases, Session Purged true"
assert_contains "Chroot us-conf us-alias true" "$parsed" "--info: us-conf's block has its alias"
assert_contains "Source us-bb us-bb-sbuild false" "$parsed" "--info: the source chroot's sessions are not purged"
capture "$unschroot" --info --chroot us-alias
assert_match $'^  ─── Chroot ───\n  Name +us-conf\n  Description +unschroot test chroot\n' "$OUT" \
        "--info --chroot ALIAS: that chroot's block only"
assert_match $'\n  File +'"$rootfs"'/busybox\.tar\.gz$' "$OUT" "--info: a file chroot shows its tarball"
us_fails "--info of an unknown chroot" "chroot:us-nope: Chroot not found" "$unschroot" --info -c us-nope

# ---- --config ----
capture "$unschroot" --config --chroot us-conf
config=$OUT
assert_eq "0 " "$RC $ERR" "--config --chroot NAME exits 0, silent on stderr"
assert_eq "[us-conf]" "$(grep -v '^#' <<<"$config" | head -n 1)" "--config: comments, then [name]"
for kv in type=file "root-users=$me" root-groups= "file=$rootfs/busybox.tar.gz" aliases=us-alias; do
        assert_eq 1 "$(grep -cxF -- "$kv" <<<"$config")" "--config has $kv"
done
assert_eq "" "$(grep -vE '^(#.*|\[us-conf\]|[a-z-]+=[^=]*)$' <<<"$config")" "--config: only key=value lines, no = in values"
capture "$unschroot" --config -c us-bb-sbuild
assert_eq "[us-bb]" "$(grep -v '^#' <<<"$OUT" | head -n 1)" "--config by alias names the chroot"

# ---- --begin-session, every option form ----
capture "$unschroot" -c chroot:us-bb --begin-session
s1=$OUT
[ "$RC" -eq 0 ] && sessions+=("$s1")
assert_match "^us-bb-$uuid_re\$" "$s1" "-c chroot:NAME --begin-session prints <chroot>-<uuid> $ERR"
assert_eq "" "$ERR" "--begin-session is silent on stderr"
raw=$("$unschroot" -c us-bb -b 2>/dev/null; echo x)
assert_match "^us-bb-$uuid_re"$'\n'"x\$" "$raw" "the id is followed by one newline, nothing else"
us_ok "--quiet --begin-session --chroot NAME --session-name ID" us-named \
        "$unschroot" --quiet --begin-session --chroot us-conf --session-name us-named
[ "$RC" -eq 0 ] && sessions+=(us-named)
us_ok "-b -c ALIAS -n ID" us-short "$unschroot" -b -c us-alias -n us-short
[ "$RC" -eq 0 ] && sessions+=(us-short)
us_ok "--chroot=NAME --session-name=ID -b (= forms, any order)" us-eq "$compat/schroot" --session-name=us-eq --chroot=us-bb -b
[ "$RC" -eq 0 ] && sessions+=(us-eq)
us_ok "source:NAME begins a session" us-src "$unschroot" -b -c source:us-bb -n us-src
[ "$RC" -eq 0 ] && sessions+=(us-src)
# the one made through od above
for s in $(session_ids); do
        [[ $s == us-bb-* ]] && [ "$s" != "$s1" ] && sessions+=("$s")
done

# ---- --list --all-sessions, --info / --location of a session ----
capture "$unschroot" --list --all-sessions
assert_eq "$(session_ids | sed 's/^/session:/')" "$OUT" "--list --all-sessions: session:ID lines"
root=$(session_property us-named RootDirectory)
capture "$unschroot" --info --chroot session:us-named
assert_eq "0 " "$RC $ERR" "--info --chroot session:ID exits 0, silent on stderr"
assert_eq "  ─── Session ───" "$(head -n 1 <<<"$OUT")" "--info of a session: a Session block"
assert_line '^  Name +us-named$' "$OUT" "the Session block has Name"
assert_line "^  Path +$root\$" "$OUT" "the Session block's Path is the RootDirectory"
assert_line '^  Session Purged +true$' "$OUT" "the Session block says Session Purged true"
check "the Path is a directory on the host" test -d "$root/etc"
us_ok "--location --chroot session:ID: the path only" "$root" "$unschroot" --location --chroot session:us-named
us_ok "--location -c chroot:NAME: the tarball" "$rootfs/busybox.tar.gz" "$unschroot" --location -c chroot:us-conf

# ---- --run-session, every option form ----
idpwd='echo "$(id -un) $PWD"'
us_ok "sbuild's form: -d DIR -c ID --run-session -q -u USER -p -- ARGV" "root /tmp" \
        "$unschroot" -d /tmp -c us-named --run-session -q -u root -p -- sh -c "$idpwd"
us_ok "autopkgtest's form: --run-session --quiet --directory=/ --chroot ID --user=root --" "root /" \
        "$unschroot" --run-session --quiet --directory=/ --chroot us-named --user=root -- sh -c "$idpwd"
us_ok "-r -c session:ID -u USER -d DIR" "tester /home/tester" \
        "$unschroot" -r -c session:us-named -u tester -d /home/tester -- sh -c "$idpwd"
us_ok "--user USER --directory DIR --chroot ID (separate arguments)" "tester /tmp" \
        "$compat/schroot" --run-session --user tester --directory /tmp --chroot us-named -- sh -c "$idpwd"
us_ok "the command's own options are left alone" "a0 -u x -d /y --info" \
        "$unschroot" -r -c us-named -u root -d / -- sh -c 'echo "$0 $*"' a0 -u x -d /y --info
us_ok "-u USER by uid" "tester" "$unschroot" -r -c us-named -u 1000 -d / -- id -un
us_ok "/proc is mounted" "proc" "$unschroot" -r -c us-named -u root -d / -- awk '$2 == "/proc" { print $3 }' /proc/mounts
for code in 0 3 255; do
        capture "$unschroot" -r -c us-named -u root -d / -- sh -c "exit $code"
        assert_eq "$code " "$RC $ERR" "the command's exit status $code passes through, stderr silent"
done
capture "$unschroot" -r -c us-named -u root -d / -- sh -c 'echo out; echo err >&2; exit 4'
assert_eq "4|out|err" "$RC|$OUT|$ERR" "a failing command's streams are its own"
sum=$(head -c 300000 /dev/urandom | tee /tmp/us-blob.$$ | sha256sum)
assert_eq "$sum" "$("$unschroot" -r -c us-named -u root -d / -- cat </tmp/us-blob.$$ | sha256sum)" \
        "stdin and stdout are binary-safe"
rm -f /tmp/us-blob.$$
out=$("$unschroot" -r -c us-named -u root -d / -- readlink /proc/self/fd/0 <&-)
assert_eq "0 /dev/null" "$? $out" "a closed stdin is /dev/null for the command, nothing of unschroot's"

# The caller's cwd is the default directory.
capture sh -c "cd /tmp && exec \"$unschroot\" -r -c us-named -u root -- pwd"
assert_eq "0 /tmp " "$RC $OUT $ERR" "without -d, the caller's working directory"
mkdir -p "$HOME/us-cwd-only-here"
us_fails "without -d, a working directory missing in the chroot" "us-cwd-only-here" \
        sh -c "cd \"$HOME/us-cwd-only-here\" && exec \"$unschroot\" -r -c us-named -u root -- pwd"
rmdir "$HOME/us-cwd-only-here"

# The default user is the caller's login, copied into every session at its start as
# schroot does; -u is resolved in the session's passwd at the time of the call.
# $USER, not id -un: a caller whose uid is 1000 shares it with the chroot's own tester,
# whom id -un would name.
us_ok "without -u, the caller's login, which the session has" "$me $(id -u) /" \
        "$unschroot" -r -c us-named -d / -- sh -c 'echo "$USER $(id -u) $PWD"'
assert_eq 1 "$(grep -c "^$me:" "$root/etc/passwd")" "the login is in the session's /etc/passwd"
us_ok "root inside stays root" "0" "$unschroot" -r -c us-named -u root -d / -- id -u
us_fails "a user added later is unknown before" "us-late" "$unschroot" -r -c us-named -u us-late -d / -- true
check "root adds a user inside the session (as useradd would)" "$unschroot" -r -c us-named -u root -d / -- \
        sh -c "echo 'us-late:x:2000:2000:late:/tmp:/bin/sh' >>/etc/passwd"
us_ok "-u finds it at the time of the call" "us-late 2000" "$unschroot" -r -c us-named -u us-late -d / -- sh -c 'echo "$(id -un) $(id -u)"'

# ---- environment ----
envkeys() { "$@" 2>/dev/null | cut -d= -f1 | LC_ALL=C sort | paste -sd' '; }
capture env -i HOME=/h PATH="$PATH" TERM=xterm-test FOO=bar DBUS_SESSION_BUS_ADDRESS="$DBUS_SESSION_BUS_ADDRESS" \
        XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" "$unschroot" -r -c us-named -u root -d / -- env
clean=$OUT
assert_eq "HOME LOGNAME PATH SCHROOT_ALIAS_NAME SCHROOT_CHROOT_NAME SCHROOT_GID SCHROOT_GROUP SCHROOT_SESSION_ID SCHROOT_UID SCHROOT_USER SHELL TERM USER" \
        "$(cut -d= -f1 <<<"$clean" | LC_ALL=C sort | paste -sd' ')" "without -p: a clean environment"
for kv in HOME=/root USER=root LOGNAME=root SHELL=/bin/sh PATH=$root_path TERM=xterm-test \
          SCHROOT_CHROOT_NAME=us-conf SCHROOT_SESSION_ID=us-named SCHROOT_USER=$me; do
        assert_eq 1 "$(grep -cxF -- "$kv" <<<"$clean")" "without -p: $kv"
done
capture "$unschroot" -r -c us-named -u tester -d / -- env
assert_eq "1 1 1" "$(grep -cx "PATH=$user_path" <<<"$OUT") $(grep -cx HOME=/home/tester <<<"$OUT") $(grep -cx USER=tester <<<"$OUT")" \
        "without -p, as a user: the user's PATH and HOME"
capture env FOO=bar LD_PRELOAD=/x.so LD_LIBRARY_PATH=/x BASH_ENV=/y CDPATH=/z IFS=: TERMINFO=/t \
        "$unschroot" -r -c us-named -u tester -d / -p -- env
assert_eq "1 1 1" "$(grep -cx FOO=bar <<<"$OUT") $(grep -cx USER=tester <<<"$OUT") $(grep -cx LOGNAME=tester <<<"$OUT")" \
        "-p keeps the caller's variables, USER and LOGNAME are the target user"
assert_eq "" "$(grep -E '^(LD_[A-Z_]*|BASH_ENV|CDPATH|IFS|TERMINFO)=' <<<"$OUT")" "-p drops schroot's environment filter"
assert_eq 1 "$(grep -cx SCHROOT_SESSION_ID=us-named <<<"$OUT")" "-p: SCHROOT_SESSION_ID is set too"

# ---- network ----
capture "$unschroot" -r -c us-named -u root -d / --isolate-network -- cat /proc/net/dev
assert_eq "0 lo" "$RC $(tail -n +3 <<<"$OUT" | cut -d: -f1 | tr -d ' ' | paste -sd' ')" \
        "--isolate-network: only loopback"

# ---- automatic sessions ----
before=$(session_ids)
capture "$unschroot" -c us-bb -u root -d / -- sh -c 'echo "auto $SCHROOT_CHROOT_NAME"; exit 7'
assert_eq "7|auto us-bb|" "$RC|$OUT|$ERR" "-c NAME -u root -- CMD: an automatic session, the command's status"
assert_eq "$before" "$(session_ids)" "the automatic session is ended"
us_ok "an automatic session by alias, in the caller's directory" "/" \
        sh -c "cd / && exec \"$compat/schroot\" -c us-bb-sbuild -u root pwd"
us_fails "an automatic session whose command is killed" "signal" "$unschroot" -c us-bb -u root -d / -- sh -c 'kill -KILL $$'
assert_eq "$before" "$(session_ids)" "... is ended too"
us_fails "an automatic session with a missing directory" "/no/such" "$unschroot" -c us-bb -u root -d /no/such -- true
assert_eq "$before" "$(session_ids)" "... is ended too"
# A signal to unschroot reaches the command (which runs in a session of its own), and
# the automatic session still ends.
"$unschroot" -c us-bb -u root -d / -- sh -c 'trap "echo got TERM; exit 9" TERM; echo started; while :; do sleep 0.1; done' \
        >/tmp/us-sig.$$ 2>&1 &
pid=$!
wait_until 30 grep -q started /tmp/us-sig.$$
kill -TERM $pid
wait $pid
rc=$?
assert_match "^9 started .*got TERM$" "$rc $(paste -sd' ' /tmp/us-sig.$$)" "SIGTERM to unschroot is passed on to the command"
rm -f /tmp/us-sig.$$
wait_until 30 test "$before" = "$(session_ids)"
assert_eq "$before" "$(session_ids)" "... and the automatic session is ended"
us_ok "-c session:ID without an action runs in that session and keeps it" "root" \
        "$unschroot" -c session:us-named -u root -d / -- id -un
assert_eq "$before" "$(session_ids)" "... the session is still there"

# ---- source: sessions write back, plain ones do not ----
tarball=${XDG_CACHE_HOME:-$HOME/.cache}/sbuild/us-bb.tar.zst
sum=$(sha256sum <"$tarball")
us_ok "a plain automatic session that writes a file" "" "$unschroot" -c us-bb -u root -d / -- touch /us-plain
assert_eq "$sum" "$(sha256sum <"$tarball")" "a plain session leaves the tarball as it was"
us_ok "a source: session" us-wb "$unschroot" -b -c source:us-bb -n us-wb
[ "$RC" -eq 0 ] && sessions+=(us-wb)
us_ok "... writes a file" "" "$unschroot" -r -c us-wb -u root -d / -- sh -c 'echo kept >/us-kept'
capture "$unschroot" --info -c session:us-wb
assert_line '^  Session Purged +false$' "$OUT" "a source: session's Session block says Session Purged false"
us_ok "... and ends" "" "$unschroot" -e -c us-wb
assert_eq "28b52ffd" "$(head -c 4 "$tarball" | od -An -tx1 | tr -d ' \n')" "the tarball is still zstd-compressed"
us_ok "the next session of the chroot has the file" "kept" "$unschroot" -c us-bb -u root -d / -- cat /us-kept

# ---- bad input: one E: line, exit 1, nothing changes ----
before=$(session_ids)
us_fails "begin of an unknown chroot" "chroot:us-nope: Chroot not found" "$unschroot" -b -c us-nope
us_fails "begin of an unknown source chroot" "source:us-nope" "$unschroot" -b -c source:us-nope
us_fails "an automatic session of an unknown chroot" "us-nope" "$unschroot" -c us-nope -- true
us_fails "run in an unknown session" "session:us-nope: Chroot not found" "$unschroot" -r -c us-nope -- true
us_fails "end of an unknown session" "session:us-nope" "$unschroot" -e -c us-nope
us_fails "--info of an unknown session" "session:us-nope" "$unschroot" -i -c session:us-nope
us_fails "--location of an unknown session" "session:us-nope" "$unschroot" --location -c session:us-nope
us_fails "a session name in use" "us-named" "$unschroot" -b -c us-bb -n us-named
us_fails "a bad session name" "a/b" "$unschroot" -b -c us-bb -n a/b
us_fails "a bad chroot name" "chroot:../x" "$unschroot" -b -c ../x
us_fails "a directory (-d) that does not exist" "/no/such/dir" "$unschroot" -r -c us-named -u root -d /no/such/dir -- true
us_fails "a user (-u) that does not exist in the chroot" "us-nobody" "$unschroot" -r -c us-named -u us-nobody -d / -- true
us_fails "a command that cannot be executed" "us-no-such-command" "$unschroot" -r -c us-named -u root -d / -- us-no-such-command
us_fails "a command killed by a signal" "signal" "$unschroot" -r -c us-named -u root -d / -- sh -c 'kill -TERM $$'
us_fails "an unknown long option" "--bogus" "$unschroot" --bogus -l
us_fails "an unknown short option" "-x" "$unschroot" -x -l
us_fails "an option without its argument" "--chroot" "$unschroot" -l --chroot
us_fails "two actions" "action" "$unschroot" -b -e -c us-bb
us_fails "-q does not silence E: lines" "session:us-nope" "$unschroot" -q -r -c us-nope -- true
assert_eq "$before" "$(session_ids)" "after all that, the same sessions"
us_ok "... and us-named still works" "ok" "$unschroot" -r -c us-named -u root -d / -- echo ok

# ---- --end-session ----
us_ok "--quiet --end-session --chroot ID" "" "$unschroot" --quiet --end-session --chroot us-named
us_fails "ending it twice" "session:us-named" "$unschroot" --quiet --end-session --chroot us-named
us_ok "an ID can be reused after its session ended" us-named "$unschroot" -q -b -c us-bb -n us-named
us_ok "-e -c session:ID" "" "$unschroot" -e -c session:us-named
us_fails "--end-session of a chroot: name" "chroot:us-bb" "$unschroot" -e -c chroot:us-bb
for s in "${sessions[@]}"; do
        case $s in us-named|us-wb) continue ;; esac
        us_ok "--end-session -c $s" "" "$compat/schroot" --end-session -c "$s"
done
sessions=()
assert_eq "" "$(session_ids | grep -E '^us-')" "no us- session is left"

done_testing
