// Types of the Durable Object store: the object class a worker re-exports and its KV-shaped client.

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

export declare class DurableObjectStore {
  /** @param namespace the Durable Object namespace binding (e.g. env.SESSION_STORE) */
  constructor(namespace: DurableObjectNamespaceLike, options?: { name?: string });
  readonly name: string;
  get(key: string): Promise<string | null>;
  put(key: string, value: string, options?: { expirationTtl?: number; expiration?: number }): Promise<void>;
  delete(key: string): Promise<void>;
  /** Keys under a prefix; locks are never listed. */
  list(prefix?: string): Promise<string[]>;
  /** Writes only when the stored value is exactly `expected` (`null`: absent); true when it wrote. */
  compareAndPut(key: string, expected: string | null, value: string): Promise<boolean>;
  /** A release function when acquired, null when another holder has it; expires by itself after ttlMs. */
  lock(key: string, ttlMs: number): Promise<(() => Promise<void>) | null>;
}
