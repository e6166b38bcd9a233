// load.test.mjs: the page trains 6 methods at once for 10 minutes without its memory growing.
//   node tests/web/load.test.mjs [--dist web/dist]        (after scripts/build-web.sh)
// Environment: PLAB_LOAD_SECONDS (default 600: the full 10 minutes; CI uses the default),
// PLAB_LOAD_SAMPLE_SECONDS (10), PLAB_LOAD_WARMUP_SECONDS (60).
//
// It serves web/dist on 127.0.0.1, opens the page in headless Chromium with 6 methods running
// (a run long enough never to finish in the time given), and every ~10 s forces a garbage
// collection in the page and in each worker (CDP HeapProfiler.collectGarbage) and samples:
//   - the page's JS heap (CDP Performance.getMetrics JSHeapUsedSize),
//   - each worker's JS heap and ArrayBuffer backing stores (CDP Runtime.getHeapUsage, reached
//     through Target.setAutoAttach on the page's session),
//   - each worker's WebAssembly memory (the worker reports it with its progress),
//   - the resident memory of the renderer process (/proc, Linux only),
//   - the updates done per method and the points in the charts.
// It prints the samples as a table (and writes tests/artifacts/load.json), then asserts that
// each measure grows less than its bound below from the minute after the warm-up to the last
// minute (the least of each minute's samples: what stays after a GC, since a sample can land
// among the garbage of a chart redraw), that every method kept training, and that the charts
// kept getting points.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { cdpWithWorkers, consoleErrors, launch } from './browser.mjs';
import { arg, root } from './lib.mjs';
import { serve } from './serve.mjs';

