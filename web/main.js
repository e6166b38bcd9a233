// main.js: the page's controller. Builds the controls from the settings table (state.js) and
// the schema the engine exports, keeps every setting in the URL hash, starts one Web Worker per
// method (worker.js), draws the results (charts.js) at most 10 times a second, and exports them.
// It never trains on the main thread; engine.js is used here only to read the schema and to
// validate settings with the core's own checks.
import { compileModule, loadEngine, pickFlavour } from './engine.js';
import { ChartSet } from './charts.js';
import {
  PRESETS, SECTIONS, cliCommand, matchingPreset, methodInfo, methodKeys, methodNames, parseHash,
  presetState, runSettings, serializeHash, validateValue, visibleSettings,
  withMethod, withParam, withProblem, withShared,
} from './state.js';

const $ = (id) => document.getElementById(id);
const root = document.documentElement;
const DRAW_MS = 100; // charts redraw at most 10 times a second

const page = {
  engine: null,
  schema: null,
  flavour: 'scalar',
  state: null,
  flags: { autoplay: false, embed: false },
  embed: false,
  showAdvanced: false,
  charts: null,
  runs: null,          // { started, methods: { name: result } } while a run exists
  userPaused: false,
  autoPaused: { hidden: false, offscreen: false },
  dirty: false,
  timer: null,
  errors: {},          // method -> config error from the core's check
  openParams: new Set(), // methods whose settings panel is open
};
// for the tests and the curious: read-only views of what the page holds
window.plabPage = page;

function setStatus(s) {
  root.dataset.status = s;
}

// ------------------------------------------------------------------ notices

function showNotice(lines, { error = false } = {}) {
  const list = (Array.isArray(lines) ? lines : [lines]).filter(Boolean);
  const box = $('notice');
  if (!list.length) {
    box.hidden = true;
    return;
  }
  const text = $('notice-text');
  const p = document.createElement('p');
  p.textContent = error ? 'Something went wrong:' : 'About the settings in the link:';
  const ul = document.createElement('ul');
  for (const l of list.slice(0, 12)) {
    const li = document.createElement('li');
    li.textContent = l;
    ul.append(li);
  }
  if (list.length > 12) {
    const li = document.createElement('li');
    li.textContent = `and ${list.length - 12} more`;
    ul.append(li);
  }
  text.replaceChildren(p, ul);
  box.classList.toggle('error', error);
  box.hidden = false;
}

// ------------------------------------------------------------------ hash

function writeHash() {
  const hash = serializeHash(page.state, { embed: page.flags.embed });
  const url = `${location.pathname}${location.search}#${hash}`;
  if (location.hash.slice(1) !== hash) history.replaceState(null, '', url);
  updateShare();
}

function applyHash(hash) {
  const { state, flags, notices } = parseHash(page.schema, hash);
  page.state = state;
  page.flags = flags;
  return notices;
}

// ------------------------------------------------------------------ controls

let uid = 0;

function field(labelText, control, help) {
  const wrap = document.createElement('div');
  wrap.className = 'field';
  const id = control.id || `f${++uid}`;
  control.id = id;
  const label = document.createElement('label');
  label.htmlFor = id;
  label.textContent = labelText;
  wrap.append(label, control);
  if (help) {
    const hint = document.createElement('span');
    hint.className = 'hint';
    hint.id = `${id}-hint`;
    hint.textContent = help;
    control.setAttribute('aria-describedby', hint.id);
    wrap.append(hint);
  }
  const err = document.createElement('span');
  err.className = 'field-error';
  err.id = `${id}-error`;
  err.setAttribute('aria-live', 'polite');
  wrap.append(err);
  return wrap;
}

