// The part of the WebAssembly JS API that src/wasm.ts uses: Node 20 has it, but its types live in
// TypeScript's DOM library (and @types/node from 22 on), which this project does not include.
declare namespace WebAssembly {
  type ExportValue = unknown;
  type Exports = Record<string, ExportValue>;
  type Imports = Record<string, Record<string, unknown>>;
  class Module {
    constructor(bytes: ArrayBufferView | ArrayBuffer);
  }
  class Instance {
    constructor(module: Module, imports?: Imports);
    readonly exports: Exports;
  }
  class Memory {
    readonly buffer: ArrayBuffer;
  }
  class Table {
    readonly length: number;
  }
  function compile(bytes: ArrayBufferView | ArrayBuffer): Promise<Module>;
}
