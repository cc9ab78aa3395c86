#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# BeginSession's add-login option: the user's own passwd entry and primary group are
# added to the session's /etc/passwd and /etc/group (as schroot does at session start),
# so that su to the caller's login works inside; without it, nothing is added.
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

require_user_manager
install_test_chroot lg-box tar.gz || bail_out "cannot install the test chroot"

me=$(id -un)
uid=$(id -u)
gid=$(id -g)
group=$(id -gn)

capture busctl --user call org.chrootd1 /org/chrootd1 org.chrootd1.Manager BeginSession 'ssa{sv}' lg-box lg-with 1 add-login b true
assert_eq 0 "$RC" "Begin with add-login succeeds" || diag "$ERR"
capture chrootctl run lg-with -- grep "^$me:" /etc/passwd
assert_match "^$me:x:$uid:$gid:[^:]*:[^:]*:[^:]*$" "$OUT" "the user's passwd entry is in the session, with its ids"
capture chrootctl run lg-with -- grep -c "^$me:" /etc/passwd
assert_eq 1 "$OUT" "the entry is there once"
capture chrootctl run lg-with -- grep "^$group:" /etc/group
assert_eq "$group:x:$gid:" "$OUT" "the user's primary group is in the session's /etc/group"
capture chrootctl run lg-with -- su -s /bin/sh "$me" -c 'id -u; id -g'
assert_eq "$uid
$gid" "$OUT" "su to the login works inside and gives its ids" || diag "$ERR"
capture chrootctl run lg-with -- grep "^$me:" /etc/shadow
assert_match "^$me:\*:" "$OUT" "a locked shadow entry is added (PAM's account check needs one)"
supplementary=$(id -G | tr ' ' '\n' | grep -vx "$gid" | awk '$1 < 65536')
if [ -z "$supplementary" ]; then
        not_ok "the user has supplementary groups to check (tests/lib/common.sh adds chrootd-extra)"
else
        for g in $supplementary; do
                name=$(getent group "$g" | cut -d: -f1)
                capture chrootctl run lg-with -- grep "^$name:" /etc/group
                assert_match "^$name:x:$g:(.*,)?$me(,.*)?$" "$OUT" "supplementary group $name ($g) is in the session with the user as member"
        done
        capture chrootctl run lg-with -- su -s /bin/sh "$me" -c 'id -G'
        for g in $supplementary; do
                assert_match "(^| )$g( |$)" "$OUT" "su to the login gets supplementary group $g"
        done
fi
capture chrootctl run lg-with -- grep -c '^root:' /etc/passwd
assert_eq 1 "$OUT" "the chroot's own entries stay"

capture busctl --user call org.chrootd1 /org/chrootd1 org.chrootd1.Manager BeginSession 'ssa{sv}' lg-box lg-without 0
assert_eq 0 "$RC" "Begin without add-login succeeds" || diag "$ERR"
capture chrootctl run lg-without -- grep -c "^$me:" /etc/passwd
assert_eq 0 "$OUT" "without add-login the login is not added"

assert_bus_error org.chrootd1.Error.InvalidArgument "add-login must be a boolean" \
        /org/chrootd1 org.chrootd1.Manager.BeginSession "'lg-box'" "'lg-bad'" "{'add-login': <'yes'>}"
capture chrootctl sessions --no-legend
assert_eq "" "$(grep lg-bad <<<"$OUT")" "a refused add-login makes no session"

# A chroot without /etc/shadow (trixie's buildd tarballs have no passwd package): an
# "x" in the login's passwd entry would make PAM look for a shadow entry and fail su,
# so the password is locked in passwd itself, and no shadow file is made.
rootfs=$(test_rootfs) || bail_out "could not make the test root filesystem"
tar --numeric-owner --owner=0 --group=0 --exclude=./etc/shadow -C "$rootfs/busybox-dir" \
        -czf "${XDG_CACHE_HOME:-$HOME/.cache}/sbuild/lg-noshadow.tar.gz" . || bail_out "could not make lg-noshadow"
capture busctl --user call org.chrootd1 /org/chrootd1 org.chrootd1.Manager BeginSession 'ssa{sv}' lg-noshadow lg-nosh 1 \
        add-login b true
