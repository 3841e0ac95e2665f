// A store over an MV3 extension's chrome.storage area (local or session), so a service worker's
// connections survive the worker being stopped and restarted. Duck-typed: any object with the
// promise form of get/set/remove works (chrome.storage.local, chrome.storage.session, a stand-in).
import { ErrorCodes, sessionError } from '../errors.js';

const AREA_METHODS = ['get', 'set', 'remove'];

export class ChromeStorageStore {
  #area;

  /** @param {{ get: Function, set: Function, remove: Function }} area e.g. chrome.storage.local */
  constructor(area) {
    const missing = AREA_METHODS.filter((name) => typeof area?.[name] !== 'function');
    if (missing.length) {
      throw sessionError(
        ErrorCodes.INVALID_CONFIG,
        'Invalid configuration: ChromeStorageStore takes a chrome.storage area (chrome.storage.local or chrome.storage.session)',
        [`the storage area has no ${missing.join(', ')} function${missing.length > 1 ? 's' : ''}`],
      );
    }
    this.#area = area;
  }

  /** @returns {Promise<string|null>} */
  async get(key) {
    const items = await this.#area.get(key);
    const value = items?.[key];
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string') {
      throw sessionError(ErrorCodes.STORE_FAILED, 'chrome.storage holds a value that this store did not write', [
        `the value under a store key is a ${typeof value}, not a string`,
      ]);
    }
    return value;
  }

  /** chrome.storage has no expiry: `options` (expirationTtl, expiration) are accepted and not applied. */
  async put(key, value, options) {
    if (typeof value !== 'string') {
      throw sessionError(ErrorCodes.INVALID_CONFIG, 'ChromeStorageStore.put takes a string value', [`the value is a ${typeof value}`]);
    }
    await this.#area.set({ [key]: value });
  }

  async delete(key) {
    await this.#area.remove(key);
  }

  /** Keys under `prefix`, sorted. @returns {Promise<string[]>} */
  async list(prefix = '') {
    const items = (await this.#area.get(null)) ?? {};
    return Object.keys(items).filter((key) => key.startsWith(prefix)).sort();
  }
}
