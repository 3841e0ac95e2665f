// One long-lived process of a Node fleet (fleet-harness.mjs forks eight of them): its own
// SessionManager (own instanceId, own Redis client, own source address) over a RedisStore shared
// with the others. Driven by IPC messages { id, cmd, ... }; answers { id, ok, result } or
// { id, ok: false, error }. Nothing it sends back holds a token; the events it recorded are sent
// whole so the parent can check them for leaks.
//
//   init    { redisPort, client, prefix, clientId, loginUrl, instanceId, localAddress, manager }
//   clock   { offsetMs }                 the manager's clock is Date.now() + offsetMs
//   connect { connectionId, tokens }     -> ConnectionInfo
//   burst   { connectionId, calls, path } calls at once -> { outcomes: [{ ms, status } | { ms, code, ... }] }
//   info    { connectionId }             -> ConnectionInfo
//   keepAlive { options }                -> what sessions.keepAlive(options) resolved to
//   events  {}                           -> every event recorded so far (and forgets them)
//   close   {}                           ends the Redis client and the process
import { performance } from 'node:perf_hooks';
import { SessionManager, SalesforceSessionError } from 'salesforce-session';
import { RedisStore } from 'salesforce-session/stores/redis';
import { fetchFromAddress } from '../node/fleet-helpers.mjs';
import { CLIENT_KINDS } from './server.mjs';

let offsetMs = 0;
let sessions = null;
let kind = null;
let client = null;
let agent = null;
let events = [];

/** What a failed call resolved to, without its message (which the parent does not need). */
function failure(err) {
  if (err instanceof SalesforceSessionError) {
    return { code: err.code, retryable: err.retryable, reauthRequired: err.reauthRequired, evidence: err.evidence };
  }
  return { code: 'NOT_A_SESSION_ERROR', name: err?.name ?? typeof err };
}

async function oneCall(connectionId, path) {
  const started = performance.now();
  try {
    const response = await sessions.fetch(connectionId, path);
    await response.arrayBuffer();
    return { ms: performance.now() - started, status: response.status };
  } catch (err) {
    return { ms: performance.now() - started, ...failure(err) };
  }
}

const commands = {
  async init(job) {
    kind = CLIENT_KINDS.find((k) => k.name === job.client);
    if (!kind) throw new Error(`unknown client kind ${job.client}`);
    client = await kind.connect({ url: `redis://127.0.0.1:${job.redisPort}`, port: job.redisPort });
    agent = fetchFromAddress(job.localAddress);
    offsetMs = job.offsetMs ?? 0;
    sessions = new SessionManager({
      clientId: job.clientId,
      loginUrl: job.loginUrl,
      allowInsecureLoopback: true,
      instanceId: job.instanceId,
      store: new RedisStore(client, { prefix: job.prefix }),
      fetch: agent.fetch,
      now: () => Date.now() + offsetMs,
      onEvent: (event) => events.push(event),
      ...job.manager,
    });
    return { instanceId: sessions.instanceId, pid: process.pid };
  },
  clock({ offsetMs: next }) {
    offsetMs = next;
    return { offsetMs };
  },
  connect: ({ connectionId, tokens }) => sessions.connect(connectionId, tokens),
  async burst({ connectionId, calls, path }) {
    const outcomes = await Promise.all(Array.from({ length: calls }, () => oneCall(connectionId, path)));
    return { outcomes };
  },
  info: ({ connectionId }) => sessions.info(connectionId),
  keepAlive: ({ options }) => sessions.keepAlive(options),
  events() {
    const out = events;
    events = [];
    return out;
  },
  async close() {
    await kind?.close(client);
    await agent?.close();
    setImmediate(() => process.exit(0));
    return {};
  },
};

process.on('message', async (message) => {
  const { id, cmd } = message;
  try {
    if (!Object.hasOwn(commands, cmd)) throw new Error(`unknown command ${cmd}`);
    if (cmd !== 'init' && !sessions) throw new Error('not initialised');
    const result = await commands[cmd](message);
    process.send({ id, ok: true, result: JSON.parse(JSON.stringify(result ?? null)) });
  } catch (err) {
    process.send({ id, ok: false, error: err instanceof SalesforceSessionError ? { ...failure(err), message: err.message } : { message: String(err?.message ?? err) } });
  }
});
// The parent going away ends this process too (no orphan holds a Redis client).
process.on('disconnect', () => process.exit(0));
