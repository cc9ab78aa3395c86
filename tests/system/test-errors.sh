#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Bad input gets a named org.chrootd1.Error.* and changes nothing outside: invalid
# names, unknown chroots and sessions, duplicates, missing and unreadable sources,
# hostile tarballs (.., absolute names, writing through symlinks, device nodes), and
# bad Run requests. After every failed Begin no session directory is left behind and
# ListSessions is as it was.
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

require_user_manager
have_gdbus || skip_all "gdbus (libglib2.0-bin) is needed to see D-Bus error names"

rootfs=$(test_rootfs) || bail_out "could not make the test root filesystem"
sbuild=${XDG_CACHE_HOME:-$HOME/.cache}/sbuild
confd=${XDG_CONFIG_HOME:-$HOME/.config}/chrootd/chroots.d
conf=$confd/test-errors.conf
sdir=$(sessions_dir)
tmp=$(mktemp -d)
M=/org/chrootd1
MI=org.chrootd1.Manager
E=org.chrootd1.Error
sessions=()

cleanup() {
        local s
        for s in "${sessions[@]}"; do
                chrootctl end "$s" >/dev/null 2>&1
        done
        chmod -R u+rwX "$tmp" 2>/dev/null
        rm -rf "$tmp" "$conf"
        rm -f "$sbuild"/err-*.tar*
}
trap cleanup EXIT

install_test_chroot err-good tar.gz || bail_out "could not install the test chroot"
# Activate the service first: it makes the sessions directory that snapshot lists.
manager_call ListSessions >/dev/null || bail_out "ListSessions failed"

