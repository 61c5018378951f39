// The browser entry, 'fusedloss/wasm': every loss of the main entry, run on the WebAssembly build
// once initWasm() has instantiated it. Bundlers take src/host.browser.ts for src/host.ts here
// (package.json "browser"), so no Node module is pulled in.
import { setWasmAddon } from './host.browser';
import { instantiateWasm, type WasmFactory } from './wasm';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- Emscripten's loader, bundled as CommonJS
const factory = require('../prebuilds/wasm32/fusedloss.js') as WasmFactory;

export * from './index';

/**
 * Instantiates the WebAssembly build, `fusedloss/prebuilds/wasm32/fusedloss.wasm` in the package: pass its
 * URL (as your bundler gives it for an asset), a fetch Response, its bytes or a compiled module.
 * Until it resolves, 'auto' runs the JavaScript reference and `backends().wasm` says why.
 *
 * @example
 * ```ts
 * import { initWasm, anyLoss, backends } from 'fusedloss/wasm';
 * import wasmUrl from 'fusedloss/prebuilds/wasm32/fusedloss.wasm?url'; // Vite; webpack: new URL(..., import.meta.url)
 *
 * await initWasm(wasmUrl);
 * backends().wasm.available; // true
 * anyLoss(scores, labels).loss; // on the WebAssembly build
 * ```
 */
export async function initWasm(
  source: string | URL | Response | ArrayBuffer | ArrayBufferView | WebAssembly.Module,
): Promise<void> {
  let compiled: WebAssembly.Module;
  if (source instanceof WebAssembly.Module) compiled = source;
  else if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) compiled = await WebAssembly.compile(source);
  else {
    const response = source instanceof Response ? source : await fetch(source);
    if (!response.ok) throw new Error(`initWasm: fetching ${response.url} gave HTTP ${response.status}`);
    compiled = await WebAssembly.compile(await response.arrayBuffer());
  }
  setWasmAddon(instantiateWasm(compiled, factory));
}
