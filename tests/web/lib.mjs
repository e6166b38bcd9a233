// lib.mjs: helpers shared by the page's Node tests (tests/web/*.test.mjs).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const nativeDir = path.join(root, 'build-web', 'native');

/** The value of `--name value` on the command line, or fallback. */
export function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

let nativeBinary = null;

/**
 * Builds the native core (build-web/native, its own directory so that concurrent builds
 * elsewhere are not disturbed) and the comparison helper tests/web/native_rows.c against it.
 */
export function buildNative() {
  if (nativeBinary) return nativeBinary;
  const quiet = { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] };
  execFileSync('cmake', ['-S', '.', '-B', nativeDir, '-DCMAKE_BUILD_TYPE=Release',
    '-DPLAB_TESTS=OFF', '-DPLAB_BENCH=OFF'], quiet);
  execFileSync('cmake', ['--build', nativeDir, '--target', 'plab_core', '-j', '2'], quiet);
  const out = path.join(nativeDir, 'native_rows');
  execFileSync('cc', ['-std=c11', '-O2', '-ffp-contract=off', '-fno-fast-math', '-Wall',
    '-I', path.join(root, 'core/include'), '-I', path.join(root, 'wasm'),
    path.join(root, 'tests/web/native_rows.c'), path.join(nativeDir, 'libplab_core.a'), '-lm',
    '-o', out], quiet);
  nativeBinary = out;
  return out;
}

/**
 * Runs settings ([[key, value], ...]) natively: { trace, kernels, window, task, event } and
 * `error` when the run failed (diverged) part way. Throws for a config the core refuses.
 */
export function runNative(settings) {
  const bin = buildNative();
  const r = spawnSync(bin, settings.map(([k, v]) => `${k}=${v}`),
    { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0 && r.status !== 3) throw new Error(r.stderr.trim() || `native_rows: exit ${r.status}`);
  return JSON.parse(r.stdout);
}

/**
 * Runs a `plab run key=value ...` command line (as the page prints it) with the native CLI,
 * built in build-web/native, inside a fresh temporary directory; returns the run's trace hash
 * (from the run directory's DONE marker or summary.json, or the CLI's output).
 */
export function runCli(command) {
  buildNative();
  execFileSync('cmake', ['--build', nativeDir, '--target', 'plab', '-j', '2'],
    { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  const exe = path.join(nativeDir, 'native', 'plab');
  const words = command.trim().split(/\s+/);
  if (words[0] !== 'plab') throw new Error(`not a plab command: ${command}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plab-cli-'));
  try {
    const r = spawnSync(exe, words.slice(1), { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${command}: exit ${r.status}: ${r.stderr.trim()}`);
    const files = [];
    const walk = (d) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const f = path.join(d, e.name);
        if (e.isDirectory()) walk(f);
        else if (['DONE', 'summary.json'].includes(e.name)) files.push(f);
      }
    };
    walk(dir);
    const texts = [...files.map((f) => fs.readFileSync(f, 'utf8')), r.stdout];
    for (const t of texts) {
      const m = t.match(/trace(?:_hash)?"?\s*:?\s*"?([0-9a-f]{16})/);
      if (m) return m[1];
    }
    throw new Error(`${command}: no trace hash in the CLI's output`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Loads web/engine.js over an Emscripten build (plab_web.mjs + plab_web.wasm beside it). */
export async function loadNodeEngine(modulePath) {
  const { loadEngine } = await import(pathToFileURL(path.join(root, 'web/engine.js')).href);
  const factory = (await import(pathToFileURL(path.resolve(modulePath)).href)).default;
  const wasmBinary = fs.readFileSync(path.resolve(modulePath).replace(/\.mjs$/, '.wasm'));
  return loadEngine({ factory, wasmBinary });
}

/**
 * The wasm builds to test: [{ flavour, module }]: the one given with --module (flavour null:
 * read from the build), else those of build-web/ (scripts/build-web.sh).
 */
export function wasmBuilds() {
  const only = arg('module');
  if (only) return [{ flavour: null, module: only }];
  return ['simd', 'scalar']
    .map((f) => ({ flavour: f, module: path.join(root, 'build-web', f, 'wasm', 'plab_web.mjs') }))
    .filter((b) => fs.existsSync(b.module));
}

/** Same double, bit for bit (null in JSON stands for NaN / infinity). */
export function sameBits(a, b) {
  if (a === null || b === null) {
    const x = a === null ? b : a;
    return a === b || (typeof x === 'number' && !Number.isFinite(x));
  }
  const da = new DataView(new ArrayBuffer(8));
  const db = new DataView(new ArrayBuffer(8));
  da.setFloat64(0, a);
  db.setFloat64(0, b);
  return da.getBigUint64(0) === db.getBigUint64(0);
}
