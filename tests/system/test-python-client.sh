#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The integrators' example, docs/examples/chrootd-client.py (Python, GDBus through
# python3-gi), run as it is: a session begun, a command started on a pty, its output
# read, its terminal resized, its Exited signal, a file copied out, the session ended.
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

require_user_manager
python=/usr/bin/python3
[ -x "$python" ] || skip_all "no $python"
"$python" -c 'from gi.repository import Gio' 2>/dev/null || skip_all "python3-gi is not installed"

install_test_chroot py-bb || bail_out "could not install the test chroot"
capture "$python" "$CHROOTD_SOURCE_ROOT/docs/examples/chrootd-client.py" py-bb
assert_eq 0 "$RC" "the example runs to its end" || tap_command_diag "$python" chrootd-client.py py-bb
assert_match "session: [^ ]+" "$OUT" "it begins a session"
assert_match "command: /org/chrootd1/session/[^ ]+/command/1" "$OUT" "Start gives a command object"
assert_contains "size at start: ['24', '80']" "$OUT" "the command's terminal has the size asked for"
assert_contains "size after Resize: ['30', '100']" "$OUT" "Resize changes it"
assert_contains "exited: exited 0" "$OUT" "Exited comes with the command's status"
assert_contains "copied out: greeting (0:0, 644): hello from python" "$OUT" \
        "CopyOut gives the file the command wrote, with what was typed on its terminal"
assert_contains "ended" "$OUT" "the session is ended"
capture chrootctl sessions --no-legend
assert_eq "" "$OUT" "no session is left"
done_testing
