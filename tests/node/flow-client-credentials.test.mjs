// The client credentials flow against the org's My Domain (the emulator's instance host serves it,
// its login host refuses it as Salesforce's shared login hosts do): connectClientCredentials(), the
// Run As user, a new grant when the session expires or is killed (one for 20 concurrent calls), and
// refusals that store nothing. (A shared login host as loginUrl is refused before anything is sent:
// flow-arguments.test.mjs.)
// Run from the scratch consumer: node --test tests/node/flow-client-credentials.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SalesforceSessionError, SessionManager } from 'salesforce-session';
import { API, startEmu, makeManager, expectSessionError, collectSecrets, findLeaks, restRequests } from './helpers.mjs';

const LIMITS = `${API}/limits`;
const CLIENT_SECRET = 'cc-app-secret-7f3a9b2c4d5e6f708192a3b4c5d6';
const TIMEOUT_MS = 7200 * 1000;

const grants = (emu) => emu.tokenRequests({ grantType: 'client_credentials' });

/** A manager whose loginUrl is the org's My Domain (the emulator's instance host). */
async function myDomain(t, options = {}) {
  const emu = await startEmu(t, { clientSecret: CLIENT_SECRET });
  const runAs = emu.createUser({ username: 'integration@example.com' });
  emu.policy.clientCredentialsUser = 'integration@example.com';
  return { emu, runAs, ...makeManager(emu, { clientSecret: CLIENT_SECRET, loginUrl: emu.instanceUrl, ...options }) };
}

async function expectRefusal(promise, description) {
  let caught;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof SalesforceSessionError, `a SalesforceSessionError (got ${caught})`);
  assert.ok(caught.evidence.some((line) => line.includes(description)), `evidence quotes "${description}": ${JSON.stringify(caught.evidence)}`);
  return caught;
}

test('connectClientCredentials at the My Domain: the Run As user\'s session, stored, used for calls', async (t) => {
  const { emu, runAs } = await myDomain(t);
  const events = [];
  const [clientId, clientSecret] = [emu.clientId, CLIENT_SECRET];
  // The README's snippet, with the emulator's instance host as the My Domain.
  const sessions = new SessionManager({ clientId, clientSecret, loginUrl: emu.instanceUrl, allowInsecureLoopback: true, now: () => emu.now(), onEvent: (e) => events.push(e) });
  const info = await sessions.connectClientCredentials('acme');
  const sm = sessions;
  assert.equal(info.connectionId, 'acme');
  assert.equal(info.userId, runAs.userId);
  assert.equal(info.orgId, emu.orgId);
  assert.equal(info.instanceUrl, emu.instanceUrl);
  assert.equal(info.hasRefreshToken, false);
  const [grant] = grants(emu);
  assert.equal(grant.host, 'instance', 'sent to the My Domain');
  assert.equal(grant.status, 200);
  assert.equal(grants(emu).length, 1);
  assert.equal((await sm.fetch('acme', LIMITS)).status, 200);
  const secrets = collectSecrets(emu, [CLIENT_SECRET]);
  assert.deepEqual(findLeaks(secrets, [['info', await sm.info('acme')], ...events.map((e, i) => [`event ${i}`, e])]), []);
});

test('re-minted when the session expires and when it is killed at the server; never a refresh token request', async (t) => {
  const { emu, sm } = await myDomain(t);
  await sm.connectClientCredentials('acme');
  emu.advance(TIMEOUT_MS + 60_000);
  assert.equal((await sm.fetch('acme', LIMITS)).status, 200);
  assert.equal(grants(emu).length, 2, 'expired by the clock: one new grant');
  emu.expireAllSessions();
  assert.equal((await sm.fetch('acme', LIMITS)).status, 200);
  assert.equal(grants(emu).length, 3, 'killed at the server: one new grant');
  assert.deepEqual(restRequests(emu).map((e) => e.status), [200, 401, 200]);
  assert.equal(emu.tokenRequests({ grantType: 'refresh_token' }).length, 0);
});

test('20 concurrent calls on an expired client credentials connection: one grant', async (t) => {
  const { emu, sm } = await myDomain(t);
  await sm.connectClientCredentials('acme');
  emu.advance(TIMEOUT_MS + 60_000);
  const statuses = await Promise.all(Array.from({ length: 20 }, () => sm.fetch('acme', LIMITS).then((r) => r.status)));
  assert.deepEqual(statuses, Array(20).fill(200));
  assert.equal(grants(emu).length, 2);
});

test('refused at a login host (the emulator\'s), with no Run As user, with a wrong secret: Salesforce\'s description, nothing stored, no secret quoted', async (t) => {
  const emu = await startEmu(t, { clientSecret: CLIENT_SECRET });
  const errors = [];
  const atLogin = makeManager(emu, { clientSecret: CLIENT_SECRET }); // loginUrl: the emulator's login host
  errors.push(await expectRefusal(atLogin.sm.connectClientCredentials('acme'), 'request not supported on this domain'));
  assert.deepEqual(atLogin.store.snapshot(), []);
  assert.equal(grants(emu).at(-1).host, 'login');

  emu.policy.clientCredentialsUser = false;
  const noUser = makeManager(emu, { clientSecret: CLIENT_SECRET, loginUrl: emu.instanceUrl });
  errors.push(await expectRefusal(noUser.sm.connectClientCredentials('acme'), 'no client credentials user enabled'));
  assert.deepEqual(noUser.store.snapshot(), []);

  emu.policy.clientCredentialsUser = null;
  const wrongSecret = 'a-wrong-client-secret-0123456789abcdef';
  const wrong = makeManager(emu, { clientSecret: wrongSecret, loginUrl: emu.instanceUrl });
  errors.push(await expectRefusal(wrong.sm.connectClientCredentials('acme'), 'invalid client credentials'));
  assert.deepEqual(wrong.store.snapshot(), []);
  await expectSessionError(() => wrong.sm.info('acme'), 'UNKNOWN_CONNECTION');

  const secrets = collectSecrets(emu, [CLIENT_SECRET, wrongSecret]);
  assert.deepEqual(findLeaks(secrets, errors.map((e, i) => [`error ${i}`, e])), []);
});
