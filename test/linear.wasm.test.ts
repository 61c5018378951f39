// linearCrossEntropy on the 'wasm' backend (the CPU kernel built by Emscripten, single-threaded)
// against the float64 reference, on the odd sizes with every option. Needs `npm run build:wasm`
// (CI always has it; a clone may not, and then this skips, saying so).
import { describe, expect, it } from 'vitest';
import { backends, linearCrossEntropy } from '../src';
import { CASES, checkCase, inputs } from './linear.fixtures';

const wasm = backends().wasm;
const skip = !wasm.available && !process.env.CI;

describe.skipIf(skip)(`linearCrossEntropy on wasm${skip ? ` (skipped: ${wasm.reason})` : ''}`, () => {
  for (const c of CASES.filter((k) => k.B * k.C * k.D <= 2_000_000)) it(c.name, () => checkCase(c, 'wasm'));

  it('gives the CPU kernel’s result', () => {
    const c = CASES.find((k) => k.name.endsWith('every'))!;
    const x = inputs(c);
    const o = { ...c.options, dim: c.D };
    const a = linearCrossEntropy(x.hidden, x.weight, x.targets, { ...o, backend: 'wasm' });
    const b = linearCrossEntropy(x.hidden, x.weight, x.targets, { ...o, backend: 'cpu' });
    // Same C++ and the same summation order; the vector width differs (4 lanes against 8 or 16).
    const diff = a.gradWeight.reduce((m, v, i) => Math.max(m, Math.abs(v - b.gradWeight[i])), 0);
    expect(diff).toBeLessThan(1e-5);
  });
});
