// worker.js: trains one method's run in a Web Worker (one worker per method; the main thread
// never trains). It steps the run in small chunks, yielding between them so that pause, resume
// and "next task" messages are handled at once, and posts progress at most 10 times a second:
// the new per-task rows, and the 10-update windows downsampled here (bins that never straddle
// a task boundary, so a task's learning curve stays visible).
//
// Messages in:  start {id, settings, flavour, wasmModule?, paused}, pause, resume, task, stop
// Messages out: ready {id, totalSteps, stepsPerTask, numParams, kernels, flavour}
//               progress {id, state, stepsDone, currentTask, speed, tasks[], events, memoryBytes
//                         (the wasm linear memory's size),
//                         windows {step[], accuracy[], loss[]} (the whole run, downsampled),
//                         latest {task, step[], accuracy[], loss[]} (the last completed task's
//                         windows, step counted within the task), trace?}
//               error {id, message, status}
import { loadEngine } from './engine.js';

const POST_MS = 100;     // progress at most 10 times a second
const CHUNK_MS = 25;     // aim for chunks of about this long
const MAX_POINTS = 600;  // downsampled window points per series

let id = null;
let run = null;
let mode = 'idle';       // running | paused | task | done | error | stopped
let targetTask = 0;
let chunk = 10;
let lastPost = 0;
let pendingTasks = [];
let events = 0;
let speed = { steps: 0, t: 0, value: 0 };
// The windows of the whole run, summed in bins of `bin` windows (a size from binSizes, so a bin
// never straddles a task), at most STORE_CAP bins plus the open one. When the store fills, its
// bins merge into the next size that is a multiple of `bin`: memory and the cost of a progress
// message stay bounded however long the run (10 minutes of training is over a million windows).
const STORE_CAP = 4096;
let store = null;        // { bin, n, total, step, acc, loss: Float64Array(STORE_CAP), open {acc, loss, c, step} }
// the raw windows of the last few tasks, for the learning curve of the last completed one
const RECENT_TASKS = 3;
let recent = [];         // [{ task, step[], acc[], loss[] }]
let lastDone = -1;       // the last completed task
let perTask = 1;         // windows per task
let sizes = [1];         // binSizes(perTask)

function resetWindows(stepsPerTask) {
  perTask = Math.max(1, Math.ceil(stepsPerTask / 10));
  sizes = binSizes(perTask);
  store = { bin: 1, n: 0, total: 0, step: new Float64Array(STORE_CAP), acc: new Float64Array(STORE_CAP),
    loss: new Float64Array(STORE_CAP), open: { acc: 0, loss: 0, c: 0, step: 0 } };
  recent = [];
  lastDone = -1;
}

const gcd = (a, b) => (b ? gcd(b, a % b) : a);

/** Points of the whole run in bins of b windows, with `tasks` tasks begun. */
function points(tasks, b) {
  return b <= perTask ? tasks * (perTask / b) : Math.ceil(tasks / (b / perTask));
}

/**
 * Merges the stored bins k at a time into the next bin size; a part group joins the open bin.
 * The next size is the greatest common divisor of every size the output may still use (those
 * giving at most MAX_POINTS points now, since tasks only grow), so the output stays exactly
 * what binning the raw windows would give; only if that makes no progress (a task's window
 * count with unusual divisors) the next multiple is taken and the output gets coarser.
 */
function coarsen() {
  const tasks = Math.ceil(store.total / perTask);
  let next = sizes.filter((b) => points(tasks, b) <= MAX_POINTS).reduce(gcd);
  if (next <= store.bin || next % store.bin !== 0) next = sizes.find((b) => b > store.bin && b % store.bin === 0);
  const k = next / store.bin;
  const full = Math.floor(store.n / k);
  for (let g = 0; g < full; g++) {
    let a = 0;
    let l = 0;
    for (let j = g * k; j < (g + 1) * k; j++) {
      a += store.acc[j];
      l += store.loss[j];
    }
    store.acc[g] = a;
    store.loss[g] = l;
    store.step[g] = store.step[(g + 1) * k - 1];
  }
  const o = store.open;
  const empty = o.c === 0;
  for (let j = full * k; j < store.n; j++) {
    o.acc += store.acc[j];
    o.loss += store.loss[j];
    o.c += store.bin;
    if (empty) o.step = store.step[j];
  }
  store.n = full;
  store.bin = next;
}

function push(row) {
  const o = store.open;
  o.acc += row.accuracy;
  o.loss += row.loss;
  o.c++;
  o.step = row.step;
  store.total++;
  if (store.total % store.bin === 0) {
    store.acc[store.n] = o.acc;
    store.loss[store.n] = o.loss;
    store.step[store.n] = o.step;
    store.n++;
    store.open = { acc: 0, loss: 0, c: 0, step: 0 };
    if (store.n === STORE_CAP) coarsen();
  }
  let r = recent[recent.length - 1];
  if (!r || r.task !== row.task) {
    r = { task: row.task, step: [], acc: [], loss: [] };
    recent.push(r);
    if (recent.length > RECENT_TASKS) recent.shift();
  }
  r.step.push(row.step);
  r.acc.push(row.accuracy);
  r.loss.push(row.loss);
}

/** The windows of the last completed task, x = update within the task (its learning curve). */
function latestTask() {
  const r = recent.find((x) => x.task === lastDone);
  if (!r) return null;
  const first = lastDone * run.stepsPerTask;
  return { task: lastDone, step: r.step.map((s) => s - first), accuracy: r.acc.slice(), loss: r.loss.slice() };
}

