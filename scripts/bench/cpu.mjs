// The library's own CPU per call: a fetch that answers at once with one prebuilt Response, so no
// network and no Response construction is in the figure. Batches of sequential calls, bare and
// through the package alternating; the figure is the median batch's time per call.
import { performance } from 'node:perf_hooks';
import { SessionManager } from 'salesforce-session';
import { LIMITS_PATH } from './emulators.mjs';
import { median } from './stats.mjs';

const INSTANCE = 'https://acme.my.salesforce.com';

function cannedTokens() {
  return {
    access_token: '00D000000000001!bench-access-token',
    refresh_token: '5Aep861bench-refresh-token',
    instance_url: INSTANCE,
    id: 'https://login.salesforce.com/id/00D000000000001AAA/005000000000001AAA',
    token_type: 'Bearer',
    issued_at: String(Date.now()),
  };
}

async function perCallUs(call, calls) {
  const t = performance.now();
  for (let i = 0; i < calls; i++) await call();
  return ((performance.now() - t) * 1000) / calls;
}

export async function measureCpu({ batches, callsPerBatch }) {
  const prebuilt = new Response('{}', { status: 200, headers: { 'content-type': 'application/json' } });
  const canned = () => Promise.resolve(prebuilt);
  const sessions = new SessionManager({ clientId: 'bench', loginUrl: 'https://login.salesforce.com', fetch: canned });
  await sessions.connect('acme', cannedTokens());
  const url = INSTANCE + LIMITS_PATH;
  const init = { headers: { authorization: 'Bearer 00D000000000001!bench-access-token' } };
  const bare = () => canned(url, init);
  const viaPackage = () => sessions.fetch('acme', LIMITS_PATH);
  await perCallUs(bare, 5 * callsPerBatch);
  await perCallUs(viaPackage, 5 * callsPerBatch);
  const bareUs = [];
  const packageUs = [];
  for (let b = 0; b < batches; b++) {
    bareUs.push(await perCallUs(bare, callsPerBatch));
    packageUs.push(await perCallUs(viaPackage, callsPerBatch));
  }
  const b = median(bareUs);
  const p = median(packageUs);
  return { bareUs: b, packageUs: p, overheadUs: p - b, calls: batches * callsPerBatch };
}
