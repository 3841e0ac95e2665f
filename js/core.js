// The public JavaScript interface. It normalises what callers pass (paths, URLs,
// Requests, bodies that can only be read once), hands plain data to the wasm engine,
// and turns the engine's error records into SalesforceSessionError. No session
// decision is made here.

import { WasmSessions } from './salesforce_session.js';
import { SalesforceSessionError, ErrorCodes, DEFAULT_FIXES, sessionError, fromWasm } from './errors.js';
import { MemoryStore } from './stores/memory.js';
import { encryptedStore, encryptionKeyring } from './encryption.js';
import { JwtSigner, authorizeUrl, checkClientCredentials, exchangeArguments, jwtArguments, signingKey } from './flows.js';

export { SalesforceSessionError, ErrorCodes, MemoryStore };

let wasmReady = false;
let lazyInit = null;

/** Called by each runtime entry once the wasm module is instantiated. */
export function installWasm() {
  wasmReady = true;
}

/** Lets the browser entry load the wasm on first use. */
export function setLazyInit(init) {
  lazyInit = init;
}

const PLAIN_OPTIONS = [
  'clientId', 'clientSecret', 'loginUrl', 'sessionTimeoutSeconds', 'refreshMarginSeconds', 'instanceId',
  'allowInsecureLoopback', 'keyPrefix', 'apiVersion', 'refreshAttempts', 'refreshBackoffMs', 'spike', 'webhook', 'introspect', 'tokenTimeoutMs',
];

// Request fields that travel with a call besides method, headers and body.
const REQUEST_FIELDS = ['signal', 'cache', 'credentials', 'mode', 'keepalive', 'integrity', 'referrer', 'referrerPolicy', 'priority'];

const EMPTY_INIT = Object.freeze({});

const DEFAULT_LOGIN_URL = 'https://login.salesforce.com';

/**
 * A name for this manager, unique enough to tell instances apart (it is no secret): built
 * without WebCrypto, whose first use costs milliseconds at start-up in Node.
 */
function randomInstanceId() {
  const random = Math.random().toString(36).slice(2, 10).padEnd(8, '0');
  return `instance-${Date.now().toString(36).slice(-5)}${random}`;
}

function isRequest(input) {
  return typeof input === 'object' && input !== null && typeof input.url === 'string' && typeof input.method === 'string' && 'headers' in input;
}

function isReadableStream(body) {
  return typeof body === 'object' && body !== null && typeof body.getReader === 'function';
}

function checkId(connectionId) {
  if (typeof connectionId !== 'string' || connectionId.length === 0) {
    throw sessionError(ErrorCodes.INVALID_CONFIG, 'connectionId must be a non-empty string', ['connectionId is ' + (typeof connectionId === 'string' ? 'empty' : typeof connectionId)]);
  }
}

function checkFunction(options, name) {
  if (options[name] !== undefined && typeof options[name] !== 'function') {
    throw sessionError(ErrorCodes.INVALID_CONFIG, `Invalid configuration: option '${name}' must be a function`, [`option '${name}' must be a function`]);
  }
}

/**
 * Where a call goes, as fetch will read it: the platform's own URL parser resolves the
 * input against the connection's instance origin, and the engine decides on that href
 * (scheme, host, port) alone. `undefined` when the platform cannot parse it.
 */
function resolveTarget(input, base) {
  try {
    return new URL(input, base).href;
  } catch {
    return undefined;
  }
}

/** A response's status, or `undefined` when the value is not a response (or its getter throws). */
function statusOf(response) {
  try {
    const status = response?.status;
    return Number.isInteger(status) && status >= 100 && status <= 599 && typeof response.clone === 'function' ? status : undefined;
  } catch {
    return undefined;
  }
}

function notAResponse(connectionId) {
  return sessionError(ErrorCodes.INVALID_CONFIG, "Invalid configuration: option 'fetch' resolved to something that is not a Response", ["option 'fetch' resolved to something that is not a Response", 'a Response has a numeric status from 100 to 599 and a clone() method'], { connectionId });
}

