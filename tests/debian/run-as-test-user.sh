#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# As root: run one of the scripts here as the test user chrootd-test under a private
# systemd --user (tests/lib/user-manager.sh), the way tests/run-all does, but without
# cleaning ~/.cache/sbuild (the bookworm tarball is kept). BUILD=1 first syncs, builds
# and installs the tree into the user's ~/.local. The manager's log (chrootd's too) is
# kept and its path printed.
#   tests/debian/run-as-test-user.sh make-tarball.sh
#   TRACE=1 SCHROOT_TRACE_NEXT=$PWD/tests/debian/unschroot-hostgroups tests/debian/run-as-test-user.sh try-sbuild.sh
# The user must be in group sbuild before the manager boots (usermod -aG sbuild chrootd-test).
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
copy=$(mktemp -d /tmp/chrootd-debian.XXXXXX); cp -r "$here" "$copy/"; chmod -R a+rX "$copy"
um_start "$user" || exit 1
UM_KEEP_LOG=1
trap 'um_stop; rm -rf "$copy"; echo "manager log: $UM_LOG" >&2' EXIT
UM_EXTRA_ENV=()
for v in TRACE SCHROOT_TRACE_NEXT FAIL TAIL ARGS NO_SBUILDRC SCHROOT_BIN; do
        [ -n "${!v:-}" ] && UM_EXTRA_ENV+=("$v=${!v//$here/$copy/debian}")
done
script=${1:?which script?}; shift
um_exec bash "$copy/debian/$script" "$@"
