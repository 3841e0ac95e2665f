// `salesforce-session doctor` from the installed package's bin, against the emulator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { startEmulator } from '../emulator/index.mjs';

const consumer = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(consumer, 'node_modules/.bin/salesforce-session');

/** Runs the doctor without blocking this process (the emulator answers from here). */
function doctor(env) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['doctor'], { env: { PATH: process.env.PATH, ...env }, cwd: consumer });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

async function withEmulator(t, policy = {}) {
  const emu = await startEmulator({ clientId: 'test-client', clientSecret: 'doctor-secret-value' });
  t.after(() => emu.close());
  Object.assign(emu.policy, policy);
  const tokens = await emu.mintTokenResponse();
  const env = { SF_CLIENT_ID: 'test-client', SF_CLIENT_SECRET: 'doctor-secret-value', SF_LOGIN_URL: emu.loginUrl, SF_REFRESH_TOKEN: tokens.refresh_token, SF_ALLOW_INSECURE_LOOPBACK: '1' };
  return { emu, tokens, env };
}

function assertNoSecrets(out, emu, tokens) {
  for (const secret of [tokens.refresh_token, 'doctor-secret-value', ...emu.sessions().map((s) => s.accessToken)]) {
    assert.ok(!out.includes(secret), 'the doctor printed a secret');
  }
}

test('a healthy connection: cause OK, exit 0, the checks listed, no secret printed', async (t) => {
  const { emu, tokens, env } = await withEmulator(t);
  const { code, out } = await doctor(env);
  assert.equal(code, 0, out);
  assert.match(out, /^cause: +OK/m);
  assert.match(out, /check: +ok +rest_probe/);
  assert.equal(emu.tokenRequests().length, 1, 'one refresh to get a token');
  assertNoSecrets(out, emu, tokens);
});

test('a revoked refresh token: SESSION_REVOKED quoting Salesforce, exit 1', async (t) => {
  const { emu, tokens, env } = await withEmulator(t);
  emu.changePassword();
  const { code, out } = await doctor(env);
  assert.equal(code, 1, out);
  assert.match(out, /^cause: +SESSION_REVOKED/m);
  assert.match(out, /"authentication failure"/);
  assertNoSecrets(out, emu, tokens);
});

test('API Access Control: the REST probe fails with a fresh token, API_CLIENT_CONTROL, exit 1', async (t) => {
  const { emu, tokens, env } = await withEmulator(t, { apiAccessControl: true });
  const { code, out } = await doctor(env);
  assert.equal(code, 1, out);
  assert.match(out, /^cause: +API_CLIENT_CONTROL/m);
  assert.match(out, /^fix: .*admin/m);
  assertNoSecrets(out, emu, tokens);
});

test('missing configuration is a usage error with exit 2', async () => {
  const { code, out } = await doctor({ SF_REFRESH_TOKEN: 'x' });
  assert.equal(code, 2);
  assert.match(out, /SF_CLIENT_ID is not set/);
});
