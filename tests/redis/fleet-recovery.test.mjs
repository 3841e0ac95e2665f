// A Node fleet sharing one Redis, when things go wrong or go quiet: a lock holder SIGKILLed in the
// middle of its token request, a revocation (app access revoked, password changed) and the
// re-connect that follows, and keepAlive() run by several processes at once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEmulator } from '../emulator/index.mjs';
import { collectSecrets, findLeaks } from '../node/helpers.mjs';
import { RedisStore } from 'salesforce-session/stores/redis';
import { CLIENT_KINDS, connectClient, startRedisServer, uniquePrefix } from './server.mjs';
import {
  LIMITS_PATH, failedOutcomes, flatten, lockKeys, pollUntil, refreshRequestsSince, startFleet, storedRecord,
} from './fleet-harness.mjs';

const DAY_MS = 24 * 3600 * 1000;
/**
 * A call waiting on a holder that died may give up (retryable, never as a revocation), but only
 * once it has waited this long: a waiter that gives up sooner did not wait for the lock at all.
 */
const DEAD_HOLDER_WAIT_BOUND_MS = 1000;
/** How long after the dead holder's lock expires the survivors must be serving calls again. */
const RECOVERY_BOUND_MS = 10_000;
/** How soon every member must pick up a re-connect made on one of them. */
const RECONNECT_BOUND_MS = 10_000;

let server;
before(async () => {
  server = await startRedisServer();
});
after(() => server?.stop());

function tally(outcomes) {
  const counts = {};
  for (const o of outcomes) counts[o.status ?? o.code] = (counts[o.status ?? o.code] ?? 0) + 1;
  return JSON.stringify(counts);
}

/** An emulator, a fleet of `size` on it, a parent-side RedisStore on the same prefix. */
async function setup(t, label, { size = 4, rotate = true, tokenDelayMs = 300, manager = {} } = {}) {
  const emu = await startEmulator({ clientId: 'test-client' });
  t.after(() => emu.close());
  emu.policy.rotateRefreshTokens = rotate;
  emu.policy.tokenDelayMs = tokenDelayMs;
  const prefix = uniquePrefix(label);
  const fleet = await startFleet({ size, redis: server, emu, prefix, manager });
  t.after(() => fleet.close());
  const kind = CLIENT_KINDS[0];
  const client = await connectClient(t, kind, server);
  return { emu, fleet, prefix, kind, client, store: new RedisStore(client, { prefix }) };
}

const burst = (members, connectionId, calls) =>
  Promise.all(members.map((m) => m.send('burst', { connectionId, calls, path: LIMITS_PATH }))).then((r) => flatten(r, members));

async function assertNoLeaks(emu, fleet, extra) {
  const leaks = findLeaks(collectSecrets(emu, extra), [...fleet.outputs(), ...(await fleet.events())]);
  assert.deepEqual(leaks, [], 'no token in what the members printed or emitted');
}

/**
 * Connects `acme` on the first member, warms every member, expires the session and sends a
 * burst of `calls` from each member; resolves once one member's token request is at the token
 * endpoint, with that member (`holder`: it holds the lock) and the bursts still in flight.
 */
async function refreshInFlight(emu, fleet, calls) {
  const tokens = await emu.mintTokenResponse();
  await fleet.members[0].send('connect', { connectionId: 'acme', tokens });
  assert.deepEqual(failedOutcomes(await burst(fleet.members, 'acme', 1)), [], 'warm');

  emu.expireAllSessions();
  const since = emu.log.length;
  const inFlight = fleet.members.map((m) => m.send('burst', { connectionId: 'acme', calls, path: LIMITS_PATH })
    .then((r) => ({ member: m, outcomes: r.outcomes }), (err) => ({ member: m, err })));

  // The one token request in flight names its sender by source address; that member holds the lock.
  const pending = await pollUntil(() => refreshRequestsSince(emu, since).find((e) => e.status === null), { withinMs: 10_000 });
  assert.ok(pending, 'a refresh reached the token endpoint');
  const holder = fleet.byAddress(pending.remoteAddress);
  assert.ok(holder, `the refresh came from a member (${pending.remoteAddress})`);
  return { tokens, since, inFlight, holder };
}

