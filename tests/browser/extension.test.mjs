// The packed package in an MV3 extension's module service worker (Chromium): connections kept in
// chrome.storage.local through ChromeStorageStore, a session expired at the server refreshed, and a
// restarted worker reusing the stored connection without asking for a token.
// Run from the scratch consumer: node --test tests/browser/extension.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmulator } from '../emulator/index.mjs';
import { launchChromium, packageRoot, within, BROWSER_STEP_TIMEOUT_MS } from './chromium.mjs';

const LIMITS = '/services/data/v62.0/limits';
const sourceDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'extension');

/** The unpacked extension: manifest and worker from tests/browser/extension/, the package copied in, the config written. */
function buildExtension(t, config) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sfs-extension-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const file of ['manifest.json', 'sw.js']) cpSync(path.join(sourceDir, file), path.join(dir, file));
  cpSync(packageRoot, path.join(dir, 'salesforce-session'), { recursive: true });
  writeFileSync(path.join(dir, 'config.js'), `// Written by extension.test.mjs.\nexport default ${JSON.stringify(config)};\n`);
  return dir;
}

/** The extension's service worker: the one running, or the next to start. */
async function serviceWorker(context) {
  return context.serviceWorkers()[0] ?? context.waitForEvent('serviceworker', { timeout: BROWSER_STEP_TIMEOUT_MS });
}

const fields = ({ connectionId, orgId, userId, instanceUrl, issuedAt, expiresAt, status, mintedBy }) =>
  ({ connectionId, orgId, userId, instanceUrl, issuedAt, expiresAt, status, mintedBy });

