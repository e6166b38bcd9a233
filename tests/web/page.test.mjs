// page.test.mjs: the built page (web/dist, scripts/build-web.sh) end to end in headless Chromium.
//   node tests/web/page.test.mjs [--dist web/dist] [--update-screenshots]
// Serves the page on 127.0.0.1 and checks:
//   - the default preset runs to `done` within 60 s, every chart has data for every method, the
//     base system loses plasticity and SWR keeps it;
//   - the CSV export equals the native library's rows for the same settings, number for number;
//     the trace hashes equal the native ones; the scalar engine gives the same bits;
//   - "next task", pause while the tab is hidden, 200 random URL hashes without an exception;
//   - the embed view inside an <iframe> on a second local origin, with and without sandbox;
//   - no console error, no request leaving 127.0.0.1, every control labelled, usable at phone
//     width. Screenshots go to tests/artifacts/ (and docs/screenshots/ with --update-screenshots).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { consoleErrors, foreignRequests, launch } from './browser.mjs';
import { arg, root, runCli, runNative, sameBits } from './lib.mjs';
import { serve } from './serve.mjs';

const dist = path.resolve(root, arg('dist', 'web/dist'));
const artifacts = path.join(root, 'tests/artifacts');
const updateShots = process.argv.includes('--update-screenshots');
const DEFAULT_BUDGET_MS = 60000;

let site;      // the page's origin
let host;      // a second origin that embeds it
let browser;
const hostPages = {};

function shot(page, name, opts = {}) {
  fs.mkdirSync(artifacts, { recursive: true });
  const file = path.join(artifacts, `${name}.png`);
  return page.screenshot({ path: file, ...opts }).then(() => {
    if (updateShots && opts.docs) {
      fs.mkdirSync(path.join(root, 'docs/screenshots'), { recursive: true });
      fs.copyFileSync(file, path.join(root, 'docs/screenshots', opts.docs));
    }
    return file;
  });
}

async function waitStatus(pageOrFrame, statuses, timeout = 120000) {
  await pageOrFrame.waitForFunction((s) => s.includes(document.documentElement.dataset.status),
    statuses, { timeout, polling: 100 });
  return pageOrFrame.evaluate(() => document.documentElement.dataset.status);
}

/** Waits until the page has built its controls and charts (data-ready). */
function waitReady(page) {
  return page.waitForFunction(() => document.documentElement.dataset.ready === 'true', null,
    { timeout: 30000, polling: 100 });
}

function parseCsv(text) {
  const [head, ...lines] = text.trim().split('\n');
  const cols = head.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
}

