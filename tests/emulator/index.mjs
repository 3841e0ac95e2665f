// A Salesforce emulator: two real HTTP servers on loopback (a login host and an instance host)
// that behave on the wire as /work/shared/SALESFORCE.md describes. Zero dependencies.
//
//   const emu = await startEmulator({ clientId: 'test-client' });
//   const tokens = await emu.mintTokenResponse();
//   await fetch(`${tokens.instance_url}/services/data/v62.0/limits`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
//   emu.policy.ipLock = true; emu.advance(3 * 3600 * 1000); emu.tokenRequests(); ...
//   await emu.close();
import http from 'node:http';
import { OrgState } from './state.mjs';
import { defaultPolicy } from './policy.mjs';
import { normaliseAddress, readBody, send, parseAuthorization, htmlPage, restError } from './http.mjs';
import { rest, edge420, EXPIRED_TOKEN } from './errors.mjs';
import { edgeRefuses, echoCredentials, errorBodyReply } from './policy.mjs';
import {
  tokenEndpoint, revokeEndpoint, introspectEndpoint, authorizeEndpoint, identityEndpoint, toPublicKey,
  authorizeAsUser, noteTokenRequest,
} from './oauth.mjs';
import { dataApi } from './rest.mjs';
import { soapApi, bulkApi } from './legacy.mjs';
import { corsPolicy } from './cors.mjs';

const TOKEN_PATH = '/services/oauth2/token';

// A My Domain host serves the OAuth endpoints too, so both hosts answer them.
const OAUTH_ROUTES = {
  [TOKEN_PATH]: tokenEndpoint,
  '/services/oauth2/revoke': revokeEndpoint,
  '/services/oauth2/introspect': introspectEndpoint,
  '/services/oauth2/authorize': authorizeEndpoint,
};

const isUnder = (path, prefix) => path === prefix || path.startsWith(`${prefix}/`);

function commonRoute(ctx) {
  const path = ctx.url.pathname.length > 1 ? ctx.url.pathname.replace(/\/+$/, '') : ctx.url.pathname;
  if (Object.hasOwn(OAUTH_ROUTES, path)) return OAUTH_ROUTES[path](ctx);
  if (isUnder(path, '/id')) return identityEndpoint(ctx);
  return null;
}

function routeLogin(ctx) {
  const common = commonRoute(ctx);
  if (common) return common;
  // Data calls on a login host: the client did not switch to the instance_url.
  if (isUnder(ctx.url.pathname, '/services/data')) return rest.urlNotReset();
  return htmlPage(404, 'Page Not Found');
}

function routeInstance(ctx) {
  const common = commonRoute(ctx);
  if (common) return common;
  const path = ctx.url.pathname;
  if (isUnder(path, '/services/data')) return errorBodyReply(ctx) ?? dataApi(ctx);
  if (isUnder(path, '/services/Soap')) return soapApi(ctx);
  if (isUnder(path, '/services/async')) return bulkApi(ctx);
  return htmlPage(404, 'Page Not Found');
}

