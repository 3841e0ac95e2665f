// The page's use of the package, driven by tests/browser/page.test.mjs through `window.app`:
// what a web app calling Salesforce from the browser does (init, connect, fetch), with a clock
// the test can move so the library sees the session ageing.
import { init, SessionManager, SalesforceSessionError } from 'salesforce-session';

let sessions;
let clockOffsetMs = 0;

function describe(err) {
  if (err instanceof SalesforceSessionError) return { code: err.code, message: err.message, evidence: err.evidence };
  return { code: null, message: String(err?.message ?? err) };
}

/** Runs `work`, logging a failure to the console (which the test scans for secrets) before rethrowing. */
async function logged(what, work) {
  try {
    return await work();
  } catch (err) {
    console.error(what, JSON.stringify(describe(err)));
    throw err;
  }
}

window.app = {
  /** Loads the wasm and builds the manager; returns how long init() took. */
  async start({ clientId, loginUrl }) {
    const started = performance.now();
    await init();
    const initMs = performance.now() - started;
    sessions = new SessionManager({
      clientId,
      loginUrl,
      allowInsecureLoopback: true,
      now: () => Date.now() + clockOffsetMs,
      onEvent: (event) => console.log('salesforce-session event', JSON.stringify(event)),
    });
    document.getElementById('status').textContent = 'ready';
    return { initMs, readyAtMs: performance.now() };
  },
  connect: (connectionId, tokenResponse) => logged('connect', () => sessions.connect(connectionId, tokenResponse)),
  async call(connectionId, path) {
    return logged('fetch', async () => {
      const res = await sessions.fetch(connectionId, path);
      return { status: res.status, body: await res.json() };
    });
  },
  info: (connectionId) => logged('info', () => sessions.info(connectionId)),
  setClockOffset(ms) {
    clockOffsetMs = ms;
  },
};
