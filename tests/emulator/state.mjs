// The org's state: users, sessions (one per access token), refresh-token families, authorization
// codes and records. Pure bookkeeping on the emulator clock; no HTTP here.
import { randomBytes, createHmac, createHash } from 'node:crypto';
import { EXPIRED_TOKEN } from './errors.mjs';
import { refreshAllowedFrom } from './policy.mjs';

export const SCOPE = 'refresh_token api';
const AUTH_CODE_TTL_MS = 15 * 60 * 1000;
const DAY_MS = 24 * 3600 * 1000;
export const REFRESH_SCOPES = new Set(['refresh_token', 'offline_access']);

/** A refresh token comes with a grant only when `refresh_token` or `offline_access` was granted. */
export const grantsRefreshToken = (scope) => String(scope ?? '').split(/\s+/).some((s) => REFRESH_SCOPES.has(s));

/** The scope of a grant that never carries a refresh token (JWT bearer, client credentials). */
export const withoutRefreshScopes = (scope) => String(scope ?? '').split(/\s+/).filter((s) => s && !REFRESH_SCOPES.has(s)).join(' ');
// Used for the token response `signature` when no client secret is configured.
const FALLBACK_SIGNING_KEY = 'salesforce-emulator-signing-key';

const KEY_PREFIXES = { account: '001', contact: '003', opportunity: '006', lead: '00Q', case: '500', task: '00T' };

const invalidGrant = (description) => ({ error: 'invalid_grant', description });

export class OrgState {
  constructor({ orgId, clientId, clientSecret, clock, policy }) {
    this.orgId = orgId;
    this.clientId = clientId;
    this.clientSecret = clientSecret ?? null;
    this.clock = clock;
    this.policy = policy;
    this.active = true;
    this.loginUrl = null; // both set once the servers listen
    this.instanceUrl = null;
    this.apiUsage = 0;
    this.idCounter = 0;
    this.users = new Map();                 // userId -> {userId, username, active, jwtApproved}
    this.sessionsByToken = new Map();       // accessToken -> session (insertion = issue order)
    this.liveFamilies = new Map();          // userId -> that user's unrevoked refresh-token families, oldest first
    this.familyByRefreshToken = new Map();  // every refresh token ever issued, current or rotated out
    this.authCodes = new Map();
    this.records = new Map();               // lower-cased sObject name -> {name, byId: Map(id -> fields)}
    this.jwtKeys = [];
    this.refreshesInFlight = new Map();     // refresh token -> count of token requests being processed
    this.bulkJobs = new Map();              // Bulk API 1.0 job id -> jobInfo
    this.familyCounter = 0;
    // For fleet tests: every presentation of a rotated-out refresh token, and every family that
    // ended, in order. Entries name the family by id, never by a token.
    this.rotatedOutPresented = [];          // {at, familyId, userId, sourceAddress}
    this.familyEnds = [];                   // {at, familyId, userId, reason, cause}
    this.defaultUserId = this.createUser({ username: 'emulator.user@example.com' }).userId;
  }

  /** 18-character Salesforce-style id: 3-char key prefix + 12-digit counter + 3-char suffix. */
  newId(prefix) {
    this.idCounter += 1;
    return `${prefix}${String(this.idCounter).padStart(12, '0')}AAA`;
  }

  createUser({ username, jwtApproved = true } = {}) {
    const userId = this.newId('005');
    this.users.set(userId, { userId, username: username ?? `user${this.idCounter}@example.com`, active: true, jwtApproved });
    return { userId };
  }

  user(userId = this.defaultUserId) {
    const user = this.users.get(userId);
    if (!user) throw new Error(`emulator: unknown user ${userId}`);
    return user;
  }

  userByUsername(username) {
    for (const user of this.users.values()) if (user.username === username) return user;
    return null;
  }

  /** The identity URL of a user, on the login host unless the grant was served on another (`origin`). */
  identityUrl(userId, origin = this.loginUrl) {
    return `${origin}/id/${this.orgId}/${userId}`;
  }

  currentInstanceUrl() {
    return this.policy.instanceUrl ?? this.instanceUrl;
  }

  // ---- sessions ---------------------------------------------------------------------------------

  expiresAt(session) {
    return session.lastActivity + this.policy.sessionTimeoutSeconds * 1000;
  }

  isActive(session) {
    return !!session && !session.revoked && !session.expired && this.clock() < this.expiresAt(session);
  }

  /** The session for an access token when it is live, else null. */
  liveSession(accessToken) {
    const session = this.sessionsByToken.get(accessToken);
    return this.isActive(session) ? session : null;
  }

  touch(session) {
    session.lastActivity = this.clock();
  }

