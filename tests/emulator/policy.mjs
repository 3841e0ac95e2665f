// Org policies: a plain mutable object of switches (`emu.policy`) and the checks that read it.
//
// Adding a switch = a default below + one small function in the list where it applies. Each list
// is run in order; the first check that objects decides the answer.
import { rest, oauth } from './errors.mjs';

export function defaultPolicy() {
  return {
    sessionTimeoutSeconds: 7200,       // measured from a session's last activity
    rotateRefreshTokens: false,
    maxTokenPairs: 5,                  // per user + connected app
    ipLock: false,                     // applies to sessions minted while it is on (SALESFORCE.md §5)
    apiAccessControl: false,
    readOnly: false,
    readOnlyInvalidatesSessions: false,
    tokenEndpointDown: false,          // true, or a count of token requests still to fail
    tokenDelayMs: 0,
    concurrentRefreshError: false,
    requestLimitExceeded: false,
    apiDisabled: false,
    instanceUrl: null,                 // instance_url to put in token responses instead of emu.instanceUrl
    loginRateLimited: false,

    // Connected-app settings and the controls of SALESFORCE.md §7.
    requirePkce: true,                 // authorize refuses a request without code_challenge
    publicClient: false,               // authorization_code and refresh_token grants need no client secret
    callbackUrls: null,                // registered redirect URIs, compared exactly (null = any URL)
    appScopes: ['refresh_token', 'api'], // the app's OAuth scopes: what authorize grants when asked for none
    jwtAudience: null,                 // accepted JWT `aud` values (string or array) instead of the login URL
    clientCredentialsUser: null,       // userId or username of the "Run As" user (null = default user, false = none)
    refreshIpAllowlist: null,          // addresses or IPv4 CIDRs a refresh may come from (null = anywhere)
    refreshIpRestrictedDescription: 'ip restricted', // wording uncertain (§7)
    refreshTokenIdleDays: 30,          // a refresh token unused this long dies (null or 0 = never)
    highAssurance: false,              // REST refuses standard-assurance sessions
    edge420: false,                    // true (both hosts), 'login' or 'instance': HTTP 420 HTML on every request
    edge420Requests: null,             // with edge420: how many more requests get it (null = all)
    tokenHang: false,                  // true, or a count of token requests that never get an answer

    // Hostile servers (tests of what a client does with them; Salesforce does neither).
    echoCredentials: false,            // error replies quote the credentials the request presented
    errorBody: null,                   // REST data API: {status, bytes, chunk, prefix, contentType, endless, count}
  };
}

/** Every request on either host, before routing: Salesforce Edge answering 420 (`edge420`). */
export function edgeRefuses({ policy, host }) {
  const on = policy.edge420;
  if (!(on === true || on === host)) return false;
  if (typeof policy.edge420Requests === 'number') {
    if (policy.edge420Requests <= 0) return false;
    policy.edge420Requests -= 1;
  }
  return true;
}

/** Token endpoint, on arrival: whether this request is one that never gets an answer (`tokenHang`). */
export function tokenHangs({ policy }) {
  const hang = policy.tokenHang;
  if (hang === true) return true;
  if (typeof hang === 'number' && hang > 0) {
    policy.tokenHang = hang - 1;
    return true;
  }
  return false;
}

/** `refreshIpAllowlist`: exact addresses or IPv4 CIDR ranges; null means every address may refresh. */
export function refreshAllowedFrom(policy, address) {
  const list = policy.refreshIpAllowlist;
  if (list == null) return true;
  return [].concat(list).some((range) => addressInRange(address, String(range)));
}

function addressInRange(address, range) {
  const slash = range.indexOf('/');
  if (slash < 0) return address === range;
  const bits = Number(range.slice(slash + 1));
  const base = ipv4ToNumber(range.slice(0, slash));
  const value = ipv4ToNumber(address ?? '');
  if (base === null || value === null || !(bits >= 0 && bits <= 32)) return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((base & mask) >>> 0) === ((value & mask) >>> 0);
}

function ipv4ToNumber(text) {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return null;
  return parts.reduce((acc, p) => ((acc << 8) | Number(p)) >>> 0, 0);
}

const WRITE_METHODS = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

/** Token endpoint, on arrival of every token request (before grant handling): reply or null. */
export const tokenEndpointChecks = [
  function tokenEndpointDown({ policy }) {
    const down = policy.tokenEndpointDown;
    if (down === true) return oauth.serviceUnavailable();
    if (typeof down === 'number' && down > 0) {
      policy.tokenEndpointDown = down - 1;
      return oauth.serviceUnavailable();
    }
    return null;
  },
  function loginRateLimited({ policy }) {
    return policy.loginRateLimited ? oauth.rateLimited() : null;
  },
];

