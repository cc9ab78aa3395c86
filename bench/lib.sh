# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by the benchmarks in bench/. Source it from a script in this directory.
#
#   bench_as_test_user SCRIPT VAR...   as root: run bench/SCRIPT again as the test user
#                                      (chrootd-test) under a private systemd --user, the
#                                      way the tests run, with the named variables of the
#                                      environment passed on if set; exits with its
#                                      status. Does nothing when not root.
#
# The copy of bench/ and tests/ it runs from is in /tmp and readable by everyone: the
# test user may not be able to read the tree it was started from.

bench_src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

bench_as_test_user() {
        local script=$1 v copy user
        shift
        [ "$(id -u)" -eq 0 ] || return 0
        . "$bench_src/tests/lib/common.sh"
        . "$bench_src/tests/lib/user-manager.sh"
        user=$CT_TEST_USER
        ct_user_info "$user" || ct_die "no user $user: run tests/run-all once first"
        [ -x "$CT_HOME/.local/bin/chrootctl" ] || ct_die "chrootd is not installed for $user: run tests/run-all once first"
        copy=$(mktemp -d /tmp/chrootd-bench.XXXXXX)
        cp -r "$bench_src/bench" "$bench_src/tests" "$copy/" && chmod -R a+rX "$copy"
        um_start "$user" || ct_die "could not start a user manager for $user"
        # (a global, for the trap: the locals are gone when it runs)
        bench_copy=$copy
        trap 'um_stop; rm -rf "$bench_copy"' EXIT
        UM_WD=$CT_HOME
        UM_EXTRA_ENV=()
        for v in "$@"; do
                [ -n "${!v:-}" ] && UM_EXTRA_ENV+=("$v=${!v}")
        done
        um_exec bash "$copy/bench/$script"
        exit $?
}
