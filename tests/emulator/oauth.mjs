// OAuth endpoints (token, revoke, introspect, authorize) and the identity URL.
import { createPublicKey, verify, KeyObject } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { formParams, parseAuthorization, json, empty, htmlPage, oauthError } from './http.mjs';
import { oauth, rest, identity, authorize, EXPIRED_TOKEN } from './errors.mjs';
import { tokenEndpointChecks, firstObjection, useSession, tokenHangs } from './policy.mjs';
import { grantsRefreshToken, withoutRefreshScopes, REFRESH_SCOPES } from './state.mjs';

export const JWT_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const JWT_MAX_LIFETIME_MS = 3 * 60 * 1000;

const fromResult = (result) => oauthError(result.error, result.description);
const tokenReply = (body) => json(200, body, { 'cache-control': 'no-cache,must-revalidate,max-age=0,no-store,private' });
const seconds = (ms) => Math.floor(ms / 1000);

// ---- POST /services/oauth2/token ----------------------------------------------------------------

/**
 * Fills the log entry of a token request from its form: grant type, refresh token, and, for the
 * grants that carry them, the authorization code, code verifier, redirect URI and JWT assertion
 * (`form`: every field as sent, for tests that look at the rest).
 */
export function noteTokenRequest(ctx) {
  const params = formParams(ctx);
  ctx.entry.grantType = params.get('grant_type');
  ctx.entry.refreshToken = params.get('refresh_token');
  ctx.entry.code = params.get('code');
  ctx.entry.codeVerifier = params.get('code_verifier');
  ctx.entry.redirectUri = params.get('redirect_uri');
  ctx.entry.assertion = params.get('assertion');
  ctx.entry.form = Object.fromEntries(params);
  return params;
}

export async function tokenEndpoint(ctx) {
  const { req, state, policy, entry } = ctx;
  if (req.method !== 'POST') return oauth.mustPost();
  const params = noteTokenRequest(ctx);
  const grantType = entry.grantType;
  // `tokenHang`: no answer at all until the client gives up or the emulator closes.
  if (tokenHangs(ctx)) {
    await untilClosed(ctx);
    return { abandoned: true }; // nothing to write: the connection is gone
  }

  // Outage / rate-limit switches are decided on arrival, so that `tokenEndpointDown: N` fails
  // exactly the next N requests in arrival order.
  const early = firstObjection(tokenEndpointChecks, ctx);
  const refreshKey = !early && grantType === 'refresh_token' && entry.refreshToken ? entry.refreshToken : null;
  if (refreshKey && policy.concurrentRefreshError && state.refreshesInFlight.has(refreshKey)) {
    return oauth.alreadyProcessing();
  }
  if (refreshKey) state.refreshesInFlight.set(refreshKey, (state.refreshesInFlight.get(refreshKey) ?? 0) + 1);
  try {
    if (policy.tokenDelayMs > 0) await sleep(policy.tokenDelayMs, undefined, { signal: ctx.closing });
    return early ?? runGrant(ctx, grantType, params);
  } finally {
    if (refreshKey) {
      const left = state.refreshesInFlight.get(refreshKey) - 1;
      if (left > 0) state.refreshesInFlight.set(refreshKey, left);
      else state.refreshesInFlight.delete(refreshKey);
    }
  }
}

/** Resolves when the request's connection closes or the emulator closes, whichever is first. */
function untilClosed(ctx) {
  const { closing, req } = ctx;
  return new Promise((resolve) => {
    if (closing.aborted || req.socket.destroyed) return resolve();
    const done = () => {
      closing.removeEventListener('abort', done);
      req.socket.off('close', done);
      resolve();
    };
    closing.addEventListener('abort', done);
    req.socket.once('close', done);
  });
}

