// MemoryStore's list and compareAndPut: the same semantics as the shared stores, in one isolate.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryStore } from 'salesforce-session';
import { MemoryStore as MemoryStoreFromPath } from 'salesforce-session/stores/memory';

test('stores/memory is the MemoryStore the main entry exports', () => {
  assert.equal(MemoryStoreFromPath, MemoryStore);
});

test('list returns the live keys under a prefix, sorted, matched literally', async () => {
  let now = 1_000_000;
  const store = new MemoryStore({ now: () => now });
  await store.put('sfs:b', '1');
  await store.put('sfs:a', '1');
  await store.put('sfs*:c', '1');
  await store.put('other:a', '1');
  await store.put('sfs:gone', '1', { expirationTtl: 10 });
  assert.deepEqual(await store.list('sfs:'), ['sfs:a', 'sfs:b', 'sfs:gone']);
  now += 10_000;
  assert.deepEqual(await store.list('sfs:'), ['sfs:a', 'sfs:b'], 'an expired key is not listed');
  assert.deepEqual(await store.list('sfs*'), ['sfs*:c']);
  assert.deepEqual(await store.list(''), ['other:a', 'sfs*:c', 'sfs:a', 'sfs:b']);
  assert.deepEqual(await store.list('none'), []);
});

test('compareAndPut writes only over the expected value; null only creates', async () => {
  let now = 1_000_000;
  const store = new MemoryStore({ now: () => now });
  assert.equal(await store.compareAndPut('k', null, 'v1'), true);
  assert.equal(await store.compareAndPut('k', null, 'v2'), false);
  assert.equal(await store.get('k'), 'v1');
  assert.equal(await store.compareAndPut('k', 'v1', 'v2'), true);
  assert.equal(await store.compareAndPut('k', 'v1', 'v3'), false, 'the stored value changed meanwhile');
  assert.equal(await store.get('k'), 'v2');
  assert.equal(await store.compareAndPut('absent', 'v1', 'x'), false);
  assert.equal(await store.get('absent'), null);
  await store.put('short', 'old', { expirationTtl: 1 });
  now += 1000;
  assert.equal(await store.compareAndPut('short', 'old', 'x'), false, 'an expired value is absent');
  assert.equal(await store.compareAndPut('short', null, 'new'), true);
  assert.equal(await store.get('short'), 'new');
  await assert.rejects(store.compareAndPut('k', 'v2', 5), TypeError);
  assert.equal(await store.get('k'), 'v2');
});

test('of 50 concurrent compareAndPut from the same expected value exactly one wins', async () => {
  const store = new MemoryStore();
  await store.put('k', 'start');
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.compareAndPut('k', 'start', `by-${i}`)));
  const winners = results.flatMap((won, i) => (won ? [i] : []));
  assert.equal(winners.length, 1);
  assert.equal(await store.get('k'), `by-${winners[0]}`);
});
