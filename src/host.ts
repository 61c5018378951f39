// What fusedloss takes from Node: environment variables, warnings, and the native addon and the
// WebAssembly build from the package's files. host.browser.ts stands in for this file in browser
// bundles (package.json "browser").
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import nodeGypBuild from 'node-gyp-build';
import type { NativeAddon } from './native';
import { instantiateWasm, type WasmFactory } from './wasm';

/** The package root: dist/.. when compiled, src/.. when run from source. */
const root = path.resolve(__dirname, '..');

export function env(name: string): string | undefined {
  return process.env[name];
}

export function warn(message: string, code: string): void {
  process.emitWarning(message, { code });
}

/** A local build in build/Release, else this platform's prebuild; FUSEDLOSS_ADDON overrides both. */
export function loadNativeAddon(): NativeAddon {
  // FUSEDLOSS_ADDON names a .node file to load instead: CI's sanitizer build, for one.
  const override = env('FUSEDLOSS_ADDON');
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a .node file is loaded by require
  return (override ? require(path.resolve(override)) : nodeGypBuild(root)) as NativeAddon;
}

let wasmFailure: Error | undefined;
/** prebuilds/wasm32 (`npm run build:wasm`), compiled synchronously; a failure is kept and rethrown. */
export function loadWasmAddon(): NativeAddon {
  if (wasmFailure) throw wasmFailure;
  const dir = path.join(root, 'prebuilds', 'wasm32');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- Emscripten's CommonJS loader
    const factory = require(path.join(dir, 'fusedloss.js')) as WasmFactory;
    return instantiateWasm(new WebAssembly.Module(readFileSync(path.join(dir, 'fusedloss.wasm'))), factory);
  } catch (e) {
    throw (wasmFailure = e as Error);
  }
}
