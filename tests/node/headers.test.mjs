// The caller's headers travel with the call; the Authorization header is always the
// connection's own, whatever the caller put there, in whatever shape or case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionManager } from 'salesforce-session';
import { startEmu, makeManager, connectNew, restRequests, API } from './helpers.mjs';

const shapes = {
  'a plain object': { Authorization: 'Bearer not-mine', 'X-Trace': 'abc' },
  'a plain object, lowercase': { authorization: 'Bearer not-mine', 'x-trace': 'abc' },
  'a Headers instance': new Headers({ AUTHORIZATION: 'Bearer not-mine', 'X-Trace': 'abc' }),
  'an array of pairs': [['Authorization', 'Bearer not-mine'], ['X-Trace', 'abc']],
};

for (const [shape, headers] of Object.entries(shapes)) {
  test(`headers as ${shape}: the caller's headers are sent, the bearer is the connection's, once`, async (t) => {
    const emu = await startEmu(t);
    const { sm, spy } = makeManager(emu);
    const { tokens } = await connectNew(sm, emu);
    const res = await sm.fetch('acme', `${API}/limits`, { headers });
    assert.equal(res.status, 200);
    assert.deepEqual(restRequests(emu).map((e) => e.authorization), [`Bearer ${tokens.access_token}`]);
    const sent = spy.calls.at(-1).headers;
    assert.equal(sent.get('x-trace'), 'abc');
    assert.equal(sent.get('authorization'), `Bearer ${tokens.access_token}`);
  });
}

test('a fetch that throws synchronously gives a rejected promise, not a throw', async (t) => {
  const emu = await startEmu(t);
  const throwing = (url) => {
    throw new TypeError('offline');
  };
  const sm = new SessionManager({ clientId: emu.clientId, loginUrl: emu.loginUrl, allowInsecureLoopback: true, now: () => emu.now(), fetch: throwing });
  await sm.connect('acme', await emu.mintTokenResponse());
  let promise;
  assert.doesNotThrow(() => {
    promise = sm.fetch('acme', `${API}/limits`);
  });
  await assert.rejects(promise, (err) => err instanceof TypeError && err.message === 'offline');
});
