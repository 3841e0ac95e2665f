// Types of the public interface. Hand-written: they are the contract.

export type ErrorCode =
  | 'SESSION_EXPIRED'
  | 'WRONG_INSTANCE_URL'
  | 'IP_LOCKED'
  | 'API_CLIENT_CONTROL'
  | 'SESSION_REVOKED'
  | 'ORG_READ_ONLY'
  | 'REFRESH_FAILED'
  | 'RATE_LIMITED'
  | 'API_DISABLED'
  | 'UNKNOWN_CONNECTION'
  | 'INVALID_TOKEN_RESPONSE'
  | 'INVALID_CONFIG'
  | 'STORE_FAILED'
  | 'REFRESH_IP_RESTRICTED'
  | 'SALESFORCE_UNAVAILABLE';

export declare const ErrorCodes: { readonly [K in ErrorCode]: K };

/** Any KV store: a Cloudflare KV namespace can be passed as it is. */
export interface KVStore {
  get(key: string): Promise<string | null>;
  put(key: string, value: string, options?: { expirationTtl?: number; expiration?: number }): Promise<void>;
  delete(key: string): Promise<void>;
}

/**
 * A store the manager can use fully: the KV shape plus what a shared store may offer. `lock`
 * serialises refreshes across processes (resolves to a release, or null while another holder has
 * it; it expires by itself after ttlMs; a release never frees another holder's lock); `list` serves
 * keepAlive(); `compareAndPut` writes only if the stored value is still `expected` (null: absent).
 */
export interface Store extends KVStore {
  lock?(key: string, ttlMs: number): Promise<(() => Promise<void>) | null>;
  list?(prefix: string): Promise<string[]>;
  compareAndPut?(key: string, expected: string | null, value: string): Promise<boolean>;
}

export interface BaseEvent {
  type: string;
  connectionId: string;
  orgId: string;
  userId: string;
  /** Epoch ms, from the configured clock. */
  at: number;
}

export interface RequestEvent extends BaseEvent {
  type: 'request';
  method: string;
  /** Path without query string. */
  path: string;
  status: number;
  durationMs: number;
  attempt: number;
}

export interface RefreshEvent extends BaseEvent {
  type: 'refresh';
  reason: 'proactive' | 'invalid_session' | 'forced' | 'diagnose';
  durationMs: number;
  rotated: boolean;
  attempt: number;
  instanceUrl: string;
  perInstanceToken: boolean;
}

export interface DiagnosisEvent extends BaseEvent, Diagnosis {
  type: 'diagnosis';
}

export interface SpikeEvent extends BaseEvent {
  type: 'invalid_session_spike';
  count: number;
  windowSeconds: number;
  threshold: number;
  likelyCauses: ErrorCode[];
}

export type SessionEvent =
  | RequestEvent
  | RefreshEvent
  | DiagnosisEvent
  | SpikeEvent
  | (BaseEvent & { type: 'refresh_failed'; reason: string; code: ErrorCode; evidence: string[]; durationMs?: number })
  | (BaseEvent & { type: 'reauth_required'; reason: string; description: string; stored: boolean })
  | (BaseEvent & { type: 'org_read_only'; nextProbeAt: number })
  | (BaseEvent & { type: 'org_writable'; readOnlyForMs: number })
  | (BaseEvent & { type: 'connected'; instanceUrl: string })
  | (BaseEvent & { type: 'disconnected'; revoked: boolean })
  | (BaseEvent & { type: 'introspection'; active: boolean; expiresAt: number | null })
  | (BaseEvent & { type: 'webhook_failed'; detail: string })
  /** A best-effort store operation failed and the call went on. */
  | (BaseEvent & { type: 'store_failed'; operation: 'get' | 'put' | 'delete'; key: string; detail: string });

export interface SessionManagerOptions {
  /** The connected app's consumer key. */
  clientId: string;
  /** The consumer secret (confidential clients); enables introspection. */
  clientSecret?: string;
  /** Default https://login.salesforce.com; test.salesforce.com or a My Domain. */
  loginUrl?: string;
  /** Default: a new MemoryStore. Any KV shape (a Cloudflare KV namespace as it is), or a Store. */
  store?: Store | KVStore;
  /** Default: globalThis.fetch. */
  fetch?: (input: string, init?: RequestInit) => Promise<Response>;
  /** The org's session timeout; default 7200. */
  sessionTimeoutSeconds?: number;
  /** Refresh this long before the expected expiry; default 300. */
  refreshMarginSeconds?: number;
  /** Recorded as `mintedBy`; default random per manager. */
  instanceId?: string;
  /** Clock in epoch ms, for tests. */
  now?: () => number;
  /** Lets http://127.0.0.1 / localhost serve as login and instance hosts (tests, emulators). */
  allowInsecureLoopback?: boolean;
  onEvent?: (event: SessionEvent) => void;
  /** POSTed when a connection needs re-authorization, signed with HMAC-SHA256 (header x-salesforce-session-signature: sha256=<hex>). */
  webhook?: { url: string; secret: string };
  /** INVALID_SESSION_ID spike detector; default 10 in 60 s per org. */
  spike?: { windowSeconds?: number; threshold?: number };
  /** Prefix of every store key; default "sfs:". */
  keyPrefix?: string;
  /** REST API version used by the doctor's probes; default "62.0". */
  apiVersion?: string;
  /** Token requests per refresh on transient failures; default 3. */
  refreshAttempts?: number;
  /** First backoff between token requests, doubled each time; default 200. */
  refreshBackoffMs?: number;
  /** Ask the introspection endpoint for the real expiry when a client secret is set; default true. */
  introspect?: boolean;
  /** Bounds (ms, 100 to 600000) every request the library makes of its own, token requests first; default 30000. */
  tokenTimeoutMs?: number;
}

