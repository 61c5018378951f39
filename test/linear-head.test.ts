// LinearHead against a dense float64 step written here, independently of the library: logits,
// softmax cross-entropy (or per-class binary cross-entropy), the gradients by the chain rule, and
// PyTorch's SGD (momentum, coupled weight decay) and AdamW (decoupled weight decay) updates. Two
// steps each, so that the momentum and the moments carry over; odd sizes; every backend the
// linear loss has here. Then saving and restoring, inference, and argument errors.
import { describe, expect, it } from 'vitest';
import { LinearHead, type LinearHeadOptions } from '../src';
import { referenceMarginCrossEntropy, type MarginRefParams } from '../src/reference/linear';
import { randomClassLabels, randomScores } from './helpers';
import { NATIVE } from './native-backend';

interface Dense {
  W: Float64Array;
  b: Float64Array;
  m: { W: Float64Array; b: Float64Array };
  v: { W: Float64Array; b: Float64Array };
  t: number;
}

/** The mean loss and the gradients of z = H W^T + b, in float64. */
function denseGradients(
  H: Float32Array,
  d: Dense,
  B: number,
  C: number,
  D: number,
  targets: ArrayLike<number>,
  bce: boolean,
) {
  const G = new Float64Array(B * C);
  let loss = 0;
  for (let i = 0; i < B; i++) {
    const z = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      let s = d.b[c];
      for (let k = 0; k < D; k++) s += H[i * D + k] * d.W[c * D + k];
      z[c] = s;
    }
    if (bce) {
      for (let c = 0; c < C; c++) {
        const y = targets[i * C + c],
          x = z[c];
        // y softplus(-x) + (1 - y) softplus(x); d/dx = sigmoid(x) - y
        const sp = (u: number) => Math.max(u, 0) + Math.log1p(Math.exp(-Math.abs(u)));
        loss += y * sp(-x) + (1 - y) * sp(x);
        G[i * C + c] = (1 / (1 + Math.exp(-x)) - y) / B;
      }
    } else {
      const m = Math.max(...z);
      const lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
      const t = targets[i];
      loss += lse - z[t];
      for (let c = 0; c < C; c++) G[i * C + c] = (Math.exp(z[c] - lse) - (c === t ? 1 : 0)) / B;
    }
  }
  const gH = new Float64Array(B * D),
    gW = new Float64Array(C * D),
    gb = new Float64Array(C);
  for (let i = 0; i < B; i++)
    for (let c = 0; c < C; c++) {
      const g = G[i * C + c];
      gb[c] += g;
      for (let k = 0; k < D; k++) {
        gH[i * D + k] += g * d.W[c * D + k];
        gW[c * D + k] += g * H[i * D + k];
      }
    }
  return { loss: loss / B, gH, gW, gb };
}

type Opt =
  | { kind: 'sgd'; lr: number; momentum: number; wd: number }
  | { kind: 'adamw'; lr: number; b1: number; b2: number; eps: number; wd: number };

/** PyTorch's torch.optim.SGD / AdamW update of one parameter; `decay` false for the bias. */
function denseUpdate(
  o: Opt,
  t: number,
  p: Float64Array,
  g: Float64Array,
  m: Float64Array,
  v: Float64Array,
  decay: boolean,
) {
  const wd = decay ? o.wd : 0;
  for (let i = 0; i < p.length; i++) {
    if (o.kind === 'sgd') {
      const gi = g[i] + wd * p[i];
      m[i] = o.momentum * m[i] + gi;
      p[i] -= o.lr * m[i];
    } else {
      p[i] *= 1 - o.lr * wd;
      m[i] = o.b1 * m[i] + (1 - o.b1) * g[i];
      v[i] = o.b2 * v[i] + (1 - o.b2) * g[i] * g[i];
      const mh = m[i] / (1 - o.b1 ** t),
        vh = v[i] / (1 - o.b2 ** t);
      p[i] -= (o.lr * mh) / (Math.sqrt(vh) + o.eps);
    }
  }
}

/** `code: message` of what f throws, or 'no error'. */
function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return `${(e as { code?: string }).code}: ${(e as Error).message}`;
  }
  return 'no error';
}

