#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# BeginSession's package-cache: what one session leaves in /var/cache/apt/archives
# reaches the chroot's later sessions as partial/ files (package-cache.h), and nothing a
# session's root does there reaches beyond that: only regular files named like packages
# join the cache, owned by root inside and mode 0644; a session can change its own view
# of a cached file, never the cache; the mount cannot be undone from inside.
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

require_user_manager
rootfs=${CHROOTD_TEST_ROOTFS:?}
sbuild=${XDG_CACHE_HOME:-$HOME/.cache}/sbuild
pool=${XDG_CACHE_HOME:-$HOME/.cache}/chrootd/packages/pc-box
mkdir -p "$sbuild"
# A tree with apt's cache directory, as every Debian tree has.
stage=$(mktemp -d)
cp -a "$rootfs/busybox-dir/." "$stage/" 2>/dev/null
mkdir -p "$stage/var/cache/apt/archives/partial"
tar --numeric-owner --owner=0 --group=0 -C "$stage" -czf "$sbuild/pc-box.tar.gz" . || bail_out "could not make pc-box"
# The same tree whose archives directory is a symlink out of it.
rm -rf "$stage/var/cache/apt/archives"
ln -s /nonexistent/archives "$stage/var/cache/apt/archives"
tar --numeric-owner --owner=0 --group=0 -C "$stage" -czf "$sbuild/pc-link.tar.gz" . || bail_out "could not make pc-link"
rm -rf "$stage"
subuid=$(awk -F: -v u="$(id -un)" '$1 == u { print $2; exit }' /etc/subuid)

prop() {
        busctl --user get-property org.chrootd1 "/org/chrootd1/session/$(sed 's/-/_2d/g; s/\./_2e/g' <<<"$1")" \
                org.chrootd1.Session "$2" 2>/dev/null
}

capture chrootctl begin --name=pc-a --package-cache pc-box
assert_eq 0 "$RC" "begin --package-cache $ERR"
assert_eq "b true" "$(prop pc-a PackageCache)" "the session's PackageCache is true"
capture chrootctl run pc-a -- sh -c '
        cd /var/cache/apt/archives &&
        echo package-foo >foo_1.0-1_all.deb &&
        echo suid >suid_1_all.deb && chmod 4755 suid_1_all.deb &&
        ln -s /etc/passwd link_1_all.deb &&
        mkfifo fifo_1_all.deb &&
        echo two >hard_1_all.deb && ln hard_1_all.deb hard2_1_all.deb &&
        echo note >notes.txt && echo odd >"odd name_1_all.deb" && : >empty_1_all.deb &&
        mkdir dir_1_all.deb'
assert_eq 0 "$RC" "a command writes into /var/cache/apt/archives $ERR"
capture chrootctl run pc-a -- umount /var/cache/apt/archives
check "root inside cannot unmount the cache" test "$RC" -ne 0
capture chrootctl run pc-a -- mount -o remount,ro /var/cache/apt/archives
check "nor remount it" test "$RC" -ne 0
capture chrootctl run pc-a -- sh -c 'mount -o remount,rw,suid /var/cache/apt/archives; umount -l /var/cache/apt/archives; grep -c " /var/cache/apt/archives " /proc/self/mountinfo'
assert_eq "1" "$(tail -n 1 <<<"$OUT")" "nor get rid of it lazily: it is still mounted"
capture chrootctl end pc-a
assert_eq 0 "$RC" "end $ERR"

assert_eq "foo_1.0-1_all.deb suid_1_all.deb" "$(ls "$pool/layer/partial" 2>&1 | sort | paste -sd' ')" \
        "only the regular, singly linked, non-empty files named like packages joined the cache"
assert_eq "644 $subuid package-foo" "$(stat -c '%a %u' "$pool/layer/partial/foo_1.0-1_all.deb" 2>&1) $(cat "$pool/layer/partial/foo_1.0-1_all.deb" 2>&1)" \
        "a cached package is mode 0644, owned by root inside, as written"
assert_eq "644" "$(stat -c %a "$pool/layer/partial/suid_1_all.deb" 2>&1)" "a set-uid file lost its mode in the cache"
assert_eq "" "$(ls "$pool/sessions" 2>&1)" "the ended session's own layer is gone"

