#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copy-on-write sessions: a tarball is unpacked once into a cached base
# ($XDG_CACHE_HOME/chrootd/bases/KEY/root); each session is an overlayfs upper
# directory over it, mounted only inside its commands. Sessions do not see each
# other's changes, the base never changes, concurrent commands share one overlay, End
# removes only the session's own directories, a changed tarball gets a new base and
# the old one goes with its last session, chrootctl gc removes unused bases, and
# union-type=none still gives a full copy.
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

require_user_manager
require_subids
rootfs=$(test_rootfs) || bail_out "could not make the test root filesystem"
install_test_chroot ov-bb tar.zst || bail_out "could not install the test chroot"
tarball=${XDG_CACHE_HOME:-$HOME/.cache}/sbuild/ov-bb.tar.zst
bases=${XDG_CACHE_HOME:-$HOME/.cache}/chrootd/bases
sdir=$(sessions_dir)
confd=${XDG_CONFIG_HOME:-$HOME/.config}/chrootd/chroots.d
conf=$confd/test-overlay.conf
tmp=$(mktemp -d)
cleanup() {
        for s in ov-a ov-b ov-c ov-none ov-login ov-host ov-big ov-dirs ov-userdirs ov-src; do
                chrootctl end "$s" >/dev/null 2>&1
        done
        rm -f "${XDG_CACHE_HOME:-$HOME/.cache}/sbuild/ov-big.tar"
        rm -f "$conf"
        rm -rf "$tmp"
}
trap cleanup EXIT
chrootctl gc >/dev/null 2>&1
bases_of() { ls -1 "$bases" 2>/dev/null | grep -E '^[0-9a-f]{16}$'; }
before=$(bases_of)

# ---- Begin: a base is made once, the session is an upper directory ----
capture chrootctl begin -n ov-a ov-bb
assert_eq 0 "$RC" "Begin of a tarball chroot succeeds $ERR"
assert_eq "overlay|" "$(session_property ov-a UnionType)|$(session_property ov-a RootDirectory)" \
        "the session is copy-on-write (UnionType overlay), with no tree on the host"
key=$(comm -13 <(echo "$before") <(bases_of))
assert_match '^[0-9a-f]{16}$' "$key" "one new base was made"
assert_eq "$suid" "$(stat -c %u "$bases/$key/root" 2>&1)" "the base belongs to subordinate ids"
check "the session has its own upper/ and work/" test -d "$sdir/ov-a/upper" -a -d "$sdir/ov-a/work"
capture du -s --block-size=1K "$sdir/ov-a"
assert_match '^[0-9]{1,3}	' "$OUT" "the session itself takes almost no space (${OUT%%	*} KiB)"

capture chrootctl begin -n ov-b ov-bb
assert_eq 0 "$RC" "a second Begin of the same tarball succeeds $ERR"
assert_eq "$key" "$(comm -13 <(echo "$before") <(bases_of))" "it uses the same base"

# ---- sessions are separate, the base never changes ----
sum=$(cat "$bases/$key/root/etc/passwd" | md5sum)
capture chrootctl run ov-a sh -c 'echo changed >>/etc/passwd && echo new >/root/new && rm /etc/group && echo done'
assert_eq "0 done" "$RC $OUT" "a command changes, adds and removes files $ERR"
capture chrootctl run ov-a sh -c 'tail -n 1 /etc/passwd; cat /root/new; test -e /etc/group || echo group-gone'
assert_eq "changed|new|group-gone" "$(paste -sd'|' <<<"$OUT")" "the next command of the session sees those changes"
capture chrootctl run ov-b sh -c 'tail -n 1 /etc/passwd | grep -c changed; test -e /root/new || echo no-new; test -e /etc/group && echo group-there'
assert_eq "0|no-new|group-there" "$(paste -sd'|' <<<"$OUT")" "another session of the same base does not"
assert_eq "$sum" "$(cat "$bases/$key/root/etc/passwd" | md5sum)" "the base is unchanged"
check "the changes are in the session's upper directory" test -d "$sdir/ov-a/upper/root" -a -d "$sdir/ov-a/upper/etc"

