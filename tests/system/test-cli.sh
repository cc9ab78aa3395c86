#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# chrootctl as a user types it: list, sessions, begin, run, end, info; the exit status
# of run is the command's (128+N for signal N); every failure is exactly one line on
# stderr, nothing on stdout, and a non-zero exit status (2 for usage errors).
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

require_user_manager

rootfs=$(test_rootfs) || bail_out "could not make the test root filesystem"
confd=${XDG_CONFIG_HOME:-$HOME/.config}/chrootd/chroots.d
conf=$confd/test-cli.conf
sbuild=${XDG_CACHE_HOME:-$HOME/.cache}/sbuild
sdir=$(sessions_dir)
uuid_re='[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
sessions=()

cleanup() {
        local s
        for s in "${sessions[@]}"; do
                chrootctl end "$s" >/dev/null 2>&1
        done
        rm -f "$conf"
}
trap cleanup EXIT

install_test_chroot cli-bb tar.gz || bail_out "could not install the test chroot"
mkdir -p "$confd"
printf '%s\n' '[cli-conf]' 'type=file' "file=$rootfs/busybox.tar.zst" 'aliases=cli-alias' \
        'description=CLI test chroot' >"$conf"

# cli_fails DESC STATUS NEEDLE CMD...: CMD exits with STATUS, prints nothing on stdout and
# exactly one line on stderr, "chrootctl: ..." containing NEEDLE.
cli_fails() {
        local desc=$1 status=$2 needle=$3
        shift 3
        capture "$@"
        local lines
        lines=$(printf '%s' "$ERR" | grep -c '')
        if [ "$RC" -eq "$status" ] && [ -z "$OUT" ] && [ "$lines" -eq 1 ] &&
           [[ $ERR == "chrootctl: "* ]] && [[ $ERR == *"$needle"* ]]; then
                ok "$desc: exit $status, one line on stderr"
        else
                not_ok "$desc: exit $status, one line on stderr containing '$needle'" \
                        "stderr lines: $lines"
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

# ---- list ----
capture chrootctl list
n_chroots=$(list_chroots_tsv | grep -c '')
assert_eq 0 "$RC" "chrootctl list succeeds $ERR"
assert_match '^NAME +TYPE +PATH +ALIASES +DESCRIPTION$' "$(head -n 1 <<<"$OUT")" "chrootctl list prints a header"
assert_line "^cli-bb +file +$sbuild/cli-bb\\.tar\\.gz +cli-bb-sbuild +-$" "$OUT" \
        "chrootctl list shows the sbuild tarball"
assert_line "^cli-conf +file +$rootfs/busybox\\.tar\\.zst +cli-alias +CLI test chroot$" "$OUT" \
        "chrootctl list shows the chroots.d entry with alias and description"
assert_eq "$n_chroots chroots listed." "$(tail -n 1 <<<"$OUT")" "chrootctl list ends with the count"
capture chrootctl --no-legend list
assert_eq "$(list_chroots_tsv | cut -f1 | sort)" "$(awk '{ print $1 }' <<<"$OUT")" \
        "chrootctl --no-legend list: one line per chroot, sorted, nothing else"

# ---- begin, sessions, info ----
capture chrootctl begin cli-bb
auto=$OUT
[ "$RC" -eq 0 ] && [ -n "$auto" ] && sessions+=("$auto")
assert_match "^cli-bb-$uuid_re$" "$auto" "chrootctl begin prints the new id and nothing else $ERR"
assert_eq "" "$ERR" "chrootctl begin is quiet on stderr"
capture chrootctl begin --name cli-named cli-alias
[ "$RC" -eq 0 ] && sessions+=(cli-named)
assert_eq "0 cli-named" "$RC $OUT" "chrootctl begin --name uses the name, also by alias $ERR"

capture chrootctl sessions
assert_match '^ID +CHROOT +STATE$' "$(head -n 1 <<<"$OUT")" "chrootctl sessions prints a header"
assert_line "^$auto +cli-bb +ready$" "$OUT" "chrootctl sessions shows $auto, ready"
assert_line "^cli-named +cli-conf +ready$" "$OUT" "chrootctl sessions shows cli-named of cli-conf, ready"
assert_match '^[0-9]+ sessions listed\.$' "$(tail -n 1 <<<"$OUT")" "chrootctl sessions ends with the count"
capture chrootctl --no-legend sessions
assert_eq "$(list_sessions_tsv | cut -f1 | sort)" "$(awk '{ print $1 }' <<<"$OUT")" \
        "chrootctl --no-legend sessions: one line per session, nothing else"

capture chrootctl info cli-named
assert_eq 0 "$RC" "chrootctl info succeeds $ERR"
assert_eq "Id: cli-named|Chroot: cli-conf|State: ready|UnionType: overlay|RootDirectory: (only inside commands)|RunningCommands: 0|Boot: no" \
        "$(grep -v '^CreationTimestamp:' <<<"$OUT" | paste -sd'|')" "chrootctl info shows the session's properties"
assert_match '^CreationTimestamp: [A-Z][a-z]{2} [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}' \
        "$(grep '^CreationTimestamp:' <<<"$OUT")" "chrootctl info shows when the session was begun"

# ---- run ----
capture chrootctl run cli-named echo hello world
assert_eq "0 hello world" "$RC $OUT" "chrootctl run prints the command's output"
capture chrootctl run cli-named -- sh -c 'echo "$0 $*"' arg0 -u tester -d /tmp
assert_eq "0 arg0 -u tester -d /tmp" "$RC $OUT" "the command's own options are left alone"
capture chrootctl run --user tester --directory /home/tester cli-named sh -c 'echo "$(id -un) $PWD"'
assert_eq "0 tester /home/tester" "$RC $OUT" "options before the session: --user and --directory"
capture chrootctl run cli-named -u tester -d /tmp sh -c 'echo "$(id -un) $PWD"'
assert_eq "0 tester /tmp" "$RC $OUT" "options after the session: -u and -d"
for code in 0 3 255; do
        capture chrootctl run cli-named sh -c "exit $code"
        assert_eq "$code" "$RC" "chrootctl run exits $code like the command"
done
for sig in TERM:15 KILL:9 INT:2; do
        capture chrootctl run cli-named sh -c "kill -${sig%%:*} \$\$"
        assert_eq "$((128 + ${sig##*:}))" "$RC" "chrootctl run exits 128+${sig##*:} when the command dies of SIG${sig%%:*}"
done
# Signals to chrootctl reach the command (Session.Kill), which runs in a session of its
# own: a ^C on the terminal reaches only chrootctl. (A background job of this script
# starts with SIGINT ignored; perl puts it back, as a terminal's foreground job has it.)
for sig in INT:2 TERM:15 HUP:1; do
        out=$(mktemp)
        perl -e '$SIG{INT} = "DEFAULT"; exec @ARGV or die' -- \
                chrootctl run cli-named sh -c "trap 'echo got ${sig%%:*}; exit 7' ${sig%%:*}; echo started; while :; do sleep 0.1; done" \
                >"$out" 2>&1 </dev/null &
        pid=$!
        wait_until 20 grep -q started "$out"
        kill -"${sig%%:*}" "$pid"
        wait "$pid"
        rc=$?
        # (the shell may first report its sleep killed by the same signal)
        assert_match "^7\\|started .*got ${sig%%:*}\$" "$rc|$(paste -sd' ' "$out")" "SIG${sig%%:*} to chrootctl run is passed on to the command"
        rm -f "$out"
done
capture chrootctl run cli-named sh -c 'echo oops >&2; exit 4'
assert_eq "4||oops" "$RC|$OUT|$ERR" "a failing command's stderr is its own, not a chrootctl error"

# ---- failures: one line each ----
cli_fails "run in an unknown session" 1 cli-nope chrootctl run cli-nope true
cli_fails "end of an unknown session" 1 cli-nope chrootctl end cli-nope
cli_fails "info of an unknown session" 1 cli-nope chrootctl info cli-nope
cli_fails "begin of an unknown chroot" 1 cli-no-such-chroot chrootctl begin cli-no-such-chroot
cli_fails "begin with an existing name" 1 cli-named chrootctl begin -n cli-named cli-bb
cli_fails "begin with an invalid name" 1 "a/b" chrootctl begin -n a/b cli-bb
cli_fails "run in a missing directory" 1 /no/such/dir chrootctl run -d /no/such/dir cli-named true
cli_fails "run as a missing user" 1 no-such-user chrootctl run -u no-such-user cli-named true
cli_fails "run of a missing command" 1 no-such-command chrootctl run cli-named no-such-command
cli_fails "an unknown long option" 2 --bogus chrootctl --bogus list
cli_fails "an unknown short option" 2 "-x" chrootctl -x list
cli_fails "an option without its argument" 2 --name chrootctl begin cli-bb --name
cli_fails "an unknown command" 2 frobnicate chrootctl frobnicate
cli_fails "begin without a chroot" 2 begin chrootctl begin
cli_fails "run without a command" 2 run chrootctl run cli-named
cli_fails "an option that does not belong to the command" 2 user chrootctl end --user root cli-named
cli_fails "--network with a bad value" 2 bogus chrootctl run --network=bogus cli-named true
cli_fails "no user bus" 1 "bus" env -u DBUS_SESSION_BUS_ADDRESS XDG_RUNTIME_DIR=/nonexistent chrootctl list
capture chrootctl run cli-named true
assert_eq 0 "$RC" "after all that, the session still works"

# ---- help, version ----
capture chrootctl --help
assert_match '^chrootctl \[OPTIONS\.\.\.\] COMMAND' "$OUT" "chrootctl --help prints usage on stdout"
assert_eq "0 " "$RC $ERR" "chrootctl --help exits 0, quietly on stderr"
capture chrootctl --version
assert_match '^chrootctl [0-9]' "$OUT" "chrootctl --version prints the version"

# ---- end ----
for s in "$auto" cli-named; do
        capture chrootctl end "$s"
        assert_eq "0||" "$RC|$OUT|$ERR" "chrootctl end $s succeeds quietly"
done
sessions=()
capture chrootctl --no-legend sessions
assert_eq "" "$(grep -E "^($auto|cli-named) " <<<"$OUT")" "chrootctl sessions no longer lists them"
assert_eq "" "$(ls -A "$sdir" | grep -E "^($auto|cli-named)$")" "their directories are gone"

done_testing