capture chrootctl begin --name=pc-b --package-cache pc-box
assert_eq 0 "$RC" "begin a second session $ERR"
capture chrootctl run pc-b -- sh -c 'cd /var/cache/apt/archives/partial && stat -c "%u:%g %a" foo_1.0-1_all.deb && cat foo_1.0-1_all.deb'
assert_eq "0:0 644|package-foo" "$(paste -sd'|' <<<"$OUT")" "the next session sees the package in partial/, root's, as written"
capture chrootctl run pc-b -- sh -c 'cd /var/cache/apt/archives && echo evil >partial/foo_1.0-1_all.deb && echo evil >foo_1.0-1_all.deb && cat partial/foo_1.0-1_all.deb'
assert_eq "0|evil" "$RC|$OUT" "a session may change its own view of a cached file $ERR"
capture chrootctl begin --name=pc-c --package-cache pc-box
capture chrootctl run pc-c -- cat /var/cache/apt/archives/partial/foo_1.0-1_all.deb
assert_eq "package-foo" "$OUT" "another session at the same time still sees the cache's file"
chrootctl end pc-b >/dev/null 2>&1
assert_eq "package-foo" "$(cat "$pool/layer/partial/foo_1.0-1_all.deb" 2>&1)" \
        "a name the cache has already keeps the cache's file when a session ends"

# Two sessions that end at once with the same new name: one file, whole.
chrootctl begin --name=pc-d --package-cache pc-box >/dev/null 2>&1
chrootctl begin --name=pc-e --package-cache pc-box >/dev/null 2>&1
chrootctl run pc-d -- sh -c 'head -c 1048576 /dev/zero | tr "\0" d >/var/cache/apt/archives/dup_1_all.deb'
chrootctl run pc-e -- sh -c 'head -c 1048576 /dev/zero | tr "\0" e >/var/cache/apt/archives/dup_1_all.deb'
chrootctl end pc-d >/dev/null 2>&1 &
chrootctl end pc-e >/dev/null 2>&1
wait
assert_match "^1048576 (d|e)$" "$(stat -c %s "$pool/layer/partial/dup_1_all.deb" 2>&1) $(tr -s de <"$pool/layer/partial/dup_1_all.deb" 2>&1)" \
        "two sessions ending at once leave one whole file of the name"

# Without the option, or where it cannot apply, the tree's own directory.
capture chrootctl begin --name=pc-none pc-box
assert_eq "b false" "$(prop pc-none PackageCache)" "without the option PackageCache is false"
capture chrootctl run pc-none -- ls /var/cache/apt/archives/partial
assert_eq "0|" "$RC|$OUT" "without the option the session sees the tree's own (empty) directory"
capture busctl --user call org.chrootd1 /org/chrootd1 org.chrootd1.Manager BeginSession 'ssa{sv}' pc-box pc-wb 2 \
        write-back b true package-cache b true
assert_eq 0 "$RC" "Begin with write-back and package-cache $ERR"
assert_eq "b false" "$(prop pc-wb PackageCache)" "a write-back session gets no package cache"
chrootctl end pc-wb >/dev/null 2>&1
mkdir -p "${XDG_CONFIG_HOME:-$HOME/.config}/chrootd/chroots.d"
printf '[pc-off]\ntype=file\nfile=%s\npackage-cache=false\n' "$sbuild/pc-box.tar.gz" \
        >"${XDG_CONFIG_HOME:-$HOME/.config}/chrootd/chroots.d/pc-off.conf"
capture chrootctl begin --name=pc-off1 --package-cache pc-off
assert_eq "0|b false" "$RC|$(prop pc-off1 PackageCache)" "a chroot with package-cache=false gets none, asked or not $ERR"
capture chrootctl begin --name=pc-link1 --package-cache pc-link
assert_eq 0 "$RC" "begin a tree whose archives directory is a symlink out of it $ERR"
capture chrootctl run pc-link1 -- sh -c 'ls /nonexistent 2>&1; echo ran'
assert_eq "0|ran" "$RC|$(tail -n 1 <<<"$OUT")" "its commands run, and nothing was made at the symlink's target" || diag "$OUT $ERR"

# gc: a chroot's cache stays while a session of it exists, then goes.
capture chrootctl gc
assert_eq "0|" "$RC|$(grep 'package cache of pc-box$' <<<"$OUT")" "gc keeps the cache of a chroot with a session $ERR"
for s in pc-c pc-none pc-off1 pc-link1; do
        chrootctl end "$s" >/dev/null 2>&1
done
capture chrootctl gc
assert_contains "removed the package cache of pc-box" "$OUT" "gc removes the cache of a chroot without sessions $ERR"
wait_until 20 eval '[ ! -e "$pool" ]'
check "and it is gone from disk" test ! -e "$pool"
check "nothing of it is left beside" test -z "$(ls -A "${pool%/*}" | grep -e '^\.old-' -e '^pc-box$')"
rm -f "${XDG_CONFIG_HOME:-$HOME/.config}/chrootd/chroots.d/pc-off.conf"
done_testing
