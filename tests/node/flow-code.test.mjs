// The authorization code flow with PKCE end to end: authorizeUrl(), the user at the emulator's
// authorize endpoint (an HTTP GET, the code read from the redirect), exchangeCode(); confidential and
// public clients; a wrong verifier, a reused code and a mismatched redirect_uri store nothing.
// Run from the scratch consumer: node --test tests/node/flow-code.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { SalesforceSessionError, ErrorCodes, MemoryStore } from 'salesforce-session';
import { API, startEmu, makeManager, connectNew, expectSessionError, collectSecrets, findLeaks, TOKEN_PATH } from './helpers.mjs';
import { REDIRECT_URI, assertAuthorizeUrl, playUser } from './flow-helpers.mjs';

const LIMITS = `${API}/limits`;
const CLIENT_SECRET = 'flow-code-client-secret-0123456789abcdef';

/** authorizeUrl, the user, and the parts exchangeCode takes. */
async function authorized(sm, emu, { loginHint, redirectUri = REDIRECT_URI, scope = 'api refresh_token' } = {}) {
  const authorize = await sm.authorizeUrl({ redirectUri, scope });
  assertAuthorizeUrl(authorize, { loginUrl: emu.loginUrl, clientId: emu.clientId, redirectUri, clientSecret: CLIENT_SECRET });
  const user = await playUser(authorize.url, { loginHint });
  assert.equal(user.error, undefined, `${user.error}: ${user.errorDescription}`);
  assert.equal(user.state, authorize.state, 'the callback carries our state');
  return { code: user.code, redirectUri, codeVerifier: authorize.codeVerifier };
}

/** A refused exchange: a SalesforceSessionError with Salesforce's error_description in its evidence. */
async function refused(promise, description) {
  let caught;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof SalesforceSessionError, `a SalesforceSessionError (got ${caught})`);
  assert.ok(Object.values(ErrorCodes).includes(caught.code), caught.code);
  assert.ok(caught.evidence.some((line) => line.includes(description)), `the evidence quotes "${description}": ${JSON.stringify(caught.evidence)}`);
  return caught;
}

const clientSecretSent = (entry, emu) => entry.form.client_secret ?? (/^Basic /i.test(entry.authorization ?? '')
  ? Buffer.from(entry.authorization.slice(6), 'base64').toString('utf8').split(':').slice(1).join(':') || null
  : null);

test('a confidential client: authorize, the user approves, exchangeCode stores the connection; calls and refreshes work', async (t) => {
  const emu = await startEmu(t, { clientSecret: CLIENT_SECRET });
  emu.policy.callbackUrls = [REDIRECT_URI];
  const { sm: sessions, events, store } = makeManager(emu, { clientSecret: CLIENT_SECRET });
  const sm = sessions;
  const redirectUri = REDIRECT_URI;
  // The README's snippet, as it is.
  const { url, codeVerifier, state } = await sessions.authorizeUrl({ redirectUri, scope: 'api refresh_token' });
  assertAuthorizeUrl({ url, codeVerifier, state }, { loginUrl: emu.loginUrl, clientId: emu.clientId, clientSecret: CLIENT_SECRET });
  const callback = await playUser(url);
  assert.equal(callback.state, state, 'the callback carries our state');
  const { code } = callback;
  const info = await sessions.exchangeCode('acme', { code, redirectUri, codeVerifier });
  const parts = { code, redirectUri, codeVerifier };
  assert.equal(info.connectionId, 'acme');
  assert.equal(info.orgId, emu.orgId);
  assert.equal(info.userId, emu.defaultUserId);
  assert.equal(info.instanceUrl, emu.instanceUrl);
  assert.equal(info.status, 'active');
  assert.equal(info.hasRefreshToken, true);

  const [exchange] = emu.tokenRequests({ grantType: 'authorization_code' });
  assert.equal(exchange.host, 'login');
  assert.equal(exchange.status, 200);
  assert.equal(exchange.code, parts.code);
  assert.equal(exchange.codeVerifier, parts.codeVerifier);
  assert.equal(exchange.redirectUri, REDIRECT_URI);
  assert.equal(exchange.form.client_id ?? emu.clientId, emu.clientId);
  assert.equal(clientSecretSent(exchange, emu), CLIENT_SECRET, 'a confidential client presents its secret');

  const [session] = emu.sessions();
  assert.equal((await sm.fetch('acme', LIMITS)).status, 200);
  assert.ok(emu.requestsWithToken(session.accessToken).some((e) => e.path === LIMITS), 'the call carried the exchanged token');
  emu.expireSession(session.accessToken);
  assert.equal((await sm.fetch('acme', LIMITS)).status, 200, 'a rejected session is refreshed with the exchanged refresh token');
  assert.equal(emu.tokenRequests({ grantType: 'refresh_token' }).length, 1);
  assert.ok(store.snapshot().length > 0);

  const secrets = collectSecrets(emu, [CLIENT_SECRET, parts.codeVerifier, parts.code]);
  assert.deepEqual(findLeaks(secrets, [['info', await sm.info('acme')], ...events.map((e, i) => [`event ${i}`, e])]), []);
});

