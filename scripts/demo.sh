#!/usr/bin/env bash
# Does all set-up (Debian packages, models, build) and runs facegate's main job on its
# embedded default: the gate daemon on the demo scenario (enrolled volunteers, a
# non-volunteer, an impostor, a forged and a revoked badge, nobody in front of the camera,
# a camera outage), no camera needed. One line per passage on stdout, the daemon's log on
# stderr. Exit 0 when every passage ends as the scenario expects.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh"
exec "$root/build/bin/facegated" --config "$root/config/facegate.toml"
