// Cold start: a fresh process (Node) or a fresh workerd (Miniflare) making its first call to the
// emulator, through this package and with a bare fetch. Alternating, median of the runs.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { startEmulator } from '../tests/emulator/index.mjs';
import { CLIENT_ID, LIMITS_PATH } from './emulators.mjs';
import { median } from './stats.mjs';

const CONSUMER_DIR = fileURLToPath(new URL('../', import.meta.url));

// An ESM package with nothing in it (made under the consumer's node_modules for the run): what
// Node's module loader costs for the first import of any package.
const EMPTY_PACKAGE = 'bench-empty-package';
const EMPTY_PACKAGE_DIR = path.join(CONSUMER_DIR, 'node_modules', EMPTY_PACKAGE);

// Each probe reads BENCH_TARGET (urls + token response) and prints its times in ms: `total` from
// its first line to the first response's body read, `sinceStart` the same end from process start.
const NODE_PROBES = {
  bare: `
    const t0 = performance.now();
    const { tokens } = JSON.parse(process.env.BENCH_TARGET);
    const res = await fetch(tokens.instance_url + '${LIMITS_PATH}', { headers: { authorization: 'Bearer ' + tokens.access_token } });
    await res.arrayBuffer();
    const t1 = performance.now();
    console.log(JSON.stringify({ status: res.status, total: t1 - t0, sinceStart: t1 }));`,
  // The host's own cost of a first import: a package with nothing in it, then a bare fetch.
  emptyPackage: `
    const t0 = performance.now();
    const { tokens } = JSON.parse(process.env.BENCH_TARGET);
    await import('${EMPTY_PACKAGE}');
    const t1 = performance.now();
    const res = await fetch(tokens.instance_url + '${LIMITS_PATH}', { headers: { authorization: 'Bearer ' + tokens.access_token } });
    await res.arrayBuffer();
    const t2 = performance.now();
    console.log(JSON.stringify({ status: res.status, total: t2 - t0, sinceStart: t2, import: t1 - t0 }));`,
  package: `
    const t0 = performance.now();
    const { loginUrl, tokens } = JSON.parse(process.env.BENCH_TARGET);
    const { SessionManager } = await import('salesforce-session');
    const t1 = performance.now();
    const sessions = new SessionManager({ clientId: '${CLIENT_ID}', loginUrl, allowInsecureLoopback: true });
    await sessions.connect('acme', tokens);
    const t2 = performance.now();
    const res = await sessions.fetch('acme', '${LIMITS_PATH}');
    await res.arrayBuffer();
    const t3 = performance.now();
    console.log(JSON.stringify({ status: res.status, total: t3 - t0, sinceStart: t3, import: t1 - t0, connect: t2 - t1, firstCall: t3 - t2 }));`,
  jsforce: `
    const t0 = performance.now();
    const { loginUrl, tokens } = JSON.parse(process.env.BENCH_TARGET);
    const { default: jsforce } = await import('jsforce');
    const t1 = performance.now();
    const oauth2 = new jsforce.OAuth2({ loginUrl, clientId: '${CLIENT_ID}', redirectUri: 'http://127.0.0.1/callback' });
    const connection = new jsforce.Connection({ oauth2, instanceUrl: tokens.instance_url, accessToken: tokens.access_token, refreshToken: tokens.refresh_token, version: '62.0' });
    await connection.request('${LIMITS_PATH}');
    const t2 = performance.now();
    console.log(JSON.stringify({ status: 200, total: t2 - t0, sinceStart: t2, import: t1 - t0, firstCall: t2 - t1 }));`,
};

