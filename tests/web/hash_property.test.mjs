// hash_property.test.mjs: a property test of the page's URL-hash parser (web/state.js
// parseHash), the page's counterpart of the C fuzz targets (tests/fuzz/): the parser is JS, so
// it is tested here with seeded random and mutated hashes under Node.
//   node tests/web/hash_property.test.mjs [--module build-web/simd/wasm/plab_web.mjs]
//                                         [--cases N] [--seed S]
// Properties, for every hash:
//   - parseHash never throws and returns { state, flags, notices } of the documented shape;
//   - every value it keeps is valid: the page's own validator accepts it unchanged and the
//     core's key parser (the wasm engine's Config.set) accepts every run setting;
//   - a refused value gives a notice that names the key (and, for a choice, the choices);
//   - the state round-trips: serializeHash then parseHash gives it back without a notice.
// The generator is a seeded xorshift32, so a failure names a case that reproduces exactly.
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';

import { arg, loadNodeEngine, root, wasmBuilds } from './lib.mjs';

const S = await import(pathToFileURL(path.join(root, 'web/state.js')).href);

const CASES = Number(arg('cases', 2000)); // per generator (three generators)
const SEED = Number(arg('seed', 20261127)) >>> 0 || 1;

/** xorshift32: a small deterministic generator (never Math.random). */
function rng(seed) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  const below = (n) => next() % n;
  return { below, pick: (a) => a[below(a.length)], chance: (p) => below(1000) < p * 1000 };
}

// Object-prototype names and other keys a plain-object lookup gets wrong.
const NASTY_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf',
  'prototype', 'length', '', '.', '..', 'none.', '.lr', 'swr.', 'swr.swr.lr', 'autoplay.lr'];
const VALUES = ['', ' ', '0', '-0', '+1', '1', '2', '-1', '7', '1e3', '1.5e1', '1e-4', '.5', '5.',
  '0.5', '1e309', '-1e309', '1e-400', 'nan', 'NaN', 'inf', 'Infinity', '0x10', '1_000', 'true',
  'false', 'TRUE', 'yes', 'off', 'x', 'none', '100,100', ' 8 , 8 ', '8,,8', ',', '1,2,3,4,5,6,7,8,9',
  '007', '99999999999999999999999', '18446744073709551615', '18446744073709551616',
  '9007199254740993', 'relu', 'crelu', 'sgd', 'adamw', 'pclusters', 'scr', 'synthetic', 'pmnist',
  'swr', 'cbp', 'none,swr', 'swr,swr,bogus', '%', '%ZZ', '%E0%A4%A', '%ED%A0%80', '%F0%9F%98%80',
  '\uD800', '\u00e9', '+', '&', '=', '#', 'a'.repeat(300)];

/** Percent-encodes some characters of s (as a browser or a person might). */
function encodeSome(r, s) {
  let out = '';
  for (const ch of s) {
    if (r.chance(0.15)) {
      try {
        out += encodeURIComponent(ch);
        continue;
      } catch {
        // a lone surrogate cannot be encoded: keep it raw
      }
    }
    out += ch;
  }
  return out;
}

/** A hash built from keys and values the parser knows, with some it does not. */
function tokenHash(r, schema) {
  const keys = schema.keys.map((k) => k.key);
  const methods = S.methodNames(schema);
  const parts = [];
  for (let j = 0, n = 1 + r.below(10); j < n; j++) {
    let k;
    const kind = r.below(10);
    if (kind < 5) k = r.pick(keys);
    else if (kind < 7) k = `${r.chance(0.9) ? r.pick(methods) : 'bogus'}.${r.chance(0.9) ? r.pick(keys) : r.pick(NASTY_KEYS)}`;
    else if (kind < 8) k = r.pick(['preset', 'methods', 'autoplay', 'embed', 'method', 'kernels', 'data_dir']);
    else k = r.pick(NASTY_KEYS);
    let v;
    if (k === 'preset') v = r.chance(0.8) ? r.pick(S.PRESETS).id : r.pick(VALUES);
    else if (k === 'methods') v = Array.from({ length: r.below(4) }, () => (r.chance(0.8) ? r.pick(methods) : r.pick(VALUES))).join(',');
    else {
      const info = schema.byKey[k.slice(k.indexOf('.') + 1)];
      v = info?.choices && r.chance(0.4) ? r.pick(info.choices) : r.pick(VALUES);
    }
    parts.push(r.chance(0.05) ? k : `${encodeSome(r, k)}=${encodeSome(r, v)}`);
  }
  return (r.chance(0.5) ? '#' : '') + parts.join(r.chance(0.95) ? '&' : '&&');
}

