// The Durable Object store in Miniflare's real workerd, driven through the test worker's endpoints:
// the lock contract (one holder, expiry, stale releases), compare-and-put, key spaces, and the
// library using DurableObjectStore as its store across requests and isolates.
// Run from the scratch consumer: node --test tests/workerd/durable-object.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SalesforceSessionError } from 'salesforce-session';
import { DurableObjectStore, DEFAULT_OBJECT_NAME } from 'salesforce-session/stores/durable-object';
import { LIMITS, startEmu, startWorkers, pollUntil } from './harness.mjs';

const RECORD_KEY = 'sfs:conn:acme';

async function workersOnly(t, options) {
  const emu = await startEmu(t);
  return { emu, workers: await startWorkers(t, emu, options) };
}

const holderOf = async (workers, key, ttlMs, options) => {
  const answer = await workers.lock(key, ttlMs, options);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body.holder;
};

test('lock: of 16 concurrent attempts exactly one holds it; after its release the next attempt gets it', async (t) => {
  const { workers } = await workersOnly(t);
  const holders = await Promise.all(Array.from({ length: 16 }, () => holderOf(workers, 'refresh:acme', 60_000)));
  const won = holders.filter((h) => h !== null);
  assert.equal(won.length, 1, `holders: ${JSON.stringify(holders)}`);
  assert.equal(await holderOf(workers, 'refresh:acme', 60_000), null, 'still held');
  // Another key is another lock.
  assert.notEqual(await holderOf(workers, 'refresh:other', 60_000), null);

  assert.equal((await workers.release(won[0])).status, 200);
  assert.notEqual(await holderOf(workers, 'refresh:acme', 60_000), null, 'free after the release');
});

test('lock: a lock expires by itself after its TTL', async (t) => {
  const { workers } = await workersOnly(t);
  assert.notEqual(await holderOf(workers, 'refresh:acme', 300), null);
  assert.equal(await holderOf(workers, 'refresh:acme', 300), null, 'held until the TTL passes');
  // Bounded poll: the lock must come free, whatever the exact moment.
  const next = await pollUntil(() => holderOf(workers, 'refresh:acme', 60_000), { timeoutMs: 10_000 });
  assert.notEqual(next, null, 'the expired lock was taken again within 10 s');
  assert.equal(await holderOf(workers, 'refresh:acme', 60_000), null, 'and the new holder has it');
});

test('lock: a stale release (after expiry) does not free the next holder\'s lock', async (t) => {
  const { workers } = await workersOnly(t);
  const first = await holderOf(workers, 'refresh:acme', 200);
  assert.notEqual(first, null);
  const second = await pollUntil(() => holderOf(workers, 'refresh:acme', 60_000), { timeoutMs: 10_000 });
  assert.notEqual(second, null, 'the second holder took the expired lock');

  assert.equal((await workers.release(first)).status, 200, 'the stale release settles');
  assert.equal(await holderOf(workers, 'refresh:acme', 60_000), null, 'the second holder still has it');

  assert.equal((await workers.release(second)).status, 200);
  assert.notEqual(await holderOf(workers, 'refresh:acme', 60_000), null, 'free once its own holder released it');
});

test('compareAndPut writes only over the exact expected value (null: absent) and refuses a changed one', async (t) => {
  const { workers } = await workersOnly(t);
  const cas = async (expected, value) => {
    const answer = await workers.compareAndPut('k', expected, value);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return answer.body.written;
  };
  assert.equal(await cas(null, 'v1'), true, 'absent → written');
  assert.equal(await cas(null, 'v2'), false, 'no longer absent');
  assert.equal(await cas('v1', 'v2'), true, 'expected matched');
  assert.equal(await cas('v1', 'v3'), false, 'the value changed since');
  assert.equal((await workers.get('k')).body.value, 'v2');

  // Byte-identical, not equivalent: a canonically equal string in another normal form is another value.
  assert.equal((await workers.put('k', 'caf\u00e9')).status, 200);
  assert.equal(await cas('cafe\u0301', 'x'), false);
  assert.equal(await cas('caf\u00e9 ', 'x'), false);
  assert.equal(await cas('caf\u00e9', 'x'), true);
  assert.equal((await workers.get('k')).body.value, 'x');
});

test('compareAndPut: of 20 concurrent writers from the same expected value exactly one wins', async (t) => {
  const { workers } = await workersOnly(t);
  assert.equal((await workers.put('record', 'v0')).status, 200);
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => workers.compareAndPut('record', 'v0', `v1-${i}`)));
  assert.deepEqual([...new Set(answers.map((a) => a.status))], [200]);
  const winners = answers.map((a, i) => (a.body.written ? i : -1)).filter((i) => i >= 0);
  assert.equal(winners.length, 1, `winners: ${JSON.stringify(winners)}`);
  assert.equal((await workers.get('record')).body.value, `v1-${winners[0]}`, 'the winner\'s value is stored');
});

