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
