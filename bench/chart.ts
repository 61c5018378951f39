// The bench report as an SVG bar chart: one group per case, one bar per backend, median time on a
// log scale (the backends span four orders of magnitude). Plain SVG text, no chart library.

export interface ChartRow {
  loss: string;
  size: string;
  backend: string;
  medianMs: number;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function barChartSvg(rows: ChartRow[], title: string): string {
  const labelW = 330,
    plotW = 520,
    barH = 16,
    gap = 4,
    groupGap = 26,
    top = 40;
  const lo = Math.floor(Math.log10(Math.min(...rows.map((r) => r.medianMs))));
  const hi = Math.ceil(Math.log10(Math.max(...rows.map((r) => r.medianMs))));
  const x = (ms: number): number => labelW + ((Math.log10(ms) - lo) / Math.max(hi - lo, 1)) * plotW;
  const parts: string[] = [];
  let y = top;
  let group = '';
  for (const r of rows) {
    const name = `${r.loss} ${r.size}`;
    if (name !== group) {
      y += group ? groupGap : 0;
      parts.push(`<text x="4" y="${y + 12}" font-weight="bold">${esc(name)}</text>`);
      y += barH + gap;
      group = name;
    }
    const fused = r.backend.startsWith('fusedloss cpu');
    parts.push(
      `<text x="12" y="${y + 12}">${esc(r.backend)}</text>`,
      `<rect x="${labelW}" y="${y}" width="${(x(r.medianMs) - labelW).toFixed(1)}" height="${barH}" fill="${fused ? '#2b7bba' : '#b0b0b0'}"/>`,
      `<text x="${(x(r.medianMs) + 4).toFixed(1)}" y="${y + 12}">${r.medianMs < 10 ? r.medianMs.toFixed(2) : r.medianMs.toFixed(0)} ms</text>`,
    );
    y += barH + gap;
  }
  const axis: string[] = [];
  for (let e = lo; e <= hi; e++) {
    const ax = x(10 ** e).toFixed(1);
    axis.push(
      `<line x1="${ax}" y1="${top - 6}" x2="${ax}" y2="${y}" stroke="#ddd"/>`,
      `<text x="${ax}" y="${top - 10}" text-anchor="middle">${10 ** e >= 1 ? 10 ** e : (10 ** e).toPrecision(1)} ms</text>`,
    );
  }
  const width = labelW + plotW + 90,
    height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="4" y="16" font-size="14" font-weight="bold">${esc(title)}</text>`,
    ...axis,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
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
  const colours = ['#2b7bba', '#d9534f', '#5cb85c', '#f0ad4e'];
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
