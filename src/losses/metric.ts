// Confusion-matrix metrics by name, and the derivatives of a user-defined metric.
import { describe, typeError } from '../errors';
import type { Counts, MetricValue } from '../reference/confusion';

/** Built-in metrics, in the order of fl::Metric in binding/include/fusedloss/confusion.h. */
export const METRICS = [
  'accuracy',
  'precision',
  'recall',
  'specificity',
  'f1',
  'fbeta',
  'balanced-accuracy',
  'gmean',
  'gmean-squared',
  'mcc',
  'jaccard',
] as const;

export type MetricName = (typeof METRICS)[number];

/** A metric of the soft counts; higher is better. fusedloss minimises 1 - metric. */
export type CustomMetric = (counts: Counts) => number;

/**
 * A custom metric's value and g_pos = d/dt M(tp + t, fn - t, fp, tn), g_neg = d/dt M(tp, fn,
 * fp + t, tn - t) at t = 0: the two directions a positive and a negative row's prediction move
 * the counts in. Each is a fourth-order finite difference in float64 with step h = 1e-3 times
 * the smallest positive count (floored at 1e-7 times their total), since a metric of counts
 * varies on the scale of its smallest count: central (f(+-h), f(+-2h)) when both counts that
 * move stay >= 0, else one-sided with five points toward the larger one, so the metric is never
 * evaluated at negative counts. Relative error ~1e-9 for rational metrics (tested against the
 * closed forms of the built-ins). A direction with no weight (no positive, or no negative rows)
 * has derivative 0: no row moves along it.
 */
export function differentiateMetric(fn: string, metric: CustomMetric, c: Counts): MetricValue {
  const evaluate = (q: Counts): number => {
    const v = metric({ ...q });
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw typeError(
        'ERR_FUSEDLOSS_INVALID_RETURN_VALUE',
        `${fn}: the custom metric must return a finite number, got ${describe(v)} for ` +
          `{ tp: ${q.tp}, fn: ${q.fn}, fp: ${q.fp}, tn: ${q.tn} }`,
      );
    }
    return v;
  };
  const value = evaluate(c);
  const all = [c.tp, c.fn, c.fp, c.tn];
  const positive = all.filter((v) => v > 0);
  const total = all.reduce((a, b) => a + b, 0);
  const h = 1e-3 * Math.max(Math.min(...positive), 1e-7 * total);
  const gPos = directional((t) => evaluate({ ...c, tp: c.tp + t, fn: c.fn - t }), c.tp, c.fn, value, h);
  const gNeg = directional((t) => evaluate({ ...c, fp: c.fp + t, tn: c.tn - t }), c.fp, c.tn, value, h);
  return { value, gPos, gNeg };
}

/** d/dt f(t) at 0 where f is defined for t in [-below, above]; f0 = f(0), h the step. */
function directional(f: (t: number) => number, below: number, above: number, f0: number, h: number): number {
  if (!(below + above > 0)) return 0;
  if (below >= 2 * h && above >= 2 * h) return (f(-2 * h) - 8 * f(-h) + 8 * f(h) - f(2 * h)) / (12 * h);
  const room = Math.max(below, above);
  const step = Math.min(h, room / 4) * (above >= below ? 1 : -1);
  return (-25 * f0 + 48 * f(step) - 36 * f(2 * step) + 16 * f(3 * step) - 3 * f(4 * step)) / (12 * step);
}
