// The refresh-token IP allowlist (SALESFORCE.md §7): a cause of its own, not a revocation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmu, makeManager, connectNew, expectSessionError } from './helpers.mjs';

test('a refresh from an egress IP outside the allowlist is REFRESH_IP_RESTRICTED and keeps the connection usable', async (t) => {
  const emu = await startEmu(t);
  const { sm, events } = makeManager(emu);
  const { tokens } = await connectNew(sm, emu);
  emu.policy.refreshIpAllowlist = ['127.0.0.2'];
  const err = await expectSessionError(sm.refresh('acme'), 'REFRESH_IP_RESTRICTED');
  assert.equal(err.reauthRequired, false);
  assert.ok(err.evidence.some((l) => l.includes('"ip restricted"')), JSON.stringify(err.evidence));
  assert.ok(err.fix.includes('allowlist'), err.fix);
  const info = await sm.info('acme');
  assert.equal(info.status, 'active', 'not marked reauth_required');
  assert.ok(!events.some((e) => e.type === 'reauth_required'));
  // Once the egress is allowed, the same refresh token works.
  emu.policy.refreshIpAllowlist = null;
  await sm.refresh('acme');
  assert.ok(emu.tokenRequests({ grantType: 'refresh_token' }).every((r) => r.refreshToken === tokens.refresh_token));
});
