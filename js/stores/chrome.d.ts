// Types of the chrome.storage store (salesforce-session/stores/chrome).
import type { Store } from '../index.js';

/** The promise form of a chrome.storage area (chrome.storage.local, chrome.storage.session). */
export interface ChromeStorageArea {
  get(keys: string | null): Promise<{ [key: string]: unknown }>;
  set(items: { [key: string]: unknown }): Promise<unknown>;
  remove(keys: string): Promise<unknown>;
}

/**
 * A store over an MV3 extension's chrome.storage area; throws INVALID_CONFIG for anything without
 * get/set/remove. A Store with `list` (for keepAlive); no lock or compareAndPut: one isolate needs none.
 */
export declare class ChromeStorageStore implements Store {
  constructor(area: ChromeStorageArea);
  get(key: string): Promise<string | null>;
  /** chrome.storage has no expiry: `options` are accepted and not applied. */
  put(key: string, value: string, options?: { expirationTtl?: number; expiration?: number }): Promise<void>;
  delete(key: string): Promise<void>;
  /** Keys under `prefix`, sorted. */
  list(prefix?: string): Promise<string[]>;
}