/** A valid hash (a preset's, with random changes through the table) with byte-level damage. */
function mutatedHash(r, schema) {
  let state = S.presetState(schema, r.pick(S.PRESETS).id);
  for (const m of S.methodNames(schema)) if (r.chance(0.3)) state = S.withMethod(state, schema, m, r.chance(0.5));
  let h = S.serializeHash(state, { embed: r.chance(0.3), autoplay: r.chance(0.3) });
  const alphabet = '&=.,#%+-_0123456789abcdefxyz \u00e9\uD800';
  for (let j = 0, n = r.below(6); j < n; j++) {
    const at = r.below(h.length + 1);
    switch (r.below(5)) {
      case 0: h = h.slice(0, at) + h.slice(at + 1 + r.below(8)); break; // delete
      case 1: h = h.slice(0, at) + r.pick([...alphabet]) + h.slice(at); break; // insert
      case 2: h = h.slice(0, at); break; // truncate
      case 3: { // duplicate a piece
        const from = r.below(h.length + 1);
        h = h.slice(0, at) + h.slice(from, from + r.below(40)) + h.slice(at);
        break;
      }
      default: h = h.slice(0, at) + (r.chance(0.5) ? '&' : '=') + h.slice(at); // split
    }
  }
  return h;
}

/** Any text: random characters, heavy on the separators. */
function randomHash(r) {
  const alphabet = ['&', '=', '.', ',', '#', '%', '+', ' ', '0', '1', '9', 'e', '-', 'a', 'z', '_',
    '\u00e9', '\uD800', '\uDC00', '\u0000', '\n', 'tasks', 'swr', 'lr', 'hidden', '%2', '%C3%A9'];
  let h = '';
  for (let j = 0, n = r.below(60); j < n; j++) h += r.pick(alphabet);
  return r.chance(0.01) ? h.repeat(2000) : h; // sometimes beyond the 20000-character limit
}

let engine;
let schema;
let cases = 0;

/** The core's key parser on one setting: null if accepted, else its message. */
function coreRefuses(key, value) {
  const cfg = engine.config();
  try {
    cfg.set(key, value);
    return null;
  } catch (e) {
    return e.message;
  } finally {
    cfg.destroy();
  }
}

