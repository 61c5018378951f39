// Every bound the native layer checks an option against, by the name of its C++ twin in
// binding/napi/bounds.h. `npm run lint` runs scripts/check-wire.mjs, which fails when a value or
// kind here differs from the C++ constexpr, when a name is on one side only, or when a napi
// *_field() call passes a literal bound. Option schemas whose bounds are the native layer's take
// them from here (`bounded`), so each bound is written once per language.
// Keep one entry a line, `  kName: ['number' | 'int', lo, hi],`: the check reads this file as text.
import type { NumberSpec } from './options';

export const WIRE_BOUNDS = {
  kPositive: ['number', 1e-6, 1e6],
  kNonNegative: ['number', 0, 1e6],
  kSigned: ['number', -1e6, 1e6],
  kUnit: ['number', 0, 1],
  kNonNegative100: ['number', 0, 100],
  kNonNegative1e3: ['number', 0, 1e3],
  kNonNegative1e12: ['number', 0, 1e12],
  kFloatNonNegative: ['number', 0, 3.4028234663852886e38],
  kMetricEpsilon: ['number', 1e-12, 1],
  kDiceSmooth: ['number', 1e-12, 1e12],
  kSphericalEps: ['number', 1e-30, 1e6],
  kCosineMargin: ['number', -1, 1],
  kTupleCount: ['number', 0, 1e15],
  kSeed32: ['number', 0, 2 ** 32 - 1],
  kMarginScale: ['number', 0, 1e4],
  kMarginM: ['number', 0, 2],
  kDimension: ['int', 1, 2 ** 24],
  kCount: ['int', 1, 2 ** 31 - 1],
  kNonNegativeInt: ['int', 0, 2 ** 31 - 1],
  kInt32: ['int', -(2 ** 31), 2 ** 31 - 1],
  kExponent: ['int', 1, 2],
  kSubCenters: ['int', 1, 64],
  kSinkhornIter: ['int', 0, 1000],
  kHeadClasses: ['int', 2, 2 ** 30],
  kHeadDim: ['int', 1, 2 ** 14],
} as const satisfies Record<string, readonly ['number' | 'int', number, number]>;

/**
 * A number option checked against the native bound `name`; an integer for an 'int' bound, or where
 * `integer` asks (a 'number' bound the native layer converts, like a 32-bit seed).
 */
export function bounded(name: keyof typeof WIRE_BOUNDS, integer = false): NumberSpec {
  const [kind, min, max] = WIRE_BOUNDS[name];
  return kind === 'int' || integer ? { kind: 'number', integer: true, min, max } : { kind: 'number', min, max };
}
