# SPDX-License-Identifier: LGPL-2.1-or-later
# A real systemd user manager for a user, and a way to run commands as that user inside
# it. Used by tests/run-all and quickstart. Source tests/lib/common.sh first.
#
#   um_start USER    root: boot (or reuse) USER's manager; non-root: use the caller's own
#   um_exec CMD...   run CMD as that user, with its user bus, in $UM_WD (default: home)
#   um_stop          stop what um_start started, and clean up after it
#
# Three modes, chosen by um_start (UM_MODE):
#   ns      root, and PID 1 is not systemd (CI, containers, our VMs). systemd --user is
#           booted in a private mount namespace (see /work/shared/ENVIRONMENT.md): a
#           fresh cgroup2 on /sys/fs/cgroup, a tmpfs on /run with /run/systemd/system and
#           /run/user/UID, the process moved into a user@UID.service cgroup owned by the
#           user. The host's mounts are untouched; the only trace on the host is the
#           cgroup directory user.slice/user-UID.slice in the cgroup2 hierarchy, which
#           um_stop removes. Commands get in with nsenter -m and setpriv; they are not
#           inside the user's cgroup subtree (services the manager starts are).
#   logind  root, and PID 1 is systemd (a developer's machine): linger and
#           user@UID.service. Best effort: the machines this project is tested on have
#           no systemd as PID 1, so this path is not exercised by CI.
#   self    not root: the caller's own running manager and bus; nothing is started.
#
# Variables after um_start: UM_MODE UM_USER UM_UID UM_GID UM_HOME UM_RUNTIME_DIR UM_PID
# (ns: the pid of systemd --user) UM_LOG (ns: its output, and that of every user
# service, since there is no journal) UM_STATE_DIR.

UM_TIMEOUT=${UM_TIMEOUT:-30}

um_systemd_binary() {
        local b
        for b in /lib/systemd/systemd /usr/lib/systemd/systemd; do
                [ -x "$b" ] && { printf '%s\n' "$b"; return 0; }
        done
        return 1
}

# um_env: the environment, as KEY=VALUE words, for commands run as the user.
um_env() {
        printf '%s\n' "HOME=$UM_HOME" "USER=$UM_USER" "LOGNAME=$UM_USER" \
                "XDG_RUNTIME_DIR=$UM_RUNTIME_DIR" \
                "DBUS_SESSION_BUS_ADDRESS=unix:path=$UM_RUNTIME_DIR/bus" \
                "PATH=$(ct_user_path "$UM_HOME")" "LANG=C.UTF-8"
}

# um_exec CMD...: run CMD as the user with its user bus. Extra environment entries go in
# the array UM_EXTRA_ENV; the working directory is UM_WD (default: the user's home).
um_exec() {
        local env
        mapfile -t env < <(um_env)
        case $UM_MODE in
        self)
                env -C "${UM_WD:-$UM_HOME}" "${env[@]}" "${UM_EXTRA_ENV[@]}" "$@" ;;
        logind)
                setpriv --reuid="$UM_UID" --regid="$UM_GID" --init-groups -- \
                        env -i -C "${UM_WD:-$UM_HOME}" "${env[@]}" ${TERM:+TERM="$TERM"} \
                        "${UM_EXTRA_ENV[@]}" "$@" ;;
        ns)
                nsenter -t "$UM_PID" -m -- \
                        setpriv --reuid="$UM_UID" --regid="$UM_GID" --init-groups -- \
                        env -i -C "${UM_WD:-$UM_HOME}" "${env[@]}" ${TERM:+TERM="$TERM"} \
                        "${UM_EXTRA_ENV[@]}" "$@" ;;
        *)
                ct_msg "um_exec: no user manager (call um_start first)"; return 1 ;;
        esac
}

# um_bus_answers: whether the user bus answers a call.
um_bus_answers() {
        um_exec busctl --user --timeout=2 call org.freedesktop.DBus /org/freedesktop/DBus \
                org.freedesktop.DBus GetId >/dev/null 2>&1
}

