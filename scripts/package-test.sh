#!/usr/bin/env bash
# Builds the Debian package from an existing build tree and tests it on this machine, as root:
#   1. cpack -G DEB; checks the package's contents (manual pages, no models), Depends and
#      conffiles, and lintian's verdict (no error or warning) when lintian is installed,
#   2. apt-get install of the .deb (dependencies resolved from the archive),
#   3. facegate-fetch-models --from models/ (offline, verified; a corrupted model refused),
#      with facegated shown to fail its check before the models are installed,
#   4. facegated --check-config on the installed configuration,
#   5. the demo from the installed binary, configuration, models and photos, as the
#      facegate user: it must end with "demo: N of N passages decided as expected",
#   6. apt-get purge, and checks that nothing of the package is left.
# The machine is left as it was: on any failure the package is purged too, and the facegate
# user is deleted again if this script's installation created it. It refuses to run where
# facegate is already installed or /var/lib/facegate exists (a real gate's data).
#
# Usage: scripts/package-test.sh [BUILD_DIR]   (default: build; relative to the repository)
# Exit status 0 when every step passed; otherwise 1 and a line saying which check failed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac

say() { printf 'package-test: %s\n' "$*" >&2; }
die() {
  printf 'package-test: FAILED: %s\n' "$*" >&2
  exit 1
}

[ "$(id -u)" = 0 ] || die "must run as root (it installs and purges the package)"
for tool in apt-get dpkg-deb runuser sha256sum; do
  command -v "$tool" >/dev/null || die "needs $tool (a Debian system)"
done
command -v cpack >/dev/null || die "cpack (cmake) is not installed"
[ -f "$build/CPackConfig.cmake" ] || die "$build is not a configured build tree (no CPackConfig.cmake)"
if dpkg-query -W -f='${Status}' facegate 2>/dev/null | grep -q 'installed\|config-files'; then
  die "facegate is installed (or its configuration left) here: this test would purge it; run it on a test machine"
fi
[ ! -e /var/lib/facegate ] || die "/var/lib/facegate exists (a gate's database?): this test would delete it on purge"

etc_dir=/etc/facegate
config=$etc_dir/facegate.toml
data_dir=/usr/share/facegate
model_dir=$data_dir/models
daemon=/usr/sbin/facegated
fetch=/usr/sbin/facegate-fetch-models
man_pages="/usr/share/man/man1/facegate.1.gz /usr/share/man/man5/facegate.toml.5.gz
  /usr/share/man/man8/facegated.8.gz /usr/share/man/man8/facegate-fetch-models.8.gz"
user_existed=0
getent passwd facegate >/dev/null && user_existed=1
work=$(mktemp -d /tmp/facegate-package-test-XXXXXX)

cleanup() {
  local status=$?
  if dpkg-query -W -f='${Status}' facegate 2>/dev/null | grep -q 'ok installed\|config-files'; then
    say "cleaning up: purging the package"
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq facegate >/dev/null 2>&1 || say "apt-get purge facegate failed: purge it by hand"
  fi
  if [ "$user_existed" = 0 ] && getent passwd facegate >/dev/null; then
    userdel facegate || say "could not delete the user facegate"
  fi
  if [ "$user_existed" = 0 ] && getent group facegate >/dev/null; then
    groupdel facegate || say "could not delete the group facegate"
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

start=$(date +%s)

# --- 1. The package -----------------------------------------------------------------------
say "building facegate, facegated and the manual pages in $build"
cmake --build "$build" -j2 --target facegate facegated manual >/dev/null || die "the build failed"
build_end=$(date +%s)
rm -f "$build"/packages/facegate_*.deb
say "cpack -G DEB"
(cd "$build" && cpack -G DEB >"$work/cpack.log" 2>&1) || {
  cat "$work/cpack.log" >&2
  die "cpack -G DEB failed"
}
debs=("$build"/packages/facegate_*.deb)
if [ ${#debs[@]} != 1 ] || [ ! -f "${debs[0]}" ]; then
  die "expected one facegate_*.deb in $build/packages, found: ${debs[*]}"
fi
deb=${debs[0]}
say "built ${deb#"$build"/} ($(du -h "$deb" | cut -f1))"

dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$work/contents"
for f in "$daemon" /usr/bin/facegate "$fetch" /lib/systemd/system/facegated.service \
  /usr/lib/sysusers.d/facegate.conf "$config" "$model_dir/SHA256SUMS" \
  "$data_dir/demo-faces/penny/penny_1.png" /usr/share/doc/facegate/README.md $man_pages; do
  grep -qx "$f" "$work/contents" || die "the package does not contain $f"
done
if grep '\.dat$' "$work/contents" >&2; then
  die "the package contains model files (above): they must be fetched by facegate-fetch-models"
fi
depends=$(dpkg-deb -f "$deb" Depends)
say "Depends: $depends"
for d in 'libopenblas0-pthread | libopenblas0-openmp' systemd libc6 libstdc++6; do
  case ", $depends," in *", $d"[,\ \(]*) ;; *) die "Depends lacks $d" ;; esac
done
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx "$config" \
  || die "$config is not declared as a conffile in the package"
version=$(dpkg-deb -f "$deb" Version)
case "$(zcat "$build/packaging/deb/changelog.gz" | head -n 1)" in
  "facegate ($version) "*) ;;
  *) die "packaging/deb/changelog does not start with an entry for $version" ;;
esac
# Errors and warnings fail the test (the manual pages ended the last warnings,
# no-manual-page); informational tags are shown.
if command -v lintian >/dev/null; then
  say "lintian"
  lintian --fail-on error,warning "$deb" 2>/dev/null | sed 's/^/  /' >&2 \
    || die "lintian reports errors or warnings (above)"
