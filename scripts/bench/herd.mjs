// The herd: 1,000 concurrent calls on a session the emulator has expired. Counts what the emulator
// saw (token requests, 401s) and the wall time until every call settled, per client.
import { performance } from 'node:perf_hooks';
import { startEmulator } from '../tests/emulator/index.mjs';
import { CLIENT_ID, LIMITS_PATH } from './emulators.mjs';
import { packageManager, jsforceConnection } from './clients.mjs';

export const HERD_CALLS = 1000;

const makers = {
  async package(target) {
    const sessions = await packageManager(target);
    return () => sessions.fetch('acme', LIMITS_PATH).then(async (r) => {
      await r.arrayBuffer();
      if (!r.ok) throw new Error(`status ${r.status}`);
    });
  },
  async jsforce(target) {
    const connection = jsforceConnection(target);
    return () => connection.request(LIMITS_PATH);
  },
};

/** One herd for one client on a fresh emulator. */
async function herdOnce(name) {
  const emu = await startEmulator({ clientId: CLIENT_ID });
  try {
    const call = await makers[name]({ loginUrl: emu.loginUrl, tokens: await emu.mintTokenResponse() });
    await call(); // connected and warm, then the session dies under it
    emu.expireAllSessions();
    emu.clearLog();
    const started = performance.now();
    const settled = await Promise.allSettled(Array.from({ length: HERD_CALLS }, () => call()));
    const wallMs = performance.now() - started;
    return {
      tokenRequests: emu.tokenRequests().length,
      unauthorized: emu.log.filter((e) => e.status === 401).length,
      failed: settled.filter((s) => s.status === 'rejected').length,
      wallMs,
    };
  } finally {
    await emu.close();
  }
}

/** Alternating herds (package, jsforce, …); each figure as a list over the rounds. */
export async function measureHerd(rounds) {
  const out = { package: [], jsforce: [] };
  for (let round = 0; round < rounds; round++) {
    for (const name of Object.keys(out)) out[name].push(await herdOnce(name));
  }
  return out;
}
