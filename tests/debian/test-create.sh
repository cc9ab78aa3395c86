#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# chrootctl create and update, as a user makes and keeps a chroot without root:
# - create runs mmdebstrap (unshare mode) into ~/.cache/sbuild/NAME.tar.zst, which the
#   service lists and a session runs; an existing tarball is never replaced; without
#   mmdebstrap, or with a mirror that cannot be reached, a clear error and nothing left
#   (no tarball, no part of one);
# - update upgrades it through a write-back session (apt-get update, dist-upgrade):
#   the tarball changes and still works; an upgrade that fails leaves it as it was
#   (the same bytes) and no session behind.
# (sbuild and autopkgtest in this suite run in tarballs make-tarball.sh makes with
# chrootctl create.)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_user_manager
require_subids
deb_require mmdebstrap
# The suite's own buildd tarball: made by chrootctl create (make-tarball.sh), or skip
# when the mirror cannot be reached.
deb_tarball
sbuild_dir=${XDG_CACHE_HOME:-$HOME/.cache}/sbuild
name=create-test-$$
tarball=$sbuild_dir/$name.tar.zst
broken=create-broken-$$
cleanup_create() { rm -f "$tarball" "$sbuild_dir/$broken.tar.zst"; rm -rf "$sbuild_dir"/.create-*; }
trap 'cleanup_create; rm -rf -- "${deb_workdirs[@]}"' EXIT
deb_chrootd_snapshot
leftovers() { ls -A "$sbuild_dir" | grep -E "^\.create-|^$1" || true; }

# ---- create ----
start=$SECONDS
capture chrootctl create --suite "$DEB_SUITE" --variant minbase --include ca-certificates "$name"
note "chrootctl create (minbase) took $((SECONDS - start)) s"
assert_eq "0|$tarball" "$RC|$(tail -n 1 <<<"$OUT")" "create makes the tarball and prints its path" || diag "$ERR"
check "it is a zstd tarball" zstd -tq "$tarball"
capture tar -tf "$tarball" ./usr/share/ca-certificates/ ./etc/os-release
assert_eq 0 "$RC" "with what --include asked for" || diag "$ERR"
check "no part of it is left beside it" test -z "$(ls -A "$sbuild_dir" | grep '^\.create-')"
check "the service lists it as a chroot" bash -c "chrootctl list --no-legend | grep -Eq '^$name +file +$tarball'"
id=$(chrootctl begin "$name") || bail_out "could not begin a session of $name"
capture chrootctl run "$id" -- sh -c '. /etc/os-release; echo "$VERSION_CODENAME"; dpkg -s ca-certificates | grep "^Status"'
assert_eq "0|$DEB_SUITE|Status: install ok installed" "$RC|$(paste -sd'|' <<<"$OUT")" \
        "a session of it is Debian $DEB_SUITE, with its packages installed"
chrootctl end "$id"

before=$(stat -c '%i %s %Y' "$tarball")
capture chrootctl create --suite "$DEB_SUITE" --variant minbase "$name"
assert_eq 1 "$RC" "create of a name that exists fails"
assert_contains "exists already" "$ERR" "... saying so"
assert_eq "$before" "$(stat -c '%i %s %Y' "$tarball")" "... and leaves the tarball alone"

capture env PATH=/usr/local/nothing:/nonexistent "$(command -v chrootctl)" create --suite "$DEB_SUITE" nommdebstrap
assert_eq 1 "$RC" "without mmdebstrap, create fails"
assert_contains "mmdebstrap is not installed" "$ERR" "... saying so"
capture chrootctl create --suite "$DEB_SUITE" --variant minbase --mirror http://127.0.0.1:9/debian unreachable
assert_eq 1 "$RC" "with a mirror that cannot be reached, create fails"
assert_contains "the mirror 127.0.0.1 cannot be reached" "$(tail -n 1 <<<"$ERR")" "... saying so, last"
check "... and leaves nothing in ~/.cache/sbuild" test -z "$(leftovers unreachable)"
# Without subordinate ids (empty /etc/subuid and /etc/subgid bound over the real ones
# in a user and mount namespace of our own uid).
: >"$sbuild_dir/.empty-subids-$$"
capture unshare --map-current-user --keep-caps --mount -- sh -c \
        'mount --bind "$0" /etc/subuid && mount --bind "$0" /etc/subgid && exec "$@"' "$sbuild_dir/.empty-subids-$$" \
        chrootctl create --suite "$DEB_SUITE" nosubids
