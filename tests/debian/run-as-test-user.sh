#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# As root, for working on the debian suite: run one script of this directory as the test
# user chrootd-test under a private systemd --user (tests/lib/user-manager.sh), the way
# tests/run-all does, without the rest of run-all. BUILD=1 first syncs, builds and
# installs the tree into the user's ~/.local. The manager's log (chrootd's too) is kept
# and its path printed.
#   BUILD=1 tests/debian/run-as-test-user.sh test-sbuild.sh
# The user must be in group sbuild before its manager boots (run-all sees to that).
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$src/tests/lib/common.sh"
. "$src/tests/lib/user-manager.sh"
user=${CHROOTD_TEST_USER:-chrootd-test}
home=$(getent passwd "$user" | cut -d: -f6)
[ -n "$home" ] || { echo "no user $user" >&2; exit 1; }
if [ -n "${BUILD:-}" ]; then
        ct_sync_source "$src" "$user" "$home/src" >/dev/null || exit 1
        ct_as_user "$user" "$home/src" bash -c '. tests/lib/common.sh && ct_build_install "$PWD" build "$HOME/.local"' \
                >/dev/null 2>&1 || { echo "build failed" >&2; exit 1; }
fi
# The scripts must be readable by the user wherever this tree is.
copy=$(mktemp -d /tmp/chrootd-debian.XXXXXX); cp -r "$src/tests" "$copy/"; chmod -R a+rX "$copy"
um_start "$user" || exit 1
UM_KEEP_LOG=1
trap 'um_stop; rm -rf "$copy"; echo "manager log: $UM_LOG" >&2' EXIT
UM_WD=$home
UM_EXTRA_ENV=(CHROOTD_TEST_PREFIX="$home/.local" CHROOTD_SOURCE_ROOT="$home/src" CHROOTD_BUILD_ROOT="$home/src/build")
script=${1:?which script?}; shift
um_exec bash "$copy/tests/debian/$script" "$@"