/**
 * Whether a live (known, unexpired, unrevoked) session may be used for this request, on every
 * surface that takes a session (REST, identity, SOAP, Bulk). Returns null when it may, 'invalid'
 * when it must be treated exactly like an unknown token, 'notForRest' for API Access Control,
 * 'notHighAssurance' for a standard session while `highAssurance` is on.
 */
export const sessionChecks = [
  function ipLock({ policy, session, remoteAddress }) {
    return policy.ipLock && session.ipLocked && session.sourceAddress !== remoteAddress ? 'invalid' : null;
  },
  function readOnlyInvalidatesSessions({ policy }) {
    return policy.readOnly && policy.readOnlyInvalidatesSessions ? 'invalid' : null;
  },
  function apiAccessControl({ policy }) {
    return policy.apiAccessControl ? 'notForRest' : null;
  },
  // Last: the identity URL accepts a standard session that only this check refuses.
  function highAssurance({ policy, session }) {
    return policy.highAssurance && !session.highAssurance ? 'notHighAssurance' : null;
  },
];

/** REST data API only, once the session passed: reply or null. */
export const restChecks = [
  function apiDisabled({ policy }) {
    return policy.apiDisabled ? rest.apiDisabled() : null;
  },
  function requestLimitExceeded({ policy }) {
    return policy.requestLimitExceeded ? rest.requestLimitExceeded() : null;
  },
  function readOnlyWrites({ policy, req }) {
    return policy.readOnly && WRITE_METHODS.has(req.method) ? rest.maintenance() : null;
  },
];

/**
 * Resolves the session behind a presented access token for any surface that takes one.
 * Returns {session} or {refusal: 'invalid' | 'notForRest' | 'notHighAssurance'} (with the live
 * session too when the refusal is a policy's).
 */
export function useSession(ctx, token) {
  const session = token ? ctx.state.liveSession(token) : null;
  if (!session) return { refusal: 'invalid' };
  const refusal = firstObjection(sessionChecks, { ...ctx, session });
  return refusal ? { refusal, session } : { session };
}

/** REST refuses a session that API Access Control or the high-assurance requirement rejects alike. */
export const notValidForRest = (refusal) => refusal === 'notForRest' || refusal === 'notHighAssurance';

export function firstObjection(checks, ctx) {
  for (const check of checks) {
    const result = check(ctx);
    if (result) return result;
  }
  return null;
}

// ---- hostile servers --------------------------------------------------------------------------

/** The credentials a request presented: bearer token and the secret-bearing form fields. */
function presentedCredentials(ctx) {
  const out = [];
  if (ctx.entry.token) out.push(`session=${ctx.entry.token}`);
  const type = String(ctx.req.headers['content-type'] ?? '').toLowerCase();
  if (type.startsWith('application/x-www-form-urlencoded')) {
    const form = new URLSearchParams(ctx.body.toString('utf8'));
    for (const name of ['refresh_token', 'client_secret', 'token', 'assertion', 'code', 'code_verifier']) {
      if (form.get(name)) out.push(`${name}=${form.get(name)}`);
    }
  }
  return out.join(' ');
}

/**
 * `echoCredentials`: an error reply (OAuth `error_description`, REST `message`) quotes what the
 * request presented, as a careless proxy or server might. Other replies are returned unchanged.
 */
export function echoCredentials(ctx, reply) {
  if (!ctx.policy.echoCredentials || !reply || reply.abandoned) return reply;
  const quoted = presentedCredentials(ctx);
  if (!quoted) return reply;
  if (reply.restErrors) {
    return { ...reply, restErrors: reply.restErrors.map((e) => ({ ...e, message: `${e.message} (presented ${quoted})` })) };
  }
  if (reply.errorCode && typeof reply.body === 'string' && reply.body.startsWith('{')) {
    let parsed;
    try {
      parsed = JSON.parse(reply.body);
    } catch {
      return reply;
    }
    if (typeof parsed.error_description !== 'string') return reply;
    parsed.error_description = `${parsed.error_description} (presented ${quoted})`;
    return { ...reply, body: JSON.stringify(parsed) };
  }
  return reply;
}

/**
 * `errorBody`: the REST data API answers with a large (or endless) error body instead of routing:
 * `prefix`, then `chunk` repeated up to `bytes` in all (or forever with `endless`), for `count`
 * more requests (null = all). Streamed, so 50 MiB costs the emulator no 50 MiB string.
 */
export function errorBodyReply({ policy }) {
  const spec = policy.errorBody;
  if (!spec) return null;
  if (typeof spec.count === 'number') {
    if (spec.count <= 0) return null;
    spec.count -= 1;
  }
  const {
    status = 500, bytes = 1 << 20, chunk = 'x', prefix = '', contentType = 'application/json;charset=UTF-8', endless = false,
  } = spec;
  return {
    status,
    headers: { 'content-type': contentType },
    body: '',
    errorCode: 'HOSTILE_BODY',
    stream: { prefix, chunk, bytes, endless },
  };
}
