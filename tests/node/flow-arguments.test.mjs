// The auth flows' arguments, checked before anything is sent: exchangeCode, connectJwt (private keys
// of the wrong kind never quoted), connectClientCredentials at a shared login host or without a
// secret, connect's options.
// Run from the scratch consumer: node --test tests/node/flow-arguments.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, webcrypto } from 'node:crypto';
import { SessionManager } from 'salesforce-session';
import { startEmu, makeManager, expectSessionError, collectSecrets, findLeaks, spyFetch } from './helpers.mjs';
import { REDIRECT_URI, rsaKeys } from './flow-helpers.mjs';

const CLIENT_SECRET = 'flow-arguments-client-secret-0123456789';
const VERIFIER = 'v'.repeat(43);

test('exchangeCode: code, redirectUri and a 43-128 character verifier are required; INVALID_CONFIG and nothing sent', async (t) => {
  const emu = await startEmu(t);
  const { sm, spy } = makeManager(emu);
  const cases = [
    [undefined, 'no options'],
    [{ redirectUri: REDIRECT_URI, codeVerifier: VERIFIER }, 'no code'],
    [{ code: '', redirectUri: REDIRECT_URI, codeVerifier: VERIFIER }, 'an empty code'],
    [{ code: 'a-code', codeVerifier: VERIFIER }, 'no redirectUri'],
    [{ code: 'a-code', redirectUri: 'not a url', codeVerifier: VERIFIER }, 'a redirectUri that is no URL'],
    [{ code: 'a-code', redirectUri: REDIRECT_URI }, 'no verifier'],
    [{ code: 'a-code', redirectUri: REDIRECT_URI, codeVerifier: 'short' }, 'a 5-character verifier'],
    [{ code: 'a-code', redirectUri: REDIRECT_URI, codeVerifier: 'v'.repeat(129) }, 'a 129-character verifier'],
    [{ code: 'a-code', redirectUri: REDIRECT_URI, codeVerifier: `${'v'.repeat(42)} ` }, 'a verifier with a space'],
  ];
  for (const [options, label] of cases) {
    const err = await expectSessionError(() => sm.exchangeCode('acme', options), 'INVALID_CONFIG', label);
    assert.equal(err.connectionId, 'acme', label);
  }
  await expectSessionError(() => sm.exchangeCode('', { code: 'a-code', redirectUri: REDIRECT_URI, codeVerifier: VERIFIER }), 'INVALID_CONFIG', 'an empty connection id');
  assert.equal(spy.calls.length, 0);
  await expectSessionError(() => sm.info('acme'), 'UNKNOWN_CONNECTION');
});

