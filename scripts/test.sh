#!/usr/bin/env bash
# Does all set-up (Debian packages, models, build) and runs facegate's test suite.
# In CI (CI=true) warnings are errors and the formatting check is part of the run.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh" --tools
"$root/scripts/format.sh" || { echo "test: files are not clang-formatted; run scripts/format.sh --fix" >&2; exit 1; }
cd "$root/build"
ctest --output-on-failure -j2 --timeout 900

# Packaging stage (CI only, as root): builds the Debian package from build/, installs it with
# apt-get, fetches the models offline, runs the demo from the installed files as the facegate
# user, then purges the package. It changes the system, hence not on developers' machines.
if [ "${CI:-}" = true ] && [ "$(id -u)" = 0 ]; then
  "$root/scripts/package-test.sh" build
fi
