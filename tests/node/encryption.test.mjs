// Encryption at rest (option encryptionKey): every stored value AES-256-GCM encrypted through
// WebCrypto, readable by another manager with the key, a STORE_FAILED naming the key id for a wrong
// key or an altered value (the value left byte-identical), rotation, and the key checks.
// Run from the scratch consumer: node --test tests/node/encryption.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { MemoryStore } from 'salesforce-session';
import {
  API, startEmu, makeManager, connectNew, expectSessionError, expectSessionErrorSync, collectSecrets, findLeaks, TestStore,
} from './helpers.mjs';

const LIMITS = `${API}/limits`;
const CLIENT_SECRET = 'encryption-suite-client-secret-0123456789';
const RECORD = 'sfs:conn:acme';
const VALUE = /^sfs1\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]+)$/;

const randomKey = () => webcrypto.getRandomValues(new Uint8Array(32));
const b64 = (bytes) => Buffer.from(bytes).toString('base64');

/** A MemoryStore that records what reaches it: every compareAndPut's expected and written value. */
class RecordingStore extends MemoryStore {
  constructor() {
    super();
    this.casCalls = [];
  }

  async compareAndPut(key, expected, value) {
    const written = await super.compareAndPut(key, expected, value);
    this.casCalls.push({ key, expected, value, written });
    return written;
  }
}

async function rawValues(store) {
  const keys = await store.list('');
  return Promise.all(keys.map(async (key) => [key, await store.get(key)]));
}

/** Everything a stored value must not show: the secrets, and what identifies the org and the connection. */
function assertSealed(values, emu, secrets, { kid = 'default' } = {}) {
  assert.ok(values.length > 0, 'something is stored');
  const ivs = new Set();
  for (const [key, value] of values) {
    const match = VALUE.exec(value);
    assert.ok(match, `${key} holds an sfs1 value: ${value.slice(0, 40)}…`);
    assert.equal(match[1], kid, `${key} is under key id ${kid}`);
    ivs.add(match[2]);
    for (const clear of [emu.instanceUrl, new URL(emu.instanceUrl).host, emu.loginUrl, emu.orgId, emu.defaultUserId, emu.orgId.slice(0, 15), 'access_token', 'accessToken', 'instanceUrl', '{', '"']) {
      assert.ok(!value.includes(clear), `${key}: ${clear} is not readable in the stored value`);
    }
  }
  assert.equal(ivs.size, values.length, 'every value has its own IV');
  assert.deepEqual(findLeaks(secrets, values), [], 'no secret, nor a piece of one, in a stored value');
}

test('every stored value is sealed: no token, secret, instance URL or id readable; a fresh IV on each write', async (t) => {
  const emu = await startEmu(t, { clientSecret: CLIENT_SECRET });
  emu.policy.rotateRefreshTokens = true;
  const key = randomKey();
  const store = new MemoryStore();
  const { sm, events } = makeManager(emu, { store, clientSecret: CLIENT_SECRET, encryptionKey: key });
  const { tokens } = await connectNew(sm, emu);
  const first = await store.get(RECORD);
  assert.equal((await sm.fetch('acme', LIMITS)).status, 200);
  await sm.refresh('acme');
  await sm.refresh('acme');
  const values = await rawValues(store);
  const secrets = collectSecrets(emu, [tokens.refresh_token, CLIENT_SECRET, key]);
  assertSealed(values, emu, secrets);
  assert.notEqual(await store.get(RECORD), first, 'each write of the record is a new ciphertext');
  assert.equal(emu.tokenRequests({ grantType: 'refresh_token' }).length, 2);
  assert.deepEqual(findLeaks(secrets, events.map((e, i) => [`event ${i}`, e])), [], 'nor in an event');
  assert.deepEqual(findLeaks(collectSecrets(emu, [key]), [['info', await sm.info('acme')]]), []);
});