# um_wait: wait until the user bus answers and the manager has finished starting up.
um_wait() {
        local deadline=$((SECONDS + UM_TIMEOUT)) state
        until um_bus_answers; do
                if [ "$UM_MODE" = ns ] && ! kill -0 "$UM_PID" 2>/dev/null; then
                        ct_msg "systemd --user for $UM_USER died while starting:"
                        um_show_log 30
                        return 1
                fi
                if [ $SECONDS -ge $deadline ]; then
                        ct_msg "the user bus of $UM_USER did not answer within ${UM_TIMEOUT}s"
                        um_show_log 30
                        return 1
                fi
                sleep 0.1
        done
        # "starting" until default.target is reached; "degraded" is fine (some stock
        # user unit may fail on a machine like this one).
        while state=$(um_exec systemctl --user is-system-running 2>/dev/null); [ "$state" = starting ] || [ "$state" = initializing ]; do
                [ $SECONDS -ge $deadline ] && { ct_msg "user manager still '$state', going on"; break; }
                sleep 0.1
        done
        return 0
}

um_show_log() {
        [ -n "${UM_LOG:-}" ] && [ -s "$UM_LOG" ] || return 0
        ct_msg "last lines of $UM_LOG:"
        tail -n "${1:-50}" "$UM_LOG" | sed 's/^/    /' >&2
}

# um_cgroup_cleanup UID: in a throwaway mount namespace, kill whatever is left in
# user.slice/user-UID.slice of the cgroup2 hierarchy and remove those cgroups.
um_cgroup_cleanup() {
        unshare --mount --propagation private -- /bin/bash -c '
                uid=$1
                mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null || exit 0
                top=/sys/fs/cgroup/user.slice
                cg=$top/user-$uid.slice
                [ -d "$cg" ] || exit 0
                for i in $(seq 1 100); do
                        procs=$(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null)
                        [ -z "$procs" ] && break
                        if [ -e "$cg/cgroup.kill" ]; then
                                echo 1 >"$cg/cgroup.kill"
                        else
                                for p in $procs; do kill -KILL "$p" 2>/dev/null; done
                        fi
                        sleep 0.1
                done
                find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
                rmdir "$top" 2>/dev/null
                exit 0
        ' um-cleanup "$1"
}

# um_start_ns: boot systemd --user in a private mount namespace (see the top).
um_start_ns() {
        local systemd
        systemd=$(um_systemd_binary) || { ct_msg "no systemd binary (apt-get install systemd)"; return 1; }
        # A manager left over by an interrupted run would share our cgroup.
        um_cgroup_cleanup "$UM_UID"
        UM_STATE_DIR=$(mktemp -d /tmp/chrootd-user-manager.XXXXXX) || return 1
        chmod 0755 "$UM_STATE_DIR"
        UM_LOG=$UM_STATE_DIR/user-manager.log
        install -m 0644 -o "$UM_UID" -g "$UM_GID" /dev/null "$UM_LOG"
        # unshare without --fork execs in place, and so does bash: $! is the pid that
        # becomes systemd --user.
        unshare --mount --propagation private -- /bin/bash -c '
                set -e
                uid=$1 gid=$2 user=$3 home=$4 path=$5 systemd=$6
                mount -t cgroup2 cgroup2 /sys/fs/cgroup
                mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
                mkdir -p /run/systemd/system "/run/user/$uid"
                chown "$uid:$gid" "/run/user/$uid"
                chmod 0700 "/run/user/$uid"
                cg=/sys/fs/cgroup/user.slice/user-$uid.slice/user@$uid.service
                mkdir -p "$cg"
                chown -R "$uid:$gid" "$cg"
                echo $$ >"$cg/cgroup.procs"
                # No journal here: the manager logs to stderr, and user services
                # inherit its stdout and stderr, so everything lands in one log file.
                exec setpriv --reuid="$uid" --regid="$gid" --init-groups -- \
                        env -i HOME="$home" USER="$user" LOGNAME="$user" \
                        XDG_RUNTIME_DIR="/run/user/$uid" PATH="$path" \
                        "$systemd" --user --log-target=console \
                        --default-standard-output=inherit --default-standard-error=inherit
        ' um-boot "$UM_UID" "$UM_GID" "$UM_USER" "$UM_HOME" "$(ct_user_path "$UM_HOME")" "$systemd" \
                </dev/null >>"$UM_LOG" 2>&1 &
        UM_PID=$!
        UM_RUNTIME_DIR=/run/user/$UM_UID
        um_wait
}

