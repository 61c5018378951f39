// The one place where a value fault becomes a message. The native kernels report a fault as data
// (its Fault id, the element's index and its value: binding/napi/args.cc throw_status); the
// JavaScript reference finds the same faults in its own checks. Both come here, so every backend
// gives the same error for the same input, naming the argument as the public function calls it.
import type { ValueRules } from './arrays';
import { rangeError } from './errors';
import { WIRE_CONSTANTS, WIRE_ENUMS } from './wire-enums';

/** A value fault, by its name in WIRE_ENUMS.Fault (the C++ enum fl::Fault). */
export type FaultName = Exclude<keyof typeof WIRE_ENUMS.Fault, 'cuda' | 'none'>;

/** A label argument's name and what it may hold, for the message of one out of range. */
export type LabelRules = ValueRules & { name: string };

/**
 * labels[i] = y is out of range: the one message for the reference's checks and the native
 * kernels' label faults (which report the index and value as data), with the number of classes
 * and, where the loss has one, options.ignoreIndex.
 */
function labelOutOfRange(fn: string, r: LabelRules, i: number, y: number): RangeError {
  const want = r.binary
    ? 'binary labels must be in [0, 1]'
    : `class ids must be in [0, ${r.classes}) for ${r.classes} classes` +
      (r.ignoreIndex === undefined ? '' : `, or equal options.ignoreIndex (${r.ignoreIndex})`);
  return rangeError('ERR_FUSEDLOSS_INVALID_ARG_VALUE', `${fn}: ${r.name}[${i}] = ${y} is out of range; ${want}`);
}

/** The public names of the arguments a fault can be in, per function. */
export interface FaultNames {
  scores: string;
  labels: string;
  weights: string;
  classWeights: string;
  teacher: string;
  reference: string;
}

const DEFAULT_NAMES: FaultNames = {
  scores: 'scores',
  labels: 'labels',
  weights: 'weights',
  classWeights: 'classWeights',
  teacher: 'teacherLogits',
  reference: 'options.reference',
};

/** What a function tells the formatter: its arguments' names, and its label rules when it has labels. */
export interface FaultContext {
  names?: Partial<FaultNames>;
  labels?: ValueRules;
}

/** The argument each fault is found in. */
const ARG: Record<FaultName, keyof FaultNames> = {
  'score-not-finite': 'scores',
  'probability-out-of-range': 'scores',
  'label-out-of-range': 'labels',
  'weight-invalid': 'weights',
  'relevance-invalid': 'labels',
  'teacher-not-finite': 'teacher',
  'class-weight-invalid': 'classWeights',
  'reference-not-finite': 'reference',
  'row-norm-too-large': 'scores',
  'reference-row-norm-too-large': 'reference',
  'logit-not-finite': 'scores',
  'zloss-spread-too-small': 'scores',
};

/** The error for `fault` at element `index` (a row, for norms and logits) holding `value`. */
export function faultError(
  fn: string,
  fault: FaultName,
  index: number,
  value: number,
  ctx: FaultContext = {},
): RangeError {
  const names = { ...DEFAULT_NAMES, ...ctx.names };
  const name = names[ARG[fault]];
  const at = `${fn}: ${name}[${index}] = ${value}`;
  const invalid = (why: string) => rangeError('ERR_FUSEDLOSS_INVALID_ARG_VALUE', `${at} ${why}`);
  const nonFinite = () =>
    rangeError('ERR_FUSEDLOSS_NON_FINITE', `${at} is not finite; ${name} must hold finite numbers`);
  switch (fault) {
    case 'score-not-finite':
    case 'teacher-not-finite':
    case 'reference-not-finite':
      return nonFinite();
    case 'probability-out-of-range':
      return invalid(`is outside [0, 1]; with input 'probabilities' ${name} must hold probabilities`);
    case 'label-out-of-range':
      return ctx.labels
        ? labelOutOfRange(fn, { ...ctx.labels, name }, index, value)
        : invalid('is out of range; binary labels must be in [0, 1], class ids in [0, classes)');
    case 'weight-invalid':
    case 'class-weight-invalid':
      return invalid('is invalid; weights must be finite and >= 0');
    case 'relevance-invalid':
      return invalid(
        'is out of range; relevance must be -1 (padding) or a finite number >= 0 (lambdaLoss: at most 64)',
      );
    case 'row-norm-too-large':
    case 'reference-row-norm-too-large':
      return rangeError(
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        `${fn}: ${name} row ${index} has L2 norm ${value}; with options.normalize false every row's norm must be ` +
          `at most ${WIRE_CONSTANTS.kMaxRawNorm.toExponential().replace('e+', 'e')} (similarities would overflow float32): scale the rows or normalize them`,
      );
    case 'logit-not-finite':
      return rangeError(
        'ERR_FUSEDLOSS_NON_FINITE',
        index < 0
          ? `${fn}: the gradients overflow float32; scale the inputs down`
          : `${fn}: the logits of row ${index} of ${name} overflow float32; scale the rows or the weights down`,
      );
    case 'zloss-spread-too-small':
      // The std is rounded: the backends sum the row in different orders.
      return rangeError(
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        `${fn}: row ${index} of ${name} has std ${value.toPrecision(3)}, too small for Z-loss: its gradient ` +
          `(about 1 / std) overflows float32; scale the row up (Z-loss is scale-invariant)`,
      );
  }
}

/** The fault a native error carries (binding/napi/args.cc throw_status), or undefined. */
export function nativeFault(e: unknown): { fault: FaultName; index: number; value: number } | undefined {
  const f = e as { fault?: unknown; index?: number; value?: number };
  if (typeof f?.fault !== 'number') return undefined;
  const entry = Object.entries(WIRE_ENUMS.Fault).find(([, [, id]]) => id === f.fault);
  if (!entry || entry[0] === 'cuda' || entry[0] === 'none') return undefined;
  return { fault: entry[0] as FaultName, index: f.index!, value: f.value! };
}

/** The first index of a non-finite entry of v, or -1. */
export function firstNonFinite(v: ArrayLike<number>): number {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return i;
  return -1;
}
