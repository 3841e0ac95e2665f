// One process of a Node fleet for fleet.test.mjs: a SessionManager over a RedisStore shared with the
// other processes. Reads its job as JSON on stdin, prints one JSON line of results (never a token).
//   { action: 'connect', tokens, ... } stores a token response; { action: 'fetch', path, ... } calls the API.
import { SessionManager } from 'salesforce-session';
import { RedisStore } from 'salesforce-session/stores/redis';
import { CLIENT_KINDS } from './server.mjs';

const job = JSON.parse(await new Promise((resolve, reject) => {
  let text = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => (text += chunk)).on('end', () => resolve(text)).on('error', reject);
}));

const kind = CLIENT_KINDS.find((k) => k.name === job.client);
if (!kind) throw new Error(`unknown client kind ${job.client}`);
const client = await kind.connect({ url: `redis://127.0.0.1:${job.redisPort}`, port: job.redisPort });
const events = [];
try {
  const sessions = new SessionManager({
    clientId: job.clientId,
    loginUrl: job.loginUrl,
    allowInsecureLoopback: true,
    instanceId: job.instanceId,
    store: new RedisStore(client, { prefix: job.prefix }),
    onEvent: (event) => events.push(event),
  });
  const result = { instanceId: sessions.instanceId };
  if (job.action === 'connect') {
    result.info = await sessions.connect(job.connectionId, job.tokens);
  } else if (job.action === 'fetch') {
    const response = await sessions.fetch(job.connectionId, job.path);
    result.status = response.status;
    result.body = await response.json();
    result.info = await sessions.info(job.connectionId);
  } else {
    throw new Error(`unknown action ${job.action}`);
  }
  result.events = events;
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await kind.close(client);
}
