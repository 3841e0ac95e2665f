// Foundation behaviour of the packed package against the emulator: connect, fetch, invisible
// expiry handling, proactive refresh, body replay, single-flight refresh, instance_url enforcement,
// token response and store validation, revocation, outages, rotation, secrets, disconnect, options.
// Run from the scratch consumer: node --test tests/node/foundation.test.mjs
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { SessionManager, MemoryStore, SalesforceSessionError } from 'salesforce-session';
import {
  API, TOKEN_PATH, startEmu, TestStore, makeManager, connectNew, expectSessionError, expectSessionErrorSync,
  restRequests, startStrayServer, collectSecrets, findLeaks, spyFetch,
} from './helpers.mjs';

const LIMITS = `${API}/limits`;
const MARGIN_S = 300;
const TIMEOUT_S = 7200;

const bearer = (token) => `Bearer ${token}`;
const tokenRequests = (emu) => emu.tokenRequests();
const ofType = (events, type) => events.filter((e) => e.type === type);
/** The access token of the newest session the emulator issued. */
const newestToken = (emu) => emu.sessions().at(-1).accessToken;

// ---------------------------------------------------------------------------------------------------

describe('connect', () => {
  test('returns ConnectionInfo built from the token response; sends nothing', async (t) => {
    const emu = await startEmu(t);
    const { sm, events, store } = makeManager(emu, { instanceId: 'worker-1' });
    const tokens = await emu.mintTokenResponse();
    const info = await sm.connect('acme', tokens);

    const issuedAt = Number(tokens.issued_at);
    assert.equal(info.connectionId, 'acme');
    assert.equal(info.orgId, emu.orgId);
    assert.equal(info.userId, emu.defaultUserId);
    assert.equal(info.instanceUrl, emu.instanceUrl);
    assert.equal(info.issuedAt, issuedAt);
    assert.equal(info.expiresAt, issuedAt + TIMEOUT_S * 1000);
    assert.equal(info.status, 'active');
    assert.equal(info.mintedBy, 'worker-1');
    assert.equal(info.mintedBy, sm.instanceId);
    assert.equal(info.hasRefreshToken, true);

    // info() reads the same back from the store.
    assert.deepEqual(await sm.info('acme'), info);
    assert.equal(store.valuesFor('acme').length >= 1, true, 'the connection is stored');
    assert.deepEqual(ofType(events, 'connected').map((e) => [e.connectionId, e.orgId, e.userId]), [['acme', emu.orgId, emu.defaultUserId]]);
    // Storing a token response is local: nothing goes to Salesforce.
    assert.equal(emu.log.length, 0, JSON.stringify(emu.log));
  });

  test('accepts the token response as a JSON string, and uses sessionTimeoutSeconds and a random instanceId', async (t) => {
    const emu = await startEmu(t);
    const { sm } = makeManager(emu, { sessionTimeoutSeconds: 1800 });
    assert.equal(typeof sm.instanceId, 'string');
    assert.ok(sm.instanceId.length > 0);
    const tokens = await emu.mintTokenResponse();
    const info = await sm.connect('acme', JSON.stringify(tokens));
    assert.equal(info.orgId, emu.orgId);
    assert.equal(info.instanceUrl, emu.instanceUrl);
    assert.equal(info.issuedAt, Number(tokens.issued_at));
    assert.equal(info.expiresAt, Number(tokens.issued_at) + 1800 * 1000);
    assert.equal(info.mintedBy, sm.instanceId);
    assert.equal(info.status, 'active');

    const res = await sm.fetch('acme', LIMITS);
    assert.equal(res.status, 200);
    assert.deepEqual(restRequests(emu).map((e) => e.authorization), [bearer(tokens.access_token)]);

    // A second manager gets its own random instance id.
    const other = makeManager(emu).sm;
    assert.notEqual(other.instanceId, sm.instanceId);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('fetch', () => {
  test('a path, a full instance URL, a Request and a URL all reach the instance with the bearer token', async (t) => {
    const emu = await startEmu(t);
    const { sm, events } = makeManager(emu);
    const { tokens } = await connectNew(sm, emu);
    const query = `${API}/query?q=${encodeURIComponent('SELECT Id FROM Account')}`;

    const inputs = [
      ['path', LIMITS, `${API}/limits`],
      ['path with query', query, `${API}/query`],
      ['relative path without leading slash', LIMITS.slice(1), `${API}/limits`],
      ['full instance URL', `${emu.instanceUrl}${LIMITS}`, `${API}/limits`],
      ['Request', new Request(`${emu.instanceUrl}${API}/sobjects`), `${API}/sobjects`],
      ['URL', new URL(`${emu.instanceUrl}${API}/sobjects/Account`), `${API}/sobjects/Account`],
    ];
    for (const [label, input, path] of inputs) {
      emu.clearLog();
      const res = await sm.fetch('acme', input);
      assert.ok(res instanceof Response, `${label}: a Response`);
      assert.equal(res.status, 200, `${label}: ${await res.clone().text()}`);
      assert.equal(typeof (await res.json()), 'object');
      const seen = emu.log;
      assert.equal(seen.length, 1, `${label}: one request, got ${JSON.stringify(seen)}`);
      assert.equal(seen[0].host, 'instance', label);
      assert.equal(seen[0].path, path, label);
      assert.equal(seen[0].method, 'GET', label);
      assert.equal(seen[0].authorization, bearer(tokens.access_token), label);
    }
    // The query string travelled intact.
    emu.clearLog();
    const res = await sm.fetch('acme', query);
    assert.equal((await res.json()).totalSize, 0);
    assert.equal(emu.log[0].query.q, 'SELECT Id FROM Account');

    const requests = ofType(events, 'request');
    assert.ok(requests.length >= inputs.length);
    for (const e of requests) {
      assert.equal(e.connectionId, 'acme');
      assert.equal(e.orgId, emu.orgId);
      assert.equal(e.userId, emu.defaultUserId);
      assert.equal(e.path.includes('?'), false, `request event paths have no query: ${e.path}`);
    }
    assert.equal(tokenRequests(emu).length, 0);
  });

  test('method, headers and body of the init are sent; the created record is in the org', async (t) => {
    const emu = await startEmu(t);
    const { sm } = makeManager(emu);
    await connectNew(sm, emu);
    const res = await sm.fetch('acme', `${API}/sobjects/Account`, {
      method: 'post',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ Name: 'Init Co' }),
    });
    assert.equal(res.status, 201);
    const { id } = await res.json();
    assert.deepEqual(emu.records('Account').map((r) => [r.Id, r.Name]), [[id, 'Init Co']]);
    assert.equal(emu.log[0].method, 'POST');
  });

  test('non-auth errors (400 MALFORMED_QUERY, 404) come back as Responses with readable bodies', async (t) => {
    const emu = await startEmu(t);
    const { sm } = makeManager(emu);
    await connectNew(sm, emu);

    const bad = await sm.fetch('acme', `${API}/query?q=${encodeURIComponent('SELEKT Id FROM Account')}`);
    assert.equal(bad.status, 400);
    const badBody = await bad.json();
    assert.equal(badBody[0].errorCode, 'MALFORMED_QUERY');

    const missing = await sm.fetch('acme', `${API}/sobjects/Account/001000000000099AAA`);
    assert.equal(missing.status, 404);
    assert.equal((await missing.json())[0].errorCode, 'NOT_FOUND');

    const retired = await sm.fetch('acme', '/services/data/v19.0/limits');
    assert.equal(retired.status, 410);
    assert.match(await retired.text(), /UNSUPPORTED_API_VERSION/);

    // Each was sent exactly once; none caused a refresh.
    assert.deepEqual(restRequests(emu).map((e) => e.status), [400, 404, 410]);
    assert.equal(tokenRequests(emu).length, 0);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('expiry and refresh', () => {
  test('a session expired at the server is refreshed invisibly: one token request, two REST requests', async (t) => {
    const emu = await startEmu(t);
    const { sm, events, store } = makeManager(emu);
    const { tokens, info: before } = await connectNew(sm, emu);
    // Moves the clock one second (far from the expiry margin) so the new issued_at must differ.
    emu.advance(1000);
    emu.expireAllSessions();
    emu.clearLog();

    const res = await sm.fetch('acme', LIMITS);
    assert.equal(res.status, 200);
    assert.ok((await res.json()).DailyApiRequests);

    const toks = tokenRequests(emu);
    assert.equal(toks.length, 1, 'exactly one token request');
    assert.equal(toks[0].grantType, 'refresh_token');
    assert.equal(toks[0].refreshToken, tokens.refresh_token);
    assert.equal(toks[0].host, 'login');
    const rest = restRequests(emu);
    assert.equal(rest.length, 2, `two REST requests, got ${JSON.stringify(rest.map((e) => [e.status, e.errorCode]))}`);
    assert.deepEqual(rest.map((e) => e.status), [401, 200]);
    const fresh = newestToken(emu);
    assert.notEqual(fresh, tokens.access_token);
    assert.equal(rest[0].authorization, bearer(tokens.access_token));
    assert.equal(rest[1].authorization, bearer(fresh));
    // Order on the wire: rejected call, token request, retry.
    assert.deepEqual(emu.log.map((e) => e.path === TOKEN_PATH ? 'token' : e.status), [401, 'token', 200]);

    const refreshes = ofType(events, 'refresh');
    assert.equal(refreshes.length, 1);
    assert.equal(refreshes[0].reason, 'invalid_session');
    assert.equal(refreshes[0].connectionId, 'acme');
    assert.equal(refreshes[0].rotated, false);
    assert.deepEqual(ofType(events, 'request').slice(-2).map((e) => [e.status, e.attempt]), [[401, 1], [200, 2]]);

    const after = await sm.info('acme');
    assert.notEqual(after.issuedAt, before.issuedAt);
    assert.equal(after.issuedAt, emu.sessions().at(-1).issuedAt);
    assert.equal(after.expiresAt, after.issuedAt + TIMEOUT_S * 1000);
    assert.equal(after.status, 'active');
    assert.equal(after.mintedBy, sm.instanceId);
    assert.ok(store.valuesFor('acme').some((v) => v.includes(fresh)), 'the new access token is stored');

    // The next call uses the new token straight away.
    emu.clearLog();
    const again = await sm.fetch('acme', LIMITS);
    assert.equal(again.status, 200);
    assert.equal(tokenRequests(emu).length, 0);
    assert.deepEqual(restRequests(emu).map((e) => [e.status, e.authorization]), [[200, bearer(fresh)]]);
  });

  test('proactive refresh: past issuedAt + timeout - margin the token is renewed before sending', async (t) => {
    const emu = await startEmu(t);
    const { sm, events } = makeManager(emu, { sessionTimeoutSeconds: TIMEOUT_S, refreshMarginSeconds: MARGIN_S });
    const { tokens, info } = await connectNew(sm, emu);
    // Before the margin nothing happens.
    emu.setNow(info.expiresAt - MARGIN_S * 1000 - 5000);
    assert.equal((await sm.fetch('acme', LIMITS)).status, 200);
    assert.equal(tokenRequests(emu).length, 0);

    emu.setNow(info.expiresAt - MARGIN_S * 1000 + 1000);
    // The old session is still alive at the server (it counts from last activity), so a 401 could only come from the library.
    assert.equal(emu.isSessionActive(tokens.access_token), true);
    emu.clearLog();
    const res = await sm.fetch('acme', LIMITS);
    assert.equal(res.status, 200);

    assert.equal(tokenRequests(emu).length, 1, 'exactly one token request');
    const fresh = newestToken(emu);
    assert.notEqual(fresh, tokens.access_token);
    assert.deepEqual(emu.log.map((e) => e.path === TOKEN_PATH ? 'token' : [e.status, e.authorization]), ['token', [200, bearer(fresh)]]);
    assert.equal(emu.log.some((e) => e.status === 401), false, 'no 401 in the log');
    assert.equal(emu.requestsWithToken(tokens.access_token).length, 0, 'the old token was not sent after the margin');

    const refreshes = ofType(events, 'refresh');
    assert.equal(refreshes.length, 1);
    assert.equal(refreshes[0].reason, 'proactive');
    const after = await sm.info('acme');
    assert.equal(after.issuedAt, emu.sessions().at(-1).issuedAt);
    assert.ok(after.issuedAt > info.issuedAt);
    assert.equal(after.expiresAt, after.issuedAt + TIMEOUT_S * 1000);
  });

  test('body replay: a string, a ReadableStream and a Request body are sent intact on the retry', async (t) => {
    const emu = await startEmu(t);
    const { sm } = makeManager(emu);
    await connectNew(sm, emu);
    const url = `${API}/sobjects/Account`;
    const cases = [
      ['string', 'String Co', (body) => sm.fetch('acme', url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })],
      ['ReadableStream', 'Stream Co', (body) => {
        const bytes = new TextEncoder().encode(body);
        const stream = new ReadableStream({
          start(controller) {
            controller.enqueue(bytes.subarray(0, 5));
            controller.enqueue(bytes.subarray(5));
            controller.close();
          },
        });
        return sm.fetch('acme', url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' });
      }],
      ['Request', 'Request Co', (body) => sm.fetch('acme', new Request(`${emu.instanceUrl}${url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }))],
    ];
    for (const [label, name, send] of cases) {
      emu.expireAllSessions();
      emu.clearLog();
      const before = emu.records('Account').length;
      const body = JSON.stringify({ Name: name, Description: `${label} ü ✓` });
      const res = await send(body);
      assert.equal(res.status, 201, `${label}: ${await res.clone().text()}`);
      const { id } = await res.json();

      assert.equal(tokenRequests(emu).length, 1, `${label}: one token request`);
      const posts = restRequests(emu, url);
      assert.deepEqual(posts.map((e) => [e.method, e.status]), [['POST', 401], ['POST', 201]], label);
      const records = emu.records('Account');
      assert.equal(records.length, before + 1, `${label}: exactly one record created`);
      const created = records.find((r) => r.Id === id);
      assert.deepEqual(created, { Name: name, Description: `${label} ü ✓`, Id: id }, label);
    }
  });

  test('1,000 concurrent calls on an expired session: one token request, all succeed', async (t) => {
    const emu = await startEmu(t);
    const { sm, events } = makeManager(emu);
    const { tokens } = await connectNew(sm, emu);
    emu.expireAllSessions();
    emu.clearLog();

    const results = await Promise.allSettled(Array.from({ length: 1000 }, () => sm.fetch('acme', LIMITS)));
    const failures = results.filter((r) => r.status === 'rejected');
    assert.equal(failures.length, 0, `first failure: ${failures[0]?.reason?.stack ?? failures[0]?.reason}`);
    assert.deepEqual([...new Set(results.map((r) => r.value.status))], [200]);
    await Promise.all(results.map((r) => r.value.arrayBuffer()));

    assert.equal(tokenRequests(emu).length, 1, 'exactly one token request');
    assert.equal(ofType(events, 'refresh').length, 1);
    const fresh = newestToken(emu);
    const rest = restRequests(emu);
    const ok = rest.filter((e) => e.status === 200);
    assert.equal(ok.length, 1000, 'one successful request per call');
    assert.ok(ok.every((e) => e.authorization === bearer(fresh)), 'every success used the new token');
    assert.ok(rest.length <= 2000, `at most one retry per call, got ${rest.length} requests`);
    assert.ok(rest.filter((e) => e.status !== 200).every((e) => e.status === 401 && e.authorization === bearer(tokens.access_token)));
  });
});

// ---------------------------------------------------------------------------------------------------

describe('instance_url enforcement', () => {
  test('the token never leaves the instance: other origins, login and Lightning hosts, http are refused before sending', async (t) => {
    const emu = await startEmu(t);
    const stray = await startStrayServer(t);
    const { sm, spy } = makeManager(emu);
    await connectNew(sm, emu);
    const instancePort = new URL(emu.instanceUrl).port;

    const targets = [
      ['another loopback origin', `${stray.url}${LIMITS}`],
      ['another loopback origin (Request)', new Request(`${stray.url}${LIMITS}`)],
      ['another loopback origin (URL)', new URL(`${stray.url}${LIMITS}`)],
      ['another loopback address, same port', `http://127.0.0.2:${instancePort}${LIMITS}`],
      ['localhost for 127.0.0.1', `http://localhost:${instancePort}${LIMITS}`],
      ['the login host', `${emu.loginUrl}${LIMITS}`],
      ['the login host token endpoint', `${emu.loginUrl}${TOKEN_PATH}`],
      ['the production login host', `https://login.salesforce.com${LIMITS}`],
      ['a Lightning host', `https://acme.lightning.force.com${LIMITS}`],
      ['another org', `https://other.my.salesforce.com${LIMITS}`],
      ['evil.example.com', `https://evil.example.com${LIMITS}`],
      ['a non-https URL', `http://acme.my.salesforce.com${LIMITS}`],
      ['https to the instance port', `https://127.0.0.1:${instancePort}${LIMITS}`],
      ['scheme-relative', `//evil.example.com${LIMITS}`],
      ['user info trick', `http://127.0.0.1:${instancePort}@evil.example.com${LIMITS}`],
      ['suffix trick', `https://acme.my.salesforce.com.evil.example.com${LIMITS}`],
    ];
    emu.clearLog();
    for (const [label, target] of targets) {
      const err = await expectSessionError(sm.fetch('acme', target), 'WRONG_INSTANCE_URL', label);
      assert.equal(err.connectionId, 'acme', label);
      assert.equal(err.retryable, false, label);
      assert.ok(err.evidence.length > 0, `${label}: evidence`);
      assert.ok(err.fix.length > 0, `${label}: fix`);
    }
    assert.equal(spy.calls.length, 0, `nothing was sent: ${JSON.stringify(spy.calls.map((c) => c.url))}`);
    assert.equal(stray.requests.length, 0, 'the stray server got no request');
    assert.equal(emu.log.length, 0, `the emulator got no request: ${JSON.stringify(emu.log.map((e) => [e.host, e.path]))}`);

    // A POST to another origin is refused as well (and its body is not sent).
    await expectSessionError(sm.fetch('acme', `${stray.url}${API}/sobjects/Account`, { method: 'POST', body: '{"Name":"x"}' }), 'WRONG_INSTANCE_URL');
    assert.equal(stray.requests.length, 0);
    // The connection itself is unharmed.
    assert.equal((await sm.fetch('acme', LIMITS)).status, 200);
  });

  test('the identity URL on the login host is the one allowed exception', async (t) => {
    const emu = await startEmu(t);
    const { sm } = makeManager(emu);
    const { tokens } = await connectNew(sm, emu);
    const res = await sm.fetch('acme', tokens.id);
    assert.equal(res.status, 200);
    assert.equal((await res.json()).user_id, emu.defaultUserId);
    assert.deepEqual(emu.log.map((e) => [e.host, e.path, e.authorization]), [['login', new URL(tokens.id).pathname, bearer(tokens.access_token)]]);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('token responses given to connect', () => {
  test('bad token responses are refused and nothing is stored or overwritten', async (t) => {
    const emu = await startEmu(t);
    const { sm, store } = makeManager(emu);
    const { tokens: good } = await connectNew(sm, emu);
    const without = (field) => {
      const copy = { ...good };
      delete copy[field];
      return copy;
    };
    const cases = [
      ['garbage string', 'this is not json', 'INVALID_TOKEN_RESPONSE'],
      ['empty string', '', 'INVALID_TOKEN_RESPONSE'],
      ['JSON array', '[]', 'INVALID_TOKEN_RESPONSE'],
      ['null', null, 'INVALID_TOKEN_RESPONSE'],
      ['a number', 42, 'INVALID_TOKEN_RESPONSE'],
      ['{}', {}, 'INVALID_TOKEN_RESPONSE'],
      ['missing access_token', without('access_token'), 'INVALID_TOKEN_RESPONSE'],
      ['missing instance_url', without('instance_url'), 'INVALID_TOKEN_RESPONSE'],
      ['missing id', without('id'), 'INVALID_TOKEN_RESPONSE'],
      ['missing issued_at', without('issued_at'), 'INVALID_TOKEN_RESPONSE'],
      ['issued_at not epoch ms', { ...good, issued_at: 'yesterday' }, 'INVALID_TOKEN_RESPONSE'],
      ['id not an identity URL', { ...good, id: `${emu.loginUrl}/id/nope` }, 'INVALID_TOKEN_RESPONSE'],
      ['non-URL instance_url', { ...good, instance_url: 'not a url' }, 'INVALID_TOKEN_RESPONSE'],
      ['OAuth error body', { error: 'invalid_grant', error_description: 'authentication failure' }, 'INVALID_TOKEN_RESPONSE'],
      ['OAuth error body as a string', '{"error":"invalid_client_id","error_description":"client identifier invalid"}', 'INVALID_TOKEN_RESPONSE'],
      ['Lightning instance_url', { ...good, instance_url: 'https://acme.lightning.force.com' }, 'WRONG_INSTANCE_URL'],
      ['login host instance_url', { ...good, instance_url: 'https://login.salesforce.com' }, 'WRONG_INSTANCE_URL'],
      ['unknown host instance_url', { ...good, instance_url: 'https://evil.example.com' }, 'WRONG_INSTANCE_URL'],
      ['http instance_url', { ...good, instance_url: 'http://acme.my.salesforce.com' }, 'WRONG_INSTANCE_URL'],
    ];
    const before = store.snapshot();
    assert.ok(before.length > 0);
    emu.clearLog();
    for (const [label, bad, code] of cases) {
      for (const id of ['acme', 'fresh']) {
        const err = await expectSessionError(sm.connect(id, bad), code, `${label} (${id})`);
        assert.ok(err.evidence.length > 0, `${label}: evidence`);
        assert.ok(err.fix.length > 0, `${label}: fix`);
        assert.deepEqual(store.snapshot(), before, `${label} (${id}): the store is unchanged`);
      }
    }
    await expectSessionError(sm.info('fresh'), 'UNKNOWN_CONNECTION');
    const info = await sm.info('acme');
    assert.equal(info.issuedAt, Number(good.issued_at));
    assert.equal(info.instanceUrl, emu.instanceUrl);
    assert.equal(emu.log.length, 0, 'nothing was sent');
    // The good connection still works with its own token.
    assert.equal((await sm.fetch('acme', LIMITS)).status, 200);
    assert.equal(emu.log.at(-1).authorization, bearer(good.access_token));
  });
});

// ---------------------------------------------------------------------------------------------------

describe('store', () => {
  for (const mode of ['throw', 'reject']) {
    test(`a store whose get, put or delete ${mode}s gives STORE_FAILED with evidence`, async (t) => {
      const emu = await startEmu(t);
      const tokens = await emu.mintTokenResponse();

      // put fails: connect cannot store.
      const putFails = makeManager(emu, { store: new TestStore({ fail: { put: mode } }) });
      let err = await expectSessionError(putFails.sm.connect('acme', tokens), 'STORE_FAILED', 'put');
      assert.match(err.evidence.join(' '), /store\.put/);
      assert.match(err.evidence.join(' '), /disk on fire/);
      assert.equal(err.connectionId, 'acme');
      assert.ok(err.fix.length > 0);

      // get fails: a manager that has not seen the connection cannot load it.
      const shared = new TestStore();
      await makeManager(emu, { store: shared }).sm.connect('acme', tokens);
      const getFails = makeManager(emu, { store: new TestStore({ fail: { get: mode } }) });
      getFails.store.map = shared.map;
      err = await expectSessionError(getFails.sm.fetch('acme', LIMITS), 'STORE_FAILED', 'get (fetch)');
      assert.match(err.evidence.join(' '), /store\.get/);
      assert.match(err.evidence.join(' '), /disk on fire/);
      err = await expectSessionError(getFails.sm.info('acme'), 'STORE_FAILED', 'get (info)');
      assert.match(err.evidence.join(' '), /store\.get/);

      // delete fails: disconnect cannot forget.
      const deleteFails = makeManager(emu, { store: new TestStore({ fail: { delete: mode } }) });
      await deleteFails.sm.connect('acme', tokens);
      err = await expectSessionError(deleteFails.sm.disconnect('acme'), 'STORE_FAILED', 'delete');
      assert.match(err.evidence.join(' '), /store\.delete/);
      assert.match(err.evidence.join(' '), /disk on fire/);

      // None of this reached Salesforce.
      assert.equal(emu.log.length, 0, JSON.stringify(emu.log.map((e) => e.path)));
    });
  }

  test('a store returning something other than a string or null gives STORE_FAILED', async (t) => {
    const emu = await startEmu(t);
    for (const [label, value] of [['a number', 42], ['an object', { accessToken: 'x' }], ['a boolean', true], ['a non-record string', 'hello']]) {
      const { sm } = makeManager(emu, { store: new TestStore({ fail: { get: () => value } }) });
      const err = await expectSessionError(sm.fetch('acme', LIMITS), 'STORE_FAILED', label);
      assert.ok(err.evidence.length > 0, `${label}: evidence`);
      await expectSessionError(sm.info('acme'), 'STORE_FAILED', `${label} (info)`);
    }
    assert.equal(emu.log.length, 0);
  });

  test('an unknown connection gives UNKNOWN_CONNECTION and sends nothing', async (t) => {
    const emu = await startEmu(t);
    const { sm, spy } = makeManager(emu);
    await connectNew(sm, emu, 'acme');
    for (const call of [() => sm.fetch('nobody', LIMITS), () => sm.info('nobody'), () => sm.refresh('nobody'), () => sm.connection('nobody').fetch(LIMITS)]) {
      const err = await expectSessionError(call(), 'UNKNOWN_CONNECTION');
      assert.equal(err.connectionId, 'nobody');
      assert.equal(err.retryable, false);
      assert.ok(err.fix.length > 0);
    }
    assert.equal(spy.calls.length, 0);
    assert.equal(emu.log.length, 0);
  });

  test('MemoryStore is the default and a shared store lets a second manager use the connection', async (t) => {
    const emu = await startEmu(t);
    const store = new MemoryStore();
    const a = makeManager(emu, { store, instanceId: 'a' });
    const b = makeManager(emu, { store, instanceId: 'b' });
    const { tokens } = await connectNew(a.sm, emu);
    assert.ok(store.size >= 1);
    const res = await b.sm.fetch('acme', LIMITS);
    assert.equal(res.status, 200);
    assert.equal(emu.log.at(-1).authorization, bearer(tokens.access_token));
    assert.equal((await b.sm.info('acme')).mintedBy, 'a');

    // With no store option the manager keeps its own memory store.
    const own = new SessionManager({ clientId: emu.clientId, loginUrl: emu.loginUrl, allowInsecureLoopback: true, now: () => emu.now() });
    await own.connect('solo', tokens);
    assert.equal((await own.fetch('solo', LIMITS)).status, 200);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('revocation and outages', () => {
  test('a revoked refresh token gives SESSION_REVOKED, marks the connection, and stops all requests', async (t) => {
    const emu = await startEmu(t);
    const { sm, events, store } = makeManager(emu);
    await connectNew(sm, emu);
    emu.changePassword();
    emu.expireAllSessions();
    emu.clearLog();

    const err = await expectSessionError(sm.fetch('acme', LIMITS), 'SESSION_REVOKED');
    assert.equal(err.reauthRequired, true);
    assert.equal(err.retryable, false);
    assert.equal(err.connectionId, 'acme');
    assert.equal(err.orgId, emu.orgId);
    assert.ok(err.evidence.some((line) => line.includes('"authentication failure"')), `evidence quotes the description: ${JSON.stringify(err.evidence)}`);
    assert.ok(err.fix.length > 0);
    const toks = tokenRequests(emu);
    assert.equal(toks.length, 1, 'one token request, no retries of a revocation');
    assert.equal(toks[0].status, 400);
    assert.equal(toks[0].errorCode, 'invalid_grant');

    const info = await sm.info('acme');
    assert.equal(info.status, 'reauth_required');
    const reauth = ofType(events, 'reauth_required');
    assert.equal(reauth.length, 1);
    assert.equal(reauth[0].description, 'authentication failure');
    assert.equal(reauth[0].connectionId, 'acme');

    // Later calls fail at once: no token request, no REST request.
    emu.clearLog();
    const again = await expectSessionError(sm.fetch('acme', LIMITS), 'SESSION_REVOKED');
    assert.equal(again.reauthRequired, true);
    await expectSessionError(sm.refresh('acme'), 'SESSION_REVOKED');
    assert.equal(emu.log.length, 0, JSON.stringify(emu.log.map((e) => [e.host, e.path])));

    // Another manager sharing the store sees the mark too.
    const other = makeManager(emu, { store });
    await expectSessionError(other.sm.fetch('acme', LIMITS), 'SESSION_REVOKED');
    assert.equal((await other.sm.info('acme')).status, 'reauth_required');
    assert.equal(emu.log.length, 0);

    // A new authorization clears it.
    const fresh = await emu.mintTokenResponse();
    assert.equal((await sm.connect('acme', fresh)).status, 'active');
    assert.equal((await sm.fetch('acme', LIMITS)).status, 200);
  });

  test('token endpoint down: REFRESH_FAILED after refreshAttempts, stored credential untouched', async (t) => {
    const emu = await startEmu(t);
    const { sm, events, store } = makeManager(emu, { refreshAttempts: 2, refreshBackoffMs: 1 });
    const { tokens } = await connectNew(sm, emu);
    const stored = store.snapshot();
    emu.policy.tokenEndpointDown = true;
    emu.expireAllSessions();
    emu.clearLog();

    const err = await expectSessionError(sm.fetch('acme', LIMITS), 'REFRESH_FAILED');
    assert.equal(err.retryable, true);
    assert.equal(err.reauthRequired, false);
    assert.equal(err.connectionId, 'acme');
    assert.ok(err.evidence.length > 0);
    const toks = tokenRequests(emu);
    assert.equal(toks.length, 2, 'bounded by refreshAttempts');
    assert.ok(toks.every((e) => e.status === 503 && e.refreshToken === tokens.refresh_token));
    // The credential is untouched; the record only gains the fleet's cooldown.
    const credential = (snapshot) => snapshot.map(([key, value]) => {
      const { cooldownUntil, gen, ...rest } = JSON.parse(value);
      return [key, rest];
    });
    assert.deepEqual(credential(store.snapshot()), credential(stored), 'the stored credential is unchanged');
    const [[, record]] = store.snapshot().filter(([key]) => key.includes('conn:'));
    assert.ok(JSON.parse(record).cooldownUntil > emu.now(), 'a cooldown is shared through the record');
    assert.equal((await sm.info('acme')).status, 'active');
    assert.equal(ofType(events, 'refresh_failed').length, 1);
    assert.equal(ofType(events, 'reauth_required').length, 0);
    // During the cooldown no token request is sent, by this manager or another sharing the store.
    emu.clearLog();
    await expectSessionError(sm.fetch('acme', LIMITS), 'REFRESH_FAILED');
    await expectSessionError(makeManager(emu, { store }).sm.fetch('acme', LIMITS), 'REFRESH_FAILED');
    assert.equal(tokenRequests(emu).length, 0, 'no token request during the cooldown');

    // Once the endpoint is back, the same credential refreshes.
    emu.policy.tokenEndpointDown = false;
    emu.advance(5_000);
    emu.clearLog();
    assert.equal((await sm.fetch('acme', LIMITS)).status, 200);
    assert.equal(tokenRequests(emu).length, 1);
    assert.equal(tokenRequests(emu)[0].refreshToken, tokens.refresh_token);
  });

  test('refresh token rotation: the new refresh token is stored and a rotated-out one is never presented', async (t) => {
    const emu = await startEmu(t);
    emu.policy.rotateRefreshTokens = true;
    const { sm, events, store, spy } = makeManager(emu);
    const { tokens } = await connectNew(sm, emu);

    const rounds = 4;
    for (let i = 0; i < rounds; i += 1) {
      emu.advance(1000);
      emu.expireAllSessions();
      const res = await sm.fetch('acme', LIMITS);
      assert.equal(res.status, 200, `round ${i}`);
      const issued = spy.calls.filter((c) => c.tokenBody?.refresh_token).at(-1).tokenBody.refresh_token;
      assert.ok(store.valuesFor('acme').some((v) => v.includes(issued)), `round ${i}: the store holds the new refresh token`);
      assert.ok(!store.valuesFor('acme').some((v) => v.includes(tokens.refresh_token)), `round ${i}: the first refresh token is gone from the store`);
    }

    const presented = tokenRequests(emu).map((e) => e.refreshToken);
    assert.equal(presented.length, rounds);
    assert.equal(new Set(presented).size, rounds, 'every refresh token was presented once');
    // Each presented refresh token is the one the previous token response handed out.
    const handedOut = [tokens.refresh_token, ...spy.calls.filter((c) => c.tokenBody).map((c) => c.tokenBody.refresh_token)];
    assert.deepEqual(presented, handedOut.slice(0, rounds));
    assert.ok(tokenRequests(emu).every((e) => e.status === 200), 'no token request was refused');
    assert.ok(ofType(events, 'refresh').every((e) => e.rotated === true));
    assert.equal(ofType(events, 'refresh').length, rounds);
    // The family is still alive: a forced refresh works.
    assert.equal((await sm.refresh('acme')).status, 'active');
    assert.equal(tokenRequests(emu).at(-1).refreshToken, handedOut[rounds]);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('secrets', () => {
  test('no access token, refresh token or client secret in any event, error, info, diagnosis or log line', async (t) => {
    const clientSecret = 'emulator-consumer-secret-7f3a9c1e5b2d4086';
    const emu = await startEmu(t, { clientSecret });
    emu.policy.rotateRefreshTokens = true;
    const { sm, events, store } = makeManager(emu, { clientSecret, refreshAttempts: 2, refreshBackoffMs: 1 });
    const observed = [];
    const errors = [];
    const logged = [];
    const keep = (where, value) => observed.push([where, value]);
    const attempt = async (where, fn) => {
      try {
        const value = await fn();
        keep(where, value instanceof Response ? { status: value.status } : value);
      } catch (err) {
        errors.push(err);
        keep(where, err);
      }
    };
    for (const method of ['log', 'info', 'warn', 'error', 'debug']) {
      const original = console[method];
      console[method] = (...args) => {
        logged.push(args);
        original.apply(console, args);
      };
      t.after(() => { console[method] = original; });
    }

    const minted = [];
    const mint = async (opts) => {
      const tokens = await emu.mintTokenResponse(opts);
      minted.push(tokens.refresh_token, tokens.access_token);
      return tokens;
    };
    const tokens = await mint();
    await attempt('connect', () => sm.connect('acme', tokens));
    await attempt('info', () => sm.info('acme'));
    await attempt('fetch', () => sm.fetch('acme', LIMITS));
    await attempt('diagnose', () => sm.diagnose('acme'));
    emu.expireAllSessions();
    await attempt('fetch after expiry', () => sm.fetch('acme', LIMITS));
    emu.advance((TIMEOUT_S - MARGIN_S + 10) * 1000);
    await attempt('proactive', () => sm.fetch('acme', LIMITS));
    await attempt('forced refresh', () => sm.refresh('acme'));
    emu.expireAllSessions();
    await attempt('diagnose expired', () => sm.diagnose('acme'));
    await attempt('wrong instance', () => sm.fetch('acme', `https://evil.example.com${LIMITS}`));
    await attempt('login host', () => sm.fetch('acme', `${emu.loginUrl}${LIMITS}`));
    await attempt('bad token response', () => sm.connect('other', { ...tokens, instance_url: 'https://acme.lightning.force.com' }));
    await attempt('token response missing id', () => sm.connect('other', { ...tokens, id: undefined }));
    await attempt('token response bad issued_at', () => sm.connect('other', JSON.stringify({ ...tokens, issued_at: 'soon' })));
    await attempt('unknown', () => sm.fetch('nobody', LIMITS));
    emu.policy.tokenEndpointDown = true;
    emu.expireAllSessions();
    await attempt('outage', () => sm.fetch('acme', LIMITS));
    emu.policy.tokenEndpointDown = false;
    await attempt('after outage', () => sm.fetch('acme', LIMITS));
    await attempt('info again', () => sm.info('acme'));

    // A second connection that is revoked, then disconnected with revocation.
    const second = makeManager(emu, { clientSecret, store });
    const t2 = await mint();
    await attempt('connect second', () => second.sm.connect('beta', t2));
    await attempt('fetch second', () => second.sm.fetch('beta', LIMITS));
    emu.changePassword();
    await attempt('revoked', () => second.sm.fetch('beta', LIMITS));
    await attempt('revoked again', () => second.sm.fetch('beta', LIMITS));
    await attempt('diagnose revoked', () => second.sm.diagnose('beta'));
    await attempt('info revoked', () => second.sm.info('beta'));
    const t3 = await mint();
    await attempt('reconnect', () => sm.connect('acme', t3));
    await attempt('disconnect revoke', () => sm.disconnect('acme', { revoke: true }));
    await attempt('after disconnect', () => sm.fetch('acme', LIMITS));

    // Store failures whose messages must not drag the record along.
    const broken = makeManager(emu, { clientSecret, store: new TestStore({ fail: { put: 'reject' } }) });
    await attempt('store failure', async () => broken.sm.connect('acme', await mint()));

    const secrets = collectSecrets(emu, [...minted, clientSecret]);
    assert.ok(secrets.length >= 10, `collected ${secrets.length} secrets`);
    assert.ok(errors.length >= 10, `exercised ${errors.length} errors`);
    const codes = new Set(errors.map((e) => e.code));
    for (const code of ['WRONG_INSTANCE_URL', 'INVALID_TOKEN_RESPONSE', 'UNKNOWN_CONNECTION', 'REFRESH_FAILED', 'SESSION_REVOKED', 'STORE_FAILED']) {
      assert.ok(codes.has(code), `the run produced ${code} (got ${[...codes].join(', ')})`);
    }
    assert.ok(ofType(events, 'refresh').length >= 3, 'refreshes happened');
    assert.ok(emu.log.some((e) => e.path === '/services/oauth2/introspect'), 'the client secret was used (introspection)');
    assert.ok(emu.log.some((e) => e.path === '/services/oauth2/revoke'));

    const values = [
      ...observed,
      ...events.map((e, i) => [`event ${i} (${e.type})`, e]),
      ...second.events.map((e, i) => [`second event ${i} (${e.type})`, e]),
      ...broken.events.map((e, i) => [`broken event ${i} (${e.type})`, e]),
      ...logged.map((args, i) => [`console line ${i}`, args]),
    ];
    const leaks = findLeaks(secrets, values);
    assert.deepEqual(leaks, [], `secrets leaked in: ${leaks.map((l) => l.where).join('; ')}`);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('disconnect', () => {
  test('disconnect(id) forgets the connection without calling Salesforce', async (t) => {
    const emu = await startEmu(t);
    const { sm, events, store } = makeManager(emu);
    const { tokens } = await connectNew(sm, emu);
    emu.clearLog();
    await sm.disconnect('acme');
    assert.deepEqual(store.valuesFor('acme'), []);
    await expectSessionError(sm.fetch('acme', LIMITS), 'UNKNOWN_CONNECTION');
    await expectSessionError(sm.info('acme'), 'UNKNOWN_CONNECTION');
    assert.equal(emu.log.length, 0, 'no request at all');
    assert.equal(emu.isSessionActive(tokens.access_token), true, 'the session was not revoked');
    const gone = ofType(events, 'disconnected');
    assert.equal(gone.length, 1);
    assert.equal(gone[0].revoked, false);
  });

  test('disconnect(id, { revoke: true }) revokes at Salesforce, then forgets', async (t) => {
    const emu = await startEmu(t);
    const { sm, events, store } = makeManager(emu);
    const { tokens } = await connectNew(sm, emu);
    emu.clearLog();
    await sm.disconnect('acme', { revoke: true });

    const revokes = emu.log.filter((e) => e.path === '/services/oauth2/revoke');
    assert.equal(revokes.length, 1);
    assert.equal(revokes[0].method, 'POST');
    assert.equal(revokes[0].host, 'login');
    assert.equal(revokes[0].status, 200);
    assert.equal(emu.isSessionActive(tokens.access_token), false, 'the access token is dead');
    // The refresh token is dead too.
    const refresh = await fetch(`${emu.loginUrl}${TOKEN_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: emu.clientId }),
    });
    assert.equal(refresh.status, 400);
    assert.equal((await refresh.json()).error, 'invalid_grant');

    assert.deepEqual(store.valuesFor('acme'), []);
    await expectSessionError(sm.fetch('acme', LIMITS), 'UNKNOWN_CONNECTION');
    const gone = ofType(events, 'disconnected');
    assert.equal(gone.length, 1);
    assert.equal(gone[0].revoked, true);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('options', () => {
  test('bad options throw INVALID_CONFIG from the constructor', async (t) => {
    const emu = await startEmu(t);
    const { fetch, calls } = spyFetch();
    const base = { clientId: 'test-client', loginUrl: emu.loginUrl, allowInsecureLoopback: true, fetch };
    const cases = [
      ['no options', undefined],
      ['null options', null],
      ['missing clientId', { ...base, clientId: undefined }],
      ['empty clientId', { ...base, clientId: '' }],
      ['non-string clientId', { ...base, clientId: 42 }],
      ['http loginUrl without allowInsecureLoopback', { ...base, allowInsecureLoopback: undefined }],
      ['http loginUrl with allowInsecureLoopback false', { ...base, allowInsecureLoopback: false }],
      ['http non-loopback loginUrl', { ...base, loginUrl: 'http://login.salesforce.com' }],
      ['Lightning loginUrl', { ...base, loginUrl: 'https://acme.lightning.force.com' }],
      ['non-URL loginUrl', { ...base, loginUrl: 'login.salesforce.com' }],
      ['non-function onEvent', { ...base, onEvent: 'log it' }],
      ['non-function now', { ...base, now: 1234 }],
      ['non-function fetch', { ...base, fetch: 'fetch' }],
      ['store without methods', { ...base, store: {} }],
      ['store without delete', { ...base, store: { get: async () => null, put: async () => {} } }],
      ['store of the wrong type', { ...base, store: 'redis://localhost' }],
      ['sessionTimeoutSeconds not a number', { ...base, sessionTimeoutSeconds: 'two hours' }],
    ];
    for (const [label, options] of cases) {
      const err = expectSessionErrorSync(() => new SessionManager(options), 'INVALID_CONFIG', label);
      assert.ok(err instanceof Error, label);
      assert.equal(err.name, 'SalesforceSessionError', label);
      assert.ok(err.evidence.length > 0, `${label}: evidence`);
      assert.ok(err.fix.length > 0, `${label}: fix`);
    }
    // The good base options are accepted, and nothing was sent by any of this.
    assert.ok(new SessionManager(base) instanceof SessionManager);
    assert.equal(calls.length, 0);
    assert.equal(emu.log.length, 0);
  });

  test('SalesforceSessionError is the class callers catch', async (t) => {
    const emu = await startEmu(t);
    const { sm } = makeManager(emu);
    const err = await expectSessionError(sm.fetch('nobody', LIMITS), 'UNKNOWN_CONNECTION');
    assert.ok(err instanceof SalesforceSessionError);
    assert.ok(err instanceof Error);
    for (const field of ['code', 'connectionId', 'orgId', 'status', 'retryable', 'reauthRequired', 'evidence', 'fix']) {
      assert.ok(field in err, `error has ${field}`);
    }
    assert.ok(Array.isArray(err.evidence));
  });
});

// ---------------------------------------------------------------------------------------------------

describe('connection handle', () => {
  test("sessions.connection('acme').fetch(path) works like sessions.fetch('acme', path)", async (t) => {
    const emu = await startEmu(t);
    const { sm } = makeManager(emu);
    const { tokens } = await connectNew(sm, emu);
    const acme = sm.connection('acme');
    assert.equal(acme.connectionId, 'acme');
    const res = await acme.fetch(LIMITS);
    assert.equal(res.status, 200);
    assert.ok((await res.json()).DailyApiRequests);
    const post = await acme.fetch(`${API}/sobjects/Account`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"Name":"Handle Co"}' });
    assert.equal(post.status, 201);
    assert.deepEqual(emu.records('Account').map((r) => r.Name), ['Handle Co']);
    assert.deepEqual(emu.log.map((e) => [e.method, e.path, e.authorization]), [
      ['GET', LIMITS, bearer(tokens.access_token)],
      ['POST', `${API}/sobjects/Account`, bearer(tokens.access_token)],
    ]);
    assert.equal((await acme.info()).connectionId, 'acme');
    // A handle of an unknown connection fails on use, not on creation.
    await expectSessionError(sm.connection('nobody').fetch(LIMITS), 'UNKNOWN_CONNECTION');
  });
});
