// A real redis-server for the Redis suites: started on a free loopback port as a child process,
// ready once it answers PING, stopped by its own pid. Also connects both clients the store supports.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { createClient } from 'redis';
import Redis from 'ioredis';

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** One PING over a raw socket; resolves true on +PONG, false on anything else (bounded by `ms`). */
function pings(port, ms = 500) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk;
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.on('error', () => done(false));
  });
}

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts redis-server on 127.0.0.1 with persistence off. Resolves to { port, url, pid, stop() }
 * once it answers PING; rejects (with its output) when it exits or stays silent for 10 s.
 */
export async function startRedisServer() {
  const port = await freePort();
  const child = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  let exited = null;
  const exit = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
    child.once('error', (err) => {
      exited = { error: err.message };
      resolve();
    });
  });

  const stop = async () => {
    if (exited) return;
    process.kill(child.pid, 'SIGTERM');
    let timer;
    const stopped = await Promise.race([
      exit.then(() => true),
      new Promise((resolve) => (timer = setTimeout(() => resolve(false), STOP_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    if (!stopped && !exited) {
      process.kill(child.pid, 'SIGKILL');
      await exit;
    }
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await pings(port))) {
    if (exited) throw new Error(`redis-server exited before answering PING (${JSON.stringify(exited)}):\n${output}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server did not answer PING within ${READY_TIMEOUT_MS} ms:\n${output}`);
    }
    await delay(50);
  }
  return { port, url: `redis://127.0.0.1:${port}`, pid: child.pid, stop };
}

/**
 * The two clients RedisStore supports. `connect(server)` resolves to a connected client;
 * `close(client)` ends it (bounded). Errors are listened to so a dropped client never crashes a test.
 */
export const CLIENT_KINDS = [
  {
    name: 'node-redis',
    async connect(server) {
      const client = createClient({ url: server.url, socket: { connectTimeout: 5000, reconnectStrategy: false } });
      client.on('error', () => {});
      await client.connect();
      return client;
    },
    /** A raw command, for tests that look at Redis directly. */
    send: (client, args) => client.sendCommand(args),
    async close(client) {
      if (!client.isOpen) return;
      await (typeof client.close === 'function' ? client.close() : client.quit());
    },
  },
  {
    name: 'ioredis',
    async connect(server) {
      const client = new Redis({
        host: '127.0.0.1',
        port: server.port,
        lazyConnect: true,
        connectTimeout: 5000,
        maxRetriesPerRequest: 1,
        retryStrategy: () => null,
      });
      client.on('error', () => {});
      await client.connect();
      return client;
    },
    send: (client, args) => client.call(...args),
    async close(client) {
      if (client.status === 'end') return;
      await client.quit();
    },
  },
];

/** Connects a client of `kind` that is closed when the test ends. */
export async function connectClient(t, kind, server) {
  const client = await kind.connect(server);
  t.after(() => kind.close(client));
  return client;
}

let prefixCounter = 0;
/** A key prefix no other test uses, so tests share one server without seeing each other's keys. */
export function uniquePrefix(label = 't') {
  prefixCounter += 1;
  return `${label}${prefixCounter}-${process.pid}:`;
}
