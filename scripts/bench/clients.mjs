// The three clients measured side by side, each making the same call (GET /limits, the JSON body
// read and parsed): a bare fetch with the bearer token, this package, and jsforce's Connection.
import jsforce from 'jsforce';
import { SessionManager } from 'salesforce-session';
import { CLIENT_ID, LIMITS_PATH } from './emulators.mjs';

export const CLIENT_NAMES = ['bare', 'package', 'jsforce'];
export const CLIENT_LABELS = { bare: 'bare fetch', package: 'salesforce-session', jsforce: 'jsforce 3.10.16' };

export function bareClient({ tokens }) {
  const url = tokens.instance_url + LIMITS_PATH;
  const init = { headers: { authorization: `Bearer ${tokens.access_token}` } };
  return async () => (await fetch(url, init)).json();
}

/** A manager holding one connection to the emulator; `options` reach the SessionManager. */
export async function packageManager({ loginUrl, tokens }, options = {}) {
  const sessions = new SessionManager({ clientId: CLIENT_ID, loginUrl, allowInsecureLoopback: true, ...options });
  await sessions.connect('acme', tokens);
  return sessions;
}

export async function packageClient(target) {
  const sessions = await packageManager(target);
  return async () => (await sessions.fetch('acme', LIMITS_PATH)).json();
}

/** A jsforce Connection that can refresh: access and refresh token, plus an OAuth2 on the emulator. */
export function jsforceConnection({ loginUrl, tokens }) {
  const oauth2 = new jsforce.OAuth2({ loginUrl, clientId: CLIENT_ID, redirectUri: 'http://127.0.0.1/callback' });
  return new jsforce.Connection({
    oauth2,
    instanceUrl: tokens.instance_url,
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token,
    version: '62.0',
  });
}

export function jsforceClient(target) {
  const connection = jsforceConnection(target);
  return () => connection.request(LIMITS_PATH);
}

export async function allClients(target) {
  return { bare: bareClient(target), package: await packageClient(target), jsforce: jsforceClient(target) };
}
