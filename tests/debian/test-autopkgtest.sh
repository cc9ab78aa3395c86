#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bookworm's autopkgtest (5.28), unchanged, with `-- schroot bookworm-amd64` and the
# compat schroot first in PATH: a package's tests run, one as root (needs-root) and one
# as the caller's login through su; both pass; a failing test is reported failed. -U:
# mmdebstrap's tarballs carry no package lists. The tarball is never changed.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_user_manager
deb_require mmdebstrap autopkgtest dpkg-source
deb_tarball
export PATH=$compat:$PATH
me=$(id -un)
deb_snapshot
tarball_id() { stat -c '%i %s %Y' "$DEB_TARBALL"; }
before=$(tarball_id)


work=$(deb_workdir autopkgtest)
run_autopkgtest schroot "$work"
assert_eq 0 "$RC" "autopkgtest passes" || diag "$(tail -n 40 <<<"$LOG")"
assert_match "as-root +PASS" "$SUMMARY" "the needs-root test passed"
assert_match "as-user +PASS" "$SUMMARY" "the user test passed"
assert_contains "as-root ok: root" "$LOG" "the needs-root test ran as root"
assert_contains "as-user ok: $me" "$LOG" "the user test ran as the caller's login"
deb_nothing_left "after autopkgtest"

work=$(deb_workdir autopkgtest-fail)
run_autopkgtest schroot "$work" FAIL=1
assert_eq 4 "$RC" "with a failing test autopkgtest exits 4 (a test failed)" || diag "$(tail -n 40 <<<"$LOG")"
assert_match "as-root +PASS" "$SUMMARY" "the needs-root test still passed"
assert_match "as-user +FAIL non-zero exit status 1" "$SUMMARY" "the failing test is reported failed"
deb_nothing_left "after the failing autopkgtest"
assert_eq "$before" "$(tarball_id)" "autopkgtest left the tarball as it was"
done_testing
