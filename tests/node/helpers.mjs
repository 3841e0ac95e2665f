// Shared helpers for the Node suites: an emulator per test, a manager wired to it with an event
// recorder, an inspectable store, a fetch spy, a stray server, and a scanner for leaked secrets.
import assert from 'node:assert/strict';
import http from 'node:http';
import { inspect } from 'node:util';
import { createPrivateKey } from 'node:crypto';
import { SessionManager, SalesforceSessionError } from 'salesforce-session';
import { startEmulator } from '../emulator/index.mjs';

export const API = '/services/data/v62.0';
export const TOKEN_PATH = '/services/oauth2/token';

/** Starts an emulator that is closed when the test ends. */
export async function startEmu(t, options = {}) {
  const emu = await startEmulator({ clientId: 'test-client', ...options });
  t.after(() => emu.close());
  return emu;
}

/**
 * A KV store over a Map that can be inspected: `snapshot()` (every key and value), `ops` (every
 * call, in order). `fail` makes chosen methods fail: { get: 'throw' | 'reject' | (key) => value }.
 */
export class TestStore {
  constructor({ fail = {} } = {}) {
    this.map = new Map();
    this.ops = [];
    this.fail = fail;
  }

  #maybeFail(op) {
    const mode = this.fail[op];
    if (mode === 'throw') throw new Error(`${op} failed: disk on fire`);
    if (mode === 'reject') return Promise.reject(new Error(`${op} failed: disk on fire`));
    return null;
  }

  get(key) {
    this.ops.push({ op: 'get', key });
    const failed = this.#maybeFail('get');
    if (failed) return failed;
    if (typeof this.fail.get === 'function') return Promise.resolve(this.fail.get(key, this.map.get(key) ?? null));
    return Promise.resolve(this.map.has(key) ? this.map.get(key) : null);
  }

  put(key, value, options) {
    this.ops.push({ op: 'put', key, options });
    const failed = this.#maybeFail('put');
    if (failed) return failed;
    if (typeof value !== 'string') return Promise.reject(new TypeError('TestStore.put takes a string value'));
    this.map.set(key, value);
    return Promise.resolve();
  }

  delete(key) {
    this.ops.push({ op: 'delete', key });
    const failed = this.#maybeFail('delete');
    if (failed) return failed;
    this.map.delete(key);
    return Promise.resolve();
  }

  /** Every key and value, sorted by key. */
  snapshot() {
    return [...this.map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Values whose key contains `part` (e.g. the connection id). */
  valuesFor(part) {
    return this.snapshot().filter(([key]) => key.includes(part)).map(([, value]) => value);
  }
}

/**
 * A fetch that calls the real one and records every call: {url, method, headers, status, tokenBody}.
 * Token endpoint replies are read from a clone so tests can see what the library received.
 */
export function spyFetch(inner = globalThis.fetch.bind(globalThis)) {
  const calls = [];
  const fetch = async (input, init = {}) => {
    const url = typeof input === 'string' ? input : input.url;
    const call = { url, method: init.method ?? input.method ?? 'GET', headers: new Headers(init.headers ?? input.headers ?? {}), status: null, tokenBody: null };
    calls.push(call);
    const response = await inner(input, init);
    call.status = response.status;
    if (new URL(url).pathname === TOKEN_PATH) {
      try {
        call.tokenBody = JSON.parse(await response.clone().text());
      } catch {
        call.tokenBody = null;
      }
    }
    return response;
  };
  return { fetch, calls };
}

/**
 * A SessionManager wired to the emulator: emulator clock, loopback allowed, events recorded.
 * Returns { sm, events, store, spy }; extra options override the defaults.
 */
export function makeManager(emu, options = {}) {
  const events = [];
  const store = options.store ?? new TestStore();
  const spy = spyFetch(options.fetch);
  const sm = new SessionManager({
    clientId: emu.clientId,
    loginUrl: emu.loginUrl,
    allowInsecureLoopback: true,
    now: () => emu.now(),
    onEvent: (e) => events.push(e),
    ...options,
    store,
    fetch: spy.fetch,
  });
  return { sm, events, store, spy };
}

/** Mints a token pair at the emulator and connects it under `id`. Returns { info, tokens }. */
export async function connectNew(sm, emu, id = 'acme', mint = {}) {
  const tokens = await emu.mintTokenResponse(mint);
  const info = await sm.connect(id, tokens);
  return { info, tokens };
}

/** Asserts that `promiseOrFn` rejects (or throws) a SalesforceSessionError with `code`; returns the error. */
export async function expectSessionError(promiseOrFn, code, message) {
  let caught;
  try {
    await (typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught, `${message ? `${message}: ` : ''}expected a ${code} SalesforceSessionError, nothing was thrown`);
  assert.ok(caught instanceof SalesforceSessionError, `${message ? `${message}: ` : ''}expected a SalesforceSessionError, got ${inspect(caught)}`);
  assert.equal(caught.code, code, `${message ? `${message}: ` : ''}${caught.message} (evidence: ${JSON.stringify(caught.evidence)})`);
  return caught;
}

/** Synchronous variant for constructors. */
export function expectSessionErrorSync(fn, code, message) {
  let caught;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught, `${message ? `${message}: ` : ''}expected a ${code} SalesforceSessionError, nothing was thrown`);
  assert.ok(caught instanceof SalesforceSessionError, `${message ? `${message}: ` : ''}expected a SalesforceSessionError, got ${inspect(caught)}`);
  assert.equal(caught.code, code, `${message ? `${message}: ` : ''}${caught.message}`);
  return caught;
}

/** The emulator's log entries for the REST data API on the instance host (optionally one path prefix). */
export function restRequests(emu, pathPrefix = '/services/data') {
  return emu.log.filter((e) => e.host === 'instance' && e.path.startsWith(pathPrefix));
}

/** A plain loopback HTTP server that records every request it gets. Closed when the test ends. */
export async function startStrayServer(t) {
  const requests = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method, url: req.url, headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"stray":true}');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  }));
  return { url: `http://127.0.0.1:${server.address().port}`, requests };
}

