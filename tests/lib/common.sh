# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared helpers for tests/run-all, quickstart and .ci/run: the dedicated test user, the
# copy of the source it builds from, and the build itself. Source it; it defines
# functions and a few variables and changes nothing by itself.

# The Debian packages the build, the tests and the quickstart need. .ci/run and
# quickstart install exactly these.
CT_DEB_PACKAGES=(meson ninja-build pkg-config gcc libc6-dev libsystemd-dev
                 libarchive-dev libglib2.0-dev libglib2.0-bin uidmap busybox-static zstd
                 xz-utils bzip2 gzip tar dbus-daemon dbus-bin dbus-user-session systemd
                 iproute2 util-linux python3 passwd procps
                 mmdebstrap sbuild schroot autopkgtest dpkg-dev
                 tmux python3-gi scdoc man-db build-essential debhelper lintian)

# The unprivileged user the harness runs everything as when started by root.
CT_TEST_USER=${CHROOTD_TEST_USER:-chrootd-test}

ct_prog=${ct_prog:-${0##*/}}
ct_msg() { printf '%s: %s\n' "$ct_prog" "$*" >&2; }
ct_die() { ct_msg "$*"; exit 1; }

# ct_pid1_is_systemd: true on a machine booted with systemd (a developer's desktop),
# false in containers and VMs whose init is something else (our CI machines).
ct_pid1_is_systemd() {
        [ -d /run/systemd/system ] && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]
}

# ct_missing_packages: print the packages of CT_DEB_PACKAGES that are not installed.
ct_missing_packages() {
        local p st
        for p in "${CT_DEB_PACKAGES[@]}"; do
                st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) || st=
                [ "$st" = installed ] || printf '%s\n' "$p"
        done
}

