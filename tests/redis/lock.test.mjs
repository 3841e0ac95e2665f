// RedisStore.lock against a real redis-server, with node-redis and with ioredis: one holder at a
// time across clients, expiry by TTL, a stale release that frees nothing, bad TTLs refused.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RedisStore } from 'salesforce-session/stores/redis';
import { expectSessionError } from '../node/helpers.mjs';
import { CLIENT_KINDS, connectClient, startRedisServer, uniquePrefix } from './server.mjs';

let server;
before(async () => {
  server = await startRedisServer();
});
after(() => server?.stop());

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Tries to take the lock every 25 ms until it is acquired or `boundMs` passes; resolves to the release or null. */
async function acquireWithin(store, key, ttlMs, boundMs = 5000) {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const release = await store.lock(key, ttlMs);
    if (release || Date.now() > deadline) return release;
    await delay(25);
  }
}

/** Stores over `count` separate connections of one kind, sharing a prefix (processes of a fleet). */
async function fleetStores(t, kind, count) {
  const prefix = uniquePrefix();
  const stores = [];
  for (let i = 0; i < count; i += 1) stores.push(new RedisStore(await connectClient(t, kind, server), { prefix }));
  return stores;
}

for (const kind of CLIENT_KINDS) {
  describe(`RedisStore.lock over ${kind.name}`, () => {
    test('exactly one of 16 concurrent attempts holds the lock', async (t) => {
      const stores = await fleetStores(t, kind, 4);
      const results = await Promise.all(Array.from({ length: 16 }, (_, i) => stores[i % stores.length].lock('acme', 10_000)));
      const holders = results.filter((release) => typeof release === 'function');
      assert.equal(holders.length, 1, `holders: ${holders.length}`);
      assert.equal(results.filter((release) => release === null).length, 15);
      await holders[0]();
      assert.equal(typeof (await stores[1].lock('acme', 10_000)), 'function', 'free again once released');
    });

    test('a second attempt while the lock is held resolves to null; locks are per key', async (t) => {
      const [a, b] = await fleetStores(t, kind, 2);
      const release = await a.lock('acme', 10_000);
      assert.equal(typeof release, 'function');
      assert.equal(await b.lock('acme', 10_000), null);
      assert.equal(await a.lock('acme', 10_000), null, 'not re-entrant: the same store is refused too');
      const other = await b.lock('globex', 10_000);
      assert.equal(typeof other, 'function', 'another key is another lock');
      await release();
      await other();
    });

    test('a lock frees itself after its TTL', async (t) => {
      const [a, b] = await fleetStores(t, kind, 2);
      const abandoned = await a.lock('acme', 300);
      assert.equal(typeof abandoned, 'function');
      const release = await acquireWithin(b, 'acme', 10_000);
      assert.equal(typeof release, 'function', 'acquired after the holder let it expire');
      await release();
    });

    test('a stale release never frees the lock another holder took since', async (t) => {
      const [a, b, c] = await fleetStores(t, kind, 3);
      const staleRelease = await a.lock('acme', 200);
      assert.equal(typeof staleRelease, 'function');
      const releaseB = await acquireWithin(b, 'acme', 10_000);
      assert.equal(typeof releaseB, 'function', 'B acquired after A expired');
      await staleRelease();
      assert.equal(await c.lock('acme', 10_000), null, "A's late release left B's lock in place");
      await releaseB();
      const releaseC = await c.lock('acme', 10_000);
      assert.equal(typeof releaseC, 'function', "B's own release freed it");
      await releaseC();
    });

    test('releasing twice is harmless', async (t) => {
      const [a, b] = await fleetStores(t, kind, 2);
      const releaseA = await a.lock('acme', 10_000);
      await releaseA();
      await releaseA();
      const releaseB = await b.lock('acme', 10_000);
      assert.equal(typeof releaseB, 'function');
      await releaseA();
      assert.equal(await a.lock('acme', 10_000), null, "A's third release did not free B's lock");
      await releaseB();
      await releaseB();
    });

    test('the lock key is not a data key: a record under the same key is untouched', async (t) => {
      const [a] = await fleetStores(t, kind, 1);
      await a.put('acme', 'record');
      const release = await a.lock('acme', 10_000);
      assert.equal(typeof release, 'function', 'a data key does not hold the lock');
      assert.equal(await a.get('acme'), 'record');
      await release();
      assert.equal(await a.get('acme'), 'record', 'releasing did not delete the record');
    });

    test('ttlMs must be a positive integer of at most 10 minutes', async (t) => {
      const [a] = await fleetStores(t, kind, 1);
      for (const ttl of [0, -1, 1.5, Number.NaN, Infinity, '1000', undefined, 10 * 60 * 1000 + 1]) {
        await expectSessionError(() => a.lock('acme', ttl), 'INVALID_CONFIG', String(ttl));
      }
      const release = await a.lock('acme', 10 * 60 * 1000);
      assert.equal(typeof release, 'function', 'exactly 10 minutes is accepted');
      await release();
    });
  });
}
