#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# make-rootfs.sh OUTDIR: a small root filesystem from busybox-static, for tests and the
# quickstart. Needs no privileges. Writes
#   OUTDIR/busybox.tar .tar.gz .tar.xz .tar.zst .tar.bz2   the same tree, every
#       compression chrootd reads; entries owned 0:0 except home/tester (1000:1000)
#   OUTDIR/busybox-dir/   the tree unpacked, for directory chroots (owned by the caller)
# The tree: bin/busybox and a symlink per applet in bin/, etc/{passwd,group,hostname,
# os-release}, users root (0), tester (1000, also in group staff (50)) and nobody, and
# the usual empty directories. Nothing is redone when OUTDIR is up to date with this
# script and the busybox binary. BUSYBOX=/path overrides the binary.
set -euo pipefail

out=${1:?usage: make-rootfs.sh OUTDIR}
busybox=${BUSYBOX:-/bin/busybox}
prog=${0##*/}

[ -x "$busybox" ] || { echo "$prog: no $busybox (apt-get install busybox-static)" >&2; exit 1; }
# A dynamically linked busybox (package busybox) would not run without its libraries.
ldd_out=$(LC_ALL=C ldd "$busybox" 2>&1 || true)
if ! grep -Eq 'not a dynamic executable|statically linked' <<<"$ldd_out"; then
        echo "$prog: $busybox is not statically linked (apt-get install busybox-static)" >&2
        exit 1
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
stamp=$(cat "$0" "$busybox" | sha256sum | cut -d' ' -f1)
outputs=(busybox.tar busybox.tar.gz busybox.tar.xz busybox.tar.zst busybox.tar.bz2 busybox-dir/bin/busybox)
uptodate=1
for f in "${outputs[@]}"; do [ -e "$out/$f" ] || uptodate=; done
if [ -n "$uptodate" ] && [ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp" ]; then
        exit 0
fi

tmp=$(mktemp -d "$out/.tmp.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
umask 022
root=$tmp/busybox-dir
mkdir -p "$root"
cd "$root"
mkdir -p bin sbin etc proc sys dev root home/tester var/tmp usr/bin usr/sbin tmp
chmod 1777 tmp var/tmp
chmod 0700 root
cp "$busybox" bin/busybox
chmod 0755 bin/busybox
for applet in $("$busybox" --list); do
        [ "$applet" = busybox ] || ln -s busybox "bin/$applet"
done
# For "#!/usr/bin/env" scripts.
ln -s ../../bin/busybox usr/bin/env

cat >etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/sh
tester:x:1000:1000:tester:/home/tester:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
# Locked passwords, as in a Debian chroot.
cat >etc/shadow <<'EOF'
root:*:19000:0:99999:7:::
tester:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
EOF
chmod 0640 etc/shadow
cat >etc/group <<'EOF'
root:x:0:
staff:x:50:tester
tester:x:1000:
nogroup:x:65534:
EOF
echo busybox >etc/hostname
version=$("$busybox" 2>&1 | sed -n '1s/^BusyBox v\([^ ]*\).*/\1/p')
cat >etc/os-release <<EOF
PRETTY_NAME="BusyBox ${version:-static} (chrootd test root)"
NAME="BusyBox"
ID=busybox
VERSION_ID="${version:-unknown}"
EOF
echo 'PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' >etc/profile

# tar's --owner/--group apply to a whole invocation: everything as root first, then
# home/tester appended as 1000:1000.
tar_opts=(--format=gnu --numeric-owner --sort=name)
tar "${tar_opts[@]}" --owner=0 --group=0 --exclude=./home/tester -cf "$tmp/busybox.tar" .
tar "${tar_opts[@]}" --owner=1000 --group=1000 -rf "$tmp/busybox.tar" ./home/tester

gzip -n -c "$tmp/busybox.tar" >"$tmp/busybox.tar.gz" &
xz -T0 -c "$tmp/busybox.tar" >"$tmp/busybox.tar.xz" &
zstd -q -c "$tmp/busybox.tar" >"$tmp/busybox.tar.zst" &
bzip2 -c "$tmp/busybox.tar" >"$tmp/busybox.tar.bz2" &
for job in $(jobs -p); do wait "$job"; done

cd "$out"
rm -rf busybox-dir .stamp
for f in busybox.tar busybox.tar.gz busybox.tar.xz busybox.tar.zst busybox.tar.bz2 busybox-dir; do
        mv "$tmp/$f" "$out/$f"
done
echo "$stamp" >"$out/.stamp"
