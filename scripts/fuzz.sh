#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang, ASan + UBSan) into build-fuzz/ if needed and
# runs them, each on a working copy of its seed corpus, for a fixed time.
#
#   scripts/fuzz.sh [--seconds N] [--jobs N] [target...]
#
# Targets: fuzz_badge fuzz_config fuzz_qr fuzz_audit (default: all four; the fuzz_ prefix
# may be left out). --seconds: run time per target (default 600). --jobs: how many targets
# run at the same time (default 1; each uses one core, niced).
#
# New inputs go to build-fuzz/corpus/<target> (the committed seeds in fuzz/corpus/<target>
# are only read), crash/timeout/OOM inputs to build-fuzz/artifacts/<target>/, the output of
# each run to build-fuzz/logs/<target>.log. Exit status: 0 when no target found anything,
# 1 when one did (the artefacts are listed), 2 on a usage or build error.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$root/build-fuzz"
all=(fuzz_badge fuzz_config fuzz_qr fuzz_audit)

seconds=600
jobs=1
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    --jobs) jobs=${2:?--jobs needs a number}; shift 2 ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) t=$1; [[ $t == fuzz_* ]] || t="fuzz_$t"
       if [[ " ${all[*]} " != *" $t "* ]]; then
         echo "fuzz: unknown target $1; targets: ${all[*]}" >&2; exit 2
       fi
       targets+=("$t"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
if ! [[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 && $jobs =~ ^[0-9]+$ && $jobs -gt 0 ]]; then
  echo "fuzz: --seconds and --jobs take positive integers" >&2
  exit 2
fi

# Per target: the longest input worth trying (a badge text is at most 512 characters; a QR
# frame input is a header and up to a few hundred by a few hundred pixels) and extra flags.
declare -A max_len=([fuzz_badge]=600 [fuzz_config]=16384 [fuzz_qr]=40000 [fuzz_audit]=4096)
declare -A extra=([fuzz_config]="-dict=$root/fuzz/dict/toml.dict")
# SQLite and zbar allocate many page-sized blocks per input; with ASan's default 256 MB
# quarantine every one is fresh memory (a page fault) and is filled: fuzz_audit ran at
# 9 exec/s. A smaller quarantine, no fill: about 10 times faster, use-after-free still
# caught for recently freed memory.
declare -A asan=([fuzz_audit]="quarantine_size_mb=32:max_malloc_fill_size=0"
                 [fuzz_qr]="quarantine_size_mb=32:max_malloc_fill_size=0")

if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ is needed (apt-get install clang libclang-rt-14-dev)" >&2
  exit 2
fi
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
if [ ! -f "$build/CMakeCache.txt" ]; then
  CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DFACEGATE_FUZZ=ON \
    -DFACEGATE_BUILD_TESTS=OFF "${launcher[@]}" >/dev/null || exit 2
fi
CCACHE_BASEDIR="$root" nice -n 10 cmake --build "$build" -j2 --target "${targets[@]}" \
  >"$build/fuzz-build.log" 2>&1 || { tail -n 30 "$build/fuzz-build.log" >&2; exit 2; }

mkdir -p "$build/logs"
run_one() {
  local t=$1
  local work="$build/corpus/$t" artefacts="$build/artifacts/$t/"
  mkdir -p "$work" "$artefacts"
  touch "$artefacts/.started"  # artefacts newer than this are this run's
  # The first corpus directory receives the new inputs; the seed directory is only read.
  # shellcheck disable=SC2086
  ASAN_OPTIONS="${ASAN_OPTIONS:-${asan[$t]:-}}" nice -n 10 "$build/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len="${max_len[$t]}" -print_final_stats=1 -artifact_prefix="$artefacts" \
    ${extra[$t]:-} "$work" "$root/fuzz/corpus/$t" >"$build/logs/$t.log" 2>&1
}

summary() {
  local t=$1 rc=$2
  local log="$build/logs/$t.log"
  local execs rate cov ft corpus
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  corpus=$(grep -o 'corp: [0-9]*/[0-9A-Za-z]*' "$log" | tail -n 1 | cut -d' ' -f2)
  printf '%-12s rc=%-3s %ss execs=%s exec/s=%s cov=%s ft=%s corpus=%s\n' "$t" "$rc" \
    "$seconds" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corpus:-?}"
}

status=0
queue=("${targets[@]}")
while [ ${#queue[@]} -gt 0 ]; do
  batch=("${queue[@]:0:$jobs}")
  queue=("${queue[@]:$jobs}")
  declare -A pids=()
  for t in "${batch[@]}"; do
    echo "fuzz: running $t for ${seconds}s (log: build-fuzz/logs/$t.log)"
    run_one "$t" &
    pids[$t]=$!
  done
  for t in "${batch[@]}"; do
    rc=0
    wait "${pids[$t]}" || rc=$?
    summary "$t" "$rc"
    mapfile -t found < <(find "$build/artifacts/$t" -type f ! -name .started \
      -newer "$build/artifacts/$t/.started")
    if [ "$rc" -ne 0 ] || [ ${#found[@]} -gt 0 ]; then
      status=1
      echo "fuzz: $t FOUND A PROBLEM (exit $rc); see build-fuzz/logs/$t.log" >&2
      [ ${#found[@]} -eq 0 ] || printf '  artefact: %s\n' "${found[@]}" >&2
    fi
  done
  unset pids
done
exit $status
