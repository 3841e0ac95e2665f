// The controls of SALESFORCE.md §7 as the library meets them end to end: Salesforce Edge's 420
// page, high-assurance sessions, and a refresh token that died of idleness (the IP allowlist has
// its own file, refresh-ip.test.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from 'salesforce-session';
import { API, startEmu, makeManager, connectNew, expectSessionError } from './helpers.mjs';

const LIMITS = `${API}/limits`;
const DAY_MS = 86_400_000;

test('the Edge 420 page at the token endpoint: two retries, then SALESFORCE_UNAVAILABLE; the stored credential kept', async (t) => {
  const emu = await startEmu(t);
  const { sm, store, events } = makeManager(emu, { refreshBackoffMs: 10 });
  await connectNew(sm, emu);
  const before = store.snapshot();
  emu.expireAllSessions();
  emu.policy.edge420 = 'login';
  const err = await expectSessionError(sm.fetch('acme', LIMITS), 'SALESFORCE_UNAVAILABLE');
  assert.equal(err.retryable, true);
  assert.equal(err.reauthRequired, false);
  assert.ok(err.evidence.some((l) => l.includes('420')), JSON.stringify(err.evidence));
  assert.match(err.fix, /status\.salesforce\.com/);
  const attempts = emu.tokenRequests();
  assert.equal(attempts.length, 3, 'the first try and two retries, no more');
  assert.ok(attempts.every((e) => e.status === 420));
  assert.deepEqual(store.snapshot(), before, 'nothing stored was changed');
  assert.ok(!events.some((e) => e.type === 'reauth_required'));
  assert.equal((await sm.info('acme')).status, 'active');

  // Edge answers again: the same refresh token renews the session.
  emu.policy.edge420 = false;
  const res = await sm.fetch('acme', LIMITS);
  assert.equal(res.status, 200);
});

test('the Edge 420 page on an API call reaches the caller as it is: no token request, no mark', async (t) => {
  const emu = await startEmu(t);
  const { sm } = makeManager(emu);
  await connectNew(sm, emu);
  emu.policy.edge420 = 'instance';
  emu.policy.edge420Requests = 1;
  const res = await sm.fetch('acme', LIMITS);
  assert.equal(res.status, 420);
  assert.match(await res.text(), /Salesforce Edge/);
  assert.deepEqual(emu.tokenRequests(), []);
  assert.equal((await sm.info('acme')).status, 'active');
  assert.equal((await sm.fetch('acme', LIMITS)).status, 200, 'the next call goes through');
});

test('high-assurance sessions required: a standard session is API_CLIENT_CONTROL with high assurance named next to API Access Control', async (t) => {
  const emu = await startEmu(t);
  const { sm } = makeManager(emu, { refreshBackoffMs: 10 });
  emu.policy.highAssurance = true;
  await connectNew(sm, emu);
  const err = await expectSessionError(sm.fetch('acme', LIMITS), 'API_CLIENT_CONTROL');
  assert.ok(err.evidence.some((l) => /not valid for use with the REST API/i.test(l)), JSON.stringify(err.evidence));
  assert.match(err.fix, /API Access Control/);
  assert.match(err.fix, /High Assurance/);
  assert.equal(err.reauthRequired, false, 'consent is intact: nothing to re-authorize unless the login level changes');

  // A session from a high-assurance login works under the same policy.
  const { sm: second } = makeManager(emu);
  await connectNew(second, emu, 'strong', { highAssurance: true });
  assert.equal((await second.fetch('strong', LIMITS)).status, 200);
});

test('a refresh token unused for 31 days: SESSION_REVOKED whose evidence names the idle expiry, not a revocation', async (t) => {
  const emu = await startEmu(t);
  const { sm } = makeManager(emu);
  await connectNew(sm, emu);
  emu.advance(31 * DAY_MS);
  const err = await expectSessionError(sm.fetch('acme', LIMITS), 'SESSION_REVOKED');
  assert.ok(err.evidence.some((l) => /last used 31 days ago: the 30-day idle expiry is likelier/.test(l)), JSON.stringify(err.evidence));
  assert.deepEqual(emu.familyEnds().map((f) => f.cause), ['idle']);
  assert.equal((await sm.info('acme')).status, 'reauth_required');
});

test('a refresh token revoked a day after its last use: the evidence says a revocation is likelier than idleness', async (t) => {
  const emu = await startEmu(t);
  const { sm } = makeManager(emu);
  await connectNew(sm, emu);
  emu.advance(DAY_MS);
  emu.revokeAppAccess();
  const err = await expectSessionError(sm.fetch('acme', LIMITS), 'SESSION_REVOKED');
  assert.ok(err.evidence.some((l) => /last used 1 days ago, too recently for the 30-day idle expiry: a revocation is likelier/.test(l)), JSON.stringify(err.evidence));
  assert.ok(!err.evidence.some((l) => /idle expiry is likelier/.test(l)));
});

test('keepAlive refreshes a connection idle for 25 days, so the refresh token outlives the 30-day idle expiry', async (t) => {
  const emu = await startEmu(t);
  const { sm } = makeManager(emu, { store: new MemoryStore() });
  await connectNew(sm, emu);
  emu.advance(25 * DAY_MS);
  const report = await sm.keepAlive();
  assert.deepEqual(report.refreshed, ['acme']);
  emu.advance(25 * DAY_MS);
  assert.equal((await sm.fetch('acme', LIMITS)).status, 200, '50 days after connect, 25 after the keep-alive');
  assert.deepEqual(emu.familyEnds(), []);
});
