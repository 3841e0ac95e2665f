// Root causes of INVALID_SESSION_ID (SALESFORCE.md §5–6), each produced at the emulator and checked
// from both sides: what reached Salesforce (token requests, which token went from which address)
// and what the library said (error code, evidence, fix, flags, events, diagnose()).
// Run from the scratch consumer: node --test tests/node/root-causes.test.mjs
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { MemoryStore, SalesforceSessionError } from 'salesforce-session';
import {
  API, startEmu, makeManager, connectNew, expectSessionError, restRequests, startStrayServer,
} from './helpers.mjs';
import {
  fetchFrom, startWebhookReceiver, assertEventShapes, assertExplained, assertDiagnosis, assertNoLeaks, sourceOf,
} from './fleet-helpers.mjs';

const LIMITS = `${API}/limits`;
const ACCOUNTS = `${API}/sobjects/Account`;
const HOUR = 3600 * 1000;
const PAST_TIMEOUT = 3 * HOUR; // the default session timeout is 2 h

const ofType = (events, type) => events.filter((e) => e.type === type);
const diagnoses = (events, cause) => ofType(events, 'diagnosis').filter((e) => e.cause === cause);

async function get(sm, path = LIMITS, id = 'acme') {
  const res = await sm.fetch(id, path);
  await res.arrayBuffer();
  return res;
}

function post(sm, fields = { Name: 'Acme' }, id = 'acme') {
  return sm.fetch(id, ACCOUNTS, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fields) });
}

// ---------------------------------------------------------------------------------------------------

