#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A terminal as a user has one: `chrootctl shell` and `chrootctl run -t` driven in tmux
# (send-keys, capture-pane). The shell inside has a prompt, its own tty and job control;
# ^C interrupts its foreground job and it survives; the window size follows a resize;
# vi and less draw and quit; the caller's terminal is as it was after chrootctl exits,
# also when chrootd was killed under it; a command that pushes keys into its terminal
# (TIOCSTI) reaches only the session's terminal, never the caller's shell.
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

require_user_manager
command -v tmux >/dev/null || skip_all "tmux is not installed"

rootfs=$(test_rootfs) || bail_out "could not make the test root filesystem"
work=$(mktemp -d)
sock=$work/tmux.sock
session=
cleanup() {
        tmux -S "$sock" kill-server 2>/dev/null
        [ -n "$session" ] && chrootctl end "$session" >/dev/null 2>&1
        rm -rf "$work"
}
trap cleanup EXIT

install_test_chroot term-bb || bail_out "could not install the test chroot"
session=$(chrootctl begin term-bb) || bail_out "could not begin a session"

# The pane: a plain host shell in a 100x30 window without a status line, so that the
# pane is the whole window.
tmux -S "$sock" -f /dev/null new-session -d -s t -x 100 -y 30 "env PS1='host\$ ' sh" ||
        bail_out "tmux could not start"
tmux -S "$sock" set-option -g status off
tmux -S "$sock" set-option -g default-size 100x30 2>/dev/null

pane() { tmux -S "$sock" capture-pane -p -t t; }
keys() { tmux -S "$sock" send-keys -t t "$@"; }
# wait_pane REGEX [SECONDS]: until a line of the pane matches (grep -E).
wait_pane() {
        local i
        for ((i = 0; i < ${2:-10} * 20; i++)); do
                pane | grep -Eq -- "$1" && return 0
                sleep 0.05
        done
        return 1
}
# expect DESC REGEX [SECONDS]
expect() {
        if wait_pane "$2" "${3:-10}"; then
                ok "$1"
        else
                not_ok "$1" "the pane shows no line matching: $2" "pane:" "$(pane)"
        fi
}
# Forget what the pane showed (-R resets the pane's terminal, which clears it).
clear_pane() { keys -R; tmux -S "$sock" clear-history -t t; sleep 0.1; }

wait_pane 'host\$' || bail_out "the host shell in tmux did not start: $(pane)"
# stty -g: every setting but the window size, which the test changes.
keys "stty -g > $work/stty.before" Enter
sleep 0.2

# ---- the shell: prompt, tty, TERM, size ----
keys "TERM=xterm-256color COLORTERM=truecolor chrootctl shell $session; echo CHROOTCTL-EXIT:\$?; stty -g > $work/stty.after" Enter
keys "PS1='inside# '" Enter
expect "shell: the login shell gives a prompt" '^inside#'
keys 'tty; echo term=$TERM color=$COLORTERM; stty size' Enter
expect "shell: the shell's stdin is a terminal of the session's devpts" '^/dev/pts/[0-9]+$'
expect "shell: TERM and COLORTERM pass through from the caller" '^term=xterm-256color color=truecolor$'
expect "shell: the window size is the caller's" '^30 100$'

# ---- job control ----
clear_pane
keys 'sleep 100 &' Enter
keys 'jobs' Enter
expect "job control: a background job is listed" '^\[1\]\+? +Running +sleep 100'
keys 'fg' Enter
sleep 0.3
keys C-z
expect "job control: ^Z stops the foreground job" 'Stopped'
keys 'kill -9 %1; echo survived-$((40+2))' Enter
expect "job control: the shell survives and goes on" '^survived-42$'
clear_pane
keys 'sleep 100' Enter
sleep 0.3
keys C-c
keys 'echo after-interrupt-$((1+1))' Enter
expect "^C interrupts the foreground job, the shell survives" '^after-interrupt-2$'

# ---- resize ----
clear_pane
tmux -S "$sock" resize-window -t t -x 80 -y 20
sleep 0.3
keys 'stty size' Enter
expect "resize: the command's terminal follows the caller's window" '^20 80$'

