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
import type { RedisClient } from 'salesforce-session/stores/redis';

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
};

function describeEvent(event: SessionEvent): string {
  const who = `${event.connectionId} ${event.orgId} ${event.userId} ${event.at}`;
  switch (event.type) {
    case 'request':
      return `${who} ${event.method} ${event.path} ${event.status} ${event.durationMs} ${event.attempt}`;
    case 'refresh':
      return `${who} ${event.reason} ${event.rotated} ${event.instanceUrl} ${event.perInstanceToken}`;
    case 'refresh_failed':
      return `${who} ${event.code} ${event.evidence.join(';')}`;
    case 'reauth_required':
      return `${who} ${event.reason} ${event.description} ${event.stored}`;
    case 'diagnosis':
      return `${who} ${event.cause} ${event.confidence} ${event.fix}`;
    case 'invalid_session_spike':
      return `${who} ${event.count}/${event.threshold} in ${event.windowSeconds}s: ${event.likelyCauses.join(',')}`;
    case 'org_read_only':
      return `${who} ${event.nextProbeAt}`;
    default:
      return `${who} ${event.type}`;
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
type SameKeys = [keyof typeof ErrorCodes] extends [ErrorCode] ? ([ErrorCode] extends [keyof typeof ErrorCodes] ? true : false) : false;
const sameKeys: SameKeys = true;

// The stores: both satisfy KVStore; the subpath's MemoryStore is the entry's.
const area: ChromeStorageArea = {
  get: async (keys: string | null) => ({ [String(keys)]: 'value' }),
  set: async (items: { [key: string]: unknown }) => items,
  remove: async (keys: string) => keys,
};
const chromeStore: KVStore = new ChromeStorageStore(area);
const keys: Promise<string[]> = new ChromeStorageStore(area).list('sfs:');
const memory: MemoryStore = new MemoryStoreFromSubpath();
const size: number = memory.size;
// RedisStore takes either client shape (node-redis sendCommand, ioredis call) and is a full Store.
const nodeRedisLike: RedisClient = { sendCommand: async (args: string[]) => args.length };
const ioredisLike: RedisClient = { call: async (command: string, ...args: string[]) => [command, ...args] };
const redisStore: Store = new RedisStore(nodeRedisLike, { prefix: 'sfs:' });
const redis = new RedisStore(ioredisLike);
const memoryStore: Store = new MemoryStore();
const lockTaken: Promise<(() => Promise<void>) | null> = redis.lock('acme', 30_000);
const fenced: Promise<boolean> = redis.compareAndPut('acme', null, '{}');
const listed: Promise<string[]> = redis.list('sfs:');
const memoryFenced: Promise<boolean> = memory.compareAndPut('acme', 'old', 'new');

async function main(): Promise<void> {
  await init();
  const sessions = new SessionManager({ ...options, store: chromeStore });
  const instanceId: string = sessions.instanceId;

  const connected: ConnectionInfo = await sessions.connect('acme', { access_token: 'x', instance_url: 'https://acme.my.salesforce.com' });
  const fromText: ConnectionInfo = await sessions.connect('beta', '{"access_token":"x"}');
  const status: 'active' | 'reauth_required' | 'read_only' = connected.status;
  const minted: string = fromText.mintedBy;

  const res: Response = await sessions.fetch('acme', '/services/data/v62.0/limits');
  await sessions.fetch('acme', new URL('https://acme.my.salesforce.com/services/data/v62.0/sobjects/Account'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ Name: 'Acme' }),
  });
  await sessions.fetch('acme', new Request('https://acme.my.salesforce.com/services/data/v62.0/limits'));

  const acme: Connection = sessions.connection('acme');
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
  console.log(made.code, instanceId, status, minted, res.status, bound.ok, boundInfo.orgId, boundReport.fix, info.expiresAt,
    refreshed.issuedAt, cause, nothing, expired, sameKeys, await keys, size, report.connectionId,
    redisStore, memoryStore, await lockTaken, await fenced, await listed, await memoryFenced);
}

void main();
