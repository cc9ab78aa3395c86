#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# autopkgtest, unchanged, through chrootd's own virtualisation server:
# `autopkgtest ... -- chrootd CHROOT`. A package's tests run as root (needs-root), as
# the caller's login (suggested-normal-user), and one reads a file that came down
# with the source and writes a tree that comes back up (copydown/copyup, tar streams
# through the session: there is no downtmp-host); a failing test is reported failed.
# After each run, and after the server is killed with SIGKILL in the middle of a test,
# no session, scope or process is left. The tarball is never changed.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_user_manager
deb_require mmdebstrap autopkgtest dpkg-source
deb_tarball
me=$(id -un)
server=$prefix/bin/autopkgtest-virt-chrootd
check "autopkgtest-virt-chrootd is installed in bindir" test -x "$server"
export PATH=$prefix/bin:$PATH
deb_snapshot
tarball_id() { stat -c '%i %s %Y' "$DEB_TARBALL"; }
before=$(tarball_id)

# chrootd's own view of "nothing left", besides deb_nothing_left's: no session, and
# no chrootd-* unit that was not there before (earlier suites may leave their own).
chrootd_units() { systemctl --user list-units --all --plain --no-legend --no-pager 'chrootd-*' | awk '{ print $1 }'; }
units_before=$(chrootd_units)
virt_nothing_left() {
        assert_eq "" "$(chrootctl --no-legend sessions 2>&1)" "$1: chrootctl sessions lists none"
        assert_eq "$units_before" "$(chrootd_units)" "$1: no chrootd-* slice or scope is left"
        deb_nothing_left "$1"
}

# ---- the protocol by hand: capabilities, open, a command, revert, close ----
capture bash -c 'printf "capabilities\nopen\nprint-execute-command\nrevert\nclose\nquit\n" |
        autopkgtest-virt-chrootd '"$DEB_CHROOT"
assert_eq 0 "$RC" "the server answers a whole session and quits with 0" || diag "$OUT"
assert_match "^ok revert revert-full-system root-on-testbed suggested-normal-user=$me" \
        "$(sed -n 2p <<<"$OUT")" "capabilities: revert, revert-full-system, root-on-testbed, the caller's login"
assert_match "^ok /tmp/autopkgtest\." "$(sed -n 3p <<<"$OUT")" "open answers the testbed's scratch directory"
virt_nothing_left "after open, revert, close"

# ---- limits: the testbed's session gets them; a bad one is autopkgtest's error ----
coproc VS { autopkgtest-virt-chrootd --memory-max=256M --tasks-max=500 --cpu-weight=40 "$DEB_CHROOT" 2>&1; }
read -r -t 30 banner <&"${VS[0]}"
echo open >&"${VS[1]}"
read -r -t 60 opened <&"${VS[0]}"
assert_match "^ok ok /tmp/autopkgtest" "$banner $opened" "open with --memory-max, --tasks-max, --cpu-weight"
vsid=$(chrootctl --no-legend sessions 2>/dev/null | awk 'NR == 1 { print $1 }')
assert_eq "268435456|500|40" "$(session_property "$vsid" MemoryMax)|$(session_property "$vsid" TasksMax)|$(session_property "$vsid" CPUWeight)" \
        "the testbed's session has those limits"
printf 'close\nquit\n' >&"${VS[1]}"
wait "$VS_PID" 2>/dev/null
virt_nothing_left "after a testbed with limits"
capture bash -c 'printf "open\n" | autopkgtest-virt-chrootd --cpu-weight=0 '"$DEB_CHROOT"
assert_match "cpu-weight takes a weight 1..10000" "$OUT$ERR" "open with --cpu-weight=0 says what is wrong"
check "and fails" test "$RC" -ne 0
virt_nothing_left "after a refused limit"

