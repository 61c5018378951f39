// The 'wasm' backend: the same C++ kernels and N-API binding compiled to WebAssembly (wasm/), for
// platforms where the native addon does not load, and for browsers. Node-API comes from emnapi:
// its C half is linked into the .wasm, its JavaScript half (@emnapi/core) is plugged in here.
//
// Single-threaded: the build has no pthreads (Emscripten's threads need SharedArrayBuffer, worker
// scripts and an asynchronous start, which would rule out loading from a plain require()). The
// async entry points run on the calling thread and return a settled Promise.
import { createNapiModule } from '@emnapi/core';
import { getDefaultContext } from '@emnapi/runtime';
import type { NativeAddon } from './native';

/** What wasm/build.mjs's Emscripten loader (prebuilds/wasm32/fusedloss.js) reads and fills. */
interface EmscriptenModule {
  emnapiImports?: Record<string, unknown>;
  instantiateWasm?: (
    imports: WebAssembly.Imports,
    done: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void,
  ) => WebAssembly.Exports;
  asm?: WebAssembly.Exports;
  _malloc?: (bytes: number) => number;
  _free?: (ptr: number) => void;
  _napi_register_wasm_v1?: unknown;
  _node_api_module_get_api_version_v1?: unknown;
}

/** The loader's factory (MODULARIZE): it runs synchronously, the .wasm being compiled already. */
export type WasmFactory = (module: EmscriptenModule) => unknown;

type Fn = (...args: unknown[]) => unknown;
type View = ArrayBufferView & { readonly length: number };

/** Instantiates the compiled .wasm with its loader and returns the addon's functions. */
export function instantiateWasm(compiled: WebAssembly.Module, factory: WasmFactory): NativeAddon {
  const napi = createNapiModule({ context: getDefaultContext() });
  const em: EmscriptenModule = {
    emnapiImports: Object.assign({}, napi.imports.env, napi.imports.napi, napi.imports.emnapi),
    instantiateWasm(imports, done) {
      const instance = new WebAssembly.Instance(compiled, imports);
      done(instance, compiled);
      return instance.exports;
    },
  };
  factory(em);
  // Export names are minified; emnapi finds what it needs by these names.
  const exported = Object.values(em.asm!);
  const memory = exported.find((v) => v instanceof WebAssembly.Memory) as WebAssembly.Memory;
  const table = exported.find((v) => v instanceof WebAssembly.Table) as WebAssembly.Table;
  const exports = {
    malloc: em._malloc,
    free: em._free,
    napi_register_wasm_v1: em._napi_register_wasm_v1,
    node_api_module_get_api_version_v1: em._node_api_module_get_api_version_v1,
  };
  const raw = napi.init({ instance: { exports } as unknown as WebAssembly.Instance, module: compiled, memory, table });
  const heap: Heap = { memory, malloc: em._malloc!, free: em._free! };
  const sync = (v: ArrayBufferView) => napi.emnapi.syncMemory(false, v);
  const call: Call = (f, args) => callStaged(f, args, heap, sync);
  const addon: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof f !== 'function') addon[name] = f;
    else if (methodsOf(f as Fn).length) addon[name] = stagedClass(f as Ctor, methodsOf(f as Fn), call);
    else addon[name] = (...args: unknown[]) => call(f as Fn, args);
  }
  // For tests: wasm memory only grows, so its size shows whether dropped objects were freed.
  addon.wasmMemoryBytes = () => memory.buffer.byteLength;
  return addon as unknown as NativeAddon;
}

type Call = (f: Fn, args: unknown[]) => unknown;
type Ctor = new (...args: unknown[]) => object;

/** The methods of a binding class (an ObjectWrap: SphericalHeadNative); a plain function has none. */
function methodsOf(f: Fn): string[] {
  const proto = (f.prototype ?? {}) as Record<string, unknown>;
  return Object.getOwnPropertyNames(proto).filter((n) => n !== 'constructor' && typeof proto[n] === 'function');
}

/**
 * A binding class on wasm: its C++ object lives in wasm memory, and its constructor and methods
 * stage their arrays as the functions do. Only this wrapper's closures hold the binding's object,
 * so when the caller drops the wrapper, the binding's object is collected and emnapi's finalizer
 * deletes the C++ one, returning its wasm memory to malloc.
 */
function stagedClass(Raw: Ctor, methods: string[], call: Call): Ctor {
  return class {
    constructor(...args: unknown[]) {
      const inner = call((...a) => new Raw(...a), args) as Record<string, Fn>;
      for (const m of methods)
        Object.defineProperty(this, m, { value: (...a: unknown[]) => call(inner[m].bind(inner), a) });
    }
  };
}

interface Heap {
  memory: WebAssembly.Memory;
  malloc: (bytes: number) => number;
  free: (ptr: number) => void;
}

/** A caller's ArrayBuffer range [start, end), copied to wasm memory at `ptr` for one call. */
interface Staged {
  buffer: ArrayBufferLike;
  start: number;
  end: number;
  ptr: number;
}

/**
 * Calls an addon function with its typed arrays copied into wasm memory and copied back after
 * (the kernels read and write wasm memory only). Arrays on one buffer share one copy, so the
 * binding still sees an overlap between them. A call that passes arrays ends with the `async`
 * flag (binding/napi/args.h): it runs synchronously here and its result comes as a Promise.
 */
function callStaged(f: Fn, args: unknown[], heap: Heap, sync: (v: ArrayBufferView) => unknown): unknown {
  const views = args.filter((a): a is View => ArrayBuffer.isView(a) && !(a instanceof DataView));
  const async = views.length > 0 && args[args.length - 1] === true;
  const staged: Staged[] = [];
  try {
    for (const v of views) {
      let s = staged.find((x) => x.buffer === v.buffer);
      if (!s) staged.push((s = { buffer: v.buffer, start: v.byteOffset, end: v.byteOffset + v.byteLength, ptr: 0 }));
      s.start = Math.min(s.start, v.byteOffset) & ~7; // keeps every view's alignment
      s.end = Math.max(s.end, v.byteOffset + v.byteLength);
    }
    for (const s of staged) {
      s.ptr = heap.malloc(Math.max(s.end - s.start, 1));
      if (!s.ptr) throw new RangeError('fusedloss wasm: out of memory');
      new Uint8Array(heap.memory.buffer).set(new Uint8Array(s.buffer, s.start, s.end - s.start), s.ptr);
    }
    const local = args.map((a, i) => {
      if (async && i === args.length - 1) return false;
      if (!views.includes(a as View)) return a;
      const v = a as View;
      const s = staged.find((x) => x.buffer === v.buffer)!;
      const Ctor = v.constructor as new (b: ArrayBufferLike, offset: number, length: number) => View;
      return new Ctor(heap.memory.buffer, s.ptr + v.byteOffset - s.start, v.length);
    });
    let result: unknown;
    try {
      result = f(...local);
      // An array the binding created lives in JS memory, its contents in emnapi's wasm copy.
      if (ArrayBuffer.isView(result) && result.buffer !== heap.memory.buffer) sync(result);
    } catch (e) {
      if (async) return Promise.reject(e);
      throw e;
    }
    // The heap may have grown (and its buffer moved) during the call.
    for (const s of staged) {
      new Uint8Array(s.buffer, s.start, s.end - s.start).set(
        new Uint8Array(heap.memory.buffer, s.ptr, s.end - s.start),
      );
    }
    return async ? Promise.resolve(result) : result;
  } finally {
    for (const s of staged) if (s.ptr) heap.free(s.ptr);
  }
}
