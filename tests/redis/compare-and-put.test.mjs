// RedisStore.compareAndPut against a real redis-server, with node-redis and with ioredis: a write
// fenced on the stored value, atomic under concurrency across connections.
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

for (const kind of CLIENT_KINDS) {
  describe(`RedisStore.compareAndPut over ${kind.name}`, () => {
    test('writes when the stored value is the expected one', async (t) => {
      const store = new RedisStore(await connectClient(t, kind, server), { prefix: uniquePrefix() });
      await store.put('acme', 'record-1');
      assert.equal(await store.compareAndPut('acme', 'record-1', 'record-2'), true);
      assert.equal(await store.get('acme'), 'record-2');
    });

    test('refuses, writing nothing, when the stored value changed meanwhile', async (t) => {
      const prefix = uniquePrefix();
      const mine = new RedisStore(await connectClient(t, kind, server), { prefix });
      const theirs = new RedisStore(await connectClient(t, kind, server), { prefix });
      await mine.put('acme', 'record-1');
      const startedFrom = await mine.get('acme');
      await theirs.put('acme', 'record-from-another-worker');
      assert.equal(await mine.compareAndPut('acme', startedFrom, 'record-2'), false);
      assert.equal(await mine.get('acme'), 'record-from-another-worker');
      assert.equal(await mine.compareAndPut('absent', 'record-1', 'record-2'), false, 'an absent key is not any value');
      assert.equal(await mine.get('absent'), null);
    });

    test('compares byte for byte', async (t) => {
      const store = new RedisStore(await connectClient(t, kind, server), { prefix: uniquePrefix() });
      await store.put('k', 'caf\u00e9');
      assert.equal(await store.compareAndPut('k', 'cafe\u0301', 'x'), false, 'a canonically equal string is not the same bytes');
      assert.equal(await store.compareAndPut('k', 'caf\u00e9 ', 'x'), false);
      assert.equal(await store.compareAndPut('k', '', 'x'), false);
      assert.equal(await store.compareAndPut('k', 'caf\u00e9', 'x'), true);
      await store.put('empty', '');
      assert.equal(await store.compareAndPut('empty', null, 'x'), false, 'an empty value is present');
      assert.equal(await store.compareAndPut('empty', '', 'x'), true);
      assert.equal(await store.get('empty'), 'x');
    });

    test('expected null only creates', async (t) => {
      const store = new RedisStore(await connectClient(t, kind, server), { prefix: uniquePrefix() });
      assert.equal(await store.compareAndPut('acme', null, 'first'), true);
      assert.equal(await store.get('acme'), 'first');
      assert.equal(await store.compareAndPut('acme', null, 'second'), false);
      assert.equal(await store.get('acme'), 'first');
    });

    test('of 50 concurrent writers from the same expected value exactly one wins', async (t) => {
      const prefix = uniquePrefix();
      const stores = [];
      for (let i = 0; i < 5; i += 1) stores.push(new RedisStore(await connectClient(t, kind, server), { prefix }));
      await stores[0].put('acme', 'record-1');
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => stores[i % stores.length].compareAndPut('acme', 'record-1', `record-2-by-${i}`)));
      const winners = results.flatMap((won, i) => (won ? [i] : []));
      assert.equal(winners.length, 1, `winners: ${JSON.stringify(winners)}`);
      assert.equal(await stores[3].get('acme'), `record-2-by-${winners[0]}`);
    });

    test('keeps the prefix and refuses what is not a string', async (t) => {
      const prefix = uniquePrefix();
      const client = await connectClient(t, kind, server);
      const store = new RedisStore(client, { prefix });
      assert.equal(await store.compareAndPut('acme', null, 'v'), true);
      assert.equal(await new RedisStore(client).get(`${prefix}acme`), 'v');
      await expectSessionError(() => store.compareAndPut('acme', 'v', 5), 'INVALID_CONFIG');
      await expectSessionError(() => store.compareAndPut('acme', undefined, 'w'), 'INVALID_CONFIG');
      await expectSessionError(() => store.compareAndPut('\u0000lock:acme', null, 'w'), 'INVALID_CONFIG');
      assert.equal(await store.get('acme'), 'v');
    });
  });
}
