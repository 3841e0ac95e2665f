// A TypeScript consumer of the whole public interface as it exists today, type-checked by
// types.test.mjs under --strict with nodenext and bundler resolution, against the packed package.
import {
  SessionManager, MemoryStore, SalesforceSessionError, ErrorCodes, init,
} from 'salesforce-session';
import type {
  ErrorCode, SessionManagerOptions, ConnectionInfo, Diagnosis, DiagnosisReport, SessionEvent, KVStore, Store, Connection,
} from 'salesforce-session';
import { ChromeStorageStore } from 'salesforce-session/stores/chrome';
import type { ChromeStorageArea } from 'salesforce-session/stores/chrome';
import { MemoryStore as MemoryStoreFromSubpath } from 'salesforce-session/stores/memory';
import { RedisStore } from 'salesforce-session/stores/redis';
import type { RedisClient, RedisStoreOptions } from 'salesforce-session/stores/redis';
import { SessionStoreObject, DurableObjectStore, DEFAULT_OBJECT_NAME } from 'salesforce-session/stores/durable-object';
import type { DurableObjectNamespaceLike } from 'salesforce-session/stores/durable-object';

// Every option of SessionManagerOptions.
const options: SessionManagerOptions = {
  clientId: 'client',
  clientSecret: 'secret',
  loginUrl: 'https://login.salesforce.com',
  store: new MemoryStore({ now: () => Date.now() }),
  fetch: globalThis.fetch,
  sessionTimeoutSeconds: 7200,
  refreshMarginSeconds: 300,
  instanceId: 'worker-7',
  now: () => Date.now(),
  allowInsecureLoopback: false,
  onEvent: (event: SessionEvent) => describeEvent(event),
  webhook: { url: 'https://hooks.example.com/reauth', secret: 'hook-secret' },
  spike: { windowSeconds: 60, threshold: 10 },
  keyPrefix: 'sfs:',
  apiVersion: '62.0',
  refreshAttempts: 3,
  refreshBackoffMs: 200,
  introspect: true,
  tokenTimeoutMs: 30_000,
};

function describeEvent(event: SessionEvent): string {
  const who = `${event.connectionId} ${event.orgId} ${event.userId} ${event.at}`;
  switch (event.type) {
    case 'request':
      return `${who} ${event.method} ${event.path} ${event.status} ${event.durationMs} ${event.attempt}`;
    case 'refresh':
      return `${who} ${event.reason} ${event.durationMs} ${event.rotated} ${event.attempt} ${event.instanceUrl} ${event.perInstanceToken}`;
    case 'refresh_failed':
      return `${who} ${event.reason} ${event.code} ${event.evidence.join(';')} ${event.durationMs ?? 'no token request'}`;
    case 'reauth_required':
      return `${who} ${event.reason} ${event.description} ${event.stored}`;
    case 'diagnosis':
      return `${who} ${event.cause} ${event.confidence} ${event.evidence.join(';')} ${event.fix}`;
    case 'invalid_session_spike':
      return `${who} ${event.count}/${event.threshold} in ${event.windowSeconds}s: ${event.likelyCauses.join(',')}`;
    case 'org_read_only':
      return `${who} ${event.nextProbeAt}`;
    case 'org_writable':
      return `${who} ${event.readOnlyForMs}`;
    case 'connected':
      return `${who} ${event.instanceUrl}`;
    case 'disconnected':
      return `${who} ${event.revoked}`;
    case 'introspection':
      return `${who} ${event.active} ${event.expiresAt ?? 'no expiry'}`;
    case 'webhook_failed':
      return `${who} ${event.detail}`;
    case 'store_failed':
      return `${who} ${event.operation} ${event.key} ${event.detail}`;
    default: {
      // Exhaustive: an event type added to the union without a case here fails to compile.
      const unreachable: never = event;
      return unreachable;
    }
  }
}

/** Exhaustive over the error-code union: a code added to the union without a case here fails to compile. */
function advice(code: ErrorCode): string {
  switch (code) {
    case 'SESSION_EXPIRED': return 'sign in again';
    case 'WRONG_INSTANCE_URL': return 'use the instance_url';
    case 'IP_LOCKED': return 'relax the IP lock';
    case 'API_CLIENT_CONTROL': return 'approve the connected app';
    case 'SESSION_REVOKED': return 're-authorize';
    case 'ORG_READ_ONLY': return 'wait for maintenance to end';
    case 'REFRESH_FAILED': return 'retry later';
    case 'RATE_LIMITED': return 'slow down';
    case 'API_DISABLED': return 'enable the API';
    case 'UNKNOWN_CONNECTION': return 'connect first';
    case 'INVALID_TOKEN_RESPONSE': return 'pass a token response';
    case 'INVALID_CONFIG': return 'fix the options';
    case 'STORE_FAILED': return 'check the store';
    case 'REFRESH_IP_RESTRICTED': return 'allowlist the egress IP';
    case 'SALESFORCE_UNAVAILABLE': return 'retry later';
    default: {
      const unreachable: never = code;
      return unreachable;
    }
  }
}

