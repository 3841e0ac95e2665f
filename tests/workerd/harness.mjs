// The workerd suite's harness: builds the test worker as a user deploys it (wrangler deploy
// --dry-run against the consumer's installed package, once per test run), runs the bundle in
// Miniflare's real workerd next to an emulator on loopback, and talks to its test endpoints.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
import { startEmulator } from '../emulator/index.mjs';

export const API = '/services/data/v62.0';
export const LIMITS = `${API}/limits`;
export const COMPATIBILITY_DATE = '2026-04-01';
/** The workers' encryption keys for the 'kv-enc' and 'kv-enc-wrong' stores (32 random bytes each, per run). */
export const ENCRYPTION_KEY = randomBytes(32);
export const WRONG_ENCRYPTION_KEY = randomBytes(32);

const require = createRequire(import.meta.url);
const WORKER_DIR = fileURLToPath(new URL('./worker/', import.meta.url));
// The consumer that holds the packed package (tests/ is copied into it by scripts/pack.sh).
const CONSUMER_DIR = fileURLToPath(new URL('../../', import.meta.url));
const PACKAGE_DIR = join(CONSUMER_DIR, 'node_modules', 'salesforce-session');
// Everything wrangler writes (bundles, its config, its logs) stays inside the consumer.
const SCRATCH_DIR = join(CONSUMER_DIR, '.workerd');
const BUILD_TIMEOUT_MS = 120_000;

const WRANGLER_ENV = {
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  XDG_CONFIG_HOME: join(SCRATCH_DIR, 'config'),
  WRANGLER_LOG_PATH: join(SCRATCH_DIR, 'logs'),
};

function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === '.wrangler' ? [] : filesUnder(path);
    return [path];
  });
}

