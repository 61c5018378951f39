// A tfjs-layers output layer whose loss is fused: `fusedDense(tf, { units })` holds a dense layer's
// weight [units, D] and bias, passes its input through unchanged, and `layer.loss()` is the
// model.compile loss that computes the softmax cross-entropy of `input W^T + b` with
// ops.linearCrossEntropy, so model.fit trains the layer and the network below it without the
// B x units logits. The layer is built on the caller's `tf` namespace (its Layer class): a second
// copy of tfjs-layers imported here would not be the one the caller's models check against.
import { slice, cast, reshape, tidy, matMul, add, type Tensor } from '@tensorflow/tfjs-core';
// Types for the implementation only: the declarations this file exports name none of tfjs-layers'
// (a consumer with tfjs-core alone type-checks them; the layer's type is the caller's Layer).
import type { layers, LayerVariable } from '@tensorflow/tfjs-layers';
import { rangeError } from '../errors';
import type { LayersLoss } from './layers';
import { linearCrossEntropy, type LinearOpOptions } from './linear';

/**
 * What fusedDense needs of the caller's `@tensorflow/tfjs` (or tfjs-layers) namespace; `L` is the
 * instance type of its Layer class.
 */
export interface TfLayersNamespace<L extends object = object> {
  layers: { Layer: abstract new (...args: never[]) => L };
  initializers: {
    glorotUniform(args: { seed?: number }): unknown;
    zeros(): unknown;
  };
}

export interface FusedDenseConfig {
  /** Number of classes C (the dense layer's units), an integer >= 1. */
  units: number;
  /** Whether the logits have a bias (default true). */
  useBias?: boolean;
  /** Seed of the Glorot-uniform initial weight (default: tfjs's random seed). */
  seed?: number;
  /** The layer's name (default: tfjs's). */
  name?: string;
}

/** One of the layer's weights (a tfjs-layers LayerVariable). */
export interface FusedDenseWeight {
  /** The weight's current value. */
  read(): Tensor;
}

/** The layer fusedDense returns: the caller's tfjs-layers Layer (`L`), with these members. */
export type FusedDenseLayer<L extends object = object> = L & FusedDenseMembers;

/** What fusedDense's layer adds to a tfjs-layers Layer. */
export interface FusedDenseMembers {
  /** W, [units, D]: one row per class (a tfjs dense layer's kernel is its transpose). */
  readonly weight: FusedDenseWeight;
  /** b, [units], or null without a bias. */
  readonly biasWeight: FusedDenseWeight | null;
  /**
   * The model.compile loss: the fused softmax cross-entropy of this layer's logits. yTrue holds
   * class ids, shaped like the layer's output [B, D] with the id in every column (model.fit wants
   * targets shaped like the output: `tf.tile(ids.reshape([-1, 1]), [1, D])`; column 0 is read), or
   * [B] / [B, 1] in a custom loop.
   */
  loss(options?: LinearOpOptions): LayersLoss;
  /** The logits hidden W^T + b, [B, units], for prediction (forms them). */
  logits(hidden: Tensor): Tensor;
}

/**
 * A dense output layer of `units` classes whose softmax cross-entropy is fused: pass-through in
 * the model (output = input, [B, D]), its loss from `layer.loss(options)` for model.compile, its
 * logits from `layer.logits(hidden)`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * const head = fusedDense(tf, { units: 10 });
 * const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [784], units: 64, activation: 'relu' }), head] });
 * model.compile({ optimizer: 'adam', loss: head.loss({ labelSmoothing: 0.1 }) });
 * await model.fit(x, tf.tile(ids.reshape([-1, 1]), [1, 64]), { epochs: 5 });
 * const logits = head.logits(model.predict(x) as tf.Tensor);
 * ```
 */
export function fusedDense<L extends object>(tf: TfLayersNamespace<L>, config: FusedDenseConfig): FusedDenseLayer<L> {
  const Layer = tf.layers.Layer as unknown as typeof layers.Layer;
  const units = config.units;
  if (!Number.isInteger(units) || units < 1)
    throw rangeError(
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      `fusedDense: config.units must be an integer >= 1, got ${units}`,
    );
  const useBias = config.useBias ?? true;

  class FusedDense extends Layer {
    static className = 'FusedDense';
    weight!: LayerVariable;
    biasWeight: LayerVariable | null = null;

    build(inputShape: (number | null)[]): void {
      const dim = inputShape[inputShape.length - 1]!;
      this.weight = this.addWeight(
        'kernel',
        [units, dim],
        'float32',
        tf.initializers.glorotUniform({ seed: config.seed }) as never,
      );
      if (useBias) this.biasWeight = this.addWeight('bias', [units], 'float32', tf.initializers.zeros() as never);
      this.built = true;
    }

    computeOutputShape(inputShape: (number | null)[]): (number | null)[] {
      return inputShape;
    }

    call(inputs: Tensor | Tensor[]): Tensor {
      return Array.isArray(inputs) ? inputs[0] : inputs;
    }

    getConfig() {
      return { ...super.getConfig(), units, useBias };
    }

    loss(options?: LinearOpOptions): LayersLoss {
      return (yTrue, yPred) =>
        tidy(() => {
          const ids = yTrue.rank === 2 && yTrue.shape[1]! > 1 ? slice(yTrue, [0, 0], [-1, 1]) : yTrue;
          return linearCrossEntropy(
            cast(reshape(ids, [-1]), 'int32'),
            yPred,
            this.weight.read(),
            this.biasWeight?.read() ?? null,
            options,
          );
        });
    }

    logits(hidden: Tensor): Tensor {
      return tidy(() => {
        const z = matMul(hidden, this.weight.read(), false, true);
        return this.biasWeight ? add(z, this.biasWeight.read()) : z;
      });
    }
  }
  return new FusedDense({ name: config.name }) as unknown as FusedDenseLayer<L>;
}
