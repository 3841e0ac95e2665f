// Run in a fresh process (node --expose-gc memory-probe.mjs package|package-read|jsforce COUNT):
// memory held by COUNT connections in one instance, after gc, as deltas from the loaded library
// with none. `package-read`: each connection has also made one read (what the package keeps for
// a connection in use: its instance origin and the authorization later reads reuse).
// Prints one JSON line. wasm linear memory counts in `external` and `arrayBuffers`.
import { MemoryStore, SessionManager } from 'salesforce-session';
import jsforce from 'jsforce';

const [kind, countArg] = process.argv.slice(2);
const count = Number(countArg);
if (typeof global.gc !== 'function') throw new Error('memory-probe needs --expose-gc');

const ISSUED = String(Date.now());
const tokenResponse = (i) => ({
  access_token: `00D000000000001!bench-access-token-${i}-${'x'.repeat(80)}`,
  refresh_token: `5Aep861bench-refresh-${i}-${'y'.repeat(60)}`,
  instance_url: `https://org${i}.my.salesforce.com`,
  id: `https://login.salesforce.com/id/00D000000000001AAA/005${String(i).padStart(12, '0')}AAA`,
  token_type: 'Bearer',
  issued_at: ISSUED,
});

function settledUsage() {
  global.gc();
  global.gc();
  return process.memoryUsage();
}

const canned = new Response('{}');
const store = new MemoryStore();
let holder;
// Load and warm each library before the baseline, so the figures are the connections' alone.
const isPackage = kind === 'package' || kind === 'package-read';
if (isPackage) {
  holder = new SessionManager({ clientId: 'bench', loginUrl: 'https://login.salesforce.com', fetch: async () => canned, store });
  await holder.connect('warm', tokenResponse('warm'));
  await holder.disconnect('warm');
} else if (kind === 'jsforce') {
  holder = [];
  const oauth2 = new jsforce.OAuth2({ loginUrl: 'https://login.salesforce.com', clientId: 'bench', redirectUri: 'http://127.0.0.1/callback' });
  holder.oauth2 = oauth2;
  new jsforce.Connection({ oauth2, instanceUrl: 'https://warm.my.salesforce.com', accessToken: 'warm', refreshToken: 'warm', version: '62.0' });
} else {
  throw new Error(`unknown memory-probe kind ${kind}`);
}

const before = settledUsage();
for (let i = 0; i < count; i++) {
  const t = tokenResponse(i);
  if (isPackage) {
    await holder.connect(`conn-${i}`, t);
    if (kind === 'package-read') await holder.fetch(`conn-${i}`, '/services/data/v62.0/limits');
  } else {
    holder.push(new jsforce.Connection({ oauth2: holder.oauth2, instanceUrl: t.instance_url, accessToken: t.access_token, refreshToken: t.refresh_token, version: '62.0' }));
  }
}
const after = settledUsage();
// What the package's MemoryStore holds, as text (keys and values): in a fleet this lives in the
// shared store instead, so the figure shows how much of the heap is the store's and not the library's.
let storeTextBytes = null;
if (isPackage) {
  storeTextBytes = 0;
  for (const key of await store.list('')) storeTextBytes += key.length + ((await store.get(key)) ?? '').length;
}
const MiB = 2 ** 20;
const heapMiB = (after.heapUsed - before.heapUsed) / MiB;
const externalMiB = (after.external - before.external) / MiB;
console.log(JSON.stringify({
  connections: count,
  heapMiB,
  externalMiB,
  arrayBuffersMiB: (after.arrayBuffers - before.arrayBuffers) / MiB,
  totalMiB: heapMiB + externalMiB,
  bytesPerConnection: ((heapMiB + externalMiB) * MiB) / count,
  storeTextBytesPerConnection: storeTextBytes === null ? null : storeTextBytes / count,
  rssMiB: (after.rss - before.rss) / MiB,
}));
// Keeps the connections reachable until the figures are taken.
if (holder === null) console.log('');