test('a second manager with the same key (given as base64) reads what the first stored, with no token request', async (t) => {
  const emu = await startEmu(t);
  const key = randomKey();
  const store = new MemoryStore();
  const { sm: first } = makeManager(emu, { store, encryptionKey: key });
  const { tokens, info } = await connectNew(first, emu);
  const { sm: second } = makeManager(emu, { store, encryptionKey: b64(key) });
  const read = await second.info('acme');
  assert.equal(read.instanceUrl, emu.instanceUrl);
  assert.equal(read.userId, info.userId);
  assert.equal(read.hasRefreshToken, true);
  const response = await second.fetch('acme', LIMITS);
  assert.equal(response.status, 200);
  assert.equal(emu.tokenRequests().length, 0, 'the stored session was used as it is');
  assert.ok(emu.log.some((e) => e.authorization === `Bearer ${tokens.access_token}`), 'with the stored access token');
  // A base64url rendering of the same bytes is the same key too.
  const { sm: third } = makeManager(emu, { store, encryptionKey: Buffer.from(key).toString('base64url') });
  assert.equal((await third.info('acme')).orgId, emu.orgId);
});

test('an AES-GCM CryptoKey (non-extractable) serves as the key', async (t) => {
  const emu = await startEmu(t);
  const cryptoKey = await webcrypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  const store = new MemoryStore();
  const { sm } = makeManager(emu, { store, encryptionKey: cryptoKey });
  await connectNew(sm, emu);
  assertSealed(await rawValues(store), emu, collectSecrets(emu));
  const { sm: second } = makeManager(emu, { store, encryptionKey: cryptoKey });
  assert.equal((await second.fetch('acme', LIMITS)).status, 200);
});

test('a wrong key is STORE_FAILED naming the key id, and the stored value stays byte-identical', async (t) => {
  const emu = await startEmu(t, { clientSecret: CLIENT_SECRET });
  const key = randomKey();
  const wrong = randomKey();
  const store = new MemoryStore();
  const { sm } = makeManager(emu, { store, clientSecret: CLIENT_SECRET, encryptionKey: key });
  const { tokens } = await connectNew(sm, emu);
  const before = await rawValues(store);
  emu.clearLog();

  const { sm: other, events } = makeManager(emu, { store, clientSecret: CLIENT_SECRET, encryptionKey: wrong });
  const errors = [];
  for (const [label, call] of [['info', () => other.info('acme')], ['fetch', () => other.fetch('acme', LIMITS)], ['refresh', () => other.refresh('acme')], ['diagnose', () => other.diagnose('acme')]]) {
    const err = await expectSessionError(call, 'STORE_FAILED', label);
    const text = `${err.message} ${err.evidence.join(' ')}`;
    assert.match(text, /key id 'default'/, `${label}: the error names the key id: ${text}`);
    assert.match(err.message, /key id 'default'/, `${label}: the message names it`);
    assert.match(err.fix, /key id 'default'/, `${label}: so does the fix`);
    errors.push([label, err]);
  }
  assert.deepEqual(await rawValues(store), before, 'nothing stored was changed by the failures');
  assert.deepEqual(emu.log, [], 'nothing was sent: no token request, no call');
  const secrets = collectSecrets(emu, [tokens.refresh_token, CLIENT_SECRET, key, wrong]);
  assert.deepEqual(findLeaks(secrets, [...errors, ...events.map((e, i) => [`event ${i}`, e])]), []);
  // The right key still reads it.
  assert.equal((await sm.fetch('acme', LIMITS)).status, 200);
});

test('rotation: a value under an old key id is read with it and rewritten under the current key on its next write', async (t) => {
  const emu = await startEmu(t);
  const k1 = randomKey();
  const k2 = randomKey();
  const store = new MemoryStore();
  const { sm: old } = makeManager(emu, { store, encryptionKey: { keys: { k1 }, current: 'k1' } });
  await connectNew(old, emu);
  assert.equal(VALUE.exec(await store.get(RECORD))[1], 'k1');

  const [oldKey, newKey] = [b64(k1), k2];
  const { sm: rotated } = makeManager(emu, { store, encryptionKey: { keys: { k1: oldKey, k2: newKey }, current: 'k2' } });
  assert.equal((await rotated.fetch('acme', LIMITS)).status, 200, 'the k1 value is read');
  assert.equal(VALUE.exec(await store.get(RECORD))[1], 'k1', 'reading rewrites nothing');
  await rotated.refresh('acme');
  assert.equal(VALUE.exec(await store.get(RECORD))[1], 'k2', 'the next write is under the current key');
  for (const [, value] of await rawValues(store)) assert.equal(VALUE.exec(value)?.[1], 'k2');

  const { sm: onlyK2 } = makeManager(emu, { store, encryptionKey: { keys: { k2 }, current: 'k2' } });
  assert.equal((await onlyK2.info('acme')).orgId, emu.orgId, 'the old key can go once every value was rewritten');
  const before = await store.get(RECORD);
  const { sm: onlyK1 } = makeManager(emu, { store, encryptionKey: { keys: { k1 }, current: 'k1' } });
  const err = await expectSessionError(() => onlyK1.info('acme'), 'STORE_FAILED');
  assert.match(err.evidence.join(' '), /key id 'k2'/, 'a manager without k2 is told which key id it lacks');
  assert.equal(await store.get(RECORD), before);
});

