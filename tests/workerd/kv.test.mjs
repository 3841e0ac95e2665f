// The packed package in Miniflare's real workerd, bundled by wrangler as a user deploys it, with a
// KV namespace as the store: connect and call, expiry by clock and at the server, and a second
// isolate reusing the stored session.
// Run from the scratch consumer: node --test tests/workerd/kv.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LIMITS, startEmu, startWorkers, workerBundle, bundledWasm } from './harness.mjs';

const TIMEOUT_S = 7200;
const RECORD_KEY = 'sfs:conn:acme';

const restCalls = (emu) => emu.log.filter((e) => e.host === 'instance' && e.path.startsWith('/services/data'));

async function connected(t, options) {
  const emu = await startEmu(t);
  const workers = await startWorkers(t, emu, options);
  const tokens = await emu.mintTokenResponse();
  const connect = await workers.connect('kv', 'acme', tokens);
  assert.equal(connect.status, 200, JSON.stringify(connect.body));
  return { emu, workers, tokens, info: connect.body };
}

test('the bundle is what a deploy uploads: the workerd entry and the .wasm as a module of its own', async () => {
  const bundleDir = await workerBundle();
  const wasm = bundledWasm(bundleDir);
  assert.ok(wasm, 'wrangler emitted the .wasm next to the bundle');
  assert.match(wasm.name, /salesforce_session_bg\.wasm$/);
  assert.ok(wasm.bytes > 10_000, `the module has ${wasm.bytes} bytes`);
});

test('KV store: connect, then a call through the worker; the record is in the KV namespace', async (t) => {
  const { emu, workers, tokens, info } = await connected(t);
  assert.equal(info.connectionId, 'acme');
  assert.equal(info.orgId, emu.orgId);
  assert.equal(info.instanceUrl, emu.instanceUrl);
  assert.equal(info.mintedBy, 'worker-1');
  assert.equal(info.status, 'active');
  assert.equal(emu.log.length, 0, 'connect sends nothing');

  const call = await workers.call('kv', 'acme', LIMITS);
  assert.equal(call.status, 200, JSON.stringify(call.body));
  assert.equal(call.body.status, 200);
  assert.ok(JSON.parse(call.body.body).DailyApiRequests, 'the limits body came back');
  assert.deepEqual(restCalls(emu).map((e) => [e.status, e.authorization]), [[200, `Bearer ${tokens.access_token}`]]);
  assert.equal(emu.tokenRequests().length, 0);

  const kv = await workers.mf.getKVNamespace('SESSIONS_KV');
  const stored = await kv.get(RECORD_KEY);
  assert.equal(typeof stored, 'string', `${RECORD_KEY} is in KV`);
  const record = JSON.parse(stored);
  assert.ok(JSON.stringify(record).includes(emu.instanceUrl), 'the record names the instance');
  assert.ok(stored.includes(emu.orgId), 'the record names the org');
  assert.deepEqual((await kv.list({ prefix: 'sfs:' })).keys.map((k) => k.name), [RECORD_KEY]);
});

test('KV store: expiry by the clock is a proactive refresh: 1 token request and the call succeeds', async (t) => {
  const { emu, workers, tokens, info } = await connected(t);
  // Past the expected expiry (and the server agrees: the session idled out there too).
  emu.advance((TIMEOUT_S + 60) * 1000);
  assert.equal(emu.isSessionActive(tokens.access_token), false);
  assert.equal((await workers.setClock(emu.now())).status, 200);
  emu.clearLog();

  const call = await workers.call('kv', 'acme', LIMITS);
  assert.equal(call.status, 200, JSON.stringify(call.body));
  assert.equal(call.body.status, 200);
  const tokenRequests = emu.tokenRequests();
  assert.equal(tokenRequests.length, 1, 'exactly one token request');
  assert.equal(tokenRequests[0].grantType, 'refresh_token');
  assert.deepEqual(restCalls(emu).map((e) => e.status), [200], 'renewed before sending: no 401');

  const events = (await workers.events()).body;
  assert.deepEqual(events.filter((e) => e.type === 'refresh').map((e) => e.reason), ['proactive']);
  const after = (await workers.info('kv', 'acme')).body;
  assert.ok(after.issuedAt > info.issuedAt, 'the stored session is the new one');
});

test('KV store: a session the server killed is refreshed on the 401: 1 token request and the call succeeds', async (t) => {
  const { emu, workers, tokens } = await connected(t);
  emu.advance(1000);
  emu.expireAllSessions();
  emu.clearLog();

  const call = await workers.call('kv', 'acme', LIMITS);
  assert.equal(call.status, 200, JSON.stringify(call.body));
  assert.equal(call.body.status, 200);
  assert.equal(emu.tokenRequests().length, 1, 'exactly one token request');
  const rest = restCalls(emu);
  assert.deepEqual(rest.map((e) => e.status), [401, 200]);
  assert.equal(rest[0].authorization, `Bearer ${tokens.access_token}`);
  assert.notEqual(rest[1].authorization, `Bearer ${tokens.access_token}`);

  const events = (await workers.events()).body;
  assert.deepEqual(events.filter((e) => e.type === 'refresh').map((e) => e.reason), ['invalid_session']);
  // The renewed session is what KV holds now.
  const stored = await (await workers.mf.getKVNamespace('SESSIONS_KV')).get(RECORD_KEY);
  const fresh = emu.sessions().at(-1).accessToken;
  assert.ok(stored.includes(fresh), 'the new access token is stored');
  // What the worker tells its callers (info, events) carries no token.
  const told = JSON.stringify([await workers.info('kv', 'acme'), events]);
  for (const secret of [tokens.access_token, tokens.refresh_token, fresh]) assert.equal(told.includes(secret), false);
});

test('KV store: a second isolate sharing the namespace reuses the stored session: 0 token requests', async (t) => {
  const { emu, workers, tokens } = await connected(t, { second: true });
  assert.equal((await workers.call('kv', 'acme', LIMITS)).body.status, 200);
  emu.clearLog();

  // The second worker has never seen the connection: everything it knows comes from KV.
  const call = await workers.call('kv', 'acme', LIMITS, { worker: 'second' });
  assert.equal(call.status, 200, JSON.stringify(call.body));
  assert.equal(call.body.status, 200);
  assert.equal(emu.tokenRequests().length, 0, 'no token request');
  assert.deepEqual(restCalls(emu).map((e) => [e.status, e.authorization]), [[200, `Bearer ${tokens.access_token}`]]);
  const info = (await workers.info('kv', 'acme', { worker: 'second' })).body;
  assert.equal(info.mintedBy, 'worker-1', 'the token the first isolate obtained');
  assert.deepEqual((await workers.events({ worker: 'second' })).body.filter((e) => e.type === 'refresh'), []);
});
