// Abort and time: a caller's AbortSignal ends its own call while a shared refresh goes on for the
// others; an already-aborted call sends nothing (no token request, no introspection); a token
// endpoint that never answers ends in a retryable REFRESH_FAILED after tokenTimeoutMs, not a
// call pending forever. Durations are printed, not asserted.
// Run from the scratch consumer: node --test tests/node/hostile-abort-and-time.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { SalesforceSessionError } from 'salesforce-session';
import { API, startEmu, makeManager, connectNew } from './helpers.mjs';
import { settleWithin } from './hostile-random.mjs';

const LIMITS = `${API}/limits`;
const CLIENT_SECRET = 'client-secret-for-introspection-01';
const BOUND_MS = 10_000;

/** Resolves once the emulator has received `count` token requests (polled on the event loop, bounded). */
async function tokenRequestArrived(emu, count = 1) {
  const started = Date.now();
  while (emu.tokenRequests().length < count) {
    assert.ok(Date.now() - started < BOUND_MS, 'the token request never arrived');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

for (const [reason, role] of [['default', 'started'], ['custom', 'started'], ['custom', 'waits for']]) {
  test(`a call that ${role} a refresh, aborted (${reason} reason) while it runs, rejects with the signal's reason; the refresh goes on for the others`, async (t) => {
    const emu = await startEmu(t);
    const { sm } = makeManager(emu);
    await connectNew(sm, emu);
    emu.policy.tokenDelayMs = 1500;
    emu.expireAllSessions();
    const controller = new AbortController();
    const started = performance.now();
    const others = [];
    if (role === 'waits for') others.push(settleWithin(sm.fetch('acme', LIMITS), BOUND_MS));
    const aborted = settleWithin(sm.fetch('acme', LIMITS, { signal: controller.signal }), BOUND_MS);
    others.push(...[1, 2, 3].map(() => settleWithin(sm.fetch('acme', LIMITS), BOUND_MS)));
    await tokenRequestArrived(emu);
    const given = reason === 'custom' ? new Error('the caller gave up') : undefined;
    controller.abort(given);
    const outcome = await aborted;
    const refreshStillRunning = emu.tokenRequests()[0].status === null;
    console.log(`aborted call settled ${Math.round(performance.now() - started)} ms after it started; refresh still running: ${refreshStillRunning}`);
    assert.ok(!outcome.pending && !outcome.ok, `the aborted call: ${inspect(outcome)}`);
    assert.equal(outcome.error, controller.signal.reason, `rejected with the signal's reason, got ${inspect(outcome.error)}`);
    assert.equal(refreshStillRunning, true, 'the aborted call settled before the shared refresh did');
    for (const other of await Promise.all(others)) {
      assert.ok(other.ok, `another call failed: ${inspect(other.error ?? 'pending')}`);
      assert.equal(other.value.status, 200);
    }
    assert.equal(emu.tokenRequests().length, 1, 'one token request for all of them');
  });
}

test('an already-aborted call sends nothing: no token request, no introspection, no API call', async (t) => {
  const emu = await startEmu(t, { clientSecret: CLIENT_SECRET });
  const { sm, spy } = makeManager(emu, { clientSecret: CLIENT_SECRET });
  await connectNew(sm, emu);
  for (const state of ['live', 'expired']) {
    if (state === 'expired') emu.expireAllSessions();
    emu.clearLog();
    const before = spy.calls.length;
    for (const input of [LIMITS, new URL(`${emu.instanceUrl}${LIMITS}`), new Request(`${emu.instanceUrl}${LIMITS}`, { signal: AbortSignal.abort() })]) {
      const signal = AbortSignal.abort(new Error(`stop (${state})`));
      const outcome = await settleWithin(sm.fetch('acme', input, input instanceof Request ? undefined : { signal }), BOUND_MS);
      assert.ok(!outcome.pending && !outcome.ok, `${state}, ${inspect(input).slice(0, 40)}: ${inspect(outcome)}`);
      if (!(input instanceof Request)) assert.equal(outcome.error, signal.reason);
    }
    assert.deepEqual(emu.log.map((e) => `${e.host} ${e.path}`), [], `${state}: the emulator was called`);
    // fetch may be handed the aborted signal (it then sends nothing); no token request or introspection is started.
    const started = spy.calls.slice(before).map((c) => new URL(c.url).pathname).filter((p) => p.startsWith('/services/oauth2/'));
    assert.deepEqual(started, [], `${state}: the library started OAuth requests`);
  }
  // Without a signal it works (the refresh happens now).
  assert.equal((await sm.fetch('acme', LIMITS)).status, 200);
});

test('a token endpoint that never answers: REFRESH_FAILED (retryable) after tokenTimeoutMs 300, not pending forever; then it recovers', async (t) => {
  const emu = await startEmu(t);
  const { sm } = makeManager(emu, { tokenTimeoutMs: 300, refreshAttempts: 2, refreshBackoffMs: 1 });
  await connectNew(sm, emu);
  emu.policy.tokenHang = true;
  emu.expireAllSessions();
  const calls = await Promise.all([settleWithin(sm.fetch('acme', LIMITS), BOUND_MS), settleWithin(sm.refresh('acme'), BOUND_MS)]);
  for (const [label, outcome] of [['fetch', calls[0]], ['refresh', calls[1]]]) {
    console.log(`${label} with a hung token endpoint settled in ${Math.round(outcome.ms)} ms`);
    assert.ok(!outcome.pending, `${label}: still pending after ${BOUND_MS} ms`);
    assert.ok(outcome.error instanceof SalesforceSessionError, `${label}: ${inspect(outcome.error ?? outcome.value)}`);
    assert.equal(outcome.error.code, 'REFRESH_FAILED', `${label}: ${outcome.error.message}`);
    assert.equal(outcome.error.retryable, true, `${label}: retryable`);
  }
  emu.policy.tokenHang = false;
  // Past the few seconds of cooldown a failed token request leaves in the record for the fleet.
  emu.advance(5_000);
  const recovered = await settleWithin(sm.fetch('acme', LIMITS), BOUND_MS);
  assert.ok(recovered.ok && recovered.value.status === 200, `after the endpoint answers again: ${inspect(recovered.error ?? recovered.value?.status)}`);
});
