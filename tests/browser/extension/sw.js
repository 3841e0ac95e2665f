// The MV3 service worker of tests/browser/extension.test.mjs: the package copied into the extension
// (./salesforce-session/), connections kept in chrome.storage.local so they outlive the worker.
// No top-level await in a service worker: the wasm and the manager are set up on first use.
import { init, SessionManager } from './salesforce-session/browser.js';
import { ChromeStorageStore } from './salesforce-session/stores/chrome.js';
import config from './config.js'; // { clientId, loginUrl, allowInsecureLoopback }, written by the test

let ready = null;
let initMs = null;

function sessions() {
  ready ??= (async () => {
    const started = performance.now();
    await init();
    const manager = new SessionManager({
      ...config,
      store: new ChromeStorageStore(chrome.storage.local),
      onEvent: (event) => console.log('salesforce-session event', JSON.stringify(event)),
    });
    initMs = performance.now() - started;
    return manager;
  })();
  return ready;
}

// What the test calls through serviceWorker.evaluate.
globalThis.extension = {
  /** When this worker started (differs after a restart) and how long the lazy init took. */
  state: () => ({ timeOrigin: performance.timeOrigin, initMs }),
  connect: async (connectionId, tokenResponse) => (await sessions()).connect(connectionId, tokenResponse),
  async call(connectionId, path) {
    const res = await (await sessions()).fetch(connectionId, path);
    return { status: res.status, body: await res.json() };
  },
  info: async (connectionId) => (await sessions()).info(connectionId),
  storedKeys: (prefix) => new ChromeStorageStore(chrome.storage.local).list(prefix),
  ChromeStorageStore,
};

// Any message wakes the worker (a stopped worker restarts on an event).
chrome.runtime.onMessage.addListener((message, sender, reply) => {
  reply({ awake: true });
});
