# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers for the debian suite (tests/debian/test-*.sh): Debian's own sbuild,
# autopkgtest and schroot-style commands, unchanged, driving chrootd through the
# schroot-compatible front end, in a real bookworm buildd chroot made by mmdebstrap.
# Run as the system tests are (tests/run-all: an unprivileged user, its systemd --user,
# the installed project); sources tests/system/tap.sh.
#
#   deb_require CMD...        skip the script unless every CMD is installed
#   deb_tarball               make (once) ~/.cache/sbuild/bookworm-ARCH.tar.zst, or skip
#                             the script when the Debian mirror cannot be reached
#   deb_boot_chroot           make (once) a tree that boots (SUITE-systemd, with systemd
#                             as init) and define, for the script's run, chroot
#                             DEB_BOOT_CHROOT (booted on request) and DEB_BOOT_CHROOT-booted
#                             (boot=true) in chroots.d; or skip as deb_tarball does
#   deb_workdir NAME          a fresh work directory (printed), removed at exit
#   deb_sbuildrc FILE SCHROOT write the README's ~/.sbuildrc into FILE, with SCHROOT
#                             as the binary it names
#   deb_snapshot              remember what "nothing left behind" compares against
#   deb_chrootd_snapshot, deb_chrootd_nothing_left LABEL
#                             the same for chrootctl's and the virt server's sessions
#   deb_nothing_left LABEL    5 checks: no session (schroot's list, chrootd's state),
#                             no chrootd-run scope, no process of a subordinate id, the
#                             same mounts as at deb_snapshot
#
# Variables: DEB_CHROOT (bookworm-ARCH), DEB_TARBALL, DEB_BOOT_CHROOT, DEB_BOOT_TARBALL, unschroot, compat (the dir with
# the compat schroot; the scripts put it first in PATH), deb_here (this directory).

# shellcheck source=../system/tap.sh
. "$(dirname "${BASH_SOURCE[0]}")/../system/tap.sh"

