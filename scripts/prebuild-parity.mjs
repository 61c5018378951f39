#!/usr/bin/env node
// Every loss of the registry on a given addon's CPU kernels against the float64 reference (the
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

// Every loss of the registry with a gradient, on its small sample (src/registry.ts: a loss added
// there is checked here too); the ranking metrics and softConfusion's counts have no gradient.
const { LOSS_LIST, gradientKeys, hasGradient } = require('../dist/registry.js');
const cases = LOSS_LIST.filter((e) => hasGradient(e) && e.backends.includes('cpu')).map((e) => [
  e.family,
  e.name,
  (backend) => {
    const args = e.sample('small');
    const options = args.pop();
    const r = e.sync(...args, { ...options, backend });
    return { loss: r.loss, grads: gradientKeys(e).map((k) => r[k]) };
  },
]);

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
    dg = Math.max(...cpu.grads.map((g, i) => gradError(g, ref.grads[i])));
  const stable = Object.is(one.loss, cpu.loss) && one.grads.every((g, i) => bitwise(g, cpu.grads[i]));
  const ok = Number.isFinite(cpu.loss) && dl < 1e-5 && dg < 1e-4 && stable;
  console.log(
    `${ok ? 'ok  ' : 'FAIL'} ${family}/${name}: loss ${dl.toExponential(1)}, grad ${dg.toExponential(1)}${stable ? '' : ', differs across 1 and 2 threads'}`,
  );
  if (!ok) failures.push(name);
}
const [ls, lr, lo] = require('../dist/registry.js').LOSSES.listMLE.sample('small');
const viaAsync = await fl.listMLEAsync(ls, lr, { ...lo, backend: 'cpu' });
const sync = fl.listMLE(ls, lr, { ...lo, backend: 'cpu' });
if (!(Object.is(viaAsync.loss, sync.loss) && bitwise(viaAsync.grad, sync.grad))) failures.push('listMLEAsync');
console.log(
  `prebuild-parity: ${addon} (${process.arch}, glibc ${process.report.getReport().header.glibcVersionRuntime}, ` +
    `cuda compiled: ${report.cuda.compiled}): ${cases.length + 1 - failures.length} passed, ${failures.length} failed`,
);
process.exit(failures.length ? 1 : 0);
