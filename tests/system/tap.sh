# SPDX-License-Identifier: LGPL-2.1-or-later
# A tiny TAP producer for the bash system tests. Source it:
#     . "$(dirname "${BASH_SOURCE[0]}")/tap.sh"
# It also sources tests/lib/system.sh (helpers for talking to chrootd as the user).
#
#   plan N                    "1..N" up front (or call done_testing at the end without it)
#   ok DESC                   a passing test
#   not_ok DESC [DIAG...]     a failing test, each DIAG printed as a "# " comment
#   skip DESC REASON          "ok N - DESC # SKIP REASON"
#   skip_all REASON           nothing can be tested here: "1..0 # SKIP REASON" and exit 0
#                             (after tests were already printed: skips the rest of the plan)
#   diag MSG...               a "# " comment on stderr, as Test::More does: meson shows a
#                             failed test's stderr (--print-errorlogs), not its stdout
#   note MSG...               a "# " comment on stdout, in the TAP stream
#   capture CMD...            run CMD; sets OUT (stdout), ERR (stderr), RC (status); never fails
#   check DESC CMD...         ok if CMD succeeds, else not ok with its output as comments
#   check_fails DESC CMD...   ok if CMD fails (and sets OUT/ERR/RC for further checks)
#   assert_eq EXPECTED ACTUAL DESC
#   assert_match REGEX ACTUAL DESC       (bash =~, extended regex)
#   assert_contains NEEDLE HAYSTACK DESC (fixed string)
#   bail_out REASON           "Bail out!" and exit 1
#   done_testing              prints the plan if none was given; exits 1 if anything failed
#
# Assertions return 0 when they pass and 1 when they fail, so `check ... || ...` works;
# do not run test scripts under `set -e`, or the first failure ends the script.

TAP_N=0
TAP_FAILED=0
TAP_PLANNED=
TAP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

plan() {
        TAP_PLANNED=$1
        echo "1..$1"
}

note() {
        local line
        while IFS= read -r line; do
                printf '# %s\n' "$line"
        done <<<"$*"
}

diag() {
        note "$@" >&2
}

ok() {
        TAP_N=$((TAP_N + 1))
        echo "ok $TAP_N - $*"
}

not_ok() {
        local desc=$1 d
        shift
        TAP_N=$((TAP_N + 1))
        TAP_FAILED=$((TAP_FAILED + 1))
        echo "not ok $TAP_N - $desc"
        diag "Failed test $TAP_N - $desc"
        for d in "$@"; do
                diag "$d"
        done
        return 1
}

skip() {
        TAP_N=$((TAP_N + 1))
        echo "ok $TAP_N - $1 # SKIP ${2:-}"
}

skip_all() {
        if [ $TAP_N -eq 0 ] && [ -z "$TAP_PLANNED" ]; then
                echo "1..0 # SKIP $*"
                exit 0
        fi
        while [ -n "$TAP_PLANNED" ] && [ $TAP_N -lt "$TAP_PLANNED" ]; do
                skip "skipped" "$*"
        done
        done_testing
}

bail_out() {
        echo "Bail out! $*"
        exit 1
}

capture() {
        local o e
        o=$(mktemp) e=$(mktemp)
        "$@" >"$o" 2>"$e" </dev/null
        RC=$?
        OUT=$(cat "$o") ERR=$(cat "$e")
        rm -f "$o" "$e"
        return 0
}

# The diagnostics printed when a command did not do what was expected.
tap_command_diag() {
        diag "command: $*"
        diag "exit status: $RC"
        [ -n "$OUT" ] && diag "stdout:" && diag "$OUT"
        [ -n "$ERR" ] && diag "stderr:" && diag "$ERR"
        return 0
}

check() {
        local desc=$1
        shift
        capture "$@"
        if [ "$RC" -eq 0 ]; then
                ok "$desc"
        else
                not_ok "$desc"
                tap_command_diag "$@"
                return 1
        fi
}

check_fails() {
        local desc=$1
        shift
        capture "$@"
        if [ "$RC" -ne 0 ]; then
                ok "$desc"
        else
                not_ok "$desc" "expected failure, but it succeeded"
                tap_command_diag "$@"
                return 1
        fi
}

assert_eq() {
        if [ "$1" = "$2" ]; then
                ok "$3"
        else
                not_ok "$3" "expected: '$1'" "got:      '$2'"
        fi
}

assert_match() {
        if [[ $2 =~ $1 ]]; then
                ok "$3"
        else
                not_ok "$3" "expected to match: $1" "got: '$2'"
        fi
}

