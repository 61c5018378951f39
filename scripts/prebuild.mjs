#!/usr/bin/env node
// Builds the release addon and places it where node-gyp-build looks for a prebuild:
// prebuilds/<platform>-<arch>/fusedloss.glibc.node. prebuildify cannot drive cmake-js, so this
// does its three steps itself: build (no simulator; CUDA for every architecture when nvcc is
// found, the static runtime linked in), strip, copy.
//
//   npm run build:prebuild                 CPU + CUDA when CMake finds nvcc (PATH or CUDACXX)
//   npm run build:prebuild -- --cpu-only   the CPU-only variant, whatever is installed
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cpuOnly = process.argv.includes('--cpu-only');
const out = join(root, 'build-prebuild');

if (process.platform !== 'linux') {
  // node-gyp-build's libc tag below is Linux's; other platforms have not been built or tested.
  console.error(`prebuild: only linux is supported so far, this is ${process.platform}`);
  process.exit(1);
}

const cmakeJs = join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
const defines = ['--CDFUSEDLOSS_SIM=OFF', `--CDFUSEDLOSS_CUDA=${cpuOnly ? 'OFF' : 'ON'}`];
execFileSync(process.execPath, [cmakeJs, 'build', '--out', out, ...defines], {
  cwd: root,
  stdio: 'inherit',
});

const dest = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
mkdirSync(dest, { recursive: true });
const target = join(dest, 'fusedloss.glibc.node');
const built = join(out, 'Release', 'fusedloss.node');
if (!existsSync(built)) throw new Error(`prebuild: cmake-js reported success but ${built} is missing`);
copyFileSync(built, target);
execFileSync('strip', ['--strip-unneeded', target], { stdio: 'inherit' });

// Say what was built, as the stripped binary itself reports it.
const report = createRequire(import.meta.url)(target).backends(false);
if (report.sim) throw new Error('prebuild: the release addon must not contain the simulator');
const cuda = report.cuda.compiled;
const mib = (statSync(target).size / 2 ** 20).toFixed(1);
console.log(`prebuild: ${target} (${mib} MiB, ${cuda ? 'CPU + CUDA' : 'CPU only'})`);
