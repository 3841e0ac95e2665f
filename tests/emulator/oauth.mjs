// OAuth endpoints (token, revoke, introspect, authorize) and the identity URL.
import { createPublicKey, verify, KeyObject } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { formParams, parseAuthorization, json, empty, htmlPage, oauthError } from './http.mjs';
import { oauth, rest, identity, EXPIRED_TOKEN } from './errors.mjs';
import { tokenEndpointChecks, firstObjection, useSession } from './policy.mjs';
import { SCOPE } from './state.mjs';

export const JWT_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const JWT_MAX_LIFETIME_MS = 3 * 60 * 1000;

const fromResult = (result) => oauthError(result.error, result.description);
const tokenReply = (body) => json(200, body, { 'cache-control': 'no-cache,must-revalidate,max-age=0,no-store,private' });
const seconds = (ms) => Math.floor(ms / 1000);

// ---- POST /services/oauth2/token ----------------------------------------------------------------

export async function tokenEndpoint(ctx) {
  const { req, state, policy, entry } = ctx;
  if (req.method !== 'POST') return oauth.mustPost();
  const params = formParams(ctx);
  const grantType = params.get('grant_type');
  entry.grantType = grantType;
  entry.refreshToken = params.get('refresh_token');

  // Outage / rate-limit switches are decided on arrival, so that `tokenEndpointDown: N` fails
  // exactly the next N requests in arrival order.
  const early = firstObjection(tokenEndpointChecks, ctx);
  const refreshKey = !early && grantType === 'refresh_token' && entry.refreshToken ? entry.refreshToken : null;
  if (refreshKey && policy.concurrentRefreshError && state.refreshesInFlight.has(refreshKey)) {
    return oauth.alreadyProcessing();
  }
  if (refreshKey) state.refreshesInFlight.set(refreshKey, (state.refreshesInFlight.get(refreshKey) ?? 0) + 1);
  try {
    if (policy.tokenDelayMs > 0) await sleep(policy.tokenDelayMs);
    return early ?? runGrant(ctx, grantType, params);
  } finally {
    if (refreshKey) {
      const left = state.refreshesInFlight.get(refreshKey) - 1;
      if (left > 0) state.refreshesInFlight.set(refreshKey, left);
      else state.refreshesInFlight.delete(refreshKey);
    }
  }
}

