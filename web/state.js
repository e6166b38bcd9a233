// state.js: the page's settings, as one declarative table (the TensorFlow Playground way).
//
// The table drives the controls (main.js), the defaults and presets, validation, the URL hash
// and the equivalent `plab run` command. Keys are the C config schema's keys; types, ranges,
// choices and defaults come from the schema the engine exports (Engine.schema()), so a method or
// problem added to the core shows up here without an edit. This module knows nothing of the DOM
// and runs under Node too (tests/web/state.test.mjs checks the table against the schema).
//
// A state is { shared: {key: text}, methods: [name, ...], params: {method: {key: text}} }.
// Values are kept as the text the C parser reads, so a link reproduces a run bit for bit.

/** Shared settings (one value for every method's run), in display order. */
export const SETTINGS = [
  { key: 'problem', label: 'Problem', section: 'problem' },
  { key: 'tasks', label: 'Number of tasks', section: 'problem' },
  { key: 'gen_classes', label: 'Classes', section: 'problem', advanced: true, when: (s) => isGenerated(s) },
  { key: 'gen_dim', label: 'Input size', section: 'problem', advanced: true, when: (s) => isGenerated(s) },
  { key: 'gen_pool', label: 'Examples per task', section: 'problem', advanced: true, when: (s) => isGenerated(s) },
  { key: 'label_permutation', label: 'Permute labels too', section: 'problem', advanced: true,
    when: (s) => isGenerated(s) && s.shared.problem !== 'rlabels' },
  { key: 'scr_generator', label: 'Bit flips', section: 'problem', when: (s) => s.shared.problem === 'scr' },
  { key: 'scr_period', label: 'Updates per task (flip period)', section: 'problem', when: (s) => s.shared.problem === 'scr' },
  { key: 'steps_per_task', label: 'Updates per task (0: the problem\u2019s own)', section: 'problem', advanced: true,
    when: (s) => s.shared.problem !== 'scr' },
  { key: 'hidden', label: 'Hidden layers', section: 'network', control: 'layers' },
  { key: 'activation', label: 'Activation', section: 'network' },
  { key: 'layer_norm', label: 'Layer norm', section: 'network' },
  { key: 'skip', label: 'Skip connections', section: 'network', advanced: true },
  { key: 'init', label: 'Initialization', section: 'network', advanced: true },
  { key: 'optimizer', label: 'Optimizer', section: 'optimizer' },
  { key: 'lr', label: 'Step size \u03b1', section: 'optimizer' },
  { key: 'momentum', label: 'Momentum \u03bc', section: 'optimizer', when: (s) => s.shared.optimizer === 'momentum' },
  { key: 'beta1', label: 'Adam \u03b2\u2081', section: 'optimizer', advanced: true, when: (s) => s.shared.optimizer === 'adamw' },
  { key: 'beta2', label: 'Adam \u03b2\u2082', section: 'optimizer', advanced: true, when: (s) => s.shared.optimizer === 'adamw' },
  { key: 'eps', label: 'Adam \u03b5', section: 'optimizer', advanced: true, when: (s) => s.shared.optimizer === 'adamw' },
  { key: 'batch_size', label: 'Batch size', section: 'optimizer' },
  { key: 'seed', label: 'Seed', section: 'run' },
  { key: 'probe_every', label: 'Measure units every k tasks (0: never)', section: 'run', advanced: true },
  { key: 'probe_size', label: 'Probe examples (0: the problem\u2019s own)', section: 'run', advanced: true },
];

export const SECTIONS = [
  { id: 'problem', label: 'Problem' },
  { id: 'network', label: 'Network' },
  { id: 'optimizer', label: 'Optimizer' },
  { id: 'run', label: 'Run' },
];

/** Keys the page never takes from a link: it picks kernels itself and loads no files. */
export const PAGE_OWNED = ['kernels', 'data_dir', 'method'];

/**
 * The methods, with their colour (Okabe-Ito, colour-blind safe) and dash pattern, the schema
 * keys that are their own parameters, page defaults where the C default would be invalid or
 * inert, and a plain-language description.
 */
