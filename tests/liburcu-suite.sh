#!/usr/bin/env bash
# liburcu's own test programs, unmodified, built against krcu through
# `pkg-config krcu-urcu` and run a few seconds each.
#
#   bash tests/liburcu-suite.sh          # from .ci/run; any failure fails it
#   ONLY='defer|qsbr' bash tests/liburcu-suite.sh   # the programs matching
#
# The programs come from the system's liburcu source package, fetched into
# target/liburcu-src by tests/liburcu-source.sh. Each is built from its
# source file with the -D flags liburcu's own Makefile gives it, the defines liburcu's configure would
# write to config.h on this system, krcu-urcu's flags first, and liburcu's
# tests/common, tests/utils and src directories for the test helpers
# (thread-id.h, debug-yield.h, compat-rand.h, tap.h).
#
# The programs of liburcu's data structures (the hash table, the queues
# and stacks) also link liburcu's own liburcu-cds and liburcu-common, from
# the system's liburcu-dev (installed when missing), and take those data
# structures' headers from it. No other liburcu header may be used: the
# compiler lists every header it opens (-H), and a build that opened one
# of liburcu's API headers instead of krcu's fails.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

src=$(bash tests/liburcu-source.sh)
# liburcu's data structures (liburcu-cds, liburcu-common) for the programs
# that test them.
if ! pkg-config --exists liburcu-cds; then
    apt-get install -y -qq liburcu-dev
fi
cds_libs=$(pkg-config --libs liburcu-cds)
echo "liburcu-suite: tests of $(basename "$src"), against krcu-urcu"

make -s -C urcu-ffi PROFILE=release
target=${CARGO_TARGET_DIR:-$root/target}
pc=$target/release/pkgconfig
krcu_cflags=$(PKG_CONFIG_PATH=$pc pkg-config --cflags krcu-urcu)
krcu_libs=$(PKG_CONFIG_PATH=$pc pkg-config --libs krcu-urcu)
out=$target/liburcu-suite
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
    "test_urcu_defer test_urcu_defer.c"
    "test_urcu_assign test_urcu_assign.c"
    "test_urcu_assign_dynamic_link test_urcu_assign.c -DDYNAMIC_LINK_TEST"
    "test_urcu_bp test_urcu_bp.c"
    "test_urcu_bp_dynamic_link test_urcu_bp.c -DDYNAMIC_LINK_TEST"
    "test_urcu_qsbr test_urcu_qsbr.c"
    "test_urcu_qsbr_dynamic_link test_urcu_qsbr.c -DDYNAMIC_LINK_TEST"
    "test_urcu_qsbr_timing test_urcu_qsbr_timing.c"
    "test_urcu_qsbr_gc test_urcu_qsbr_gc.c"
    "test_urcu_qsbr_lgc test_urcu_qsbr_gc.c -DTEST_LOCAL_GC"
    "test_urcu_signal test_urcu.c -DRCU_SIGNAL"
    "test_urcu_signal_dynamic_link test_urcu.c -DRCU_SIGNAL -DDYNAMIC_LINK_TEST"
    "test_urcu_signal_timing test_urcu_timing.c -DRCU_SIGNAL"
    "test_urcu_signal_yield test_urcu.c -DRCU_SIGNAL -DDEBUG_YIELD"
    "test_urcu_signal_gc test_urcu_gc.c -DRCU_SIGNAL"
    "test_urcu_signal_lgc test_urcu_gc.c -DRCU_SIGNAL -DTEST_LOCAL_GC"
)

# name  source  extra flags: liburcu's queues and stacks, run with 2
# dequeuers and 1 enqueuer for 1 second; each prints a WARNING when an
# element is lost or seen twice.
queues=(
    "test_urcu_lfq test_urcu_lfq.c"
    "test_urcu_lfq_dynlink test_urcu_lfq.c -DDYNAMIC_LINK_TEST"
    "test_urcu_wfq test_urcu_wfq.c"
    "test_urcu_wfq_dynlink test_urcu_wfq.c -DDYNAMIC_LINK_TEST"
    "test_urcu_wfcq test_urcu_wfcq.c"
    "test_urcu_wfcq_dynlink test_urcu_wfcq.c -DDYNAMIC_LINK_TEST"
    "test_urcu_lfs test_urcu_lfs.c"
    "test_urcu_lfs_dynlink test_urcu_lfs.c -DDYNAMIC_LINK_TEST"
    "test_urcu_lfs_rcu test_urcu_lfs_rcu.c"
    "test_urcu_lfs_rcu_dynlink test_urcu_lfs_rcu.c -DDYNAMIC_LINK_TEST"
)
# Not run: test_urcu_wfs and its _dynlink, which exit 1 against liburcu
# itself: they create their enqueuer thread at tid_enqueuer[i], an index
# left over from the argument loop, then join tid_enqueuer[0], never set.

