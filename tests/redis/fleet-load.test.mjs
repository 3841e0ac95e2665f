// Eight Node processes, each its own SessionManager (own instanceId, own Redis client: node-redis
// and ioredis alternating), sharing one connection through RedisStore. Refresh tokens rotate and
// the token endpoint takes 300 ms. Ten expiries, 50 concurrent calls per process on each: one
// token request per expiry, no failed call, no rotated-out refresh token ever presented, no family
// revoked, and the store ends holding the refresh token the org considers current.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEmulator } from '../emulator/index.mjs';
import { collectSecrets, findLeaks } from '../node/helpers.mjs';
import { RedisStore } from 'salesforce-session/stores/redis';
import { CLIENT_KINDS, connectClient, startRedisServer, uniquePrefix } from './server.mjs';
import {
  LIMITS_PATH, failedOutcomes, flatten, refreshRequestsSince, startFleet, storedRecord,
} from './fleet-harness.mjs';

const FLEET_SIZE = 8;
const EXPIRIES = 10;
const CALLS_PER_PROCESS = 50;
const TOKEN_DELAY_MS = 300;
const SESSION_TIMEOUT_MS = 7200 * 1000;
const CONNECTION = 'acme';

let server;
before(async () => {
  server = await startRedisServer();
});
after(() => server?.stop());

/** Counts of what the calls ended with, e.g. { 200: 398, SESSION_EXPIRED: 2 }, for assertion messages. */
function tally(outcomes) {
  const counts = {};
  for (const o of outcomes) {
    const key = o.status ?? o.code;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return JSON.stringify(counts);
}

/**
 * A fleet of eight on a fresh emulator (rotation on, slow token endpoint), connected once and warm.
 * Resolves to { emu, fleet, store, tokens }.
 */
async function connectedFleet(t, label) {
  const emu = await startEmulator({ clientId: 'test-client' });
  t.after(() => emu.close());
  emu.policy.rotateRefreshTokens = true;
  emu.policy.tokenDelayMs = TOKEN_DELAY_MS;
  const prefix = uniquePrefix(label);
  const fleet = await startFleet({ size: FLEET_SIZE, redis: server, emu, prefix });
  t.after(() => fleet.close());
  assert.deepEqual(fleet.members.map((m) => m.kind).filter((k, i, all) => all.indexOf(k) === i).sort(), ['ioredis', 'node-redis'], 'both clients in the fleet');
  const store = new RedisStore(await connectClient(t, CLIENT_KINDS[0], server), { prefix });

  const tokens = await emu.mintTokenResponse();
  await fleet.members[0].send('connect', { connectionId: CONNECTION, tokens });
  const warm = flatten(await fleet.all('burst', { connectionId: CONNECTION, calls: 1, path: LIMITS_PATH }), fleet.members);
  assert.deepEqual(failedOutcomes(warm), [], 'every member calls with the stored session');
  assert.equal(emu.tokenRequests().length, 0, 'the members read the connection from Redis, no token request');
  return { emu, fleet, store, tokens };
}

/** Ten expiries of the shared session, `expire` ending it each time; the assertions of the header. */
async function runExpiries(t, { emu, fleet, store, tokens }, expire, { everyMemberSees401 = false } = {}) {
  const perExpiry = [];
  for (let round = 1; round <= EXPIRIES; round += 1) {
    const since = emu.log.length;
    await expire();
    const outcomes = flatten(await fleet.all('burst', { connectionId: CONNECTION, calls: CALLS_PER_PROCESS, path: LIMITS_PATH }), fleet.members);
    const refreshes = refreshRequestsSince(emu, since);
    perExpiry.push(refreshes.length);
    assert.equal(outcomes.length, FLEET_SIZE * CALLS_PER_PROCESS);
    const failed = failedOutcomes(outcomes);
    assert.equal(failed.length, 0, `expiry ${round}: every call succeeds (${tally(outcomes)}; first failure ${JSON.stringify(failed[0])})`);
    assert.equal(refreshes.length, 1, `expiry ${round}: one token request for the fleet, got ${refreshes.length} (from ${refreshes.map((e) => e.remoteAddress).join(', ')})`);
    assert.equal(emu.rotatedOutPresentations().length, 0, `expiry ${round}: no rotated-out refresh token presented`);
    assert.deepEqual(emu.familyEnds(), [], `expiry ${round}: no family revoked`);
    if (everyMemberSees401) {
      const refused = new Set(emu.log.slice(since).filter((e) => e.host === 'instance' && e.status === 401).map((e) => e.remoteAddress));
      assert.deepEqual(fleet.members.filter((m) => !refused.has(m.address)).map((m) => m.index), [], `expiry ${round}: every member met a 401 first`);
    }
  }
  assert.deepEqual(perExpiry, Array(EXPIRIES).fill(1));

  // The org rotated the refresh token ten times; Redis holds the current one (compared, never printed).
  const family = emu.refreshTokenFamily(tokens.refresh_token);
  assert.equal(family.live, true, 'the family is alive');
  assert.ok(family.refreshToken !== tokens.refresh_token, 'the refresh token rotated');
  const record = await storedRecord(store, CONNECTION);
  assert.ok(record, 'the connection is in Redis');
  assert.ok(record.refreshToken === family.refreshToken, "the stored refresh token is the org's current one");
  const infos = await fleet.all('info', { connectionId: CONNECTION });
  for (const info of infos) {
    assert.equal(info.status, 'active');
    assert.equal(info.rotation, true, 'info() says the refresh token rotates');
    assert.equal(typeof info.lastRefreshAt, 'number');
  }

  const events = await fleet.events();
  const leaks = findLeaks(collectSecrets(emu, [tokens.refresh_token, family.refreshToken]), [...fleet.outputs(), ...events]);
  assert.deepEqual(leaks, [], 'no token in what the members printed or emitted');
}

test(`${FLEET_SIZE} processes, expiry by the clock: one token request per expiry, no failed call, no rotated-out token presented`, async (t) => {
  const setup = await connectedFleet(t, 'load-clock');
  // Past the session timeout on the org's clock and on every member's: each member sees the
  // session due and refreshes ahead of the call (the org has ended it too).
  await runExpiries(t, setup, () => setup.fleet.advance(SESSION_TIMEOUT_MS + 60_000));
});

test(`${FLEET_SIZE} processes, expiry by a server-side kill: every process meets a 401, one token request per expiry`, async (t) => {
  const setup = await connectedFleet(t, 'load-kill');
  // The org ends the session; no member's clock says so: each learns it from a 401.
  await runExpiries(t, setup, () => setup.emu.expireAllSessions(), { everyMemberSees401: true });
});
