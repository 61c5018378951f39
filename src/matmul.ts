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

/**
 * out (n x p) = A B with A n x k (`transposeA` false), or A^T B with A k x n (true); B is k x p.
 * Row i of out is a sum of rows of B, accumulated in double.
 */
export function mulAB(
  A: Float32Array,
  B: Float32Array,
  n: number,
  p: number,
  k: number,
  out: Float32Array,
  transposeA = false,
): Float32Array {
  const [rowStride, colStride] = transposeA ? [1, n] : [k, 1];
  const row = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    row.fill(0);
    for (let l = 0; l < k; l++) {
      const a = A[i * rowStride + l * colStride];
      if (a === 0) continue;
      const b = l * p;
      for (let j = 0; j < p; j++) row[j] += a * B[b + j];
    }
    for (let j = 0; j < p; j++) out[i * p + j] = row[j];
  }
  return out;
}
