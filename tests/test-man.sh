#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The man pages as built (man/meson.build passes their paths): each renders with man-db
# and groff without a single warning, is not empty, is titled NAME(SECTION) as its file
# is named, and has a NAME section that names it. Then each page is held against the
# source it documents: every chrootctl command and long option, every unschroot,
# chrootd and autopkgtest-virt-chrootd option and every chroots.d key the code reads
# must appear in its page, so that a new option cannot go undocumented.
#
#   test-man.sh PAGE...     (no PAGE: scdoc was not found when the build was configured)
. "$(dirname "${BASH_SOURCE[0]}")/system/tap.sh"

[ $# -gt 0 ] || skip_all "no man pages built: scdoc was not found when the build was configured (-Dman=auto)"
command -v man >/dev/null || skip_all "man (man-db) is not installed"
man --version >/dev/null 2>&1 || skip_all "man does not run here: $(man --version 2>&1 | head -n 1)"
command -v groff >/dev/null || skip_all "groff is not installed (man-db needs groff-base to render)"

src=${CHROOTD_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

# render PAGE: the page as text (OUT), groff's and man's complaints (ERR), status (RC).
# Fixed width and locale, no pager, no preprocessors from the page's first line.
render() {
        capture env LC_ALL=C.UTF-8 MANWIDTH=80 MANPAGER=cat PAGER=cat MANROFFSEQ= \
                man --warnings -E UTF-8 -l "$1"
}

declare -A text
for page in "$@"; do
        file=${page##*/}                # chrootctl.1
        name=${file%.*} section=${file##*.}
        render "$page"
        if [ "$RC" -eq 0 ] && [ -z "$ERR" ]; then
                ok "$file renders without warnings"
        else
                not_ok "$file renders without warnings"
                tap_command_diag man --warnings -E UTF-8 -l "$page"
        fi
        text[$name]=$OUT
        if [ "$(wc -l <<<"$OUT")" -lt 20 ]; then
                not_ok "$file is not empty" "it renders to $(wc -l <<<"$OUT") lines"
                continue
        fi
        ok "$file is not empty"
        assert_match "^$name\\($section\\) " "$(head -n 1 <<<"$OUT")" "$file is titled $name($section)"
        # The line after the NAME heading is "name - what it is", as whatis(1) reads it.
        assert_match "^ +$name - [^ ]" "$(sed -n '/^NAME$/{n;p;q}' <<<"$OUT")" "$file has a NAME section naming $name"
done

# documented PAGE DESC WORD...: every WORD appears in PAGE's rendered text as a whole
# word (an option's "--x" not as part of "--x-y"; a key's "x=" before its value). With
# PAGE as "PAGE:term", each WORD must begin a term of the page's lists (a line indented
# as scdoc indents them, such as a command's "       run SESSION [--] COMMAND...").
documented() {
        local page=${1%:term} desc=$2 w re missing=() term=
        [ "$1" != "$page" ] && term=1
        shift 2
        if [ -z "${text[$page]+set}" ]; then
                skip "$page documents $desc" "$page was not built"
                return
        fi
        if [ $# -eq 0 ]; then
                not_ok "$page documents $desc" "found none in the source: has its layout changed?"
                return
        fi
        for w in "$@"; do
                re=$(sed 's/[.]/\\./g' <<<"$w")
                if [ -n "$term" ]; then
                        re="^ {7}$re( |$)"
                else
                        re="(^|[^-[:alnum:]])$re"
                        [[ $w == *= ]] || re+="([^-[:alnum:]]|$)"
                fi
                grep -qE -- "$re" <<<"${text[$page]}" || missing+=("$w")
        done
        if [ ${#missing[@]} -eq 0 ]; then
                ok "$page documents $desc ($#)"
        else
                not_ok "$page documents $desc" "missing: ${missing[*]}"
        fi
}

# long_options FILE: the long options of a getopt_long table ({ "name", ..._argument, ...).
long_options() {
        sed -nE 's/^[[:space:]]*\{ "([a-z][a-z-]*)", (no|required|optional)_argument,.*/--\1/p' "$1" | sort -u
}

mapfile -t opts < <(long_options "$src/cli/chrootctl.c")
documented chrootctl "chrootctl's long options" "${opts[@]}"
# The verbs table: { "name", min_args, max_args, ...
mapfile -t verbs < <(sed -nE 's/^[[:space:]]*\{ "([a-z]+)", [0-9]+, ([0-9]+|SIZE_MAX),.*/\1/p' "$src/cli/chrootctl.c")
documented chrootctl:term "chrootctl's commands" "${verbs[@]}"

mapfile -t opts < <(long_options "$src/cli/unschroot.c")
documented unschroot "unschroot's long options" "${opts[@]}"

mapfile -t opts < <(long_options "$src/service/main.c")
documented chrootd "chrootd's long options" "${opts[@]}"

# argparse: parser.add_argument('-d', '--debug', ...
mapfile -t opts < <(grep -oE "add_argument\\(('-[a-z]', )?'--[a-z-]+'" "$src/virt/autopkgtest-virt-chrootd" |
                    grep -oE -- "--[a-z-]+" | sort -u)
documented autopkgtest-virt-chrootd "autopkgtest-virt-chrootd's options" "${opts[@]}"

# The keys a chroot definition may have: keyfile_get(kf, group, "key").
mapfile -t keys < <(grep -oE 'keyfile_get\(kf, group, "[a-z-]+"\)' "$src/service/catalog.c" |
                    sed -E 's/.*"([a-z-]+)".*/\1=/' | sort -u)
documented chroots.d "every key of a chroot definition" "${keys[@]}"

done_testing