/** Bin sizes (in windows) that never straddle a task: the divisors of a task's window count,
 * then whole tasks, doubling. */
function binSizes(n) {
  const out = [];
  for (let b = 1; b <= n; b++) if (n % b === 0) out.push(b);
  for (let b = n * 2; b < 1e9; b *= 2) out.push(b);
  return out;
}

/**
 * Windows averaged in bins: the smallest size from binSizes (a multiple of the stored bins')
 * giving at most MAX_POINTS points. A bin holds consecutive windows of one task (or whole
 * tasks), so a task's within-task learning curve is never blended with the next task's start.
 */
function downsample() {
  const tasks = Math.ceil(store.total / perTask);
  const bin = sizes.find((b) => b % store.bin === 0 && points(tasks, b) <= MAX_POINTS);
  const k = bin / store.bin;
  const out = { step: [], accuracy: [], loss: [] };
  let a = 0;
  let l = 0;
  let c = 0;
  let s = 0;
  const flush = () => {
    out.step.push(s);
    out.accuracy.push(a / c);
    out.loss.push(l / c);
    a = l = c = 0;
  };
  for (let j = 0; j < store.n; j++) {
    a += store.acc[j];
    l += store.loss[j];
    c += store.bin;
    s = store.step[j];
    if ((j + 1) % k === 0) flush();
  }
  const o = store.open;
  if (o.c) {
    a += o.acc;
    l += o.loss;
    c += o.c;
    s = o.step;
  }
  if (c) flush();
  return out;
}

function post(extra = {}) {
  const now = performance.now();
  if (now - speed.t >= 500 || mode !== 'running') {
    const steps = run.stepsDone;
    if (speed.t > 0 && now > speed.t) speed.value = (1000 * (steps - speed.steps)) / (now - speed.t);
    speed.steps = steps;
    speed.t = now;
  }
  lastPost = now;
  self.postMessage({
    type: 'progress', id, state: mode, stepsDone: run.stepsDone, currentTask: run.currentTask,
    speed: mode === 'running' || mode === 'task' ? speed.value : 0, tasks: pendingTasks, events,
    windows: downsample(), latest: latestTask(), memoryBytes: run.engine.memoryBytes(), ...extra,
  });
  pendingTasks = [];
}

function collect() {
  const rows = run.takeRows();
  for (const w of rows.window) push(w);
  // NaN (not measured) survives structured cloning; the page shows it as a gap
  for (const t of rows.task) {
    pendingTasks.push(t);
    lastDone = t.task;
  }
  events += rows.event.length;
}

// A zero-delay yield to the event loop (setTimeout is clamped after nesting).
const channel = new MessageChannel();
channel.port1.onmessage = () => tick();
const later = () => channel.port2.postMessage(0);

function tick() {
  if (mode !== 'running' && mode !== 'task') return;
  const t0 = performance.now();
  let n = chunk;
  if (mode === 'task') {
    const left = targetTask * run.stepsPerTask - run.stepsDone;
    n = Math.max(1, Math.min(n, left));
  }
  try {
    run.step(n);
  } catch (e) {
    collect();
    mode = 'error';
    post({ error: e.message });
    self.postMessage({ type: 'error', id, message: e.message, status: e.status ?? null });
    return;
  }
  const dt = performance.now() - t0;
  chunk = Math.max(1, Math.min(5000, Math.round(n * (dt > 0 ? CHUNK_MS / dt : 2))));
  collect();
  if (run.done) {
    mode = 'done';
    post({ trace: run.traceHash() });
    return;
  }
  if (mode === 'task' && run.currentTask >= targetTask) {
    mode = 'paused';
    post();
    return;
  }
  if (performance.now() - lastPost >= POST_MS) post();
  later();
}

async function start(data) {
  id = data.id;
  const engine = await loadEngine({ flavour: data.flavour, wasmModule: data.wasmModule });
  run = engine.run(data.settings);
  resetWindows(run.stepsPerTask);
  self.postMessage({ type: 'ready', id, totalSteps: run.totalSteps, stepsPerTask: run.stepsPerTask,
    numParams: run.numParams, kernels: run.kernels, flavour: engine.flavour });
  mode = data.paused ? 'paused' : 'running';
  speed = { steps: 0, t: performance.now(), value: 0 };
  if (mode === 'running') later();
}

function control(type) {
  switch (type) {
    case 'pause':
      if (mode === 'running' || mode === 'task') {
        mode = 'paused';
        post();
      }
      break;
    case 'resume':
      if (mode === 'paused') {
        mode = 'running';
        speed = { steps: run.stepsDone, t: performance.now(), value: speed.value };
        later();
      }
      break;
    case 'task':
      if (mode === 'paused' || mode === 'running') {
        targetTask = Math.min(run.currentTask + 1, run.totalSteps / run.stepsPerTask);
        mode = 'task';
        later();
      }
      break;
    case 'stop':
      mode = 'stopped';
      break;
    default:
      break;
  }
}

function fail(e) {
  mode = 'error';
  self.postMessage({ type: 'error', id, message: e.message, status: e.status ?? null });
}

// Control messages that arrive while the engine loads wait for it (the page may send
// start then task at once).
let ready = null;
self.onmessage = ({ data }) => {
  if (data.type === 'start') {
    ready = start(data).catch(fail);
  } else if (ready) {
    ready.then(() => { if (run) control(data.type); }).catch(fail);
  }
};