/** A digest of what the bundle is built from: the worker's files and the installed package. */
function inputsDigest() {
  const hash = createHash('sha256');
  for (const file of [...filesUnder(WORKER_DIR), ...filesUnder(PACKAGE_DIR)].sort()) {
    hash.update(relative(CONSUMER_DIR, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

function run(command, args, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), BUILD_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} exited ${code ?? signal}:\n${output}`));
    });
  });
}

let bundlePromise = null;

/**
 * The bundle directory (index.js and the .wasm module wrangler emitted). Built once per test run:
 * a later test file of the run finds the same inputs' bundle on disk.
 */
export function workerBundle() {
  bundlePromise ??= (async () => {
    const outDir = join(SCRATCH_DIR, 'bundle', inputsDigest());
    if (existsSync(join(outDir, 'index.js'))) return outDir;
    const building = `${outDir}.building-${process.pid}`;
    rmSync(building, { recursive: true, force: true });
    mkdirSync(SCRATCH_DIR, { recursive: true });
    const wrangler = join(dirname(require.resolve('wrangler/package.json')), 'bin', 'wrangler.js');
    await run(process.execPath, [wrangler, 'deploy', '--dry-run', '--outdir', building, '--config', join(WORKER_DIR, 'wrangler.toml')], {
      cwd: WORKER_DIR,
      env: { ...process.env, ...WRANGLER_ENV },
    });
    try {
      renameSync(building, outDir);
    } catch (err) {
      // Another test file of this run finished the same build first.
      if (!existsSync(join(outDir, 'index.js'))) throw err;
      rmSync(building, { recursive: true, force: true });
    }
    return outDir;
  })();
  return bundlePromise;
}

/** The .wasm module the bundle imports, as wrangler emitted it (name and size). */
export function bundledWasm(bundleDir) {
  const name = readdirSync(bundleDir).find((file) => file.endsWith('.wasm'));
  return name ? { name, bytes: statSync(join(bundleDir, name)).size } : null;
}

/** Starts an emulator that is closed when the test ends. */
export async function startEmu(t, options = {}) {
  const emu = await startEmulator({ clientId: 'test-client', ...options });
  t.after(() => emu.close());
  return emu;
}

function workerOptions(bundleDir, emu, { name, instanceId, durableObjects }) {
  return {
    name,
    modules: true,
    modulesRoot: bundleDir,
    scriptPath: join(bundleDir, 'index.js'),
    modulesRules: [
      { type: 'ESModule', include: ['**/*.js'] },
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
    ],
    compatibilityDate: COMPATIBILITY_DATE,
    bindings: {
      SALESFORCE_CLIENT_ID: emu.clientId,
      SALESFORCE_LOGIN_URL: emu.loginUrl,
      INSTANCE_ID: instanceId,
      ALLOW_INSECURE_LOOPBACK: 'true',
      ENCRYPTION_KEY: ENCRYPTION_KEY.toString('base64'),
      WRONG_ENCRYPTION_KEY: WRONG_ENCRYPTION_KEY.toString('base64'),
    },
    kvNamespaces: { SESSIONS_KV: 'sessions-kv' },
    durableObjects,
  };
}

/**
 * Miniflare running the bundle as worker "first" (instance id worker-1) and, with `second: true`,
 * the same bundle as worker "second" (its own isolate, instance id worker-2) bound to the same KV
 * namespace and to the first worker's Durable Object class. Disposed when the test ends.
 */
export async function startWorkers(t, emu, { second = false } = {}) {
  const bundleDir = await workerBundle();
  const workers = [
    workerOptions(bundleDir, emu, {
      name: 'first',
      instanceId: 'worker-1',
      durableObjects: { SESSION_STORE: { className: 'SessionStoreObject', useSQLite: true } },
    }),
  ];
  if (second) {
    workers.push(workerOptions(bundleDir, emu, {
      name: 'second',
      instanceId: 'worker-2',
      durableObjects: { SESSION_STORE: { className: 'SessionStoreObject', scriptName: 'first', useSQLite: true } },
    }));
  }
  const mf = new Miniflare({ workers, host: '127.0.0.1', port: 0, cf: false });
  t.after(() => mf.dispose());
  await mf.ready;
  return new Workers(mf);
}

/** The test endpoints of tests/workerd/worker/index.js, on one worker or the other. */
export class Workers {
  constructor(mf) {
    this.mf = mf;
  }

  /** Sends one request to a worker; answers { status, body } (the body parsed as JSON). */
  async request(method, path, { worker = 'first', body, signal } = {}) {
    const url = `http://worker.test${path}`;
    const init = { method, body, signal };
    const response = worker === 'first'
      ? await this.mf.dispatchFetch(url, init)
      : await (await this.mf.getWorker(worker)).fetch(url, init);
    const text = await response.text();
    let parsed;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { unparsed: text };
    }
    return { status: response.status, body: parsed };
  }

  connect(store, id, tokens, options) {
    return this.request('POST', `/connect?${query({ store, id })}`, { ...options, body: JSON.stringify(tokens) });
  }

  connectJwt(store, id, { username, privateKey, audience }, options) {
    return this.request('POST', `/connect-jwt?${query({ store, id })}`, { ...options, body: JSON.stringify({ username, privateKey, audience }) });
  }

  call(store, id, path, options) {
    return this.request('GET', `/call?${query({ store, id, path })}`, options);
  }

  info(store, id, options) {
    return this.request('GET', `/info?${query({ store, id })}`, options);
  }

  /** Sets the worker's managers' clock to `now` (epoch ms). */
  setClock(now, options) {
    return this.request('POST', `/clock?${query({ now: String(now) })}`, options);
  }

  events(options) {
    return this.request('GET', '/events', options);
  }

  lock(key, ttlMs, options) {
    return this.request('POST', `/lock?${query({ key, ttlMs: String(ttlMs) })}`, options);
  }

  release(holder, options) {
    return this.request('POST', `/release?${query({ holder })}`, options);
  }

  compareAndPut(key, expected, value, options) {
    return this.request('POST', `/cas?${query({ key })}`, { ...options, body: JSON.stringify({ expected, value }) });
  }

  put(key, value, options) {
    return this.request('POST', `/put?${query({ key })}`, { ...options, body: value });
  }

  get(key, options) {
    return this.request('GET', `/get?${query({ key })}`, options);
  }

  list(prefix, options) {
    return this.request('GET', `/list?${query({ prefix })}`, options);
  }
}

function query(params) {
  return new URLSearchParams(params).toString();
}

/** Polls `attempt` until it answers something truthy, at most `timeoutMs`; answers it or null. */
export async function pollUntil(attempt, { timeoutMs = 10_000, intervalMs = 25 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (value) return value;
    if (Date.now() >= deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
