// worker.js: trains one method's run in a Web Worker (one worker per method; the main thread
// never trains). It steps the run in small chunks, yielding between them so that pause, resume
// and "next task" messages are handled at once, and posts progress at most 10 times a second:
// the new per-task rows, and the 10-update windows downsampled here (bins that never straddle
// a task boundary, so a task's learning curve stays visible).
//
// Messages in:  start {id, settings, flavour, wasmModule?, paused}, pause, resume, task, stop
// Messages out: ready {id, totalSteps, stepsPerTask, numParams, kernels, flavour}
//               progress {id, state, stepsDone, currentTask, speed, tasks[], events,
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
// every window: step, task, accuracy, loss (grown by doubling)
const newWindows = (cap) => ({ n: 0, step: new Float64Array(cap), task: new Int32Array(cap),
  acc: new Float64Array(cap), loss: new Float64Array(cap) });
let win = newWindows(1024);
let lastDone = -1; // the last completed task

function push(row) {
  if (win.n === win.step.length) {
    const bigger = newWindows(win.n * 2);
    for (const k of ['step', 'task', 'acc', 'loss']) bigger[k].set(win[k]);
    bigger.n = win.n;
    win = bigger;
  }
  win.step[win.n] = row.step;
  win.task[win.n] = row.task;
  win.acc[win.n] = row.accuracy;
  win.loss[win.n] = row.loss;
  win.n++;
}

/** The windows of the last completed task, x = update within the task (its learning curve). */
function latestTask() {
  if (lastDone < 0) return null;
  let hi = win.n;
  while (hi > 0 && win.task[hi - 1] !== lastDone) hi--;
  let lo = hi;
  while (lo > 0 && win.task[lo - 1] === lastDone) lo--;
  const first = lastDone * run.stepsPerTask;
  const out = { task: lastDone, step: [], accuracy: [], loss: [] };
  for (let i = lo; i < hi; i++) {
    out.step.push(win.step[i] - first);
    out.accuracy.push(win.acc[i]);
    out.loss.push(win.loss[i]);
  }
  return out;
}

/** Bin sizes (in windows) that never straddle a task: the divisors of a task's window count,
 * then whole tasks, doubling. */
function binSizes(perTask) {
  const out = [];
  for (let b = 1; b <= perTask; b++) if (perTask % b === 0) out.push(b);
  for (let b = perTask * 2; b < 1e9; b *= 2) out.push(b);
  return out;
}

/**
 * Windows averaged in bins: the smallest bin from binSizes giving at most MAX_POINTS points.
 * A bin holds consecutive windows of one task (or whole tasks), so a task's within-task
 * learning curve is never blended with the next task's start.
 */
function downsample() {
  const perTask = Math.max(1, Math.ceil(run.stepsPerTask / 10));
  const tasks = Math.ceil(win.n / perTask);
  const bin = binSizes(perTask).find((b) => (b <= perTask ? tasks * (perTask / b) : Math.ceil(tasks / (b / perTask))) <= MAX_POINTS);
  const out = { step: [], accuracy: [], loss: [] };
  let a = 0;
  let l = 0;
  let c = 0;
  for (let i = 0; i < win.n; i++) {
    a += win.acc[i];
    l += win.loss[i];
    c++;
    const inTask = (i % perTask) + 1;
    const end = i === win.n - 1
      || (bin <= perTask ? inTask % bin === 0 : inTask === perTask && (Math.floor(i / perTask) + 1) % (bin / perTask) === 0);
    if (end) {
      out.step.push(win.step[i]);
      out.accuracy.push(a / c);
      out.loss.push(l / c);
      a = l = c = 0;
    }
  }
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
    windows: downsample(), latest: latestTask(), ...extra,
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
