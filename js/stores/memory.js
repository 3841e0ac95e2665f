// The default store: a Map in this isolate, with the KV shape (get/put/delete) and
// optional expiry, so it can stand in for any shared store in tests and one-process apps.

export class MemoryStore {
  #entries = new Map();
  #now;

  /** @param {{ now?: () => number }} [options] */
  constructor(options = {}) {
    this.#now = options.now ?? Date.now;
  }

  async get(key) {
    const entry = this.#entries.get(key);
    if (entry === undefined) return null;
    if (entry.expiresAt !== undefined && this.#now() >= entry.expiresAt) {
      this.#entries.delete(key);
      return null;
    }
    return entry.value;
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

  /** Number of keys held (for tests and memory figures). */
  get size() {
    return this.#entries.size;
  }
}
