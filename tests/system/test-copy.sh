#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# chrootctl cp, as podman cp: a tree (modes, a hard link, a fifo, symlinks, a 64 MiB
# file) into a session and back out unchanged; owners as inside (root inside is the
# first subordinate id on the host, and what root inside owns comes out as the
# user's); "-" for a tar stream on stdin or stdout; "dir/." for a directory's contents;
# clear errors for what is missing. And the session's hostile symlinks (to /, to the
# user's home, chains of them) resolve inside the session, never on the host: nothing
# of the host is read or written through them.
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

require_user_manager
require_subids

work=$(mktemp -d)
secret=$HOME/chrootd-copy-test-secret
session=
cleanup() {
        [ -n "$session" ] && chrootctl end "$session" >/dev/null 2>&1
        rm -rf "$work" "$secret"
}
trap cleanup EXIT

install_test_chroot copy-bb || bail_out "could not install the test chroot"
# A full copy, so that its tree can be looked at from the host.
session=$(chrootctl begin --union-type none copy-bb) || bail_out "could not begin a session"
tree=$(session_tree "$session")

src=$work/src
mkdir -p "$src/tree/sub" "$src/tree/empty"
chmod 0700 "$src/tree/sub"
chmod 0750 "$src/tree/empty"
printf 'only for me\n' >"$src/tree/secret"
chmod 0600 "$src/tree/secret"
printf '#!/bin/sh\necho tool\n' >"$src/tree/tool"
chmod 0755 "$src/tree/tool"
printf 'a name with spaces\n' >"$src/tree/with space"
ln "$src/tree/secret" "$src/tree/sub/hard"
mkfifo "$src/tree/fifo"
ln -s secret "$src/tree/rel-link"
ln -s / "$src/tree/to-root"
head -c $((64 << 20)) /dev/urandom >"$src/tree/big"
touch -d @1600000000 "$src/tree/tool"

# listing DIR: every entry's relative name, type, mode, link target and size (not
# directories', which depend on the file system), and a checksum of each file.
listing() {
        (cd "$1" && find . -printf '%P %y %m %l %s\n' | sed -E 's/^(.* d [0-7]+ ) [0-9]+$/\1/' | sort &&
                find . -type f -exec md5sum {} + | sort -k2)
}

check "cp DIR SESSION:/tmp/ copies the tree in" chrootctl cp "$src/tree" "$session:/tmp/"
capture chrootctl run "$session" -- sh -c 'cd /tmp/tree && stat -c "%n %a %u:%g" secret tool sub big && readlink to-root && ./tool'
assert_eq "secret 600 0:0
tool 755 0:0
sub 700 0:0
big 644 0:0
/
tool" "$OUT" "inside: modes as on the host, owned by root inside, symlinks as they were, the tool runs"
assert_eq "$(stat -c %Y "$src/tree/tool")" "$(chrootctl run "$session" -- stat -c %Y /tmp/tree/tool)" \
        "inside: modification times kept"
assert_eq "$(subid_start uid):$(subid_start gid)" "$(stat -c %u:%g "$tree/tmp/tree/secret")" \
        "on the host: root inside is the first subordinate id"
assert_eq "$(md5sum <"$src/tree/big" | cut -d' ' -f1)" "$(chrootctl run "$session" -- md5sum /tmp/tree/big </dev/null | cut -d' ' -f1)" \
        "inside: the 64 MiB file is whole"
assert_eq "$(chrootctl run "$session" -- stat -c %i /tmp/tree/secret)" "$(chrootctl run "$session" -- stat -c %i /tmp/tree/sub/hard)" \
        "inside: the hard link is one file"

chrootctl run "$session" -- chown 1000:50 /tmp/tree/tool
check "cp SESSION:/tmp/tree DIR copies it out" chrootctl cp "$session:/tmp/tree" "$work/back"
assert_eq "$(listing "$src/tree")" "$(listing "$work/back")" "out: the same names, types, modes, links and contents"
assert_eq "$(id -u):$(id -g)" "$(stat -c %u:%g "$work/back/tool")" "out: what anyone inside owned is the user's on the host"
assert_eq "$(stat -c %i "$work/back/secret")" "$(stat -c %i "$work/back/sub/hard")" "out: the hard link is one file"
capture bash -c "chrootctl cp '$session:/tmp/tree' - | tar --numeric-owner -tvf -"
assert_match "-rwxr-xr-x 1000/50 .* tree/tool" "$OUT" "cp SESSION:PATH - writes a tar stream with the owners inside"
assert_contains "tree/to-root -> /" "$OUT" "the stream has the symlinks as they are"

