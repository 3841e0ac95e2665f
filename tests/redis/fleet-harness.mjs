// A fleet of long-lived Node processes (fleet-member.mjs) sharing one Redis, driven from the test
// (or bench) process, where the emulator runs. Every member is its own OS process with its own
// SessionManager, instanceId, Redis client and loopback source address (127.0.0.11, .12, …), so
// the emulator's log says which member sent what. Used by fleet-load.test.mjs,
// fleet-recovery.test.mjs and the bench's fleet line.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MEMBER = fileURLToPath(new URL('./fleet-member.mjs', import.meta.url));
const DEFAULT_COMMAND_TIMEOUT_MS = 60_000;
const CLOSE_TIMEOUT_MS = 5_000;
export const TOKEN_PATH = '/services/oauth2/token';
export const LIMITS_PATH = '/services/data/v62.0/limits';

/** The loopback address member `index` sends from. */
export const memberAddress = (index) => `127.0.0.${11 + index}`;

class Member {
  constructor(index, kind) {
    this.index = index;
    this.kind = kind;
    this.address = memberAddress(index);
    this.instanceId = `fleet-${index}-${kind}`;
    this.output = '';
    this.pending = new Map();
    this.nextId = 0;
    this.exited = null;
    this.child = fork(MEMBER, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    this.pid = this.child.pid;
    this.child.stdout.on('data', (chunk) => (this.output += chunk));
    this.child.stderr.on('data', (chunk) => (this.output += chunk));
    this.exit = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exited = { code, signal };
        for (const { reject, timer } of this.pending.values()) {
          clearTimeout(timer);
          reject(new Error(`fleet member ${this.index} exited (${code ?? signal}) before answering:\n${this.output}`));
        }
        this.pending.clear();
        resolve(this.exited);
      });
    });
    this.child.on('message', ({ id, ok, result, error }) => {
      const waiting = this.pending.get(id);
      if (!waiting) return;
      this.pending.delete(id);
      clearTimeout(waiting.timer);
      if (ok) waiting.resolve(result);
      else waiting.reject(Object.assign(new Error(`fleet member ${this.index}: ${error.message}`), { detail: error }));
    });
  }

  get alive() {
    return this.exited === null;
  }

  /** Sends one command; resolves to its result, rejects on its error, on exit or after `timeoutMs`. */
  send(cmd, args = {}, { timeoutMs = DEFAULT_COMMAND_TIMEOUT_MS } = {}) {
    if (!this.alive) return Promise.reject(new Error(`fleet member ${this.index} has exited`));
    this.nextId += 1;
    const id = this.nextId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`fleet member ${this.index}: ${cmd} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.child.send({ ...args, id, cmd });
    });
  }

  /** SIGKILL, by this member's own pid; resolves once it has exited. */
  async kill() {
    if (this.alive) process.kill(this.pid, 'SIGKILL');
    await this.exit;
  }

  async close() {
    if (!this.alive) return;
    try {
      await this.send('close', {}, { timeoutMs: CLOSE_TIMEOUT_MS });
    } catch {
      // it did not answer: killed below
    }
    let timer;
    const exited = await Promise.race([this.exit.then(() => true), new Promise((r) => (timer = setTimeout(() => r(false), CLOSE_TIMEOUT_MS)))]);
    clearTimeout(timer);
    if (!exited) await this.kill();
  }
}

/**
 * Forks `size` members, alternating the Redis client kinds in `kinds`, and initialises each with a
 * SessionManager on `emu` (its login URL) over a RedisStore at `redis` under `prefix`. `manager`
 * holds extra SessionManager options (plain JSON). The members' clocks start in step with the
 * emulator's; `fleet.advance(ms)` moves both.
 */
export async function startFleet({ size = 8, redis, emu, prefix, kinds = ['node-redis', 'ioredis'], manager = {} }) {
  const members = Array.from({ length: size }, (_, i) => new Member(i, kinds[i % kinds.length]));
  let offsetMs = emu.now() - Date.now();
  const fleet = {
    members,
    get alive() {
      return members.filter((m) => m.alive);
    },
    /** Every live member runs `cmd` at once; resolves to their results in member order. */
    all(cmd, args, options) {
      return Promise.all(fleet.alive.map((m) => m.send(cmd, args, options)));
    },
    /** Moves the emulator's clock and every member's by `ms`. */
    async advance(ms) {
      emu.advance(ms);
      offsetMs += ms;
      await fleet.all('clock', { offsetMs });
    },
    byAddress: (address) => members.find((m) => m.address === address) ?? null,
    /** Everything the members printed, labelled, for a leak check. */
    outputs: () => members.map((m) => [`fleet member ${m.index} output`, m.output]),
    /** Every event each live member recorded since the last call, labelled. */
    async events() {
      const lists = await fleet.all('events');
      return fleet.alive.map((m, i) => [`fleet member ${m.index} events`, lists[i]]);
    },
    async close() {
      await Promise.all(members.map((m) => m.close()));
    },
  };
  try {
    await Promise.all(members.map((m) => m.send('init', {
      redisPort: redis.port,
      client: m.kind,
      prefix,
      clientId: emu.clientId,
      loginUrl: emu.loginUrl,
      instanceId: m.instanceId,
      localAddress: m.address,
      offsetMs,
      manager,
    })));
  } catch (err) {
    await fleet.close();
    throw err;
  }
  return fleet;
}

/** Burst outcomes of every member, flattened, each tagged with its member index. */
export function flatten(results, members) {
  return results.flatMap((r, i) => r.outcomes.map((o) => ({ ...o, member: members[i].index })));
}

export const failedOutcomes = (outcomes) => outcomes.filter((o) => o.status === undefined || o.status >= 400);

/** The refresh_token requests the emulator logged since `since` (an index into emu.log). */
export function refreshRequestsSince(emu, since) {
  return emu.log.slice(since).filter((e) => e.method === 'POST' && e.path === TOKEN_PATH && e.grantType === 'refresh_token');
}

/** Lock keys under `prefix` in Redis (RedisStore keeps them in a key space of their own), with their PTTL. */
export async function lockKeys(kind, client, prefix) {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}\u0000lock:*`;
  const found = [];
  let cursor = '0';
  do {
    const [next, keys] = await kind.send(client, ['SCAN', cursor, 'MATCH', pattern, 'COUNT', '500']);
    cursor = String(next);
    for (const key of keys) found.push({ key: String(key), pttl: Number(await kind.send(client, ['PTTL', String(key)])) });
  } while (cursor !== '0');
  return found;
}

/**
 * The connection's shared record as stored (the manager's own JSON), or null: the one key under the
 * store's prefix ending in `conn:<id>` (the manager's keyPrefix, 'sfs:' by default, comes before it).
 */
export async function storedRecord(store, connectionId) {
  const keys = (await store.list('')).filter((key) => key.endsWith(`conn:${connectionId}`));
  if (keys.length > 1) throw new Error(`more than one record for ${connectionId}: ${JSON.stringify(keys)}`);
  const text = keys.length ? await store.get(keys[0]) : null;
  return text === null ? null : JSON.parse(text);
}

/** Polls `check` (async, truthy = done) every `everyMs` until it passes or `withinMs` runs out; resolves to its last value. */
export async function pollUntil(check, { withinMs, everyMs = 50 }) {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await check();
    if (value || Date.now() >= deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
