// Reads on a fresh token reuse the authorization the engine prepared for the connection, without
// asking it again. These tests pin down when that reuse must end: a rejected session, the token's
// refresh falling due, another origin, a write, disconnect, a new connect. Most managers here have
// no onEvent listener (the case where a successful reused read never reaches the engine).
// Run from the scratch consumer: node --test tests/node/hot-path-reuse.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { API, startEmu, makeManager, connectNew, expectSessionError, restRequests, startStrayServer } from './helpers.mjs';

const LIMITS = `${API}/limits`;
const ACCOUNTS = `${API}/sobjects/Account`;

async function get(sm, path = LIMITS) {
  const res = await sm.fetch('acme', path);
  await res.arrayBuffer();
  return res;
}

/** A manager on the emulator with no event listener. */
function quietManager(emu, options = {}) {
  return makeManager(emu, { onEvent: undefined, ...options });
}

test('a reused read whose session died at the server goes to the engine: one refresh, the call retried, later reads carry the new token', async (t) => {
  const emu = await startEmu(t);
  const { sm } = quietManager(emu);
  const { tokens } = await connectNew(sm, emu);
  for (let i = 0; i < 3; i++) assert.equal((await get(sm)).status, 200);
  assert.equal(emu.requestsWithToken(tokens.access_token).length, 3);

  emu.expireSession(tokens.access_token);
  assert.equal((await get(sm)).status, 200, 'the 401 is recovered invisibly');
  assert.equal(emu.tokenRequests().length, 1);
  const renewed = emu.tokenRequests()[0];
  assert.equal(renewed.status, 200);
  const fresh = emu.sessions().find((s) => s.accessToken !== tokens.access_token).accessToken;

  const oldUses = emu.requestsWithToken(tokens.access_token).length;
  for (let i = 0; i < 3; i++) assert.equal((await get(sm)).status, 200);
  assert.equal(emu.requestsWithToken(tokens.access_token).length, oldUses, 'the rejected token is never sent again');
  assert.equal(emu.requestsWithToken(fresh).length, 4, 'the retry and the three reads after it');
  assert.equal(emu.tokenRequests().length, 1);
});

test('a read is never sent with a token whose refresh is due, even within a second of the last look', async (t) => {
  const emu = await startEmu(t);
  // Due one second after issue: 60 s estimated lifetime, 59 s margin.
  const { sm } = quietManager(emu, { sessionTimeoutSeconds: 60, refreshMarginSeconds: 59 });
  const tokens = await emu.mintTokenResponse();
  emu.advance(500);
  await sm.connect('acme', tokens);
  assert.equal((await get(sm)).status, 200);
  assert.equal((await get(sm)).status, 200);
  assert.equal(emu.tokenRequests().length, 0);

  // Past the refresh due time (issue + 1 s), well within a second of the look above.
  emu.advance(600);
  assert.equal((await get(sm)).status, 200);
  assert.equal(emu.tokenRequests().length, 1, 'the due token was renewed before the read was sent');
  const last = restRequests(emu).at(-1);
  assert.notEqual(last.token, tokens.access_token, 'the read went with the new token');
});

test('a reused authorization goes to the instance origin only: other origins are refused before sending', async (t) => {
  const emu = await startEmu(t);
  const stray = await startStrayServer(t);
  const { sm } = quietManager(emu);
  await connectNew(sm, emu);
  assert.equal((await get(sm)).status, 200);
  assert.equal((await get(sm)).status, 200);

  await expectSessionError(sm.fetch('acme', `${stray.url}${LIMITS}`), 'WRONG_INSTANCE_URL');
  await expectSessionError(sm.fetch('acme', `${emu.loginUrl}${LIMITS}`), 'WRONG_INSTANCE_URL');
  await expectSessionError(sm.fetch('acme', `//127.0.0.1:1${LIMITS}`), 'WRONG_INSTANCE_URL');
  assert.equal(stray.requests.length, 0);
  assert.equal(emu.log.filter((e) => e.host === 'login').length, 0);
  assert.equal((await get(sm)).status, 200, 'reads on the instance go on');
});

test('writes ask the engine every time: a write held for maintenance is not sent, reads continue', async (t) => {
  const emu = await startEmu(t);
  const { sm } = quietManager(emu);
  await connectNew(sm, emu);
  assert.equal((await get(sm)).status, 200);
  assert.equal((await get(sm)).status, 200);
  emu.policy.readOnly = true;
  const post = () => sm.fetch('acme', ACCOUNTS, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"Name":"Acme"}' });
  await expectSessionError(post(), 'ORG_READ_ONLY');
  // Reads make the authorization reusable again; a write still asks, and is held.
  assert.equal((await get(sm)).status, 200);
  assert.equal((await get(sm)).status, 200);
  const sent = emu.log.length;
  await expectSessionError(post(), 'ORG_READ_ONLY');
  await expectSessionError(sm.fetch('acme', `${ACCOUNTS}/001000000000001AAA`, { method: 'patch', body: '{}' }), 'ORG_READ_ONLY');
  assert.equal(emu.log.length, sent, 'held writes never reach Salesforce');
  assert.equal((await get(sm)).status, 200, 'reads continue');
});

