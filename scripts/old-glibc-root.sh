#!/usr/bin/env bash
# Unpacks an older glibc (with libgcc_s and libstdc++ for node) from Debian's packages into
# $1 (default .cache/old-glibc), for scripts/run-old-glibc.sh. Debian 11 "bullseye" (glibc 2.31):
# Debian 10 (2.28) is only on archive.debian.org, which this project's machines cannot reach.
# Only the three packages are fetched, with apt's own client and its own lists (a few MB, seconds),
# not a whole debootstrap.
set -euo pipefail
root=$(realpath -m "${1:-$(dirname "$0")/../.cache/old-glibc}")
suite=bullseye
[ -f "$root/.done" ] && exit 0
apt_dir="$root/.apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
echo "deb http://deb.debian.org/debian $suite main" >"$apt_dir/sources.list"
apt=(-o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache::Archives="$apt_dir/archives"
  -o Dir::State::status=/dev/null -o APT::Architecture=amd64 -o Debug::NoLocking=1)
apt-get "${apt[@]}" -q update >/dev/null
(cd "$apt_dir/archives" && apt-get "${apt[@]}" -q download libc6 libgcc-s1 libstdc++6 >/dev/null)
for deb in "$apt_dir"/archives/*.deb; do dpkg-deb -x "$deb" "$root"; done
touch "$root/.done"
echo "old-glibc root: $root ($(ls "$root"/lib/x86_64-linux-gnu/libc-*.so 2>/dev/null | xargs -n1 basename))"