// What each grant asks of the client: JWT bearer names its client inside the assertion (iss) and
// carries no secret; client credentials always needs the secret; a public client (`publicClient`)
// may leave it out of the code exchange and of refreshes.
const CLIENT_AUTH = {
  authorization_code: 'secretUnlessPublic',
  refresh_token: 'secretUnlessPublic',
  client_credentials: 'secretRequired',
  [JWT_GRANT]: 'none',
};

function runGrant(ctx, grantType, params) {
  const handler = Object.hasOwn(GRANTS, grantType) ? GRANTS[grantType] : null;
  if (!handler) return oauth.unsupportedGrantType();
  const auth = CLIENT_AUTH[grantType];
  if (auth !== 'none') {
    const refusal = checkClient(ctx, params, {
      secretRequired: auth === 'secretRequired',
      secretOptional: auth === 'secretUnlessPublic' && !!ctx.policy.publicClient,
    });
    if (refusal) return refusal;
  }
  // Client credentials is served by the org's My Domain only (checked once the client is known).
  if (grantType === 'client_credentials' && ctx.host === 'login') return oauth.notOnThisDomain();
  return handler(ctx, params);
}

const GRANTS = {
  authorization_code({ state, remoteAddress }, params) {
    const redeemed = state.redeemAuthCode({
      code: params.get('code'),
      codeVerifier: params.get('code_verifier'),
      redirectUri: params.get('redirect_uri'),
    });
    if (redeemed.error) return fromResult(redeemed);
    const blocked = state.loginBlocked(redeemed.userId);
    if (blocked) return fromResult(blocked);
    return tokenReply(state.grant({
      userId: redeemed.userId,
      sourceAddress: remoteAddress,
      withRefreshToken: grantsRefreshToken(redeemed.scope),
      scope: redeemed.scope,
      highAssurance: redeemed.highAssurance,
    }));
  },

  refresh_token({ state, remoteAddress }, params) {
    const result = state.refresh(params.get('refresh_token'), remoteAddress);
    return result.error ? fromResult(result) : tokenReply(result.response);
  },

  // Runs as the connected app's "Run As" user (`clientCredentialsUser`, the default user unless set).
  // Served by the My Domain only, whose identity URL the response names (as Salesforce's does).
  client_credentials({ state, policy, remoteAddress }) {
    const runAs = policy.clientCredentialsUser;
    if (runAs === false) return oauth.noClientCredentialsUser();
    const user = runAs == null ? state.user() : (state.users.get(runAs) ?? state.userByUsername(runAs));
    if (!user) return oauth.noClientCredentialsUser();
    const blocked = state.loginBlocked(user.userId);
    if (blocked) return fromResult(blocked);
    return tokenReply(state.grant({
      userId: user.userId, sourceAddress: remoteAddress, withRefreshToken: false, scope: serverScope(policy), identityOrigin: state.instanceUrl,
    }));
  },

  [JWT_GRANT]({ state, policy, remoteAddress }, params) {
    const checked = checkAssertion(state, params.get('assertion'));
    if (checked.error) return fromResult(checked);
    return tokenReply(state.grant({
      userId: checked.userId, sourceAddress: remoteAddress, withRefreshToken: false, scope: serverScope(policy),
    }));
  },
};

/** Client id/secret from the form, or from HTTP Basic (client_secret_basic). */
function presentedClient(ctx, params) {
  const basic = /^Basic\s+(\S+)\s*$/i.exec(ctx.req.headers.authorization ?? '');
  if (basic) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return { id: decodeURIComponent(decoded), secret: null };
    return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
  }
  return { id: params.get('client_id'), secret: params.get('client_secret') };
}

/** Server-to-server grants get the app's scopes without refresh_token / offline_access. */
const serverScope = (policy) => withoutRefreshScopes([].concat(policy.appScopes ?? []).join(' ')) || 'api';

/**
 * Wrong/missing client id → invalid_client_id. A configured secret must match and an unconfigured
 * one is ignored, except that `secretRequired` needs a configured one presented, and `secretOptional`
 * (a public client) lets the secret be left out.
 */
