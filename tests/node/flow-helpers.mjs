// Helpers of the auth-flow suites: the user in the browser (an HTTP GET of the library's authorize
// URL at the emulator, the code read from the redirect), RSA keys for JWT bearer, assertions decoded.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, verify } from 'node:crypto';

export const AUTHORIZE_PATH = '/services/oauth2/authorize';
export const JWT_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const REDIRECT_URI = 'https://app.example.com/oauth/callback';
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

/** The S256 code challenge of a verifier, computed here independently of the library. */
export function s256(verifier) {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/**
 * Checks what the library put in an authorize URL: `{ url, codeVerifier, state }` from
 * authorizeUrl(). Asserts the origin and path, response_type=code, client_id, redirect_uri, the S256
 * challenge of the verifier, the state, and that no client secret is anywhere in it. Answers the
 * URL's parameters.
 */
export function assertAuthorizeUrl(authorize, { loginUrl, clientId, redirectUri = REDIRECT_URI, clientSecret, state } = {}) {
  const url = new URL(authorize.url);
  if (loginUrl) assert.equal(url.origin, new URL(loginUrl).origin, 'the URL is on the login host');
  assert.equal(url.pathname, AUTHORIZE_PATH);
  const params = url.searchParams;
  assert.equal(params.get('response_type'), 'code');
  if (clientId) assert.equal(params.get('client_id'), clientId);
  assert.equal(params.get('redirect_uri'), redirectUri);
  assert.match(authorize.codeVerifier, VERIFIER, 'the verifier is 43 to 128 unreserved characters');
  assert.equal(params.get('code_challenge'), s256(authorize.codeVerifier), 'code_challenge is S256 of the verifier');
  assert.equal(params.get('code_challenge_method'), 'S256');
  assert.equal(params.get('state'), authorize.state, 'the state travels in the URL');
  if (state !== undefined) assert.equal(authorize.state, state);
  assert.ok(!params.has('client_secret'), 'no client_secret parameter');
  assert.ok(!params.has('code_verifier'), 'the verifier never travels in the URL');
  if (clientSecret) assert.ok(!authorize.url.includes(clientSecret) && !decodeURIComponent(authorize.url).includes(clientSecret), 'the client secret is nowhere in the URL');
  return params;
}

/**
 * Plays the user: GETs the authorize URL at the emulator as a browser would (the emulator logs in
 * `loginHint` or its default user and approves), follows nothing, and reads the redirect to the
 * callback. Answers { code, state, location } (or { error, errorDescription, state, location }).
 */
export async function playUser(authorizeUrl, { loginHint } = {}) {
  const url = new URL(authorizeUrl);
  if (loginHint) url.searchParams.set('login_hint', loginHint);
  const response = await fetch(url, { redirect: 'manual' });
  await response.body?.cancel();
  assert.equal(response.status, 302, `the authorize endpoint redirects (got ${response.status})`);
  const location = new URL(response.headers.get('location'));
  const q = location.searchParams;
  if (q.has('error')) return { error: q.get('error'), errorDescription: q.get('error_description'), state: q.get('state'), location: location.href };
  assert.ok(q.get('code'), 'the callback carries a code');
  return { code: q.get('code'), state: q.get('state'), location: location.href, redirectUri: `${location.origin}${location.pathname}` };
}

let keys = null;
/** One RSA key pair per test file (generation takes a moment): PKCS#8 and SPKI PEMs. */
export function rsaKeys() {
  keys ??= generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return keys;
}

/** Another pair (a key the emulator does not know). */
export function otherRsaKeys() {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

/** A JWT's header and claims, and whether its RS256 signature verifies under `publicKey`. */
export function decodeJwt(assertion, publicKey) {
  const [header, claims, signature] = assertion.split('.');
  const decoded = {
    header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')),
    claims: JSON.parse(Buffer.from(claims, 'base64url').toString('utf8')),
    verified: null,
  };
  if (publicKey) decoded.verified = verify('sha256', Buffer.from(`${header}.${claims}`), publicKey, Buffer.from(signature, 'base64url'));
  return decoded;
}

/** The token requests of the JWT bearer grant the emulator saw. */
export function jwtGrants(emu) {
  return emu.tokenRequests({ grantType: JWT_GRANT });
}