export const METHODS = {
  none: {
    label: 'Backprop', color: '#000000', dash: [], keys: [],
    about: 'Plain stochastic gradient descent: the base system, which is what loses plasticity.',
  },
  l2: {
    label: 'L2', color: '#E69F00', dash: [6, 3], keys: ['l2'], defaults: { l2: '1e-4' },
    about: 'Shrinks every weight a little towards zero at each update, which keeps weights small.',
  },
  snp: {
    label: 'Shrink & Perturb', color: '#CC79A7', dash: [2, 2], keys: ['l2', 'snp_noise_var'],
    defaults: { l2: '1e-4', snp_noise_var: '1e-7' },
    about: 'L2 plus a little Gaussian noise added to every weight after each update.',
  },
  cbp: {
    label: 'CBP', color: '#0072B2', dash: [10, 4], keys: ['cbp_maturity', 'cbp_rate', 'cbp_utility',
      'unit_reset_timing', 'unit_utility_input'],
    about: 'Continual backpropagation reinitializes whole units: a steady trickle of the least useful '
      + 'mature hidden units get fresh incoming weights and zero outgoing weights.',
  },
  'cbp-nature': {
    label: 'CBP (Nature)', color: '#56B4E9', dash: [12, 3, 3, 3], keys: ['cbp_maturity', 'cbp_rate',
      'cbp_utility', 'cbp_decay', 'cbp_accumulate', 'cbp_bias_correction'],
    about: 'The version of CBP from Dohare et al. (Nature, 2024): running-average utilities and '
      + 'resets after the update.',
  },
  redo: {
    label: 'ReDo', color: '#009E73', dash: [3, 3], keys: ['redo_period', 'redo_threshold', 'redo_utility',
      'redo_reset_moments', 'unit_reset_timing', 'unit_utility_input'],
    about: 'Recycles dormant units: every few updates, units whose activity is far below the layer\u2019s '
      + 'average are reinitialized.',
  },
  swr: {
    label: 'SWR', color: '#D55E00', dash: [], width: 3, keys: ['swr_utility', 'swr_criterion',
      'swr_strategy', 'swr_period', 'swr_factor', 'swr_decay'],
    about: 'Selective weight reinitialization scores every single weight by how much the loss would '
      + 'change without it and redraws the least useful weights from their initial distribution; '
      + 'it needs no notion of a unit.',
  },
  reset: {
    label: 'Fresh network', color: '#888888', dash: [1, 3], keys: [],
    about: 'Starts every task from a newly initialized network: no loss of plasticity, but nothing '
      + 'carries over either. A reference line.',
  },
};

/** The order methods are listed and drawn in (later ones on top); unknown methods go last. */
export const METHOD_ORDER = ['none', 'reset', 'l2', 'snp', 'cbp-nature', 'cbp', 'redo', 'swr'];

const EXTRA_COLORS = ['#F0E442', '#7F3C8D', '#11A579', '#3969AC', '#E73F74'];

/** A method's display info; methods unknown to the table get a label, colour and dash. */
export function methodInfo(name, schema) {
  if (METHODS[name]) return { name, width: 2, defaults: {}, ...METHODS[name] };
  const choices = schema?.byKey?.method?.choices || [];
  const i = Math.max(0, choices.indexOf(name));
  const prefix = `${name.replace(/-/g, '_')}_`;
  const keys = (schema?.keys || []).filter((k) => k.key.startsWith(prefix)).map((k) => k.key);
  return { name, label: name, color: EXTRA_COLORS[i % EXTRA_COLORS.length], dash: [4, 2, 1, 2],
    width: 2, keys, defaults: {}, about: '' };
}

/** Problems generated in the page (no download) that use the gen_* keys. */
export function isGenerated(state) {
  return !['scr', 'pmnist', 'pfmnist'].includes(state.shared.problem);
}