function checkClient(ctx, params, { secretRequired = false, secretOptional = false } = {}) {
  const { id, secret } = presentedClient(ctx, params);
  const configured = ctx.state.clientSecret;
  if (id !== ctx.state.clientId) return oauth.invalidClientId();
  if (secretRequired && (configured === null || secret !== configured)) return oauth.invalidClient();
  if (secretOptional && !secret) return null;
  if (configured !== null && secret !== configured) return oauth.invalidClient();
  return null;
}

/** JWT bearer assertion: RS256; signature checked when a key is registered; iss, aud, exp, sub. */
function checkAssertion(state, assertion) {
  const invalid = (description = 'invalid assertion') => ({ error: 'invalid_grant', description });
  const parts = String(assertion ?? '').split('.');
  if (parts.length !== 3) return invalid();
  let header;
  let claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return invalid();
  }
  if (header?.alg !== 'RS256' || !claims || typeof claims !== 'object') return invalid();
  if (state.jwtKeys.length > 0) {
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    const signature = Buffer.from(parts[2], 'base64url');
    if (!state.jwtKeys.some((key) => verify('sha256', signed, key, signature))) return invalid();
  }
  if (claims.iss !== state.clientId) return { error: 'invalid_client_id', description: 'client identifier invalid' };
  const trim = (aud) => String(aud).replace(/\/+$/, '');
  const accepted = [].concat(state.policy.jwtAudience ?? state.loginUrl).map(trim);
  const audiences = [].concat(claims.aud ?? []).map(trim);
  if (!audiences.some((aud) => accepted.includes(aud))) return invalid('audience is invalid');
  const now = state.clock();
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= now || claims.exp * 1000 > now + JWT_MAX_LIFETIME_MS) return invalid();
  if (!state.active) return invalid('inactive organization');
  const user = state.userByUsername(claims.sub);
  if (!user || !user.jwtApproved) return invalid("user hasn't approved this consumer");
  if (!user.active) return invalid('inactive user');
  return { userId: user.userId };
}

/** Accepts a PEM string/Buffer, a JWK object or a KeyObject (a private key yields its public half). */
export function toPublicKey(key) {
  if (key instanceof KeyObject) return key.type === 'public' ? key : createPublicKey(key);
  if (typeof key === 'string' || Buffer.isBuffer(key)) return createPublicKey(key);
  return createPublicKey({ key, format: 'jwk' });
}

// ---- POST /services/oauth2/revoke ---------------------------------------------------------------

// The log entry's `revoked` says what the request ended: 'access_token' (that session only),
// 'refresh_token' (the whole family: the refresh token and every access token obtained with it) or null.
export function revokeEndpoint(ctx) {
  const { req, state, entry } = ctx;
  entry.revoked = null;
  if (req.method !== 'POST' && req.method !== 'GET') return oauth.mustPost();
  const token = formParams(ctx).get('token') ?? ctx.url.searchParams.get('token');
  const session = token ? state.sessionsByToken.get(token) : null;
  if (session) {
    state.revokeSession(session);
    entry.revoked = 'access_token';
    return empty(200);
  }
  const family = token ? state.liveFamily(token) : null;
  if (family) {
    state.revokeFamily(family, EXPIRED_TOKEN, 'revoke');
    entry.revoked = 'refresh_token';
    return empty(200);
  }
  return oauth.unsupportedTokenType();
}

// ---- POST /services/oauth2/introspect -----------------------------------------------------------

