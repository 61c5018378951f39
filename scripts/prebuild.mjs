#!/usr/bin/env node
// Builds the release addons and places them where node-gyp-build looks for prebuilds:
// prebuilds/<platform>-<arch>/fusedloss.glibc.node. prebuildify cannot drive cmake-js, so this
// does its three steps itself: build (no simulator; the glibc 2.28 floor, see
// binding/glibc/floor.cc), strip, copy. Each target builds in build-prebuild/<target>.
//
//   npm run build:prebuild                      linux-x64 (CPU, + CUDA for every release
//                                               architecture when CMake finds nvcc) and
//                                               linux-arm64 (CPU only, cross-compiled) and
//                                               wasm32 (Emscripten, as npm run build:wasm)
//   npm run build:prebuild -- --cpu-only        linux-x64 without CUDA, whatever is installed
//   npm run build:prebuild -- --cuda-archs=75   CUDA for these architectures only (CI: the
//                                               glibc check needs the CUDA runtime, not all archs)
//   npm run build:prebuild -- --only=linux-x64  one target
//   npm run build:prebuild -- --reuse           linux-x64 only, rebuilt as build-prebuild/linux-x64
//                                               was last configured, or where it never was, the
//                                               prebuild-layout addon npm run build made beside the
//                                               test build (build/Release/fusedloss_prebuild.node):
//                                               the packaging test, which must compile nothing new
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const cpuOnly = args.includes('--cpu-only');
const reuse = args.includes('--reuse');
const cudaArchs = flag('cuda-archs') ?? 'release';

if (process.platform !== 'linux' || process.arch !== 'x64') {
  // node-gyp-build's libc tag below is Linux's, and the cross toolchain is a linux-x64 one.
  console.error(`prebuild: builds on linux-x64 only so far, this is ${process.platform}-${process.arch}`);
  process.exit(1);
}

const cmakeJs = join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
const common = ['--CDFUSEDLOSS_SIM=OFF', '--CDFUSEDLOSS_GLIBC_FLOOR=ON'];

// cmake-js's build configures only a folder never configured, so new settings go through its
// configure first; with none (--reuse), CMake's cache stands.
function build(target, defines, strip) {
  const out = join(root, 'build-prebuild', target);
  const cmake = (...a) =>
    execFileSync(process.execPath, [cmakeJs, ...a, '--out', out], { cwd: root, stdio: 'inherit' });
  if (defines.length) cmake('configure', ...defines);
  cmake('build');
  return place(target, join(out, 'Release', 'fusedloss.node'), strip);
}

// Copies a built addon to prebuilds/<target>/fusedloss.glibc.node and strips it there.
function place(target, built, strip) {
  if (!existsSync(built)) throw new Error(`prebuild: ${built} is missing`);
  const dest = join(root, 'prebuilds', target);
  mkdirSync(dest, { recursive: true });
  const file = join(dest, 'fusedloss.glibc.node');
  copyFileSync(built, file);
  execFileSync(strip, ['--strip-unneeded', file], { stdio: 'inherit' });
  return file;
}

const mib = (file) => `${(statSync(file).size / 2 ** 20).toFixed(1)} MiB`;

const targets = {
  'linux-x64'() {
    const configured = existsSync(join(root, 'build-prebuild', 'linux-x64', 'CMakeCache.txt'));
    const cuda = cpuOnly
      ? ['--CDFUSEDLOSS_CUDA=OFF']
      : ['--CDFUSEDLOSS_CUDA=ON', `--CDFUSEDLOSS_CUDA_ARCHS=${cudaArchs}`];
    // The test build's twin (CMakeLists.txt, FUSEDLOSS_PACK_ADDON) has the same options as
    // build-prebuild's, with the CUDA architectures of the test build.
    const file =
      reuse && !configured
        ? place('linux-x64', join(root, 'build', 'Release', 'fusedloss_prebuild.node'), 'strip')
        : build('linux-x64', reuse ? [] : [...common, ...cuda], 'strip');
    // Say what was built, as the stripped binary itself reports it.
    const report = createRequire(import.meta.url)(file).backends(false);
    if (report.sim) throw new Error('prebuild: the release addon must not contain the simulator');
    console.log(`prebuild: ${file} (${mib(file)}, ${report.cuda.compiled ? 'CPU + CUDA' : 'CPU only'})`);
  },
  'linux-arm64'() {
    if (!existsSync('/usr/bin/aarch64-linux-gnu-g++'))
      throw new Error('prebuild: linux-arm64 needs apt-get install g++-aarch64-linux-gnu (or --only=linux-x64)');
    const why = 'the linux-arm64 prebuild is CPU-only: it is cross-compiled without CUDA';
    const cross = [
      `--CDCMAKE_TOOLCHAIN_FILE=${join(root, 'cmake', 'aarch64-linux-gnu.cmake')}`,
      '--CDFUSEDLOSS_CUDA=OFF',
      `--CDFUSEDLOSS_NO_CUDA_REASON=${why}`,
    ];
    const file = build('linux-arm64', [...common, ...cross], 'aarch64-linux-gnu-strip');
    // It cannot load here; scripts/test-arm64.sh runs it under qemu.
    console.log(`prebuild: ${file} (${mib(file)}, CPU only)`);
  },
  // The 'wasm' backend: the same C++ built with Emscripten into prebuilds/wasm32 (wasm/build.mjs).
  wasm32() {
    const onPath = (cmd) => (process.env.PATH ?? '').split(':').some((d) => existsSync(join(d, cmd)));
    if (!onPath('emcmake'))
      throw new Error('prebuild: wasm32 needs Emscripten: apt-get install emscripten (or --only=linux-x64)');
    execFileSync(process.execPath, [join(root, 'wasm', 'build.mjs')], { cwd: root, stdio: 'inherit' });
  },
};

const only = reuse ? 'linux-x64' : flag('only');
if (only && !targets[only]) throw new Error(`prebuild: --only=${only}: targets are ${Object.keys(targets).join(', ')}`);
for (const [name, make] of Object.entries(targets)) if (!only || only === name) make();
