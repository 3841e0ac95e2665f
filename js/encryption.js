// Encryption at rest: a store wrapper that AES-256-GCM encrypts every value through the
// platform's WebCrypto before the caller's store sees it, and decrypts what it reads back.
//
// A stored value is `sfs1.<key id>.<iv>.<ciphertext>` (base64url, a fresh 12-byte IV per
// write). The key id is in the clear, so a value written under an older key is read with
// that key and rewritten under the current one on its next write. The key id and the
// store key are bound to the ciphertext as additional data: a value moved to another key,
// or relabelled with another key id, fails to decrypt like any altered value. A value
// that cannot be decrypted rejects with an error naming the key id (the engine reports
// it as STORE_FAILED) and is never overwritten by the failure. The key itself never
// appears in a message.

import { ErrorCodes, sessionError } from './errors.js';

const FORMAT = 'sfs1';
const IV_BYTES = 12;
const KEY_BYTES = 32;
/** The key id of a single key given as `encryptionKey` (to rotate it later, name it 'default' among `keys`). */
export const DEFAULT_KEY_ID = 'default';
const KID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const B64URL = /^[A-Za-z0-9_-]*$/;

function invalid(detail) {
  return sessionError(ErrorCodes.INVALID_CONFIG, `Invalid configuration: ${detail}`, [detail], {
    fix: "Pass encryptionKey as 32 random bytes (a base64 string or a Uint8Array), an AES-GCM CryptoKey of 256 bits, or { keys: { <id>: <key>, … }, current: <id> }.",
  });
}

function subtle() {
  const api = globalThis.crypto?.subtle;
  if (!api) throw new Error('this runtime has no crypto.subtle (WebCrypto)');
  return api;
}

// ---- base64 --------------------------------------------------------------------------------------

