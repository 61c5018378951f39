// Reading a loss's options against a small schema: unknown names, wrong types and values out of
// range are refused with the option's name, what was expected and what came.
import { describe, rangeError, typeError } from './errors';

export interface NumberSpec {
  kind: 'number';
  min?: number;
  max?: number;
  /** Exclusive lower bound (value must be > min). */
  minExclusive?: boolean;
  integer?: boolean;
}
interface EnumSpec {
  kind: 'enum';
  values: readonly string[];
}
interface BooleanSpec {
  kind: 'boolean';
}
/** Values checked by the loss itself (arrays, functions, unions). */
interface AnySpec {
  kind: 'any';
}
/** A plain object of named fields, each checked against its own spec (unknown fields refused). */
interface ObjectSpec {
  kind: 'object';
  fields: Record<string, OptionSpec>;
}
export type OptionSpec = NumberSpec | EnumSpec | BooleanSpec | AnySpec | ObjectSpec;

/**
 * Checks `options` (undefined or a plain object) against `schema` and returns it as a record.
 * `fn` names the public function in messages.
 */
export function readOptions(fn: string, options: unknown, schema: Record<string, OptionSpec>): Record<string, unknown> {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options) || ArrayBuffer.isView(options)) {
    throw typeError('ERR_FUSEDLOSS_INVALID_ARG_TYPE', `${fn}: options must be an object, got ${describe(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    const spec = schema[key];
    if (!spec) {
      throw typeError(
        'ERR_FUSEDLOSS_UNKNOWN_OPTION',
        `${fn}: unknown option '${key}'; known options are ${Object.keys(schema).join(', ')}`,
      );
    }
    const v = o[key];
    if (v === undefined) continue;
    checkOption(fn, key, spec, v);
  }
  return o;
}

function checkOption(fn: string, key: string, spec: OptionSpec, v: unknown): void {
  const name = `${fn}: options.${key}`;
  if (spec.kind === 'object') {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || ArrayBuffer.isView(v)) {
      throw typeError('ERR_FUSEDLOSS_INVALID_ARG_TYPE', `${name} must be an object, got ${describe(v)}`);
    }
    for (const [field, fv] of Object.entries(v)) {
      const fs = spec.fields[field];
      if (!fs) {
        throw typeError(
          'ERR_FUSEDLOSS_UNKNOWN_OPTION',
          `${name}: unknown field '${field}'; known fields are ${Object.keys(spec.fields).join(', ')}`,
        );
      }
      if (fv !== undefined) checkOption(fn, `${key}.${field}`, fs, fv);
    }
    return;
  }
  switch (spec.kind) {
    case 'number': {
      if (typeof v !== 'number')
        throw typeError('ERR_FUSEDLOSS_INVALID_ARG_TYPE', `${name} must be a number, got ${describe(v)}`);
      const bounds = [
        spec.min !== undefined ? `${spec.minExclusive ? '>' : '>='} ${spec.min}` : '',
        spec.max !== undefined ? `<= ${spec.max}` : '',
      ].filter(Boolean);
      const want = `a finite${spec.integer ? ' integer' : ' number'}${bounds.length ? ' ' + bounds.join(' and ') : ''}`;
      const ok =
        Number.isFinite(v) &&
        (!spec.integer || Number.isInteger(v)) &&
        (spec.min === undefined || (spec.minExclusive ? v > spec.min : v >= spec.min)) &&
        (spec.max === undefined || v <= spec.max);
      if (!ok) throw rangeError('ERR_FUSEDLOSS_INVALID_ARG_VALUE', `${name} must be ${want}, got ${v}`);
      return;
    }
    case 'enum':
      if (typeof v !== 'string') {
        throw typeError('ERR_FUSEDLOSS_INVALID_ARG_TYPE', `${name} must be a string, got ${describe(v)}`);
      }
      if (!spec.values.includes(v)) {
        throw rangeError(
          'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
          `${name} must be one of ${spec.values.map((s) => `'${s}'`).join(', ')}, got '${v}'`,
        );
      }
      return;
    case 'boolean':
      if (typeof v !== 'boolean')
        throw typeError('ERR_FUSEDLOSS_INVALID_ARG_TYPE', `${name} must be a boolean, got ${describe(v)}`);
      return;
    case 'any':
      return;
  }
}

/** The option's value, or its default when it is absent (undefined). */
export function opt<T>(o: Record<string, unknown>, key: string, fallback: T): T {
  const v = o[key];
  return v === undefined ? fallback : (v as T);
}

export const backendSpec: EnumSpec = { kind: 'enum', values: ['auto', 'cpu', 'cuda', 'cuda-sim', 'wasm', 'js'] };
