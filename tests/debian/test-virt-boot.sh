#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# autopkgtest, unchanged, with a booted testbed: `autopkgtest ... -- chrootd --boot
# CHROOT`, in a real Debian tree of the host's release with systemd as init. The server
# offers isolation-container and reboot; the protocol's reboot boots the testbed again;
# a package's isolation-container test and its needs-reboot test (/tmp/autopkgtest-reboot)
# pass; kill -9 of the server with a booted testbed leaves nothing.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_user_manager
require_subids
deb_require mmdebstrap autopkgtest dpkg-source
deb_boot_chroot
export PATH=$prefix/bin:$PATH
C=$DEB_BOOT_CHROOT
cd / || bail_out "cannot cd /"
deb_chrootd_snapshot

# ---- capabilities: isolation-container and reboot only with --boot ----
capture bash -c 'printf "capabilities\nquit\n" | autopkgtest-virt-chrootd --boot '"$C"
assert_match "^ok .*isolation-container" "$(sed -n 2p <<<"$OUT")" "--boot: the server offers isolation-container"
assert_match "^ok .* reboot( |$)" "$(sed -n 2p <<<"$OUT")" "--boot: and reboot"
capture bash -c 'printf "capabilities\nquit\n" | autopkgtest-virt-chrootd '"$C"
check "without --boot neither" test -n "$OUT" -a -z "$(sed -n 2p <<<"$OUT" | grep -E 'isolation-container|reboot')"

# ---- the protocol by hand: open boots the testbed, reboot boots it again ----
coproc VIRT { exec autopkgtest-virt-chrootd --boot "$C" 2>/dev/null; }
read -r -t 30 -u "${VIRT[0]}" l
echo open >&"${VIRT[1]}"
read -r -t 150 -u "${VIRT[0]}" l
assert_match "^ok /tmp/autopkgtest\." "$l" "open answers the testbed's scratch directory"
get_prefix() {
        local l
        echo print-execute-command >&"${VIRT[1]}"
        read -r -t 30 -u "${VIRT[0]}" l
        mapfile -t pfx < <(python3 -c 'import sys, urllib.parse
for a in sys.argv[1].split(","): print(urllib.parse.unquote(a))' "${l#ok }")
}
get_prefix
capture "${pfx[@]}" sh -c 'cat /proc/1/comm; systemctl is-system-running --wait'
assert_eq "0|systemd|running" "$RC|$(paste -sd'|' <<<"$OUT")" "the testbed is booted: PID 1 is systemd, the system running"
id0=$("${pfx[@]}" cat /proc/sys/kernel/random/boot_id)
"${pfx[@]}" sh -c 'echo kept >/var/tmp/chrootd-virt-kept'
echo reboot >&"${VIRT[1]}"
read -r -t 180 -u "${VIRT[0]}" l
assert_match "^ok" "$l" "the protocol's reboot answers ok"
get_prefix
id1=$("${pfx[@]}" cat /proc/sys/kernel/random/boot_id)
check "after it the testbed has booted again (a new boot id)" test -n "$id1" -a "$id1" != "$id0"
capture "${pfx[@]}" cat /var/tmp/chrootd-virt-kept
assert_eq "0|kept" "$RC|$OUT" "and the tree kept what was written before the reboot"

# ---- kill -9 of the server with a booted testbed ----
kill -KILL "$VIRT_PID"
wait "$VIRT_PID" 2>/dev/null
wait_until 30 eval '[ -z "$(chrootctl --no-legend sessions)" ]'
deb_chrootd_nothing_left "after kill -9 of the server with a booted testbed"

# ---- a package's isolation-container and needs-reboot tests through autopkgtest ----
# (-U: autopkgtest unpacks the source inside, with dpkg-dev, which the tree lacks)
work=$(deb_workdir virt-boot)
dsc=$(BOOT=1 bash "$deb_here/make-source.sh" "$work") || bail_out "could not make the source package"
start=$SECONDS
capture env -C "$work" autopkgtest -U --no-built-binaries --output-dir "$work/out" "$dsc" -- chrootd --boot "$C"
note "autopkgtest took $((SECONDS - start)) s"
summary=$(cat "$work/out/summary" 2>&1)
assert_eq 0 "$RC" "autopkgtest with a booted testbed passes" || diag "$(tail -n 40 <<<"$OUT$ERR")"
assert_match "booted +PASS" "$summary" "the isolation-container test passed"
assert_match "rebooting +PASS" "$summary" "the needs-reboot test passed"
assert_contains "booted ok: PID 1 is systemd, the system is running" "$OUT$ERR" \
        "the isolation-container test saw PID 1 systemd and a running system"
assert_contains "rebooting ok: a new boot" "$OUT$ERR" "the needs-reboot test saw a new boot after /tmp/autopkgtest-reboot"
deb_chrootd_nothing_left "after autopkgtest with a booted testbed"

done_testing
