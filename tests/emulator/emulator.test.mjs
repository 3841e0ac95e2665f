// The emulator's own behaviours, asserted with real HTTP requests. Run: node --test tests/emulator/
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createHash, createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { startEmulator } from './index.mjs';

const V = '/services/data/v62.0';
const OTHER_IP = '127.0.0.2';

async function setup(t, options) {
  const emu = await startEmulator(options);
  t.after(() => emu.close());
  return emu;
}

/** http.request with a chosen source address; resolves {status, headers, text, body (parsed JSON or null)}. */
function request(url, { method = 'GET', headers = {}, body, localAddress } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, localAddress, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed = null;
        try { parsed = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, text, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const bearer = (token) => ({ authorization: `Bearer ${token}` });
const form = (params) => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(params).toString(),
});

/** POST to the token endpoint (login host by default). */
function tokenRequest(emu, params, { localAddress, base = emu.loginUrl, headers = {} } = {}) {
  const f = form(params);
  return request(`${base}/services/oauth2/token`, { method: 'POST', headers: { ...f.headers, ...headers }, body: f.body, localAddress });
}

const refreshWith = (emu, refreshToken, opts) =>
  tokenRequest(emu, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: emu.clientId }, opts);

/** A REST call on the instance host. */
function rest(emu, token, path, { method = 'GET', body, headers = {}, localAddress } = {}) {
  const h = { ...(token ? bearer(token) : {}), ...headers };
  if (body !== undefined && !h['content-type']) h['content-type'] = 'application/json';
  return request(`${emu.instanceUrl}${V}${path}`, { method, headers: h, body, localAddress });
}

function assertRestError(res, status, errorCode, message) {
  assert.equal(res.status, status, res.text);
  assert.ok(Array.isArray(res.body), `expected a JSON array, got ${res.text}`);
  assert.equal(res.body[0].errorCode, errorCode);
  if (message !== undefined) assert.equal(res.body[0].message, message);
}

function assertOAuthError(res, error, description) {
  assert.equal(res.status, 400, res.text);
  assert.deepEqual(res.body, { error, error_description: description });
}

const pkce = () => {
  const verifier = 'v'.repeat(43) + Math.random().toString(36).slice(2);
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

// ---------------------------------------------------------------------------------------------------

describe('startup and clock', () => {
  test('two loopback servers on different ports, closed by close()', async () => {
    const emu = await startEmulator();
    assert.match(emu.loginUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(emu.instanceUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(emu.loginUrl, emu.instanceUrl);
    const res = await fetch(`${emu.instanceUrl}/services/data/`);
    assert.equal(res.status, 200);
    await emu.close();
    await assert.rejects(fetch(`${emu.instanceUrl}/services/data/`));
    await assert.rejects(fetch(`${emu.loginUrl}/services/oauth2/token`, { method: 'POST' }));
  });

  test('advance and setNow move the emulator clock; issued_at follows it', async (t) => {
    const emu = await setup(t);
    const before = emu.now();
    emu.advance(3_600_000);
    assert.ok(emu.now() - before >= 3_600_000);
    emu.setNow(1_700_000_000_000);
    assert.ok(Math.abs(emu.now() - 1_700_000_000_000) < 1000);
    const tokens = await emu.mintTokenResponse();
    assert.ok(Math.abs(Number(tokens.issued_at) - 1_700_000_000_000) < 1000);
  });

  test('an injected clock is used as is; advance and setNow throw', async (t) => {
    let now = 1_600_000_000_000;
    const emu = await setup(t, { now: () => now });
    assert.equal(emu.now(), now);
    assert.throws(() => emu.advance(1));
    assert.throws(() => emu.setNow(1));
    const tokens = await emu.mintTokenResponse();
    assert.equal(tokens.issued_at, String(now));
    now += 7200 * 1000;
    assert.equal(emu.isSessionActive(tokens.access_token), false);
  });

  test('rejects a malformed orgId', async () => {
    await assert.rejects(startEmulator({ orgId: '00Dshort' }));
  });
});

describe('token endpoint: authorization_code', () => {
  test('success has the exact Salesforce shape (no expires_in, issued_at a string of ms)', async (t) => {
    const emu = await setup(t, { orgId: '00D5g000000ABCDEAA' });
    const code = emu.issueAuthCode();
    const before = emu.now();
    const res = await tokenRequest(emu, { grant_type: 'authorization_code', code, client_id: 'test-client' });
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers['content-type'], /^application\/json/);
    const body = res.body;
    assert.deepEqual(Object.keys(body).sort(),
      ['access_token', 'id', 'instance_url', 'issued_at', 'refresh_token', 'scope', 'signature', 'token_type']);
    assert.equal('expires_in' in body, false);
    assert.match(body.access_token, /^00D5g000000ABCD!\S{20,}$/);
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.scope, 'refresh_token api');
    assert.equal(body.instance_url, emu.instanceUrl);
    assert.equal(body.id, `${emu.loginUrl}/id/00D5g000000ABCDEAA/${emu.defaultUserId}`);
    assert.equal(typeof body.issued_at, 'string');
    assert.match(body.issued_at, /^\d{13}$/);
    assert.ok(Number(body.issued_at) >= before && Number(body.issued_at) <= emu.now());
    assert.equal(body.signature, createHmac('sha256', 'salesforce-emulator-signing-key').update(body.id + body.issued_at).digest('base64'));
    assert.equal(emu.isSessionActive(body.access_token), true);
  });

  test('a code is single-use: a second use is an expired code, an unknown one invalid', async (t) => {
    const emu = await setup(t);
    const code = emu.issueAuthCode();
    assert.equal((await tokenRequest(emu, { grant_type: 'authorization_code', code, client_id: 'test-client' })).status, 200);
    assertOAuthError(await tokenRequest(emu, { grant_type: 'authorization_code', code, client_id: 'test-client' }),
      'invalid_grant', 'expired authorization code');
    assertOAuthError(await tokenRequest(emu, { grant_type: 'authorization_code', code: 'aPrxnope', client_id: 'test-client' }),
      'invalid_grant', 'invalid authorization code');
  });

  test('a code older than 15 minutes is expired', async (t) => {
    const emu = await setup(t);
    const code = emu.issueAuthCode();
    emu.advance(16 * 60 * 1000);
    assertOAuthError(await tokenRequest(emu, { grant_type: 'authorization_code', code, client_id: 'test-client' }),
      'invalid_grant', 'expired authorization code');
  });

  test('PKCE S256: the right verifier works, a wrong or missing one does not', async (t) => {
    const emu = await setup(t);
    const { verifier, challenge } = pkce();
    const exchange = (code, extra) => tokenRequest(emu, { grant_type: 'authorization_code', code, client_id: 'test-client', ...extra });
    assertOAuthError(await exchange(emu.issueAuthCode({ codeChallenge: challenge }), { code_verifier: `${verifier}x` }),
      'invalid_grant', 'invalid code verifier');
    assertOAuthError(await exchange(emu.issueAuthCode({ codeChallenge: challenge }), {}), 'invalid_grant', 'invalid code verifier');
    const ok = await exchange(emu.issueAuthCode({ codeChallenge: challenge }), { code_verifier: verifier });
    assert.equal(ok.status, 200, ok.text);
  });

  test('redirect_uri must match the one the code was issued for', async (t) => {
    const emu = await setup(t);
    const redirectUri = 'http://localhost:1717/callback';
    const exchange = (uri) => tokenRequest(emu, {
      grant_type: 'authorization_code', code: emu.issueAuthCode({ redirectUri }), client_id: 'test-client', redirect_uri: uri,
    });
    assertOAuthError(await exchange('http://localhost:1717/other'), 'redirect_uri_mismatch', 'redirect_uri must match configuration');
    assert.equal((await exchange(redirectUri)).status, 200);
  });

  test('authorize endpoint redirects with a code that the token endpoint exchanges (PKCE)', async (t) => {
    const emu = await setup(t);
    const { userId } = emu.createUser({ username: 'hinted@example.com' });
    const { verifier, challenge } = pkce();
    const redirectUri = 'http://localhost:1717/cb';
    const authorize = new URL(`${emu.loginUrl}/services/oauth2/authorize`);
    for (const [k, v] of Object.entries({
      response_type: 'code', client_id: 'test-client', redirect_uri: redirectUri, code_challenge: challenge,
      code_challenge_method: 'S256', state: 'xyz', login_hint: 'hinted@example.com',
    })) authorize.searchParams.set(k, v);
    const res = await fetch(authorize, { redirect: 'manual' });
    assert.equal(res.status, 302);
    const location = new URL(res.headers.get('location'));
    assert.equal(`${location.origin}${location.pathname}`, redirectUri);
    assert.equal(location.searchParams.get('state'), 'xyz');
    const tokens = await tokenRequest(emu, {
      grant_type: 'authorization_code', code: location.searchParams.get('code'), client_id: 'test-client',
      redirect_uri: redirectUri, code_verifier: verifier,
    });
    assert.equal(tokens.status, 200, tokens.text);
    assert.ok(tokens.body.id.endsWith(`/${userId}`));

    const bad = await fetch(authorize.href.replace('client_id=test-client', 'client_id=nope'), { redirect: 'manual' });
    assert.equal(bad.status, 400);
  });
});

describe('token endpoint: client authentication and generic errors', () => {
  test('wrong or missing client id → invalid_client_id', async (t) => {
    const emu = await setup(t);
    assertOAuthError(await tokenRequest(emu, { grant_type: 'authorization_code', code: emu.issueAuthCode(), client_id: 'other' }),
      'invalid_client_id', 'client identifier invalid');
    assertOAuthError(await tokenRequest(emu, { grant_type: 'authorization_code', code: emu.issueAuthCode() }),
      'invalid_client_id', 'client identifier invalid');
  });

  test('a configured secret is required and must match; form or HTTP Basic', async (t) => {
    const emu = await setup(t, { clientSecret: 's3cret' });
    const tokens = await emu.mintTokenResponse();
    assertOAuthError(await refreshWith(emu, tokens.refresh_token), 'invalid_client', 'invalid client credentials');
    assertOAuthError(await tokenRequest(emu, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: 'test-client', client_secret: 'wrong' }),
      'invalid_client', 'invalid client credentials');
    const ok = await tokenRequest(emu, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: 'test-client', client_secret: 's3cret' });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.signature, createHmac('sha256', 's3cret').update(ok.body.id + ok.body.issued_at).digest('base64'));
    const basic = await tokenRequest(emu, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token },
      { headers: { authorization: `Basic ${Buffer.from('test-client:s3cret').toString('base64')}` } });
    assert.equal(basic.status, 200, basic.text);
  });

  test('without a configured secret, a sent client_secret is ignored', async (t) => {
    const emu = await setup(t);
    const tokens = await emu.mintTokenResponse();
    const res = await tokenRequest(emu, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: 'test-client', client_secret: 'anything' });
    assert.equal(res.status, 200, res.text);
  });

  test('unknown or missing grant type → unsupported_grant_type; non-POST → 405', async (t) => {
    const emu = await setup(t);
    assertOAuthError(await tokenRequest(emu, { grant_type: 'password', client_id: 'test-client' }), 'unsupported_grant_type', 'grant type not supported');
    assertOAuthError(await tokenRequest(emu, { client_id: 'test-client' }), 'unsupported_grant_type', 'grant type not supported');
    const get = await request(`${emu.loginUrl}/services/oauth2/token`);
    assert.equal(get.status, 405);
  });
});

