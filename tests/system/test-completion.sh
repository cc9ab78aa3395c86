#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# chrootctl's bash completion, as installed (share/bash-completion/completions), driven
# as bash drives it (COMP_LINE, COMP_POINT, COMP_WORDS): commands, the options of each
# command, option values, chroot names and live session ids asked from the service,
# signal names, SESSION: and host paths for cp.
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

require_user_manager
prefix=$(chrootd_prefix)
script=$prefix/share/bash-completion/completions/chrootctl
[ -f "$script" ] || bail_out "no completion installed at $script"
work=$(mktemp -d)
session=
cleanup() {
        [ -n "$session" ] && chrootctl end "$session" >/dev/null 2>&1
        rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=../../completion/chrootctl
. "$script"
capture complete -p chrootctl
assert_eq "complete -F _chrootctl chrootctl" "$OUT" "the script registers its function for chrootctl"

# offered LINE: what completing LINE (the cursor at its end) offers, one per line, sorted.
offered() {
        local COMP_LINE=$1 COMP_POINT=${#1} COMP_CWORD
        local -a COMP_WORDS
        read -r -a COMP_WORDS <<<"$1"
        [[ $1 == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMPREPLY=()
        _chrootctl chrootctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]:-}" 2>/dev/null
        printf '%s\n' "${COMPREPLY[@]}" | sort
}
has() { grep -qxF -- "$1" <<<"$2"; }
# offers DESC LINE WORD...: completing LINE offers each WORD
offers() {
        local desc=$1 line=$2 got w missing=
        shift 2
        got=$(offered "$line")
        for w in "$@"; do has "$w" "$got" || missing+=" $w"; done
        if [ -z "$missing" ]; then ok "$desc"; else not_ok "$desc" "missing:$missing" "offered: $(paste -sd' ' <<<"$got")"; fi
}
# offers_not DESC LINE WORD...: completing LINE offers none of the WORDs
offers_not() {
        local desc=$1 line=$2 got w extra=
        shift 2
        got=$(offered "$line")
        for w in "$@"; do has "$w" "$got" && extra+=" $w"; done
        if [ -z "$extra" ]; then ok "$desc"; else not_ok "$desc" "offered all the same:$extra"; fi
}

offers "every command" "chrootctl " list sessions begin run shell cp kill end info reboot log gc create update
offers "create's options" "chrootctl create --" --suite --variant --include --mirror
offers "--variant's values" "chrootctl create --variant " buildd minbase
offers "end --discard" "chrootctl end --d" --discard
assert_eq "sessions" "$(offered "chrootctl se")" "a prefix: the one command it starts"
offers "run's options" "chrootctl run --" --user --directory --network --timeout --tty --preserve-environment
offers_not "... not begin's" "chrootctl run --" --boot --union-type --hold
offers "begin's options" "chrootctl begin --" --name --union-type --boot --package-cache --memory-max
offers "--union-type's values" "chrootctl begin --union-type " overlay none
offers "--network=VALUE" "chrootctl run --network=" host none
offers "--add-account: host accounts" "chrootctl begin --add-account " "$(id -un)"

install_test_chroot comp-bb || bail_out "could not install the test chroot"
offers "begin: the chroots" "chrootctl begin comp" comp-bb
offers "update: the chroots" "chrootctl update comp" comp-bb
offers "... also after an option and its value" "chrootctl begin --union-type none comp" comp-bb
session=$(chrootctl begin --name comp-live comp-bb) || bail_out "could not begin a session"
for verb in run shell end info kill reboot log; do
        offers "$verb: the live sessions" "chrootctl $verb " comp-live
done
offers "... by prefix" "chrootctl end comp-l" comp-live
offers "kill SESSION: signal names" "chrootctl kill comp-live " TERM KILL HUP INT
assert_eq "" "$(offered "chrootctl run comp-live ls")" "run SESSION CMD: nothing offered for the command"
assert_eq "" "$(offered "chrootctl end comp-live ")" "end takes one session: nothing after it"
offers "cp: SESSION: to copy from" "chrootctl cp comp-" comp-live:
mkdir "$work/dir"
touch "$work/a file"
offers "cp: host paths (a directory goes on with /)" "chrootctl cp $work/" "$work/dir/" "$(printf '%q' "$work/a file") "
assert_eq "" "$(offered "chrootctl cp comp-live:/et")" "cp: no completion of paths inside a session"
# And as readline does it, with Tab in a real interactive bash (tmux).
if command -v tmux >/dev/null; then
        sock=$work/tmux.sock
        tmux -S "$sock" -f /dev/null new-session -d -s c -x 120 -y 20 "env PS1='c\$ ' bash --norc --noprofile" &&
                tmux -S "$sock" send-keys -t c ". '$script'" Enter "chrootctl end comp-l" Tab &&
                wait_until 10 bash -c "tmux -S '$sock' capture-pane -p -t c | grep -q 'chrootctl end comp-live'"
        pane=$(tmux -S "$sock" capture-pane -p -t c)
        assert_contains "chrootctl end comp-live" "$pane" "Tab in an interactive bash completes the session id"
        tmux -S "$sock" send-keys -t c C-u "chrootctl cp comp-l" Tab
        wait_until 10 bash -c "tmux -S '$sock' capture-pane -p -t c | grep -q 'chrootctl cp comp-live:'"
        pane=$(tmux -S "$sock" capture-pane -p -t c)
        assert_contains "chrootctl cp comp-live:" "$pane" "... and cp's SESSION: (':' breaks words in readline)"
        tmux -S "$sock" kill-server 2>/dev/null
else
        skip "Tab in an interactive bash" "tmux is not installed"
fi
chrootctl end "$session" >/dev/null
session=
offers_not "an ended session is not offered" "chrootctl end comp-" comp-live
done_testing
