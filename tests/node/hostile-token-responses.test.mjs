// connect() with thousands of mutated token responses: each is either a usable connection or a
// SalesforceSessionError (INVALID_TOKEN_RESPONSE / WRONG_INSTANCE_URL) — never a raw TypeError,
// never a token in the error, never a changed store — and no later call on an accepted one throws
// the platform's "invalid header value" TypeError with `Bearer …` in it.
// Run from the scratch consumer: node --test tests/node/hostile-token-responses.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { SalesforceSessionError } from 'salesforce-session';
import { API, startEmu, makeManager, findLeaks } from './helpers.mjs';
import { seedFrom, forAllCollect } from './hostile-random.mjs';

const SEED = seedFrom(0x5eed0002);
const CASES = 3000;
const REFUSAL_CODES = ['INVALID_TOKEN_RESPONSE', 'WRONG_INSTANCE_URL'];

/** A fetch that never leaves loopback: anything else is the caller's own error, before any network. */
class OfflineError extends Error {}
function loopbackOnly(inner = globalThis.fetch.bind(globalThis)) {
  return (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input.url);
    if (url.hostname !== '127.0.0.1') throw new OfflineError(`offline: ${url.hostname}`);
    return inner(input, init);
  };
}

const TYPES = [42, 0, -1, 1.5, true, false, null, [], ['x'], {}, { a: 1 }, '', ' ', 'null', 'undefined'];
const BAD_CHARS = ['\n', '\r\nX-Evil: 1', '\u0000', ' ', '\t', 'é', '😀', '\u2028', '\u007f', '\ud800'];

/** Mutations of a token: its type, a character no header can carry (inside it), its length. */
function mutateToken(rng, token) {
  const roll = rng.int(4);
  if (roll === 0) return { value: rng.pick(TYPES) };
  if (roll === 1) {
    const at = 1 + rng.int(token.length - 2);
    return { value: token.slice(0, at) + rng.pick(BAD_CHARS) + token.slice(at), mustRefuse: 'a character a header cannot carry' };
  }
  if (roll === 2) return { value: rng.pick(['x', 'null', 'a'.repeat(15), 'a'.repeat(16), `${token}A`, token.slice(0, 20), 'a'.repeat(8192), 'a'.repeat(8193), 'Z'.repeat(1 << 20)]) };
  return { value: rng.pick([` ${token}`, `${token} `, token.toLowerCase(), `Bearer ${token}`]) };
}

