// Host objects that throw or lie — a Headers-like init whose methods throw, a fetch that throws
// synchronously or resolves to something that is not a Response, a Response whose status getter
// throws, a store that throws or rejects, an onEvent that throws: every call settles within a
// bound (a SalesforceSessionError or the caller's own error), and the connection keeps working
// afterwards (a normal call succeeds and a forced refresh() works: no single-flight left stuck).
// Run from the scratch consumer: node --test tests/node/hostile-host-objects.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { SalesforceSessionError } from 'salesforce-session';
import { API, TOKEN_PATH, startEmu, makeManager, connectNew, TestStore } from './helpers.mjs';
import { settleWithin } from './hostile-random.mjs';

const LIMITS = `${API}/limits`;
const BOUND_MS = 10_000;

class CallerError extends Error {}

/** The real fetch, unless `mode` says otherwise for the requests `on` picks ('token', 'rest' or 'all'). */
function hostileFetch() {
  const state = { mode: null, on: 'all' };
  const real = globalThis.fetch.bind(globalThis);
  const fetch = (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input.url);
    const isToken = url.pathname === TOKEN_PATH;
    const applies = state.mode && (state.on === 'all' || (state.on === 'token') === isToken);
    if (!applies) return real(input, init);
    switch (state.mode) {
      case 'throws': throw new CallerError('fetch threw synchronously');
      case 'rejects': return Promise.reject(new CallerError('fetch rejected'));
      case 'undefined': return Promise.resolve(undefined);
      case 'empty object': return Promise.resolve({});
      case 'status x': return Promise.resolve({ status: 'x', ok: true, headers: new Headers() });
      case 'status getter throws':
        return real(input, init).then((res) => new Proxy(res, {
          get(target, name) {
            if (name === 'status') throw new CallerError('status getter threw');
            const value = Reflect.get(target, name, target);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        }));
      case 'never settles': return new Promise(() => {});
      default: throw new Error(`unknown mode ${state.mode}`);
    }
  };
  return { fetch, state };
}

const throwingHeaders = () => [
  ['an iterable whose iterator throws', { [Symbol.iterator]() { throw new CallerError('iterator threw'); } }],
  ['a plain object with a throwing getter', { get accept() { throw new CallerError('getter threw'); } }],
  ['a Proxy whose traps throw', new Proxy({}, { ownKeys() { throw new CallerError('ownKeys threw'); }, get() { throw new CallerError('get threw'); }, getPrototypeOf() { throw new CallerError('getPrototypeOf threw'); } })],
  ['a Headers subclass whose methods throw', new (class extends Headers { forEach() { throw new CallerError('forEach threw'); } entries() { throw new CallerError('entries threw'); } [Symbol.iterator]() { throw new CallerError('iterator threw'); } get() { throw new CallerError('get threw'); } })()],
];

/** Settles within the bound as a Response, a SalesforceSessionError or the caller's own error. */
async function settlesSanely(label, promise) {
  const outcome = await settleWithin(promise, BOUND_MS);
  assert.ok(!outcome.pending, `${label}: still pending after ${BOUND_MS} ms`);
  if (outcome.ok) return outcome;
  const err = outcome.error;
  assert.ok(err instanceof SalesforceSessionError || err instanceof CallerError || (err instanceof TypeError && !/bearer/i.test(err.message)), `${label}: rejected with ${inspect(err)}`);
  return outcome;
}

/** A normal call and a forced refresh both work: nothing was left stuck. */
async function stillWorks(label, sm) {
  const call = await settleWithin(sm.fetch('acme', LIMITS), BOUND_MS);
  assert.ok(call.ok, `${label}: the following call failed: ${inspect(call.error ?? 'pending')}`);
  assert.equal(call.value.status, 200, `${label}: the following call`);
  const refreshed = await settleWithin(sm.refresh('acme'), BOUND_MS);
  assert.ok(refreshed.ok, `${label}: the forced refresh failed: ${inspect(refreshed.error ?? 'pending')}`);
  const again = await settleWithin(sm.fetch('acme', LIMITS), BOUND_MS);
  assert.ok(again.ok && again.value.status === 200, `${label}: the call after the refresh: ${inspect(again.error ?? again.value?.status)}`);
}

test('a Headers-like init whose methods throw rejects that call (fast and slow paths); the connection keeps working', async (t) => {
  const emu = await startEmu(t);
  const { sm } = makeManager(emu);
  await connectNew(sm, emu);
  for (const [label, headers] of throwingHeaders()) {
    for (const [path, input] of [['a path', LIMITS], ['a URL object', new URL(`${emu.instanceUrl}${LIMITS}`)], ['a Request', new Request(`${emu.instanceUrl}${LIMITS}`)]]) {
      const outcome = await settlesSanely(`${label}, ${path}`, sm.fetch('acme', input, { headers }));
      // A plain object is a header record (its Symbol.iterator is not read): it may go through.
      if (!label.startsWith('an iterable')) assert.ok(!outcome.ok, `${label}, ${path}: the call went through`);
    }
    await stillWorks(label, sm);
  }
});

