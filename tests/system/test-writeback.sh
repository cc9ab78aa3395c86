#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# BeginSession's write-back option (schroot's source: sessions): End repacks the tree
# into the chroot's tarball, atomically and in the same compression; a session
# without it never changes the tarball; a failed write-back fails End and keeps the
# session.
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

require_user_manager
sbuild=${XDG_CACHE_HOME:-$HOME/.cache}/sbuild
M=org.chrootd1.Manager

begin_wb() { # CHROOT ID
        capture busctl --user call org.chrootd1 /org/chrootd1 $M BeginSession 'ssa{sv}' "$1" "$2" 1 write-back b true
}

for ext in tar.zst tar.gz; do
        name=wb-${ext%%.*}-${ext##*.}
        install_test_chroot "$name" "$ext" || bail_out "cannot install $name"
        tarball=$sbuild/$name.$ext
        before=$(sha256sum <"$tarball")

        # A plain session never changes the tarball.
        id=$(chrootctl begin "$name")
        chrootctl run "$id" -- sh -c 'echo plain > /etc/plain-marker'
        chrootctl end "$id"
        assert_eq "$before" "$(sha256sum <"$tarball")" "$ext: a plain session leaves the tarball as it was"

        begin_wb "$name" "$name-src"
        assert_eq 0 "$RC" "$ext: Begin with write-back succeeds" || diag "$ERR"
        chrootctl run "$name-src" -- sh -c 'echo updated > /etc/marker; mkdir /home/tester/new; chown 1000:50 /home/tester/new'
        capture chrootctl end "$name-src"
        assert_eq 0 "$RC" "$ext: End of a write-back session succeeds" || diag "$ERR"
        check "$ext: the tarball changed" test "$before" != "$(sha256sum <"$tarball")"
        case $ext in
        tar.zst) check "$ext: it is still zstd" zstd -tq "$tarball" ;;
        tar.gz) check "$ext: it is still gzip" gzip -tq "$tarball" ;;
        esac
        capture tar -tvf "$tarball"
        assert_match "1000/50 .* home/tester/new/?" "$OUT" "$ext: owners inside are kept (1000:50)"
        left=$(find "$sbuild" -name ".#*" | head -n 1)
        assert_eq "" "$left" "$ext: no temporary file is left beside the tarball"

        id=$(chrootctl begin "$name")
        capture chrootctl run "$id" -- cat /etc/marker
        assert_eq updated "$OUT" "$ext: the next session sees what the write-back session wrote"
        capture chrootctl run "$id" -- cat /etc/plain-marker
        assert_eq 1 "$RC" "$ext: but not what a plain session wrote"
        chrootctl end "$id"
done

# A failed write-back fails End and loses nothing.
install_test_chroot wb-fail tar.gz
begin_wb wb-fail wb-fail-src
chrootctl run wb-fail-src -- sh -c 'echo keep > /etc/marker'
before=$(sha256sum <"$sbuild/wb-fail.tar.gz")
chmod 555 "$sbuild"
capture chrootctl end wb-fail-src
chmod 755 "$sbuild"
assert_eq 1 "$RC" "End fails when the tarball cannot be written back"
assert_contains "wb-fail" "$ERR" "the error says which session" || diag "$ERR"
assert_eq "$before" "$(sha256sum <"$sbuild/wb-fail.tar.gz")" "the tarball is unchanged"
capture list_sessions_tsv
assert_match "wb-fail-src	wb-fail	ready" "$OUT" "the session stays, ready"
capture chrootctl run wb-fail-src -- cat /etc/marker
assert_eq keep "$OUT" "and keeps its tree"
capture chrootctl end wb-fail-src
assert_eq 0 "$RC" "End succeeds once the tarball can be written" || diag "$ERR"
capture tar -xzOf "$sbuild/wb-fail.tar.gz" etc/marker
assert_eq keep "$OUT" "and writes the tree back"

# Discard: a write-back session ended without being written back, by chrootctl end
# --discard and by Session.Discard; and when the caller of an end-with-caller write-back
# session goes away (chrootctl update's, killed), it is discarded too.
install_test_chroot wb-discard tar.gz
before=$(sha256sum <"$sbuild/wb-discard.tar.gz")
begin_wb wb-discard wb-d1
chrootctl run wb-d1 -- sh -c 'echo changed > /etc/marker'
check "chrootctl end --discard ends a write-back session" chrootctl end --discard wb-d1
assert_eq "$before" "$(sha256sum <"$sbuild/wb-discard.tar.gz")" "... without writing it back"
begin_wb wb-discard wb-d2
chrootctl run wb-d2 -- sh -c 'echo changed > /etc/marker'
capture busctl --user call org.chrootd1 "$(session_path wb-d2)" org.chrootd1.Session Discard
assert_eq 0 "$RC" "Session.Discard" || diag "$ERR"
assert_eq "$before" "$(sha256sum <"$sbuild/wb-discard.tar.gz")" "... leaves the tarball as it was"
capture list_sessions_tsv
assert_eq "" "$(grep wb-d <<<"$OUT")" "... and ends the session"
check "end --discard of a session that is not write-back ends it" bash -c \
        "id=\$(chrootctl begin wb-discard) && chrootctl end --discard \$id && ! chrootctl info \$id >/dev/null 2>&1"
if python3 -c 'from gi.repository import Gio' 2>/dev/null; then
        capture python3 -c "$(cat <<'PY'
from gi.repository import Gio, GLib
bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
def call(path, iface, method, args, fds=None):
    return bus.call_with_unix_fd_list_sync("org.chrootd1", path, iface, method, args, None, 0, -1, fds, None)[0]
opts = {"write-back": GLib.Variant("b", True), "end-with-caller": GLib.Variant("b", True)}
_, path = call("/org/chrootd1", "org.chrootd1.Manager", "BeginSession",
               GLib.Variant("(ssa{sv})", ("wb-discard", "wb-d3", opts))).unpack()
print(call(path, "org.chrootd1.Session", "Run",
           GLib.Variant("(asa{sv})", (["sh", "-c", "echo changed > /etc/marker"], {}))).unpack())
PY
)"
        assert_eq "('exited', 0)" "$OUT" "a write-back, end-with-caller session changed by a caller that then goes" ||
                diag "$ERR"
        d3_gone() { ! list_sessions_tsv | grep -q wb-d3; }
        check "... is ended once it has gone" wait_until 20 d3_gone
        assert_eq "$before" "$(sha256sum <"$sbuild/wb-discard.tar.gz")" "... discarded, not written back"
else
        skip "a write-back session whose caller goes is discarded" "python3-gi is not installed"
fi

# Only tarballs can be written back.
mkdir -p "${XDG_CONFIG_HOME:-$HOME/.config}/chrootd/chroots.d"
cat >"${XDG_CONFIG_HOME:-$HOME/.config}/chrootd/chroots.d/wb.conf" <<CONF
[wb-dir]
type=directory
directory=$(test_rootfs)/busybox-dir
CONF
assert_bus_error org.chrootd1.Error.NotSupported "write-back of a directory chroot: NotSupported" \
        /org/chrootd1 $M.BeginSession "'wb-dir'" "'wb-dir-src'" "{'write-back': <true>}"
rm -f "${XDG_CONFIG_HOME:-$HOME/.config}/chrootd/chroots.d/wb.conf"
rm -f "$sbuild"/wb-*
done_testing