describe('token endpoint: refresh_token', () => {
  test('returns a new access token and no refresh_token; the old access token stays valid', async (t) => {
    const emu = await setup(t);
    const tokens = await emu.mintTokenResponse();
    const res = await refreshWith(emu, tokens.refresh_token);
    assert.equal(res.status, 200, res.text);
    assert.equal('refresh_token' in res.body, false);
    assert.equal('expires_in' in res.body, false);
    assert.notEqual(res.body.access_token, tokens.access_token);
    assert.equal(res.body.id, tokens.id);
    assert.equal(emu.isSessionActive(res.body.access_token), true);
    assert.equal(emu.isSessionActive(tokens.access_token), true);
  });

  test('an unknown refresh token → invalid_grant expired access/refresh token', async (t) => {
    const emu = await setup(t);
    assertOAuthError(await refreshWith(emu, '5Aep861nonsense'), 'invalid_grant', 'expired access/refresh token');
  });

  test('the refreshed session is bound to the refresher’s address', async (t) => {
    const emu = await setup(t);
    const tokens = await emu.mintTokenResponse({ sourceAddress: '127.0.0.1' });
    const res = await refreshWith(emu, tokens.refresh_token, { localAddress: OTHER_IP });
    assert.equal(res.status, 200);
    const session = emu.sessions().find((s) => s.accessToken === res.body.access_token);
    assert.equal(session.sourceAddress, OTHER_IP);
    assert.equal(emu.sessions().find((s) => s.accessToken === tokens.access_token).sourceAddress, '127.0.0.1');
  });

  test('rotation: each refresh returns a new refresh token; replaying an old one revokes the family', async (t) => {
    const emu = await setup(t);
    emu.policy.rotateRefreshTokens = true;
    const tokens = await emu.mintTokenResponse();
    const first = await refreshWith(emu, tokens.refresh_token);
    assert.equal(first.status, 200);
    assert.match(first.body.refresh_token, /^5Aep861/);
    assert.notEqual(first.body.refresh_token, tokens.refresh_token);
    const second = await refreshWith(emu, first.body.refresh_token);
    assert.equal(second.status, 200);
    assert.equal(emu.isSessionActive(second.body.access_token), true);

    // The rotated-out token: refused, and the whole family dies with it.
    assertOAuthError(await refreshWith(emu, tokens.refresh_token), 'invalid_grant', 'expired access/refresh token');
    assertOAuthError(await refreshWith(emu, second.body.refresh_token), 'invalid_grant', 'expired access/refresh token');
    for (const token of [tokens.access_token, first.body.access_token, second.body.access_token]) {
      assert.equal(emu.isSessionActive(token), false);
    }
    assertRestError(await rest(emu, second.body.access_token, '/limits'), 401, 'INVALID_SESSION_ID', 'Session expired or invalid');
  });

  test('a sixth token pair evicts the oldest (maxTokenPairs)', async (t) => {
    const emu = await setup(t);
    const pairs = [];
    for (let i = 0; i < 6; i += 1) pairs.push(await emu.mintTokenResponse());
    assertOAuthError(await refreshWith(emu, pairs[0].refresh_token), 'invalid_grant', 'expired access/refresh token');
    assert.equal(emu.isSessionActive(pairs[0].access_token), false);
    for (const pair of pairs.slice(1)) {
      assert.equal(emu.isSessionActive(pair.access_token), true);
      assert.equal((await refreshWith(emu, pair.refresh_token)).status, 200);
    }
  });

  test('maxTokenPairs is per user and configurable; refreshes do not count as new pairs', async (t) => {
    const emu = await setup(t);
    emu.policy.maxTokenPairs = 2;
    const other = emu.createUser({ username: 'other@example.com' });
    const a = await emu.mintTokenResponse();
    const b = await emu.mintTokenResponse();
    for (let i = 0; i < 3; i += 1) assert.equal((await refreshWith(emu, a.refresh_token)).status, 200);
    await emu.mintTokenResponse({ userId: other.userId });
    assert.equal((await refreshWith(emu, a.refresh_token)).status, 200);
    await emu.mintTokenResponse(); // third pair for the default user
    assertOAuthError(await refreshWith(emu, a.refresh_token), 'invalid_grant', 'expired access/refresh token');
    assert.equal((await refreshWith(emu, b.refresh_token)).status, 200);
  });

  test('concurrentRefreshError: a second refresh with a token in flight fails transiently', async (t) => {
    const emu = await setup(t);
    emu.policy.tokenDelayMs = 150; // widens the window in which both requests are in flight
    emu.policy.concurrentRefreshError = true;
    const tokens = await emu.mintTokenResponse();
    const results = await Promise.all([refreshWith(emu, tokens.refresh_token), refreshWith(emu, tokens.refresh_token)]);
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 400]);
    assertOAuthError(results.find((r) => r.status === 400), 'invalid_grant', 'token request is already being processed');
    // Transient: the token still works afterwards.
    assert.equal((await refreshWith(emu, tokens.refresh_token)).status, 200);
  });

  test('without concurrentRefreshError, concurrent refreshes both succeed', async (t) => {
    const emu = await setup(t);
    emu.policy.tokenDelayMs = 50;
    const tokens = await emu.mintTokenResponse();
    const results = await Promise.all([refreshWith(emu, tokens.refresh_token), refreshWith(emu, tokens.refresh_token)]);
    assert.deepEqual(results.map((r) => r.status), [200, 200]);
  });

  test('rotation: two concurrent refreshes with the same token revoke the family', async (t) => {
    const emu = await setup(t);
    emu.policy.rotateRefreshTokens = true;
    emu.policy.tokenDelayMs = 50;
    const tokens = await emu.mintTokenResponse();
    const results = await Promise.all([refreshWith(emu, tokens.refresh_token), refreshWith(emu, tokens.refresh_token)]);
    const winner = results.find((r) => r.status === 200);
    assert.ok(winner, 'one refresh succeeds');
    assertOAuthError(results.find((r) => r.status === 400), 'invalid_grant', 'expired access/refresh token');
    // The loser presented a rotated-out token: the winner's brand-new refresh token died too.
    assertOAuthError(await refreshWith(emu, winner.body.refresh_token), 'invalid_grant', 'expired access/refresh token');
    assert.equal(emu.isSessionActive(winner.body.access_token), false);
  });

  test('counters: token requests per grant, rotated-out presentations, family ends, the current refresh token', async (t) => {
    const emu = await setup(t);
    emu.policy.rotateRefreshTokens = true;
    const tokens = await emu.mintTokenResponse();
    const other = await emu.mintTokenResponse();
    assert.deepEqual(emu.tokenRequestCounts(), {}, 'minting sends no request');
    const before = emu.refreshTokenFamily(tokens.refresh_token);
    assert.equal(before.refreshToken, tokens.refresh_token);
    assert.equal(before.live, true);
    assert.notEqual(emu.refreshTokenFamily(other.refresh_token).familyId, before.familyId);
    assert.equal(emu.refreshTokenFamily('5Aep861never-issued'), null);

    const first = await refreshWith(emu, tokens.refresh_token);
    assert.equal(first.status, 200);
    // Either token names the family; both answer with the current refresh token.
    assert.equal(emu.refreshTokenFamily(tokens.refresh_token).refreshToken, first.body.refresh_token);
    assert.equal(emu.refreshTokenFamily(first.body.refresh_token).familyId, before.familyId);
    assert.deepEqual(emu.tokenRequestCounts(), { refresh_token: 1 });
    assert.deepEqual(emu.rotatedOutPresentations(), []);
    assert.deepEqual(emu.familyEnds(), []);

    // Presenting the rotated-out token: counted, and the family ends with cause 'reuse'.
    assertOAuthError(await refreshWith(emu, tokens.refresh_token, { localAddress: OTHER_IP }), 'invalid_grant', 'expired access/refresh token');
    const presented = emu.rotatedOutPresentations();
    assert.equal(presented.length, 1);
    assert.equal(presented[0].familyId, before.familyId);
    assert.equal(presented[0].sourceAddress, OTHER_IP);
    assert.deepEqual(emu.familyEnds().map((e) => [e.familyId, e.cause]), [[before.familyId, 'reuse']]);
    assert.equal(emu.refreshTokenFamily(first.body.refresh_token).live, false);
    assert.deepEqual(emu.tokenRequestCounts(), { refresh_token: 2 });
    for (const entry of [...presented, ...emu.familyEnds()]) {
      assert.ok(!JSON.stringify(entry).includes('5Aep861'), 'no refresh token in a counter entry');
    }

    // The revoke endpoint and a password change are causes of their own; a token pair over the limit too.
    const revoked = await request(`${emu.loginUrl}/services/oauth2/revoke`, { method: 'POST', ...form({ token: other.refresh_token }) });
    assert.equal(revoked.status, 200);
    const third = await emu.mintTokenResponse();
    emu.changePassword();
    emu.policy.maxTokenPairs = 1;
    await emu.mintTokenResponse();
    await emu.mintTokenResponse();
    const causes = emu.familyEnds().map((e) => e.cause);
    assert.deepEqual(causes, ['reuse', 'revoke', 'user', 'token_pairs']);
    assert.equal(emu.familyEnds({ cause: 'user' })[0].familyId, emu.refreshTokenFamily(third.refresh_token).familyId);
    assert.equal(emu.familyEnds({ cause: 'user' })[0].reason, 'authentication failure');
  });

  test('tokenDelayMs delays the answer', async (t) => {
    const emu = await setup(t);
    emu.policy.tokenDelayMs = 120;
    const tokens = await emu.mintTokenResponse();
    const started = performance.now();
    assert.equal((await refreshWith(emu, tokens.refresh_token)).status, 200);
    assert.ok(performance.now() - started >= 110);
  });
});

