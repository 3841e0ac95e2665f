// salesforce-session, end to end against the bundled Salesforce emulator (two HTTP servers on
// loopback: a login host and an instance host). Each section provokes one root cause of
// INVALID_SESSION_ID and shows what the library does about it. The process exits non-zero when any
// section does not behave as described, so this file doubles as a smoke check.
//
// Run with `npm run demo` (it builds, packs and installs the package, then runs this file).
import { SessionManager, MemoryStore, SalesforceSessionError } from 'salesforce-session';
import { Agent, fetch as undiciFetch } from 'undici';
import { startEmulator } from './tests/emulator/index.mjs';

const API = '/services/data/v62.0';
const QUERY = `${API}/query?q=${encodeURIComponent('SELECT Id, Name FROM Account')}`;

const emu = await startEmulator({ clientId: 'test-client' });
const agents = [];
let failures = 0;

// ---- small helpers ----------------------------------------------------------------------------------

const say = (line = '') => console.log(line ? `   ${line}` : '');
const title = (text) => console.log(`\n${text}`);

/** Records (and prints) a broken expectation; the demo goes on and exits non-zero at the end. */
function expect(ok, what) {
  if (!ok) {
    failures += 1;
    console.log(`   ✗ expected: ${what}`);
  }
  return ok;
}

/** A manager wired to the emulator, with its events collected. */
function manager(options = {}) {
  const events = [];
  const sessions = new SessionManager({
    clientId: 'test-client',
    loginUrl: emu.loginUrl,
    allowInsecureLoopback: true,
    now: () => emu.now(),
    onEvent: (event) => events.push(event),
    ...options,
  });
  return { sessions, events };
}

/**
 * A fetch whose connections leave from `localAddress`: a worker behind its own egress IP. (undici
 * takes `localAddress` as an Agent option; inside `connect: {}` it would be overridden.)
 */
function fetchFrom(localAddress) {
  const agent = new Agent({ localAddress });
  agents.push(agent);
  return (input, init = {}) => undiciFetch(input, { ...init, dispatcher: agent });
}

/** The SalesforceSessionError a promise rejects with (anything else is rethrown). */
async function sessionError(promise) {
  try {
    const res = await promise;
    return { unexpected: `a response (HTTP ${res.status})` };
  } catch (err) {
    if (err instanceof SalesforceSessionError) return err;
    throw err;
  }
}

function describeOutcome(err) {
  return err instanceof SalesforceSessionError ? err.code : (err.unexpected ?? String(err));
}

const ofType = (events, type) => events.filter((e) => e.type === type);
const records = async (res) => (await res.json()).totalSize;
const post = (sessions, id, name) =>
  sessions.fetch(id, `${API}/sobjects/Account`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ Name: name }),
  });

function explain(err, evidenceLines = 2) {
  for (const line of err.evidence.slice(0, evidenceLines)) say(`  evidence: ${line}`);
  say(`  fix: ${err.fix}`);
}

async function section(name, body) {
  title(name);
  try {
    await body();
  } catch (err) {
    failures += 1;
    const text = err instanceof SalesforceSessionError ? `${err.code}: ${err.message}` : `${err?.name ?? 'Error'}: ${err?.message ?? err}`;
    console.log(`   ✗ unexpected error: ${text}`);
  }
}

// ---- the walkthrough --------------------------------------------------------------------------------

