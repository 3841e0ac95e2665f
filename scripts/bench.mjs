// Measures the figures MISSION.md sets targets for and prints them (it asserts nothing:
// the tests assert behaviour). Runs against the packed package from .scratch/consumer/.
//   node bench.mjs            all figures
//   BENCH_QUICK=1 node ...    fewer iterations
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { spawn, spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { SessionManager, MemoryStore } from 'salesforce-session';
import { startEmulator } from './tests/emulator/index.mjs';

const QUICK = process.env.BENCH_QUICK === '1';
const ITERATIONS = QUICK ? 2000 : 20000;

const ISSUED = Date.now();
function tokenResponse(instanceUrl, n = 0) {
  return {
    access_token: `00D000000000001!bench-access-${n}`,
    refresh_token: `5Aep-bench-${n}`,
    instance_url: instanceUrl,
    id: 'https://login.salesforce.com/id/00D000000000001AAA/005000000000001AAA',
    token_type: 'Bearer',
    issued_at: String(ISSUED),
  };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const fmt = (n, digits = 1) => n.toFixed(digits);

/** A loopback HTTP server in its own process, so that client and server do not share one event loop. */
async function startLoopbackServer() {
  const code = `
    const http = require('node:http');
    const body = JSON.stringify({ totalSize: 1, done: true, records: [{ Id: '001000000000001AAA' }] });
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    });
    server.keepAliveTimeout = 60000;
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    child.once('exit', (c) => reject(new Error(`loopback server exited with ${c}`)));
  });
  return { stop: () => child.kill(), url: `http://127.0.0.1:${port}` };
}

/** Per-call cost of the library alone: a fetch that answers at once, no network. */
async function libraryOverhead() {
  const canned = () => Promise.resolve(new Response('{}', { status: 200 }));
  const sessions = new SessionManager({ clientId: 'bench', loginUrl: 'http://127.0.0.1:1', allowInsecureLoopback: true, fetch: canned });
  await sessions.connect('acme', tokenResponse('http://127.0.0.1:2'));
  const path = '/services/data/v62.0/query?q=SELECT+Id+FROM+Account';
  for (let i = 0; i < 2000; i++) await sessions.fetch('acme', path);
  const bare = [];
  const lib = [];
  for (let i = 0; i < ITERATIONS; i++) {
    let t = performance.now();
    await canned('http://127.0.0.1:2' + path, {});
    bare.push(performance.now() - t);
    t = performance.now();
    await sessions.fetch('acme', path);
    lib.push(performance.now() - t);
  }
  return { bare: median(bare) * 1000, lib: median(lib) * 1000 };
}

/** Median latency of sequential calls over loopback HTTP, bare fetch and through the library, interleaved. */
async function loopbackLatency(base) {
  const sessions = new SessionManager({ clientId: 'bench', loginUrl: base, allowInsecureLoopback: true });
  await sessions.connect('acme', tokenResponse(base));
  const path = '/services/data/v62.0/query?q=SELECT+Id+FROM+Account';
  const bareCall = async () => (await fetch(base + path, { headers: { authorization: 'Bearer x' } })).arrayBuffer();
  const libCall = async () => (await sessions.fetch('acme', path)).arrayBuffer();
  for (let i = 0; i < 500; i++) {
    await bareCall();
    await libCall();
  }
  const n = QUICK ? 1000 : 5000;
  const bare = [];
  const lib = [];
  for (let i = 0; i < n; i++) {
    let t = performance.now();
    await bareCall();
    bare.push(performance.now() - t);
    t = performance.now();
    await libCall();
    lib.push(performance.now() - t);
  }
  return { sessions, bareCall, libCall, bare: median(bare) * 1000, lib: median(lib) * 1000 };
}

async function throughput(call, concurrency, seconds) {
  let done = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        await call();
        done++;
      }
    }),
  );
  return done / seconds;
}

async function tokenRequestsForConcurrentCalls() {
  const emu = await startEmulator({ clientId: 'test-client' });
  try {
    const sessions = new SessionManager({ clientId: 'test-client', loginUrl: emu.loginUrl, allowInsecureLoopback: true, now: () => emu.now() });
    await sessions.connect('acme', await emu.mintTokenResponse());
    emu.expireAllSessions();
    const before = emu.tokenRequests().length;
    const results = await Promise.all(Array.from({ length: 1000 }, () => sessions.fetch('acme', '/services/data/v62.0/limits').then((r) => r.status)));
    return { tokenRequests: emu.tokenRequests().length - before, ok: results.filter((s) => s === 200).length };
  } finally {
    await emu.close();
  }
}

