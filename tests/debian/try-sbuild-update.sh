#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# As the test user: sbuild-update (bookworm's, 0.85.0) on the tarball chroot through a
# source: session, which must write the tarball back. Same SCHROOT line and TRACE/
# SCHROOT_TRACE_NEXT knobs as try-sbuild.sh. Prints the tarball before and after.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export PATH=$HOME/.local/libexec/chrootd/schroot-compat:$PATH
work=$HOME/chrootd-debian-work/sbuild-update
rm -rf "$work"; mkdir -p "$work"; cd "$work"
bin=$HOME/.local/libexec/chrootd/schroot-compat/schroot
if [ -n "${TRACE:-}" ]; then
        mkdir -p "$work/trace-bin"
        printf '#!/bin/sh\nSCHROOT_TRACE=%s SCHROOT_TRACE_NEXT=%s exec %s "$@"\n' \
                "$work/schroot-trace.log" "${SCHROOT_TRACE_NEXT:-$HOME/.local/libexec/chrootd/unschroot}" \
                "$here/schroot-trace" >"$work/trace-bin/schroot"
        chmod 755 "$work/trace-bin/schroot"
        export PATH=$work/trace-bin:$PATH
        bin=$work/trace-bin/schroot
fi
printf "\$conf->set('SCHROOT', '%s');\n1;\n" "$bin" >"$work/sbuildrc"
export SBUILD_CONFIG=$work/sbuildrc
tar=${XDG_CACHE_HOME:-$HOME/.cache}/sbuild/bookworm-amd64.tar.zst
ls -li "$tar"
start=$SECONDS
sbuild-update ${UPDATE_ARGS:--ud} bookworm-amd64 >"$work/sbuild-update.out" 2>&1
rc=$?
echo "sbuild-update rc=$rc time=$((SECONDS - start))s"
tail -n "${TAIL:-20}" "$work/sbuild-update.out"
ls -li "$tar"
echo "sessions left: $(schroot --all-sessions -l | grep -c .)"
[ -n "${TRACE:-}" ] && [ -f "$work/schroot-trace.log" ] && grep '^\[' "$work/schroot-trace.log" | cut -c1-200
exit $rc
