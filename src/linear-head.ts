// LinearHead: a trainable linear output layer z = h W^T + b over C classes (formulas T). Its step
// runs the fused linear cross-entropy (src/losses/linear.ts, formulas J.1), which never holds the
// B x C logits, then updates W and b in place with SGD (momentum) or AdamW (src/optimizer.ts).
// The multi-label kind 'bce' has no fused kernel: it builds the logits (src/matmul.ts). The margin
// kinds 'arcface' and 'cosface' run the same fused loss with options.margin (formulas J.2).
import { requireLength, toFloat32, toTargets, type NumericArray, type Targets } from './arrays';
import { rangeError, typeError } from './errors';
import { checkedHidden, checkK, gaussian, required, toOut, topKOfScores } from './head-common';
import { binaryCrossEntropy } from './losses/confusion';
import { linearCrossEntropy } from './losses/linear';
import { MARGIN_SPEC, readMargin, rowNorms, type MarginOptions } from './losses/linear-margin';
import { mulAB, mulABt } from './matmul';
import type { Backend } from './native';
import {
  OPTIMIZER_SCHEMA,
  applyUpdate,
  newParamState,
  optimizerConfig,
  type OptimizerConfig,
  type OptimizerKind,
  type ParamState,
} from './optimizer';
import { backendSpec, opt, readOptions, type OptionSpec } from './options';

/**
 * 'softmax': softmax cross-entropy over the C classes, one target class per row; 'bce': binary
 * cross-entropy per class (multi-label), targets a rows x C array of labels in [0, 1]; 'arcface'
 * and 'cosface': the margin heads of linearCrossEntropy (formulas J.2), one target class per row,
 * no bias, with `margin` for their constants.
 */
export type LinearHeadLoss = 'softmax' | 'bce' | 'arcface' | 'cosface';

export interface LinearHeadOptions {
  /** Number of classes C, an integer in [1, 2^24]. */
  classes: number;
  /** Width D of the hidden vectors, an integer in [1, 2^24]. */
  dim: number;
  /** The loss (default 'softmax'); see {@link LinearHeadLoss}. */
  loss?: LinearHeadLoss;
  /** Whether the layer has a bias b, initialised to 0 and not weight-decayed (default true; 'arcface' and 'cosface' have none). */
  bias?: boolean;
  /** 'softmax', 'arcface', 'cosface': label smoothing in [0, 1] (default 0), as linearCrossEntropy. */
  labelSmoothing?: number;
  /** 'softmax', 'arcface', 'cosface': PaLM's z-loss scale >= 0 (default 0), as linearCrossEntropy. */
  lseSquareScale?: number;
  /**
   * 'arcface' and 'cosface' only: the scale s, margin m, easyMargin and subCenters of
   * linearCrossEntropy's options.margin (defaults s 64; m 0.5 for 'arcface', 0.35 for 'cosface';
   * subCenters 1). With subCenters k > 1 (sub-center ArcFace, Deng et al. 2020) `weight` holds
   * classes x k rows, class c's in rows c k .. c k + k - 1, and a class scores its best
   * sub-centre. At inference (`logits`, `topK`) the head scores s cos theta_c (the largest over a
   * class's sub-centres), with no margin, as the margin papers do.
   */
  margin?: Omit<MarginOptions, 'kind'>;
  /** 'softmax' only: logit soft cap > 0 (default none), as linearCrossEntropy. */
  softcap?: number;
  /** 'sgd' (default) or 'adamw'. */
  optimizer?: OptimizerKind;
  /** Learning rate > 0 (default 0.01 for 'sgd', 1e-3 for 'adamw'); `step` may override it per call. */
  lr?: number;
  /** SGD momentum in [0, 1] (default 0), PyTorch's form (dampening 0). */
  momentum?: number;
  /** SGD: Nesterov momentum (default false). */
  nesterov?: boolean;
  /** AdamW's beta1 in [0, 1] (default 0.9). */
  beta1?: number;
  /** AdamW's beta2 in [0, 1] (default 0.999). */
  beta2?: number;
  /** AdamW's eps in (0, 1] (default 1e-8). */
  eps?: number;
  /**
   * Weight decay >= 0 on W (never on b): SGD adds wd W to the gradient (default 0), AdamW decays
   * W by (1 - lr wd) each step, decoupled (default 0.01, as PyTorch).
   */
  weightDecay?: number;
  /** Standard deviation of the initial weights, N(0, init^2) each, in [0, 1e6] (default 1 / sqrt(dim)). */
  init?: number;
  /** Seed of the initial weights, an integer in [0, 2^31 - 1] (default 0). */
  seed?: number;
  /** Where the loss runs: as linearCrossEntropy's `backend` (default 'auto'). */
  backend?: Backend;
}

