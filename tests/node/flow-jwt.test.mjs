// The JWT bearer flow: connectJwt() with a PKCS#8 PEM or a non-extractable CryptoKey, RS256 through
// WebCrypto, the claims on the manager's clock, a new assertion when the session expires or is
// killed at the server (one for 20 concurrent calls), refusals with Salesforce's description and
// nothing stored, and the private key nowhere outside the manager's memory.
// Run from the scratch consumer: node --test tests/node/flow-jwt.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { SalesforceSessionError } from 'salesforce-session';
import { API, startEmu, makeManager, expectSessionError, collectSecrets, findLeaks, restRequests, secretForms } from './helpers.mjs';
import { decodeJwt, jwtGrants, otherRsaKeys, rsaKeys } from './flow-helpers.mjs';

const LIMITS = `${API}/limits`;
const USERNAME = 'jwt.user@example.com';
const TIMEOUT_MS = 7200 * 1000;
const JWT_MAX_MS = 3 * 60 * 1000;

/** An emulator that knows the suite's public key and a pre-approved JWT user. */
async function jwtEmu(t, options) {
  const emu = await startEmu(t, options);
  emu.registerJwtKey(rsaKeys().publicKey);
  const { userId } = emu.createUser({ username: USERNAME, jwtApproved: true });
  return { emu, userId };
}

/** Every JWT grant's assertion checked: RS256 header, signed by the suite's key, the claims on the emulator's clock at arrival. */
function assertAssertions(emu, { audience = emu.loginUrl, username = USERNAME } = {}) {
  const grants = jwtGrants(emu);
  for (const grant of grants) {
    const { header, claims, verified } = decodeJwt(grant.assertion, rsaKeys().publicKey);
    assert.deepEqual(header, { alg: 'RS256' });
    assert.equal(verified, true, 'the RS256 signature verifies under the registered public key');
    assert.equal(claims.iss, emu.clientId);
    assert.equal(claims.sub, username);
    assert.equal(String(claims.aud).replace(/\/+$/, ''), audience.replace(/\/+$/, ''));
    assert.equal(typeof claims.exp, 'number');
    assert.ok(claims.exp * 1000 > grant.at, `exp is ahead of the clock (${claims.exp * 1000 - grant.at} ms)`);
    assert.ok(claims.exp * 1000 <= grant.at + JWT_MAX_MS, `exp is at most 3 minutes ahead (${claims.exp * 1000 - grant.at} ms)`);
    assert.ok(!('client_secret' in grant.form), 'no client secret travels with an assertion');
  }
  return grants;
}

test('connectJwt with a PKCS#8 PEM: one assertion, the connection stored, calls made with its session', async (t) => {
  const { emu, userId } = await jwtEmu(t);
  const { sm, store, events } = makeManager(emu);
  const sessions = sm;
  const { privateKey } = rsaKeys();
  const info = await sessions.connectJwt('acme', { username: USERNAME, privateKey });
  assert.equal(info.connectionId, 'acme');
  assert.equal(info.userId, userId);
  assert.equal(info.orgId, emu.orgId);
  assert.equal(info.instanceUrl, emu.instanceUrl);
  assert.equal(info.hasRefreshToken, false, 'JWT bearer grants no refresh token');
  const [grant] = assertAssertions(emu);
  assert.equal(grant.status, 200);
  assert.equal(jwtGrants(emu).length, 1);
  assert.equal((await sm.fetch('acme', LIMITS)).status, 200);
  const [session] = emu.sessions();
  assert.equal(session.userId, userId);

  const secrets = collectSecrets(emu, [rsaKeys().privateKey]);
  assert.deepEqual(findLeaks(secrets, [['info', await sm.info('acme')], ...events.map((e, i) => [`event ${i}`, e])]), []);
  // The store holds the session, never the private key nor the assertion.
  const keyAndAssertions = [...secretForms(rsaKeys().privateKey), ...jwtGrants(emu).map((g) => g.assertion)];
  assert.deepEqual(findLeaks(keyAndAssertions, store.snapshot()), []);
});

