#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# As the test user under its systemd --user, with the compat schroot first in PATH:
# run the test package's autopkgtests (one needs-root, one as the user) with bookworm's
# autopkgtest and its schroot virt server. FAIL=1 makes the user test fail.
# -U: mmdebstrap tarballs have no apt lists, so the testbed needs apt-get update.
# TRACE=1 logs every schroot call (tests/debian/schroot-trace); SCHROOT_TRACE_NEXT picks
# what the trace runs (default: unschroot). ARGS: what to test (default: the .dsc).
set -u
here=$(cd "$(dirname "$0")" && pwd)
export PATH=$HOME/.local/libexec/chrootd/schroot-compat:$PATH
work=$HOME/chrootd-debian-work/autopkgtest${FAIL:+-fail}
rm -rf "$work"; mkdir -p "$work"
dsc=$(FAIL=${FAIL:-} bash "$here/make-source.sh" "$work") || exit 1
cd "$work"
if [ -n "${TRACE:-}" ]; then
        mkdir -p "$work/trace-bin"
        printf '#!/bin/sh\nSCHROOT_TRACE=%s SCHROOT_TRACE_NEXT=%s exec %s "$@"\n' \
                "$work/schroot-trace.log" "${SCHROOT_TRACE_NEXT:-$HOME/.local/libexec/chrootd/unschroot}" \
                "$here/schroot-trace" >"$work/trace-bin/schroot"
        chmod 755 "$work/trace-bin/schroot"
        export PATH=$work/trace-bin:$PATH
fi
start=$SECONDS
autopkgtest -U --output-dir "$work/out" ${ARGS:-"$dsc"} -- schroot bookworm-amd64 >"$work/autopkgtest.out" 2>&1
rc=$?
echo "autopkgtest rc=$rc time=$((SECONDS - start))s"
tail -n "${TAIL:-40}" "$work/autopkgtest.out"
[ -f "$work/out/summary" ] && { echo "--- summary"; cat "$work/out/summary"; }
echo "sessions left: $(schroot --all-sessions -l | wc -l)"
[ -n "${TRACE:-}" ] && [ -f "$work/schroot-trace.log" ] && cut -c1-300 "$work/schroot-trace.log"
exit $rc
