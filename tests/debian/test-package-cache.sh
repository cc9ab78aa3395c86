#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The package cache with Debian's real apt (package-cache.h): a package one session of
# the chroot downloaded is not downloaded again by the next, and a package that a
# session's root made up under a package's name (same name, same size) never gets
# installed by another session: apt checks the cache's files (partial/) against its
# index and downloads the real one.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_user_manager
deb_require mmdebstrap
deb_tarball
pool=${XDG_CACHE_HOME:-$HOME/.cache}/chrootd/packages/$DEB_CHROOT
apt_get='apt-get -q'

# A session of the chroot with the cache and fresh package lists: prints its id.
cache_session() {
        local id
        id=$(chrootctl begin --package-cache "$DEB_CHROOT") || return 1
        chrootctl run "$id" -- $apt_get update >/dev/null 2>&1 || { chrootctl end "$id"; return 1; }
        echo "$id"
}

# Start from no cache: gc removes that of a chroot without sessions.
chrootctl gc >/dev/null
wait_until 30 eval '[ ! -e "$pool" ]'
check "the chroot has no package cache to begin with" test ! -e "$pool"
s1=$(cache_session) || bail_out "cannot begin a session of $DEB_CHROOT with fresh package lists"
capture chrootctl run "$s1" -- $apt_get install -y --download-only hello
assert_match "Fetched [1-9]" "$OUT" "the first session downloads hello" || diag "$OUT$ERR"
chrootctl end "$s1" >/dev/null
check "hello joined the chroot's cache at End" test -n "$(ls "$pool"/layer/partial/hello_*.deb 2>/dev/null)"

s2=$(cache_session) || bail_out "cannot begin a second session"
capture chrootctl run "$s2" -- $apt_get install -y hello
assert_eq 0 "$RC" "the next session installs hello" || diag "$ERR"
assert_eq "" "$(grep -E '^Fetched [1-9]' <<<"$OUT")" "without downloading it again" || diag "$OUT"
capture chrootctl run "$s2" -- hello
assert_eq "Hello, world!" "$OUT" "and it works"
chrootctl end "$s2" >/dev/null

# The attack: root of one session puts garbage of the right size under the name apt
# will look for (sl is not in the cache yet), and it joins the cache at End.
s3=$(cache_session) || bail_out "cannot begin the attacker's session"
uri=$(chrootctl run "$s3" -- $apt_get install -y --print-uris sl | grep "/sl_" | head -n 1)
read -r _ name size sum <<<"$uri"
check "apt names the file it wants for sl ($name, $size bytes)" test -n "$name" -a -n "$size"
chrootctl run "$s3" -- sh -c "head -c $size /dev/zero | tr '\\0' x >/var/cache/apt/archives/$name"
chrootctl end "$s3" >/dev/null
assert_eq "$size" "$(stat -c %s "$pool/layer/partial/$name" 2>&1)" "the forged file joined the cache (it is only a name and a size)"

s4=$(cache_session) || bail_out "cannot begin the victim's session"
capture chrootctl run "$s4" -- $apt_get install -y sl
assert_eq 0 "$RC" "the next session installs sl all the same" || diag "$OUT" "$ERR"
assert_match "Fetched [1-9]" "$OUT" "apt found the cached file wrong and downloaded the real one"
# apt prints the index's hash as ALGORITHM:HEX (MD5Sum, SHA1, SHA256 or SHA512).
case ${sum%%:*} in
MD5Sum) tool=md5sum ;; SHA1) tool=sha1sum ;; SHA512) tool=sha512sum ;; *) tool=sha256sum ;;
esac
capture chrootctl run "$s4" -- sh -c "$tool /var/cache/apt/archives/$name; dpkg-query -W -f '\${Status}' sl; test -x /usr/games/sl && echo runs"
assert_eq "${sum#*:}  /var/cache/apt/archives/$name|install ok installedruns" "$(paste -sd'|' <<<"$OUT")" \
        "what it installed is the archive's package, by the index's ${sum%%:*}" || diag "$uri"
chrootctl end "$s4" >/dev/null
assert_eq "" "$(chrootctl --no-legend sessions 2>&1)" "no session is left"
done_testing
