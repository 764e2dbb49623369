#!/usr/bin/env bash
# clang-tidy on facegate's own sources (src/ and the headers in include/facegate/), with the
# checks of .clang-tidy, every finding an error. Needs a configured build tree (its
# compile_commands.json): scripts/setup.sh --tools makes one. About 4 minutes on 2 cores.
#
# Usage: scripts/tidy.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}
[ -f "$build/compile_commands.json" ] || { echo "tidy: no $build/compile_commands.json (run scripts/setup.sh)" >&2; exit 2; }
log=$(mktemp "${TMPDIR:-/tmp}/facegate-tidy-XXXXXX")
trap 'rm -f "$log"' EXIT
# The build may carry GCC-only warning options (-Wno-restrict): clang must not stop at them.
status=0
run-clang-tidy -p "$build" -j 2 -quiet -extra-arg=-Wno-unknown-warning-option "$root/src/" \
  >"$log" 2>&1 || status=$?
# A build tree of another checkout lists other paths: nothing checked is not a pass.
checked=$(grep -c -- "-quiet $root/src/" "$log" || true)
if [ "$checked" = 0 ]; then
  echo "tidy: no file of $root/src is in $build/compile_commands.json" >&2
  exit 2
fi
if [ "$status" = 0 ]; then
  echo "tidy: clang-tidy found nothing in the $checked files of src/" >&2
  exit 0
fi
# Only the findings, not the tool's own progress lines.
sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E -A3 '(warning|error): ' | grep -v 'warnings generated' >&2 || cat "$log" >&2
echo "tidy: clang-tidy found the problems above (checks: .clang-tidy)" >&2
exit 1