test('an MV3 service worker connects, refreshes, and after a restart reuses the stored connection', { timeout: 120_000 }, async (t) => {
  const emu = await startEmulator({ clientId: 'extension-client' });
  t.after(() => emu.close());
  const dir = buildExtension(t, { clientId: emu.clientId, loginUrl: emu.loginUrl, allowInsecureLoopback: true });
  const context = await launchChromium(t, [`--disable-extensions-except=${dir}`, `--load-extension=${dir}`]);

  let worker = await serviceWorker(context);
  // Node's URL gives non-special schemes a null origin: take scheme and id from the text.
  const extensionOrigin = /^chrome-extension:\/\/[a-p]{32}/.exec(worker.url())?.[0];
  assert.equal(worker.url(), `${extensionOrigin}/sw.js`);
  const inWorker = (fn, arg, what) => within(BROWSER_STEP_TIMEOUT_MS, worker.evaluate(fn, arg), what);

  const firstStart = await inWorker(() => globalThis.extension.state(), undefined, 'state');
  assert.equal(firstStart.initMs, null, 'nothing is initialised until first use');

  // The store on its own, over chrome.storage.session: get/put/delete/list, and INVALID_CONFIG for
  // anything that is not a storage area.
  const storeCheck = await inWorker(async () => {
    const { ChromeStorageStore } = globalThis.extension;
    const store = new ChromeStorageStore(chrome.storage.session);
    const missing = await store.get('t:a');
    await store.put('t:a', 'one');
    await store.put('t:b', 'two', { expirationTtl: 60 });
    await chrome.storage.session.set({ other: 'x' });
    const listed = await store.list('t:');
    const got = await store.get('t:a');
    await store.delete('t:a');
    const refused = [{}, null, { get() {}, set() {} }, chrome.storage].map((area) => {
      try {
        new ChromeStorageStore(area);
        return 'accepted';
      } catch (err) {
        return `${err.name}:${err.code}`;
      }
    });
    let nonString;
    try {
      await store.put('t:c', 42);
    } catch (err) {
      nonString = err.code;
    }
    return { missing, listed, got, afterDelete: await store.get('t:a'), all: await store.list(), refused, nonString };
  }, undefined, 'the store over chrome.storage.session');
  assert.deepEqual(storeCheck, {
    missing: null,
    listed: ['t:a', 't:b'],
    got: 'one',
    afterDelete: null,
    all: ['other', 't:b'],
    refused: Array(4).fill('SalesforceSessionError:INVALID_CONFIG'),
    nonString: 'INVALID_CONFIG',
  });

  // connect, then a call with the token as given; no token request.
  const tokens = await emu.mintTokenResponse();
  const connected = await inWorker(([id, tokenResponse]) => globalThis.extension.connect(id, tokenResponse), ['acme', tokens], 'connect');
  assert.equal(connected.orgId, emu.orgId);
  assert.equal(connected.status, 'active');
  const { initMs } = await inWorker(() => globalThis.extension.state(), undefined, 'state');
  console.log(`service worker lazy init (wasm + manager): ${initMs.toFixed(1)} ms`);

  const restCalls = () => emu.log.filter((e) => e.host === 'instance' && e.path.startsWith('/services/data'));
  const first = await inWorker(([id, p]) => globalThis.extension.call(id, p), ['acme', LIMITS], 'first call');
  assert.equal(first.status, 200);
  assert.ok(first.body.DailyApiRequests);
  assert.deepEqual(restCalls().map((e) => e.authorization), [`Bearer ${tokens.access_token}`]);
  assert.equal(emu.tokenRequests().length, 0);

  // The session expires at the server: one refresh, the call retried once.
  emu.advance(1000);
  emu.expireAllSessions();
  emu.clearLog();
  const retried = await inWorker(([id, p]) => globalThis.extension.call(id, p), ['acme', LIMITS], 'call after expiry');
  assert.equal(retried.status, 200);
  assert.deepEqual(emu.tokenRequests().map((e) => [e.grantType, e.status]), [['refresh_token', 200]]);
  assert.deepEqual(restCalls().map((e) => e.status), [401, 200]);
  const refreshedToken = emu.sessions().at(-1).accessToken;
  assert.equal(restCalls()[1].authorization, `Bearer ${refreshedToken}`);

  // The record is in chrome.storage.local under the manager's key prefix.
  const before = await inWorker((id) => globalThis.extension.info(id), 'acme', 'info');
  assert.ok(before.issuedAt > connected.issuedAt, 'the stored session is the refreshed one');
  const stored = await inWorker(() => chrome.storage.local.get(null), undefined, 'chrome.storage.local');
  assert.equal(typeof stored['sfs:conn:acme'], 'string');
  assert.ok(stored['sfs:conn:acme'].length > 0);
  assert.ok(Object.keys(stored).every((key) => key.startsWith('sfs:')), Object.keys(stored).join(', '));
  assert.deepEqual(await inWorker((prefix) => globalThis.extension.storedKeys(prefix), 'sfs:conn:', 'list'), Object.keys(stored).filter((k) => k.startsWith('sfs:conn:')).sort());

  // Restart the worker (as Chrome does when it goes idle): stop it, then start it again. The DevTools
  // target outlives the stop, so the same handle reaches the new worker (a new global scope).
  const page = context.pages()[0] ?? (await context.newPage());
  const cdp = await context.newCDPSession(page);
  const statuses = [];
  const reached = (status) => new Promise((resolve) => {
    const check = () => statuses.includes(status) && resolve();
    cdp.on('ServiceWorker.workerVersionUpdated', check);
    check();
  });
  cdp.on('ServiceWorker.workerVersionUpdated', ({ versions }) => {
    for (const version of versions) if (version.scriptURL === worker.url()) statuses.push(version.runningStatus);
  });
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.stopAllWorkers');
  await within(BROWSER_STEP_TIMEOUT_MS, reached('stopped'), 'the worker to stop');
  statuses.length = 0;
  await cdp.send('ServiceWorker.startWorker', { scopeURL: `${extensionOrigin}/` });
  await within(BROWSER_STEP_TIMEOUT_MS, reached('running'), 'the worker to start again');
  worker = context.serviceWorkers().find((w) => w.url() === `${extensionOrigin}/sw.js`);
  assert.ok(worker, 'the extension has a service worker again');

  const secondStart = await inWorker(() => globalThis.extension.state(), undefined, 'state after restart');
  assert.notEqual(secondStart.timeOrigin, firstStart.timeOrigin, 'a new worker');
  assert.equal(secondStart.initMs, null);

  emu.clearLog();
  const resumed = await inWorker(([id, p]) => globalThis.extension.call(id, p), ['acme', LIMITS], 'call after restart');
  assert.equal(resumed.status, 200);
  const { initMs: restartInitMs } = await inWorker(() => globalThis.extension.state(), undefined, 'state');
  console.log(`restarted service worker lazy init (wasm + manager): ${restartInitMs.toFixed(1)} ms`);
  assert.equal(emu.tokenRequests().length, 0, 'the restarted worker asked for no token');
  assert.deepEqual(restCalls().map((e) => [e.status, e.authorization]), [[200, `Bearer ${refreshedToken}`]]);
  const after = await inWorker((id) => globalThis.extension.info(id), 'acme', 'info after restart');
  assert.deepEqual(fields(after), fields(before));
});
