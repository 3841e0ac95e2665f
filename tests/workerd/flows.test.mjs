// Encryption at rest and the JWT bearer flow in Miniflare's real workerd (the bundle a deploy
// uploads): KV values sealed through workerd's WebCrypto and read by a second isolate holding the
// same key, a wrong key refused with the KV value untouched; connectJwt with a PEM, re-minted after
// a kill and once for 20 concurrent calls on an expired session.
// Run from the scratch consumer: node --test tests/workerd/flows.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LIMITS, ENCRYPTION_KEY, startEmu, startWorkers } from './harness.mjs';
import { collectSecrets, findLeaks } from '../node/helpers.mjs';
import { decodeJwt, jwtGrants, rsaKeys } from '../node/flow-helpers.mjs';

const TIMEOUT_MS = 7200 * 1000;
const RECORD_KEY = 'enc:conn:acme';
const USERNAME = 'jwt.user@example.com';
const SEALED = /^sfs1\.default\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/;

async function kvValues(workers) {
  const kv = await workers.mf.getKVNamespace('SESSIONS_KV');
  const { keys } = await kv.list({ prefix: 'enc:' });
  return Promise.all(keys.map(async ({ name }) => [name, await kv.get(name)]));
}

test('encryption at rest: the KV values sealed, a second isolate with the key reads them, a wrong key is STORE_FAILED naming the key id', async (t) => {
  const emu = await startEmu(t);
  const workers = await startWorkers(t, emu, { second: true });
  const tokens = await emu.mintTokenResponse();
  const connect = await workers.connect('kv-enc', 'acme', tokens);
  assert.equal(connect.status, 200, JSON.stringify(connect.body));
  assert.equal((await workers.call('kv-enc', 'acme', LIMITS)).body.status, 200);

  const values = await kvValues(workers);
  assert.ok(values.some(([name]) => name === RECORD_KEY), `the record is in KV: ${values.map(([n]) => n)}`);
  for (const [name, value] of values) {
    assert.match(value, SEALED, name);
    for (const clear of [emu.instanceUrl, emu.orgId, emu.defaultUserId]) assert.ok(!value.includes(clear), `${name}: ${clear} not readable`);
  }
  assert.deepEqual(findLeaks(collectSecrets(emu, [tokens.refresh_token, new Uint8Array(ENCRYPTION_KEY)]), values), []);

  const second = await workers.call('kv-enc', 'acme', LIMITS, { worker: 'second' });
  assert.equal(second.status, 200, JSON.stringify(second.body));
  assert.equal(second.body.status, 200);
  assert.equal(emu.tokenRequests().length, 0, 'the second isolate used the stored session');

  const before = await kvValues(workers);
  const wrong = await workers.info('kv-enc-wrong', 'acme', { worker: 'second' });
  assert.equal(wrong.status, 502, JSON.stringify(wrong.body));
  assert.equal(wrong.body.code, 'STORE_FAILED');
  assert.match(wrong.body.evidence.join(' '), /key id 'default'/);
  assert.deepEqual(await kvValues(workers), before, 'the KV values are byte-identical');
});

test('JWT bearer: connectJwt with a PEM signs RS256 in workerd; re-minted after a kill and once for 20 concurrent calls on an expired session', async (t) => {
  const emu = await startEmu(t);
  emu.registerJwtKey(rsaKeys().publicKey);
  const { userId } = emu.createUser({ username: USERNAME });
  const workers = await startWorkers(t, emu);
  const connect = await workers.connectJwt('kv', 'acme', { username: USERNAME, privateKey: rsaKeys().privateKey });
  assert.equal(connect.status, 200, JSON.stringify(connect.body));
  assert.equal(connect.body.userId, userId);
  assert.equal(connect.body.hasRefreshToken, false);

  const [grant] = jwtGrants(emu);
  const { header, claims, verified } = decodeJwt(grant.assertion, rsaKeys().publicKey);
  assert.deepEqual(header, { alg: 'RS256' });
  assert.equal(verified, true);
  assert.deepEqual([claims.iss, claims.sub], [emu.clientId, USERNAME]);
  assert.ok(claims.exp * 1000 > grant.at && claims.exp * 1000 <= grant.at + 180_000, 'exp at most 3 minutes ahead');

  assert.equal((await workers.call('kv', 'acme', LIMITS)).body.status, 200);
  emu.expireAllSessions();
  assert.equal((await workers.call('kv', 'acme', LIMITS)).body.status, 200, 'killed at the server: re-minted');
  assert.equal(jwtGrants(emu).length, 2);

  emu.advance(TIMEOUT_MS + 60_000);
  await workers.setClock(emu.now());
  const calls = await Promise.all(Array.from({ length: 20 }, () => workers.call('kv', 'acme', LIMITS)));
  assert.deepEqual(calls.map((c) => c.body.status), Array(20).fill(200), JSON.stringify(calls.find((c) => c.body.status !== 200)?.body));
  assert.equal(jwtGrants(emu).length, 3, 'one assertion for the 20');
  assert.equal(emu.tokenRequests({ grantType: 'refresh_token' }).length, 0);

  const kv = await workers.mf.getKVNamespace('SESSIONS_KV');
  const stored = await Promise.all((await kv.list({ prefix: 'sfs:' })).keys.map(async ({ name }) => [name, await kv.get(name)]));
  const keyForms = rsaKeys().privateKey.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  assert.deepEqual(findLeaks([keyForms, ...jwtGrants(emu).map((g) => g.assertion)], stored), [], 'neither the key nor an assertion in KV');
});
