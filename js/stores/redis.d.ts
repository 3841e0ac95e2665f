// Types of salesforce-session/stores/redis: the Redis store of a Node fleet.
import type { Store } from '../index.js';

/** A connected node-redis (v4/v5) client or ioredis client; only raw commands are sent. */
export type RedisClient =
  | { sendCommand(args: string[]): Promise<unknown> }
  | { call(command: string, ...args: string[]): Promise<unknown> };

export interface RedisStoreOptions {
  /** Prepended to every key in Redis (default ''); keys passed in and listed are without it. */
  prefix?: string;
}

export declare class RedisStore implements Store {
  /** Throws INVALID_CONFIG for a client that is neither node-redis nor ioredis. */
  constructor(client: RedisClient, options?: RedisStoreOptions);
  get(key: string): Promise<string | null>;
  /** `expirationTtl` (seconds) becomes SET … EX, `expiration` (epoch seconds) SET … EXAT. */
  put(key: string, value: string, options?: { expirationTtl?: number; expiration?: number }): Promise<void>;
  delete(key: string): Promise<void>;
  /** Every key under `prefix` (SCAN MATCH, the prefix matched literally), sorted, lock keys left out. */
  list(prefix?: string): Promise<string[]>;
  /**
   * SET NX PX with a random token: resolves to its release (a compare-and-delete, harmless twice,
   * never freeing a later holder's lock) or null while another holder has it. ttlMs: a positive
   * integer of at most 600000, else INVALID_CONFIG.
   */
  lock(key: string, ttlMs: number): Promise<(() => Promise<void>) | null>;
  /** Atomic (Lua): writes `value` only if the stored value is exactly `expected` (null: only if absent); true when written. */
  compareAndPut(key: string, expected: string | null, value: string): Promise<boolean>;
}
