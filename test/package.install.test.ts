// The npm tarball as a user gets it: built by `npm run build:prebuild`, packed, and installed
// into an empty folder with install scripts disabled and nothing on PATH but node (no compiler,
// make, cmake or nvcc). There a loss must run from CommonJS, from an ES module and from
// type-checked TypeScript, and backends() must show the prebuild, not a local build, was loaded.
import { execFileSync, spawnSync, type ExecFileSyncOptions } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');
const node = process.execPath;
// npm is itself a node script: run it with the node binary, so PATH can hold nothing else.
const npmCli = realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');

let work = '';
let consumer = '';
let tarball = '';
let files: string[] = [];
let env: NodeJS.ProcessEnv = {};

// Runs node in the consumer folder; a failure carries the child's output, tsc's errors included.
function run(args: string[], options: ExecFileSyncOptions = {}): string {
  try {
    return execFileSync(node, args, { cwd: consumer, env, encoding: 'utf8', stdio: 'pipe', ...options }) as string;
  } catch (e) {
    const { stdout, stderr } = e as { stdout?: string; stderr?: string };
    throw new Error(`node ${args.join(' ').slice(0, 200)} failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

beforeAll(() => {
  // The prebuild build in build-prebuild/linux-x64 as it stands (npm run build:prebuild's), or
  // where there is none, its twin that npm run build links beside the test build: the suite
  // compiles nothing of its own.
  execFileSync(node, [path.join(root, 'scripts', 'prebuild.mjs'), '--reuse'], { cwd: root, stdio: 'pipe' });
  work = mkdtempSync(path.join(tmpdir(), 'fusedloss-pack-'));
  const packed = JSON.parse(
    execFileSync(node, [npmCli, 'pack', '--json', '--ignore-scripts', '--pack-destination', work], {
      cwd: root,
      encoding: 'utf8',
    }),
  ) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(work, packed[0].filename);
  files = packed[0].files.map((f) => f.path);

  const bin = path.join(work, 'bin');
  mkdirSync(bin);
  symlinkSync(node, path.join(bin, 'node'));
  env = { PATH: bin };
  for (const keep of ['HOME', 'npm_config_cache']) if (process.env[keep]) env[keep] = process.env[keep];
  consumer = path.join(work, 'consumer');
  mkdirSync(consumer);
  writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  // tfjs-core and its cpu backend too, for the './tfjs' subpath (an optional peer dependency).
  const tfjs = ['@tensorflow/tfjs-core@4.22.0', '@tensorflow/tfjs-backend-cpu@4.22.0'];
  run([npmCli, 'install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', tarball, ...tfjs]);
}, 1_200_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('holds dist/, the prebuild and the docs, and no tests, sources or build folders', () => {
    expect(files).toContain('prebuilds/linux-x64/fusedloss.glibc.node');
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.mjs');
    expect(files).toContain('dist/index.d.mts');
    for (const doc of ['README.md', 'LICENSE', 'CHANGELOG.md', 'package.json']) expect(files).toContain(doc);
    const docs = [
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
      'package.json',
      'tfjs/package.json',
      'wasm/package.json',
      'docs/formulas.md', // the TSDoc cites its sections
    ];
    const stray = files.filter((f) => !/^(dist|prebuilds)\//.test(f) && !docs.includes(f));
    expect(stray).toEqual([]);
    expect(statSync(tarball).size).toBeLessThan(15 * 2 ** 20);
  });

  it('holds a linux-x64 prebuild that needs glibc 2.28 at most', () => {
    const check = path.join(root, 'scripts', 'check-glibc.mjs');
    const prebuild = path.join(root, 'prebuilds', 'linux-x64', 'fusedloss.glibc.node');
    expect(execFileSync(node, [check, prebuild], { encoding: 'utf8' })).toMatch(/: ok\n$/);
  });

  it('has no install script (npm would warn about one, and run it where scripts are allowed)', () => {
    const installed = path.join(consumer, 'node_modules', 'fusedloss', 'package.json');
    const { scripts = {} } = JSON.parse(readFileSync(installed, 'utf8')) as { scripts?: Record<string, string> };
    const lifecycle = ['preinstall', 'install', 'postinstall', 'prepare'].filter((k) => k in scripts);
    expect(lifecycle).toEqual([]);
  });

  it('installs where PATH has no compiler, make, cmake or nvcc', () => {
    const found = execFileSync(
      '/bin/sh',
      ['-c', 'for t in cc gcc g++ c++ clang make cmake nvcc; do command -v $t; done; true'],
      {
        env,
        encoding: 'utf8',
      },
    );
    expect(found).toBe('');
  });

  it('runs a loss from CommonJS, on the prebuilt addon', () => {
    const out = run([
      '-e',
      `const f = require('fusedloss');
       const r = f.anyLoss(new Float32Array([2, -1, 0.5]), new Float32Array([1, 0, 1]), { metric: 'f1', backend: 'cpu' });
       const b = f.backends();
       console.log(JSON.stringify({ loss: r.loss, n: r.grad.length, cpu: b.cpu.available, sim: b['cuda-sim'].available, path: require.resolve('fusedloss') }));`,
    ]);
    const r = JSON.parse(out) as { loss: number; n: number; cpu: boolean; sim: boolean; path: string };
    expect(r.loss).toBeGreaterThan(0);
    expect(r.loss).toBeLessThan(1);
    expect(r.n).toBe(3);
    expect(r.cpu).toBe(true);
    expect(r.sim).toBe(false); // release builds leave the simulator out: this is the prebuild
    expect(r.path.startsWith(consumer)).toBe(true);
  });

  it('runs a loss from an ES module, with named imports', () => {
    const out = run([
      '--input-type=module',
      '-e',
      `import { zLoss, backends } from 'fusedloss';
       const r = zLoss(new Float32Array([1, 2, 3, 4, 0, 1]), new Int32Array([2, 0]), { backend: 'cpu' });
       console.log(JSON.stringify({ loss: r.loss, cpu: backends().cpu.available }));`,
    ]);
    const r = JSON.parse(out) as { loss: number; cpu: boolean };
    expect(Number.isFinite(r.loss)).toBe(true);
    expect(r.cpu).toBe(true);
  });

  it('runs a tfjs op through fusedloss/tfjs, from CommonJS and from an ES module', () => {
    const body = `await tf.setBackend('cpu');
       const g = tf.grad((p) => ops.zLoss(tf.tensor1d([2, 0], 'int32'), p))(tf.tensor2d([1, 2, 3, 4, 0, 1], [2, 3]));
       console.log(g.shape.join('x'), Number.isFinite(g.dataSync()[0]));`;
    const cjs = `const tf = require('@tensorflow/tfjs-core'); require('@tensorflow/tfjs-backend-cpu');
       const { ops } = require('fusedloss/tfjs'); (async () => { ${body} })();`;
    const esm = `import * as tf from '@tensorflow/tfjs-core'; import '@tensorflow/tfjs-backend-cpu';
       import { ops } from 'fusedloss/tfjs'; ${body}`;
    expect(run(['-e', cjs]).trim()).toBe('2x3 true');
    expect(run(['--input-type=module', '-e', esm]).trim()).toBe('2x3 true');
  });

  it('type-checks TypeScript that imports it and fusedloss/tfjs (CommonJS and ESM types)', () => {
    const use = `import { anyLoss, backends, type BackendReport } from 'fusedloss';
import { losses, ops, type LayersLoss } from 'fusedloss/tfjs';
const r = anyLoss(new Float32Array([1, -1]), new Float32Array([1, 0]), { metric: 'mcc' });
const loss: number = r.loss;
const grad: Float32Array = r.grad;
const b: BackendReport = backends();
const layers: LayersLoss = losses.softmaxCrossEntropy({ labelSmoothing: 0.1 });
export { loss, grad, b, layers, ops };
// @ts-expect-error: 'f2' is not a metric name
anyLoss(new Float32Array(1), new Float32Array(1), { metric: 'f2' });
// @ts-expect-error: tfjs owns the gradient, so the ops take no options.out
losses.zLoss({ out: new Float32Array(1) });
`;
    writeFileSync(path.join(consumer, 'cjs.ts'), use);
    writeFileSync(path.join(consumer, 'esm.mts'), use);
    const flags = ['--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16'];
    expect(run([tsc, ...flags, 'cjs.ts', 'esm.mts'])).toBe('');
  });

  it('without a binary for this machine, warns once and says why in backends(); js still works', () => {
    rmSync(path.join(consumer, 'node_modules', 'fusedloss', 'prebuilds'), { recursive: true });
    const child = spawnSync(
      node,
      [
        '-e',
        `const f = require('fusedloss');
         const b = f.backends();
         const r = f.anyLoss(new Float32Array([2, -1]), new Float32Array([1, 0]), { metric: 'f1' });
         f.zLoss(new Float32Array([1, 2]), new Int32Array([0]));
         console.log(JSON.stringify({ cpu: b.cpu.available, reason: b.cpu.reason, loss: r.loss }));`,
      ],
      { cwd: consumer, env, encoding: 'utf8' },
    );
    expect(child.status).toBe(0);
    expect(child.stderr.match(/FUSEDLOSS_NO_NATIVE/g)).toHaveLength(1);
    const out = child.stdout;
    const r = JSON.parse(out) as { cpu: boolean; reason: string; loss: number };
    expect(r.cpu).toBe(false);
    expect(r.reason).toMatch(/platform=linux arch=x64/);
    expect(r.reason).toMatch(/build from a clone/);
    expect(Number.isFinite(r.loss)).toBe(true);
  });
});
