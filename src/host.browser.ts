// host.ts for browser bundles: no environment, no native addon, and the WebAssembly build once
// initWasm() (src/browser.ts) has instantiated it.
import type { NativeAddon } from './native';

let wasm: NativeAddon | undefined;

export function env(): string | undefined {
  return undefined;
}

export function warn(message: string, code: string): void {
  // Without a native addon in a browser, saying so at every page load would be noise.
  if (code !== 'FUSEDLOSS_NO_NATIVE') console.warn(message);
}

export function loadNativeAddon(): NativeAddon {
  throw new Error('a browser has no native addon');
}

export function loadWasmAddon(): NativeAddon {
  if (!wasm) throw new Error("not initialised yet: await initWasm() from 'fusedloss/wasm' first");
  return wasm;
}

export function setWasmAddon(addon: NativeAddon): void {
  wasm = addon;
}
