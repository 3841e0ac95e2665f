// authorizeUrl(): the authorization code flow's URL with PKCE, built on the manager's loginUrl, and
// taken by the emulator's authorize endpoint as a user's browser would take it.
// Run from the scratch consumer: node --test tests/node/authorize-url.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionManager } from 'salesforce-session';
import { startEmu, makeManager, expectSessionError, collectSecrets, findLeaks } from './helpers.mjs';
import { REDIRECT_URI, assertAuthorizeUrl, playUser, s256 } from './flow-helpers.mjs';

const CLIENT_SECRET = 'authorize-url-client-secret-0123456789';

test('the URL: the login host, response_type=code, client_id, redirect_uri, an S256 challenge of a fresh verifier, state, scope, prompt; no secret', async (t) => {
  const emu = await startEmu(t, { clientSecret: CLIENT_SECRET });
  const { sm, spy, events } = makeManager(emu, { clientSecret: CLIENT_SECRET });
  const authorize = await sm.authorizeUrl({ redirectUri: REDIRECT_URI, scope: 'api refresh_token', state: 'xyz-123', prompt: 'login consent' });
  const params = assertAuthorizeUrl(authorize, { loginUrl: emu.loginUrl, clientId: emu.clientId, clientSecret: CLIENT_SECRET, state: 'xyz-123' });
  assert.equal(params.get('scope'), 'api refresh_token');
  assert.equal(params.get('prompt'), 'login consent');
  assert.deepEqual(Object.keys(authorize).sort(), ['codeVerifier', 'state', 'url']);
  assert.deepEqual([...new Set(params.keys())].sort(), ['client_id', 'code_challenge', 'code_challenge_method', 'prompt', 'redirect_uri', 'response_type', 'scope', 'state']);
  assert.equal(spy.calls.length, 0, 'building the URL sends nothing');
  assert.deepEqual(events, []);
});

test('scope as an array is joined with spaces; no scope and no prompt leave them out', async (t) => {
  const emu = await startEmu(t);
  const { sm } = makeManager(emu);
  const listed = new URL((await sm.authorizeUrl({ redirectUri: REDIRECT_URI, scope: ['api', 'refresh_token', 'openid'] })).url);
  assert.equal(listed.searchParams.get('scope'), 'api refresh_token openid');
  const bare = new URL((await sm.authorizeUrl({ redirectUri: REDIRECT_URI })).url);
  assert.equal(bare.searchParams.has('scope'), false);
  assert.equal(bare.searchParams.has('prompt'), false);
});

test('a state is generated when none is given: long, URL-safe, different every time; so is the verifier', async (t) => {
  const emu = await startEmu(t);
  const { sm } = makeManager(emu);
  const states = new Set();
  const verifiers = new Set();
  for (let i = 0; i < 40; i += 1) {
    const authorize = await sm.authorizeUrl({ redirectUri: REDIRECT_URI });
    assertAuthorizeUrl(authorize, { loginUrl: emu.loginUrl, clientId: emu.clientId });
    assert.match(authorize.state, /^[A-Za-z0-9_-]{22,}$/);
    states.add(authorize.state);
    verifiers.add(authorize.codeVerifier);
  }
  assert.equal(states.size, 40, 'every generated state differs');
  assert.equal(verifiers.size, 40, 'every verifier differs');
});

test('the verifier and state come from crypto.getRandomValues, never Math.random', async (t) => {
  const emu = await startEmu(t);
  const { sm } = makeManager(emu);
  await sm.authorizeUrl({ redirectUri: REDIRECT_URI }); // the wasm and WebCrypto warmed up
  const realRandom = Math.random;
  const realGetRandomValues = globalThis.crypto.getRandomValues;
  let randomValuesCalls = 0;
  let randomBytes = 0;
  Math.random = () => {
    throw new Error('Math.random was called');
  };
  globalThis.crypto.getRandomValues = function getRandomValues(array) {
    randomValuesCalls += 1;
    randomBytes += array.byteLength;
    return realGetRandomValues.call(globalThis.crypto, array);
  };
  let authorize;
  try {
    authorize = await sm.authorizeUrl({ redirectUri: REDIRECT_URI });
  } finally {
    Math.random = realRandom;
    delete globalThis.crypto.getRandomValues;
    if (globalThis.crypto.getRandomValues !== realGetRandomValues) globalThis.crypto.getRandomValues = realGetRandomValues;
  }
  assertAuthorizeUrl(authorize, { loginUrl: emu.loginUrl });
  assert.ok(randomValuesCalls >= 2, `getRandomValues drew the verifier and the state (${randomValuesCalls} calls)`);
  assert.ok(randomBytes >= 32 + 16, `at least 32 random bytes for the verifier and 16 for the state (${randomBytes})`);
});

