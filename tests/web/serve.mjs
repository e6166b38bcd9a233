// serve.mjs: a small static file server for the built page, bound to 127.0.0.1 only.
//   node tests/web/serve.mjs [dir=web/dist] [port=8000]
// Also imported by the browser tests (serve(dir, port) resolves to { server, url, close }).
// It serves files under dir only (no directory listing, no path escapes), with the MIME types
// the page needs (application/wasm for streaming compilation, text/javascript for modules).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.md': 'text/plain; charset=utf-8',
  '.ico': 'image/x-icon',
};

/**
 * Serves dir on 127.0.0.1:port (0 = any free port). `routes` maps extra URL paths to
 * { type, body } (the tests' iframe host pages). `log` receives every request path. `headers`
 * are added to every file response (e.g. a Content-Security-Policy, as a host that can set
 * headers would send it).
 */
export function serve(dir, port = 0, { routes = {}, log = null, headers = {} } = {}) {
  const base = path.resolve(dir);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (log) log(url.pathname);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    const route = routes[url.pathname];
    if (route) {
      res.writeHead(200, { 'Content-Type': route.type || TYPES['.html'], 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : route.body);
      return;
    }
    let rel;
    try {
      rel = decodeURIComponent(url.pathname);
    } catch {
      res.writeHead(400).end('bad path');
      return;
    }
    if (rel.endsWith('/')) rel += 'index.html';
    const file = path.resolve(base, `.${rel}`);
    if (file !== base && !file.startsWith(base + path.sep)) {
      res.writeHead(403).end('forbidden');
      return;
    }
    fs.stat(file, (err, st) => {
      if (err || !st.isFile()) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
        return;
      }
      res.writeHead(200, {
        'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream',
        'Content-Length': st.size,
        'Cache-Control': 'no-cache',
        'X-Content-Type-Options': 'nosniff',
        ...headers,
      });
      if (req.method === 'HEAD') res.end();
      else fs.createReadStream(file).pipe(res);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: p } = server.address();
      resolve({
        server,
        port: p,
        url: `http://127.0.0.1:${p}/`,
        close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
      });
    });
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] || 'web/dist';
  const port = Number(process.argv[3] || 8000);
  if (!fs.existsSync(path.join(dir, 'index.html'))) {
    console.error(`serve: ${dir}/index.html not found; build the page with scripts/build-web.sh`);
    process.exit(2);
  }
  const s = await serve(dir, port);
  console.log(`serving ${path.resolve(dir)} at ${s.url} (Ctrl-C stops)`);
}