export function base64url(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Bytes of a base64 or base64url text; null when it is neither. */
function fromBase64(text) {
  const normalised = text.trim().replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/]*$/.test(normalised) || normalised.length % 4 === 1) return null;
  let binary;
  try {
    binary = atob(normalised.padEnd(normalised.length + ((4 - (normalised.length % 4)) % 4), '='));
  } catch {
    return null;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function fromBase64url(text) {
  return B64URL.test(text) ? fromBase64(text) : null;
}

// ---- keys ----------------------------------------------------------------------------------------

function isCryptoKey(value) {
  return typeof value === 'object' && value !== null && typeof value.type === 'string' &&
    typeof value.algorithm === 'object' && value.algorithm !== null && Array.isArray(value.usages);
}

/** One key of the keyring: its id and a promise of the AES-GCM CryptoKey (imported once, lazily). */
function keyEntry(kid, given, where, { current }) {
  if (typeof given === 'string') {
    const bytes = fromBase64(given);
    if (!bytes) throw invalid(`${where} is not base64 (32 bytes as base64, or a Uint8Array, or an AES-GCM CryptoKey)`);
    return rawKeyEntry(kid, bytes, where);
  }
  if (given instanceof Uint8Array) return rawKeyEntry(kid, new Uint8Array(given), where);
  if (isCryptoKey(given)) {
    const { algorithm, usages } = given;
    if (given.type !== 'secret' || algorithm.name !== 'AES-GCM') {
      throw invalid(`${where} is a CryptoKey for ${String(algorithm.name)} (${String(given.type)}); an AES-GCM secret key is needed`);
    }
    if (algorithm.length !== KEY_BYTES * 8) {
      throw invalid(`${where} is an AES-GCM key of ${String(algorithm.length)} bits; AES-256-GCM needs 256`);
    }
    const needed = current ? ['encrypt', 'decrypt'] : ['decrypt'];
    const missing = needed.filter((usage) => !usages.includes(usage));
    if (missing.length > 0) throw invalid(`${where} is a CryptoKey without the usage${missing.length > 1 ? 's' : ''} ${missing.join(' and ')}`);
    return { kid, key: Promise.resolve(given) };
  }
  const kind = given === null ? 'null' : Array.isArray(given) ? 'an array' : typeof given;
  throw invalid(`${where} is ${kind}; it must be 32 bytes (a base64 string or a Uint8Array) or an AES-GCM CryptoKey`);
}

function rawKeyEntry(kid, bytes, where) {
  if (bytes.length !== KEY_BYTES) {
    const length = bytes.length;
    bytes.fill(0);
    throw invalid(`${where} is ${length} bytes; AES-256-GCM needs a key of exactly 32 bytes`);
  }
  let imported = null;
  return {
    kid,
    get key() {
      imported ??= Promise.resolve()
        .then(() => subtle().importKey('raw', bytes, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']))
        .finally(() => bytes.fill(0));
      return imported;
    },
  };
}

/**
 * The keyring an `encryptionKey` option describes: `{ current, keys: Map<kid, entry> }`. Throws
 * INVALID_CONFIG (naming what is wrong, never the key) for anything but 32 bytes, an AES-256-GCM
 * CryptoKey, or `{ keys: { kid: key }, current: kid }`.
 */
export function encryptionKeyring(option) {
  if (typeof option === 'object' && option !== null && !Array.isArray(option) && !(option instanceof Uint8Array) && !isCryptoKey(option)) {
    const { keys, current } = option;
    if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) {
      throw invalid("option 'encryptionKey' must be a key or { keys: { <id>: <key> }, current: <id> }; 'keys' is missing or not an object");
    }
    const ids = Object.keys(keys);
    if (ids.length === 0) throw invalid("option 'encryptionKey.keys' holds no key");
    for (const kid of ids) {
      if (!KID_PATTERN.test(kid)) throw invalid(`option 'encryptionKey.keys' has a key id that is not 1 to 64 letters, digits, '-' or '_'`);
    }
    if (typeof current !== 'string' || !Object.hasOwn(keys, current)) {
      throw invalid(`option 'encryptionKey.current' must name one of the key ids in 'keys' (${ids.map((id) => `'${id}'`).join(', ')})`);
    }
    const entries = new Map();
    for (const kid of ids) {
      entries.set(kid, keyEntry(kid, keys[kid], `option 'encryptionKey.keys.${kid}'`, { current: kid === current }));
    }
    return { current, keys: entries };
  }
  return {
    current: DEFAULT_KEY_ID,
    keys: new Map([[DEFAULT_KEY_ID, keyEntry(DEFAULT_KEY_ID, option, "option 'encryptionKey'", { current: true })]]),
  };
}

// ---- values --------------------------------------------------------------------------------------

const encoder = new TextEncoder();

/** The additional data bound to a value: its format, key id and store key. */
function additionalData(kid, storeKey) {
  return encoder.encode(`${FORMAT}.${kid}.${storeKey}`);
}

/** Why a stored value cannot be read; the key id leads (the engine clips long details). */
function unreadable(kid, what) {
  const error = new Error(kid === null ? what : `key id '${kid}': ${what}`);
  error.keyId = kid;
  return error;
}

async function encryptValue(keyring, storeKey, plain) {
  const kid = keyring.current;
  const key = await keyring.keys.get(kid).key;
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = await subtle().encrypt({ name: 'AES-GCM', iv, additionalData: additionalData(kid, storeKey) }, key, encoder.encode(plain));
  return `${FORMAT}.${kid}.${base64url(iv)}.${base64url(new Uint8Array(sealed))}`;
}

async function decryptValue(keyring, storeKey, stored) {
  const parts = stored.split('.');
  if (parts.length !== 4 || parts[0] !== FORMAT || !KID_PATTERN.test(parts[1])) {
    throw unreadable(null, 'the stored value is not encrypted by this library (encryption at rest is on: connect the connection again)');
  }
  const [, kid, ivText, sealedText] = parts;
  const entry = keyring.keys.get(kid);
  if (!entry) {
    throw unreadable(kid, `the stored value is encrypted under this key id, which is not among this manager's keys (${[...keyring.keys.keys()].map((id) => `'${id}'`).join(', ')})`);
  }
  const iv = fromBase64url(ivText);
  const sealed = fromBase64url(sealedText);
  const failed = () => unreadable(kid, 'the stored value cannot be decrypted (a wrong key, or the value was altered)');
  if (!iv || iv.length !== IV_BYTES || !sealed || sealed.length < 16) throw failed();
  const key = await entry.key;
  let plain;
  try {
    plain = await subtle().decrypt({ name: 'AES-GCM', iv, additionalData: additionalData(kid, storeKey) }, key, sealed);
  } catch {
    throw failed();
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(plain);
  } catch {
    throw failed();
  }
}

/**
 * `store` (the host store the engine calls: get, put, delete and the optional compareAndPut,
 * lock and list) with every value encrypted under `keyring` (from `encryptionKeyring`). Keys,
 * locks and listings pass through as they are.
 */
export function encryptedStore(store, keyring) {
  const read = async (key) => {
    const stored = await store.get(key);
    if (stored === null || stored === undefined || typeof stored !== 'string') return stored;
    return decryptValue(keyring, key, stored);
  };
  return {
    get: read,
    async put(key, value, ...rest) {
      return store.put(key, await encryptValue(keyring, key, value), ...rest);
    },
    delete: (key) => store.delete(key),
    /**
     * Writes `value` only if the stored value decrypts to `expected` (null: only if absent). The
     * fenced write goes to the inner store over the exact text read, so a write in between wins.
     */
    async compareAndPut(key, expected, value) {
      const stored = await store.get(key);
      const present = stored !== null && stored !== undefined;
      if (!present) {
        if (expected !== null && expected !== undefined) return false;
      } else {
        if (expected === null || expected === undefined) return false;
        const plain = typeof stored === 'string' ? await decryptValue(keyring, key, stored) : stored;
        if (plain !== expected) return false;
      }
      const sealed = await encryptValue(keyring, key, value);
      if (typeof store.compareAndPut === 'function') return Boolean(await store.compareAndPut(key, present ? stored : null, sealed));
      // A store without a fenced write: as the engine does then, re-read and write.
      await store.put(key, sealed);
      return true;
    },
    lock: store.lock,
    list: store.list,
  };
}
