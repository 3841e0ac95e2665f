// The bearer token goes where the platform's URL parser says the input lands — the instance
// origin — or nowhere: thousands of generated request inputs (strings, URL objects, Requests)
// compared with `new URL(input, instanceUrl)`. The identity URL is the one exception.
// Run from the scratch consumer: node --test tests/node/hostile-url-differential.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { SalesforceSessionError } from 'salesforce-session';
import { startEmu, makeManager, connectNew, startStrayServer } from './helpers.mjs';
import { seedFrom, forAllCollect } from './hostile-random.mjs';

const SEED = seedFrom(0x5eed0001);
const CASES = 4000;

/** The parts inputs are built from: schemes and slash tricks, hosts, ports, paths, suffixes. */
function parts(emu, stray) {
  const instance = new URL(emu.instanceUrl);
  const login = new URL(emu.loginUrl);
  const port = instance.port;
  const long = (label, count) => Array.from({ length: count }, () => label).join('.');
  return {
    lead: ['', '', '', ' ', '\t', '\n', '\r\n', '  \t', '\u0000', '\u00a0', '\ufeff'],
    scheme: ['', '', 'http://', 'https://', 'HTTP://', 'hTTp://', 'http:', 'https:', 'http:/', 'http:\\\\', 'http:\\/', '//', '\\\\', '/\\', '\\/', '///',
      'javascript:', 'data:text/plain,', 'ftp://', 'ws://', 'file://', 'blob:', 'about:', 'mailto:', 'http: //', 'ht\ttp://', 'ht\ntp://'],
    host: [
      `127.0.0.1:${port}`, `127.0.0.1:${port}`, `127.0.0.1:${port}`, instance.host, `127.0.0.1:0${port}`, `127.0.0.1:${port}.`,
      '127.0.0.1', `127.0.0.1:${Number(port) + 1}`, login.host, `localhost:${port}`, `127.0.0.2:${port}`, `127.1:${port}`,
      `0x7f.0.0.1:${port}`, `0177.0.0.1:${port}`, `2130706433:${port}`, `[::1]:${port}`, `[::ffff:127.0.0.1]:${port}`, `[::ffff:7f00:1]:${port}`,
      `%31%32%37.0.0.1:${port}`, `127.0.0.1%3A${port}`, `127%2E0.0.1:${port}`, `１２７.0.0.1:${port}`, `127.0.0.1:${port}\\@evil.example.com`,
      `a@127.0.0.1:${port}`, `a:b@127.0.0.1:${port}`, `@127.0.0.1:${port}`, `127.0.0.1:${port}@evil.example.com`, `evil.example.com@127.0.0.1:${port}`,
      `127.0.0.1:${port}.evil.example.com`, `127.0.0.1.evil.example.com:${port}`, `127.0.0.1:${port}:${port}`, `127.0.0.1: ${port}`,
      `127.0.0.1:+${port}`, '127.0.0.1:65536', '127.0.0.1:0', `127.0.0.1\t:${port}`, `127.0.0.1\n:${port}`, `127.0.0.1 :${port}`,
      stray.host, 'login.salesforce.com', 'test.salesforce.com', 'LOGIN.salesforce.com', 'acme.my.salesforce.com', 'acme.my.salesforce.com:443',
      'acme.my.salesforce.com.evil.com', 'acme.my.salesforce.com%2eevil.com', 'acme.lightning.force.com', 'acme.my-lightning.com',
      'acme.my.site.com', 'evil.com', 'xn--acme-9oa.my.salesforce.com', 'ａｃｍｅ.my.salesforce.com', 'acmé.my.salesforce.com', 'аcme.my.salesforce.com',
      `${long('a'.repeat(63), 5)}.com`, `${'a'.repeat(64)}.my.salesforce.com`, `${long('b', 130)}`, '', ' ', '.', '..', '[::1', '[]', '%', '%00',
    ],
    path: [
      '/services/data/v62.0/limits', '/services/data/v62.0/limits', '/services/data', '/', '', '/services/data/../../services/data/v62.0/limits',
      '/services/data/v62.0/%2e%2e/%2e%2e/x', '/..', '/./services/data', '/services%2fdata', '\\services\\data\\v62.0\\limits', '/services/data/v62.0/limits\\..\\..',
      '/%00', '/%zz', '/%', '/é', '/\u202e', '/services/data/v62.0/query?q=SELECT+Id+FROM+Account', '?', '?a=1&b=2', '#frag', '/x#y#z', '/x?y#z',
      `/services/data/v62.0/limits?next=http://evil.example.com`, '/services/data/v62.0/limits#@evil.example.com', '/@evil.example.com', '//evil.example.com/x',
      '/x\ty', '/x\ny', '/x y', ';', ':', '/:', '/a:b', `/${'p'.repeat(3000)}`,
    ],
    tail: ['', '', '', ' ', '\t', '\n', '#', '#\u0000', '?#', '%', '\u0000'],
  };
}

/** One generated input: usually scheme + host + path, sometimes a bare path, a known URL or a non-string. */
function generate(rng, p, known) {
  const roll = rng.int(20);
  if (roll === 0) return rng.pick(known);
  if (roll === 1) return rng.pick(p.lead) + rng.pick(p.path) + rng.pick(p.tail);
  if (roll === 2) return rng.pick([42, null, undefined, {}, { url: 5 }, [], true, () => '/x', Symbol('x'), 10n]);
  const host = rng.pick(p.host);
  const joiner = rng.chance(0.05) ? rng.pick(['', ':', '\\', '/']) : '';
  return rng.pick(p.lead) + rng.pick(p.scheme) + joiner + host + rng.pick(p.path) + rng.pick(p.tail);
}