function mutations(emu, good) {
  const now = emu.now();
  const ids = good.id.slice(good.id.indexOf('/id/'));
  const login = new URL(emu.loginUrl);
  return {
    access_token: (rng) => mutateToken(rng, good.access_token),
    refresh_token: (rng) => (rng.chance(0.2) ? { value: undefined } : mutateToken(rng, good.refresh_token)),
    issued_at: (rng) => rng.pick([
      { value: 0, mustRefuse: 'issued_at 0' }, { value: '0', mustRefuse: 'issued_at 0' },
      { value: String(now + 400 * 86400000), mustRefuse: 'issued_at far in the future' }, { value: '99999999999999999999', mustRefuse: 'issued_at far in the future' },
      { value: 'abc', mustRefuse: 'issued_at not a number' }, { value: '0x10', mustRefuse: 'issued_at not a number' }, { value: '1e12', mustRefuse: 'issued_at not a number' },
      { value: '-1', mustRefuse: 'issued_at negative' }, { value: 1.5 }, { value: Number.MAX_SAFE_INTEGER }, { value: 1e300 }, { value: '' }, { value: ' 123' },
      { value: String(now - 365 * 86400000) }, { value: now }, { value: String(now) }, { value: rng.pick(TYPES) }, { value: undefined },
    ]),
    instance_url: (rng) => rng.pick([
      { value: good.instance_url }, { value: `${good.instance_url}/` }, { value: `${good.instance_url}/services/data` }, { value: ` ${good.instance_url}` },
      { value: `${good.instance_url}:99999` }, { value: 'https://acme.my.salesforce.com' }, { value: 'https://acme.my.salesforce.com:8443' },
      { value: 'http://acme.my.salesforce.com', mustRefuse: 'an http instance_url' }, { value: 'https://login.salesforce.com', mustRefuse: 'a login host' },
      { value: 'https://test.salesforce.com', mustRefuse: 'a login host' }, { value: 'https://acme.lightning.force.com', mustRefuse: 'a Lightning host' },
      { value: 'https://acme.my.salesforce.com.evil.com', mustRefuse: 'a look-alike host' }, { value: 'https://evil.com', mustRefuse: 'an unknown host' },
      { value: 'javascript:alert(1)', mustRefuse: 'a javascript: URL' }, { value: 'data:,x', mustRefuse: 'a data: URL' },
      { value: '//acme.my.salesforce.com' }, { value: 'https://user@acme.my.salesforce.com' }, { value: 'https://acme.my.salesforce.com\\@evil.com' },
      { value: 'https://ACME.MY.SALESFORCE.COM' }, { value: 'https://ａcme.my.salesforce.com' }, { value: 'https://acme.my.site.com' },
      { value: `http://[::1]:${login.port}` }, { value: rng.pick(TYPES) }, { value: undefined },
    ]),
    id: (rng) => rng.pick([
      { value: good.id }, { value: `${good.id}/` }, { value: `${good.id}/extra` }, { value: `${good.id}?x=1` },
      { value: `https://login.salesforce.com.evil.com${ids}`, mustRefuse: 'an identity URL on a look-alike of a login host' },
      { value: `https://${login.hostname}.evil.com${ids}`, mustRefuse: 'an identity URL on a look-alike of the login host' },
      { value: `https://acme.lightning.force.com${ids}`, mustRefuse: 'an identity URL on a Lightning host' },
      { value: `https://other.my.salesforce.com${ids}`, mustRefuse: "an identity URL on another org's My Domain" },
      { value: `https://evil.com${ids}`, mustRefuse: 'an identity URL on an unknown domain' },
      { value: `http://login.salesforce.com${ids}` }, { value: `${emu.loginUrl}/id/bad/ids` }, { value: `${emu.loginUrl}/id/00D000000000001AAA` },
      { value: `javascript:${ids}` }, { value: rng.pick(TYPES) }, { value: undefined },
    ]),
    token_type: (rng) => ({ value: rng.pick(['Bearer', 'bearer', 'MAC', 'Bearer\n', 42, null, undefined]) }),
    scope: (rng) => ({ value: rng.pick(['api', 'api refresh_token', '', 42, ['api'], null, undefined, 'x'.repeat(10000)]) }),
    signature: (rng) => ({ value: rng.pick(['', 'abc', 42, null, undefined]) }),
    extra: (rng) => ({ value: rng.pick([{ __proto__: null, x: 1 }, 'x'.repeat(100000), [1, [2, [3]]]]) }),
  };
}

/** The whole body replaced: not JSON, not an object, error responses, duplicated members. */
function wholeBodies(good) {
  const text = JSON.stringify(good);
  return [
    '', ' ', 'null', '"string"', '42', '[]', '[{}]', 'true', '{', text.slice(0, -1), `${text}x`, `\ufeff${text}`, `${text}\u0000`,
    `{"__proto__":{"access_token":"polluted-token-0123456789"},${text.slice(1)}`,
    `${text.slice(0, -1)},"access_token":"${good.access_token}\\n"}`,
    `${text.slice(0, -1)},"instance_url":"https://evil.com"}`,
    JSON.stringify({ error: 'invalid_grant', error_description: `expired ${good.refresh_token}` }),
    JSON.stringify({ ...good, error: 'invalid_grant' }),
    `${'['.repeat(5000)}${']'.repeat(5000)}`,
    `{"a":${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}}`,
  ];
}

function generate(rng, mutate, good, bodies) {
  if (rng.chance(0.05)) return { body: rng.pick(bodies), reasons: [] };
  const response = { ...good };
  // The last mutation of a member decides whether it must be refused.
  const reasons = new Map();
  const names = Object.keys(mutate);
  const count = 1 + rng.int(rng.chance(0.7) ? 1 : 3);
  for (let i = 0; i < count; i += 1) {
    const name = rng.pick(names);
    const { value, mustRefuse } = mutate[name](rng);
    const member = name === 'extra' ? `extra_${rng.int(3)}` : name;
    if (value === undefined) delete response[member];
    else response[member] = value;
    if (mustRefuse) reasons.set(member, mustRefuse);
    else reasons.delete(member);
  }
  const live = [...reasons].map(([member, mustRefuse]) => ({ member, mustRefuse }));
  return { body: rng.chance(0.3) ? JSON.stringify(response) : response, reasons: live };
}

const isHeaderTypeError = (err) => err instanceof TypeError && /bearer|header/i.test(`${err.message} ${err.cause?.message ?? ''}`);