describe('the web page', { concurrency: false }, () => {
  before(async () => {
    assert.ok(fs.existsSync(path.join(dist, 'index.html')), `${dist} is not built: run scripts/build-web.sh`);
    site = await serve(dist, 0);
    const frame = (extra, hash, before = '') => `<!doctype html><html><head><meta charset="utf-8"><title>host</title><link rel="icon" href="data:,"></head>
<body><h1>A page that embeds plab</h1>${before}
<iframe id="f" ${extra} src="${site.url}#${hash}" title="plab" width="760" height="520"></iframe>
</body></html>`;
    // the plain embed runs the whole default preset (its screenshot is in the README)
    hostPages['/plain.html'] = { body: frame('', 'embed=1&autoplay=1') };
    hostPages['/sandboxed.html'] = { body: frame('sandbox="allow-scripts allow-same-origin"', 'tasks=8&embed=1&autoplay=1') };
    hostPages['/offscreen.html'] = { body: frame('', 'tasks=8&embed=1&autoplay=1', '<div style="height:3000px">scroll down</div>') };
    host = await serve(dist, 0, { routes: hostPages });
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await site?.close();
    await host?.close();
  });

  it('runs the default preset to done within 60 s, with data for every method in every chart', async (t) => {
    const page = await browser.context.newPage();
    const t0 = Date.now();
    await page.goto(`${site.url}#autoplay=1`);
    const status = await waitStatus(page, ['done', 'error']);
    const elapsed = Date.now() - t0;
    t.diagnostic(`default preset: ${status} in ${(elapsed / 1000).toFixed(1)} s (page load included)`);
    assert.equal(status, 'done', await page.textContent('#status-text'));
    assert.ok(elapsed <= DEFAULT_BUDGET_MS, `took ${elapsed} ms`);
    const info = await page.evaluate(() => ({
      methods: window.plabPage.state.methods,
      tasks: Number(window.plabPage.state.shared.tasks),
      counts: window.plabPage.charts.counts(),
      labels: Object.fromEntries(Object.values(window.plabPage.runs.methods).map((r) => [r.name, r.info.label])),
      acc: Object.fromEntries(Object.values(window.plabPage.runs.methods).map((r) => [r.name, r.tasks.map((x) => x.accuracy)])),
      flavour: window.plabPage.flavour,
    }));
    t.diagnostic(`methods ${info.methods.join(', ')}; engine ${info.flavour}`);
    assert.ok(info.methods.length >= 4);
    assert.ok(info.methods.includes('none') && info.methods.includes('swr'));
    for (const [chart, perMethod] of Object.entries(info.counts)) {
      for (const m of info.methods) {
        const n = perMethod[info.labels[m]];
        assert.ok(n > 0, `chart ${chart} has no data for ${m}`);
        if (chart !== 'latest') assert.equal(n, info.tasks, `chart ${chart}, ${m}: ${n} points`);
      }
    }
    // the finding the preset is for: backprop loses plasticity, SWR keeps it
    const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
    const k = 10;
    const first = (m) => 100 * mean(info.acc[m].slice(0, k));
    const last = (m) => 100 * mean(info.acc[m].slice(-k));
    for (const m of info.methods) t.diagnostic(`${m}: first ${k} tasks ${first(m).toFixed(1)} %, last ${k} ${last(m).toFixed(1)} %`);
    assert.ok(last('none') < first('none') - 20, 'the base system should lose plasticity');
    assert.ok(last('swr') > first('swr') - 3, 'SWR should keep plasticity');
    assert.ok(last('swr') > last('none') + 30);
    await shot(page, 'page-default', { docs: 'page.png' });
    await page.close();
  });

  it('exports a CSV equal to the native library, number for number, and the same trace hashes', async (t) => {
    const page = await browser.context.newPage();
    await page.goto(`${site.url}#tasks=12&autoplay=1`);
    assert.equal(await waitStatus(page, ['done', 'error']), 'done');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#dl-csv')]);
    const csv = fs.readFileSync(await download.path(), 'utf8');
    const rows = parseCsv(csv);
    const runs = await page.evaluate(() => Object.values(window.plabPage.runs.methods)
      .map((r) => ({ name: r.name, settings: r.settings, trace: r.trace })));
    const fields = await page.evaluate(() => window.plabPage.schema.rows.task);
    let numbers = 0;
    for (const r of runs) {
      const native = runNative(r.settings);
      assert.equal(r.trace, native.trace, `${r.name}: trace hash`);
      const mine = rows.filter((x) => x.method === r.name);
      assert.equal(mine.length, native.task.length, `${r.name}: task rows`);
      for (let i = 0; i < mine.length; i++) {
        for (let j = 0; j < fields.length; j++) {
          const text = mine[i][fields[j]];
          const want = native.task[i][j];
          if (want === null) {
            assert.equal(text, '', `${r.name} task ${i} ${fields[j]}`);
            continue;
          }
          assert.ok(sameBits(Number(text), want), `${r.name} task ${i} ${fields[j]}: page ${text}, native ${want}`);
          assert.equal(text, String(want), 'the shortest round-trip text of the same double');
          numbers++;
        }
      }
    }
    t.diagnostic(`${runs.length} methods, ${rows.length} task rows, ${numbers} numbers equal to the native library's`);
    const [json] = await Promise.all([page.waitForEvent('download'), page.click('#dl-json')]);
    const data = JSON.parse(fs.readFileSync(await json.path(), 'utf8'));
    assert.equal(Object.keys(data.methods).length, runs.length);
    assert.ok(data.methods.swr.command.startsWith('plab run '));
    const [png] = await Promise.all([page.waitForEvent('download'), page.click('#dl-png')]);
    const bytes = fs.readFileSync(await png.path());
    assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
    // the copyable commands are the settings each worker ran, in key=value form, and the
    // plab CLI running them prints the same trace hash
    const cli = await page.inputValue('#cli-text');
    const lines = cli.split('\n');
    for (const r of runs) {
      const line = `plab run ${r.settings.map(([k, v]) => `${k}=${v}`).join(' ')}`;
      assert.ok(lines.includes(line), r.name);
      assert.equal(runCli(line), r.trace, `${r.name}: the CLI's trace for ${line}`);
    }
    t.diagnostic(`the ${runs.length} copied \`plab run\` commands reproduce the page's trace hashes`);
    await page.close();
  });

  it('gives the same bits with the scalar engine (?engine=scalar)', async () => {
    const hash = '#tasks=6&autoplay=1';
    const traces = {};
    for (const q of ['', '?engine=scalar']) {
      const page = await browser.context.newPage();
      await page.goto(`${site.url}${q}${hash}`);
      assert.equal(await waitStatus(page, ['done', 'error']), 'done');
      traces[q] = await page.evaluate(() => ({
        flavour: window.plabPage.flavour,
        t: Object.fromEntries(Object.values(window.plabPage.runs.methods).map((r) => [r.name, r.trace])),
      }));
      await page.close();
    }
    assert.equal(traces['?engine=scalar'].flavour, 'scalar');
    assert.deepEqual(traces[''].t, traces['?engine=scalar'].t);
  });

  it('steps to the next task and pauses, and pauses while the tab is hidden', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${site.url}#preset=large`);
    await waitReady(page);
    await page.click('#next-task');
    await page.waitForFunction(() => {
      const runs = window.plabPage.runs && Object.values(window.plabPage.runs.methods);
      return runs && runs.every((r) => r.state === 'paused' && r.tasks.length === 1);
    }, null, { timeout: 60000 });
    const steps = await page.evaluate(() => Object.values(window.plabPage.runs.methods).map((r) => r.stepsDone));
    assert.ok(steps.every((s) => s === steps[0] && s > 0), `all methods at the first task boundary: ${steps}`);
    assert.equal(await page.textContent('#run'), 'Resume');
    // resume, then hide the tab: training stops until it is visible again
    await page.click('#run');
    await page.waitForFunction(() => Object.values(window.plabPage.runs.methods).every((r) => r.tasks.length >= 2), null, { timeout: 60000 });
    const setHidden = (hidden) => page.evaluate((h) => {
      Object.defineProperty(document, 'visibilityState', { value: h ? 'hidden' : 'visible', configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
    }, hidden);
    await setHidden(true);
    await page.waitForFunction(() => Object.values(window.plabPage.runs.methods).every((r) => r.state === 'paused'), null, { timeout: 10000 });
    const a = await page.evaluate(() => Object.values(window.plabPage.runs.methods).map((r) => r.stepsDone));
    await page.waitForTimeout(700);
    const b = await page.evaluate(() => Object.values(window.plabPage.runs.methods).map((r) => r.stepsDone));
    assert.deepEqual(a, b, 'no training while hidden');
    assert.match(await page.textContent('#status-text'), /hidden/);
    await setHidden(false);
    await page.waitForFunction((before) => Object.values(window.plabPage.runs.methods).some((r, i) => r.stepsDone > before[i]), b, { timeout: 10000 });
    await page.click('#reset');
    assert.equal(await waitStatus(page, ['idle']), 'idle');
    await page.close();
  });

  it('handles 200 random URL hashes without an exception, reporting bad values', async (t) => {
    const page = await browser.context.newPage();
    await page.goto(site.url);
    await waitReady(page);
    const schema = await page.evaluate(() => ({
      keys: window.plabPage.schema.keys.map((k) => k.key),
      methods: window.plabPage.schema.byKey.method.choices,
    }));
    let seed = 12345;
    const rnd = (n) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const junk = ['', '-1', '0', '1e309', 'NaN', 'abc', '%', '%E0%A4%A', '1,2,3', '99999999999', '0.5',
      '\u00e9\u4e2d', '<script>alert(1)</script>', 'true', 'none', 'relu', '1e-4', '18446744073709551616',
      '5000000', ',,,', '16,16,16,16,16,16,16,16,16', '-0', ' 7 ', '0x10', 'Infinity', 'a'.repeat(300)];
    const keys = [...schema.keys, 'methods', 'preset', 'embed', 'nonsense', 'swr.swr_period',
      'cbp.lr', 'bogus.lr', 'l2.method', 'kernels', 'method', '', '.', '..', 'tasks.'];
    let noticed = 0;
    for (let i = 0; i < 200; i++) {
      const parts = [];
      const n = 1 + rnd(6);
      for (let j = 0; j < n; j++) {
        const k = keys[rnd(keys.length)];
        let v = junk[rnd(junk.length)];
        if (k === 'methods') v = [...schema.methods, 'magic'].filter(() => rnd(2)).join(',');
        if (k === 'preset') v = ['small', 'large', 'layernorm', 'nope'][rnd(4)];
        parts.push(rnd(10) === 0 ? encodeURIComponent(`${k}=${v}`) : `${k}=${v}`);
      }
      if (rnd(15) === 0) parts.push('&&=&');
      const hash = parts.join('&');
      await page.evaluate((h) => { location.hash = h; }, hash);
      await page.waitForFunction(() => true);
      const state = await page.evaluate(() => ({
        status: document.documentElement.dataset.status,
        notice: !document.getElementById('notice').hidden,
        controls: document.querySelectorAll('#sections select, #sections input').length,
      }));
      assert.ok(['idle', 'running', 'done', 'error'].includes(state.status), hash);
      assert.ok(state.controls > 5, `controls rebuilt for ${hash}`);
      if (state.notice) noticed++;
    }
    t.diagnostic(`${noticed} of 200 random hashes produced a visible notice`);
    assert.ok(noticed > 100);
    // still usable afterwards: a clean link runs to the end
    await page.evaluate(() => { location.hash = 'tasks=3&autoplay=1'; });
    assert.equal(await waitStatus(page, ['done', 'error']), 'done');
    await page.close();
  });

  // Bad links, each loaded as a fresh page: [hash, what the notice must say (every pattern)].
  // The notice names the key and the allowed values; the page still builds and runs.
  const BAD_HASHES = [
    ['nonsense=1', [/unknown setting 'nonsense' ignored/, /allowed: problem, tasks, .*methods, preset/]],
    ['lrr=0.1', [/unknown setting 'lrr'/, /did you mean 'lr'\?/]],
    ['activation=swish', [/^activation: 'swish' is not one of relu, .*tanh, sigmoid/, /using relu/]],
    ['optimizer=adam', [/^optimizer: 'adam' is not one of sgd, .*adamw/]],
    ['problem=mnist', [/^problem: unknown problem 'mnist' \(allowed: .*pclusters/]],
    ['layer_norm=maybe', [/^layer_norm: 'maybe' is not true or false \(allowed: 1, true, yes, on, 0, false, no, off\)/]],
    ['lr=NaN', [/^lr: 'NaN' is not a number \(allowed: a number in \(0, \d+\]\); using 0\.1/]],
    ['lr=Infinity', [/^lr: 'Infinity' is not a number \(allowed: a number in \(0, /]],
    ['lr=-Infinity', [/^lr: '-Infinity' is not a number \(allowed: /]],
    ['tasks=1e999', [/^tasks: '1e999' is not a finite number \(allowed: a whole number in \[1, 5000\]\)/]],
    ['tasks=2.5', [/^tasks: '2\.5' is not a whole number \(allowed: a whole number in \[1, 5000\]\)/]],
    ['tasks=-5', [/^tasks: -5 is outside \[1, 5000\]; using 1$/]],
    ['batch_size=99999999', [/^batch_size: 99999999 is outside \[1, 1024\]; using 1024$/]],
    ['seed=-1', [/^seed: '-1' is not an unsigned 64-bit integer \(allowed: 0 to 18446744073709551615\)/]],
    ['hidden=100000,100000', [/^hidden: widths in \[1, 1024\]; using 1024,1024/, /1,000,000/]],
    ['hidden=1024,1024,1024,1024,1024,1024,1024,1024', [/^hidden: widths '1024(,1024){7}' on 128 inputs make a network of 7,[\d,]+ parameters, more than the page's 1,000,000/, /using 10,10,10$/]],
    ['gen_dim=4096&hidden=1024', [/^hidden: widths '1024' on 4096 inputs .* parameters/]],
    ['hidden=1,x,3', [/^hidden: '1,x,3' is not a list of widths like 100,100,100 \(allowed: up to 8 widths in \[1, 1024\]\)/]],
    ['tasks=5&tasks=7', [/^tasks: given more than once; using the last value/]],
    ['tasks=%FF%FE', [/^tasks: could not decode the value '%FF%FE' \(not UTF-8 percent-encoding\)/]],
    ['%E2%28%A1=1', [/^could not decode the key '%E2%28%A1'/]],
    ['tasks=%00%01%7F', [/^tasks: '\\u0000\\u0001\\u007f' is not a number \(allowed: a whole number in \[1, 5000\]\)/]],
    ['methods=none,magic', [/^methods: unknown method 'magic' ignored \(allowed: none, .*swr\)/]],
    ['preset=huge', [/^preset: unknown preset 'huge' ignored \(allowed: small, layernorm, large\)/]],
    ['bogus.lr=1', [/^setting 'bogus\.lr' for unknown method 'bogus' ignored \(allowed methods: none, /]],
    ['swr.swr_period=abc', [/^swr\.swr_period: 'abc' is not a number \(allowed: a whole number in \[/]],
    ['kernels=avx2', [/^'kernels' ignored: the page sets it itself/]],
  ];

  it(`refuses ${BAD_HASHES.length} bad links, each with a message naming the key and the allowed values`, async (t) => {
    const page = await browser.context.newPage();
    for (const [hash, patterns] of BAD_HASHES) {
      await page.goto('about:blank');
      await page.goto(`${site.url}#${hash}`);
      await waitReady(page);
      const shown = await page.evaluate(() => ({
        notice: !document.getElementById('notice').hidden,
        items: [...document.querySelectorAll('#notice-text li')].map((li) => li.textContent),
        status: document.documentElement.dataset.status,
        controls: document.querySelectorAll('#sections select, #sections input').length,
        canvases: document.querySelectorAll('#charts canvas').length,
        run: !document.getElementById('run').disabled,
      }));
      assert.ok(shown.notice, `${hash}: no notice shown`);
      for (const p of patterns) {
        assert.ok(shown.items.some((i) => p.test(i)), `${hash}: no notice matches ${p}; shown: ${shown.items.join(' | ')}`);
      }
      assert.equal(shown.status, 'idle', hash);
      assert.ok(shown.controls > 5 && shown.canvases > 0 && shown.run, `${hash}: the page is not usable: ${JSON.stringify(shown)}`);
    }
    t.diagnostic(`${BAD_HASHES.length} bad links refused with a specific message; e.g. ${BAD_HASHES.slice(0, 3).map(([h]) => h).join(', ')}`);
    // still usable: the last bad link's page trains a clean link to the end
    await page.evaluate(() => { location.hash = 'tasks=2&autoplay=1'; });
    assert.equal(await waitStatus(page, ['done', 'error']), 'done');
    await page.close();
  });

  for (const variant of ['plain', 'sandboxed']) {
    it(`runs embedded in an iframe on another origin (${variant})`, async (t) => {
      const page = await browser.context.newPage();
      await page.goto(`${host.url}${variant}.html`);
      const frame = page.frames().find((f) => f.url().startsWith(site.url));
      assert.ok(frame, 'the iframe loaded the page');
      assert.equal(await waitStatus(frame, ['done', 'error']), 'done', await frame.textContent('#status-text'));
      const info = await frame.evaluate(() => ({
        embed: document.documentElement.classList.contains('embed'),
        controlsShown: getComputedStyle(document.getElementById('controls')).display !== 'none',
        counts: window.plabPage.charts.counts(),
        methods: window.plabPage.state.methods.length,
        tasks: Number(window.plabPage.state.shared.tasks),
        full: document.getElementById('full-link').getAttribute('href'),
      }));
      assert.ok(info.embed);
      assert.equal(info.controlsShown, false);
      assert.deepEqual(Object.keys(info.counts), ['accuracy']);
      assert.equal(info.tasks, variant === 'plain' ? 100 : 8);
      assert.equal(Object.values(info.counts.accuracy).filter((n) => n === info.tasks).length, info.methods);
      assert.ok(!info.full.includes('embed=1'));
      t.diagnostic(`${variant}: ${info.methods} methods, ${info.tasks} tasks each`);
      if (variant === 'plain') await shot(page.locator('#f'), 'page-embed', { docs: 'embed.png' });
      await page.close();
    });
  }

  it('waits while the embed is scrolled out of view', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${host.url}offscreen.html`);
    const frame = page.frames().find((f) => f.url().startsWith(site.url));
    // workers start paused (the observer reports before they load); rAF does not run
    // out of view, so poll on a timer
    await frame.waitForFunction(() => window.plabPage?.runs
      && Object.values(window.plabPage.runs.methods).every((r) => r.state === 'paused'), null,
    { timeout: 20000, polling: 100 });
    await page.waitForTimeout(800);
    const steps = await frame.evaluate(() => Object.values(window.plabPage.runs.methods).reduce((a, r) => a + r.stepsDone, 0));
    assert.equal(steps, 0, 'no training out of view');
    assert.match(await frame.textContent('#status-text'), /out of view/);
    await page.locator('#f').scrollIntoViewIfNeeded();
    assert.equal(await waitStatus(frame, ['done', 'error']), 'done');
    await page.close();
  });

  it('labels every control and fits a phone screen', async () => {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${site.url}#tasks=4&autoplay=1`);
    assert.equal(await waitStatus(page, ['done', 'error']), 'done');
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea, button, canvas')]
      .filter((el) => {
        if (el.tagName === 'BUTTON') return !el.textContent.trim() && !el.getAttribute('aria-label');
        if (el.tagName === 'CANVAS') return !el.getAttribute('aria-labelledby');
        return !(el.labels && el.labels.length) && !el.getAttribute('aria-label');
      }).map((el) => el.id || el.outerHTML.slice(0, 60)));
    assert.deepEqual(unlabelled, []);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than a phone screen`);
    // keyboard: the first Tab reaches the skip link, which leads to the Run button
    await page.evaluate(() => document.activeElement?.blur());
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.className), 'skip');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'run');
    await page.keyboard.press('Enter');
    assert.ok(['running', 'done'].includes(await page.evaluate(() => document.documentElement.dataset.status)));
    await waitStatus(page, ['done']);
    await shot(page, 'page-phone', { fullPage: false });
    await page.close();
  });

  it('made no request beyond 127.0.0.1 and logged no console error', () => {
    const foreign = foreignRequests(browser.log, [site.url, host.url]);
    assert.deepEqual(foreign, []);
    assert.deepEqual(consoleErrors(browser.log), []);
    assert.ok(browser.log.requests.length > 10);
  });
});
