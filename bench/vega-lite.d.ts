// vega-lite's own types resolve only under moduleResolution node16 or later; this project's
// tsconfig uses 'node', so the one function the bench calls is declared here.
declare module 'vega-lite' {
  export function compile(spec: unknown, options?: { logger?: unknown }): { spec: import('vega').Spec };
}
