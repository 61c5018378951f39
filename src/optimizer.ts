// The optimisers of the trainable heads (formulas T.2): SGD with momentum and AdamW, each a
// per-parameter state updated in place from a gradient. Plain loops over Float32Arrays with the
// arithmetic in double; the state is float32, as the parameters are.
import { allocate } from './arrays';
import type { OptionSpec } from './options';

export type OptimizerKind = 'sgd' | 'adamw';

/** Hyper-parameters of one optimiser (defaults: OPTIMIZER_DEFAULTS). */
export interface OptimizerConfig {
  kind: OptimizerKind;
  lr: number;
  /** SGD only. */
  momentum: number;
  nesterov: boolean;
  /** AdamW only. */
  beta1: number;
  beta2: number;
  eps: number;
  /** SGD: L2 added to the gradient (PyTorch's SGD); AdamW: decoupled, w <- (1 - lr wd) w. */
  weightDecay: number;
}

/** PyTorch's defaults (torch.optim.SGD, torch.optim.AdamW), but for SGD's lr, which PyTorch requires. */
export const OPTIMIZER_DEFAULTS = {
  sgd: { lr: 0.01, momentum: 0, nesterov: false, weightDecay: 0 },
  adamw: { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 },
};

/** The option schema of the hyper-parameters, for the heads' own schemas. */
export const OPTIMIZER_SCHEMA: Record<string, OptionSpec> = {
  optimizer: { kind: 'enum', values: ['sgd', 'adamw'] },
  lr: { kind: 'number', min: 0, minExclusive: true, max: 1e6 },
  momentum: { kind: 'number', min: 0, max: 1 },
  nesterov: { kind: 'boolean' },
  beta1: { kind: 'number', min: 0, max: 1 },
  beta2: { kind: 'number', min: 0, max: 1 },
  eps: { kind: 'number', min: 0, minExclusive: true, max: 1 },
  weightDecay: { kind: 'number', min: 0, max: 1e6 },
};

/** The config from checked options (see OPTIMIZER_SCHEMA), defaults filled in. */
export function optimizerConfig(o: Record<string, unknown>): OptimizerConfig {
  const kind = (o.optimizer as OptimizerKind | undefined) ?? 'sgd';
  const d = { ...OPTIMIZER_DEFAULTS.sgd, ...OPTIMIZER_DEFAULTS.adamw, ...OPTIMIZER_DEFAULTS[kind] };
  const pick = <K extends keyof typeof d>(k: K): (typeof d)[K] => (o[k] as (typeof d)[K] | undefined) ?? d[k];
  return {
    kind,
    lr: pick('lr'),
    momentum: pick('momentum'),
    nesterov: pick('nesterov'),
    beta1: pick('beta1'),
    beta2: pick('beta2'),
    eps: pick('eps'),
    weightDecay: pick('weightDecay'),
  };
}

/** One parameter's state: SGD's momentum buffer in `m`; AdamW's first and second moments in `m`, `v`. */
export interface ParamState {
  m: Float32Array;
  v: Float32Array | null;
}

export function newParamState(fn: string, cfg: OptimizerConfig, n: number): ParamState {
  return {
    m: allocate(fn, 'the optimiser state', Float32Array, cfg.kind === 'sgd' && cfg.momentum === 0 ? 0 : n),
    v: cfg.kind === 'adamw' ? allocate(fn, 'the optimiser state', Float32Array, n) : null,
  };
}

/**
 * Updates `param` in place from `grad`, at step `t` (1 for the first), with learning rate `lr`.
 * `decay` false leaves the weight decay out (the heads do not decay their bias).
 */
export function applyUpdate(
  cfg: OptimizerConfig,
  lr: number,
  t: number,
  param: Float32Array,
  grad: Float32Array,
  state: ParamState,
  decay: boolean,
): void {
  const wd = decay ? cfg.weightDecay : 0;
  const n = param.length;
  if (cfg.kind === 'sgd') {
    const mu = cfg.momentum,
      buf = state.m;
    for (let i = 0; i < n; i++) {
      const g = grad[i] + wd * param[i];
      if (mu === 0) {
        param[i] -= lr * g;
        continue;
      }
      // PyTorch's SGD with dampening 0: the buffer starts at 0, so the first step's is g.
      const b = mu * buf[i] + g;
      buf[i] = b;
      param[i] -= lr * (cfg.nesterov ? g + mu * b : b);
    }
    return;
  }
  const { beta1: b1, beta2: b2, eps } = cfg;
  const c1 = 1 - b1 ** t,
    c2 = 1 - b2 ** t,
    shrink = 1 - lr * wd;
  const m = state.m,
    v = state.v!;
  for (let i = 0; i < n; i++) {
    const g = grad[i];
    const mi = b1 * m[i] + (1 - b1) * g,
      vi = b2 * v[i] + (1 - b2) * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] = shrink * param[i] - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
  }
}