/** Checks every property on one hash; `label` reproduces it. */
function checkHash(hash, label) {
  cases++;
  let out;
  try {
    out = S.parseHash(schema, hash);
  } catch (e) {
    assert.fail(`${label}: parseHash threw ${e.stack}\nhash: ${JSON.stringify(hash)}`);
  }
  const ctx = `${label}: ${JSON.stringify(hash).slice(0, 300)}`;
  const { state, flags, notices } = out;
  // shape
  assert.ok(Array.isArray(notices) && notices.every((n) => typeof n === 'string' && n.length > 0), ctx);
  assert.deepEqual(Object.keys(flags).sort(), Object.keys(S.FLAGS).sort(), ctx);
  for (const v of Object.values(flags)) assert.equal(typeof v, 'boolean', ctx);
  const names = S.methodNames(schema);
  assert.ok(state.methods.length > 0 && state.methods.every((m) => names.includes(m)), ctx);
  assert.equal(new Set(state.methods).size, state.methods.length, ctx);
  // every kept value is valid: the page's validator keeps it as it is, the core accepts it
  for (const m of state.methods) {
    for (const [k, v] of S.runSettings(state, m)) {
      assert.ok(Object.hasOwn(schema.byKey, k), `${ctx}: key '${k}' is not in the schema`);
      assert.equal(typeof v, 'string', `${ctx}: ${k} = ${v}`);
      if (k !== 'method') {
        const again = S.validateValue(schema, k, v);
        assert.equal(again.notice, null, `${ctx}: ${k} = '${v}' kept, but: ${again.notice}`);
      }
      const refused = coreRefuses(k, v);
      assert.equal(refused, null, `${ctx}: ${k} = '${v}' kept, but the core says: ${refused}`);
    }
  }
  // round trip: what the page writes reads back as the same state, without a notice
  const text = S.serializeHash(state, flags);
  const back = S.parseHash(schema, `#${text}`);
  assert.deepEqual(back.notices, [], `${ctx}: re-reading ${text}`);
  assert.deepEqual(back.flags, flags, ctx);
  assert.equal(S.serializeHash(back.state, back.flags), text, ctx);
  for (const m of state.methods) assert.deepEqual(S.runSettings(back.state, m), S.runSettings(state, m), ctx);
}

describe('URL hash parser (web/state.js parseHash), property test', () => {
  before(async () => {
    const [build] = wasmBuilds();
    assert.ok(build, 'no wasm build: run scripts/build-web.sh or pass --module');
    engine = await loadNodeEngine(build.module);
    schema = engine.schema();
  });

  it(`keeps only valid settings and round-trips, on ${CASES} hashes from known tokens`, () => {
    const r = rng(SEED);
    for (let i = 0; i < CASES; i++) checkHash(tokenHash(r, schema), `tokens #${i} (seed ${SEED})`);
  });

  it(`survives ${CASES} damaged valid hashes`, () => {
    const r = rng(SEED ^ 0x9e3779b9);
    for (let i = 0; i < CASES; i++) checkHash(mutatedHash(r, schema), `mutated #${i} (seed ${SEED})`);
  });

  it(`survives ${CASES} random texts`, () => {
    const r = rng(SEED ^ 0x85ebca6b);
    for (let i = 0; i < CASES; i++) checkHash(randomHash(r), `random #${i} (seed ${SEED})`);
  });

  it('names the key, and the allowed values, of every value it refuses', () => {
    const r = rng(SEED ^ 0xc2b2ae35);
    const base = S.presetState(schema);
    for (const info of schema.keys) {
      if (S.PAGE_OWNED.includes(info.key)) continue;
      for (let j = 0; j < 40; j++) {
        const v = j < VALUES.length ? VALUES[j] : r.pick(VALUES);
        const want = S.validateValue(schema, info.key, v, base.shared[info.key]);
        const hash = `${info.key}=${encodeURIComponent(v.replace(/[\uD800-\uDFFF]/g, ''))}`;
        checkHash(hash, `single ${info.key}`);
        const { notices } = S.parseHash(schema, hash);
        if (want.notice === null) continue;
        assert.equal(notices.length, 1, `${hash}: ${notices.join(' | ')}`);
        assert.ok(notices[0].startsWith(`${info.key}: `), `${hash}: ${notices[0]}`);
        if (info.type === 'enum' && !notices[0].includes('using')) assert.fail(`${hash}: ${notices[0]}`);
        if (info.type === 'enum') assert.ok(info.choices.every((c) => notices[0].includes(c)), `${hash}: ${notices[0]}`);
      }
    }
  });

  it('reports the number of cases', () => {
    console.log(`# hash property test: ${cases} hashes checked (seed ${SEED})`);
    assert.ok(cases >= 3 * CASES);
  });
});
