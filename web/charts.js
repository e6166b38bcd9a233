// charts.js: the page's charts (Chart.js, loaded as vendor/chart.umd.min.js) and their
// data-table fallbacks. One line per method, with the method's colour and dash pattern from
// state.js. Knows nothing of workers: main.js hands it the results.

/**
 * The charts: `task` charts plot one value per task from the task rows; the `latest` chart plots
 * the 10-update windows of each method's last completed task (how fast it still learns).
 * `value` returns null where a row has no measurement (probe metrics between probes).
 */
export const CHARTS = [
  {
    id: 'accuracy', main: true, kind: 'task',
    title: (m) => (m.regression ? 'Online loss per task (lower is better)' : 'Online accuracy per task'),
    x: 'Task', y: (m) => (m.regression ? 'mean squared error' : 'accuracy (%)'),
    value: (r, m) => (m.regression ? r.loss : 100 * r.accuracy),
    digits: 2,
  },
  {
    id: 'latest', kind: 'latest',
    title: (m) => `Learning curve on the latest task${m.latestTask != null ? ` (task ${m.latestTask})` : ''}`,
    x: 'Update within the task (10-update means)', y: (m) => (m.regression ? 'loss' : 'accuracy (%)'),
    digits: 2,
  },
  {
    id: 'dead', kind: 'task',
    title: (m) => (m.frozen ? 'Frozen units (%)' : 'Dead units (%)'),
    x: 'Task', y: () => '% of hidden units',
    value: (r, m) => (r.probed ? (m.frozen ? r.frozen_units_pct : r.dead_units_pct) : null),
    digits: 2,
  },
  {
    id: 'srank', kind: 'task',
    title: () => 'Stable rank, last hidden layer',
    x: 'Task', y: () => 'stable rank',
    value: (r) => (r.probed ? r.stable_rank : null),
    digits: 1,
  },
  {
    id: 'wabs', kind: 'task',
    title: () => 'Average weight magnitude |\u03b8|',
    x: 'Task', y: () => 'mean |\u03b8|',
    value: (r) => (r.probed ? r.param_abs : null),
    digits: 4,
  },
  {
    id: 'reinit', kind: 'task',
    title: () => 'Weights reinitialized per task (%)',
    x: 'Task', y: () => '% of parameters',
    value: (r) => r.reinit_pct,
    digits: 3,
  },
];

const finite = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

// Draws a white background so that exported PNGs are not transparent.
const background = {
  id: 'plabBackground',
  beforeDraw(chart) {
    const { ctx, width, height } = chart;
    ctx.save();
    ctx.globalCompositeOperation = 'destination-over';
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, width, height);
    ctx.restore();
  },
};

/** The chart set: one figure per CHARTS entry inside `container`. */
export class ChartSet {
  constructor(container, { compact = false } = {}) {
    const Chart = globalThis.Chart;
    if (!Chart) throw new Error('Chart.js did not load (vendor/chart.umd.min.js)');
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = '#333';
    this.mode = { regression: false, frozen: false };
    this.methods = [];
    this.figures = [];
    const defs = compact ? CHARTS.filter((c) => c.main) : CHARTS;
    for (const def of defs) this.figures.push(this.makeFigure(container, def, Chart));
  }

