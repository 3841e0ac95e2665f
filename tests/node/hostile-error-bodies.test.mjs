// Error bodies no one should have to read whole: a 401 with a 1–2 MiB XML-looking body, a 50 MiB
// 500 and a 500 whose body never ends. Each call settles (classified, or the Response handed back
// with its full original body), the time is printed (not asserted), and the connection still works.
// Run from the scratch consumer: node --test tests/node/hostile-error-bodies.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { SalesforceSessionError } from 'salesforce-session';
import { API, startEmu, makeManager, connectNew } from './helpers.mjs';
import { settleWithin } from './hostile-random.mjs';

const LIMITS = `${API}/limits`;
const BOUND_MS = 60_000;
const MiB = 1024 * 1024;
const XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?><Errors><Error>';
const INVALID_SESSION = `${XML_HEAD}<errorCode>INVALID_SESSION_ID</errorCode><message>Session expired or invalid</message></Error>`;

const ENDLESS_BOUND_MS = 15_000;
const XML_401S = [
  ['an INVALID_SESSION_ID 401 padded to 1.5 MiB with "<a"', { prefix: INVALID_SESSION, chunk: '<a', bytes: 1.5 * MiB, sessionFailure: true }],
  ['a 2 MiB 401 of unterminated "<a" tags', { prefix: XML_HEAD, chunk: '<a', bytes: 2 * MiB }],
  ['a 1 MiB 401 of "<errorCode>" openings that never close', { prefix: XML_HEAD, chunk: '<errorCode><message>', bytes: MiB }],
  ['a 2 MiB 401 of "<" alone', { prefix: '', chunk: '<', bytes: 2 * MiB }],
];

for (const [label, body] of XML_401S) {
  const { sessionFailure = false, ...spec } = body;
  const expectation = sessionFailure ? 'classified as a session failure, refreshed and retried' : 'refreshed and retried, or the 401 Response with the full body';
  test(`${label}, once: ${expectation}, promptly`, async (t) => {
    const emu = await startEmu(t);
    const { sm } = makeManager(emu);
    await connectNew(sm, emu);
    emu.policy.errorBody = { status: 401, contentType: 'application/xml;charset=UTF-8', count: 1, ...spec };
    const outcome = await settleWithin(sm.fetch('acme', LIMITS), BOUND_MS);
    console.log(`${label}, once: settled in ${Math.round(outcome.ms)} ms as ${outcome.ok ? outcome.value.status : outcome.error?.code}`);
    assert.ok(!outcome.pending, 'still pending');
    assert.ok(outcome.ok, `expected a Response: ${inspect(outcome.error)}`);
    if (sessionFailure || outcome.value.status === 200) {
      assert.equal(outcome.value.status, 200, 'the retry after the refresh succeeds');
      assert.equal(emu.tokenRequests().length, 1, 'one refresh');
    } else {
      assert.equal(outcome.value.status, 401);
      assert.equal((await outcome.value.text()).length, spec.bytes, 'the full original body');
    }
  });

  test(`${label}, every time: a SalesforceSessionError or the 401 Response with the full body, promptly`, async (t) => {
    const emu = await startEmu(t);
    const { sm } = makeManager(emu);
    await connectNew(sm, emu);
    emu.policy.errorBody = { status: 401, contentType: 'application/xml;charset=UTF-8', ...spec };
    const outcome = await settleWithin(sm.fetch('acme', LIMITS), BOUND_MS);
    console.log(`${label}, every time: settled in ${Math.round(outcome.ms)} ms as ${outcome.ok ? outcome.value.status : outcome.error?.code}`);
    assert.ok(!outcome.pending, 'still pending');
    if (outcome.ok) {
      assert.equal(outcome.value.status, 401);
      assert.equal((await outcome.value.text()).length, spec.bytes, 'the full original body');
    } else {
      assert.ok(outcome.error instanceof SalesforceSessionError, inspect(outcome.error));
      assert.ok(outcome.error.evidence.join('\n').length < 8192, 'the evidence does not carry the body');
    }
    assert.ok(emu.tokenRequests().length <= 1, `at most one refresh: ${emu.tokenRequests().length}`);
    emu.policy.errorBody = null;
    assert.equal((await sm.fetch('acme', LIMITS)).status, 200, 'the connection still works');
  });
}