deb_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The host's own release (bookworm, or trixie in CI's Debian 13 tree).
DEB_SUITE=${DEB_SUITE:-$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")}
DEB_SUITE=${DEB_SUITE:-bookworm}
DEB_ARCH=$(dpkg --print-architecture)
DEB_CHROOT=$DEB_SUITE-$DEB_ARCH
DEB_TARBALL=${XDG_CACHE_HOME:-$HOME/.cache}/sbuild/$DEB_CHROOT.tar.zst
DEB_BOOT_CHROOT=$DEB_SUITE-systemd
DEB_BOOT_TARBALL=${XDG_CACHE_HOME:-$HOME/.cache}/chrootd-debian/$DEB_BOOT_CHROOT.tar.zst
prefix=$(chrootd_prefix)
unschroot=$prefix/libexec/chrootd/unschroot
compat=$prefix/libexec/chrootd/schroot-compat
deb_workdirs=()
trap 'rm -rf -- "${deb_workdirs[@]}"' EXIT

deb_require() {
        local c
        for c in "$@"; do
                command -v "$c" >/dev/null 2>&1 ||
                        skip_all "$c is not installed (as root: apt-get install mmdebstrap sbuild schroot autopkgtest dpkg-dev)"
        done
}

# deb_make_tarball ARGS...: make-tarball.sh ARGS, or skip the script when the mirror
# cannot be reached, or bail out with mmdebstrap's last words.
deb_make_tarball() {
        local log
        log=$(mktemp)
        if ! bash "$deb_here/make-tarball.sh" "$@" >"$log" 2>&1; then
                if ! timeout 10 bash -c 'exec 3<>/dev/tcp/deb.debian.org/80' 2>/dev/null; then
                        rm -f "$log"
                        skip_all "deb.debian.org cannot be reached: no Debian chroot can be made"
                fi
                diag "$(tail -n 30 "$log")"
                rm -f "$log"
                bail_out "mmdebstrap could not make the tarball (make-tarball.sh $*)"
        fi
        rm -f "$log"
}

deb_tarball() {
        deb_make_tarball "$DEB_SUITE"
        [ -s "$DEB_TARBALL" ] || bail_out "$DEB_TARBALL is missing after make-tarball.sh"
}

deb_boot_chroot() {
        local conf
        deb_make_tarball "$DEB_SUITE" systemd
        [ -s "$DEB_BOOT_TARBALL" ] || bail_out "$DEB_BOOT_TARBALL is missing after make-tarball.sh"
        conf=${XDG_CONFIG_HOME:-$HOME/.config}/chrootd/chroots.d/$DEB_BOOT_CHROOT.conf
        mkdir -p "${conf%/*}" || bail_out "mkdir ${conf%/*}"
        cat >"$conf" <<EOF || bail_out "cannot write $conf"
[$DEB_BOOT_CHROOT]
file=$DEB_BOOT_TARBALL
description=Debian $DEB_SUITE with systemd, booted on request

[$DEB_BOOT_CHROOT-booted]
file=$DEB_BOOT_TARBALL
description=Debian $DEB_SUITE with systemd, always booted
boot=true
EOF
        deb_workdirs+=("$conf")
}

deb_workdir() {
        local d
        d=$(mktemp -d "${TMPDIR:-/tmp}/chrootd-debian-$1.XXXXXX") || bail_out "mktemp failed"
        deb_workdirs+=("$d")
        printf '%s\n' "$d"
}

deb_sbuildrc() {
        # The README's own block (the first perl block after "**sbuild**"), with the
        # binary put in its place.
        awk '/^\*\*sbuild\*\*/ { s = 1 } s && /^```perl$/ { p = 1; next } p && /^```$/ { exit } p' \
                "$CHROOTD_SOURCE_ROOT/README.md" |
                sed "s|\"\$ENV{HOME}/.local/libexec/chrootd/unschroot\"|'$2'|" >"$1"
        grep -q "'$2'" "$1" || bail_out "README.md has no ~/.sbuildrc block naming unschroot"
}

deb_mounts() {
        awk '{ print $5, $9 }' /proc/self/mountinfo | sort
}

deb_snapshot() {
        deb_mounts_before=$(deb_mounts)
}

# deb_chrootd_snapshot / deb_chrootd_nothing_left LABEL: the same for sessions that
# chrootctl and the virt server begin: no session, no chrootd-* unit that was not there
# at the snapshot (earlier suites may leave their own), no process of a subordinate id,
# the same mounts.
deb_chrootd_units() {
        systemctl --user list-units --all --plain --no-legend --no-pager 'chrootd-*' | awk '{ print $1 }'
}

deb_chrootd_snapshot() {
        deb_snapshot
        deb_units_before=$(deb_chrootd_units)
}

deb_chrootd_nothing_left() {
        assert_eq "" "$(chrootctl --no-legend sessions 2>&1)" "$1: chrootctl sessions lists none"
        assert_eq "$deb_units_before" "$(deb_chrootd_units)" "$1: no chrootd-* slice or scope is left"
        wait_until 20 eval '[ -z "$(subid_processes)$(leader_processes)" ]'
        assert_eq "" "$(subid_processes)$(leader_processes)" "$1: no process runs as a subordinate id"
        assert_eq "$deb_mounts_before" "$(deb_mounts)" "$1: the mount table is as before"
}

deb_nothing_left() {
        assert_eq "" "$(cd / && "$compat/schroot" --all-sessions -l 2>&1)" \
                "$1: schroot --all-sessions -l lists no session"
        assert_eq "" "$(ls -A "$(sessions_dir)" 2>&1 | grep -v 'No such file')" \
                "$1: no session is left in chrootd's state"
        assert_eq "" "$(systemctl --user list-units --all --plain --no-legend --no-pager 'chrootd-run-*' | awk '{ print $1 }')" \
                "$1: no chrootd-run-* scope is left"
        # (removing a base whose tarball changed may take a moment in the background)
        wait_until 20 eval '[ -z "$(subid_processes)$(leader_processes)" ]'
        assert_eq "" "$(subid_processes)$(leader_processes)" "$1: no process runs as a subordinate id"
        assert_eq "$deb_mounts_before" "$(deb_mounts)" "$1: the mount table is as before"
}

# run_autopkgtest SERVER WORK [ENV...]: make the package in WORK (make-source.sh, with
# ENV) and test it with `autopkgtest -U ... -- SERVER $DEB_CHROOT`; sets RC, SUMMARY
# (out/summary) and LOG (autopkgtest's output).
run_autopkgtest() {
        local server=$1 work=$2 dsc start
        shift 2
        dsc=$(env "$@" bash "$deb_here/make-source.sh" "$work") || bail_out "could not make the source package"
        cd "$work" || bail_out "cd $work"
        start=$SECONDS
        autopkgtest -U --output-dir "$work/out" "$dsc" -- "$server" "$DEB_CHROOT" >"$work/log" 2>&1
        RC=$?
        note "autopkgtest took $((SECONDS - start)) s, exit status $RC"
        SUMMARY=$(cat "$work/out/summary" 2>/dev/null)
        LOG=$(cat "$work/log")
        cd / || true
}

# deb_fetch_hello DIR: hello 2.10-3's source (bookworm's, which the archive keeps)
# from deb.debian.org's pool into DIR; prints the .dsc's path. One fixed version for
# both releases: trixie's 2.10-5 is not whole on every mirror (this machine's lacks
# its debian.tar.xz), and its tests are the same two.
deb_fetch_hello() {
        python3 - "$1" <<'PY' || return 1
import os, sys, urllib.request
pool = "http://deb.debian.org/debian/pool/main/h/hello/"
for name in ("hello_2.10-3.dsc", "hello_2.10.orig.tar.gz", "hello_2.10.orig.tar.gz.asc", "hello_2.10-3.debian.tar.xz"):
    with urllib.request.urlopen(pool + name, timeout=60) as r, open(os.path.join(sys.argv[1], name), "wb") as f:
        f.write(r.read())
PY
        echo "$1/hello_2.10-3.dsc"
}