mkdir "$work/into"
check "cp into an existing directory puts the tree under its name" chrootctl cp "$session:/tmp/tree/sub" "$work/into"
check "... there" test -f "$work/into/sub/hard"
check "cp SESSION:DIR/. NEW copies a directory's contents as NEW" chrootctl cp "$session:/tmp/tree/sub/." "$work/contents"
check "... there" test -f "$work/contents/hard"
check "cp a single file to a new name" chrootctl cp "$src/tree/secret" "$session:/root/renamed"
assert_eq "only for me" "$(chrootctl run "$session" -- cat /root/renamed)" "... it is there under that name"
chrootctl run "$session" -- mkdir -p /srv
capture bash -c "tar -C '$src' -cf - tree/tool | chrootctl cp - '$session:/srv'"
assert_eq 0 "$RC" "cp - SESSION:DIR extracts a tar stream from stdin" || diag "$ERR"
assert_eq "tool" "$(chrootctl run "$session" -- /srv/tree/tool)" "... there"

# Errors: one line, exit 1 (2 for a usage error), nothing half done on the host.
check_fails "a path missing inside fails" chrootctl cp "$session:/no/such" "$work/nothing"
assert_contains "/no/such" "$ERR" "... saying which path"
assert_eq 1 "$(printf '%s\n' "$ERR" | wc -l)" "... in one line"
check "... and leaves nothing behind" test ! -e "$work/nothing"
check_fails "a missing source on the host fails" chrootctl cp "$work/no-such" "$session:/tmp/"
assert_contains "No such file" "$ERR" "... saying so"
check_fails "a missing directory inside fails" chrootctl cp "$src/tree/secret" "$session:/no/such/dir/"
assert_contains "No such directory" "$ERR" "... saying so"
check_fails "a relative path inside is refused" chrootctl cp "$src/tree/secret" "$session:tmp"
assert_contains "not absolute" "$ERR" "... saying so"
capture chrootctl cp "$src/tree" "$work/x"
assert_eq 2 "$RC" "two host paths are a usage error"
check_fails "a session that does not exist fails" chrootctl cp "no-such-session:/etc" "$work/x"
assert_contains "no-such-session" "$ERR" "... naming it"
capture bash -c "printf 'not tar\n' | chrootctl cp - '$session:/tmp'"
assert_eq 1 "$RC" "garbage on stdin is no tar stream" || diag "$ERR"

# The session's hostile symlinks: to /, to the user's home (by its host path), a
# chain ending at /, one to /proc (which a copy has empty).
printf 'host secret\n' >"$secret"
chrootctl run "$session" -- sh -c "ln -s / /tmp/to-root && ln -s '$HOME' /tmp/to-home && ln -s / /tmp/c0 &&
        ln -s /tmp/c0 /tmp/c1 && ln -s /tmp/c1 /tmp/c2 && ln -s /proc /tmp/to-proc && mkdir -p /tmp/d &&
        ln -s '$secret' /tmp/d/secret-link"
check "cp through a link to / copies the session's file" chrootctl cp "$session:/tmp/to-root/etc/passwd" "$work/passwd"
assert_eq "$(chrootctl run "$session" -- cat /etc/passwd)" "$(cat "$work/passwd")" "... the session's /etc/passwd, not the host's"
check "... through a chain of links too" chrootctl cp "$session:/tmp/c2/etc/passwd" "$work/passwd2"
assert_eq "$(cat "$work/passwd")" "$(cat "$work/passwd2")" "... the same"
check_fails "a link to the user's home reaches no file of the host" \
        chrootctl cp "$session:/tmp/to-home/$(basename "$secret")" "$work/stolen"
check "... nothing was copied" test ! -e "$work/stolen"
check_fails "the process files of /proc are out of a copy's reach" chrootctl cp "$session:/tmp/to-proc/1/environ" "$work/env"
check_fails "... and of /proc itself" chrootctl cp "$session:/proc/self/status" "$work/status"
check "cp of a link to / copies the link" chrootctl cp "$session:/tmp/to-root" "$work/link"
check "... a link, not the host's /" test -L "$work/link"
check "cp of a directory with a link to a host file" chrootctl cp "$session:/tmp/d" "$work/d"
assert_eq "$secret" "$(readlink "$work/d/secret-link")" "... copies the link as it is"
check_fails "cp into the session through a link to the user's home" chrootctl cp "$src/tree/secret" "$session:/tmp/to-home/"
check "... writes nothing into the home" test ! -e "$HOME/secret"
assert_eq "host secret" "$(cat "$secret")" "... and the host file is untouched"
check "the link is still there inside" chrootctl run "$session" -- test -L /tmp/to-home

# What root inside leaves where a copy reads: a fifo is copied as a fifo, never read;
# a device (the session's /dev/zero) is never read either, and the host refuses it.
chrootctl run "$session" -- mkfifo /tmp/planted-fifo
capture timeout 30 chrootctl cp "$session:/tmp/planted-fifo" "$work/fifo"
assert_eq 0 "$RC" "cp of a fifo planted inside does not block on it" || diag "$ERR"
check "... and gives a fifo" test -p "$work/fifo"
capture timeout 30 chrootctl cp "$session:/dev/zero" "$work/zero"
assert_eq 1 "$RC" "cp of a device inside fails at once, without reading it (not 124: timed out)"
check "... and leaves no device on the host" test ! -e "$work/zero"

# A copy is a command of the session: End waits for none left.
check "end" chrootctl end "$session"
session=
done_testing
