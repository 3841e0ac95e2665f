// The HTTP requests and assertions the emulator's flow self-tests share (flows.test.mjs): real
// requests over loopback with a chosen source address, and the exact Salesforce error shapes.
import http from 'node:http';
import assert from 'node:assert/strict';
import { createHash, randomBytes, sign } from 'node:crypto';

export const V = '/services/data/v62.0';
export const JWT_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const DAY = 24 * 3600 * 1000;

/** http.request with a chosen source address; resolves {status, headers, text, body (parsed JSON or null)}. */
export function request(url, { method = 'GET', headers = {}, body, localAddress, signal } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, localAddress, agent: false, signal }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed = null;
        try { parsed = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, text, body: parsed });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export const bearer = (token) => ({ authorization: `Bearer ${token}` });

export function form(params) {
  return { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() };
}

/** POST to the token endpoint (login host by default). */
export function tokenRequest(emu, params, { localAddress, base = emu.loginUrl, signal } = {}) {
  const f = form(params);
  return request(`${base}/services/oauth2/token`, { method: 'POST', headers: f.headers, body: f.body, localAddress, signal });
}

export const refreshWith = (emu, refreshToken, opts) =>
  tokenRequest(emu, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: emu.clientId }, opts);

export const revoke = (emu, token, base = emu.loginUrl) =>
  request(`${base}/services/oauth2/revoke`, { method: 'POST', ...form({ token }) });

/** A REST call on the instance host. */
export const rest = (emu, token, path = '/limits', opts = {}) =>
  request(`${emu.instanceUrl}${V}${path}`, { headers: token ? bearer(token) : {}, ...opts });

export function identity(emu, tokens) {
  return request(tokens.id, { headers: bearer(tokens.access_token) });
}

export function assertOAuthError(res, error, description) {
  assert.equal(res.status, 400, res.text);
  assert.deepEqual(res.body, { error, error_description: description });
}

export function assertRestError(res, status, errorCode, message) {
  assert.equal(res.status, status, res.text);
  assert.ok(Array.isArray(res.body), `expected a JSON array, got ${res.text}`);
  assert.deepEqual(res.body.map((e) => [e.errorCode, e.message]), [[errorCode, message]]);
}

export function pkce() {
  const verifier = randomBytes(48).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** The URL a client would send the user to. */
export function authorizeUrl(base, params) {
  const url = new URL(`${base}/services/oauth2/authorize`);
  for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value);
  return url.href;
}

export function jwt(privateKey, claims, header = { alg: 'RS256' }) {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc(header)}.${enc(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

/** Resolves once `predicate()` holds, yielding to the event loop between looks; bounded. */
export async function until(predicate, what) {
  for (let turns = 0; !predicate(); turns += 1) {
    assert.ok(turns < 200_000, `never happened: ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** `promise`, or a failure after `ms` (a bound on a wait, not a timing assertion). */
export function within(ms, promise, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not settled within ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}