test('a non-extractable CryptoKey serves as the private key', async (t) => {
  const { emu } = await jwtEmu(t);
  const der = Buffer.from(rsaKeys().privateKey.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const key = await webcrypto.subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
  assert.equal(key.extractable, false);
  const { sm } = makeManager(emu);
  await sm.connectJwt('acme', { username: USERNAME, privateKey: key });
  assertAssertions(emu);
  assert.equal((await sm.fetch('acme', LIMITS)).status, 200);
});

test('the claims are on the manager\'s clock: a clock days ahead of the system\'s still gives an accepted exp', async (t) => {
  const { emu } = await jwtEmu(t);
  emu.advance(10 * 24 * 3600 * 1000);
  const { sm } = makeManager(emu);
  await sm.connectJwt('acme', { username: USERNAME, privateKey: rsaKeys().privateKey });
  const [grant] = assertAssertions(emu);
  assert.ok(grant.at > Date.now() + 9 * 24 * 3600 * 1000, 'the emulator\'s clock is ahead');
});

test('audience: the login host by default; another one when the org expects it', async (t) => {
  const { emu } = await jwtEmu(t);
  emu.policy.jwtAudience = 'https://test.salesforce.com';
  const { sm, store } = makeManager(emu);
  await expectRefusal(sm.connectJwt('acme', { username: USERNAME, privateKey: rsaKeys().privateKey }), 'audience is invalid');
  assert.deepEqual(store.snapshot(), []);
  await sm.connectJwt('acme', { username: USERNAME, privateKey: rsaKeys().privateKey, audience: 'https://test.salesforce.com' });
  const grants = jwtGrants(emu);
  assert.equal(decodeJwt(grants[0].assertion).claims.aud.replace(/\/+$/, ''), emu.loginUrl);
  assert.equal(decodeJwt(grants[1].assertion).claims.aud, 'https://test.salesforce.com');
  assert.equal(grants[1].status, 200);
});

/** A refused connectJwt: a SalesforceSessionError quoting Salesforce's description. */
async function expectRefusal(promise, description) {
  let caught;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof SalesforceSessionError, `a SalesforceSessionError (got ${caught})`);
  assert.ok(caught.evidence.some((line) => line.includes(description)), `evidence quotes "${description}": ${JSON.stringify(caught.evidence)}`);
  return caught;
}

test('re-minted when the session expires by the clock: a new assertion, no refresh token request', async (t) => {
  const { emu } = await jwtEmu(t);
  const { sm, events } = makeManager(emu);
  await sm.connectJwt('acme', { username: USERNAME, privateKey: rsaKeys().privateKey });
  const [first] = emu.sessions();
  emu.advance(TIMEOUT_MS + 60_000);
  assert.equal((await sm.fetch('acme', LIMITS)).status, 200);
  const grants = assertAssertions(emu);
  assert.equal(grants.length, 2, 'one new assertion');
  assert.notEqual(grants[1].assertion, grants[0].assertion);
  assert.equal(emu.tokenRequests({ grantType: 'refresh_token' }).length, 0);
  const fresh = emu.sessions().find((s) => s.accessToken !== first.accessToken);
  assert.ok(fresh && emu.requestsWithToken(fresh.accessToken).some((e) => e.path === LIMITS && e.status === 200), 'the call went with the new session');
  const secrets = collectSecrets(emu, [rsaKeys().privateKey]);
  assert.deepEqual(findLeaks(secrets, events.map((e, i) => [`event ${i}`, e])), []);
});

test('re-minted after the session is killed at the server: the 401, one new assertion, the call retried', async (t) => {
  const { emu } = await jwtEmu(t);
  const { sm } = makeManager(emu);
  await sm.connectJwt('acme', { username: USERNAME, privateKey: rsaKeys().privateKey });
  const [first] = emu.sessions();
  assert.equal((await sm.fetch('acme', LIMITS)).status, 200);
  emu.expireSession(first.accessToken);
  assert.equal((await sm.fetch('acme', LIMITS)).status, 200);
  assert.deepEqual(restRequests(emu).map((e) => e.status), [200, 401, 200]);
  assert.equal(assertAssertions(emu).length, 2);
  assert.equal(emu.tokenRequests().length, 2, 'nothing but the two assertions');
});

test('20 concurrent calls on an expired JWT connection: one assertion grant, every call succeeds', async (t) => {
  const { emu } = await jwtEmu(t);
  const { sm } = makeManager(emu);
  await sm.connectJwt('acme', { username: USERNAME, privateKey: rsaKeys().privateKey });
  emu.advance(TIMEOUT_MS + 60_000);
  const statuses = await Promise.all(Array.from({ length: 20 }, () => sm.fetch('acme', LIMITS).then((r) => r.status)));
  assert.deepEqual(statuses, Array(20).fill(200));
  assert.equal(assertAssertions(emu).length, 2, 'the connect and one re-mint');
  // And 20 on a session killed at the server: every call's 401 shares one re-mint.
  emu.expireAllSessions();
  const again = await Promise.all(Array.from({ length: 20 }, () => sm.fetch('acme', LIMITS).then((r) => r.status)));
  assert.deepEqual(again, Array(20).fill(200));
  assert.equal(assertAssertions(emu).length, 3);
});

