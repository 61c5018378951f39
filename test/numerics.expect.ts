// The agreement DESIGN.md sets (loss within 1e-5 relative, gradient within 1e-4 of its largest
// entry), held against a float64 truth (numerics.truth.ts's truthErrors).
import { expect } from 'vitest';
import { truthErrors, type Truth } from './numerics.truth';

/** `unit` (optional): the size of the terms the gradient entries are differences of (truthErrors). */
export function expectTruth(got: { loss: number; grad: ArrayLike<number> }, want: Truth, what = '', unit = 0): void {
  const { lossErr, gradErr } = truthErrors(got, want, unit);
  expect(lossErr, `${what} loss ${got.loss} vs ${want.loss}`).toBeLessThan(1e-5);
  expect(
    gradErr,
    `${what} grad [${Array.from(got.grad).slice(0, 6)}] vs [${Array.from(want.grad).slice(0, 6)}]`,
  ).toBeLessThan(1e-4);
}