const MiB = 1024 * 1024;
const seconds = (name, fallback) => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number of seconds, got '${process.env[name]}'`);
  return v;
};
const DURATION = seconds('PLAB_LOAD_SECONDS', 600);
const SAMPLE = seconds('PLAB_LOAD_SAMPLE_SECONDS', 10);
const WARMUP = Math.min(seconds('PLAB_LOAD_WARMUP_SECONDS', 60), DURATION / 2);

// The bounds on growth from the minute after the warm-up to the last minute. Measured on the
// 2-core Debian machine (docs/RELIABILITY.md has the figures). The page keeps, by design, one
// row per finished task per method and its chart points (bounded by the 5000 tasks a link may
// ask for): measured 0.5-2.1 KiB of heap per row, so its bound has an allowance per row added
// (a faster machine finishes more tasks in 10 minutes). Each bound leaves a wide margin over
// the measured growth while staying well below what a series growing with the updates adds in
// 10 minutes (keeping every 10-update window: 28 bytes each, ~50 MiB over the six workers).
const PER_TASK_ROW = 4 * 1024;
const BOUND = {
  pageHeap: 4 * MiB,      // the page's JS heap, plus PER_TASK_ROW for each task row added
  workerHeap: 4 * MiB,    // the six workers' JS heaps and ArrayBuffers, together
  wasm: 1 * MiB,          // the six WebAssembly memories, together (a run allocates up front)
  rss: 64 * MiB,          // the renderer process (noisy: allocator caches, compiled code)
};

// 6 methods on the default preset's network, with tasks long enough never to finish
const METHODS = ['none', 'l2', 'snp', 'cbp', 'redo', 'swr'];
const HASH = `methods=${METHODS.join(',')}&tasks=5000&steps_per_task=10000&autoplay=1`;

const dist = path.resolve(root, arg('dist', 'web/dist'));

/** The pids of every descendant of pid (Linux /proc); [] elsewhere. */
function descendants(pid) {
  let entries;
  try {
    entries = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return [];
  }
  const children = new Map();
  for (const d of entries) {
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(d));
    } catch { /* the process ended */ }
  }
  const out = [];
  const todo = [pid];
  while (todo.length) {
    for (const c of children.get(todo.pop()) || []) {
      out.push(c);
      todo.push(c);
    }
  }
  return out;
}

/** The resident memory (bytes) of this test's Chromium renderer processes, or null. */
function rendererRss() {
  let total = null;
  for (const pid of descendants(process.pid)) {
    try {
      if (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) continue;
      const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
      if (m) total = (total ?? 0) + Number(m[1]) * 1024;
    } catch { /* the process ended */ }
  }
  return total;
}

function fmt(bytes) {
  return bytes == null ? '-' : (bytes / MiB).toFixed(2);
}

describe('the page under load', { concurrency: false }, () => {
  let site;
  let browser;

  before(async () => {
    assert.ok(fs.existsSync(path.join(dist, 'index.html')), `${dist} is not built: run scripts/build-web.sh`);
    site = await serve(dist, 0);
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await site?.close();
  });

  it(`trains ${METHODS.length} methods for ${DURATION} s with bounded memory`, { timeout: (DURATION + 180) * 1000 }, async (t) => {
    const page = await browser.context.newPage();
    const { cdp, workers, toWorker } = await cdpWithWorkers(browser.context, page);
    await cdp.send('Performance.enable');
    const t0 = Date.now();
    await page.goto(`${site.url}#${HASH}`);
    await page.waitForFunction((n) => window.plabPage?.runs
      && Object.values(window.plabPage.runs.methods).filter((r) => r.state === 'running').length === n,
    METHODS.length, { timeout: 60000, polling: 200 });
    assert.equal(workers.size, METHODS.length, 'one worker per method, reachable over CDP');

    const samples = [];
    const sample = async () => {
      const ws = [...workers.keys()];
      for (let i = 0; i < 2; i++) {
        await cdp.send('HeapProfiler.collectGarbage');
        await Promise.all(ws.map((s) => toWorker(s, 'HeapProfiler.collectGarbage')));
      }
      const metrics = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
      const heaps = await Promise.all(ws.map((s) => toWorker(s, 'Runtime.getHeapUsage')));
      const info = await page.evaluate(() => {
        const runs = Object.values(window.plabPage.runs.methods);
        const points = Object.values(window.plabPage.charts.counts()).flatMap((c) => Object.values(c));
        return {
          status: document.documentElement.dataset.status,
          steps: Object.fromEntries(runs.map((r) => [r.name, r.stepsDone])),
          tasks: Object.fromEntries(runs.map((r) => [r.name, r.tasks.length])),
          states: runs.map((r) => `${r.name}:${r.state}`),
          wasm: runs.reduce((a, r) => a + (r.memoryBytes || 0), 0),
          points: points.reduce((a, n) => a + n, 0),
          windows: Math.max(...runs.map((r) => r.windows?.step.length || 0)),
        };
      });
      const s = {
        t: (Date.now() - t0) / 1000,
        pageHeap: metrics.JSHeapUsedSize,
        domNodes: metrics.Nodes,
        workerHeap: heaps.reduce((a, h) => a + (h ? h.usedSize : 0), 0),
        workerBuffers: heaps.reduce((a, h) => a + (h ? h.backingStorageSize : 0), 0),
        workersSeen: heaps.filter(Boolean).length,
        rss: rendererRss(),
        ...info,
      };
      s.workerAll = s.workerHeap + s.workerBuffers;
      samples.push(s);
      const total = Object.values(s.steps).reduce((a, n) => a + n, 0);
      t.diagnostic(`${s.t.toFixed(0).padStart(5)} s  page ${fmt(s.pageHeap)} MiB  workers ${fmt(s.workerHeap)}+${fmt(s.workerBuffers)} MiB  `
        + `wasm ${fmt(s.wasm)} MiB  rss ${fmt(s.rss)} MiB  updates ${total}  chart points ${s.points}`);
      return s;
    };

    const start = Date.now();
    await sample();
    while ((Date.now() - start) / 1000 < DURATION) {
      await page.waitForTimeout(Math.min(SAMPLE * 1000, DURATION * 1000 - (Date.now() - start)));
      await sample();
    }

    // the summary table
    const base = samples.find((s) => s.t - samples[0].t >= WARMUP) || samples[0];
    const last = samples[samples.length - 1];
    const span = Math.max(1, Math.round(60 / SAMPLE)); // samples in a minute
    const first = samples.slice(samples.indexOf(base), samples.indexOf(base) + span);
    const final = samples.slice(Math.max(samples.indexOf(base), samples.length - span));
    const least = (list, k) => (list.some((s) => s[k] == null) ? null : Math.min(...list.map((s) => s[k])));
    const rows = [['time s', 'page heap', 'worker heap', 'worker bufs', 'wasm', 'renderer rss', 'updates', 'chart pts', 'DOM nodes']];
    for (const s of samples) {
      rows.push([s.t.toFixed(0), fmt(s.pageHeap), fmt(s.workerHeap), fmt(s.workerBuffers), fmt(s.wasm),
        fmt(s.rss), String(Object.values(s.steps).reduce((a, n) => a + n, 0)), String(s.points), String(s.domNodes)]);
    }
    const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
    console.log('\nmemory in MiB, after a forced GC; updates summed over the methods');
    for (const r of rows) console.log(r.map((c, j) => c.padStart(widths[j])).join('  '));
    console.log(`\nupdates per method at ${last.t.toFixed(0)} s: ${Object.entries(last.steps).map(([m, n]) => `${m} ${n} (${last.tasks[m]} tasks)`).join(', ')}`);
    const grow = (k) => {
      const a = least(first, k);
      const b = least(final, k);
      return a == null || b == null ? null : b - a;
    };
    const growth = { pageHeap: grow('pageHeap'), workerHeap: grow('workerAll'), wasm: grow('wasm'), rss: grow('rss') };
    const taskRows = (s) => Object.values(s.tasks).reduce((a, n) => a + n, 0);
    const rowsAdded = taskRows(last) - taskRows(first[0]);
    const bound = { ...BOUND, pageHeap: BOUND.pageHeap + PER_TASK_ROW * rowsAdded };
    console.log(`task rows in the page: ${taskRows(first[0])} at ${first[0].t.toFixed(0)} s, ${taskRows(last)} at ${last.t.toFixed(0)} s`);
    console.log(`growth from the least of ${first[0].t.toFixed(0)}-${first[first.length - 1].t.toFixed(0)} s to the least of `
      + `${final[0].t.toFixed(0)}-${last.t.toFixed(0)} s: ${Object.entries(growth)
      .map(([k, v]) => `${k} ${fmt(v)} MiB (bound ${fmt(bound[k])})`).join(', ')}`);
    fs.mkdirSync(path.join(root, 'tests/artifacts'), { recursive: true });
    fs.writeFileSync(path.join(root, 'tests/artifacts/load.json'),
      `${JSON.stringify({ duration: DURATION, warmup: WARMUP, hash: HASH, bound, rowsAdded, growth, samples }, null, 1)}\n`);

    // every method kept training to the end, none finished or failed, and the charts grew
    assert.equal(last.status, 'running', `the run stopped: ${last.states.join(', ')}`);
    for (const m of METHODS) {
      assert.ok(last.steps[m] > base.steps[m], `${m} stopped training (${base.steps[m]} -> ${last.steps[m]} updates)`);
    }
    assert.ok(last.points > base.points, 'the charts stopped getting points');
    assert.ok(samples.every((s) => s.workersSeen === METHODS.length), 'every worker answered every sample');
    for (const [k, v] of Object.entries(growth)) {
      if (v != null) assert.ok(v <= bound[k], `${k} grew ${fmt(v)} MiB from the minute after ${base.t.toFixed(0)} s to the last (bound ${fmt(bound[k])} MiB)`);
    }
    assert.deepEqual(consoleErrors(browser.log), []);
    await page.close();
  });
});