function runGrant(ctx, grantType, params) {
  const handler = Object.hasOwn(GRANTS, grantType) ? GRANTS[grantType] : null;
  if (!handler) return oauth.unsupportedGrantType();
  // The JWT bearer grant names its client inside the assertion (iss) and carries no secret.
  if (grantType !== JWT_GRANT) {
    const refusal = checkClient(ctx, params);
    if (refusal) return refusal;
  }
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
    return tokenReply(state.grant({ userId: redeemed.userId, sourceAddress: remoteAddress, withRefreshToken: true }));
  },

  refresh_token({ state, remoteAddress }, params) {
    const result = state.refresh(params.get('refresh_token'), remoteAddress);
    return result.error ? fromResult(result) : tokenReply(result.response);
  },

  // Runs as the org's default user (the connected app's "Run As" user).
  client_credentials({ state, remoteAddress }) {
    const blocked = state.loginBlocked(state.defaultUserId);
    if (blocked) return fromResult(blocked);
    return tokenReply(state.grant({ userId: state.defaultUserId, sourceAddress: remoteAddress, withRefreshToken: false }));
  },

  [JWT_GRANT]({ state, remoteAddress }, params) {
    const checked = checkAssertion(state, params.get('assertion'));
    if (checked.error) return fromResult(checked);
    return tokenReply(state.grant({ userId: checked.userId, sourceAddress: remoteAddress, withRefreshToken: false }));
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

/** Wrong/missing client id → invalid_client_id; a configured secret must match, an unconfigured one is ignored. */
function checkClient(ctx, params) {
  const { id, secret } = presentedClient(ctx, params);
  if (id !== ctx.state.clientId) return oauth.invalidClientId();
  if (ctx.state.clientSecret !== null && secret !== ctx.state.clientSecret) return oauth.invalidClient();
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
  const audiences = [].concat(claims.aud ?? []).map((aud) => String(aud).replace(/\/+$/, ''));
  if (!audiences.includes(state.loginUrl)) return invalid('audience is invalid');
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

export function revokeEndpoint(ctx) {
  const { req, state } = ctx;
  if (req.method !== 'POST' && req.method !== 'GET') return oauth.mustPost();
  const token = formParams(ctx).get('token') ?? ctx.url.searchParams.get('token');
  const session = token ? state.sessionsByToken.get(token) : null;
  if (session) {
    state.revokeSession(session);
    return empty(200);
  }
  // Revoking a refresh token revokes every access token obtained with it.
  const family = token ? state.liveFamily(token) : null;
  if (family) {
    state.revokeFamily(family, EXPIRED_TOKEN);
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
  const common = (userId) => ({
    active: true,
    scope: SCOPE,
    client_id: state.clientId,
    username: state.user(userId).username,
    sub: state.identityUrl(userId),
  });
  const session = token ? state.liveSession(token) : null;
  if (session) {
    return json(200, {
      ...common(session.userId),
      token_type: 'access_token',
      exp: seconds(state.expiresAt(session)),
      iat: seconds(session.issuedAt),
      nbf: seconds(session.issuedAt),
    });
  }
  const family = token && state.active ? state.liveFamily(token) : null;
  if (family) {
    return json(200, {
      ...common(family.userId),
      token_type: 'refresh_token',
      iat: seconds(family.createdAt),
      nbf: seconds(family.createdAt),
    });
  }
  return json(200, { active: false });
}

// ---- GET /services/oauth2/authorize (auto-approves; for end-to-end PKCE tests) ------------------

export function authorizeEndpoint(ctx) {
  const { state } = ctx;
  const q = ctx.url.searchParams;
  if (q.get('client_id') !== state.clientId) return htmlPage(400, 'error=invalid_client_id', 'invalid_client_id');
  let target;
  try {
    target = new URL(q.get('redirect_uri'));
  } catch {
    return htmlPage(400, 'error=redirect_uri_mismatch', 'redirect_uri_mismatch');
  }
  const redirect = (params) => {
    for (const [key, value] of Object.entries(params)) target.searchParams.set(key, value);
    if (q.has('state')) target.searchParams.set('state', q.get('state'));
    return { status: 302, headers: { location: target.href }, body: '', errorCode: params.error ?? null };
  };
  if (q.get('response_type') !== 'code') return redirect({ error: 'unsupported_response_type', error_description: 'response type not supported' });
  const challenge = q.get('code_challenge');
  if (challenge && (q.get('code_challenge_method') ?? 'S256') !== 'S256') {
    return redirect({ error: 'invalid_request', error_description: 'invalid code challenge method' });
  }
  const user = (q.get('login_hint') && state.userByUsername(q.get('login_hint'))) || state.user();
  const code = state.issueAuthCode({ userId: user.userId, codeChallenge: challenge ?? undefined, redirectUri: q.get('redirect_uri') });
  return redirect({ code });
}

// ---- GET /id/{orgId}/{userId} -------------------------------------------------------------------

export function identityEndpoint(ctx) {
  const { req, state } = ctx;
  const match = /^\/id\/([^/]+)\/([^/]+)\/?$/.exec(ctx.url.pathname);
  if (!match) return identity.badId();
  if (req.method !== 'GET' && req.method !== 'POST') return identity.badId();
  const used = useSession(ctx, parseAuthorization(req.headers.authorization).token);
  if (used.refusal === 'notForRest') return rest.notValidForRest();
  if (used.refusal) return identity.badToken();
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
