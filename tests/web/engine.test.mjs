// engine.test.mjs: the WebAssembly bindings (wasm/plab_web.c) through web/engine.js, under Node.
//   node tests/web/engine.test.mjs [--module build-web/simd/wasm/plab_web.mjs]
// Without --module every flavour built by scripts/build-web.sh is tested (SIMD128 and scalar).
// Checks: the checked-in export list matches the bindings; the schema; bad input becomes a
// PlabError naming the key; and every row of many runs (every method, every problem that needs
// no download, LayerNorm, momentum and AdamW) is bit-identical to the native library's.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it, before } from 'node:test';

import { loadNodeEngine, root, runNative, sameBits, wasmBuilds } from './lib.mjs';

const builds = wasmBuilds();

// Small, fast settings every case starts from; events happen within a few tasks.
const BASE = [['tasks', '3'], ['steps_per_task', '40'], ['hidden', '24,24'], ['batch_size', '8'],
  ['seed', '7'], ['probe_size', '60']];
// What a method needs to be valid and to act within 120 updates.
const METHOD_EXTRAS = {
  l2: [['l2', '1e-3']],
  snp: [['l2', '1e-4'], ['snp_noise_var', '1e-6']],
  swr: [['swr_period', '25'], ['swr_factor', '1e-2']],
  cbp: [['cbp_maturity', '10'], ['cbp_rate', '1e-2']],
  'cbp-nature': [['cbp_maturity', '10'], ['cbp_rate', '1e-2']],
  redo: [['redo_period', '8'], ['redo_threshold', '0.1']],
};

function cases(schema) {
  const out = [];
  const methods = schema.byKey.method.choices;
  const problems = schema.problems.filter((p) => !p.dataset).map((p) => p.name);
  for (const m of methods) {
    out.push({ name: `synthetic/${m}`, settings: [...BASE, ['method', m], ...(METHOD_EXTRAS[m] || [])] });
  }
  for (const m of ['swr', 'cbp', 'redo'].filter((x) => methods.includes(x))) {
    out.push({ name: `synthetic/${m}/layer_norm`,
      settings: [...BASE, ['layer_norm', 'true'], ['lr', '0.1'], ['method', m], ...METHOD_EXTRAS[m]] });
  }
  out.push({ name: 'synthetic/none/momentum', settings: [...BASE, ['optimizer', 'momentum'], ['lr', '0.01']] });
  out.push({ name: 'synthetic/swr/adamw',
    settings: [...BASE, ['optimizer', 'adamw'], ['lr', '1e-3'], ['method', 'swr'], ...METHOD_EXTRAS.swr] });
  out.push({ name: 'synthetic/none/tanh', settings: [...BASE, ['activation', 'tanh'], ['lr', '0.01']] });
  out.push({ name: 'synthetic/none/diverges', settings: [...BASE, ['lr', '2000']] });
  for (const p of problems.filter((x) => x !== 'synthetic')) {
    const extra = p === 'scr'
      ? [['scr_period', '40'], ['steps_per_task', '0'], ['batch_size', '1'], ['lr', '0.01']] : [];
    out.push({ name: `${p}/swr`, settings: [...BASE, ['problem', p], ['method', 'swr'], ...METHOD_EXTRAS.swr, ...extra] });
    out.push({ name: `${p}/none`, settings: [...BASE, ['problem', p], ...extra] });
  }
  return out;
}

function compareRows(kind, wasmRows, nativeRows, fields) {
  assert.equal(wasmRows.length, nativeRows.length, `${kind}: row counts differ`);
  for (let i = 0; i < wasmRows.length; i++) {
    for (let j = 0; j < fields.length; j++) {
      const a = wasmRows[i][fields[j]];
      const b = nativeRows[i][j];
      if (!sameBits(a, b)) {
        assert.fail(`${kind} row ${i} field ${fields[j]}: wasm ${a} native ${b}`);
      }
    }
  }
}