/**
 * Limits the page sets on top of the schema's ranges, so a link cannot ask a browser tab for
 * gigabytes: [min, max] (for hidden, per layer).
 */
export const PAGE_LIMITS = {
  tasks: [1, 5000],
  hidden: [1, 1024],
  batch_size: [1, 1024],
  gen_dim: [0, 4096],
  gen_pool: [0, 20000],
  gen_classes: [0, 256],
  steps_per_task: [0, 200000],
  scr_period: [1, 1000000],
  probe_size: [0, 5000],
  probe_every: [0, 5000],
};

// The base system of every preset: permuted clusters (docs/TASKS.md §4) sized for a browser tab,
// 100 tasks of 500 updates; SGD at a large step size, where plain backprop loses plasticity.
const GENERATED = {
  problem: 'pclusters', tasks: '100', gen_classes: '10', gen_dim: '128', gen_pool: '2000',
  label_permutation: 'false', steps_per_task: '0', activation: 'relu', layer_norm: 'false',
  skip: 'false', init: 'kaiming_normal', optimizer: 'sgd', lr: '0.1', batch_size: '16', seed: '0',
  probe_every: '1', probe_size: '0',
};

/**
 * Presets: complete states showing the paper's findings on the page's generated tasks
 * (docs/TASKS.md). `shared` lists every shared key the preset fixes; the rest keep the schema's
 * defaults. `params` holds tuned method settings.
 */
export const PRESETS = [
  {
    id: 'small',
    label: 'Small network',
    blurb: 'Three hidden layers of 10 units, one task after another. Plain backprop loses the '
      + 'ability to learn each new task. Reinitializing single weights (SWR) keeps it and, '
      + 'averaged over seeds, does a little better than resetting whole units (CBP, ReDo) in a '
      + 'network this small.',
    shared: { ...GENERATED, hidden: '10,10,10' },
    methods: ['none', 'l2', 'cbp', 'redo', 'swr'],
    params: {
      l2: { l2: '1e-4' },
      cbp: { cbp_maturity: '5', cbp_rate: '1e-3' },
      redo: { redo_period: '8', redo_threshold: '0.01' },
      swr: { swr_period: '64', swr_factor: '1e-4' },
    },
  },
  {
    id: 'layernorm',
    label: 'With layer norm',
    blurb: 'The same small network with layer normalization. Resetting units no longer stops the '
      + 'decline, while reinitializing weights still keeps the network learning.',
    shared: { ...GENERATED, hidden: '10,10,10', layer_norm: 'true' },
    methods: ['none', 'l2', 'cbp', 'redo', 'swr'],
    params: {
      l2: { l2: '1e-4' },
      cbp: { cbp_maturity: '1', cbp_rate: '1e-2' },
      redo: { redo_period: '8', redo_threshold: '0.1' },
      swr: { swr_period: '64', swr_factor: '1e-4' },
    },
  },
  {
    id: 'large',
    label: 'Large network: all methods tie',
    blurb: 'A wider network (3 \u00d7 64 units) without layer norm: backprop still slowly loses '
      + 'plasticity, and reinitializing units or weights work equally well.',
    shared: { ...GENERATED, hidden: '64,64,64', tasks: '50' },
    methods: ['none', 'cbp', 'redo', 'swr'],
    params: {
      cbp: { cbp_maturity: '100', cbp_rate: '1e-3' },
      redo: { redo_period: '32', redo_threshold: '1e-3' },
      swr: { swr_period: '256', swr_factor: '1e-4' },
    },
  },
];

export const DEFAULT_PRESET = 'small';

/**
 * Settings that suit each problem in a browser tab, applied when a person picks the problem
 * (not when a link names it: a link keeps exactly what it says). From docs/TASKS.md.
 */