test('the user the browser logged in as is the connection\'s user', async (t) => {
  const emu = await startEmu(t);
  const other = emu.createUser({ username: 'someone.else@example.com' });
  const { sm } = makeManager(emu);
  const info = await sm.exchangeCode('beta', await authorized(sm, emu, { loginHint: 'someone.else@example.com' }));
  assert.equal(info.userId, other.userId);
});

test('a public client (no secret) exchanges and refreshes without one', async (t) => {
  const emu = await startEmu(t, { clientSecret: CLIENT_SECRET });
  emu.policy.publicClient = true;
  const { sm } = makeManager(emu);
  const info = await sm.exchangeCode('acme', await authorized(sm, emu));
  assert.equal(info.hasRefreshToken, true);
  const [exchange] = emu.tokenRequests({ grantType: 'authorization_code' });
  assert.equal(clientSecretSent(exchange, emu), null, 'no secret was presented');
  emu.expireAllSessions();
  assert.equal((await sm.fetch('acme', LIMITS)).status, 200);
  const [refresh] = emu.tokenRequests({ grantType: 'refresh_token' });
  assert.equal(refresh.status, 200);
  assert.equal(clientSecretSent(refresh, emu), null);
});

test('a wrong verifier is refused with Salesforce\'s description; nothing is stored', async (t) => {
  const emu = await startEmu(t, { clientSecret: CLIENT_SECRET });
  const { sm, store, events } = makeManager(emu, { clientSecret: CLIENT_SECRET });
  const parts = await authorized(sm, emu);
  const another = await sm.authorizeUrl({ redirectUri: REDIRECT_URI });
  const err = await refused(sm.exchangeCode('acme', { ...parts, codeVerifier: another.codeVerifier }), 'invalid code verifier');
  assert.equal(err.connectionId, 'acme');
  assert.deepEqual(store.snapshot(), [], 'nothing stored');
  await expectSessionError(() => sm.info('acme'), 'UNKNOWN_CONNECTION');
  assert.ok(!events.some((e) => e.type === 'connected'));
  const secrets = collectSecrets(emu, [CLIENT_SECRET, parts.codeVerifier, another.codeVerifier, parts.code]);
  assert.deepEqual(findLeaks(secrets, [['error', err], ...events.map((e, i) => [`event ${i}`, e])]), []);
});

test('a code used once is refused the second time; the first connection is left as it was', async (t) => {
  const emu = await startEmu(t);
  const { sm, store } = makeManager(emu);
  const parts = await authorized(sm, emu);
  await sm.exchangeCode('acme', parts);
  const before = store.snapshot();
  const err = await refused(sm.exchangeCode('beta', parts), 'expired authorization code');
  assert.equal(err.connectionId, 'beta');
  assert.deepEqual(store.snapshot(), before, 'nothing written: beta absent, acme byte-identical');
  await expectSessionError(() => sm.info('beta'), 'UNKNOWN_CONNECTION');
  assert.equal((await sm.fetch('acme', LIMITS)).status, 200);
  assert.deepEqual(emu.tokenRequests({ grantType: 'authorization_code' }).map((e) => e.status), [200, 400]);
});

test('a redirect_uri other than the authorize request\'s is refused; nothing is stored', async (t) => {
  const emu = await startEmu(t);
  const { sm, store } = makeManager(emu);
  const parts = await authorized(sm, emu);
  await refused(sm.exchangeCode('acme', { ...parts, redirectUri: 'https://app.example.com/another/callback' }), 'redirect_uri must match configuration');
  assert.deepEqual(store.snapshot(), []);
  await expectSessionError(() => sm.info('acme'), 'UNKNOWN_CONNECTION');
});

test('a refused exchange over an existing connection leaves it stored and working', async (t) => {
  const emu = await startEmu(t);
  const { sm, store } = makeManager(emu);
  await connectNew(sm, emu, 'acme');
  const before = store.snapshot();
  const parts = await authorized(sm, emu);
  await refused(sm.exchangeCode('acme', { ...parts, codeVerifier: 'x'.repeat(64) }), 'invalid code verifier');
  assert.deepEqual(store.snapshot(), before);
  assert.equal((await sm.fetch('acme', LIMITS)).status, 200);
});

test('exchanged into an encrypted store: no token, code or verifier readable there', async (t) => {
  const emu = await startEmu(t);
  const key = webcrypto.getRandomValues(new Uint8Array(32));
  const store = new MemoryStore();
  const { sm } = makeManager(emu, { store, encryptionKey: key });
  const parts = await authorized(sm, emu);
  await sm.exchangeCode('acme', parts);
  const keys = await store.list('');
  const values = await Promise.all(keys.map(async (k) => [k, await store.get(k)]));
  assert.ok(values.length > 0);
  for (const [k, value] of values) {
    assert.match(value, /^sfs1\.default\./, k);
    assert.ok(!value.includes(emu.instanceUrl), k);
  }
  assert.deepEqual(findLeaks(collectSecrets(emu, [key, parts.code, parts.codeVerifier]), values), []);
  const { sm: second } = makeManager(emu, { store, encryptionKey: key });
  assert.equal((await second.fetch('acme', LIMITS)).status, 200);
  assert.equal(emu.log.filter((e) => e.path === TOKEN_PATH).length, 1, 'only the exchange itself');
});