/** A control for one schema key; onChange receives valid text. */
function controlFor(info, value, onChange, idBase) {
  let el;
  const id = `${idBase}-${info.key}`;
  if (info.type === 'enum' || (info.type === 'string' && info.key === 'problem')) {
    el = document.createElement('select');
    const options = info.key === 'problem'
      ? page.schema.problems.map((p) => ({ value: p.name, text: p.dataset ? `${p.name} (needs a download; use the CLI)` : p.name, disabled: !!p.dataset, title: p.help }))
      : info.choices.map((c) => ({ value: c, text: c.replace(/_/g, ' ') }));
    for (const o of options) {
      const opt = document.createElement('option');
      opt.value = o.value;
      opt.textContent = o.text;
      opt.disabled = !!o.disabled;
      if (o.title) opt.title = o.title;
      el.append(opt);
    }
    el.value = value;
    el.addEventListener('change', () => onChange(el.value, el));
  } else if (info.type === 'bool') {
    el = document.createElement('input');
    el.type = 'checkbox';
    el.checked = value === 'true';
    el.addEventListener('change', () => onChange(el.checked ? 'true' : 'false', el));
  } else {
    el = document.createElement('input');
    el.type = 'text';
    el.inputMode = info.type === 'real' ? 'decimal' : 'numeric';
    el.autocomplete = 'off';
    el.spellcheck = false;
    el.value = value;
    el.addEventListener('change', () => {
      const r = validateValue(page.schema, info.key, el.value);
      setFieldError(el, r.notice);
      el.value = r.value;
      onChange(r.value, el);
    });
  }
  el.id = id;
  el.name = info.key;
  return el;
}

function setFieldError(el, message) {
  const err = document.getElementById(`${el.id}-error`);
  if (message) el.setAttribute('aria-invalid', 'true');
  else el.removeAttribute('aria-invalid');
  if (err) err.textContent = message || '';
}

/** Hidden layers as width and depth (the C key `hidden` is the list of widths). */
function layersControl(value, onChange) {
  const widths = value === '' ? [] : value.split(',').map(Number);
  const box = document.createElement('div');
  box.className = 'layers';
  const width = document.createElement('input');
  width.type = 'number';
  width.min = '1';
  width.max = '1024';
  width.id = 'shared-hidden-width';
  width.value = String(widths[0] ?? 100);
  const depth = document.createElement('input');
  depth.type = 'number';
  depth.min = '0';
  depth.max = String(page.schema.max_hidden || 8);
  depth.id = 'shared-hidden-depth';
  depth.value = String(widths.length);
  const uniform = widths.every((w) => w === widths[0]);
  const fire = () => {
    const w = Number.parseInt(width.value, 10);
    const d = Number.parseInt(depth.value, 10);
    const text = Array.from({ length: Number.isFinite(d) ? Math.max(0, d) : 0 }, () => (Number.isFinite(w) ? w : 100)).join(',');
    const r = validateValue(page.schema, 'hidden', text);
    onChange(r.value, width);
  };
  width.addEventListener('change', fire);
  depth.addEventListener('change', fire);
  const f1 = field('Units per hidden layer', width);
  const f2 = field('Hidden layers', depth);
  box.append(f1, f2);
  if (!uniform) {
    const note = document.createElement('p');
    note.className = 'hint';
    note.textContent = `From the link: widths ${value}. Changing a value makes all layers equal.`;
    box.append(note);
  }
  return box;
}

function renderSettings() {
  const { schema, state } = page;
  const sections = $('sections');
  const focused = document.activeElement?.id;
  sections.replaceChildren();
  const rows = visibleSettings(state, schema);
  for (const sec of SECTIONS) {
    const mine = rows.filter((r) => r.section === sec.id && (page.showAdvanced || !r.advanced));
    if (!mine.length) continue;
    const fs = document.createElement('fieldset');
    const legend = document.createElement('legend');
    legend.textContent = sec.label;
    fs.append(legend);
    for (const row of mine) {
      const info = schema.byKey[row.key];
      const value = state.shared[row.key] ?? info.default;
      const onChange = row.key === 'problem'
        ? (v) => changeState(withProblem(page.state, schema, v))
        : (v) => changeState(withShared(page.state, row.key, v));
      if (row.control === 'layers') {
        fs.append(layersControl(value, onChange));
      } else {
        const el = controlFor(info, value, onChange, 'shared');
        const help = row.key === 'problem'
          ? schema.problems.find((p) => p.name === value)?.help
          : info.help;
        fs.append(field(row.label, el, help));
      }
    }
    sections.append(fs);
  }
  const adv = document.createElement('div');
  adv.className = 'field inline';
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.id = 'show-advanced';
  box.checked = page.showAdvanced;
  box.addEventListener('change', () => {
    page.showAdvanced = box.checked;
    renderSettings();
    renderMethods();
  });
  const l = document.createElement('label');
  l.htmlFor = box.id;
  l.textContent = 'Show advanced settings';
  adv.append(box, l);
  sections.append(adv);
  if (focused) document.getElementById(focused)?.focus();
}