/** Whether a thrown value's text holds a piece of the bearer token (the platform's Headers errors quote it). */
function quotesToken(thrown, authorization) {
  const piece = authorization.slice(7, 23);
  try {
    return piece.length === 16 && (String(thrown?.message ?? '').includes(piece) || String(thrown).includes(piece));
  } catch {
    return false;
  }
}

function unsendableToken(connectionId) {
  return sessionError(ErrorCodes.INVALID_TOKEN_RESPONSE, 'The access token cannot be sent as a header value', ['the platform refused the Authorization header built from the stored access token', 'nothing was sent'], { connectionId, fix: 'Connect the connection again with a token response from Salesforce.' });
}

function unparseableTarget(connectionId) {
  return sessionError(ErrorCodes.WRONG_INSTANCE_URL, "Refused to send the access token: the URL cannot be parsed", ['the platform URL parser refuses the input against the instance origin', 'nothing was sent'], { connectionId, fix: "Pass a path such as /services/data/v62.0/... or a URL on the connection's instance_url." });
}

/** How much of an error body is read to classify it, and for how long at most. */
const PEEK_LIMIT_BYTES = 64 * 1024;
const PEEK_TIMEOUT_MS = 3000;

/**
 * The first bytes of an error response's body, from a copy: enough to classify it
 * (Salesforce's error bodies are small), never more than PEEK_LIMIT_BYTES and never
 * longer than PEEK_TIMEOUT_MS, so a huge or never-ending body neither fills memory nor
 * holds the call. The caller's response keeps its whole body.
 */
async function peekErrorBody(response) {
  let reader;
  try {
    reader = response.clone().body?.getReader();
  } catch {
    return '';
  }
  if (!reader) return '';
  const chunks = [];
  let size = 0;
  let timer;
  const deadline = new Promise((resolve) => {
    timer = setTimeout(resolve, PEEK_TIMEOUT_MS, null);
  });
  try {
    while (size < PEEK_LIMIT_BYTES) {
      const next = await Promise.race([reader.read(), deadline]);
      if (!next || next.done) break;
      chunks.push(next.value);
      size += next.value.byteLength;
    }
  } catch {
    /* a body that fails midway is classified on what arrived */
  } finally {
    clearTimeout(timer);
    reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(Math.min(size, PEEK_LIMIT_BYTES));
  let at = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, bytes.length - at);
    bytes.set(part, at);
    at += part.length;
    if (at === bytes.length) break;
  }
  return new TextDecoder().decode(bytes);
}

/**
 * `promise`, or the reason `signal` aborts with, whichever comes first. What the promise
 * does goes on (a refresh other calls share is never cut short); only this wait ends.
 */