export interface LinearHeadStepOptions {
  /** This step's learning rate (a schedule's value), > 0; default the head's `lr`. */
  lr?: number;
  /** Buffer for gradHidden (length hidden.length). Default: a new array. */
  out?: Float32Array;
}

export interface LinearHeadStepResult {
  /** The mean loss over the rows, before the update. */
  loss: number;
  /** d loss / d hidden, rows x dim, before the update. */
  gradHidden: Float32Array;
}

/** What {@link LinearHead.toJSON} writes: the options, the parameters and the optimiser state. */
export interface LinearHeadJSON {
  format: 'fusedloss.LinearHead';
  version: 1;
  options: Omit<LinearHeadOptions, 'init' | 'seed' | 'backend'>;
  steps: number;
  weight: number[];
  bias: number[] | null;
  state: { weight: { m: number[]; v: number[] | null }; bias: { m: number[]; v: number[] | null } | null };
}

const LOSS_OPTIONS = { labelSmoothing: 0, lseSquareScale: 0, softcap: 0 };
const HEAD_MARGIN_SPEC: OptionSpec = {
  kind: 'object',
  fields: Object.fromEntries(
    Object.entries((MARGIN_SPEC as { fields: Record<string, OptionSpec> }).fields).filter(([k]) => k !== 'kind'),
  ),
};

const schema: Record<string, OptionSpec> = {
  classes: { kind: 'number', integer: true, min: 1, max: 1 << 24 },
  dim: { kind: 'number', integer: true, min: 1, max: 1 << 24 },
  loss: { kind: 'enum', values: ['softmax', 'bce', 'arcface', 'cosface'] },
  margin: HEAD_MARGIN_SPEC,
  bias: { kind: 'boolean' },
  labelSmoothing: { kind: 'number', min: 0, max: 1 },
  lseSquareScale: { kind: 'number', min: 0, max: 1e6 },
  softcap: { kind: 'number', min: 0, minExclusive: true, max: 1e6 },
  ...OPTIMIZER_SCHEMA,
  init: { kind: 'number', min: 0, max: 1e6 },
  seed: { kind: 'number', integer: true, min: 0, max: 2 ** 31 - 1 },
  backend: backendSpec,
};
const stepSchema: Record<string, OptionSpec> = { lr: OPTIMIZER_SCHEMA.lr, out: { kind: 'any' } };

/**
 * A trainable linear output layer z = h W^T + b (W: classes x dim, row-major as a torch Linear
 * layer; b: classes) with its optimiser state. `step` computes the loss and the gradients with the
 * fused linear cross-entropy (the rows x classes logits are never formed), then updates W and b in
 * place and returns d loss / d hidden, so the head can sit on a tfjs model or a network of one's
 * own. `logits` and `topK` are for inference (they form the logits).
 *
 * @example
 * ```ts
 * import { LinearHead } from 'fusedloss';
 *
 * const head = new LinearHead({ classes: 10, dim: 64, optimizer: 'adamw', lr: 1e-2 });
 * const { loss, gradHidden } = head.step(hidden, targets); // hidden: rows x 64, targets: Int32Array
 * const best = head.topK(hidden, 3).classes; // rows x 3
 * const saved = JSON.stringify(head); // LinearHead.fromJSON(JSON.parse(saved)) restores it
 * ```
 */