function swatch(info) {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 36 10');
  svg.setAttribute('width', '36');
  svg.setAttribute('height', '10');
  svg.setAttribute('aria-hidden', 'true');
  svg.classList.add('swatch');
  const line = document.createElementNS(NS, 'line');
  line.setAttribute('x1', '1');
  line.setAttribute('x2', '35');
  line.setAttribute('y1', '5');
  line.setAttribute('y2', '5');
  line.setAttribute('stroke', info.color);
  line.setAttribute('stroke-width', String(info.width || 2));
  if (info.dash.length) line.setAttribute('stroke-dasharray', info.dash.join(' '));
  svg.append(line);
  return svg;
}

function renderMethods() {
  const { schema, state } = page;
  const box = $('methods');
  const focused = document.activeElement?.id;
  box.replaceChildren();
  for (const name of methodNames(schema)) {
    const info = methodInfo(name, schema);
    const on = state.methods.includes(name);
    const item = document.createElement('div');
    item.className = `method${on ? ' on' : ''}`;
    const head = document.createElement('div');
    head.className = 'method-head';
    const cb = document.createElement('input');
    cb.type = 'checkbox';
    cb.id = `method-${name}`;
    cb.checked = on;
    cb.addEventListener('change', () => {
      if (!cb.checked && page.state.methods.length === 1) {
        cb.checked = true; // keep at least one method
        return;
      }
      changeState(withMethod(page.state, schema, name, cb.checked));
    });
    const label = document.createElement('label');
    label.htmlFor = cb.id;
    label.append(swatch(info), document.createTextNode(` ${info.label}`));
    head.append(cb, label);
    if (info.about) {
      const about = document.createElement('span');
      about.id = `method-${name}-about`;
      about.className = 'hint';
      about.textContent = info.about;
      cb.setAttribute('aria-describedby', about.id);
      item.append(head, about);
    } else {
      item.append(head);
    }
    const keys = methodKeys(schema, name);
    const extra = Object.keys(state.params[name] || {}).filter((k) => !keys.includes(k));
    if (on && (keys.length || extra.length)) {
      const details = document.createElement('details');
      details.className = 'method-params';
      details.open = page.openParams.has(name);
      details.addEventListener('toggle', () => {
        if (details.open) page.openParams.add(name);
        else page.openParams.delete(name);
      });
      const summary = document.createElement('summary');
      summary.textContent = `${info.label} settings`;
      details.append(summary);
      for (const k of [...keys, ...extra]) {
        const kinfo = schema.byKey[k];
        const value = state.params[name]?.[k] ?? kinfo.default;
        const el = controlFor(kinfo, value, (v) => changeState(withParam(page.state, name, k, v)), `m-${name}`);
        details.append(field(k, el, kinfo.help));
      }
      item.append(details);
    }
    if (on && page.errors[name]) {
      const err = document.createElement('p');
      err.className = 'method-error';
      err.textContent = page.errors[name];
      item.append(err);
    }
    box.append(item);
  }
  if (focused) document.getElementById(focused)?.focus();
}