# ---- concurrent commands share one overlay ----
pids=()
for i in 1 2 3 4 5 6; do
        chrootctl run ov-a sh -c "sleep 0.5; echo $i >/tmp/conc.$i; cat /tmp/conc.$i" >"$tmp/c.$i" 2>&1 &
        pids+=($!)
done
failed=0
for i in 1 2 3 4 5 6; do
        wait "${pids[$((i - 1))]}" || failed=$((failed + 1))
        [ "$(cat "$tmp/c.$i")" = "$i" ] || failed=$((failed + 1))
done
assert_eq 0 "$failed" "6 concurrent commands in one session all succeed"
capture chrootctl run ov-a sh -c 'cat /tmp/conc.* | sort -n | paste -sd" "'
assert_eq "1 2 3 4 5 6" "$OUT" "and all their files are in the session"
# ov-a and ov-b have each run commands within the leaders' idle time: one each.
assert_eq 2 "$(leader_processes | grep -c chrootd-leader)" "one leader (holding the overlay) per session, however many commands"

# ---- a dead leader or spare init costs the running command, not the session ----
parent_of() { ps -o ppid= -p "$1" 2>/dev/null | tr -d ' '; }
bg_run "$tmp/k.out" "$tmp/k.err" run ov-a sh -c 'sleep 300; echo not-reached' ov-leader-marker
wait_until 10 eval '[ -n "$(host_pid ov-leader-marker)" ]'
init=$(parent_of "$(host_pid ov-leader-marker)")
leader=$(parent_of "$init")
assert_eq chrootd-leader "$(ps -o args= -p "$leader" 2>/dev/null)" "the command's init is forked by the session's leader"
kill -KILL "$leader"
if wait_until 10 eval '! kill -0 $BG 2>/dev/null'; then
        wait "$BG"
        assert_eq 137 "$?" "killing the leader ends the running command: chrootctl says killed by SIGKILL (137)"
else
        not_ok "killing the leader ends the running command" "$(cat "$tmp/k.err")"
fi
wait_until 5 eval '[ -z "$(host_pid "ov-leader-marker|sleep 300")" ]'
assert_eq "" "$(host_pid "ov-leader-marker|sleep 300")" "nothing of that command runs on"
capture chrootctl run ov-a sh -c 'cat /tmp/conc.1'
assert_eq "0 1" "$RC $OUT" "the next command gets a new leader and the session's files $ERR"
spare=$(leader_processes | awk '$3 == "chrootd-spare" { print $1; exit }')
if [ -n "$spare" ]; then
        kill -KILL "$spare"
        capture chrootctl run ov-a true
        assert_eq "0|" "$RC|$ERR" "a killed spare init is replaced: the next command runs"
else
        not_ok "a killed spare init is replaced" "no spare init: $(leader_processes)"
fi

# ---- End removes only the session's own directories ----
capture chrootctl end ov-a
assert_eq 0 "$RC" "End of a copy-on-write session $ERR"
check "its directory is gone" test ! -e "$sdir/ov-a"
check "the base stays while another session uses it" test -d "$bases/$key/root"

# ---- a changed tarball gets a new base; the old one goes with its last session ----
sleep 1
cp "$rootfs/busybox.tar.zst" "$tmp/new.tar.zst" && mv "$tmp/new.tar.zst" "$tarball"
capture chrootctl begin -n ov-c ov-bb
assert_eq 0 "$RC" "Begin after the tarball was replaced $ERR"
key2=$(comm -13 <(echo "$before") <(bases_of) | grep -vx "$key")
assert_match '^[0-9a-f]{16}$' "$key2" "it made a new base"
capture chrootctl end ov-b
wait_until 10 eval '[ ! -e "$bases/$key" ]'
check "the old base went with its last session" test ! -e "$bases/$key"
check "the current one stays" test -d "$bases/$key2/root"