test('a 50 MiB 500: the caller gets the Response with all 50 MiB', async (t) => {
  const emu = await startEmu(t);
  const { sm } = makeManager(emu);
  await connectNew(sm, emu);
  emu.policy.errorBody = { status: 500, bytes: 50 * MiB, prefix: '[{"errorCode":"UNKNOWN_EXCEPTION","message":"', chunk: 'x', count: 1 };
  const outcome = await settleWithin(sm.fetch('acme', LIMITS), BOUND_MS);
  console.log(`50 MiB 500: settled in ${Math.round(outcome.ms)} ms as ${outcome.ok ? outcome.value.status : outcome.error?.code}`);
  assert.ok(outcome.ok, inspect(outcome.error ?? 'pending'));
  assert.equal(outcome.value.status, 500);
  const bytes = new Uint8Array(await outcome.value.arrayBuffer());
  assert.equal(bytes.length, 50 * MiB, 'the full original body');
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 15)), '[{"errorCode":"');
  assert.equal((await sm.fetch('acme', LIMITS)).status, 200, 'the connection still works');
});

for (const contentType of ['application/json;charset=UTF-8', 'text/html;charset=UTF-8', 'application/xml;charset=UTF-8']) {
  test(`a 500 (${contentType.split(';')[0]}) whose body never ends: the caller still gets the Response and can read it`, async (t) => {
    const emu = await startEmu(t);
    const { sm } = makeManager(emu);
    await connectNew(sm, emu);
    const prefix = contentType.includes('html') ? '<!DOCTYPE html><html><body>' : contentType.includes('xml') ? XML_HEAD : '[{"message":"';
    emu.policy.errorBody = { status: 500, endless: true, contentType, prefix, chunk: contentType.includes('json') ? 'z' : '<p>z', count: 1 };
    const outcome = await settleWithin(sm.fetch('acme', LIMITS), ENDLESS_BOUND_MS);
    console.log(`endless ${contentType.split(';')[0]} 500: settled in ${Math.round(outcome.ms)} ms as ${outcome.ok ? outcome.value.status : outcome.error?.code}`);
    assert.ok(!outcome.pending, 'still pending: the library waited for a body that never ends');
    assert.ok(outcome.ok, `expected the Response: ${inspect(outcome.error)}`);
    assert.equal(outcome.value.status, 500);
    const reader = outcome.value.body.getReader();
    let seen = 0;
    let head = '';
    while (seen < MiB) {
      const { value, done } = await reader.read();
      assert.equal(done, false, 'the body goes on');
      if (!head) head = new TextDecoder().decode(value.subarray(0, prefix.length));
      seen += value.length;
    }
    assert.equal(head, prefix, 'the body starts where the server started it');
    await reader.cancel();
    assert.equal((await sm.fetch('acme', LIMITS)).status, 200, 'the connection still works');
  });
}

test('a 401 whose body never ends: the call still settles (a SalesforceSessionError or the Response)', async (t) => {
  const emu = await startEmu(t);
  const { sm } = makeManager(emu);
  await connectNew(sm, emu);
  emu.policy.errorBody = { status: 401, endless: true, prefix: '[{"errorCode":"INVALID_SESSION_ID","message":"', chunk: 'z', count: 1 };
  const outcome = await settleWithin(sm.fetch('acme', LIMITS), ENDLESS_BOUND_MS);
  console.log(`endless 401: settled in ${Math.round(outcome.ms)} ms as ${outcome.ok ? outcome.value.status : outcome.error?.code}`);
  assert.ok(!outcome.pending, 'still pending: the library waited for a body that never ends');
  if (outcome.ok) await outcome.value.body?.cancel();
  else assert.ok(outcome.error instanceof SalesforceSessionError, inspect(outcome.error));
  assert.equal((await sm.fetch('acme', LIMITS)).status, 200, 'the connection still works');
});