test('refusals quote Salesforce and store nothing: a user who has not approved the app, an unknown key, an unknown user', async (t) => {
  const { emu, userId } = await jwtEmu(t);
  const { sm, store, events } = makeManager(emu);
  emu.setJwtApproval(userId, false);
  const errors = [];
  errors.push(await expectRefusal(sm.connectJwt('acme', { username: USERNAME, privateKey: rsaKeys().privateKey }), "user hasn't approved this consumer"));
  emu.setJwtApproval(userId, true);
  const stranger = otherRsaKeys();
  errors.push(await expectRefusal(sm.connectJwt('acme', { username: USERNAME, privateKey: stranger.privateKey }), 'invalid assertion'));
  errors.push(await expectRefusal(sm.connectJwt('acme', { username: 'nobody@example.com', privateKey: rsaKeys().privateKey }), "user hasn't approved this consumer"));
  assert.deepEqual(store.snapshot(), [], 'nothing stored');
  await expectSessionError(() => sm.info('acme'), 'UNKNOWN_CONNECTION');
  const secrets = collectSecrets(emu, [rsaKeys().privateKey, stranger.privateKey]);
  assert.deepEqual(findLeaks(secrets, [...errors.map((e, i) => [`error ${i}`, e]), ...events.map((e, i) => [`event ${i}`, e])]), []);
});

test('a refused connectJwt over a working one keeps the working key: the connection still re-mints', async (t) => {
  const { emu } = await jwtEmu(t);
  const { sm } = makeManager(emu);
  await sm.connectJwt('acme', { username: USERNAME, privateKey: rsaKeys().privateKey });
  await expectRefusal(sm.connectJwt('acme', { username: USERNAME, privateKey: otherRsaKeys().privateKey }), 'invalid assertion');
  emu.expireAllSessions();
  assert.equal((await sm.fetch('acme', LIMITS)).status, 200);
  const grants = jwtGrants(emu);
  assert.deepEqual(grants.map((g) => g.status), [200, 400, 200]);
  assert.equal(decodeJwt(grants[2].assertion, rsaKeys().publicKey).verified, true, 'signed with the first key');
});

test('another manager on the same store uses the stored session, and cannot re-mint without the key', async (t) => {
  const { emu } = await jwtEmu(t);
  const { sm, store } = makeManager(emu);
  await sm.connectJwt('acme', { username: USERNAME, privateKey: rsaKeys().privateKey });
  const { sm: other } = makeManager(emu, { store });
  assert.equal((await other.fetch('acme', LIMITS)).status, 200, 'the stored session serves another manager');
  assert.equal(jwtGrants(emu).length, 1);
  emu.advance(TIMEOUT_MS + 60_000);
  const err = await other.fetch('acme', LIMITS).then(() => null, (e) => e);
  assert.ok(err instanceof SalesforceSessionError, `a SalesforceSessionError (got ${err})`);
  assert.match(`${err.message} ${err.evidence.join(' ')}`, /no private key/);
  assert.equal(jwtGrants(emu).length, 1, 'nothing was sent without a key');
  assert.equal((await sm.fetch('acme', LIMITS)).status, 200, 'the manager holding the key re-mints');
  assert.equal(jwtGrants(emu).length, 2);
});

test('a JWT connection in an encrypted store: the session sealed, the key never stored', async (t) => {
  const { emu } = await jwtEmu(t);
  const key = webcrypto.getRandomValues(new Uint8Array(32));
  const { sm, store } = makeManager(emu, { encryptionKey: key });
  await sm.connectJwt('acme', { username: USERNAME, privateKey: rsaKeys().privateKey });
  emu.expireAllSessions();
  assert.equal((await sm.fetch('acme', LIMITS)).status, 200);
  const values = store.snapshot();
  assert.ok(values.length > 0);
  for (const [k, value] of values) assert.match(value, /^sfs1\.default\./, k);
  assert.deepEqual(findLeaks(collectSecrets(emu, [rsaKeys().privateKey, key]), values), []);
});