export function introspectEndpoint(ctx) {
  const { req, state } = ctx;
  if (req.method !== 'POST') return oauth.mustPost();
  const params = formParams(ctx);
  const refusal = checkClient(ctx, params);
  if (refusal) return refusal;
  const token = params.get('token');
  const common = (userId, scope) => ({
    active: true,
    scope,
    client_id: state.clientId,
    username: state.user(userId).username,
    sub: state.identityUrl(userId),
  });
  const session = token ? state.liveSession(token) : null;
  if (session) {
    return json(200, {
      ...common(session.userId, session.scope),
      token_type: 'access_token',
      exp: seconds(state.expiresAt(session)),
      iat: seconds(session.issuedAt),
      nbf: seconds(session.issuedAt),
    });
  }
  const family = token && state.active ? state.liveFamily(token) : null;
  if (family) {
    return json(200, {
      ...common(family.userId, family.scope),
      token_type: 'refresh_token',
      iat: seconds(family.createdAt),
      nbf: seconds(family.createdAt),
    });
  }
  return json(200, { active: false });
}

// ---- GET /services/oauth2/authorize ------------------------------------------------------------
//
// The user is taken to have logged in and approved: over HTTP as `login_hint` (else the default
// user); through `emu.authorize(url, {user, approve, highAssurance})` as told.

/** The scope granted for a requested one: the app's scopes when none is asked for; null when one is not allowed. */
function grantedScope(policy, requested) {
  const app = new Set([].concat(policy.appScopes ?? []));
  const words = String(requested ?? '').split(/[\s+]+/).filter(Boolean);
  if (words.length === 0) return [...app].join(' ');
  const allowed = (word) => app.has(word) ||
    (REFRESH_SCOPES.has(word) ? [...REFRESH_SCOPES].some((r) => app.has(r)) : app.has('full'));
  return words.every(allowed) ? words.join(' ') : null;
}

/**
 * Decides an authorize request: {code, scope, …} on success, {error, description, page?} otherwise.
 * `redirectUri` and `state` are echoed so the caller can build the redirect.
 */
function decideAuthorize(state, policy, q, { userId, approve = true, highAssurance = false }) {
  const redirectUri = q.get('redirect_uri');
  const echo = { redirectUri, state: q.get('state') };
  if (q.get('client_id') !== state.clientId) return { ...authorize.invalidClientId(), ...echo };
  let parsed = null;
  try { parsed = new URL(redirectUri); } catch { /* not a URL */ }
  const registered = policy.callbackUrls == null || [].concat(policy.callbackUrls).includes(redirectUri);
  if (!parsed || !registered) return { ...authorize.redirectUriMismatch(), ...echo };
  if (q.get('response_type') !== 'code') return { ...authorize.unsupportedResponseType(), ...echo };
  const challenge = q.get('code_challenge');
  if (!challenge && policy.requirePkce) return { ...authorize.missingCodeChallenge(), ...echo };
  if (challenge && (q.get('code_challenge_method') ?? 'S256') !== 'S256') return { ...authorize.invalidChallengeMethod(), ...echo };
  const scope = grantedScope(policy, q.get('scope'));
  if (scope === null) return { ...authorize.invalidScope(), ...echo };
  if (!approve) return { ...authorize.accessDenied(), ...echo };
  const code = state.issueAuthCode({ userId, codeChallenge: challenge ?? undefined, redirectUri, scope, highAssurance });
  return { code, scope, prompt: q.get('prompt'), ...echo };
}

/** The redirect a decision leads to (null for an error shown as a page). */
function redirectLocation(decision) {
  if (decision.page) return null;
  const target = new URL(decision.redirectUri);
  const params = decision.error ? { error: decision.error, error_description: decision.description } : { code: decision.code };
  for (const [key, value] of Object.entries(params)) target.searchParams.set(key, value);
  if (decision.state !== null) target.searchParams.set('state', decision.state);
  return target.href;
}

const errorPageTitle = (d) => `error=${d.error}&error_description=${encodeURIComponent(d.description)}`;

export function authorizeEndpoint(ctx) {
  const { state, policy } = ctx;
  const q = ctx.url.searchParams;
  const user = (q.get('login_hint') && state.userByUsername(q.get('login_hint'))) || state.user();
  const decision = decideAuthorize(state, policy, q, { userId: user.userId });
  if (decision.page) return htmlPage(400, errorPageTitle(decision), decision.error);
  return { status: 302, headers: { location: redirectLocation(decision) }, body: '', errorCode: decision.error ?? null };
}

