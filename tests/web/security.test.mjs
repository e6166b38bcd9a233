// security.test.mjs: the page's Content-Security-Policy, its requests and its messages, in
// headless Chromium.
//   node tests/web/security.test.mjs [--dist web/dist]        (after scripts/build-web.sh)
// It serves web/dist on 127.0.0.1 and a "blog post" that embeds the page in an <iframe> on a
// second local origin, and checks:
//   - the served index.html: the expected CSP <meta>, no inline <script> content, no on*
//     attribute, no style attribute, no javascript: URL; the page's modules use no eval,
//     new Function, innerHTML or document.write;
//   - the page alone and embedded: it trains with zero CSP violations (a securitypolicyviolation
//     listener in every frame, and in every worker through CDP; console messages naming the
//     Content Security Policy), and every request (context-level, workers included, and what
//     both local servers saw) goes to the two local origins;
//   - the listener works (a test that cannot fail is a defect): an eval() in the page is
//     refused and reported as a violation, and so is an inline <script> added to the DOM;
//   - messages: the page listens to no window 'message' event and posts nothing to the blog
//     that embeds it; a message the blog posts into the frame changes nothing. Its only
//     messages go to its own same-origin dedicated workers (not cross-origin).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { cdpWithWorkers, consoleErrors, foreignRequests, launch } from './browser.mjs';
import { arg, root } from './lib.mjs';
import { serve } from './serve.mjs';

const dist = path.resolve(root, arg('dist', 'web/dist'));
export const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:";