# ---- full-screen programs ----
clear_pane
keys 'vi /tmp/edited' Enter
expect "vi draws (its empty-line markers)" '^~'
# vi asks the terminal for its size as it starts: keys typed meanwhile go to that answer.
sleep 0.5
keys i
sleep 0.2
keys 'hello from vi' Escape
sleep 0.2
keys ':wq' Enter
keys 'cat /tmp/edited' Enter
expect "vi writes what was typed and quits" '^hello from vi$'
clear_pane
keys 'seq 1 200 > /tmp/lines; less /tmp/lines' Enter
expect "less draws a screenful" '^1$'
keys q
keys 'echo less-quit' Enter
expect "less quits back to the shell" '^less-quit$'

# ---- exit: status, the caller's terminal as it was ----
keys 'exit 7' Enter
expect "chrootctl exits with the shell's status" '^CHROOTCTL-EXIT:7$'
sleep 0.3
if cmp -s "$work/stty.before" "$work/stty.after"; then
        ok "the caller's terminal settings are restored after exit"
else
        not_ok "the caller's terminal settings are restored after exit" "$(diff "$work/stty.before" "$work/stty.after")"
fi

# ---- run -t: a command, no shell ----
clear_pane
keys "chrootctl run -t $session -- sh -c 'tty; exit 3'; echo RUN-T-EXIT:\$?" Enter
expect "run -t: the command runs on a terminal" '^/dev/pts/[0-9]+'
expect "run -t: exits with the command's status" '^RUN-T-EXIT:3$'
capture chrootctl run -t "$session" -- true </dev/null
assert_eq 1 "$RC" "run -t without a terminal on stdin fails"
assert_contains "needs one on standard input" "$ERR" "run -t without a terminal says why"

# ---- TIOCSTI: keys pushed into the session's terminal stay there ----
sti_src=$work/sti.c
cat >"$sti_src" <<'EOF'
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
int main(void) {
        const char *s = "echo INJECTED-$((6*7))\n";
        int fd = open("/dev/tty", O_RDWR), pushed = 0;
        for (; fd >= 0 && *s; s++)
                pushed += ioctl(fd, TIOCSTI, s) == 0;
        printf("pushed %d\n", pushed);
        return 0;
}
EOF
if command -v cc >/dev/null && cc -static -O -o "$work/sti" "$sti_src" 2>/dev/null; then
        chrootctl run "$session" -- sh -c 'cat > /tmp/sti && chmod 755 /tmp/sti' <"$work/sti"
        clear_pane
        keys "chrootctl run -t $session -- /tmp/sti; echo STI-DONE" Enter
        expect "TIOCSTI: the command ran" '^STI-DONE$'
        # Where the kernel still allows TIOCSTI, the keys did go somewhere: inside.
        if [ "$(cat /proc/sys/dev/tty/legacy_tiocsti 2>/dev/null)" = 1 ]; then
                expect "TIOCSTI: the command could push keys into its own terminal" '^pushed [1-9]'
        fi
        sleep 0.5
        if pane | grep -q '^INJECTED-42$'; then
                not_ok "TIOCSTI: pushed keys never reach the caller's shell" "pane:" "$(pane)"
        else
                ok "TIOCSTI: pushed keys never reach the caller's shell"
        fi
else
        skip "TIOCSTI: pushed keys never reach the caller's shell" "no C compiler for a static test program"
fi

# ---- chrootd killed under a running shell ----
keys "stty -g > $work/stty.before2" Enter
clear_pane
keys "chrootctl shell $session; echo KILLED-EXIT:\$?; stty -g > $work/stty.after2" Enter
keys "PS1='again# '" Enter
expect "shell again: a prompt" '^again#'
pid=$(main_pid chrootd.service)
if [ -n "$pid" ] && [ "$pid" != 0 ]; then
        kill -KILL "$pid"
        expect "chrootd killed: chrootctl ends with a failure" '^KILLED-EXIT:[1-9]' 20
        sleep 0.3
        if cmp -s "$work/stty.before2" "$work/stty.after2"; then
                ok "chrootd killed: the caller's terminal settings are restored"
        else
                not_ok "chrootd killed: the caller's terminal settings are restored" \
                        "$(diff "$work/stty.before2" "$work/stty.after2" 2>&1)"
        fi
else
        not_ok "chrootd killed: chrootctl ends with a failure" "no main pid of chrootd.service"
fi

done_testing
