#!/usr/bin/env bash
# Does all set-up (Debian packages, models, build) and runs facegate on its embedded
# default: `facegate verify` on bundled sample photos, a genuine pair and an impostor pair.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh"
facegate="$root/build/bin/facegate"
faces="$root/tests/data/faces"
run() {
  printf '\n$ facegate verify %s %s --json\n' "${1#$faces/}" "${2#$faces/}"
  set +e
  "$facegate" verify "$1" "$2" --json
  printf '(exit %d)\n' $?
  set -e
}
run "$faces/obama/obama_1.jpg" "$faces/obama/obama_4_480p.jpg"          # same person
run "$faces/alex_lacamoire/alex_lacamoire_1.jpg" "$faces/raj/raj_5.png"  # closest impostor pair
run "$faces/penny/penny_1.png" "$faces/penny/penny_3.png"               # same person