test('connectJwt: a PKCS#1, encrypted or broken PEM, a public, HMAC or RSA-PSS CryptoKey, no username: INVALID_CONFIG that never quotes the key', async (t) => {
  const emu = await startEmu(t);
  const { sm, spy, events } = makeManager(emu);
  const { privateKey } = rsaKeys();
  const pkcs1 = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const encrypted = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'a passphrase' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256', privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const rsaPair = await webcrypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, false, ['sign', 'verify']);
  const sha1Pair = await webcrypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-1' }, false, ['sign', 'verify']);
  const pss = await webcrypto.subtle.generateKey({ name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, false, ['sign', 'verify']);
  const hmac = await webcrypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const body = privateKey.split('\n').slice(1, -2).join('\n');
  const cases = [
    [{ username: 'u@example.com', privateKey: pkcs1.privateKey }, /PKCS#1/],
    [{ username: 'u@example.com', privateKey: encrypted.privateKey }, /encrypted/],
    [{ username: 'u@example.com', privateKey: ec.privateKey }, /RSA private key/],
    [{ username: 'u@example.com', privateKey: body }, /PKCS#8 PEM/],
    [{ username: 'u@example.com', privateKey: `-----BEGIN PRIVATE KEY-----\n${body.slice(0, 200)}\n-----END PRIVATE KEY-----` }, /RSA private key|not base64/],
    [{ username: 'u@example.com', privateKey: '-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----' }, /PKCS#8 PEM|not base64/],
    [{ username: 'u@example.com', privateKey: rsaPair.publicKey }, /public/],
    [{ username: 'u@example.com', privateKey: sha1Pair.privateKey }, /SHA-1/],
    [{ username: 'u@example.com', privateKey: pss.privateKey }, /RSA-PSS/],
    [{ username: 'u@example.com', privateKey: hmac }, /HMAC/],
    [{ username: 'u@example.com' }, /undefined/],
    [{ username: 'u@example.com', privateKey: 42 }, /number/],
    [{ privateKey }, /username/],
    [{ username: '', privateKey }, /username/],
    [{ username: 'u@example.com', privateKey, audience: 'not a url' }, /audience/],
    [{ username: 'u@example.com', privateKey, audience: 'ftp://login.salesforce.com' }, /audience/],
    [null, /connectJwt takes/],
  ];
  const errors = [];
  for (const [options, says] of cases) {
    const label = JSON.stringify(Object.keys(options ?? {})) + ` ${says}`;
    const err = await expectSessionError(() => sm.connectJwt('acme', options), 'INVALID_CONFIG', label);
    assert.match(`${err.message} ${err.evidence.join(' ')}`, says, `${label}: ${err.message}`);
    errors.push([label, err]);
  }
  assert.equal(spy.calls.length, 0, 'no assertion was sent');
  const secrets = collectSecrets(emu, [privateKey, pkcs1.privateKey, encrypted.privateKey, ec.privateKey]);
  assert.deepEqual(findLeaks(secrets, [...errors, ...events.map((e, i) => [`event ${i}`, e])]), []);
  await expectSessionError(() => sm.info('acme'), 'UNKNOWN_CONNECTION');
});

test('connectClientCredentials at login.salesforce.com or test.salesforce.com is INVALID_CONFIG before anything is sent', async () => {
  for (const loginUrl of [undefined, 'https://login.salesforce.com', 'https://test.salesforce.com/', 'https://LOGIN.salesforce.com']) {
    const spy = spyFetch();
    const sm = new SessionManager({ clientId: 'a-client', clientSecret: CLIENT_SECRET, loginUrl, fetch: spy.fetch });
    const err = await expectSessionError(() => sm.connectClientCredentials('acme'), 'INVALID_CONFIG', String(loginUrl));
    assert.match(err.message, /My Domain/);
    assert.ok(err.evidence.includes('nothing was sent'), JSON.stringify(err.evidence));
    assert.match(err.fix, /my\.salesforce\.com/);
    assert.ok(!JSON.stringify([err.message, err.evidence, err.fix]).includes(CLIENT_SECRET));
    assert.equal(spy.calls.length, 0, `${loginUrl}: nothing sent`);
  }
});

test('connectClientCredentials without a client secret is INVALID_CONFIG before anything is sent', async (t) => {
  const emu = await startEmu(t);
  const { sm, spy } = makeManager(emu, { loginUrl: emu.instanceUrl });
  const err = await expectSessionError(() => sm.connectClientCredentials('acme'), 'INVALID_CONFIG');
  assert.match(err.message, /clientSecret/);
  await expectSessionError(() => sm.connectClientCredentials(''), 'INVALID_CONFIG', 'an empty connection id');
  assert.equal(spy.calls.length, 0);
});

test('connect: options other than { loginUrl: string } are INVALID_CONFIG; nothing is stored', async (t) => {
  const emu = await startEmu(t);
  const { sm, store } = makeManager(emu);
  const tokens = await emu.mintTokenResponse();
  for (const [options, label] of [[null, 'null'], ['https://test.salesforce.com', 'a string'], [{ loginUrl: 42 }, 'a numeric loginUrl'], [{ loginUrl: '' }, 'an empty loginUrl']]) {
    const err = await expectSessionError(() => sm.connect('acme', tokens, options), 'INVALID_CONFIG', label);
    assert.deepEqual(findLeaks(collectSecrets(emu, [tokens.refresh_token]), [[label, err]]), []);
  }
  assert.deepEqual(store.snapshot(), []);
  // No options (or an empty object) is the plain connect.
  assert.equal((await sm.connect('acme', tokens, {})).instanceUrl, emu.instanceUrl);
});
