#!/usr/bin/env node
// Fails when a Linux prebuild needs a newer glibc than the floor (2.28, that of Node 20's own
// Linux binaries), a libgcc_s newer than that era's, or any libstdc++ from the system (the addon
// links its own statically). It
// reads the dynamic symbol table (objdump -T), where each imported symbol names the version the
// dynamic loader will demand.
//
//   node scripts/check-glibc.mjs                   every prebuilds/linux-*/*.node
//   node scripts/check-glibc.mjs FILE...           those files
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const floor = [2, 28];
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function prebuilds() {
  const dir = join(root, 'prebuilds');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((d) => d.startsWith('linux-'))
    .flatMap((d) =>
      readdirSync(join(dir, d))
        .filter((f) => f.endsWith('.node'))
        .map((f) => join(dir, d, f)),
    );
}

// The host's objdump reads x86-64 only; an aarch64 addon needs the cross binutils' one.
function objdumpFor(file) {
  const machine = readFileSync(file).readUInt16LE(18); // e_machine of a little-endian ELF
  return machine === 183 ? 'aarch64-linux-gnu-objdump' : 'objdump';
}

const newer = (v) => v[0] > floor[0] || (v[0] === floor[0] && v[1] > floor[1]);

const files = process.argv.slice(2).length ? process.argv.slice(2) : prebuilds();
if (!files.length) {
  console.error('check-glibc: no prebuilds/linux-*/*.node to check (run npm run build:prebuild)');
  process.exit(1);
}
let failed = false;
for (const file of files) {
  const table = execFileSync(objdumpFor(file), ['-T', file], { encoding: 'utf8' });
  const above = [];
  let highest = [0, 0];
  for (const line of table.split('\n')) {
    const cxx = /\b(GLIBCXX|CXXABI)_[\d.]+/.exec(line);
    if (cxx) above.push(`${line.trim().split(/\s+/).pop()} (${cxx[0]}: libstdc++ must be linked statically)`);
    // libgcc_s is shared (see binding/glibc/floor.cc): RHEL 8's, from GCC 8, has up to GCC_7.0.0.
    const gcc = /\bGCC_(\d+)\.[\d.]+/.exec(line);
    if (gcc && Number(gcc[1]) > 7)
      above.push(`${line.trim().split(/\s+/).pop()} (${gcc[0]}: newer than GCC 8's libgcc_s)`);
    const m = /\bGLIBC_(\d+)\.(\d+)/.exec(line);
    if (!m) continue;
    const v = [Number(m[1]), Number(m[2])];
    if (newer(v)) above.push(`${line.trim().split(/\s+/).pop()} (GLIBC_${v.join('.')})`);
    if (v[0] > highest[0] || (v[0] === highest[0] && v[1] > highest[1])) highest = v;
  }
  if (above.length) {
    failed = true;
    console.error(`check-glibc: ${file} needs more than glibc ${floor.join('.')}:\n  ${above.join('\n  ')}`);
  } else {
    console.log(`check-glibc: ${file}: highest GLIBC_${highest.join('.')} (floor ${floor.join('.')}): ok`);
  }
}
process.exit(failed ? 1 : 0);
