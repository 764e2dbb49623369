#!/usr/bin/env bash
# Does all set-up (Debian packages, models, build) and runs facegate's test suite.
# In CI (CI=true) warnings are errors and the formatting check is part of the run.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh" --tools
"$root/scripts/format.sh" || { echo "test: files are not clang-formatted; run scripts/format.sh --fix" >&2; exit 1; }
cd "$root/build"
ctest --output-on-failure -j2 --timeout 900
