// The showcase's training curves as one SVG: a panel per task, the held-out metric after each
// epoch, a line per loss. Plain SVG text, no chart library.
import type { TaskResult } from './common';

const COLORS = ['#2b7bba', '#e4572e', '#17a398', '#8e6c8a'];
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function curvesSvg(tasks: TaskResult[]): string {
  const w = 420,
    h = 260,
    pad = { l: 50, r: 12, t: 28, b: 36 };
  const cols = 2;
  const parts: string[] = [];
  tasks.forEach((t, k) => {
    const ox = (k % cols) * w,
      oy = Math.floor(k / cols) * h;
    const values = t.contenders.flatMap((c) => c.curve);
    const lo = Math.floor(Math.min(...values) * 20) / 20,
      hi = Math.ceil(Math.max(...values) * 20) / 20;
    const epochs = Math.max(...t.contenders.map((c) => c.curve.length));
    const px = (e: number) => ox + pad.l + ((e - 1) / Math.max(epochs - 1, 1)) * (w - pad.l - pad.r);
    const py = (v: number) => oy + h - pad.b - ((v - lo) / Math.max(hi - lo, 1e-9)) * (h - pad.t - pad.b);
    parts.push(
      `<text x="${ox + pad.l}" y="${oy + 18}" font-weight="bold">${esc(t.task)}</text>`,
      `<line x1="${px(1)}" y1="${py(lo)}" x2="${px(epochs)}" y2="${py(lo)}" stroke="#999"/>`,
      `<line x1="${px(1)}" y1="${py(lo)}" x2="${px(1)}" y2="${py(hi)}" stroke="#999"/>`,
      `<text x="${ox + 4}" y="${py(hi) + 4}">${hi.toFixed(2)}</text>`,
      `<text x="${ox + 4}" y="${py(lo) + 4}">${lo.toFixed(2)}</text>`,
      `<text x="${ox + 4}" y="${oy + h / 2}" transform="rotate(-90 ${ox + 12} ${oy + h / 2})">${esc(t.metric)}</text>`,
      `<text x="${(px(1) + px(epochs)) / 2 - 15}" y="${oy + h - 8}">epoch</text>`,
    );
    t.contenders.forEach((c, i) => {
      const pts = c.curve.map((v, e) => `${px(e + 1).toFixed(1)},${py(v).toFixed(1)}`).join(' ');
      parts.push(
        `<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="2" points="${pts}"/>`,
        `<text x="${px(1) + 8}" y="${oy + pad.t + 14 + 14 * i}" fill="${COLORS[i % COLORS.length]}">${esc(c.loss)}</text>`,
      );
    });
  });
  const rows = Math.ceil(tasks.length / cols);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${cols * w}" height="${rows * h}" font-family="sans-serif" font-size="12">` +
    `<rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>\n`
  );
}