export const PROBLEM_DEFAULTS = {
  pclusters: { gen_dim: '128', gen_pool: '2000', gen_classes: '10', batch_size: '16', lr: '0.1', tasks: '100' },
  rlabels: { gen_dim: '128', gen_pool: '200', gen_classes: '10', batch_size: '16', lr: '0.1',
    hidden: '32,32,32', tasks: '50' },
  synthetic: { gen_dim: '784', gen_pool: '3000', gen_classes: '10', batch_size: '30', lr: '0.05',
    hidden: '100,100,100', tasks: '20' },
  scr: { hidden: '5', init: 'kaiming_uniform', batch_size: '1', lr: '0.01', scr_period: '2000',
    steps_per_task: '0', tasks: '50', layer_norm: 'false' },
};

/** Picks a problem with the settings that suit it (returns a new state). */
export function withProblem(state, schema, problem) {
  const s = copyState(state);
  s.shared.problem = problem;
  for (const [k, v] of Object.entries(PROBLEM_DEFAULTS[problem] || {})) {
    if (schema.byKey[k]) s.shared[k] = v;
  }
  if (problem !== 'scr' && s.shared.init === 'kaiming_uniform' && state.shared.problem === 'scr') {
    s.shared.init = 'kaiming_normal';
  }
  return s;
}

/** URL flags that are not settings. */
export const FLAGS = { autoplay: false, embed: false };

// ------------------------------------------------------------------ values

const BOOL_TRUE = ['1', 'true', 'yes', 'on'];
const BOOL_FALSE = ['0', 'false', 'no', 'off'];
const U64_MAX = (1n << 64n) - 1n;

function limits(info) {
  const lim = PAGE_LIMITS[info.key];
  let lo = info.min;
  let hi = info.max;
  if (lim) {
    lo = Math.max(lo ?? lim[0], lim[0]);
    hi = Math.min(hi ?? lim[1], lim[1]);
  }
  return [lo, hi];
}

function fmtRange(info, lo, hi) {
  return `${info.min_open ? '(' : '['}${lo}, ${hi}${info.max_open ? ')' : ']'}`;
}

/** Text from a link, quoted for a message: at most 40 characters, control characters escaped. */
export function quote(text) {
  const s = String(text);
  const short = s.length > 40 ? `${s.slice(0, 40)}\u2026` : s;
  return `'${short.replace(/[\u0000-\u001f\u007f-\u009f\ufffd]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}'`;
}

/**
 * Validates one value for a key against the schema and the page limits.
 * Returns { value, notice } where value is valid text (clamped into range, or `fallback` (the
 * schema default if not given) when the text cannot be read) and notice says what was changed
 * (null when the text was fine).
 */
