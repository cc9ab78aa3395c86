#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# As the test user under its systemd --user, with the compat schroot first in PATH:
# build the test package with bookworm's sbuild in schroot mode. Prints the log's tail,
# checks the .deb. Leaves the work dir in ~/chrootd-debian-work/sbuild.
# NO_SBUILDRC=1: no SCHROOT line (fails: docs/debian-clients.md, A); default: with it
# (fails: B); TRACE=1 SCHROOT_TRACE_NEXT=.../unschroot-hostgroups: builds.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export PATH=$HOME/.local/libexec/chrootd/schroot-compat:$PATH
work=$HOME/chrootd-debian-work/sbuild
rm -rf "$work"; mkdir -p "$work"
dsc=$(bash "$here/make-source.sh" "$work") || exit 1
cd "$work"
if [ -n "${TRACE:-}" ]; then
        mkdir -p "$work/trace-bin"
        printf '#!/bin/sh\nSCHROOT_TRACE=%s SCHROOT_TRACE_NEXT=%s exec %s "$@"\n' \
                "$work/schroot-trace.log" "${SCHROOT_TRACE_NEXT:-$HOME/.local/libexec/chrootd/unschroot}" \
                "$here/schroot-trace" >"$work/trace-bin/schroot"
        chmod 755 "$work/trace-bin/schroot"
        export PATH=$work/trace-bin:$PATH
        SCHROOT_BIN=$work/trace-bin/schroot
fi
# sbuild 0.85.0 runs every in-session command with PATH removed from its environment
# (ENVIRONMENT_FILTER), so a bare "schroot" then resolves to /usr/bin/schroot; the
# binary must be set by absolute path. $schroot is not a config variable before
# 0.85.9, but .sbuildrc is Perl evaluated with $conf in scope.
cat >"$work/sbuildrc" <<EOF2
\$conf->set('SCHROOT', '${SCHROOT_BIN:-$HOME/.local/libexec/chrootd/schroot-compat/schroot}');
1;
EOF2
[ -n "${NO_SBUILDRC:-}" ] || export SBUILD_CONFIG=$work/sbuildrc
start=$SECONDS
sbuild -d bookworm --chroot-mode=schroot -c bookworm-amd64 --no-run-lintian --no-run-autopkgtest \
        --no-run-piuparts "${SBUILD_EXTRA[@]}" "$dsc" >"$work/sbuild.out" 2>&1
rc=$?
echo "sbuild rc=$rc time=$((SECONDS - start))s"
tail -n "${TAIL:-60}" "$work/sbuild.out"
ls -l "$work"
deb=$(ls "$work"/chrootd-hello_1.0_*.deb 2>/dev/null | head -n1)
if [ -n "$deb" ]; then
        dpkg-deb -I "$deb" | grep -E 'Package|Depends'
        dpkg-deb -c "$deb" | grep usr/bin/chrootd-hello
fi
left=$(schroot --all-sessions -l)
echo "sessions left: $(printf '%s' "$left" | grep -c .)"
# End what a failed run left behind (sbuild 0.85.0 without the SCHROOT line ends its
# session with the real schroot), so that the next run starts clean.
for s in $left; do schroot -e -c "$s" && echo "ended leftover $s"; done
[ -n "${TRACE:-}" ] && cat "$work/schroot-trace.log"
exit $rc