# um_start_logind: linger and start user@UID.service. Not exercised by CI (see the top).
um_start_logind() {
        UM_RUNTIME_DIR=/run/user/$UM_UID
        UM_LINGER_ENABLED=
        if [ "$(loginctl show-user "$UM_USER" -p Linger --value 2>/dev/null)" != yes ]; then
                loginctl enable-linger "$UM_USER" || return 1
                UM_LINGER_ENABLED=1
        fi
        systemctl start "user@$UM_UID.service" || return 1
        um_wait
}

# um_start [USER]: see the top. Returns non-zero, with a message, when there is no way to
# get a user manager.
um_start() {
        UM_MODE='' UM_PID='' UM_LOG='' UM_STATE_DIR=''
        if [ "$(id -u)" -ne 0 ]; then
                UM_USER=$(id -un) UM_UID=$(id -u) UM_GID=$(id -g) UM_HOME=$HOME
                UM_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/run/user/$UM_UID}
                UM_MODE=self
                if [ ! -S "$UM_RUNTIME_DIR/bus" ] || ! um_bus_answers; then
                        ct_msg "no user bus for $UM_USER at $UM_RUNTIME_DIR/bus."
                        ct_msg "The system tests need a running systemd user manager with dbus-user-session:"
                        ct_msg "log in through a systemd-logind session (or 'loginctl enable-linger $UM_USER'),"
                        ct_msg "or run this as root, which boots a private one for the user $CT_TEST_USER."
                        UM_MODE=
                        return 1
                fi
                return 0
        fi
        UM_USER=${1:?um_start: which user?}
        ct_user_info "$UM_USER" || { ct_msg "no such user: $UM_USER"; return 1; }
        UM_UID=$CT_UID UM_GID=$CT_GID UM_HOME=$CT_HOME
        if ct_pid1_is_systemd; then
                UM_MODE=logind
                um_start_logind
        else
                UM_MODE=ns
                um_start_ns
        fi
}

# um_wait_gone PID SECONDS: wait until PID has exited (reaping it if it is our child).
um_wait_gone() {
        local pid=$1 deadline=$((SECONDS + $2)) st
        while [ -e "/proc/$pid" ]; do
                st=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)
                [ "$st" = Z ] && break
                [ $SECONDS -ge $deadline ] && return 1
                sleep 0.1
        done
        wait "$pid" 2>/dev/null
        return 0
}

# um_stop: undo um_start. Safe to call twice, and after a failed um_start.
um_stop() {
        case ${UM_MODE:-} in
        ns)
                if [ -n "$UM_PID" ] && kill -0 "$UM_PID" 2>/dev/null; then
                        # SIGTERM makes a user manager stop its units and exit.
                        kill -TERM "$UM_PID" 2>/dev/null
                        if ! um_wait_gone "$UM_PID" 20; then
                                ct_msg "systemd --user ($UM_PID) did not exit on SIGTERM; killing it"
                                kill -KILL "$UM_PID" 2>/dev/null
                                um_wait_gone "$UM_PID" 5
                        fi
                fi
                um_cgroup_cleanup "$UM_UID"
                ;;
        logind)
                if [ -n "${UM_LINGER_ENABLED:-}" ]; then
                        loginctl disable-linger "$UM_USER"
                        systemctl stop "user@$UM_UID.service"
                fi
                ;;
        esac
        if [ -n "${UM_STATE_DIR:-}" ] && [ -z "${UM_KEEP_LOG:-}" ]; then
                rm -rf -- "$UM_STATE_DIR"
        fi
        UM_MODE='' UM_PID=''
}