/**
 * Plays the user on an authorize URL built by the client (`emu.authorize`). `user` is a username or
 * user id (default: the default user); `approve: false` denies; `highAssurance` logs in at the high
 * assurance level. Returns {code, state, redirectUri, scope, prompt, location} or
 * {error, errorDescription, page, state, redirectUri, location}; not logged.
 */
export function authorizeAsUser(state, policy, url, { user, approve = true, highAssurance = false } = {}) {
  const parsed = new URL(url);
  const origins = [state.loginUrl, state.instanceUrl];
  if (!origins.includes(parsed.origin) || parsed.pathname.replace(/\/+$/, '') !== '/services/oauth2/authorize') {
    throw new Error(`emulator: not an authorize URL of this emulator: ${parsed.origin}${parsed.pathname}`);
  }
  const found = user == null ? state.user() : (state.users.get(user) ?? state.userByUsername(user));
  if (!found) throw new Error(`emulator: unknown user ${user}`);
  const decision = decideAuthorize(state, policy, parsed.searchParams, { userId: found.userId, approve, highAssurance });
  const location = redirectLocation(decision);
  if (decision.error) {
    return { error: decision.error, errorDescription: decision.description, page: !!decision.page, state: decision.state, redirectUri: decision.redirectUri, location };
  }
  return { code: decision.code, state: decision.state, redirectUri: decision.redirectUri, scope: decision.scope, prompt: decision.prompt, location };
}

// ---- GET /id/{orgId}/{userId} -------------------------------------------------------------------

export function identityEndpoint(ctx) {
  const { req, state } = ctx;
  const match = /^\/id\/([^/]+)\/([^/]+)\/?$/.exec(ctx.url.pathname);
  if (!match) return identity.badId();
  if (req.method !== 'GET' && req.method !== 'POST') return identity.badId();
  const used = useSession(ctx, parseAuthorization(req.headers.authorization).token);
  if (used.refusal === 'notForRest') return rest.notValidForRest();
  // A standard session still reads its identity when the org requires high assurance for the API.
  if (used.refusal && used.refusal !== 'notHighAssurance') return identity.badToken();
  const { session } = used;
  const sameId = (a, b) => a === b || a === b.slice(0, 15);
  if (!sameId(match[1], state.orgId) || !sameId(match[2], session.userId)) return identity.badId();
  state.touch(session);
  return json(200, identityBody(state, state.user(session.userId)));
}

function identityBody(state, user) {
  const instance = state.currentInstanceUrl();
  const org15 = state.orgId.slice(0, 15);
  const data = `${instance}/services/data/v{version}`;
  return {
    id: state.identityUrl(user.userId),
    asserted_user: true,
    user_id: user.userId,
    organization_id: state.orgId,
    username: user.username,
    nick_name: user.username.split('@')[0],
    display_name: user.username.split('@')[0],
    email: user.username,
    email_verified: true,
    active: user.active,
    user_type: 'STANDARD',
    language: 'en_US',
    locale: 'en_US',
    utcOffset: 0,
    is_app_installed: true,
    urls: {
      enterprise: `${instance}/services/Soap/c/{version}/${org15}`,
      metadata: `${instance}/services/Soap/m/{version}/${org15}`,
      partner: `${instance}/services/Soap/u/{version}/${org15}`,
      rest: `${data}/`,
      sobjects: `${data}/sobjects/`,
      search: `${data}/search/`,
      query: `${data}/query/`,
      recent: `${data}/recent/`,
      tooling_rest: `${data}/tooling/`,
      profile: `${instance}/${user.userId.slice(0, 15)}`,
      custom_domain: instance,
    },
  };
}
