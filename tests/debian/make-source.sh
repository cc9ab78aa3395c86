#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Make a tiny real Debian source package in DIR (default: a new temp dir) and print the
# path of its .dsc: it links against zlib (Build-Depends: debhelper-compat (= 13),
# zlib1g-dev, both from the archive), and has two autopkgtests, one needs-root and one
# run as the user. FAIL=1 makes the user test fail; NET=1 makes the build reach the
# network (no curl in a buildd chroot: bash's /dev/tcp to deb.debian.org:80, printing
# "network: HTTP/1.0 ...") and fail without it; NET=probe prints "network probe:
# reached" or "network probe: none" and builds either way.
set -eu
dir=${1:-$(mktemp -d)}
name=chrootd-hello
ver=1.0
src=$dir/$name-$ver
rm -rf "$src"; mkdir -p "$src/debian/source" "$src/debian/tests"
cat >"$src/hello.c" <<'EOF'
#include <stdio.h>
#include <zlib.h>
int main(void) { printf("hello from chrootd, zlib %s\n", zlibVersion()); return 0; }
EOF
cat >"$src/Makefile" <<'EOF'
all: chrootd-hello
chrootd-hello: hello.c
	$(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $< -lz
install:
	install -D -m 0755 chrootd-hello $(DESTDIR)/usr/bin/chrootd-hello
clean:
	rm -f chrootd-hello
EOF
cat >"$src/debian/control" <<'EOF'
Source: chrootd-hello
Section: misc
Priority: optional
Maintainer: chrootd tests <chrootd-tests@example.invalid>
Build-Depends: debhelper-compat (= 13), zlib1g-dev
Standards-Version: 4.6.2
Rules-Requires-Root: no

Package: chrootd-hello
Architecture: any
Depends: ${shlibs:Depends}, ${misc:Depends}
Description: chrootd test package
 A tiny program linked against zlib, built by sbuild through unschroot.
EOF
cat >"$src/debian/changelog" <<'EOF'
chrootd-hello (1.0) bookworm; urgency=medium

  * Test package for chrootd's Debian client tests.

 -- chrootd tests <chrootd-tests@example.invalid>  Sat, 28 Nov 2026 12:00:00 +0000
EOF
cat >"$src/debian/copyright" <<'EOF'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Files: *
Copyright: none
License: CC0-1.0
EOF
echo '3.0 (native)' >"$src/debian/source/format"
net=
if [ "${NET:-}" = probe ]; then
        # Says whether the build step has the network, and builds either way.
        net=$(cat <<'NETEOF'
	bash -c 'if exec 3<>/dev/tcp/deb.debian.org/80; then echo "network probe: reached"; else echo "network probe: none"; fi' 2>&1 || true
NETEOF
)
elif [ -n "${NET:-}" ]; then
        net=$(cat <<'NETEOF'
	bash -c 'exec 3<>/dev/tcp/deb.debian.org/80 && printf "HEAD / HTTP/1.0\r\nHost: deb.debian.org\r\n\r\n" >&3 && echo "network: $$(head -n 1 <&3 | tr -d "\r")"'
NETEOF
)
fi
cat >"$src/debian/rules" <<EOF
#!/usr/bin/make -f
%:
	dh \$@

override_dh_auto_build:
	dh_auto_build
$net
EOF
chmod 755 "$src/debian/rules"
fail=
[ -n "${FAIL:-}" ] && fail='echo failing on purpose >&2; exit 1'
cat >"$src/debian/tests/control" <<'EOF'
Tests: as-root
Restrictions: needs-root

Tests: as-user
EOF
cat >"$src/debian/tests/as-root" <<'EOF'
#!/bin/sh
set -e
test "$(id -u)" = 0
chrootd-hello | grep -q 'hello from chrootd'
echo "as-root ok: $(id -un)"
EOF
cat >"$src/debian/tests/as-user" <<EOF
#!/bin/sh
set -e
test "\$(id -u)" != 0
chrootd-hello | grep -q 'hello from chrootd'
echo "as-user ok: \$(id -un)"
$fail
EOF
chmod 755 "$src/debian/tests/as-root" "$src/debian/tests/as-user"
if [ -n "${FILES:-}" ]; then
        printf 'payload: copied down by the virt server\n' >"$src/debian/tests/payload"
        printf '\nTests: files\n' >>"$src/debian/tests/control"
        cat >"$src/debian/tests/files" <<'EOF'
#!/bin/sh
set -e
grep -q 'payload: copied down' debian/tests/payload
a=$AUTOPKGTEST_ARTIFACTS
mkdir -p "$a/sub"
cp debian/tests/payload "$a/out.txt"
chmod 0640 "$a/out.txt"
ln -s ../out.txt "$a/sub/link"
printf '#!/bin/sh\n' >"$a/sub/exec"
chmod 0750 "$a/sub/exec"
echo "files ok: $(id -un)"
EOF
        chmod 755 "$src/debian/tests/files"
fi
if [ -n "${SLEEP:-}" ]; then
        printf '\nTests: slow\nRestrictions: needs-root\n' >>"$src/debian/tests/control"
        cat >"$src/debian/tests/slow" <<'EOF'
#!/bin/sh
(setsid sleep 3001 </dev/null >/dev/null 2>&1 &)
echo "slow: started"
exec sleep 3000
EOF
        chmod 755 "$src/debian/tests/slow"
fi
if [ -n "${BOOT:-}" ]; then
        # Tests for a booted testbed (autopkgtest-virt-chrootd --boot) alone: no build
        # needed (autopkgtest --no-built-binaries), nothing but the booted system.
        cat >"$src/debian/tests/control" <<'EOF'
Tests: booted
Depends: systemd
Restrictions: isolation-container, needs-root

Tests: rebooting
Depends: systemd
Restrictions: needs-reboot, needs-root
EOF
        cat >"$src/debian/tests/booted" <<'EOF'
#!/bin/sh
set -e
test "$(cat /proc/1/comm)" = systemd
state=$(systemctl is-system-running --wait || true)
systemd-run --quiet --unit=chrootd-booted-test --wait true
echo "booted ok: PID 1 is systemd, the system is $state, and runs a unit"
EOF
        cat >"$src/debian/tests/rebooting" <<'EOF'
#!/bin/sh
set -e
id=$(cat /proc/sys/kernel/random/boot_id)
case "${AUTOPKGTEST_REBOOT_MARK:-}" in
"")
        echo "$id" >/var/tmp/chrootd-boot-before
        echo kept >/var/tmp/chrootd-kept
        echo "rebooting: first boot"
        /tmp/autopkgtest-reboot after-reboot ;;
after-reboot)
        test "$(cat /var/tmp/chrootd-boot-before)" != "$id"
        test "$(cat /var/tmp/chrootd-kept)" = kept
        echo "rebooting ok: a new boot, and the tree kept what was written" ;;
esac
EOF
        chmod 755 "$src/debian/tests/booted" "$src/debian/tests/rebooting"
fi
(cd "$dir" && dpkg-source -b "$name-$ver" >/dev/null)
echo "$dir/${name}_$ver.dsc"