export class LinearHead {
  readonly classes: number;
  readonly dim: number;
  readonly loss: LinearHeadLoss;
  /** W, classes x dim (classes x subCenters x dim for a margin head with sub-centres), updated in place by `step`. */
  readonly weight: Float32Array;
  /** Sub-centres per class k: the margin option's subCenters, 1 otherwise. */
  readonly subCenters: number;
  /** b (classes), or null without a bias. */
  readonly bias: Float32Array | null;
  /** The optimiser's hyper-parameters. */
  readonly optimizer: Readonly<OptimizerConfig>;
  private readonly lossOptions: typeof LOSS_OPTIONS;
  /** 'arcface' / 'cosface': linearCrossEntropy's options.margin, defaults filled in. */
  private readonly margin: Required<MarginOptions> | null;
  private readonly backend: Backend;
  private readonly state: { weight: ParamState; bias: ParamState | null };
  private readonly grads: { weight: Float32Array; bias: Float32Array | null };
  private stepCount = 0;

  constructor(options: LinearHeadOptions) {
    const fn = 'LinearHead';
    const o = readOptions(fn, options, schema);
    required(fn, o, 'classes');
    required(fn, o, 'dim');
    this.classes = o.classes as number;
    this.dim = o.dim as number;
    this.loss = opt<LinearHeadLoss>(o, 'loss', 'softmax');
    const margined = this.loss === 'arcface' || this.loss === 'cosface';
    const refuse = (key: string, what: string) => {
      if (o[key] !== undefined)
        throw rangeError('ERR_FUSEDLOSS_INVALID_ARG_VALUE', `${fn}: options.${key} applies to ${what} only`);
    };
    if (this.loss === 'bce')
      for (const key of Object.keys(LOSS_OPTIONS)) refuse(key, "loss 'softmax', 'arcface', 'cosface'");
    if (margined) {
      refuse('softcap', "loss 'softmax'");
      if (o.bias === true) refuse('bias', "loss 'softmax' and 'bce' (a margin head has no bias)");
    } else refuse('margin', "loss 'arcface' and 'cosface'");
    const mp = margined ? readMargin(fn, { ...(o.margin as object), kind: this.loss }) : undefined;
    this.margin = mp
      ? { kind: mp.kind, s: mp.scale, m: mp.margin, subCenters: mp.subCenters, easyMargin: mp.easyMargin }
      : null;
    this.subCenters = mp?.subCenters ?? 1;
    this.lossOptions = {
      labelSmoothing: opt(o, 'labelSmoothing', 0),
      lseSquareScale: opt(o, 'lseSquareScale', 0),
      softcap: opt(o, 'softcap', 0),
    };
    this.backend = opt<Backend>(o, 'backend', 'auto');
    this.optimizer = optimizerConfig(o);
    const n = this.classes * this.subCenters * this.dim;
    this.weight = Float32Array.from(gaussian(n, opt(o, 'init', 1 / Math.sqrt(this.dim)), opt(o, 'seed', 0)));
    this.bias = opt(o, 'bias', !margined) ? new Float32Array(this.classes) : null;
    this.state = {
      weight: newParamState(fn, this.optimizer, n),
      bias: this.bias && newParamState(fn, this.optimizer, this.classes),
    };
    this.grads = { weight: new Float32Array(n), bias: this.bias && new Float32Array(this.classes) };
  }

  /** Steps taken. */
  get steps(): number {
    return this.stepCount;
  }