test('an altered value is STORE_FAILED naming the key id, left as it is: a flipped byte, a relabelled key id, a value moved to another key, a cut value, plain text', async (t) => {
  const emu = await startEmu(t);
  const k1 = randomKey();
  const k2 = randomKey();
  const store = new MemoryStore();
  const encryptionKey = { keys: { k1, k2 }, current: 'k1' };
  const { sm } = makeManager(emu, { store, encryptionKey });
  await connectNew(sm, emu, 'acme');
  await connectNew(sm, emu, 'beta');
  const good = await store.get(RECORD);
  const [, kid, iv, sealed] = good.split('.');
  const flip = (text, at) => text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
  const altered = [
    ['a flipped ciphertext character', `sfs1.${kid}.${iv}.${flip(sealed, 10)}`, /key id 'k1'/],
    ['a flipped tag character', `sfs1.${kid}.${iv}.${flip(sealed, sealed.length - 3)}`, /key id 'k1'/],
    ['a flipped IV character', `sfs1.${kid}.${flip(iv, 2)}.${sealed}`, /key id 'k1'/],
    ['the key id relabelled', `sfs1.k2.${iv}.${sealed}`, /key id 'k2'/],
    ['an unknown key id', `sfs1.k9.${iv}.${sealed}`, /key id 'k9'/],
    ['beta\'s value moved under acme', await store.get('sfs:conn:beta'), /key id 'k1'/],
    ['a cut value', good.slice(0, 60), /key id 'k1'|not encrypted/],
    ['plain text', JSON.stringify({ accessToken: 'x'.repeat(40), instanceUrl: emu.instanceUrl }), /not encrypted/],
  ];
  for (const [label, value, names] of altered) {
    await store.put(RECORD, value);
    const { sm: reader } = makeManager(emu, { store, encryptionKey });
    const err = await expectSessionError(() => reader.fetch('acme', LIMITS), 'STORE_FAILED', label);
    assert.match(err.evidence.join(' '), names, `${label}: ${err.evidence.join(' ')}`);
    assert.equal(await store.get(RECORD), value, `${label}: the value is left byte-identical`);
  }
  await store.put(RECORD, good);
  const { sm: reader } = makeManager(emu, { store, encryptionKey });
  assert.equal((await reader.fetch('acme', LIMITS)).status, 200, 'the untouched value reads');
});

test('a refresh writes through the inner store\'s compareAndPut over the exact ciphertext it read', async (t) => {
  const emu = await startEmu(t);
  const store = new RecordingStore();
  const { sm } = makeManager(emu, { store, encryptionKey: randomKey() });
  await connectNew(sm, emu);
  const before = await store.get(RECORD);
  await sm.refresh('acme');
  const onRecord = store.casCalls.filter((c) => c.key === RECORD && c.written);
  assert.ok(onRecord.length >= 1, `the record was written with compareAndPut (${store.casCalls.length} calls)`);
  assert.equal(onRecord.at(-1).expected, before, 'the fence is the stored ciphertext, not the plain record');
  assert.match(onRecord.at(-1).value, VALUE);
  assert.equal(await store.get(RECORD), onRecord.at(-1).value);
});

test('a write over a record that changed meanwhile loses: the other connect stays stored', async (t) => {
  const emu = await startEmu(t);
  const key = randomKey();
  const store = new RecordingStore();
  const other = emu.createUser({ username: 'other.user@example.com' });
  const { sm: a } = makeManager(emu, { store, encryptionKey: key });
  await connectNew(a, emu, 'acme');
  assert.equal((await a.fetch('acme', LIMITS)).status, 200);
  const { sm: b } = makeManager(emu, { store, encryptionKey: key });
  await connectNew(b, emu, 'acme', { userId: other.userId });
  await a.refresh('acme');
  const { sm: c } = makeManager(emu, { store, encryptionKey: key });
  assert.equal((await c.info('acme')).userId, other.userId, "b's connect is what is stored");
  assert.ok(store.casCalls.every((call) => call.expected === null || VALUE.test(call.expected)), 'every fence the inner store saw is a ciphertext');
});