export function validateValue(schema, key, raw, fallback = undefined) {
  // own keys only: a URL may say `constructor=` or `__proto__=`
  const info = Object.hasOwn(schema.byKey, key) ? schema.byKey[key] : undefined;
  if (!info) return { value: null, notice: `unknown setting '${key}' ignored` };
  const text = String(raw ?? '').trim();
  const def = fallback ?? info.default;
  const bad = (why) => ({ value: def, notice: `${key}: ${why}; using ${def === '' ? 'the default' : def}` });
  switch (info.type) {
    case 'int':
    case 'real': {
      const [lo, hi] = limits(info);
      const allowed = `allowed: ${info.type === 'int' ? 'a whole number' : 'a number'} in ${fmtRange(info, lo, hi)}`;
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return bad(`${quote(text)} is not a number (${allowed})`);
      let v = Number(text);
      if (!Number.isFinite(v)) return bad(`${quote(text)} is not a finite number (${allowed})`);
      // the core refuses what underflows (1e-400, subnormals: strtod's ERANGE) as it refuses 1e400
      if (Math.abs(v) < 2.2250738585072014e-308 && /[1-9]/.test(text.split(/[eE]/)[0])) {
        return bad(`${quote(text)} is too small to represent (${allowed})`);
      }
      if (info.type === 'int' && !Number.isInteger(v)) return bad(`${quote(text)} is not a whole number (${allowed})`);
      const belowOpen = info.min_open && v <= lo;
      const aboveOpen = info.max_open && v >= hi;
      if (belowOpen || aboveOpen) return bad(`${text} is outside ${fmtRange(info, lo, hi)}`);
      if (v < lo || v > hi) {
        v = Math.min(hi, Math.max(lo, v));
        return { value: String(v), notice: `${key}: ${text} is outside ${fmtRange(info, lo, hi)}; using ${v}` };
      }
      // an integer in another form (1.5e1, .5e1, -0) is written plainly: the core reads digits
      const plain = info.type === 'real' || /^[+-]?\d+$/.test(text);
      return { value: plain ? text : String(v), notice: null };
    }
    case 'u64': {
      if (!/^\d{1,20}$/.test(text) || BigInt(text) > U64_MAX) {
        return bad(`${quote(text)} is not an unsigned 64-bit integer (allowed: 0 to ${U64_MAX})`);
      }
      return { value: BigInt(text).toString(), notice: null };
    }
    case 'bool': {
      const t = text.toLowerCase();
      if (BOOL_TRUE.includes(t)) return { value: 'true', notice: null };
      if (BOOL_FALSE.includes(t)) return { value: 'false', notice: null };
      return bad(`${quote(text)} is not true or false (allowed: ${BOOL_TRUE.join(', ')}, ${BOOL_FALSE.join(', ')})`);
    }
    case 'enum':
      return info.choices.includes(text) ? { value: text, notice: null }
        : bad(`${quote(text)} is not one of ${info.choices.join(', ')}`);
    case 'int_list': {
      if (text === '' || text === 'none') return { value: '', notice: null };
      const parts = text.split(',').map((p) => p.trim());
      const max = schema.max_hidden || 8;
      if (parts.some((p) => !/^\d+$/.test(p))) {
        return bad(`${quote(text)} is not a list of widths like 100,100,100 (allowed: up to ${max} widths in ${fmtRange(info, ...limits(info))})`);
      }
      const [lo, hi] = limits(info);
      let widths = parts.map(Number);
      const notes = [];
      if (widths.length > max) {
        widths = widths.slice(0, max);
        notes.push(`at most ${max} layers`);
      }
      if (widths.some((w) => w < lo || w > hi)) {
        widths = widths.map((w) => Math.min(hi, Math.max(lo, w)));
        notes.push(`widths in [${lo}, ${hi}]`);
      }
      const value = widths.join(',');
      return { value, notice: notes.length ? `${key}: ${notes.join(' and ')}; using ${value}` : null };
    }
    case 'string':
      if (key === 'problem') {
        const ok = runnableProblems(schema).map((p) => p.name);
        if (ok.includes(text)) return { value: text, notice: null };
        const known = schema.problems.find((p) => p.name === text);
        return bad(known ? `problem '${text}' needs a dataset download, which the page does not do`
          : `unknown problem ${quote(text)} (allowed: ${runnableProblems(schema).map((p) => p.name).join(', ')})`);
      }
      if (text.length > 255) return bad('value too long');
      return { value: text, notice: null };
    default:
      return bad('unsupported key type');
  }
}

/** Problems the page can run (no dataset download). */
export function runnableProblems(schema) {
  return schema.problems.filter((p) => !p.dataset);
}

/** Method names the schema offers, in METHOD_ORDER. */
export function methodNames(schema) {
  return sortMethods(schema.byKey.method.choices);
}

/** A list of method names in display order (METHOD_ORDER, then the others as given). */
export function sortMethods(names) {
  const rank = (m) => (METHOD_ORDER.includes(m) ? METHOD_ORDER.indexOf(m) : METHOD_ORDER.length);
  return names.map((m, i) => [m, i]).sort((a, b) => rank(a[0]) - rank(b[0]) || a[1] - b[1]).map(([m]) => m);
}

/** The keys that are a method's own parameters (known to the schema). */
export function methodKeys(schema, name) {
  return methodInfo(name, schema).keys.filter((k) => schema.byKey[k]);
}

// ------------------------------------------------------------------ states

