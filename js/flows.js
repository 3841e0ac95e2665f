// The JavaScript side of the OAuth flows: PKCE and the authorize URL (the user's browser goes
// there; nothing is sent from here), the RS256 signer of JWT bearer assertions over WebCrypto,
// and argument checks. Token requests themselves are the engine's.

import { ErrorCodes, sessionError } from './errors.js';
import { base64url } from './encryption.js';

const AUTHORIZE_PATH = '/services/oauth2/authorize';
/** 48 random bytes: a 64-character verifier (RFC 7636 allows 43 to 128). */
const VERIFIER_BYTES = 48;
const STATE_BYTES = 24;
const VERIFIER_PATTERN = /^[A-Za-z0-9._~-]{43,128}$/;
const RS256 = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
/** Hosts that serve every org's login, never one org's client credentials grant. */
const SHARED_LOGIN_HOSTS = new Set(['login.salesforce.com', 'test.salesforce.com', 'login.salesforce.mil', 'test.salesforce.mil']);

const encoder = new TextEncoder();

function invalid(message, evidence, connectionId) {
  return sessionError(ErrorCodes.INVALID_CONFIG, `Invalid argument: ${message}`, evidence ?? [message], connectionId ? { connectionId } : {});
}

function describeType(value) {
  if (value === null) return 'null';
  if (typeof value === 'string') return value.length === 0 ? 'empty' : 'a string';
  return typeof value;
}

function randomText(bytes) {
  return base64url(globalThis.crypto.getRandomValues(new Uint8Array(bytes)));
}

/** A fresh PKCE pair: the verifier (64 characters from crypto.getRandomValues) and its S256 challenge. */
export async function createPkce() {
  const codeVerifier = randomText(VERIFIER_BYTES);
  const digest = await globalThis.crypto.subtle.digest('SHA-256', encoder.encode(codeVerifier));
  return { codeVerifier, codeChallenge: base64url(new Uint8Array(digest)) };
}

