// The redactor at the edge: upstream text that echoes a secret never reaches an error or an event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmu, makeManager, connectNew, expectSessionError, TestStore, findLeaks, API } from './helpers.mjs';

test('a store error that echoes the stored value (tokens inside) is quoted without them', async (t) => {
  const emu = await startEmu(t);
  const store = new TestStore();
  let echo = false;
  const put = store.put.bind(store);
  // Once `echo` is on, every put fails with a message that quotes the value it was given.
  store.put = async (key, value) => {
    if (echo) throw new Error(`put refused for ${key}: ${value}`);
    return put(key, value);
  };
  const { sm, events } = makeManager(emu, { store });
  const { tokens } = await connectNew(sm, emu);
  echo = true;
  const err = await expectSessionError(sm.refresh('acme'), 'STORE_FAILED');
  const secrets = [tokens.access_token, tokens.refresh_token, ...emu.sessions().map((s) => s.accessToken)];
  assert.deepEqual(findLeaks(secrets, [['error', err], ['events', events]]), []);
  assert.ok(err.evidence.some((l) => l.includes('[redacted]')), JSON.stringify(err.evidence));
});

test('a REST error message that echoes the access token is not quoted with it', async (t) => {
  const emu = await startEmu(t);
  const { sm, events } = makeManager(emu, { apiVersion: '62.0' });
  const { tokens } = await connectNew(sm, emu);
  const report = await sm.diagnose('acme');
  assert.deepEqual(findLeaks([tokens.access_token, tokens.refresh_token], [['report', report], ['events', events]]), []);
  assert.equal((await sm.fetch('acme', `${API}/limits`)).status, 200);
});
