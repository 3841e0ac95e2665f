// Redis as the shared store of a Node fleet: two processes, each its own SessionManager
// (different instanceId, different Redis client), against the project's emulator. What one
// process connects, the other uses without a token request.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { startEmulator } from '../emulator/index.mjs';
import { collectSecrets, findLeaks } from '../node/helpers.mjs';
import { RedisStore } from 'salesforce-session/stores/redis';
import { CLIENT_KINDS, connectClient, startRedisServer, uniquePrefix } from './server.mjs';

const WORKER = new URL('./fleet-worker.mjs', import.meta.url);
const WORKER_TIMEOUT_MS = 30_000;

let server;
before(async () => {
  server = await startRedisServer();
});
after(() => server?.stop());

/** Runs fleet-worker.mjs with `job` on stdin (bounded); resolves to its JSON line and everything it printed. */
function runWorker(job) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER.pathname], { cwd: process.cwd(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), WORKER_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`fleet worker (${job.action}) exited with ${code ?? signal}:\n${stderr}`));
        return;
      }
      resolve({ result: JSON.parse(stdout.trim().split('\n').pop()), stdout, stderr });
    });
    child.stdin.end(JSON.stringify(job));
  });
}

test('a connection made in one process is used by another through Redis, with no token request', async (t) => {
  const emu = await startEmulator({ clientId: 'test-client' });
  t.after(() => emu.close());
  const tokens = await emu.mintTokenResponse();
  const shared = { redisPort: server.port, prefix: uniquePrefix('fleet'), clientId: emu.clientId, loginUrl: emu.loginUrl, connectionId: 'acme' };

  const a = await runWorker({ ...shared, action: 'connect', client: 'node-redis', instanceId: 'worker-a', tokens });
  assert.equal(a.result.info.connectionId, 'acme');
  assert.equal(a.result.info.mintedBy, 'worker-a');
  assert.equal(a.result.info.instanceUrl, emu.instanceUrl);
  const store = new RedisStore(await connectClient(t, CLIENT_KINDS[0], server), { prefix: shared.prefix });
  const stored = await store.list('');
  assert.ok(stored.some((key) => key.includes('acme')), `the connection's record is in Redis: ${JSON.stringify(stored)}`);

  const b = await runWorker({ ...shared, action: 'fetch', client: 'ioredis', instanceId: 'worker-b', path: '/services/data/v62.0/limits' });
  assert.equal(b.result.instanceId, 'worker-b');
  assert.equal(b.result.status, 200, JSON.stringify(b.result.body));
  assert.equal(b.result.info.mintedBy, 'worker-a', 'B used the token A stored');
  assert.equal(emu.tokenRequests().length, 0, 'no process asked for a token');
  const apiCalls = emu.log.filter((e) => e.host === 'instance' && e.path === '/services/data/v62.0/limits');
  assert.equal(apiCalls.length, 1);
  assert.equal(apiCalls[0].token, tokens.access_token, 'the call carried the stored access token');
  assert.equal(apiCalls[0].status, 200);

  const leaks = findLeaks(collectSecrets(emu, [tokens.refresh_token]), [
    ['worker A output', a.stdout + a.stderr],
    ['worker B output', b.stdout + b.stderr],
  ]);
  assert.deepEqual(leaks, [], 'no token in what the processes printed');
});
