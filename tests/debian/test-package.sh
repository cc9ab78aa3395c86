#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Debian package (debian/): `dpkg-buildpackage -us -uc -b` in a fresh copy of the
# tree, as the unprivileged user (Rules-Requires-Root: no), gives the three binary
# packages with the files where Debian wants them (the user unit in
# /usr/lib/systemd/user, the activation file in /usr/share/dbus-1/services, the
# schroot front end in /usr/libexec/chrootd, man pages) and nothing under a home;
# lintian finds no error in them. Then the project builds itself: its source package
# with sbuild, in a session of chrootd's own, through the schroot front end.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_user_manager
deb_require dpkg-buildpackage dh lintian scdoc meson dpkg-source
work=$(deb_workdir package)
version=$(dpkg-parsechangelog -l "$CHROOTD_SOURCE_ROOT/debian/changelog" -S Version)
src=$work/chrootd-$version
mkdir "$src"
# The tree as git would have it: without the build directory run-all made in it.
tar -C "$CHROOTD_SOURCE_ROOT" --exclude=./build --exclude=./.git -cf - . | tar -C "$src" -xf - ||
        bail_out "could not copy the source"

# ---- 1. dpkg-buildpackage, as a user ----
capture bash -c "cd '$src' && dpkg-buildpackage -us -uc -b"
if ! assert_eq 0 "$RC" "dpkg-buildpackage -us -uc -b builds, without root"; then
        diag "$(tail -n 40 <<<"$OUT$ERR")"
        bail_out "no package to check"
fi
arch=$(dpkg --print-architecture)
for p in "chrootd_${version}_$arch" "chrootd-schroot_${version}_$arch" "autopkgtest-virt-chrootd_${version}_all"; do
        check "$p.deb was made" test -s "$work/$p.deb"
done
contents() { dpkg-deb -c "$work/$1" | awk '{ print $6 }' | sed 's|^\./|/|'; }
main=$(contents "chrootd_${version}_$arch.deb")
for f in /usr/libexec/chrootd/chrootd /usr/bin/chrootctl /usr/lib/systemd/user/chrootd.service \
        /usr/share/dbus-1/services/org.chrootd1.service /usr/share/dbus-1/interfaces/org.chrootd1.Session.xml \
        /usr/share/bash-completion/completions/chrootctl /usr/share/man/man1/chrootctl.1.gz \
        /usr/share/man/man8/chrootd.8.gz /usr/share/man/man5/chroots.d.5.gz /usr/share/doc/chrootd/README.md; do
        assert_contains "$f" "$main" "chrootd has $f"
done
schroot_pkg=$(contents "chrootd-schroot_${version}_$arch.deb")
for f in /usr/libexec/chrootd/unschroot /usr/libexec/chrootd/schroot-compat/schroot /usr/share/man/man1/unschroot.1.gz; do
        assert_contains "$f" "$schroot_pkg" "chrootd-schroot has $f"
done
virt=$(contents "autopkgtest-virt-chrootd_${version}_all.deb")
assert_contains /usr/bin/autopkgtest-virt-chrootd "$virt" "autopkgtest-virt-chrootd has the server"
assert_eq "" "$(grep -E '^/(home|root)/|/\.local/' <<<"$main$schroot_pkg$virt")" "nothing goes under a home"
capture dpkg-deb -f "$work/chrootd_${version}_$arch.deb" Depends
assert_match "uidmap" "$OUT" "chrootd depends on uidmap (newuidmap)"
assert_match "dbus-user-session" "$OUT" "... on dbus-user-session (the user bus)"
assert_match "libsystemd0" "$OUT" "... and, from shlibs, on libsystemd0"
check "unit and activation file point at the installed service" \
        bash -c "dpkg-deb --fsys-tarfile '$work/chrootd_${version}_$arch.deb' |
                tar -xOf - ./usr/share/dbus-1/services/org.chrootd1.service ./usr/lib/systemd/user/chrootd.service |
                grep -q '/usr/libexec/chrootd/chrootd'"

# ---- 2. lintian: no errors; warnings are shown ----
changes=$(ls "$work"/chrootd_"${version}"_*.changes | head -n 1)
capture lintian --tag-display-limit 0 "$changes"
errors=$(grep '^E:' <<<"$OUT")
warnings=$(grep '^W:' <<<"$OUT")
assert_eq "" "$errors" "lintian finds no error"
[ -n "$warnings" ] && note "lintian's warnings:" && note "$warnings"

# ---- 3. the project builds itself with sbuild, in a session of its own ----
if ! command -v sbuild >/dev/null || ! command -v mmdebstrap >/dev/null; then
        skip "sbuild builds chrootd through chrootd" "sbuild or mmdebstrap is not installed"
elif ! id -nG | tr ' ' '\n' | grep -qx sbuild; then
        skip "sbuild builds chrootd through chrootd" "$(id -un) is not in group sbuild"
else
        deb_tarball
        export PATH=$compat:$PATH
        capture bash -c "cd '$work' && dpkg-source -b 'chrootd-$version'"
        dsc=$work/chrootd_$version.dsc
        assert_eq 0 "$RC" "dpkg-source -b makes the source package" || diag "$ERR"
        deb_sbuildrc "$work/sbuildrc" "$unschroot"
        mkdir "$work/sbuild"
        start=$SECONDS
        capture bash -c "cd '$work/sbuild' && SBUILD_CONFIG='$work/sbuildrc' sbuild -d '$DEB_SUITE' -c '$DEB_CHROOT' \
                --no-run-lintian --no-run-autopkgtest --no-run-piuparts --arch-all '$dsc'"
        note "sbuild took $((SECONDS - start)) s"
        if ! assert_eq 0 "$RC" "sbuild builds chrootd in a chrootd session (schroot mode, unschroot)"; then
                diag "$(tail -n 40 <<<"$OUT")"
        fi
        buildlog=$(cat "$work"/sbuild/*.build 2>/dev/null)
        assert_match "Setting up libsystemd-dev" "$buildlog" "its build dependencies came from the archive, in the session"
        for p in "chrootd_${version}_$arch" "chrootd-schroot_${version}_$arch" "autopkgtest-virt-chrootd_${version}_all"; do
                check "sbuild made $p.deb" test -s "$work/sbuild/$p.deb"
        done
        # The same files as the host's build: the build is the package's, not the host's.
        assert_eq "$main" "$(contents "sbuild/chrootd_${version}_$arch.deb")" "the same files as dpkg-buildpackage's chrootd"
fi
done_testing