/** What the members other than `holder` answered for their bursts, each call with its member's index. */
async function survivorOutcomes(inFlight, holder) {
  const settled = await Promise.all(inFlight);
  return settled.filter((s) => s.member !== holder).flatMap((s) => {
    assert.ok(!s.err, `member ${s.member.index} answered: ${s.err?.message}`);
    return s.outcomes.map((o) => ({ ...o, member: s.member.index }));
  });
}

test('a lock holder SIGKILLed during its token request: the others wait for its lock to expire and recover, nothing revoked', async (t) => {
  // Rotation off: the dead holder's refresh completes at the org but its answer is never stored.
  const { emu, fleet, prefix, kind, client, store } = await setup(t, 'dead-holder', {
    rotate: false, tokenDelayMs: 2000, manager: { tokenTimeoutMs: 5000 },
  });
  const { tokens, since, inFlight, holder } = await refreshInFlight(emu, fleet, 20);
  const locks = await lockKeys(kind, client, prefix);
  assert.equal(locks.length, 1, `one lock in Redis while the refresh is in flight: ${JSON.stringify(locks.map((l) => l.pttl))}`);
  const lockTtlMs = locks[0].pttl;
  assert.ok(lockTtlMs > 0, `the lock expires by itself (PTTL ${lockTtlMs})`);
  await holder.kill();
  assert.equal(holder.exited.signal, 'SIGKILL');

  const outcomes = await survivorOutcomes(inFlight, holder);
  const survivors = fleet.members.filter((m) => m !== holder);
  assert.equal(outcomes.length, survivors.length * 20);
  for (const o of failedOutcomes(outcomes)) {
    const where = JSON.stringify(o);
    assert.equal(o.reauthRequired, false, `a dead holder is not a revocation: ${where}`);
    assert.equal(o.retryable, true, `a call given up on a dead holder is retryable: ${where}`);
    assert.ok(o.ms >= DEAD_HOLDER_WAIT_BOUND_MS, `a call fails only after waiting ${DEAD_HOLDER_WAIT_BOUND_MS} ms on the dead holder: ${where}`);
  }

  // Once the dead holder's lock has expired, the survivors serve every call.
  const freed = await pollUntil(async () => (await lockKeys(kind, client, prefix)).length === 0, { withinMs: lockTtlMs + RECOVERY_BOUND_MS });
  assert.ok(freed, 'the dead holder\'s lock expired');
  const recovered = await burst(survivors, 'acme', 20);
  const failed = failedOutcomes(recovered);
  assert.equal(failed.length, 0, `after the lock expired every call succeeds (${tally(recovered)}; first failure ${JSON.stringify(failed[0])})`);

  const refreshes = refreshRequestsSince(emu, since);
  assert.equal(refreshes.length, 2, `the dead holder's token request and one recovery, got ${refreshes.length}`);
  assert.notEqual(refreshes[1].remoteAddress, holder.address, 'a survivor recovered');
  assert.equal(refreshes[1].status, 200);
  assert.deepEqual(emu.familyEnds(), [], 'no family revoked');
  assert.deepEqual(emu.rotatedOutPresentations(), []);
  const record = await storedRecord(store, 'acme');
  assert.ok(emu.isSessionActive(record.accessToken), 'Redis holds a live access token');
  for (const info of await Promise.all(survivors.map((m) => m.send('info', { connectionId: 'acme' })))) assert.equal(info.status, 'active');
  await assertNoLeaks(emu, fleet, [tokens.refresh_token]);
});

