// Connect by grant: a connection made from a refresh token alone, classified as any refresh is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmu, makeManager, expectSessionError, TestStore, API } from './helpers.mjs';

test('connectRefreshToken redeems the refresh token once, stores the connection and keeps the token', async (t) => {
  const emu = await startEmu(t);
  const tokens = await emu.mintTokenResponse();
  const store = new TestStore();
  const { sm } = makeManager(emu, { store });
  const info = await sm.connectRefreshToken('acme', tokens.refresh_token);
  assert.equal(info.connectionId, 'acme');
  assert.equal(info.orgId, emu.orgId);
  assert.equal(info.hasRefreshToken, true);
  assert.equal(emu.tokenRequests({ grantType: 'refresh_token' }).length, 1);
  const res = await sm.fetch('acme', `${API}/limits`);
  assert.equal(res.status, 200);
  // A refresh later presents the same refresh token (no rotation): it was stored.
  await sm.refresh('acme');
  const presented = emu.tokenRequests({ grantType: 'refresh_token' }).map((r) => r.refreshToken);
  assert.equal(presented.length, 2);
  assert.deepEqual(presented, [tokens.refresh_token, tokens.refresh_token]);
});

test('connectRefreshToken with a revoked token is SESSION_REVOKED quoting Salesforce, and stores nothing', async (t) => {
  const emu = await startEmu(t);
  const tokens = await emu.mintTokenResponse();
  emu.changePassword();
  const store = new TestStore();
  const { sm } = makeManager(emu, { store });
  const err = await expectSessionError(sm.connectRefreshToken('acme', tokens.refresh_token), 'SESSION_REVOKED');
  assert.equal(err.status, 400);
  assert.ok(err.evidence.some((l) => l.includes('"authentication failure"')), JSON.stringify(err.evidence));
  assert.equal(store.map.size, 0, 'nothing stored');
  await expectSessionError(sm.info('acme'), 'UNKNOWN_CONNECTION');
  assert.ok(!JSON.stringify(err).includes(tokens.refresh_token));
  assert.ok(!err.message.includes(tokens.refresh_token));
  assert.equal(emu.tokenRequests().length, 1);
});

test('connectRefreshToken refuses an empty token before anything is sent', async (t) => {
  const emu = await startEmu(t);
  const { sm, spy } = makeManager(emu);
  await expectSessionError(sm.connectRefreshToken('acme', '  '), 'INVALID_CONFIG');
  assert.equal(spy.calls.length, 0);
});
