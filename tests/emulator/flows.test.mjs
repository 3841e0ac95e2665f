// The emulator's auth flows and the failure shapes of SALESFORCE.md §7, asserted with real HTTP
// requests: authorization code + PKCE, JWT bearer, client credentials, the refresh-token IP
// allowlist and idle expiry, high-assurance sessions, Edge 420, a hung token endpoint, revoke.
// Run: node --test tests/emulator/
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { startEmulator } from './index.mjs';
import {
  V, JWT_GRANT, DAY, request, tokenRequest, refreshWith, revoke, rest, identity, assertOAuthError, assertRestError,
  pkce, authorizeUrl, jwt, until, within,
} from './requests.mjs';

const REDIRECT = 'http://localhost:1717/OauthRedirect';
const NOT_FOR_REST = 'This session is not valid for use with the REST API';

async function setup(t, options) {
  const emu = await startEmulator(options);
  t.after(() => emu.close());
  return emu;
}

/** The parameters a client sends to authorize, PKCE included. */
function authorizeParams(emu, challenge, extra = {}) {
  return {
    response_type: 'code', client_id: emu.clientId, redirect_uri: REDIRECT,
    code_challenge: challenge, code_challenge_method: 'S256', state: 'st-1', ...extra,
  };
}

const exchange = (emu, code, extra = {}) => tokenRequest(emu, {
  grant_type: 'authorization_code', code, client_id: emu.clientId, redirect_uri: REDIRECT, ...extra,
});

// ---------------------------------------------------------------------------------------------------