# name  directory  sources  --  extra flags: liburcu's TAP programs (unit
# tests of the atomics and of several flavors in one program, and the fork
# regression test), each run once; they fail with a nonzero status.
taps=(
    "test_arch unit test_arch.c --"
    "test_uatomic unit test_uatomic.c --"
    "test_urcu_multiflavor unit test_urcu_multiflavor.c test_urcu_multiflavor-memb.c test_urcu_multiflavor-mb.c test_urcu_multiflavor-signal.c test_urcu_multiflavor-qsbr.c test_urcu_multiflavor-bp.c --"
    "test_urcu_multiflavor_dynlink unit test_urcu_multiflavor.c test_urcu_multiflavor-memb.c test_urcu_multiflavor-mb.c test_urcu_multiflavor-signal.c test_urcu_multiflavor-qsbr.c test_urcu_multiflavor-bp.c -- -DDYNAMIC_LINK_TEST"
    "test_urcu_multiflavor_single_unit unit test_urcu_multiflavor_single_unit.c --"
    "test_urcu_multiflavor_single_unit_dynlink unit test_urcu_multiflavor_single_unit.c -- -DDYNAMIC_LINK_TEST"
    "test_urcu_fork regression test_urcu_fork.c --"
)

# name  source  extra flags (from liburcu's tests/regression/Makefile.am);
# each is run as liburcu's .tap files run it: `nproc` readers, stride 1,
# every test kind with every call_rcu worker layout.
tortures=(
    "rcutorture_urcu_membarrier -DRCU_MEMBARRIER"
    "rcutorture_urcu_mb -DRCU_MB"
    "rcutorture_urcu_bp -DRCU_BP"
    "rcutorture_urcu_qsbr -DTORTURE_QSBR -DRCU_QSBR"
    "rcutorture_urcu_signal -DRCU_SIGNAL"
)

failed=0
ran=0

# liburcu's data-structure headers, which the programs of those data
# structures take from the system's liburcu; any other header of liburcu's
# is krcu's to provide.
cds_headers='urcu/(cds|rculfhash|rculfqueue|rculfstack|lfstack|wfcqueue|wfqueue|wfstack)\.h|urcu/static/(rculfqueue|rculfstack|lfstack|wfcqueue|wfqueue|wfstack)\.h'

# build NAME SOURCE... -- EXTRA FLAGS...: 0 when built. LIBS (a word list)
# is linked after libkrcu.
build() {
    local name=$1 sources=() flags=() log=$out/$1.build.log
    shift
    while [[ $1 != -- ]]; do sources+=("$1"); shift; done
    shift
    flags=("$@")
    # -H lists every header opened, one per line, after dots.
    # shellcheck disable=SC2086 # the flag lists are word lists
    if cc -O2 -pthread -H $config "${flags[@]}" $krcu_cflags -I"$src/tests/common" \
        -I"$src/tests/utils" -I"$src/src" "${sources[@]}" -o "$out/$name" \
        $krcu_libs ${LIBS:-} -Wl,-rpath,"$target/release" 2>"$log"; then
        local foreign
        foreign=$(grep -E '^\.+ /usr/(local/)?include/.*urcu' "$log" | awk '{ print $2 }' |
            grep -vE "($cds_headers)\$" | sort -u || true)
        if [[ -z $foreign ]]; then
            return 0
        fi
        echo "liburcu-suite: FAILED $name: built with liburcu's own headers, not krcu's:"
        echo "$foreign"
    else
        echo "liburcu-suite: FAILED to build $name (see $log):"
        grep -vE '^(\.+ |Multiple include guards|/)' "$log" | head -5
    fi
    failed=$((failed + 1))
    return 1
}

# run LABEL LOG SUMMARY-REGEX COMMAND...: runs it (2 minutes at most).
run() {
    local label=$1 log=$2 summary=$3
    shift 3
    ran=$((ran + 1))
    if timeout 120 "$@" >"$log" 2>&1; then
        echo "liburcu-suite: ok     $label: $(grep -m1 -oE "$summary" "$log" || tail -1 "$log")"
    else
        echo "liburcu-suite: FAILED $label (exit $?; see $log):"
        tail -5 "$log"
        failed=$((failed + 1))
    fi
}