# ---- chrootctl gc ----
# (Package caches that other suites' sessions left go too, each on a line of its own.)
capture chrootctl gc
assert_eq "0|0 unused bases removed." "$RC|$(grep -v '^removed the package cache of ' <<<"$OUT")" "gc removes nothing that a session uses $ERR"
chrootctl end ov-c >/dev/null
capture chrootctl gc
assert_eq "0|removed base $key2|1 unused base removed." "$RC|$(grep -v '^removed the package cache of ' <<<"$OUT" | paste -sd'|')" "gc removes a base no session uses"
wait_until 10 eval '[ -z "$(ls -A "$bases" | grep -v "^\.old-")" ]'
assert_eq "" "$(comm -13 <(echo "$before") <(bases_of))" "no base of ours is left"

# ---- union-type=none (a chroot's .conf, or the option) gives a full copy ----
mkdir -p "$confd"
printf '%s\n' '[ov-none]' 'type=file' "file=$rootfs/busybox.tar.gz" 'union-type=none' >"$conf"
capture chrootctl begin -n ov-none ov-none
assert_eq "0|none|" "$RC|$(session_property ov-none UnionType)|$(session_property ov-none RootDirectory)" \
        "union-type=none in the chroot's .conf: a full copy (no RootDirectory: it was not begun host-tree) $ERR"
check "the tree is on the host" test -x "$sdir/ov-none/root/bin/busybox"
chrootctl end ov-none >/dev/null
bus_error /org/chrootd1 org.chrootd1.Manager.BeginSession "'ov-bb'" "'ov-bad'" "{'union-type': <'bogus'>}"
assert_eq "org.chrootd1.Error.InvalidArgument" "$BUS_ERROR" "an unknown union-type is InvalidArgument"

# ---- a directory chroot owned by the subordinate root is its own lower layer ----
chrootctl begin --union-type none -n ov-src ov-bb >/dev/null
srcroot=$(session_tree ov-src)
printf '%s\n' '[ov-dir]' 'type=directory' "directory=$srcroot" '[ov-userdir]' 'type=directory' \
        "directory=$rootfs/busybox-dir" >"$conf"
nbases=$(bases_of | wc -l)
capture chrootctl begin -n ov-dirs ov-dir
assert_eq "0|overlay|" "$RC|$(session_property ov-dirs UnionType)|$(session_property ov-dirs RootDirectory)" \
        "a directory of subordinate ids is overlaid directly $ERR"
assert_eq "$nbases" "$(bases_of | wc -l)" "without a base of its own"
capture chrootctl run ov-dirs sh -c 'echo mine >/root/dir-session && cat /root/dir-session && stat -c %u /bin/busybox'
assert_eq "0|mine|0" "$RC|$(paste -sd'|' <<<"$OUT")" "its files are root's inside, and a command can write $ERR"
capture chrootctl run ov-src sh -c 'test -e /root/dir-session || echo untouched'
assert_eq untouched "$OUT" "the directory itself is not changed"
capture chrootctl begin -n ov-userdirs ov-userdir
assert_eq "0|none" "$RC|$(session_property ov-userdirs UnionType)" \
        "a directory of the user's own files is copied (its owners translated) $ERR"
for s in ov-dirs ov-userdirs ov-src; do chrootctl end "$s" >/dev/null; done

# ---- add-login goes into the session, not the base ----
capture busctl --user call org.chrootd1 /org/chrootd1 org.chrootd1.Manager BeginSession 'ssa{sv}' ov-bb ov-login 1 add-login b true
assert_eq 0 "$RC" "Begin with add-login $ERR"
capture chrootctl run ov-login grep -c "^$(id -un):" /etc/passwd
assert_eq 1 "$OUT" "the caller's login is in the session's /etc/passwd"
key3=$(comm -13 <(echo "$before") <(bases_of))
assert_eq 0 "$(grep -c "^$(id -un):" "$bases/$key3/root/etc/passwd" 2>&1)" "but not in the base"
chrootctl end ov-login >/dev/null