async function memoryForConnections(count) {
  const canned = () => Promise.resolve(new Response('{}', { status: 200 }));
  global.gc?.();
  const before = process.memoryUsage();
  const sessions = new SessionManager({ clientId: 'bench', loginUrl: 'http://127.0.0.1:1', allowInsecureLoopback: true, fetch: canned, store: new MemoryStore() });
  for (let i = 0; i < count; i++) {
    await sessions.connect(`conn-${i}`, tokenResponse(`https://org${i}.my.salesforce.com`, i));
  }
  global.gc?.();
  const after = process.memoryUsage();
  return { heap: (after.heapUsed - before.heapUsed) / 2 ** 20, rss: (after.rss - before.rss) / 2 ** 20, external: (after.arrayBuffers - before.arrayBuffers) / 2 ** 20 };
}

/** In a fresh process: import + wasm instantiation, then connect + first call. Node loads its own
 *  fetch classes (Response, Headers) lazily on first use; that is paid before the clock starts. */
function startupTime() {
  const script = `
    new Headers(); new Response('');
    const t0 = performance.now();
    const { SessionManager } = await import('salesforce-session');
    const t1 = performance.now();
    const sessions = new SessionManager({ clientId: 'bench', loginUrl: 'http://127.0.0.1:1', allowInsecureLoopback: true, fetch: async () => new Response('{}') });
    await sessions.connect('acme', ${JSON.stringify(tokenResponse('http://127.0.0.1:2'))});
    await sessions.fetch('acme', '/services/data/v62.0/limits');
    console.log(JSON.stringify([t1 - t0, performance.now() - t1]));`;
  const loads = [];
  const firsts = [];
  for (let i = 0; i < 5; i++) {
    // From the consumer's folder, where the installed package resolves.
    const cwd = path.dirname(fileURLToPath(import.meta.url));
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd, encoding: 'utf8' });
    if (out.status !== 0) throw new Error(`startup probe failed: ${out.stderr.trim()}`);
    const [load, first] = JSON.parse(out.stdout.trim());
    loads.push(load);
    firsts.push(first);
  }
  return { load: median(loads), first: median(firsts) };
}

const require = createRequire(import.meta.url);
const wasmPath = require.resolve('salesforce-session/package.json').replace(/package\.json$/, 'salesforce_session_bg.wasm');
const wasm = readFileSync(wasmPath);

console.log('salesforce-session benchmarks (figures only; targets from MISSION.md in brackets)\n');
console.log(`wasm size: ${wasm.length} bytes raw, ${gzipSync(wasm, { level: 9 }).length} bytes gzipped [<= 98304 gzipped]`);
const startup = startupTime();
console.log(`instantiation + first call (fresh process, median of 5): ${fmt(startup.load + startup.first)} ms = import and instantiate ${fmt(startup.load)} ms + connect and first call ${fmt(startup.first)} ms [< 15 ms]`);

const over = await libraryOverhead();
console.log(`library cost per call, canned fetch, median of ${ITERATIONS}: ${fmt(over.lib - over.bare, 2)} µs (bare ${fmt(over.bare, 2)} µs, library ${fmt(over.lib, 2)} µs)`);

const server = await startLoopbackServer();
try {
  const lat = await loopbackLatency(server.url);
  console.log(`loopback HTTP, median latency: bare fetch ${fmt(lat.bare)} µs, library ${fmt(lat.lib)} µs, overhead ${fmt(lat.lib - lat.bare)} µs [< 15 µs]`);
  const seconds = QUICK ? 0.5 : 1.5;
  const rounds = QUICK ? 3 : 5;
  for (const c of [1, 64]) {
    // Alternating rounds, so that neither side gains from running later; the median ratio is the figure.
    await throughput(lat.bareCall, c, seconds / 2);
    await throughput(lat.libCall, c, seconds / 2);
    const bare = [];
    const lib = [];
    const ratios = [];
    for (let r = 0; r < rounds; r++) {
      bare.push(await throughput(lat.bareCall, c, seconds));
      lib.push(await throughput(lat.libCall, c, seconds));
      ratios.push(lib.at(-1) / bare.at(-1));
    }
    console.log(`throughput at concurrency ${c} (median of ${rounds} rounds): bare ${fmt(median(bare), 0)}/s, library ${fmt(median(lib), 0)}/s, ratio ${fmt(median(ratios), 3)} [>= 0.95]`);
  }
} finally {
  server.stop();
}

const flight = await tokenRequestsForConcurrentCalls();
console.log(`1,000 concurrent calls on an expired session: ${flight.tokenRequests} token request(s), ${flight.ok} succeeded [exactly 1]`);

const mem = await memoryForConnections(10_000);
console.log(`10,000 connections in one instance: JS heap +${fmt(mem.heap)} MiB, array buffers (wasm memory) +${fmt(mem.external)} MiB, rss +${fmt(mem.rss)} MiB [< 20 MiB]`);
