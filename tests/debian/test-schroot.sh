#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# schroot as Debian's users type it, in a real bookworm buildd chroot: the chroot from
# ~/.cache/sbuild listed, automatic sessions (`schroot -c bookworm-amd64 -u root --
# apt-get update`), the caller's login inside and PAM's su to it from root, files the
# caller writes into the tree from the host, --isolate-network, and nothing left.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_user_manager
deb_require mmdebstrap
[ -x "$compat/schroot" ] || bail_out "$compat/schroot is not installed"
deb_tarball
export PATH=$compat:$PATH
me=$(id -un)
cd / || bail_out "cannot cd /"
deb_snapshot

capture schroot -l
assert_contains "chroot:$DEB_CHROOT" "$OUT" "schroot -l lists the tarball from ~/.cache/sbuild"
capture schroot -l --all-source-chroots
assert_contains "source:$DEB_CHROOT" "$OUT" "schroot -l --all-source-chroots lists its source chroot"

# An automatic session as root: begun, used, ended. mmdebstrap's tarballs have no
# package lists, so this needs the network and a working resolver inside.
capture schroot -c "$DEB_CHROOT" -u root -- apt-get update
assert_eq 0 "$RC" "schroot -c $DEB_CHROOT -u root -- apt-get update succeeds $ERR"
assert_match "(Get|Hit):[0-9]+ http://deb.debian.org/debian $DEB_SUITE InRelease" "$OUT" \
        "apt-get update fetched $DEB_SUITE's index"
capture schroot -c "$DEB_CHROOT" -u root -- sh -c 'ls /var/lib/apt/lists | grep -c _Packages; true'
assert_eq "0|0" "$RC|$OUT" "the next automatic session starts from the tarball again (no lists)"

# The caller's login, as schroot provides it; root inside stays root.
capture schroot -c "$DEB_CHROOT" -- sh -c 'id -un; pwd'
assert_eq "$me|/" "$(paste -sd'|' <<<"$OUT")" "an automatic session runs as the caller's login, in the caller's directory"
capture schroot -c "$DEB_CHROOT" -u root -- su -s /bin/sh "$me" -c 'id -un'
assert_eq "0|$me" "$RC|$OUT" "root inside can su to the caller's login (PAM: passwd, group and shadow entries) $ERR"
capture schroot -c "$DEB_CHROOT" -u root -- id -un
assert_eq root "$OUT" "-u root is root inside"
if id -nG | tr ' ' '\n' | grep -qx sbuild; then
        capture schroot -c "$DEB_CHROOT" -u root -- sh -c 'groupadd --system sbuild 2>/dev/null; getent group sbuild'
        assert_contains "$me" "$OUT" "the caller's host group sbuild has them as a member inside"
else
        skip "the caller's group sbuild inside" "$me is not in group sbuild on the host"
fi

# A session the way autopkgtest uses one: the caller writes into the tree from the
# host (its --location) and root inside changes those files.
sess=$(schroot --quiet --begin-session --chroot "$DEB_CHROOT")
assert_match "^$DEB_CHROOT-[0-9a-f-]{36}\$" "$sess" "--begin-session prints the session id"
loc=$(schroot --location --chroot "session:$sess")
check "--location is the session's tree on the host" test -x "$loc/usr/bin/apt-get"
tmpd=$(schroot --run-session --quiet --directory=/ --chroot "$sess" --user=root -- sh -c \
        'd=$(mktemp --directory --tmpdir autopkgtest.XXXXXX) && chmod 1777 "$d" && echo "$d"')
printf '#!/bin/sh\necho wrapped\n' >"$loc$tmpd/wrapper.sh"
capture schroot --run-session --quiet --directory=/ --chroot "$sess" --user=root -- \
        sh -c "chmod -R 0755 -- $tmpd/wrapper.sh && stat -c %U $tmpd/wrapper.sh && $tmpd/wrapper.sh"
assert_eq "0|$me|wrapped" "$RC|$(paste -sd'|' <<<"$OUT")" \
        "a file the caller wrote from the host is theirs inside, and root inside may chmod it $ERR"
capture schroot --run-session --quiet --directory=/ --chroot "$sess" -- sh -c "echo made-inside >$tmpd/by-login"
assert_eq "$me" "$(stat -c %U "$loc$tmpd/by-login" 2>&1)" "a file the login makes inside is the caller's on the host"

# --isolate-network: only loopback, per command.
net='exec 3<>/dev/tcp/deb.debian.org/80 && echo connected'
capture schroot -r -c "$sess" -q -- bash -c "$net"
assert_eq "0|connected" "$RC|$OUT" "without --isolate-network a command reaches deb.debian.org $ERR"
capture schroot -r -c "$sess" -q --isolate-network -- bash -c "$net"
assert_eq 1 "$RC" "with --isolate-network it cannot"
assert_match "name resolution|Name or service not known|unreachable" "$ERR" "...with a network error"
capture schroot -r -c "$sess" -q --isolate-network -u root -- apt-get update
assert_match "Temporary failure resolving|Could not resolve" "$OUT$ERR" "apt-get update under --isolate-network fails to resolve"
ifaces='awk -F: "NR > 2 { gsub(/ /, \"\", \$1); print \$1 }" /proc/net/dev'
capture schroot -r -c "$sess" -q --isolate-network -- sh -c "$ifaces"
assert_eq lo "$OUT" "under --isolate-network the only interface is lo"

capture schroot --quiet --end-session --chroot "$sess"
assert_eq "0||" "$RC|$OUT|$ERR" "--end-session ends it silently"
check "the tree is gone" test ! -e "$loc"

deb_nothing_left "after the schroot commands"
done_testing