const FETCH_MODES = ['throws', 'rejects', 'undefined', 'empty object', 'status x', 'status getter throws'];

for (const on of ['rest', 'token']) {
  test(`a fetch that misbehaves on ${on === 'rest' ? 'API calls' : 'token requests'} (${FETCH_MODES.join(', ')}): each call settles, then the connection works`, async (t) => {
    const emu = await startEmu(t);
    const hostile = hostileFetch();
    const { sm } = makeManager(emu, { fetch: hostile.fetch, refreshAttempts: 2, refreshBackoffMs: 1 });
    await connectNew(sm, emu);
    for (const mode of FETCH_MODES) {
      if (on === 'token') emu.expireAllSessions(); // the call must refresh, through the hostile fetch
      hostile.state.mode = mode;
      hostile.state.on = on;
      const outcomes = await Promise.all([1, 2, 3].map(() => settlesSanely(`${on} ${mode}`, sm.fetch('acme', LIMITS))));
      assert.ok(outcomes.every((o) => !o.ok || o.value.status !== 200), `${on} ${mode}: a call succeeded through a broken fetch`);
      if (on === 'token') await settlesSanely(`${on} ${mode}: forced refresh`, sm.refresh('acme'));
      hostile.state.mode = null;
      // Past the few seconds of cooldown a failed token request leaves in the record for the fleet.
      emu.advance(5_000);
      await stillWorks(`${on} ${mode}`, sm);
    }
  });
}

test('a fetch that ignores its abort signal and never settles on token requests: the call still rejects within tokenTimeoutMs, then the connection works', async (t) => {
  const emu = await startEmu(t);
  const hostile = hostileFetch();
  const { sm } = makeManager(emu, { fetch: hostile.fetch, tokenTimeoutMs: 300, refreshAttempts: 1 });
  await connectNew(sm, emu);
  emu.expireAllSessions();
  hostile.state.mode = 'never settles';
  hostile.state.on = 'token';
  const outcome = await settlesSanely('never-settling token request', sm.fetch('acme', LIMITS));
  console.log(`never-settling token fetch: settled in ${Math.round(outcome.ms)} ms as ${outcome.ok ? outcome.value.status : outcome.error.code}`);
  assert.ok(!outcome.ok && outcome.error instanceof SalesforceSessionError && outcome.error.code === 'REFRESH_FAILED', `got ${inspect(outcome.error ?? outcome.value?.status)}`);
  assert.equal(outcome.error.retryable, true);
  hostile.state.mode = null;
  // Past the few seconds of cooldown a failed token request leaves in the record for the fleet.
  emu.advance(5_000);
  await stillWorks('after a never-settling token request', sm);
});

test('a store whose get, put or delete throws synchronously or rejects: each call settles, then the connection works', async (t) => {
  const emu = await startEmu(t);
  const store = new TestStore();
  const { sm } = makeManager(emu, { store });
  await connectNew(sm, emu);
  for (const op of ['get', 'put', 'delete']) {
    for (const how of ['throw', 'reject']) {
      const label = `store ${op} ${how}s`;
      emu.expireAllSessions();
      store.fail = { [op]: how };
      await Promise.all([
        settlesSanely(`${label}: fetch`, sm.fetch('acme', LIMITS)),
        settlesSanely(`${label}: fetch`, sm.fetch('acme', LIMITS)),
        settlesSanely(`${label}: refresh`, sm.refresh('acme')),
        settlesSanely(`${label}: info`, sm.info('acme')),
        settlesSanely(`${label}: diagnose`, sm.diagnose('acme')),
      ]);
      store.fail = {};
      await stillWorks(label, sm);
    }
  }
});

for (const mode of ['throws', 'is async and throws']) {
  test(`an onEvent that ${mode} never breaks a call and leaves no unhandled rejection`, async (t) => {
    const emu = await startEmu(t);
    const onEvent = () => {
      if (mode === 'throws') throw new CallerError('onEvent threw');
      return Promise.reject(new CallerError('onEvent rejected'));
    };
    const { sm } = makeManager(emu, { onEvent });
    await connectNew(sm, emu);
    const res = await settlesSanely(`onEvent ${mode}`, sm.fetch('acme', LIMITS));
    assert.ok(res.ok && res.value.status === 200, `onEvent ${mode}: the call failed: ${inspect(res.error)}`);
    emu.expireAllSessions();
    const refreshed = await settlesSanely(`onEvent ${mode}, expired`, sm.fetch('acme', LIMITS));
    assert.ok(refreshed.ok && refreshed.value.status === 200, `onEvent ${mode}, expired: ${inspect(refreshed.error)}`);
    await settlesSanely(`onEvent ${mode}, diagnose`, sm.diagnose('acme'));
    await stillWorks(`onEvent ${mode}`, sm);
    // node --test fails this test on any unhandled rejection it sees meanwhile.
    await new Promise((resolve) => setImmediate(resolve));
  });
}