describe('token endpoint: client_credentials and JWT bearer', () => {
  test('client_credentials issues an access token without a refresh token', async (t) => {
    const emu = await setup(t, { clientSecret: 'cc-secret' });
    assertOAuthError(await tokenRequest(emu, { grant_type: 'client_credentials', client_id: 'test-client' }), 'invalid_client', 'invalid client credentials');
    const res = await tokenRequest(emu, { grant_type: 'client_credentials', client_id: 'test-client', client_secret: 'cc-secret' }, { base: emu.instanceUrl });
    assert.equal(res.status, 200, res.text);
    assert.equal('refresh_token' in res.body, false);
    assert.equal((await rest(emu, res.body.access_token, '/limits')).status, 200);
  });

  function jwt(privateKey, claims, header = { alg: 'RS256' }) {
    const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const input = `${enc(header)}.${enc(claims)}`;
    return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
  }

  test('JWT bearer: verified with the registered key; iss, aud, exp and sub are checked', async (t) => {
    const emu = await setup(t);
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
    emu.registerJwtKey(publicKey.export({ type: 'spki', format: 'pem' }));
    const { userId } = emu.createUser({ username: 'integration@example.com' });
    const exp = () => Math.floor(emu.now() / 1000) + 120;
    const good = () => ({ iss: 'test-client', sub: 'integration@example.com', aud: emu.loginUrl, exp: exp() });
    const send = (assertion) => tokenRequest(emu, { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion });

    const ok = await send(jwt(privateKey, good()));
    assert.equal(ok.status, 200, ok.text);
    assert.equal('refresh_token' in ok.body, false);
    assert.ok(ok.body.id.endsWith(`/${userId}`));
    assert.equal(emu.tokenRequests({ grantType: 'urn:ietf:params:oauth:grant-type:jwt-bearer' }).length, 1);

    assertOAuthError(await send(jwt(stranger.privateKey, good())), 'invalid_grant', 'invalid assertion');
    assertOAuthError(await send('not.a-jwt'), 'invalid_grant', 'invalid assertion');
    assertOAuthError(await send(jwt(privateKey, good(), { alg: 'HS256' })), 'invalid_grant', 'invalid assertion');
    assertOAuthError(await send(jwt(privateKey, { ...good(), aud: 'https://login.salesforce.com' })), 'invalid_grant', 'audience is invalid');
    assertOAuthError(await send(jwt(privateKey, { ...good(), exp: exp() + 600 })), 'invalid_grant', 'invalid assertion');
    assertOAuthError(await send(jwt(privateKey, { ...good(), exp: exp() - 600 })), 'invalid_grant', 'invalid assertion');
    assertOAuthError(await send(jwt(privateKey, { ...good(), iss: 'someone-else' })), 'invalid_client_id', 'client identifier invalid');
    assertOAuthError(await send(jwt(privateKey, { ...good(), sub: 'nobody@example.com' })), 'invalid_grant', "user hasn't approved this consumer");
    emu.deactivateUser(userId);
    assertOAuthError(await send(jwt(privateKey, good())), 'invalid_grant', 'inactive user');
  });

  test('JWT bearer accepts a JWK and an array aud containing the login URL', async (t) => {
    const emu = await setup(t);
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    emu.registerJwtKey(publicKey.export({ format: 'jwk' }));
    const res = await tokenRequest(emu, {
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: jwt(privateKey, { iss: 'test-client', sub: 'emulator.user@example.com', aud: [`${emu.loginUrl}/`], exp: Math.floor(emu.now() / 1000) + 60 }),
    });
    assert.equal(res.status, 200, res.text);
  });
});