fi

# --- 2. Installation ----------------------------------------------------------------------
# Without Recommends: npm is only needed to download the models, and this test copies them.
say "apt-get install ${deb##*/}"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$deb" \
  >"$work/install.log" 2>&1 || {
  cat "$work/install.log" >&2
  die "apt-get install of the package failed"
}
grep -q "run facegate-fetch-models" "$work/install.log" \
  || die "postinst did not tell the technician what to do next"
[ "$(dpkg-query -W -f='${Status}' facegate)" = "install ok installed" ] || die "the package is not installed"
getent passwd facegate >/dev/null || die "postinst did not create the user facegate"
[ "$(stat -c '%U:%G %a' /var/lib/facegate)" = "facegate:facegate 700" ] \
  || die "/var/lib/facegate is $(stat -c '%U:%G %a' /var/lib/facegate), expected facegate:facegate 700"
dpkg-query --control-show facegate conffiles | grep -qx "$config" \
  || die "dpkg did not register $config as a conffile"
dpkg-query -W -f='${Conffiles}\n' facegate | grep -q "^ $config [0-9a-f]\{32\}" \
  || die "dpkg has no checksum for the conffile $config"

# --- 3. Models ----------------------------------------------------------------------------
# The binaries know the source tree's models/ and tests/data/faces/ as fallbacks behind the
# installed directories. The daemon runs with the source tree hidden (an empty read-only
# tmpfs over it in a private mount namespace), so the checks can only pass on installed files.
hide_source=()
if unshare --mount --propagation private true 2>/dev/null; then
  # shellcheck disable=SC2016 # $0 and $@ are the inner shell's
  hide_source=(unshare --mount --propagation private -- sh -c 'mount -t tmpfs -o ro,size=1m tmpfs "$0" && exec "$@"' "$root")
else
  say "warning: no mount namespace (unshare failed): the source tree stays visible; the installed directories still come first in facegated's lookup"
fi

if [ ${#hide_source[@]} -gt 0 ] \
  && (cd / && "${hide_source[@]}" "$daemon" --check-config --config "$config") >/dev/null 2>&1; then
  die "facegated --check-config passes before any model is installed: it does not check the installed models"
fi

# A corrupted model must be refused and leave the model directory as it was.
mkdir "$work/bad"
for f in "$root"/models/*.dat; do ln -s "$f" "$work/bad/"; done
rm "$work/bad/shape_predictor_5_face_landmarks.dat"
cp "$root/models/shape_predictor_5_face_landmarks.dat" "$work/bad/"
printf 'x' >>"$work/bad/shape_predictor_5_face_landmarks.dat"
if "$fetch" --from "$work/bad" 2>"$work/fetch-bad.log"; then
  die "facegate-fetch-models accepted a model with the wrong checksum"
fi
grep -q "refusing it" "$work/fetch-bad.log" || die "facegate-fetch-models did not say why it refused a bad model"
[ ! -e "$model_dir/shape_predictor_5_face_landmarks.dat" ] || die "a refused model was installed"
[ -z "$(find "$model_dir" -name '.fetch-*')" ] || die "facegate-fetch-models left temporary files in $model_dir"

say "facegate-fetch-models --from models/"
"$fetch" --from "$root/models" || die "facegate-fetch-models --from $root/models failed"
(cd "$model_dir" && sha256sum --quiet --check SHA256SUMS) || die "the installed models do not verify"
"$fetch" --from /nonexistent 2>"$work/fetch-again.log" \
  || die "a second facegate-fetch-models run with the models in place did not succeed (not idempotent)"
grep -q "present and verified" "$work/fetch-again.log" || die "the second run did not report the models as present"

# --- 4. Configuration check ---------------------------------------------------------------
say "facegated --check-config --config $config"
(cd / && "${hide_source[@]}" "$daemon" --check-config --config "$config") \
  || die "facegated --check-config failed on the installed configuration"

# --- 5. The demo, as the daemon's user ----------------------------------------------------
# The shipped configuration's camera source is "demo": it needs no key or database (the demo
# keeps its own in a private temporary directory), only a writable TMPDIR.
say "the demo: runuser -u facegate -- $daemon --config $config"
(cd / && "${hide_source[@]}" runuser -u facegate -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  TMPDIR=/tmp "$daemon" --config "$config" >"$work/demo.out" 2>"$work/demo.err") || {
  cat "$work/demo.out" "$work/demo.err" >&2
  die "the demo failed as the facegate user"
}
cat "$work/demo.out"
# Every passage of the scenario must end as expected: "demo: N of N passages ...".
tail -n 1 "$work/demo.out" | grep -Eq '^demo: ([0-9]+) of \1 passages decided as expected' \
  || die "the demo did not end with 'demo: N of N passages decided as expected'"

# --- 6. Purge -----------------------------------------------------------------------------
say "apt-get purge facegate"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq facegate >"$work/purge.log" 2>&1 || {
  cat "$work/purge.log" >&2
  die "apt-get purge facegate failed"
}
grep -q "purge: deleting /var/lib/facegate" "$work/purge.log" \
  || die "postrm did not say that it deletes /var/lib/facegate"
if dpkg-query -W -f='${Status}' facegate 2>/dev/null | grep -q 'installed\|config-files'; then
  die "facegate is still known to dpkg after purge"
fi
for f in "$daemon" /usr/bin/facegate "$fetch" /lib/systemd/system/facegated.service \
  /usr/lib/sysusers.d/facegate.conf "$etc_dir" "$data_dir" /var/lib/facegate $man_pages; do
  [ ! -e "$f" ] || die "$f is still there after purge"
done

say "passed in $(($(date +%s) - start)) s ($((build_end - start)) s of them building)"