test('a lock holder SIGKILLed during its token request with rotation on: the revocation that follows names the lost request and its instance', async (t) => {
  // Rotation on: the dead holder's refresh rotated the family at the org, and the new refresh
  // token died with the process. Nothing can save the family; it must be said for what it is.
  const { emu, fleet } = await setup(t, 'dead-holder-rotating', {
    rotate: true, tokenDelayMs: 2000, manager: { tokenTimeoutMs: 5000 },
  });
  const { tokens, inFlight, holder } = await refreshInFlight(emu, fleet, 5);
  await holder.kill();

  const outcomes = await survivorOutcomes(inFlight, holder);
  const failed = failedOutcomes(outcomes);
  assert.equal(failed.length, outcomes.length, `the family is gone: no call can succeed (${tally(outcomes)})`);
  for (const o of failed) {
    const where = JSON.stringify(o);
    assert.ok(o.code === 'SESSION_REVOKED' || (o.code === 'REFRESH_FAILED' && o.retryable), `a revocation, or a wait given up: ${where}`);
  }
  const revoked = failed.filter((o) => o.code === 'SESSION_REVOKED');
  assert.ok(revoked.length > 0, `the revocation is reported (${tally(outcomes)})`);
  const naming = revoked.filter((o) => o.evidence.some((l) => l.includes(`instance ${holder.instanceId} sent a token request under the fleet lock`)));
  assert.ok(naming.length > 0, `the evidence names the lost request's instance: ${JSON.stringify(revoked[0].evidence)}`);
  assert.ok(naming[0].evidence.some((l) => /a rotated-out token was presented/.test(l)), JSON.stringify(naming[0].evidence));
  assert.deepEqual(emu.familyEnds().map((f) => f.cause), ['reuse'], 'the family ended by the rotated-out token, once');
  const survivors = fleet.members.filter((m) => m !== holder);
  for (const info of await Promise.all(survivors.map((m) => m.send('info', { connectionId: 'acme' })))) assert.equal(info.status, 'reauth_required');
  await assertNoLeaks(emu, fleet, [tokens.refresh_token]);
});

/** Every member calls until its call succeeds (bounded); resolves to how long each took, or null. */
async function untilEveryMemberSucceeds(members, connectionId, withinMs) {
  return Promise.all(members.map(async (m) => {
    const started = Date.now();
    const ok = await pollUntil(async () => {
      const [o] = (await m.send('burst', { connectionId, calls: 1, path: LIMITS_PATH })).outcomes;
      return o.status === 200;
    }, { withinMs, everyMs: 100 });
    return ok ? Date.now() - started : null;
  }));
}

test('a revocation is seen once by the fleet, and a re-connect on one process is picked up by all', async (t) => {
  const { emu, fleet } = await setup(t, 'revoked');
  const tokens = await emu.mintTokenResponse();
  await fleet.members[0].send('connect', { connectionId: 'acme', tokens });
  assert.deepEqual(failedOutcomes(await burst(fleet.members, 'acme', 1)), [], 'warm');
  const extra = [tokens.refresh_token];

  for (const [what, revoke] of [
    ['app access revoked', () => emu.revokeAppAccess()],
    ['password changed', () => emu.changePassword()],
  ]) {
    revoke();
    const since = emu.log.length;
    const outcomes = await burst(fleet.members, 'acme', 20);
    assert.deepEqual([...new Set(outcomes.map((o) => o.code))], ['SESSION_REVOKED'], `${what}: every call fails as revoked (${tally(outcomes)})`);
    assert.ok(outcomes.every((o) => o.reauthRequired === true), `${what}: reauth required`);
    const refreshes = refreshRequestsSince(emu, since);
    assert.ok(refreshes.length <= 1, `${what}: at most one token request for the whole fleet, got ${refreshes.length}`);
    assert.ok(refreshes.every((e) => e.status === 400), `${what}: the one refresh was refused`);
    const infos = await fleet.all('info', { connectionId: 'acme' });
    assert.deepEqual(infos.map((i) => i.status), Array(fleet.members.length).fill('reauth_required'), `${what}: every member sees reauth_required`);
    assert.equal(new Set(infos.map((i) => i.reauthReason)).size, 1, `${what}: one reason, the same on every member: ${JSON.stringify(infos.map((i) => i.reauthReason))}`);
    // Later calls send nothing to the token endpoint.
    const again = await burst(fleet.members, 'acme', 5);
    assert.ok(again.every((o) => o.code === 'SESSION_REVOKED'), `${what}: still revoked (${tally(again)})`);
    assert.equal(refreshRequestsSince(emu, since).length, refreshes.length, `${what}: no further token request`);
    assert.deepEqual(emu.rotatedOutPresentations(), [], `${what}: no rotated-out token presented`);
    assert.ok(emu.familyEnds().every((e) => e.cause === 'user'), `${what}: only the org's own revocation ended a family: ${JSON.stringify(emu.familyEnds().map((e) => e.cause))}`);

    // The user connects again through one process; every other process uses that connection.
    const fresh = await emu.mintTokenResponse();
    extra.push(fresh.refresh_token);
    const reconnectedAt = emu.log.length;
    const info = await fleet.members[fleet.members.length - 1].send('connect', { connectionId: 'acme', tokens: fresh });
    assert.equal(info.status, 'active');
    const took = await untilEveryMemberSucceeds(fleet.members, 'acme', RECONNECT_BOUND_MS);
    assert.ok(took.every((ms) => ms !== null), `${what}: every member calls successfully within ${RECONNECT_BOUND_MS} ms of the re-connect: ${JSON.stringify(took)}`);
    const afterReconnect = await burst(fleet.members, 'acme', 20);
    assert.equal(failedOutcomes(afterReconnect).length, 0, `${what}: after the re-connect every call succeeds (${tally(afterReconnect)})`);
    assert.equal(emu.tokenRequests().filter((e) => emu.log.indexOf(e) >= reconnectedAt).length, 0, `${what}: the re-connect is picked up with no token request`);
  }
  await assertNoLeaks(emu, fleet, extra);
});

