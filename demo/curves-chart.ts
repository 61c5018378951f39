// The showcase's training curves: a panel per task, the held-out metric after each epoch (epoch
// ticks, gridlines), a line per loss, and the legend below the panels where no line can cross it.
import { vegaLiteSvg } from '../bench/chart';
import type { TaskResult } from './common';

export function curvesSvg(tasks: TaskResult[]): Promise<string> {
  const values = tasks.flatMap((t) =>
    t.contenders.flatMap((c) =>
      c.curve.map((value, e) => ({ task: `${t.task}: ${t.metric}`, loss: c.loss, epoch: e + 1, value })),
    ),
  );
  return vegaLiteSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Held-out metric after each epoch', anchor: 'start' },
    data: { values },
    facet: { field: 'task', type: 'nominal', sort: tasks.map((t) => `${t.task}: ${t.metric}`), title: null },
    columns: 2,
    resolve: { scale: { x: 'independent', y: 'independent' } },
    spec: {
      width: 340,
      height: 200,
      mark: { type: 'line', point: true },
      encoding: {
        x: {
          field: 'epoch',
          type: 'quantitative',
          scale: { nice: false },
          axis: { tickMinStep: 1, format: 'd', grid: true },
        },
        y: { field: 'value', type: 'quantitative', scale: { zero: false }, axis: { title: null, grid: true } },
        color: {
          field: 'loss',
          type: 'nominal',
          sort: [...new Set(values.map((v) => v.loss))],
          legend: { orient: 'bottom', columns: 3, title: 'loss', labelLimit: 300 },
        },
      },
    },
    config: { font: 'sans-serif', header: { labelFontSize: 12, labelFontWeight: 'bold' } },
  });
}