test('a store with only get, put and delete works encrypted (no compareAndPut, lock or list)', async (t) => {
  const emu = await startEmu(t);
  const key = randomKey();
  const store = new TestStore();
  const { sm } = makeManager(emu, { store, encryptionKey: key });
  await connectNew(sm, emu);
  emu.expireAllSessions();
  assert.equal((await sm.fetch('acme', LIMITS)).status, 200, 'a 401, a refresh and the retried call');
  assert.equal(emu.tokenRequests({ grantType: 'refresh_token' }).length, 1);
  assertSealed(store.snapshot(), emu, collectSecrets(emu, [key]));
  const { sm: second } = makeManager(emu, { store, encryptionKey: key });
  assert.equal((await second.fetch('acme', LIMITS)).status, 200);
  assert.equal(emu.tokenRequests().length, 1, 'the refreshed session was stored and reused');
});

test('the key is checked at construction: INVALID_CONFIG for 16 bytes, bad base64, an unknown current id, a non-AES-GCM or 128-bit CryptoKey; the key never in the message', async (t) => {
  const emu = await startEmu(t);
  const sixteen = webcrypto.getRandomValues(new Uint8Array(16));
  const aesCbc = await webcrypto.subtle.generateKey({ name: 'AES-CBC', length: 256 }, false, ['encrypt', 'decrypt']);
  const aes128 = await webcrypto.subtle.generateKey({ name: 'AES-GCM', length: 128 }, false, ['encrypt', 'decrypt']);
  const encryptOnly = await webcrypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt']);
  const hmac = await webcrypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const good = randomKey();
  const cases = [
    ['16 bytes', sixteen, /16 bytes/],
    ['16 bytes as base64', b64(sixteen), /16 bytes/],
    ['33 bytes', new Uint8Array(33), /33 bytes/],
    ['not base64', 'this is not base64 at all!!', /not base64/],
    ['an empty string', '', /0 bytes|not base64/],
    ['a number', 42, /number/],
    ['null', null, /null/],
    ['an array', [1, 2, 3], /array/],
    ['an AES-CBC CryptoKey', aesCbc, /AES-CBC/],
    ['a 128-bit AES-GCM CryptoKey', aes128, /128 bits/],
    ['an AES-GCM key that cannot decrypt', encryptOnly, /decrypt/],
    ['an HMAC CryptoKey', hmac, /HMAC/],
    ['keys without current', { keys: { k1: good } }, /current/],
    ['an unknown current id', { keys: { k1: good }, current: 'k2' }, /'k1'/],
    ['no keys', { keys: {}, current: 'k1' }, /no key/],
    ['a key id with a dot', { keys: { 'k.1': good }, current: 'k.1' }, /key id/],
    ['a 16-byte key among the keys', { keys: { k1: good, old: sixteen }, current: 'k1' }, /encryptionKey\.keys\.old/],
  ];
  const errors = [];
  for (const [label, encryptionKey, says] of cases) {
    const err = expectSessionErrorSync(() => makeManager(emu, { encryptionKey }), 'INVALID_CONFIG', label);
    assert.match(`${err.message} ${err.evidence.join(' ')}`, says, `${label}: ${err.message}`);
    errors.push([label, err]);
  }
  assert.deepEqual(findLeaks([good, sixteen].flatMap((k) => [b64(k), Buffer.from(k).toString('hex'), Buffer.from(k).toString('base64url')]), errors), []);
  assert.equal(emu.log.length, 0);
});

test('without encryptionKey nothing changes: values are stored as the engine writes them', async (t) => {
  const emu = await startEmu(t);
  const store = new MemoryStore();
  const { sm } = makeManager(emu, { store });
  await connectNew(sm, emu);
  const value = await store.get(RECORD);
  assert.ok(!VALUE.test(value));
  assert.ok(value.includes(emu.instanceUrl), 'the plain record names the instance');
  // A manager with a key refuses the plain value rather than trusting it.
  const { sm: sealed } = makeManager(emu, { store, encryptionKey: randomKey() });
  const err = await expectSessionError(() => sealed.info('acme'), 'STORE_FAILED');
  assert.match(err.evidence.join(' '), /not encrypted/);
  assert.match(err.fix, /connect the connection again/);
  assert.equal(await store.get(RECORD), value);
});
