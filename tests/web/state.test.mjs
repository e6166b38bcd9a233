// state.test.mjs: the page's settings table (web/state.js) against the C schema, under Node.
//   node tests/web/state.test.mjs [--module build-web/simd/wasm/plab_web.mjs]
// Checks that every key the table names exists in the schema, that every method and problem of
// the schema can be shown, that every preset passes the core's own checks, that the URL hash
// round-trips, and that thousands of random hashes never throw and always give settings the
// core accepts.
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';

import { loadNodeEngine, root, wasmBuilds } from './lib.mjs';

const S = await import(pathToFileURL(path.join(root, 'web/state.js')).href);

let engine;
let schema;

/** The core's verdict on one method's settings: null if accepted, else its message. */
function coreCheck(state, method) {
  let cfg = null;
  try {
    cfg = engine.config(S.runSettings(state, method));
    cfg.check();
    return null;
  } catch (e) {
    return e.message;
  } finally {
    cfg?.destroy();
  }
}

describe('settings table (web/state.js)', () => {
  before(async () => {
    const [build] = wasmBuilds();
    assert.ok(build, 'no wasm build: run scripts/build-web.sh');
    engine = await loadNodeEngine(build.module);
    schema = engine.schema();
  });

  it('names only keys of the C schema', () => {
    for (const row of S.SETTINGS) assert.ok(schema.byKey[row.key], `SETTINGS key ${row.key}`);
    for (const [m, info] of Object.entries(S.METHODS)) {
      for (const k of info.keys) assert.ok(schema.byKey[k], `${m} key ${k}`);
      for (const k of Object.keys(info.defaults || {})) assert.ok(info.keys.includes(k), `${m} default ${k}`);
    }
    for (const p of S.PRESETS) {
      for (const k of Object.keys(p.shared)) assert.ok(schema.byKey[k], `preset ${p.id} key ${k}`);
      for (const [m, params] of Object.entries(p.params)) {
        for (const k of Object.keys(params)) assert.ok(schema.byKey[k], `preset ${p.id} ${m}.${k}`);
      }
    }
    for (const k of Object.keys(S.PAGE_LIMITS)) assert.ok(schema.byKey[k], `PAGE_LIMITS key ${k}`);
  });

  it('shows every method and every downloadable-free problem of the schema', () => {
    const names = S.methodNames(schema);
    assert.deepEqual([...names].sort(), [...schema.byKey.method.choices].sort());
    const missing = names.filter((m) => !S.METHODS[m]);
    if (missing.length) console.log(`# methods without a table entry (shown with defaults): ${missing.join(', ')}`);
    const colors = new Set();
    for (const m of names) {
      const info = S.methodInfo(m, schema);
      assert.ok(info.label && info.color && Array.isArray(info.dash), m);
      colors.add(`${info.color} ${info.dash.join(',')}`);
    }
    assert.equal(colors.size, names.length, 'one colour and dash pattern per method');
    const runnable = S.runnableProblems(schema).map((p) => p.name);
    for (const p of ['synthetic', 'pclusters', 'rlabels', 'scr'].filter((x) => schema.problems.some((q) => q.name === x))) {
      assert.ok(runnable.includes(p), p);
    }
  });

  it('has presets whose every method passes the core checks', () => {
    assert.ok(S.PRESETS.some((p) => p.id === S.DEFAULT_PRESET));
    for (const p of S.PRESETS) {
      const state = S.presetState(schema, p.id);
      assert.ok(state.methods.length >= 4, p.id);
      assert.deepEqual([...state.methods].sort(), [...p.methods].sort(), `${p.id}: every preset method exists`);
      for (const m of S.methodNames(schema)) {
        assert.equal(coreCheck(state, m), null, `${p.id} / ${m}`);
      }
      assert.equal(S.matchingPreset(schema, state), p.id);
    }
  });

  it('gives every runnable problem settings the core accepts', () => {
    for (const p of S.runnableProblems(schema)) {
      const state = S.withProblem(S.presetState(schema), schema, p.name);
      for (const k of Object.keys(S.PROBLEM_DEFAULTS[p.name] || {})) assert.ok(schema.byKey[k], `${p.name}: ${k}`);
      for (const m of ['none', 'swr', 'cbp', 'redo']) assert.equal(coreCheck(state, m), null, `${p.name} / ${m}`);
    }
  });

  it('round-trips states through the URL hash', () => {
    for (const p of S.PRESETS) {
      const state = S.presetState(schema, p.id);
      const hash = S.serializeHash(state, { embed: true });
      const back = S.parseHash(schema, `#${hash}`);
      assert.deepEqual(back.notices, []);
      assert.equal(back.flags.embed, true);
      assert.equal(S.serializeHash(back.state), S.serializeHash(state));
      for (const m of state.methods) assert.deepEqual(S.runSettings(back.state, m), S.runSettings(state, m));
    }
    const { state, notices } = S.parseHash(schema, '#preset=large&tasks=7&swr.swr_period=99&methods=swr,none');
    assert.deepEqual(notices, []);
    assert.equal(state.shared.hidden, '64,64,64');
    assert.equal(state.shared.tasks, '7');
    assert.deepEqual(state.methods, ['none', 'swr']);
    assert.equal(state.params.swr.swr_period, '99');
  });

  it('clamps or reports bad values', () => {
    const cases = [
      ['tasks=0', 'tasks', '1'],
      ['tasks=999999999', 'tasks', '5000'],
      ['tasks=abc', 'tasks', null],
      ['lr=-1', 'lr', null],
      ['hidden=5000,2', 'hidden', '1024,2'],
      ['hidden=1,1,1,1,1,1,1,1,1,1', 'hidden', '1,1,1,1,1,1,1,1'],
      ['layer_norm=maybe', 'layer_norm', null],
      ['problem=pmnist', 'problem', null],
      ['seed=18446744073709551616', 'seed', null],
      ['activation=gelu', 'activation', null],
    ];
    for (const [hash, key, want] of cases) {
      const { state, notices } = S.parseHash(schema, hash);
      assert.equal(notices.length, 1, hash);
      assert.match(notices[0], new RegExp(key));
      if (want !== null) assert.equal(state.shared[key], want, hash);
      else assert.equal(state.shared[key], S.presetState(schema).shared[key] ?? schema.byKey[key].default, hash);
    }
    assert.equal(S.parseHash(schema, 'kernels=scalar').notices.length, 1);
    assert.equal(S.parseHash(schema, 'method=swr').notices.length, 1);
    assert.equal(S.parseHash(schema, 'methods=magic').notices.length, 2);
    assert.equal(S.parseHash(schema, 'bogus.lr=1').notices.length, 1);
    assert.equal(S.parseHash(schema, '%E0%A4%A=1').notices.length, 1);
  });

  it('never throws on 3000 random hashes, and the core accepts every value it keeps', () => {
    let seed = 99;
    const rnd = (n) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const keys = schema.keys.map((k) => k.key);
    const values = ['', '0', '-1', '1', '2', '1e3', '1e-4', '0.5', '1e309', 'nan', 'true', 'false', 'x',
      '100,100', '8,8,8', ',', '%', '%ZZ', '18446744073709551615', 'relu', 'sgd', 'pclusters', 'scr'];
    for (let i = 0; i < 3000; i++) {
      const parts = [];
      for (let j = 0, n = 1 + rnd(8); j < n; j++) {
        const k = rnd(5) === 0 ? `${S.methodNames(schema)[rnd(8)] || 'x'}.${keys[rnd(keys.length)]}` : keys[rnd(keys.length)];
        parts.push(`${k}=${values[rnd(values.length)]}`);
      }
      const { state } = S.parseHash(schema, parts.join('&'));
      // every kept value passes the core's key parser (cross-field checks may still refuse)
      const cfg = engine.config();
      try {
        for (const m of state.methods) for (const [k, v] of S.runSettings(state, m)) cfg.set(k, v);
      } finally {
        cfg.destroy();
      }
    }
  });

  it('writes the equivalent CLI command in key=value form', () => {
    const state = S.presetState(schema, S.DEFAULT_PRESET);
    const cmd = S.cliCommand(state, 'swr');
    assert.match(cmd, /^plab run problem=\S+ tasks=\d+ .* method=swr swr_utility=gradient /);
    assert.ok(!/kernels=/.test(cmd));
    for (const tok of cmd.split(' ').slice(2)) assert.match(tok, /^[a-z_0-9]+=\S*$/);
  });
});