// In every frame, before the page's scripts: record CSP violations and every 'message' listener
// the page adds to its window.
function instrument() {
  window.__plab = { violations: [], messageListeners: 0, received: [] };
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__plab.violations.push(`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
  });
  const add = EventTarget.prototype.addEventListener;
  EventTarget.prototype.addEventListener = function patched(type, ...rest) {
    if (this === window && type === 'message') window.__plab.messageListeners++;
    return add.call(this, type, ...rest);
  };
  const desc = Object.getOwnPropertyDescriptor(window, 'onmessage')
    || Object.getOwnPropertyDescriptor(Object.getPrototypeOf(window), 'onmessage');
  if (desc?.set) {
    Object.defineProperty(window, 'onmessage', {
      configurable: true,
      get: desc.get,
      set(v) {
        window.__plab.messageListeners++;
        desc.set.call(window, v);
      },
    });
  }
}

// In every worker: the same violation listener, added over CDP as soon as the worker attaches.
// (A dedicated worker loaded from an http(s) URL does not inherit the page's policy: it gets the
// policy of its own response's headers. A <meta> policy therefore covers the page only; with a
// Content-Security-Policy header, as a host that can set headers sends it, the workers are under
// the policy too. Both deployments are tested.)
const WORKER_LISTENER = `self.__plabViolations ||= [];
self.addEventListener('securitypolicyviolation', (e) => self.__plabViolations.push(e.effectiveDirective + ' ' + e.blockedURI));
'ok'`;

describe('the page\'s security policy', { concurrency: false }, () => {
  let site;
  let host;
  let strict; // the same site, also sending the policy as an HTTP header
  let browser;
  const served = []; // every path either local server answered

  before(async () => {
    assert.ok(fs.existsSync(path.join(dist, 'index.html')), `${dist} is not built: run scripts/build-web.sh`);
    site = await serve(dist, 0, { log: (p) => served.push(`site ${p}`) });
    const blog = `<!doctype html><html><head><meta charset="utf-8"><title>a blog post</title>
<link rel="icon" href="data:,"></head><body><h1>A blog post that embeds plab</h1>
<iframe id="f" src="${site.url}#tasks=3&embed=1&autoplay=1" title="plab" width="760" height="520"></iframe>
<script>
window.fromFrame = [];
window.addEventListener('message', (e) => window.fromFrame.push({ origin: e.origin, data: String(e.data) }));
</script></body></html>`;
    host = await serve(dist, 0, { routes: { '/blog.html': { body: blog } }, log: (p) => served.push(`host ${p}`) });
    strict = await serve(dist, 0, { headers: { 'Content-Security-Policy': CSP }, log: (p) => served.push(`strict ${p}`) });
    browser = await launch();
    await browser.context.addInitScript(instrument);
  });

  after(async () => {
    await browser?.close();
    await site?.close();
    await host?.close();
    await strict?.close();
  });

  it('serves an index.html with the policy, no inline script, handler or style', async () => {
    const html = await (await fetch(site.url)).text();
    const meta = html.match(/<meta http-equiv="Content-Security-Policy" content="([^"]*)">/);
    assert.ok(meta, 'a CSP <meta>');
    assert.equal(meta[1], CSP);
    assert.ok(html.indexOf(meta[0]) < html.indexOf('<script'), 'the policy comes before every script');
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    assert.ok(scripts.length >= 2);
    for (const [, attrs, body] of scripts) {
      assert.match(attrs, /\bsrc="[^":]+"/, `a local src: <script${attrs}>`);
      assert.equal(body.trim(), '', `no inline script: <script${attrs}>`);
    }
    const tags = [...html.matchAll(/<[a-z][^>]*>/gi)].map((m) => m[0]);
    assert.deepEqual(tags.filter((t) => /\son[a-z]+\s*=/i.test(t)), [], 'no on* handler attribute');
    assert.deepEqual(tags.filter((t) => /\sstyle\s*=/i.test(t)), [], 'no style attribute');
    assert.deepEqual(tags.filter((t) => /javascript:/i.test(t)), [], 'no javascript: URL');
    assert.doesNotMatch(html, /<style\b/i, 'no inline <style>');
    // what a page could load from elsewhere: only <a> links leave the origin (navigations)
    const external = tags.filter((t) => /\b(src|href)="(https?:)?\/\//i.test(t) && !/^<a\s/i.test(t));
    assert.deepEqual(external, [], 'no third-party resource');
    for (const f of fs.readdirSync(dist).filter((x) => x.endsWith('.js'))) {
      const js = fs.readFileSync(path.join(dist, f), 'utf8');
      assert.doesNotMatch(js, /\beval\(|new Function\(|\.innerHTML\b|\.outerHTML\s*=|insertAdjacentHTML|document\.write/, f);
    }
    for (const f of ['wasm/plab-simd.mjs', 'wasm/plab-scalar.mjs', 'vendor/chart.umd.min.js']) {
      assert.doesNotMatch(fs.readFileSync(path.join(dist, f), 'utf8'), /\beval\(|new Function\(/, f);
    }
    const css = fs.readFileSync(path.join(dist, 'style.css'), 'utf8');
    assert.doesNotMatch(css, /@import|url\(\s*['"]?(https?:)?\/\//i, 'style.css loads nothing from elsewhere');
  });

  /** Opens url, adds the listener to each worker, waits for `done` in the page's frame. */
  async function trainIn(url, t, origin = site.url) {
    const page = await browser.context.newPage();
    const { workers, toWorker } = await cdpWithWorkers(browser.context, page);
    const hooked = new Set();
    const hookWorkers = async () => {
      for (const s of workers.keys()) {
        if (hooked.has(s)) continue;
        hooked.add(s);
        await toWorker(s, 'Runtime.evaluate', { expression: WORKER_LISTENER });
      }
    };
    const timer = setInterval(() => { hookWorkers().catch(() => {}); }, 20);
    await page.goto(url);
    const frame = () => page.frames().find((f) => f.url().startsWith(origin));
    await page.waitForFunction(() => true);
    const f = frame();
    assert.ok(f, 'the page loaded');
    await f.waitForFunction(() => ['done', 'error'].includes(document.documentElement.dataset.status), null,
      { timeout: 120000, polling: 100 });
    clearInterval(timer);
    await hookWorkers();
    assert.equal(await f.evaluate(() => document.documentElement.dataset.status), 'done',
      await f.textContent('#status-text'));
    const methods = await f.evaluate(() => Object.keys(window.plabPage.runs.methods).length);
    const violations = await f.evaluate(() => window.__plab.violations);
    let workerViolations = [];
    for (const s of workers.keys()) {
      const r = await toWorker(s, 'Runtime.evaluate', { expression: 'JSON.stringify(self.__plabViolations || [])', returnByValue: true });
      if (r?.result?.value) workerViolations = workerViolations.concat(JSON.parse(r.result.value));
    }
    // is a worker under the policy? eval() there is refused only if it is
    const [first] = workers.keys();
    const probe = first && await toWorker(first, 'Runtime.evaluate', {
      expression: `(async () => { let r; try { eval('1'); r = 'allowed'; } catch { r = 'refused'; }
        await new Promise((res) => setTimeout(res, 100)); return r + ' ' + self.__plabViolations.length; })()`,
      awaitPromise: true, returnByValue: true, allowUnsafeEvalBlockedByCSP: false });
    const [workerEval, reported] = (probe?.result?.value || 'unknown 0').split(' ');
    t.diagnostic(`${url}: ${methods} methods trained; ${hooked.size} workers watched; violations: page ${violations.length}, workers ${workerViolations.length}; eval in a worker: ${workerEval}`);
    assert.ok(hooked.size >= 1, 'the workers were reached over CDP');
    return { page, frame: f, violations, workerViolations, methods, workerEval, workerReported: Number(reported) };
  }

  it('trains on its own with zero CSP violations', async (t) => {
    const { page, frame, violations, workerViolations } = await trainIn(`${site.url}#tasks=4&autoplay=1`, t);
    assert.deepEqual(violations, []);
    assert.deepEqual(workerViolations, []);
    // the listener works: code from a string and an inline script are refused and reported
    // (from a timer: the test's own evaluation is exempt from the page's policy)
    const probe = await frame.evaluate(async () => {
      window.__plabRan = [];
      setTimeout('window.__plabRan.push("string")', 0); // eslint-disable-line no-implied-eval
      const s = document.createElement('script');
      s.textContent = 'window.__plabRan.push("inline");';
      document.body.append(s);
      s.remove();
      await new Promise((r) => setTimeout(r, 200));
      return { ran: window.__plabRan, violations: window.__plab.violations };
    });
    assert.deepEqual(probe.ran, [], 'neither a string of code nor an inline script ran');
    assert.equal(probe.violations.length, 2, `the two refusals were reported: ${probe.violations.join('; ')}`);
    // the page still works after the refusals
    await frame.evaluate(() => { window.__plab.violations.length = 0; });
    await page.close();
  });

  it('trains embedded in a blog post on another origin with zero violations, and ignores its messages', async (t) => {
    const { page, frame, violations, workerViolations } = await trainIn(`${host.url}blog.html`, t);
    assert.deepEqual(violations, []);
    assert.deepEqual(workerViolations, []);
    const info = await frame.evaluate(() => ({
      embed: document.documentElement.classList.contains('embed'),
      listeners: window.__plab.messageListeners,
    }));
    assert.ok(info.embed, 'embed mode');
    assert.equal(info.listeners, 0, 'the page listens to no window message');
    // a message from the blog (any origin could send one) changes nothing
    const before = await frame.evaluate(() => ({ status: document.documentElement.dataset.status, hash: location.hash }));
    await page.evaluate(() => {
      const w = document.getElementById('f').contentWindow;
      for (const data of [{ type: 'start' }, { type: 'task' }, 'reset', { hash: 'tasks=1' }]) w.postMessage(data, '*');
    });
    await page.waitForTimeout(300);
    const after = await frame.evaluate(() => ({ status: document.documentElement.dataset.status, hash: location.hash }));
    assert.deepEqual(after, before);
    assert.deepEqual(await page.evaluate(() => window.fromFrame), [], 'the page posts nothing to its embedder');
    await page.close();
  });

  it('trains with the policy also sent as a header, its workers under it, with zero violations', async (t) => {
    const { page, violations, workerViolations, workerEval, workerReported } = await trainIn(`${strict.url}#tasks=3&autoplay=1`, t, strict.url);
    assert.deepEqual(violations, []);
    assert.deepEqual(workerViolations, []);
    // the control: the worker is under the policy, and its listener reports a refusal
    assert.equal(workerEval, 'refused', 'eval in a worker is refused under the header policy');
    assert.equal(workerReported, 1, 'the worker reported the refused eval');
    await page.close();
  });

  it('made every request to the two local origins and logged no CSP message', (t) => {
    const foreign = foreignRequests(browser.log, [site.url, host.url, strict.url]);
    const origins = new Set(browser.log.requests.map((u) => (/^(data|blob):/.test(u) ? u.slice(0, 5) : new URL(u).origin)));
    t.diagnostic(`${browser.log.requests.length} requests seen by the browser context, ${served.length} answered by the local servers; origins: ${[...origins].join(', ')}`);
    assert.deepEqual(foreign, []);
    assert.ok(browser.log.requests.length > 10);
    // the workers' own requests reached the server too (each worker imports engine.js)
    assert.ok(served.filter((p) => p === 'site /worker.js').length >= 2, 'worker scripts were requested');
    assert.ok(served.some((p) => p.startsWith('site /wasm/')), 'the wasm engine was requested');
    const csp = browser.log.console.filter((m) => /Content.Security.Policy|Refused to/i.test(m.text));
    // the deliberate refusals of the controls above (two in the page, one in a worker when the
    // console reports it), and nothing else
    assert.ok(csp.length >= 2 && csp.length <= 3, csp.map((m) => m.text).join('\n'));
    const errors = consoleErrors(browser.log).filter((e) => !/Content.Security.Policy|Refused to/i.test(e));
    assert.deepEqual(errors, []);
  });
});