describe('token endpoint policies', () => {
  test('tokenEndpointDown: true → 503 HTML on every token request', async (t) => {
    const emu = await setup(t);
    emu.policy.tokenEndpointDown = true;
    const tokens = await emu.mintTokenResponse();
    for (let i = 0; i < 3; i += 1) {
      const res = await refreshWith(emu, tokens.refresh_token);
      assert.equal(res.status, 503);
      assert.match(res.headers['content-type'], /^text\/html/);
      assert.equal(res.body, null);
    }
  });

  test('tokenEndpointDown: N fails exactly the next N token requests', async (t) => {
    const emu = await setup(t);
    const tokens = await emu.mintTokenResponse();
    emu.policy.tokenEndpointDown = 2;
    assert.equal((await refreshWith(emu, tokens.refresh_token)).status, 503);
    assert.equal(emu.policy.tokenEndpointDown, 1);
    assert.equal((await refreshWith(emu, tokens.refresh_token)).status, 503);
    assert.equal((await refreshWith(emu, tokens.refresh_token)).status, 200);
    assert.deepEqual(emu.tokenRequests().map((e) => e.status), [503, 503, 200]);
  });

  test('loginRateLimited → rate_limit_exceeded', async (t) => {
    const emu = await setup(t);
    emu.policy.loginRateLimited = true;
    const tokens = await emu.mintTokenResponse();
    assertOAuthError(await refreshWith(emu, tokens.refresh_token), 'rate_limit_exceeded', 'Number of logins exceeded');
  });

  test('policy.instanceUrl replaces instance_url in token responses', async (t) => {
    const emu = await setup(t);
    emu.policy.instanceUrl = emu.loginUrl;
    const tokens = await emu.mintTokenResponse();
    assert.equal(tokens.instance_url, emu.loginUrl);
    const refreshed = await refreshWith(emu, tokens.refresh_token);
    assert.equal(refreshed.body.instance_url, emu.loginUrl);
    // Following it leads to URL_NOT_RESET.
    const res = await request(`${tokens.instance_url}${V}/limits`, { headers: bearer(tokens.access_token) });
    assertRestError(res, 400, 'URL_NOT_RESET', 'Destination URL not reset. The URL returned from login must be set');
  });
});

describe('revocation by the org', () => {
  const cases = [
    ['changePassword', 'authentication failure'],
    ['deactivateUser', 'inactive user'],
    ['deactivateOrg', 'inactive organization'],
    ['revokeAppAccess', 'expired access/refresh token'],
  ];
  for (const [action, description] of cases) {
    test(`${action}: sessions die and refresh answers invalid_grant "${description}"`, async (t) => {
      const emu = await setup(t);
      const tokens = await emu.mintTokenResponse();
      assert.equal((await rest(emu, tokens.access_token, '/limits')).status, 200);
      emu[action]();
      assert.equal(emu.isSessionActive(tokens.access_token), false);
      assertRestError(await rest(emu, tokens.access_token, '/limits'), 401, 'INVALID_SESSION_ID', 'Session expired or invalid');
      assertOAuthError(await refreshWith(emu, tokens.refresh_token), 'invalid_grant', description);
    });
  }

  test('revocation is per user', async (t) => {
    const emu = await setup(t);
    const other = emu.createUser({ username: 'bystander@example.com' });
    const mine = await emu.mintTokenResponse();
    const theirs = await emu.mintTokenResponse({ userId: other.userId });
    emu.changePassword(emu.defaultUserId);
    assert.equal(emu.isSessionActive(mine.access_token), false);
    assert.equal(emu.isSessionActive(theirs.access_token), true);
    assert.equal((await refreshWith(emu, theirs.refresh_token)).status, 200);
  });

  test('a new login for a deactivated user or org fails', async (t) => {
    const emu = await setup(t);
    emu.deactivateUser();
    assertOAuthError(await tokenRequest(emu, { grant_type: 'authorization_code', code: emu.issueAuthCode(), client_id: 'test-client' }),
      'invalid_grant', 'inactive user');
    emu.deactivateOrg();
    assertOAuthError(await tokenRequest(emu, { grant_type: 'authorization_code', code: emu.issueAuthCode(), client_id: 'test-client' }),
      'invalid_grant', 'inactive organization');
    await assert.rejects(emu.mintTokenResponse());
  });
});