  newSession(userId, sourceAddress, family, { scope = SCOPE, highAssurance = false } = {}) {
    const now = this.clock();
    const session = {
      accessToken: `${this.orgId.slice(0, 15)}!AQ${randomBytes(72).toString('base64url').replace(/-/g, '.')}`,
      userId,
      clientId: this.clientId,
      family,
      issuedAt: now,
      lastActivity: now,
      sourceAddress,
      ipLocked: !!this.policy.ipLock, // "Lock sessions to IP" applies to sessions created while it is on
      scope,
      highAssurance: !!highAssurance,
      revoked: false,
      expired: false,
    };
    this.sessionsByToken.set(session.accessToken, session);
    family?.accessTokens.push(session.accessToken);
    return session;
  }

  /**
   * A fresh grant (authorization code, JWT bearer, client credentials or a direct mint): a new
   * session and, when asked, a new refresh-token family, i.e. a new token pair.
   */
  /** `identityOrigin`: the host whose identity URL the response names (the one that served the grant); default the login host. */
  grant({ userId, sourceAddress, withRefreshToken, scope = SCOPE, highAssurance = false, identityOrigin = null }) {
    let family = null;
    if (withRefreshToken) {
      this.familyCounter += 1;
      family = {
        id: this.familyCounter,
        userId,
        clientId: this.clientId,
        refreshToken: newRefreshToken(),
        createdAt: this.clock(),
        lastUsedAt: this.clock(),   // the idle lifetime counts from here; each refresh restarts it
        scope,
        highAssurance: !!highAssurance,
        revoked: false,
        revokedReason: null,
        accessTokens: [],
      };
      this.familyByRefreshToken.set(family.refreshToken, family);
      const live = this.liveFamilies.get(userId) ?? [];
      this.liveFamilies.set(userId, live);
      for (const idle of live.filter((f) => this.idleExpired(f))) this.retireFamily(idle, EXPIRED_TOKEN, 'idle');
      live.push(family);
      // At most `maxTokenPairs` live refresh tokens per user + app (a single app here): one more
      // revokes the oldest.
      while (live.length > Math.max(0, this.policy.maxTokenPairs)) this.revokeFamily(live[0], EXPIRED_TOKEN, 'token_pairs');
    }
    const session = this.newSession(userId, sourceAddress, family, { scope, highAssurance });
    session.identityOrigin = identityOrigin;
    return this.tokenResponse(session, family?.refreshToken ?? null);
  }

  /** grant_type=refresh_token. Returns {response} or {error, description}. */
  refresh(refreshToken, sourceAddress) {
    if (!this.active) return invalidGrant('inactive organization');
    const family = this.familyByRefreshToken.get(refreshToken);
    if (!family) return invalidGrant(EXPIRED_TOKEN);
    if (family.revoked) return invalidGrant(family.revokedReason); // deactivation etc. revoke families
    if (family.refreshToken !== refreshToken) {
      // A rotated-out refresh token presented again: Salesforce assumes theft and revokes the family.
      this.rotatedOutPresented.push({ at: this.clock(), familyId: family.id, userId: family.userId, sourceAddress });
      this.revokeFamily(family, EXPIRED_TOKEN, 'reuse');
      return invalidGrant(EXPIRED_TOKEN);
    }
    if (this.idleExpired(family)) {
      // The refresh token dies; sessions it already produced live on until their own timeout.
      this.retireFamily(family, EXPIRED_TOKEN, 'idle');
      return invalidGrant(EXPIRED_TOKEN);
    }
    if (!refreshAllowedFrom(this.policy, sourceAddress)) return invalidGrant(this.policy.refreshIpRestrictedDescription);
    family.lastUsedAt = this.clock();
    let rotated = null;
    if (this.policy.rotateRefreshTokens) {
      rotated = newRefreshToken();
      family.refreshToken = rotated;
      this.familyByRefreshToken.set(rotated, family);
    }
    // The new session is bound to the refresher's address, whoever minted the family.
    const session = this.newSession(family.userId, sourceAddress, family, { scope: family.scope, highAssurance: family.highAssurance });
    return { response: this.tokenResponse(session, rotated) };
  }

  tokenResponse(session, refreshToken) {
    const id = this.identityUrl(session.userId, session.identityOrigin ?? undefined);
    const issuedAt = String(session.issuedAt);
    const response = { access_token: session.accessToken };
    if (refreshToken) response.refresh_token = refreshToken;
    return Object.assign(response, {
      // Salesforce's signature: base64 HMAC-SHA256 of id + issued_at, keyed with the consumer secret.
      signature: createHmac('sha256', this.clientSecret ?? FALLBACK_SIGNING_KEY).update(id + issuedAt).digest('base64'),
      scope: session.scope,
      instance_url: this.currentInstanceUrl(),
      id,
      token_type: 'Bearer',
      issued_at: issuedAt,
    });
  }

  // ---- revocation -------------------------------------------------------------------------------

  revokeSession(session) {
    session.revoked = true;
  }