# gv STRING: STRING as a GVariant text string literal, for gdbus.
gv() {
        local s=${1//\\/\\\\}
        printf "'%s'" "${s//\'/\\\'}"
}

# What must not change when something fails: the session directories and ListSessions.
snapshot() {
        ls -A "$sdir" 2>&1
        echo ---
        list_sessions_tsv 2>&1
}

# begin_fails ERROR DESC CHROOT NAME [OPTIONS]: BeginSession fails with org.chrootd1.Error.ERROR
# and leaves nothing behind.
begin_fails() {
        local error=$1 desc=$2 chroot=$3 name=$4 options=${5:-"{}"} before after
        before=$(snapshot)
        assert_bus_error "$E.$error" "Begin $desc: $error" \
                $M $MI.BeginSession "$(gv "$chroot")" "$(gv "$name")" "$options"
        [ "$BUS_ERROR" = none ] && [ -n "$name" ] && sessions+=("$name")
        after=$(snapshot)
        if [ "$before" = "$after" ]; then
                ok "Begin $desc: no session left behind"
        else
                not_ok "Begin $desc: no session left behind" "before:" "$before" "after:" "$after"
                if [ "$BUS_ERROR" = none ]; then
                        chrootctl end "$name" >/dev/null 2>&1
                fi
        fi
}

# ---- names ----
long128=$(printf 'a%.0s' $(seq 128))
long129=${long128}b
begin_fails InvalidName "with a session name containing '/'" err-good "a/b"
begin_fails InvalidName "with a session name starting with '.'" err-good ".hidden"
begin_fails InvalidName "with a session name starting with '-'" err-good "-x"
begin_fails InvalidName "with a session name of 129 characters" err-good "$long129"
begin_fails InvalidName "with a session name containing a space" err-good "a b"
begin_fails InvalidName "with an empty chroot name" "" ""
begin_fails InvalidName "with a chroot name containing '/'" "../err-good" ""
begin_fails InvalidName "with a chroot name of 129 characters" "$long129" ""
assert_bus_error $E.InvalidName "GetSession '': InvalidName" $M $MI.GetSession "''"
assert_bus_error $E.InvalidName "GetSession 'a/b': InvalidName" $M $MI.GetSession "'a/b'"
assert_bus_error $E.InvalidName "EndSession '': InvalidName" $M $MI.EndSession "''"
assert_bus_error $E.InvalidName "EndSession '../x': InvalidName" $M $MI.EndSession "'../x'"

# The longest valid name works.
capture chrootctl begin -n "$long128" err-good
if [ "$RC" -eq 0 ] && [ "$OUT" = "$long128" ]; then
        ok "a session name of 128 characters is accepted"
        chrootctl end "$long128" >/dev/null 2>&1 || sessions+=("$long128")
else
        not_ok "a session name of 128 characters is accepted" "$ERR"
fi

# ---- unknown things, duplicates, options ----
begin_fails NoSuchChroot "of an unknown chroot" err-no-such-chroot ""
begin_fails NoSuchChroot "of an unknown chroot, with a name" err-no-such-chroot "err-named"
assert_bus_error $E.NoSuchSession "GetSession of an unknown session: NoSuchSession" $M $MI.GetSession "'err-nope'"
assert_bus_error $E.NoSuchSession "EndSession of an unknown session: NoSuchSession" $M $MI.EndSession "'err-nope'"
begin_fails InvalidArgument "with an unknown option" err-good "err-opt" "{'no-such-option': <'x'>}"
# gdbus's text form refuses a dict with a key twice; an array of dict entries is the
# same a{sv} on the wire.
begin_fails InvalidArgument "with an option given twice" err-good "err-twice" \
        "@a{sv} [{'union-type', <'none'>}, {'union-type', <'overlay'>}]"

capture chrootctl begin -n err-dup err-good
[ "$RC" -eq 0 ] && sessions+=(err-dup)
assert_eq "0 err-dup" "$RC $OUT" "Begin err-dup $ERR"
root_before=$(find "$(session_tree err-dup)" -maxdepth 1 2>&1 | sort)
begin_fails SessionExists "with the name of an existing session" err-good err-dup
assert_eq "$root_before" "$(find "$(session_tree err-dup)" -maxdepth 1 2>&1 | sort)" \
        "the existing session's tree is untouched"
capture chrootctl run err-dup cat /etc/hostname
assert_eq busybox "$OUT" "the existing session still runs commands"

# ---- sources ----
mkdir -p "$confd"
cat >"$conf" <<EOF
[err-missing]
type=file
file=$tmp/does-not-exist.tar.gz

[err-missing-dir]
type=directory
directory=$tmp/does-not-exist
EOF
begin_fails SourceUnavailable "of a chroot whose tarball is missing" err-missing ""
begin_fails SourceUnavailable "of a chroot whose directory is missing" err-missing-dir ""
cp "$rootfs/busybox.tar" "$sbuild/err-unreadable.tar" && chmod 000 "$sbuild/err-unreadable.tar"
begin_fails SourceUnavailable "of an unreadable tarball" err-unreadable ""
head -c 300000 "$rootfs/busybox.tar.gz" >"$sbuild/err-truncated.tar.gz"
before=$(snapshot)
bus_error $M $MI.BeginSession "'err-truncated'" "''" "{}"
assert_match "^$E\\.[A-Za-z]+$" "$BUS_ERROR" "Begin of a truncated tarball fails with an org.chrootd1 error ($BUS_ERROR)"
assert_eq "$before" "$(snapshot)" "Begin of a truncated tarball: no session left behind"
head -c 100000 /dev/urandom >"$sbuild/err-garbage.tar"
before=$(snapshot)
bus_error $M $MI.BeginSession "'err-garbage'" "''" "{}"
assert_match "^$E\\.[A-Za-z]+$" "$BUS_ERROR" "Begin of a file that is no tarball fails with an org.chrootd1 error ($BUS_ERROR)"
assert_eq "$before" "$(snapshot)" "Begin of a file that is no tarball: no session left behind"

# ---- hostile tarballs ----
outside=$tmp/outside
mkdir -m 0777 "$outside"
# A file that hostile hard links and symlinks aim at; the namespace's root could write it.
mkdir -m 0777 "$tmp/victims"
echo victim >"$tmp/victims/victim"
chmod 0666 "$tmp/victims/victim"
chmod 0755 "$tmp"
abs=/tmp/chrootd-errors-absolute-$$-$RANDOM
python3 - "$rootfs/busybox-dir" "$sbuild" "$outside" "$tmp/victims" "$abs" <<'EOF' || bail_out "could not make the hostile tarballs"
import io, os, sys, tarfile

tree, out, outside, victims, absolute = sys.argv[1:]

def base(tf, with_tree=False):
    if with_tree:
        tf.add(tree, arcname=".", filter=root_owned)
    else:
        d = tarfile.TarInfo("./etc")
        d.type = tarfile.DIRTYPE
        d.mode = 0o755
        tf.addfile(d)
        data(tf, "./etc/ok", b"fine\n")

def root_owned(ti):
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    return ti

def data(tf, name, content):
    ti = tarfile.TarInfo(name)
    ti.size = len(content)
    ti.mode = 0o644
    tf.addfile(ti, io.BytesIO(content))

def symlink(tf, name, target):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.SYMTYPE
    ti.linkname = target
    tf.addfile(ti)

def hardlink(tf, name, target):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.LNKTYPE
    ti.linkname = target
    tf.addfile(ti)

def directory(tf, name):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE
    ti.mode = 0o755
    tf.addfile(ti)

def device(tf, name, kind, major, minor):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.devmajor, ti.devminor = major, minor
    ti.mode = 0o666
    tf.addfile(ti)

with tarfile.open(os.path.join(out, "err-dotdot.tar"), "w", format=tarfile.GNU_FORMAT) as tf:
    base(tf)
    data(tf, "../err-escape-marker", b"escaped\n")
with tarfile.open(os.path.join(out, "err-dotdot-inner.tar"), "w", format=tarfile.GNU_FORMAT) as tf:
    base(tf)
    data(tf, "etc/../../../err-escape-marker", b"escaped\n")
with tarfile.open(os.path.join(out, "err-absolute.tar"), "w", format=tarfile.GNU_FORMAT) as tf:
    base(tf)
    data(tf, absolute, b"escaped\n")
with tarfile.open(os.path.join(out, "err-symlink.tar"), "w", format=tarfile.GNU_FORMAT) as tf:
    base(tf)
    symlink(tf, "./out", outside)
    data(tf, "./out/err-escape-marker", b"escaped\n")
with tarfile.open(os.path.join(out, "err-symlink-rel.tar"), "w", format=tarfile.GNU_FORMAT) as tf:
    base(tf)
    symlink(tf, "./up", "../../../../../../../../../.." + outside)
    data(tf, "./up/err-escape-marker", b"escaped\n")
with tarfile.open(os.path.join(out, "err-dir-symlink.tar"), "w", format=tarfile.GNU_FORMAT) as tf:
    base(tf)
    symlink(tf, "./out", outside)
    directory(tf, "./out/err-escape-marker")
with tarfile.open(os.path.join(out, "err-dir-then-symlink.tar"), "w", format=tarfile.GNU_FORMAT) as tf:
    base(tf)
    directory(tf, "./x")
    symlink(tf, "./x", outside)
    data(tf, "./x/err-escape-marker", b"escaped\n")
with tarfile.open(os.path.join(out, "err-hardlink-dotdot.tar"), "w", format=tarfile.GNU_FORMAT) as tf:
    base(tf)
    hardlink(tf, "./evil", "../../../../../../../.." + victims + "/victim")
with tarfile.open(os.path.join(out, "err-hardlink-absolute.tar"), "w", format=tarfile.GNU_FORMAT) as tf:
    base(tf)
    hardlink(tf, "./evil", victims + "/victim")
with tarfile.open(os.path.join(out, "err-hardlink-symlink.tar"), "w", format=tarfile.GNU_FORMAT) as tf:
    base(tf)
    symlink(tf, "./out", victims)
    hardlink(tf, "./evil", "out/victim")
with tarfile.open(os.path.join(out, "err-replace-symlink.tar"), "w", format=tarfile.GNU_FORMAT) as tf:
    base(tf)
    symlink(tf, "./etc/ok", victims + "/victim")
    data(tf, "./etc/ok", b"overwritten\n")
with tarfile.open(os.path.join(out, "err-devices.tar"), "w", format=tarfile.GNU_FORMAT) as tf:
    base(tf, with_tree=True)
    device(tf, "./dev/evil-mem", tarfile.CHRTYPE, 1, 1)
    device(tf, "./dev/evil-sda", tarfile.BLKTYPE, 8, 0)
    device(tf, "./evil-null", tarfile.CHRTYPE, 1, 3)
EOF
begin_fails UnsafeArchive "of a tarball with a '../' member" err-dotdot ""
begin_fails UnsafeArchive "of a tarball with a 'etc/../../..' member" err-dotdot-inner ""
begin_fails UnsafeArchive "of a tarball with an absolute member name" err-absolute ""
if [ -e "$abs" ]; then
        not_ok "the absolute member was not written on the host" "$(ls -l "$abs")"
        rm -f "$abs"
else
        ok "the absolute member was not written on the host"
fi
begin_fails UnsafeArchive "of a tarball writing through a symlink to a host directory" err-symlink ""
begin_fails UnsafeArchive "of a tarball writing through a relative symlink out of the tree" err-symlink-rel ""
begin_fails UnsafeArchive "of a tarball making a directory through a symlink" err-dir-symlink ""
begin_fails UnsafeArchive "of a tarball replacing a directory by a symlink and writing through it" err-dir-then-symlink ""
assert_eq "" "$(ls -A "$outside")" "the directory the symlinks point to stays empty"
begin_fails UnsafeArchive "of a tarball with a hard link to '../..'" err-hardlink-dotdot ""
begin_fails UnsafeArchive "of a tarball with a hard link to an absolute name" err-hardlink-absolute ""
begin_fails UnsafeArchive "of a tarball with a hard link through a symlink" err-hardlink-symlink ""
capture chrootctl begin --union-type none -n err-replace err-replace-symlink
if [ "$RC" -eq 0 ]; then
        sessions+=(err-replace)
        rroot=$(session_tree err-replace)
        if [ ! -L "$rroot/etc/ok" ] && [ "$(cat "$rroot/etc/ok" 2>&1)" = overwritten ]; then
                ok "a member replacing a symlink replaces the link, not its target"
        else
                not_ok "a member replacing a symlink replaces the link, not its target" "$(ls -l "$rroot/etc/ok" 2>&1)"
        fi
        chrootctl end err-replace >/dev/null 2>&1
else
        # Refusing it is as safe.
        assert_eq "$E.UnsafeArchive" "$(bus_error $M $MI.BeginSession "'err-replace-symlink'" "''" "{}"; echo "$BUS_ERROR")" \
                "a member replacing a symlink is refused as unsafe or replaces the link"
fi
assert_eq "victim 1" "$(cat "$tmp/victims/victim") $(stat -c %h "$tmp/victims/victim")" \
        "the host file that links aimed at is unchanged and has no new hard link"
assert_eq "" "$(find "$HOME" "$tmp" -name err-escape-marker 2>/dev/null)" "no escaped member anywhere in \$HOME"
wait_until 5 eval '[ -z "$(subid_processes)" ]'
assert_eq "" "$(subid_processes)" "no process is left of the refused Begins"

# Device nodes are not created; the session works with its own /dev.
capture chrootctl begin --union-type none -n err-devices err-devices
[ "$RC" -eq 0 ] && sessions+=(err-devices)
assert_eq "0 err-devices" "$RC $OUT" "Begin of a tarball with device nodes succeeds $ERR"
droot=$(session_tree err-devices)
# The host sees all but the tree's 0700 directories (/root belongs to a subordinate
# id); root inside sees those, but not the tree's /dev, which a tmpfs covers at Run time.
if [ -n "$droot" ] && [ -d "$droot/bin" ]; then
        assert_eq "" "$(find "$droot" \( -type c -o -type b \) -print 2>/dev/null)" \
                "no device node in the tree, as seen on the host"
else
        not_ok "no device node in the tree, as seen on the host" "tree: '$droot'"
fi
capture chrootctl run err-devices find / -xdev \( -type c -o -type b \) -print
assert_eq "0 " "$RC $OUT" "no device node in the tree, as seen inside with find -xdev $ERR"
capture chrootctl run err-devices sh -c 'test -c /dev/null && echo x >/dev/null && test ! -e /dev/evil-mem && test ! -e /dev/evil-sda && echo ok'
assert_eq ok "$OUT" "at Run time /dev has the service's nodes, not the tarball's $ERR"
chrootctl end err-devices >/dev/null 2>&1

# ---- Run ----
P=$(session_path err-dup)
SI=org.chrootd1.Session
before=$(snapshot)
assert_bus_error $E.NoSuchDirectory "Run in a directory that does not exist: NoSuchDirectory" \
        "$P" $SI.Run "['true']" "{'directory': <'/no/such/dir'>}"
assert_bus_error $E.NoSuchDirectory "Run in a directory that is a file: NoSuchDirectory" \
        "$P" $SI.Run "['true']" "{'directory': <'/etc/passwd'>}"
assert_bus_error $E.NoSuchUser "Run as a user that does not exist: NoSuchUser" \
        "$P" $SI.Run "['true']" "{'user': <'no-such-user'>}"
assert_bus_error $E.NoSuchUser "Run with an empty argv (the login shell) of a user that does not exist: NoSuchUser" \
        "$P" $SI.Run "@as []" "{'user': <'no-such-user'>}"
assert_bus_error $E.InvalidArgument "Run with an empty argv[0]: InvalidArgument" \
        "$P" $SI.Run "['']" "{}"
assert_bus_error $E.InvalidArgument "Run with an unknown option: InvalidArgument" \
        "$P" $SI.Run "['true']" "{'no-such-option': <'x'>}"
assert_bus_error $E.InvalidArgument "Run with an option given twice: InvalidArgument" \
        "$P" $SI.Run "['true']" "@a{sv} [{'user', <'root'>}, {'user', <'tester'>}]"
assert_bus_error $E.InvalidArgument "Run with a setenv entry that is not KEY=VALUE: InvalidArgument" \
        "$P" $SI.Run "['true']" "{'setenv': <['NOEQUALS']>}"
assert_bus_error $E.InvalidArgument "Run with a setenv entry without a KEY: InvalidArgument" \
        "$P" $SI.Run "['true']" "{'setenv': <['=x']>}"
assert_bus_error $E.InvalidArgument "Run with setenv not a string array: InvalidArgument" \
        "$P" $SI.Run "['true']" "{'setenv': <'A=1'>}"
assert_bus_error $E.InvalidArgument "Run with network 'bogus': InvalidArgument" \
        "$P" $SI.Run "['true']" "{'network': <'bogus'>}"
assert_bus_error $E.InvalidArgument "Run with an option of the wrong type: InvalidArgument" \
        "$P" $SI.Run "['true']" "{'user': <42>}"
assert_bus_error $E.ExecFailed "Run of a command that does not exist: ExecFailed" \
        "$P" $SI.Run "['/no/such/command']" "{}"
assert_bus_error $E.ExecFailed "Run of a command not in PATH: ExecFailed" \
        "$P" $SI.Run "['no-such-command']" "{}"
assert_bus_error none "Run of a good command still succeeds" "$P" $SI.Run "['true']" "{}"
assert_eq "$before" "$(snapshot)" "failed Runs change no session"
assert_eq "" "$(subid_processes)" "failed Runs leave no process"

# NoSubordinateIds and AccessDenied need another /etc/subuid or another uid: the bus
# suite tests them (tests/bus/test-refusals.sh), with namespaces instead of root.

capture chrootctl end err-dup
assert_eq 0 "$RC" "End err-dup $ERR"
sessions=()
assert_eq "" "$(ls -A "$sdir" | grep "^err-")" "no session directory of this test is left at the end"

done_testing