work0=$(deb_workdir virt-proto)
# print-execute-command's prefix, used the way autopkgtest uses it: stdio and status.
coproc VIRT { exec autopkgtest-virt-chrootd "$DEB_CHROOT"; }
read -r -u "${VIRT[0]}" l
echo open >&"${VIRT[1]}"; read -r -u "${VIRT[0]}" l
# get_prefix: print-execute-command's answer, decoded into the array pfx.
get_prefix() {
        local l
        echo print-execute-command >&"${VIRT[1]}"; read -r -u "${VIRT[0]}" l
        mapfile -t pfx < <(python3 -c 'import sys, urllib.parse
for a in sys.argv[1].split(","): print(urllib.parse.unquote(a))' "${l#ok }")
}
get_prefix
out=$("${pfx[@]}" sh -c 'id -u; read x; echo "got $x"; echo err >&2; exit 7' <<<"hello" 2>"$work0/err")
assert_eq 7 "$?" "a command's exit status passes through the prefix"
assert_eq "0
got hello" "$out" "the command runs as root with the caller's stdin and stdout"
assert_eq "err" "$(cat "$work0/err")" "and the caller's stderr"
capture "${pfx[@]}" sh -c 'kill -TERM $$'
assert_eq 143 "$RC" "a command killed by SIGTERM gives 128+15"
capture "${pfx[@]}" /nonexistent
assert_eq 255 "$RC" "the prefix's own failure (no such program) is 255"
capture "${pfx[@]}" sh -c 'echo changed >/etc/virt-mark; id '"$me"
assert_eq 0 "$RC" "the caller's login exists in the testbed (add-login)"
echo revert >&"${VIRT[1]}"; read -r -u "${VIRT[0]}" l
assert_match "^ok /tmp/autopkgtest\." "$l" "revert answers the same scratch directory"
get_prefix
capture "${pfx[@]}" test -e /etc/virt-mark
assert_eq 1 "$RC" "revert gave a clean testbed (what the last one wrote is gone)"
echo quit >&"${VIRT[1]}"; wait "$VIRT_PID"
assert_eq 0 "$?" "quit: the server exits 0"
virt_nothing_left "after quit"

# EOF on the server's stdin with a testbed open closes it.
capture bash -c 'printf "open\n" | autopkgtest-virt-chrootd '"$DEB_CHROOT"
virt_nothing_left "after EOF on the server's input"

capture bash -c 'printf "open\n" | autopkgtest-virt-chrootd no-such-chroot'
assert_match "failure: cannot begin a session of no-such-chroot" "$ERR" \
        "an unknown chroot fails open in autopkgtest's form"


work=$(deb_workdir virt)
run_autopkgtest chrootd "$work" FILES=1
assert_eq 0 "$RC" "autopkgtest passes" || diag "$(tail -n 40 <<<"$LOG")"
assert_match "as-root +PASS" "$SUMMARY" "the needs-root test passed"
assert_match "as-user +PASS" "$SUMMARY" "the user test passed"
assert_match "files +PASS" "$SUMMARY" "the copydown/copyup test passed"
assert_contains "as-root ok: root" "$LOG" "the needs-root test ran as root"
assert_contains "as-user ok: $me" "$LOG" "the user test ran as the caller's login"
a=$(ls -d "$work"/out/artifacts 2>/dev/null)
assert_eq "payload: copied down by the virt server" "$(cat "$a/out.txt" 2>&1)" \
        "a file copied down came back up as an artifact"
assert_eq "640 750" "$(stat -c %a "$a/out.txt" "$a/sub/exec" 2>&1 | tr '\n' ' ' | sed 's/ $//')" \
        "copyup kept the files' modes"
assert_eq "../out.txt" "$(readlink "$a/sub/link" 2>&1)" "copyup kept a symlink as a symlink"
virt_nothing_left "after autopkgtest"

work=$(deb_workdir virt-fail)
run_autopkgtest chrootd "$work" FAIL=1
assert_eq 4 "$RC" "with a failing test autopkgtest exits 4 (a test failed)" || diag "$(tail -n 40 <<<"$LOG")"
assert_match "as-user +FAIL non-zero exit status 1" "$SUMMARY" "the failing test is reported failed"
virt_nothing_left "after the failing autopkgtest"

# ---- the server killed with SIGKILL in the middle of a test ----
# server_pid: our autopkgtest-virt-chrootd (autopkgtest runs it as a python3 script).
server_pid() { pgrep -u "$(id -u)" -f "^/usr/bin/python3 [^ ]*autopkgtest-virt-chrootd $DEB_CHROOT" | head -n 1; }
work=$(deb_workdir virt-kill)
dsc=$(SLEEP=1 bash "$deb_here/make-source.sh" "$work") || bail_out "could not make the source package"
(cd "$work" && exec autopkgtest -U --output-dir "$work/out" "$dsc" -- chrootd "$DEB_CHROOT" >"$work/log" 2>&1) &
apt_pid=$!
check "the slow test starts" wait_until 300 eval '[ -n "$(subid_processes | grep "sleep 3001")" ]'
pid=$(server_pid)
check "the server runs" test -n "$pid"
[ -n "$pid" ] && kill -KILL "$pid"
wait_until 60 eval '! kill -0 $apt_pid 2>/dev/null'
kill "$apt_pid" 2>/dev/null; wait "$apt_pid" 2>/dev/null
wait_until 30 eval '[ -z "$(chrootctl --no-legend sessions)" ]'
virt_nothing_left "after kill -9 of the server"

# ---- a real package's own tests: hello's (command1, upstream-tests), source and
# binaries from the archive ----
work=$(deb_workdir virt-real)
real_dsc=$(deb_fetch_hello "$work") || bail_out "could not fetch hello's source from deb.debian.org"
capture env -C "$work" autopkgtest --no-built-binaries -U --output-dir "$work/out" "$real_dsc" -- chrootd "$DEB_CHROOT"
assert_eq 0 "$RC" "autopkgtest of hello from the archive passes through the virt server" || diag "$(tail -n 30 <<<"$OUT$ERR")"
assert_match "command1 +PASS" "$(cat "$work/out/summary" 2>&1)" "hello's own command1 test passed"
assert_match "upstream-tests +PASS" "$(cat "$work/out/summary" 2>&1)" "hello's own upstream-tests passed"
virt_nothing_left "after hello's own tests"

# ---- sbuild through it, unchanged: --chroot-mode=autopkgtest ----
if command -v sbuild >/dev/null; then
        work=$(deb_workdir virt-sbuild)
        dsc=$(bash "$deb_here/make-source.sh" "$work") || bail_out "could not make the source package"
        # The README's ~/.sbuildrc for it, with the server where it is installed.
        awk '/^\*\*autopkgtest and sbuild without schroot\*\*/ { s = 1 } s && /^```perl$/ { p = 1; next } p && /^```$/ { exit } p' \
                "$CHROOTD_SOURCE_ROOT/README.md" | sed "s|\"\$ENV{HOME}/.local/bin/|'$prefix/bin/|; s|autopkgtest-virt-chrootd\";|autopkgtest-virt-chrootd';|" \
                >"$work/sbuildrc"
        grep -q "'$server'" "$work/sbuildrc" || bail_out "README.md has no ~/.sbuildrc block naming autopkgtest-virt-chrootd"
        cd "$work" || bail_out "cd $work"
        start=$SECONDS
        since=$(date +%s)
        capture env SBUILD_CONFIG="$work/sbuildrc" sbuild -d "$DEB_SUITE" --no-run-lintian --no-run-autopkgtest \
                --no-run-piuparts "$dsc"
        note "sbuild took $((SECONDS - start)) s"
        assert_eq 0 "$RC" "sbuild with the README's ~/.sbuildrc (chroot mode autopkgtest, server chrootd) builds the package" ||
                diag "$(tail -n 40 <<<"$OUT$ERR")"
        assert_match "Status: successful" "$(cat "$work"/*.build 2>/dev/null)" "the build log says Status: successful"
        assert_match "Setting up zlib1g-dev" "$(cat "$work"/*.build 2>/dev/null)" \
                "build dependencies were installed from the archive in the testbed"
        check "a .deb was made" test -s "$(ls "$work"/chrootd-hello_1.0_*.deb 2>/dev/null | head -n 1)"
        check "the build dependencies it downloaded joined the chroot's package cache" \
                test -n "$(find "${XDG_CACHE_HOME:-$HOME/.cache}/chrootd/packages/$DEB_CHROOT/layer/partial" \
                        -name 'zlib1g-dev_*.deb' -newermt "@$since" 2>/dev/null)"
        cd / || true
        virt_nothing_left "after sbuild"
else
        skip "sbuild through the virt server" "sbuild is not installed"
fi

assert_eq "$before" "$(tarball_id)" "the virt server left the tarball as it was"
done_testing