assert_contains() {
        if [[ $2 == *"$1"* ]]; then
                ok "$3"
        else
                not_ok "$3" "expected to contain: '$1'" "got: '$2'"
        fi
}

done_testing() {
        [ -z "$TAP_PLANNED" ] && echo "1..$TAP_N"
        [ "$TAP_FAILED" -eq 0 ] && exit 0
        exit 1
}

# shellcheck source=../lib/system.sh
. "$TAP_DIR/../lib/system.sh"

# ---- Helpers for the chrootd system tests (bus errors, sessions, subordinate ids) ----
#
#   bus_error PATH IFACE.METHOD ARGS...   call an org.chrootd1 method with gdbus (ARGS in
#                             GVariant text, e.g. "'name'" "{}"); sets BUS_ERROR to the D-Bus
#                             error name it failed with, "none" when it succeeded, or "" when
#                             it failed without one; also OUT/ERR/RC. busctl and chrootctl
#                             print only an error's message, dbus-send cannot build a{sv}.
#   assert_bus_error NAME DESC PATH IFACE.METHOD ARGS...   ok when the call fails with NAME
#                             (skipped when gdbus is not installed)
#   list_chroots_tsv          ListChroots as lines "name<TAB>type<TAB>path<TAB>description<TAB>a,b"
#   list_sessions_tsv         ListSessions as lines "id<TAB>chroot<TAB>state<TAB>path"
#   session_path ID           the object path of session ID (GetSession)
#   session_property ID PROP  the value of a Session property, unquoted
#   sessions_dir              where chrootd keeps its sessions
#   session_tree ID           a full copy's tree on the host (sessions_dir/ID/root), for
#                             tests to look at: only host-tree sessions have a RootDirectory
#   subid_start uid|gid       the first subordinate uid or gid of the caller (65536 of them)
#   require_subids            sets suid to subid_start uid, or skips the script without
#   bg_run OUT ERR ARGS...    chrootctl ARGS in the background (stdout to OUT, stderr to
#                             ERR); sets BG to its pid and adds it to bg_pids
#   host_id uid|gid N [self]  the host id that id N inside a session is: subordinate;
#                             with "self" (a host-tree session) the caller's own uid/gid
#                             stay themselves
#   session_id_map uid|gid [self]   the expected {uid,gid}_map of a command, as the host
#                             reads it (/proc/PID/uid_map), as "inside outside count"
#                             extents joined by "|"
#   subid_processes           "pid uid args" of every host process running as a
#                             subordinate uid of the caller, except session leaders
#                             and spare inits (service/leader.h), which
#                             leader_processes lists: they live a few seconds past a
#                             session's last command
#   host_pid PATTERN          the pid of the first of those processes whose line
#                             (pid uid args) matches PATTERN (ERE)
#   wait_until SECONDS CMD... poll CMD every 0.1 s until it succeeds; fails on timeout
#   make_big_tarball OUT FILES MB   a plain tarball of the busybox tree plus FILES empty
#                             files (slow to unpack) and MB MiB of random data in
#                             var/blob-*; prints the sha256 of the last blob (if any)

have_gdbus() {
        command -v gdbus >/dev/null 2>&1
}

bus_error() {
        local path=$1 method=$2
        shift 2
        capture gdbus call --session --dest org.chrootd1 --object-path "$path" \
                --method "$method" --timeout 120 -- "$@"
        if [ "$RC" -eq 0 ]; then
                BUS_ERROR=none
        else
                BUS_ERROR=$(sed -n 's/^.*GDBus\.Error:\([A-Za-z0-9_.]*\): .*$/\1/p' <<<"$ERR" | head -n 1)
        fi
        return 0
}

assert_bus_error() {
        local expected=$1 desc=$2
        shift 2
        if ! have_gdbus; then
                skip "$desc" "gdbus (libglib2.0-bin) is needed to see D-Bus error names"
                return 0
        fi
        bus_error "$@"
        if [ "$BUS_ERROR" = "$expected" ]; then
                ok "$desc"
        else
                not_ok "$desc" "expected error: $expected" "got: ${BUS_ERROR:-(no error name)}"
                tap_command_diag gdbus call "$@"
                return 1
        fi
}

list_chroots_tsv() {
        busctl --user --timeout=120 --json=short call org.chrootd1 /org/chrootd1 \
                org.chrootd1.Manager ListChroots |
                python3 -c 'import json, sys
for c in json.load(sys.stdin)["data"][0]:
    print("\t".join(c[:4] + [",".join(c[4])]))'
}