// ErrorCodes maps each code to itself, and its keys are exactly the union.
const expired: 'SESSION_EXPIRED' = ErrorCodes.SESSION_EXPIRED;
const ipRestricted: 'REFRESH_IP_RESTRICTED' = ErrorCodes.REFRESH_IP_RESTRICTED;
const unavailable: 'SALESFORCE_UNAVAILABLE' = ErrorCodes.SALESFORCE_UNAVAILABLE;
const everyCode: ErrorCode[] = Object.values(ErrorCodes);
type SameKeys = [keyof typeof ErrorCodes] extends [ErrorCode] ? ([ErrorCode] extends [keyof typeof ErrorCodes] ? true : false) : false;
const sameKeys: SameKeys = true;

// The stores: each is a Store (the KV shape plus what it offers of lock/list/compareAndPut); the
// subpath's MemoryStore is the entry's.
const area: ChromeStorageArea = {
  get: async (keys: string | null) => ({ [String(keys)]: 'value' }),
  set: async (items: { [key: string]: unknown }) => items,
  remove: async (keys: string) => keys,
};
const chromeStore: KVStore = new ChromeStorageStore(area);
const chromeAsStore: Store = new ChromeStorageStore(area);
const chromeArea = new ChromeStorageStore(area);
const keys: Promise<string[]> = chromeArea.list('sfs:');
const chromeRoundTrip = async (): Promise<string | null> => {
  await chromeArea.put('sfs:a', 'value', { expirationTtl: 60 });
  await chromeArea.delete('sfs:a');
  return chromeArea.get('sfs:a');
};
const memory: MemoryStore = new MemoryStoreFromSubpath();
const size: number = memory.size;
// RedisStore takes either client shape (node-redis sendCommand, ioredis call) and is a full Store.
const nodeRedisLike: RedisClient = { sendCommand: async (args: string[]) => args.length };
const ioredisLike: RedisClient = { call: async (command: string, ...args: string[]) => [command, ...args] };
const redisOptions: RedisStoreOptions = { prefix: 'sfs:' };
const redisStore: Store = new RedisStore(nodeRedisLike, redisOptions);
const redis = new RedisStore(ioredisLike);
const redisRoundTrip = async (): Promise<string | null> => {
  await redis.put('acme', 'value', { expirationTtl: 60 });
  await redis.put('beta', 'value', { expiration: Math.floor(Date.now() / 1000) + 60 });
  await redis.delete('beta');
  return redis.get('acme');
};
const memoryStore: Store = new MemoryStore();
const lockTaken: Promise<(() => Promise<void>) | null> = redis.lock('acme', 30_000);
const fenced: Promise<boolean> = redis.compareAndPut('acme', null, '{}');
const listed: Promise<string[]> = redis.list('sfs:');
const memoryFenced: Promise<boolean> = memory.compareAndPut('acme', 'old', 'new');
const memoryRoundTrip = async (): Promise<string[]> => {
  await memory.put('sfs:a', 'value', { expirationTtl: 60 });
  await memory.put('sfs:b', 'value', { expiration: Math.floor(Date.now() / 1000) + 60 });
  await memory.delete('sfs:b');
  console.log(await memory.get('sfs:a'));
  return memory.list('sfs:');
};

// A Cloudflare Durable Object namespace binding as @cloudflare/workers-types declares its members:
// the DurableObjectStore takes one as it is.
interface DurableObjectId { toString(): string; equals(other: DurableObjectId): boolean; readonly name?: string }
interface DurableObjectStub {
  readonly id: DurableObjectId;
  readonly name?: string;
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
}
interface DurableObjectNamespace {
  newUniqueId(): DurableObjectId;
  idFromName(name: string): DurableObjectId;
  idFromString(id: string): DurableObjectId;
  get(id: DurableObjectId, options?: { locationHint?: string }): DurableObjectStub;
}
declare const sessionStoreBinding: DurableObjectNamespace;
const namespace: DurableObjectNamespaceLike = sessionStoreBinding;
const durable = new DurableObjectStore(sessionStoreBinding);
const durableAsStore: Store = durable;
const tenantObject: string = new DurableObjectStore(namespace, { name: 'tenant-7' }).name;
const defaultObject: 'salesforce-session' = DEFAULT_OBJECT_NAME;
const durableWork = async (): Promise<boolean> => {
  await durable.put('acme', 'value', { expirationTtl: 60 });
  const value: string | null = await durable.get('acme');
  const listed: string[] = await durable.list('a');
  const release: (() => Promise<void>) | null = await durable.lock('acme', 30_000);
  if (release) await release();
  await durable.delete('acme');
  return (await durable.compareAndPut('acme', null, value ?? '{}')) && listed.length > 0;
};

