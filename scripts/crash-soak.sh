#!/usr/bin/env bash
# The long version of the kill -9 crash-safety test (ctest runs CrashSafety.KillNine200):
# builds crash_harness if needed, then kills a writing worker --cycles times and checks the
# database after each kill (integrity, audit chain, every acknowledged record). One summary
# line on stdout; exit 1 and the cycle, seed and kept database on the first violation.
#
# Usage: scripts/crash-soak.sh [--cycles N] [--seed S] [--build-dir DIR] [-- HARNESS OPTIONS]
#   --cycles N       kills (default 1000)
#   --seed S         seed of the kill times and of the operations (default: a random one,
#                    printed, so that a failing run can be repeated)
#   --build-dir DIR  build tree to use, configured Release if it does not exist (default build)
#   after --         passed to crash_harness (--max-delay-ms MS, --keep, --db PATH)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cycles=1000
seed=""
build_dir="$root/build"
extra=()
die() { echo "crash-soak: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --cycles) [ $# -ge 2 ] || die "--cycles needs a value"; cycles=$2; shift ;;
    --seed) [ $# -ge 2 ] || die "--seed needs a value"; seed=$2; shift ;;
    --build-dir) [ $# -ge 2 ] || die "--build-dir needs a value"; build_dir=$2; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
[[ "$cycles" =~ ^[1-9][0-9]*$ ]] || die "--cycles must be a positive whole number"
if [ -z "$seed" ]; then
  seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
fi
[[ "$seed" =~ ^[0-9]+$ ]] || die "--seed must be a whole number"

if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >&2 ||
    die "cannot configure $build_dir (run scripts/setup.sh first for the dependencies)"
fi
cmake --build "$build_dir" -j2 --target crash_harness >&2 || die "build failed"

echo "crash-soak: $cycles cycles, seed $seed" >&2
exec nice -n 10 "$build_dir/bin/crash_harness" --cycles "$cycles" --seed "$seed" \
  ${extra[@]+"${extra[@]}"}
