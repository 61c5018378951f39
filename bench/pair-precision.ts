// The error of each CUDA precision (options.precision) of the pair losses, measured in the
// simulator ('cuda-sim': the tensor-core kernels, TF32 and BF16 rounding bit-exact) against the
// float64 reference ('js'): unit-norm rows (normalize: true), N rows in 16 classes, D = 64, 128 and
// 512. Prints a markdown table: the loss's relative error, the gradient's largest error and its
// RMS error, both relative to the largest gradient entry. The errors of S alone are sim_selftest's
// (test/native/sim_selftest.cu, test 9). A test build (cuda-sim) is needed:
//   npx tsx bench/pair-precision.ts [N (default 256)] [loss names...]
import {
  backends,
  circleLoss,
  contrastive,
  multiSimilarity,
  ntXent,
  supCon,
  tripletBatchHard,
  type LossResult,
  type PairOptions,
  type PairPrecision,
  type PairPrecisionOptions,
} from '../src';
import { mulberry32 } from '../src/random';
import { normals } from './timing';

type Call = (x: Float32Array, y: Int32Array, o: PairOptions & PairPrecisionOptions) => LossResult;
const LOSSES: [string, Call][] = [
  ['multiSimilarity', (x, y, o) => multiSimilarity(x, y, o)],
  ['contrastive', (x, y, o) => contrastive(x, y, o)],
  ['tripletBatchHard', (x, y, o) => tripletBatchHard(x, y, o)],
  ['circleLoss', (x, y, o) => circleLoss(x, y, o)],
  ['supCon', (x, y, o) => supCon(x, y, o)],
  ['ntXent', (x, y, o) => ntXent(x, y, o)],
];
const PRECISIONS: PairPrecision[] = ['fp32', 'tf32', 'bf16'];

function errors(got: LossResult, want: LossResult) {
  const l = Number(got.loss),
    r = Number(want.loss);
  let max = 0,
    sq = 0,
    scale = 0;
  for (let i = 0; i < want.grad.length; i++) {
    const e = Math.abs(got.grad[i] - want.grad[i]);
    max = Math.max(max, e);
    sq += e * e;
    scale = Math.max(scale, Math.abs(want.grad[i]));
  }
  return { loss: Math.abs(l - r) / Math.abs(r), max: max / scale, rms: Math.sqrt(sq / want.grad.length) / scale };
}

if (!backends()['cuda-sim'].available) {
  console.log(`pair-precision: needs the cuda-sim backend (${backends()['cuda-sim'].reason})`);
  process.exit(0);
}
const args = process.argv.slice(2);
const n = args.length > 0 && /^\d+$/.test(args[0]) ? Number(args.shift()) : 256;
const chosen = LOSSES.filter(([name]) => args.length === 0 || args.includes(name));
const e = (v: number) => v.toExponential(1);
console.log(`N = ${n}, 16 classes, unit-norm rows; errors against the float64 reference (cuda-sim)\n`);
console.log('| loss | D | precision | loss rel. error | grad max error | grad RMS error |\n|---|---|---|---|---|---|');
for (const [name, call] of chosen) {
  for (const dim of [64, 128, 512]) {
    const x = normals(n * dim, mulberry32(7 * dim + n));
    const y = Int32Array.from({ length: n }, (_, i) => i % 16);
    const want = call(x, y, { dim, backend: 'js' });
    for (const precision of PRECISIONS) {
      const r = errors(call(x, y, { dim, precision, backend: 'cuda-sim' }), want);
      console.log(`| ${name} | ${dim} | ${precision} | ${e(r.loss)} | ${e(r.max)} | ${e(r.rms)} |`);
    }
  }
}
