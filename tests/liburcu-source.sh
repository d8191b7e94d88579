#!/usr/bin/env bash
# Prints the directory of liburcu's source, fetched once from the system's
# source package (Debian: `apt-get source liburcu`, with a deb-src entry
# added when missing) into target/liburcu-src. Used by
# tests/liburcu-suite.sh and by the benchmark's compat workload; exits
# non-zero, saying why on stderr, when it cannot be had.
set -euo pipefail
cd "$(dirname "$0")/.."
src_root=$PWD/target/liburcu-src

found() {
    local f
    f=$(compgen -G "$src_root/liburcu-*/tests/benchmark/test_urcu.c" | head -1) || return 1
    echo "${f%/tests/benchmark/test_urcu.c}"
}

if ! found; then
    {
        sources=/etc/apt/sources.list.d/debian.sources
        if [[ -f $sources ]] && ! grep -q '^Types:.*deb-src' "$sources"; then
            sed -i 's/^Types: deb$/Types: deb deb-src/' "$sources"
        fi
        apt-get update -qq
        command -v dpkg-source >/dev/null 2>&1 || apt-get install -y -qq dpkg-dev
        mkdir -p "$src_root"
        (cd "$src_root" && apt-get source -qq liburcu)
    } >&2
    found
fi