describe('authorization code + PKCE', () => {
  test('emu.authorize plays the user; the code exchanges once with its verifier; a reused code is expired', async (t) => {
    const emu = await setup(t);
    const { verifier, challenge } = pkce();
    const url = authorizeUrl(emu.loginUrl, authorizeParams(emu, challenge, { scope: 'api refresh_token', prompt: 'login consent' }));
    const granted = emu.authorize(url);
    assert.equal(granted.state, 'st-1');
    assert.equal(granted.redirectUri, REDIRECT);
    assert.equal(granted.scope, 'api refresh_token');
    assert.equal(granted.prompt, 'login consent');
    assert.match(granted.code, /^aPrx/);
    const location = new URL(granted.location);
    assert.equal(`${location.origin}${location.pathname}`, REDIRECT);
    assert.deepEqual(Object.fromEntries(location.searchParams), { code: granted.code, state: 'st-1' });
    assert.equal(emu.log.length, 0, 'playing the user is not an HTTP request');

    const res = await exchange(emu, granted.code, { code_verifier: verifier });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.scope, 'api refresh_token');
    assert.match(res.body.refresh_token, /^5Aep/);
    assert.equal(res.body.id, `${emu.loginUrl}/id/${emu.orgId}/${emu.defaultUserId}`);
    assert.equal((await rest(emu, res.body.access_token)).status, 200);

    assertOAuthError(await exchange(emu, granted.code, { code_verifier: verifier }), 'invalid_grant', 'expired authorization code');
    assert.deepEqual(emu.tokenRequests({ grantType: 'authorization_code' }).map((e) => e.status), [200, 400]);
  });

  test('a wrong verifier and a mismatched redirect_uri fail word for word', async (t) => {
    const emu = await setup(t);
    const { verifier, challenge } = pkce();
    const code = () => emu.authorize(authorizeUrl(emu.loginUrl, authorizeParams(emu, challenge))).code;
    assertOAuthError(await exchange(emu, code(), { code_verifier: pkce().verifier }), 'invalid_grant', 'invalid code verifier');
    assertOAuthError(await exchange(emu, code(), {}), 'invalid_grant', 'invalid code verifier');
    assertOAuthError(await exchange(emu, code(), { code_verifier: verifier, redirect_uri: `${REDIRECT}/other` }),
      'redirect_uri_mismatch', 'redirect_uri must match configuration');
    assert.equal((await exchange(emu, code(), { code_verifier: verifier })).status, 200);
  });

  test('requirePkce (default on): no code_challenge → invalid_request redirect; off → a plain code', async (t) => {
    const emu = await setup(t);
    assert.equal(emu.policy.requirePkce, true);
    const url = authorizeUrl(emu.loginUrl, authorizeParams(emu, undefined));
    const refused = emu.authorize(url);
    assert.deepEqual({ ...refused, location: undefined }, {
      error: 'invalid_request', errorDescription: 'missing required code challenge', page: false,
      state: 'st-1', redirectUri: REDIRECT, location: undefined,
    });
    assert.deepEqual(Object.fromEntries(new URL(refused.location).searchParams),
      { error: 'invalid_request', error_description: 'missing required code challenge', state: 'st-1' });

    // The same over HTTP: a 302 to redirect_uri carrying the error, logged with its errorCode.
    const res = await request(url);
    assert.equal(res.status, 302);
    assert.equal(new URL(res.headers.location).searchParams.get('error_description'), 'missing required code challenge');
    assert.deepEqual([emu.log[0].status, emu.log[0].errorCode], [302, 'invalid_request']);

    emu.policy.requirePkce = false;
    const granted = emu.authorize(url);
    assert.equal((await exchange(emu, granted.code)).status, 200);
  });

  test('unknown client_id or an unregistered redirect_uri → an error page, never a redirect', async (t) => {
    const emu = await setup(t);
    const { challenge } = pkce();
    const unknown = emu.authorize(authorizeUrl(emu.loginUrl, authorizeParams(emu, challenge, { client_id: 'nope' })));
    assert.deepEqual([unknown.error, unknown.errorDescription, unknown.page, unknown.location],
      ['invalid_client_id', 'client identifier invalid', true, null]);
    const page = await request(authorizeUrl(emu.loginUrl, authorizeParams(emu, challenge, { client_id: 'nope' })));
    assert.equal(page.status, 400);
    assert.match(page.headers['content-type'], /^text\/html/);
    assert.match(page.text, /error=invalid_client_id&amp;error_description=client%20identifier%20invalid/);
    assert.equal(page.headers.location, undefined);

    emu.policy.callbackUrls = [REDIRECT];
    const stranger = emu.authorize(authorizeUrl(emu.loginUrl, authorizeParams(emu, challenge, { redirect_uri: 'https://evil.example/cb' })));
    assert.deepEqual([stranger.error, stranger.errorDescription, stranger.page, stranger.location],
      ['redirect_uri_mismatch', 'redirect_uri must match configuration', true, null]);
    assert.equal((await request(authorizeUrl(emu.loginUrl, authorizeParams(emu, challenge, { redirect_uri: 'https://evil.example/cb' })))).status, 400);
    assert.ok(emu.authorize(authorizeUrl(emu.loginUrl, authorizeParams(emu, challenge))).code, 'the registered one works');
  });

  test('refresh_token only when refresh_token or offline_access is granted; no scope → the app’s scopes', async (t) => {
    const emu = await setup(t);
    const { verifier, challenge } = pkce();
    const run = async (scope) => {
      const granted = emu.authorize(authorizeUrl(emu.loginUrl, authorizeParams(emu, challenge, { scope })));
      if (granted.error) return granted;
      const res = await exchange(emu, granted.code, { code_verifier: verifier });
      assert.equal(res.status, 200, res.text);
      return res.body;
    };
    const apiOnly = await run('api');
    assert.equal(apiOnly.scope, 'api');
    assert.equal('refresh_token' in apiOnly, false);
    const offline = await run('api offline_access');
    assert.equal(offline.scope, 'api offline_access');
    assert.ok(offline.refresh_token);
    const refreshed = await refreshWith(emu, offline.refresh_token);
    assert.equal(refreshed.body.scope, 'api offline_access', 'a refresh keeps the granted scope');
    const whole = await run(undefined);
    assert.equal(whole.scope, 'refresh_token api');
    assert.ok(whole.refresh_token);

    const refused = await run('api full');
    assert.deepEqual([refused.error, refused.errorDescription], ['invalid_scope', 'the requested scope is not allowed']);
    emu.policy.appScopes = ['full', 'refresh_token'];
    assert.equal((await run('api id')).scope, 'api id');
  });

  test('user, approval, prompt and host: the helper acts as told; stray URLs and users throw', async (t) => {
    const emu = await setup(t);
    const { verifier, challenge } = pkce();
    const { userId } = emu.createUser({ username: 'someone@example.com' });
    const url = authorizeUrl(emu.instanceUrl, authorizeParams(emu, challenge)); // My Domain serves authorize too
    for (const user of ['someone@example.com', userId]) {
      const res = await exchange(emu, emu.authorize(url, { user }).code, { code_verifier: verifier });
      assert.ok(res.body.id.endsWith(`/${userId}`));
    }
    const denied = emu.authorize(url, { approve: false });
    assert.deepEqual([denied.error, denied.errorDescription, denied.page], ['access_denied', 'end-user denied authorization', false]);
    assert.equal(new URL(denied.location).searchParams.get('state'), 'st-1');
    const noState = emu.authorize(authorizeUrl(emu.loginUrl, authorizeParams(emu, challenge, { state: undefined })));
    assert.equal(noState.state, null);
    assert.equal(new URL(noState.location).searchParams.has('state'), false);

    assert.throws(() => emu.authorize(url, { user: 'nobody@example.com' }), /unknown user/);
    assert.throws(() => emu.authorize(url.replace('/services/oauth2/authorize', '/services/oauth2/token')), /not an authorize URL/);
    assert.throws(() => emu.authorize('https://login.salesforce.com/services/oauth2/authorize'), /not an authorize URL/);
  });

  test('publicClient: the code exchange and refreshes need no secret; a wrong one still fails', async (t) => {
    const emu = await setup(t, { clientSecret: 'app-secret' });
    const { verifier, challenge } = pkce();
    const code = () => emu.authorize(authorizeUrl(emu.loginUrl, authorizeParams(emu, challenge))).code;
    assertOAuthError(await exchange(emu, code(), { code_verifier: verifier }), 'invalid_client', 'invalid client credentials');
    emu.policy.publicClient = true;
    const ok = await exchange(emu, code(), { code_verifier: verifier });
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await refreshWith(emu, ok.body.refresh_token)).status, 200);
    assertOAuthError(await exchange(emu, code(), { code_verifier: verifier, client_secret: 'wrong' }), 'invalid_client', 'invalid client credentials');
    assert.equal((await exchange(emu, code(), { code_verifier: verifier, client_secret: 'app-secret' })).status, 200);
  });
});

