// browser.mjs: headless Chromium for the page tests (Debian's /usr/bin/chromium driven by
// playwright-core; no browser download). Every request the pages make is recorded so a test
// can check that nothing leaves 127.0.0.1.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.PLAB_CHROMIUM || '/usr/bin/chromium';

export async function launch({ viewport = { width: 1280, height: 900 } } = {}) {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: apt-get install chromium (or set PLAB_CHROMIUM)`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plab-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    acceptDownloads: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
      '--disable-dev-shm-usage'],
  });
  const log = { requests: [], console: [], errors: [] };
  context.on('request', (r) => log.requests.push(r.url()));
  context.on('response', (r) => { if (r.status() >= 400) log.errors.push(`HTTP ${r.status()} for ${r.url()}`); });
  const watch = (page) => {
    page.on('console', (m) => log.console.push({ type: m.type(), text: m.text(), url: page.url() }));
    page.on('pageerror', (e) => log.errors.push(`${page.url()}: ${e.message}`));
  };
  context.on('page', watch);
  for (const p of context.pages()) watch(p);
  return {
    context,
    log,
    async close() {
      await context.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Requests that went anywhere but the given local origins (data: and blob: are local). */
export function foreignRequests(log, origins) {
  return log.requests.filter((u) => !u.startsWith('data:') && !u.startsWith('blob:')
    && !origins.some((o) => u.startsWith(o)));
}

/** Console messages of type error (CSP violations, failed loads, uncaught errors). */
export function consoleErrors(log) {
  return log.console.filter((m) => m.type === 'error').map((m) => m.text).concat(log.errors);
}

/**
 * A CDP session on `page` that also reaches the page's dedicated workers (Playwright's CDP
 * sessions are per page): workers attach through Target.setAutoAttach and take commands through
 * the non-flattened Target.sendMessageToTarget. Returns { cdp, workers: Map(sessionId -> url),
 * toWorker(sessionId, method, params) -> result or null (error or 10 s timeout) }.
 */
export async function cdpWithWorkers(context, page) {
  const cdp = await context.newCDPSession(page);
  const workers = new Map();
  const pending = new Map();
  let next = 1;
  cdp.on('Target.attachedToTarget', (e) => {
    if (e.targetInfo.type === 'worker') workers.set(e.sessionId, e.targetInfo.url);
  });
  cdp.on('Target.detachedFromTarget', (e) => workers.delete(e.sessionId));
  cdp.on('Target.receivedMessageFromTarget', (e) => {
    const msg = JSON.parse(e.message);
    const done = pending.get(msg.id);
    if (done) {
      pending.delete(msg.id);
      done(msg);
    }
  });
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
  const toWorker = async (sessionId, method, params = {}) => {
    const id = next++;
    const reply = new Promise((resolve) => {
      pending.set(id, resolve);
      setTimeout(() => {
        if (pending.delete(id)) resolve(null);
      }, 10000);
    });
    await cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) });
    const msg = await reply;
    return msg?.result ?? null;
  };
  return { cdp, workers, toWorker };
}
