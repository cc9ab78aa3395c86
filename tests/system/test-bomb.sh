#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Decompression bombs (issue 10, item 5): a tarball of about 1 MB that holds far more
# zeros than the chroot's max-size= fails Begin with LimitExceeded, copy-on-write or
# not, and leaves no session, no base and no process behind; under the default bound
# the same tarball begins, its zeros unpacked as holes. A directory chroot is bounded
# the same way, and its sparse files stay sparse. A write-back session holding a
# sparse file of 1 GiB repacks into a tarball of about its old size, and the next
# session gets the file sparse. A max-size= that is not a size skips the definition;
# other chroots go on working throughout.
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

require_user_manager
require_subids
have_gdbus || skip_all "gdbus (libglib2.0-bin) is needed to see D-Bus error names"
command -v zstd >/dev/null || skip_all "zstd is needed to make the bomb"

rootfs=$(test_rootfs) || bail_out "could not make the test root filesystem"
sbuild=${XDG_CACHE_HOME:-$HOME/.cache}/sbuild
bases=${XDG_CACHE_HOME:-$HOME/.cache}/chrootd/bases
confd=${XDG_CONFIG_HOME:-$HOME/.config}/chrootd/chroots.d
conf=$confd/test-bomb.conf
sdir=$(sessions_dir)
tmp=$(mktemp -d)
M=/org/chrootd1
MI=org.chrootd1.Manager
E=org.chrootd1.Error

# Every session of this test is called bomb-*: End those an earlier run left, and ours.
end_sessions() {
        local s
        for s in $(ls -A "$sdir" 2>/dev/null | grep '^bomb-'); do
                chrootctl end "$s" >/dev/null 2>&1
        done
}

cleanup() {
        end_sessions
        chrootctl gc >/dev/null 2>&1
        chmod -R u+rwX "$tmp" 2>/dev/null
        rm -rf "$tmp" "$conf"
        rm -f "$sbuild"/bomb-*.tar*
}
trap cleanup EXIT

# The busybox tree and 300 MiB of zeros (read from a sparse file, stored as data: GNU
# tar without --sparse), zstd: about as big as the tree alone.
mkdir -p "$sbuild" "$confd"
cp "$rootfs/busybox.tar" "$tmp/bomb.tar" && truncate -s 300M "$tmp/zeros" &&
        tar --numeric-owner --owner=0 --group=0 -C "$tmp" -rf "$tmp/bomb.tar" zeros &&
        zstd -q -c "$tmp/bomb.tar" >"$sbuild/bomb-small.tar.zst" ||
        bail_out "could not make the bomb"
cp "$sbuild/bomb-small.tar.zst" "$sbuild/bomb-default.tar.zst"
install_test_chroot bomb-ok tar.zst || bail_out "could not install the test chroot"
note "bomb: $(stat -c %s "$sbuild/bomb-small.tar.zst") bytes of zstd for 300 MiB of zeros"

# Directory chroots: one with 80 MiB of real zeros, one with a sparse file of 1 GiB.
cp -a "$rootfs/busybox-dir" "$tmp/dense" && head -c 80M /dev/zero >"$tmp/dense/zeros" &&
        cp -a "$rootfs/busybox-dir" "$tmp/sparse" && truncate -s 1G "$tmp/sparse/zeros" ||
        bail_out "could not make the directory chroots"

cat >"$conf" <<EOF
[bomb-small]
file=$sbuild/bomb-small.tar.zst
max-size=64M

[bomb-dir-dense]
type=directory
directory=$tmp/dense
max-size=32M

[bomb-dir-sparse]
type=directory
directory=$tmp/sparse
max-size=32M

[bomb-fits]
file=$sbuild/bomb-ok.tar.zst
max-size=64M

[bomb-garbage]
file=$sbuild/bomb-ok.tar.zst
max-size=lots
EOF

manager_call ListSessions >/dev/null || bail_out "ListSessions failed"
end_sessions

# What must not change when a Begin fails: sessions on disk and on the bus, bases
# (once a dropped .new-* base is removed, which happens in the background), and
# processes of subordinate ids.
snapshot() {
        ls -A "$sdir" 2>&1
        echo ---
        list_sessions_tsv 2>&1
        echo ---
        ls -A "$bases" 2>/dev/null
}
no_half_bases() { ! ls -A "$bases" 2>/dev/null | grep -qE '^\.(new|old)-'; }

# bomb_fails DESC CHROOT ID OPTIONS MESSAGE: Begin fails with LimitExceeded, saying
# MESSAGE, and leaves nothing behind.
bomb_fails() {
        local desc=$1 chroot=$2 id=$3 options=$4 message=$5 before after
        wait_until 20 no_half_bases # of an earlier End or gc
        before=$(snapshot)
        assert_bus_error $E.LimitExceeded "Begin $desc: LimitExceeded" \
                $M $MI.BeginSession "'$chroot'" "'$id'" "$options"
        assert_contains "$message" "$ERR" "Begin $desc: the error names the member and the limit"
        wait_until 20 no_half_bases
        wait_until 10 eval '[ -z "$(subid_processes)" ]'
        after=$(snapshot)
        if [ "$before" = "$after" ]; then
                ok "Begin $desc: no session and no base left behind"
        else
                not_ok "Begin $desc: no session and no base left behind" "before:" "$before" "after:" "$after"
        fi
        assert_eq "" "$(subid_processes)" "Begin $desc: no process left behind"
}

# ---- the chroot's max-size ----
bomb_fails "of a bomb over its max-size (copy-on-write)" bomb-small bomb-cow "{}" \
        "Archive exceeds the limit of 64 MiB of file data at member 'zeros'"