  /**
   * One optimiser step on the mean loss over the rows of `hidden` (rows x dim): returns the loss
   * and d loss / d hidden, both computed before W and b are updated. `targets`: one class id per row
   * for 'softmax' (-100 ignores a row), a rows x classes array of labels in [0, 1] for 'bce'.
   */
  step(hidden: NumericArray, targets: Targets | NumericArray, options?: LinearHeadStepOptions): LinearHeadStepResult {
    const fn = 'LinearHead.step';
    const { h, rows } = checkedHidden(fn, hidden, this.dim);
    const o = readOptions(fn, options, stepSchema);
    const lr = opt(o, 'lr', this.optimizer.lr);
    const out = o.out === undefined ? new Float32Array(h.length) : toOut(fn, o.out, h.length);
    const loss =
      this.loss === 'bce'
        ? this.bceGradients(fn, h, rows, targets, out)
        : this.softmaxGradients(fn, h, rows, targets, out);
    this.stepCount++;
    applyUpdate(this.optimizer, lr, this.stepCount, this.weight, this.grads.weight, this.state.weight, true);
    if (this.bias)
      applyUpdate(this.optimizer, lr, this.stepCount, this.bias, this.grads.bias!, this.state.bias!, false);
    return { loss, gradHidden: out };
  }

  private softmaxGradients(fn: string, h: Float32Array, rows: number, targets: unknown, out: Float32Array): number {
    const t = toTargets(fn, 'targets', targets);
    requireLength(fn, 'targets', t.length, rows, 'one target per row of hidden');
    const { softcap, ...rest } = this.lossOptions;
    const margin = this.margin
      ? this.margin.kind === 'arcface'
        ? this.margin
        : { ...this.margin, easyMargin: undefined }
      : null;
    const r = linearCrossEntropy(h, this.weight, t, {
      dim: this.dim,
      ...rest,
      ...(softcap > 0 ? { softcap } : {}),
      ...(margin ? { margin } : {}),
      ...(this.bias ? { bias: this.bias } : {}),
      reduction: 'mean',
      backend: this.backend,
      out: { gradHidden: out, gradWeight: this.grads.weight, ...(this.bias ? { gradBias: this.grads.bias! } : {}) },
    });
    return r.loss;
  }

  /** Binary cross-entropy per class, summed over the classes, mean over the rows (formulas T.1). */
  private bceGradients(fn: string, h: Float32Array, rows: number, targets: unknown, out: Float32Array): number {
    const y = toFloat32(fn, 'targets', targets);
    requireLength(fn, 'targets', y.length, rows * this.classes, `rows x classes labels (${rows} x ${this.classes})`);
    const C = this.classes,
      D = this.dim;
    const z = mulABt(h, this.weight, rows, C, D, this.bias);
    const r = binaryCrossEntropy(z, y, { reduction: 'sum', backend: this.backend });
    const g = r.grad;
    for (let i = 0; i < g.length; i++) g[i] /= rows;
    mulAB(g, this.weight, rows, D, C, out);
    mulAB(g, h, C, D, rows, this.grads.weight, true);
    if (this.bias) {
      const gb = this.grads.bias!.fill(0);
      for (let i = 0; i < rows; i++) for (let c = 0; c < C; c++) gb[c] += g[i * C + c];
    }
    return r.loss / rows;
  }

  /**
   * The logits z = h W^T + b, rows x classes (forms them: for inference and evaluation); for
   * 'arcface' and 'cosface' s cos theta_c = s (h / |h|) . (w_c / |w_c|), without the margin, with
   * sub-centres the largest over class c's rows w_c (a zero row of hidden or weight is refused).
   */
  logits(hidden: NumericArray): Float32Array {
    const fn = 'LinearHead.logits';
    const { h, rows } = checkedHidden(fn, hidden, this.dim);
    if (!this.margin) return mulABt(h, this.weight, rows, this.classes, this.dim, this.bias);
    const D = this.dim,
      C = this.classes,
      K = this.subCenters,
      hn = rowNorms(fn, 'hidden', h, rows, D),
      wn = rowNorms(fn, 'the weight', this.weight, C * K, D);
    const cos = mulABt(h, this.weight, rows, C * K, D, null),
      z = new Float32Array(rows * C);
    for (let i = 0; i < rows; i++)
      for (let c = 0; c < C; c++) {
        let best = -Infinity;
        for (let j = c * K; j < c * K + K; j++) best = Math.max(best, cos[i * C * K + j] / (hn[i] * wn[j]));
        z[i * C + c] = this.margin.s * best;
      }
    return z;
  }

