#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Make (once) the bookworm buildd tarball that sbuild and autopkgtest use through
# unschroot, unprivileged: mmdebstrap --mode=unshare into ~/.cache/sbuild.
# Kept between runs; a hard link in ~/.cache/chrootd-debian survives scripts that clean
# ~/.cache/sbuild (tests/run-all's helpers do).
set -u
suite=${1:-bookworm}
arch=$(dpkg --print-architecture)
dir=${XDG_CACHE_HOME:-$HOME/.cache}/sbuild
keep=${XDG_CACHE_HOME:-$HOME/.cache}/chrootd-debian
tar=$dir/$suite-$arch.tar.zst
mkdir -p "$dir" "$keep"
if [ ! -s "$tar" ] && [ -s "$keep/${tar##*/}" ]; then
        ln "$keep/${tar##*/}" "$tar" || cp "$keep/${tar##*/}" "$tar"
fi
if [ ! -s "$tar" ]; then
        start=$SECONDS
        rm -f "$keep/part.tar.zst"
        mmdebstrap --mode=unshare --variant=buildd "$suite" "$keep/part.tar.zst" || exit 1
        mv "$keep/part.tar.zst" "$keep/${tar##*/}"
        ln -f "$keep/${tar##*/}" "$tar" || cp "$keep/${tar##*/}" "$tar"
        echo "mmdebstrap: $((SECONDS - start))s" >&2
fi
[ -e "$keep/${tar##*/}" ] || ln "$tar" "$keep/${tar##*/}" 2>/dev/null || cp "$tar" "$keep/"
ls -l "$tar"
