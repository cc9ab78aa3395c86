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
