// Self-tests of the hostile-server switches: `echoCredentials` (error replies quote what was
// presented) and `errorBody` (large or endless REST error bodies). Defaults change nothing.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator } from './index.mjs';

const API = '/services/data/v62.0';

async function start(t, options = {}) {
  const emu = await startEmulator({ clientId: 'test-client', ...options });
  t.after(() => emu.close());
  return emu;
}

const form = (fields) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});

describe('echoCredentials', () => {
  test('off by default: an OAuth error and a REST error quote nothing presented', async (t) => {
    const emu = await start(t, { clientSecret: 'client-secret-0123456789abcdef' });
    const oauth = await (await fetch(`${emu.loginUrl}/services/oauth2/token`, form({
      grant_type: 'refresh_token', client_id: 'test-client', client_secret: 'client-secret-0123456789abcdef', refresh_token: 'not-a-refresh-token-1234567890',
    }))).json();
    assert.equal(oauth.error, 'invalid_grant');
    assert.ok(!oauth.error_description.includes('not-a-refresh-token'));
    const restBody = await (await fetch(`${emu.instanceUrl}${API}/limits`, { headers: { authorization: 'Bearer unknown-token-1234567890abcdef' } })).text();
    assert.ok(!restBody.includes('unknown-token'));
  });

  test('on: error_description quotes the refresh token and client secret, REST messages the session, success replies are untouched', async (t) => {
    const emu = await start(t, { clientSecret: 'client-secret-0123456789abcdef' });
    emu.policy.echoCredentials = true;
    const res = await fetch(`${emu.loginUrl}/services/oauth2/token`, form({
      grant_type: 'refresh_token', client_id: 'test-client', client_secret: 'client-secret-0123456789abcdef', refresh_token: 'not-a-refresh-token-1234567890',
    }));
    assert.equal(res.status, 400);
    const oauth = await res.json();
    assert.equal(oauth.error, 'invalid_grant');
    assert.match(oauth.error_description, /refresh_token=not-a-refresh-token-1234567890/);
    assert.match(oauth.error_description, /client_secret=client-secret-0123456789abcdef/);

    const restRes = await fetch(`${emu.instanceUrl}${API}/limits`, { headers: { authorization: 'Bearer unknown-token-1234567890abcdef' } });
    assert.equal(restRes.status, 401);
    const [error] = await restRes.json();
    assert.equal(error.errorCode, 'INVALID_SESSION_ID');
    assert.match(error.message, /session=unknown-token-1234567890abcdef/);
    const xmlBody = await (await fetch(`${emu.instanceUrl}${API}/limits`, { headers: { authorization: 'Bearer unknown-token-1234567890abcdef', accept: 'application/xml' } })).text();
    assert.match(xmlBody, /<message>Session expired or invalid \(presented session=unknown-token-1234567890abcdef\)<\/message>/);

    const tokens = await emu.mintTokenResponse();
    const ok = await fetch(`${emu.instanceUrl}${API}/limits`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(ok.status, 200);
    assert.ok(!(await ok.text()).includes(tokens.access_token));
  });
});

describe('errorBody', () => {
  test('a 401 body of exactly `bytes` bytes: prefix then the chunk repeated; count runs out, then routing resumes', async (t) => {
    const emu = await start(t);
    const tokens = await emu.mintTokenResponse();
    const bytes = 1536 * 1024 + 7;
    emu.policy.errorBody = { status: 401, bytes, prefix: '<?xml version="1.0"?><Errors>', chunk: '<a', contentType: 'application/xml', count: 1 };
    const res = await fetch(`${emu.instanceUrl}${API}/limits`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('content-type'), 'application/xml');
    const body = await res.text();
    assert.equal(body.length, bytes);
    assert.ok(body.startsWith('<?xml version="1.0"?><Errors><a<a'));
    assert.equal(emu.log.at(-1).status, 401);
    const after = await fetch(`${emu.instanceUrl}${API}/limits`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(after.status, 200);
  });

  test('50 MiB arrive whole', async (t) => {
    const emu = await start(t);
    emu.policy.errorBody = { status: 500, bytes: 50 * 1024 * 1024, chunk: 'y' };
    const res = await fetch(`${emu.instanceUrl}${API}/limits`);
    assert.equal(res.status, 500);
    assert.equal((await res.arrayBuffer()).byteLength, 50 * 1024 * 1024);
  });

  test('endless: the body keeps coming until the client stops reading; close() stays prompt', async (t) => {
    const emu = await startEmulator({ clientId: 'test-client' });
    emu.policy.errorBody = { status: 500, endless: true, prefix: '[{"message":"', chunk: 'z' };
    const res = await fetch(`${emu.instanceUrl}${API}/limits`);
    assert.equal(res.status, 500);
    const reader = res.body.getReader();
    let seen = 0;
    while (seen < 4 * 1024 * 1024) {
      const { value, done } = await reader.read();
      assert.equal(done, false, 'an endless body never ends');
      seen += value.length;
    }
    await reader.cancel();
    await emu.close();
  });

  test('the login host and the OAuth endpoints are not affected', async (t) => {
    const emu = await start(t);
    emu.policy.errorBody = { status: 500, bytes: 10 };
    const tokens = await emu.mintTokenResponse();
    const id = await fetch(tokens.id, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(id.status, 200);
  });
});