# ---- host-tree: a copy-on-write tree the host can reach (schroot's location) ----
capture busctl --user call org.chrootd1 /org/chrootd1 org.chrootd1.Manager BeginSession 'ssa{sv}' ov-bb ov-host 1 host-tree b true
assert_eq 0 "$RC" "Begin with host-tree $ERR"
root=$(session_property ov-host RootDirectory)
assert_eq "$sdir/ov-host/tree" "$root" "RootDirectory is the session's tree link"
assert_match "^/proc/[0-9]+/root$sdir/ov-host/root\$" "$(readlink "$root")" "which points at the leader's view of the overlay"
check "the whole tree is there" test -x "$root/bin/busybox"
echo from-host >"$root/tmp/from-host"
capture chrootctl run ov-host sh -c 'cat /tmp/from-host; echo from-inside >/tmp/from-inside'
assert_eq "0 from-host" "$RC $OUT" "a file written there from the host is in the session $ERR"
assert_eq from-inside "$(cat "$root/tmp/from-inside" 2>&1)" "and one made inside is there on the host"
check "the base did not get them" test ! -e "$bases/$(comm -13 <(echo "$before") <(bases_of) | head -n 1)/root/tmp/from-host"
sleep 6
check "its leader outlives the idle time" test -d "$root/tmp"
chrootd_stop   # the leader dies with the service
check "with the service gone the link dangles" test ! -e "$root/tmp"
capture chrootctl run ov-host cat /tmp/from-host
assert_eq "0 from-host" "$RC $OUT" "after a restart the session still has its files $ERR"
assert_eq from-inside "$(cat "$root/tmp/from-inside" 2>&1)" "and the same RootDirectory path leads to them again"
chrootctl end ov-host >/dev/null
check "End takes it away" test ! -e "$sdir/ov-host"
chrootctl gc >/dev/null

# ---- SIGKILL while a base is being unpacked: nothing half-made is ever used ----
make_big_tarball "${XDG_CACHE_HOME:-$HOME/.cache}/sbuild/ov-big.tar" 20000 200 >/dev/null ||
        bail_out "could not make the large tarball"
timeout 30 chrootctl begin -n ov-big ov-big >/dev/null 2>&1 &
client=$!
if wait_until 15 eval 'ls -d "$bases"/.new-ov-big >/dev/null 2>&1 && [ "$(du -s "$bases" 2>/dev/null | cut -f1)" -gt 20000 ]'; then
        ok "a cold Begin unpacks into bases/.new-<session>"
else
        not_ok "a cold Begin unpacks into bases/.new-<session>" "$(ls -la "$bases" 2>&1)"
fi
pid=$(main_pid)
kill -KILL "$pid" 2>/dev/null
wait "$client" 2>/dev/null
wait_until 10 eval '[ "$(chrootd_state)" != active ]'
chrootctl sessions >/dev/null 2>&1   # activates it again; the start collects leftovers
wait_until 20 eval '[ -z "$(ls -A "$bases" 2>/dev/null)" ]'
assert_eq "" "$(ls -A "$bases" 2>&1)" "after a restart the half-made base is gone"
assert_eq "" "$(list_sessions_tsv | grep ov-big)" "and so is the session"
capture chrootctl begin -n ov-big ov-big
assert_eq 0 "$RC" "the next Begin makes the base again $ERR"
capture chrootctl run ov-big sh -c 'ls /var/many | wc -l'
assert_eq 20000 "$OUT" "with all of it"
chrootctl end ov-big >/dev/null
chrootctl gc >/dev/null
rm -f "${XDG_CACHE_HOME:-$HOME/.cache}/sbuild/ov-big.tar"

# (gc removes in the background)
wait_until 15 eval '[ -z "$(subid_processes)$(leader_processes)" ]'
assert_eq "" "$(subid_processes)$(leader_processes)" "no process is left"
done_testing
