// Owns the three uPlot charts of the last hour (per-minute series from /dashboard/api/series):
// throughput (ok and failed calls per provider), failures by error class, and latency p50/p95 per
// provider. A chart is rebuilt only when its set of lines changes; otherwise it gets new data.
import uPlot from '/dashboard/vendor/uPlot.esm.js';

const PALETTE = ['#4c9be8', '#2fb36b', '#e0a526', '#c678dd', '#56b6c2', '#e0463c', '#d19a66', '#98c379', '#61afef', '#be5046'];
const AXIS = { stroke: '#7d8a97', grid: { stroke: '#27313c', width: 1 }, ticks: { stroke: '#27313c', width: 1 } };
const HEIGHT = 200;

function colour(i) {
  return PALETTE[i % PALETTE.length];
}

class Chart {
  /** points: draw a dot per value (for series with gaps, where a lone minute has no line). */
  constructor(container, yLabel, points = false) {
    this.container = container;
    this.yLabel = yLabel;
    this.points = points;
    this.plot = null;
    this.signature = '';
    new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: HEIGHT })).observe(container);
  }

  width() {
    return Math.max(280, this.container.clientWidth);
  }

  /** lines: [{label, values, stroke, dash?}] */
  update(t, lines) {
    const data = [t, ...lines.map((l) => l.values)];
    const signature = lines.map((l) => l.label).join('|');
    if (this.plot && signature === this.signature) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    this.signature = signature;
    this.plot = new uPlot(
      {
        width: this.width(),
        height: HEIGHT,
        scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(1, max ?? 0, min ?? 0) * 1.1] } },
        series: [
          {},
          ...lines.map((l) => ({
            label: l.label,
            stroke: l.stroke,
            width: 1.5,
            dash: l.dash,
            spanGaps: false,
            points: { show: this.points, size: 4 },
          })),
        ],
        axes: [AXIS, { ...AXIS, label: this.yLabel, size: 50 }],
        cursor: { drag: { x: false, y: false } },
      },
      data,
      this.container,
    );
  }
}

export class Charts {
  constructor() {
    this.throughput = new Chart(document.getElementById('chart-throughput'), 'calls/min');
    this.errors = new Chart(document.getElementById('chart-errors'), 'failures/min');
    this.latency = new Chart(document.getElementById('chart-latency'), 'ms', true);
  }

  update(series) {
    const { t, providers, error_classes: classes } = series;
    this.throughput.update(
      t,
      providers.flatMap((p, i) => [
        { label: `${p.provider} ok`, values: p.success, stroke: colour(i) },
        { label: `${p.provider} failed`, values: p.failed, stroke: colour(i), dash: [4, 4] },
      ]),
    );
    const names = Object.keys(classes).sort();
    this.errors.update(
      t,
      names.length > 0
        ? names.map((name, i) => ({ label: name, values: classes[name], stroke: colour(i + 5) }))
        : [{ label: 'no failures', values: t.map(() => 0), stroke: '#2fb36b' }],
    );
    this.latency.update(
      t,
      providers.flatMap((p, i) => [
        { label: `${p.provider} p50`, values: p.p50, stroke: colour(i) },
        { label: `${p.provider} p95`, values: p.p95, stroke: colour(i), dash: [4, 4] },
      ]),
    );
  }
}
