// The fleet: 8 Node processes (node-redis and ioredis alternating) sharing one connection through
// RedisStore on a real redis-server, refresh tokens rotating, a token endpoint that takes 300 ms.
// Per expiry: 50 concurrent calls per process; counts token requests and failed calls, and the
// latency of the calls that ran across the refresh. The session ends by the clock (every member's
// and the org's moved past the timeout) and by a server-side kill (every member meets a 401).
import { performance } from 'node:perf_hooks';
import { startEmulator } from '../tests/emulator/index.mjs';
import { startRedisServer } from '../tests/redis/server.mjs';
import { LIMITS_PATH, failedOutcomes, flatten, refreshRequestsSince, startFleet } from '../tests/redis/fleet-harness.mjs';
import { CLIENT_ID } from './emulators.mjs';
import { percentile } from './stats.mjs';

export const FLEET_SIZE = 8;
export const FLEET_CALLS = 50;
export const FLEET_TOKEN_DELAY_MS = 300;
const SESSION_TIMEOUT_MS = 7200 * 1000;

/** One connection, `expiries` times ended by `expire`; per-expiry figures and the pooled latencies. */
async function expiryRounds(emu, fleet, connectionId, expiries, expire) {
  await fleet.members[0].send('connect', { connectionId, tokens: await emu.mintTokenResponse() });
  await fleet.all('burst', { connectionId, calls: 1, path: LIMITS_PATH }); // every member warm
  const rounds = [];
  const latencies = [];
  for (let i = 0; i < expiries; i += 1) {
    const since = emu.log.length;
    await expire();
    const started = performance.now();
    const outcomes = flatten(await fleet.all('burst', { connectionId, calls: FLEET_CALLS, path: LIMITS_PATH }), fleet.members);
    const wallMs = performance.now() - started;
    for (const o of outcomes) latencies.push(o.ms);
    rounds.push({
      tokenRequests: refreshRequestsSince(emu, since).length,
      failed: failedOutcomes(outcomes).length,
      wallMs,
    });
  }
  return {
    rounds,
    tokenRequestsMax: Math.max(...rounds.map((r) => r.tokenRequests)),
    failedTotal: rounds.reduce((sum, r) => sum + r.failed, 0),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    rotatedOutPresented: emu.rotatedOutPresentations().length,
    familiesRevoked: emu.familyEnds().length,
  };
}

/** Both ways of expiring, `expiries` times each, on one fleet; a fresh emulator per way. */
export async function measureFleet(expiries) {
  const redis = await startRedisServer();
  try {
    const out = {};
    for (const [way, expireWith] of [
      ['clock', (emu, fleet) => () => fleet.advance(SESSION_TIMEOUT_MS + 60_000)],
      ['kill', (emu) => () => emu.expireAllSessions()],
    ]) {
      const emu = await startEmulator({ clientId: CLIENT_ID });
      emu.policy.rotateRefreshTokens = true;
      emu.policy.tokenDelayMs = FLEET_TOKEN_DELAY_MS;
      let fleet = null;
      try {
        fleet = await startFleet({ size: FLEET_SIZE, redis, emu, prefix: `bench-fleet-${way}:` });
        out[way] = await expiryRounds(emu, fleet, `bench-${way}`, expiries, expireWith(emu, fleet));
      } finally {
        await fleet?.close();
        await emu.close();
      }
    }
    return out;
  } finally {
    await redis.stop();
  }
}
