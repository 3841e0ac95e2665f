// Refresh under concurrency in workerd: requests that wait on a refresh another request started
// are never stranded or cancelled, even when that request loses its client (MISSION.md §3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LIMITS, startEmu, startWorkers, pollUntil } from './harness.mjs';

const CONCURRENT = 50;
const WAITERS = 10;
const TOKEN_DELAY_MS = 1500;

async function connected(t, store = 'kv') {
  const emu = await startEmu(t);
  const workers = await startWorkers(t, emu);
  const connect = await workers.connect(store, 'acme', await emu.mintTokenResponse());
  assert.equal(connect.status, 200, JSON.stringify(connect.body));
  return { emu, workers };
}

/** Tallies worker answers: successes (the Salesforce call answered 200) and the distinct failures. */
function tally(answers) {
  const failures = new Map();
  let succeeded = 0;
  for (const answer of answers) {
    if (answer.ok) {
      succeeded += 1;
      continue;
    }
    const what = answer.error ?? `HTTP ${answer.status}: ${JSON.stringify(answer.body).slice(0, 200)}`;
    failures.set(what, (failures.get(what) ?? 0) + 1);
  }
  return { succeeded, failed: answers.length - succeeded, failures: [...failures].map(([what, n]) => `${n}× ${what}`) };
}

const settle = (promise) => promise.then(
  (answer) => ({ ok: answer.status === 200 && answer.body.status === 200, ...answer }),
  (err) => ({ ok: false, error: `${err?.name}: ${err?.message}` }),
);

for (const [store, label, expire] of [
  ['kv', 'killed at the server', (emu) => emu.expireAllSessions()],
  ['kv', 'past its expiry by the clock', async (emu, workers) => {
    emu.advance((7200 + 60) * 1000);
    await workers.setClock(emu.now());
  }],
  ['do', 'killed at the server', (emu) => emu.expireAllSessions()],
]) {
  test(`${CONCURRENT} concurrent requests (${store} store) on a session ${label}: all succeed, 1 token request`, async (t) => {
    const { emu, workers } = await connected(t, store);
    emu.advance(1000);
    await expire(emu, workers);
    emu.clearLog();

    const answers = await Promise.all(Array.from({ length: CONCURRENT }, () => settle(workers.call(store, 'acme', LIMITS))));
    const { succeeded, failed, failures } = tally(answers);
    const tokenRequests = emu.tokenRequests().length;
    t.diagnostic(`${CONCURRENT} requests: ${succeeded} succeeded, ${failed} failed, ${tokenRequests} token request(s)`);
    for (const failure of failures) t.diagnostic(`failure: ${failure}`);
    assert.equal(succeeded, CONCURRENT, failures.join('\n'));
    assert.equal(tokenRequests, 1);
  });
}

test('the request that started a refresh loses its client mid-refresh: every waiter still succeeds', async (t) => {
  const { emu, workers } = await connected(t);
  emu.policy.tokenDelayMs = TOKEN_DELAY_MS;
  emu.advance(1000);
  emu.expireAllSessions();
  emu.clearLog();

  const starter = new AbortController();
  const first = settle(workers.call('kv', 'acme', LIMITS, { signal: starter.signal }));
  const started = await pollUntil(() => emu.tokenRequests().length > 0, { timeoutMs: 10_000 });
  assert.ok(started, 'the first request started a refresh');
  const waiters = Array.from({ length: WAITERS }, () => settle(workers.call('kv', 'acme', LIMITS)));
  // The waiters reach the worker and join the refresh in flight (their 401s are in the log) ...
  await pollUntil(() => emu.log.filter((e) => e.status === 401).length >= WAITERS + 1, { timeoutMs: 10_000 });
  // ... then the starter's client goes away before the token endpoint answers.
  starter.abort();
  const starterAnswer = await first;

  const answers = await Promise.all(waiters);
  const { succeeded, failed, failures } = tally(answers);
  const tokenRequests = emu.tokenRequests().length;
  t.diagnostic(`starter aborted (${starterAnswer.ok ? 'it still answered 200' : starterAnswer.error ?? `HTTP ${starterAnswer.status}`})`);
  t.diagnostic(`${WAITERS} waiters: ${succeeded} succeeded, ${failed} failed, ${tokenRequests} token request(s)`);
  for (const failure of failures) t.diagnostic(`failure: ${failure}`);
  assert.equal(succeeded, WAITERS, failures.join('\n'));
  // The starter's refresh may be cut off with its request; a waiter may then refresh once more.
  assert.ok(tokenRequests >= 1 && tokenRequests <= 2, `${tokenRequests} token requests`);
});