function optionalText(options, name, connectionId) {
  const value = options[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw invalid(`'${name}' must be a non-empty string`, [`${name} is ${describeType(value)}`], connectionId);
  return value;
}

function requiredText(options, name, connectionId) {
  const value = options?.[name];
  if (typeof value !== 'string' || value.trim() === '') throw invalid(`'${name}' must be a non-empty string`, [`${name} is ${describeType(value)}`], connectionId);
  return value;
}

function checkRedirectUri(redirectUri, connectionId) {
  let parsed = null;
  try {
    parsed = new URL(redirectUri);
  } catch {
    /* reported below */
  }
  if (!parsed || parsed.hash) {
    throw invalid("'redirectUri' must be an absolute URL without a fragment (the callback URL registered on the connected app)", ['redirectUri is not an absolute URL without a fragment'], connectionId);
  }
}

function scopeText(scope) {
  if (scope === undefined) return undefined;
  const words = Array.isArray(scope) ? scope : typeof scope === 'string' ? scope.split(/\s+/) : null;
  if (!words || !words.every((word) => typeof word === 'string')) {
    throw invalid("'scope' must be a string of space-separated scopes or an array of scopes", [`scope is ${describeType(scope)}`]);
  }
  const text = words.filter(Boolean).join(' ');
  return text || undefined;
}

/**
 * The authorize URL of the authorization code flow with PKCE, on `loginUrl`:
 * `{ url, codeVerifier, state }`. `state` is generated when none is given. The URL carries no
 * client secret; keep `codeVerifier` (and `state`) for the callback.
 */
export async function authorizeUrl(loginUrl, clientId, options) {
  if (typeof options !== 'object' || options === null) throw invalid('authorizeUrl takes { redirectUri, scope?, state?, prompt? }', ['options is ' + describeType(options)]);
  const redirectUri = requiredText(options, 'redirectUri');
  checkRedirectUri(redirectUri);
  const scope = scopeText(options.scope);
  const state = optionalText(options, 'state') ?? randomText(STATE_BYTES);
  const prompt = optionalText(options, 'prompt');
  const { codeVerifier, codeChallenge } = await createPkce();
  const url = new URL(AUTHORIZE_PATH, new URL(loginUrl).origin);
  const params = url.searchParams;
  params.set('response_type', 'code');
  params.set('client_id', clientId);
  params.set('redirect_uri', redirectUri);
  params.set('code_challenge', codeChallenge);
  params.set('code_challenge_method', 'S256');
  if (scope) params.set('scope', scope);
  params.set('state', state);
  if (prompt) params.set('prompt', prompt);
  return { url: url.href, codeVerifier, state };
}

/** The arguments of exchangeCode, checked: [code, redirectUri, codeVerifier]. */
export function exchangeArguments(connectionId, options) {
  if (typeof options !== 'object' || options === null) throw invalid('exchangeCode takes { code, redirectUri, codeVerifier }', ['options is ' + describeType(options)], connectionId);
  const code = requiredText(options, 'code', connectionId);
  const redirectUri = requiredText(options, 'redirectUri', connectionId);
  checkRedirectUri(redirectUri, connectionId);
  const codeVerifier = options.codeVerifier;
  if (typeof codeVerifier !== 'string' || !VERIFIER_PATTERN.test(codeVerifier)) {
    throw invalid("'codeVerifier' must be the verifier authorizeUrl() returned (43 to 128 characters of A-Z a-z 0-9 - . _ ~)", [typeof codeVerifier === 'string' ? `codeVerifier is ${codeVerifier.length} characters or holds other characters` : `codeVerifier is ${describeType(codeVerifier)}`], connectionId);
  }
  return [code, redirectUri, codeVerifier];
}

// ---- JWT bearer ---------------------------------------------------------------------------------

const PEM_PKCS8 = /^-----BEGIN PRIVATE KEY-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END PRIVATE KEY-----$/;

function pemBytes(pem) {
  const base64 = pem.replace(/\s+/g, '');
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * The private key of connectJwt as a non-extractable RS256 signing CryptoKey: a PKCS#8 PEM is
 * imported; a CryptoKey is checked. Nothing about the key itself is ever put in an error.
 */
export async function signingKey(privateKey, connectionId) {
  if (typeof privateKey === 'string') {
    const text = privateKey.trim();
    if (/-----BEGIN (RSA |ENCRYPTED )?PRIVATE KEY-----/.test(text) && !text.startsWith('-----BEGIN PRIVATE KEY-----')) {
      const kind = text.includes('ENCRYPTED') ? 'an encrypted PKCS#8' : 'a PKCS#1 (BEGIN RSA PRIVATE KEY)';
      throw invalid(`'privateKey' is ${kind} PEM; pass an unencrypted PKCS#8 PEM (BEGIN PRIVATE KEY), e.g. from openssl pkcs8 -topk8 -nocrypt`, [`privateKey is ${kind} PEM`], connectionId);
    }
    const match = PEM_PKCS8.exec(text);
    if (!match) throw invalid("'privateKey' must be a PKCS#8 PEM (-----BEGIN PRIVATE KEY----- …) or a CryptoKey", ['privateKey is a string that is not a PKCS#8 PEM'], connectionId);
    let der;
    try {
      der = pemBytes(match[1]);
    } catch {
      throw invalid("'privateKey' is a PEM whose body is not base64", ['privateKey is a PEM whose body is not base64'], connectionId);
    }
    try {
      return await globalThis.crypto.subtle.importKey('pkcs8', der, RS256, false, ['sign']);
    } catch {
      throw invalid("'privateKey' is a PEM that does not hold an RSA private key WebCrypto can import for RS256", ['privateKey could not be imported as an RSASSA-PKCS1-v1_5 SHA-256 key'], connectionId);
    } finally {
      der.fill(0);
    }
  }
  if (typeof privateKey === 'object' && privateKey !== null && typeof privateKey.type === 'string' && typeof privateKey.algorithm === 'object') {
    const { algorithm, usages } = privateKey;
    const hash = typeof algorithm.hash === 'string' ? algorithm.hash : algorithm.hash?.name;
    if (privateKey.type !== 'private' || algorithm.name !== RS256.name || hash !== RS256.hash || !Array.isArray(usages) || !usages.includes('sign')) {
      throw invalid("'privateKey' must be an RSASSA-PKCS1-v1_5 SHA-256 private CryptoKey with the 'sign' usage", [`privateKey is a ${String(privateKey.type)} CryptoKey for ${String(algorithm.name)}${hash ? `/${hash}` : ''}`], connectionId);
    }
    return privateKey;
  }
  throw invalid("'privateKey' must be a PKCS#8 PEM string or a CryptoKey", [`privateKey is ${describeType(privateKey)}`], connectionId);
}

/**
 * The JWT signer the engine calls as `signJwt(connectionId, claimsJson)`, over a map of the
 * signing keys connectJwt registered in this manager.
 */
export class JwtSigner {
  #keys = new Map();

  has(connectionId) {
    return this.#keys.has(connectionId);
  }

  get(connectionId) {
    return this.#keys.get(connectionId);
  }

  set(connectionId, key) {
    this.#keys.set(connectionId, key);
  }

  delete(connectionId) {
    this.#keys.delete(connectionId);
  }

  /** `header.claims.signature`, base64url each, the header `{"alg":"RS256"}`. */
  sign = async (connectionId, claimsJson) => {
    const key = this.#keys.get(connectionId);
    if (!key) throw new Error(`no private key for connection '${connectionId}' in this manager (connectJwt holds it in memory only)`);
    const input = `${base64url(encoder.encode('{"alg":"RS256"}'))}.${base64url(encoder.encode(String(claimsJson)))}`;
    const signature = await globalThis.crypto.subtle.sign(RS256, key, encoder.encode(input));
    return `${input}.${base64url(new Uint8Array(signature))}`;
  };
}

/** The arguments of connectJwt, checked: { username, privateKey, audience }. */
export function jwtArguments(connectionId, options) {
  if (typeof options !== 'object' || options === null) throw invalid('connectJwt takes { username, privateKey, audience? }', ['options is ' + describeType(options)], connectionId);
  const username = requiredText(options, 'username', connectionId);
  const audience = optionalText(options, 'audience', connectionId);
  if (audience !== undefined) {
    let parsed = null;
    try {
      parsed = new URL(audience);
    } catch {
      /* reported below */
    }
    if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
      throw invalid("'audience' must be a URL such as https://login.salesforce.com or https://test.salesforce.com", ['audience is not an http(s) URL'], connectionId);
    }
  }
  return { username, audience, privateKey: options.privateKey };
}

/**
 * Client credentials is served by the org's My Domain only: a shared login host as loginUrl is
 * refused before anything is sent.
 */
export function checkClientCredentials(connectionId, loginUrl, clientSecret) {
  if (typeof clientSecret !== 'string' || clientSecret === '') {
    throw sessionError(ErrorCodes.INVALID_CONFIG, 'Invalid configuration: the client credentials flow needs option clientSecret', ["option 'clientSecret' is not set"], { connectionId, fix: "Pass the connected app's consumer secret as clientSecret." });
  }
  let host = null;
  try {
    host = new URL(loginUrl).hostname.toLowerCase();
  } catch {
    /* the engine reports a bad loginUrl */
  }
  if (host !== null && SHARED_LOGIN_HOSTS.has(host)) {
    throw sessionError(ErrorCodes.INVALID_CONFIG, `Invalid configuration: the client credentials flow runs against the org's My Domain, not ${host}`, [`loginUrl is ${host}, a login host shared by every org`, 'nothing was sent'], { connectionId, fix: 'Set loginUrl to the My Domain login URL, such as https://acme.my.salesforce.com.' });
  }
}
