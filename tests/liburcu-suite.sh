#!/usr/bin/env bash
# liburcu's own test programs, unmodified, built against krcu through
# `pkg-config krcu-urcu` and run a few seconds each.
#
#   bash tests/liburcu-suite.sh          # from .ci/run; any failure fails it
#
# The programs come from the system's liburcu source package (Debian:
# `apt-get source liburcu`, with a deb-src entry added when missing), into
# target/liburcu-src. Each is built from its source file with the -D flags
# liburcu's own Makefile gives it, the defines liburcu's configure would
# write to config.h on this system, krcu-urcu's flags first, and liburcu's
# tests/common and src directories for the test helpers (thread-id.h,
# debug-yield.h, compat-rand.h). Programs that need a piece krcu-urcu does
# not have yet are listed in the README's "Moving from liburcu".
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
src_root=$root/target/liburcu-src

fetch() {
    if compgen -G "$src_root/liburcu-*/tests/benchmark/test_urcu.c" >/dev/null; then
        return
    fi
    local sources=/etc/apt/sources.list.d/debian.sources
    if [[ -f $sources ]] && ! grep -q '^Types:.*deb-src' "$sources"; then
        sed -i 's/^Types: deb$/Types: deb deb-src/' "$sources"
    fi
    apt-get update -qq
    command -v dpkg-source >/dev/null 2>&1 || apt-get install -y -qq dpkg-dev
    mkdir -p "$src_root"
    (cd "$src_root" && apt-get source -qq liburcu)
}

fetch
src=$(compgen -G "$src_root/liburcu-*/tests/benchmark/test_urcu.c" | head -1)
src=${src%/tests/benchmark/test_urcu.c}
echo "liburcu-suite: tests of $(basename "$src"), against krcu-urcu"

make -s -C urcu-ffi PROFILE=release
pc=$root/target/release/pkgconfig
krcu_cflags=$(PKG_CONFIG_PATH=$pc pkg-config --cflags krcu-urcu)
krcu_libs=$(PKG_CONFIG_PATH=$pc pkg-config --libs krcu-urcu)
out=$root/target/liburcu-suite
mkdir -p "$out"

# What liburcu's configure defines on glibc/Linux (its config.h).
config="-D_GNU_SOURCE -DHAVE_RAND_R -DHAVE_SCHED_SETAFFINITY -DHAVE_GETTID"

# name  source  extra flags (from liburcu's tests/benchmark/Makefile.am)
programs=(
    "test_urcu test_urcu.c"
    "test_urcu_dynamic_link test_urcu.c -DDYNAMIC_LINK_TEST"
    "test_urcu_yield test_urcu.c -DDEBUG_YIELD"
    "test_urcu_mb test_urcu.c -DRCU_MB"
    "test_urcu_timing test_urcu_timing.c"
    "test_urcu_gc test_urcu_gc.c"
    "test_urcu_lgc test_urcu_gc.c -DTEST_LOCAL_GC"
    "test_urcu_mb_gc test_urcu_gc.c -DRCU_MB"
    "test_urcu_mb_lgc test_urcu_gc.c -DTEST_LOCAL_GC -DRCU_MB"
    "test_urcu_assign test_urcu_assign.c"
    "test_urcu_assign_dynamic_link test_urcu_assign.c -DDYNAMIC_LINK_TEST"
    "test_urcu_bp test_urcu_bp.c"
    "test_urcu_bp_dynamic_link test_urcu_bp.c -DDYNAMIC_LINK_TEST"
    "test_urcu_qsbr test_urcu_qsbr.c"
    "test_urcu_qsbr_dynamic_link test_urcu_qsbr.c -DDYNAMIC_LINK_TEST"
    "test_urcu_qsbr_timing test_urcu_qsbr_timing.c"
    "test_urcu_qsbr_gc test_urcu_qsbr_gc.c"
    "test_urcu_qsbr_lgc test_urcu_qsbr_gc.c -DTEST_LOCAL_GC"
)

failed=0
for p in "${programs[@]}"; do
    read -r name file extra <<<"$p"
    # shellcheck disable=SC2086 # the flag lists are word lists
    if ! cc -O2 -pthread $config $extra $krcu_cflags -I"$src/tests/common" -I"$src/src" \
        "$src/tests/benchmark/$file" "$src/tests/common/debug-yield.c" -o "$out/$name" \
        $krcu_libs -Wl,-rpath,"$root/target/release" 2>"$out/$name.build.log"; then
        echo "liburcu-suite: FAILED to build $name (see $out/$name.build.log):"
        head -5 "$out/$name.build.log"
        failed=$((failed + 1))
        continue
    fi
    # 2 readers, 1 writer, 2 seconds (the timing programs take the reader
    # count only).
    if timeout 120 "$out/$name" 2 1 2 >"$out/$name.log" 2>&1; then
        echo "liburcu-suite: ok     $name: $(grep -m1 -o 'nr_reads.*nr_writes *[0-9]*' "$out/$name.log" ||
            tail -1 "$out/$name.log")"
    else
        echo "liburcu-suite: FAILED $name (exit $?; see $out/$name.log):"
        tail -5 "$out/$name.log"
        failed=$((failed + 1))
    fi
done

echo "liburcu-suite: ${#programs[@]} programs, $failed failed"
exit $((failed > 0))
