// Cloudflare Durable Object store: one object (SessionStoreObject) holds the records and the locks,
// so a lock or a compare-and-put is atomic for every isolate that reaches it; DurableObjectStore
// is the KV-shaped client a SessionManager takes, over the Durable Object namespace binding.
//
// The client talks to the object through `stub.fetch` with a small JSON protocol (portable: no
// RPC, no `cloudflare:workers` import, so this module also loads outside workerd). The object
// never makes a fetch itself and never sees a client secret: refreshes run in the calling worker.

import { sessionError, ErrorCodes } from '../errors.js';

/** The object every DurableObjectStore talks to unless told otherwise (`{ name }`). */
export const DEFAULT_OBJECT_NAME = 'salesforce-session';

// Data and locks live in disjoint key spaces of the object's storage: a lock key never equals a
// data key and a data listing never shows a lock.
const DATA = 'd:';
const LOCK = 'l:';

// The object only answers requests on this origin; any host name would do, it is never resolved.
const OBJECT_URL = 'https://session-store.invalid/';

/** Longest lock a caller may ask for: a refresh is bounded by tokenTimeoutMs times a few attempts. */
const MAX_LOCK_TTL_MS = 10 * 60 * 1000;

/**
 * The Durable Object class. A worker re-exports it (`export { SessionStoreObject }`) and binds it in
 * its wrangler config with class_name "SessionStoreObject".
 *
 * Every operation is a read-modify-write over `state.storage` that awaits nothing but storage, so
 * the object's input gates keep other requests out until it is done: that is what makes `lock` and
 * `compareAndPut` atomic.
 */
export class SessionStoreObject {
  #storage;

  constructor(state) {
    this.#storage = state.storage;
  }

