// Types of salesforce-session/stores/durable-object: the object class a worker re-exports and its
// client, a Store with list, compareAndPut and lock.
import type { Store } from '../index.js';

/** What DurableObjectStore needs of a Durable Object namespace binding. */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: any): { fetch(url: string, init: RequestInit): Promise<Response> };
}

/** The name of the object a DurableObjectStore uses when given none. */
export declare const DEFAULT_OBJECT_NAME: 'salesforce-session';

/**
 * The Durable Object class: `export { SessionStoreObject }` from the worker and bind it with
 * class_name "SessionStoreObject". It holds records and locks; it never makes a fetch.
 */
export declare class SessionStoreObject {
  constructor(state: { storage: any }, env?: unknown);
  fetch(request: Request): Promise<Response>;
  alarm(): Promise<void>;
}

/** A store over one SessionStoreObject; throws INVALID_CONFIG for a namespace without idFromName/get. */
export declare class DurableObjectStore implements Store {
  /**
   * @param namespace the Durable Object namespace binding (e.g. env.SESSION_STORE)
   * @param options `name`: the object of the namespace to use (default DEFAULT_OBJECT_NAME; e.g. one per tenant)
   */
  constructor(namespace: DurableObjectNamespaceLike, options?: { name?: string });
  /** The object's name in the namespace. */
  readonly name: string;
  get(key: string): Promise<string | null>;
  /** Options (KV's expirationTtl, expiration) are accepted and not applied: records are deleted explicitly. */
  put(key: string, value: string, options?: { expirationTtl?: number; expiration?: number }): Promise<void>;
  delete(key: string): Promise<void>;
  /** Keys under a prefix; locks are never listed. */
  list(prefix?: string): Promise<string[]>;
  /** Writes only when the stored value is exactly `expected` (`null`: absent); true when it wrote. */
  compareAndPut(key: string, expected: string | null, value: string): Promise<boolean>;
  /**
   * A release function when acquired, null when another holder has it; expires by itself after
   * ttlMs (an integer from 1 to 600000, else INVALID_CONFIG); a release never frees another holder's lock.
   */
  lock(key: string, ttlMs: number): Promise<(() => Promise<void>) | null>;
}
