// Every public loss as TensorFlow.js sees it, built from the registry (src/registry.ts): the fused
// function to call on the raw arrays of (yTrue, yPred), how yPred's shape fills in the options the
// function needs (classes, listSize, dim), and whether yTrue holds values or class ids. The
// kernels, ops and layers losses are all built from this one table.
import type { LossResult, RowLossResult } from '../losses/dispatch';
import { hasGradient, LOSSES, type LossName, type Layout as RegistryLayout, type NoGradientName } from '../registry';

/** How yPred's shape maps to the loss's layout: see Layout in src/registry.ts. */
export type Layout = Exclude<RegistryLayout, 'counts' | 'list-metric' | 'linear' | 'proxies'>;

type Truth = Float32Array | Int32Array;
type Options = Record<string, unknown>;

export interface FusedLoss {
  /** The kernel's name in the tfjs registry. */
  kernel: string;
  layout: Layout;
  /** May return one loss per row (options.reduction 'none'). */
  perRow: boolean;
  run(yPred: Float32Array, yTrue: Truth | null, options: Options, teacher?: Float32Array): LossResult | RowLossResult;
}

// The fused functions take their own option types; the table passes options checked by them.
type AnyFn = (...args: never[]) => LossResult | RowLossResult;

/**
 * Every loss of the registry that has a gradient with respect to one prediction tensor
 * (softConfusion returns counts, the ranking metrics values; linearCrossEntropy, proxyAnchor and
 * proxyNCA take two inputs and have their own ops).
 */
export type FusedLossName = Exclude<LossName, NoGradientName | 'linearCrossEntropy' | 'proxyAnchor' | 'proxyNCA'>;

export const FUSED_LOSSES = Object.fromEntries(
  Object.values(LOSSES)
    .filter((e) => hasGradient(e) && e.layout !== 'linear' && e.layout !== 'proxies')
    .map((e): [string, FusedLoss] => {
      const fn = e.sync as AnyFn;
      return [
        e.name,
        {
          kernel: `FusedLoss${e.name[0].toUpperCase()}${e.name.slice(1)}`,
          layout: e.layout as Layout,
          perRow: e.perRow,
          // The distill layout's teacher is the function's second argument.
          run:
            e.layout === 'distill'
              ? (student, labels, options, teacher) => fn(...([student, teacher, labels, options] as never[]))
              : (pred, truth, options) => fn(...([pred, truth, options] as never[])),
        },
      ];
    }),
) as Record<FusedLossName, FusedLoss>;