list_sessions_tsv() {
        busctl --user --timeout=120 --json=short call org.chrootd1 /org/chrootd1 \
                org.chrootd1.Manager ListSessions |
                python3 -c 'import json, sys
for s in json.load(sys.stdin)["data"][0]:
    print("\t".join(s))'
}

session_path() {
        local out
        out=$(manager_call GetSession s "$1") || return 1
        out=${out#o \"}
        printf '%s\n' "${out%\"}"
}

session_property() {
        local path
        path=$(session_path "$1") || return 1
        busctl --user --timeout=120 --json=short get-property org.chrootd1 "$path" \
                org.chrootd1.Session "$2" |
                python3 -c 'import json, sys; print(json.load(sys.stdin)["data"])'
}

sessions_dir() {
        printf '%s\n' "${XDG_STATE_HOME:-$HOME/.local/state}/chrootd/sessions"
}

session_tree() {
        printf '%s/%s/root\n' "$(sessions_dir)" "$1"
}

subid_start() {
        local f=/etc/sub$1
        awk -F: -v u="$(id -un)" -v id="$(id -u)" \
                '($1 == u || $1 == id) && $3 >= 65536 { print $2; exit }' "$f"
}

require_subids() {
        suid=$(subid_start uid)
        [ -n "$suid" ] || skip_all "$(id -un) has no 65536 subordinate ids in /etc/subuid"
}

bg_run() {
        local out=$1 err=$2
        shift 2
        chrootctl "$@" >"$out" 2>"$err" </dev/null &
        BG=$!
        bg_pids+=("$BG")
}

host_id() {
        local self
        if [ "$1" = uid ]; then self=$(id -u); else self=$(id -g); fi
        if [ "${3:-}" = self ] && [ "$2" = "$self" ]; then echo "$self"; else echo $(($(subid_start "$1") + $2)); fi
}

session_id_map() {
        local self start
        if [ "$1" = uid ]; then self=$(id -u); else self=$(id -g); fi
        start=$(subid_start "$1")
        if [ "${2:-}" != self ]; then
                echo "0 $start 65536"
        elif [ "$self" -gt 0 ] && [ "$self" -lt 65535 ]; then
                echo "0 $start $self|$self $self 1|$((self + 1)) $((start + self + 1)) $((65535 - self))"
        elif [ "$self" = 65535 ]; then
                echo "0 $start 65535|65535 65535 1"
        else
                echo "0 $start 65536"
        fi
}

subid_processes() {
        local start
        start=$(subid_start uid)
        [ -n "$start" ] || return 0
        ps -e -o pid=,uid=,args= | awk -v s="$start" '$2 >= s && $2 < s + 65536 && $3 != "chrootd-leader" && $3 != "chrootd-spare"'
}

host_pid() {
        subid_processes | awk -v re="$1" '$0 ~ re { print $1; exit }'
}

leader_processes() {
        local start
        start=$(subid_start uid)
        [ -n "$start" ] || return 0
        ps -e -o pid=,uid=,args= | awk -v s="$start" '$2 >= s && $2 < s + 65536 && ($3 == "chrootd-leader" || $3 == "chrootd-spare")'
}

wait_until() {
        local deadline=$((SECONDS + $1))
        shift
        until "$@"; do
                [ $SECONDS -ge $deadline ] && return 1
                sleep 0.1
        done
        return 0
}

make_big_tarball() {
        local out=$1 files=$2 mb=$3 rootfs dir i sum=
        rootfs=$(test_rootfs) || return 1
        dir=$(mktemp -d) || return 1
        cp -a "$rootfs/busybox-dir" "$dir/tree" && mkdir -p "$dir/tree/var/many" &&
                (cd "$dir/tree/var/many" && seq 1 "$files" | xargs -r touch) || { rm -rf "$dir"; return 1; }
        for ((i = 1; i <= mb / 50 + (mb % 50 > 0); i++)); do
                head -c "$((mb - (i - 1) * 50 < 50 ? mb - (i - 1) * 50 : 50))M" /dev/urandom \
                        >"$dir/tree/var/blob-$i" || { rm -rf "$dir"; return 1; }
                sum=$(sha256sum <"$dir/tree/var/blob-$i" | cut -d' ' -f1)
        done
        tar --numeric-owner --owner=0 --group=0 -C "$dir/tree" -cf "$out" . || { rm -rf "$dir"; return 1; }
        rm -rf "$dir"
        [ -n "$sum" ] && printf '%s\n' "$sum"
        return 0
}