test('keepAlive from several processes at once refreshes only the idle connections, each once', async (t) => {
  const { emu, fleet, store } = await setup(t, 'keep-alive');
  const [a, b] = [await emu.mintTokenResponse(), await emu.mintTokenResponse()];
  await fleet.members[0].send('connect', { connectionId: 'idle-a', tokens: a });
  await fleet.members[1].send('connect', { connectionId: 'idle-b', tokens: b });
  await fleet.advance(21 * DAY_MS);
  const advancedTo = emu.now();
  const c = await emu.mintTokenResponse();
  await fleet.members[2].send('connect', { connectionId: 'fresh-c', tokens: c });
  const families = Object.fromEntries([['idle-a', a], ['idle-b', b], ['fresh-c', c]].map(([id, tk]) => [emu.refreshTokenFamily(tk.refresh_token).familyId, id]));

  const since = emu.log.length;
  const results = await fleet.all('keepAlive', { options: { olderThanDays: 20 } });
  const refreshes = refreshRequestsSince(emu, since);
  const refreshedFamilies = refreshes.map((e) => families[emu.refreshTokenFamily(e.refreshToken)?.familyId] ?? 'unknown').sort();
  assert.deepEqual(refreshedFamilies, ['idle-a', 'idle-b'], 'one token request per idle connection, none for the fresh one');
  assert.ok(refreshes.every((e) => e.status === 200));
  assert.deepEqual(emu.rotatedOutPresentations(), []);
  assert.deepEqual(emu.familyEnds(), []);

  for (const [i, result] of results.entries()) {
    const where = `member ${i}: ${JSON.stringify(result)}`;
    assert.deepEqual(result.failed, [], where);
    assert.ok(!result.refreshed.includes('fresh-c'), `the fresh connection is never refreshed: ${where}`);
    assert.ok(result.skipped.includes('fresh-c'), `the fresh connection is skipped: ${where}`);
    const all = [...result.refreshed, ...result.skipped];
    assert.deepEqual([...all].sort(), ['fresh-c', 'idle-a', 'idle-b'], `each stored connection once in refreshed or skipped: ${where}`);
  }
  const refreshedByFleet = results.flatMap((r) => r.refreshed).sort();
  assert.deepEqual(refreshedByFleet, ['idle-a', 'idle-b'], 'each idle connection reported refreshed by the one process that refreshed it');

  for (const [id, tk] of [['idle-a', a], ['idle-b', b]]) {
    const record = await storedRecord(store, id);
    assert.ok(record.refreshToken === emu.refreshTokenFamily(tk.refresh_token).refreshToken, `${id}: Redis holds the rotated refresh token`);
    const info = await fleet.members[3].send('info', { connectionId: id });
    assert.ok(info.lastRefreshAt >= advancedTo, `${id}: lastRefreshAt is on the managers' clock, after the advance (${info.lastRefreshAt} >= ${advancedTo})`);
  }

  // Run again: nothing is idle any more.
  const again = await fleet.all('keepAlive', { options: { olderThanDays: 20 } });
  assert.equal(refreshRequestsSince(emu, since).length, 2, 'a second keepAlive sends no token request');
  assert.ok(again.every((r) => r.refreshed.length === 0 && r.failed.length === 0), JSON.stringify(again));
  await assertNoLeaks(emu, fleet, [a.refresh_token, b.refresh_token, c.refresh_token]);
});