describe('sessions and timeouts', () => {
  test('a session expires sessionTimeoutSeconds after last activity; activity extends it', async (t) => {
    const emu = await setup(t);
    const tokens = await emu.mintTokenResponse();
    emu.advance(7000 * 1000);
    assert.equal((await rest(emu, tokens.access_token, '/limits')).status, 200); // extends
    emu.advance(7000 * 1000); // 14000 s after issue, 7000 s after last activity
    assert.equal((await rest(emu, tokens.access_token, '/limits')).status, 200);
    emu.advance(7201 * 1000);
    assertRestError(await rest(emu, tokens.access_token, '/limits'), 401, 'INVALID_SESSION_ID', 'Session expired or invalid');
    assert.equal(emu.isSessionActive(tokens.access_token), false);
    // The refresh token outlives the session.
    assert.equal((await refreshWith(emu, tokens.refresh_token)).status, 200);
  });

  test('failed calls do not extend the session; identity calls do', async (t) => {
    const emu = await setup(t);
    emu.policy.sessionTimeoutSeconds = 900;
    const tokens = await emu.mintTokenResponse();
    const issued = emu.sessions()[0].issuedAt;
    emu.advance(600 * 1000);
    assert.equal((await rest(emu, tokens.access_token, '/nope')).status, 404);
    assert.equal(emu.sessions()[0].lastActivity, issued);
    const id = await request(tokens.id, { headers: bearer(tokens.access_token) });
    assert.equal(id.status, 200);
    assert.ok(emu.sessions()[0].lastActivity >= issued + 600 * 1000);
    emu.advance(600 * 1000);
    assert.equal(emu.isSessionActive(tokens.access_token), true);
  });

  test('expireSession and expireAllSessions', async (t) => {
    const emu = await setup(t);
    const a = await emu.mintTokenResponse();
    const b = await emu.mintTokenResponse();
    const c = await emu.mintTokenResponse();
    emu.expireSession(a.access_token);
    assert.deepEqual([a, b, c].map((x) => emu.isSessionActive(x.access_token)), [false, true, true]);
    assertRestError(await rest(emu, a.access_token, '/limits'), 401, 'INVALID_SESSION_ID');
    emu.expireAllSessions();
    assert.deepEqual([a, b, c].map((x) => emu.isSessionActive(x.access_token)), [false, false, false]);
    assert.throws(() => emu.expireSession('unknown'));
    // A refresh gives a working session again.
    const fresh = await refreshWith(emu, b.refresh_token);
    assert.equal((await rest(emu, fresh.body.access_token, '/limits')).status, 200);
  });

  test('sessions() describes each issued session', async (t) => {
    const emu = await setup(t);
    const tokens = await emu.mintTokenResponse({ sourceAddress: '::ffff:10.1.2.3' });
    const [session] = emu.sessions();
    assert.deepEqual(Object.keys(session).sort(), ['accessToken', 'active', 'issuedAt', 'lastActivity', 'sourceAddress', 'userId']);
    assert.equal(session.accessToken, tokens.access_token);
    assert.equal(session.userId, emu.defaultUserId);
    assert.equal(session.sourceAddress, '10.1.2.3');
    assert.equal(session.issuedAt, Number(tokens.issued_at));
    assert.equal(session.active, true);
  });
});

