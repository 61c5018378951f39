// The bench's charts as SVG. The main one (vega-lite, rendered by vega without a browser): per
// family, how many times faster than the tfjs wasm composition each backend is, on a log axis.
// logLogChartSvg: plain SVG lines for the SphericalHead case.

export interface ChartRow {
  loss: string;
  size: string;
  backend: string;
  medianMs: number;
}

/** The tfjs row every speed-up is taken against. */
export const TFJS_WASM = 'tfjs wasm';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * One panel per family (cases without a tfjs wasm row are left out), one bar per backend:
 * tfjs wasm's median over the row's, on a log axis with a rule at 1 (as fast as tfjs wasm).
 */
export async function speedupChartSvg(
  rows: ChartRow[],
  cases: { loss: string; size: string; family: string }[],
  title: string,
): Promise<string> {
  const values = rows.flatMap((r) => {
    const wasm = rows.find((x) => x.loss === r.loss && x.size === r.size && x.backend === TFJS_WASM);
    const c = cases.find((x) => x.loss === r.loss && x.size === r.size);
    if (!wasm || r === wasm || !c) return [];
    const speedup = wasm.medianMs / r.medianMs;
    return [
      {
        family: c.family,
        case: `${r.loss}, ${r.size}`,
        backend: r.backend,
        speedup,
        label: `${speedup < 10 ? speedup.toPrecision(2) : speedup.toFixed(0)}x`,
      },
    ];
  });
  const backendOrder = [...new Set(values.map((v) => v.backend))];
  const caseOrder = [...new Set(values.map((v) => v.case))];
  // Whole decades around the data (with room for the figures beside the bars), one tick each.
  const lo = Math.min(-1, Math.floor(Math.log10(Math.min(...values.map((v) => v.speedup)) / 4)));
  const hi = Math.max(1, Math.ceil(Math.log10(Math.max(...values.map((v) => v.speedup)) * 2)));
  const ticks = Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i));
  const x = {
    field: 'speedup',
    type: 'quantitative',
    scale: { type: 'log', domain: [ticks[0], ticks[ticks.length - 1]] },
    axis: { title: 'times faster than tfjs wasm (log scale; bars start at 1, as fast)', grid: true, values: ticks },
  };
  const y = { field: 'case', type: 'nominal', sort: caseOrder, title: null, axis: { labelLimit: 320 } };
  const yOffset = { field: 'backend', type: 'nominal', sort: backendOrder };
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, anchor: 'start', fontSize: 13 },
    data: { values },
    facet: {
      row: {
        field: 'family',
        sort: [...new Set(values.map((v) => v.family))],
        title: null,
        header: { labelAngle: 0, labelOrient: 'top', labelAnchor: 'start', labelFontSize: 13, labelFontWeight: 'bold' },
      },
    },
    resolve: { scale: { y: 'independent' } },
    spacing: 14,
    spec: {
      width: 560,
      height: { step: 13, for: 'offset' },
      layer: [
        {
          mark: { type: 'bar' },
          encoding: {
            x,
            x2: { datum: 1 },
            y,
            yOffset,
            color: {
              field: 'backend',
              type: 'nominal',
              sort: backendOrder,
              scale: { scheme: 'tableau10' },
              title: null,
              legend: { orient: 'top', direction: 'horizontal', columns: 3, labelLimit: 300 },
            },
          },
        },
        // The figure beyond the bar's end: right of a bar going right, left of one going left.
        {
          transform: [{ filter: 'datum.speedup >= 1' }],
          mark: { type: 'text', align: 'left', dx: 3, fontSize: 10 },
          encoding: { x, y, yOffset, text: { field: 'label' } },
        },
        {
          transform: [{ filter: 'datum.speedup < 1' }],
          mark: { type: 'text', align: 'right', dx: -3, fontSize: 10 },
          encoding: { x, y, yOffset, text: { field: 'label' } },
        },
        { mark: { type: 'rule', color: '#333' }, encoding: { x: { datum: 1 } } },
      ],
    },
    config: { font: 'sans-serif', axis: { labelFontSize: 11 }, view: { stroke: '#ccc' } },
  };
  return vegaLiteSvg(spec);
}

/** A vega-lite spec drawn as SVG by vega in Node (no browser, no canvas). */
export async function vegaLiteSvg(spec: object): Promise<string> {
  // ESM-only packages, loaded when a chart is drawn.
  const { compile } = await import('vega-lite');
  const vega = await import('vega');
  // vega-lite warns that the facets' independent scales share a field, which is what is wanted here.
  const quiet = { level: () => quiet, info: () => quiet, debug: () => quiet, warn: () => quiet, error: console.error };
  const view = new vega.View(vega.parse(compile(spec, { logger: quiet }).spec), { renderer: 'none' });
  return view.toSVG();
}

export interface Series {
  name: string;
  points: { x: number; y: number }[];
}

/** Lines on log-log axes (decade grid), one colour per series, with a legend. */
export function logLogChartSvg(series: Series[], title: string, xLabel: string, yLabel: string): string {
  const left = 70,
    top = 40,
    plotW = 520,
    plotH = 320;
  const all = series.flatMap((s) => s.points);
  const decades = (v: number[]) => [Math.floor(Math.log10(Math.min(...v))), Math.ceil(Math.log10(Math.max(...v)))];
  const [x0, x1] = decades(all.map((p) => p.x));
  const [y0, y1] = decades(all.map((p) => p.y));
  const px = (x: number) => left + ((Math.log10(x) - x0) / Math.max(x1 - x0, 1)) * plotW;
  const py = (y: number) => top + plotH - ((Math.log10(y) - y0) / Math.max(y1 - y0, 1)) * plotH;
  const colours = ['#2b7bba', '#d9534f', '#5cb85c', '#f0ad4e', '#8e6cbf'];
  const parts: string[] = [];
  for (let e = x0; e <= x1; e++)
    parts.push(
      `<line x1="${px(10 ** e)}" y1="${top}" x2="${px(10 ** e)}" y2="${top + plotH}" stroke="#ddd"/>`,
      `<text x="${px(10 ** e)}" y="${top + plotH + 16}" text-anchor="middle">1e${e}</text>`,
    );
  for (let e = y0; e <= y1; e++)
    parts.push(
      `<line x1="${left}" y1="${py(10 ** e)}" x2="${left + plotW}" y2="${py(10 ** e)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${py(10 ** e) + 4}" text-anchor="end">${10 ** e >= 1 ? 10 ** e : (10 ** e).toPrecision(1)}</text>`,
    );
  series.forEach((s, i) => {
    const colour = colours[i % colours.length];
    const path = s.points.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${path}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const p of s.points)
      parts.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3" fill="${colour}"/>`);
    const ly = top + 14 + 18 * i;
    parts.push(
      `<rect x="${left + 10}" y="${ly - 9}" width="12" height="12" fill="${colour}"/>`,
      `<text x="${left + 28}" y="${ly + 1}">${esc(s.name)}</text>`,
    );
  });
  const width = left + plotW + 20,
    height = top + plotH + 40;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="4" y="16" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
    ...parts,
    `<text x="${left + plotW / 2}" y="${height - 6}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text x="14" y="${top + plotH / 2}" text-anchor="middle" transform="rotate(-90 14 ${top + plotH / 2})">${esc(yLabel)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