function copyState(s) {
  return {
    shared: { ...s.shared },
    methods: [...s.methods],
    params: Object.fromEntries(Object.entries(s.params).map(([m, p]) => [m, { ...p }])),
  };
}

/** A method's parameters: schema default < page default < preset < given. */
export function methodParams(schema, name, given = {}) {
  const info = methodInfo(name, schema);
  const out = {};
  for (const k of methodKeys(schema, name)) {
    out[k] = given[k] ?? info.defaults[k] ?? schema.byKey[k].default;
  }
  for (const [k, v] of Object.entries(given)) if (!(k in out) && schema.byKey[k]) out[k] = v;
  return out;
}

/** The state of a preset (the default preset when id is unknown). */
export function presetState(schema, id = DEFAULT_PRESET) {
  const p = PRESETS.find((x) => x.id === id) || PRESETS.find((x) => x.id === DEFAULT_PRESET);
  const shared = {};
  for (const row of SETTINGS) if (schema.byKey[row.key]) shared[row.key] = schema.byKey[row.key].default;
  for (const [k, v] of Object.entries(p.shared)) if (schema.byKey[k]) shared[k] = v;
  const names = methodNames(schema);
  const methods = sortMethods(p.methods.filter((m) => names.includes(m)));
  const params = {};
  for (const m of names) params[m] = methodParams(schema, m, p.params[m] || {});
  const state = { shared, methods: methods.length ? methods : ['none'], params };
  // a preset that names a problem the core no longer has falls back to the first runnable one
  if (!runnableProblems(schema).some((x) => x.name === shared.problem)) {
    shared.problem = runnableProblems(schema)[0].name;
  }
  return state;
}

/** The preset a state equals, or null. */
export function matchingPreset(schema, state) {
  const a = serializeHash(state);
  return PRESETS.find((p) => serializeHash(presetState(schema, p.id)) === a)?.id ?? null;
}

/** Setting rows that apply to a state (their `when` holds). */
export function visibleSettings(state, schema) {
  return SETTINGS.filter((row) => schema.byKey[row.key] && (!row.when || row.when(state)));
}

/** Shared keys a state writes: the table rows that apply, then any extra key it holds. */
function sharedKeys(state) {
  const rows = SETTINGS.filter((r) => (!r.when || r.when(state)) && r.key in state.shared).map((r) => r.key);
  const extra = Object.keys(state.shared).filter((k) => !SETTINGS.some((r) => r.key === k));
  return [...rows, ...extra.sort()];
}

/** Sets a shared key (returns a new state). */
export function withShared(state, key, value) {
  const s = copyState(state);
  s.shared[key] = value;
  return s;
}

/** Sets a method parameter (returns a new state). */
export function withParam(state, method, key, value) {
  const s = copyState(state);
  s.params[method] = { ...(s.params[method] || {}), [key]: value };
  return s;
}

/** Turns a method on or off, keeping the schema's order of methods (returns a new state). */
export function withMethod(state, schema, method, on) {
  const s = copyState(state);
  const set = new Set(s.methods);
  if (on) set.add(method);
  else set.delete(method);
  s.methods = methodNames(schema).filter((m) => set.has(m));
  if (!s.params[method]) s.params[method] = methodParams(schema, method);
  return s;
}

// ------------------------------------------------------------------ URL hash

const enc = (s) => encodeURIComponent(s).replace(/%2C/gi, ',');

/**
 * The hash text of a state and flags: shared settings, `methods=a,b`, then each selected
 * method's parameters as `method.key=value`, then the flags that are on.
 */
export function serializeHash(state, flags = {}) {
  const parts = [];
  for (const k of sharedKeys(state)) parts.push(`${enc(k)}=${enc(state.shared[k])}`);
  parts.push(`methods=${state.methods.map(enc).join(',')}`);
  for (const m of state.methods) {
    const p = state.params[m] || {};
    for (const k of Object.keys(p)) parts.push(`${enc(m)}.${enc(k)}=${enc(p[k])}`);
  }
  for (const [f, on] of Object.entries(flags)) if (on) parts.push(`${f}=1`);
  return parts.join('&');
}

