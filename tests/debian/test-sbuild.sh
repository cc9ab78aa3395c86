#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bookworm's sbuild (0.85.0), unchanged, in schroot mode through chrootd: a real source
# package with build dependencies from the archive is built and its .deb checked; then
# the same build with network isolation during the build step fails with a network
# error. The tarball is never changed by either.
#
# The package (make-source.sh, NET=1) reaches deb.debian.org from debian/rules, so the
# first build also proves that the build step has the network unless told otherwise.
# sbuild 0.85.0 never asks for --isolate-network (DISABLE_NETWORK is not implemented for
# its schroot backend; later versions pass it when their schroot binary's path contains
# "unschroot"); the second build therefore goes through a five-line wrapper that adds
# it to the dpkg-buildpackage call, as those versions do.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_user_manager
deb_require mmdebstrap sbuild dpkg-source
id -nG | tr ' ' '\n' | grep -qx sbuild ||
        skip_all "$(id -un) is not in group sbuild, which sbuild 0.85 requires (usermod -aG sbuild; tests/run-all does it)"
deb_tarball
export PATH=$compat:$PATH
deb_snapshot
tarball_id() { stat -c '%i %s %Y' "$DEB_TARBALL"; }
before=$(tarball_id)

# ---- 1. the build, as the README says: compat schroot first in PATH, ~/.sbuildrc ----
work=$(deb_workdir sbuild)
dsc=$(NET=1 bash "$deb_here/make-source.sh" "$work") || bail_out "could not make the source package"
deb_sbuildrc "$work/sbuildrc" "$compat/schroot"
cd "$work" || bail_out "cd $work"
start=$SECONDS
capture env SBUILD_CONFIG="$work/sbuildrc" sbuild -d bookworm -c "$DEB_CHROOT" --no-run-lintian \
        --no-run-autopkgtest --no-run-piuparts "$dsc"
note "sbuild took $((SECONDS - start)) s"
if ! assert_eq 0 "$RC" "sbuild builds the package"; then
        diag "$(tail -n 40 <<<"$OUT")"
fi
buildlog=$(cat "$work"/*.build 2>/dev/null)
assert_match "Status: successful" "$buildlog" "the build log says Status: successful"
assert_match "Setting up zlib1g-dev" "$buildlog" "build dependencies were installed from the archive in the session"
assert_match "network: HTTP/1\.[01] " "$buildlog" "the build step reached the network (no isolation asked for)"
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
cat >"$work2/unschroot-isolating" <<EOS
#!/bin/sh
# What sbuild >= 0.85.9 does for an unschroot binary: --isolate-network for the build.
case " \$* " in *" dpkg-buildpackage "*) exec "$unschroot" --isolate-network "\$@" ;; esac
exec "$unschroot" "\$@"
EOS
chmod 755 "$work2/unschroot-isolating"
deb_sbuildrc "$work2/sbuildrc" "$work2/unschroot-isolating"
cd "$work2" || bail_out "cd $work2"
capture env SBUILD_CONFIG="$work2/sbuildrc" sbuild -d bookworm -c "$DEB_CHROOT" --no-run-lintian \
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
