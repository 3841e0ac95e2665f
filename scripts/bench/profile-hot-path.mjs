// The workload to profile the package's per-call cost: sequential calls, bare fetch and through
// the package, against the in-process emulator (or a canned fetch: `canned`), nothing else.
//   node --cpu-prof --cpu-prof-dir=DIR bench/profile-hot-path.mjs [emulator|canned] [CALLS]
//   node bench/profile-summary.mjs DIR/*.cpuprofile
import { performance } from 'node:perf_hooks';
import { SessionManager } from 'salesforce-session';
import { inProcessEmulator, LIMITS_PATH } from './emulators.mjs';
import { bareClient } from './clients.mjs';

const [mode = 'emulator', callsArg = '4000'] = process.argv.slice(2);
const calls = Number(callsArg);

async function run(label, call) {
  for (let i = 0; i < 500; i++) await call();
  const t = performance.now();
  for (let i = 0; i < calls; i++) await call();
  console.log(`${label}: ${(((performance.now() - t) * 1000) / calls).toFixed(1)} µs per call over ${calls}`);
}

if (mode === 'canned') {
  const prebuilt = new Response('{}', { status: 200, headers: { 'content-type': 'application/json' } });
  const sessions = new SessionManager({ clientId: 'bench', loginUrl: 'https://login.salesforce.com', fetch: () => Promise.resolve(prebuilt) });
  await sessions.connect('acme', {
    access_token: '00D000000000001!bench-access-token',
    refresh_token: '5Aep861bench-refresh-token',
    instance_url: 'https://acme.my.salesforce.com',
    id: 'https://login.salesforce.com/id/00D000000000001AAA/005000000000001AAA',
    token_type: 'Bearer',
    issued_at: String(Date.now()),
  });
  await run('package, canned fetch', () => sessions.fetch('acme', LIMITS_PATH));
} else {
  const target = await inProcessEmulator();
  const sessions = new SessionManager({ clientId: 'test-client', loginUrl: target.loginUrl, allowInsecureLoopback: true });
  await sessions.connect('acme', target.tokens);
  const bare = bareClient(target);
  const viaPackage = async () => (await sessions.fetch('acme', LIMITS_PATH)).json();
  await run('bare fetch, in-process emulator', async () => {
    await bare();
    target.clearLog();
  });
  await run('package, in-process emulator', async () => {
    await viaPackage();
    target.clearLog();
  });
  await target.close();
}