/**
 * Reads a hash (with or without '#'). Never throws: every problem becomes a notice and the
 * value falls back to a valid one. Returns { state, flags, notices }.
 * Keys not given keep the default preset's values.
 */
export function parseHash(schema, hash) {
  const notices = [];
  const flags = { ...FLAGS };
  const state = presetState(schema, DEFAULT_PRESET);
  let text = String(hash || '');
  if (text.startsWith('#')) text = text.slice(1);
  if (text.length > 20000) {
    notices.push('the link is too long; using the defaults');
    return { state, flags, notices };
  }
  const pairs = [];
  for (const part of text.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    let k = eq < 0 ? part : part.slice(0, eq);
    let v = eq < 0 ? '' : part.slice(eq + 1);
    try {
      k = decodeURIComponent(k.replace(/\+/g, ' '));
    } catch {
      notices.push(`could not decode the key ${quote(k)} (not UTF-8 percent-encoding); ignored`);
      continue;
    }
    try {
      v = decodeURIComponent(v.replace(/\+/g, ' '));
    } catch {
      notices.push(`${k.slice(0, 40)}: could not decode the value ${quote(v)} (not UTF-8 percent-encoding); ignored`);
      continue;
    }
    pairs.push([k, v]);
  }
  // a key given twice: the last value counts, as it would in a person's reading of the link
  const seen = new Set();
  for (const [k] of pairs) {
    if (seen.has(k)) notices.push(`${k.slice(0, 40)}: given more than once; using the last value`);
    seen.add(k);
  }
  const names = methodNames(schema);
  const params = {};
  let presetDone = false;
  for (const [k, v] of pairs) {
    if (k === 'preset' && !presetDone) {
      // a preset name sets everything first; later pairs override it
      if (PRESETS.some((p) => p.id === v)) Object.assign(state, presetState(schema, v));
      else notices.push(`preset: unknown preset ${quote(v)} ignored (allowed: ${PRESETS.map((p) => p.id).join(', ')})`);
      presetDone = true;
    }
  }
  for (const [k, v] of pairs) {
    if (k === 'preset') continue;
    if (Object.hasOwn(FLAGS, k)) {
      flags[k] = BOOL_TRUE.includes(v.toLowerCase()) || v === '';
      continue;
    }
    if (k === 'methods') {
      const list = v.split(',').map((s) => s.trim()).filter(Boolean);
      const unknown = list.filter((m) => !names.includes(m));
      if (unknown.length) notices.push(`methods: unknown method ${unknown.map(quote).join(', ')} ignored (allowed: ${names.join(', ')})`);
      const keep = names.filter((m) => list.includes(m));
      if (keep.length) state.methods = keep;
      else notices.push(`methods: no known method selected; using the default methods (allowed: ${names.join(', ')})`);
      continue;
    }
    const dot = k.indexOf('.');
    if (dot > 0) {
      const m = k.slice(0, dot);
      const key = k.slice(dot + 1);
      if (!names.includes(m)) {
        notices.push(`setting ${quote(k)} for unknown method ${quote(m)} ignored (allowed methods: ${names.join(', ')})`);
        continue;
      }
      if (PAGE_OWNED.includes(key) || !Object.hasOwn(schema.byKey, key)) {
        notices.push(`setting ${quote(k)} ignored: ${PAGE_OWNED.includes(key) ? 'the page sets it itself' : 'no such setting'} `
          + `(${m}'s own settings: ${methodKeys(schema, m).join(', ') || 'none'})`);
        continue;
      }
      const r = validateValue(schema, key, v, state.params[m]?.[key]);
      if (r.notice) notices.push(`${m}.${r.notice}`);
      (params[m] ||= {})[key] = r.value;
      continue;
    }
    if (PAGE_OWNED.includes(k)) {
      notices.push(k === 'method' ? `'method' ignored: list methods as methods=a,b`
        : `'${k}' ignored: the page sets it itself`);
      continue;
    }
    if (!Object.hasOwn(schema.byKey, k)) {
      notices.push(unknownKey(schema, k));
      continue;
    }
    const r = validateValue(schema, k, v, state.shared[k]);
    if (r.notice) notices.push(r.notice);
    state.shared[k] = r.value;
  }
  for (const [m, p] of Object.entries(params)) state.params[m] = { ...state.params[m], ...p };
  const big = networkNotice(schema, state);
  if (big) notices.push(big);
  return { state, flags, notices };
}

