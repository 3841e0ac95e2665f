// Secrets echoed back by hostile hosts never reach the caller's text: a store whose errors quote
// the value they were given, a token endpoint whose error_description quotes the refresh token and
// client secret, a REST error quoting the access token. Every error (message, evidence, fix,
// JSON), every event, diagnose() and the webhook body are scanned for each secret and for any
// 16-character piece of one.
// Run from the scratch consumer: node --test tests/node/hostile-secrets.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SalesforceSessionError } from 'salesforce-session';
import { API, startEmu, makeManager, connectNew, collectSecrets, findLeaks, TestStore } from './helpers.mjs';
import { startWebhookReceiver } from './fleet-helpers.mjs';

const LIMITS = `${API}/limits`;
const CLIENT_SECRET = `cs_${randomBytes(24).toString('hex')}`;
const WEBHOOK_SECRET = `whsec_${randomBytes(24).toString('hex')}`;

/** Runs `fn` and files what came back (or what was thrown) under `where`. */
function recorder() {
  const seen = [];
  const run = async (where, fn) => {
    try {
      const value = await fn();
      seen.push([where, value instanceof Response ? { status: value.status, headers: [...value.headers] } : value]);
      return value;
    } catch (err) {
      seen.push([where, err]);
      return err;
    }
  };
  return { seen, run };
}

/**
 * Every leak, as "where: which secret" (`named` maps secrets to names; the rest are the
 * emulator's other tokens). The secrets themselves are never printed.
 */
function leaksIn(secrets, values, named = {}) {
  // Access tokens share their first characters (the org id): a secret is named by a piece past them.
  const shows = (value, secret) => findLeaks([secret.slice(16)], [['v', value]]).length > 0;
  return findLeaks(secrets, values).map(({ where, secretIndex }) => {
    const value = values.find(([w]) => w === where)[1];
    const names = Object.entries(named).filter(([, secret]) => shows(value, secret)).map(([name]) => name);
    return `${where}: ${names.join(' and ') || 'another token the emulator issued'}`;
  });
}

/** A store that fails, quoting the key and value it was given — as careless adapters do. */
class EchoingStore extends TestStore {
  constructor(failing) {
    super();
    this.failing = failing;
  }

  put(key, value, options) {
    if (this.failing.has('put')) return Promise.reject(new Error(`put ${key} = ${value} failed: quota exceeded`));
    return super.put(key, value, options);
  }

  get(key) {
    if (this.failing.has('get')) {
      const held = this.map.get(key) ?? '';
      return Promise.reject(new Error(`get ${key} failed near ${held}`));
    }
    return super.get(key);
  }

  delete(key) {
    if (this.failing.has('delete')) return Promise.reject(new Error(`delete ${key} failed; held ${this.map.get(key) ?? ''}`));
    return super.delete(key);
  }
}

test('a store whose errors quote the record it was given: STORE_FAILED errors carry no token', async (t) => {
  const emu = await startEmu(t, { clientSecret: CLIENT_SECRET });
  const failing = new Set();
  const store = new EchoingStore(failing);
  const { sm, events } = makeManager(emu, { store, clientSecret: CLIENT_SECRET });
  const { seen, run } = recorder();
  const minted = [];

  failing.add('put');
  const first = await emu.mintTokenResponse();
  minted.push(first.access_token, first.refresh_token);
  const refused = await run('connect, put failing', () => sm.connect('acme', first));
  assert.ok(refused instanceof SalesforceSessionError && refused.code === 'STORE_FAILED', `connect: ${refused}`);

  failing.clear();
  const { tokens } = await connectNew(sm, emu);
  minted.push(tokens.access_token, tokens.refresh_token);
  const fresh = makeManager(emu, { store, clientSecret: CLIENT_SECRET }); // no in-memory copy: must read the store
  failing.add('get');
  const readFailed = await run('fetch, get failing', () => fresh.sm.fetch('acme', LIMITS));
  assert.ok(readFailed instanceof SalesforceSessionError && readFailed.code === 'STORE_FAILED', `fetch: ${readFailed}`);
  failing.clear();
  emu.expireAllSessions();
  failing.add('put');
  await run('refresh, put failing', () => sm.refresh('acme'));
  failing.clear();
  failing.add('delete');
  await run('disconnect, delete failing', () => sm.disconnect('acme'));
  failing.clear();
  await run('diagnose', () => sm.diagnose('acme'));

  const secrets = collectSecrets(emu, [...minted, CLIENT_SECRET]);
  const named = { 'the access token': tokens.access_token, 'the refresh token': tokens.refresh_token, 'the first access token': first.access_token, 'the first refresh token': first.refresh_token };
  const values = [...seen, ...events.map((e, i) => [`event ${i} (${e.type})`, e]), ...fresh.events.map((e, i) => [`second manager event ${i} (${e.type})`, e])];
  assert.deepEqual(leaksIn(secrets, values, named), []);
});

