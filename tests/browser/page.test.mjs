// The packed package in a Chromium page: loaded through an import map (the `default` export
// condition), talking to the emulator across origins under its CORS allowlist. Init, connect,
// a REST call, expiry handled by refresh (ahead of time and after a 401), and no token in the
// page's console. Run from the scratch consumer: node --test tests/browser/page.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmulator } from '../emulator/index.mjs';
import { collectSecrets, findLeaks } from '../node/helpers.mjs';
import { launchChromium, startStaticServer, packageRoot, packageManifest, within, BROWSER_STEP_TIMEOUT_MS } from './chromium.mjs';

const API = '/services/data/v62.0';
const LIMITS = `${API}/limits`;
const TIMEOUT_S = 7200;
const MARGIN_S = 300;
const pageDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'page');

test('a page loads the package from an import map and keeps a session alive across origins', { timeout: 120_000 }, async (t) => {
  // The import map in page/index.html points at the file the `default` condition names.
  assert.equal(packageManifest.exports['.'].default, './browser.js');

  const site = await startStaticServer(t, { '/': pageDir, '/node_modules/salesforce-session/': packageRoot });
  const emu = await startEmulator({ clientId: 'page-client', corsOrigins: [site.origin] });
  t.after(() => emu.close());

  const context = await launchChromium(t);
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleLines = [];
  page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => consoleLines.push(`pageerror: ${error.message}`));
  const evaluate = (fn, arg, what) => within(BROWSER_STEP_TIMEOUT_MS, page.evaluate(fn, arg), what);

  await page.goto(`${site.origin}/index.html`);
  await page.waitForFunction(() => typeof window.app === 'object');
  const { initMs, readyAtMs } = await evaluate((config) => window.app.start(config), { clientId: emu.clientId, loginUrl: emu.loginUrl }, 'init');
  console.log(`page init(): ${initMs.toFixed(1)} ms (wasm fetched, compiled, instantiated); ready ${readyAtMs.toFixed(1)} ms after navigation start`);
  assert.ok(site.served.includes('/node_modules/salesforce-session/browser.js'), `served: ${site.served.join(', ')}`);
  assert.ok(site.served.includes('/node_modules/salesforce-session/salesforce_session_bg.wasm'), `served: ${site.served.join(', ')}`);

  // connect: a token response minted by the emulator, handed to the page.
  const tokens = await emu.mintTokenResponse();
  const connected = await evaluate(([id, tokenResponse]) => window.app.connect(id, tokenResponse), ['acme', tokens], 'connect');
  assert.equal(connected.orgId, emu.orgId);
  assert.equal(connected.instanceUrl, emu.instanceUrl);
  assert.equal(connected.status, 'active');
  assert.equal(emu.log.length, 0, 'connect sends nothing');

  // A REST call from the page's origin: a preflight the allowlist answers, then the call with the bearer token.
  const first = await evaluate(([id, p]) => window.app.call(id, p), ['acme', LIMITS], 'first call');
  assert.equal(first.status, 200);
  assert.ok(first.body.DailyApiRequests);
  const restCalls = () => emu.log.filter((e) => e.host === 'instance' && e.path.startsWith('/services/data'));
  assert.deepEqual(restCalls().map((e) => [e.method, e.authorization]), [['GET', `Bearer ${tokens.access_token}`]]);
  assert.ok(emu.preflights.some((p) => p.host === 'instance' && p.origin === site.origin && p.allowed && /authorization/.test(p.requestHeaders)),
    `a preflight from the page origin: ${JSON.stringify(emu.preflights)}`);
  assert.equal(emu.tokenRequests().length, 0);

  // Expiry ahead of time: the session ages past its timeout minus the margin on both clocks, and the
  // library refreshes before sending (one token request, from the page's origin, no 401 seen).
  emu.advance((TIMEOUT_S - MARGIN_S + 10) * 1000);
  await evaluate((ms) => window.app.setClockOffset(ms), emu.now() - Date.now(), 'clock');
  emu.clearLog();
  const proactive = await evaluate(([id, p]) => window.app.call(id, p), ['acme', LIMITS], 'call near expiry');
  assert.equal(proactive.status, 200);
  const proactiveRefresh = emu.tokenRequests();
  assert.deepEqual(proactiveRefresh.map((e) => [e.grantType, e.status]), [['refresh_token', 200]]);
  assert.deepEqual(restCalls().map((e) => e.status), [200], 'the call was sent once, with the new token');
  assert.notEqual(restCalls()[0].authorization, `Bearer ${tokens.access_token}`);
  const afterProactive = await evaluate((id) => window.app.info(id), 'acme', 'info');
  assert.ok(afterProactive.issuedAt > connected.issuedAt, 'the stored session was replaced');

  // Expiry at the server: the next call meets 401 INVALID_SESSION_ID, refreshes once and is retried once.
  emu.advance(1000);
  emu.expireAllSessions();
  emu.clearLog();
  const retried = await evaluate(([id, p]) => window.app.call(id, p), ['acme', LIMITS], 'call after server expiry');
  assert.equal(retried.status, 200);
  assert.deepEqual(emu.tokenRequests().map((e) => [e.grantType, e.status]), [['refresh_token', 200]]);
  assert.deepEqual(restCalls().map((e) => e.status), [401, 200]);

  // The console saw the events (so the scan below reads something) and not one token.
  assert.ok(consoleLines.some((line) => line.includes('"type":"refresh"')), consoleLines.join('\n'));
  assert.equal(consoleLines.filter((line) => line.startsWith('pageerror')).length, 0, consoleLines.join('\n'));
  const secrets = collectSecrets(emu, [tokens.access_token, tokens.refresh_token]);
  assert.ok(secrets.length >= 3, `collected ${secrets.length} secrets`);
  assert.deepEqual(findLeaks(secrets, consoleLines.map((line, i) => [`console line ${i}`, line])), []);
});