  /**
   * The family ends with its sessions. `cause` says why, for `emu.familyEnds()`: 'reuse' (a
   * rotated-out token presented), 'token_pairs' (maxTokenPairs), 'revoke' (the revoke endpoint),
   * 'user' (password change, deactivation, app access revoked), 'idle' (retired, sessions kept).
   */
  revokeFamily(family, reason, cause) {
    this.retireFamily(family, reason, cause);
    for (const token of family.accessTokens) this.revokeSession(this.sessionsByToken.get(token));
  }

  /** The refresh token stops working (`reason` is what a later refresh answers); sessions are left alone. */
  retireFamily(family, reason, cause) {
    if (family.revoked) return;
    family.revoked = true;
    family.revokedReason = reason;
    this.familyEnds.push({ at: this.clock(), familyId: family.id, userId: family.userId, reason, cause: cause ?? null });
    const live = this.liveFamilies.get(family.userId);
    live.splice(live.indexOf(family), 1);
  }

  /** Unused (not refreshed with) for `refreshTokenIdleDays` on the emulator clock. */
  idleExpired(family) {
    const days = this.policy.refreshTokenIdleDays;
    return !!days && this.clock() - family.lastUsedAt >= days * DAY_MS;
  }

  /** Everything a user holds: all sessions and refresh tokens; a later refresh answers `reason`. */
  revokeUser(userId, reason) {
    for (const family of [...(this.liveFamilies.get(userId) ?? [])]) this.revokeFamily(family, reason, 'user');
    for (const session of this.sessionsByToken.values()) if (session.userId === userId) this.revokeSession(session);
  }

  revokeEverything(reason) {
    for (const userId of this.users.keys()) this.revokeUser(userId, reason);
  }

  /** The family a refresh token currently stands for (null when unknown, revoked or rotated out). */
  liveFamily(refreshToken) {
    const family = this.familyByRefreshToken.get(refreshToken);
    return family && !family.revoked && family.refreshToken === refreshToken && !this.idleExpired(family) ? family : null;
  }

  // ---- authorization codes ----------------------------------------------------------------------

  issueAuthCode({ userId = this.defaultUserId, codeChallenge, redirectUri, scope = SCOPE, highAssurance = false } = {}) {
    this.user(userId);
    const code = `aPrx${randomBytes(36).toString('base64url')}`;
    this.authCodes.set(code, {
      userId,
      codeChallenge: codeChallenge ?? null,
      redirectUri: redirectUri ?? null,
      scope,
      highAssurance: !!highAssurance,
      issuedAt: this.clock(),
      used: false,
    });
    return code;
  }

  /** Codes are single-use: the first presentation consumes it, whatever the outcome; a second is "expired". */
  redeemAuthCode({ code, codeVerifier, redirectUri }) {
    const entry = code ? this.authCodes.get(code) : undefined;
    if (!entry) return invalidGrant('invalid authorization code');
    if (entry.used) return invalidGrant('expired authorization code');
    entry.used = true;
    if (this.clock() - entry.issuedAt > AUTH_CODE_TTL_MS) return invalidGrant('expired authorization code');
    if (entry.redirectUri !== null && entry.redirectUri !== redirectUri) {
      return { error: 'redirect_uri_mismatch', description: 'redirect_uri must match configuration' };
    }
    if (entry.codeChallenge !== null) {
      const actual = codeVerifier ? createHash('sha256').update(codeVerifier).digest('base64url') : null;
      if (actual !== entry.codeChallenge) return invalidGrant('invalid code verifier');
    }
    return { userId: entry.userId, scope: entry.scope, highAssurance: entry.highAssurance };
  }

  /** Org and user must still be active to obtain a new grant. */
  loginBlocked(userId) {
    if (!this.active) return invalidGrant('inactive organization');
    if (!this.user(userId).active) return invalidGrant('inactive user');
    return null;
  }

  // ---- records ----------------------------------------------------------------------------------

  sobject(name, create = false) {
    const key = name.toLowerCase();
    let table = this.records.get(key);
    if (!table && create) {
      table = { name, byId: new Map() };
      this.records.set(key, table);
    }
    return table ?? null;
  }

  createRecord(type, fields) {
    const table = this.sobject(type, true);
    const prefix = KEY_PREFIXES[type.toLowerCase()] ?? 'a00';
    const id = this.newId(prefix);
    table.byId.set(id, { ...fields, Id: id });
    return id;
  }

  /** Accepts the 15- or 18-character form of an id. */
  findRecord(type, id) {
    const table = this.sobject(type);
    if (!table) return null;
    if (table.byId.has(id)) return { id, fields: table.byId.get(id), table };
    for (const [recordId, fields] of table.byId) {
      if (recordId === id || recordId.slice(0, 15) === id) return { id: recordId, fields, table };
    }
    return null;
  }

  listRecords(type) {
    return [...(this.sobject(type)?.byId.values() ?? [])].map((fields) => ({ ...fields }));
  }
}

function newRefreshToken() {
  return `5Aep861${randomBytes(60).toString('base64url').replace(/-/g, '.')}`;
}
