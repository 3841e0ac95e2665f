// RedisStore's KV shape and list against a real redis-server, with node-redis and with ioredis:
// round trips, prefix isolation, expiry, SCAN-based list, bad configuration and client failures.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RedisStore } from 'salesforce-session/stores/redis';
import { expectSessionError, expectSessionErrorSync, renderings } from '../node/helpers.mjs';
import { CLIENT_KINDS, connectClient, startRedisServer, uniquePrefix } from './server.mjs';

let server;
before(async () => {
  server = await startRedisServer();
});
after(() => server?.stop());

const SECRET_VALUE = JSON.stringify({ accessToken: '00D000000000001!AQ4AQ.secret-access-token-value-0123456789' });

/** A client that counts the commands it is sent, by name, and passes them to the real one. */
function countingClient(kind, client, counts) {
  const note = (name) => counts.set(String(name).toUpperCase(), (counts.get(String(name).toUpperCase()) ?? 0) + 1);
  return kind.name === 'ioredis'
    ? { call: (name, ...args) => (note(name), client.call(name, ...args)) }
    : { sendCommand: (args) => (note(args[0]), client.sendCommand(args)) };
}

for (const kind of CLIENT_KINDS) {
  describe(`RedisStore over ${kind.name}`, () => {
    test('get, put and delete round trip; a missing key is null', async (t) => {
      const client = await connectClient(t, kind, server);
      const store = new RedisStore(client, { prefix: uniquePrefix() });
      assert.equal(await store.get('acme'), null);
      assert.equal(await store.put('acme', '{"a":1}'), undefined);
      assert.equal(await store.get('acme'), '{"a":1}');
      await store.put('acme', 'é ü \u{1F600} "quoted"\n');
      assert.equal(await store.get('acme'), 'é ü \u{1F600} "quoted"\n');
      assert.equal(await store.delete('acme'), undefined);
      assert.equal(await store.get('acme'), null);
      await store.delete('acme');
    });

    test('the prefix is prepended in Redis and isolates stores sharing a client', async (t) => {
      const client = await connectClient(t, kind, server);
      const base = uniquePrefix();
      const one = new RedisStore(client, { prefix: `${base}one:` });
      const two = new RedisStore(client, { prefix: `${base}two:` });
      const bare = new RedisStore(client);
      await one.put('k', 'from one');
      assert.equal(await two.get('k'), null);
      await two.put('k', 'from two');
      assert.equal(await one.get('k'), 'from one');
      assert.equal(await bare.get(`${base}one:k`), 'from one', 'the key in Redis is prefix + key');
      assert.deepEqual(await one.list(''), ['k'], 'listed keys come back without the prefix');
      await two.delete('k');
      assert.equal(await one.get('k'), 'from one');
    });

    test('expirationTtl becomes SET … EX; a put without it leaves no expiry', async (t) => {
      const client = await connectClient(t, kind, server);
      const prefix = uniquePrefix();
      const store = new RedisStore(client, { prefix });
      await store.put('short', 'v', { expirationTtl: 1 });
      await store.put('long', 'v', { expirationTtl: 3600 });
      await store.put('forever', 'v');
      await store.put('until', 'v', { expiration: Math.floor(Date.now() / 1000) + 120 });
      const ttl = async (key) => Number(await kind.send(client, ['TTL', prefix + key]));
      const short = await ttl('short');
      assert.ok(short === 1 || short === 0, `TTL of short is ${short}`);
      const long = await ttl('long');
      assert.ok(long > 3500 && long <= 3600, `TTL of long is ${long}`);
      assert.equal(await ttl('forever'), -1);
      const until = await ttl('until');
      assert.ok(until > 60 && until <= 121, `TTL of until is ${until}`);
      // The short one goes by itself (polled, bounded).
      const deadline = Date.now() + 5000;
      while ((await store.get('short')) !== null) {
        assert.ok(Date.now() < deadline, 'a key with expirationTtl 1 was still there after 5 s');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(await store.get('forever'), 'v');
    });

    test('list matches the prefix literally: * ? [ ] and \\ are not glob syntax', async (t) => {
      const client = await connectClient(t, kind, server);
      const store = new RedisStore(client, { prefix: `${uniquePrefix()}[x]*:` });
      const keys = ['a*b:1', 'a*b:2', 'aXb:3', 'a?c:1', 'abc:1', 'a[b]:1', 'ab:1', 'a\\b:1', 'a\\\\b:1'];
      for (const key of keys) await store.put(key, 'v');
      assert.deepEqual(await store.list('a*b:'), ['a*b:1', 'a*b:2']);
      assert.deepEqual(await store.list('a?'), ['a?c:1']);
      assert.deepEqual(await store.list('a[b]'), ['a[b]:1']);
      assert.deepEqual(await store.list('a\\b'), ['a\\b:1']);
      assert.deepEqual(await store.list('a\\\\'), ['a\\\\b:1']);
      assert.deepEqual(await store.list(''), [...keys].sort());
      assert.deepEqual(await store.list('zzz'), []);
    });

    test('list walks every SCAN page and returns each key once', async (t) => {
      const client = await connectClient(t, kind, server);
      const prefix = uniquePrefix();
      const counts = new Map();
      const store = new RedisStore(countingClient(kind, client, counts), { prefix });
      const wanted = Array.from({ length: 1500 }, (_, i) => `many:${String(i).padStart(4, '0')}`);
      const batch = 100;
      for (let i = 0; i < wanted.length; i += batch) {
        await Promise.all(wanted.slice(i, i + batch).map((key) => store.put(key, 'v')));
      }
      await Promise.all(Array.from({ length: 50 }, (_, i) => store.put(`other:${i}`, 'v')));
      counts.clear();
      const listed = await store.list('many:');
      assert.equal(listed.length, wanted.length);
      assert.deepEqual(listed, wanted, 'every key, once, sorted');
      assert.ok((counts.get('SCAN') ?? 0) > 1, `SCAN was sent ${counts.get('SCAN')} times: the keys spanned several pages`);
      assert.equal((await store.list('other:')).length, 50);
    });

    test('list never returns lock keys, whatever the prefix', async (t) => {
      const client = await connectClient(t, kind, server);
      const store = new RedisStore(client, { prefix: uniquePrefix() });
      await store.put('sfs:acme', 'record');
      const releaseA = await store.lock('sfs:acme', 5000);
      const releaseB = await store.lock('sfs:other', 5000);
      assert.ok(releaseA && releaseB);
      assert.deepEqual(await store.list(''), ['sfs:acme']);
      assert.deepEqual(await store.list('sfs:'), ['sfs:acme']);
      assert.deepEqual(await store.list('sfs:other'), []);
      await releaseA();
      await releaseB();
    });

    test('a data key cannot reach into the lock key space', async (t) => {
      const client = await connectClient(t, kind, server);
      const store = new RedisStore(client, { prefix: uniquePrefix() });
      const release = await store.lock('k', 5000);
      assert.ok(release);
      await expectSessionError(() => store.get('\u0000lock:k'), 'INVALID_CONFIG');
      await expectSessionError(() => store.delete('\u0000lock:k'), 'INVALID_CONFIG');
      await expectSessionError(() => store.put('\u0000lock:k', 'v'), 'INVALID_CONFIG');
      assert.equal(await store.lock('k', 5000), null, 'the lock is still held');
      await release();
    });

    test('bad arguments are INVALID_CONFIG and reach no command', async (t) => {
      const client = await connectClient(t, kind, server);
      const counts = new Map();
      const store = new RedisStore(countingClient(kind, client, counts), { prefix: uniquePrefix() });
      await expectSessionError(() => store.put('k', 42), 'INVALID_CONFIG');
      await expectSessionError(() => store.put(7, 'v'), 'INVALID_CONFIG');
      await expectSessionError(() => store.get(undefined), 'INVALID_CONFIG');
      await expectSessionError(() => store.put('k', 'v', { expirationTtl: 0 }), 'INVALID_CONFIG');
      await expectSessionError(() => store.put('k', 'v', { expirationTtl: '60' }), 'INVALID_CONFIG');
      await expectSessionError(() => store.list(5), 'INVALID_CONFIG');
      assert.equal(counts.size, 0, `no command was sent: ${JSON.stringify([...counts])}`);
    });

    test('a failed command rejects naming the operation and key, never the value written', async (t) => {
      const client = await kind.connect(server);
      const store = new RedisStore(client, { prefix: uniquePrefix() });
      await store.put('acme', 'before');
      await kind.close(client);
      const failures = [];
      for (const [operation, attempt] of [
        ['SET', () => store.put('acme', SECRET_VALUE)],
        ['EVAL (compareAndPut)', () => store.compareAndPut('acme', SECRET_VALUE, `${SECRET_VALUE}-next`)],
        ['GET', () => store.get('acme')],
      ]) {
        const err = await attempt().then(() => null, (e) => e);
        assert.ok(err instanceof Error, `${operation} rejected`);
        assert.match(err.message, new RegExp(`^Redis ${operation.replace(/[()]/g, '\\$&')} of key "acme" failed: `));
        failures.push(err);
      }
      for (const err of failures) {
        for (const text of renderings(err)) {
          assert.ok(!text.includes('secret-access-token-value'), `the written value is not in ${JSON.stringify(text.slice(0, 200))}`);
        }
      }
    });

    test('an error Redis answers with rejects too, without the value', async (t) => {
      const client = await connectClient(t, kind, server);
      const prefix = uniquePrefix();
      const store = new RedisStore(client, { prefix });
      await kind.send(client, ['HSET', `${prefix}hash`, 'field', 'x']);
      const err = await store.compareAndPut('hash', null, SECRET_VALUE).then(() => null, (e) => e);
      assert.ok(err instanceof Error, 'compareAndPut over a hash rejected');
      assert.match(err.message, /^Redis EVAL \(compareAndPut\) of key "hash" failed: .*WRONGTYPE/s);
      for (const text of renderings(err)) assert.ok(!text.includes('secret-access-token-value'));
    });
  });
}

describe('RedisStore configuration', () => {
  test('a client that is neither node-redis nor ioredis is INVALID_CONFIG', () => {
    for (const client of [undefined, null, {}, 'redis://127.0.0.1', { get() {}, set() {} }, { sendCommand: 'yes' }, { call: 1 }]) {
      const err = expectSessionErrorSync(() => new RedisStore(client), 'INVALID_CONFIG', JSON.stringify(client));
      assert.ok(err.evidence.length > 0);
      assert.ok(err.fix.length > 10);
    }
  });

  test('a prefix that is not a string is INVALID_CONFIG', () => {
    expectSessionErrorSync(() => new RedisStore({ call() {} }, { prefix: 5 }), 'INVALID_CONFIG');
  });
});