describe('org policies on REST', () => {
  test('ipLock: a session works only from the address that minted it; refresh rebinds', async (t) => {
    const emu = await setup(t);
    emu.policy.ipLock = true;
    const tokens = await emu.mintTokenResponse({ sourceAddress: '127.0.0.1' });
    assert.equal((await rest(emu, tokens.access_token, '/limits', { localAddress: '127.0.0.1' })).status, 200);
    assertRestError(await rest(emu, tokens.access_token, '/limits', { localAddress: OTHER_IP }),
      401, 'INVALID_SESSION_ID', 'Session expired or invalid');
    // The session itself is still live: it only fails from elsewhere.
    assert.equal(emu.isSessionActive(tokens.access_token), true);

    const refreshed = await refreshWith(emu, tokens.refresh_token, { localAddress: OTHER_IP });
    assert.equal(refreshed.status, 200);
    assert.equal((await rest(emu, refreshed.body.access_token, '/limits', { localAddress: OTHER_IP })).status, 200);
    assertRestError(await rest(emu, refreshed.body.access_token, '/limits', { localAddress: '127.0.0.1' }), 401, 'INVALID_SESSION_ID');
    const id = await request(tokens.id, { headers: bearer(tokens.access_token), localAddress: OTHER_IP });
    assert.equal(id.status, 403);
    assert.equal(id.text, 'Bad_OAuth_Token');
  });

  test('ipLock applies to sessions minted while it is on; off → any address works', async (t) => {
    const emu = await setup(t);
    const before = await emu.mintTokenResponse();
    assert.equal((await rest(emu, before.access_token, '/limits', { localAddress: OTHER_IP })).status, 200);
    emu.policy.ipLock = true;
    assert.equal((await rest(emu, before.access_token, '/limits', { localAddress: OTHER_IP })).status, 200);
    const after = await emu.mintTokenResponse();
    assert.equal((await rest(emu, after.access_token, '/limits', { localAddress: OTHER_IP })).status, 401);
    emu.policy.ipLock = false;
    assert.equal((await rest(emu, after.access_token, '/limits', { localAddress: OTHER_IP })).status, 200);
  });

  test('apiAccessControl: OAuth works, every REST and identity call is refused', async (t) => {
    const emu = await setup(t);
    emu.policy.apiAccessControl = true;
    const tokens = await emu.mintTokenResponse();
    const refreshed = await refreshWith(emu, tokens.refresh_token);
    assert.equal(refreshed.status, 200);
    for (const token of [tokens.access_token, refreshed.body.access_token]) {
      assertRestError(await rest(emu, token, '/limits'), 401, 'INVALID_SESSION_ID', 'This session is not valid for use with the REST API');
      assertRestError(await request(tokens.id, { headers: bearer(token) }), 401, 'INVALID_SESSION_ID', 'This session is not valid for use with the REST API');
    }
    assertRestError(await rest(emu, 'garbage', '/limits'), 401, 'INVALID_SESSION_ID', 'Session expired or invalid');
  });

  test('readOnly: reads work, writes answer the maintenance error and write nothing', async (t) => {
    const emu = await setup(t);
    const tokens = await emu.mintTokenResponse();
    const created = await rest(emu, tokens.access_token, '/sobjects/Account', { method: 'POST', body: '{"Name":"Before"}' });
    emu.policy.readOnly = true;
    assert.equal((await rest(emu, tokens.access_token, '/query?q=SELECT+Id+FROM+Account')).status, 200);
    const message = "Updates can't be made during maintenance. Try again when maintenance is complete";
    for (const [method, path, body] of [
      ['POST', '/sobjects/Account', '{"Name":"During"}'],
      ['PATCH', `/sobjects/Account/${created.body.id}`, '{"Name":"During"}'],
      ['DELETE', `/sobjects/Account/${created.body.id}`, undefined],
      ['PUT', `/sobjects/Account/${created.body.id}`, '{}'],
    ]) {
      assertRestError(await rest(emu, tokens.access_token, path, { method, body }), 400, 'INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE', message);
    }
    assert.deepEqual(emu.records('Account').map((r) => r.Name), ['Before']);
    emu.policy.readOnly = false;
    assert.equal((await rest(emu, tokens.access_token, '/sobjects/Account', { method: 'POST', body: '{"Name":"After"}' })).status, 201);
  });

  test('readOnlyInvalidatesSessions: every call answers INVALID_SESSION_ID while read-only', async (t) => {
    const emu = await setup(t);
    const tokens = await emu.mintTokenResponse();
    emu.policy.readOnlyInvalidatesSessions = true;
    assert.equal((await rest(emu, tokens.access_token, '/limits')).status, 200); // needs readOnly too
    emu.policy.readOnly = true;
    assertRestError(await rest(emu, tokens.access_token, '/limits'), 401, 'INVALID_SESSION_ID', 'Session expired or invalid');
    assertRestError(await rest(emu, tokens.access_token, '/sobjects/Account', { method: 'POST', body: '{}' }), 401, 'INVALID_SESSION_ID');
  });

  test('requestLimitExceeded and apiDisabled → 403', async (t) => {
    const emu = await setup(t);
    const tokens = await emu.mintTokenResponse();
    emu.policy.requestLimitExceeded = true;
    const limited = await rest(emu, tokens.access_token, '/limits');
    assertRestError(limited, 403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.');
    assert.equal(limited.headers['sforce-limit-info'], 'api-usage=15000/15000');
    emu.policy.requestLimitExceeded = false;
    emu.policy.apiDisabled = true;
    assertRestError(await rest(emu, tokens.access_token, '/limits'), 403, 'API_DISABLED_FOR_ORG', 'The REST API is not enabled for this Organization.');
  });
});

describe('REST data API', () => {
  test('GET /services/data/ lists versions without auth; v21.0 and up', async (t) => {
    const emu = await setup(t);
    const res = await fetch(`${emu.instanceUrl}/services/data/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('sforce-limit-info'), /^api-usage=\d+\/15000$/);
    const versions = await res.json();
    assert.equal(versions[0].version, '21.0');
    const v62 = versions.find((v) => v.version === '62.0');
    assert.deepEqual(v62, { label: "Winter '25", url: '/services/data/v62.0', version: '62.0' });
  });

  test('resources, limits, and the api-usage counter', async (t) => {
    const emu = await setup(t);
    const tokens = await emu.mintTokenResponse();
    const root = await rest(emu, tokens.access_token, '/');
    assert.equal(root.status, 200);
    assert.equal(root.body.sobjects, '/services/data/v62.0/sobjects');
    assert.equal(root.headers['sforce-limit-info'], 'api-usage=1/15000');
    const limits = await rest(emu, tokens.access_token, '/limits');
    assert.equal(limits.headers['sforce-limit-info'], 'api-usage=2/15000');
    assert.deepEqual(limits.body.DailyApiRequests, { Max: 15000, Remaining: 14998 });
  });

  test('create, read, update, delete a record; records() sees each write once', async (t) => {
    const emu = await setup(t);
    const tokens = await emu.mintTokenResponse();
    const created = await rest(emu, tokens.access_token, '/sobjects/Account', { method: 'POST', body: JSON.stringify({ Name: 'Acme', Industry: 'Tech' }) });
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(Object.keys(created.body), ['id', 'success', 'errors']);
    assert.match(created.body.id, /^001[A-Za-z0-9]{15}$/);
    assert.deepEqual([created.body.success, created.body.errors], [true, []]);
    assert.deepEqual(emu.records('Account'), [{ Name: 'Acme', Industry: 'Tech', Id: created.body.id }]);

    const path = `/sobjects/Account/${created.body.id}`;
    const read = await rest(emu, tokens.access_token, path);
    assert.equal(read.status, 200);
    assert.equal(read.body.Name, 'Acme');
    assert.equal(read.body.attributes.type, 'Account');

    const patched = await rest(emu, tokens.access_token, path, { method: 'PATCH', body: '{"Name":"Acme 2"}' });
    assert.equal(patched.status, 204);
    assert.equal(patched.text, '');
    assert.equal(emu.records('account')[0].Name, 'Acme 2');

    // A second identical POST is a second record: replays are visible.
    await rest(emu, tokens.access_token, '/sobjects/Account', { method: 'POST', body: JSON.stringify({ Name: 'Acme' }) });
    assert.equal(emu.records('Account').length, 2);

    assert.equal((await rest(emu, tokens.access_token, path, { method: 'DELETE' })).status, 204);
    assert.equal(emu.records('Account').length, 1);
    assertRestError(await rest(emu, tokens.access_token, path), 404, 'NOT_FOUND', 'The requested resource does not exist');
    assertRestError(await rest(emu, tokens.access_token, path, { method: 'PATCH', body: '{}' }), 404, 'NOT_FOUND');
    assertRestError(await rest(emu, tokens.access_token, path, { method: 'DELETE' }), 404, 'NOT_FOUND');
  });

  test('bad or missing JSON body → JSON_PARSER_ERROR and no record', async (t) => {
    const emu = await setup(t);
    const tokens = await emu.mintTokenResponse();
    for (const body of ['{"Name":', '', '[1,2]']) {
      assertRestError(await rest(emu, tokens.access_token, '/sobjects/Account', { method: 'POST', body }), 400, 'JSON_PARSER_ERROR');
    }
    assert.deepEqual(emu.records('Account'), []);
  });

  test('query: SELECT … FROM, WHERE equality, LIMIT, COUNT(); malformed → MALFORMED_QUERY', async (t) => {
    const emu = await setup(t);
    const tokens = await emu.mintTokenResponse();
    for (const name of ['A', 'B', 'C']) {
      await rest(emu, tokens.access_token, '/sobjects/Contact', { method: 'POST', body: JSON.stringify({ LastName: name }) });
    }
    const q = (soql) => rest(emu, tokens.access_token, `/query?q=${encodeURIComponent(soql)}`);
    const all = await q('SELECT Id, LastName FROM Contact');
    assert.equal(all.status, 200);
    assert.equal(all.body.totalSize, 3);
    assert.equal(all.body.done, true);
    assert.deepEqual(all.body.records.map((r) => r.LastName), ['A', 'B', 'C']);
    assert.equal(all.body.records[0].attributes.type, 'Contact');
    assert.deepEqual((await q("SELECT lastname FROM Contact WHERE LastName = 'B'")).body.records.map((r) => r.lastname), ['B']);
    assert.equal((await q('SELECT Id FROM Contact LIMIT 2')).body.records.length, 2);
    assert.deepEqual((await q('SELECT COUNT() FROM Contact')).body, { totalSize: 3, done: true, records: [] });
    assert.deepEqual((await q('SELECT Id FROM Nothing')).body, { totalSize: 0, done: true, records: [] });
    assertRestError(await q('SELEC Id FROM Contact'), 400, 'MALFORMED_QUERY');
    assertRestError(await rest(emu, tokens.access_token, '/query'), 400, 'MALFORMED_QUERY');
  });

  test('unknown path → 404 NOT_FOUND; wrong method → 405; retired version → 410', async (t) => {
    const emu = await setup(t);
    const tokens = await emu.mintTokenResponse();
    assertRestError(await rest(emu, tokens.access_token, '/no/such/thing'), 404, 'NOT_FOUND', 'The requested resource does not exist');
    assertRestError(await rest(emu, tokens.access_token, '/limits', { method: 'DELETE' }), 405, 'METHOD_NOT_ALLOWED');
    const retired = await request(`${emu.instanceUrl}/services/data/v20.0/limits`, { headers: bearer(tokens.access_token) });
    assert.equal(retired.status, 410);
    const future = await request(`${emu.instanceUrl}/services/data/v99.0/limits`, { headers: bearer(tokens.access_token) });
    assert.equal(future.status, 404);
  });

  test('Authorization: missing or malformed → INVALID_AUTH_HEADER; unknown token → INVALID_SESSION_ID', async (t) => {
    const emu = await setup(t);
    const tokens = await emu.mintTokenResponse();
    assertRestError(await rest(emu, null, '/limits'), 401, 'INVALID_AUTH_HEADER', 'INVALID_HEADER_TYPE');
    assertRestError(await rest(emu, null, '/limits', { headers: { authorization: tokens.access_token } }), 401, 'INVALID_AUTH_HEADER');
    assertRestError(await rest(emu, null, '/limits', { headers: { authorization: 'Basic abc' } }), 401, 'INVALID_AUTH_HEADER');
    assertRestError(await rest(emu, 'nope', '/limits'), 401, 'INVALID_SESSION_ID', 'Session expired or invalid');
    // The old OAuth scheme is accepted, as by Salesforce.
    assert.equal((await rest(emu, null, '/limits', { headers: { authorization: `OAuth ${tokens.access_token}` } })).status, 200);
  });

  test('errors come as XML with Accept: application/xml, and carry Sforce-Limit-Info', async (t) => {
    const emu = await setup(t);
    const res = await rest(emu, 'nope', '/limits', { headers: { accept: 'application/xml' } });
    assert.equal(res.status, 401);
    assert.match(res.headers['content-type'], /^application\/xml/);
    assert.equal(res.text, '<?xml version="1.0" encoding="UTF-8"?><Errors><Error><errorCode>INVALID_SESSION_ID</errorCode>' +
      '<message>Session expired or invalid</message></Error></Errors>');
    assert.match(res.headers['sforce-limit-info'], /^api-usage=\d+\/15000$/);
    const both = await rest(emu, 'nope', '/limits', { headers: { accept: 'application/json, application/xml' } });
    assert.ok(Array.isArray(both.body));
  });

  test('data calls on the login host → URL_NOT_RESET, token or not', async (t) => {
    const emu = await setup(t);
    const tokens = await emu.mintTokenResponse();
    for (const headers of [bearer(tokens.access_token), {}]) {
      const res = await request(`${emu.loginUrl}${V}/query?q=SELECT+Id+FROM+Account`, { headers });
      assertRestError(res, 400, 'URL_NOT_RESET', 'Destination URL not reset. The URL returned from login must be set');
    }
    assert.equal(emu.log.filter((e) => e.host === 'login' && e.errorCode === 'URL_NOT_RESET').length, 2);
  });
});

describe('identity, introspection and revoke endpoints', () => {
  test('identity URL: 200 with urls.rest; a bad token → 403 Bad_OAuth_Token', async (t) => {
    const emu = await setup(t);
    const tokens = await emu.mintTokenResponse();
    const res = await fetch(tokens.id, { headers: bearer(tokens.access_token) });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.id, tokens.id);
    assert.equal(body.user_id, emu.defaultUserId);
    assert.equal(body.organization_id, emu.orgId);
    assert.equal(body.username, 'emulator.user@example.com');
    assert.equal(body.urls.rest, `${emu.instanceUrl}/services/data/v{version}/`);
    for (const headers of [{}, bearer('nope')]) {
      const bad = await request(tokens.id, { headers });
      assert.equal(bad.status, 403);
      assert.equal(bad.text, 'Bad_OAuth_Token');
    }
    emu.expireSession(tokens.access_token);
    assert.equal((await request(tokens.id, { headers: bearer(tokens.access_token) })).text, 'Bad_OAuth_Token');
  });

  test('introspect: active shape with exp = last activity + timeout; inactive otherwise', async (t) => {
    const emu = await setup(t, { clientSecret: 'shh' });
    const tokens = await emu.mintTokenResponse();
    const introspect = (params, base = emu.instanceUrl) => {
      const f = form(params);
      return request(`${base}/services/oauth2/introspect`, { method: 'POST', ...f });
    };
    const creds = { client_id: 'test-client', client_secret: 'shh' };
    const res = await introspect({ token: tokens.access_token, token_type_hint: 'access_token', ...creds });
    assert.equal(res.status, 200);
    const iat = Math.floor(Number(tokens.issued_at) / 1000);
    assert.deepEqual(res.body, {
      active: true, scope: 'refresh_token api', client_id: 'test-client', username: 'emulator.user@example.com',
      sub: tokens.id, token_type: 'access_token', exp: Math.floor((Number(tokens.issued_at) + 7200 * 1000) / 1000), iat, nbf: iat,
    });
    // Activity moves exp.
    emu.advance(1000 * 1000);
    await rest(emu, tokens.access_token, '/limits');
    const later = await introspect({ token: tokens.access_token, ...creds }, emu.loginUrl);
    assert.equal(later.body.exp, Math.floor((emu.sessions()[0].lastActivity + 7200 * 1000) / 1000));
    assert.ok(later.body.exp > res.body.exp);

    const refresh = await introspect({ token: tokens.refresh_token, ...creds });
    assert.equal(refresh.body.active, true);
    assert.equal(refresh.body.token_type, 'refresh_token');

    assertOAuthError(await introspect({ token: tokens.access_token, client_id: 'test-client' }), 'invalid_client', 'invalid client credentials');
    assertOAuthError(await introspect({ token: tokens.access_token }), 'invalid_client_id', 'client identifier invalid');
    assert.deepEqual((await introspect({ token: 'nope', ...creds })).body, { active: false });
    emu.expireSession(tokens.access_token);
    assert.deepEqual((await introspect({ token: tokens.access_token, ...creds })).body, { active: false });
  });

  test('revoke: an access token alone, or a refresh token with its access tokens', async (t) => {
    const emu = await setup(t);
    const revoke = (token) => request(`${emu.loginUrl}/services/oauth2/revoke`, { method: 'POST', ...form({ token }) });
    const a = await emu.mintTokenResponse();
    const b = await emu.mintTokenResponse();
    const b2 = await refreshWith(emu, b.refresh_token);

    assert.equal((await revoke(a.access_token)).status, 200);
    assert.equal(emu.isSessionActive(a.access_token), false);
    assert.equal((await refreshWith(emu, a.refresh_token)).status, 200);

    assert.equal((await revoke(b.refresh_token)).status, 200);
    assert.equal(emu.isSessionActive(b.access_token), false);
    assert.equal(emu.isSessionActive(b2.body.access_token), false);
    assertOAuthError(await refreshWith(emu, b.refresh_token), 'invalid_grant', 'expired access/refresh token');

    const unknown = await revoke('nope');
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error, 'unsupported_token_type');
  });
});

describe('SOAP and Bulk API 1.0', () => {
  const envelope = (sessionId) => '<?xml version="1.0" encoding="utf-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com">' +
    `<soapenv:Header><urn:SessionHeader><urn:sessionId>${sessionId}</urn:sessionId></urn:SessionHeader></soapenv:Header>` +
    '<soapenv:Body><urn:getUserInfo/></soapenv:Body></soapenv:Envelope>';
  const soap = (emu, sessionId) => request(`${emu.instanceUrl}/services/Soap/u/62.0`, {
    method: 'POST', headers: { 'content-type': 'text/xml', soapaction: '""' }, body: envelope(sessionId),
  });

  test('SOAP: an invalid session → 500 fault sf:INVALID_SESSION_ID; a valid one is served', async (t) => {
    const emu = await setup(t);
    const bad = await soap(emu, 'nope');
    assert.equal(bad.status, 500);
    assert.match(bad.text, /<faultcode>sf:INVALID_SESSION_ID<\/faultcode>/);
    assert.match(bad.text, /<faultstring>INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session<\/faultstring>/);
    const tokens = await emu.mintTokenResponse();
    const good = await soap(emu, tokens.access_token);
    assert.equal(good.status, 200);
    assert.match(good.text, /<getUserInfoResponse/);
    assert.equal(emu.requestsWithToken(tokens.access_token).length, 1);
    emu.expireSession(tokens.access_token);
    assert.equal((await soap(emu, tokens.access_token)).status, 500);
  });

  test('Bulk 1.0: a bad X-SFDC-Session → 400 InvalidSessionId (XML, or JSON for JSON requests)', async (t) => {
    const emu = await setup(t);
    const url = `${emu.instanceUrl}/services/async/62.0/job`;
    const xmlRes = await request(url, { method: 'POST', headers: { 'x-sfdc-session': 'nope', 'content-type': 'application/xml' }, body: '<jobInfo/>' });
    assert.equal(xmlRes.status, 400);
    assert.match(xmlRes.text, /<exceptionCode>InvalidSessionId<\/exceptionCode>/);
    const jsonRes = await request(url, { method: 'POST', headers: { 'x-sfdc-session': 'nope', 'content-type': 'application/json' }, body: '{}' });
    assert.equal(jsonRes.status, 400);
    assert.deepEqual(jsonRes.body, { exceptionCode: 'InvalidSessionId', exceptionMessage: 'Invalid session id' });
  });

  test('Bulk 1.0: a valid session creates and reads a job', async (t) => {
    const emu = await setup(t);
    const tokens = await emu.mintTokenResponse();
    const headers = { 'x-sfdc-session': tokens.access_token, 'content-type': 'application/json' };
    const created = await request(`${emu.instanceUrl}/services/async/62.0/job`, {
      method: 'POST', headers, body: JSON.stringify({ operation: 'insert', object: 'Account', contentType: 'CSV' }),
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.state, 'Open');
    const read = await request(`${emu.instanceUrl}/services/async/62.0/job/${created.body.id}`, { headers });
    assert.equal(read.status, 200);
    assert.equal(read.body.object, 'Account');
    assert.equal(emu.requestsWithToken(tokens.access_token).length, 2);
  });

  test('Bulk 2.0 lives under /services/data and answers like REST', async (t) => {
    const emu = await setup(t);
    assertRestError(await rest(emu, 'nope', '/jobs/ingest', { method: 'POST', body: '{}' }), 401, 'INVALID_SESSION_ID');
  });
});

describe('request log', () => {
  test('every request is logged in order with status and errorCode, failures included', async (t) => {
    const emu = await setup(t);
    const tokens = await emu.mintTokenResponse();
    assert.deepEqual(emu.log, []); // minting is not a logged request
    await rest(emu, tokens.access_token, '/limits');
    await rest(emu, 'bad', '/query?q=SELECT+Id+FROM+Account');
    await refreshWith(emu, tokens.refresh_token, { localAddress: OTHER_IP });
    await request(`${emu.loginUrl}/nowhere`);
    assert.deepEqual(emu.log.map(({ host, method, path, status, errorCode }) => ({ host, method, path, status, errorCode })), [
      { host: 'instance', method: 'GET', path: `${V}/limits`, status: 200, errorCode: null },
      { host: 'instance', method: 'GET', path: `${V}/query`, status: 401, errorCode: 'INVALID_SESSION_ID' },
      { host: 'login', method: 'POST', path: '/services/oauth2/token', status: 200, errorCode: null },
      { host: 'login', method: 'GET', path: '/nowhere', status: 404, errorCode: null },
    ]);
    const [first, second, third] = emu.log;
    assert.equal(first.authorization, `Bearer ${tokens.access_token}`);
    assert.equal(first.remoteAddress, '127.0.0.1');
    assert.deepEqual(second.query, { q: 'SELECT Id FROM Account' });
    assert.equal(third.grantType, 'refresh_token');
    assert.equal(third.refreshToken, tokens.refresh_token);
    assert.equal(third.remoteAddress, OTHER_IP);
    assert.ok(first.at <= second.at && second.at <= third.at);
  });

  test('tokenRequests filters token requests; requestsWithToken finds uses of a token; clearLog empties', async (t) => {
    const emu = await setup(t);
    const tokens = await emu.mintTokenResponse();
    await refreshWith(emu, tokens.refresh_token);
    await refreshWith(emu, tokens.refresh_token, { localAddress: OTHER_IP });
    await tokenRequest(emu, { grant_type: 'authorization_code', code: emu.issueAuthCode(), client_id: 'test-client' });
    await rest(emu, tokens.access_token, '/limits');
    await request(tokens.id, { headers: bearer(tokens.access_token) });
    assert.equal(emu.tokenRequests().length, 3);
    assert.equal(emu.tokenRequests({ grantType: 'refresh_token' }).length, 2);
    assert.equal(emu.tokenRequests({ grantType: 'refresh_token', remoteAddress: OTHER_IP }).length, 1);
    assert.deepEqual(emu.requestsWithToken(tokens.access_token).map((e) => e.host), ['instance', 'login']);
    assert.deepEqual(emu.requestsWithToken('someone-else'), []);
    const log = emu.log;
    emu.clearLog();
    assert.equal(emu.log.length, 0);
    assert.equal(log, emu.log); // the same array, emptied
  });

  test('a delayed token request is logged on arrival and completed before it is answered', async (t) => {
    const emu = await setup(t);
    emu.policy.tokenDelayMs = 100;
    const tokens = await emu.mintTokenResponse();
    const pending = refreshWith(emu, tokens.refresh_token);
    for (let turns = 0; emu.tokenRequests().length === 0; turns += 1) {
      assert.ok(turns < 100_000, 'the token request never reached the log');
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(emu.tokenRequests()[0].status, null); // in the log, not answered yet
    const restCall = await rest(emu, tokens.access_token, '/limits');
    assert.equal(restCall.status, 200);
    const res = await pending;
    assert.equal(res.status, 200);
    assert.deepEqual(emu.log.map((e) => [e.path, e.status]), [
      ['/services/oauth2/token', 200],
      [`${V}/limits`, 200],
    ]);
  });
});

describe('cli', () => {
  test('prints its URLs and a token response as JSON, serves, and exits on SIGTERM', async (t) => {
    const cli = fileURLToPath(new URL('./cli.mjs', import.meta.url));
    const child = spawn(process.execPath, [cli, '--client-id', 'cli-client', '--policy', '{"sessionTimeoutSeconds":900}'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
    let out = '';
    child.stdout.setEncoding('utf8');
    for await (const chunk of child.stdout) {
      out += chunk;
      if (out.includes('\n')) break;
    }
    const info = JSON.parse(out.split('\n')[0]);
    assert.equal(info.clientId, 'cli-client');
    assert.equal(info.policy.sessionTimeoutSeconds, 900);
    assert.equal(info.tokenResponse.instance_url, info.instanceUrl);
    const res = await fetch(`${info.instanceUrl}${V}/limits`, { headers: bearer(info.tokenResponse.access_token) });
    assert.equal(res.status, 200);
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = await exited;
    assert.equal(code, 0);
  });
});