describe('export list', () => {
  it('wasm/exports.txt lists exactly the PLAB_WEB_API functions, plus malloc and free', () => {
    const src = fs.readFileSync(path.join(root, 'wasm/plab_web.c'), 'utf8');
    const api = [...src.matchAll(/^PLAB_WEB_API [^(]*?\b(plab_web_\w+)\(/gm)].map((m) => `_${m[1]}`);
    const listed = fs.readFileSync(path.join(root, 'wasm/exports.txt'), 'utf8').split('\n')
      .map((s) => s.trim()).filter(Boolean);
    assert.deepEqual([...listed].sort(), [...api, '_malloc', '_free'].sort());
  });
});

if (builds.length === 0) {
  describe('wasm builds', () => {
    it('exist (run scripts/build-web.sh first)', () => assert.fail('no build-web/*/wasm/plab_web.mjs'));
  });
}

for (const build of builds) {
  describe(`wasm ${build.flavour || build.module}`, () => {
    let engine;
    before(async () => { engine = await loadNodeEngine(build.module); });

    it('loads the expected flavour', () => {
      assert.equal(engine.simd, engine.flavour === 'simd');
      if (build.flavour) assert.equal(engine.flavour, build.flavour);
    });

    it('exports a schema whose defaults round-trip through config_set', () => {
      const s = engine.schema();
      assert.ok(s.keys.length > 30);
      for (const k of ['problem', 'method', 'hidden', 'lr', 'seed', 'layer_norm']) assert.ok(s.byKey[k], k);
      assert.ok(s.byKey.method.choices.includes('none'));
      assert.ok(s.problems.some((p) => p.name === 'synthetic' && p.dataset === null));
      for (const kind of ['window', 'task', 'event']) assert.ok(s.rows[kind].length >= 6);
      const cfg = engine.config();
      try {
        for (const k of s.keys) {
          assert.equal(cfg.get(k.key), k.default, k.key);
          cfg.set(k.key, k.default);
        }
        cfg.check();
      } finally {
        cfg.destroy();
      }
    });

    it('turns bad input into a PlabError with the core message', () => {
      const cfg = engine.config();
      try {
        assert.throws(() => cfg.set('lr', '-1'), (e) => e.name === 'PlabError' && /'lr'/.test(e.message) && e.status === 1);
        assert.throws(() => cfg.set('no_such_key', '1'), /unknown key 'no_such_key'/);
        assert.throws(() => cfg.set('method', 'magic'), /must be one of none/);
        assert.throws(() => cfg.get('no_such_key'), /unknown key/);
        cfg.set('method', 'snp');
        assert.throws(() => cfg.check(), /snp_noise_var/);
        assert.throws(() => engine.run(cfg), /snp_noise_var/);
        assert.throws(() => engine.run([['hidden', 'a,b']]), /'hidden'/);
      } finally {
        cfg.destroy();
        cfg.destroy(); // a second destroy is a no-op
      }
      assert.throws(() => cfg.get('lr'), /after destroy/);
    });

    it('steps in chunks exactly as in one go', () => {
      const settings = [...BASE, ['method', 'swr'], ...METHOD_EXTRAS.swr];
      const a = engine.run(settings);
      const b = engine.run(settings);
      try {
        assert.equal(a.totalSteps, 120);
        assert.equal(a.stepsPerTask, 40);
        while (!a.done) a.step(7);
        b.task();
        assert.equal(b.currentTask, 1);
        b.step(1e6);
        assert.ok(b.done);
        assert.equal(a.traceHash(), b.traceHash());
        assert.deepEqual(a.takeRows().task.map((r) => r.accuracy), b.takeRows().task.map((r) => r.accuracy));
        assert.deepEqual(a.takeRows(), { window: [], task: [], event: [] });
        a.step(5); // a no-op once done
      } finally {
        a.destroy();
        b.destroy();
      }
    });

    const schemaForCases = () => engine.schema();
    it('gives bit-identical rows and trace hashes to the native library', async (t) => {
      const list = cases(schemaForCases());
      let compared = 0;
      for (const c of list) {
        await t.test(c.name, () => {
          let run;
          try {
            run = engine.run(c.settings);
          } catch (e) {
            // a config the core refuses must be refused natively too, with the same message
            assert.throws(() => runNative(c.settings), (n) => n.message === `native_rows: ${e.message}`);
            t.diagnostic(`${c.name}: refused (${e.message})`);
            return;
          }
          try {
            let error;
            try {
              while (!run.done) run.step(50);
            } catch (e) {
              assert.equal(e.statusName, 'diverged');
              error = e.message;
            }
            const rows = run.takeRows();
            const native = runNative(c.settings);
            assert.equal(error, native.error, 'the same divergence');
            assert.equal(run.traceHash(), native.trace, 'trace hash');
            for (const kind of ['window', 'task', 'event']) {
              compareRows(kind, rows[kind], native[kind], engine.schema().rows[kind]);
            }
            assert.ok(error || rows.window.length > 0);
            compared++;
          } finally {
            run.destroy();
          }
        });
      }
      t.diagnostic(`${compared} of ${list.length} configurations compared bit for bit`);
      assert.ok(compared >= Math.min(list.length, 8), `only ${compared} configurations ran`);
    });
  });
}
