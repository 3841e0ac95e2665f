// Deliberate type errors: types.test.mjs asserts that tsc refuses this file (so the check can fail).
import { SessionManager, SalesforceSessionError } from 'salesforce-session';
import type { ErrorCode } from 'salesforce-session';
import { ChromeStorageStore } from 'salesforce-session/stores/chrome';
import { RedisStore } from 'salesforce-session/stores/redis';
import { DurableObjectStore } from 'salesforce-session/stores/durable-object';

// TS2345: clientId is required.
export const noClientId = new SessionManager({ loginUrl: 'https://login.salesforce.com' });
// TS2322: not one of the error codes.
export const notACode: ErrorCode = 'NOT_A_CODE';
// TS2551: no such method on the manager.
export const misspelt = (sessions: SessionManager) => sessions.refreshAll();
// TS2345: a chrome.storage area needs get, set and remove.
export const notAnArea = new ChromeStorageStore({ get: async () => ({}) });
// TS2322: status is a number or null.
export const statusText = (err: SalesforceSessionError): string => err.status;
// TS2353: a Redis client has sendCommand (node-redis) or call (ioredis).
export const notAClient = new RedisStore({ get: async () => null });
// TS2345: a Durable Object namespace binding has idFromName and get.
export const notANamespace = new DurableObjectStore({ get: () => ({ fetch: async () => new Response() }) });
// TS2322: tokenTimeoutMs is a number of milliseconds.
export const timeoutText = new SessionManager({ clientId: 'c', tokenTimeoutMs: '30s' });
// TS2741: a Store has put (the KV shape), whatever optional methods it offers.
export const lockOnly: import('salesforce-session').Store = { get: async () => null, delete: async () => {}, lock: async () => null };