function renderPresets() {
  const box = $('preset-buttons');
  box.replaceChildren();
  const current = matchingPreset(page.schema, page.state);
  for (const p of PRESETS) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = p.label;
    b.dataset.preset = p.id;
    b.setAttribute('aria-pressed', String(current === p.id));
    b.addEventListener('click', () => changeState(presetState(page.schema, p.id)));
    box.append(b);
  }
  const blurb = PRESETS.find((p) => p.id === current)?.blurb;
  $('preset-blurb').textContent = blurb || 'Custom settings.';
}

function renderLegend() {
  const box = $('legend');
  box.replaceChildren();
  for (const m of page.state.methods) {
    const info = methodInfo(m, page.schema);
    const span = document.createElement('span');
    span.className = 'legend-item';
    span.append(swatch(info), document.createTextNode(` ${info.label}`));
    box.append(span);
  }
}

function renderExplain() {
  const dl = $('method-explain');
  dl.replaceChildren();
  for (const name of methodNames(page.schema)) {
    const info = methodInfo(name, page.schema);
    if (!info.about) continue;
    const dt = document.createElement('dt');
    dt.append(swatch(info), document.createTextNode(` ${info.label}`));
    const dd = document.createElement('dd');
    dd.textContent = info.about;
    dl.append(dt, dd);
  }
}

/** Validates every selected method's settings with the core's own cross-field checks. */
function checkWithCore() {
  page.errors = {};
  for (const m of page.state.methods) {
    let cfg = null;
    try {
      cfg = page.engine.config(runSettings(page.state, m));
      cfg.check();
    } catch (e) {
      page.errors[m] = e.message;
    } finally {
      cfg?.destroy();
    }
  }
  return page.errors;
}

/** The core's objections to the selected methods, as notice lines. */
function coreNotices() {
  return Object.entries(page.errors).map(([m, e]) => `${methodInfo(m, page.schema).label} cannot run: ${e}`);
}

function renderAll() {
  checkWithCore();
  renderPresets();
  renderSettings();
  renderMethods();
  renderLegend();
  page.charts?.setMode(chartMode());
  const runnable = page.state.methods.filter((m) => !page.errors[m]);
  $('run').disabled = runnable.length === 0;
  $('next-task').disabled = runnable.length === 0;
  writeHash();
}

function chartMode() {
  const s = page.state.shared;
  return { regression: s.problem === 'scr', frozen: ['tanh', 'sigmoid'].includes(s.activation) };
}

/** A new state from a control: the old run no longer matches it, so it is cleared. */
function changeState(state) {
  page.state = state;
  resetRun();
  renderAll();
}

// ------------------------------------------------------------------ runs

function resultSeries() {
  if (!page.runs) return page.state.methods.map((m) => ({ name: m, info: methodInfo(m, page.schema), tasks: [], windows: null }));
  return Object.values(page.runs.methods);
}

function startRun({ paused = false } = {}) {
  resetRun();
  const methods = page.state.methods.filter((m) => !page.errors[m]);
  if (!methods.length) {
    setStatus('error');
    $('status-text').textContent = 'No method can run with these settings.';
    return;
  }
  page.userPaused = paused;
  page.runs = { started: performance.now(), finished: null, methods: {} };
  for (const m of methods) {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    const r = {
      name: m, info: methodInfo(m, page.schema), worker, settings: runSettings(page.state, m),
      tasks: [], windows: null, stepsDone: 0, totalSteps: 0, speed: 0, state: 'starting',
      trace: null, error: null, events: 0, kernels: '',
    };
    page.runs.methods[m] = r;
    worker.onmessage = ({ data }) => onWorkerMessage(r, data);
    worker.onerror = (e) => {
      e.preventDefault();
      r.state = 'error';
      r.error = e.message || 'the worker failed to start';
      page.dirty = true;
      refreshStatus();
    };
    worker.postMessage({ type: 'start', id: m, settings: r.settings, flavour: page.flavour,
      wasmModule: page.engine.wasmModule, paused: paused || isAutoPaused() });
  }
  setStatus('running');
  page.timer = setInterval(draw, DRAW_MS);
  renderProgress();
  refreshStatus();
}

