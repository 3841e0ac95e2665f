// diagnose() on a healthy connection whose REST probe is answered 404 (an API version the org
// does not serve) or 410 (a retired one): a version problem is not a session problem, so the cause
// is never API_CLIENT_CONTROL nor any other session root cause.
// Run from the scratch consumer: node --test tests/node/hostile-diagnose-404.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmu, makeManager, connectNew } from './helpers.mjs';

const SESSION_CAUSES = ['API_CLIENT_CONTROL', 'SESSION_EXPIRED', 'SESSION_REVOKED', 'IP_LOCKED', 'WRONG_INSTANCE_URL'];

for (const [apiVersion, status] of [['99.0', 404], ['66.0', 404], ['20.0', 410]]) {
  test(`diagnose() with apiVersion ${apiVersion} (the REST probe gets ${status}) names no session root cause`, async (t) => {
    const emu = await startEmu(t, { clientSecret: 'client-secret-for-introspection-01' });
    const { sm } = makeManager(emu, { apiVersion, clientSecret: 'client-secret-for-introspection-01' });
    await connectNew(sm, emu);
    const report = await sm.diagnose('acme');
    console.log(`apiVersion ${apiVersion}: diagnose() cause ${report.cause}, confidence ${report.confidence}`);
    const probe = emu.log.find((e) => e.host === 'instance' && e.path.startsWith(`/services/data/v${apiVersion}`));
    assert.ok(probe, `the REST probe went to v${apiVersion}: ${JSON.stringify(emu.log.map((e) => e.path))}`);
    assert.equal(probe.status, status);
    assert.ok(!SESSION_CAUSES.includes(report.cause), `cause ${report.cause} for a ${status} probe: ${JSON.stringify(report.evidence)}`);
    assert.ok(report.evidence.some((line) => line.includes(String(status))), `the evidence names the ${status}: ${JSON.stringify(report.evidence)}`);
    // The session is fine: a call on a served version works.
    assert.equal((await sm.fetch('acme', '/services/data/v62.0/limits')).status, 200);
  });
}
