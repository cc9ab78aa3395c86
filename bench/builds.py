# SPDX-License-Identifier: LGPL-2.1-or-later
# The body of bench/builds (read its header): run by it, as the user who benchmarks,
# with the tarball and the release as arguments.
import os, re, shutil, statistics, subprocess, sys, tempfile, threading, time

tarball, release = sys.argv[1], sys.argv[2]
arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
chroot = "%s-%s" % (release, arch)
package = os.environ.get("BENCH_PACKAGE") or "hello"
runs = int(os.environ.get("BENCH_RUNS") or "2")
cache = (os.environ.get("BENCH_CACHE") or "1") != "0"
only = [p for p in (os.environ.get("BENCH_ONLY") or "").split(",") if p]
home = os.environ["HOME"]
prefix = os.path.join(home, ".local")
server = os.path.join(prefix, "bin", "autopkgtest-virt-chrootd")
unschroot = os.path.join(prefix, "libexec", "chrootd", "unschroot")
compat = os.path.join(prefix, "libexec", "chrootd", "schroot-compat")
DEVNULL = subprocess.DEVNULL


def say(msg):
    print("builds: " + msg, file=sys.stderr, flush=True)


def die(msg):
    say(msg)
    sys.exit(1)


def sh(*argv, **kw):
    r = subprocess.run(argv, stdin=DEVNULL, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        die("%s: exit %d: %s" % (" ".join(argv), r.returncode, (r.stdout + r.stderr).strip()[-2000:]))
    return r.stdout.strip()


def logged(argv, log, cwd=None, env=None):
    """Run argv with stdout and stderr into log, each line stamped with the seconds
    since the start (where the time goes); returns (exit status, wall seconds)."""
    t0 = time.perf_counter()
    with open(log, "w") as f:
        p = subprocess.Popen(argv, stdin=DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             cwd=cwd, env=env)
        for line in p.stdout:
            f.write("%8.1f %s" % (time.perf_counter() - t0, line.decode(errors="replace")))
        rc = p.wait()
    return rc, time.perf_counter() - t0


def tail(log, n=40):
    with open(log) as f:
        return "".join(f.readlines()[-n:])


def help_mentions(argv, option):
    r = subprocess.run(argv + ["--help"], stdin=DEVNULL, capture_output=True, text=True)
    return option in r.stdout + r.stderr


os.chdir("/")
work = tempfile.mkdtemp(prefix="chrootd-bench-builds.")
keep = bool(os.environ.get("BENCH_KEEP"))

# ---- the cache knob, on the chrootd side only ----
virt_opts, schroot_bin, cache_note = [], unschroot, "chrootd's default"
if not cache:
    notes = []
    if help_mentions([server], "--no-package-cache"):
        virt_opts.append("--no-package-cache")
        notes.append("autopkgtest-virt-chrootd --no-package-cache")
    else:
        notes.append("autopkgtest-virt-chrootd has no --no-package-cache")
    if help_mentions([unschroot], "--no-package-cache"):
        # sbuild runs unschroot itself: a wrapper adds the option where a session begins.
        schroot_bin = os.path.join(work, "unschroot-no-cache")
        with open(schroot_bin, "w") as f:
            f.write('#!/bin/sh\ncase " $* " in *" -b "*|*" --begin-session "*) exec %s --no-package-cache "$@" ;; esac\n'
                    'exec %s "$@"\n' % (unschroot, unschroot))
        os.chmod(schroot_bin, 0o755)
        notes.append("unschroot --no-package-cache")
    else:
        notes.append("unschroot has no --no-package-cache")
    cache_note = "BENCH_CACHE=0: " + ", ".join(notes)

# ---- the package's source, from the archive, through a chrootd session ----
srcdir = os.path.join(work, "src")
os.mkdir(srcdir)
say("%s's source from the archive, through a chrootd session of %s" % (package, chroot))
sid = sh("chrootctl", "begin", chroot)
try:
    fetch = r'''set -e
if [ -s /etc/apt/sources.list.d/debian.sources ]; then
        sed -i 's/^Types: deb$/Types: deb deb-src/' /etc/apt/sources.list.d/debian.sources
fi
[ ! -s /etc/apt/sources.list ] || sed -n 's/^deb /deb-src /p' /etc/apt/sources.list >/etc/apt/sources.list.d/bench-src.list
apt-get -q update
mkdir -p /tmp/bench-src && cd /tmp/bench-src
apt-get -q source --download-only "$1"
'''
    rc, _ = logged(["chrootctl", "run", sid, "--", "sh", "-c", fetch, "sh", package], os.path.join(work, "source.log"))
    if rc != 0:
        die("apt-get source %s failed (exit %d):\n%s" % (package, rc, tail(os.path.join(work, "source.log"))))
    with open(os.path.join(work, "source.tar"), "wb") as f:
        r = subprocess.run(["chrootctl", "run", sid, "--", "tar", "-C", "/tmp/bench-src", "-c", "."], stdin=DEVNULL, stdout=f)
    if r.returncode != 0:
        die("could not copy the source out of the session (tar: exit %d)" % r.returncode)
    sh("tar", "-C", srcdir, "--no-same-owner", "-xf", os.path.join(work, "source.tar"))
finally:
    subprocess.run(["chrootctl", "end", sid], stdin=DEVNULL, stdout=DEVNULL)
# The first chrootd build is the one that fills the package cache: start without one
# (gc removes the caches of chroots that no session uses).
if cache:
    sh("chrootctl", "gc")
dscs = [n for n in os.listdir(srcdir) if n.endswith(".dsc")]
if len(dscs) != 1:
    die("expected one .dsc from apt-get source, got %s" % dscs)
dsc = os.path.join(srcdir, dscs[0])
with open(dsc, errors="replace") as f:
    dsc_text = f.read()
version = re.search(r"^Version: (\S+)", dsc_text, re.M).group(1)
if not re.search(r"^Testsuite:.*\bautopkgtest\b", dsc_text, re.M):
    die("%s %s has no debian/tests (no Testsuite: autopkgtest in its .dsc): pick another with BENCH_PACKAGE"
        % (package, version))
say("%s %s (%s)" % (package, version, dsc))

# ---- the peers ----
# As the README says: sbuild keeps what it downloaded, so that it can join the package
# cache (for unshare mode, whose tree goes, it changes nothing).
keep = "$apt_keep_downloaded_packages = 1;\n"
empty_rc = os.path.join(work, "sbuildrc-empty")
with open(empty_rc, "w") as f:
    f.write(keep + "1;\n")
# The README's ~/.sbuildrc for the virt server: it also skips sbuild's purge of the
# build dependencies, which sbuild skips by itself in unshare mode and schroot
# sessions (their trees go), but not for a virt server's testbed (which goes too).
virt_rc = os.path.join(work, "sbuildrc-virt")
with open(virt_rc, "w") as f:
    f.write(keep + "$purge_build_deps = 'never';\n1;\n")
# The README's ~/.sbuildrc for schroot mode, naming the unschroot to use.
schroot_rc = os.path.join(work, "sbuildrc-schroot")
with open(schroot_rc, "w") as f:
    f.write("$chroot_mode = 'schroot';\nmy $unschroot = '%s';\n"
            "{ no strict 'vars'; $schroot = $unschroot; }\n$conf->set('SCHROOT', $unschroot);\n%s1;\n"
            % (schroot_bin, keep))
SBUILD = ["sbuild", "-d", release, "--no-run-lintian", "--no-run-autopkgtest", "--no-run-piuparts", "--nolog"]
env_plain = dict(os.environ)
env_compat = dict(os.environ, PATH=compat + ":" + os.environ["PATH"])
debs = []   # the package's binaries, from the first successful build: what autopkgtest tests


# Where the time goes: the tools' own section headers, timestamped by logged(). Each
# phase runs from its marker (or the start) to the next one (or the end).
SBUILD_PHASES = [("setup", None), ("apt update", r"\| Update chroot "), ("build deps", r"\| Fetch source files "),
                 ("build", r"\| Check architectures "), ("end", r"\| Changes ")]
AUTOPKGTEST_PHASES = [("open", None), ("setup (-U)", r"@@@@ test bed setup"), ("tests", r"@@@@ source "),
                      ("end", r"@@@@ summary")]


def phases(log, markers, total):
    at = {}
    with open(log, errors="replace") as f:
        for line in f:
            t, _, text = line.strip().partition(" ")
            for label, rx in markers:
                if rx and label not in at and re.search(rx, text):
                    at[label] = float(t)
    out, start = [], 0.0
    for i, (label, rx) in enumerate(markers):
        if rx and label not in at:
            return []   # a marker missing: no breakdown rather than a wrong one
        begin = at.get(label, 0.0)
        end = at[markers[i + 1][0]] if i + 1 < len(markers) else total
        out.append((label, end - begin))
    return out


def fmt_phases(ph):
    return ", ".join("%s %.1f" % kv for kv in ph) if ph else "no breakdown"


def sbuild_peer(name, args, rc_file, env):
    def run(n):
        d = os.path.join(work, "%s-%d" % (name, n))
        os.mkdir(d)
        rc, secs = logged(SBUILD + args + ["--build-dir=" + d, dsc], os.path.join(d, "log"), cwd=d,
                          env=dict(env, SBUILD_CONFIG=rc_file))
        built = sorted(x for x in os.listdir(d) if x.endswith(".deb"))
        if rc != 0 or not built:
            die("%s run %d FAILED (exit %d, %d .deb): no number for it. The log (%s) ends:\n%s"
                % (name, n, rc, len(built), os.path.join(d, "log"), tail(os.path.join(d, "log"))))
        if not debs:
            debs.extend(os.path.join(d, x) for x in built)
        return secs, phases(os.path.join(d, "log"), SBUILD_PHASES, secs)
    return run


def autopkgtest_peer(name, virt, env):
    def run(n):
        d = os.path.join(work, "%s-%d" % (name, n))
        os.mkdir(d)
        rc, secs = logged(["autopkgtest", "-U", "--output-dir", os.path.join(d, "out"), dsc] + debs + ["--"] + virt,
                          os.path.join(d, "log"), cwd=d, env=env)
        try:
            with open(os.path.join(d, "out", "summary")) as f:
                summary = f.read()
        except OSError:
            summary = ""
        if rc != 0 or "PASS" not in summary:
            die("%s run %d FAILED (exit %d): no number for it. The log (%s) ends:\n%s"
                % (name, n, rc, os.path.join(d, "log"), tail(os.path.join(d, "log"))))
        return secs, phases(os.path.join(d, "log"), AUTOPKGTEST_PHASES, secs)
    return run


sbuild_peers = [
    ("sbuild-unshare", "sbuild --chroot-mode=unshare",
     sbuild_peer("sbuild-unshare", ["--chroot-mode=unshare"], empty_rc, env_plain)),
    ("sbuild-chrootd", "sbuild --chroot-mode=autopkgtest, autopkgtest-virt-chrootd",
     sbuild_peer("sbuild-chrootd", ["--chroot-mode=autopkgtest", "--autopkgtest-virt-server=" + server]
                 + ["--autopkgtest-virt-server-opt=" + o for o in [chroot] + virt_opts], virt_rc, env_plain)),
    ("sbuild-schroot", "sbuild --chroot-mode=schroot, unschroot",
     sbuild_peer("sbuild-schroot", ["-c", chroot], schroot_rc, env_compat)),
]
apt_peers = [
    ("autopkgtest-unshare", "autopkgtest -- unshare -t TARBALL",
     autopkgtest_peer("autopkgtest-unshare", ["unshare", "-t", tarball, "-r", release, "-a", arch], env_plain)),
    ("autopkgtest-chrootd", "autopkgtest -- chrootd CHROOT",
     autopkgtest_peer("autopkgtest-chrootd", ["chrootd", chroot] + virt_opts, env_plain)),
]
unknown = [p for p in only if p not in [k for k, _, _ in sbuild_peers + apt_peers]]
if unknown:
    die("unknown peer(s) in BENCH_ONLY: %s" % ", ".join(unknown))


def selected(peers):
    return [p for p in peers if not only or p[0] in only]


results = {}   # key -> [(seconds, stats)]
t_all = time.perf_counter()
for group in (selected(sbuild_peers), selected(apt_peers)):
    if group and group[0][0].startswith("autopkgtest") and not debs:
        # autopkgtest tests the binaries of a build: one build, not counted, if none ran.
        say("one sbuild --chroot-mode=unshare first, for the binaries autopkgtest tests (not counted)")
        sbuild_peers[0][2](0)
    for n in range(1, runs + 1):
        for key, title, run in group:
            say("%s, run %d of %d" % (title, n, runs))
            secs, stats = run(n)
            results.setdefault(key, []).append((secs, stats))
            say("  %.1f s (%s)" % (secs, fmt_phases(stats)))

# ---- the table ----

def med(key):
    return statistics.median(s for s, _ in results[key]) if key in results else None


lines = ["| what | %s | median | %s | where the time goes, per run (s) |" % (
             " | ".join("run %d" % n for n in range(1, runs + 1)),
             " | ".join("run %d / unshare" % n for n in range(1, runs + 1))),
         "| --- |%s ---: |%s --- |" % (" ---: |" * runs, " ---: |" * runs)]
for key, title, _ in sbuild_peers + apt_peers:
    if key not in results:
        continue
    ref = med("sbuild-unshare" if key.startswith("sbuild") else "autopkgtest-unshare")
    rs = results[key]
    ratios = ["%.2fx" % (s / ref) if ref else "" for s, _ in rs]
    times = "<br>".join("%d: %s" % (n + 1, fmt_phases(ph)) for n, (_, ph) in enumerate(rs))
    lines.append("| %s | %s | %.1f | %s | %s |" % (title, " | ".join("%.1f s" % s for s, _ in rs), med(key),
                                                  " | ".join(ratios), times))
summary = ["%s %s, tarball %s (%.0f MB), %d runs each, package cache: %s; %d CPUs, Linux %s; %.0f min in all"
           % (package, version, os.path.basename(tarball), os.path.getsize(tarball) / 1e6, runs, cache_note,
              os.cpu_count(), os.uname().release, (time.perf_counter() - t_all) / 60)]
u = med("sbuild-unshare")
for key, label, target in (("sbuild-chrootd", "sbuild through autopkgtest-virt-chrootd", 0.6),
                           ("sbuild-schroot", "sbuild through unschroot", 0.6)):
    if u and key in results and len(results[key]) >= 2:
        summary.append("%s, 2nd build / unshare = %.2f (target <= %.1f)" % (label, results[key][1][0] / u, target))
a, c = med("autopkgtest-unshare"), med("autopkgtest-chrootd")
if a and c:
    summary.append("autopkgtest through chrootd / unshare = %.2f (medians; target <= 0.7)" % (c / a))
out = "\n".join(lines + [""] + ["- " + s for s in summary])
print(out)
md = os.environ.get("BENCH_MD")
if md:
    with open(md, "w") as f:
        f.write(out + "\n")
if keep:
    say("logs kept in %s" % work)
else:
    # Build trees may hold files of subordinate ids (none should): remove as their owner can.
    shutil.rmtree(work, ignore_errors=True)
