#!/usr/bin/env bash
# Prints the module dependency graph (which facegate library links which) as a Mermaid
# diagram, from CMake's own view of the targets (cmake --graphviz), with the edges implied
# by others removed. docs/ARCHITECTURE.md shows its output; re-run after changing a
# target_link_libraries and paste the result there.
#
# Usage: scripts/module-graph.sh [BUILD_DIR]   (default: build; needs python3)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}
[ -f "$build/CMakeCache.txt" ] || { echo "module-graph: no configured build in $build (run scripts/setup.sh)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --graphviz="$tmp/graph.dot" "$build" >/dev/null
python3 - "$tmp/graph.dot" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
names = dict(re.findall(r'"(node\d+)" \[ label = "([^"]+)"', text))
interface = ("facegate_warnings", "facegate_sanitizers")  # build flags, not modules
keep = lambda n: (n.startswith("facegate_") and not n.startswith("facegate_test") and n not in interface) or n in ("facegate", "facegated")
edges = {}
for a, b in re.findall(r'"(node\d+)" -> "(node\d+)"', text):
    a, b = names.get(a, ""), names.get(b, "")
    if keep(a) and keep(b) and a != b:
        edges.setdefault(a, set()).add(b)
def reach(start, skip):
    seen, pending = set(), [n for n in edges.get(start, ()) if (start, n) != skip]
    while pending:
        n = pending.pop()
        if n not in seen:
            seen.add(n)
            pending.extend(edges.get(n, ()))
    return seen
short = lambda n: n.replace("facegate_", "") if n.startswith("facegate_") else n
print("```mermaid")
print("graph TD")
for a in sorted(edges):
    for b in sorted(edges[a]):
        if b not in reach(a, (a, b)):  # not implied by a longer path
            print(f"  {short(a)} --> {short(b)}")
print("```")
PY
