# SPDX-License-Identifier: LGPL-2.1-or-later
# Count test results from meson's build/meson-logs/testlog.json.
#
#   ct_summary TESTLOG.json   prints "N passed, M failed, K skipped"; returns 0 only if
#                             nothing failed and at least one test passed (a run where
#                             everything was skipped tested nothing).
#
# Counts are the TAP results themselves: every "ok" / "not ok" line a TAP program
# printed ("# SKIP" counts as skipped, "not ok ... # TODO" too). A program that meson
# judged failed (crash, timeout, wrong plan, bail out, non-zero exit) without any
# "not ok" line of its own counts as one more failure, so a crash is never hidden.
# Programs without TAP lines (exit-code tests, "1..0 # SKIP") count once, by result.

ct_summary() {
        local py=python3
        [ -x /usr/bin/python3 ] && py=/usr/bin/python3
        "$py" - "$1" <<'EOF'
import json, re, sys

passed = failed = skipped = 0
line_re = re.compile(r'^(not )?ok\b(.*)$')
directive_re = re.compile(r'(?<!\\)#\s*(SKIP|TODO)\b', re.I)
bad = {'FAIL', 'TIMEOUT', 'ERROR', 'UNEXPECTEDPASS', 'INTERRUPT'}

try:
    with open(sys.argv[1], encoding='utf-8', errors='replace') as f:
        entries = [json.loads(l) for l in f if l.strip()]
except FileNotFoundError:
    entries = []

for t in entries:
    res = t.get('result', 'ERROR')
    p = fl = s = 0
    for l in (t.get('stdout') or '').splitlines():
        m = line_re.match(l)
        if not m:
            continue
        d = directive_re.search(m.group(2))
        if d and (d.group(1).upper() == 'SKIP' or m.group(1)):
            s += 1
        elif m.group(1):
            fl += 1
        else:
            p += 1
    if p + fl + s == 0:
        if res in ('OK', 'EXPECTEDFAIL'):
            p = 1
        elif res == 'SKIP':
            s = 1
        else:
            fl = 1
    elif res in bad and fl == 0:
        fl = 1
    if res in bad:
        print(f"failed: {t.get('name')} ({res}, exit status {t.get('returncode')})", file=sys.stderr)
    passed += p; failed += fl; skipped += s

print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(0 if failed == 0 and passed > 0 else 1)
EOF
}