/**
 * Every secret the emulator handed out or received: access tokens of all sessions, refresh tokens,
 * authorization codes, code verifiers and JWT assertions presented to the token endpoint, every
 * authorization code it issued, and whatever else is passed (minted refresh tokens, the client
 * secret, private keys, encryption keys): see `secretForms` for how each is expanded.
 */
export function collectSecrets(emu, extra = []) {
  const secrets = new Set();
  const add = (value) => {
    for (const form of secretForms(value)) if (form) secrets.add(form);
  };
  for (const s of emu.sessions()) add(s.accessToken);
  for (const e of emu.log) {
    add(e.refreshToken);
    add(e.code);
    add(e.codeVerifier);
    add(e.assertion);
  }
  for (const code of emu.authCodes?.() ?? []) add(code);
  for (const s of extra) add(s);
  return [...secrets];
}

/**
 * The texts a secret may show up as: a string as it is; a PEM private key as its base64 body on one
 * line and its JWK private members (d, p, q, dp, dq, qi); key bytes (a Uint8Array or
 * ArrayBuffer, e.g. an encryption key) as base64, base64url and hex; `{ keys: { … } }` (an
 * encryptionKey keyring) as each of its keys.
 */
export function secretForms(value) {
  if (value === null || value === undefined) return [];
  if (typeof value === 'string') {
    if (!value.includes('PRIVATE KEY-----')) return [value];
    // The body only: the armor lines (-----BEGIN … KEY-----) are no secret, and a leak of the PEM
    // shows 16-character pieces of the body on each of its lines.
    const forms = [value.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '')];
    try {
      const jwk = createPrivateKey(value).export({ format: 'jwk' });
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) if (jwk[member]) forms.push(jwk[member]);
    } catch {
      /* not a key node:crypto reads: the text forms only */
    }
    return forms;
  }
  if (value instanceof ArrayBuffer) value = new Uint8Array(value);
  if (value instanceof Uint8Array) {
    const bytes = Buffer.from(value);
    return [bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex')];
  }
  if (typeof value === 'object' && value.keys && typeof value.keys === 'object') return Object.values(value.keys).flatMap(secretForms);
  return [];
}

/** Everything a value shows: JSON, util.inspect and, for errors, message, stack, evidence and fix. */
export function renderings(value) {
  const out = [];
  try {
    out.push(JSON.stringify(value) ?? '');
  } catch {
    out.push('[unserialisable]');
  }
  out.push(inspect(value, { depth: 10, showHidden: true, getters: true }));
  if (value instanceof Error) {
    out.push(String(value.message), String(value.stack), String(value));
    if ('evidence' in value) out.push(JSON.stringify(value.evidence));
    if ('fix' in value) out.push(String(value.fix));
  }
  return out;
}

/**
 * Finds secrets (or any 16-character piece of one) in the given values.
 * Returns a list of {where, secretIndex}; the secret itself is never put in the message.
 */
export function findLeaks(secrets, values, window = 16) {
  const pieces = [];
  secrets.forEach((secret, index) => {
    pieces.push({ piece: secret, index });
    for (let i = 0; i + window <= secret.length; i += 4) pieces.push({ piece: secret.slice(i, i + window), index });
  });
  const leaks = [];
  for (const [where, value] of values) {
    const text = renderings(value).join('\n');
    const hit = pieces.find(({ piece }) => text.includes(piece));
    if (hit) leaks.push({ where, secretIndex: hit.index });
  }
  return leaks;
}
