// The `mnist` package (v1.1.0) ships no types. Only the part the demo uses is declared: one entry
// per digit 0..9, each with its sample count and a getter for one 28 x 28 image (784 floats in
// [0, 1], row-major). Its `set()` helpers shuffle with Math.random and are left out on purpose.
declare module 'mnist' {
  interface MnistDigit {
    readonly id: number;
    /** Number of samples of this digit. */
    readonly length: number;
    /** Sample `index` (0 <= index < length) as 784 pixel intensities in [0, 1]. */
    get(index: number): number[];
  }
  const digits: readonly MnistDigit[];
  export = digits;
}
