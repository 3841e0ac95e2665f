// Option tokenTimeoutMs: a token request the token host never answers is given up after that bound
// and counts as a transient failure (retried, then REFRESH_FAILED), and the stored credential survives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmu, makeManager, connectNew, expectSessionError, collectSecrets, renderings, API } from './helpers.mjs';

// Far below the 30 s default, so a hung request is given up within the test's own timeout.
const TOKEN_TIMEOUT_MS = 300;

test('a token request that is never answered is abandoned after tokenTimeoutMs and the next attempt refreshes', { timeout: 30_000 }, async (t) => {
  const emu = await startEmu(t);
  const { sm } = makeManager(emu, { tokenTimeoutMs: TOKEN_TIMEOUT_MS, refreshBackoffMs: 10 });
  await connectNew(sm, emu);
  emu.policy.tokenHang = 1;
  const info = await sm.refresh('acme');
  assert.equal(info.status, 'active');
  const requests = emu.tokenRequests({ grantType: 'refresh_token' });
  assert.deepEqual(requests.map((r) => r.status), [null, 200], 'the hung request, then one answered');
  assert.equal((await sm.fetch('acme', `${API}/limits`)).status, 200);
});

test('every token request hung: REFRESH_FAILED after refreshAttempts, the stored session still serves calls', { timeout: 30_000 }, async (t) => {
  const emu = await startEmu(t);
  const { sm, events } = makeManager(emu, { tokenTimeoutMs: TOKEN_TIMEOUT_MS, refreshAttempts: 2, refreshBackoffMs: 10 });
  const { tokens } = await connectNew(sm, emu);
  emu.policy.tokenHang = true;
  const err = await expectSessionError(sm.refresh('acme'), 'REFRESH_FAILED');
  assert.equal(err.retryable, true);
  assert.equal(err.reauthRequired, false);
  assert.equal(emu.tokenRequests({ grantType: 'refresh_token' }).length, 2, 'refreshAttempts token requests, no more');
  assert.ok(events.some((e) => e.type === 'refresh_failed' && e.code === 'REFRESH_FAILED'), JSON.stringify(events.map((e) => e.type)));
  // A failed refresh overwrites nothing: the session it had still works.
  emu.policy.tokenHang = false;
  // Past the few seconds of cooldown a failed token request leaves in the record for the fleet.
  emu.advance(5_000);
  const res = await sm.fetch('acme', `${API}/limits`);
  assert.equal(res.status, 200);
  assert.equal((await sm.info('acme')).status, 'active');
  for (const secret of collectSecrets(emu, [tokens.refresh_token])) {
    for (const text of [...renderings(err), ...events.map((e) => JSON.stringify(e))]) assert.ok(!text.includes(secret), 'no secret in the error or events');
  }
});

/** Resolves once `condition()` holds, checking every few ms; rejects after `limitMs`. */
async function until(condition, what, limitMs = 10_000) {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test("a caller's AbortSignal ends its own call, never the refresh another call shares", { timeout: 30_000 }, async (t) => {
  const emu = await startEmu(t);
  const { sm } = makeManager(emu, { tokenTimeoutMs: 10_000 });
  await connectNew(sm, emu);
  emu.advance(3 * 3600 * 1000); // the session is past its timeout on both sides: the next call refreshes first
  emu.policy.tokenDelayMs = 400; // the refresh is still in flight when the caller gives up
  const controller = new AbortController();
  const abandoned = sm.fetch('acme', `${API}/limits`, { signal: controller.signal });
  const waiting = sm.fetch('acme', `${API}/limits`);
  await until(() => emu.tokenRequests({ grantType: 'refresh_token' }).length === 1, 'the refresh to reach the token host');
  controller.abort();
  await assert.rejects(abandoned, (err) => err?.name === 'AbortError', 'the aborted call rejects with an AbortError');
  assert.equal((await waiting).status, 200);
  assert.deepEqual(emu.tokenRequests({ grantType: 'refresh_token' }).map((r) => r.status), [200], 'one refresh, answered, not aborted');
});