rm -f "$sbuild_dir/.empty-subids-$$"
if [[ $ERR == *"mount"*"ermission"* || $ERR == *"unshare: "* ]]; then
        skip "without subordinate ids, create fails" "no user and mount namespace to hide them in: $ERR"
else
        assert_eq 1 "$RC" "without subordinate ids, create fails" || diag "$ERR"
        assert_contains "has no 65536 subordinate ids" "$ERR" "... saying so, and how to get them"
fi
capture chrootctl create --variant nonsense x
assert_eq 1 "$RC" "a variant mmdebstrap has not is refused"
capture chrootctl create 'no/slash'
assert_eq 1 "$RC" "a name that is no chroot name is refused"

# ---- update ----
# mmdebstrap leaves no package lists; an update leaves them.
lists() { tar -tf "$1" | grep -Ec '^(\./)?var/lib/apt/lists/.*Packages' || true; }
assert_eq 0 "$(lists "$tarball")" "before update: no package lists in the tarball"
start=$SECONDS
capture chrootctl update "$name"
note "chrootctl update took $((SECONDS - start)) s"
assert_eq 0 "$RC" "update succeeds" || diag "$(tail -n 20 <<<"$ERR")"
assert_contains "Reading package lists" "$OUT" "it ran apt-get, with our stdout"
check "the tarball changed: the package lists are in it now" test "$(lists "$tarball")" -gt 0
check "it is still a zstd tarball" zstd -tq "$tarball"
id=$(chrootctl begin "$name") || bail_out "could not begin a session of $name after update"
capture chrootctl run "$id" -- apt-get -s dist-upgrade
assert_match "0 upgraded" "$OUT" "a session of it has nothing left to upgrade"
chrootctl end "$id"

# A chroot whose apt cannot start (a broken apt.conf): the upgrade fails, the tarball
# keeps its bytes.
cp "$tarball" "$sbuild_dir/$broken.tar.zst"
capture busctl --user call org.chrootd1 /org/chrootd1 org.chrootd1.Manager BeginSession 'ssa{sv}' "$broken" "$broken-src" 1 write-back b true
chrootctl run "$broken-src" -- sh -c 'echo "APT::Get::Assume-Yes \"unterminated" > /etc/apt/apt.conf.d/99broken'
chrootctl end "$broken-src"
sum=$(sha256sum <"$sbuild_dir/$broken.tar.zst")
capture chrootctl update "$broken"
assert_eq 1 "$RC" "update of a chroot whose apt-get cannot run fails"
assert_contains "the chroot is as it was" "$ERR" "... saying the chroot is as it was"
assert_eq "$sum" "$(sha256sum <"$sbuild_dir/$broken.tar.zst")" "... and it is: the same bytes"
capture chrootctl sessions --no-legend
assert_eq "" "$OUT" "no session is left behind"

# chrootctl killed mid-update: the session (end-with-caller) is discarded, not written back.
sum=$(sha256sum <"$tarball")
chrootctl update "$name" >/dev/null 2>&1 &
updater=$!
wait_until 60 bash -c "chrootctl sessions --no-legend | grep -q '^$name-'"
sleep 1
kill -9 "$updater"
wait "$updater" 2>/dev/null
check "once the updater is killed, its session goes" wait_until 60 bash -c "[ -z \"\$(chrootctl sessions --no-legend)\" ]"
assert_eq "$sum" "$(sha256sum <"$tarball")" "... and the tarball is as it was"
deb_chrootd_nothing_left "after create and update"
done_testing
