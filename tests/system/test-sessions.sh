#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Sessions through their whole life: Begin from every kind of chroot (tarballs in each
# compression, a directory and a keyfile entry), what the tree looks like inside and on
# the host, ListSessions, a large Begin that must not block the bus, and End leaving
# nothing behind (tree, state, processes, mounts).
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

require_user_manager

rootfs=$(test_rootfs) || bail_out "could not make the test root filesystem"
suid=$(subid_start uid)
sgid=$(subid_start gid)
[ -n "$suid" ] && [ -n "$sgid" ] ||
        skip_all "$(id -un) has no 65536 subordinate ids in /etc/subuid and /etc/subgid"

sbuild=${XDG_CACHE_HOME:-$HOME/.cache}/sbuild
confd=${XDG_CONFIG_HOME:-$HOME/.config}/chrootd/chroots.d
conf=$confd/test-sessions.conf
sdir=$(sessions_dir)
uuid_re='[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
tmp=$(mktemp -d)
ids=()
extra_cleanup=

cleanup() {
        local id
        for id in "${ids[@]}" $extra_cleanup; do
                manager_call GetSession s "$id" >/dev/null 2>&1 && chrootctl end "$id" >/dev/null 2>&1
        done
        [ -n "$monitor_pid" ] && kill "$monitor_pid" 2>/dev/null
        rm -f "$conf" "$sbuild/st-big.tar"
        rm -rf "$tmp"
}
trap cleanup EXIT

mounts_before=$(cat /proc/self/mountinfo)