/** What the platform makes of the input: the URL it lands on, or null when it does not parse. */
function landing(input, base) {
  if (input instanceof URL) return input;
  if (typeof input === 'object' && input instanceof Request) return new URL(input.url);
  if (typeof input !== 'string') return null;
  try {
    return new URL(input, base);
  } catch {
    return null;
  }
}

/** Wraps a string input as a URL object or a Request now and then (when the platform can build one). */
function dress(rng, input, base) {
  if (typeof input !== 'string') return input;
  const roll = rng.int(10);
  try {
    if (roll === 0) return new URL(input, base);
    if (roll === 1) return new Request(new URL(input, base));
  } catch {
    // Not constructible: stays a string.
  }
  return input;
}

const withoutFragment = (href) => href.split('#')[0];
const show = (input) => (typeof input === 'string' ? JSON.stringify(input) : input instanceof Request ? `Request(${JSON.stringify(input.url)})` : inspect(input));

test(`${CASES} generated inputs: the bearer token goes exactly where new URL(input, instanceUrl) lands on the instance, or nowhere`, async (t) => {
  const emu = await startEmu(t);
  const stray = await startStrayServer(t);
  const { sm, spy } = makeManager(emu);
  const { tokens } = await connectNew(sm, emu);
  const base = tokens.instance_url;
  const instanceOrigin = new URL(base).origin;
  const identity = new URL(tokens.id);
  const p = { ...parts(emu, stray), host: parts(emu, { host: new URL(stray.url).host }).host };
  const known = [tokens.id, `${tokens.id}?x=1`, `${tokens.id}/more`, `${emu.loginUrl}/services/oauth2/token`, `${base}/services/data/v62.0/limits`, `${emu.loginUrl}/id/00D000000000002AAA/005000000000002AAA`];
  const counts = { inputs: 0, sent: 0, identity: 0, refused: 0, WRONG_INSTANCE_URL: 0, INVALID_CONFIG: 0, strings: 0, urls: 0, requests: 0, other: 0 };

  await forAllCollect(SEED, CASES, async (rng) => {
    const input = dress(rng, generate(rng, p, known), base);
    counts.inputs += 1;
    counts[typeof input === 'string' ? 'strings' : input instanceof URL ? 'urls' : input instanceof Request ? 'requests' : 'other'] += 1;
    const lands = landing(input, base);
    const hasUserinfo = lands !== null && (lands.username !== '' || lands.password !== '');
    const toInstance = lands !== null && lands.origin === instanceOrigin && !hasUserinfo;
    const toIdentity = lands !== null && lands.origin === identity.origin && lands.pathname === identity.pathname && !hasUserinfo;
    const before = spy.calls.length;
    const strayBefore = stray.requests.length;
    let outcome;
    try {
      const res = await sm.fetch('acme', input);
      await res.arrayBuffer();
      outcome = { res };
    } catch (err) {
      outcome = { err };
    }
    const calls = spy.calls.slice(before);
    const label = `${show(input)} lands on ${lands?.href ?? '(unparseable)'}`;
    assert.equal(stray.requests.length, strayBefore, `${label}: the stray server got a request`);
    if (toInstance || (toIdentity && outcome.res)) {
      assert.ok(outcome.res, `${label}: expected it sent, got ${inspect(outcome.err)}`);
      assert.equal(calls.length, 1, `${label}: ${calls.length} requests: ${JSON.stringify(calls.map((c) => c.url))}`);
      assert.equal(withoutFragment(calls[0].url), withoutFragment(lands.href), `${label}: sent elsewhere`);
      assert.equal(calls[0].headers.get('authorization'), `Bearer ${tokens.access_token}`, `${label}: no bearer token`);
      counts[toInstance ? 'sent' : 'identity'] += 1;
      return;
    }
    assert.equal(calls.length, 0, `${label}: expected nothing sent, sent to ${JSON.stringify(calls.map((c) => c.url))}`);
    assert.ok(outcome.err instanceof SalesforceSessionError, `${label}: expected a SalesforceSessionError, got ${outcome.res ? `a ${outcome.res.status} Response` : inspect(outcome.err)}`);
    const usableType = typeof input === 'string' || input instanceof URL || input instanceof Request;
    const allowed = usableType ? ['WRONG_INSTANCE_URL'] : ['INVALID_CONFIG'];
    assert.ok(allowed.includes(outcome.err.code), `${label}: code ${outcome.err.code}, expected ${allowed.join(' or ')}: ${outcome.err.message}`);
    assert.ok(!outcome.err.message.includes(tokens.access_token), `${label}: the token is in the message`);
    counts.refused += 1;
    counts[outcome.err.code] += 1;
  }).finally(() => console.log(`url differential (seed ${SEED}): ${JSON.stringify(counts)}`));

  assert.equal(counts.inputs, CASES);
  assert.ok(counts.sent > CASES / 20, `the generator reaches the instance often enough (${counts.sent})`);
  assert.ok(counts.refused > CASES / 4, `and refusals often enough (${counts.refused})`);
  // The connection is unharmed by all of it.
  assert.equal((await sm.fetch('acme', '/services/data/v62.0/limits')).status, 200);
});

test('fetching the identity URL does not move where relative paths go: they still reach the instance', async (t) => {
  const emu = await startEmu(t);
  const { sm, spy } = makeManager(emu);
  const { tokens } = await connectNew(sm, emu);
  assert.equal((await sm.fetch('acme', tokens.id)).status, 200, 'the identity URL is served');
  const res = await sm.fetch('acme', '/services/data/v62.0/limits');
  assert.equal(res.status, 200);
  assert.equal(spy.calls.at(-1).url, `${tokens.instance_url}/services/data/v62.0/limits`);
});
