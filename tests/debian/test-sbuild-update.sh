#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Maintenance of the tarball chroot with bookworm's sbuild-update, unchanged: it works
# in a source: session (source:bookworm-amd64-sbuild), which writes the tarball back
# when it ends: atomically (a new file renamed over the old), in the same compression,
# with apt's package lists now in it. Afterwards the pristine tarball is put back for
# the next run (make-tarball.sh keeps a copy in ~/.cache/chrootd-debian).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_user_manager
deb_require mmdebstrap sbuild-update
id -nG | tr ' ' '\n' | grep -qx sbuild ||
        skip_all "$(id -un) is not in group sbuild, which sbuild 0.85 requires (usermod -aG sbuild; tests/run-all does it)"
deb_tarball
export PATH=$compat:$PATH
deb_snapshot
keep=${XDG_CACHE_HOME:-$HOME/.cache}/chrootd-debian/$DEB_CHROOT.tar.zst
restore() {
        [ -s "$keep" ] && ln -f "$keep" "$DEB_TARBALL"
        rm -rf -- "${deb_workdirs[@]}"
}
trap restore EXIT

work=$(deb_workdir sbuild-update)
deb_sbuildrc "$work/sbuildrc" "$compat/schroot"
cd / || bail_out "cd /"
inode=$(stat -c %i "$DEB_TARBALL")
capture schroot -c "$DEB_CHROOT" -u root -- sh -c 'ls /var/lib/apt/lists | grep -c _Packages; true'
assert_eq 0 "$OUT" "before: the tarball has no package lists"

start=$SECONDS
capture env -C "$work" SBUILD_CONFIG="$work/sbuildrc" sbuild-update -ud "$DEB_CHROOT"
note "sbuild-update took $((SECONDS - start)) s"
assert_eq 0 "$RC" "sbuild-update -ud $DEB_CHROOT succeeds" || diag "$(tail -n 30 <<<"$OUT$ERR")"
check "the tarball was replaced by a new file (renamed into place)" test "$(stat -c %i "$DEB_TARBALL")" != "$inode"
check "it is still a whole zstd stream (zstd -t)" zstd -q -t "$DEB_TARBALL"
check "no temporary file is left beside it" test -z "$(ls -A "$(dirname "$DEB_TARBALL")" | grep '^\.#')"
capture schroot -c "$DEB_CHROOT" -u root -- sh -c 'ls /var/lib/apt/lists | grep -c _Packages'
assert_match "^[1-9][0-9]*$" "$OUT" "a new session of the chroot has the package lists sbuild-update fetched"
capture schroot -c "$DEB_CHROOT" -u root -- apt-get -s install zlib1g-dev
assert_contains "Inst zlib1g-dev" "$OUT" "apt in it can resolve packages without an update"
deb_nothing_left "after sbuild-update"
done_testing
