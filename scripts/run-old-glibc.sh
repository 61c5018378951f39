#!/usr/bin/env bash
# Runs a command's node under the old glibc that scripts/old-glibc-root.sh unpacked: this
# machine's node binary (an official Node 20 build, which needs glibc 2.28) started by that
# glibc's own dynamic loader, with only that root's libraries on its path.
#   scripts/run-old-glibc.sh node scripts/prebuild-parity.mjs
set -euo pipefail
root=$(realpath "${OLD_GLIBC_ROOT:-$(dirname "$0")/../.cache/old-glibc}")
[ "$1" = node ] || { echo "run-old-glibc: the command must start with node" >&2; exit 2; }
shift
libs="$root/lib/x86_64-linux-gnu:$root/usr/lib/x86_64-linux-gnu"
exec "$root/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" --inhibit-cache --library-path "$libs" \
  "$(readlink -f "$(command -v node)")" "$@"