// The worker as users write it: the Durable Object class re-exported for its wrangler.toml binding
// (class_name "SessionStoreObject"), one manager per isolate, KV or the Durable Object as its store.
export { SessionStoreObject };
interface Env {
  SALESFORCE_CLIENT_ID: string;
  SALESFORCE_CLIENT_SECRET?: string;
  SESSIONS_KV: KVStore;
  SESSION_STORE: DurableObjectNamespace;
}
let workerSessions: SessionManager | undefined;
export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    workerSessions ??= new SessionManager({
      clientId: env.SALESFORCE_CLIENT_ID,
      clientSecret: env.SALESFORCE_CLIENT_SECRET,
      store: new URL(request.url).searchParams.has('kv') ? env.SESSIONS_KV : new DurableObjectStore(env.SESSION_STORE),
    });
    return workerSessions.fetch('acme', '/services/data/v62.0/limits');
  },
};
// The runtime constructs the object with its state and env, then calls fetch and alarm.
const storeObject = new SessionStoreObject({ storage: {} }, {});
const objectAnswer: Promise<Response> = storeObject.fetch(new Request('https://session-store.invalid/', { method: 'POST', body: '{"op":"get","key":"acme"}' }));
const swept: Promise<void> = storeObject.alarm();

async function main(): Promise<void> {
  await init();
  const sessions = new SessionManager({ ...options, store: chromeStore });
  const instanceId: string = sessions.instanceId;

  const connected: ConnectionInfo = await sessions.connect('acme', { access_token: 'x', instance_url: 'https://acme.my.salesforce.com' });
  const fromText: ConnectionInfo = await sessions.connect('beta', '{"access_token":"x"}');
  const redeemed: ConnectionInfo = await sessions.connectRefreshToken('gamma', 'a-refresh-token');
  const connectionDetails: [string, string, string, string, number, number, string, boolean, boolean, string | undefined] = [
    redeemed.connectionId, redeemed.orgId, redeemed.userId, redeemed.instanceUrl, redeemed.issuedAt, redeemed.expiresAt,
    redeemed.mintedBy, redeemed.hasRefreshToken, redeemed.ipLocked, redeemed.reauthReason,
  ];
  const status: 'active' | 'reauth_required' | 'read_only' = connected.status;
  const minted: string = fromText.mintedBy;

  const res: Response = await sessions.fetch('acme', '/services/data/v62.0/limits');
  await sessions.fetch('acme', new URL('https://acme.my.salesforce.com/services/data/v62.0/sobjects/Account'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ Name: 'Acme' }),
  });
  await sessions.fetch('acme', new Request('https://acme.my.salesforce.com/services/data/v62.0/limits'));
  await sessions.fetch('acme', '/services/data/v62.0/limits', { signal: AbortSignal.timeout(5_000) });

  const acme: Connection = sessions.connection('acme');
  const boundId: string = acme.connectionId;
  const bound: Response = await acme.fetch('/services/data/v62.0/limits');
  const boundInfo: ConnectionInfo = await acme.info();
  await acme.refresh();
  const boundReport: DiagnosisReport = await acme.diagnose();
  await acme.disconnect({ revoke: false });

  const info: ConnectionInfo = await sessions.info('acme');
  const refreshed: ConnectionInfo = await sessions.refresh('acme');
  const report: DiagnosisReport = await sessions.diagnose('acme');
  const diagnosis: Diagnosis = report;
  const cause: ErrorCode | 'OK' = diagnosis.cause;
  for (const check of report.checks) console.log(check.name, check.ok, check.detail);
  const nothing: void = await sessions.disconnect('acme', { revoke: true });
  await sessions.disconnect('beta');

  try {
    await sessions.fetch('acme', '/services/data/v62.0/limits');
  } catch (err) {
    if (err instanceof SalesforceSessionError) {
      const code: ErrorCode = err.code;
      const fields: [string | null, string | null, number | null, boolean, boolean, string[], string, string] =
        [err.connectionId, err.orgId, err.status, err.retryable, err.reauthRequired, err.evidence, err.fix, err.message];
      console.log(advice(code), fields, err.name === 'SalesforceSessionError', err instanceof Error);
    }
  }
  const made = new SalesforceSessionError({ code: 'STORE_FAILED', message: 'made by hand', evidence: ['a'], retryable: true });
  const full = new SalesforceSessionError({
    code: ErrorCodes.REFRESH_IP_RESTRICTED, message: 'm', connectionId: 'acme', orgId: null, status: 400,
    retryable: false, reauthRequired: false, evidence: [], fix: 'Allowlist the egress IP.',
  });
  console.log(made.code, instanceId, status, minted, res.status, bound.ok, boundInfo.orgId, boundReport.fix, info.expiresAt,
    refreshed.issuedAt, cause, nothing, expired, sameKeys, await keys, size, report.connectionId,
    redisStore, memoryStore, await lockTaken, await fenced, await listed, await memoryFenced,
    ipRestricted, unavailable, everyCode, chromeAsStore, await chromeRoundTrip(), await redisRoundTrip(), await memoryRoundTrip(),
    connectionDetails, boundId, full.code, durableAsStore, tenantObject, defaultObject, await durableWork(),
    await objectAnswer, await swept);
}

void main();