# ---- the chroots ----
declare -A source_of
for ext in tar tar.gz tar.xz tar.zst tar.bz2; do
        name=st-${ext//./-}
        install_test_chroot "$name" "$ext" || bail_out "could not install $name.$ext"
        source_of[$name]=$sbuild/$name.$ext
done
mkdir -p "$confd"
cat >"$conf" <<EOF
[st-dir]
type=directory
directory=$rootfs/busybox-dir

[st-conf]
type=file
file=$rootfs/busybox.tar.xz
aliases=st-alias-one, st-alias-two
description=Busybox from a keyfile
EOF
source_of[st-dir]=$rootfs/busybox-dir

capture list_chroots_tsv
chroots=$OUT

# The Manager's signals, recorded for the whole test (checked at the end).
monitor_pid=
if command -v dbus-monitor >/dev/null; then
        dbus-monitor --session "type='signal',path='/org/chrootd1',interface='org.chrootd1.Manager'" \
                >"$tmp/monitor" 2>&1 &
        monitor_pid=$!
        # It has become a monitor once it has lost its own name.
        wait_until 5 grep -q 'member=NameLost' "$tmp/monitor" ||
                diag "dbus-monitor did not start: $(cat "$tmp/monitor")"
fi
for name in st-tar st-tar-gz st-tar-xz st-tar-zst st-tar-bz2; do
        line=$(awk -F'\t' -v n="$name" '$1 == n' <<<"$chroots")
        assert_match "^$name	file	${source_of[$name]}	" "$line" "ListChroots: $name is a file chroot from ${source_of[$name]##*/}"
done
assert_eq "st-dir	directory	$rootfs/busybox-dir		" \
        "$(awk -F'\t' '$1 == "st-dir"' <<<"$chroots")" \
        "ListChroots: st-dir is a directory chroot from chroots.d"
assert_eq "st-conf	file	$rootfs/busybox.tar.xz	Busybox from a keyfile	st-alias-one,st-alias-two" \
        "$(awk -F'\t' '$1 == "st-conf"' <<<"$chroots")" \
        "ListChroots: st-conf from chroots.d with its description and aliases"

# ---- Begin from each, and what the session looks like ----
# Full copies (--union-type none), whose trees can be looked at from the host;
# copy-on-write sessions are tests/system/test-overlay.sh's.
for name in st-tar st-tar-gz st-tar-xz st-tar-zst st-tar-bz2 st-dir; do
        capture chrootctl begin --union-type none "$name"
        id=$OUT
        if [ "$RC" -eq 0 ] && [[ $id =~ ^$name-$uuid_re$ ]]; then
                ok "$name: Begin without a name gives an id $name-<uuid> ($id)"
                ids+=("$id")
        else
                not_ok "$name: Begin without a name gives an id $name-<uuid>"
                tap_command_diag chrootctl begin "$name"
                [ "$RC" -eq 0 ] && [ -n "$id" ] && ids+=("$id")
                continue
        fi

        # Inside, the owners the tarball names (a directory's files belong to the
        # caller, which is root inside).
        if [ "$name" = st-dir ]; then
                want_inside=$'0:0 /\n0:0 /home/tester\nbusybox'
        else
                want_inside=$'0:0 /\n1000:1000 /home/tester\nbusybox'
        fi
        capture chrootctl run "$id" sh -c 'stat -c "%u:%g %n" / /home/tester && cat /etc/hostname'
        assert_eq "$want_inside" "$OUT" "$name: inside, / and /home/tester have the owners of the source"

        # On the host, the same files belong to subordinate ids.
        assert_eq "" "$(session_property "$id" RootDirectory)" "$name: no RootDirectory (the session was not begun host-tree)"
        root=$(session_tree "$id")
        if [ "$name" = st-dir ]; then
                want_host="$suid:$sgid $suid:$sgid"
        else
                want_host="$suid:$sgid $(host_id uid 1000):$(host_id gid 1000)"
        fi
        assert_eq "$want_host" "$(stat -c %u:%g "$root" 2>&1) $(stat -c %u:%g "$root/home/tester" 2>&1)" \
                "$name: on the host, / is owned by the subordinate id start and /home/tester by what 1000 maps to"
        if [ "$name" = st-dir ]; then
                check "$name: the copy has the directory's content" \
                        cmp "$rootfs/busybox-dir/etc/os-release" "$root/etc/os-release"
        fi

        path=$(session_path "$id")
        assert_eq "$id	$name	ready	$path" \
                "$(list_sessions_tsv | awk -F'\t' -v i="$id" '$1 == i')" \
                "$name: ListSessions shows the session, ready, with its object path"
done

# A second session of the same chroot is a separate one.
capture chrootctl begin --union-type none st-tar-zst
second=$OUT
[ "$RC" -eq 0 ] && [ -n "$second" ] && ids+=("$second")
first=$(printf '%s\n' "${ids[@]}" | grep '^st-tar-zst-' | head -n 1)
if [ "$RC" -eq 0 ] && [[ $second =~ ^st-tar-zst-$uuid_re$ ]] && [ "$second" != "$first" ] &&
   [ -d "$(session_tree "$second")" ] && [ "$(session_tree "$second")" != "$(session_tree "$first")" ]; then
        ok "a second Begin of a chroot gives another id and another tree"
else
        not_ok "a second Begin of a chroot gives another id and another tree" "first: $first" "second: $second ($ERR)"
fi

# By alias: the session is of the chroot the alias names.
capture chrootctl begin st-alias-two
alias_id=$OUT
[ "$RC" -eq 0 ] && [ -n "$alias_id" ] && ids+=("$alias_id")
assert_match "^(st-conf|st-alias-two)-$uuid_re$" "$alias_id" "Begin by an alias succeeds ($ERR)"
assert_eq st-conf "$(session_property "$alias_id" Chroot 2>&1)" "a session begun by an alias has the chroot's name in Chroot"
capture chrootctl run "$alias_id" cat /etc/hostname
assert_eq busybox "$OUT" "a session of a chroots.d file entry runs commands"

# The object path is the id encoded as sd_bus_path_encode() does: every byte but
# letters, and digits after the first, as _xx.
path_encode() {
        local s=$1 out= c i
        for ((i = 0; i < ${#s}; i++)); do
                c=${s:i:1}
                if [[ $c == [A-Za-z] ]] || { [[ $c == [0-9] ]] && [ $i -gt 0 ]; }; then
                        out+=$c
                else
                        out+=$(printf '_%02x' "'$c")
                fi
        done
        printf '%s\n' "$out"
}
odd=7st.odd_name-x
capture chrootctl begin -n "$odd" st-tar
[ "$RC" -eq 0 ] && ids+=("$odd")
assert_eq "0 $odd" "$RC $OUT" "Begin with a name with a leading digit, '.', '_' and '-' $ERR"
assert_eq "/org/chrootd1/session/$(path_encode "$odd")" "$(session_path "$odd")" \
        "its object path is /org/chrootd1/session/$(path_encode "$odd")"
assert_eq "s \"$odd\"" "$(busctl --user get-property org.chrootd1 "/org/chrootd1/session/$(path_encode "$odd")" \
        org.chrootd1.Session Id 2>&1)" "the object at that path is the session"
capture chrootctl run "$odd" true
assert_eq 0 "$RC" "chrootctl run works in it $ERR"

# All of them listed.
listed=$(list_sessions_tsv | cut -f1 | sort)
missing=$(comm -23 <(printf '%s\n' "${ids[@]}" | sort) <(printf '%s\n' "$listed"))
assert_eq "" "$missing" "ListSessions lists all ${#ids[@]} sessions"

# ---- A large Begin does not block the bus ----
# ~200 MB that no compression shrinks, the busybox tree and 30000 empty files (which
# make the unpack last a couple of seconds), as a plain tarball.
blob_sum=$(make_big_tarball "$sbuild/st-big.tar" 30000 200) || bail_out "could not make the large tarball"

polls=0 failed_polls=0 max_ms=0 saw_preparing=0 saw_prop_preparing=0 slow=
progress=()
small_pid= small_first=0
begin_start=$(date +%s%N)
chrootctl begin --union-type none -n st-big-session st-big >"$tmp/big.out" 2>"$tmp/big.err" &
begin_pid=$!
ids+=(st-big-session)
while kill -0 "$begin_pid" 2>/dev/null; do
        t0=$(date +%s%N)
        sessions=$(busctl --user --timeout=2 call org.chrootd1 /org/chrootd1 org.chrootd1.Manager ListSessions 2>&1) &&
                busctl --user --timeout=2 call org.chrootd1 /org/chrootd1 org.chrootd1.Manager ListChroots >/dev/null 2>&1
        rc=$?
        t1=$(date +%s%N)
        # Only calls made while Begin was still in flight count.
        kill -0 "$begin_pid" 2>/dev/null || break
        polls=$((polls + 1))
        ms=$(((t1 - t0) / 1000000))
        [ "$ms" -gt "$max_ms" ] && max_ms=$ms
        if [ $rc -ne 0 ]; then
                failed_polls=$((failed_polls + 1))
                slow="$sessions"
        fi
        [[ $sessions == *'"st-big-session" "st-big" "preparing"'* ]] && saw_preparing=1
        if [ $saw_prop_preparing -eq 0 ] &&
           [ "$(busctl --user --timeout=2 get-property org.chrootd1 /org/chrootd1/session/st_2dbig_2dsession \
                org.chrootd1.Session State 2>/dev/null)" = 's "preparing"' ]; then
                saw_prop_preparing=1
        fi
        p=$(busctl --user --timeout=2 get-property org.chrootd1 /org/chrootd1/session/st_2dbig_2dsession \
                org.chrootd1.Session Progress 2>/dev/null)
        kill -0 "$begin_pid" 2>/dev/null && [ -n "$p" ] && progress+=("${p#d }")
        # Another Begin, of a small tarball, meanwhile.
        if [ $saw_preparing -eq 1 ] && [ -z "$small_pid" ]; then
                chrootctl begin -n st-small-meanwhile st-tar-zst >"$tmp/small.out" 2>&1 &
                small_pid=$!
                ids+=(st-small-meanwhile)
        fi
        if [ -n "$small_pid" ] && [ $small_first -eq 0 ] && ! kill -0 "$small_pid" 2>/dev/null &&
           kill -0 "$begin_pid" 2>/dev/null; then
                small_first=1
        fi
        sleep 0.02
done
wait "$begin_pid"
begin_rc=$?
note "Begin of the large tarball took $((($(date +%s%N) - begin_start) / 1000000)) ms; $polls pairs of calls answered meanwhile, slowest ${max_ms} ms"
assert_eq "0 st-big-session" "$begin_rc $(cat "$tmp/big.out")" "Begin of a 200 MB plain tarball succeeds $(cat "$tmp/big.err")"
if [ "$polls" -ge 1 ] && [ "$failed_polls" -eq 0 ] && [ "$max_ms" -lt 1000 ]; then
        ok "while Begin unpacks, ListSessions and ListChroots answer within a second ($polls times)"
else
        not_ok "while Begin unpacks, ListSessions and ListChroots answer within a second" \
                "calls made during Begin: $polls, failed or timed out (2 s): $failed_polls, slowest: ${max_ms} ms" "$slow"
fi
assert_eq 1 "$saw_preparing" "ListSessions shows the session as 'preparing' while it is unpacked"
assert_eq 1 "$saw_prop_preparing" "its State property is 'preparing' while it is unpacked"
assert_eq "ready" "$(list_sessions_tsv | awk -F'\t' '$1 == "st-big-session" { print $3 }')" \
        "after Begin returns, the session is 'ready'"
capture chrootctl run st-big-session sh -c 'sha256sum </var/blob-4 && ls /var/many | wc -l'
assert_eq "$blob_sum  -|30000" "$(paste -sd'|' <<<"$OUT")" "the large file and the 30000 small ones arrived intact"
# Progress: from 0 to 1, never backwards, somewhere in between while unpacking.
capture python3 -c 'import sys
v = [float(x) for x in sys.argv[1:]]
bad = [x for x in v if not 0 <= x <= 1]
back = [(a, b) for a, b in zip(v, v[1:]) if b < a]
between = [x for x in v if 0 < x < 1]
print("samples=%d out-of-range=%s backwards=%s between=%d" % (len(v), bad, back, len(between)))
sys.exit(0 if v and not bad and not back and between else 1)' "${progress[@]}"
if [ "$RC" -eq 0 ]; then
        ok "Progress rises from 0 to 1 while Begin unpacks ($OUT)"
else
        not_ok "Progress rises from 0 to 1 while Begin unpacks" "$OUT $ERR" "values: ${progress[*]}"
fi
assert_eq "d 1" "$(busctl --user get-property org.chrootd1 /org/chrootd1/session/st_2dbig_2dsession \
        org.chrootd1.Session Progress 2>&1)" "Progress is 1 once the session is ready"
if [ -n "$small_pid" ]; then
        wait "$small_pid"
        assert_eq "0 st-small-meanwhile" "$? $(cat "$tmp/small.out")" "a small Begin started meanwhile succeeds"
        assert_eq 1 "$small_first" "the small Begin finished before the large one (Begins run side by side)"
else
        not_ok "a small Begin started meanwhile succeeds" "the large session was never seen preparing"
        not_ok "the small Begin finished before the large one (Begins run side by side)"
fi

# ---- A session that is still being prepared ----
chrootctl begin --union-type none -n st-big-ended st-big >"$tmp/ended.out" 2>"$tmp/ended.err" &
ended_pid=$!
extra_cleanup=st-big-ended
if wait_until 10 eval 'list_sessions_tsv | grep -q "^st-big-ended	st-big	preparing	"'; then
        ok "a second Begin of the large tarball is preparing"
        assert_bus_error org.chrootd1.Error.NotReady "Run in a session being prepared: NotReady" \
                /org/chrootd1/session/st_2dbig_2dended org.chrootd1.Session.Run "['true']" "{}"
        assert_bus_error org.chrootd1.Error.SessionExists "Begin with the name of a session being prepared: SessionExists" \
                /org/chrootd1 org.chrootd1.Manager.BeginSession "'st-tar'" "'st-big-ended'" "{}"
        capture chrootctl end st-big-ended
        assert_eq "0 " "$RC $ERR" "End of a session being prepared succeeds"
else
        not_ok "a second Begin of the large tarball is preparing" "$(list_sessions_tsv 2>&1)"
fi
if wait_until 10 eval '! kill -0 $ended_pid 2>/dev/null'; then
        wait "$ended_pid"
        rc=$?
        if [ $rc -ne 0 ]; then
                ok "the Begin of the ended session fails: $(cat "$tmp/ended.err")"
        else
                not_ok "the Begin of the ended session fails" "it succeeded: $(cat "$tmp/ended.out")"
        fi
else
        not_ok "the Begin of the ended session fails" "Begin still waiting 10 s after End"
fi
assert_eq "" "$(list_sessions_tsv | grep '^st-big-ended	')" "the ended session is not listed"
if [ ! -e "$sdir/st-big-ended" ]; then
        ok "nothing is left of the ended session in $sdir"
else
        not_ok "nothing is left of the ended session in $sdir" "$(ls -la "$sdir/st-big-ended" 2>&1)"
fi
rm -f "$sbuild/st-big.tar"

# ---- End removes everything ----
# One session has a command running when it is ended: End kills it.
busy=${ids[0]}
chrootctl run "$busy" sh -c 'sleep 300; exit 0' st-end-marker >/dev/null 2>&1 &
run_pid=$!
if wait_until 10 eval 'subid_processes | grep -q st-end-marker'; then
        ok "a command is running in $busy before End"
else
        not_ok "a command is running in $busy before End" "no process 'sh -c sleep 300; exit 0 st-end-marker' as a subordinate uid"
fi
for id in "${ids[@]}"; do
        capture chrootctl end "$id"
        if [ "$RC" -eq 0 ] && [ -z "$OUT" ] && [ -z "$ERR" ]; then
                ok "End $id succeeds"
        else
                not_ok "End $id succeeds"
                tap_command_diag chrootctl end "$id"
        fi
        leftover=$(ls -A "$sdir/$id" 2>&1)
        if [ ! -e "$sdir/$id" ] && [ ! -L "$sdir/$id" ]; then
                ok "End $id: nothing left in $sdir/$id"
        else
                not_ok "End $id: nothing left in $sdir/$id" "$leftover"
        fi
done
if wait_until 10 eval '! kill -0 $run_pid 2>/dev/null'; then
        wait "$run_pid"
        run_rc=$?
        if [ $run_rc -ne 0 ]; then
                ok "a Run in progress returns, unsuccessfully, when its session is ended (status $run_rc)"
        else
                not_ok "a Run in progress returns, unsuccessfully, when its session is ended" \
                        "chrootctl run exited 0 although 'sleep 300' cannot have finished"
        fi
else
        not_ok "a Run in progress returns, unsuccessfully, when its session is ended" \
                "chrootctl run (pid $run_pid) still waits"
        kill "$run_pid" 2>/dev/null
        wait "$run_pid" 2>/dev/null
fi
remaining=$(list_sessions_tsv | cut -f1 | grep -Fx -f <(printf '%s\n' "${ids[@]}"))
assert_eq "" "$remaining" "ListSessions no longer lists the ended sessions"
wait_until 5 eval '[ -z "$(subid_processes)" ]'
assert_eq "" "$(subid_processes)" "no process runs as a subordinate id after End"
assert_eq "$mounts_before" "$(cat /proc/self/mountinfo)" "the host's mount table is what it was before the first Begin"

# Every session was announced with SessionNew and its end with SessionRemoved.
if [ -n "$monitor_pid" ]; then
        sleep 0.3
        kill "$monitor_pid" 2>/dev/null
        wait "$monitor_pid" 2>/dev/null
        signals=$(python3 -c 'import re, sys
cur = None
for line in open(sys.argv[1]):
    m = re.search(r"member=(\w+)", line)
    if line.startswith("signal "):
        if cur: print(" ".join(cur))
        cur = [m.group(1)] if m and "interface=org.chrootd1.Manager" in line else None
    elif cur is not None:
        v = re.match(r"\s+(?:string|object path) \"(.*)\"$", line)
        if v: cur.append(v.group(1))
if cur: print(" ".join(cur))' "$tmp/monitor")
        missing=
        for id in "${ids[@]}" st-big-ended; do
                grep -qx "SessionNew $id [^ ]* /org/chrootd1/session/$(path_encode "$id")" <<<"$signals" ||
                        missing+=" SessionNew($id)"
                grep -qx "SessionRemoved $id /org/chrootd1/session/$(path_encode "$id")" <<<"$signals" ||
                        missing+=" SessionRemoved($id)"
        done
        if [ -z "$missing" ]; then
                ok "SessionNew and SessionRemoved were emitted for all $((${#ids[@]} + 1)) sessions"
        else
                not_ok "SessionNew and SessionRemoved were emitted for every session" "missing:$missing" \
                        "signals seen:" "$signals"
        fi
        assert_eq "SessionNew st-big-session st-big" "$(grep '^SessionNew st-big-session ' <<<"$signals" | cut -d' ' -f1-3)" \
                "SessionNew names the chroot"
else
        skip "SessionNew and SessionRemoved were emitted for every session" "dbus-monitor is not installed"
        skip "SessionNew names the chroot" "dbus-monitor is not installed"
fi

done_testing
