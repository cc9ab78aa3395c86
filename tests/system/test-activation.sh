#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The installed service is found and started by D-Bus activation through the user's
# systemd, and what it exports on the bus is exactly the contract in interfaces/.
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

require_user_manager
plan 11

prefix=$(chrootd_prefix)
data=$prefix/share
unit=$(chrootd_user_unit_dir)/chrootd.service
activation=$data/dbus-1/services/org.chrootd1.service

# What meson install put in place.
if [ -f "$unit" ] && grep -q '^BusName=org.chrootd1$' "$unit" && grep -q '^Type=dbus$' "$unit"; then
        ok "user unit installed: $unit"
else
        not_ok "user unit installed: $unit" "$(ls -l "$unit" 2>&1; cat "$unit" 2>&1)"
fi
if [ -f "$activation" ] && grep -q '^Name=org.chrootd1$' "$activation" &&
   grep -q '^SystemdService=chrootd.service$' "$activation"; then
        ok "D-Bus activation file installed: $activation"
else
        not_ok "D-Bus activation file installed: $activation" "$(ls -l "$activation" 2>&1; cat "$activation" 2>&1)"
fi
exec_start=$(sed -n 's/^ExecStart=//p' "$unit" 2>/dev/null | head -n 1)
if [ -n "$exec_start" ] && [ -x "${exec_start%% *}" ] && [ "${exec_start%% *}" = "$prefix/libexec/chrootd/chrootd" ]; then
        ok "service binary installed: $prefix/libexec/chrootd/chrootd"
else
        not_ok "service binary installed: $prefix/libexec/chrootd/chrootd" "ExecStart=$exec_start" \
                "$(ls -l "$prefix/libexec/chrootd/chrootd" 2>&1)"
fi

# The user manager sees that unit (and not some other copy).
capture systemctl --user show -p LoadState -p FragmentPath chrootd.service
assert_eq "$(printf 'LoadState=loaded\nFragmentPath=%s' "$unit")" "$OUT" \
        "the user manager loads chrootd.service from the installed file"

# A clean start; a previous test may have left the service running.
chrootd_stop
assert_match '^(inactive|failed)$' "$(chrootd_state)" "chrootd is not running before the first call"
before=$(systemctl --user show -p ActiveEnterTimestampMonotonic --value chrootd.service)

# A method call activates it, through systemd (SystemdService=).
check "ListChroots succeeds" manager_call ListChroots
assert_match '^a\(ssssas\) [0-9]+' "$OUT" "ListChroots replies with a(ssssas)"
after=$(systemctl --user show -p ActiveEnterTimestampMonotonic --value chrootd.service)
state=$(chrootd_state)
if [ "$state" = active ] || { [ -n "$after" ] && [ "$after" != 0 ] && [ "$after" != "$before" ]; }; then
        ok "the call activated chrootd.service (now $state)"
else
        not_ok "the call activated chrootd.service" "ActiveState=$state" \
                "ActiveEnterTimestampMonotonic before=$before after=$after" \
                "$(systemctl --user status --no-pager chrootd.service 2>&1)"
fi

# The bus name belongs to the unit's main process, not to a copy dbus-daemon
# started by itself.
capture busctl --user call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
        GetConnectionUnixProcessID s org.chrootd1
owner=${OUT#u }
main_pid=$(systemctl --user show -p MainPID --value chrootd.service)
assert_eq "$main_pid" "$owner" "org.chrootd1 is owned by the MainPID of chrootd.service"

# Live introspection against interfaces/org.chrootd1.Manager.xml.
contract=$(normalize_introspection org.chrootd1.Manager \
        <"$CHROOTD_SOURCE_ROOT/interfaces/org.chrootd1.Manager.xml")
capture busctl --user introspect --xml-interface org.chrootd1 /org/chrootd1
live=$(normalize_introspection org.chrootd1.Manager <<<"$OUT" 2>/dev/null)
if [ "$RC" -eq 0 ] && [ -n "$contract" ] && [ "$live" = "$contract" ]; then
        ok "live org.chrootd1.Manager matches interfaces/org.chrootd1.Manager.xml"
else
        not_ok "live org.chrootd1.Manager matches interfaces/org.chrootd1.Manager.xml" \
                "busctl introspect exit status $RC ${ERR}" \
                "diff (- contract, + live):" \
                "$(diff -u <(printf '%s\n' "$contract") <(printf '%s\n' "$live") | tail -n +3)"
fi

# The Version property is the project's version.
version=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["version"])' \
        "$CHROOTD_BUILD_ROOT/meson-info/intro-projectinfo.json" 2>/dev/null)
capture busctl --user get-property org.chrootd1 /org/chrootd1 org.chrootd1.Manager Version
assert_eq "s \"$version\"" "$OUT" "Version property is the project version"

done_testing