  makeFigure(container, def, Chart) {
    const fig = document.createElement('figure');
    fig.className = def.main ? 'chart main' : 'chart';
    fig.id = `chart-${def.id}`;
    const cap = document.createElement('figcaption');
    const h = document.createElement('h3');
    h.id = `chart-${def.id}-title`;
    cap.append(h);
    const box = document.createElement('div');
    box.className = 'canvas-box';
    const canvas = document.createElement('canvas');
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-labelledby', h.id);
    box.append(canvas);
    const details = document.createElement('details');
    details.className = 'table-fallback';
    const summary = document.createElement('summary');
    summary.textContent = 'Show the numbers as a table';
    const tableBox = document.createElement('div');
    tableBox.className = 'table-box';
    details.append(summary, tableBox);
    details.addEventListener('toggle', () => { if (details.open) this.renderTable(fig.plab); });
    fig.append(cap, box, details);
    container.append(fig);
    const chart = new Chart(canvas, {
      type: 'line',
      data: { datasets: [] },
      plugins: [background],
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        parsing: false,
        normalized: true,
        spanGaps: true,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: (c) => `${c.dataset.label}: ${c.parsed.y.toFixed(def.digits)}`,
            },
          },
        },
        scales: {
          x: { type: 'linear', title: { display: true, text: def.x }, ticks: { maxTicksLimit: 8 } },
          y: { type: 'linear', title: { display: true, text: '' }, ticks: { maxTicksLimit: 6 } },
        },
        elements: { point: { radius: 0, hoverRadius: 3 }, line: { tension: 0 } },
      },
    });
    const f = { def, fig, h, chart, details, tableBox };
    fig.plab = f;
    return f;
  }

  /** Sets the display mode: { regression, frozen } from the problem and activation. */
  setMode(mode) {
    this.mode = { ...this.mode, ...mode };
  }

  /**
   * Updates every chart from `series`: [{ name, info, tasks: [row], latest: {task, step[], accuracy[],
   * loss[]} }] in legend order.
   */
  update(series) {
    this.series = series;
    const latest = series.map((s) => s.latest?.task).filter((t) => t != null);
    this.mode.latestTask = latest.length ? Math.min(...latest) : null;
    for (const f of this.figures) {
      const { def, chart } = f;
      f.h.textContent = def.title(this.mode);
      chart.options.scales.y.title.text = def.y(this.mode);
      chart.data.datasets = series.map((s) => ({
        label: s.info.label,
        borderColor: s.info.color,
        backgroundColor: s.info.color,
        borderDash: s.info.dash,
        borderWidth: s.info.width || 2,
        data: this.points(def, s),
      }));
      chart.update('none');
      if (f.details.open) this.renderTable(f);
    }
  }

  points(def, s) {
    if (def.kind === 'latest') {
      const w = s.latest;
      if (!w) return [];
      const ys = this.mode.regression ? w.loss : w.accuracy;
      const out = [];
      for (let i = 0; i < w.step.length; i++) {
        const y = finite(this.mode.regression ? ys[i] : 100 * ys[i]);
        if (y !== null) out.push({ x: w.step[i], y });
      }
      return out;
    }
    const out = [];
    for (const r of s.tasks) {
      const y = finite(def.value(r, this.mode));
      if (y !== null) out.push({ x: r.task, y });
    }
    return out;
  }

  /** The fallback table of one figure: a row per task (or window point), a column per method. */
  renderTable(f) {
    const series = this.series || [];
    const table = document.createElement('table');
    const cap = document.createElement('caption');
    cap.textContent = f.def.title(this.mode);
    const head = table.createTHead().insertRow();
    const th0 = document.createElement('th');
    th0.scope = 'col';
    th0.textContent = f.def.x;
    head.append(th0);
    for (const s of series) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = s.info.label;
      head.append(th);
    }
    const cols = series.map((s) => new Map(this.points(f.def, s).map((p) => [p.x, p.y])));
    const xs = [...new Set(cols.flatMap((c) => [...c.keys()]))].sort((a, b) => a - b);
    const body = table.createTBody();
    for (const x of xs) {
      const tr = body.insertRow();
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = String(x);
      tr.append(th);
      for (const c of cols) {
        const td = tr.insertCell();
        const v = c.get(x);
        td.textContent = v === undefined ? '' : v.toFixed(f.def.digits);
      }
    }
    table.prepend(cap);
    f.tableBox.replaceChildren(table);
  }

  /** Number of points per dataset of every chart: { chartId: { label: n } } (tests). */
  counts() {
    return Object.fromEntries(this.figures.map((f) => [f.def.id,
      Object.fromEntries(f.chart.data.datasets.map((d) => [d.label, d.data.length]))]));
  }

  /** One PNG (data URL) holding every chart stacked, with titles. */
  toPNG() {
    const scale = 2;
    const imgs = this.figures.map((f) => ({ title: f.h.textContent, canvas: f.chart.canvas }));
    const width = Math.max(...imgs.map((i) => i.canvas.width));
    const titleH = 28 * scale;
    const height = imgs.reduce((h, i) => h + titleH + i.canvas.height, 0);
    const out = document.createElement('canvas');
    out.width = width;
    out.height = height + 40 * scale;
    const ctx = out.getContext('2d');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, out.width, out.height);
    let y = 0;
    ctx.fillStyle = '#111';
    for (const i of imgs) {
      ctx.font = `${14 * scale}px sans-serif`;
      ctx.fillText(i.title, 8 * scale, y + 20 * scale);
      y += titleH;
      ctx.drawImage(i.canvas, 0, y);
      y += i.canvas.height;
    }
    // the legend, drawn as lines with each method's colour and dash
    let x = 8 * scale;
    for (const s of this.series || []) {
      ctx.strokeStyle = s.info.color;
      ctx.lineWidth = (s.info.width || 2) * scale;
      ctx.setLineDash(s.info.dash.map((d) => d * scale));
      ctx.beginPath();
      ctx.moveTo(x, y + 20 * scale);
      ctx.lineTo(x + 30 * scale, y + 20 * scale);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = '#111';
      ctx.font = `${12 * scale}px sans-serif`;
      ctx.fillText(s.info.label, x + 36 * scale, y + 24 * scale);
      x += (46 + 7 * s.info.label.length) * scale;
    }
    return out.toDataURL('image/png');
  }

  destroy() {
    for (const f of this.figures) f.chart.destroy();
    this.figures = [];
  }
}
