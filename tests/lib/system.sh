# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers for the system tests (tests/system/test-*.sh), which run as an ordinary user
# against that user's real systemd user manager and the *installed* chrootd (D-Bus
# activation of ~/.local/libexec/chrootd/chrootd, or wherever the build's prefix points).
# tests/system/tap.sh sources this file; it sources common.sh.
#
# Environment the tests get (from meson's test env and from tests/run-all):
#   CHROOTD_SOURCE_ROOT CHROOTD_BUILD_ROOT CHROOTD_BINARY CHROOTCTL_BINARY   (meson)
#   HOME USER LOGNAME XDG_RUNTIME_DIR DBUS_SESSION_BUS_ADDRESS PATH          (run-all)
#   CHROOTD_TEST_ROOTFS   directory made by tests/make-rootfs.sh             (run-all)
#   CHROOTD_TEST_PREFIX   the prefix the project was installed to            (run-all)
#   CHROOTD_TEST_DISPOSABLE_USER=1 when the user is run-all's own test user, whose
#                         chroots, sessions and state the tests may freely wipe (run-all)

# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# have_user_manager: whether a systemd user manager and the user bus answer.
have_user_manager() {
        systemctl --user show-environment >/dev/null 2>&1 &&
                busctl --user --timeout=5 call org.freedesktop.DBus /org/freedesktop/DBus \
                        org.freedesktop.DBus GetId >/dev/null 2>&1
}

# require_user_manager: skip the whole test script when there is none.
require_user_manager() {
        have_user_manager ||
                skip_all "no systemd user manager or user bus reachable (XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-unset}); run tests/run-all"
}

# chrootd_prefix: where the project was installed.
chrootd_prefix() {
        local p=${CHROOTD_TEST_PREFIX:-}
        [ -n "$p" ] || p=$(ct_meson_prefix "${CHROOTD_BUILD_ROOT:-build}")
        printf '%s\n' "${p:-$HOME/.local}"
}

# chrootd_user_unit_dir: where the installed user units are (a /usr install, as the
# Debian package's: /usr/lib/systemd/user; any other prefix: PREFIX/share/systemd/user).
chrootd_user_unit_dir() {
        local p
        p=$(chrootd_prefix)
        if [ "$p" = /usr ]; then echo /usr/lib/systemd/user; else echo "$p/share/systemd/user"; fi
}

# chrootd_state: the ActiveState of chrootd.service ("active", "inactive", ...).
chrootd_state() {
        systemctl --user show -p ActiveState --value chrootd.service 2>/dev/null
}

# chrootd_stop: stop the service (a previous test may have left it running) and forget
# an earlier failure, so that the next call activates a fresh one.
chrootd_stop() {
        systemctl --user stop chrootd.service 2>/dev/null
        systemctl --user reset-failed chrootd.service 2>/dev/null
        return 0
}

# manager_call METHOD [SIGNATURE ARGS...]: call org.chrootd1.Manager with busctl.
manager_call() {
        busctl --user --timeout=120 call org.chrootd1 /org/chrootd1 org.chrootd1.Manager "$@"
}

# test_rootfs: print the directory with busybox.tar{,.gz,.xz,.zst,.bz2} and busybox-dir/,
# making it if needed.
test_rootfs() {
        local dir=${CHROOTD_TEST_ROOTFS:-${XDG_CACHE_HOME:-$HOME/.cache}/chrootd-tests/rootfs}
        "$CHROOTD_SOURCE_ROOT/tests/make-rootfs.sh" "$dir" >&2 || return 1
        printf '%s\n' "$dir"
}

# install_test_chroot NAME [EXT]: make chroot NAME available to chrootd, as
# $XDG_CACHE_HOME/sbuild/NAME.EXT (EXT: tar, tar.gz, tar.xz, tar.zst (default), tar.bz2).
install_test_chroot() {
        local name=$1 ext=${2:-tar.zst} dir sbuild=${XDG_CACHE_HOME:-$HOME/.cache}/sbuild
        dir=$(test_rootfs) || return 1
        mkdir -p "$sbuild" && cp "$dir/busybox.$ext" "$sbuild/$name.$ext"
}

# normalize_introspection INTERFACE: read introspection XML on stdin and print the
# interface's members, one per line, sorted, without comments or annotations:
#     method NAME(in TYPE NAME, out TYPE NAME, ...)
#     signal NAME(TYPE NAME, ...)
#     property NAME TYPE ACCESS
# Prints nothing (and fails) when the interface is not there.
normalize_introspection() {
        python3 -c '
import sys, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.read())
found = False
lines = []
for iface in root.iter("interface"):
    if iface.get("name") != sys.argv[1]:
        continue
    found = True
    for m in iface:
        if m.tag in ("method", "signal"):
            args = []
            for a in m.findall("arg"):
                d = a.get("direction", "in" if m.tag == "method" else "")
                args.append(" ".join(x for x in (d if m.tag == "method" else "", a.get("type", ""), a.get("name", "")) if x))
            lines.append("%s %s(%s)" % (m.tag, m.get("name"), ", ".join(args)))
        elif m.tag == "property":
            lines.append("property %s %s %s" % (m.get("name"), m.get("type"), m.get("access")))
print("\n".join(sorted(lines)))
sys.exit(0 if found else 1)
' "$1"
}

# ---- systemd units of sessions (shared by the cgroups, limits and crash tests) ----

# esc ID: the session id as systemd-escape escapes it ('-' becomes \x2d).
esc() {
        if command -v systemd-escape >/dev/null 2>&1; then
                systemd-escape -- "$1"
        else
                printf '%s\n' "${1//-/\\x2d}"
        fi
}

# units_of ID: every unit the user manager has loaded (--all) for session ID, one a line.
units_of() {
        local e
        e=$(esc "$1")
        systemctl --user list-units --all --plain --no-legend --no-pager 'chrootd*' |
                awk '{ print $1 }' | grep -F -- "$e" | sort
}

# spare_units_of ID: the scopes of session ID that hold a spare init, made before its
# command came (service/session-run.c): Description "chrootd session ID: waiting for
# a command".
spare_units_of() {
        local u
        for u in $(units_of "$1" | grep '\.scope$'); do
                [ "$(unit_prop "$u" Description)" = "chrootd session $1: waiting for a command" ] && echo "$u"
        done
}

# command_units_of ID: units_of ID without the spare's scope: the slice and the scopes
# of commands.
command_units_of() {
        units_of "$1" | grep -vxF -- "$(spare_units_of "$1")"
}

# unit_listed UNIT: whether list-units --all shows UNIT.
unit_listed() {
        systemctl --user list-units --all --plain --no-legend --no-pager 'chrootd*' |
                awk '{ print $1 }' | grep -qxF -- "$1"
}

# unit_prop UNIT PROP: one property's value.
unit_prop() {
        systemctl --user show -p "$2" --value -- "$1" 2>&1
}

# main_pid: the service's MainPID (0 when it is not running).
main_pid() {
        systemctl --user show -p MainPID --value chrootd.service
}
