// The backend the *.cpu.test.ts files run the C++ kernels on: the native addon ('cpu'), or their
// WebAssembly build ('wasm') with FUSEDLOSS_TEST_BACKEND=wasm (CI runs the files both ways).
export const NATIVE: 'cpu' | 'wasm' = process.env.FUSEDLOSS_TEST_BACKEND === 'wasm' ? 'wasm' : 'cpu';