# ct_install_packages: apt-get install what is missing (as root, or through sudo).
ct_install_packages() {
        local missing sudo=()
        command -v dpkg-query >/dev/null || ct_die "this is not a Debian-like system; install by hand: ${CT_DEB_PACKAGES[*]}"
        mapfile -t missing < <(ct_missing_packages)
        [ ${#missing[@]} -eq 0 ] && return 0
        if [ "$(id -u)" -ne 0 ]; then
                command -v sudo >/dev/null ||
                        ct_die "missing packages and no sudo; as root run: apt-get install ${missing[*]}"
                sudo=(sudo)
        fi
        ct_msg "installing: ${missing[*]}"
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -q -y --no-install-recommends "${missing[@]}"
}

# ct_user_info USER: set CT_UID, CT_GID, CT_HOME of USER.
ct_user_info() {
        local ent
        ent=$(getent passwd "$1") || return 1
        CT_UID=$(cut -d: -f3 <<<"$ent")
        CT_GID=$(cut -d: -f4 <<<"$ent")
        CT_HOME=$(cut -d: -f6 <<<"$ent")
}

# ct_has_subids USER UID: whether USER has at least 65536 subordinate uids and gids.
ct_has_subids() {
        local f
        for f in /etc/subuid /etc/subgid; do
                awk -F: -v u="$1" -v id="$2" '($1 == u || $1 == id) && $3 >= 65536 { found = 1 }
                                              END { exit !found }' "$f" 2>/dev/null || return 1
        done
}

# ct_free_subid_start: the first multiple of 65536 at or above 100000 that no range in
# /etc/subuid or /etc/subgid touches.
ct_free_subid_start() {
        cat /etc/subuid /etc/subgid 2>/dev/null | awk -F: '
                NF >= 3 { s[n] = $2; e[n] = $2 + $3; n++ }
                END {
                        for (c = 165536; ; c += 65536) {
                                ok = 1
                                for (i = 0; i < n; i++)
                                        if (c < e[i] && s[i] < c + 65536) { ok = 0; break }
                                if (ok) { print c; exit }
                        }
                }'
}

# ct_ensure_user USER: create the test user if missing and give it 65536 subordinate
# uids and gids. Sets CT_UID, CT_GID, CT_HOME. Root only.
ct_ensure_user() {
        local user=$1 start
        if ! getent passwd "$user" >/dev/null; then
                ct_msg "creating user $user"
                useradd -m -s /bin/bash "$user" || return 1
        fi
        ct_user_info "$user" || return 1
        if [ ! -d "$CT_HOME" ]; then
                mkdir -p "$CT_HOME" && chown "$CT_UID:$CT_GID" "$CT_HOME" || return 1
        fi
        if ! ct_has_subids "$user" "$CT_UID"; then
                touch /etc/subuid /etc/subgid
                start=$(ct_free_subid_start)
                ct_msg "giving $user subordinate ids $start-$((start + 65535))"
                usermod --add-subuids "$start-$((start + 65535))" \
                        --add-subgids "$start-$((start + 65535))" "$user" || return 1
        fi
        # A supplementary group, as desktop users have (sbuild's users are in group
        # sbuild): BeginSession's add-login must bring it into sessions.
        if ! id -nG "$user" | tr ' ' '\n' | grep -qx chrootd-extra; then
                groupadd -f chrootd-extra && usermod -aG chrootd-extra "$user" || return 1
        fi
        # sbuild 0.85 refuses users outside group sbuild (the debian suite).
        if getent group sbuild >/dev/null && ! id -nG "$user" | tr ' ' '\n' | grep -qx sbuild; then
                usermod -aG sbuild "$user" || return 1
        fi
}

# ct_user_path HOME: the PATH commands of the test user get.
ct_user_path() {
        printf '%s' "$1/.local/bin:/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
}

# ct_as_user USER DIR CMD...: run CMD as USER (uid, gid, supplementary groups) in DIR
# with a clean environment, on the host (no user manager needed). Root only. Extra
# environment entries can be put in the array CT_EXTRA_ENV (KEY=VALUE).
ct_as_user() {
        local user=$1 dir=$2
        shift 2
        ct_user_info "$user" || return 1
        setpriv --reuid="$CT_UID" --regid="$CT_GID" --init-groups -- \
                env -i -C "$dir" HOME="$CT_HOME" USER="$user" LOGNAME="$user" \
                PATH="$(ct_user_path "$CT_HOME")" LANG=C.UTF-8 ${TERM:+TERM="$TERM"} \
                "${CT_EXTRA_ENV[@]}" "$@"
}

# ct_list_source SRCDIR: print, NUL-separated and relative to SRCDIR, the files that
# make up the source tree: what git tracks plus untracked files that are not ignored,
# without meson build directories. Works without git too.
ct_list_source() {
        local src=$1 f
        # safe.directory: root listing a developer's checkout (sudo tests/run-all).
        local git=(git -c safe.directory='*' -C "$src")
        if "${git[@]}" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
                "${git[@]}" ls-files -z --cached --others --exclude-standard |
                while IFS= read -r -d '' f; do
                        # Deleted but not yet committed; and build trees made inside
                        # the source when there is no .gitignore for them.
                        [ -e "$src/$f" ] || [ -L "$src/$f" ] || continue
                        [ -e "$src/${f%%/*}/meson-private" ] && continue
                        printf '%s\0' "$f"
                done
        else
                (cd "$src" && find . -mindepth 1 \( -name .git -o -exec test -d '{}/meson-private' \; \) -prune \
                        -o \( -type f -o -type l \) -print0)
        fi
}

# ct_sync_source SRCDIR USER DEST: make DEST (in USER's home) an exact copy of the source
# tree, owned by USER, keeping DEST/build for incremental rebuilds. Only files whose
# content or mode differ are replaced, and they get the current time: file times from
# the source tree would be wrong for ninja, since DEST/build may have been built from
# another tree later than the source files were written. Root only.
ct_sync_source() {
        local src=$1 user=$2 dest=$3
        ct_user_info "$user" || return 1
        ct_list_source "$src" |
                tar -C "$src" --null --verbatim-files-from -T - -cf - |
                ct_as_user "$user" "$CT_HOME" bash -c '
                        set -e
                        dest=$1
                        mkdir -p "$dest"
                        stage=$(mktemp -d "$dest.stage.XXXXXX")
                        trap "rm -rf \"\$stage\"" EXIT
                        tar -xf - -C "$stage" --no-same-owner --touch
                        # Gone from the source: remove (but keep the build directory).
                        (cd "$dest" && find . -mindepth 1 -path ./build -prune -o ! -type d -print0) |
                        while IFS= read -r -d "" f; do
                                [ -e "$stage/$f" ] || [ -L "$stage/$f" ] || rm -f "$dest/$f"
                        done
                        # New or changed: move in.
                        (cd "$stage" && find . ! -type d -print0) |
                        while IFS= read -r -d "" f; do
                                if [ -f "$stage/$f" ] && [ ! -L "$stage/$f" ] && [ -f "$dest/$f" ] && [ ! -L "$dest/$f" ] &&
                                   [ "$(stat -c %a "$stage/$f")" = "$(stat -c %a "$dest/$f")" ] &&
                                   cmp -s "$stage/$f" "$dest/$f"; then
                                        continue
                                fi
                                mkdir -p "$(dirname "$dest/$f")"
                                rm -rf "$dest/$f"
                                mv "$stage/$f" "$dest/$f"
                        done
                        find "$dest" -mindepth 1 -depth -type d -empty ! -path "$dest/build" ! -path "$dest/build/*" -delete
                ' ct-sync "$dest"
}

# ct_meson_prefix BUILDDIR: the prefix a configured build directory installs to.
ct_meson_prefix() {
        python3 -c 'import json, sys
for o in json.load(open(sys.argv[1])):
    if o["name"] == "prefix": print(o["value"])' "$1/meson-info/intro-buildoptions.json" 2>/dev/null
}

# ct_build_install SRCDIR BUILDDIR PREFIX: configure (or reconfigure), build and install.
# Runs as whoever calls it.
ct_build_install() {
        local src=$1 build=$2 prefix=$3
        cd "$src" || return 1
        # Always reconfigure: meson.build decides some things with fs.exists(), and
        # files appear and vanish without any meson.build changing.
        if [ -f "$build/build.ninja" ]; then
                meson setup --reconfigure "$build" --prefix="$prefix" ||
                        meson setup --wipe "$build" --prefix="$prefix" || return 1
        elif [ -d "$build/meson-private" ]; then
                meson setup --wipe "$build" --prefix="$prefix" || return 1
        else
                meson setup "$build" --prefix="$prefix" || return 1
        fi
        meson compile -C "$build" && meson install -C "$build" --quiet
}
