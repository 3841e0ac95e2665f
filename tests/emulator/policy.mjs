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
  };
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
 * when it must be treated exactly like an unknown token, 'notForRest' for API Access Control.
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
 * Returns {session} or {refusal: 'invalid' | 'notForRest'}.
 */
export function useSession(ctx, token) {
  const session = token ? ctx.state.liveSession(token) : null;
  if (!session) return { refusal: 'invalid' };
  const refusal = firstObjection(sessionChecks, { ...ctx, session });
  return refusal ? { refusal } : { session };
}

export function firstObjection(checks, ctx) {
  for (const check of checks) {
    const result = check(ctx);
    if (result) return result;
  }
  return null;
}