function onWorkerMessage(r, msg) {
  if (!page.runs || page.runs.methods[r.name] !== r) return; // a message from a run reset since
  if (msg.type === 'ready') {
    r.totalSteps = msg.totalSteps;
    r.stepsPerTask = msg.stepsPerTask;
    r.kernels = msg.kernels;
    r.numParams = msg.numParams;
    r.state = isPausedNow() ? 'paused' : 'running';
  } else if (msg.type === 'progress') {
    r.stepsDone = msg.stepsDone;
    r.state = msg.state;
    r.speed = msg.speed;
    r.events = msg.events;
    r.windows = msg.windows;
    r.latest = msg.latest;
    r.memoryBytes = msg.memoryBytes;
    for (const t of msg.tasks) r.tasks.push(t);
    if (msg.trace) r.trace = msg.trace;
    if (msg.error) r.error = msg.error;
  } else if (msg.type === 'error') {
    r.state = 'error';
    r.error = msg.message;
  }
  page.dirty = true;
  refreshStatus();
}

function isAutoPaused() {
  return page.autoPaused.hidden || page.autoPaused.offscreen;
}

function isPausedNow() {
  return page.userPaused || isAutoPaused();
}

function live() {
  return page.runs ? Object.values(page.runs.methods).filter((r) => !['done', 'error'].includes(r.state)) : [];
}

function send(type) {
  for (const r of live()) r.worker.postMessage({ type });
}

function resetRun() {
  if (page.runs) {
    for (const r of Object.values(page.runs.methods)) r.worker.terminate();
  }
  page.runs = null;
  clearInterval(page.timer);
  page.timer = null;
  page.userPaused = false;
  setStatus('idle');
  delete root.dataset.paused;
  page.dirty = false;
  $('progress').replaceChildren();
  $('status-text').textContent = 'Ready.';
  $('run').textContent = 'Run';
  page.charts?.setMode(chartMode());
  page.charts?.update(resultSeries());
}

function togglePause() {
  if (!page.runs || !live().length) {
    startRun();
    return;
  }
  page.userPaused = !page.userPaused;
  if (page.userPaused) send('pause');
  else if (!isAutoPaused()) send('resume');
  refreshStatus();
}

function nextTask() {
  if (!page.runs || !live().length) startRun({ paused: true });
  page.userPaused = true;
  send('task');
  refreshStatus();
}

/** Pauses while the tab is hidden or the embed is scrolled away; resumes after. */
function setAutoPause(kind, on) {
  const before = isPausedNow();
  page.autoPaused[kind] = on;
  const after = isPausedNow();
  if (!page.runs || before === after) return;
  send(after ? 'pause' : 'resume');
  refreshStatus();
}

function refreshStatus() {
  const runs = page.runs;
  if (!runs) return;
  const all = Object.values(runs.methods);
  const finished = all.every((r) => r.state === 'done' || r.state === 'error');
  const text = $('status-text');
  if (finished) {
    if (!runs.finished) runs.finished = performance.now();
    clearInterval(page.timer);
    page.timer = null;
    draw(true);
    const failed = all.filter((r) => r.state === 'error');
    const secs = ((runs.finished - runs.started) / 1000).toFixed(1);
    text.textContent = failed.length
      ? `Finished in ${secs} s; ${failed.map((r) => `${r.info.label}: ${r.error}`).join('; ')}`
      : `Done in ${secs} s.`;
    $('run').textContent = 'Run again';
    setStatus(failed.length ? 'error' : 'done');
    return;
  }
  setStatus('running');
  const paused = isPausedNow();
  root.dataset.paused = String(paused);
  $('run').textContent = page.userPaused ? 'Resume' : 'Pause';
  const done = all.reduce((a, r) => a + r.stepsDone, 0);
  const total = all.reduce((a, r) => a + (r.totalSteps || 0), 0);
  const pct = total ? Math.floor((100 * done) / total) : 0;
  let why = '';
  if (page.userPaused) why = 'Paused';
  else if (page.autoPaused.hidden) why = 'Paused while the tab is hidden';
  else if (page.autoPaused.offscreen) why = 'Paused while out of view';
  text.textContent = why ? `${why} (${pct}%).` : `Training\u2026 ${pct}%`;
}

