#!/usr/bin/env node
// Every loss of every family on a given addon's CPU kernels against the float64 reference (the
// 'js' backend), plus one async call and a threads-1-vs-2 determinism check. Plain JavaScript on
// dist/, so it runs where vitest and its esbuild binary cannot: under qemu-aarch64 with Node for
// arm64, and under an old glibc's loader.
//
//   FUSEDLOSS_ADDON=prebuilds/linux-arm64/fusedloss.glibc.node node scripts/prebuild-parity.mjs
import { Buffer } from 'node:buffer';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const addon = process.env.FUSEDLOSS_ADDON;
if (!addon) throw new Error('prebuild-parity: set FUSEDLOSS_ADDON to the .node file to test');
const fl = require('../dist/index.js');

function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}
const scores = (n, seed, scale = 1) => {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() + r() + r() - 1.5) * 2 * scale);
};
const classLabels = (n, classes, seed) => {
  const r = rng(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r() * classes));
};

const [rows, classes, lists, size, items, dim] = [24, 10, 12, 16, 48, 8];
const x = scores(600, 1, 2);
const y = Float32Array.from(classLabels(600, 10, 2), (v) => (v < 3 ? 1 : 0));
const multi = scores(rows * classes, 3, 3);
const ids = classLabels(rows, classes, 4);
const teacher = scores(rows * classes, 7, 2);
const s = scores(lists * size, 5, 2);
const rel = Float32Array.from(classLabels(lists * size, 5, 6), (v) => v - 1); // -1 pads
const e = scores(items * dim, 8);
const ey = classLabels(items, 6, 9);
const list = { listSize: size };
const pair = { dim };

// [family, name, run(backend)]
const cases = [
  ['confusion', 'anyLoss mcc', (b) => fl.anyLoss(x, y, { metric: 'mcc', backend: b })],
  ['confusion', 'anyLoss macro', (b) => fl.anyLoss(multi, ids, { classes, average: 'macro', backend: b })],
  ['confusion', 'diceLoss', (b) => fl.diceLoss(x, y, { backend: b })],
  ['confusion', 'tverskyLoss', (b) => fl.tverskyLoss(multi, ids, { classes, backend: b })],
  ['confusion', 'binaryCrossEntropy', (b) => fl.binaryCrossEntropy(x, y, { backend: b })],
  ['confusion', 'sigmoidFocal', (b) => fl.sigmoidFocal(x, y, { backend: b })],
  ['spherical', 'zLoss', (b) => fl.zLoss(multi, ids, { classes, backend: b })],
  [
    'spherical',
    'sphericalLoss',
    (b) => fl.sphericalLoss(multi, ids, { classes, kind: 'log-taylor-softmax', backend: b }),
  ],
  [
    'spherical',
    'softmaxCrossEntropy',
    (b) => fl.softmaxCrossEntropy(multi, ids, { classes, labelSmoothing: 0.1, backend: b }),
  ],
  ['ranking', 'rankList', (b) => fl.rankList(s, rel, { ...list, backend: b })],
  ['ranking', 'listMLE', (b) => fl.listMLE(s, rel, { ...list, backend: b })],
  ['ranking', 'listNet', (b) => fl.listNet(s, rel, { ...list, backend: b })],
  ['ranking', 'rankNet', (b) => fl.rankNet(s, rel, { ...list, backend: b })],
  ['ranking', 'lambdaLoss', (b) => fl.lambdaLoss(s, rel, { ...list, scheme: 'ndcgLoss2PP', backend: b })],
  ['ranking', 'plackettLuceDistill', (b) => fl.plackettLuceDistill(multi, teacher, ids, { backend: b })],
  ['pairs', 'multiSimilarity', (b) => fl.multiSimilarity(e, ey, { ...pair, backend: b })],
  ['pairs', 'contrastive', (b) => fl.contrastive(e, ey, { ...pair, backend: b })],
  ['pairs', 'tripletBatchHard', (b) => fl.tripletBatchHard(e, ey, { ...pair, backend: b })],
  ['pairs', 'circleLoss', (b) => fl.circleLoss(e, ey, { ...pair, backend: b })],
  ['pairs', 'supCon', (b) => fl.supCon(e, ey, { ...pair, backend: b })],
  ['pairs', 'ntXent', (b) => fl.ntXent(e, null, { ...pair, backend: b })],
  ['pairs', 'orthogonalProjection', (b) => fl.orthogonalProjection(e, ey, { ...pair, backend: b })],
];

// The vitest suites' measures: the loss to 1e-5 (relative, or absolute near 0) and the gradient
// to 1e-4 of its largest entry.
const maxAbs = (a) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const gradError = (a, b) => maxAbs(Array.from(b, (v, i) => a[i] - v)) / (maxAbs(b) || 1);
const lossError = (a, b) => Math.min(Math.abs(a - b) / Math.max(Math.abs(b), 1e-12), Math.abs(a - b));
const bytes = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const bitwise = (a, b) => bytes(a).equals(bytes(b));

const report = fl.backends();
if (!report.cpu.available) throw new Error(`prebuild-parity: the addon did not load: ${report.cpu.reason}`);
const failures = [];
for (const [family, name, run] of cases) {
  fl.setThreads(1);
  const one = run('cpu');
  fl.setThreads(2);
  const cpu = run('cpu');
  const ref = run('js');
  const dl = lossError(cpu.loss, ref.loss),
    dg = gradError(cpu.grad, ref.grad);
  const stable = Object.is(one.loss, cpu.loss) && bitwise(one.grad, cpu.grad);
  const ok = Number.isFinite(cpu.loss) && dl < 1e-5 && dg < 1e-4 && stable;
  console.log(
    `${ok ? 'ok  ' : 'FAIL'} ${family}/${name}: loss ${dl.toExponential(1)}, grad ${dg.toExponential(1)}${stable ? '' : ', differs across 1 and 2 threads'}`,
  );
  if (!ok) failures.push(name);
}
const viaAsync = await fl.listMLEAsync(s, rel, { ...list, backend: 'cpu' });
const sync = fl.listMLE(s, rel, { ...list, backend: 'cpu' });
if (!(Object.is(viaAsync.loss, sync.loss) && bitwise(viaAsync.grad, sync.grad))) failures.push('listMLEAsync');
console.log(
  `prebuild-parity: ${addon} (${process.arch}, glibc ${process.report.getReport().header.glibcVersionRuntime}, ` +
    `cuda compiled: ${report.cuda.compiled}): ${cases.length + 1 - failures.length} passed, ${failures.length} failed`,
);
process.exit(failures.length ? 1 : 0);