/** The notice for a key the page does not know: the nearest known key, and where the rest are. */
function unknownKey(schema, k) {
  const known = [...SETTINGS.map((r) => r.key).filter((x) => Object.hasOwn(schema.byKey, x)), 'methods', 'preset',
    ...Object.keys(FLAGS)];
  const near = known.map((x) => [x, editDistance(k.toLowerCase(), x)]).sort((a, b) => a[1] - b[1])[0];
  const hint = near && near[1] <= Math.max(1, Math.floor(near[0].length / 3)) ? `did you mean '${near[0]}'? ` : '';
  return `unknown setting ${quote(k)} ignored (${hint}allowed: ${known.join(', ')}, or method.key for a method's own settings)`;
}

/** Levenshtein distance (short strings: keys). */
function editDistance(a, b) {
  if (a.length > 64) return a.length;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The most parameters a network from a link may have: each method's worker holds its own copy
 * with gradients, optimizer moments and utilities (about 36 bytes a parameter), so 1,000,000
 * is ~36 MB of WebAssembly memory per method. Larger networks belong on the command line.
 */
export const MAX_PARAMS = 1000000;

/** Parameters of the state's network, counted from its widths (layer norm and biases included). */
export function paramCount(state) {
  const s = state.shared;
  const widths = (s.hidden || '').split(',').filter(Boolean).map(Number);
  // a generated problem's input size (0: its own default, at most 784); other problems are small
  const inputs = isGenerated(state) ? (Number(s.gen_dim) || 784) : 0;
  const outputs = isGenerated(state) ? (Number(s.gen_classes) || 10) : 1;
  let n = 0;
  let prev = inputs;
  for (const w of [...widths, outputs]) {
    n += (prev + 1) * w + (s.layer_norm === 'true' ? 2 * w : 0);
    prev = w;
  }
  return n;
}

/**
 * A network too large for a browser tab (widths that would take gigabytes over the methods'
 * workers) falls back to the default preset's widths; returns the notice, or null.
 */
function networkNotice(schema, state) {
  const n = paramCount(state);
  if (n <= MAX_PARAMS) return null;
  const was = state.shared.hidden;
  state.shared.hidden = presetState(schema, DEFAULT_PRESET).shared.hidden;
  return `hidden: widths ${quote(was)} on ${state.shared.gen_dim ?? '?'} inputs make a network of `
    + `${n.toLocaleString('en-US')} parameters, more than the page's ${MAX_PARAMS.toLocaleString('en-US')} `
    + `(allowed: width \u00d7 depth within that; the CLI has no such limit); using ${state.shared.hidden}`;
}

// ------------------------------------------------------------------ runs and commands

/** The settings of one method's run, in order: shared, then method, then its parameters. */
export function runSettings(state, method) {
  const out = sharedKeys(state).map((k) => [k, state.shared[k]]);
  out.push(['kernel_family', 'strict'], ['method', method]); // wasm's family: the CLI command must match it
  for (const [k, v] of Object.entries(state.params[method] || {})) out.push([k, v]);
  return out;
}

/** The CLI command that reproduces one method's run: `plab run key=value ...`. */
export function cliCommand(state, method) {
  const q = (s) => (/^[A-Za-z0-9_.,+:@%/-]+$/.test(s) ? s : `'${String(s).replace(/'/g, "'\\''")}'`);
  return `plab run ${runSettings(state, method).map(([k, v]) => `${k}=${q(v)}`).join(' ')}`;
}
