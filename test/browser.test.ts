// The browser entry in a browser: test/browser/page.mjs, bundled by esbuild for the browser from
// 'fusedloss/wasm' as a consumer imports it (dist/ and prebuilds/wasm32, so `npm run build:ts`
// and `npm run build:wasm` first), runs one loss per family in headless Chromium; the results
// must match the float64 reference computed here, as must one fusedloss/tfjs op per family (value
// and gradient) on tfjs's 'cpu' and 'wasm' backends there (tfjs-backend-wasm's own .wasm binaries
// are served from /tfjs/).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import * as fl from '../src';
import { expectAgree, randomBinaryLabels, randomClassLabels, randomScores } from './helpers';

const root = path.resolve(__dirname, '..');
const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const wasmFile = path.join(root, 'prebuilds', 'wasm32', 'fusedloss.wasm');
const tfjsWasmDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
const tfjsWasmFiles = readdirSync(tfjsWasmDir).filter((f) => f.endsWith('.wasm'));
// CI installs Chromium and builds the wasm; a clone without them skips.
const ready = (!!chromium && existsSync(wasmFile)) || !!process.env.CI;

const [classes, listSize, dim] = [7, 12, 16];
const inputs = {
  x: randomScores(500, 1, 2),
  y: randomBinaryLabels(500, 2),
  logits: randomScores(40 * classes, 3, 3),
  targets: randomClassLabels(40, classes, 4),
  classes,
  s: randomScores(30 * listSize, 5, 2),
  rel: Float32Array.from(randomClassLabels(30 * listSize, 4, 6)),
  listSize,
  e: randomScores(48 * dim, 7),
  ey: randomClassLabels(48, 6, 8),
  dim,
};

interface Plain {
  loss: number;
  grad: number[];
}
// One loss per family (confusion, spherical, ranking, pairs).
type Family = 'anyLoss' | 'softmaxCrossEntropy' | 'listMLE' | 'multiSimilarity';
type TfjsResults = Record<Family, Plain> & { backend: string };
type PageResult = Record<Family | 'explicitWasm', Plain> & {
  error?: string;
  tfjs: { cpu: TfjsResults; wasm: TfjsResults };
  before: { available: boolean; reason?: string };
  backends: fl.BackendReport;
};

let work = '';
let server: Server | undefined;
afterAll(() => {
  server?.close();
  // Retries: a Chromium helper process can still be writing its profile as the folder goes.
  if (work) rmSync(work, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
});

/** Bundles the page, serves it with the .wasm and the inputs, and waits for Chromium's POST. */
async function runPage(): Promise<PageResult> {
  work = mkdtempSync(path.join(tmpdir(), 'fusedloss-browser-'));
  // A consumer's node_modules/fusedloss, so the bundler resolves the package's exports and browser field.
  mkdirSync(path.join(work, 'node_modules'));
  symlinkSync(root, path.join(work, 'node_modules', 'fusedloss'));
  const bundle = await build({
    entryPoints: [path.join(root, 'test', 'browser', 'page.mjs')],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    nodePaths: [path.join(work, 'node_modules'), path.join(root, 'node_modules')],
    logLevel: 'silent',
  });
  const files: Record<string, [string, Buffer | string]> = {
    '/': ['text/html', '<!doctype html><script type="module" src="/page.js"></script>'],
    '/page.js': ['text/javascript', bundle.outputFiles[0].text],
    '/fusedloss.wasm': ['application/wasm', readFileSync(wasmFile)],
    ...Object.fromEntries(
      tfjsWasmFiles.map((f) => [`/tfjs/${f}`, ['application/wasm', readFileSync(path.join(tfjsWasmDir, f))]]),
    ),
    '/inputs.json': [
      'application/json',
      JSON.stringify(inputs, (_, v: unknown) => (ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v)),
    ],
  };
  const posted = new Promise<string>((resolve) => {
    server = createServer((req, res) => {
      if (req.method === 'POST') {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => (res.end(), resolve(body)));
        return;
      }
      const f = files[req.url ?? ''];
      res.writeHead(f ? 200 : 404, { 'content-type': f?.[0] ?? 'text/plain' }).end(f?.[1]);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server!.address() as AddressInfo;
  const browser = spawn(chromium!, [
    ...['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'],
    ...['--disable-background-networking', '--disable-component-update', '--disable-sync'],
    `--user-data-dir=${path.join(work, 'profile')}`,
    `http://127.0.0.1:${port}/`,
  ]);
  let log = '';
  browser.stderr.on('data', (c: Buffer) => (log += c.toString()));
  const exited = new Promise<never>((_, reject) =>
    browser.on('exit', (code) => reject(new Error(`chromium exited (${code}) before the page posted:\n${log}`))),
  );
  // 'close' comes once every process holding Chromium's stderr (its helpers too) has let it go.
  const closed = new Promise<void>((resolve) => browser.on('close', () => resolve()));
  try {
    return JSON.parse(await Promise.race([posted, exited])) as PageResult;
  } finally {
    browser.kill();
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  }
}

describe('fusedloss/wasm in headless Chromium', () => {
  it.skipIf(!ready)('runs one loss per family on the WebAssembly build, matching the reference', async () => {
    expect(spawnSync(chromium!, ['--version']).status).toBe(0);
    const r = await runPage();
    expect(r.error).toBeUndefined();
    // Before initWasm() 'auto' has only the reference, and says why; after it, 'wasm' is there.
    expect(r.before).toMatchObject({ available: false, reason: expect.stringMatching(/initWasm/) });
    expect(r.backends.wasm.available).toBe(true);
    expect(r.backends.cpu.available).toBe(false);
    const { x, y, logits, targets, s, rel, e, ey } = inputs;
    const js = { backend: 'js' } as const;
    const reference: Record<Family, fl.LossResult> = {
      anyLoss: fl.anyLoss(x, y, { metric: 'mcc', ...js }),
      softmaxCrossEntropy: fl.softmaxCrossEntropy(logits, targets, { classes, ...js }),
      listMLE: fl.listMLE(s, rel, { listSize, ...js }),
      multiSimilarity: fl.multiSimilarity(e, ey, { dim, ...js }),
    };
    for (const [family, expected] of Object.entries(reference) as [Family, fl.LossResult][]) {
      expectAgree(r[family], expected, family);
      // The fusedloss/tfjs op on each tfjs backend in the page: its value and tf.valueAndGrad gradient.
      for (const backend of ['cpu', 'wasm'] as const) {
        expect(r.tfjs[backend].backend).toBe(backend);
        expectAgree(r.tfjs[backend][family], expected, `tfjs ${backend} ops.${family}`);
      }
    }
    // 'auto' ran the wasm build: the same bits as asking for it.
    expect(r.anyLoss).toEqual(r.explicitWasm);
  });
});
