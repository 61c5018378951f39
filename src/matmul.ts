// Dense float32 products in TypeScript for what the fused kernels do not cover: a head's logits
// for inference, and the binary cross-entropy head (formulas T.1). Row-major, float64 sums; the
// loops run along contiguous rows so V8 keeps them tight. O(n p k): these build the n x p
// result, which the fused losses avoid.

/** out (n x p) = A (n x k) B^T (B: p x k), plus bias[j] on column j when given. */
export function mulABt(
  A: Float32Array,
  B: Float32Array,
  n: number,
  p: number,
  k: number,
  bias: Float32Array | null,
  out = new Float32Array(n * p),
): Float32Array {
  for (let i = 0; i < n; i++) {
    const a = i * k;
    for (let j = 0; j < p; j++) {
      const b = j * k;
      let s = bias ? bias[j] : 0;
      for (let l = 0; l < k; l++) s += A[a + l] * B[b + l];
      out[i * p + j] = s;
    }
  }
  return out;
}

/** out (n x p) = A (n x k) B (B: k x p). */
export function mulAB(
  A: Float32Array,
  B: Float32Array,
  n: number,
  p: number,
  k: number,
  out: Float32Array,
): Float32Array {
  const row = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    row.fill(0);
    for (let l = 0; l < k; l++) {
      const a = A[i * k + l];
      if (a === 0) continue;
      const b = l * p;
      for (let j = 0; j < p; j++) row[j] += a * B[b + j];
    }
    for (let j = 0; j < p; j++) out[i * p + j] = row[j];
  }
  return out;
}

/** out (n x p) = A^T B, A: k x n, B: k x p (a sum of k outer products). */
export function mulAtB(
  A: Float32Array,
  B: Float32Array,
  n: number,
  p: number,
  k: number,
  out: Float32Array,
): Float32Array {
  const acc = new Float64Array(n * p);
  for (let l = 0; l < k; l++) {
    for (let i = 0; i < n; i++) {
      const a = A[l * n + i];
      if (a === 0) continue;
      const o = i * p,
        b = l * p;
      for (let j = 0; j < p; j++) acc[o + j] += a * B[b + j];
    }
  }
  for (let i = 0; i < n * p; i++) out[i] = acc[i];
  return out;
}
