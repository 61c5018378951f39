// Seeded stand-in predictions for the loss timings (the values do not change the work done).
import { mulberry32 } from '../src/random';

export function randomRows(n: number, seed: number, scale = 2): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (r() - 0.5) * 2 * scale);
}