function untilAborted(promise, signal) {
  if (!signal || typeof signal.addEventListener !== 'function') return promise;
  if (signal.aborted) {
    // The work was started anyway; its own outcome no longer has anyone waiting.
    Promise.resolve(promise).catch(() => {});
    return Promise.reject(signal.reason);
  }
  let onAbort;
  const aborted = new Promise((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([promise, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/** The fetch the engine is given: every request ends when its signal fires, even with a fetch that ignores signals. */
function boundedFetch(fetchFn) {
  return (url, init) => untilAborted(fetchFn(url, init), init?.signal);
}

/** A body sent twice (once, then again after a refresh) must be readable twice. */
async function replayableBody(body) {
  if (isReadableStream(body)) return new Response(body).arrayBuffer();
  return body;
}

/** The caller's headers plus ours; a plain object stays one (fetch reads those fastest). */
function withAuthorization(given, authorization) {
  if (given === undefined || given === null) return { authorization };
  if (Object.getPrototypeOf(given) === Object.prototype) {
    const headers = {};
    for (const name in given) if (name.toLowerCase() !== 'authorization') headers[name] = given[name];
    headers.authorization = authorization;
    return headers;
  }
  const headers = new Headers(given);
  headers.set('authorization', authorization);
  return headers;
}

function plainInit(init, method) {
  const out = { ...init, method };
  delete out.duplex;
  return out;
}

/**
 * The store as the engine calls it: the caller's own methods, bound, and `list(prefix)` from a
 * Cloudflare KV namespace's `list({ prefix, cursor })` too, walked to the end.
 */
function hostStore(store) {
  const method = (name) => (typeof store[name] === 'function' ? store[name].bind(store) : undefined);
  const host = {
    get: method('get'),
    put: method('put'),
    delete: method('delete'),
    compareAndPut: method('compareAndPut'),
    lock: method('lock'),
    list: method('list'),
  };
  if (host.list && typeof store.getWithMetadata === 'function') {
    // A KV namespace: pages of { keys: [{ name }], list_complete, cursor }.
    host.list = async (prefix) => {
      const names = [];
      let cursor;
      for (let page = 0; page < 10_000; page += 1) {
        const listed = await store.list({ prefix, cursor });
        for (const key of listed?.keys ?? []) names.push(key.name);
        if (listed?.list_complete !== false || !listed.cursor) return names;
        cursor = listed.cursor;
      }
      return names;
    };
  }
  return host;
}

/**
 * How long a read may reuse what the engine last prepared for its connection without asking
 * again, at most: the engine looks at shared state (marks other instances stored) on that
 * scale, and a reused authorization must never be older than its look.
 */
const REUSE_MS = 1000;

/** The path requests are recorded under: the url's, up to `?` or `#` (the engine's own rule). */
function pathOf(url) {
  const authority = url.indexOf('://') + 3;
  let rest = url.length;
  for (let i = authority; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 47 || c === 63 || c === 35) {
      rest = i;
      break;
    }
  }
  let end = url.length;
  for (let i = rest; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 63 || c === 35) {
      end = i;
      break;
    }
  }
  return end > rest ? url.slice(rest, end) : '/';
}

const PLAIN_PATH = /^\/(?!\/)[\w\-~!$&()*+,;=:@/?.]*$/;

/**
 * `resolveTarget(input, origin)` for an origin the platform serialises as it is written (one a
 * reused authorization was made for), without building a URL when it need not: an absolute
 * path of characters the parser keeps as they are (nothing it encodes, no backslash, no percent
 * sign, no segment starting with a dot) lands on origin + input.
 */
function resolveOnOrigin(input, origin) {
  return PLAIN_PATH.test(input) && !input.includes('/.') ? origin + input : resolveTarget(input, origin);
}

/** Whether `url` is on `origin` exactly (what a reused authorization may be sent to). */
function onOrigin(url, origin) {
  return url.startsWith(origin) && url.charCodeAt(origin.length) === 47;
}

/** Reads leave the org's state alone, so they may reuse an authorization; writes always ask. */
function isRead(method) {
  return method === 'GET' || method === 'HEAD';
}

export class SessionManager {
  #engine = null;
  #pending = null;
  /** connectionId -> the instance origin calls resolve against (the engine maps a moved one). */
  #origins = new Map();
  /**
   * connectionId -> what reads may reuse without asking the engine: `{ origin, authorization,
   * until, usedAt }`, taken from a read the engine prepared and let through. Dropped whenever
   * the engine does anything else for the connection, and at `until` (the token's refresh due
   * time, or REUSE_MS after the engine's look, whichever is first).
   */
  #reusable = new Map();
  /** connectionId -> when a read last reused an authorization (info() reports the later stamp). */
  #reusedAt = new Map();
  /** Counts the engine's work on any connection: a read prepared before it is not reused. */
  #engineWork = 0;
  #args;
  #fetchFn;
  #hasList = false;
  #clientId;
  #clientSecret;
  #loginUrl;
  /** The signing keys of this manager's JWT bearer connections (memory only: never stored). */
  #signer = new JwtSigner();
  #now;
  #listening;

  /**
   * @param {import('./index.d.ts').SessionManagerOptions} options
   */
  constructor(options) {
    if (typeof options !== 'object' || options === null) {
      throw sessionError(ErrorCodes.INVALID_CONFIG, 'Invalid configuration: options must be an object', ['options must be an object']);
    }
    checkFunction(options, 'fetch');
    checkFunction(options, 'now');
    checkFunction(options, 'onEvent');
    const plain = {};
    for (const name of PLAIN_OPTIONS) if (options[name] !== undefined) plain[name] = options[name];
    plain.instanceId ??= randomInstanceId();
    try {
      // Plain data only: a cycle or a BigInt is refused here, before it crosses.
      JSON.stringify(plain);
    } catch {
      throw sessionError(ErrorCodes.INVALID_CONFIG, 'Invalid configuration: options must be plain data', ['options could not be serialised']);
    }
    const store = options.store ?? new MemoryStore();
    if (typeof store !== 'object' && typeof store !== 'function') {
      throw sessionError(ErrorCodes.INVALID_CONFIG, "Invalid configuration: option 'store' must be an object with get, put and delete", ["option 'store' must be an object"]);
    }
    const fetchFn = options.fetch ?? globalThis.fetch?.bind(globalThis);
    if (typeof fetchFn !== 'function') {
      throw sessionError(ErrorCodes.INVALID_CONFIG, "Invalid configuration: no fetch: pass option 'fetch'", ["option 'fetch' is missing and the runtime has no global fetch"]);
    }
    // A listener that throws, or whose promise rejects, never breaks the call it observes.
    const onEvent = options.onEvent
      ? (event) => {
          withDefaultFix(event);
          const returned = options.onEvent(event);
          if (typeof returned?.then === 'function') returned.then(undefined, () => {});
        }
      : undefined;
    this.#hasList = typeof store.list === 'function';
    let host = hostStore(store);
    if (options.encryptionKey !== undefined) host = encryptedStore(host, encryptionKeyring(options.encryptionKey));
    this.#args = [plain, boundedFetch(fetchFn), host, options.now, onEvent, peekErrorBody, this.#signer.sign];
    this.#clientId = plain.clientId;
    this.#clientSecret = plain.clientSecret;
    this.#loginUrl = typeof plain.loginUrl === 'string' ? plain.loginUrl : DEFAULT_LOGIN_URL;
    this.#fetchFn = fetchFn;
    this.#now = options.now;
    this.#listening = onEvent !== undefined;
    this.instanceId = plain.instanceId;
    if (wasmReady) this.#engine = this.#build();
  }

  #build() {
    try {
      return new WasmSessions(...this.#args);
    } catch (thrown) {
      throw fromWasm(thrown);
    }
  }

  /** The engine, loading the wasm first where the runtime loads it lazily. */
  async #lazyEngine() {
    if (this.#engine) return this.#engine;
    if (!wasmReady) {
      if (!lazyInit) throw new Error('salesforce-session: the wasm module is not initialised');
      this.#pending ??= lazyInit();
      await this.#pending;
    }
    this.#engine ??= this.#build();
    return this.#engine;
  }

  /** One of the engine's operations by name (`run`), its arguments as strings ('' as the id: every connection). */
  async #run(op, connectionId, ...args) {
    const engine = this.#engine ?? (await this.#lazyEngine());
    try {
      return await this.#engineDoes(connectionId || undefined, engine.run(op, connectionId, ...args));
    } catch (thrown) {
      throw fromWasm(thrown);
    }
  }

  /**
   * `work`, the engine's for one connection (for every one when `connectionId` is no string,
   * e.g. keepAlive): what reads reused is dropped when the work starts and again when it ends
   * (it may refresh, move or mark connections meanwhile).
   */
  #engineDoes(connectionId, work) {
    const done = () => {
      this.#engineWork++;
      this.#dropReusable(connectionId);
    };
    done();
    Promise.resolve(work).then(done, done);
    return work;
  }

  /** Drops what reads reuse for a connection (every one when `connectionId` is no string), keeping its last use. */
  #dropReusable(connectionId) {
    if (typeof connectionId !== 'string') {
      for (const id of [...this.#reusable.keys()]) this.#dropReusable(id);
      return;
    }
    const reusable = this.#reusable.get(connectionId);
    if (reusable === undefined) return;
    this.#reusable.delete(connectionId);
    if (reusable.usedAt > (this.#reusedAt.get(connectionId) ?? 0)) this.#reusedAt.set(connectionId, reusable.usedAt);
  }

  /**
   * Keeps `reuse` for the connection, newest last, and drops up to two of the oldest that have
   * expired: connections that went idle do not keep an authorization in memory for long.
   */
  #keepReusable(connectionId, reuse, now) {
    this.#dropReusable(connectionId);
    this.#reusable.set(connectionId, reuse);
    let looked = 0;
    for (const [id, kept] of this.#reusable) {
      if (looked++ === 2 || kept.until > now) break;
      this.#dropReusable(id);
    }
  }

  /** The configured clock as the engine reads it; NaN (reuse nothing) when it gives no number. */
  #clock() {
    if (this.#now === undefined) return Date.now();
    try {
      const ms = this.#now();
      return typeof ms === 'number' ? ms : NaN;
    } catch {
      return NaN;
    }
  }

  /**
   * Stores the result of any OAuth flow: the token endpoint's JSON, parsed or as a string.
   * `options.loginUrl`: the login host the tokens came from, when it is not the manager's.
   * @returns {Promise<import('./index.d.ts').ConnectionInfo>}
   */
  async connect(connectionId, tokenResponse, options) {
    checkId(connectionId);
    let loginUrl;
    if (options !== undefined) {
      if (typeof options !== 'object' || options === null) {
        throw sessionError(ErrorCodes.INVALID_CONFIG, 'Invalid argument: connect options must be an object such as { loginUrl }', ['options is ' + (options === null ? 'null' : typeof options)], { connectionId });
      }
      loginUrl = options.loginUrl;
      if (loginUrl !== undefined && (typeof loginUrl !== 'string' || loginUrl.trim() === '')) {
        throw sessionError(ErrorCodes.INVALID_CONFIG, "Invalid argument: 'loginUrl' must be a non-empty string such as https://test.salesforce.com", ['loginUrl is ' + (typeof loginUrl === 'string' ? 'empty' : loginUrl === null ? 'null' : typeof loginUrl)], { connectionId });
      }
    }
    let json = tokenResponse;
    if (typeof tokenResponse !== 'string') {
      if (typeof tokenResponse !== 'object' || tokenResponse === null) {
        throw sessionError(ErrorCodes.INVALID_TOKEN_RESPONSE, 'Invalid token response: pass the token endpoint JSON (an object or a string)', ['the token response is ' + (tokenResponse === null ? 'null' : typeof tokenResponse)], { connectionId });
      }
      try {
        json = JSON.stringify(tokenResponse);
      } catch {
        throw sessionError(ErrorCodes.INVALID_TOKEN_RESPONSE, 'Invalid token response: it cannot be serialised as JSON', ['the token response is not plain JSON data'], { connectionId });
      }
    }
    return this.#run('connect', connectionId, json, loginUrl ?? '');
  }

  /**
   * The authorize URL of the authorization code flow with PKCE, on the manager's loginUrl:
   * `{ url, codeVerifier, state }` (a state is generated when none is given). Send the user's
   * browser to `url`; keep `codeVerifier` and `state` for the callback.
   * @returns {Promise<{ url: string, codeVerifier: string, state: string }>}
   */
  async authorizeUrl(options) {
    // The options are checked by the engine (loginUrl above all) before any URL is built.
    if (!this.#engine) await this.#lazyEngine();
    return authorizeUrl(this.#loginUrl, this.#clientId, options);
  }

  /**
   * Redeems an authorization code (with the verifier authorizeUrl returned) at the token
   * endpoint and stores the connection; a refusal stores nothing.
   * @returns {Promise<import('./index.d.ts').ConnectionInfo>}
   */
  async exchangeCode(connectionId, options) {
    checkId(connectionId);
    const [code, redirectUri, codeVerifier] = exchangeArguments(connectionId, options);
    return this.#run('grant', connectionId, 'authorization_code', code, redirectUri, codeVerifier);
  }

  /**
   * Connects with the JWT bearer flow: assertions signed RS256 with `privateKey` (a PKCS#8 PEM,
   * imported non-extractable, or a CryptoKey), held in this manager's memory only and used again
   * whenever the connection is re-minted.
   * @returns {Promise<import('./index.d.ts').ConnectionInfo>}
   */
  async connectJwt(connectionId, options) {
    checkId(connectionId);
    const { username, audience, privateKey } = jwtArguments(connectionId, options);
    const key = await signingKey(privateKey, connectionId);
    if (!this.#engine) await this.#lazyEngine();
    const previous = this.#signer.get(connectionId);
    this.#signer.set(connectionId, key);
    try {
      return await this.#run('grant', connectionId, 'jwt', username, audience ?? '', '');
    } catch (thrown) {
      if (this.#signer.get(connectionId) === key) {
        if (previous) this.#signer.set(connectionId, previous);
        else this.#signer.delete(connectionId);
      }
      throw thrown;
    }
  }

  /**
   * Connects with the client credentials flow (the connected app's Run As user), against the
   * org's My Domain as loginUrl: a shared login host is refused before anything is sent.
   * @returns {Promise<import('./index.d.ts').ConnectionInfo>}
   */
  async connectClientCredentials(connectionId) {
    checkId(connectionId);
    checkClientCredentials(connectionId, this.#loginUrl, this.#clientSecret);
    return this.#run('grant', connectionId, 'client_credentials', '', '', '');
  }

  /**
   * Redeems a refresh token at the token host (a connection you hold only a refresh
   * token for) and stores the result; refusals are classified as a refresh's are.
   * @returns {Promise<import('./index.d.ts').ConnectionInfo>}
   */
  async connectRefreshToken(connectionId, refreshToken) {
    checkId(connectionId);
    if (typeof refreshToken !== 'string' || refreshToken.trim() === '') {
      throw sessionError(ErrorCodes.INVALID_CONFIG, 'Invalid configuration: the refresh token must be a non-empty string', ['refreshToken is ' + (typeof refreshToken === 'string' ? 'empty' : typeof refreshToken)], { connectionId });
    }
    return this.#run('grant', connectionId, 'refresh_token', refreshToken);
  }

  /**
   * Like fetch, for one connection: paths resolve against its instance_url.
   * @returns {Promise<Response>}
   */
  fetch(connectionId, input, init) {
    const engine = this.#engine;
    // The common case (a path or URL string, a replayable body) takes the hot path: the
    // engine decides what to send without I/O, this side sends it, and the engine only
    // takes over when the response may carry a session failure.
    if (engine && typeof connectionId === 'string' && connectionId && typeof input === 'string' && !isReadableStream(init?.body)) {
      const method = init?.method ? String(init.method).toUpperCase() : 'GET';
      // A read on a connection whose token is fresh reuses what the engine prepared last time,
      // without asking it (no crossing into the wasm) while the response needs no examining.
      const reusable = this.#reusable.get(connectionId);
      if (reusable !== undefined && isRead(method)) {
        const now = this.#clock();
        if (now < reusable.until) {
          const target = resolveOnOrigin(input, reusable.origin);
          if (target !== undefined && onOrigin(target, reusable.origin)) {
            reusable.usedAt = now;
            return this.#send(engine, connectionId, method, init ? plainInit(init, method) : EMPTY_INIT, target, reusable.authorization, now, false);
          }
        } else {
          this.#dropReusable(connectionId);
        }
      }
      const base = this.#origins.get(connectionId) ?? this.#cacheOrigin(engine, connectionId);
      if (base === undefined) return this.#loadFirst(engine, connectionId, input, init);
      const target = resolveTarget(input, base);
      if (target === undefined) return Promise.reject(unparseableTarget(connectionId));
      const request = init ? plainInit(init, method) : EMPTY_INIT;
      const work = this.#engineWork;
      let prepared;
      try {
        prepared = engine.prepare(connectionId, target, method);
      } catch (thrown) {
        return Promise.reject(fromWasm(thrown));
      }
      if (prepared === undefined) return untilAborted(this.#engineDoes(connectionId, engine.send(connectionId, target, '', method, request, undefined, '')), request.signal).catch(rethrow);
      const [url, authorization, started, freshUntil] = prepared;
      // The instance moved (a refresh changed instance_url): resolve later calls against
      // where it is now. (A call to the identity URL goes elsewhere without any move.)
      if (!url.startsWith(base)) this.#cacheOrigin(engine, connectionId);
      // What later reads may reuse, once this one is let through: the same origin, the same
      // authorization, until the token's refresh is due (or the engine should look again).
      // (The url starting with the origin also shows the platform writes the origin as it is.)
      const reuse = isRead(method) && onOrigin(url, base) ? { origin: base, authorization, until: Math.min(freshUntil, started + REUSE_MS), usedAt: 0, work } : false;
      return this.#send(engine, connectionId, method, request, url, authorization, started, reuse);
    }
    return this.#slowFetch(connectionId, input, init);
  }

  /**
   * The first call on a connection this instance does not hold in memory (connected elsewhere, or
   * connected here and not called since): loads it from the store, then goes the way of any call.
   */
  async #loadFirst(engine, connectionId, input, init) {
    await this.#run('load', connectionId);
    if (engine.origin(connectionId) === undefined) return this.#slowFetch(connectionId, input, init);
    return this.fetch(connectionId, input, init);
  }

  #cacheOrigin(engine, connectionId) {
    const origin = engine.origin(connectionId);
    if (origin !== undefined) this.#origins.set(connectionId, origin);
    return origin;
  }

  /**
   * Sends a call the engine prepared (or a read reusing what it prepared: `reuse` is false then)
   * and hands the response to the engine when it may carry a session failure. A response to a
   * reused read that is a plain success, with no listener for its `request` event, goes back
   * without the engine; `reuse`, when given, becomes reusable once the engine let its call through.
   */
  #send(engine, connectionId, method, request, url, authorization, started, reuse) {
    let sent;
    try {
      const headers = withAuthorization(request.headers, authorization);
      // Tokens never follow a redirect.
      sent = this.#fetchFn(url, { ...request, headers, redirect: 'manual' });
    } catch (thrown) {
      // A caller's Headers or fetch that throws rejects this call; it never escapes, and
      // never with the platform's message quoting the Authorization header.
      return Promise.reject(quotesToken(thrown, authorization) ? unsendableToken(connectionId) : thrown);
    }
    return Promise.resolve(sent).then((response) => {
      const status = statusOf(response);
      if (status === undefined) throw notAResponse(connectionId);
      const passed = status >= 200 && status < 400;
      if (passed && reuse === false && !this.#listening) return response;
      const path = pathOf(url);
      if (engine.settle(connectionId, method, path, status, started)) {
        // Made reusable only while nothing else happened in the engine since it was prepared.
        if (passed && reuse && reuse.work === this.#engineWork) this.#keepReusable(connectionId, reuse, started);
        return response;
      }
      return untilAborted(this.#engineDoes(connectionId, engine.send(connectionId, url, path, method, request, response, authorization)), request.signal).catch(rethrow);
    });
  }

  async #slowFetch(connectionId, input, init) {
    checkId(connectionId);
    if (!(typeof input === 'string' || input instanceof URL || isRequest(input))) {
      throw sessionError(ErrorCodes.INVALID_CONFIG, 'fetch input must be a path, a URL or a Request', ['input is ' + (input === null ? 'null' : typeof input)], { connectionId });
    }
    const base = await this.#run('load', connectionId);
    const engine = this.#engine;
    this.#origins.set(connectionId, base);
    let target;
    let request;
    if (typeof input === 'string' || input instanceof URL) {
      target = resolveTarget(String(input), base);
      const method = init?.method ? String(init.method).toUpperCase() : 'GET';
      request = plainInit(init ?? {}, method);
      request.body = await replayableBody(request.body);
    } else if (isRequest(input)) {
      target = resolveTarget(input.url, base);
      const method = String(init?.method ?? input.method).toUpperCase();
      request = { method, headers: init?.headers ?? input.headers };
      for (const field of REQUEST_FIELDS) {
        const value = init?.[field] ?? input[field];
        if (value !== undefined) request[field] = value;
      }
      if (init?.body !== undefined) request.body = await replayableBody(init.body);
      else if (method !== 'GET' && method !== 'HEAD' && input.body) request.body = await input.clone().arrayBuffer();
    } else {
      throw sessionError(ErrorCodes.INVALID_CONFIG, 'fetch input must be a path, a URL or a Request', ['input is ' + (input === null ? 'null' : typeof input)], { connectionId });
    }
    if (target === undefined) throw unparseableTarget(connectionId);
    return untilAborted(this.#engineDoes(connectionId, engine.send(connectionId, target, '', request.method, request, undefined, '')), request.signal).catch(rethrow);
  }

  /** A handle bound to one connection: `{ fetch(input, init) }`. */
  connection(connectionId) {
    checkId(connectionId);
    return {
      connectionId,
      fetch: (input, init) => this.fetch(connectionId, input, init),
      info: () => this.info(connectionId),
      refresh: () => this.refresh(connectionId),
      diagnose: () => this.diagnose(connectionId),
      disconnect: (options) => this.disconnect(connectionId, options),
    };
  }

  /** @returns {Promise<import('./index.d.ts').ConnectionInfo>} */
  async info(connectionId) {
    checkId(connectionId);
    const info = await this.#run('info', connectionId);
    // Reads that reused an authorization were used without the engine seeing them.
    const reusedAt = this.#reusedAt.get(connectionId);
    if (reusedAt !== undefined && typeof info === 'object' && info !== null && 'lastUsedAt' in info && !(info.lastUsedAt >= reusedAt)) {
      info.lastUsedAt = Math.trunc(reusedAt);
    }
    return info;
  }

  /** Forces a refresh now. @returns {Promise<import('./index.d.ts').ConnectionInfo>} */
  async refresh(connectionId) {
    checkId(connectionId);
    return this.#run('refresh', connectionId);
  }

  /** Runs the checks and names the root cause. @returns {Promise<import('./index.d.ts').Diagnosis>} */
  async diagnose(connectionId) {
    checkId(connectionId);
    return withDefaultFix(await this.#run('diagnose', connectionId));
  }

  /**
   * Refreshes every stored connection idle for longer than `olderThanDays` (default 20) before
   * its refresh token dies of idleness (30 days unused), once each across the fleet.
   * @returns {Promise<import('./index.d.ts').KeepAliveReport>}
   */
  async keepAlive(options = {}) {
    const days = options?.olderThanDays ?? 20;
    if (typeof days !== 'number' || !Number.isFinite(days) || days < 0 || days > 3650) {
      throw sessionError(ErrorCodes.INVALID_CONFIG, 'Invalid argument: olderThanDays must be a number of days from 0 to 3650', ['olderThanDays is ' + (typeof days === 'number' ? String(days) : typeof days)]);
    }
    if (!this.#hasList) {
      throw sessionError(ErrorCodes.INVALID_CONFIG, 'Invalid configuration: keepAlive needs a store that can list its keys', ["the store has no list(prefix): use MemoryStore, RedisStore, DurableObjectStore, ChromeStorageStore or a KV namespace"]);
    }
    const pairs = await this.#run('keepAlive', '', String(Math.round(days * 86_400_000)));
    const report = { refreshed: [], skipped: [], failed: [] };
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const [connectionId, outcome] = [pairs[i], pairs[i + 1]];
      if (outcome === 'refreshed' || outcome === 'skipped') report[outcome].push(connectionId);
      else report.failed.push({ connectionId, code: outcome });
    }
    return report;
  }

  /** Forgets a connection; with `{ revoke: true }` revokes its tokens at Salesforce first. */
  async disconnect(connectionId, options = {}) {
    checkId(connectionId);
    this.#origins.delete(connectionId);
    this.#reusedAt.delete(connectionId);
    try {
      return await this.#run('disconnect', connectionId, options?.revoke ? 'revoke' : '');
    } finally {
      // The record is gone even when the revoke failed: so is the key that could mint it again.
      this.#signer.delete(connectionId);
    }
  }
}

/** A diagnosis (an event or the doctor's report) naming a code the module gave no fix: the code's default fix. */
function withDefaultFix(diagnosis) {
  if (diagnosis?.fix === '') diagnosis.fix = DEFAULT_FIXES[diagnosis.cause] ?? '';
  return diagnosis;
}

function rethrow(thrown) {
  throw fromWasm(thrown);
}