test('the default loginUrl is https://login.salesforce.com; a trailing slash gives no double slash', async () => {
  const bare = new SessionManager({ clientId: 'a-client' });
  const authorize = await bare.authorizeUrl({ redirectUri: REDIRECT_URI });
  assert.ok(authorize.url.startsWith('https://login.salesforce.com/services/oauth2/authorize?'), authorize.url);
  assertAuthorizeUrl(authorize, { clientId: 'a-client' });
  const sandbox = new SessionManager({ clientId: 'a-client', loginUrl: 'https://test.salesforce.com/' });
  assert.ok((await sandbox.authorizeUrl({ redirectUri: REDIRECT_URI })).url.startsWith('https://test.salesforce.com/services/oauth2/authorize?'));
  const myDomain = new SessionManager({ clientId: 'a-client', loginUrl: 'https://acme.my.salesforce.com' });
  assert.ok((await myDomain.authorizeUrl({ redirectUri: REDIRECT_URI })).url.startsWith('https://acme.my.salesforce.com/services/oauth2/authorize?'));
});

test('the emulator takes the URL as a user\'s browser does: a code for the callback, the state echoed, the challenge recorded', async (t) => {
  const emu = await startEmu(t);
  emu.policy.callbackUrls = [REDIRECT_URI];
  const { sm } = makeManager(emu);
  const authorize = await sm.authorizeUrl({ redirectUri: REDIRECT_URI, scope: 'api refresh_token' });
  const user = await playUser(authorize.url);
  assert.equal(user.error, undefined, `${user.error}: ${user.errorDescription}`);
  assert.equal(user.state, authorize.state);
  assert.equal(user.redirectUri, REDIRECT_URI);
  // The emulator's own reading of the same URL (as a named user) agrees.
  const again = emu.authorize((await sm.authorizeUrl({ redirectUri: REDIRECT_URI, state: 'mine', scope: 'api' })).url);
  assert.equal(again.state, 'mine');
  assert.equal(again.scope, 'api');
  assert.ok(again.code);
});

test('the challenge is S256 of exactly the returned verifier (a verifier off by one character would not match)', async (t) => {
  const emu = await startEmu(t);
  const { sm } = makeManager(emu);
  const authorize = await sm.authorizeUrl({ redirectUri: REDIRECT_URI });
  const challenge = new URL(authorize.url).searchParams.get('code_challenge');
  assert.equal(challenge, s256(authorize.codeVerifier));
  const altered = authorize.codeVerifier.slice(0, -1) + (authorize.codeVerifier.endsWith('A') ? 'B' : 'A');
  assert.notEqual(challenge, s256(altered));
  assert.match(challenge, /^[A-Za-z0-9_-]{43}$/, 'base64url without padding');
});

test('bad arguments are INVALID_CONFIG before anything is built or sent; the messages hold no secret', async (t) => {
  const emu = await startEmu(t, { clientSecret: CLIENT_SECRET });
  const { sm, spy } = makeManager(emu, { clientSecret: CLIENT_SECRET });
  const cases = [
    [undefined, 'no options'],
    [null, 'null options'],
    [{}, 'no redirectUri'],
    [{ redirectUri: '' }, 'empty redirectUri'],
    [{ redirectUri: '/relative/callback' }, 'a relative redirectUri'],
    [{ redirectUri: 'https://app.example.com/cb#frag' }, 'a redirectUri with a fragment'],
    [{ redirectUri: REDIRECT_URI, state: '' }, 'an empty state'],
    [{ redirectUri: REDIRECT_URI, state: 42 }, 'a numeric state'],
    [{ redirectUri: REDIRECT_URI, scope: 7 }, 'a numeric scope'],
    [{ redirectUri: REDIRECT_URI, scope: ['api', 3] }, 'a scope array with a number'],
    [{ redirectUri: REDIRECT_URI, prompt: {} }, 'an object prompt'],
  ];
  const errors = [];
  for (const [options, label] of cases) {
    const err = await expectSessionError(() => sm.authorizeUrl(options), 'INVALID_CONFIG', label);
    assert.ok(err.evidence.length > 0, `${label}: evidence says what is wrong`);
    errors.push([label, err]);
  }
  assert.equal(spy.calls.length, 0);
  assert.deepEqual(findLeaks(collectSecrets(emu, [CLIENT_SECRET]), errors), []);
});