function renderProgress() {
  const box = $('progress');
  box.replaceChildren();
  if (!page.runs) return;
  for (const r of Object.values(page.runs.methods)) {
    const row = document.createElement('div');
    row.className = 'progress-row';
    const label = document.createElement('span');
    label.className = 'progress-label';
    label.append(swatch(r.info), document.createTextNode(` ${r.info.label}`));
    const bar = document.createElement('progress');
    bar.max = 1;
    bar.value = 0;
    bar.setAttribute('aria-label', `${r.info.label} progress`);
    const info = document.createElement('span');
    info.className = 'progress-info';
    row.append(label, bar, info);
    box.append(row);
    r.ui = { bar, info };
  }
}

function fmtInt(n) {
  return Math.round(n).toLocaleString('en-US');
}

function draw(force = false) {
  if (!page.runs || (!page.dirty && !force)) return;
  page.dirty = false;
  page.charts.update(resultSeries());
  for (const r of Object.values(page.runs.methods)) {
    if (!r.ui) continue;
    r.ui.bar.value = r.totalSteps ? r.stepsDone / r.totalSteps : 0;
    let text;
    if (r.state === 'error') text = `error: ${r.error}`;
    else if (r.state === 'done') text = `done, trace ${r.trace}`;
    else if (r.state === 'starting') text = 'starting\u2026';
    else text = `${fmtInt(r.stepsDone)} / ${fmtInt(r.totalSteps)} updates, ${r.state === 'running' ? `${fmtInt(r.speed)} updates/s` : r.state}`;
    r.ui.info.textContent = text;
    r.ui.info.classList.toggle('err', r.state === 'error');
  }
}

// ------------------------------------------------------------------ export and share

function csvText() {
  const fields = page.schema.rows.task;
  const lines = [['method', ...fields].join(',')];
  for (const r of resultSeries()) {
    for (const t of r.tasks) {
      lines.push([r.name, ...fields.map((f) => (Number.isFinite(t[f]) ? String(t[f]) : ''))].join(','));
    }
  }
  return `${lines.join('\n')}\n`;
}

function jsonText() {
  const out = {
    plab: page.schema.version,
    engine: page.flavour,
    link: location.href,
    settings: page.state,
    methods: {},
  };
  for (const r of resultSeries()) {
    out.methods[r.name] = {
      label: r.info.label,
      command: cliCommand(page.state, r.name),
      settings: Object.fromEntries(runSettings(page.state, r.name)),
      state: r.state ?? 'idle',
      trace: r.trace ?? null,
      error: r.error ?? null,
      reinit_events: r.events ?? 0,
      tasks: r.tasks.map((t) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Number.isFinite(v) ? v : null]))),
      windows: r.windows,
    };
  }
  return JSON.stringify(out, null, 1);
}

