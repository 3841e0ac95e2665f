// The emulator's CORS option (Salesforce's CORS allowlist), asserted with real HTTP requests.
// Run: node --test tests/emulator/cors.test.mjs
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator } from './index.mjs';

const V = '/services/data/v62.0';
const PAGE = 'http://127.0.0.1:4567';
const STRANGER = 'http://127.0.0.1:9999';

async function setup(t, options) {
  const emu = await startEmulator(options);
  t.after(() => emu.close());
  return emu;
}

const preflight = (url, origin, method = 'GET', headers = 'authorization') =>
  fetch(url, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
  });

describe('CORS allowlist (corsOrigins)', () => {
  test('a preflight from an allowed origin names the origin, the methods and the headers, on both hosts', async (t) => {
    const emu = await setup(t, { corsOrigins: [PAGE] });
    for (const url of [`${emu.instanceUrl}${V}/limits`, `${emu.loginUrl}/services/oauth2/token`]) {
      const res = await preflight(url, PAGE, 'POST', 'authorization, content-type');
      assert.equal(res.status, 200, url);
      assert.equal(res.headers.get('access-control-allow-origin'), PAGE, url);
      const allowedHeaders = res.headers.get('access-control-allow-headers').split(/,\s*/);
      for (const name of ['authorization', 'content-type']) assert.ok(allowedHeaders.includes(name), `${url}: ${name}`);
      const methods = res.headers.get('access-control-allow-methods').split(/,\s*/);
      for (const method of ['GET', 'POST', 'PATCH', 'PUT', 'DELETE']) assert.ok(methods.includes(method), `${url}: ${method}`);
      assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
      assert.match(res.headers.get('vary'), /Origin/);
      assert.equal(await res.text(), '');
    }
    // Preflights are recorded apart and never reach the request log.
    assert.deepEqual(emu.preflights.map((p) => [p.host, p.path, p.requestMethod, p.allowed]), [
      ['instance', `${V}/limits`, 'POST', true],
      ['login', '/services/oauth2/token', 'POST', true],
    ]);
    assert.equal(emu.log.length, 0);
  });

  test('a preflight from another origin is refused without CORS headers', async (t) => {
    const emu = await setup(t, { corsOrigins: [PAGE] });
    const res = await preflight(`${emu.instanceUrl}${V}/limits`, STRANGER);
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    assert.equal(res.headers.get('access-control-allow-headers'), null);
    assert.equal(emu.preflights[0].allowed, false);
  });

  test('actual responses echo an allowed origin (successes and errors) and nothing for others', async (t) => {
    const emu = await setup(t, { corsOrigins: [PAGE] });
    const tokens = await emu.mintTokenResponse();
    const ok = await fetch(`${emu.instanceUrl}${V}/limits`, { headers: { origin: PAGE, authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('access-control-allow-origin'), PAGE);
    assert.match(ok.headers.get('access-control-expose-headers'), /sforce-limit-info/);

    const denied = await fetch(`${emu.instanceUrl}${V}/limits`, { headers: { origin: PAGE, authorization: 'Bearer nope' } });
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get('access-control-allow-origin'), PAGE);

    const refreshed = await fetch(`${emu.loginUrl}/services/oauth2/token`, {
      method: 'POST',
      headers: { origin: PAGE, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: emu.clientId }),
    });
    assert.equal(refreshed.status, 200);
    assert.equal(refreshed.headers.get('access-control-allow-origin'), PAGE);

    const stranger = await fetch(`${emu.instanceUrl}${V}/limits`, { headers: { origin: STRANGER, authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(stranger.status, 200);
    assert.equal(stranger.headers.get('access-control-allow-origin'), null);
  });

  test('without the option nothing changes: OPTIONS is routed as before and no CORS header is sent', async (t) => {
    const emu = await setup(t);
    const tokens = await emu.mintTokenResponse();
    const res = await preflight(`${emu.instanceUrl}${V}/limits`, PAGE);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    assert.equal(emu.log.length, 1, 'the OPTIONS request went through routing and the log');
    assert.equal(emu.log[0].method, 'OPTIONS');
    const ok = await fetch(`${emu.instanceUrl}${V}/limits`, { headers: { origin: PAGE, authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('access-control-allow-origin'), null);
    assert.deepEqual(emu.preflights, []);
  });

  test('a malformed origin is refused at startup', async () => {
    await assert.rejects(startEmulator({ corsOrigins: 'http://127.0.0.1' }), /array of origins/);
    await assert.rejects(startEmulator({ corsOrigins: [`${PAGE}/`] }), /bare origins/);
    await assert.rejects(startEmulator({ corsOrigins: ['not a url'] }), /malformed origin/);
  });
});