export interface ConnectionInfo {
  connectionId: string;
  orgId: string;
  userId: string;
  instanceUrl: string;
  issuedAt: number;
  expiresAt: number;
  status: 'active' | 'reauth_required' | 'read_only';
  mintedBy: string;
  hasRefreshToken: boolean;
  ipLocked: boolean;
  reauthReason?: string;
  /** True once a rotated refresh token was seen for the connection. */
  rotation: boolean;
  /** When a token was last obtained (connect or refresh), epoch ms: the refresh token's idle time counts from here. */
  lastRefreshAt: number;
  /** When this manager last sent a call on the connection, epoch ms (absent before its first call). */
  lastUsedAt?: number;
}

/** What `keepAlive()` did. */
export interface KeepAliveReport {
  refreshed: string[];
  skipped: string[];
  failed: { connectionId: string; code: ErrorCode }[];
}

export interface Diagnosis {
  cause: ErrorCode | 'OK';
  confidence: 'high' | 'medium' | 'low';
  evidence: string[];
  fix: string;
}

export interface DiagnosisReport extends Diagnosis {
  connectionId: string;
  checks: { name: string; ok: boolean; detail: string }[];
}

export interface Connection {
  connectionId: string;
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  info(): Promise<ConnectionInfo>;
  refresh(): Promise<ConnectionInfo>;
  diagnose(): Promise<DiagnosisReport>;
  disconnect(options?: { revoke?: boolean }): Promise<void>;
}

export declare class SessionManager {
  constructor(options: SessionManagerOptions);
  readonly instanceId: string;
  connect(connectionId: string, tokenResponse: object | string): Promise<ConnectionInfo>;
  /** Redeems a refresh token at the token host and stores the result. */
  connectRefreshToken(connectionId: string, refreshToken: string): Promise<ConnectionInfo>;
  fetch(connectionId: string, input: string | URL | Request, init?: RequestInit): Promise<Response>;
  connection(connectionId: string): Connection;
  info(connectionId: string): Promise<ConnectionInfo>;
  refresh(connectionId: string): Promise<ConnectionInfo>;
  diagnose(connectionId: string): Promise<DiagnosisReport>;
  disconnect(connectionId: string, options?: { revoke?: boolean }): Promise<void>;
  /**
   * Refreshes (under the store's lock, once each across the fleet) every stored connection whose
   * last token is older than `olderThanDays` (default 20), before its refresh token dies of
   * idleness. Needs a store with `list(prefix)` (or a KV namespace's own `list`).
   */
  keepAlive(options?: { olderThanDays?: number }): Promise<KeepAliveReport>;
}

export declare class SalesforceSessionError extends Error {
  /** Built by the library from what failed; the message becomes `${code}: ${message}`. */
  constructor(record: {
    code: ErrorCode;
    message: string;
    connectionId?: string | null;
    orgId?: string | null;
    status?: number | null;
    retryable?: boolean;
    reauthRequired?: boolean;
    evidence?: string[];
    fix?: string;
  });
  readonly name: 'SalesforceSessionError';
  readonly code: ErrorCode;
  readonly connectionId: string | null;
  readonly orgId: string | null;
  readonly status: number | null;
  readonly retryable: boolean;
  readonly reauthRequired: boolean;
  readonly evidence: string[];
  readonly fix: string;
}

export declare class MemoryStore implements Store {
  constructor(options?: { now?: () => number });
  get(key: string): Promise<string | null>;
  put(key: string, value: string, options?: { expirationTtl?: number; expiration?: number }): Promise<void>;
  delete(key: string): Promise<void>;
  /** Every live key starting with `prefix`, sorted. */
  list(prefix?: string): Promise<string[]>;
  /** Writes `value` only if the stored value is exactly `expected` (null: only if absent); true when written. */
  compareAndPut(key: string, expected: string | null, value: string): Promise<boolean>;
  /** Number of keys held (for tests and memory figures). */
  readonly size: number;
}

/**
 * Loads the wasm module; safe to call more than once. Browsers and extension service workers load it
 * on first use unless this is awaited first; in Node and Workers it is ready at import and this resolves at once.
 */
export declare function init(input?: unknown): Promise<void>;