describe('1. session expired', () => {
  test('past the timeout the session is renewed before sending: one token request, no 401, the call succeeds', async (t) => {
    const emu = await startEmu(t);
    const { sm, events } = makeManager(emu, { instanceId: 'worker-a' });
    const { tokens } = await connectNew(sm, emu);
    assert.equal((await get(sm)).status, 200);

    emu.advance(PAST_TIMEOUT);
    assert.equal(emu.isSessionActive(tokens.access_token), false, 'the emulator expired the session');
    const res = await get(sm);
    assert.equal(res.status, 200);

    const tokenRequests = emu.tokenRequests();
    assert.equal(tokenRequests.length, 1);
    assert.equal(tokenRequests[0].grantType, 'refresh_token');
    assert.equal(tokenRequests[0].refreshToken, tokens.refresh_token);
    assert.equal(tokenRequests[0].status, 200);
    const rest = restRequests(emu);
    assert.deepEqual(rest.map((e) => e.status), [200, 200], 'the expired token was never sent');
    assert.equal(rest[0].token, tokens.access_token);
    assert.notEqual(rest[1].token, tokens.access_token);
    assert.equal(emu.isSessionActive(rest[1].token), true);

    const refreshes = ofType(events, 'refresh');
    assert.equal(refreshes.length, 1);
    assert.equal(refreshes[0].reason, 'proactive');
    assert.equal(refreshes[0].rotated, false);
    assert.deepEqual(ofType(events, 'refresh_failed'), []);
    assert.deepEqual(ofType(events, 'diagnosis'), []);
    const info = await sm.info('acme');
    assert.equal(info.status, 'active');
    assert.ok(info.issuedAt > Number(tokens.issued_at));
    assertEventShapes(events, emu);
    assertNoLeaks(emu, [['events', events]]);
  });

  test('a session that dies early is refreshed on the 401 and the call retried once, invisibly', async (t) => {
    const emu = await startEmu(t);
    const { sm, events } = makeManager(emu, { instanceId: 'worker-a' });
    const { tokens } = await connectNew(sm, emu);
    assert.equal((await get(sm)).status, 200);

    emu.expireSession(tokens.access_token);
    assert.equal((await get(sm)).status, 200);

    assert.equal(emu.tokenRequests().length, 1);
    const rest = restRequests(emu);
    assert.deepEqual(rest.map((e) => [e.status, e.errorCode]), [[200, null], [401, 'INVALID_SESSION_ID'], [200, null]]);
    assert.equal(rest[1].token, tokens.access_token);
    assert.notEqual(rest[2].token, tokens.access_token);
    const requests = ofType(events, 'request');
    assert.deepEqual(requests.slice(1).map((e) => [e.status, e.attempt]), [[401, 1], [200, 2]]);
    assert.deepEqual(ofType(events, 'refresh').map((e) => e.reason), ['invalid_session']);
    // A token minted here and renewed here is plain expiry, not an IP lock.
    assert.deepEqual(diagnoses(events, 'IP_LOCKED'), []);
    assert.equal((await sm.info('acme')).ipLocked, false);
    assertEventShapes(events, emu);
  });

  test('no refresh token: SESSION_EXPIRED with a fix, and nothing is sent to the token endpoint', async (t) => {
    const emu = await startEmu(t);
    const { sm, events } = makeManager(emu, { instanceId: 'worker-a' });
    const { info: connected } = await connectNew(sm, emu, 'acme', { withRefreshToken: false });
    assert.equal(connected.hasRefreshToken, false);
    assert.equal((await get(sm)).status, 200);

    emu.advance(PAST_TIMEOUT);
    const err = await expectSessionError(sm.fetch('acme', LIMITS), 'SESSION_EXPIRED');
    assert.ok(err instanceof SalesforceSessionError);
    assertExplained(err);
    assert.equal(err.status, 401);
    assert.equal(err.connectionId, 'acme');
    assert.equal(err.orgId, emu.orgId);
    assert.equal(err.retryable, false);
    assert.equal(err.reauthRequired, false);
    assert.ok(err.evidence.some((l) => /no refresh token/i.test(l)), JSON.stringify(err.evidence));
    assert.ok(err.evidence.some((l) => l.includes('Session expired or invalid')), 'quotes what Salesforce said');
    assert.match(err.fix, /refresh_token|offline_access|JWT/);
    assert.equal(emu.tokenRequests().length, 0);
    assert.deepEqual(restRequests(emu).map((e) => e.status), [200, 401], 'one rejected call, no retry');

    assertDiagnosis(diagnoses(events, 'SESSION_EXPIRED')[0] ?? {}, 'SESSION_EXPIRED');
    const report = await sm.diagnose('acme');
    assertDiagnosis(report, 'SESSION_EXPIRED');
    assert.equal(report.connectionId, 'acme');
    assert.equal(emu.tokenRequests().length, 0, 'the doctor cannot refresh without a refresh token');
    assertEventShapes(events, emu);
    assertNoLeaks(emu, [['events', events], ['error', err], ['report', report]]);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('2. wrong instance URL', () => {
  test('a call to any other origin fails with WRONG_INSTANCE_URL before anything is sent', async (t) => {
    const emu = await startEmu(t);
    const stray = await startStrayServer(t);
    const { sm, events, spy } = makeManager(emu, { instanceId: 'worker-a' });
    await connectNew(sm, emu);

    const targets = [
      `${stray.url}${LIMITS}`,                                  // another origin (loopback, another port)
      `${emu.loginUrl}${LIMITS}`,                               // the login host: data calls never go there
      `https://login.salesforce.com${LIMITS}`,
      `https://acme.lightning.force.com${LIMITS}`,              // a Lightning UI host
      `http://acme.my.salesforce.com${LIMITS}`,                 // not https
      `https://acme.my.salesforce.com${LIMITS}`,                // an API host, but not this connection's
      `//evil.example.com${LIMITS}`,                            // scheme-relative
    ];
    const errors = [];
    for (const target of targets) {
      const err = await expectSessionError(sm.fetch('acme', target), 'WRONG_INSTANCE_URL', target);
      assertExplained(err);
      assert.equal(err.status, null, `${target}: no HTTP status, nothing was sent`);
      assert.equal(err.reauthRequired, false);
      assert.equal(err.retryable, false);
      assert.equal(err.connectionId, 'acme');
      assert.ok(err.evidence.some((l) => /nothing was sent/i.test(l)), `${target}: ${JSON.stringify(err.evidence)}`);
      assert.match(err.fix, /instance_url/);
      errors.push([target, err]);
    }
    assert.deepEqual(spy.calls, [], 'the library never called fetch');
    assert.deepEqual(stray.requests, []);
    assert.deepEqual(emu.log, []);

    // The connection's own instance, spelled as a full URL, is fine.
    assert.equal((await get(sm, `${emu.instanceUrl}${LIMITS}`)).status, 200);
    assertEventShapes(events, emu);
    assertNoLeaks(emu, errors);
  });

  test('an instance_url pointing at the login host: URL_NOT_RESET is reported as WRONG_INSTANCE_URL', async (t) => {
    const emu = await startEmu(t);
    const { sm, events } = makeManager(emu, { instanceId: 'worker-a' });
    emu.policy.instanceUrl = emu.loginUrl;
    const { info } = await connectNew(sm, emu);
    assert.equal(info.instanceUrl, emu.loginUrl);

    const err = await expectSessionError(sm.fetch('acme', LIMITS), 'WRONG_INSTANCE_URL');
    assertExplained(err);
    assert.equal(err.status, 400);
    assert.equal(err.reauthRequired, false);
    assert.equal(err.retryable, false);
    assert.ok(err.evidence.some((l) => l.includes('URL_NOT_RESET')), JSON.stringify(err.evidence));
    assert.ok(err.evidence.some((l) => l.includes('Destination URL not reset')), 'quotes what Salesforce said');
    assert.match(err.fix, /instance_url/);

    const dataCalls = emu.log.filter((e) => e.path.startsWith('/services/data'));
    assert.deepEqual(dataCalls.map((e) => [e.host, e.status, e.errorCode]), [['login', 400, 'URL_NOT_RESET']]);
    assert.equal(emu.tokenRequests().length, 0, 'URL_NOT_RESET is not a session problem: no refresh');

    const report = await sm.diagnose('acme');
    assertDiagnosis(report, 'WRONG_INSTANCE_URL');
    assert.ok(report.evidence.some((l) => l.includes('URL_NOT_RESET')), JSON.stringify(report.evidence));
    assertDiagnosis(diagnoses(events, 'WRONG_INSTANCE_URL').at(-1) ?? {}, 'WRONG_INSTANCE_URL');
    assertEventShapes(events, emu);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('3. sessions locked to the IP address', () => {
  test('two workers behind different IPs share one store: every call succeeds, no refresh ping-pong, IP_LOCKED is reported', async (t) => {
    const emu = await startEmu(t);
    emu.policy.ipLock = true;
    const store = new MemoryStore();
    const workers = {
      a: { address: '127.0.0.2', ...makeManager(emu, { instanceId: 'worker-a', store, fetch: fetchFrom(t, '127.0.0.2') }) },
      b: { address: '127.0.0.3', ...makeManager(emu, { instanceId: 'worker-b', store, fetch: fetchFrom(t, '127.0.0.3') }) },
    };
    const { a, b } = workers;
    const tokens = await emu.mintTokenResponse({ sourceAddress: a.address });
    const info = await a.sm.connect('acme', tokens);
    assert.equal(info.mintedBy, 'worker-a');

    // Phase 1: A's token works from A; B's first call is rejected (A's token, B's IP), B refreshes
    // once, and from then on each worker keeps the token minted at its own address.
    for (let round = 0; round < 10; round += 1) {
      for (const name of ['a', 'b']) {
        const res = await get(workers[name].sm);
        assert.equal(res.status, 200, `round ${round}, worker ${name}`);
      }
    }
    const phase1 = emu.tokenRequests();
    assert.equal(phase1.length, 1, 'B refreshes once; nobody refreshes after that');
    assert.equal(phase1[0].remoteAddress, b.address);
    assert.equal(phase1[0].status, 200);

    const rest = restRequests(emu);
    assert.equal(rest.length, 21, '20 calls + one retry');
    const rejected = rest.filter((e) => e.status !== 200);
    assert.deepEqual(rejected.map((e) => [e.status, e.errorCode, e.remoteAddress]), [[401, 'INVALID_SESSION_ID', b.address]]);
    assert.equal(rejected[0].token, tokens.access_token, 'the one rejection was A\'s token sent from B');
    for (const e of rest.filter((r) => r.status === 200)) {
      assert.equal(sourceOf(emu, e.token), e.remoteAddress, 'every accepted call used a token minted at its own address');
    }
    assert.ok(rest.filter((e) => e.remoteAddress === a.address).every((e) => e.token === tokens.access_token), 'A kept its token');
    const bTokens = new Set(rest.filter((e) => e.remoteAddress === b.address && e.status === 200).map((e) => e.token));
    assert.equal(bTokens.size, 1, 'B kept the one token it minted');

    const ipLocked = diagnoses(b.events, 'IP_LOCKED');
    assert.equal(ipLocked.length, 1, JSON.stringify(ofType(b.events, 'diagnosis')));
    assertDiagnosis(ipLocked[0], 'IP_LOCKED');
    assert.match(ipLocked[0].fix, /IP/);
    assert.match(ipLocked[0].fix, /Lock sessions|Session Settings|egress/i);
    assert.ok(ipLocked[0].evidence.some((l) => l.includes('worker-a')), JSON.stringify(ipLocked[0].evidence));
    assert.equal(ipLocked[0].connectionId, 'acme');
    assert.deepEqual(ofType(a.events, 'diagnosis'), []);
    assert.deepEqual(ofType(a.events, 'refresh'), []);
    for (const w of [a, b]) assert.deepEqual(ofType(w.events, 'refresh_failed'), []);

    const infoB = await b.sm.info('acme');
    assert.equal(infoB.ipLocked, true);
    assert.equal(infoB.status, 'active');
    assert.equal(infoB.mintedBy, 'worker-b');

    const report = await b.sm.diagnose('acme');
    assertDiagnosis(report, 'IP_LOCKED');
    assert.match(report.fix, /IP/);
    assert.equal(emu.tokenRequests().length, 1, 'the doctor needed no token request');

    // Phase 2: past the session timeout each worker refreshes its own token, once.
    const before = restRequests(emu).length;
    emu.advance(PAST_TIMEOUT);
    for (let round = 0; round < 5; round += 1) {
      for (const name of ['a', 'b']) {
        const res = await get(workers[name].sm);
        assert.equal(res.status, 200, `after the timeout: round ${round}, worker ${name}`);
      }
    }
    const phase2 = emu.tokenRequests().slice(1);
    assert.equal(phase2.length, 2, 'token requests grow by exactly the number of workers');
    assert.deepEqual(phase2.map((e) => e.remoteAddress).sort(), [a.address, b.address]);
    assert.ok(phase2.every((e) => e.status === 200));
    const after = restRequests(emu).slice(before);
    assert.equal(after.length, 10);
    for (const e of after) {
      assert.equal(e.status, 200);
      assert.equal(sourceOf(emu, e.token), e.remoteAddress);
    }
    for (const w of [a, b]) {
      const refreshes = ofType(w.events, 'refresh').filter((e) => e.at > Number(tokens.issued_at) + PAST_TIMEOUT - 1000);
      assert.equal(refreshes.length, 1, `${w.address}: one refresh after the timeout`);
      assert.equal(refreshes[0].perInstanceToken, true);
    }
    assert.equal((await a.sm.info('acme')).mintedBy, 'worker-a');
    assert.equal((await a.sm.info('acme')).ipLocked, true);
    assert.equal((await b.sm.info('acme')).mintedBy, 'worker-b');

    for (const w of [a, b]) assertEventShapes(w.events, emu);
    assertNoLeaks(emu, [['events of A', a.events], ['events of B', b.events], ['report', report]]);
  });

  test('the doctor on a worker that never called names IP_LOCKED: the peer\'s fresh token fails here, a token minted here works', async (t) => {
    const emu = await startEmu(t);
    emu.policy.ipLock = true;
    const store = new MemoryStore();
    const a = makeManager(emu, { instanceId: 'worker-a', store, fetch: fetchFrom(t, '127.0.0.2') });
    const b = makeManager(emu, { instanceId: 'worker-b', store, fetch: fetchFrom(t, '127.0.0.3') });
    const tokens = await emu.mintTokenResponse({ sourceAddress: '127.0.0.2' });
    await a.sm.connect('acme', tokens);

    const report = await b.sm.diagnose('acme');
    assertDiagnosis(report, 'IP_LOCKED');
    assert.match(report.fix, /IP/);
    assert.ok(report.evidence.some((l) => l.includes('worker-a')), JSON.stringify(report.evidence));
    const tokenRequests = emu.tokenRequests();
    assert.equal(tokenRequests.length, 1, 'one refresh, to show a token minted here works');
    assert.equal(tokenRequests[0].remoteAddress, '127.0.0.3');
    assertDiagnosis(diagnoses(b.events, 'IP_LOCKED')[0] ?? {}, 'IP_LOCKED');

    // Both workers keep working afterwards. A never called, so it holds nothing of the
    // connection in memory (its connect token is B's to replace in the store): its first call
    // gets a token of its own, once, and then no worker asks again.
    for (let round = 0; round < 3; round += 1) {
      assert.equal((await get(a.sm)).status, 200);
      assert.equal((await get(b.sm)).status, 200);
    }
    assert.deepEqual(emu.tokenRequests().map((r) => r.remoteAddress), ['127.0.0.3', '127.0.0.2']);
    for (const e of restRequests(emu).filter((r) => r.status === 200)) assert.equal(sourceOf(emu, e.token), e.remoteAddress);
    assertNoLeaks(emu, [['report', report], ['events of B', b.events]]);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('4. API Access Control', () => {
  test('a fresh token rejected for the REST API: API_CLIENT_CONTROL at once, with the admin fix, and no token requests', async (t) => {
    const emu = await startEmu(t);
    emu.policy.apiAccessControl = true;
    const { sm, events } = makeManager(emu, { instanceId: 'worker-a' });
    await connectNew(sm, emu);

    const err = await expectSessionError(sm.fetch('acme', LIMITS), 'API_CLIENT_CONTROL');
    assertExplained(err);
    assert.equal(err.status, 401);
    assert.equal(err.retryable, false);
    assert.equal(err.reauthRequired, false);
    assert.equal(err.orgId, emu.orgId);
    assert.ok(err.evidence.some((l) => l.includes('This session is not valid for use with the REST API')), JSON.stringify(err.evidence));
    assert.match(err.fix, /admin/i);
    assert.match(err.fix, /install/i);
    assert.match(err.fix, /connected app/i);
    assert.equal(emu.tokenRequests().length, 0, 'refreshing does not help: no token request');

    const err2 = await expectSessionError(sm.fetch('acme', LIMITS), 'API_CLIENT_CONTROL');
    assertExplained(err2);
    assert.equal(emu.tokenRequests().length, 0, 'a second call makes no token request either');

    const event = diagnoses(events, 'API_CLIENT_CONTROL')[0];
    assertDiagnosis(event ?? {}, 'API_CLIENT_CONTROL');
    assert.match(event.fix, /admin/i);

    const report = await sm.diagnose('acme');
    assertDiagnosis(report, 'API_CLIENT_CONTROL');
    assert.match(report.fix, /admin/i);
    assert.ok(report.evidence.some((l) => l.includes('not valid for use with the REST API')), JSON.stringify(report.evidence));
    assert.ok(emu.tokenRequests().length <= 1, 'the doctor refreshes at most once to show a new token fails too');
    assert.equal((await sm.info('acme')).status, 'active', 'not a revocation');
    assertEventShapes(events, emu);
    assertNoLeaks(emu, [['events', events], ['error', err], ['error2', err2], ['report', report]]);
  });

  test('an older token rejected for the REST API: one refresh proves a new token fails too, then no more token requests', async (t) => {
    const emu = await startEmu(t);
    const { sm, events } = makeManager(emu, { instanceId: 'worker-a' });
    await connectNew(sm, emu);
    emu.advance(HOUR); // old enough that expiry cannot be ruled out, still within the timeout
    emu.policy.apiAccessControl = true;

    const err = await expectSessionError(sm.fetch('acme', LIMITS), 'API_CLIENT_CONTROL');
    assertExplained(err);
    assert.match(err.fix, /admin/i);
    assert.ok(err.evidence.some((l) => /new token/i.test(l)), JSON.stringify(err.evidence));
    const tokenRequests = emu.tokenRequests();
    assert.equal(tokenRequests.length, 1);
    assert.equal(tokenRequests[0].status, 200, 'OAuth itself works');
    assert.deepEqual(restRequests(emu).map((e) => e.status), [401, 401], 'sent once, retried once with the new token');

    await expectSessionError(sm.fetch('acme', LIMITS), 'API_CLIENT_CONTROL');
    assert.equal(emu.tokenRequests().length, 1, 'no refresh loop');
    assert.equal(diagnoses(events, 'API_CLIENT_CONTROL').length >= 1, true);
    assertEventShapes(events, emu);
  });
});

// ---------------------------------------------------------------------------------------------------

const REVOCATIONS = [
  { action: 'changePassword', description: 'authentication failure', subReason: /password/i },
  { action: 'deactivateUser', description: 'inactive user', subReason: /user was deactivated/i },
  { action: 'deactivateOrg', description: 'inactive organization', subReason: /org is inactive/i },
  { action: 'revokeAppAccess', description: 'expired access/refresh token', subReason: /revoked/i },
];

describe('5. session revoked', () => {
  for (const { action, description, subReason } of REVOCATIONS) {
    test(`${action}: SESSION_REVOKED quoting "${description}", reauth_required everywhere, one signed webhook`, async (t) => {
      const emu = await startEmu(t);
      const hook = await startWebhookReceiver(t);
      const secret = `whsec_${randomBytes(24).toString('hex')}`;
      const store = new MemoryStore();
      const a = makeManager(emu, { instanceId: 'worker-a', store, webhook: { url: `${hook.url}/salesforce/reauth`, secret } });
      const b = makeManager(emu, { instanceId: 'worker-b', store });
      const { tokens } = await connectNew(a.sm, emu);
      assert.equal((await get(a.sm)).status, 200);

      emu[action]();
      const err = await expectSessionError(a.sm.fetch('acme', LIMITS), 'SESSION_REVOKED');
      assertExplained(err);
      assert.equal(err.reauthRequired, true);
      assert.equal(err.retryable, false);
      assert.ok([null, 400, 401].includes(err.status), `status ${err.status}`);
      assert.equal(err.connectionId, 'acme');
      assert.equal(err.orgId, emu.orgId);
      assert.ok(err.evidence.some((l) => l.includes(`"${description}"`)), `error_description quoted verbatim: ${JSON.stringify(err.evidence)}`);
      assert.ok(err.evidence.some((l) => subReason.test(l)), `sub-reason named: ${JSON.stringify(err.evidence)}`);

      const tokenRequests = emu.tokenRequests();
      assert.equal(tokenRequests.length, 1, 'one refresh attempt; invalid_grant is not retried');
      assert.deepEqual([tokenRequests[0].status, tokenRequests[0].errorCode], [400, 'invalid_grant']);
      assert.equal(tokenRequests[0].refreshToken, tokens.refresh_token);

      const info = await a.sm.info('acme');
      assert.equal(info.status, 'reauth_required');
      assert.match(info.reauthReason ?? '', subReason);
      const reauth = ofType(a.events, 'reauth_required');
      assert.equal(reauth.length, 1);
      assert.equal(reauth[0].description, description);
      assert.match(reauth[0].reason, subReason);
      assert.equal(reauth[0].stored, true);
      assert.deepEqual(ofType(a.events, 'refresh_failed').map((e) => e.code), ['SESSION_REVOKED']);

      // The webhook: one POST, signed with HMAC-SHA256 over the raw body.
      assert.equal(hook.requests.length, 1);
      const [call] = hook.requests;
      assert.equal(call.method, 'POST');
      assert.equal(call.url, '/salesforce/reauth');
      const expected = `sha256=${createHmac('sha256', secret).update(call.raw).digest('hex')}`;
      assert.equal(call.headers['x-salesforce-session-signature'], expected);
      const body = JSON.parse(call.raw.toString('utf8'));
      assert.equal(body.connectionId, 'acme');
      assert.equal(body.orgId, emu.orgId);
      assert.equal(body.userId, emu.defaultUserId);
      assert.match(body.reason, subReason);
      assert.equal(body.description, description);

      // Again on A: fails fast, nothing sent, no second webhook.
      const logBefore = emu.log.length;
      const again = await expectSessionError(a.sm.fetch('acme', LIMITS), 'SESSION_REVOKED');
      assert.equal(again.reauthRequired, true);
      assert.equal(emu.log.length, logBefore, 'nothing was sent');
      assert.equal(hook.requests.length, 1);

      // Another worker sharing the store: SESSION_REVOKED without a single request.
      const errB = await expectSessionError(b.sm.fetch('acme', LIMITS), 'SESSION_REVOKED');
      assertExplained(errB);
      assert.equal(errB.reauthRequired, true);
      assert.ok(errB.evidence.some((l) => l.includes(`"${description}"`)), JSON.stringify(errB.evidence));
      assert.equal(emu.tokenRequests().length, 1, 'zero token requests from the second worker');
      assert.equal(emu.log.length, logBefore, 'the second worker sent nothing at all');
      assert.equal((await b.sm.info('acme')).status, 'reauth_required');
      const report = await b.sm.diagnose('acme');
      assertDiagnosis(report, 'SESSION_REVOKED');
      assert.equal(emu.tokenRequests().length, 1);

      assertEventShapes(a.events, emu);
      const labelled = [['events of A', a.events], ['events of B', b.events], ['error', err], ['again', again], ['error of B', errB], ['report', report], ['webhook body', call.raw.toString('utf8')]];
      assertNoLeaks(emu, labelled, [secret, tokens.refresh_token]);
    });
  }

  test('"token request is already being processed" is a transient wait, not a revocation', async (t) => {
    const emu = await startEmu(t);
    emu.policy.concurrentRefreshError = true;
    emu.policy.tokenDelayMs = 100; // keeps the first refresh in flight while the second arrives
    const store = new MemoryStore();
    const a = makeManager(emu, { instanceId: 'worker-a', store });
    const b = makeManager(emu, { instanceId: 'worker-b', store });
    await connectNew(a.sm, emu);
    assert.equal((await get(b.sm)).status, 200);

    emu.advance(PAST_TIMEOUT);
    const [ra, rb] = await Promise.all([get(a.sm), get(b.sm)]);
    assert.equal(ra.status, 200);
    assert.equal(rb.status, 200);

    const tokenRequests = emu.tokenRequests();
    const busy = tokenRequests.filter((e) => e.errorCode === 'invalid_grant');
    assert.equal(busy.length, 1, `the scenario happened: ${JSON.stringify(tokenRequests.map((e) => [e.status, e.errorCode]))}`);
    assert.equal(busy[0].status, 400);
    assert.ok(tokenRequests.length <= 3, `bounded: ${tokenRequests.length}`);
    for (const w of [a, b]) {
      assert.deepEqual(ofType(w.events, 'reauth_required'), []);
      assert.equal((await w.sm.info('acme')).status, 'active');
      assert.equal((await get(w.sm)).status, 200);
    }
    assert.equal(emu.tokenRequests().length, tokenRequests.length, 'no further refresh');
  });
});

// ---------------------------------------------------------------------------------------------------

describe('6. read-only org (maintenance)', () => {
  test('the first write throws ORG_READ_ONLY, later writes are held without sending, reads go on; a probe resumes writes', async (t) => {
    const emu = await startEmu(t);
    const { sm, events } = makeManager(emu, { instanceId: 'worker-a' });
    await connectNew(sm, emu);
    emu.policy.readOnly = true;

    const first = await expectSessionError(post(sm), 'ORG_READ_ONLY');
    assertExplained(first);
    assert.equal(first.status, 400);
    assert.equal(first.retryable, true);
    assert.equal(first.reauthRequired, false);
    assert.ok(first.evidence.some((l) => l.includes('INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE')), JSON.stringify(first.evidence));
    assert.deepEqual(restRequests(emu).map((e) => [e.method, e.status]), [['POST', 400]]);
    const readOnly = ofType(events, 'org_read_only');
    assert.equal(readOnly.length, 1);
    // The first backoff is 30 s (the clock ticks between the refusal and the event: allow a few ms).
    assert.ok(Math.abs(readOnly[0].nextProbeAt - (readOnly[0].at + 30_000)) <= 100, JSON.stringify(readOnly[0]));
    assert.equal((await sm.info('acme')).status, 'read_only');

    const logBefore = emu.log.length;
    const held = await expectSessionError(post(sm), 'ORG_READ_ONLY');
    assertExplained(held);
    assert.equal(held.retryable, true);
    assert.ok(held.evidence.some((l) => /nothing was sent/i.test(l)), JSON.stringify(held.evidence));
    await expectSessionError(sm.fetch('acme', `${ACCOUNTS}/001000000000001AAA`, { method: 'DELETE' }), 'ORG_READ_ONLY');
    assert.equal(emu.log.length, logBefore, 'held writes never reach Salesforce');

    assert.equal((await get(sm)).status, 200, 'reads continue');
    assert.equal(emu.tokenRequests().length, 0, 'read-only is not a session problem');

    // Maintenance ends, but writes stay held until the backoff has passed.
    emu.policy.readOnly = false;
    await expectSessionError(post(sm), 'ORG_READ_ONLY');
    assert.equal(emu.records('Account').length, 0);

    emu.advance(30_001);
    const probe = await post(sm, { Name: 'After maintenance' });
    assert.equal(probe.status, 201);
    assert.deepEqual(emu.records('Account').map((r) => r.Name), ['After maintenance']);
    const writable = ofType(events, 'org_writable');
    assert.equal(writable.length, 1);
    assert.ok(writable[0].readOnlyForMs >= 30_000);
    assert.equal((await sm.info('acme')).status, 'active');
    assert.equal((await post(sm, { Name: 'Next' })).status, 201, 'writes flow again');
    assertEventShapes(events, emu);
  });

  test('a probe that meets maintenance again doubles the backoff', async (t) => {
    const emu = await startEmu(t);
    const { sm, events } = makeManager(emu, { instanceId: 'worker-a' });
    await connectNew(sm, emu);
    emu.policy.readOnly = true;
    await expectSessionError(post(sm), 'ORG_READ_ONLY');

    emu.advance(30_001);
    const sent = restRequests(emu).length;
    const probe = await expectSessionError(post(sm), 'ORG_READ_ONLY');
    assert.equal(probe.status, 400, 'the probe was sent and refused');
    assert.equal(restRequests(emu).length, sent + 1);

    emu.advance(30_001); // less than the doubled backoff (60 s)
    await expectSessionError(post(sm), 'ORG_READ_ONLY');
    assert.equal(restRequests(emu).length, sent + 1, 'held: the backoff doubled');

    emu.policy.readOnly = false;
    emu.advance(30_000);
    assert.equal((await post(sm)).status, 201);
    assert.equal(ofType(events, 'org_read_only').length, 1, 'one event per read-only period');
    assert.equal(ofType(events, 'org_writable').length, 1);
  });

  test('maintenance that also flips sessions to INVALID_SESSION_ID is ORG_READ_ONLY, not API_CLIENT_CONTROL', async (t) => {
    const emu = await startEmu(t);
    const { sm, events } = makeManager(emu, { instanceId: 'worker-a' });
    await connectNew(sm, emu);
    assert.equal((await get(sm)).status, 200);
    emu.policy.readOnly = true;
    await expectSessionError(post(sm), 'ORG_READ_ONLY');
    emu.policy.readOnlyInvalidatesSessions = true;

    const err = await expectSessionError(sm.fetch('acme', LIMITS), 'ORG_READ_ONLY');
    assertExplained(err);
    assert.equal(err.status, 401);
    assert.equal(err.reauthRequired, false);
    assert.ok(err.evidence.some((l) => /maintenance|INSERT_UPDATE_DELETE/i.test(l)), JSON.stringify(err.evidence));
    assert.equal(emu.tokenRequests().length, 1, 'one refresh, one retry, then the verdict');
    assert.deepEqual(diagnoses(events, 'API_CLIENT_CONTROL'), []);

    const report = await sm.diagnose('acme');
    assertDiagnosis(report, 'ORG_READ_ONLY');

    // Maintenance over: reads work again at once (nothing was suspended).
    emu.policy.readOnly = false;
    emu.policy.readOnlyInvalidatesSessions = false;
    assert.equal((await get(sm)).status, 200);
    assertEventShapes(events, emu);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('other failures', () => {
  test('token endpoint down: REFRESH_FAILED after bounded retries, retryable, the credential kept', async (t) => {
    const emu = await startEmu(t);
    const { sm, events } = makeManager(emu, { instanceId: 'worker-a', refreshAttempts: 3, refreshBackoffMs: 1 });
    const { tokens } = await connectNew(sm, emu);
    emu.policy.tokenEndpointDown = true;
    emu.expireSession(tokens.access_token);

    const err = await expectSessionError(sm.fetch('acme', LIMITS), 'REFRESH_FAILED');
    assertExplained(err);
    assert.equal(err.retryable, true);
    assert.equal(err.reauthRequired, false);
    assert.ok([null, 401, 503].includes(err.status), `status ${err.status}`);
    assert.ok(err.evidence.some((l) => l.includes('503')), JSON.stringify(err.evidence));
    assert.deepEqual(emu.tokenRequests().map((e) => e.status), [503, 503, 503], 'exactly refreshAttempts token requests');
    assert.deepEqual(ofType(events, 'reauth_required'), [], 'an outage is not a revocation');
    assert.deepEqual(ofType(events, 'refresh_failed').map((e) => e.code), ['REFRESH_FAILED']);
    assert.equal((await sm.info('acme')).status, 'active');

    // The stored refresh token survived: once the endpoint is back (and the few seconds of
    // cooldown the failure shared with the fleet are over), one refresh and the call works.
    emu.policy.tokenEndpointDown = false;
    emu.advance(5_000);
    assert.equal((await get(sm)).status, 200);
    assert.equal(emu.tokenRequests().length, 4);
    assert.equal(emu.tokenRequests()[3].refreshToken, tokens.refresh_token);
    assertEventShapes(events, emu);
  });

  test('a token endpoint that recovers within the retries: the call succeeds', async (t) => {
    const emu = await startEmu(t);
    const { sm, events } = makeManager(emu, { instanceId: 'worker-a', refreshAttempts: 3, refreshBackoffMs: 1 });
    const { tokens } = await connectNew(sm, emu);
    emu.policy.tokenEndpointDown = 2;
    emu.expireSession(tokens.access_token);
    assert.equal((await get(sm)).status, 200);
    assert.deepEqual(emu.tokenRequests().map((e) => e.status), [503, 503, 200]);
    assert.deepEqual(ofType(events, 'refresh').map((e) => e.attempt), [3]);
  });

  test('REQUEST_LIMIT_EXCEEDED: RATE_LIMITED with status 403, no refresh', async (t) => {
    const emu = await startEmu(t);
    const { sm, events } = makeManager(emu, { instanceId: 'worker-a' });
    await connectNew(sm, emu);
    emu.policy.requestLimitExceeded = true;
    const err = await expectSessionError(sm.fetch('acme', LIMITS), 'RATE_LIMITED');
    assertExplained(err);
    assert.equal(err.status, 403);
    assert.equal(err.retryable, true);
    assert.equal(err.reauthRequired, false);
    assert.ok(err.evidence.some((l) => l.includes('TotalRequests Limit exceeded.')), JSON.stringify(err.evidence));
    assert.equal(emu.tokenRequests().length, 0);
    assert.equal(restRequests(emu).length, 1, 'no retry');
    assertDiagnosis(await sm.diagnose('acme'), 'RATE_LIMITED');
    assertEventShapes(events, emu);
  });

  test('API_DISABLED_FOR_ORG: API_DISABLED with status 403, no refresh', async (t) => {
    const emu = await startEmu(t);
    const { sm, events } = makeManager(emu, { instanceId: 'worker-a' });
    await connectNew(sm, emu);
    emu.policy.apiDisabled = true;
    const err = await expectSessionError(sm.fetch('acme', LIMITS), 'API_DISABLED');
    assertExplained(err);
    assert.equal(err.status, 403);
    assert.equal(err.retryable, false);
    assert.equal(err.reauthRequired, false);
    assert.ok(err.evidence.some((l) => l.includes('The REST API is not enabled for this Organization.')), JSON.stringify(err.evidence));
    assert.match(err.fix, /API/);
    assert.equal(emu.tokenRequests().length, 0);
    assert.equal(restRequests(emu).length, 1, 'no retry');
    assertDiagnosis(await sm.diagnose('acme'), 'API_DISABLED');
    assertEventShapes(events, emu);
  });

  test('many connections of one org rejected at once: one invalid_session_spike event naming the likely causes', async (t) => {
    const emu = await startEmu(t);
    const { sm, events } = makeManager(emu, { instanceId: 'worker-a', spike: { windowSeconds: 60, threshold: 3 } });
    const ids = ['u1', 'u2', 'u3', 'u4'];
    for (const id of ids) {
      const { userId } = emu.createUser();
      await connectNew(sm, emu, id, { userId });
    }
    emu.policy.apiAccessControl = true;

    for (const id of ids.slice(0, 2)) await expectSessionError(sm.fetch(id, LIMITS), 'API_CLIENT_CONTROL');
    assert.deepEqual(ofType(events, 'invalid_session_spike'), [], 'below the threshold');
    for (const id of ids.slice(2)) await expectSessionError(sm.fetch(id, LIMITS), 'API_CLIENT_CONTROL');

    const spikes = ofType(events, 'invalid_session_spike');
    assert.equal(spikes.length, 1, 'one alert per window');
    const [spike] = spikes;
    assert.equal(spike.orgId, emu.orgId);
    assert.equal(spike.connectionId, 'u3');
    assert.equal(spike.count, 3);
    assert.equal(spike.windowSeconds, 60);
    assert.equal(spike.threshold, 3);
    for (const cause of ['API_CLIENT_CONTROL', 'SESSION_REVOKED', 'ORG_READ_ONLY']) {
      assert.ok(spike.likelyCauses.includes(cause), `${cause} in ${JSON.stringify(spike.likelyCauses)}`);
    }
    assertEventShapes(events, emu);
  });
});