  async fetch(request) {
    let operation;
    try {
      operation = await request.json();
    } catch {
      return reply(400, { error: 'the request body is not JSON' });
    }
    const handler = Object.hasOwn(OPERATIONS, operation?.op) ? OPERATIONS[operation.op] : null;
    if (!handler) return reply(400, { error: 'unknown operation' });
    if (!wellFormed(operation)) return reply(400, { error: `malformed ${operation.op}` });
    try {
      return reply(200, await handler(this.#storage, operation));
    } catch (thrown) {
      return reply(500, { error: `storage failed: ${thrown?.name ?? 'Error'}` });
    }
  }

  /** Clears locks whose expiry passed (acquire checks the timestamp anyway) and schedules the next sweep. */
  async alarm() {
    const now = Date.now();
    const locks = await this.#storage.list({ prefix: LOCK });
    const expired = [];
    let next = null;
    for (const [key, lock] of locks) {
      if (lock.expiresAt <= now) expired.push(key);
      else if (next === null || lock.expiresAt < next) next = lock.expiresAt;
    }
    if (expired.length) await this.#storage.delete(expired);
    if (next !== null) await this.#storage.setAlarm(next);
  }
}

const OPERATIONS = {
  async get(storage, { key }) {
    const value = await storage.get(DATA + key);
    return { value: value ?? null };
  },

  async put(storage, { key, value }) {
    await storage.put(DATA + key, value);
    return {};
  },

  async delete(storage, { key }) {
    await storage.delete(DATA + key);
    return {};
  },

  async list(storage, { prefix }) {
    const entries = await storage.list({ prefix: DATA + prefix });
    return { keys: [...entries.keys()].map((key) => key.slice(DATA.length)) };
  },

  async compareAndPut(storage, { key, expected, value }) {
    const current = (await storage.get(DATA + key)) ?? null;
    if (current !== expected) return { written: false };
    await storage.put(DATA + key, value);
    return { written: true };
  },

  async lock(storage, { key, ttlMs }) {
    const now = Date.now();
    const held = await storage.get(LOCK + key);
    // A lock whose expiry passed is free, whether or not the alarm has swept it yet.
    if (held && held.expiresAt > now) return { token: null };
    const lock = { token: crypto.randomUUID(), expiresAt: now + ttlMs };
    await storage.put(LOCK + key, lock);
    const alarm = await storage.getAlarm();
    if (alarm === null || alarm > lock.expiresAt) await storage.setAlarm(lock.expiresAt);
    return { token: lock.token };
  },

  async unlock(storage, { key, token }) {
    const held = await storage.get(LOCK + key);
    // A release after the lock expired and passed to someone else must not free their lock.
    if (!held || held.token !== token) return { released: false };
    await storage.delete(LOCK + key);
    return { released: true };
  },
};

/** What the client sends, checked again here: the object trusts no caller's shapes. */
function wellFormed({ op, key, value, expected, prefix, ttlMs, token }) {
  if (op === 'list') return typeof prefix === 'string';
  if (typeof key !== 'string' || key.length === 0) return false;
  if (op === 'put') return typeof value === 'string';
  if (op === 'compareAndPut') return typeof value === 'string' && (expected === null || typeof expected === 'string');
  if (op === 'lock') return Number.isInteger(ttlMs) && ttlMs > 0 && ttlMs <= MAX_LOCK_TTL_MS;
  if (op === 'unlock') return typeof token === 'string';
  return true;
}

function reply(status, body) {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

function invalid(message, evidence) {
  return sessionError(ErrorCodes.INVALID_CONFIG, `Invalid configuration: ${message}`, [evidence]);
}

function checkKey(key, name = 'key') {
  if (typeof key !== 'string' || key.length === 0) {
    throw invalid(`DurableObjectStore: ${name} must be a non-empty string`, `${name} is ${typeof key === 'string' ? 'empty' : typeof key}`);
  }
}

function checkValue(value, name = 'value') {
  if (typeof value !== 'string') {
    throw invalid(`DurableObjectStore: ${name} must be a string`, `${name} is ${value === null ? 'null' : typeof value}`);
  }
}

/**
 * A store over one SessionStoreObject: `new DurableObjectStore(env.SESSION_STORE)`, or
 * `{ name }` to use another object of the namespace (e.g. one per tenant).
 */
export class DurableObjectStore {
  #namespace;
  #name;

  /** @param {{ idFromName(name: string): unknown, get(id: unknown): { fetch(url: string, init: RequestInit): Promise<Response> } }} namespace */
  constructor(namespace, options = {}) {
    if (typeof namespace !== 'object' || namespace === null || typeof namespace.idFromName !== 'function' || typeof namespace.get !== 'function') {
      throw invalid('DurableObjectStore takes a Durable Object namespace binding (with idFromName and get)', `the namespace is ${namespace === null ? 'null' : typeof namespace}${namespace && typeof namespace === 'object' ? ' without idFromName/get' : ''}`);
    }
    if (typeof options !== 'object' || options === null) throw invalid('DurableObjectStore options must be an object', 'options is not an object');
    const name = options.name ?? DEFAULT_OBJECT_NAME;
    checkKey(name, 'name');
    this.#namespace = namespace;
    this.#name = name;
  }

  /** The object's name in the namespace. */
  get name() {
    return this.#name;
  }

  // A stub belongs to the request that made it, so each operation asks the namespace for one.
  async #send(operation) {
    const stub = this.#namespace.get(this.#namespace.idFromName(this.#name));
    // A URL and an init rather than a Request: any Fetcher takes them (Miniflare's Node-side stubs too).
    const response = await stub.fetch(OBJECT_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(operation),
    });
    const body = await response.json().catch(() => null);
    if (!response.ok || body === null) {
      throw new Error(`DurableObjectStore: the object refused ${operation.op} (HTTP ${response.status}${body?.error ? `: ${body.error}` : ''})`);
    }
    return body;
  }

  /** @returns {Promise<string|null>} */
  async get(key) {
    checkKey(key);
    return (await this.#send({ op: 'get', key })).value;
  }

  /** Options (KV's expirationTtl, …) are accepted and not used: records are deleted explicitly. */
  async put(key, value, _options) {
    checkKey(key);
    checkValue(value);
    await this.#send({ op: 'put', key, value });
  }

  async delete(key) {
    checkKey(key);
    await this.#send({ op: 'delete', key });
  }

  /** Keys under `prefix` (data keys only; locks are never listed). @returns {Promise<string[]>} */
  async list(prefix = '') {
    if (typeof prefix !== 'string') throw invalid('DurableObjectStore: prefix must be a string', `prefix is ${typeof prefix}`);
    return (await this.#send({ op: 'list', prefix })).keys;
  }

  /**
   * Writes `value` only when the stored value is exactly `expected` (`null`: the key is absent).
   * @returns {Promise<boolean>} whether it wrote
   */
  async compareAndPut(key, expected, value) {
    checkKey(key);
    if (expected !== null) checkValue(expected, 'expected');
    checkValue(value);
    return (await this.#send({ op: 'compareAndPut', key, expected, value })).written;
  }

  /**
   * Takes the lock `key` for `ttlMs`, or resolves to null when someone else holds it. The release
   * frees the lock only while it is still this holder's.
   * @returns {Promise<(() => Promise<void>) | null>}
   */
  async lock(key, ttlMs) {
    checkKey(key);
    if (!Number.isInteger(ttlMs) || ttlMs <= 0 || ttlMs > MAX_LOCK_TTL_MS) {
      throw invalid(`DurableObjectStore: ttlMs must be an integer from 1 to ${MAX_LOCK_TTL_MS}`, `ttlMs is ${typeof ttlMs === 'number' ? ttlMs : typeof ttlMs}`);
    }
    const { token } = await this.#send({ op: 'lock', key, ttlMs });
    if (token === null) return null;
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      await this.#send({ op: 'unlock', key, token });
    };
  }
}