test('disconnect ends reuse: the next read is refused and nothing is sent', async (t) => {
  const emu = await startEmu(t);
  const { sm } = quietManager(emu);
  await connectNew(sm, emu);
  assert.equal((await get(sm)).status, 200);
  assert.equal((await get(sm)).status, 200);
  await sm.disconnect('acme');
  const sent = restRequests(emu).length;
  await expectSessionError(sm.fetch('acme', LIMITS), 'UNKNOWN_CONNECTION');
  assert.equal(restRequests(emu).length, sent);
});

test('a new connect ends reuse: the next read carries the new token', async (t) => {
  const emu = await startEmu(t);
  const { sm } = quietManager(emu);
  const first = await connectNew(sm, emu);
  assert.equal((await get(sm)).status, 200);
  assert.equal((await get(sm)).status, 200);
  const second = await connectNew(sm, emu);
  assert.equal((await get(sm)).status, 200);
  assert.equal(restRequests(emu).at(-1).token, second.tokens.access_token);
  assert.equal(emu.requestsWithToken(first.tokens.access_token).length, 2);
});

test('a reused read answered with an error status that is no session failure comes back as it is', async (t) => {
  const emu = await startEmu(t);
  const { sm } = quietManager(emu);
  await connectNew(sm, emu);
  assert.equal((await get(sm)).status, 200);
  const missing = await sm.fetch('acme', `${ACCOUNTS}/001000000000404AAA`);
  assert.equal(missing.status, 404);
  assert.equal((await missing.json())[0].errorCode, 'NOT_FOUND');
  assert.equal((await get(sm)).status, 200);
  assert.equal(emu.tokenRequests().length, 0);
});

test('with a listener, reused reads are reported exactly as prepared ones: the same request event members', async (t) => {
  const emu = await startEmu(t);
  const { sm, events } = makeManager(emu);
  await connectNew(sm, emu);
  const query = `${API}/query?q=SELECT+Id+FROM+Account#top`;
  for (let i = 0; i < 3; i++) assert.equal((await get(sm, query)).status, 200);
  assert.equal((await get(sm, 'services/data/v62.0/limits?x=1')).status, 200);
  const requests = events.filter((e) => e.type === 'request');
  assert.equal(requests.length, 4);
  const shape = (e) => ({ ...e, durationMs: typeof e.durationMs, at: typeof e.at });
  const first = shape(requests[0]);
  assert.deepEqual(first, {
    type: 'request', method: 'GET', path: `${API}/query`, status: 200, durationMs: 'number', attempt: 1,
    connectionId: 'acme', orgId: emu.orgId, userId: emu.defaultUserId, at: 'number',
  });
  assert.deepEqual(shape(requests[1]), first);
  assert.deepEqual(shape(requests[2]), first);
  assert.deepEqual(shape(requests[3]), { ...first, path: LIMITS });
  for (const e of requests) assert.ok(Number.isInteger(e.durationMs) && e.durationMs >= 0, JSON.stringify(e));
});

test("info() reports reused reads in lastUsedAt", async (t) => {
  const emu = await startEmu(t);
  const { sm } = quietManager(emu);
  await connectNew(sm, emu);
  assert.equal((await get(sm)).status, 200);
  assert.equal(typeof (await sm.info('acme')).lastUsedAt, 'number');
  assert.equal((await get(sm)).status, 200);
  // Within a second of the engine's look, so the read reuses the authorization.
  emu.advance(400);
  const usedAt = emu.now();
  assert.equal((await get(sm)).status, 200);
  const info = await sm.info('acme');
  assert.ok(info.lastUsedAt >= usedAt, `lastUsedAt ${info.lastUsedAt} is before the last read at ${usedAt}`);
});

test('a reused read goes where the platform URL parser sends its input: generated paths compared with new URL()', async (t) => {
  const emu = await startEmu(t);
  const { sm, spy } = quietManager(emu);
  await connectNew(sm, emu);
  // Pieces that the parser keeps, encodes, strips or resolves (dot segments, backslashes).
  const pieces = ['a', 'B9', '/', '/', '/', '.', '.', '..', '%2e', '%2E', '%41', '?', '#', '\\', ' ', '\t', '\n', "'", '"', '<', '>', '`',
    '{', '}', '|', '^', '[', ']', 'é', '\u0000', '~', '-', '_', '!', '$', '&', '(', ')', '*', '+', ',', ';', '=', ':', '@'];
  let seed = 0x5eed0002;
  const next = (n) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let i = 0; i < 300; i++) {
    let input = `/${'abc'[next(3)]}`;
    for (let j = next(10); j > 0; j--) input += pieces[next(pieces.length)];
    assert.equal((await get(sm)).status, 200);
    const res = await sm.fetch('acme', input);
    await res.arrayBuffer();
    assert.equal(spy.calls.at(-1).url, new URL(input, emu.instanceUrl).href, JSON.stringify(input));
  }
  assert.equal(spy.calls.length, 600);
  assert.equal(emu.tokenRequests().length, 0);
});
