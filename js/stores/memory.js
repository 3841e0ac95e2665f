// The default store: a Map in this isolate, with the KV shape (get/put/delete), optional expiry,
// list and compareAndPut, so it can stand in for any shared store in tests and one-process apps.

export class MemoryStore {
  #entries = new Map();
  #now;

  /** @param {{ now?: () => number }} [options] */
  constructor(options = {}) {
    this.#now = options.now ?? Date.now;
  }

  async get(key) {
    return this.#live(key);
  }

  /** @param {{ expirationTtl?: number, expiration?: number }} [options] seconds, as Cloudflare KV takes them */
  async put(key, value, options = {}) {
    if (typeof value !== 'string') throw new TypeError('MemoryStore.put takes a string value');
    let expiresAt;
    if (options.expirationTtl !== undefined) expiresAt = this.#now() + options.expirationTtl * 1000;
    else if (options.expiration !== undefined) expiresAt = options.expiration * 1000;
    this.#entries.set(key, { value, expiresAt });
  }

  async delete(key) {
    this.#entries.delete(key);
  }

  /** Every live key that starts with `prefix`, sorted. */
  async list(prefix = '') {
    if (typeof prefix !== 'string') throw new TypeError('MemoryStore.list takes a string prefix');
    const keys = [];
    for (const key of [...this.#entries.keys()]) {
      if (key.startsWith(prefix) && this.#live(key) !== null) keys.push(key);
    }
    return keys.sort();
  }

  /**
   * Writes `value` only if the stored value is exactly `expected` (null: only if the key is
   * absent). Resolves true when written, false when the stored value differed. Atomic: nothing
   * awaits between the read and the write.
   */
  async compareAndPut(key, expected, value) {
    if (typeof value !== 'string') throw new TypeError('MemoryStore.compareAndPut takes a string value');
    if (expected !== null && typeof expected !== 'string') throw new TypeError('MemoryStore.compareAndPut takes a string or null expected value');
    const current = this.#live(key);
    if (current !== expected) return false;
    this.#entries.set(key, { value, expiresAt: undefined });
    return true;
  }

  /** The value held under `key` now, or null (an expired entry is dropped). */
  #live(key) {
    const entry = this.#entries.get(key);
    if (entry === undefined) return null;
    if (entry.expiresAt !== undefined && this.#now() >= entry.expiresAt) {
      this.#entries.delete(key);
      return null;
    }
    return entry.value;
  }

  /** Number of keys held (for tests and memory figures). */
  get size() {
    return this.#entries.size;
  }
}
