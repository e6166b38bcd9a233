// engine.js: the only module that touches the WebAssembly Module (wasm/plab_web.c).
//
// It owns every C pointer: strings are copied into wasm memory and freed here, configs and runs
// are wrapped in objects with a destroy() method, rows are copied out of wasm memory into plain
// objects. A bad status from the core becomes a thrown PlabError carrying the core's one-line
// message. Works in the page, in Web Workers and in Node (the tests pass `factory` and
// `wasmBinary`).

export const ROW_KINDS = Object.freeze({ window: 0, task: 1, event: 2 });

const STATUS_NAMES = ['ok', 'invalid', 'out of memory', 'i/o error', 'bad format', 'unsupported',
  'diverged', 'wrong state'];

/** An error reported by the core: `status` is the plab_status code, `message` the core's text. */
export class PlabError extends Error {
  constructor(message, status) {
    super(message || STATUS_NAMES[status] || `status ${status}`);
    this.name = 'PlabError';
    this.status = status;
    this.statusName = STATUS_NAMES[status] || 'unknown';
  }
}

// A tiny module using one SIMD128 instruction (i8x16.splat, i8x16.popcnt): validates only where
// the engine has wasm SIMD (the wasm-feature-detect test).
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0,
  10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

/** True when this JavaScript engine runs wasm SIMD128. */
export function simdSupported() {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

/** 'simd' or 'scalar': the build this engine should load ('auto' picks by feature test). */
export function pickFlavour(flavour = 'auto') {
  if (flavour === 'simd' || flavour === 'scalar') return flavour;
  return simdSupported() ? 'simd' : 'scalar';
}

/**
 * Loads the engine.
 *   flavour    'auto' | 'simd' | 'scalar'
 *   baseUrl    where plab-<flavour>.mjs and .wasm live (default: ./wasm/ next to this module)
 *   factory    the Emscripten module factory (tests), skipping the dynamic import
 *   wasmBinary the .wasm bytes (tests), skipping the fetch
 *   wasmModule a compiled WebAssembly.Module (the page compiles once and hands it to workers)
 */
export async function loadEngine({ flavour = 'auto', baseUrl, factory, wasmBinary, wasmModule } = {}) {
  const which = pickFlavour(flavour);
  const base = baseUrl ? new URL(baseUrl, import.meta.url) : new URL('./wasm/', import.meta.url);
  if (!factory) {
    factory = (await import(new URL(`plab-${which}.mjs`, base).href)).default;
  }
  if (!wasmBinary && !wasmModule) wasmModule = await compileModule(which, base);
  const options = { print: () => {}, printErr: () => {} };
  if (wasmModule) {
    // Emscripten's hook: instantiate the given module with the imports the glue provides
    options.instantiateWasm = (imports, receive) => {
      WebAssembly.instantiate(wasmModule, imports).then((instance) => receive(instance, wasmModule));
      return {};
    };
  } else {
    options.wasmBinary = wasmBinary;
  }
  const M = await factory(options);
  return new Engine(M, wasmModule);
}

/** Fetches and compiles plab-<flavour>.wasm under base. */
export async function compileModule(flavour, base = new URL('./wasm/', import.meta.url)) {
  const url = new URL(`plab-${flavour}.wasm`, base);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not load ${url.pathname}: HTTP ${response.status}`);
  return WebAssembly.compile(await response.arrayBuffer());
}

/** One instance of the WebAssembly module. */
export class Engine {
  constructor(M, wasmModule = null) {
    this.M = M;
    this.wasmModule = wasmModule; // shareable with workers (postMessage)
    this.simd = M._plab_web_simd() === 1;
    this.flavour = this.simd ? 'simd' : 'scalar';
    this.version = this.str(M._plab_web_version());
    this._schema = null;
  }

  /** The size of this instance's WebAssembly linear memory in bytes (it only grows). */
  memoryBytes() {
    return this.M.HEAPU8.buffer.byteLength;
  }

  /** Reads a NUL-terminated UTF-8 string at ptr ('' for NULL). */
  str(ptr) {
    return ptr ? this.M.UTF8ToString(ptr) : '';
  }

  /** Calls fn with each string copied into wasm memory, then frees them. */
  withStrings(strings, fn) {
    const M = this.M;
    const ptrs = [];
    try {
      for (const s of strings) {
        const text = String(s);
        const n = M.lengthBytesUTF8(text) + 1;
        const p = M._malloc(n);
        if (!p) throw new PlabError('out of memory', 2);
        ptrs.push(p);
        M.stringToUTF8(text, p, n);
      }
      return fn(...ptrs);
    } finally {
      for (const p of ptrs) M._free(p);
    }
  }

  /**
   * The configuration schema: { version, max_hidden, keys: [{key, type, group, default, min,
   * max, min_open, max_open, choices, help}], problems: [{name, help, dataset}], rows }.
   */
  schema() {
    if (!this._schema) {
      const p = this.M._plab_web_schema_json();
      if (!p) throw new PlabError('out of memory building the schema', 2);
      const s = JSON.parse(this.str(p));
      s.rows = Object.fromEntries(Object.entries(s.rows)
        .map(([kind, names]) => [kind, names.split(',').filter(Boolean)]));
      s.byKey = Object.fromEntries(s.keys.map((k) => [k.key, k]));
      this._schema = s;
    }
    return this._schema;
  }

  /** A config with the defaults, then `settings` ([[key, value], ...] or {key: value}) applied. */
  config(settings = []) {
    const cfg = new Config(this);
    try {
      const pairs = Array.isArray(settings) ? settings : Object.entries(settings);
      for (const [k, v] of pairs) cfg.set(k, v);
    } catch (e) {
      cfg.destroy();
      throw e;
    }
    return cfg;
  }

  /** A run of `config` (a Config, or settings for one). Throws the core's message. */
  run(config) {
    const own = !(config instanceof Config);
    const cfg = own ? this.config(config) : config;
    try {
      const p = this.M._plab_web_run_create(cfg.ptr);
      if (!p) throw new PlabError(cfg.error() || 'the run could not be created', 1);
      return new Run(this, p);
    } finally {
      if (own) cfg.destroy();
    }
  }
}

/** A plab_config in wasm memory. */
export class Config {
  constructor(engine) {
    this.engine = engine;
    this.ptr = engine.M._plab_web_config_create();
    if (!this.ptr) throw new PlabError('out of memory', 2);
  }

  error() {
    return this.engine.str(this.engine.M._plab_web_config_error(this.ptr));
  }

  /** Sets a key from its text form; throws PlabError with the core's message. */
  set(key, value) {
    this.alive();
    const st = this.engine.withStrings([key, value],
      (k, v) => this.engine.M._plab_web_config_set(this.ptr, k, v));
    if (st !== 0) throw new PlabError(this.error(), st);
    return this;
  }

  /** A key's canonical text; throws for an unknown key. */
  get(key) {
    this.alive();
    const p = this.engine.withStrings([key], (k) => this.engine.M._plab_web_config_get(this.ptr, k));
    if (!p) throw new PlabError(`unknown key '${key}'`, 1);
    return this.engine.str(p);
  }

  /** Cross-field validation; throws PlabError with the core's message. */
  check() {
    this.alive();
    const st = this.engine.M._plab_web_config_check(this.ptr);
    if (st !== 0) throw new PlabError(this.error(), st);
    return this;
  }

  alive() {
    if (!this.ptr) throw new Error('config used after destroy()');
  }

  destroy() {
    if (this.ptr) this.engine.M._plab_web_config_destroy(this.ptr);
    this.ptr = 0;
  }
}

/** A plab_run in wasm memory, with the rows its sink collected. */
export class Run {
  constructor(engine, ptr) {
    this.engine = engine;
    this.ptr = ptr;
    const M = engine.M;
    this.totalSteps = M._plab_web_run_total_steps(ptr);
    this.stepsPerTask = M._plab_web_run_steps_per_task(ptr);
    this.numParams = M._plab_web_run_num_params(ptr);
    this.kernels = engine.str(M._plab_web_run_kernels(ptr));
    this.fields = engine.schema().rows;
  }

  check(st) {
    if (st !== 0) {
      throw new PlabError(this.engine.str(this.engine.M._plab_web_run_error(this.ptr)), st);
    }
  }

  /** Runs up to n updates (fewer at the end); throws on divergence. */
  step(n) {
    this.alive();
    this.check(this.engine.M._plab_web_run_step(this.ptr, n));
  }

  /** Runs to the end of the current task. */
  task() {
    this.alive();
    this.check(this.engine.M._plab_web_run_task(this.ptr));
  }

  get done() { return this.engine.M._plab_web_run_done(this.ptr) === 1; }
  get stepsDone() { return this.engine.M._plab_web_run_steps_done(this.ptr); }
  get currentTask() { return this.engine.M._plab_web_run_current_task(this.ptr); }

  /** The trace hash (16 hex digits), the one the CLI prints. */
  traceHash() {
    this.alive();
    return this.engine.str(this.engine.M._plab_web_run_trace_hash(this.ptr));
  }

  /**
   * The rows collected since the last call, as { window: [...], task: [...], event: [...] } of
   * plain objects keyed by the schema's field names (numbers; NaN where not measured).
   */
  takeRows() {
    this.alive();
    const M = this.engine.M;
    const out = {};
    for (const [kind, id] of Object.entries(ROW_KINDS)) {
      const names = this.fields[kind];
      const width = M._plab_web_rows_width(id);
      const count = M._plab_web_rows_count(this.ptr, id);
      const rows = new Array(count);
      if (count > 0) {
        const base = M._plab_web_rows_data(this.ptr, id) / 8;
        const heap = M.HEAPF64; // read after the calls: memory growth replaces the view
        for (let i = 0; i < count; i++) {
          const row = {};
          const o = base + i * width;
          for (let j = 0; j < width; j++) row[names[j]] = heap[o + j];
          rows[i] = row;
        }
      }
      out[kind] = rows;
    }
    M._plab_web_rows_clear(this.ptr);
    return out;
  }

  alive() {
    if (!this.ptr) throw new Error('run used after destroy()');
  }

  destroy() {
    if (this.ptr) this.engine.M._plab_web_run_destroy(this.ptr);
    this.ptr = 0;
  }
}