function download(name, blobOrUrl) {
  const url = typeof blobOrUrl === 'string' ? blobOrUrl : URL.createObjectURL(blobOrUrl);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  if (typeof blobOrUrl !== 'string') setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function fileStem() {
  const s = page.state.shared;
  return `plab-${s.problem}-seed${s.seed}`;
}

async function copyText(text, what) {
  const status = $('copy-status');
  try {
    await navigator.clipboard.writeText(text);
    status.textContent = `${what} copied.`;
  } catch {
    status.textContent = `Could not use the clipboard here: select the text and copy it.`;
  }
}

function embedSrc() {
  const hash = serializeHash(page.state, { embed: true });
  return `${location.origin}${location.pathname}#${hash}`;
}

function updateShare() {
  $('cli-text').value = page.state.methods.map((m) => cliCommand(page.state, m)).join('\n');
  $('embed-text').value = `<iframe src="${embedSrc().replace(/&/g, '&amp;').replace(/"/g, '&quot;')}" title="plab: loss of plasticity, live" width="720" height="560" loading="lazy"></iframe>`;
  const full = `${location.pathname}#${serializeHash(page.state, {})}`;
  $('full-link').href = full;
}

// ------------------------------------------------------------------ boot

function wire() {
  // in-page links move the focus without touching the hash, which holds the settings
  document.addEventListener('click', (e) => {
    const a = e.target.closest?.('a[href^="#"]');
    const target = a && document.getElementById(a.getAttribute('href').slice(1));
    if (!target) return;
    e.preventDefault();
    target.scrollIntoView();
    target.focus({ preventScroll: true });
  });
  $('run').addEventListener('click', togglePause);
  $('next-task').addEventListener('click', nextTask);
  $('reset').addEventListener('click', () => resetRun());
  $('notice-close').addEventListener('click', () => { $('notice').hidden = true; });
  $('dl-csv').addEventListener('click', () => download(`${fileStem()}.csv`, new Blob([csvText()], { type: 'text/csv' })));
  $('dl-json').addEventListener('click', () => download(`${fileStem()}.json`, new Blob([jsonText()], { type: 'application/json' })));
  $('dl-png').addEventListener('click', () => download(`${fileStem()}.png`, page.charts.toPNG()));
  $('copy-cli').addEventListener('click', () => copyText($('cli-text').value, 'Commands'));
  $('copy-link').addEventListener('click', () => copyText(location.href, 'Link'));
  $('copy-embed').addEventListener('click', () => copyText($('embed-text').value, 'Embed code'));
  document.addEventListener('visibilitychange', () => setAutoPause('hidden', document.visibilityState === 'hidden'));
  window.addEventListener('hashchange', () => {
    // an in-page link (the skip link) is not a setting: go back to the settings' hash
    const h = location.hash.slice(1);
    if (h && !h.includes('=') && document.getElementById(h)) {
      writeHash();
      return;
    }
    const notices = applyHash(location.hash);
    resetRun();
    renderAll();
    showNotice([...notices, ...coreNotices()]);
    if (page.flags.autoplay) startRun();
  });
  let seen;
  page.firstView = new Promise((resolve) => { seen = resolve; });
  if (page.embed && 'IntersectionObserver' in window) {
    const io = new IntersectionObserver((entries) => {
      for (const e of entries) setAutoPause('offscreen', !e.isIntersecting);
      seen();
    }, { threshold: 0.01 });
    io.observe($('app'));
  } else {
    seen();
  }
}

async function boot() {
  setStatus('idle');
  const query = new URLSearchParams(location.search);
  try {
    page.flavour = pickFlavour(query.get('engine') || 'auto');
    const wasmModule = await compileModule(page.flavour);
    page.engine = await loadEngine({ flavour: page.flavour, wasmModule });
    page.schema = page.engine.schema();
  } catch (e) {
    setStatus('error');
    showNotice([`The training engine could not start: ${e.message}`], { error: true });
    return;
  }
  const notices = applyHash(location.hash);
  page.embed = page.flags.embed || query.get('embed') === '1';
  root.classList.toggle('embed', page.embed);
  $('version').textContent = page.schema.version;
  $('engine-info').textContent = `WebAssembly ${page.flavour === 'simd' ? 'SIMD128' : 'scalar'} engine`;
  try {
    page.charts = new ChartSet($('charts'), { compact: page.embed });
  } catch (e) {
    setStatus('error');
    showNotice([e.message], { error: true });
    return;
  }
  wire();
  renderAll();
  renderExplain();
  page.charts.update(resultSeries());
  showNotice([...notices, ...coreNotices()]);
  root.dataset.ready = 'true'; // the controls and charts exist (tests wait for this)
  // an embed scrolled out of view starts its autoplay paused: wait for the observer's first report
  await page.firstView;
  if (page.flags.autoplay && !page.runs) startRun();
}

boot().catch((e) => {
  setStatus('error');
  showNotice([`The page failed to start: ${e.message}`], { error: true });
});

// for the tests (tests/web/page.test.mjs reads them through window.plabPage)
Object.assign(page, { csvText, jsonText });