for p in "${programs[@]}"; do
    read -r name file extra <<<"$p"
    [[ -z ${ONLY:-} || $name =~ $ONLY ]] || continue
    # shellcheck disable=SC2086 # extra is a word list
    build "$name" "$src/tests/benchmark/$file" "$src/tests/common/debug-yield.c" -- $extra || continue
    # 2 readers, 1 writer, 2 seconds (the timing programs take the reader
    # count only).
    run "$name" "$out/$name.log" 'nr_reads.*nr_writes *[0-9]*' "$out/$name" 2 1 2
done

for q in "${queues[@]}"; do
    read -r name file extra <<<"$q"
    [[ -z ${ONLY:-} || $name =~ $ONLY ]] || continue
    # shellcheck disable=SC2086 # extra is a word list
    LIBS=$cds_libs build "$name" "$src/tests/benchmark/$file" -- $extra || continue
    run "$name" "$out/$name.log" 'nr_enqueues *[0-9]+ nr_dequeues *[0-9]+' "$out/$name" 2 1 1
    if grep -q 'WARNING!' "$out/$name.log"; then
        echo "liburcu-suite: FAILED $name: $(grep -m1 'WARNING!' "$out/$name.log")"
        failed=$((failed + 1))
    fi
done

# The hash table, built against the qsbr flavor as liburcu's Makefile
# builds it, and run by liburcu's own script (runhash.sh: 17 runs of 1
# second, from a directory laid out as liburcu's tests are).
if [[ -z ${ONLY:-} || test_urcu_hash =~ $ONLY ]]; then
    mkdir -p "$out/hash/benchmark" "$out/hash/utils"
    cp "$src/tests/benchmark/runhash.sh" "$out/hash/benchmark/"
    cp "$src/tests/utils/tap.sh" "$out/hash/utils/"
    if LIBS=$cds_libs build test_urcu_hash "$src/tests/benchmark/test_urcu_hash.c" \
        "$src/tests/benchmark/test_urcu_hash_rw.c" "$src/tests/benchmark/test_urcu_hash_unique.c" \
        "$src/tests/common/debug-yield.c" -- -DRCU_QSBR; then
        cp "$out/test_urcu_hash" "$out/hash/benchmark/"
        run "test_urcu_hash (runhash.sh 1)" "$out/test_urcu_hash.log" '^# .*ok.*|[0-9]+ tests? (passed|failed)' \
            bash -c "cd '$out/hash/benchmark' && bash ./runhash.sh 1"
        grep -E '^not ok' "$out/test_urcu_hash.log" || true
    fi
fi

for t in "${taps[@]}"; do
    read -r -a words <<<"$t"
    name=${words[0]} dir=${words[1]} files=() i=2
    [[ -z ${ONLY:-} || $name =~ $ONLY ]] || continue
    while [[ ${words[i]} != -- ]]; do files+=("$src/tests/$dir/${words[i]}"); i=$((i + 1)); done
    build "$name" "${files[@]}" "$src/tests/utils/tap.c" -- "${words[@]:i+1}" || continue
    run "$name" "$out/$name.log" '^1\.\.[0-9]+' "$out/$name"
done

nproc=$(nproc)
for t in "${tortures[@]}"; do
    read -r name extra <<<"$t"
    [[ -z ${ONLY:-} || $name =~ $ONLY ]] || continue
    # shellcheck disable=SC2086 # extra is a word list
    build "$name" "$src/tests/regression/urcutorture.c" "$src/tests/utils/tap.c" -- $extra || continue
    for kind in perf rperf uperf stress; do
        for layout in callrcu_global callrcu_percpu callrcu_perthread; do
            # The perf kinds run 1 second, stress 10.
            log=$out/$name.$kind.$layout.log
            run "$name $nproc $kind 1 $layout" "$log" \
                'n_reads: [0-9]+ +n_updates: [0-9]+( +n_mberror: [0-9]+)?' \
                "$out/$name" "$nproc" "$kind" 1 "$layout"
            # liburcu's stress test fails only on a memory-barrier error; a
            # reader that saw an element survive two or more updates (its
            # read section spanned a grace period) is counted in the
            # rcu_stress_count line from its third column on. That is an
            # RCU violation, so it fails here.
            if [[ $kind == stress ]] && ! awk '/rcu_stress_count:/ {
                    for (i = 5; i <= NF; i++) if ($i != 0) bad = 1; seen = 1 }
                    END { exit !(seen && !bad) }' "$log"; then
                echo "liburcu-suite: FAILED $name $kind $layout: a read section spanned a grace period:"
                grep 'rcu_stress_count:' "$log" || echo "(no rcu_stress_count line)"
                failed=$((failed + 1))
            fi
        done
    done
done

echo "liburcu-suite: $ran runs, $failed failed"
exit $((failed > 0))