export async function startEmulator(options = {}) {
  const {
    clientId = 'test-client',
    clientSecret,
    orgId = '00D000000000001AAA',
    now,
    loginPort = 0,
    instancePort = 0,
    corsOrigins,
  } = options;
  if (!/^00D[A-Za-z0-9]{15}$/.test(orgId)) throw new Error('emulator: orgId must be an 18-character 00D… id');
  if (now !== undefined && typeof now !== 'function') throw new Error('emulator: now must be a function returning epoch ms');

  let offset = 0;
  const clock = now ?? (() => Date.now() + offset);
  const policy = defaultPolicy();
  const state = new OrgState({ orgId, clientId, clientSecret, clock, policy });
  const log = [];
  // Aborted by close(): hung and delayed token requests stop waiting.
  const closing = new AbortController();
  const cors = corsPolicy(corsOrigins);

  function handlerFor(host, router) {
    return async (req, res) => {
      // Preflights are answered before routing and kept out of `log` (they carry no credential).
      if (cors?.isPreflight(req)) return cors.answerPreflight(host, req, res);
      const url = new URL(req.url, 'http://emulator.invalid');
      const authorization = req.headers.authorization ?? null;
      // The entry goes in on arrival (so the log is in arrival order) and is completed by `send`
      // just before the response is written.
      const entry = {
        at: clock(),
        host,
        method: req.method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        remoteAddress: normaliseAddress(req.socket.remoteAddress),
        authorization,
        token: parseAuthorization(authorization).token ?? req.headers['x-sfdc-session'] ?? null,
        grantType: null,
        refreshToken: null,
        status: null,
        errorCode: null,
      };
      log.push(entry);
      let reply;
      try {
        const body = await readBody(req);
        const ctx = { state, policy, req, url, body, entry, host, remoteAddress: entry.remoteAddress, closing: closing.signal };
        if (edgeRefuses(ctx)) {
          // Salesforce Edge answers before the org sees anything; token requests still show their grant.
          if (req.method === 'POST' && url.pathname === TOKEN_PATH) noteTokenRequest(ctx);
          reply = edge420(clock());
        } else {
          reply = echoCredentials(ctx, await router(ctx));
        }
      } catch (err) {
        reply = err?.tooLarge
          ? restError(413, 'REQUEST_ENTITY_TOO_LARGE', 'Request body too large')
          : restError(500, 'UNKNOWN_EXCEPTION', `emulator error: ${err?.message ?? err}`);
      }
      // A hung request whose connection is gone stays unanswered in the log (status null).
      if (!reply?.abandoned && !res.destroyed && !req.socket.destroyed) send(req, res, entry, cors ? cors.decorate(req, reply) : reply);
    };
  }

  const loginServer = http.createServer(handlerFor('login', routeLogin));
  const instanceServer = http.createServer(handlerFor('instance', routeInstance));
  await Promise.all([listen(loginServer, loginPort), listen(instanceServer, instancePort)]);
  state.loginUrl = `http://127.0.0.1:${loginServer.address().port}`;
  state.instanceUrl = `http://127.0.0.1:${instanceServer.address().port}`;

  const requireSession = (accessToken) => {
    const session = state.sessionsByToken.get(accessToken);
    if (!session) throw new Error('emulator: unknown access token');
    return session;
  };
  const fixedClock = () => {
    if (now) throw new Error('emulator: the clock was injected (options.now); move it yourself');
  };

  return {
    loginUrl: state.loginUrl,
    instanceUrl: state.instanceUrl,
    clientId,
    orgId,
    defaultUserId: state.defaultUserId,
    policy,
    log,
    /** CORS preflights seen (only with `corsOrigins`): { host, path, origin, requestMethod, requestHeaders, allowed }. */
    preflights: cors?.preflights ?? [],

    now: clock,
    advance(ms) {
      fixedClock();
      offset += ms;
    },
    setNow(ms) {
      fixedClock();
      offset = ms - Date.now();
    },

    createUser: (spec) => state.createUser(spec),

    /** A successful authorization_code response, as if obtained from `sourceAddress`; not logged. */
    async mintTokenResponse({
      userId = state.defaultUserId, sourceAddress = '127.0.0.1', withRefreshToken = true, scope, highAssurance = false,
    } = {}) {
      const blocked = state.loginBlocked(userId);
      if (blocked) throw new Error(`emulator: cannot mint (${blocked.description})`);
      return state.grant({ userId, sourceAddress: normaliseAddress(sourceAddress), withRefreshToken, scope, highAssurance });
    },
    issueAuthCode: (spec) => state.issueAuthCode(spec),
    /** Every authorization code issued so far (used or not), for secret scans. */
    authCodes: () => [...state.authCodes.keys()],
    /** Plays the user on a client-built authorize URL: {code, state, redirectUri, …} or {error, errorDescription, …}. */
    authorize: (url, options) => authorizeAsUser(state, policy, url, options),
    registerJwtKey(key) {
      state.jwtKeys.push(toPublicKey(key));
    },
    /** Whether the user has pre-approved the app for the JWT bearer flow (createUser's `jwtApproved`). */
    setJwtApproval(userId, approved = true) {
      state.user(userId).jwtApproved = !!approved;
    },

    tokenRequests(filter = {}) {
      return log.filter((e) => e.method === 'POST' && e.path === TOKEN_PATH &&
        Object.entries(filter).every(([key, value]) => e[key] === value));
    },
    /** Revoke requests; `revoked` is 'access_token', 'refresh_token' or null (nothing ended). */
    revokeRequests(filter = {}) {
      return log.filter((e) => e.path === '/services/oauth2/revoke' &&
        Object.entries(filter).every(([key, value]) => e[key] === value));
    },
    /** Requests that presented the token as a credential (Authorization, X-SFDC-Session, SOAP SessionHeader). */
    requestsWithToken(accessToken) {
      return log.filter((e) => e.token === accessToken || (e.authorization ?? '').includes(accessToken));
    },
    clearLog() {
      log.length = 0;
    },
    /** Token requests by grant type, e.g. { refresh_token: 3, authorization_code: 1 } (requests still pending count too). */
    tokenRequestCounts() {
      const counts = {};
      for (const e of this.tokenRequests()) counts[e.grantType ?? 'none'] = (counts[e.grantType ?? 'none'] ?? 0) + 1;
      return counts;
    },
    /** Every presentation of a rotated-out refresh token (each revoked its family): { at, familyId, userId, sourceAddress }. */
    rotatedOutPresentations: () => state.rotatedOutPresented.map((e) => ({ ...e })),
    /**
     * Every refresh-token family that ended, in order: { at, familyId, userId, reason, cause }; `cause`
     * is 'reuse', 'token_pairs', 'revoke', 'user' or 'idle'. `filter` as for tokenRequests.
     */
    familyEnds(filter = {}) {
      return state.familyEnds.filter((e) => Object.entries(filter).every(([key, value]) => e[key] === value)).map((e) => ({ ...e }));
    },
    /**
     * The family a refresh token (current or rotated out) was issued in: { familyId, userId,
     * refreshToken (the current one), live, lastUsedAt } or null for a token this org never issued.
     */
    refreshTokenFamily(refreshToken) {
      const family = state.familyByRefreshToken.get(refreshToken);
      if (!family) return null;
      return {
        familyId: family.id,
        userId: family.userId,
        refreshToken: family.refreshToken,
        live: !family.revoked && !state.idleExpired(family),
        lastUsedAt: family.lastUsedAt,
      };
    },

    sessions() {
      return [...state.sessionsByToken.values()].map((s) => ({
        accessToken: s.accessToken,
        userId: s.userId,
        issuedAt: s.issuedAt,
        lastActivity: s.lastActivity,
        sourceAddress: s.sourceAddress,
        active: state.isActive(s),
      }));
    },
    isSessionActive: (accessToken) => state.isActive(state.sessionsByToken.get(accessToken)),
    expireSession(accessToken) {
      requireSession(accessToken).expired = true;
    },
    expireAllSessions() {
      for (const session of state.sessionsByToken.values()) session.expired = true;
    },

    changePassword(userId = state.defaultUserId) {
      state.revokeUser(state.user(userId).userId, 'authentication failure');
    },
    deactivateUser(userId = state.defaultUserId) {
      state.user(userId).active = false;
      state.revokeUser(userId, 'inactive user');
    },
    deactivateOrg() {
      state.active = false;
      state.revokeEverything('inactive organization');
    },
    revokeAppAccess(userId = state.defaultUserId) {
      state.revokeUser(state.user(userId).userId, EXPIRED_TOKEN);
    },

    records: (sobject) => state.listRecords(sobject),

    /** Stops both servers and destroys every open connection, hung token requests included. */
    async close() {
      closing.abort();
      await Promise.all([stop(loginServer), stop(instanceServer)]);
    },
  };
}

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Stops accepting, then drops idle keep-alive (and any in-flight) connections so close resolves. */
function stop(server) {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