test(`${CASES} mutated token responses: a connection or a SalesforceSessionError, never a TypeError, a token in the message or a changed store`, async (t) => {
  const emu = await startEmu(t);
  const { sm, store, events } = makeManager(emu, { fetch: loopbackOnly() });
  const good = await emu.mintTokenResponse();
  await sm.connect('acme', good);
  const mutate = mutations(emu, good);
  const bodies = wholeBodies(good);
  const accepted = [];
  const counts = { cases: 0, accepted: 0, refused: 0, mustRefuse: 0 };

  // Kept until the later calls below have run too, so one run reports both.
  const connectPhase = await forAllCollect(SEED, CASES, async (rng, index) => {
    const { body, reasons } = generate(rng, mutate, good, bodies);
    const id = rng.chance(0.5) ? 'acme' : `case-${index}`;
    const before = JSON.stringify(store.snapshot());
    counts.cases += 1;
    const shown = inspect(body, { depth: 2, maxStringLength: 120, breakLength: Infinity, compact: true });
    let info;
    let err;
    try {
      info = await sm.connect(id, body);
    } catch (thrown) {
      err = thrown;
    }
    if (err === undefined) {
      assert.equal(reasons.length, 0, `${shown}: accepted although it has ${reasons.map((r) => r.mustRefuse).join(', ')}`);
      assert.equal(info.connectionId, id);
      counts.accepted += 1;
      if (id !== 'acme') accepted.push(id);
      return;
    }
    assert.ok(err instanceof SalesforceSessionError, `${shown}: threw ${inspect(err)}`);
    assert.ok(REFUSAL_CODES.includes(err.code), `${shown}: code ${err.code} (${err.message})`);
    const tokens = [good.access_token, good.refresh_token];
    for (const name of ['access_token', 'refresh_token']) {
      const value = typeof body === 'object' ? body[name] : null;
      if (typeof value === 'string' && value.length >= 16) tokens.push(value);
    }
    assert.deepEqual(findLeaks(tokens, [['error', err]]), [], `${shown}: a token is in the ${err.code} error`);
    assert.equal(JSON.stringify(store.snapshot()), before, `${shown}: the store changed although connect was refused`);
    counts.refused += 1;
    if (reasons.length) counts.mustRefuse += 1;
  }).catch((err) => err).finally(() => console.log(`token responses (seed ${SEED}): ${JSON.stringify(counts)}`));
  assert.ok(counts.accepted > 50 && counts.refused > 500, 'both outcomes are exercised');

  // Later calls on whatever was accepted: a Response, a SalesforceSessionError, or the caller's
  // own fetch's error — never the platform's header TypeError quoting the bearer value.
  const later = [];
  for (const id of [...new Set(accepted)].slice(0, 400)) {
    for (const call of [() => sm.fetch(id, `${API}/limits`), () => sm.info(id), () => sm.fetch(id, `${API}/limits`, { headers: new Headers({ accept: 'application/json' }) })]) {
      try {
        const res = await call();
        if (res instanceof Response) await res.arrayBuffer();
      } catch (err) {
        later.push([id, err]);
        assert.ok(!isHeaderTypeError(err), `${id}: a header TypeError escaped: ${err.message.slice(0, 80).replace(/Bearer \S+/, 'Bearer …')}`);
        assert.ok(err instanceof SalesforceSessionError || err instanceof OfflineError || err instanceof TypeError, `${id}: ${inspect(err)}`);
      }
    }
  }
  const secrets = [good.access_token, good.refresh_token];
  assert.deepEqual(findLeaks(secrets, [...later.map(([id, err]) => [`later ${id}`, err]), ...events.map((e, i) => [`event ${i} ${e.type}`, e])]), []);
  console.log(`later calls on ${new Set(accepted).size} accepted connections: ${later.length} errors, none a header TypeError`);
  if (connectPhase instanceof Error) throw connectPhase;
});

test('a token with a newline is refused at connect, so no later fetch meets the platform\'s header TypeError', async (t) => {
  const emu = await startEmu(t);
  const { sm, spy } = makeManager(emu);
  const good = await emu.mintTokenResponse();
  for (const bad of [`${good.access_token.slice(0, 30)}\n${good.access_token.slice(30)}`, `${good.access_token}\r\nX-Evil: 1`, `${good.access_token.slice(0, 30)}\u0000${good.access_token.slice(30)}`]) {
    const err = await assert.rejects(sm.connect('acme', { ...good, access_token: bad }), (e) => e instanceof SalesforceSessionError && e.code === 'INVALID_TOKEN_RESPONSE');
    void err;
  }
  assert.equal(spy.calls.length, 0);
});