/** max |a - b| / max(1, max |b|): the agreement asked of a step (1e-5). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0,
    scale = 1;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return err / scale;
}

const OPTIMIZERS: [string, Partial<LinearHeadOptions>, Opt][] = [
  [
    'SGD, momentum 0.9, weight decay 0.01',
    { optimizer: 'sgd', lr: 0.3, momentum: 0.9, weightDecay: 0.01 },
    { kind: 'sgd', lr: 0.3, momentum: 0.9, wd: 0.01 },
  ],
  ['SGD without momentum', { optimizer: 'sgd', lr: 0.5 }, { kind: 'sgd', lr: 0.5, momentum: 0, wd: 0 }],
  [
    'AdamW, weight decay 0.1',
    { optimizer: 'adamw', lr: 0.01, weightDecay: 0.1, beta2: 0.99 },
    { kind: 'adamw', lr: 0.01, b1: 0.9, b2: 0.99, eps: 1e-8, wd: 0.1 },
  ],
];

const backendsUnderTest = (process.env.HEADS_JS_ONLY ? ['js'] : [...new Set([NATIVE, 'js'] as const)]) as (
  'cpu' | 'wasm' | 'js'
)[];

describe('one LinearHead step equals a dense float64 step', () => {
  for (const backend of backendsUnderTest)
    for (const [name, options, o] of OPTIMIZERS)
      for (const loss of ['softmax', 'bce'] as const)
        for (const [B, C, D] of [
          [7, 33, 13],
          [1, 1, 7],
          [33, 7, 1],
        ] as const) {
          it(`${loss}, ${name}, B ${B} C ${C} D ${D}, ${backend}`, () => {
            const head = new LinearHead({ classes: C, dim: D, loss, seed: 3, init: 0.5, backend, ...options });
            const d: Dense = {
              W: Float64Array.from(head.weight),
              b: new Float64Array(C),
              m: { W: new Float64Array(C * D), b: new Float64Array(C) },
              v: { W: new Float64Array(C * D), b: new Float64Array(C) },
              t: 0,
            };
            // A nonzero bias, so that its gradient and update show.
            head.bias!.set(randomScores(C, 5, 0.5));
            d.b.set(head.bias!);
            for (let s = 0; s < 2; s++) {
              const H = randomScores(B * D, 10 + s, 1);
              const targets =
                loss === 'bce'
                  ? randomScores(B * C, 20 + s, 1).map((v) => (v > 0 ? 1 : 0))
                  : randomClassLabels(B, C, 20 + s);
              const want = denseGradients(H, d, B, C, D, targets, loss === 'bce');
              const got = head.step(H, targets);
              expect(Math.abs(got.loss - want.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want.loss)));
              expect(relErr(got.gradHidden, want.gH)).toBeLessThan(1e-5);
              d.t++;
              denseUpdate(o, d.t, d.W, want.gW, d.m.W, d.v.W, true);
              denseUpdate(o, d.t, d.b, want.gb, d.m.b, d.v.b, false);
              expect(relErr(head.weight, d.W)).toBeLessThan(1e-5);
              expect(relErr(head.bias!, d.b)).toBeLessThan(1e-5);
            }
            expect(head.steps).toBe(2);
          });
        }
});

describe('LinearHead inference, saving and errors', () => {
  const B = 9,
    C = 17,
    D = 5;
  const H = randomScores(B * D, 1, 1);
  const t = randomClassLabels(B, C, 2);

  it('logits are h W^T + b, and topK ranks them (ties: the lower class first)', () => {
    const head = new LinearHead({ classes: C, dim: D, seed: 4 });
    head.bias!.set(randomScores(C, 6, 1));
    const z = head.logits(H);
    for (let i = 0; i < B; i++)
      for (let c = 0; c < C; c++) {
        let s = head.bias![c];
        for (let k = 0; k < D; k++) s += H[i * D + k] * head.weight[c * D + k];
        expect(z[i * C + c]).toBeCloseTo(s, 5);
      }
    const top = head.topK(H, 3);
    for (let i = 0; i < B; i++) {
      const row = Array.from(z.subarray(i * C, (i + 1) * C));
      const order = row.map((v, c) => [v, c]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
      expect(Array.from(top.classes.subarray(i * 3, i * 3 + 3))).toEqual(order.slice(0, 3).map((e) => e[1]));
    }
  });

  for (const optimizer of ['sgd', 'adamw'] as const) {
    it(`toJSON / fromJSON restores the parameters and the ${optimizer} state: the next step is the same, bit for bit`, () => {
      const head = new LinearHead({
        classes: C,
        dim: D,
        optimizer,
        momentum: optimizer === 'sgd' ? 0.9 : undefined,
        lr: 0.05,
      });
      head.step(H, t);
      head.step(H, t);
      const copy = LinearHead.fromJSON(JSON.parse(JSON.stringify(head)));
      expect(copy.steps).toBe(2);
      const a = head.step(H, t),
        b = copy.step(H, t);
      expect(b.loss).toBe(a.loss);
      expect(Array.from(copy.weight)).toEqual(Array.from(head.weight));
      expect(Array.from(copy.bias!)).toEqual(Array.from(head.bias!));
    });
  }

  it('training on separable data lowers the loss', () => {
    const head = new LinearHead({ classes: 3, dim: 2, optimizer: 'adamw', lr: 0.05, seed: 1 });
    const h = new Float32Array([1, 0, 0, 1, -1, -1, 0.9, 0.1, 0.1, 0.8, -0.9, -1.2]);
    const y = new Int32Array([0, 1, 2, 0, 1, 2]);
    const first = head.step(h, y).loss;
    let last = first;
    for (let s = 0; s < 200; s++) last = head.step(h, y).loss;
    expect(last).toBeLessThan(first / 5);
  });

  it('refuses bad options and inputs with coded errors naming them', () => {
    expect(code(() => new LinearHead({ classes: 3 } as LinearHeadOptions))).toMatch(
      /^ERR_FUSEDLOSS_INVALID_ARG_TYPE: .*options\.dim is required/,
    );
    expect(code(() => new LinearHead({ classes: 3, dim: 2, optimizer: 'adam' as never }))).toMatch(
      /^ERR_FUSEDLOSS_INVALID_ARG_VALUE: .*options\.optimizer/,
    );
    expect(code(() => new LinearHead({ classes: 3, dim: 2, loss: 'bce', softcap: 5 }))).toMatch(
      /^ERR_FUSEDLOSS_INVALID_ARG_VALUE: .*softcap/,
    );
    const head = new LinearHead({ classes: 3, dim: 2 });
    expect(code(() => head.step(new Float32Array(5), [0, 1]))).toMatch(/^ERR_FUSEDLOSS_LENGTH_MISMATCH: .*hidden/);
    expect(code(() => head.step(new Float32Array(4), [0, 1, 2]))).toMatch(/^ERR_FUSEDLOSS_LENGTH_MISMATCH: .*targets/);
    expect(code(() => head.step(new Float32Array([0, NaN, 0, 0]), [0, 1]))).toMatch(
      /^ERR_FUSEDLOSS_NON_FINITE: .*hidden\[1\]/,
    );
    expect(code(() => head.step(new Float32Array(4), [0, 3]))).toMatch(
      /^ERR_FUSEDLOSS_INVALID_ARG_VALUE: .*targets\[1\] = 3/,
    );
    expect(code(() => head.step(new Float32Array(4), [0, 1], { lr: -1 }))).toMatch(
      /^ERR_FUSEDLOSS_INVALID_ARG_VALUE: .*options\.lr/,
    );
    expect(code(() => head.topK(new Float32Array(4), 4))).toMatch(/^ERR_FUSEDLOSS_INVALID_ARG_VALUE: .*k must be/);
    expect(code(() => LinearHead.fromJSON({} as never))).toMatch(/^ERR_FUSEDLOSS_INVALID_ARG_TYPE: .*toJSON/);
  });
});

describe('LinearHead margin kinds (arcface, cosface)', () => {
  const heads: [string, Partial<LinearHeadOptions>, MarginRefParams][] = [
    [
      'arcface',
      { loss: 'arcface', margin: { s: 16, m: 0.4 }, labelSmoothing: 0.1 },
      { kind: 'arcface', scale: 16, margin: 0.4, subCenters: 1, easyMargin: false },
    ],
    [
      'cosface',
      { loss: 'cosface', lseSquareScale: 1e-3 },
      { kind: 'cosface', scale: 64, margin: 0.35, subCenters: 1, easyMargin: false },
    ],
    [
      'sub-center arcface, k 3',
      { loss: 'arcface', margin: { s: 8, m: 0.3, subCenters: 3 }, lseSquareScale: 1e-3 },
      { kind: 'arcface', scale: 8, margin: 0.3, subCenters: 3, easyMargin: false },
    ],
  ];
  for (const backend of backendsUnderTest)
    for (const [name, options, mp] of heads)
      for (const [oname, hopt, o] of [OPTIMIZERS[0], OPTIMIZERS[2]])
        it(`one step equals the float64 reference and update: ${name}, ${oname}, ${backend}`, () => {
          const [B, C, D] = [7, 33, 13];
          const head = new LinearHead({ classes: C, dim: D, seed: 3, init: 0.5, backend, ...hopt, ...options });
          expect(head.bias).toBeNull();
          expect(head.weight.length).toBe(C * mp.subCenters * D);
          const W = Float64Array.from(head.weight),
            m = new Float64Array(W.length),
            v = new Float64Array(W.length);
          for (let s = 0; s < 2; s++) {
            const H = randomScores(B * D, 10 + s, 1);
            const targets = randomClassLabels(B, C, 20 + s);
            const want = referenceMarginCrossEntropy(
              { hidden: H, weight: W, targets, dim: D },
              {
                ignoreIndex: -100,
                labelSmoothing: options.labelSmoothing ?? 0,
                lseSquareScale: options.lseSquareScale ?? 0,
                reduction: 'mean',
              },
              mp,
            );
            const got = head.step(H, targets);
            expect(Math.abs(got.loss - want.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want.loss)));
            expect(relErr(got.gradHidden, want.gradHidden)).toBeLessThan(1e-5);
            denseUpdate(o, s + 1, W, want.gradWeight, m, v, true);
            expect(relErr(head.weight, W)).toBeLessThan(1e-5);
          }
        });

  it('logits and topK score s cos theta without the margin; toJSON / fromJSON keeps the kind', () => {
    const [B, C, D] = [5, 9, 4];
    const head = new LinearHead({ classes: C, dim: D, loss: 'arcface', margin: { s: 10 }, seed: 2 });
    const H = randomScores(B * D, 3, 2);
    const z = head.logits(H);
    const norm = (x: ArrayLike<number>, i: number) => Math.hypot(...Array.from({ length: D }, (_, k) => x[i * D + k]));
    for (let i = 0; i < B; i++)
      for (let c = 0; c < C; c++) {
        let dot = 0;
        for (let k = 0; k < D; k++) dot += H[i * D + k] * head.weight[c * D + k];
        expect(z[i * C + c]).toBeCloseTo((10 * dot) / (norm(H, i) * norm(head.weight, c)), 5);
      }
    expect(head.topK(H, 1).classes[0]).toBe(Array.from(z.subarray(0, C)).indexOf(Math.max(...z.subarray(0, C))));
    const t = randomClassLabels(B, C, 4);
    head.step(H, t);
    const copy = LinearHead.fromJSON(JSON.parse(JSON.stringify(head)));
    expect(copy.loss).toBe('arcface');
    expect(copy.step(H, t).loss).toBe(head.step(H, t).loss);
  });

  it('with sub-centres: logits and topK score the best sub-centre; toJSON / fromJSON keeps k', () => {
    const [B, C, D, K] = [5, 7, 4, 3];
    const head = new LinearHead({ classes: C, dim: D, loss: 'arcface', margin: { s: 10, subCenters: K }, seed: 2 });
    expect(head.subCenters).toBe(K);
    const H = randomScores(B * D, 3, 2);
    const z = head.logits(H);
    expect(z.length).toBe(B * C);
    const W = head.weight;
    const norm = (x: ArrayLike<number>, i: number) => Math.hypot(...Array.from({ length: D }, (_, k) => x[i * D + k]));
    for (let i = 0; i < B; i++)
      for (let c = 0; c < C; c++) {
        const cos = Array.from({ length: K }, (_, j) => {
          let dot = 0;
          for (let k = 0; k < D; k++) dot += H[i * D + k] * W[(c * K + j) * D + k];
          return dot / (norm(H, i) * norm(W, c * K + j));
        });
        expect(z[i * C + c]).toBeCloseTo(10 * Math.max(...cos), 5);
      }
    const top = head.topK(H, 2);
    const row0 = Array.from(z.subarray(0, C));
    expect(top.classes[0]).toBe(row0.indexOf(Math.max(...row0)));
    const t = randomClassLabels(B, C, 4);
    head.step(H, t);
    const json = JSON.parse(JSON.stringify(head));
    expect(json.options.margin.subCenters).toBe(K);
    const copy = LinearHead.fromJSON(json);
    expect(copy.subCenters).toBe(K);
    expect(copy.weight).toEqual(head.weight);
    expect(copy.step(H, t).loss).toBe(head.step(H, t).loss);
    expect(copy.weight).toEqual(head.weight);
  });

  it('refuses what a margin head cannot have', () => {
    const E = /ERR_FUSEDLOSS_INVALID_ARG_VALUE/;
    expect(code(() => new LinearHead({ classes: 3, dim: 2, loss: 'arcface', bias: true }))).toMatch(E);
    expect(code(() => new LinearHead({ classes: 3, dim: 2, loss: 'cosface', softcap: 5 }))).toMatch(E);
    expect(code(() => new LinearHead({ classes: 3, dim: 2, loss: 'softmax', margin: { s: 3 } }))).toMatch(/margin/);
    expect(code(() => new LinearHead({ classes: 3, dim: 2, loss: 'arcface', margin: { subCenters: 65 } }))).toMatch(
      /subCenters/,
    );
    expect(code(() => new LinearHead({ classes: 3, dim: 2, loss: 'cosface', margin: { easyMargin: true } }))).toMatch(
      /easyMargin/,
    );
  });
});
