// What the browser suites share: Debian's Chromium driven by playwright-core with a fresh profile per
// run, a static server on loopback for the packed package and the test pages, and the package's root.
import http from 'node:http';
import { createReadStream, mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
/** Bounds every single browser operation (launch, navigation, evaluate waits). */
export const BROWSER_STEP_TIMEOUT_MS = 30_000;

const require = createRequire(import.meta.url);
/** The installed (packed) package: its folder and its manifest. */
export const packageRoot = path.dirname(require.resolve('salesforce-session/package.json'));
export const packageManifest = JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8'));

/**
 * A persistent context in a fresh user-data-dir, closed (and the dir removed) when the test ends.
 * `extraArgs` e.g. load an extension.
 */
export async function launchChromium(t, extraArgs = []) {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'sfs-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...ARGS, ...extraArgs],
    timeout: BROWSER_STEP_TIMEOUT_MS,
  });
  context.setDefaultTimeout(BROWSER_STEP_TIMEOUT_MS);
  t.after(async () => {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  });
  return context;
}

/** Rejects when `promise` has not settled within `ms` (page.evaluate has no timeout of its own). */
export function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.ts': 'text/plain; charset=utf-8',
};

/**
 * A static server on 127.0.0.1: `mounts` maps URL prefixes ('/', '/node_modules/salesforce-session/')
 * to folders; the longest prefix wins. Records every path served. Closed when the test ends.
 */
export async function startStaticServer(t, mounts) {
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const served = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://static.invalid');
    const prefix = prefixes.find((p) => url.pathname.startsWith(p));
    const root = prefix && path.resolve(mounts[prefix]);
    let file = root && path.resolve(root, decodeURIComponent(url.pathname.slice(prefix.length)) || 'index.html');
    if (file && statSync(file, { throwIfNoEntry: false })?.isDirectory()) file = path.join(file, 'index.html');
    const stat = file && statSync(file, { throwIfNoEntry: false });
    if (req.method !== 'GET' || !root || !file.startsWith(root + path.sep) || !stat?.isFile()) {
      res.writeHead(req.method === 'GET' ? 404 : 405, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    served.push(url.pathname);
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-length': stat.size,
      'cache-control': 'no-store',
    });
    createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  }));
  return { origin: `http://127.0.0.1:${server.address().port}`, served };
}