try {
  console.log('salesforce-session demo');
  console.log(`Salesforce emulator: login host ${emu.loginUrl}, instance ${emu.instanceUrl}`);

  const main = manager({ instanceId: 'app-1' });
  const { sessions } = main;
  const acmeTokens = await emu.mintTokenResponse();

  await section('0. A connection', async () => {
    // What the token endpoint returned at the end of an OAuth flow (here minted by the emulator).
    const info = await sessions.connect('acme', acmeTokens);
    say(`connect('acme', tokenResponse) → org ${info.orgId}, user ${info.userId}, status ${info.status}`);
    const created = [await post(sessions, 'acme', 'Acme Corp'), await post(sessions, 'acme', 'Acme Labs')];
    say(`POST ${API}/sobjects/Account → ${created.map((r) => r.status).join(', ')}`);
    const res = await sessions.fetch('acme', QUERY);
    const count = await records(res);
    say(`GET  ${API}/query?q=SELECT Id, Name FROM Account → ${res.status}, ${count} records`);
    expect(info.status === 'active' && created.every((r) => r.status === 201), 'the connection is active and both inserts answer 201');
    expect(res.status === 200 && count === 2, 'the query answers 200 with 2 records');
  });

  await section('1. Session expired → refreshed and retried, invisibly', async () => {
    emu.expireSession(acmeTokens.access_token);
    emu.clearLog();
    const before = main.events.length;
    const res = await sessions.fetch('acme', QUERY);
    const tokenRequests = emu.tokenRequests().length;
    const refresh = ofType(main.events.slice(before), 'refresh')[0];
    say(`Salesforce expired the session server-side; the next query → ${res.status}, ${await records(res)} records`);
    say(`token requests: ${tokenRequests}`);
    say(refresh ? `event: refresh (reason ${refresh.reason}, rotated ${refresh.rotated}, ${refresh.durationMs} ms)` : 'event: no refresh event');
    expect(res.status === 200, 'the call succeeds');
    expect(tokenRequests === 1, 'exactly 1 token request');
    expect(refresh?.reason === 'invalid_session', 'a refresh event with reason invalid_session');
  });

  await section('2. Wrong instance URL → refused before sending', async () => {
    emu.clearLog();
    const toLogin = await sessionError(sessions.fetch('acme', `${emu.loginUrl}${API}/limits`));
    const elsewhere = await sessionError(sessions.fetch('acme', `https://example.com${API}/limits`));
    say(`GET ${emu.loginUrl}${API}/limits (the login host) → ${describeOutcome(toLogin)}`);
    say(`GET https://example.com${API}/limits → ${describeOutcome(elsewhere)}`);
    say(`requests the emulator saw: ${emu.log.length} (the token never left)`);
    if (toLogin instanceof SalesforceSessionError) explain(toLogin, 1);
    expect(toLogin.code === 'WRONG_INSTANCE_URL' && elsewhere.code === 'WRONG_INSTANCE_URL', 'WRONG_INSTANCE_URL for both');
    expect(emu.log.length === 0, 'nothing sent: the emulator saw no request');
  });

  // Sessions minted while this is on work only from the address that obtained them. It stays on:
  // the doctor looks at this connection again at the end.
  emu.policy.ipLock = true;
  // Two workers behind different egress IPs, sharing one store (a MemoryStore here; Redis in a fleet).
  const fleetStore = new MemoryStore();
  const workerA = manager({ instanceId: 'worker-a', store: fleetStore, fetch: fetchFrom('127.0.0.2') });
  const workerB = manager({ instanceId: 'worker-b', store: fleetStore, fetch: fetchFrom('127.0.0.3') });

  await section('3. Sessions locked to IP → per-worker tokens, no ping-pong', async () => {
    await workerA.sessions.connect('initech', await emu.mintTokenResponse({ sourceAddress: '127.0.0.2' }));
    emu.clearLog();
    const statuses = { a: [], b: [] };
    for (let round = 0; round < 5; round += 1) {
      statuses.a.push((await workerA.sessions.fetch('initech', `${API}/limits`)).status);
      statuses.b.push((await workerB.sessions.fetch('initech', `${API}/limits`)).status);
    }
    const ok = (list) => list.filter((s) => s === 200).length;
    const tokenRequests = emu.tokenRequests();
    say(`worker-a (127.0.0.2): ${ok(statuses.a)}/5 calls ok; worker-b (127.0.0.3): ${ok(statuses.b)}/5 calls ok`);
    say(`token requests: ${tokenRequests.length} (from ${tokenRequests.map((e) => e.remoteAddress).join(', ') || 'nowhere'}); no refresh ping-pong`);
    const diagnosis = ofType(workerB.events, 'diagnosis').find((d) => d.cause === 'IP_LOCKED');
    if (diagnosis) {
      say(`event: diagnosis ${diagnosis.cause} (${diagnosis.confidence})`);
      explain(diagnosis, 1);
    }
    expect(ok(statuses.a) === 5 && ok(statuses.b) === 5, 'every call of both workers succeeds');
    expect(tokenRequests.length === 1 && tokenRequests[0].remoteAddress === '127.0.0.3', 'exactly 1 token request, from worker-b');
    expect(Boolean(diagnosis), 'an IP_LOCKED diagnosis event');
  });

  await section('4. API Access Control → reported, not retried', async () => {
    emu.policy.apiAccessControl = true;
    try {
      await sessions.connect('umbrella', await emu.mintTokenResponse());
      emu.clearLog();
      const err = await sessionError(sessions.fetch('umbrella', `${API}/limits`));
      say(`GET ${API}/limits with a token minted moments ago → ${describeOutcome(err)}; token requests: ${emu.tokenRequests().length}`);
      if (err instanceof SalesforceSessionError) explain(err, 1);
      expect(err.code === 'API_CLIENT_CONTROL', 'API_CLIENT_CONTROL');
      expect(emu.tokenRequests().length === 0, 'no token request (refreshing cannot help)');
    } finally {
      emu.policy.apiAccessControl = false;
    }
  });

  await section('5. Session revoked → reauth_required, every worker stops', async () => {
    const store = new MemoryStore();
    const first = manager({ instanceId: 'worker-1', store });
    const second = manager({ instanceId: 'worker-2', store });
    const { userId } = emu.createUser({ username: 'pat@hooli.example' });
    await first.sessions.connect('hooli', await emu.mintTokenResponse({ userId }));
    await first.sessions.fetch('hooli', `${API}/limits`);
    emu.changePassword(userId);
    const err = await sessionError(first.sessions.fetch('hooli', `${API}/limits`));
    const info = await first.sessions.info('hooli');
    say(`the user changed their password; the next call → ${describeOutcome(err)}, info().status ${info.status}`);
    if (err instanceof SalesforceSessionError) explain(err, 1);
    emu.clearLog();
    const again = await sessionError(second.sessions.fetch('hooli', `${API}/limits`));
    say(`worker-2, sharing the store → ${describeOutcome(again)}; token requests: ${emu.tokenRequests().length}`);
    expect(err.code === 'SESSION_REVOKED' && err.evidence?.some((l) => l.includes('"authentication failure"')), "SESSION_REVOKED quoting Salesforce's \"authentication failure\"");
    expect(info.status === 'reauth_required', "info().status is 'reauth_required'");
    expect(ofType(first.events, 'reauth_required').length === 1, 'one reauth_required event');
    expect(again.code === 'SESSION_REVOKED' && emu.tokenRequests().length === 0, 'worker-2 fails with SESSION_REVOKED and sends no token request');
  });

  await section('6. Read-only org (maintenance) → writes held, reads go on', async () => {
    emu.policy.readOnly = true;
    const first = await sessionError(post(sessions, 'acme', 'Acme Maintenance'));
    say(`POST → ${describeOutcome(first)}${first.status ? ` (Salesforce answered HTTP ${first.status} INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE)` : ''}`);
    if (first.evidence?.[1]) say(`  evidence: ${first.evidence[1]}`);
    emu.clearLog();
    const second = await sessionError(post(sessions, 'acme', 'Acme Maintenance'));
    const sentWhileHeld = emu.log.length;
    const read = await sessions.fetch('acme', QUERY);
    say(`POST again → ${describeOutcome(second)}, held: the emulator saw ${sentWhileHeld} requests; GET query → ${read.status}`);
    emu.policy.readOnly = false;
    emu.advance(31_000);
    const resumed = await post(sessions, 'acme', 'Acme Maintenance');
    const writable = ofType(main.events, 'org_writable').at(-1);
    say(`maintenance ends, 31 s later the next POST → ${resumed.status}; event: ${writable ? `org_writable (read-only for ${Math.round(writable.readOnlyForMs / 1000)} s)` : 'no org_writable event'}`);
    expect(first.code === 'ORG_READ_ONLY' && first.evidence.some((l) => l.includes('INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE')), 'the first write throws ORG_READ_ONLY');
    expect(second.code === 'ORG_READ_ONLY' && sentWhileHeld === 0, 'the second write throws ORG_READ_ONLY without being sent');
    expect(read.status === 200, 'reads keep working');
    expect(resumed.status === 201 && Boolean(writable), 'writes resume with an org_writable event');
  });

  await section("The doctor: sessions.diagnose('initech') on worker-b", async () => {
    const report = await workerB.sessions.diagnose('initech');
    say(`cause ${report.cause} (${report.confidence}); checks: ${report.checks.map((c) => `${c.name} ${c.ok ? 'ok' : 'failed'}`).join(', ')}`);
    for (const line of report.evidence.slice(0, 2)) say(`evidence: ${line}`);
    say(`fix: ${report.fix}`);
    expect(report.cause === 'IP_LOCKED', 'the doctor names IP_LOCKED');
  });
} catch (err) {
  // Only a failure outside the sections lands here.
  failures += 1;
  console.log(`\n✗ the demo stopped: ${err?.message ?? err}`);
} finally {
  for (const agent of agents) await agent.close();
  await emu.close();
}

console.log();
if (failures === 0) {
  console.log('6 root causes demonstrated: expired, wrong instance URL, IP lock, API Access Control, revoked, read-only.');
} else {
  console.log(`${failures} expectation(s) not met: see the lines marked ✗ above.`);
  process.exitCode = 1;
}