/** Runs `source` as an ES module in a fresh Node process from the consumer; resolves to the JSON its last line prints. */
function nodeFigures(what, source, env = process.env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], { cwd: CONSUMER_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`${what} exited ${code}: ${err.trim().split('\n').at(-1)}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)));
      } catch (parseError) {
        reject(new Error(`${what} printed no figures: ${parseError.message}`));
      }
    });
  });
}

async function runProbe(source, target) {
  const figures = await nodeFigures('cold-start probe', source, { ...process.env, BENCH_TARGET: JSON.stringify(target) });
  if (figures.status !== 200) throw new Error(`cold-start probe got status ${figures.status}`);
  return figures;
}

/** Medians per client of each figure the probes print, and package − bare. */
export async function measureNodeColdStart(runs) {
  mkdirSync(EMPTY_PACKAGE_DIR, { recursive: true });
  writeFileSync(path.join(EMPTY_PACKAGE_DIR, 'package.json'), JSON.stringify({ name: EMPTY_PACKAGE, type: 'module', exports: { '.': { node: './index.js' } } }));
  writeFileSync(path.join(EMPTY_PACKAGE_DIR, 'index.js'), 'export {};\n');
  const emu = await startEmulator({ clientId: CLIENT_ID });
  try {
    const target = { loginUrl: emu.loginUrl, tokens: await emu.mintTokenResponse() };
    const samples = { bare: [], emptyPackage: [], package: [], jsforce: [] };
    for (let run = 0; run < runs; run++) {
      for (const name of Object.keys(samples)) samples[name].push(await runProbe(NODE_PROBES[name], target));
    }
    const medians = Object.fromEntries(Object.entries(samples).map(([name, list]) => [
      name,
      Object.fromEntries(Object.keys(list[0]).filter((k) => k !== 'status').map((k) => [k, median(list.map((s) => s[k]))])),
    ]));
    return {
      ...medians,
      packageMinusBareMs: medians.package.total - medians.bare.total,
      jsforceMinusBareMs: medians.jsforce.total - medians.bare.total,
      packageMinusEmptyPackageMs: medians.package.total - medians.emptyPackage.total,
      jsforceMinusEmptyPackageMs: medians.jsforce.total - medians.emptyPackage.total,
    };
  } finally {
    await emu.close();
    rmSync(EMPTY_PACKAGE_DIR, { recursive: true, force: true });
  }
}

// Two workers, the same apart from the package: one makes its first call through it, one with
// a bare fetch. The package's workerd entry is loaded as the bundle would load it (wasm as a
// compiled module), straight from node_modules; Miniflare's `ready` includes compiling it.
const WORKERS = {
  bare: `export default {
  async fetch(request) {
    const { tokens } = await request.json();
    const res = await fetch(tokens.instance_url + '${LIMITS_PATH}', { headers: { authorization: 'Bearer ' + tokens.access_token } });
    await res.arrayBuffer();
    return new Response(String(res.status));
  },
};
`,
  package: `import { SessionManager } from '../node_modules/salesforce-session/workerd.js';
export default {
  async fetch(request) {
    const { loginUrl, tokens } = await request.json();
    const sessions = new SessionManager({ clientId: '${CLIENT_ID}', loginUrl, allowInsecureLoopback: true });
    await sessions.connect('acme', tokens);
    const res = await sessions.fetch('acme', '${LIMITS_PATH}');
    await res.arrayBuffer();
    return new Response(String(res.status));
  },
};
`,
};

async function workerdOnce(Miniflare, dir, name, target) {
  const started = performance.now();
  const mf = new Miniflare({
    modules: true,
    modulesRoot: CONSUMER_DIR,
    scriptPath: path.join(dir, `${name}.mjs`),
    modulesRules: [{ type: 'ESModule', include: ['**/*.js', '**/*.mjs'] }, { type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: '2026-04-01',
    cf: false,
    host: '127.0.0.1',
    port: 0,
  });
  try {
    await mf.ready;
    const ready = performance.now();
    const res = await mf.dispatchFetch('http://worker.test/', { method: 'POST', body: JSON.stringify(target) });
    const status = await res.text();
    if (status !== '200') throw new Error(`workerd cold-start worker answered ${status}`);
    const done = performance.now();
    return { readyMs: ready - started, firstCallMs: done - ready, totalMs: done - started };
  } finally {
    await mf.dispose();
  }
}

/** Miniflare start + first call, per worker; null with a reason when it is not cheap here. */
export async function measureWorkerdColdStart(runs, budgetMs) {
  let Miniflare;
  try {
    ({ Miniflare } = await import('miniflare'));
  } catch (err) {
    return { skipped: `miniflare cannot be loaded (${err.message})` };
  }
  process.env.WRANGLER_SEND_METRICS = 'false';
  process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';
  const dir = path.join(CONSUMER_DIR, '.bench-workerd');
  mkdirSync(dir, { recursive: true });
  for (const [name, source] of Object.entries(WORKERS)) writeFileSync(path.join(dir, `${name}.mjs`), source);
  const emu = await startEmulator({ clientId: CLIENT_ID });
  const began = performance.now();
  try {
    const samples = { bare: [], package: [] };
    for (let run = 0; run < runs; run++) {
      for (const name of Object.keys(samples)) {
        samples[name].push(await workerdOnce(Miniflare, dir, name, { loginUrl: emu.loginUrl, tokens: await emu.mintTokenResponse() }));
      }
      const spent = performance.now() - began;
      if (run === 0 && spent * runs > budgetMs) {
        return { skipped: `one round took ${Math.round(spent)} ms; ${runs} would exceed ${Math.round(budgetMs / 1000)} s` };
      }
    }
    const medians = Object.fromEntries(Object.entries(samples).map(([name, list]) => [
      name, Object.fromEntries(Object.keys(list[0]).map((k) => [k, median(list.map((s) => s[k]))])),
    ]));
    return { ...medians, packageMinusBareMs: medians.package.totalMs - medians.bare.totalMs };
  } finally {
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * measureWorkerdColdStart in a process of its own: Miniflare then starts with nothing else the
 * bench did before (its heap, its timers, its child processes winding down) in the way.
 */
export function measureWorkerdColdStartFresh(runs, budgetMs) {
  const source = `
    const { measureWorkerdColdStart } = await import(${JSON.stringify(import.meta.url)});
    console.log(JSON.stringify(await measureWorkerdColdStart(${Number(runs)}, ${Number(budgetMs)})));`;
  return nodeFigures('workerd cold-start process', source);
}
