// Redis as the shared store of a Node fleet: the KV shape (get/put/delete), list by SCAN, a lock
// (SET NX PX, compare-and-delete release) and a fenced compareAndPut, over a connected node-redis
// or ioredis client. Raw commands only, so both clients behave the same.
import { ErrorCodes, sessionError } from '../errors.js';

/** Longest lock a caller may ask for: a refresh is seconds, a stuck holder must not block for long. */
const MAX_LOCK_TTL_MS = 10 * 60 * 1000;
/** Keys SCAN is asked to look at per page. */
const SCAN_PAGE_SIZE = 500;
/**
 * Lock keys are `<prefix>` + this + `<key>`. Data keys may not start with it, so a lock key can
 * never equal a data key, and `list` leaves every key under it out.
 */
const LOCK_SPACE = '\u0000lock:';
/** Longest piece of a client's error message kept in ours. */
const MAX_REASON_LENGTH = 200;

// Deletes the lock only while it still holds this holder's token.
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

// Writes ARGV[3] only if the stored value is ARGV[2] byte for byte (ARGV[1] == '1': only if absent).
const COMPARE_AND_PUT_SCRIPT = `local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current then return 0 end
elseif current ~= ARGV[2] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3])
return 1`;

/** One function sending a raw command (an array of strings), whichever client it is. */
function rawCommandSender(client) {
  if (client && typeof client === 'object') {
    // ioredis first: it has a sendCommand too, but one that takes its own Command objects.
    if (typeof client.call === 'function') return (args) => client.call(...args);
    if (typeof client.sendCommand === 'function') return (args) => client.sendCommand(args);
  }
  throw sessionError(
    ErrorCodes.INVALID_CONFIG,
    'Invalid configuration: RedisStore takes a connected node-redis or ioredis client',
    ['the client has neither sendCommand(args) (node-redis) nor call(command, ...args) (ioredis)'],
  );
}

function invalidArgument(message) {
  return sessionError(ErrorCodes.INVALID_CONFIG, `Invalid argument: ${message}`, [message]);
}

function checkDataKey(key) {
  if (typeof key !== 'string') throw invalidArgument('a RedisStore key must be a string');
  if (key.startsWith(LOCK_SPACE)) throw invalidArgument('a RedisStore key may not start with the lock key space (NUL "lock:")');
}

function checkValue(value, name = 'value') {
  if (typeof value !== 'string') throw invalidArgument(`a RedisStore ${name} must be a string`);
}

/** The expiry arguments of SET for the Cloudflare KV options (seconds). */
function expiryArguments(options) {
  if (options === undefined || options === null) return [];
  if (typeof options !== 'object') throw invalidArgument('RedisStore.put options must be an object');
  const { expirationTtl, expiration } = options;
  if (expirationTtl !== undefined) {
    if (typeof expirationTtl !== 'number' || !Number.isFinite(expirationTtl) || expirationTtl <= 0) {
      throw invalidArgument('expirationTtl must be a positive number of seconds');
    }
    return ['EX', String(Math.ceil(expirationTtl))];
  }
  if (expiration !== undefined) {
    if (typeof expiration !== 'number' || !Number.isFinite(expiration) || expiration <= 0) {
      throw invalidArgument('expiration must be a positive epoch time in seconds');
    }
    return ['EXAT', String(Math.ceil(expiration))];
  }
  return [];
}