bomb_fails "of a bomb over its max-size (a full copy)" bomb-small bomb-copy "{'union-type': <'none'>}" \
        "Archive exceeds the limit of 64 MiB of file data at member 'zeros'"
bomb_fails "of a directory with 80 MiB of zeros over its max-size" bomb-dir-dense bomb-dense "{}" \
        "Archive exceeds the limit of 32 MiB of file data at member 'zeros'"

# ---- nothing else broke ----
capture chrootctl begin -n bomb-ok bomb-ok
assert_eq "0 bomb-ok" "$RC $OUT" "another chroot begins after the refused bombs $ERR"
capture chrootctl run bomb-ok cat /etc/hostname
assert_eq "0 busybox" "$RC $OUT" "and runs commands $ERR"
capture chrootctl end bomb-ok
assert_eq 0 "$RC" "and ends $ERR"
capture chrootctl begin -n bomb-fits bomb-fits
assert_eq "0 bomb-fits" "$RC $OUT" "a chroot within its max-size begins $ERR"
chrootctl end bomb-fits >/dev/null 2>&1

# ---- under the default bound the zeros become holes ----
capture chrootctl begin --union-type none -n bomb-default bomb-default
assert_eq "0 bomb-default" "$RC $OUT" "the same tarball begins under the default bound of 16 GiB $ERR"
root=$(session_tree bomb-default)
assert_eq "314572800" "$(stat -c %s "$root/zeros" 2>&1)" "its 300 MiB file of zeros is there"
blocks=$(stat -c %b "$root/zeros" 2>&1)
assert_match "^[0-9]+$" "$blocks" "and can be looked at"
if [ "${blocks:-x}" -lt 2048 ] 2>/dev/null; then
        ok "and takes no disk (${blocks} blocks)"
else
        not_ok "and takes no disk" "st_blocks: $blocks"
fi
capture chrootctl run bomb-default sh -c 'cmp -n 1048576 /zeros /dev/zero && echo same'
assert_eq same "$OUT" "it reads as zeros inside $ERR"
chrootctl end bomb-default >/dev/null 2>&1

# ---- a sparse file in a directory chroot stays sparse, and costs nothing ----
capture chrootctl begin -n bomb-dir-sparse bomb-dir-sparse
assert_eq "0 bomb-dir-sparse" "$RC $OUT" "a directory with a sparse file of 1 GiB fits a max-size of 32M $ERR"
root=$(session_tree bomb-dir-sparse)
assert_eq "1073741824 0" "$(stat -c '%s %b' "$root/zeros" 2>&1)" "the copy of the sparse file is all hole"
chrootctl end bomb-dir-sparse >/dev/null 2>&1

# ---- write-back keeps sparse files sparse ----
# Not compressed: zstd would hide 1 GiB of zeros in the tarball's size (not in the time
# it takes to write them).
install_test_chroot bomb-wb tar || bail_out "could not install the write-back chroot"
size_before=$(stat -c %s "$sbuild/bomb-wb.tar")
assert_bus_error none "Begin with write-back" $M $MI.BeginSession "'bomb-wb'" "'bomb-wb'" "{'write-back': <true>}"
capture chrootctl run bomb-wb sh -c 'truncate -s 1G /var/sparse && printf x | dd of=/var/sparse bs=1 seek=536870912 conv=notrunc 2>/dev/null'
assert_eq 0 "$RC" "a sparse file of 1 GiB is made in the session $ERR"
capture chrootctl end bomb-wb
assert_eq 0 "$RC" "End writes the session back $ERR"
size_after=$(stat -c %s "$sbuild/bomb-wb.tar")
note "tarball: $size_before bytes before, $size_after after"
if [ $((size_after - size_before)) -lt 1048576 ]; then
        ok "the tarball grew by less than 1 MiB ($((size_after - size_before)) bytes)"
else
        not_ok "the tarball grew by less than 1 MiB" "before: $size_before" "after: $size_after"
fi
capture chrootctl begin --union-type none -n bomb-wb-next bomb-wb
assert_eq "0 bomb-wb-next" "$RC $OUT" "the written-back chroot begins $ERR"
root=$(session_tree bomb-wb-next)
read -r size blocks < <(stat -c '%s %b' "$root/var/sparse" 2>/dev/null)
assert_eq 1073741824 "$size" "the file is 1 GiB again"
if [ "${blocks:-x}" -lt 2048 ] 2>/dev/null; then
        ok "and sparse (${blocks} blocks)"
else
        not_ok "and sparse" "st_blocks: ${blocks:-?}"
fi
capture chrootctl run bomb-wb-next sh -c 'dd if=/var/sparse bs=1 skip=536870912 count=1 2>/dev/null'
assert_eq x "$OUT" "with its data where it was $ERR"
chrootctl end bomb-wb-next >/dev/null 2>&1

# ---- a max-size that is not a size ----
capture list_chroots_tsv
assert_contains "bomb-fits	file" "$OUT" "ListChroots lists the chroots with a good max-size"
if [[ $OUT == *bomb-garbage* ]]; then
        not_ok "a definition with max-size=lots is skipped" "$OUT"
else
        ok "a definition with max-size=lots is skipped"
fi
assert_bus_error $E.NoSuchChroot "Begin of it: NoSuchChroot" $M $MI.BeginSession "'bomb-garbage'" \
        "'bomb-garbage'" "{}"

assert_eq "" "$(ls -A "$sdir" | grep '^bomb-')" "no session directory of this test is left at the end"

done_testing
