#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# make-tarball.sh [SUITE] [systemd]: make (once), unprivileged, with chrootctl create
# (mmdebstrap --mode=unshare):
#   SUITE (default bookworm): the buildd tarball sbuild and autopkgtest use through
#     unschroot, ~/.cache/sbuild/SUITE-ARCH.tar.zst;
#   SUITE systemd: a tree that boots (minbase, systemd-sysv, dbus, procps) for booted
#     sessions, ~/.cache/chrootd-debian/SUITE-systemd.tar.zst only: the boot tests
#     describe it in a chroots.d .conf, so other tests' chroot lists do not change.
# Kept between runs in ~/.cache/chrootd-debian; a hard link from there survives scripts
# that clean ~/.cache/sbuild (tests/run-all's helpers do).
set -u
suite=${1:-bookworm}
flavour=${2:-buildd}
arch=$(dpkg --print-architecture)
dir=${XDG_CACHE_HOME:-$HOME/.cache}/sbuild
keep=${XDG_CACHE_HOME:-$HOME/.cache}/chrootd-debian
mkdir -p "$dir" "$keep"

# make_one OUT CREATE-OPTION...: `chrootctl create` (mmdebstrap in unshare mode, as a
# user makes a chroot) under a name of this run's own (two runs at once, for two
# flavours, must not take each other's), moved to OUT when whole. So sbuild and
# autopkgtest in this suite use what chrootctl create makes.
make_one() {
        local out=$1 name=chrootd-tests-part-$$ made start=$SECONDS
        shift
        made=$(chrootctl create --suite "$suite" "$@" "$name") || exit 1
        mv "$made" "$out"
        echo "chrootctl create: $((SECONDS - start))s" >&2
}

case $flavour in
systemd)
        tar=$keep/$suite-systemd.tar.zst
        [ -s "$tar" ] || make_one "$tar" --variant=minbase --include=systemd-sysv,dbus,procps
        ls -l "$tar"
        exit 0 ;;
buildd) ;;
*)
        echo "make-tarball.sh: unknown flavour '$flavour' (buildd or systemd)" >&2
        exit 2 ;;
esac

tar=$dir/$suite-$arch.tar.zst
if [ ! -s "$tar" ] && [ -s "$keep/${tar##*/}" ]; then
        ln "$keep/${tar##*/}" "$tar" || cp "$keep/${tar##*/}" "$tar"
fi
if [ ! -s "$tar" ]; then
        make_one "$keep/${tar##*/}" --variant=buildd
        ln -f "$keep/${tar##*/}" "$tar" || cp "$keep/${tar##*/}" "$tar"
fi
[ -e "$keep/${tar##*/}" ] || ln "$tar" "$keep/${tar##*/}" 2>/dev/null || cp "$tar" "$keep/"
ls -l "$tar"