test('locks live in their own key space: a lock never overwrites or lists as a data key', async (t) => {
  const { workers } = await workersOnly(t);
  assert.equal((await workers.put(RECORD_KEY, 'record')).status, 200);
  assert.equal((await workers.put('sfs:org:1', 'mark')).status, 200);
  assert.notEqual(await holderOf(workers, RECORD_KEY, 60_000), null);
  assert.equal((await workers.get(RECORD_KEY)).body.value, 'record');
  assert.deepEqual((await workers.list('sfs:')).body.keys, [RECORD_KEY, 'sfs:org:1']);
  assert.deepEqual((await workers.list('sfs:conn:')).body.keys, [RECORD_KEY]);
  assert.deepEqual((await workers.list('none:')).body.keys, []);
  // The data key is not a lock either: its lock is still held, and a fresh key's lock is free.
  assert.equal(await holderOf(workers, RECORD_KEY, 60_000), null);
  assert.notEqual(await holderOf(workers, 'sfs:org:1', 60_000), null);
});

test('DurableObjectStore refuses a namespace without idFromName/get with INVALID_CONFIG', async (t) => {
  const { workers } = await workersOnly(t);
  assert.deepEqual((await workers.request('GET', '/bad-namespace')).body, { code: 'INVALID_CONFIG', isSessionError: true });
  for (const namespace of [undefined, null, {}, { idFromName() {} }, 'SESSION_STORE']) {
    assert.throws(() => new DurableObjectStore(namespace), (err) => err instanceof SalesforceSessionError && err.code === 'INVALID_CONFIG');
  }
  const namespace = { idFromName: () => ({}), get: () => ({}) };
  assert.throws(() => new DurableObjectStore(namespace, { name: '' }), (err) => err.code === 'INVALID_CONFIG');
  assert.equal(new DurableObjectStore(namespace).name, DEFAULT_OBJECT_NAME);
  await assert.rejects(new DurableObjectStore(namespace).lock('k', -1), (err) => err.code === 'INVALID_CONFIG');
  await assert.rejects(new DurableObjectStore(namespace).put('k', 42), (err) => err.code === 'INVALID_CONFIG');
});

test('the library with DurableObjectStore: connect in one request, calls in others and in another isolate', async (t) => {
  const { emu, workers } = await workersOnly(t, { second: true });
  const tokens = await emu.mintTokenResponse();
  const connect = await workers.connect('do', 'acme', tokens);
  assert.equal(connect.status, 200, JSON.stringify(connect.body));
  assert.equal(connect.body.mintedBy, 'worker-1');

  const call = await workers.call('do', 'acme', LIMITS);
  assert.equal(call.status, 200, JSON.stringify(call.body));
  assert.equal(call.body.status, 200);
  assert.equal(emu.tokenRequests().length, 0);

  // The record is in the object's storage, read here through Miniflare's Durable Object API.
  const fromTest = new DurableObjectStore(await workers.mf.getDurableObjectNamespace('SESSION_STORE'));
  const stored = await fromTest.get(RECORD_KEY);
  assert.equal(typeof stored, 'string', `${RECORD_KEY} is in the Durable Object`);
  assert.ok(stored.includes(emu.instanceUrl) && stored.includes(emu.orgId));
  assert.deepEqual(await fromTest.list('sfs:'), [RECORD_KEY]);
  // Not in KV: the store is the Durable Object.
  assert.equal(await (await workers.mf.getKVNamespace('SESSIONS_KV')).get(RECORD_KEY), null);

  // The server kills the session: one refresh, and the other isolate then uses the renewed session.
  emu.advance(1000);
  emu.expireAllSessions();
  emu.clearLog();
  assert.equal((await workers.call('do', 'acme', LIMITS)).body.status, 200);
  assert.equal(emu.tokenRequests().length, 1, 'one token request');
  const fresh = emu.sessions().at(-1).accessToken;
  assert.ok((await fromTest.get(RECORD_KEY)).includes(fresh), 'the renewed session is stored in the object');

  emu.clearLog();
  const second = await workers.call('do', 'acme', LIMITS, { worker: 'second' });
  assert.equal(second.body.status, 200, JSON.stringify(second.body));
  assert.equal(emu.tokenRequests().length, 0, 'the second isolate reused it');
  assert.deepEqual(emu.log.map((e) => e.authorization), [`Bearer ${fresh}`]);
});
