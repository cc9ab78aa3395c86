#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Debian's sbuild, unchanged, in schroot mode through chrootd, with the README's
# ~/.sbuildrc: a real source package with build dependencies from the archive is built
# and its .deb checked; then a build whose debian/rules reaches deb.debian.org fails
# with a network error when the build step is isolated. The tarball is never changed.
#
# sbuild >= 0.85.9 (trixie's 0.89) asks for --isolate-network in the build step itself
# when its schroot binary's path contains "unschroot", as the README's does: there the
# first build's package stays off the network and the second one, which reaches for
# it, fails. 0.85.0 (bookworm's) never asks: there the first build reaches the network
# (proving that the build step has it unless told otherwise), and the second goes
# through a five-line wrapper that adds --isolate-network to the dpkg-buildpackage call,
# as later versions do. Which sbuild this is is told by what it does, not its version.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_user_manager
deb_require mmdebstrap sbuild dpkg-source
id -nG | tr ' ' '\n' | grep -qx sbuild ||
        skip_all "$(id -un) is not in group sbuild, which sbuild 0.85 requires (usermod -aG sbuild; tests/run-all does it)"
deb_tarball
export PATH=$compat:$PATH
if grep -rqs -- '--isolate-network' /usr/share/perl5/Sbuild/; then isolates=1; else isolates=; fi
note "this sbuild $([ -n "$isolates" ] && echo asks || echo does not ask) unschroot for --isolate-network"
deb_snapshot
tarball_id() { stat -c '%i %s %Y' "$DEB_TARBALL"; }
before=$(tarball_id)

# ---- 1. the build, as the README says: compat schroot first in PATH, ~/.sbuildrc ----
work=$(deb_workdir sbuild)
# (Where this sbuild isolates the build step, the package only probes the network: its
# build must succeed.)
if [ -n "$isolates" ]; then net=probe; else net=1; fi
dsc=$(NET=$net bash "$deb_here/make-source.sh" "$work") || bail_out "could not make the source package"
deb_sbuildrc "$work/sbuildrc" "$unschroot"
cd "$work" || bail_out "cd $work"
start=$SECONDS
capture env SBUILD_CONFIG="$work/sbuildrc" sbuild -d "$DEB_SUITE" -c "$DEB_CHROOT" --no-run-lintian \
        --no-run-autopkgtest --no-run-piuparts "$dsc"
note "sbuild took $((SECONDS - start)) s"
if ! assert_eq 0 "$RC" "sbuild builds the package"; then
        diag "$(tail -n 40 <<<"$OUT")"
fi
buildlog=$(cat "$work"/*.build 2>/dev/null)
assert_match "Status: successful" "$buildlog" "the build log says Status: successful"
assert_match "Setting up zlib1g-dev" "$buildlog" "build dependencies were installed from the archive in the session"
if [ -n "$isolates" ]; then
        assert_match "network probe: none" "$buildlog" "sbuild had the build step's network isolated"
else
        assert_match "network: HTTP/1\.[01] " "$buildlog" "the build step reached the network (no isolation asked for)"
fi
deb=$(ls "$work"/chrootd-hello_1.0_*.deb 2>/dev/null | head -n 1)
check "a .deb was made" test -s "$deb"
capture dpkg-deb -f "$deb" Package Architecture Depends
assert_match "Package: chrootd-hello" "$OUT" "the .deb is chrootd-hello"
assert_match "Depends:.*libc6.*zlib1g" "$OUT" "its Depends (from shlibs) name libc6 and zlib1g"
mkdir -p "$work/x"
if dpkg-deb -x "$deb" "$work/x" 2>/dev/null; then
        capture "$work/x/usr/bin/chrootd-hello"
        assert_match "^hello from chrootd, zlib [0-9.]+" "$OUT" "the binary it contains runs and uses zlib"
else
        not_ok "the binary it contains runs and uses zlib" "dpkg-deb -x failed"
fi
check "a .changes file was made" test -s "$work/chrootd-hello_1.0_$DEB_ARCH.changes"
deb_nothing_left "after the build"
assert_eq "$before" "$(tarball_id)" "the build left the tarball as it was"

# ---- 2. the same build with the network isolated during the build step ----
work2=$(deb_workdir sbuild-isolated)
dsc=$(NET=1 bash "$deb_here/make-source.sh" "$work2") || bail_out "could not make the source package"
if [ -n "$isolates" ]; then
        deb_sbuildrc "$work2/sbuildrc" "$unschroot"
else
        cat >"$work2/unschroot-isolating" <<EOS
#!/bin/sh
# What sbuild >= 0.85.9 does for an unschroot binary: --isolate-network for the build.
case " \$* " in *" dpkg-buildpackage "*) exec "$unschroot" --isolate-network "\$@" ;; esac
exec "$unschroot" "\$@"
EOS
        chmod 755 "$work2/unschroot-isolating"
        deb_sbuildrc "$work2/sbuildrc" "$work2/unschroot-isolating"
fi
cd "$work2" || bail_out "cd $work2"
capture env SBUILD_CONFIG="$work2/sbuildrc" sbuild -d "$DEB_SUITE" -c "$DEB_CHROOT" --no-run-lintian \
        --no-run-autopkgtest --no-run-piuparts "$dsc"
assert_eq 2 "$RC" "with the build isolated, sbuild exits 2 (attempted: the build itself failed)"
buildlog=$(cat "$work2"/*.build 2>/dev/null)
assert_match "Setting up zlib1g-dev" "$buildlog" "build dependencies were still installed (the network is cut for the build only)"
assert_match "deb.debian.org: (Temporary failure in name resolution|Name or service not known)" "$buildlog" \
        "the build's connection attempt failed with a network error"
assert_match "Status: attempted" "$buildlog" "the build log says Status: attempted"
check "no .deb was made" test -z "$(ls "$work2"/*.deb 2>/dev/null)"
cd / || true
deb_nothing_left "after the isolated build"
assert_eq "$before" "$(tarball_id)" "the isolated build left the tarball as it was"
done_testing