  /** The k highest-scoring classes of each row, best first (ties: the lower class first): rows x k each. */
  topK(hidden: NumericArray, k: number): { classes: Int32Array; scores: Float32Array } {
    checkK('LinearHead.topK', k, this.classes);
    return topKOfScores(this.logits(hidden), this.classes, k);
  }

  /** The options, W, b, the optimiser state and the step count, as plain JSON (JSON.stringify calls this). */
  toJSON(): LinearHeadJSON {
    const arr = (v: Float32Array | null) => (v ? Array.from(v) : null);
    const st = (s: ParamState) => ({ m: Array.from(s.m), v: arr(s.v) });
    const { kind, ...hyper } = this.optimizer;
    return {
      format: 'fusedloss.LinearHead',
      version: 1,
      options: {
        classes: this.classes,
        dim: this.dim,
        loss: this.loss,
        bias: this.bias !== null,
        ...(this.loss === 'softmax' ? this.lossOptions : {}),
        ...(this.margin
          ? {
              labelSmoothing: this.lossOptions.labelSmoothing,
              lseSquareScale: this.lossOptions.lseSquareScale,
              margin: {
                s: this.margin.s,
                m: this.margin.m,
                subCenters: this.margin.subCenters,
                ...(this.margin.kind === 'arcface' ? { easyMargin: this.margin.easyMargin } : {}),
              },
            }
          : {}),
        optimizer: kind,
        ...hyper,
      },
      steps: this.stepCount,
      weight: Array.from(this.weight),
      bias: arr(this.bias),
      state: { weight: st(this.state.weight), bias: this.state.bias && st(this.state.bias) },
    };
  }

  /** A head restored from {@link LinearHead.toJSON}'s output (or its JSON.parse), to continue training. */
  static fromJSON(json: LinearHeadJSON, options?: { backend?: Backend }): LinearHead {
    const fn = 'LinearHead.fromJSON';
    if (typeof json !== 'object' || json === null || json.format !== 'fusedloss.LinearHead' || json.version !== 1)
      throw typeError(
        'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
        `${fn}: json must be the output of LinearHead.toJSON (format 'fusedloss.LinearHead', version 1)`,
      );
    const o = { ...json.options, softcap: json.options.softcap || undefined, ...options };
    const head = new LinearHead({ ...o, init: 0 });
    const fill = (name: string, into: Float32Array, from: unknown) => {
      const v = toFloat32(fn, name, from);
      requireLength(fn, name, v.length, into.length, "the head's shape");
      const bad = v.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) throw rangeError('ERR_FUSEDLOSS_NON_FINITE', `${fn}: ${name}[${bad}] = ${v[bad]} is not finite`);
      into.set(v);
    };
    fill('json.weight', head.weight, json.weight);
    if (head.bias) fill('json.bias', head.bias, json.bias);
    const restore = (name: string, into: ParamState | null, from: { m: number[]; v: number[] | null } | null) => {
      if (!into) return;
      fill(`${name}.m`, into.m, from?.m);
      if (into.v) fill(`${name}.v`, into.v, from?.v);
    };
    restore('json.state.weight', head.state.weight, json.state?.weight);
    restore('json.state.bias', head.state.bias, json.state?.bias ?? null);
    if (!Number.isInteger(json.steps) || json.steps < 0)
      throw rangeError(
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        `${fn}: json.steps must be an integer >= 0, got ${json.steps}`,
      );
    head.stepCount = json.steps;
    return head;
  }
}