test('a token endpoint whose error_description quotes the refresh token and client secret: the revocation, its events, diagnose() and the webhook carry neither', async (t) => {
  const emu = await startEmu(t, { clientSecret: CLIENT_SECRET });
  const hook = await startWebhookReceiver(t);
  const { sm, events } = makeManager(emu, { clientSecret: CLIENT_SECRET, webhook: { url: `${hook.url}/reauth`, secret: WEBHOOK_SECRET } });
  const { tokens } = await connectNew(sm, emu);
  const { seen, run } = recorder();
  emu.policy.echoCredentials = true;
  emu.changePassword();
  emu.expireAllSessions();

  const err = await run('fetch after the password change', () => sm.fetch('acme', LIMITS));
  assert.ok(err instanceof SalesforceSessionError && err.code === 'SESSION_REVOKED', `fetch: ${err}`);
  const echoed = emu.tokenRequests().find((e) => e.errorCode === 'invalid_grant');
  assert.ok(echoed, 'the token endpoint refused the refresh');
  await run('fetch again', () => sm.fetch('acme', LIMITS));
  await run('info', () => sm.info('acme'));
  await run('diagnose', () => sm.diagnose('acme'));
  await run('refresh', () => sm.refresh('acme'));
  assert.equal(hook.requests.length, 1, 'the webhook was called once');

  const secrets = collectSecrets(emu, [tokens.access_token, tokens.refresh_token, CLIENT_SECRET, WEBHOOK_SECRET]);
  const values = [
    ...seen,
    ...events.map((e, i) => [`event ${i} (${e.type})`, e]),
    ...hook.requests.map((r, i) => [`webhook body ${i}`, r.raw.toString('utf8')]),
    ...hook.requests.map((r, i) => [`webhook headers ${i}`, r.headers]),
  ];
  assert.deepEqual(leaksIn(secrets, values, { 'the access token': tokens.access_token, 'the refresh token': tokens.refresh_token, 'the client secret': CLIENT_SECRET, 'the webhook secret': WEBHOOK_SECRET }), []);
});

test('a REST error that quotes the access token: API_CLIENT_CONTROL, its events and diagnose() carry no token', async (t) => {
  const emu = await startEmu(t, { clientSecret: CLIENT_SECRET });
  const { sm, events } = makeManager(emu, { clientSecret: CLIENT_SECRET });
  const { tokens } = await connectNew(sm, emu);
  const { seen, run } = recorder();
  emu.policy.echoCredentials = true;

  // An expired session's 401 quotes the dead token; the refresh and the retry go through.
  emu.expireAllSessions();
  const res = await run('fetch after expiry', () => sm.fetch('acme', LIMITS));
  assert.ok(res instanceof Response && res.status === 200, `fetch after expiry: ${res}`);
  // A 400 whose body quotes the token comes back as the caller's Response; the request events do not quote it.
  await run('malformed query', () => sm.fetch('acme', `${API}/query?q=NOPE`));
  emu.policy.readOnly = true;
  await run('write during maintenance', () => sm.fetch('acme', `${API}/sobjects/Account`, { method: 'POST', body: '{"Name":"x"}' }));
  await run('diagnose, read-only', () => sm.diagnose('acme'));
  emu.policy.readOnly = false;

  emu.policy.apiAccessControl = true;
  const err = await run('fetch under API access control', () => sm.fetch('acme', LIMITS));
  assert.ok(err instanceof SalesforceSessionError && err.code === 'API_CLIENT_CONTROL', `fetch: ${err}`);
  await run('diagnose, API access control', () => sm.diagnose('acme'));
  await run('refresh, API access control', () => sm.refresh('acme'));

  const secrets = collectSecrets(emu, [tokens.access_token, tokens.refresh_token, CLIENT_SECRET]);
  assert.deepEqual(leaksIn(secrets, [...seen, ...events.map((e, i) => [`event ${i} (${e.type})`, e])], { 'the first access token': tokens.access_token, 'the refresh token': tokens.refresh_token, 'the client secret': CLIENT_SECRET }), []);
});