/** SCAN MATCH treats * ? [ ] \ as glob syntax; a prefix is matched literally. */
function escapeGlob(text) {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** True when `text` holds `secret` or any 16-character piece of it. */
function mentions(text, secret) {
  if (!secret) return false;
  if (secret.length <= 16) return text.includes(secret);
  for (let i = 0; i + 16 <= secret.length; i += 1) {
    if (text.includes(secret.slice(i, i + 16))) return true;
  }
  return false;
}

/**
 * What a failed command rejects with: the operation and key, and the client's reason unless it
 * mentions a value being written. The client's error is not kept (ioredis attaches the command's
 * arguments to it), so nothing written can reach a log through it.
 */
function storeFailure(operation, key, thrown, writtenValues) {
  let reason = thrown instanceof Error ? thrown.message : String(thrown);
  if (writtenValues.some((value) => mentions(reason, value))) reason = '[the client error mentioned the value; withheld]';
  if (reason.length > MAX_REASON_LENGTH) reason = `${reason.slice(0, MAX_REASON_LENGTH)}…`;
  const shownKey = key.startsWith(LOCK_SPACE) ? `lock ${key.slice(LOCK_SPACE.length)}` : key;
  return new Error(`Redis ${operation} of key ${JSON.stringify(shownKey)} failed: ${reason}`);
}

function randomToken() {
  if (typeof globalThis.crypto?.randomUUID === 'function') return globalThis.crypto.randomUUID();
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class RedisStore {
  #send;
  #prefix;

  /**
   * @param {object} client a connected node-redis (v4/v5) or ioredis client
   * @param {{ prefix?: string }} [options] prepended to every key in Redis (default '')
   */
  constructor(client, options = {}) {
    this.#send = rawCommandSender(client);
    const prefix = options?.prefix ?? '';
    if (typeof prefix !== 'string') throw sessionError(ErrorCodes.INVALID_CONFIG, "Invalid configuration: option 'prefix' must be a string", ["option 'prefix' must be a string"]);
    this.#prefix = prefix;
  }

  /** Sends one command; a failure rejects naming the operation and key, never a written value. */
  async #command(operation, key, args, writtenValues = []) {
    try {
      return await this.#send(args);
    } catch (thrown) {
      throw storeFailure(operation, key, thrown, writtenValues);
    }
  }

  /** @returns {Promise<string|null>} */
  async get(key) {
    checkDataKey(key);
    const reply = await this.#command('GET', key, ['GET', this.#prefix + key]);
    return reply === null || reply === undefined ? null : String(reply);
  }

  /** @param {{ expirationTtl?: number, expiration?: number }} [options] seconds, as Cloudflare KV takes them */
  async put(key, value, options) {
    checkDataKey(key);
    checkValue(value);
    const expiry = expiryArguments(options);
    await this.#command('SET', key, ['SET', this.#prefix + key, value, ...expiry], [value]);
  }

  async delete(key) {
    checkDataKey(key);
    await this.#command('DEL', key, ['DEL', this.#prefix + key]);
  }

  /** Every key under `prefix` (without the store's own prefix); lock keys are never among them. */
  async list(prefix = '') {
    if (typeof prefix !== 'string') throw invalidArgument('a RedisStore list prefix must be a string');
    const pattern = `${escapeGlob(this.#prefix + prefix)}*`;
    const lockSpace = this.#prefix + LOCK_SPACE;
    const found = new Set();
    let cursor = '0';
    do {
      const reply = await this.#command('SCAN', prefix, ['SCAN', cursor, 'MATCH', pattern, 'COUNT', String(SCAN_PAGE_SIZE)]);
      if (!Array.isArray(reply) || reply.length !== 2 || !Array.isArray(reply[1])) {
        throw new Error(`Redis SCAN of key ${JSON.stringify(prefix)} failed: an unexpected reply`);
      }
      cursor = String(reply[0]);
      for (const raw of reply[1]) {
        const key = String(raw);
        if (key.startsWith(lockSpace)) continue;
        found.add(key.slice(this.#prefix.length));
      }
    } while (cursor !== '0');
    return [...found].sort();
  }

  /**
   * Takes the lock `key` for `ttlMs` (a positive integer, at most 10 minutes). Resolves to its
   * release, or null when another holder has it. The lock frees itself after ttlMs; a release
   * never frees a lock another holder took since, and releasing twice is harmless.
   * @returns {Promise<(() => Promise<void>) | null>}
   */
  async lock(key, ttlMs) {
    if (typeof key !== 'string') throw invalidArgument('a RedisStore lock key must be a string');
    if (!Number.isInteger(ttlMs) || ttlMs <= 0 || ttlMs > MAX_LOCK_TTL_MS) {
      throw invalidArgument(`a lock ttlMs must be a positive integer of at most ${MAX_LOCK_TTL_MS} ms`);
    }
    const lockKey = this.#prefix + LOCK_SPACE + key;
    const shownKey = LOCK_SPACE + key;
    const token = randomToken();
    const reply = await this.#command('SET NX PX', shownKey, ['SET', lockKey, token, 'NX', 'PX', String(ttlMs)]);
    if (reply === null || reply === undefined) return null;
    let released = false;
    return async () => {
      if (released) return;
      await this.#command('EVAL (release)', shownKey, ['EVAL', RELEASE_SCRIPT, '1', lockKey, token]);
      released = true;
    };
  }

  /**
   * Writes `value` only if the stored value is exactly `expected` (null: only if the key is
   * absent), atomically. Resolves true when written, false when the stored value differed.
   */
  async compareAndPut(key, expected, value) {
    checkDataKey(key);
    if (expected !== null) checkValue(expected, 'expected value');
    checkValue(value);
    const written = [value, ...(expected === null ? [] : [expected])];
    const args = ['EVAL', COMPARE_AND_PUT_SCRIPT, '1', this.#prefix + key, expected === null ? '1' : '0', expected ?? '', value];
    const reply = await this.#command('EVAL (compareAndPut)', key, args, written);
    return Number(reply) === 1;
  }
}