describe('JWT bearer', () => {
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });

  async function jwtSetup(t) {
    const emu = await setup(t);
    emu.registerJwtKey(keys.publicKey.export({ type: 'spki', format: 'pem' }));
    const claims = (extra = {}) => ({
      iss: emu.clientId, sub: 'emulator.user@example.com', aud: emu.loginUrl, exp: Math.floor(emu.now() / 1000) + 120, ...extra,
    });
    const send = (assertion, base) => tokenRequest(emu, { grant_type: JWT_GRANT, assertion }, { base });
    return { emu, claims, send };
  }

  test('pre-approval: an unapproved user is refused until approved; success has no refresh_token; grants are counted', async (t) => {
    const { emu, claims, send } = await jwtSetup(t);
    const { userId } = emu.createUser({ username: 'pending@example.com', jwtApproved: false });
    assertOAuthError(await send(jwt(keys.privateKey, claims({ sub: 'pending@example.com' }))), 'invalid_grant', "user hasn't approved this consumer");
    emu.setJwtApproval(userId);
    const ok = await send(jwt(keys.privateKey, claims({ sub: 'pending@example.com' })), emu.instanceUrl);
    assert.equal(ok.status, 200, ok.text);
    assert.equal('refresh_token' in ok.body, false);
    assert.equal(ok.body.scope, 'api');
    assert.ok(ok.body.id.endsWith(`/${userId}`));
    emu.setJwtApproval(userId, false);
    assertOAuthError(await send(jwt(keys.privateKey, claims({ sub: 'pending@example.com' }))), 'invalid_grant', "user hasn't approved this consumer");
    assert.deepEqual(emu.tokenRequests({ grantType: JWT_GRANT }).map((e) => [e.host, e.status]),
      [['login', 400], ['instance', 200], ['login', 400]]);
  });

  test('exp: required, not past, at most 3 minutes ahead on the emulator clock', async (t) => {
    const { emu, claims, send } = await jwtSetup(t);
    emu.setNow(Date.UTC(2026, 0, 1, 12, 0, 0, 500));
    const nowS = Math.floor(emu.now() / 1000);
    const { exp: _exp, ...noExp } = claims();
    assertOAuthError(await send(jwt(keys.privateKey, noExp)), 'invalid_grant', 'invalid assertion');
    assertOAuthError(await send(jwt(keys.privateKey, claims({ exp: String(nowS + 60) }))), 'invalid_grant', 'invalid assertion');
    assertOAuthError(await send(jwt(keys.privateKey, claims({ exp: nowS }))), 'invalid_grant', 'invalid assertion');
    assertOAuthError(await send(jwt(keys.privateKey, claims({ exp: nowS + 181 }))), 'invalid_grant', 'invalid assertion');
    assert.equal((await send(jwt(keys.privateKey, claims({ exp: nowS + 180 })))).status, 200);
    assert.equal((await send(jwt(keys.privateKey, claims({ exp: nowS + 1 })))).status, 200);
  });

  test('a tampered or malformed assertion → invalid assertion; a wrong aud → audience is invalid; jwtAudience replaces the login URL', async (t) => {
    const { emu, claims, send } = await jwtSetup(t);
    const [h, , s] = jwt(keys.privateKey, claims()).split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify(claims({ sub: 'admin@example.com' }))).toString('base64url')}.${s}`;
    assertOAuthError(await send(forged), 'invalid_grant', 'invalid assertion');
    assertOAuthError(await send(`${h}.!!!.${s}`), 'invalid_grant', 'invalid assertion');
    assertOAuthError(await send(''), 'invalid_grant', 'invalid assertion');
    assertOAuthError(await send(jwt(keys.privateKey, claims({ aud: emu.instanceUrl }))), 'invalid_grant', 'audience is invalid');
    assertOAuthError(await send(jwt(keys.privateKey, claims({ aud: undefined }))), 'invalid_grant', 'audience is invalid');

    emu.policy.jwtAudience = ['https://login.salesforce.com', 'https://test.salesforce.com'];
    assert.equal((await send(jwt(keys.privateKey, claims({ aud: 'https://test.salesforce.com/' })))).status, 200);
    assertOAuthError(await send(jwt(keys.privateKey, claims())), 'invalid_grant', 'audience is invalid');
  });
});

describe('client credentials', () => {
  const cc = (emu, base, secret = 'cc-secret') =>
    tokenRequest(emu, { grant_type: 'client_credentials', client_id: emu.clientId, client_secret: secret }, { base });

  test('only at the My Domain host: the login host → request not supported on this domain', async (t) => {
    const emu = await setup(t, { clientSecret: 'cc-secret' });
    assertOAuthError(await cc(emu, emu.loginUrl), 'invalid_grant', 'request not supported on this domain');
    const ok = await cc(emu, emu.instanceUrl);
    assert.equal(ok.status, 200, ok.text);
    assert.equal('refresh_token' in ok.body, false);
    assert.equal(ok.body.scope, 'api');
    assert.deepEqual(emu.tokenRequests({ grantType: 'client_credentials' }).map((e) => [e.host, e.status]), [['login', 400], ['instance', 200]]);
    // The identity URL is on the My Domain that served the grant, and answers there.
    assert.ok(ok.body.id.startsWith(`${emu.instanceUrl}/id/${emu.orgId}/`), ok.body.id);
    const identity = await fetch(ok.body.id, { headers: { authorization: `Bearer ${ok.body.access_token}` } });
    assert.equal(identity.status, 200);
    assert.equal((await identity.json()).organization_id, emu.orgId);
  });

  test('needs the secret: wrong, missing, or none configured → invalid_client', async (t) => {
    const emu = await setup(t, { clientSecret: 'cc-secret' });
    assertOAuthError(await cc(emu, emu.instanceUrl, 'wrong'), 'invalid_client', 'invalid client credentials');
    assertOAuthError(await cc(emu, emu.instanceUrl, ''), 'invalid_client', 'invalid client credentials');
    emu.policy.publicClient = true; // does not apply to client credentials
    assertOAuthError(await cc(emu, emu.instanceUrl, ''), 'invalid_client', 'invalid client credentials');
    const open = await setup(t);
    assertOAuthError(await cc(open, open.instanceUrl, 'anything'), 'invalid_client', 'invalid client credentials');
  });

  test('runs as the configured execution user; none configured → no client credentials user enabled', async (t) => {
    const emu = await setup(t, { clientSecret: 'cc-secret' });
    const { userId } = emu.createUser({ username: 'integration@example.com' });
    assert.ok((await cc(emu, emu.instanceUrl)).body.id.endsWith(`/${emu.defaultUserId}`));
    emu.policy.clientCredentialsUser = 'integration@example.com';
    const byName = await cc(emu, emu.instanceUrl);
    assert.ok(byName.body.id.endsWith(`/${userId}`));
    assert.equal((await identity(emu, byName.body)).body.username, 'integration@example.com');
    emu.policy.clientCredentialsUser = userId;
    assert.ok((await cc(emu, emu.instanceUrl)).body.id.endsWith(`/${userId}`));
    emu.policy.clientCredentialsUser = false;
    assertOAuthError(await cc(emu, emu.instanceUrl), 'invalid_grant', 'no client credentials user enabled');
    emu.policy.clientCredentialsUser = userId;
    emu.deactivateUser(userId);
    assertOAuthError(await cc(emu, emu.instanceUrl), 'invalid_grant', 'inactive user');
  });
});

describe('refresh tokens: IP allowlist and idle expiry', () => {
  test('refreshIpAllowlist: a refresh from another address → ip restricted; not a revocation', async (t) => {
    const emu = await setup(t);
    const tokens = await emu.mintTokenResponse();
    emu.policy.refreshIpAllowlist = ['127.0.0.2'];
    assertOAuthError(await refreshWith(emu, tokens.refresh_token, { localAddress: '127.0.0.1' }), 'invalid_grant', 'ip restricted');
    assert.equal((await rest(emu, tokens.access_token)).status, 200, 'the session is untouched');
    const ok = await refreshWith(emu, tokens.refresh_token, { localAddress: '127.0.0.2' });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(emu.tokenRequests({ grantType: 'refresh_token' }).map((e) => [e.remoteAddress, e.status]),
      [['127.0.0.1', 400], ['127.0.0.2', 200]]);

    emu.policy.refreshIpRestrictedDescription = 'IP restricted or invalid login hours';
    assertOAuthError(await refreshWith(emu, tokens.refresh_token), 'invalid_grant', 'IP restricted or invalid login hours');
    emu.policy.refreshIpAllowlist = ['127.0.0.0/30'];
    assert.equal((await refreshWith(emu, tokens.refresh_token, { localAddress: '127.0.0.3' })).status, 200);
    assert.equal((await refreshWith(emu, tokens.refresh_token, { localAddress: '127.0.0.5' })).status, 400);
    emu.policy.refreshIpAllowlist = null;
    assert.equal((await refreshWith(emu, tokens.refresh_token, { localAddress: '127.0.0.5' })).status, 200);
  });

  test('the allowlist applies to refreshes only, not to new grants', async (t) => {
    const emu = await setup(t);
    emu.policy.refreshIpAllowlist = ['10.0.0.0/8'];
    emu.policy.requirePkce = false;
    const granted = emu.authorize(authorizeUrl(emu.loginUrl, { response_type: 'code', client_id: emu.clientId, redirect_uri: REDIRECT }));
    assert.equal((await exchange(emu, granted.code)).status, 200);
  });

  test('idle expiry: unused for 30 days → expired access/refresh token; each refresh restarts the 30 days', async (t) => {
    const emu = await setup(t);
    assert.equal(emu.policy.refreshTokenIdleDays, 30);
    const tokens = await emu.mintTokenResponse();
    emu.advance(29 * DAY);
    assert.equal((await refreshWith(emu, tokens.refresh_token)).status, 200);
    emu.advance(29 * DAY);
    const last = await refreshWith(emu, tokens.refresh_token);
    assert.equal(last.status, 200, 'the refresh 29 days ago restarted the clock');
    emu.advance(30 * DAY);
    assert.equal((await rest(emu, last.body.access_token)).status, 401, 'the session timed out long ago');
    assertOAuthError(await refreshWith(emu, tokens.refresh_token), 'invalid_grant', 'expired access/refresh token');
    const introspected = await request(`${emu.instanceUrl}/services/oauth2/introspect`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.refresh_token, client_id: emu.clientId }).toString(),
    });
    assert.deepEqual(introspected.body, { active: false });
  });

  test('idle expiry with rotation, and switched off', async (t) => {
    const emu = await setup(t);
    emu.policy.rotateRefreshTokens = true;
    const tokens = await emu.mintTokenResponse();
    emu.advance(20 * DAY);
    const rotated = await refreshWith(emu, tokens.refresh_token);
    emu.advance(20 * DAY);
    assert.equal((await refreshWith(emu, rotated.body.refresh_token)).status, 200);

    const other = await emu.mintTokenResponse();
    emu.policy.refreshTokenIdleDays = null;
    emu.advance(400 * DAY);
    assert.equal((await refreshWith(emu, other.refresh_token)).status, 200);
  });

  test('idle-expired families no longer count toward the five token pairs', async (t) => {
    const emu = await setup(t);
    const old = [];
    for (let i = 0; i < 5; i += 1) old.push(await emu.mintTokenResponse());
    emu.advance(31 * DAY);
    const fresh = await emu.mintTokenResponse();
    emu.policy.refreshTokenIdleDays = null; // the old ones stay dead: they were swept when `fresh` was minted
    assertOAuthError(await refreshWith(emu, old[0].refresh_token), 'invalid_grant', 'expired access/refresh token');
    assert.equal((await refreshWith(emu, fresh.refresh_token)).status, 200);
  });
});

describe('high-assurance sessions', () => {
  test('highAssurance: a standard session is refused by REST like API Access Control; identity still works', async (t) => {
    const emu = await setup(t);
    const standard = await emu.mintTokenResponse();
    const high = await emu.mintTokenResponse({ highAssurance: true });
    emu.policy.highAssurance = true;
    assertRestError(await rest(emu, standard.access_token), 401, 'INVALID_SESSION_ID', NOT_FOR_REST);
    const id = await identity(emu, standard);
    assert.equal(id.status, 200, id.text);
    assert.equal(id.body.user_id, emu.defaultUserId);
    assert.equal((await rest(emu, high.access_token)).status, 200);

    // Refreshing does not help: the new session is as standard as the login behind it.
    const refreshed = await refreshWith(emu, standard.refresh_token);
    assert.equal(refreshed.status, 200);
    assertRestError(await rest(emu, refreshed.body.access_token), 401, 'INVALID_SESSION_ID', NOT_FOR_REST);
    const highRefreshed = await refreshWith(emu, high.refresh_token);
    assert.equal((await rest(emu, highRefreshed.body.access_token)).status, 200);

    emu.policy.highAssurance = false;
    assert.equal((await rest(emu, standard.access_token)).status, 200);
  });

  test('a login at the high-assurance level through authorize passes', async (t) => {
    const emu = await setup(t);
    emu.policy.highAssurance = true;
    const { verifier, challenge } = pkce();
    const granted = emu.authorize(authorizeUrl(emu.loginUrl, authorizeParams(emu, challenge)), { highAssurance: true });
    const tokens = (await exchange(emu, granted.code, { code_verifier: verifier })).body;
    assert.equal((await rest(emu, tokens.access_token)).status, 200);
    const standard = emu.authorize(authorizeUrl(emu.loginUrl, authorizeParams(emu, challenge)));
    const refused = (await exchange(emu, standard.code, { code_verifier: verifier })).body;
    assertRestError(await rest(emu, refused.access_token), 401, 'INVALID_SESSION_ID', NOT_FOR_REST);
  });

  test('an unknown token is still "Session expired or invalid" under highAssurance', async (t) => {
    const emu = await setup(t);
    emu.policy.highAssurance = true;
    assertRestError(await rest(emu, '00D000000000001!AQnope'), 401, 'INVALID_SESSION_ID', 'Session expired or invalid');
  });
});

describe('Salesforce Edge 420', () => {
  function assertEdge(res) {
    assert.equal(res.status, 420, res.text);
    assert.match(res.headers['content-type'], /^text\/html/);
    assert.equal(res.body, null, 'never JSON');
    assert.match(res.text, /We've hit a snag\./);
    assert.match(res.text, /Salesforce Edge:/);
  }

  test('edge420: true → every request on both hosts answers 420 HTML; token requests keep their grant type', async (t) => {
    const emu = await setup(t);
    const tokens = await emu.mintTokenResponse();
    emu.policy.edge420 = true;
    assertEdge(await rest(emu, tokens.access_token));
    assertEdge(await refreshWith(emu, tokens.refresh_token));
    assertEdge(await refreshWith(emu, tokens.refresh_token, { base: emu.instanceUrl }));
    assertEdge(await identity(emu, tokens));
    assertEdge(await request(`${emu.loginUrl}/anything`));
    assert.deepEqual(emu.tokenRequests({ grantType: 'refresh_token' }).map((e) => [e.host, e.status]), [['login', 420], ['instance', 420]]);
    emu.policy.edge420 = false;
    assert.equal((await rest(emu, tokens.access_token)).status, 200);
  });

  test("edge420: 'instance' or 'login' picks one host", async (t) => {
    const emu = await setup(t);
    const tokens = await emu.mintTokenResponse();
    emu.policy.edge420 = 'instance';
    assertEdge(await rest(emu, tokens.access_token));
    assert.equal((await refreshWith(emu, tokens.refresh_token)).status, 200);
    emu.policy.edge420 = 'login';
    assertEdge(await refreshWith(emu, tokens.refresh_token));
    assert.equal((await rest(emu, tokens.access_token)).status, 200);
  });

  test('edge420Requests: N answers exactly the next N requests with 420', async (t) => {
    const emu = await setup(t);
    const tokens = await emu.mintTokenResponse();
    emu.policy.edge420 = true;
    emu.policy.edge420Requests = 2;
    assertEdge(await rest(emu, tokens.access_token));
    assert.equal(emu.policy.edge420Requests, 1);
    assertEdge(await refreshWith(emu, tokens.refresh_token));
    assert.equal((await rest(emu, tokens.access_token)).status, 200);
    assert.equal((await refreshWith(emu, tokens.refresh_token)).status, 200);
    assert.deepEqual(emu.log.map((e) => e.status), [420, 420, 200, 200]);
  });
});

describe('slow and hung token endpoint', () => {
  test('tokenHang: no answer, other endpoints serve, close() ends it promptly', async (t) => {
    const emu = await startEmulator();
    t.after(() => emu.close());
    const tokens = await emu.mintTokenResponse();
    emu.policy.tokenHang = true;
    const hung = refreshWith(emu, tokens.refresh_token).then(() => 'answered', (err) => err.code);
    await until(() => emu.tokenRequests().length === 1, 'the hung request reached the log');
    assert.equal(emu.tokenRequests()[0].status, null);
    assert.equal((await rest(emu, tokens.access_token)).status, 200);
    await within(5000, emu.close(), 'close with a hung token request');
    assert.equal(await within(5000, hung, 'the hung request'), 'ECONNRESET');
    assert.equal(emu.tokenRequests()[0].status, null, 'never answered');
  });

  test('tokenHang: N hangs exactly the next N token requests; a client that gives up ends its wait', async (t) => {
    const emu = await setup(t);
    const tokens = await emu.mintTokenResponse();
    emu.policy.tokenHang = 1;
    const giveUp = new AbortController();
    const hung = refreshWith(emu, tokens.refresh_token, { signal: giveUp.signal }).then(() => 'answered', (err) => err.name);
    await until(() => emu.tokenRequests().length === 1, 'the hung request reached the log');
    assert.equal(emu.policy.tokenHang, 0);
    const next = await refreshWith(emu, tokens.refresh_token);
    assert.equal(next.status, 200, next.text);
    giveUp.abort();
    assert.equal(await within(5000, hung, 'the aborted request'), 'AbortError');
    assert.deepEqual(emu.tokenRequests().map((e) => e.status), [null, 200]);
  });

  test('a long tokenDelayMs does not hold close() up', async (t) => {
    const emu = await startEmulator();
    t.after(() => emu.close());
    const tokens = await emu.mintTokenResponse();
    emu.policy.tokenDelayMs = 10 * 60 * 1000;
    const slow = refreshWith(emu, tokens.refresh_token).then(() => 'answered', (err) => err.code);
    await until(() => emu.tokenRequests().length === 1, 'the delayed request reached the log');
    await within(5000, emu.close(), 'close with a delayed token request');
    assert.equal(await within(5000, slow, 'the delayed request'), 'ECONNRESET');
  });
});

describe('revoke', () => {
  test('a refresh token ends its family (every access token from it); an access token ends that session; both logged', async (t) => {
    const emu = await setup(t);
    const family = await emu.mintTokenResponse();
    const sibling = await refreshWith(emu, family.refresh_token);
    const other = await emu.mintTokenResponse();

    const one = await revoke(emu, other.access_token, emu.instanceUrl);
    assert.equal(one.status, 200);
    assert.equal(emu.isSessionActive(other.access_token), false);
    assert.equal((await refreshWith(emu, other.refresh_token)).status, 200, 'the family lives on');

    assert.equal((await revoke(emu, family.refresh_token)).status, 200);
    assert.equal(emu.isSessionActive(family.access_token), false);
    assert.equal(emu.isSessionActive(sibling.body.access_token), false);
    assertRestError(await rest(emu, sibling.body.access_token), 401, 'INVALID_SESSION_ID', 'Session expired or invalid');
    assertOAuthError(await refreshWith(emu, family.refresh_token), 'invalid_grant', 'expired access/refresh token');

    const again = await revoke(emu, family.refresh_token);
    assertOAuthError(again, 'unsupported_token_type', 'this token type is not supported');
    assert.deepEqual(emu.revokeRequests().map((e) => [e.host, e.status, e.revoked]), [
      ['instance', 200, 'access_token'],
      ['login', 200, 'refresh_token'],
      ['login', 400, null],
    ]);
    assert.equal(emu.revokeRequests({ revoked: 'refresh_token' }).length, 1);
  });

  test('with rotation, revoking the current refresh token ends the family; a rotated-out one revokes nothing', async (t) => {
    const emu = await setup(t);
    emu.policy.rotateRefreshTokens = true;
    const tokens = await emu.mintTokenResponse();
    const rotated = (await refreshWith(emu, tokens.refresh_token)).body;
    assertOAuthError(await revoke(emu, tokens.refresh_token), 'unsupported_token_type', 'this token type is not supported');
    assert.equal(emu.isSessionActive(rotated.access_token), true);
    assert.equal((await revoke(emu, rotated.refresh_token)).status, 200);
    assert.equal(emu.isSessionActive(tokens.access_token), false);
    assert.equal(emu.isSessionActive(rotated.access_token), false);
    assertOAuthError(await refreshWith(emu, rotated.refresh_token), 'invalid_grant', 'expired access/refresh token');
  });
});

test('the REST base used by these tests is a supported version', () => {
  assert.match(V, /^\/services\/data\/v\d+\.0$/);
});