assert_eq 0 "$RC" "Begin with add-login of a chroot without /etc/shadow $ERR"
capture chrootctl run lg-nosh -- sh -c "grep '^$me:' /etc/passwd; test -e /etc/shadow && echo 'shadow made'"
assert_match "^$me:\*:$uid:$gid:[^:]*:[^:]*:[^:]*$" "$OUT" "the login's password is locked in passwd ('*'), no shadow file is made"
capture chrootctl run lg-nosh -- su -s /bin/sh "$me" -c 'id -u'
assert_eq "$uid" "$OUT" "su to it works $ERR"

# add-accounts: host accounts come along (unschroot asks for sbuild's, which sbuild
# >= 0.86 looks for inside).
acct=$(getent passwd daemon | cut -d: -f1,3,4)
if [ -n "$acct" ]; then
        IFS=: read -r aname auid agid <<<"$acct"
        agroup=$(getent group "$agid" | cut -d: -f1)
        capture busctl --user call org.chrootd1 /org/chrootd1 org.chrootd1.Manager BeginSession 'ssa{sv}' lg-box lg-acct 2 \
                add-login b true add-accounts as 1 "$aname"
        assert_eq 0 "$RC" "Begin with add-accounts $aname $ERR"
        capture chrootctl run lg-acct -- sh -c "grep '^$aname:' /etc/passwd | cut -d: -f1-4; grep -c '^$agroup:' /etc/group; grep -c '^$me:' /etc/passwd"
        assert_eq "$aname:x:$auid:$agid|1|1" "$(paste -sd'|' <<<"$OUT")" "the account (with its host ids), its group and the login are in the session"
        # chrootctl's way to ask for it (the virt server asks so for sbuild's).
        capture chrootctl begin --name=lg-cacct --add-login --add-account="$aname" lg-box
        assert_eq 0 "$RC" "chrootctl begin --add-account=$aname $ERR"
        capture chrootctl run lg-cacct -- sh -c "grep '^$aname:' /etc/passwd | cut -d: -f1-4"
        assert_eq "$aname:x:$auid:$agid" "$OUT" "chrootctl begin --add-account adds the host account"
else
        skip "Begin with add-accounts" "no account daemon on this host"
        skip "the account, its group and the login are in the session" "no account daemon on this host"
        skip "chrootctl begin --add-account" "no account daemon on this host"
        skip "chrootctl begin --add-account adds the host account" "no account daemon on this host"
fi
capture chrootctl begin --name=lg-cbad --add-login --add-account=no-such-account-here lg-box
assert_eq "1|" "$RC|$OUT" "chrootctl begin --add-account of an unknown account fails, printing no id"
assert_match "no-such-account-here" "$ERR" "and says which account"
capture chrootctl begin --add-account=a --add-account=b --add-account=c --add-account=d --add-account=e \
        --add-account=f --add-account=g --add-account=h --add-account=i lg-box
assert_match "at most 8 times" "$ERR" "a ninth --add-account is refused before the service is asked"
assert_bus_error org.chrootd1.Error.InvalidArgument "add-accounts without add-login: InvalidArgument, not ignored" \
        /org/chrootd1 org.chrootd1.Manager.BeginSession "'lg-box'" "'lg-nologin'" "{'add-accounts': <['root']>}"

assert_bus_error org.chrootd1.Error.NoSuchUser "add-accounts of an account the host does not have: NoSuchUser" \
        /org/chrootd1 org.chrootd1.Manager.BeginSession "'lg-box'" "'lg-noacct'" "{'add-login': <true>, 'add-accounts': <['no-such-account-here']>}"
assert_bus_error org.chrootd1.Error.InvalidArgument "add-accounts of a name with a colon: InvalidArgument" \
        /org/chrootd1 org.chrootd1.Manager.BeginSession "'lg-box'" "'lg-badacct'" "{'add-login': <true>, 'add-accounts': <['a:b']>}"

for s in lg-with lg-without lg-nosh lg-acct lg-cacct lg-cbad; do
        chrootctl end "$s" >/dev/null 2>&1
done
done_testing
