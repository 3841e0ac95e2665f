// instance_url moves on refresh (a sandbox refresh): after the move relative paths go to the new
// host, a URL on the old host goes to the new one (or is refused), and a token is only ever sent
// to the instance its own token response named — never the new token to the old host — with no
// API_CLIENT_CONTROL along the way. A seeded sequence of moves, refreshes, expiries and calls.
// Run from the scratch consumer: node --test tests/node/hostile-instance-moves.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { inspect } from 'node:util';
import { SalesforceSessionError } from 'salesforce-session';
import { API, TOKEN_PATH, startEmu, makeManager, connectNew } from './helpers.mjs';
import { seedFrom, xorshift } from './hostile-random.mjs';

const SEED = seedFrom(0x5eed0006);
const STEPS = 400;
const LIMITS = `${API}/limits`;

/** A second instance host: a loopback server forwarding every request to the emulator's instance. */
async function startForwarder(t, target) {
  const to = new URL(target);
  const server = http.createServer((req, res) => {
    const upstream = http.request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  }));
  return `http://127.0.0.1:${server.address().port}`;
}

/** Which instance each access token was issued for, from the token responses the library received. */
function instanceOfTokens(spy, first) {
  const map = new Map([[first.access_token, first.instance_url]]);
  for (const call of spy.calls) {
    if (new URL(call.url).pathname === TOKEN_PATH && call.tokenBody?.access_token) map.set(call.tokenBody.access_token, call.tokenBody.instance_url);
  }
  return map;
}

/** Every call that carried a bearer token went to the instance that token was issued for (or to the identity URL). */
function misdirected(spy, first, identityUrl) {
  const instanceOf = instanceOfTokens(spy, first);
  return spy.calls.flatMap((call) => {
    const bearer = /^Bearer (.+)$/.exec(call.headers.get('authorization') ?? '')?.[1];
    if (!bearer) return [];
    const url = new URL(call.url);
    if (url.origin + url.pathname === identityUrl) return [];
    const home = instanceOf.get(bearer);
    return url.origin === home ? [] : [`${call.method} ${call.url} carried a token issued for ${home ?? 'an unknown instance'}`];
  });
}

test('after a move, relative paths and URLs on the old host reach the new host with the new token; the new token never goes to the old host', async (t) => {
  const emu = await startEmu(t);
  const moved = await startForwarder(t, emu.instanceUrl);
  const { sm, spy, events } = makeManager(emu);
  const { tokens } = await connectNew(sm, emu);
  const old = tokens.instance_url;
  assert.equal((await sm.fetch('acme', LIMITS)).status, 200);

  emu.policy.instanceUrl = moved;
  const info = await sm.refresh('acme');
  assert.equal(info.instanceUrl, moved, 'the refresh moved the connection');
  const relative = await sm.fetch('acme', LIMITS);
  assert.equal(relative.status, 200);
  assert.ok(spy.calls.at(-1).url.startsWith(`${moved}/`), `a relative path went to ${spy.calls.at(-1).url}`);
  let oldHost;
  try {
    oldHost = await sm.fetch('acme', `${old}${LIMITS}`);
  } catch (err) {
    oldHost = err;
  }
  if (oldHost instanceof Response) {
    assert.equal(oldHost.status, 200);
    assert.ok(spy.calls.at(-1).url.startsWith(`${moved}/`), `a URL on the old host went to ${spy.calls.at(-1).url}`);
  } else {
    assert.ok(oldHost instanceof SalesforceSessionError && oldHost.code === 'WRONG_INSTANCE_URL', `a URL on the old host: ${inspect(oldHost)}`);
  }
  // The 401 path: the session ends while a call to the old host is on its way; the retry follows the move.
  emu.policy.instanceUrl = null;
  emu.expireAllSessions();
  const afterMoveBack = await sm.fetch('acme', `${moved}${LIMITS}`).catch((err) => err);
  assert.ok(afterMoveBack instanceof Response || afterMoveBack?.code === 'WRONG_INSTANCE_URL', inspect(afterMoveBack));
  assert.deepEqual(misdirected(spy, tokens, tokens.id), []);
  assert.deepEqual(events.filter((e) => e.code === 'API_CLIENT_CONTROL' || e.cause === 'API_CLIENT_CONTROL'), []);
});

test(`${STEPS} seeded steps of moves, refreshes, expiries and calls: every token goes only to its own instance`, async (t) => {
  const emu = await startEmu(t);
  const hosts = [emu.instanceUrl, await startForwarder(t, emu.instanceUrl), await startForwarder(t, emu.instanceUrl)];
  const { sm, spy, events } = makeManager(emu);
  const { tokens } = await connectNew(sm, emu);
  const rng = xorshift(SEED);
  const counts = { calls: 0, responses: 0, refused: 0, moves: 0, refreshes: 0, expiries: 0 };
  const unexpected = [];
  const call = (input, init) => sm.fetch('acme', input, init).then(async (res) => {
    counts.responses += 1;
    await res.arrayBuffer();
    return res.status;
  }, (err) => {
    if (!(err instanceof SalesforceSessionError && err.code === 'WRONG_INSTANCE_URL')) unexpected.push(inspect(err).split('\n')[0]);
    counts.refused += 1;
    return err.code;
  });
  for (let step = 0; step < STEPS; step += 1) {
    const roll = rng.int(10);
    if (roll === 0) {
      emu.policy.instanceUrl = rng.pick(hosts);
      counts.moves += 1;
    } else if (roll === 1) {
      await sm.refresh('acme').catch((err) => unexpected.push(`refresh: ${err.code}`));
      counts.refreshes += 1;
    } else if (roll === 2) {
      emu.expireAllSessions();
      counts.expiries += 1;
    } else {
      // A burst of concurrent calls: paths and absolute URLs on any of the hosts.
      const burst = 1 + rng.int(rng.chance(0.2) ? 30 : 3);
      const inputs = Array.from({ length: burst }, () => (rng.chance(0.5) ? LIMITS : `${rng.pick(hosts)}${LIMITS}`));
      counts.calls += burst;
      await Promise.all(inputs.map((input) => call(input, rng.chance(0.2) ? { method: 'POST', body: '{}' } : undefined)));
    }
  }
  console.log(`instance moves (seed ${SEED}): ${JSON.stringify(counts)}`);
  assert.deepEqual(unexpected.slice(0, 10), [], `seed ${SEED}: errors other than WRONG_INSTANCE_URL`);
  assert.deepEqual(misdirected(spy, tokens, tokens.id).slice(0, 10), [], `seed ${SEED}`);
  assert.deepEqual(events.filter((e) => e.code === 'API_CLIENT_CONTROL' || e.cause === 'API_CLIENT_CONTROL').length, 0, `seed ${SEED}: API_CLIENT_CONTROL`);
  assert.ok(counts.moves > 10 && counts.responses > 100, 'the sequence exercised moves and calls');
});
